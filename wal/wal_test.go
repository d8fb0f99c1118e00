package wal

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// configs are the configurations every behaviour test runs under.
var configs = []struct {
	name string
	opts Options
}{
	{"raw", Options{SegmentSize: 4 << 10, NoCompress: true}},
	{"zstd", Options{SegmentSize: 4 << 10}},
	{"one-segment", Options{NoCompress: true}},
}

func withDir(o Options, dir string) Options {
	o.Dir = dir
	return o
}

func TestAppendReopenGet(t *testing.T) {
	for _, c := range configs {
		for _, n := range []uint64{1, 7, 300} {
			t.Run(fmt.Sprintf("%s/%d", c.name, n), func(t *testing.T) {
				dir := t.TempDir()
				opts := withDir(c.opts, dir)
				want := recs(1, n, 1, -1)
				l := mustOpen(t, opts)
				appendInBatches(t, l, want)
				checkLog(t, l, want)
				waitCompressed(t, l)
				checkLog(t, l, want)
				st := l.Stats()
				if !c.opts.NoCompress && n == 300 {
					if st.CompressedSegments == 0 || st.CompressedSegments != st.Segments-1 {
						t.Errorf("Stats = %+v: want all sealed segments compressed", st)
					}
					if st.SealedCompressedBytes >= st.SealedRawBytes {
						t.Errorf("Stats = %+v: compressed not smaller", st)
					}
				}
				if c.opts.SegmentSize > 0 && n == 300 && st.Segments < 3 {
					t.Errorf("Stats = %+v: want several segments", st)
				}
				if err := l.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}

				l = mustOpen(t, opts)
				defer l.Close()
				checkLog(t, l, want)
				if tt := l.TornTail(); tt != nil {
					t.Errorf("TornTail = %+v after a clean close", tt)
				}
				// Keep appending after the reopen.
				more := recs(n+1, n+50, 1, -1)
				appendInBatches(t, l, more)
				checkLog(t, l, append(slices.Clone(want), more...))
			})
		}
	}
}

func TestReadFrom(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			l := mustOpen(t, withDir(c.opts, t.TempDir()))
			defer l.Close()
			if err := l.ReadFrom(1, func(Record) error { t.Fatal("called on an empty log"); return nil }); err != nil {
				t.Fatalf("ReadFrom on an empty log: %v", err)
			}
			want := recs(1, 200, 1, -1)
			appendInBatches(t, l, want)
			waitCompressed(t, l)

			stop := errors.New("stop")
			var seen []uint64
			err := l.ReadFrom(10, func(r Record) error {
				seen = append(seen, r.Index)
				if r.Index == 150 {
					return stop
				}
				return nil
			})
			if err != stop {
				t.Fatalf("ReadFrom = %v, want fn's error", err)
			}
			if len(seen) != 141 || seen[0] != 10 || seen[140] != 150 {
				t.Fatalf("ReadFrom saw %d records %v..%v", len(seen), seen[0], seen[len(seen)-1])
			}
			if err := l.ReadFrom(201, func(Record) error { t.Fatal("called past the end"); return nil }); err != nil {
				t.Fatalf("ReadFrom(last+1) = %v", err)
			}
			for _, from := range []uint64{0, 202} {
				if err := l.ReadFrom(from, func(Record) error { return nil }); !errors.Is(err, ErrNotFound) {
					t.Fatalf("ReadFrom(%d) = %v, want ErrNotFound", from, err)
				}
			}
		})
	}
}

func TestTruncateAfter(t *testing.T) {
	const n = 300
	tests := []struct {
		name  string
		index func(l *Log) uint64
	}{
		{"in the active segment", func(l *Log) uint64 { return n - 3 }},
		{"at the end (no-op)", func(l *Log) uint64 { return n }},
		{"past the end (no-op)", func(l *Log) uint64 { return n + 10 }},
		{"in the first segment", func(l *Log) uint64 { return 5 }},
		{"last record of a sealed segment", func(l *Log) uint64 { return l.segs[min(1, len(l.segs)-1)].last }},
		{"first record of a sealed segment", func(l *Log) uint64 { return l.segs[min(1, len(l.segs)-1)].first }},
		{"everything", func(l *Log) uint64 { return 0 }},
	}
	for _, c := range configs {
		for _, tc := range tests {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				opts := withDir(c.opts, t.TempDir())
				l := mustOpen(t, opts)
				all := recs(1, n, 1, -1)
				appendInBatches(t, l, all)
				waitCompressed(t, l)
				index := min(tc.index(l), n)
				if err := l.TruncateAfter(index); err != nil {
					t.Fatalf("TruncateAfter(%d): %v", index, err)
				}
				want := all[:index]
				checkLog(t, l, want)

				// Append a different history (new term) after the cut.
				start := index + 1
				if index == 0 {
					start = 1000 // an empty log may restart anywhere
				}
				if index > 0 {
					if err := l.Append(rec(start+1, 2, 10)); !errors.Is(err, ErrOutOfOrder) {
						t.Fatalf("Append with a gap = %v, want ErrOutOfOrder", err)
					}
				}
				more := recs(start, start+40, 2, -1)
				appendInBatches(t, l, more)
				want = append(slices.Clone(want), more...)
				checkLog(t, l, want)
				waitCompressed(t, l)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				l = mustOpen(t, opts)
				defer l.Close()
				checkLog(t, l, want)
			})
		}
	}
}

