package engine

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/tidwall/btree"
)

// ValueType is the Redis type of a value.
type ValueType uint8

// The value types. Frozen: snapshots store them.
const (
	TypeString ValueType = iota
	TypeList
	TypeSet
	TypeZSet
	TypeHash
)

// String returns the name TYPE replies with.
func (t ValueType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	case TypeHash:
		return "hash"
	}
	return "none"
}

// item is one key of a keyspace: 32 bytes, stored by value in the B-tree's
// nodes, with one pointer per key.
//
//	p     a string key: the first byte of one allocation holding the key's
//	      bytes followed by the value's (no pointers inside, so the
//	      collector never scans it); a collection key: its *objectHeader
//	exp   absolute expiry, unix milliseconds; 0 = none
//	klen  len(key) of a string key
//	vlen  len(value) of a string key
//	typ   the value's type, which says what p points to
//
// p is an unsafe.Pointer so that one word serves both kinds; the collector
// follows it by the type of the allocation it points into, so both are
// traced correctly. Only the accessors below (key, str, bytes, object) and
// the constructors (probe, newString, stringItem, newObject, withKey) look
// at the fields.
//
// Items are never mutated in place: a write builds a new item (new bytes
// when the key or the value changes; a changed copy of the item when only
// exp does) and replaces the old one, so a copy of the tree (a snapshot's
// view) never sees a later change (DESIGN rule 5). The bytes of a string
// item are immutable once built; replies and the expiry index may hold
// substrings of them. A collection object is immutable too: a write to a
// collection builds a new object (sharing structure with the old one, e.g.
// through copy-on-write trees) and a new item.
//
// For 1,000,000 keys "key:%012d" with 64-byte values this is 148 bytes a
// key loaded in key order, 128 in random order (one 80-byte allocation and
// the item's share of the B-tree's nodes, which are half to fully used),
// against 175 and 152 with the former 48-byte item {key, str string; exp;
// typ} and its two allocations, and ~169 in Redis 7 (BenchmarkImageMemory).
// A collection key costs one more allocation, its 32-byte objectHeader.
type item struct {
	p    unsafe.Pointer
	exp  int64
	klen uint32
	vlen uint32
	typ  ValueType
}

// objectHeader is what a collection item points to: its key and the
// collection. Collections implement object.
type objectHeader struct {
	key string
	obj object
}

// object is a collection value (hash, list, set, sorted set). Objects are
// immutable once stored: a write builds a new one (sharing structure with the
// old, e.g. through copy-on-write trees), never changes one in place.
type object interface {
	// Type is the value's type, as TYPE names it.
	Type() ValueType
	// Len is the number of elements (fields, members); a collection with
	// none is removed from the keyspace, as in Redis.
	Len() int
	// Encode appends a deterministic encoding of the value to dst: equal
	// contents give equal bytes, whatever the history that built them.
	// Snapshots store it and MEMIMG.DIGEST hashes it; decodeObject reads it
	// back.
	Encode(dst []byte) []byte
}

// objectDecoders rebuild objects from their Encode bytes, by type; each
// collection type registers its own in an init function.
var objectDecoders = map[ValueType]func(b []byte) (object, error){}

// decodeObject rebuilds an object of type typ from its Encode bytes.
func decodeObject(typ ValueType, b []byte) (object, error) {
	dec := objectDecoders[typ]
	if dec == nil {
		return nil, fmt.Errorf("engine: no decoder for value type %d", typ)
	}
	return dec(b)
}

// key is the item's key.
func (it item) key() string {
	if it.typ == TypeString {
		return unsafe.String((*byte)(it.p), it.klen)
	}
	return (*objectHeader)(it.p).key
}

// str is the value of a string item.
func (it item) str() string {
	if it.vlen == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Add(it.p, it.klen)), it.vlen)
}

// bytes is a string item's key and value, as one string.
func (it item) bytes() string { return unsafe.String((*byte)(it.p), it.klen+it.vlen) }

// object is a collection item's value; nil for a string item.
func (it item) object() object {
	if it.typ == TypeString {
		return nil
	}
	return (*objectHeader)(it.p).obj
}

// probe returns an item to look key up with: it views the caller's bytes
// without copying, so it must never be stored.
func probe(key []byte) item { return probeString(bstr(key)) }

// probeString is probe for a key held in a string.
func probeString(key string) item {
	return item{p: unsafe.Pointer(unsafe.StringData(key)), klen: uint32(len(key)), typ: TypeString}
}

// newString builds the item of a string key: key and val are copied into
// one new allocation, so either may view a client's buffer or the bytes of
// another item.
func newString(key, val string, exp int64) item {
	return stringItem(concat(key, val), uint32(len(key)), exp)
}

// stringItem is the string item whose key is kv[:klen] and value the rest.
// kv must be immutable and owned by the item (not a view of a client's
// buffer).
func stringItem(kv string, klen uint32, exp int64) item {
	return item{p: unsafe.Pointer(unsafe.StringData(kv)), exp: exp, klen: klen,
		vlen: uint32(len(kv)) - klen, typ: TypeString}
}

// newObject builds the item of a collection key; key is copied.
func newObject(key string, obj object, exp int64) item {
	h := &objectHeader{key: strings.Clone(key), obj: obj}
	return item{p: unsafe.Pointer(h), exp: exp, typ: obj.Type()}
}

// withKey returns it under another key: the same value, type and expiry.
func (it item) withKey(key []byte) item {
	if it.typ != TypeString {
		return newObject(bstr(key), it.object(), it.exp)
	}
	return newString(bstr(key), it.str(), it.exp)
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
// key(), a view of its bytes (or its object's key): no allocation of its
// own, and keyspace.set keeps it pointing into the current item, so the
// index never keeps a replaced value alive.
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

	// hint is the path of the apply path's last lookup or change of keys
	// (set, remove, applyCtx.live): a write looks its key up, then sets
	// it, and the second descent finds its way from the first's path; a
	// run of nearby keys (a replay of a load in key order) does too.
	// Only the writer (under the apply lock) uses it; readers never do,
	// and a clone starts with none.
	hint btree.PathHint
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
// in step. it must own its bytes (build it with newString, stringItem,
// newObject or withKey), never view a client's buffer.
func (ks *keyspace) set(it item) {
	prev, replaced := ks.keys.SetHint(it, &ks.hint)
	if replaced && prev.exp != 0 && prev.exp != it.exp {
		ks.expires.Delete(expiring{exp: prev.exp, key: prev.key()})
	}
	if it.exp != 0 && (!replaced || prev.exp != it.exp || prev.p != it.p) {
		// Also when only the value changed (INCR, SET KEEPTTL): the entry
		// is replaced so that its key views the new item, not the old one
		// (equal bytes in another allocation count as a change). That is
		// a second descent, ~+40% for SET KEEPTTL on a random key of a
		// 1M-key image (BenchmarkImageOps); an entry owning a copy of the
		// key would avoid it at +16 bytes and +1 object per TTL key.
		ks.expires.Set(expiring{exp: it.exp, key: it.key()})
	}
}

// remove deletes key; it reports whether the key existed (expired or not).
func (ks *keyspace) remove(key []byte) (item, bool) {
	prev, ok := ks.keys.DeleteHint(probe(key), &ks.hint)
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
