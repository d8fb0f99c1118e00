package wal

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// segLayout is where a test log's records are.
type segLayout struct {
	name    string
	first   uint64
	offsets []int64 // of each record, in the uncompressed segment
	size    int64   // of the uncompressed segment
}

type damageEnv struct {
	t    *testing.T
	dir  string
	segs []segLayout
	n    uint64 // records written
}

func (e *damageEnv) path(name string) string { return filepath.Join(e.dir, name) }
func (e *damageEnv) last() segLayout         { return e.segs[len(e.segs)-1] }

// lastOff is the offset of the last record of the last segment.
func (e *damageEnv) lastOff() int64 { s := e.last(); return s.offsets[len(s.offsets)-1] }

func (e *damageEnv) truncate(name string, size int64) {
	if err := os.Truncate(e.path(name), size); err != nil {
		e.t.Fatal(err)
	}
}

func (e *damageEnv) writeAt(name string, off int64, b []byte) {
	f, err := os.OpenFile(e.path(name), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		e.t.Fatal(err)
	}
}

func (e *damageEnv) flip(name string, off int64) {
	b, err := os.ReadFile(e.path(name))
	if err != nil {
		e.t.Fatal(err)
	}
	e.writeAt(name, off, []byte{b[off] ^ 0x5a})
}

func (e *damageEnv) size(name string) int64 {
	fi, err := os.Stat(e.path(name))
	if err != nil {
		e.t.Fatal(err)
	}
	return fi.Size()
}

// layout reads where each record of each segment is.
func layout(t *testing.T, dir string) []segLayout {
	t.Helper()
	l := mustOpen(t, Options{Dir: dir, ReadOnly: true})
	defer l.Close()
	var out []segLayout
	for _, s := range l.segs {
		data, err := os.ReadFile(filepath.Join(dir, s.name))
		if err != nil {
			t.Fatal(err)
		}
		if s.compressed {
			if data, err = l.decompress(s, nil); err != nil {
				t.Fatal(err)
			}
		}
		res, err := scanSegment(bytes.NewReader(data), int64(len(data)), true)
		if err != nil || res.bad != nil {
			t.Fatalf("scan %s: %v %v", s.name, err, res.bad)
		}
		sl := segLayout{name: s.name, first: s.first, size: int64(len(data))}
		for _, o := range res.offsets {
			sl.offsets = append(sl.offsets, int64(o))
		}
		out = append(out, sl)
	}
	return out
}

// outcome is what Open must do with a damaged log.
type outcome struct {
	lastIndex uint64 // recovered last index, for a cut or harmless damage
	cutAt     int64  // offset of the torn tail cut in the last segment; -1 none
	removed   string // a torn segment file removed
	corrupt   bool
	segment   string // named in the ErrCorrupt
	offset    int64  // named in the ErrCorrupt
}

