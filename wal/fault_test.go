package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// After a failed fsync the log must not pretend: the error reaches the
// caller and every later write is refused until the log is reopened.
func TestFailedFsync(t *testing.T) {
	for _, c := range []struct {
		name string
		// when makes the failure happen: in Sync, or while sealing a segment.
		when func(t *testing.T, l *Log, ffs *faultFS) error
	}{
		{"in Sync", func(t *testing.T, l *Log, ffs *faultFS) error {
			mustAppend(t, l, rec(11, 1, 10))
			ffs.setSyncErr(syscall.EIO)
			return l.Sync()
		}},
		{"while sealing", func(t *testing.T, l *Log, ffs *faultFS) error {
			ffs.setSyncErr(syscall.EIO)
			return l.Append(rec(11, 1, 2000)) // crosses SegmentSize
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := newFaultFS()
			l := mustOpen(t, Options{Dir: dir, FS: ffs, SegmentSize: 1 << 10, NoCompress: true})
			synced := recs(1, 10, 1, 10)
			appendInBatches(t, l, synced)

			err := c.when(t, l, ffs)
			if !errors.Is(err, syscall.EIO) || !errors.Is(err, ErrFailed) {
				t.Fatalf("failure = %v, want EIO and ErrFailed", err)
			}
			ffs.setSyncErr(nil) // even if the disk recovers, the log does not
			if err := l.Append(rec(l.LastIndex()+1, 1, 10)); !errors.Is(err, ErrFailed) {
				t.Fatalf("Append after a failed fsync = %v, want ErrFailed", err)
			}
			if err := l.Sync(); !errors.Is(err, ErrFailed) {
				t.Fatalf("Sync after a failed fsync = %v, want ErrFailed", err)
			}
			if err := l.TruncateAfter(5); !errors.Is(err, ErrFailed) {
				t.Fatalf("TruncateAfter after a failed fsync = %v, want ErrFailed", err)
			}
			// Reads still work.
			if _, err := l.Get(3); err != nil {
				t.Fatalf("Get: %v", err)
			}
			if err := l.Close(); !errors.Is(err, ErrFailed) {
				t.Fatalf("Close = %v, want the failure", err)
			}

			l = mustOpen(t, Options{Dir: dir, SegmentSize: 1 << 10, NoCompress: true})
			defer l.Close()
			if got := l.LastIndex(); got < 10 {
				t.Fatalf("synced records lost: LastIndex %d", got)
			}
			for _, w := range synced {
				if got, err := l.Get(w.Index); err != nil || !sameRecord(got, w) {
					t.Fatalf("synced record %d: %+v, %v", w.Index, got, err)
				}
			}
		})
	}
}

// A short write (disk full) returns an error, loses nothing already written,
// and the log keeps working once there is room again.
func TestShortWrite(t *testing.T) {
	dir := t.TempDir()
	ffs := newFaultFS()
	opts := Options{Dir: dir, FS: ffs, NoCompress: true}
	l := mustOpen(t, opts)
	synced := recs(1, 20, 1, -1)
	appendInBatches(t, l, synced)
	unsynced := recs(21, 22, 1, 50)
	mustAppend(t, l, unsynced...)
	seg := filepath.Join(dir, segmentName(1)+rawSuffix)
	end := l.active.size // where the records end; zeros are written ahead of it
	before, _ := os.ReadFile(seg)

	// A batch larger than the zeros written ahead, so that it needs space.
	ffs.setSpace(100)
	err := l.Append(recs(23, 25, 1, preallocateAhead/2)...)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk = %v, want ENOSPC", err)
	}
	if errors.Is(err, ErrFailed) {
		t.Fatalf("a short write that was undone failed the log: %v", err)
	}
	if got := l.LastIndex(); got != 22 {
		t.Fatalf("LastIndex = %d after a failed append, want 22", got)
	}
	after, _ := os.ReadFile(seg)
	if len(after) < int(end) || !bytes.Equal(after[:end], before[:end]) || !allZero(after[end:]) {
		t.Fatalf("segment is %d bytes after the failed write, want the %d bytes of its records as before, then only zeros", len(after), end)
	}
	want := append(synced, unsynced...)
	checkLog(t, l, want)

	ffs.setSpace(-1)
	more := recs(23, 25, 1, 200)
	appendInBatches(t, l, more)
	want = append(want, more...)
	checkLog(t, l, want)
	l.Close()
	l = mustOpen(t, opts)
	defer l.Close()
	checkLog(t, l, want)
}

// A segment that cannot be created (disk full when rolling) does not lose
// the records already written; the roll is retried.
func TestRollFailure(t *testing.T) {
	dir := t.TempDir()
	ffs := newFaultFS()
	logger, logs := newTestLogger()
	opts := Options{Dir: dir, FS: ffs, SegmentSize: 1 << 10, NoCompress: true, Logger: logger}
	l := mustOpen(t, opts)
	mustAppend(t, l, recs(1, 5, 1, 100)...)
	// Room for these records but not a new header too (zeros written ahead
	// of the records already hold part of them).
	ffs.setSpace(l.active.size + 140*3 - fileSize(t, filepath.Join(dir, segmentName(1)+rawSuffix)))
	if err := l.Append(recs(6, 8, 1, 100)...); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if !strings.Contains(logs.String(), "cannot start a new segment") {
		t.Fatalf("the roll did not fail: %q", logs.String())
	}
	ffs.setSpace(-1)
	want := recs(1, 8, 1, 100)
	checkLog(t, l, want)
	more := recs(9, 30, 1, 100)
	appendInBatches(t, l, more)
	want = append(want, more...)
	l.Close()
	l = mustOpen(t, Options{Dir: dir, SegmentSize: 1 << 10, NoCompress: true})
	defer l.Close()
	checkLog(t, l, want)
	if st := l.Stats(); st.Segments < 3 {
		t.Fatalf("Stats %+v: the roll was not retried", st)
	}
}

// fileSize returns the size of the file at path.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
