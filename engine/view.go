package engine

import (
	"fmt"
	"strings"
	"unsafe"
)

// Views: what a snapshot sees of the image.
//
// Clone takes an O(1) copy-on-write copy of every database between two
// applied batches (under the apply lock, which the applier holds for a whole
// batch), so a View is the image exactly as it was after entry Index. Items
// and their bytes are immutable and the trees are copied on write, so the
// applier keeps going while a View is read, written out or compared, and
// nothing the View holds ever changes: the cost falls on the writers as path
// copies of the B-tree nodes they touch first after the clone (DESIGN rule 5).
//
// The snapshot package reads Views through Range (every key, in order) and
// Diff (what changed between two Views), and builds one from a stored image
// with a Loader; a View passed as Options.Base starts an engine from it. The
// engine owns the encoding of values (encodeValue, Loader.Add): a snapshot
// stores the type byte and the encoded bytes without knowing what they mean.
//
// Why a diff of two Views rather than a set of the keys written since the
// last snapshot: the diff needs nothing on the apply path, cannot miss a
// write (it compares the images themselves, whatever command or future data
// type changed them) and costs O(keys) pointer comparisons in the
// background: ~35 ns of CPU a key (1M keys, 1% changed: 35 ms; 100 ms wall
// on the loaded 2-core test machine, BenchmarkDiff in snapshot). A dirty set
// costs a map insert per write under the apply lock: 300-900 ns measured
// for random keys of a 1M-key set on the same machine, i.e. more than the
// whole diff as soon as the writes between two snapshots exceed ~1/10 of
// the keys. The price of the diff is memory: the previous View is kept until
// the next snapshot, so the values replaced since then stay alive (as they
// do for the duration of any copy-on-write snapshot).

// View is a frozen image of every database as of one log index. It is safe
// for concurrent use by readers and never changes.
type View struct {
	// Index is the last log entry the View reflects; Term is its term.
	Index, Term uint64
	// Time is that entry's time (unix nanoseconds): the sequencer never
	// stamps a later entry with an earlier time.
	Time int64

	dbs []*keyspace
}

// Record is one key of a View as a snapshot stores it. Key and Value view
// the image's bytes (or a buffer of the callee): they are valid during the
// callback only and must not be modified.
type Record struct {
	DB    int
	Key   string
	Type  ValueType
	Exp   int64  // absolute expiry, unix milliseconds; 0 = none
	Value []byte // the value's encoding (see ValueEncodingVersion)
}

// Clone returns a View of the image as of the last applied entry. It takes
// the apply lock for as long as copying one B-tree root per database takes
// (O(databases), microseconds), between two batches.
func (e *Engine) Clone() *View {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := &View{Index: e.applied.Load(), Term: e.appliedTerm, Time: e.appliedTime,
		dbs: make([]*keyspace, len(e.img.dbs))}
	for i, ks := range e.img.dbs {
		v.dbs[i] = ks.clone()
	}
	return v
}

// Sync makes every entry handed to the log durable. A snapshot of index N
// calls it before it commits, so that no snapshot is ever ahead of the log
// it completes (with appendfsync everysec or no, the last entries may not
// have been synced yet).
func (e *Engine) Sync() error {
	if e.opts.Log == nil || e.opts.Replicator != nil {
		return nil // the replicated log syncs every entry it stores
	}
	return e.opts.Log.Sync()
}

// Databases is the number of databases of the View.
func (v *View) Databases() int { return len(v.dbs) }

// Len is the number of keys of database db, expired ones not yet removed
// included.
func (v *View) Len(db int) int { return v.dbs[db].keys.Len() }

// Keys is the number of keys of every database.
func (v *View) Keys() int {
	n := 0
	for _, ks := range v.dbs {
		n += ks.keys.Len()
	}
	return n
}

// Range calls fn for every key of every database, databases in order and
// keys in byte order within each, until fn returns an error.
func (v *View) Range(fn func(r *Record) error) error {
	var r Record
	var buf []byte
	for db, ks := range v.dbs {
		it := ks.keys.Iter()
		for ok := it.First(); ok; ok = it.Next() {
			var err error
			if buf, err = fillRecord(&r, db, it.Item(), buf); err == nil {
				err = fn(&r)
			}
			if err != nil {
				it.Release()
				return err
			}
		}
		it.Release()
	}
	return nil
}

