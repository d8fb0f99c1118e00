package wal

import (
	"os"
	"path/filepath"
	"testing"
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
