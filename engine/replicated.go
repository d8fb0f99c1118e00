package engine

import (
	"fmt"

	"github.com/memimg/memimg/schema"
)

// # Replicated mode (Raft)
//
// Standalone, the engine's committer numbers each write, appends it to the
// log, syncs and hands it to the applier. In a cluster the replicated log
// does all of that and the engine only proposes and applies:
//
//	Exec(write) ──▶ encode ──▶ Replicator.Propose(payload) ──▶ wait
//	                                  │ Raft: leader appends (fsync), replicates,
//	                                  │ commits on a quorum (each fsynced)
//	                                  ▼
//	every node: ApplyEntries(committed entries) ──▶ replies (the proposer's
//	                                                 wait returns its own)
//
// ApplyEntries is the same deterministic apply as the standalone applier
// and as start-up replay: an entry's command, its database and its time
// (the leader's clock when it appended the entry, never earlier than the
// previous entry's: the apply clamps it) decide everything. Entries at or
// below the applied index are skipped, so a node that loaded a snapshot
// newer than where the replicated log starts re-applying is not harmed.

// Replicator is a replicated log that carries the engine's writes
// (Options.Replicator).
type Replicator interface {
	// Propose hands an encoded command (schema.EncodeCommand) to the log
	// and returns at once. The returned wait blocks until the entry is
	// committed and applied on this node and returns the reply
	// ApplyEntries gave it, or an error reply if it was not committed
	// (this node is not the leader, leadership was lost, the log failed).
	Propose(payload []byte) (wait func() Reply)
	// Leader reports whether this node is the leader now: only the leader
	// proposes the removal of expired keys.
	Leader() bool
}

// propose hands a validated write to the Replicator.
func (e *Engine) propose(cmd *schema.Command, db int, argv [][]byte) Pending {
	payload := schema.EncodeCommand(nil, db, argv)
	if max := e.opts.MaxEntrySize; max > 0 && len(payload) > max {
		return Pending{reply: Errorf(fmt.Sprintf("ERR command too large for the command log (%d bytes, the limit is %d)", len(payload), max))}
	}
	e.inflight.Add(1)
	wait := e.opts.Replicator.Propose(payload)
	return Pending{wait: func() Reply {
		defer e.inflight.Add(-1)
		return wait()
	}}
}

// ApplyEntries applies committed entries of the replicated log in order
// and returns one reply per entry (the zero Reply for entries that carry no
// command, or that were applied before). It is the replicated log's state
// machine: it must be called with every committed entry, once, in index
// order; entries at or below AppliedIndex are skipped.
func (e *Engine) ApplyEntries(entries []Entry) []Reply {
	replies := make([]Reply, len(entries))
	var argv [][]byte
	var buf []byte
	e.mu.Lock()
	for i := range entries {
		en := &entries[i]
		if en.Index <= e.applied.Load() {
			continue
		}
		var cmd *schema.Command
		var db int
		if en.Kind == KindCommand {
			var err error
			db, argv, err = schema.DecodeCommand(en.Data, argv[:0])
			if err == nil {
				cmd = schema.Lookup(argv[0])
			}
			switch {
			case err != nil:
				replies[i] = Errorf(fmt.Sprintf("ERR entry %d cannot be decoded: %v", en.Index, err))
			case cmd == nil || !cmd.Is(schema.Write) || db < 0 || db >= len(e.img.dbs):
				replies[i] = Errorf(fmt.Sprintf("ERR entry %d: unknown write %q or database %d", en.Index, argv[0], db))
				cmd = nil
			}
		}
		if cmd != nil {
			replies[i] = e.applyEntry(en, cmd, db, argv)
			if e.waiting.n.Load() > 0 {
				buf, _ = e.wakeWrite(buf, db, cmd, argv)
			}
		} else {
			e.applyEntry(en, nil, 0, nil)
		}
		e.lastIndex.Store(en.Index)
	}
	e.mu.Unlock()
	e.flushNotify() // keyspace events, outside the lock (notify.go)
	return replies
}

// Restore replaces the whole image with a copy of v (a snapshot sent by
// the replicated log's leader to a follower that fell behind the log's
// start). v itself is not changed and may be used again.
func (e *Engine) Restore(v *View) error {
	if len(v.dbs) > len(e.img.dbs) {
		for db := len(e.img.dbs); db < len(v.dbs); db++ {
			if v.dbs[db].keys.Len() > 0 {
				return fmt.Errorf("engine: the snapshot has keys in database %d, but there are %d databases", db, len(e.img.dbs))
			}
		}
	}
	img := newImage(len(e.img.dbs))
	for db := range min(len(v.dbs), len(img.dbs)) {
		img.dbs[db] = v.dbs[db].clone()
	}
	e.mu.Lock()
	e.img = img
	e.applied.Store(v.Index)
	e.lastIndex.Store(v.Index)
	e.appliedTerm, e.appliedTime, e.lastTime = v.Term, v.Time, v.Time
	e.mu.Unlock()
	e.waiting.wakeAll()
	e.log.Info("image restored from a snapshot", "index", v.Index, "keys", v.Keys())
	return nil
}

// The cluster's own entries change no data: memimg.noop (a new leader's
// first entry, so its reads wait for everything before it) and
// memimg.member (a member's addresses, read by the replication package's
// state machine before the engine sees the entry).
func init() {
	onWrite("memimg.noop", func(*applyCtx, [][]byte) Reply { return OK })
	onWrite("memimg.member", func(*applyCtx, [][]byte) Reply { return OK })
}
