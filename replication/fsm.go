package replication

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// FSM is the engine as Raft's state machine (a raft.BatchingFSM): committed
// LogCommand entries become engine.Entry values applied by
// engine.ApplyEntries, whose replies go back to the proposer through
// raft.ApplyFuture.Response. Before the engine sees them, memimg.member
// entries update the member table (a member's client address, which the
// others need to reach the leader).
//
// Index tracks the last entry the FSM has seen (commands and
// configurations: Raft hands a BatchingFSM both), so a linearizable read
// can wait until everything up to a commit index is applied.
type FSM struct {
	eng     *engine.Engine
	applied atomic.Uint64
	snaps   *SnapshotStore // where configurations, members and snapshots are kept; nil in tests

	mu      sync.Mutex
	members map[string]Member
	moved   chan struct{} // closed (and replaced) when applied moves; guarded by mu
}

// Member is a cluster member as memimg.member entries describe it.
type Member struct {
	ID       string // the Raft server id (--cluster-node-id)
	RaftAddr string // its Raft transport address (--cluster-addr)
	Addr     string // its client (RESP) address
	Voter    bool   // a voter, or a non-voter (read replica)
}

// newFSM returns the state machine over eng, keeping its configurations,
// members and snapshots in snaps (if not nil), whose member table it
// starts from.
func newFSM(eng *engine.Engine, snaps *SnapshotStore) *FSM {
	f := &FSM{eng: eng, snaps: snaps, members: map[string]Member{}, moved: make(chan struct{})}
	if snaps != nil {
		f.members = snaps.Members()
	}
	f.applied.Store(eng.AppliedIndex())
	return f
}

// Index is the index of the last entry applied (or skipped as already in
// the engine's image).
func (f *FSM) Index() uint64 { return f.applied.Load() }

// Members returns the member table, by id.
func (f *FSM) Members() map[string]Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]Member, len(f.members))
	for k, v := range f.members {
		out[k] = v
	}
	return out
}

// Apply implements raft.FSM.
func (f *FSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch implements raft.BatchingFSM.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	entries := make([]engine.Entry, 0, len(logs))
	for _, l := range logs {
		en := engine.Entry{Index: l.Index, Term: l.Term, Kind: engine.KindNoop, Time: timeToWAL(l.AppendedAt)}
		switch {
		case l.Type == raft.LogCommand && len(l.Extensions) == 0:
			en.Kind, en.Data = engine.KindCommand, l.Data
			if bytes.Contains(l.Data[:min(len(l.Data), 24)], memberName) {
				f.member(l.Data)
			}
		case l.Type == raft.LogConfiguration && f.snaps != nil && l.Index > f.applied.Load():
			// Recorded before the entries after it are applied, so any
			// snapshot of the image finds its configuration.
			if err := f.snaps.recordConfiguration(l.Index, raft.DecodeConfiguration(l.Data)); err != nil {
				panic(fmt.Sprintf("replication: %v", err)) // as a failed apply: the node must stop
			}
		}
		entries = append(entries, en)
	}
	replies := f.eng.ApplyEntries(entries)
	out := make([]any, len(replies))
	for i, r := range replies {
		out[i] = r
	}
	if n := len(logs); n > 0 {
		f.advance(logs[n-1].Index)
	}
	return out
}

// advance records that everything up to idx is applied and wakes
// WaitIndex.
func (f *FSM) advance(idx uint64) {
	f.applied.Store(idx)
	f.mu.Lock()
	close(f.moved)
	f.moved = make(chan struct{})
	f.mu.Unlock()
}

// WaitIndex waits until every entry up to idx is applied, for at most
// timeout.
func (f *FSM) WaitIndex(idx uint64, timeout time.Duration) error {
	var deadline <-chan time.Time
	for f.applied.Load() < idx {
		f.mu.Lock()
		ch := f.moved
		f.mu.Unlock()
		if f.applied.Load() >= idx {
			return nil
		}
		if deadline == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-ch:
		case <-deadline:
			return fmt.Errorf("replication: entry %d not applied within %v (applied %d)", idx, timeout, f.applied.Load())
		}
	}
	return nil
}

var memberName = []byte("memimg.member")

