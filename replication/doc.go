// Package replication is memimg's glue to hashicorp/raft. There is one log:
// the wal that a standalone memimgd writes is, through LogStore, Raft's log.
// StableStore keeps Raft's term and vote in a small checksummed file, and
// Bootstrap turns a node that ran standalone into the first node of a
// cluster without losing its data.
//
// # One log, one format
//
// A raft.Log becomes one wal.Record:
//
//	raft.Log      wal.Record
//	---------     ----------
//	Index         Index        (the wal's indexes are contiguous from the first)
//	Term          Term         (0 for records written standalone)
//	Type          Kind         (table below)
//	Data          Data         (unchanged, except with Extensions)
//	Extensions    Data         (kind 32 only, see below)
//	AppendedAt    Time         (Unix nanoseconds; the zero time is 0)
//
// The kinds (wal.Kind, one byte; frozen, since they are on disk):
//
//	kind  raft.LogType               written by        payload
//	----  -------------------------  ----------------  --------------------------
//	  1   LogCommand                 engine and Raft   schema.EncodeCommand output
//	  2   LogNoop (read only)        engine            empty (engine.KindNoop)
//	 17   LogNoop                    Raft              empty
//	 18   LogAddPeerDeprecated       Raft              Raft's encoding
//	 19   LogRemovePeerDeprecated    Raft              Raft's encoding
//	 20   LogBarrier                 Raft              empty
//	 21   LogConfiguration           Raft              raft.EncodeConfiguration
//	 22-31  later raft.LogTypes 6-15 Raft              Raft's encoding
//	 32   any type, with Extensions  Raft              type | uvarint n | ext[n] | data
//
// Kind 1 is engine.KindCommand and its payload is exactly what the
// standalone engine's committer writes, so a command written through Raft
// and one written standalone are the same record but for its term: the
// engine replays either log with the same code (it applies kind 1 and skips
// every other kind), and a standalone data directory is a valid Raft log
// whose first entries have term 0. Raft-internal entries get their own kinds
// (16 plus the raft.LogType) so that nothing but a command ever has kind 1.
// GetLog reads the engine's own noop (kind 2) as a raft.LogNoop; a record of
// any other kind is ErrUnknownKind, never guessed at.
//
// Extensions is an opaque field for Raft middleware (e.g. raft-chunking);
// memimg sets none. An entry that has some is stored losslessly under kind
// 32, whose payload carries the type, the extensions and the data. Such a
// command is invisible to a standalone replay (it is not kind 1), so the
// engine must never propose commands with Extensions.
//
// # Time: AppendedAt is the entry's time on every node
//
// The engine's apply is deterministic: expiry, TTLs and TIME-like logic use
// the entry's time, never the local clock, so that every replica and every
// replay computes the same state. Standalone, the sequencer stamps the time
// into wal.Record.Time. Under Raft the time lives in the same field, filled
// from raft.Log.AppendedAt, and needs no copy in the payload, because
// hashicorp/raft v1.8.0 sets AppendedAt once, on the leader, and every other
// node receives it unchanged:
//
//   - raft.go:1261 (dispatchLogs): the leader sets AppendedAt = time.Now()
//     for each new entry (the same instant for a whole batch) before
//     StoreLogs.
//   - replication.go:614-629 (setNewLogs): the entries of an AppendEntries
//     RPC are read back from the leader's LogStore with GetLog (line 623):
//     whole raft.Log values, AppendedAt included (commands.go:41,
//     AppendEntriesRequest.Entries []*Log). So the LogStore must keep
//     AppendedAt, as this one does in Record.Time: a new leader re-sends
//     the previous leaders' entries with their original times.
//   - raft.go:1562 (appendEntries): the follower stores the received
//     entries as they are, AppendedAt included.
//   - net_transport.go:423-425: the network transport encodes time.Time with
//     msgpack, by default through time.MarshalBinary (TimeNotBuiltin),
//     which keeps the nanoseconds; net_transport.go:165-169 notes that both
//     time formats decode. InmemTransport passes the values themselves.
//   - raft.go:1324-1335 (processLogs): the FSM gets, on the leader, the
//     entry it dispatched and, elsewhere (or after a restart), the entry
//     read from the LogStore; both carry the same instant, so
//     AppendedAt.UnixNano() is equal everywhere.
//
// log.go:96-107 documents the field ("Followers will observe the leader's
// time") but warns it is meant for metrics and is not part of the protocol.
// Two consequences for the state machine: a new leader's clock may be behind
// the previous leader's, so the apply clamps the time to be no earlier than
// the previous entry's (deterministic: every node sees the same sequence);
// and entries Raft writes without dispatching them have a zero time (the
// configuration entry of raft.BootstrapCluster, api.go:275-286, and of
// Bootstrap), which the clamp also absorbs. If a later hashicorp/raft stopped
// carrying AppendedAt, the time would have to move into the payload (a new
// schema payload version with an explicit time); the replication tests check
// that every node applies the same times.
//
// # Deletions and the MonotonicLogStore contract
//
// Raft deletes a suffix when a follower's entries conflict with the
// leader's, and a prefix after a snapshot (keeping Config.TrailingLogs).
// LogStore.DeleteRange maps the first to wal.TruncateAfter, exact and
// durable, and the second to wal.DeleteBefore, which removes whole segments
// only: FirstIndex may stay below the requested cut, which Raft accepts (the
// extra entries are committed ones). LogStoreOptions.KeepPrefix ignores
// prefix deletions, keeping the log from index 1 as memimg does by default.
//
// The wal refuses gaps, so LogStore is a raft.MonotonicLogStore: after a
// follower installs a snapshot from the leader, Raft deletes its whole log
// (raft.go:1965-1967) and the wal, now empty, takes the entry after the
// snapshot as its first. That node's log then no longer starts at index 1:
// its history before the snapshot lives only in the snapshot.
//
// # Snapshots
//
// Raft's snapshots are the node's Pebble snapshots, through SnapshotStore
// (snapstore.go draws its files): Raft starts from the newest one, which
// the engine has loaded, and a follower behind the leader's log receives
// it as the FSM's stream (fsm.go draws the stream).
//
// # Durability
//
// StoreLogs appends the batch with one write and syncs before returning.
// Raft hands the leader's queued applies to StoreLogs as one batch
// (Config.MaxAppendEntries) and a follower stores each AppendEntries RPC as
// one batch, so Raft's batching is the group commit: one fdatasync per
// batch. StableStore.Set rewrites its file (write a temporary file, fsync,
// rename, fsync the directory) before returning; Raft calls it only on term
// changes and votes.
package replication
