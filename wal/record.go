package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
)

// Kind is the record type. It is opaque to the wal: the caller defines what
// each value means (and must never reuse one for something else).
type Kind uint8

// Record is one entry of the log.
type Record struct {
	Index uint64 // 1-based position in the log; contiguous
	Term  uint64 // Raft term (0 in standalone mode)
	Kind  Kind   // caller-defined record type
	Time  int64  // sequencer timestamp, Unix nanoseconds
	Data  []byte // opaque payload
}

// The on-disk format. These constants are part of the wire format: changing
// any of them makes existing logs unreadable. Bump segmentVersion instead and
// keep reading the old versions.
const (
	segmentVersion    = 1
	segmentHeaderSize = 24
	frameHeaderSize   = 40
)

// MaxRecordSize is the largest payload a record may carry (512 MiB). Readers
// reject a frame claiming more, so it is part of the wire format too.
const MaxRecordSize = 512 << 20

// segmentMagic opens every segment file. Part of the wire format.
var segmentMagic = [4]byte{'M', 'I', 'W', 'L'}

// crcTable is CRC-32C (Castagnoli), hardware-accelerated on amd64 and arm64.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

var le = binary.LittleEndian

// maxSegmentFile is the largest a segment file may grow: record offsets are
// kept as uint32 in memory.
const maxSegmentFile = 1<<32 - 1

// appendFrame encodes r as one frame at the end of dst.
//
//	+0  uint32   CRC-32C of bytes +4 .. +40+N
//	+4  uint32   N, payload length
//	+8  uint8    kind
//	+9  [7]byte  reserved, zero
//	+16 uint64   index
//	+24 uint64   term
//	+32 int64    time
//	+40 [N]byte  payload
func appendFrame(dst []byte, r *Record) []byte {
	n := len(dst)
	dst = slices.Grow(dst, frameHeaderSize+len(r.Data))
	dst = dst[:n+frameHeaderSize+len(r.Data)]
	b := dst[n:]
	le.PutUint32(b[4:], uint32(len(r.Data)))
	b[8] = byte(r.Kind)
	clear(b[9:16])
	le.PutUint64(b[16:], r.Index)
	le.PutUint64(b[24:], r.Term)
	le.PutUint64(b[32:], uint64(r.Time))
	copy(b[frameHeaderSize:], r.Data)
	le.PutUint32(b[0:], crc32.Checksum(b[4:], crcTable))
	return dst
}

// frameHeader is the decoded fixed part of a frame.
type frameHeader struct {
	crc   uint32
	n     uint32
	kind  Kind
	index uint64
	term  uint64
	time  int64
}

// parseFrameHeader decodes the 40-byte frame header in b and checks what can
// be checked without the payload. It returns a reason string when the header
// cannot be a frame.
func parseFrameHeader(b []byte) (frameHeader, string) {
	h := frameHeader{
		crc:   le.Uint32(b[0:]),
		n:     le.Uint32(b[4:]),
		kind:  Kind(b[8]),
		index: le.Uint64(b[16:]),
		term:  le.Uint64(b[24:]),
		time:  int64(le.Uint64(b[32:])),
	}
	if h.n > MaxRecordSize {
		return h, fmt.Sprintf("frame length %d exceeds the maximum %d", h.n, MaxRecordSize)
	}
	for _, c := range b[9:16] {
		if c != 0 {
			return h, "reserved frame bytes are not zero"
		}
	}
	return h, ""
}

// decodeFrame decodes the frame at the start of b. The returned record's Data
// aliases b. It returns the frame's length, or a reason why b does not start
// with a valid frame.
func decodeFrame(b []byte) (Record, int, string) {
	if len(b) < frameHeaderSize {
		return Record{}, 0, "short frame header"
	}
	h, why := parseFrameHeader(b)
	if why != "" {
		return Record{}, 0, why
	}
	end := frameHeaderSize + int(h.n)
	if end > len(b) {
		return Record{}, 0, fmt.Sprintf("frame length %d runs past the end of the data", h.n)
	}
	if crc32.Checksum(b[4:end], crcTable) != h.crc {
		return Record{}, 0, "checksum mismatch"
	}
	return Record{
		Index: h.index,
		Term:  h.term,
		Kind:  h.kind,
		Time:  h.time,
		Data:  b[frameHeaderSize:end:end],
	}, end, ""
}

// appendSegmentHeader encodes a segment header.
//
//	+0  [4]byte  magic "MIWL"
//	+4  uint8    format version (1)
//	+5  [3]byte  reserved, zero
//	+8  uint64   first index
//	+16 uint32   CRC-32C of bytes +0 .. +16
//	+20 [4]byte  reserved, zero
func appendSegmentHeader(dst []byte, first uint64) []byte {
	var b [segmentHeaderSize]byte
	copy(b[0:4], segmentMagic[:])
	b[4] = segmentVersion
	le.PutUint64(b[8:], first)
	le.PutUint32(b[16:], crc32.Checksum(b[:16], crcTable))
	return append(dst, b[:]...)
}

// parseSegmentHeader checks a segment header and returns its first index, or
// a reason why it is not valid.
func parseSegmentHeader(b []byte) (uint64, string) {
	if len(b) < segmentHeaderSize {
		return 0, "short segment header"
	}
	if [4]byte(b[0:4]) != segmentMagic {
		return 0, "bad segment magic"
	}
	if crc32.Checksum(b[:16], crcTable) != le.Uint32(b[16:]) {
		return 0, "segment header checksum mismatch"
	}
	if b[4] != segmentVersion {
		return 0, fmt.Sprintf("unsupported segment format version %d", b[4])
	}
	if b[5]|b[6]|b[7]|b[20]|b[21]|b[22]|b[23] != 0 {
		return 0, "reserved segment header bytes are not zero"
	}
	first := le.Uint64(b[8:])
	if first == 0 {
		return 0, "segment first index is 0"
	}
	return first, ""
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