// member records a memimg.member entry's member.
func (f *FSM) member(payload []byte) {
	_, a, err := schema.DecodeCommand(payload, nil)
	if err != nil || len(a) != 5 || !schema.EqualFold(a[0], "memimg.member") {
		return
	}
	m := Member{ID: string(a[1]), RaftAddr: string(a[2]), Addr: string(a[3]), Voter: string(a[4]) == "voter"}
	f.mu.Lock()
	f.members[m.ID] = m
	f.mu.Unlock()
	if f.snaps != nil {
		if err := f.snaps.recordMembers(map[string]Member{m.ID: m}, false); err != nil {
			panic(fmt.Sprintf("replication: %v", err)) // as a failed apply: the node must stop
		}
	}
}

// # Snapshot stream
//
// Snapshot and Restore move the whole image between nodes (a follower
// behind the start of the leader's log) as a stream:
//
//	header  := "MIMGSNAP" | version u8 (1) | index u64 | term u64 | time i64 |
//	           databases uvarint | members uvarint | members × member
//	member  := 4 × (uvarint len | bytes): id, raft addr, addr, "voter"/"nonvoter"
//	record  := 1 u8 | db uvarint | type u8 | exp varint | key (uvarint len | bytes) |
//	           value (uvarint len | bytes)
//	trailer := 0 u8 | keys uvarint | crc32c u32 (of every byte before it)
//
// Integers are little-endian. The stream is read to the end and its
// checksum verified before the image is replaced.

var snapMagic = []byte("MIMGSNAP")

// Snapshot implements raft.FSM: an O(1) copy of the image, written out
// later by Persist while writes go on.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{view: f.eng.Clone(), members: f.Members(), dbs: f.eng.Databases()}, nil
}

type fsmSnapshot struct {
	view    *engine.View
	members map[string]Member
	dbs     int
}

// Persist implements raft.FSMSnapshot. With the node's SnapshotStore the
// snapshot is the engine's image written to Pebble; with another store,
// the stream written to the sink.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if ks, ok := sink.(*snapshotSink); ok {
		if err := ks.saveLocal(); err != nil {
			sink.Cancel()
			return err
		}
		return sink.Close()
	}
	if err := writeSnapshot(sink, s.view, s.members, s.dbs); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}

// crcWriter checksums what passes through it.
type crcWriter struct {
	w   *bufio.Writer
	crc uint32
}

