package engine

import (
	"strings"
	"unsafe"

	"github.com/tidwall/btree"
)

// ValueType is the Redis type of a value.
type ValueType uint8

// The value types. Only strings exist today; the collection types join them
// with the data-model issue.
const (
	TypeString ValueType = iota
)

// String returns the name TYPE replies with.
func (t ValueType) String() string {
	switch t {
	case TypeString:
		return "string"
	}
	return "none"
}

// item is one key of a keyspace: 32 bytes, stored by value in the B-tree's
// nodes, with one pointer and one allocation per key.
//
//	kv   the key's bytes followed by the value's bytes, one allocation
//	     that holds no pointers (the collector never scans it)
//	exp  absolute expiry, unix milliseconds; 0 = none
//	klen len(key): kv[:klen] is the key, kv[klen:] the string value
//	typ  the value's type
//
// Items are never mutated in place: a write builds a new item (a new kv
// when the key or the value changes; a changed copy of the item when only
// exp does) and replaces the old one, so a copy of the tree (a snapshot's
// view) never sees a later change (DESIGN rule 5). kv is a Go string,
// immutable by construction; replies and the expiry index may hold
// substrings of it.
//
// For 1,000,000 keys "key:%012d" with 64-byte values this is 148 bytes a
// key loaded in key order, 128 in random order (one 80-byte kv allocation
// and the item's share of the B-tree's nodes, which are half to fully
// used), against 175 and 152 with the former 48-byte item {key, str
// string; exp; typ} and its two allocations, and ~169 in Redis 7
// (BenchmarkImageMemory).
//
// The collection types (hashes, lists, sets, sorted sets) need a pointer to
// their object, which a pointer-free kv cannot hold. The plan is to keep the
// item at 32 bytes by turning kv into a tagged reference: a raw pointer
// (unsafe.Pointer, 8 bytes) and the lengths (klen and a uint32 value
// length, 8 bytes) in place of the 16-byte string header. For a string the
// pointer is to the key-and-value bytes, as now; for a collection it is to
// an object header allocated with the collection,
//
//	type object struct {
//		key string // the key's bytes
//		...        // the collection: a small packed encoding (listpack-like
//		           // []byte) or, past a size, its tree or map
//	}
//
// and typ says which. The collector follows an unsafe.Pointer by the type of
// the allocation it points to, so both are traced correctly. A string key
// costs nothing more; a collection key costs the header allocation
// (~32-48 bytes) and one more pointer hop to compare its key, which only
// key() sees: every caller goes through key(), str() and the constructors
// below, so the change stays in this file. (Those 25 bytes pad to 32; with
// typ folded into spare bits of the lengths, values and keys being at most
// 512 MB, the item would be 24 bytes, ~16 bytes a key less.) The
// alternative, an `obj unsafe.Pointer` field next to kv, is simpler but
// makes every item 40 bytes, ~+16 bytes a key counting the B-tree's slack,
// strings included.
type item struct {
	kv   string
	exp  int64
	klen uint32
	typ  ValueType
}

// key is the item's key: a prefix of kv.
func (it item) key() string { return it.kv[:it.klen] }

// str is the value of a string item: the rest of kv.
func (it item) str() string { return it.kv[it.klen:] }

// probe returns an item to look key up with: it views the caller's bytes
// without copying, so it must never be stored.
func probe(key []byte) item { return probeString(bstr(key)) }

// probeString is probe for a key held in a string.
func probeString(key string) item { return item{kv: key, klen: uint32(len(key))} }

// newString builds the item of a string key: key and val are copied into
// one new allocation, so either may view a client's buffer or the bytes of
// another item.
func newString(key, val string, exp int64) item {
	return item{kv: concat(key, val), exp: exp, klen: uint32(len(key)), typ: TypeString}
}

// withKey returns it under another key: the same value, type and expiry in
// a new kv.
func (it item) withKey(key []byte) item {
	return item{kv: concat(bstr(key), it.str()), exp: it.exp, klen: uint32(len(key)), typ: it.typ}
}

