package engine

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/memimg/memimg/schema"
)

// Transactions (MULTI ... EXEC) and optimistic locking (WATCH).
//
// The protocol layer queues a connection's commands between MULTI and EXEC
// and hands them to ExecTx, with the keys the connection watched. A
// transaction with a write goes through the log as ONE entry,
//
//	memimg.exec <watches> <command> [<command> ...]
//
// (schema.EncodeTxWatches, then one schema.EncodeCommand payload per queued
// command, each with its own database, so a SELECT inside MULTI works), and
// applies atomically: the watches are checked, then every command runs in
// order against the image as the previous ones left it, reads included
// (with the entry's time as their clock). A transaction of reads only is
// not logged: it runs under the read lock.
//
// WATCH is decided deterministically. A watched key's state at WATCH time
// is its item (or its absence); the log carries, for each watched key,
// whether it was live and a fingerprint of its value, type and expiry, and
// the entry aborts (a null array) unless every watched key is in the same
// state at the entry's time. That depends on the entry and the image only,
// so a replay, from the first entry or from a snapshot, and a follower make
// the same decision; no history of modifications needs to be kept, in the
// image or in snapshots, and writes pay nothing for WATCH.
//
// Before logging, ExecTx also compares each watched key's current item
// with the one WATCH saw, by identity: items are immutable and every write
// that changes a key stores a new one (a new value, even an equal one, is a
// new allocation; a new expiry a changed item), so a key written since
// WATCH fails the comparison and the transaction aborts without reaching
// the log, as in Redis, where any modification "touches" a watched key.
// Only writes already in the commit pipeline when EXEC is submitted are
// left to the logged fingerprint check, which sees changes of content: a
// write of an equal value in that window does not abort the transaction.
//
// Expiry follows Redis 7: a key live at WATCH that has expired by the
// entry's time has changed (it is missing now); a key already expired at
// WATCH reads as missing both times and does not abort.
//
// What differs from Redis, all on the side of running a transaction that
// Redis would abort (never the reverse):
//   - a key that is missing at WATCH, then created and deleted again
//     before EXEC, reads as unchanged;
//   - a write that keeps the very same item does not touch it: EXPIRE to
//     the expiry the key already has, for example (Redis touches on
//     every EXPIRE of an existing key);
//   - a write of an equal value applied between EXEC's submission and its
//     entry (see above).
//
// The fingerprint (format 1, frozen: it is in the log) is XXH64 with seed
// txFingerprintSeed of
//
//	type u8 | exp i64 little-endian | value
//
// where value is a string's bytes or a collection's Encode bytes. A
// collection type that changes its Encode must keep fingerprinting with the
// encoding of format 1, or memimg.exec entries that watched such a key
// would replay differently.
//
// The identity check and the fingerprints are computed outside the apply
// lock (items and objects never change once stored); at apply time the
// live engine knows the items ExecTx compared (txHints) and hashes a
// watched value only if its item changed meanwhile. A replay hashes every
// watched value: O(size of the watched values).

// txCmd is the internal command a transaction is logged as.
var txCmd = schema.Lookup([]byte("memimg.exec"))

// txFingerprintSeed is the seed of the watch fingerprints. Frozen.
const txFingerprintSeed = 0x6d656d696d672d77 // "memimg-w"

// Watch is one watched key: the key and its state when WATCH read it. It
// holds the key's item, whose bytes stay alive (and unchanged) as long as
// the Watch does.
type Watch struct {
	db   int
	key  string
	it   item
	live bool
}

// DB is the watched key's database.
func (w Watch) DB() int { return w.db }

// Key is the watched key.
func (w Watch) Key() string { return w.key }

// Watch reads the state of key in database db for a later ExecTx. A key
// that has expired by the clock reads as missing.
func (e *Engine) Watch(db int, key []byte) (Watch, error) {
	if db < 0 || db >= len(e.img.dbs) {
		return Watch{}, schema.ErrDBIndex
	}
	now := e.opts.Clock() / int64(time.Millisecond)
	e.mu.RLock()
	it, ok := e.img.dbs[db].lookup(key, now)
	e.mu.RUnlock()
	return Watch{db: db, key: string(key), it: it, live: ok}, nil
}

// TxCommand is one queued command of a transaction and the database it
// runs on.
type TxCommand struct {
	DB   int
	Argv [][]byte
}