// fillRecord makes r describe it; buf is a scratch buffer for encodings
// that need one, returned (grown) for the next record.
func fillRecord(r *Record, db int, it item, buf []byte) ([]byte, error) {
	val, buf, err := encodeValue(buf[:0], it)
	if err != nil {
		return buf, fmt.Errorf("engine: db %d key %q: %w", db, it.key(), err)
	}
	*r = Record{DB: db, Key: it.key(), Type: it.typ, Exp: it.exp, Value: val}
	return buf, nil
}

// Change is the difference of one key between two Views. Old describes the
// key in the earlier View (HasOld false: it was added), New in the later one
// (HasNew false: it was deleted); both are set when it changed.
type Change struct {
	Old, New       Record
	HasOld, HasNew bool
}

// Diff calls fn for every key that differs between prev (an earlier View)
// and v: added, deleted, or changed (value, type or expiry). It walks both
// Views in key order, database by database, so it costs O(keys) comparisons
// and no hashing or copying for the keys that did not change: an unchanged
// key is the same item in both trees (items are immutable), recognised by
// its pointer without comparing bytes. The Views must have the same number
// of databases.
func (v *View) Diff(prev *View, fn func(c *Change) error) error {
	if len(prev.dbs) != len(v.dbs) {
		return fmt.Errorf("engine: diff of views with %d and %d databases", len(prev.dbs), len(v.dbs))
	}
	var c Change
	var oldBuf, newBuf []byte
	for db := range v.dbs {
		a, b := prev.dbs[db].keys.Iter(), v.dbs[db].keys.Iter()
		okA, okB := a.First(), b.First()
		for okA || okB {
			var ia, ib item
			if okA {
				ia = a.Item()
			}
			if okB {
				ib = b.Item()
			}
			var cmp int
			switch {
			case !okB:
				cmp = -1
			case !okA:
				cmp = 1
			case ia.p == ib.p && ia.typ == ib.typ && ia.klen == ib.klen:
				cmp = 0 // the same bytes (or object): the same key
			default:
				cmp = strings.Compare(ia.key(), ib.key())
			}
			if cmp == 0 && sameItem(ia, ib) {
				okA, okB = a.Next(), b.Next()
				continue
			}
			c = Change{HasOld: cmp <= 0, HasNew: cmp >= 0}
			var err error
			if c.HasOld {
				oldBuf, err = fillRecord(&c.Old, db, ia, oldBuf)
			}
			if err == nil && c.HasNew {
				newBuf, err = fillRecord(&c.New, db, ib, newBuf)
			}
			if err == nil {
				err = fn(&c)
			}
			if err != nil {
				a.Release()
				b.Release()
				return err
			}
			if c.HasOld {
				okA = a.Next()
			}
			if c.HasNew {
				okB = b.Next()
			}
		}
		a.Release()
		b.Release()
	}
	return nil
}

// sameItem reports whether two items of the same key hold the same value
// and expiry. Items built apart compare by their bytes: a key written again
// with the same value is not a change.
func sameItem(a, b item) bool {
	if a.typ != b.typ || a.exp != b.exp {
		return false
	}
	if a.p == b.p && a.klen == b.klen && a.vlen == b.vlen {
		return true
	}
	if a.typ == TypeString {
		return a.str() == b.str()
	}
	// Another object header: the key was written again. Objects are
	// immutable but need not be comparable; a rewrite with equal contents
	// counts as a change (a harmless extra write to the snapshot).
	return false
}

// encodeValue returns the encoding of it's value as a snapshot stores it:
// a string's bytes, viewed in place (read-only), or a collection's
// object.Encode, built in buf, which is returned, grown, for reuse.
func encodeValue(buf []byte, it item) (val, grown []byte, err error) {
	if it.typ == TypeString {
		s := it.str()
		return unsafe.Slice(unsafe.StringData(s), len(s)), buf, nil
	}
	obj := it.object()
	if obj == nil {
		return nil, buf, fmt.Errorf("a value of type %d without an object", it.typ)
	}
	b := obj.Encode(buf[:0])
	return b, b, nil
}

// ValueEncodingVersion is the version of the value encodings a View's
// records carry and Loader.Add reads, stored with every snapshot: a Loader
// refuses a snapshot of a version it does not know. Frozen per version:
//
//	version 1: TypeString: the string's bytes; a collection type: its
//	           object's Encode (each type documents its own).
const ValueEncodingVersion = 1

// decodeValue builds the item of key from its encoded value. key and data
// are copied (a decoder keeps nothing of data).
func decodeValue(key string, typ ValueType, exp int64, data []byte) (item, error) {
	if typ == TypeString {
		return newString(key, bstr(data), exp), nil
	}
	obj, err := decodeObject(typ, data)
	if err != nil {
		return item{}, err
	}
	return newObject(key, obj, exp), nil
}
