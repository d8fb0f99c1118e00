package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/wal"
)

// The wal record kinds of Raft log entries. They are written to disk: never
// change or reuse one. The package documentation draws the whole mapping.
const (
	// KindCommand holds a raft.LogCommand entry. It is engine.KindCommand,
	// and its payload is the raft.Log's Data, a schema.EncodeCommand
	// payload: a command written through Raft is byte for byte the record
	// the standalone engine writes.
	KindCommand = wal.Kind(engine.KindCommand)

	// KindStandaloneNoop is engine.KindNoop, written by the standalone
	// engine. GetLog reads it as a raft.LogNoop; StoreLog never writes it.
	KindStandaloneNoop = wal.Kind(engine.KindNoop)

	// KindRaftBase plus a raft.LogType from 1 to 15 is the kind of a Raft
	// entry of that type without Extensions:
	//
	//	17 LogNoop, 18 LogAddPeerDeprecated, 19 LogRemovePeerDeprecated,
	//	20 LogBarrier, 21 LogConfiguration, 22..31 later raft.LogTypes.
	//
	// Their payload is the raft.Log's Data, unchanged.
	KindRaftBase wal.Kind = 16

	// KindExtended holds a Raft entry of any type that carries Extensions.
	// Its payload is
	//
	//	type (1 byte) | uvarint len(Extensions) | Extensions | Data
	KindExtended wal.Kind = 32
)

// maxRaftType is the largest raft.LogType stored as KindRaftBase+type.
const maxRaftType = 15

// ErrUnknownKind is returned by GetLog for a wal record whose kind is not
// one of a Raft entry (a record some other writer put in the log).
var ErrUnknownKind = errors.New("replication: wal record kind is not a Raft log entry")

// LogStoreOptions configure a LogStore.
type LogStoreOptions struct {
	// KeepPrefix makes DeleteRange ignore the deletion of a prefix of the
	// log that leaves records after it, so the log stays complete from
	// index 1 (the database's history) while Raft compacts after each
	// snapshot as usual. A deletion of the whole log is still done: Raft
	// asks for it after installing a snapshot sent by the leader, when the
	// next entry follows the snapshot and the old records could not be kept
	// contiguous with it anyway. Raft's compaction never reaches the last
	// entry as long as raft.Config.TrailingLogs > 0 (the default is 10240);
	// with TrailingLogs = 0 it may, and KeepPrefix cannot tell that from
	// the deletion after a snapshot install.
	KeepPrefix bool
}

// LogStore is a *wal.Log seen as a raft.LogStore: Raft's log is the
// database's command log. StoreLogs returns once the entries are durable
// (wal Append then Sync), so Raft's own batching of entries is the group
// commit. It is a raft.MonotonicLogStore: the wal's indexes are contiguous,
// so Raft removes the whole log after installing a snapshot instead of
// leaving a gap. Its methods are safe for concurrent use.
type LogStore struct {
	wal  *wal.Log
	opts LogStoreOptions

	// mu serializes StoreLogs and DeleteRange, so the decision whether a
	// DeleteRange removes a prefix or a suffix holds while it is carried
	// out, and guards recs.
	mu   sync.Mutex
	recs []wal.Record
}

var (
	_ raft.LogStore          = (*LogStore)(nil)
	_ raft.MonotonicLogStore = (*LogStore)(nil)
)

// NewLogStore adapts l. The caller keeps ownership of l and closes it after
// Raft has shut down.
func NewLogStore(l *wal.Log, opts LogStoreOptions) *LogStore {
	return &LogStore{wal: l, opts: opts}
}

// WAL returns the adapted log.
func (s *LogStore) WAL() *wal.Log { return s.wal }

// IsMonotonic implements raft.MonotonicLogStore: the wal refuses gaps.
func (s *LogStore) IsMonotonic() bool { return true }

// FirstIndex implements raft.LogStore: the first index in the log, 0 when
// it is empty. After a prefix deletion it may be lower than asked for: the
// wal deletes whole segments (see DeleteRange).
func (s *LogStore) FirstIndex() (uint64, error) { return s.wal.FirstIndex(), nil }

// LastIndex implements raft.LogStore: the last index, 0 when empty.
func (s *LogStore) LastIndex() (uint64, error) { return s.wal.LastIndex(), nil }

// GetLog implements raft.LogStore. An index outside [FirstIndex, LastIndex]
// (or removed meanwhile) is raft.ErrLogNotFound itself, unwrapped, as Raft
// compares it with ==.
func (s *LogStore) GetLog(index uint64, out *raft.Log) error {
	rec, err := s.wal.Get(index)
	if errors.Is(err, wal.ErrNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return fmt.Errorf("replication: get log %d: %w", index, err)
	}
	return decodeLog(rec, out)
}

// StoreLog implements raft.LogStore.
func (s *LogStore) StoreLog(l *raft.Log) error {
	return s.StoreLogs([]*raft.Log{l})
}