// ExecTx runs a transaction: the commands, atomically, if no watched key
// changed since its Watch. It returns a null array if one did, else an
// array with one reply per command. A command that is not valid (unknown,
// a Connection or Internal command, wrong arity or syntax, a database out
// of range) gets its error in its place and is not logged; the others run.
// An error reply instead of the array means the transaction did not run
// (the log refused it: too large, failed, or the engine is closed). The
// Argv of the commands must stay unchanged until ExecTx returns.
func (e *Engine) ExecTx(watches []Watch, cmds []TxCommand) Reply {
	replies := make([]Reply, len(cmds))
	run := make([]*schema.Command, len(cmds)) // nil: refused, replies[i] set
	writes := 0
	for i, c := range cmds {
		cmd, err := e.txCheck(c)
		if err != nil {
			replies[i] = Error(err)
			continue
		}
		run[i] = cmd
		if cmd.Is(schema.Write) {
			writes++
		}
	}
	e.stats.Commands.Add(uint64(len(cmds)))
	if writes == 0 {
		return e.queryTx(watches, cmds, run, replies)
	}

	now := e.opts.Clock() / int64(time.Millisecond)
	e.mu.RLock()
	changed := e.watchesChanged(watches, now)
	e.mu.RUnlock()
	if changed {
		return NullArray
	}

	// The entry: memimg.exec, the watches, and the valid commands' payloads
	// in one buffer.
	tw := make([]schema.TxWatch, len(watches))
	h := xxhash.New()
	var scratch []byte
	for i, w := range watches {
		tw[i] = schema.TxWatch{DB: w.db, Key: keyBytes(w.key), Live: w.live}
		if w.live {
			tw[i].Sum, scratch = fingerprint(h, scratch, w.it)
		}
	}
	blob := schema.EncodeTxWatches(nil, tw)
	var buf []byte
	ends := make([]int, 0, len(cmds))
	for i, c := range cmds {
		if run[i] != nil {
			buf = schema.EncodeCommand(buf, c.DB, c.Argv)
			ends = append(ends, len(buf))
		}
	}
	argv := make([][]byte, 2, 2+len(ends))
	argv[0], argv[1] = []byte(txCmd.Name), blob
	start := 0
	for _, end := range ends {
		argv = append(argv, buf[start:end:end])
		start = end
	}

	hint := &blob[0]
	if len(watches) > 0 {
		txHints.Store(hint, watches)
	}
	r := e.enqueue(txCmd, 0, argv).Wait()
	if len(watches) > 0 {
		txHints.Delete(hint)
	}
	if r.Kind != KindArray {
		return r // aborted (null array) or not run (error)
	}
	j := 0
	for i := range cmds {
		if run[i] != nil && j < len(r.Elems) {
			replies[i] = r.Elems[j]
			j++
		}
	}
	return Array(replies...)
}

// txCheck validates one command of a transaction.
func (e *Engine) txCheck(c TxCommand) (*schema.Command, error) {
	if len(c.Argv) == 0 {
		return nil, schema.Error("ERR empty command")
	}
	cmd := schema.Lookup(c.Argv[0])
	if cmd == nil || cmd.Is(schema.Internal) || cmd.Is(schema.Connection) {
		return nil, schema.UnknownCommand(c.Argv)
	}
	if c.DB < 0 || c.DB >= len(e.img.dbs) {
		return nil, schema.ErrDBIndex
	}
	if err := cmd.Validate(c.Argv); err != nil {
		return nil, err
	}
	return cmd, nil
}

// queryTx runs a transaction of reads only under the read lock: nothing to
// log, and the read lock makes the watch check and the reads atomic.
func (e *Engine) queryTx(watches []Watch, cmds []TxCommand, run []*schema.Command, replies []Reply) Reply {
	now := e.opts.Clock() / int64(time.Millisecond)
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.watchesChanged(watches, now) {
		return NullArray
	}
	for i, c := range cmds {
		if run[i] != nil {
			replies[i] = e.txRead(run[i], c.DB, c.Argv, now)
		}
	}
	return Array(replies...)
}

// watchesChanged reports whether a watched key is not the item (or the
// absence) its Watch saw, at time now (unix ms). The caller holds e.mu.
func (e *Engine) watchesChanged(watches []Watch, now int64) bool {
	for _, w := range watches {
		it, ok := e.img.dbs[w.db].lookup(keyBytes(w.key), now)
		if ok != w.live || (ok && !sameItemIdentity(it, w.it)) {
			return true
		}
	}
	return false
}

