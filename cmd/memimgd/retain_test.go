package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memimg/memimg/snapshot"
	"github.com/memimg/memimg/wal"
)

// retainLog makes a log of n records of ~600 bytes in 1 KiB segments: two
// records a segment ([1,2], [3,4], ...), and after the last roll an empty
// segment; record i is stamped t0 + i minutes.
func retainLog(t *testing.T, n int, t0 time.Time) (*wal.Log, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "wal")
	l, err := wal.Open(wal.Options{Dir: dir, SegmentSize: 1024, NoCompress: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for i := 1; i <= n; i++ {
		rec := wal.Record{Index: uint64(i), Kind: 1, Time: t0.Add(time.Duration(i) * time.Minute).UnixNano(),
			Data: []byte(strings.Repeat("x", 600))}
		if err := l.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	return l, dir
}

func TestRetainAfterSnapshot(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		policy    string
		snapIndex uint64
		now       time.Time
		wantFirst uint64 // the log's first index afterwards
	}{
		{"all", 10, t0, 1},
		{"snapshot", 10, t0, 9},                 // never the segment of the last record, even with an empty one after it
		{"snapshot", 6, t0, 7},                  // segments 1..6 covered
		{"snapshot", 0, t0, 1},                  // no snapshot
		{"1500b", 10, t0, 7},                    // keep >= 1500 bytes: [9,10] and the empty segment make 1328
		{"5m", 10, t0.Add(12 * time.Minute), 7}, // keep entries newer than 5 minutes: 7.. (stamped t0+7m..)
		{"1h", 10, t0.Add(12 * time.Minute), 1},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			l, dir := retainLog(t, 10, t0)
			p, err := parseRetain(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := retainAfterSnapshot(p, l, dir, snapshot.Meta{Version: 1, Index: tc.snapIndex}, tc.now); err != nil {
				t.Fatal(err)
			}
			if got := l.FirstIndex(); got != tc.wantFirst || l.LastIndex() != 10 {
				t.Fatalf("log %d..%d, want %d..10", got, l.LastIndex(), tc.wantFirst)
			}
		})
	}
}

// The zeros the wal writes ahead of the active segment's records are not
// counted as log the size policy keeps: with 11 records, the segments after
// [7,8] hold 1,968 bytes of records ([9,10] and [11]), so "keep 2000
// bytes" keeps [7,8], although [11]'s file is 1,024 bytes long.
func TestRetainSizeCountsRecordsNotZeros(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	l, dir := retainLog(t, 11, t0)
	active := filepath.Join(dir, "00000000000000000011.wal")
	if fi, err := os.Stat(active); err != nil || fi.Size() != 1024 {
		t.Fatalf("the active segment: %v, %v; want a 1024-byte file (664 bytes of records, then zeros)", fi, err)
	}
	p, err := parseRetain("2000b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := retainAfterSnapshot(p, l, dir, snapshot.Meta{Version: 1, Index: 10}, t0); err != nil {
		t.Fatal(err)
	}
	if got := l.FirstIndex(); got != 7 {
		t.Fatalf("the log starts at %d after the policy, want 7 ([7,8] kept)", got)
	}
}
