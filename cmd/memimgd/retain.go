package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/memimg/memimg/protocol"
	"github.com/memimg/memimg/snapshot"
	"github.com/memimg/memimg/wal"
)

// Log retention (--wal-retain). The log is the database and, by default,
// is kept whole from index 1 (memimg verify replays it). A snapshot makes
// the segments before it unnecessary for start-up, so an operator may let
// them go:
//
//	all          keep every segment (default)
//	snapshot     delete every segment the last snapshot covers
//	<duration>   keep at least that much of the most recent log ("72h",
//	             "7d"), by the entries' times; delete older covered segments
//	<size>       keep at least that many bytes of the most recent segments
//	             ("10gb"); delete older covered segments
//
// A segment is covered when all its records are at or before the snapshot's
// index N. The segment holding the log's last record is never deleted, so
// the log always ends where the state does. Deletion happens after the
// snapshot is durable, with the snapshot store still locked (a running
// memimg backup holds that lock, so it never sees the log shrink).

// retainPolicy is a parsed --wal-retain.
type retainPolicy struct {
	kind string // "all", "snapshot", "age", "size"
	age  time.Duration
	size int64
	text string
}

func (p retainPolicy) String() string { return p.text }

// parseRetain parses --wal-retain.
func parseRetain(s string) (retainPolicy, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "all", "":
		return retainPolicy{kind: "all", text: "all"}, nil
	case "snapshot":
		return retainPolicy{kind: "snapshot", text: t}, nil
	}
	if strings.HasSuffix(t, "d") {
		if n, err := strconv.ParseFloat(strings.TrimSuffix(t, "d"), 64); err == nil && n > 0 {
			return retainPolicy{kind: "age", age: time.Duration(n * float64(24*time.Hour)), text: t}, nil
		}
	}
	if d, err := time.ParseDuration(t); err == nil && d > 0 {
		return retainPolicy{kind: "age", age: d, text: t}, nil
	}
	if n, err := protocol.ParseMemory(t); err == nil && n > 0 {
		return retainPolicy{kind: "size", size: n, text: t}, nil
	}
	return retainPolicy{}, fmt.Errorf("must be all, snapshot, a duration (72h, 7d) or a size (10gb), got %q", s)
}

// trailingZeros counts the zero bytes at the end of the file at path, up
// to limit; 0 if it cannot be read (a compressed segment has none).
func trailingZeros(path string, limit int64) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	buf := make([]byte, 64<<10)
	var n int64
	for end := fi.Size(); end > 0 && n < limit; {
		k := min(int64(len(buf)), end)
		b := buf[:k]
		if _, err := f.ReadAt(b, end-k); err != nil && err != io.EOF {
			return n
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return n
			}
			n++
		}
		end -= k
	}
	return min(n, limit)
}

// segmentFile is one segment of the log directory.
type segmentFile struct {
	first uint64
	size  int64
}

// listSegments lists the segments of the log directory (named by their
// first index, see wal/doc.go), oldest first.
func listSegments(dir string) ([]segmentFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	byFirst := map[uint64]int64{}
	for _, e := range ents {
		name := e.Name()
		base, ok := strings.CutSuffix(name, ".wal.zst")
		if !ok {
			base, ok = strings.CutSuffix(name, ".wal")
		}
		if !ok || len(base) != 20 {
			continue
		}
		first, err := strconv.ParseUint(base, 10, 64)
		if err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile (compressed)
		}
		if cur, seen := byFirst[first]; !seen || fi.Size() < cur {
			byFirst[first] = fi.Size()
		}
	}
	out := make([]segmentFile, 0, len(byFirst))
	for f, sz := range byFirst {
		out = append(out, segmentFile{first: f, size: sz})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].first < out[j].first })
	return out, nil
}

// retainAfterSnapshot deletes the log segments the policy lets go once the
// snapshot m is durable. It returns the index the log now starts at (0:
// nothing deleted).
func retainAfterSnapshot(p retainPolicy, l *wal.Log, dir string, m snapshot.Meta, now time.Time) (uint64, error) {
	if p.kind == "all" || m.Index == 0 {
		return 0, nil
	}
	lastRec := l.LastIndex() // before the listing: segments may be added, not removed
	segs, err := listSegments(dir)
	if err != nil {
		return 0, fmt.Errorf("memimgd: wal-retain: list %s: %w", dir, err)
	}
	if n := len(segs); n > 0 {
		// The active segment's file ends with the zeros the wal writes
		// ahead of its records (wal/DESIGN.md): they are not log.
		segs[n-1].size -= trailingZeros(filepath.Join(dir, fmt.Sprintf("%020d.wal", segs[n-1].first)), 2<<20)
	}
	var after int64 // bytes of the segments after segment i
	for _, s := range segs {
		after += s.size
	}
	cut := 0
	for i := 0; i+1 < len(segs); i++ { // never the last segment
		after -= segs[i].size
		last := segs[i+1].first - 1
		if last > m.Index || last >= lastRec {
			// It holds entries the snapshot does not cover, or the log's
			// last record (the segments after it are empty: a roll just
			// created one), which is kept so the log never becomes empty.
			break
		}
		keep := false
		switch p.kind {
		case "size":
			keep = after < p.size
		case "age":
			rec, err := l.Get(last)
			switch {
			case errors.Is(err, wal.ErrNotFound): // already gone
			case err != nil:
				return 0, fmt.Errorf("memimgd: wal-retain: read entry %d: %w", last, err)
			default:
				keep = now.Sub(time.Unix(0, rec.Time)) < p.age
			}
		}
		if keep {
			break
		}
		cut = i + 1
	}
	if cut == 0 {
		return 0, nil
	}
	start := segs[cut].first
	if err := l.DeleteBefore(start); err != nil {
		return 0, fmt.Errorf("memimgd: wal-retain: delete the log before %d: %w", start, err)
	}
	return start, nil
}
