package engine

import (
	"fmt"
	"sync"
)

// Loader builds a View from the records of a stored image (a snapshot), to
// start an engine from (Options.Base). Records may come in any order; in key
// order within each database, as a snapshot stores them, each key is
// appended to its B-tree's last leaf (no descent, leaves filled up).
type Loader struct {
	v      *View
	hs     Hasher
	digest Digest
}

// NewLoader returns a Loader of an image of databases databases as of log
// entry index (with its term and time).
func NewLoader(databases int, index, term uint64, time int64) *Loader {
	v := &View{Index: index, Term: term, Time: time, dbs: make([]*keyspace, databases)}
	for i := range v.dbs {
		v.dbs[i] = newKeyspace()
	}
	return &Loader{v: v}
}

// Add adds one key. Its key and value are copied; r may be reused. A record
// of a database the image does not have, of an unknown type or encoding, or
// of a key added before, is an error.
func (l *Loader) Add(r *Record) error {
	it, err := l.decode(r)
	if err != nil {
		return err
	}
	if err := l.insert(r.DB, it); err != nil {
		return err
	}
	l.hs.Add(&l.digest, r)
	return nil
}

// decode builds the item of r, checking its database.
func (l *Loader) decode(r *Record) (item, error) {
	if r.DB < 0 || r.DB >= len(l.v.dbs) {
		return item{}, fmt.Errorf("engine: load: key %q of database %d, but there are %d databases", r.Key, r.DB, len(l.v.dbs))
	}
	it, err := decodeValue(r.Key, r.Type, r.Exp, r.Value)
	if err != nil {
		return item{}, fmt.Errorf("engine: load: db %d key %q: %w", r.DB, r.Key, err)
	}
	return it, nil
}

// insert puts a decoded item in its database's trees.
func (l *Loader) insert(db int, it item) error {
	ks := l.v.dbs[db]
	if _, replaced := ks.keys.Load(it); replaced {
		return fmt.Errorf("engine: load: db %d key %q appears twice", db, it.key())
	}
	if it.exp != 0 {
		ks.expires.Set(expiring{exp: it.exp, key: it.key()})
	}
	return nil
}

// loadBatch is a run of decoded records on their way from AddAll's
// decoding goroutine to the one building the trees.
type loadBatch struct {
	items []loadedItem
	err   error // the decoding stopped here (after items)
}

// loadedItem is a decoded record. A collection's hash is computed where its
// encoded bytes are at hand (hashed true); a string's is computed from the
// item, whose allocation holds the key and the value side by side.
type loadedItem struct {
	it     item
	db     int32
	hashed bool
	lo, hi uint64
}

// loadBatchSize is the number of records of a loadBatch.
const loadBatchSize = 1024

// AddAll adds every record next yields, as Add does, until next returns
// false or an error (returned). It works on two goroutines: next and the
// decoding of the values (allocating each key's item) run on a goroutine
// of their own, while the calling one builds the B-trees and the digest, so
// a load takes about half the time on two cores. next's record may be
// reused from call to call, as Add's; next runs on the other goroutine,
// never on the caller's, one call at a time.
func (l *Loader) AddAll(next func(r *Record) (bool, error)) error {
	batches := make(chan *loadBatch, 4)
	free := make(chan *loadBatch, 6)
	for range cap(free) {
		free <- &loadBatch{items: make([]loadedItem, 0, loadBatchSize)}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(batches)
		var r Record
		var hbuf []byte
		for {
			var b *loadBatch
			select {
			case <-stop:
				return
			default:
			}
			select {
			case b = <-free:
			case <-stop:
				return
			}
			b.items, b.err = b.items[:0], nil
			done := false
			for len(b.items) < loadBatchSize {
				ok, err := next(&r)
				if err == nil && ok {
					var it item
					if it, err = l.decode(&r); err == nil {
						li := loadedItem{it: it, db: int32(r.DB)}
						if it.typ != TypeString {
							li.hashed = true
							li.lo, li.hi, hbuf = hashRecord(hbuf, &r)
						}
						b.items = append(b.items, li)
					}
				}
				if err != nil || !ok {
					b.err, done = err, true
					break
				}
			}
			batches <- b
			if done {
				return
			}
		}
	}()
	finish := func(err error) error {
		close(stop)
		for range batches { // let the decoder see stop
		}
		wg.Wait()
		return err
	}
	var hbuf []byte
	for b := range batches {
		for i := range b.items {
			li := &b.items[i]
			if err := l.insert(int(li.db), li.it); err != nil {
				return finish(err)
			}
			if !li.hashed {
				li.lo, li.hi, hbuf = hashStringItem(hbuf, int(li.db), li.it)
			}
			l.digest.Lo += li.lo
			l.digest.Hi += li.hi
			li.it = item{}
		}
		if b.err != nil {
			return finish(b.err)
		}
		free <- b
	}
	return finish(nil)
}

// Digest is the digest of the records added so far.
func (l *Loader) Digest() Digest { return l.digest }

// Keys is the number of keys added so far.
func (l *Loader) Keys() int { return l.v.Keys() }

// View returns the image built. The Loader must not be used afterwards.
func (l *Loader) View() *View {
	v := l.v
	l.v = nil
	return v
}
