package wal

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the frame decoder, the segment reader
// (known size and streaming) and the torn-tail search. None may panic or
// allocate much more than the input holds; what decodes must re-encode to the
// same bytes.
func FuzzDecode(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "segment-v1.wal"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(golden[:len(golden)-3])
	f.Add(golden[segmentHeaderSize:])
	r := rec(1, 1, 10)
	f.Add(appendFrame(nil, &r))
	f.Add(append(appendSegmentHeader(nil, 1), make([]byte, 100)...))
	huge := appendFrame(appendSegmentHeader(nil, 1), &r)
	le.PutUint32(huge[segmentHeaderSize+4:], MaxRecordSize)
	f.Add(huge)
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		// The frame decoder.
		if rec, n, why := decodeFrame(data); why == "" {
			if n > len(data) || n != frameHeaderSize+len(rec.Data) {
				t.Fatalf("decodeFrame length %d of %d bytes", n, len(data))
			}
			if re := appendFrame(nil, &rec); !bytes.Equal(re, data[:n]) {
				t.Fatalf("re-encoding differs:\n%x\n%x", re, data[:n])
			}
		}

		// The segment reader, with a known size and as a stream.
		res1, err1 := scanSegment(bytes.NewReader(data), int64(len(data)), true)
		res2, err2 := scanSegment(iotestOneByte(data), -1, false)
		if (err1 == nil) != (err2 == nil) || res1.last != res2.last || res1.end != res2.end {
			t.Fatalf("sized and streaming readers disagree: %v/%v %+v/%+v", err1, err2, res1, res2)
		}
		if err1 == nil {
			if res1.end > int64(len(data)) || len(res1.offsets) != int(res1.last+1-res1.first) {
				t.Fatalf("scan result %+v for %d bytes", res1, len(data))
			}
			// What was read re-encodes to the same bytes.
			re := appendSegmentHeader(nil, res1.first)
			_ = scanRecords(data[:res1.end], func(r Record) { re = appendFrame(re, &r) })
			if !bytes.Equal(re, data[:res1.end]) {
				t.Fatalf("valid prefix does not re-encode")
			}
			if res1.bad != nil {
				findValidFrame(bytes.NewReader(data), res1.bad.off+1, int64(len(data)), res1.last+1)
			}
		}
	})
}

// scanRecords calls fn for each record of a valid segment image.
func scanRecords(seg []byte, fn func(Record)) error {
	fr := newFrameReader(bytes.NewReader(seg), 0, int64(len(seg)))
	if _, err := fr.readHeader(); err != nil {
		return err
	}
	for {
		r, err := fr.next()
		if err != nil {
			return err
		}
		fn(r)
	}
}

// iotestOneByte returns a reader that hands out small, uneven pieces, as a
// decompressor may.
func iotestOneByte(b []byte) io.Reader { return &pieceReader{b: b} }

type pieceReader struct {
	b []byte
	n int
}

func (r *pieceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	r.n = r.n%7 + 1
	k := min(len(p), r.n, len(r.b))
	copy(p, r.b[:k])
	r.b = r.b[k:]
	return k, nil
}

// A corrupt length must not make the streaming reader allocate it.
func TestHugeLengthDoesNotAllocate(t *testing.T) {
	r := rec(1, 1, 10)
	data := appendFrame(appendSegmentHeader(nil, 1), &r)
	le.PutUint32(data[segmentHeaderSize+4:], MaxRecordSize)
	allocs := testing.AllocsPerRun(5, func() {
		res, err := scanSegment(bytes.NewReader(data), -1, false)
		if err != nil || res.bad == nil {
			t.Fatalf("scan = %+v, %v", res, err)
		}
	})
	var ms1, ms2 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	scanSegment(bytes.NewReader(data), -1, false)
	runtime.ReadMemStats(&ms2)
	if grew := ms2.TotalAlloc - ms1.TotalAlloc; grew > 4<<20 {
		t.Fatalf("reading a frame claiming %d bytes allocated %d bytes (%v allocs)", MaxRecordSize, grew, allocs)
	}
}

// FuzzOpenLastSegment opens a log whose last segment is five good records
// followed by arbitrary bytes (zeros written ahead, a torn append, records
// appended, garbage). Open, read-only or not, may refuse with ErrCorrupt,
// but never panics; when it opens, the two agree on the log's end, which
// holds the five records; a read-write Open leaves a log that reopens
// clean at the same end.
func FuzzOpenLastSegment(f *testing.F) {
	good := appendSegmentHeader(nil, 1)
	for i := uint64(1); i <= 5; i++ {
		r := rec(i, 1, 30)
		good = appendFrame(good, &r)
	}
	r6 := rec(6, 1, 30)
	f.Add([]byte{})
	f.Add(make([]byte, 4096))
	f.Add(appendFrame(nil, &r6))
	f.Add(append(appendFrame(nil, &r6), make([]byte, 100)...))
	f.Add(appendFrame(nil, &r6)[:50])
	f.Add(append(make([]byte, 64), appendFrame(nil, &r6)...))
	f.Add([]byte("garbage garbage garbage garbage garbage garbage"))

	f.Fuzz(func(t *testing.T, tail []byte) {
		if len(tail) > 1<<16 {
			return
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)+rawSuffix), append(append([]byte(nil), good...), tail...), 0o644); err != nil {
			t.Fatal(err)
		}
		logger, _ := newTestLogger()
		ro, errRO := Open(Options{Dir: dir, ReadOnly: true, Logger: logger})
		var roLast uint64
		if errRO == nil {
			roLast = ro.LastIndex()
			ro.Close()
		}
		l, err := Open(Options{Dir: dir, NoCompress: true, Logger: logger})
		if (err == nil) != (errRO == nil) {
			t.Fatalf("read-only Open: %v; read-write Open: %v", errRO, err)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt or success", err)
			}
			return
		}
		last := l.LastIndex()
		if last != roLast || last < 5 {
			l.Close()
			t.Fatalf("read-write Open ends at %d, read-only at %d; want the same, at least 5", last, roLast)
		}
		for i := uint64(1); i <= 5; i++ {
			if got, err := l.Get(i); err != nil || !sameRecord(got, rec(i, 1, 30)) {
				l.Close()
				t.Fatalf("record %d: %+v, %v", i, got, err)
			}
		}
		l.Close()
		again, err := Open(Options{Dir: dir, NoCompress: true, Logger: logger})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer again.Close()
		if again.LastIndex() != last || again.TornTail() != nil {
			t.Fatalf("reopen: last %d, torn %+v; want %d and no torn tail", again.LastIndex(), again.TornTail(), last)
		}
	})
}