func (c *crcWriter) Write(p []byte) (int, error) {
	c.crc = crc32.Update(c.crc, crcTable, p)
	return c.w.Write(p)
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func writeSnapshot(w io.Writer, v *engine.View, members map[string]Member, dbs int) error {
	cw := &crcWriter{w: bufio.NewWriterSize(w, 1<<20)}
	var b []byte
	b = append(b, snapMagic...)
	b = append(b, 1)
	b = binary.LittleEndian.AppendUint64(b, v.Index)
	b = binary.LittleEndian.AppendUint64(b, v.Term)
	b = binary.LittleEndian.AppendUint64(b, uint64(v.Time))
	b = binary.AppendUvarint(b, uint64(dbs))
	b = binary.AppendUvarint(b, uint64(len(members)))
	for _, m := range members {
		role := "nonvoter"
		if m.Voter {
			role = "voter"
		}
		for _, s := range []string{m.ID, m.RaftAddr, m.Addr, role} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	if _, err := cw.Write(b); err != nil {
		return err
	}
	var keys uint64
	err := v.Range(func(r *engine.Record) error {
		b = b[:0]
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(r.DB))
		b = append(b, byte(r.Type))
		b = binary.AppendVarint(b, r.Exp)
		b = binary.AppendUvarint(b, uint64(len(r.Key)))
		b = append(b, r.Key...)
		b = binary.AppendUvarint(b, uint64(len(r.Value)))
		b = append(b, r.Value...)
		keys++
		_, err := cw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	b = append(b[:0], 0)
	b = binary.AppendUvarint(b, keys)
	if _, err := cw.Write(b); err != nil {
		return err
	}
	b = binary.LittleEndian.AppendUint32(b[:0], cw.crc)
	if _, err := cw.w.Write(b); err != nil {
		return err
	}
	return cw.w.Flush()
}

// ErrSnapshotCorrupt is returned by Restore for a stream that is not a
// whole, intact snapshot.
var ErrSnapshotCorrupt = errors.New("replication: corrupt snapshot stream")

// crcReader checksums what is read through it.
type crcReader struct {
	r   *bufio.Reader
	crc uint32
}

func (c *crcReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.crc = crc32.Update(c.crc, crcTable, []byte{b})
	}
	return b, err
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc = crc32.Update(c.crc, crcTable, p[:n])
	return n, err
}

// maxSnapshotString bounds a key, value or member field in a snapshot
// stream (the log's record limit bounds values anyway).
const maxSnapshotString = 1 << 30

func readString(r *crcReader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil || n > maxSnapshotString {
		return nil, ErrSnapshotCorrupt
	}
	if n > 1<<16 {
		// Grown as the bytes arrive: a corrupt length does not allocate
		// what the stream does not hold.
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
			return nil, ErrSnapshotCorrupt
		}
		return buf.Bytes(), nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, ErrSnapshotCorrupt
	}
	return b, nil
}

// readSnapshot decodes a snapshot stream into a View of dbs databases.
func readSnapshot(rd io.Reader, dbs int) (*engine.View, map[string]Member, error) {
	r := &crcReader{r: bufio.NewReaderSize(rd, 1<<20)}
	head := make([]byte, len(snapMagic)+1+24)
	if _, err := io.ReadFull(r, head); err != nil || string(head[:len(snapMagic)]) != string(snapMagic) || head[len(snapMagic)] != 1 {
		return nil, nil, fmt.Errorf("%w: bad header", ErrSnapshotCorrupt)
	}
	h := head[len(snapMagic)+1:]
	index, term, t := binary.LittleEndian.Uint64(h), binary.LittleEndian.Uint64(h[8:]), int64(binary.LittleEndian.Uint64(h[16:]))
	sdbs, err := binary.ReadUvarint(r)
	if err != nil || sdbs > 1<<20 {
		return nil, nil, ErrSnapshotCorrupt
	}
	nm, err := binary.ReadUvarint(r)
	if err != nil || nm > 1<<16 {
		return nil, nil, ErrSnapshotCorrupt
	}
	members := map[string]Member{}
	for range nm {
		var f [4][]byte
		for i := range f {
			if f[i], err = readString(r); err != nil {
				return nil, nil, err
			}
		}
		members[string(f[0])] = Member{ID: string(f[0]), RaftAddr: string(f[1]), Addr: string(f[2]), Voter: string(f[3]) == "voter"}
	}
	ld := engine.NewLoader(dbs, index, term, t)
	var keys uint64
	for {
		tag, err := r.ReadByte()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: truncated after %d keys", ErrSnapshotCorrupt, keys)
		}
		if tag == 0 {
			break
		}
		if tag != 1 {
			return nil, nil, ErrSnapshotCorrupt
		}
		db, err := binary.ReadUvarint(r)
		if err != nil || db >= uint64(dbs) {
			return nil, nil, fmt.Errorf("%w: database %d of %d", ErrSnapshotCorrupt, db, dbs)
		}
		typ, err := r.ReadByte()
		if err != nil {
			return nil, nil, ErrSnapshotCorrupt
		}
		exp, err := binary.ReadVarint(r)
		if err != nil {
			return nil, nil, ErrSnapshotCorrupt
		}
		key, err := readString(r)
		if err != nil {
			return nil, nil, err
		}
		val, err := readString(r)
		if err != nil {
			return nil, nil, err
		}
		if err := ld.Add(&engine.Record{DB: int(db), Key: string(key), Type: engine.ValueType(typ), Exp: exp, Value: val}); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrSnapshotCorrupt, err)
		}
		keys++
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n != keys {
		return nil, nil, fmt.Errorf("%w: %d keys read, trailer says %d", ErrSnapshotCorrupt, keys, n)
	}
	want := r.crc
	var sum [4]byte
	if _, err := io.ReadFull(r.r, sum[:]); err != nil || binary.LittleEndian.Uint32(sum[:]) != want {
		return nil, nil, fmt.Errorf("%w: checksum mismatch", ErrSnapshotCorrupt)
	}
	return ld.View(), members, nil
}

// Restore implements raft.FSM: it replaces the image with the snapshot's,
// once the whole stream is read and verified.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	v, members, err := readSnapshot(rc, f.eng.Databases())
	if err != nil {
		return err
	}
	if err := f.eng.Restore(v); err != nil {
		return err
	}
	f.mu.Lock()
	f.members = members
	f.mu.Unlock()
	if f.snaps != nil {
		// Start-up must find this image in Pebble: the log before it is
		// gone.
		if err := f.snaps.restored(v.Index, members); err != nil {
			return err
		}
	}
	f.advance(v.Index)
	return nil
}
