package snapshot

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"

	"github.com/memimg/memimg/engine"
)

// loadProgressEvery is how often a long load logs its progress.
const loadProgressEvery = time.Second

// Load reads the snapshot the store holds into a View of databases
// databases, following the recovery steps of the package documentation. It
// returns a nil View and a zero Meta when there is no snapshot. A store
// whose data does not match its metadata is ErrCorrupt.
func (s *Store) Load(databases int) (*engine.View, Meta, error) {
	defer s.acquire()()
	if err := os.RemoveAll(s.tmpDir()); err != nil {
		return nil, Meta{}, fmt.Errorf("snapshot: remove %s: %w", s.tmpDir(), err)
	}
	ok, err := s.exists()
	if err != nil || !ok {
		return nil, Meta{}, err
	}
	db, err := s.openDB(true)
	if err != nil {
		return nil, Meta{}, err
	}
	defer db.Close()
	m, err := readMeta(db)
	if err != nil || m.IsZero() {
		return nil, Meta{}, err
	}
	s.hook("load")
	v, err := loadData(db, m, databases, s.opts.Logger.Info)
	if err != nil {
		return nil, m, err
	}
	return v, m, nil
}

// loadData reads every data key into a Loader and checks the result
// against m.
func loadData(db *pebble.DB, m Meta, databases int, logf func(msg string, args ...any)) (*engine.View, error) {
	start := time.Now()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: dataStart, UpperBound: dataEnd})
	if err != nil {
		return nil, fmt.Errorf("snapshot: load: %w", err)
	}
	defer it.Close()
	ld := engine.NewLoader(databases, m.Index, m.Term, m.Time)
	// The iteration, and the decoding of the values, run on a goroutine of
	// their own while this one builds the trees and the digest (AddAll):
	// the count and the digest are checked in the same single pass.
	n := uint64(0)
	next := start.Add(loadProgressEvery)
	first := true
	var srcErr error // an error of the store, not of a record's contents
	err = ld.AddAll(func(r *engine.Record) (bool, error) {
		var ok bool
		if first {
			ok, first = it.First(), false
		} else {
			ok = it.Next()
		}
		if !ok {
			if err := it.Error(); err != nil {
				srcErr = fmt.Errorf("snapshot: load: %w", err)
			}
			return false, srcErr
		}
		dbi, key, err := parseDataKey(it.Key())
		if err != nil {
			return false, err
		}
		val, err := it.ValueAndErr()
		if err != nil {
			srcErr = fmt.Errorf("snapshot: load key %q: %w", key, err)
			return false, srcErr
		}
		typ, exp, enc, err := parseValue(val)
		if err != nil {
			return false, err
		}
		*r = engine.Record{DB: dbi, Key: unsafe.String(unsafe.SliceData(key), len(key)), Type: typ, Exp: exp, Value: enc}
		n++
		if n%65536 == 0 && time.Now().After(next) {
			next = time.Now().Add(loadProgressEvery)
			logf("loading the snapshot", "keys", n, "of", m.Keys,
				"percent", fmt.Sprintf("%.1f", 100*float64(n)/float64(max(m.Keys, 1))),
				"elapsed", time.Since(start).Round(time.Millisecond))
		}
		return true, nil
	})
	if err != nil {
		if errors.Is(err, ErrCorrupt) || err == srcErr {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if n != m.Keys {
		return nil, fmt.Errorf("%w: %d keys, the metadata says %d", ErrCorrupt, n, m.Keys)
	}
	if d := ld.Digest(); d != m.Digest {
		return nil, fmt.Errorf("%w: digest %s, the metadata says %s", ErrCorrupt, d, m.Digest)
	}
	return ld.View(), nil
}
