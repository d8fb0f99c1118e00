package snapshot

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/memimg/memimg/engine"
)

// The store's format. Frozen: see the package documentation.
const (
	// FormatVersion is the version of the key layout and metadata.
	FormatVersion = 1

	metaMagic = "MISN"
	metaSize  = 88

	prefixMeta = 0x00
	prefixData = 0x01

	// valueHeader is the type byte and the expiry before a data value.
	valueHeader = 9
)

// metaKey is the key of the metadata record.
var metaKey = []byte("\x00meta")

// The bounds of the whole key space (IngestAndExcise) and of the data keys.
var (
	spanStart = []byte{prefixMeta}
	spanEnd   = []byte{0xff}
	dataStart = []byte{prefixData}
	dataEnd   = []byte{prefixData + 1}
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Kind is how a snapshot was written.
type Kind uint8

// The kinds of snapshot.
const (
	// Full: the whole image was written.
	Full Kind = 1
	// Incremental: only what changed since the previous snapshot.
	Incremental Kind = 2
)

func (k Kind) String() string {
	switch k {
	case Full:
		return "full"
	case Incremental:
		return "incremental"
	}
	return "none"
}

// Meta describes the snapshot a store holds.
type Meta struct {
	Version int    // format version
	Kind    Kind   // how the last snapshot was written
	Index   uint64 // the last log entry the image reflects
	Term    uint64 // its term
	Time    int64  // its time, unix nanoseconds
	Created time.Time
	Keys    uint64
	Digest  engine.Digest
	// Databases is the number of databases of the image.
	Databases int
	// ValueEncoding is engine.ValueEncodingVersion when it was written.
	ValueEncoding int
	// FullIndex is the index of the last full snapshot, and Incrementals
	// the number of incremental ones written on top of it since.
	FullIndex    uint64
	Incrementals int
}

// IsZero reports whether m describes no snapshot.
func (m Meta) IsZero() bool { return m.Version == 0 }

func encodeMeta(m Meta) []byte {
	b := make([]byte, metaSize)
	copy(b, metaMagic)
	b[4] = FormatVersion
	b[5] = byte(m.Kind)
	le := binary.LittleEndian
	le.PutUint64(b[8:], m.Index)
	le.PutUint64(b[16:], m.Term)
	le.PutUint64(b[24:], uint64(m.Time))
	le.PutUint64(b[32:], uint64(m.Created.UnixNano()))
	le.PutUint64(b[40:], m.Keys)
	le.PutUint64(b[48:], m.Digest.Lo)
	le.PutUint64(b[56:], m.Digest.Hi)
	le.PutUint32(b[64:], uint32(m.Databases))
	le.PutUint32(b[68:], uint32(m.ValueEncoding))
	le.PutUint64(b[72:], m.FullIndex)
	le.PutUint32(b[80:], uint32(m.Incrementals))
	le.PutUint32(b[84:], crc32.Checksum(b[:84], castagnoli))
	return b
}

func decodeMeta(b []byte) (Meta, error) {
	if len(b) != metaSize || string(b[:4]) != metaMagic {
		return Meta{}, fmt.Errorf("%w: metadata record of %d bytes, magic %q", ErrCorrupt, len(b), b[:min(4, len(b))])
	}
	le := binary.LittleEndian
	if got, want := le.Uint32(b[84:]), crc32.Checksum(b[:84], castagnoli); got != want {
		return Meta{}, fmt.Errorf("%w: metadata checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	if b[6] != 0 || b[7] != 0 {
		return Meta{}, fmt.Errorf("%w: metadata reserved bytes %x", ErrCorrupt, b[6:8])
	}
	if b[4] != FormatVersion {
		return Meta{}, fmt.Errorf("%w: format %d (this build reads %d)", ErrVersion, b[4], FormatVersion)
	}
	m := Meta{
		Version:       int(b[4]),
		Kind:          Kind(b[5]),
		Index:         le.Uint64(b[8:]),
		Term:          le.Uint64(b[16:]),
		Time:          int64(le.Uint64(b[24:])),
		Created:       time.Unix(0, int64(le.Uint64(b[32:]))),
		Keys:          le.Uint64(b[40:]),
		Digest:        engine.Digest{Lo: le.Uint64(b[48:]), Hi: le.Uint64(b[56:])},
		Databases:     int(le.Uint32(b[64:])),
		ValueEncoding: int(le.Uint32(b[68:])),
		FullIndex:     le.Uint64(b[72:]),
		Incrementals:  int(le.Uint32(b[80:])),
	}
	if m.ValueEncoding != engine.ValueEncodingVersion {
		return m, fmt.Errorf("%w: value encoding %d (this build reads %d)", ErrVersion, m.ValueEncoding, engine.ValueEncodingVersion)
	}
	if m.Kind != Full && m.Kind != Incremental {
		return m, fmt.Errorf("%w: metadata kind %d", ErrCorrupt, m.Kind)
	}
	return m, nil
}

// appendDataKey appends the store key of (db, key) to dst.
func appendDataKey(dst []byte, db int, key string) []byte {
	dst = append(dst, prefixData)
	dst = binary.BigEndian.AppendUint32(dst, uint32(db))
	return append(dst, key...)
}

// parseDataKey splits a store key into database and key.
func parseDataKey(k []byte) (int, []byte, error) {
	if len(k) < 5 || k[0] != prefixData {
		return 0, nil, fmt.Errorf("%w: data key %q", ErrCorrupt, k)
	}
	return int(binary.BigEndian.Uint32(k[1:5])), k[5:], nil
}

// appendValue appends the store value of r to dst.
func appendValue(dst []byte, r *engine.Record) []byte {
	dst = append(dst, byte(r.Type))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.Exp))
	return append(dst, r.Value...)
}

// parseValue splits a store value into type, expiry and encoded value.
func parseValue(v []byte) (engine.ValueType, int64, []byte, error) {
	if len(v) < valueHeader {
		return 0, 0, nil, fmt.Errorf("%w: data value of %d bytes", ErrCorrupt, len(v))
	}
	return engine.ValueType(v[0]), int64(binary.LittleEndian.Uint64(v[1:9])), v[valueHeader:], nil
}
