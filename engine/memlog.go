package engine

import (
	"fmt"
	"sync"
)

// MemLog is a Log kept in memory, for tests and benchmarks. It copies what
// it is given, so callers may reuse their buffers.
type MemLog struct {
	mu      sync.Mutex
	entries []Entry
	// SyncErr, if set, is returned by the next Sync (and then cleared).
	SyncErr error
	syncs   int
}

var _ Log = (*MemLog)(nil)

// Append implements Log.
func (m *MemLog) Append(entries []Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, en := range entries {
		if want := uint64(len(m.entries)) + 1; en.Index != want {
			return fmt.Errorf("memlog: append index %d, want %d", en.Index, want)
		}
		en.Data = append([]byte(nil), en.Data...)
		m.entries = append(m.entries, en)
	}
	return nil
}

// Sync implements Log.
func (m *MemLog) Sync() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncs++
	err := m.SyncErr
	m.SyncErr = nil
	return err
}

// LastIndex implements Log.
func (m *MemLog) LastIndex() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return uint64(len(m.entries))
}

// ReadFrom implements Log.
func (m *MemLog) ReadFrom(from uint64, fn func(Entry) error) error {
	m.mu.Lock()
	entries := m.entries
	m.mu.Unlock()
	if from == 0 {
		from = 1
	}
	for i := from - 1; i < uint64(len(entries)); i++ {
		if err := fn(entries[i]); err != nil {
			return err
		}
	}
	return nil
}

// Entries returns a copy of the logged entries.
func (m *MemLog) Entries() []Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Entry(nil), m.entries...)
}

// Syncs is how many times Sync was called.
func (m *MemLog) Syncs() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.syncs
}
