// Package enginelog adapts the wal to the engine: a *wal.Log becomes the
// engine.Log the commit pipeline appends to and replays from. It is the only
// place that knows both types, so neither package imports the other.
//
// Engine entries and wal records carry the same fields (index, term, kind,
// time, payload); the adapter only converts between the two structs.
package enginelog

import (
	"fmt"
	"sync"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/wal"
)

// Log is a *wal.Log seen as an engine.Log.
type Log struct {
	wal *wal.Log

	mu   sync.Mutex // guards recs, reused across Appends
	recs []wal.Record
}

var _ engine.Log = (*Log)(nil)

// New adapts l. The caller keeps ownership of l and closes it after the
// engine.
func New(l *wal.Log) *Log { return &Log{wal: l} }

// WAL returns the adapted log.
func (l *Log) WAL() *wal.Log { return l.wal }

// Append implements engine.Log with one wal.Append (one write) for the whole
// batch. The wal copies the payloads, so the engine may reuse its buffer.
func (l *Log) Append(entries []engine.Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	recs := l.recs[:0]
	for _, e := range entries {
		recs = append(recs, wal.Record{Index: e.Index, Term: e.Term, Kind: wal.Kind(e.Kind), Time: e.Time, Data: e.Data})
	}
	err := l.wal.Append(recs...)
	clear(recs) // drop the references to the engine's buffer
	l.recs = recs[:0]
	return err
}

// Sync implements engine.Log.
func (l *Log) Sync() error { return l.wal.Sync() }

// LastIndex implements engine.Log.
func (l *Log) LastIndex() uint64 { return l.wal.LastIndex() }

// ReadFrom implements engine.Log. Reading from before the first record of a
// log whose prefix was deleted is an error: the engine cannot rebuild its
// state without it.
func (l *Log) ReadFrom(from uint64, fn func(engine.Entry) error) error {
	if from == 0 {
		from = 1
	}
	if start := l.wal.StartIndex(); start > 1 && from < start {
		return fmt.Errorf("enginelog: replay from %d, but the log starts at %d: the segments before it are missing", from, start)
	}
	if from > l.wal.LastIndex() {
		return nil
	}
	return l.wal.ReadFrom(from, func(r wal.Record) error {
		return fn(engine.Entry{Index: r.Index, Term: r.Term, Kind: uint8(r.Kind), Time: r.Time, Data: r.Data})
	})
}
