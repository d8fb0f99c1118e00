package engine

import "fmt"

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
	if r.DB < 0 || r.DB >= len(l.v.dbs) {
		return fmt.Errorf("engine: load: key %q of database %d, but there are %d databases", r.Key, r.DB, len(l.v.dbs))
	}
	it, err := decodeValue(r.Key, r.Type, r.Exp, r.Value)
	if err != nil {
		return fmt.Errorf("engine: load: db %d key %q: %w", r.DB, r.Key, err)
	}
	ks := l.v.dbs[r.DB]
	if _, replaced := ks.keys.Load(it); replaced {
		return fmt.Errorf("engine: load: db %d key %q appears twice", r.DB, r.Key)
	}
	if it.exp != 0 {
		ks.expires.Set(expiring{exp: it.exp, key: it.key()})
	}
	l.hs.Add(&l.digest, r)
	return nil
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
