package wal

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
)

// File name suffixes.
const (
	rawSuffix    = ".wal"
	zstSuffix    = ".wal.zst"
	zstTmpSuffix = ".wal.zst.tmp" // compression in progress
	rawTmpSuffix = ".wal.tmp"     // TruncateAfter rewriting a compressed segment
	lockName     = "LOCK"
	nameDigits   = 20
)

// segmentName returns the base name (without suffix) of the segment whose
// first record is first: the index in decimal, zero-padded to 20 digits.
func segmentName(first uint64) string {
	s := strconv.FormatUint(first, 10)
	return strings.Repeat("0", nameDigits-len(s)) + s
}

// parseFileName splits a directory entry into the segment's first index and
// its suffix. ok is false for files that are not the wal's.
func parseFileName(name string) (first uint64, suffix string, ok bool) {
	if len(name) <= nameDigits {
		return 0, "", false
	}
	suffix = name[nameDigits:]
	switch suffix {
	case rawSuffix, zstSuffix, zstTmpSuffix, rawTmpSuffix:
	default:
		return 0, "", false
	}
	for _, c := range name[:nameDigits] {
		if c < '0' || c > '9' {
			return 0, "", false
		}
	}
	first, err := strconv.ParseUint(name[:nameDigits], 10, 64)
	if err != nil || first == 0 {
		return 0, "", false
	}
	return first, suffix, true
}

// segment is one segment file, raw or compressed.
//
// The fields other than refs are guarded by Log.mu. A raw segment keeps its
// file open and the offset of each record; a compressed one is opened on
// demand and its offsets are rebuilt when it is decompressed.
type segment struct {
	first      uint64 // index of the first record (the file name)
	last       uint64 // index of the last record; first-1 when empty
	name       string // current file name, e.g. 00000000000000000001.wal
	compressed bool
	f          File     // raw only
	size       int64    // bytes on disk (raw: end of the last valid record)
	alloc      int64    // active raw segment: the file's length; [size, alloc) is zeros written ahead (preallocate)
	rawSize    int64    // bytes of the uncompressed segment
	offsets    []uint32 // raw only: file offset of record first+i

	// refs counts the log's reference plus each reader's; the file is
	// closed when it drops to zero.
	refs atomic.Int64
}

func newSegment(first uint64, name string) *segment {
	s := &segment{first: first, last: first - 1, name: name}
	s.refs.Store(1)
	return s
}

func (s *segment) count() int { return int(s.last + 1 - s.first) }

// acquire takes a reference; the caller holds Log.mu and s is in the log.
func (s *segment) acquire() { s.refs.Add(1) }

// release drops a reference and closes the file after the last one.
func (s *segment) release() {
	if s.refs.Add(-1) == 0 && s.f != nil {
		s.f.Close()
	}
}

// frameEnd returns the end offset of record i (0-based) of a raw segment.
func (s *segment) frameEnd(i int) int64 {
	if i+1 < len(s.offsets) {
		return int64(s.offsets[i+1])
	}
	return s.size
}

// badFrame is a frame that failed its checks: where and why. Open turns it
// into a *CorruptError or, at the very end of the log, a torn tail.
type badFrame struct {
	off    int64
	reason string
	whole  bool // the frame itself is intact (e.g. a wrong index): never a torn write
}

func (b *badFrame) Error() string { return fmt.Sprintf("offset %d: %s", b.off, b.reason) }

// payloadChunk bounds each allocation step when reading a payload whose
// length cannot be checked against a known size (a decompressing stream),
// so a corrupt length never allocates more than the data really holds.
const payloadChunk = 1 << 20

// frameReader reads a segment's frames in order from a stream.
type frameReader struct {
	r    io.Reader
	size int64 // total bytes in the segment, or -1 when unknown
	off  int64 // segment offset of the next byte of r
	hdr  [frameHeaderSize]byte
	buf  []byte // payload buffer, reused
}

func newFrameReader(r io.Reader, off, size int64) *frameReader {
	return &frameReader{r: r, off: off, size: size}
}

// readHeader reads and checks the segment header.
func (fr *frameReader) readHeader() (uint64, error) {
	var b [segmentHeaderSize]byte
	n, err := io.ReadFull(fr.r, b[:])
	fr.off += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, &badFrame{off: 0, reason: "short segment header"}
		}
		return 0, err
	}
	first, why := parseSegmentHeader(b[:])
	if why != "" {
		return 0, &badFrame{off: 0, reason: why}
	}
	return first, nil
}