func TestCorruption(t *testing.T) {
	const n = 60
	frame := int64(frameHeaderSize + 100)
	cases := []struct {
		name     string
		compress bool
		damage   func(e *damageEnv) outcome
	}{
		{"truncate last bytes", false, func(e *damageEnv) outcome {
			e.truncate(e.last().name, e.last().size-5)
			return outcome{lastIndex: n - 1, cutAt: e.lastOff()}
		}},
		{"tear last record in half", false, func(e *damageEnv) outcome {
			e.truncate(e.last().name, e.lastOff()+frame/2)
			return outcome{lastIndex: n - 1, cutAt: e.lastOff()}
		}},
		{"tear last record header", false, func(e *damageEnv) outcome {
			e.truncate(e.last().name, e.lastOff()+7)
			return outcome{lastIndex: n - 1, cutAt: e.lastOff()}
		}},
		// Zeros after the last record are space written ahead of the
		// records (preallocation) or an append that never reached the
		// disk: nothing to report, nothing to cut.
		{"zero-filled tail", false, func(e *damageEnv) outcome {
			e.writeAt(e.last().name, e.last().size, make([]byte, 8192))
			return outcome{lastIndex: n, cutAt: -1}
		}},
		{"zeroed last record", false, func(e *damageEnv) outcome {
			e.writeAt(e.last().name, e.lastOff(), make([]byte, frame))
			return outcome{lastIndex: n - 1, cutAt: -1}
		}},
		{"zeroed last record and a zero-filled tail", false, func(e *damageEnv) outcome {
			e.writeAt(e.last().name, e.lastOff(), make([]byte, frame+4096))
			return outcome{lastIndex: n - 1, cutAt: -1}
		}},
		{"garbage after a zero-filled tail", false, func(e *damageEnv) outcome {
			e.writeAt(e.last().name, e.last().size, append(make([]byte, 4096), "garbage!"...))
			return outcome{lastIndex: n, cutAt: e.last().size}
		}},
		{"garbage tail", false, func(e *damageEnv) outcome {
			e.writeAt(e.last().name, e.last().size, bytes.Repeat([]byte("garbage!"), 100))
			return outcome{lastIndex: n, cutAt: e.last().size}
		}},
		{"flip payload byte of last record", false, func(e *damageEnv) outcome {
			e.flip(e.last().name, e.lastOff()+frameHeaderSize+50)
			return outcome{lastIndex: n - 1, cutAt: e.lastOff()}
		}},
		{"flip length byte of last record", false, func(e *damageEnv) outcome {
			e.flip(e.last().name, e.lastOff()+4)
			return outcome{lastIndex: n - 1, cutAt: e.lastOff()}
		}},
		{"flip length byte of last record upwards", false, func(e *damageEnv) outcome {
			e.flip(e.last().name, e.lastOff()+7) // length becomes huge
			return outcome{lastIndex: n - 1, cutAt: e.lastOff()}
		}},
		{"torn header of a new segment", false, func(e *damageEnv) outcome {
			name := segmentName(n+1) + rawSuffix
			e.writeAt(name, 0, []byte("MIWL\x01\x00"))
			return outcome{lastIndex: n, cutAt: -1, removed: name}
		}},
		{"empty new segment file", false, func(e *damageEnv) outcome {
			name := segmentName(n+1) + rawSuffix
			e.writeAt(name, 0, nil)
			return outcome{lastIndex: n, cutAt: -1, removed: name}
		}},
		{"flip byte in a middle record of the last segment", false, func(e *damageEnv) outcome {
			s := e.last()
			e.flip(s.name, s.offsets[1]+frameHeaderSize+3)
			return outcome{corrupt: true, segment: s.name, offset: s.offsets[1]}
		}},
		{"flip length byte in a middle record of the last segment", false, func(e *damageEnv) outcome {
			s := e.last()
			e.flip(s.name, s.offsets[1]+5)
			return outcome{corrupt: true, segment: s.name, offset: s.offsets[1]}
		}},
		{"zero a middle record of the last segment", false, func(e *damageEnv) outcome {
			s := e.last()
			e.writeAt(s.name, s.offsets[1], make([]byte, frame))
			return outcome{corrupt: true, segment: s.name, offset: s.offsets[1]}
		}},
		{"valid frame with the wrong index at the end", false, func(e *damageEnv) outcome {
			r := rec(n+5, 1, 100)
			e.writeAt(e.last().name, e.last().size, appendFrame(nil, &r))
			return outcome{corrupt: true, segment: e.last().name, offset: e.last().size}
		}},
		{"flip byte in the last record of a sealed segment", false, func(e *damageEnv) outcome {
			s := e.segs[1]
			off := s.offsets[len(s.offsets)-1]
			e.flip(s.name, off+frameHeaderSize+1)
			return outcome{corrupt: true, segment: s.name, offset: off}
		}},
		{"flip byte in the first record of the log", false, func(e *damageEnv) outcome {
			s := e.segs[0]
			e.flip(s.name, s.offsets[0]+20)
			return outcome{corrupt: true, segment: s.name, offset: s.offsets[0]}
		}},
		{"truncate a sealed segment", false, func(e *damageEnv) outcome {
			s := e.segs[0]
			e.truncate(s.name, s.size-1)
			return outcome{corrupt: true, segment: s.name, offset: s.offsets[len(s.offsets)-1]}
		}},
		{"zero tail on a sealed segment", false, func(e *damageEnv) outcome {
			s := e.segs[0]
			e.writeAt(s.name, s.size, make([]byte, 100))
			return outcome{corrupt: true, segment: s.name, offset: s.size}
		}},
		{"flip segment header byte", false, func(e *damageEnv) outcome {
			s := e.segs[1]
			e.flip(s.name, 9)
			return outcome{corrupt: true, segment: s.name, offset: 0}
		}},
		{"segment header first index differs from the name", false, func(e *damageEnv) outcome {
			s := e.segs[1]
			e.writeAt(s.name, 0, appendSegmentHeader(nil, s.first+1))
			return outcome{corrupt: true, segment: s.name, offset: 0}
		}},
		{"missing middle segment", false, func(e *damageEnv) outcome {
			if err := os.Remove(e.path(e.segs[1].name)); err != nil {
				e.t.Fatal(err)
			}
			return outcome{corrupt: true, segment: e.segs[2].name, offset: 0}
		}},
		{"flip byte in a compressed segment", true, func(e *damageEnv) outcome {
			s := e.segs[1]
			e.flip(s.name, e.size(s.name)/2)
			return outcome{corrupt: true, segment: s.name, offset: -1}
		}},
		{"truncate a compressed segment", true, func(e *damageEnv) outcome {
			s := e.segs[0]
			e.truncate(s.name, e.size(s.name)-3)
			return outcome{corrupt: true, segment: s.name, offset: -1}
		}},
		{"tear the last record with compressed segments", true, func(e *damageEnv) outcome {
			e.truncate(e.last().name, e.lastOff()+frame-1)
			return outcome{lastIndex: n - 1, cutAt: e.lastOff()}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir, SegmentSize: 1 << 10, NoCompress: !tc.compress}
			l := mustOpen(t, opts)
			all := recs(1, n, 1, 100)
			for _, r := range all {
				mustAppend(t, l, r)
			}
			waitCompressed(t, l)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			e := &damageEnv{t: t, dir: dir, segs: layout(t, dir), n: n}
			if len(e.segs) < 4 {
				t.Fatalf("only %d segments", len(e.segs))
			}
			if tc.compress && !strings.HasSuffix(e.segs[0].name, zstSuffix) {
				t.Fatalf("segment %s not compressed", e.segs[0].name)
			}
			want := tc.damage(e)
			damaged := dirSnapshot(t, dir)

			// Read-only: reports, changes nothing.
			logger, logs := newTestLogger()
			ro, err := Open(Options{Dir: dir, ReadOnly: true, Logger: logger})
			checkOutcome(t, ro, err, want, all, true, logs.String())
			if ro != nil {
				ro.Close()
			}
			if got := dirSnapshot(t, dir); !equalSnapshots(got, damaged) {
				t.Fatalf("read-only Open changed the files")
			}

			// Read-write: cuts or refuses.
			logger, logs = newTestLogger()
			opts.Logger = logger
			l, err = Open(opts)
			checkOutcome(t, l, err, want, all, false, logs.String())
			if l == nil {
				if got := dirSnapshot(t, dir); !equalSnapshots(got, damaged) {
					t.Fatalf("a refused Open changed the files")
				}
				return
			}
			if want.removed != "" {
				if _, err := os.Stat(e.path(want.removed)); !os.IsNotExist(err) {
					t.Fatalf("torn segment %s not removed: %v", want.removed, err)
				}
			}
			if want.cutAt >= 0 {
				if got := e.size(e.last().name); got != want.cutAt {
					t.Fatalf("last segment is %d bytes after the cut, want %d", got, want.cutAt)
				}
			}
			// The log goes on from the cut, and reopens clean.
			more := recs(want.lastIndex+1, want.lastIndex+5, 2, 100)
			appendInBatches(t, l, more)
			expect := append(append([]Record(nil), all[:want.lastIndex]...), more...)
			checkLog(t, l, expect)
			l.Close()
			l = mustOpen(t, opts)
			defer l.Close()
			if tt := l.TornTail(); tt != nil {
				t.Fatalf("torn tail again after the cut: %+v", tt)
			}
			checkLog(t, l, expect)
		})
	}
}

