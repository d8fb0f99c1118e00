package engine

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// Digest is an order-independent 128-bit hash of a whole image: the sum,
// lane by lane modulo 2^64, of a 128-bit hash of every key's record (its
// database, key, type, expiry and encoded value). Two images have the same
// digest when they hold the same keys with the same values and expiries,
// whatever order they were built in, so the digest of a server, of a
// snapshot plus its log tail and of a full replay of the log can be
// compared (MEMIMG.DIGEST, memimg verify). Being a sum, it is kept up to
// date by adding the records written and subtracting the ones replaced,
// which a snapshot does in O(changes). The empty image's digest is zero.
//
// The definition is frozen: a record hashes to two XXH64 sums (xxh64x2),
// seeds digestSeedLo and digestSeedHi, of
//
//	db u32 | type u8 | exp i64 | len(key) u32 | key | value    (little-endian)
//
// It detects differences, not attacks: XXH64 is not a cryptographic hash.
type Digest struct{ Lo, Hi uint64 }

// The seeds of the two lanes. Frozen.
const (
	digestSeedLo = 0x6d656d696d672d31 // "memimg-1"
	digestSeedHi = 0x6d656d696d672d32 // "memimg-2"
)

// ErrBadDigest is returned by ParseDigest for text that is not 32 hex
// digits.
var ErrBadDigest = errors.New("engine: a digest is 32 hexadecimal digits")

// hashRecord is the 128-bit hash of one record. buf is a scratch buffer,
// returned grown for the next call.
func hashRecord(buf []byte, r *Record) (lo, hi uint64, grown []byte) {
	buf = appendRecordHeader(buf[:0], r.DB, r.Type, r.Exp, len(r.Key))
	buf = append(buf, r.Key...)
	buf = append(buf, r.Value...)
	lo, hi = xxh64x2(buf, digestSeedLo, digestSeedHi)
	return lo, hi, buf
}

// appendRecordHeader appends the 17 bytes hashed before a record's key
// and value.
func appendRecordHeader(dst []byte, db int, typ ValueType, exp int64, klen int) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(db))
	dst = append(dst, byte(typ))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(exp))
	return binary.LittleEndian.AppendUint32(dst, uint32(klen))
}

// hashStringItem is hashRecord of a string item's record: its key and
// value lie side by side in one allocation.
func hashStringItem(buf []byte, db int, it item) (lo, hi uint64, grown []byte) {
	buf = appendRecordHeader(buf[:0], db, it.typ, it.exp, int(it.klen))
	buf = append(buf, it.bytes()...)
	lo, hi = xxh64x2(buf, digestSeedLo, digestSeedHi)
	return lo, hi, buf
}

// Hasher adds and subtracts records to and from a Digest. It is not safe
// for concurrent use; the zero value is ready.
type Hasher struct {
	buf []byte
}

// Add adds r's hash to d.
func (hs *Hasher) Add(d *Digest, r *Record) {
	lo, hi, buf := hashRecord(hs.buf, r)
	hs.buf = buf
	d.Lo += lo
	d.Hi += hi
}

// Sub subtracts r's hash from d (r is replaced or deleted).
func (hs *Hasher) Sub(d *Digest, r *Record) {
	lo, hi, buf := hashRecord(hs.buf, r)
	hs.buf = buf
	d.Lo -= lo
	d.Hi -= hi
}

// String is the digest as 32 hexadecimal digits.
func (d Digest) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:], d.Hi)
	binary.BigEndian.PutUint64(b[8:], d.Lo)
	return hex.EncodeToString(b[:])
}

// ParseDigest parses the text of Digest.String.
func ParseDigest(s string) (Digest, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return Digest{}, fmt.Errorf("%w: %q", ErrBadDigest, s)
	}
	return Digest{Hi: binary.BigEndian.Uint64(b[0:]), Lo: binary.BigEndian.Uint64(b[8:])}, nil
}

// Digest computes the View's digest: O(keys), about 50 ns a key.
func (v *View) Digest() (Digest, error) {
	var d Digest
	var hs Hasher
	err := v.Range(func(r *Record) error {
		hs.Add(&d, r)
		return nil
	})
	return d, err
}

// Digest is the digest of the image as of the last applied entry, and that
// entry's index. It hashes a View (Clone), so writers are not held up.
func (e *Engine) Digest() (Digest, uint64, error) {
	v := e.Clone()
	d, err := v.Digest()
	return d, v.Index, err
}

// MEMIMG.DIGEST: the image's digest as 32 hex digits. It runs on a View,
// outside the read lock (unlocked readers, see query).
func init() {
	onReadUnlocked("memimg.digest", func(e *Engine, db int, argv [][]byte) Reply {
		d, _, err := e.Digest()
		if err != nil {
			return Errorf("ERR " + err.Error())
		}
		return Bulk(d.String())
	})
}