// next reads the next frame. The returned Data aliases an internal buffer,
// valid until the next call. It returns io.EOF at a clean end, a *badFrame
// for a frame that fails its checks, or the reader's own error.
func (fr *frameReader) next() (Record, error) {
	start := fr.off
	n, err := io.ReadFull(fr.r, fr.hdr[:])
	fr.off += int64(n)
	if err != nil {
		if err == io.EOF {
			return Record{}, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return Record{}, &badFrame{off: start, reason: "short frame header"}
		}
		return Record{}, err
	}
	h, why := parseFrameHeader(fr.hdr[:])
	if why != "" {
		return Record{}, &badFrame{off: start, reason: why}
	}
	plen := int(h.n)
	if fr.size >= 0 && int64(plen) > fr.size-fr.off {
		return Record{}, &badFrame{off: start, reason: fmt.Sprintf("frame length %d runs past the end of the segment", plen)}
	}
	if fr.size >= 0 {
		if cap(fr.buf) < plen {
			fr.buf = make([]byte, plen)
		}
		fr.buf = fr.buf[:plen]
		n, err = io.ReadFull(fr.r, fr.buf)
		fr.off += int64(n)
	} else {
		// Unknown size: grow as the data arrives.
		fr.buf = fr.buf[:0]
		for len(fr.buf) < plen && err == nil {
			step := min(plen-len(fr.buf), payloadChunk)
			if cap(fr.buf)-len(fr.buf) < step {
				grown := make([]byte, len(fr.buf), len(fr.buf)+max(step, len(fr.buf)))
				copy(grown, fr.buf)
				fr.buf = grown
			}
			n, err = io.ReadFull(fr.r, fr.buf[len(fr.buf):len(fr.buf)+step])
			fr.buf = fr.buf[:len(fr.buf)+n]
			fr.off += int64(n)
		}
	}
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Record{}, &badFrame{off: start, reason: "short frame"}
		}
		return Record{}, err
	}
	crc := crc32.Update(crc32.Checksum(fr.hdr[4:], crcTable), crcTable, fr.buf)
	if crc != h.crc {
		return Record{}, &badFrame{off: start, reason: "checksum mismatch"}
	}
	return Record{Index: h.index, Term: h.term, Kind: h.kind, Time: h.time, Data: fr.buf}, nil
}

// scanResult is what a full read of a segment found.
type scanResult struct {
	first   uint64   // from the header
	last    uint64   // last valid record; first-1 when none
	end     int64    // offset just after the last valid record
	offsets []uint32 // offset of each valid record, when asked for
	bad     *badFrame
}

// scanSegment reads a whole segment from r (size bytes, or -1 if unknown),
// checking the header, every frame and index continuity. It stops at the
// first bad frame and reports it in res.bad; err is a header fault (a
// *badFrame) or an error of r itself.
func scanSegment(r io.Reader, size int64, wantOffsets bool) (res scanResult, err error) {
	fr := newFrameReader(r, 0, size)
	first, err := fr.readHeader()
	if err != nil {
		return res, err
	}
	res.first, res.last, res.end = first, first-1, segmentHeaderSize
	return res, scanFrames(fr, &res, wantOffsets)
}

// scanFrames reads the frames of fr, which starts where res ends, into res
// (last, end, offsets if wantOffsets) until the end of the data, a bad
// frame (res.bad) or a read error.
func scanFrames(fr *frameReader, res *scanResult, wantOffsets bool) error {
	for {
		rec, err := fr.next()
		if err == io.EOF {
			return nil
		}
		if bf, ok := err.(*badFrame); ok {
			res.bad = bf
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Index != res.last+1 {
			res.bad = &badFrame{off: res.end, reason: fmt.Sprintf("record index %d, want %d", rec.Index, res.last+1), whole: true}
			return nil
		}
		if fr.off > maxSegmentFile {
			res.bad = &badFrame{off: res.end, reason: "segment larger than 4 GiB", whole: true}
			return nil
		}
		if wantOffsets {
			res.offsets = append(res.offsets, uint32(res.end))
		}
		res.last = rec.Index
		res.end = fr.off
	}
}

// findValidFrame looks for any offset in [from, end) of ra where a frame
// passes all its checks and carries an index of at least minIndex. It decides
// whether a bad frame is a torn tail (nothing valid after it) or corruption
// in the middle (a valid record follows). Candidates are filtered by their
// header fields before the checksum is computed, so a scan is about as fast
// as reading the bytes.
func findValidFrame(ra io.ReaderAt, from, end int64, minIndex uint64) (int64, bool, error) {
	const chunk = 1 << 20
	buf := make([]byte, chunk+frameHeaderSize)
	maxIndex := minIndex + uint64((end-from)/frameHeaderSize) + 1
	for base := from; base+frameHeaderSize <= end; base += chunk {
		n := int(min(int64(len(buf)), end-base))
		if _, err := ra.ReadAt(buf[:n], base); err != nil && err != io.EOF {
			return 0, false, err
		}
		for i := 0; i < chunk && i+frameHeaderSize <= n; i++ {
			b := buf[i : i+frameHeaderSize]
			h, why := parseFrameHeader(b)
			if why != "" || h.index < minIndex || h.index > maxIndex {
				continue
			}
			pos := base + int64(i)
			if int64(h.n) > end-pos-frameHeaderSize {
				continue
			}
			ok, err := frameChecksumOK(ra, pos, h)
			if err != nil {
				return 0, false, err
			}
			if ok {
				return pos, true, nil
			}
		}
	}
	return 0, false, nil
}

// frameChecksumOK computes the checksum of the frame at pos of ra.
func frameChecksumOK(ra io.ReaderAt, pos int64, h frameHeader) (bool, error) {
	var buf [32 << 10]byte
	sr := io.NewSectionReader(ra, pos+4, frameHeaderSize-4+int64(h.n))
	crc := uint32(0)
	for {
		n, err := sr.Read(buf[:])
		crc = crc32.Update(crc, crcTable, buf[:n])
		if err == io.EOF {
			return crc == h.crc, nil
		}
		if err != nil {
			return false, err
		}
	}
}