// concat returns a+b in a new allocation, always: unlike the + operator,
// which returns b itself when a is empty (b may view a client's buffer). The
// allocation is not zeroed first (strings.Builder), which matters for values
// of hundreds of megabytes.
func concat(a, b string) string {
	var sb strings.Builder
	sb.Grow(len(a) + len(b))
	sb.WriteString(a)
	sb.WriteString(b)
	return sb.String()
}

// expiring orders the keys that have a TTL by (exp, key), so the expiry
// reactor finds due keys without scanning the keyspace. key is the item's
// key(), a substring of its kv: no allocation of its own, and
// keyspace.set keeps it pointing into the current item's kv, so the index
// never keeps a replaced value alive.
type expiring struct {
	exp int64
	key string
}

func itemLess(a, b item) bool { return a.key() < b.key() }

func expiringLess(a, b expiring) bool {
	if a.exp != b.exp {
		return a.exp < b.exp
	}
	return a.key < b.key
}

// keyspace is one database: the keys and the index of their expiry times.
type keyspace struct {
	keys    *btree.BTreeG[item]
	expires *btree.BTreeG[expiring]
}

var btreeOpts = btree.Options{NoLocks: true}

func newKeyspace() *keyspace {
	return &keyspace{
		keys:    btree.NewBTreeGOptions(itemLess, btreeOpts),
		expires: btree.NewBTreeGOptions(expiringLess, btreeOpts),
	}
}

// clone returns an O(1) copy-on-write copy of ks: later writes to either
// copy path-copy the nodes they touch and never change the other.
func (ks *keyspace) clone() *keyspace {
	return &keyspace{keys: ks.keys.Copy(), expires: ks.expires.Copy()}
}

// bstr views b as a string without copying, for lookups only: the result must
// not be stored.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// lookup returns the live item for key at time now (unix ms): an expired key
// reads as missing (lazy expiry).
func (ks *keyspace) lookup(key []byte, now int64) (item, bool) {
	it, ok := ks.keys.Get(probe(key))
	if !ok || (it.exp != 0 && it.exp <= now) {
		return item{}, false
	}
	return it, true
}

// set stores it, replacing any previous item and keeping the expiry index
// in step. it.kv must not alias a client's buffer (build it with newString
// or withKey).
func (ks *keyspace) set(it item) {
	prev, replaced := ks.keys.Set(it)
	if replaced && prev.exp != 0 && prev.exp != it.exp {
		ks.expires.Delete(expiring{exp: prev.exp, key: prev.key()})
	}
	if it.exp != 0 && (!replaced || prev.exp != it.exp || unsafe.StringData(prev.kv) != unsafe.StringData(it.kv)) {
		// Also when only the value changed (INCR, SET KEEPTTL): the entry
		// is replaced so that its key views the new kv, not the old one
		// (equal bytes in another allocation count as a change). That is
		// a second descent, ~+40% for SET KEEPTTL on a random key of a
		// 1M-key image (BenchmarkImageOps); an entry owning a copy of the
		// key would avoid it at +16 bytes and +1 object per TTL key.
		ks.expires.Set(expiring{exp: it.exp, key: it.key()})
	}
}

// remove deletes key; it reports whether the key existed (expired or not).
func (ks *keyspace) remove(key []byte) (item, bool) {
	prev, ok := ks.keys.Delete(probe(key))
	if ok && prev.exp != 0 {
		ks.expires.Delete(expiring{exp: prev.exp, key: prev.key()})
	}
	return prev, ok
}

// image is the whole memory image: one keyspace per database.
type image struct {
	dbs []*keyspace
}

func newImage(databases int) *image {
	im := &image{dbs: make([]*keyspace, databases)}
	for i := range im.dbs {
		im.dbs[i] = newKeyspace()
	}
	return im
}