func checkOutcome(t *testing.T, l *Log, err error, want outcome, all []Record, ro bool, logs string) {
	t.Helper()
	mode := "read-write"
	if ro {
		mode = "read-only"
	}
	if want.corrupt {
		if err == nil {
			t.Fatalf("%s Open succeeded, want ErrCorrupt", mode)
		}
		var ce *CorruptError
		if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
			t.Fatalf("%s Open = %v, want ErrCorrupt", mode, err)
		}
		if !strings.Contains(err.Error(), want.segment) || ce.Segment != want.segment {
			t.Fatalf("%s Open = %v, want it to name segment %s", mode, err, want.segment)
		}
		if want.offset >= 0 && (ce.Offset != want.offset || !strings.Contains(err.Error(), fmt.Sprintf("offset %d:", want.offset))) {
			t.Fatalf("%s Open = %v, want offset %d", mode, err, want.offset)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s Open: %v", mode, err)
	}
	checkLog(t, l, all[:want.lastIndex])
	tt := l.TornTail()
	switch {
	case want.cutAt >= 0:
		if tt == nil || tt.Offset != want.cutAt || tt.Cut == ro {
			t.Fatalf("%s TornTail = %+v, want a cut at %d", mode, tt, want.cutAt)
		}
		if !strings.Contains(logs, tt.Segment) || !strings.Contains(logs, fmt.Sprintf("offset=%d", want.cutAt)) {
			t.Fatalf("%s: warning does not name the segment and offset: %q", mode, logs)
		}
	case want.removed != "":
		if tt == nil || tt.Segment != want.removed {
			t.Fatalf("%s TornTail = %+v, want %s", mode, tt, want.removed)
		}
	}
}

