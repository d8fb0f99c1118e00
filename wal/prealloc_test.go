package wal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The active segment's file holds zeros ahead of its records, so that an
// append does not change the file's size; a sealed segment, and the active
// one after Close, are exactly their records.
func TestPreallocate(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentSize: 64 << 10, NoCompress: true}
	l := mustOpen(t, opts)
	first := filepath.Join(dir, segmentName(1)+rawSuffix)

	mustAppend(t, l, recs(1, 10, 1, 100)...)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	end := l.active.size
	if got := fileSize(t, first); got != opts.SegmentSize {
		t.Fatalf("active segment: %d bytes on disk, want %d (zeros written ahead up to the segment size)", got, opts.SegmentSize)
	}
	if b, _ := os.ReadFile(first); !allZero(b[end:]) {
		t.Fatalf("the bytes after the records are not all zero")
	}

	// The segment fills up and is sealed: cut to its records.
	all := recs(1, 700, 1, 100)
	appendInBatches(t, l, all[10:])
	if len(l.segs) < 2 {
		t.Fatalf("%d segments, want a roll", len(l.segs))
	}
	if got, want := fileSize(t, first), l.segs[0].size; got != want {
		t.Fatalf("sealed segment: %d bytes on disk, want %d (its records)", got, want)
	}

	// A crash (no Close): the copy of the directory has the zeros, which
	// are not a torn tail.
	crashed := t.TempDir()
	copyFiles(t, dir, crashed)
	last := l.active
	if got := fileSize(t, filepath.Join(crashed, last.name)); got <= last.size {
		t.Fatalf("the active segment's file is %d bytes, want more than its %d bytes of records", got, last.size)
	}
	logger, logs := newTestLogger()
	c, err := Open(Options{Dir: crashed, SegmentSize: opts.SegmentSize, NoCompress: true, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if tt := c.TornTail(); tt != nil || logs.String() != "" {
		t.Fatalf("zeros written ahead taken for a torn tail: %+v %q", tt, logs.String())
	}
	checkLog(t, c, all)
	more := recs(701, 720, 2, 100)
	appendInBatches(t, c, more)
	c.Close()
	c = mustOpen(t, Options{Dir: crashed, NoCompress: true})
	checkLog(t, c, append(append([]Record(nil), all...), more...))
	c.Close()

	// Close leaves the active segment exactly its records.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, filepath.Join(dir, last.name)); got != last.size {
		t.Fatalf("active segment after Close: %d bytes on disk, want %d", got, last.size)
	}
}

// copyFiles copies the regular files of src into dst.
func copyFiles(t *testing.T, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// RecordsEnd is where a raw segment's valid records end: before the zeros
// written ahead, and before a stretch a copy read before a record was
// written into it, even if a valid record follows (which Open would refuse
// as corruption).
func TestRecordsEnd(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, NoCompress: true})
	defer l.Close()
	mustAppend(t, l, recs(1, 10, 1, 100)...)
	path := filepath.Join(dir, segmentName(1)+rawSuffix)
	end := l.active.size
	if got, err := RecordsEnd(path); err != nil || got != end {
		t.Fatalf("RecordsEnd = %d, %v; want %d (the records, not the zeros after them)", got, err, end)
	}
	if size := fileSize(t, path); size <= end {
		t.Fatalf("the file is %d bytes: no zeros after the %d bytes of records", size, end)
	}

	// A copy that missed record 11 (zeros where it is) but has record 12.
	mustAppend(t, l, recs(11, 12, 1, 100)...)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off11 := int64(l.active.offsets[10])
	off12 := int64(l.active.offsets[11])
	clear(b[off11:off12])
	cp := filepath.Join(t.TempDir(), segmentName(1)+rawSuffix)
	if err := os.WriteFile(cp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := RecordsEnd(cp); err != nil || got != off11 {
		t.Fatalf("RecordsEnd of the copy = %d, %v; want %d (before the missing record)", got, err, off11)
	}

	// Not a segment at all.
	bad := filepath.Join(t.TempDir(), segmentName(1)+rawSuffix)
	if err := os.WriteFile(bad, []byte("not a segment header, but long enough to be read as one"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if _, err := RecordsEnd(bad); !errors.As(err, &ce) {
		t.Fatalf("RecordsEnd of a bad header = %v, want a CorruptError", err)
	}
}

// A read-only Open beside a writer that appends into the zeros written
// ahead (memimg wal verify next to a running server) sees a prefix of the
// log, never corruption: the end of the last segment is judged on one read
// of it, records appended since the scan included.
func TestReadOnlyOpenBesideWriter(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, Options{Dir: dir, NoCompress: true})
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		next := uint64(1)
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			batch := recs(next, next+uint64(next%3), 1, 50+int(next%200))
			if err := w.Append(batch...); err != nil {
				done <- err
				return
			}
			next += uint64(len(batch))
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	opens := 0
	for ; opens < 300 && time.Now().Before(deadline); opens++ {
		logger, _ := newTestLogger()
		r, err := Open(Options{Dir: dir, ReadOnly: true, Logger: logger})
		if err != nil {
			close(stop)
			<-done
			t.Fatalf("read-only Open %d beside the writer: %v", opens, err)
		}
		r.Close()
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.Close()
	if opens < 20 {
		t.Fatalf("only %d opens in the time", opens)
	}
}
