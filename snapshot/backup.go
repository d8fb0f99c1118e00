package snapshot

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Backup copies the store into dest, a directory that must not exist, as a
// Pebble checkpoint: a consistent copy of the snapshot the store holds (hard
// links where the filesystem allows, copies otherwise). Then, with the
// store still locked, it calls during (if not nil) with the metadata of the
// snapshot copied (zero if there is none): the caller copies the log there,
// knowing that no snapshot can be written meanwhile, and so no log segment
// deleted by a retention policy. A server's next snapshot waits until
// Backup returns.
func (s *Store) Backup(dest string, during func(Meta) error) (Meta, error) {
	defer s.acquire()()
	db, err := s.openDB(false)
	if err != nil {
		return Meta{}, err
	}
	defer db.Close()
	m, err := readMeta(db)
	if err != nil {
		return Meta{}, err
	}
	if err := db.Checkpoint(dest, pebble.WithFlushedWAL()); err != nil {
		return m, fmt.Errorf("snapshot: checkpoint into %s: %w", dest, err)
	}
	if during != nil {
		if err := during(m); err != nil {
			return m, err
		}
	}
	return m, nil
}
