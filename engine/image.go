package engine

import (
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

// item is one key of a keyspace. Items are stored by value in the B-tree and
// never mutated in place: a write replaces the item, so a copy of the tree
// (a snapshot's view) never sees a later change (DESIGN rule 5). Strings are
// Go strings, immutable by construction.
type item struct {
	key string
	str string    // the value of a string key
	exp int64     // absolute expiry, unix milliseconds; 0 = none
	typ ValueType // the value's type
}

// expiring orders the keys that have a TTL by (exp, key), so the expiry
// reactor finds due keys without scanning the keyspace.
type expiring struct {
	exp int64
	key string
}

func itemLess(a, b item) bool { return a.key < b.key }

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
	it, ok := ks.keys.Get(item{key: bstr(key)})
	if !ok || (it.exp != 0 && it.exp <= now) {
		return item{}, false
	}
	return it, true
}

// set stores it, replacing any previous item and keeping the expiry index
// in step. The caller owns it.key and it.str (they must not alias client
// buffers).
func (ks *keyspace) set(it item) {
	prev, replaced := ks.keys.Set(it)
	if replaced && prev.exp != 0 && prev.exp != it.exp {
		ks.expires.Delete(expiring{exp: prev.exp, key: prev.key})
	}
	if it.exp != 0 && (!replaced || prev.exp != it.exp) {
		ks.expires.Set(expiring{exp: it.exp, key: it.key})
	}
}

// remove deletes key; it reports whether the key existed (expired or not).
func (ks *keyspace) remove(key []byte) (item, bool) {
	prev, ok := ks.keys.Delete(item{key: bstr(key)})
	if ok && prev.exp != 0 {
		ks.expires.Delete(expiring{exp: prev.exp, key: prev.key})
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
