// Package snapshot keeps images of memimg's state in a Pebble store, so that
// start-up loads the newest image and replays only the log after it instead
// of the whole log. The log stays the source of truth: a snapshot at index N
// holds exactly the state of applying entries 1..N, and the log after N
// completes it.
//
// # Usage
//
//	st, err := snapshot.Open(snapshot.Options{Dir: filepath.Join(dir, "snapshot")})
//	base, meta, err := st.Load(databases, progress)       // nil, zero Meta: no snapshot yet
//	eng, err := engine.Open(engine.Options{Log: log, Base: base, ...})
//	sv := snapshot.NewSaver(snapshot.SaverOptions{Store: st, Engine: eng, Base: base, BaseMeta: meta,
//		Rules: rules, AfterCommit: deleteCoveredLogSegments})
//	...
//	err = sv.BGSave(false)   // or Save(), or the save rules, every second
//	sv.Close()
//
// A Saver takes each snapshot from an O(1) copy-on-write View of the image
// (engine.Engine.Clone, taken between two applied batches), then writes it
// in the background while the writers keep going (DESIGN rule 5). The
// writer is paced to Options.WriteCPU of one core (default half), so that
// on a small machine the clients keep most of the processor meanwhile.
//
// # Incremental and full snapshots
//
// A snapshot writes only what changed since the previous one: the Saver
// keeps the View it last wrote (or loaded), and engine.View.Diff walks it
// and the new View side by side in key order, recognising an unchanged key
// by its item's identity (items are immutable), so it needs no bookkeeping
// on the writers' path; it costs O(keys) comparisons (about 10 ns a key),
// and O(changes) writes and hashing. Every changed or added key becomes a
// Set, every deleted key a Delete, in one Pebble batch with the new
// metadata, committed with Sync.
//
// A full snapshot rewrites the whole image: it writes sorted sstables to a
// scratch directory (Options.Dir + ".tmp") and ingests them with
// IngestAndExcise over the whole key space, which removes every older key
// and adds the new ones in one atomic version edit. A Saver writes a full
// snapshot when there is no previous one it knows the store holds (the
// first snapshot, a store changed by someone else, an earlier failure), and
// instead of an incremental one whose batch would exceed
// Options.MaxIncrementalBytes or hold more changes than the image has keys
// (after a FLUSHALL, say), where rewriting is the cheaper of the two.
//
// # Key layout (format version 1)
//
// Pebble keys and values; integers big-endian in keys (so that they sort),
// little-endian in values. The constants are frozen: a new layout takes a
// new format version, and readers keep the old ones.
//
//	key                                  value
//	"\x00meta"                           metadata (below)
//	"\x01" | db (u32) | key bytes        type (u8) | exp (i64, unix ms, 0 = none) | value
//
// A data key's value is engine-encoded (engine.ValueEncodingVersion,
// recorded in the metadata): for a string, its bytes. The keys of the image
// thus sort by database, then by key, as the engine's B-trees do, so a load
// appends every key to its tree in order.
//
// The metadata, 88 bytes:
//
//	0      1      2      3      4      5      6      7      8
//	+------+------+------+------+------+------+------+------+
//	|       magic "MISN"        | ver  | kind |  reserved   |
//	+------+------+------+------+------+------+------+------+
//	|                 index: last log entry N               |
//	+------+------+------+------+------+------+------+------+
//	|                 term of entry N                       |
//	+------+------+------+------+------+------+------+------+
//	|                 time of entry N (unix ns)             |
//	+------+------+------+------+------+------+------+------+
//	|                 created (wall clock, unix ns)         |
//	+------+------+------+------+------+------+------+------+
//	|                 keys                                  |
//	+------+------+------+------+------+------+------+------+
//	|                 digest, low lane                      |
//	+------+------+------+------+------+------+------+------+
//	|                 digest, high lane                     |
//	+------+------+------+------+------+------+------+------+
//	|  databases (u32)          | value encoding ver (u32)  |
//	+------+------+------+------+------+------+------+------+
//	|                 full index: the last full rewrite     |
//	+------+------+------+------+------+------+------+------+
//	| incrementals since (u32)  | CRC-32C of bytes 0..83    |
//	+------+------+------+------+------+------+------+------+
//
// ver is the format version, 1; kind is 1 for a full snapshot, 2 for an
// incremental one. The digest is engine.Digest of the image: kept up to
// date by incremental snapshots (subtract what a change replaces, add what
// it writes) and checked against the loaded data at every load.
//
// # Crash contract
//
// What is assumed: Pebble's own guarantees, namely that a batch committed
// with Sync, and an ingestion once it returns, survive a crash, and that a
// batch or an ingestion not yet committed leaves no trace after recovery
// (Pebble's WAL and MANIFEST are checksummed and a torn tail is dropped).
//
// The order of a snapshot's steps:
//
//  1. Clone: an O(1) View at index N, between two applied batches.
//  2. Sync the command log: every entry up to N is durable, so that no
//     snapshot is ever ahead of the log (with appendfsync everysec or no the
//     last entries might not be yet).
//  3. Open the store (taking its lock), read the metadata.
//  4. Write: an incremental snapshot fills one batch with every change and
//     the new metadata and commits it with Sync; a full one writes and
//     syncs its sstables in the scratch directory, then ingests them,
//     metadata included, with one IngestAndExcise. Either way the data of
//     index N and the metadata saying N become visible together, or not at
//     all.
//  5. AfterCommit (the daemon deletes the log segments the retention
//     policy lets go, all before N+1), with the store still locked, so that
//     a backup, which holds the lock, never sees the log shrink under it.
//  6. Close the store; remove the scratch directory.
//
// A crash before step 4 completes leaves the previous snapshot; after it,
// the new one. A store that cannot be opened at step 3 (damaged files) is
// renamed to Options.Dir + ".damaged-<unix ns>", never deleted, and a new
// one is written in full from the image in memory.
//
// Recovery, at Load:
//
//  1. Remove the scratch directory left by an interrupted full snapshot
//     (its files were never part of the store).
//  2. Open the store: Pebble replays its WAL and MANIFEST.
//  3. Read the metadata: none means no snapshot (start from an empty image
//     and replay the log from index 1). A bad magic or checksum is
//     ErrCorrupt; an unknown format or value encoding version is
//     ErrVersion.
//  4. Load every data key into an engine.Loader; the number of keys and the
//     digest must equal the metadata's, else ErrCorrupt. One pass over the
//     store on two goroutines (engine.Loader.AddAll): one iterates Pebble
//     and decodes the values, the other builds the B-trees (bulk-loaded in
//     key order) and sums the digest.
//  5. The engine replays the log from N+1: the log must hold N+1 (or end at
//     N); a gap is an error. The daemon, when the snapshot cannot be loaded
//     and the log still starts at index 1, replays the whole log instead and
//     rewrites the snapshot in full.
//
// # Locking
//
// The store is opened for each operation (a load, a snapshot, an info, a
// backup) and closed after it, so the operator's tools (memimg snapshot
// info, memimg backup, memimg verify) can open it beside a running server:
// each waits for the other's lock (Options.LockTimeout). While memimg backup
// holds it, the server's next snapshot waits, and so does the deletion of
// log segments it would allow.
package snapshot