// sameItemIdentity reports whether a and b are the same stored item: the
// same bytes (or object) and expiry.
func sameItemIdentity(a, b item) bool {
	return a.p == b.p && a.exp == b.exp && a.typ == b.typ && a.klen == b.klen && a.vlen == b.vlen
}

// fingerprint is the watch fingerprint of a live item (format 1, see
// above); scratch is a buffer for a collection's encoding, returned grown.
func fingerprint(h *xxhash.Digest, scratch []byte, it item) (uint64, []byte) {
	h.ResetWithSeed(txFingerprintSeed)
	var hdr [9]byte
	hdr[0] = byte(it.typ)
	binary.LittleEndian.PutUint64(hdr[1:], uint64(it.exp))
	h.Write(hdr[:])
	if it.typ == TypeString {
		h.WriteString(it.str())
	} else {
		scratch = it.object().Encode(scratch[:0])
		h.Write(scratch)
	}
	return h.Sum64(), scratch
}

// txHints maps the watches argument of a memimg.exec being applied live
// (by the address of its first byte, which the request keeps alive) to the
// Watches ExecTx checked, so apply can recognise an unchanged item by
// identity instead of hashing its value. A replay finds no hint and
// hashes; both give the same decision, since an unchanged item has the
// fingerprint it had.
var txHints sync.Map // *byte → []Watch

func init() {
	onWrite("memimg.exec", applyTx)
}

// applyTx applies a memimg.exec entry.
func applyTx(c *applyCtx, argv [][]byte) Reply {
	ws, err := schema.DecodeTxWatches(argv[1], nil)
	if err != nil {
		return Error(schema.Error("ERR " + err.Error()))
	}
	var hint []Watch
	if len(ws) > 0 {
		if h, ok := txHints.Load(&argv[1][0]); ok {
			hint = h.([]Watch)
		}
	}
	var xh *xxhash.Digest
	var scratch []byte
	for i, w := range ws {
		if w.DB >= len(c.img.dbs) {
			return Error(schema.ErrDBIndex)
		}
		it, ok := c.img.dbs[w.DB].lookup(w.Key, c.now)
		if ok != w.Live {
			return NullArray
		}
		if !ok {
			continue
		}
		if i < len(hint) && hint[i].db == w.DB && hint[i].key == bstr(w.Key) && sameItemIdentity(hint[i].it, it) {
			continue
		}
		if xh == nil {
			xh = xxhash.New()
		}
		var sum uint64
		sum, scratch = fingerprint(xh, scratch, it)
		if sum != w.Sum {
			return NullArray
		}
	}
	replies := make([]Reply, 0, len(argv)-2)
	for _, p := range argv[2:] {
		db, sub, err := schema.DecodeCommand(p, nil)
		if err != nil {
			replies = append(replies, Error(schema.Error("ERR "+err.Error())))
			continue
		}
		cmd := schema.Lookup(sub[0])
		switch {
		case cmd == nil || cmd.Is(schema.Internal) || cmd.Is(schema.Connection):
			replies = append(replies, Error(schema.UnknownCommand(sub)))
		case db >= len(c.img.dbs):
			replies = append(replies, Error(schema.ErrDBIndex))
		case cmd.Is(schema.Write):
			h := writers[cmd.ID]
			if h == nil {
				replies = append(replies, Errorf("ERR command '"+cmd.Name+"' is not implemented"))
				continue
			}
			// A fresh context per command: FLUSHALL may have replaced the
			// keyspaces.
			replies = append(replies, h(&applyCtx{e: c.e, img: c.img, ks: c.img.dbs[db], db: db, now: c.now, index: c.index}, sub))
		default:
			replies = append(replies, c.e.txRead(cmd, db, sub, c.now))
		}
	}
	return Array(replies...)
}

// txRead runs a read inside a transaction, with now as its clock. The
// caller holds e.mu (the read lock, or the write lock when applying).
// Reads that take no lock of their own (unlockedReaders: they clone the
// image, which needs the lock) are refused, as Redis refuses its no-multi
// commands.
func (e *Engine) txRead(cmd *schema.Command, db int, argv [][]byte, now int64) Reply {
	if unlockedReaders[cmd.ID] != nil {
		return Error(schema.ErrNotInMulti)
	}
	h := readers[cmd.ID]
	if h == nil {
		return Errorf("ERR command '" + cmd.Name + "' is not implemented yet")
	}
	return h(&readCtx{e: e, ks: e.img.dbs[db], db: db, now: now}, argv)
}