func TestDeleteBefore(t *testing.T) {
	const n = 300
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			opts := withDir(c.opts, t.TempDir())
			l := mustOpen(t, opts)
			all := recs(1, n, 1, -1)
			appendInBatches(t, l, all)
			waitCompressed(t, l)
			segs := l.Stats().Segments

			if err := l.DeleteBefore(1); err != nil {
				t.Fatal(err)
			}
			checkLog(t, l, all)

			// Inside the second segment: only the first segment goes.
			var cut, wantFirst uint64 = 1, 1
			if segs > 2 {
				l.mu.RLock()
				cut, wantFirst = l.segs[1].first+1, l.segs[1].first
				l.mu.RUnlock()
			}
			if err := l.DeleteBefore(cut); err != nil {
				t.Fatalf("DeleteBefore(%d): %v", cut, err)
			}
			checkLog(t, l, all[wantFirst-1:])
			if got := l.Stats().Segments; segs > 2 && got != segs-1 {
				t.Fatalf("%d segments, want %d", got, segs-1)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, opts)
			checkLog(t, l, all[wantFirst-1:])

			// Everything: the log is empty and may restart anywhere.
			if err := l.DeleteBefore(n + 1); err != nil {
				t.Fatal(err)
			}
			checkLog(t, l, nil)
			if got := dirFiles(t, opts.Dir); len(got) != 0 {
				t.Fatalf("files left: %v", got)
			}
			more := recs(5000, 5100, 3, -1)
			appendInBatches(t, l, more)
			checkLog(t, l, more)
			l.Close()
			l = mustOpen(t, opts)
			defer l.Close()
			checkLog(t, l, more)
		})
	}
}

func TestStartAtIndex(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			opts := withDir(c.opts, t.TempDir())
			l := mustOpen(t, opts)
			want := recs(1_000_000, 1_000_120, 4, -1)
			appendInBatches(t, l, want)
			checkLog(t, l, want)
			l.Close()
			l = mustOpen(t, opts)
			defer l.Close()
			checkLog(t, l, want)
			if files := dirFiles(t, opts.Dir); files[0] != "00000000000001000000.wal" && files[0] != "00000000000001000000.wal.zst" {
				t.Fatalf("first file %q", files[0])
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir})
	if err := l.Append(rec(0, 1, 1)); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("index 0: %v", err)
	}
	mustAppend(t, l, recs(1, 3, 1, 8)...)
	for _, bad := range [][]Record{
		{rec(3, 1, 1)},
		{rec(5, 1, 1)},
		{rec(4, 1, 1), rec(6, 1, 1)},
	} {
		if err := l.Append(bad...); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("Append(%s) = %v, want ErrOutOfOrder", fmtRecords(bad), err)
		}
	}
	big := Record{Index: 4, Data: make([]byte, MaxRecordSize+1)}
	if err := l.Append(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append(too large) = %v", err)
	}
	if got := l.LastIndex(); got != 3 {
		t.Fatalf("LastIndex = %d after refused appends", got)
	}
	if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	if err := l.Append(rec(4, 1, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if _, err := l.Get(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close = %v", err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close = %v", err)
	}

	ro := mustOpen(t, Options{Dir: dir, ReadOnly: true})
	defer ro.Close()
	checkLog(t, ro, recs(1, 3, 1, 8))
	for name, err := range map[string]error{
		"Append":        ro.Append(rec(4, 1, 1)),
		"TruncateAfter": ro.TruncateAfter(1),
		"DeleteBefore":  ro.DeleteBefore(3),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("read-only %s = %v", name, err)
		}
	}

	err := (&Options{SegmentSize: 3}).Validate()
	if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), "Dir") || !strings.Contains(err.Error(), "SegmentSize") {
		t.Fatalf("Validate = %v, want both problems", err)
	}
}

// An empty log keeps its empty segment until records arrive; records at a
// different index replace it.
func TestEmptySegmentRestart(t *testing.T) {
	opts := Options{Dir: t.TempDir(), SegmentSize: 1 << 10, NoCompress: true}
	l := mustOpen(t, opts)
	mustAppend(t, l, recs(1, 30, 1, 40)...) // rolls, leaving an empty active segment
	if err := l.DeleteBefore(5); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateAfter(0); err != nil {
		t.Fatal(err)
	}
	checkLog(t, l, nil)
	mustAppend(t, l, rec(77, 1, 5))
	checkLog(t, l, []Record{rec(77, 1, 5)})
	l.Close()
	l = mustOpen(t, opts)
	defer l.Close()
	checkLog(t, l, []Record{rec(77, 1, 5)})
}

func TestAppendNoAllocs(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir(), NoCompress: true})
	defer l.Close()
	r := rec(1, 1, 100)
	mustAppend(t, l, r)
	allocs := testing.AllocsPerRun(2000, func() {
		r.Index++
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Fatalf("Append allocates %.2f times per record", allocs)
	}
}