// StoreLogs implements raft.LogStore: the entries, which must follow the
// last one (or start anywhere if the log is empty), are appended with one
// write and synced before it returns.
func (s *LogStore) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	s.mu.Lock()
	recs := s.recs[:0]
	var err error
	for _, l := range logs {
		var rec wal.Record
		if rec, err = encodeLog(l); err != nil {
			break
		}
		recs = append(recs, rec)
	}
	if err == nil {
		err = s.wal.Append(recs...)
	}
	clear(recs) // drop references to Raft's payloads
	s.recs = recs[:0]
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("replication: store logs %d..%d: %w", logs[0].Index, logs[len(logs)-1].Index, err)
	}
	if err := s.wal.Sync(); err != nil {
		return fmt.Errorf("replication: store logs %d..%d: %w", logs[0].Index, logs[len(logs)-1].Index, err)
	}
	return nil
}

// DeleteRange implements raft.LogStore. Raft deletes either a prefix (log
// compaction after a snapshot, or everything after installing one) or a
// suffix (entries that conflict with the leader's); the wal does both:
//
//   - a range that starts at or before FirstIndex is a prefix: the wal's
//     DeleteBefore(max+1) removes the segments whose records are all at or
//     before max. It is segment-granular: records of the segment holding
//     max stay, and FirstIndex reports them. Raft does not mind: they are
//     committed entries, and it reads the log from FirstIndex. With
//     LogStoreOptions.KeepPrefix a prefix that is not the whole log is kept.
//   - a range that starts after FirstIndex and reaches LastIndex is a
//     suffix: the wal's TruncateAfter(min-1), exact and durable.
//
// A range in the middle of the log is refused: Raft never asks for one.
func (s *LogStore) DeleteRange(min, max uint64) error {
	s.mu.Lock()
	first, last := s.wal.FirstIndex(), s.wal.LastIndex()
	if last == 0 || min > max || max < first || min > last {
		s.mu.Unlock()
		return nil
	}
	var err error
	switch {
	case min <= first:
		// Not under mu: DeleteBefore may wait for a segment being
		// compressed, and appends must not wait with it. It only removes
		// records up to max, so records appended meanwhile are safe.
		s.mu.Unlock()
		if s.opts.KeepPrefix && max < last {
			return nil
		}
		err = s.wal.DeleteBefore(max + 1)
	case max >= last:
		err = s.wal.TruncateAfter(min - 1)
		s.mu.Unlock()
	default:
		s.mu.Unlock()
		return fmt.Errorf("replication: delete range %d..%d: only a prefix or a suffix of the log [%d, %d] can be deleted", min, max, first, last)
	}
	if err != nil {
		return fmt.Errorf("replication: delete range %d..%d: %w", min, max, err)
	}
	return nil
}

// encodeLog turns a Raft entry into a wal record. The record's Data aliases
// l.Data, except for an entry with Extensions (rare: memimg sets none),
// whose payload is built in a new buffer.
func encodeLog(l *raft.Log) (wal.Record, error) {
	rec := wal.Record{Index: l.Index, Term: l.Term, Time: timeToWAL(l.AppendedAt), Data: l.Data}
	if l.Type > maxRaftType {
		return rec, fmt.Errorf("%w: log %d has type %v, the wal stores types 0 to %d", errUnsupportedType, l.Index, l.Type, maxRaftType)
	}
	if len(l.Extensions) > 0 {
		buf := make([]byte, 0, 1+binary.MaxVarintLen64+len(l.Extensions)+len(l.Data))
		buf = append(buf, byte(l.Type))
		buf = binary.AppendUvarint(buf, uint64(len(l.Extensions)))
		buf = append(buf, l.Extensions...)
		buf = append(buf, l.Data...)
		rec.Kind, rec.Data = KindExtended, buf
		return rec, nil
	}
	if l.Type == raft.LogCommand {
		rec.Kind = KindCommand
	} else {
		rec.Kind = KindRaftBase + wal.Kind(l.Type)
	}
	return rec, nil
}

var errUnsupportedType = errors.New("replication: unsupported raft log type")

// decodeLog fills out from a wal record. out's Data and Extensions alias
// rec.Data.
func decodeLog(rec wal.Record, out *raft.Log) error {
	*out = raft.Log{Index: rec.Index, Term: rec.Term, Data: rec.Data, AppendedAt: timeFromWAL(rec.Time)}
	switch k := rec.Kind; {
	case k == KindCommand:
		out.Type = raft.LogCommand
	case k == KindStandaloneNoop:
		out.Type = raft.LogNoop
	case k > KindRaftBase && k <= KindRaftBase+maxRaftType:
		out.Type = raft.LogType(k - KindRaftBase)
	case k == KindExtended:
		p := rec.Data
		if len(p) < 1 || p[0] > maxRaftType {
			return fmt.Errorf("%w: log %d: bad extended payload type", wal.ErrCorrupt, rec.Index)
		}
		out.Type = raft.LogType(p[0])
		n, w := binary.Uvarint(p[1:])
		if w <= 0 || n > uint64(len(p)-1-w) {
			return fmt.Errorf("%w: log %d: bad extended payload length", wal.ErrCorrupt, rec.Index)
		}
		ext := 1 + w
		out.Extensions = p[ext : ext+int(n) : ext+int(n)]
		out.Data = p[ext+int(n):]
	default:
		return fmt.Errorf("%w: log %d has kind %d", ErrUnknownKind, rec.Index, k)
	}
	return nil
}

// timeToWAL is the wal record time of a Raft entry: AppendedAt in Unix
// nanoseconds, 0 for the zero time.
func timeToWAL(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// timeFromWAL is the inverse of timeToWAL.
func timeFromWAL(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