func equalSnapshots(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A crash during compression or a TruncateAfter rewrite leaves extra files;
// Open must cope with each state.
func TestCompressionCrashStates(t *testing.T) {
	build := func(t *testing.T) (string, []Record, []segLayout) {
		dir := t.TempDir()
		l := mustOpen(t, Options{Dir: dir, SegmentSize: 1 << 10, NoCompress: true})
		all := recs(1, 40, 1, 100)
		appendInBatches(t, l, all)
		l.Close()
		return dir, all, layout(t, dir)
	}
	compressed := func(t *testing.T, dir, name string) []byte {
		// Compress a copy the way the compressor does.
		l := mustOpen(t, Options{Dir: t.TempDir()})
		defer l.Close()
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return l.enc.EncodeAll(raw, nil)
	}
	cases := []struct {
		name  string
		crash func(t *testing.T, dir string, segs []segLayout)
		gone  []string // files Open must remove
	}{
		{"leftover zst.tmp", func(t *testing.T, dir string, segs []segLayout) {
			os.WriteFile(filepath.Join(dir, segs[0].name[:nameDigits]+zstTmpSuffix), []byte("half a zstd stream"), 0o644)
		}, []string{segmentName(1) + zstTmpSuffix}},
		{"leftover wal.tmp", func(t *testing.T, dir string, segs []segLayout) {
			os.WriteFile(filepath.Join(dir, segs[1].name[:nameDigits]+rawTmpSuffix), []byte("MIWL"), 0o644)
		}, nil},
		{"raw and zst both present", func(t *testing.T, dir string, segs []segLayout) {
			z := compressed(t, dir, segs[0].name)
			os.WriteFile(filepath.Join(dir, segs[0].name[:nameDigits]+zstSuffix), z, 0o644)
		}, []string{segmentName(1) + zstSuffix}},
		{"raw and a bad zst both present", func(t *testing.T, dir string, segs []segLayout) {
			os.WriteFile(filepath.Join(dir, segs[1].name[:nameDigits]+zstSuffix), []byte("not zstd"), 0o644)
		}, nil},
		{"only zst", func(t *testing.T, dir string, segs []segLayout) {
			z := compressed(t, dir, segs[0].name)
			os.WriteFile(filepath.Join(dir, segs[0].name[:nameDigits]+zstSuffix), z, 0o644)
			os.Remove(filepath.Join(dir, segs[0].name))
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, all, segs := build(t)
			tc.crash(t, dir, segs)
			ro := mustOpen(t, Options{Dir: dir, ReadOnly: true})
			checkLog(t, ro, all)
			ro.Close()

			l := mustOpen(t, Options{Dir: dir, SegmentSize: 1 << 10, NoCompress: true})
			checkLog(t, l, all)
			for _, g := range tc.gone {
				if _, err := os.Stat(filepath.Join(dir, g)); !os.IsNotExist(err) {
					t.Errorf("%s still there", g)
				}
			}
			for _, f := range dirFiles(t, dir) {
				if strings.HasSuffix(f, ".tmp") {
					t.Errorf("%s still there", f)
				}
			}
			l.Close()
			l = mustOpen(t, Options{Dir: dir, SegmentSize: 1 << 10})
			waitCompressed(t, l)
			checkLog(t, l, all)
			l.Close()
			l = mustOpen(t, Options{Dir: dir})
			defer l.Close()
			checkLog(t, l, all)
			if st := l.Stats(); st.CompressedSegments != st.Segments-1 {
				t.Fatalf("Stats %+v: sealed segments not all compressed", st)
			}
		})
	}
}

// A record's checksum covers every header field.
func TestChecksumCoversHeader(t *testing.T) {
	r := rec(9, 3, 20)
	b := appendFrame(nil, &r)
	for i := 4; i < len(b); i++ {
		c := bytes.Clone(b)
		c[i] ^= 1
		if _, _, why := decodeFrame(c); why == "" {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	if crc32.Checksum(b[4:], crcTable) != le.Uint32(b) {
		t.Fatal("checksum is not CRC-32C of bytes 4..")
	}
}
