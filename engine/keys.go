package engine

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/memimg/memimg/schema"
)

// The keyspace commands: DEL, UNLINK, EXISTS, TYPE, the EXPIRE family, TTL
// and its kin, PERSIST, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, TOUCH,
// DBSIZE, FLUSHDB and FLUSHALL.
//
// Write handlers are deterministic: they read the image, argv and c.now
// (the entry's time) only. A relative expire (EXPIRE k 10) is logged as sent
// and turned into an absolute time from the entry's time when it applies,
// so every replay computes the same expiry. An expiry at or before the
// entry's time deletes the key, as Redis does.
//
// Reads see expired keys as missing (lazy expiry) without removing them:
// removal is a write, done by the next write to the key or by the active
// expiry reactor through the log. DBSIZE counts the keys in the tree,
// expired ones not yet removed included, as Redis's DBSIZE does.

func init() {
	onWrite("del", keysDel)
	onWrite("unlink", keysDel)
	onRead("exists", keysExists)
	onRead("type", keysType)
	onWrite("expire", keysExpire("expire"))
	onWrite("pexpire", keysExpire("pexpire"))
	onWrite("expireat", keysExpire("expireat"))
	onWrite("pexpireat", keysExpire("pexpireat"))
	onRead("ttl", keysTTL(false, false))
	onRead("pttl", keysTTL(true, false))
	onRead("expiretime", keysTTL(false, true))
	onRead("pexpiretime", keysTTL(true, true))
	onWrite("persist", keysPersist)
	onRead("keys", keysKeys)
	onRead("scan", keysScan)
	onRead("randomkey", keysRandom)
	onWrite("rename", keysRename(false))
	onWrite("renamenx", keysRename(true))
	onRead("touch", keysTouch)
	onRead("dbsize", func(c *readCtx, argv [][]byte) Reply { return Int(int64(c.ks.keys.Len())) })
	onWrite("flushdb", keysFlush(false))
	onWrite("flushall", keysFlush(true))
}

// keyBytes views s as bytes without copying, for matching only: the result
// must not be written to or stored.
func keyBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// DEL key [key ...] and UNLINK: the number of live keys removed; a key
// named twice counts once. Memory is freed by the garbage collector in
// either case, so UNLINK is DEL.
func keysDel(c *applyCtx, argv [][]byte) Reply {
	var n int64
	for _, k := range argv[1:] {
		if _, ok := c.live(k); ok {
			c.ks.remove(k)
			n++
		}
	}
	return Int(n)
}

// EXISTS key [key ...]: a key named twice counts twice.
func keysExists(c *readCtx, argv [][]byte) Reply {
	var n int64
	for _, k := range argv[1:] {
		if _, ok := c.keyLookup(k); ok {
			n++
		}
	}
	return Int(n)
}

// TYPE key: the type's name, "none" for a missing key.
func keysType(c *readCtx, argv [][]byte) Reply {
	it, ok := c.keyLookup(argv[1])
	if !ok {
		return Status("none")
	}
	return Status(it.typ.String())
}

// EXPIRE key seconds [NX | XX | GT | LT], PEXPIRE, EXPIREAT, PEXPIREAT: 1
// if the expiry was set (or the key deleted by an expiry in the past), 0 if
// the key is missing or a condition refused.
func keysExpire(cmd string) writeHandler {
	return func(c *applyCtx, argv [][]byte) Reply {
		a, err := schema.ParseExpire(cmd, argv)
		if err != nil {
			return Error(err)
		}
		when, err := a.At(c.now)
		if err != nil {
			return Error(err)
		}
		it, ok := c.live(argv[1])
		if !ok || !a.Permits(it.exp, when) {
			return Int(0)
		}
		if when <= c.now {
			c.ks.remove(argv[1])
			return Int(1)
		}
		if when != it.exp {
			it.exp = when // it is a copy: the stored item is not touched
			c.ks.set(it)
		}
		return Int(1)
	}
}

// TTL and PTTL (the time left), EXPIRETIME and PEXPIRETIME (the absolute
// time): -2 for a missing key, -1 for a key without expiry. Seconds are
// rounded to the nearest, as Redis does.
func keysTTL(ms, abs bool) readHandler {
	return func(c *readCtx, argv [][]byte) Reply {
		it, ok := c.keyLookup(argv[1])
		if !ok {
			return Int(-2)
		}
		if it.exp == 0 {
			return Int(-1)
		}
		v := it.exp
		if !abs {
			v = max(v-c.now, 0)
		}
		if !ms {
			v = (v + 500) / 1000
		}
		return Int(v)
	}
}

// PERSIST key: 1 if an expiry was removed.
func keysPersist(c *applyCtx, argv [][]byte) Reply {
	it, ok := c.live(argv[1])
	if !ok || it.exp == 0 {
		return Int(0)
	}
	it.exp = 0
	c.ks.set(it)
	return Int(1)
}

// TOUCH key [key ...]: the number of keys that exist, a key named twice
// counting twice. memimg keeps no access times, so nothing else happens.
func keysTouch(c *readCtx, argv [][]byte) Reply {
	var n int64
	for _, k := range argv[1:] {
		if _, ok := c.keyLookup(k); ok {
			n++
		}
	}
	return Int(n)
}

// RENAME key newkey and RENAMENX: the value and its expiry move to newkey,
// replacing what was there (RENAME) or not (RENAMENX replies 0). A missing
// key is an error even when both names are the same.
func keysRename(nx bool) writeHandler {
	done := OK
	if nx {
		done = Int(1)
	}
	return func(c *applyCtx, argv [][]byte) Reply {
		src, ok := c.live(argv[1])
		if !ok {
			return Error(schema.ErrNoSuchKey)
		}
		if bytes.Equal(argv[1], argv[2]) {
			if nx {
				return Int(0)
			}
			return OK
		}
		if _, exists := c.live(argv[2]); exists && nx {
			return Int(0)
		}
		c.ks.remove(argv[1])
		c.ks.set(src.withKey(argv[2])) // replaces newkey, expiry index included
		return done
	}
}

// FLUSHDB [ASYNC | SYNC] and FLUSHALL: the database (or every one) is
// replaced by an empty one. The old trees are left to the garbage collector
// and to any snapshot still holding them, never changed (copy-on-write), so
// the flush is O(1) and ASYNC and SYNC are the same.
func keysFlush(all bool) writeHandler {
	return func(c *applyCtx, argv [][]byte) Reply {
		if _, err := schema.ParseFlush(argv); err != nil {
			return Error(err)
		}
		if all {
			for i := range c.img.dbs {
				c.img.dbs[i] = newKeyspace()
			}
		} else {
			c.img.dbs[c.db] = newKeyspace()
		}
		c.ks = c.img.dbs[c.db]
		return OK
	}
}

// keyRange describes the part of the ordered keyspace that can hold keys
// matching a pattern: the keys starting with the pattern's literal prefix,
// or only the prefix itself when the pattern is all literal.
type keyRange struct {
	prefix  string
	literal bool
}

func newKeyRange(pattern []byte) keyRange {
	if pattern == nil {
		return keyRange{}
	}
	p, done := schema.LiteralPrefix(pattern)
	return keyRange{prefix: string(p), literal: done}
}

// holds reports whether key, met in ascending order at or after the
// prefix, is still in the range; once it is not, no later key is.
func (r keyRange) holds(key string) bool {
	if r.literal {
		return key == r.prefix
	}
	return strings.HasPrefix(key, r.prefix)
}

// KEYS pattern: every live key that matches, in key order. The pattern "*"
// lists every key without calling the matcher (so the empty key is listed,
// as in Redis).
func keysKeys(c *readCtx, argv [][]byte) Reply {
	pattern := argv[1]
	if len(pattern) == 1 && pattern[0] == '*' {
		pattern = nil
	}
	r := newKeyRange(pattern)
	out := make([]Reply, 0, 16)
	c.ks.keys.Ascend(probeString(r.prefix), func(it item) bool {
		key := it.key()
		if !r.holds(key) {
			return false
		}
		if it.exp != 0 && it.exp <= c.now {
			return true
		}
		if pattern == nil || schema.Match(pattern, keyBytes(key), false) {
			out = append(out, Bulk(key))
		}
		return true
	})
	return Array(out...)
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].
//
// The keys live in a B-tree ordered by name, so an iteration is a walk in
// key order and its position is the last key it visited: each call visits
// up to COUNT keys after that position and replies with those that are
// live and pass MATCH and TYPE. Whatever is inserted or deleted between
// calls, every key present during the whole iteration is returned, and
// exactly once: the position only moves forward, so no key is ever
// returned twice (Redis promises at least once). A key added or removed
// during the iteration may or may not be returned, as in Redis. A MATCH
// pattern with a literal prefix ("user:*") starts the walk at the prefix
// and ends it past the prefix's range; MATCH, COUNT and TYPE may change
// from one call to the next.
//
// The position is a key, which does not fit the unsigned 64-bit number
// clients take a cursor for, so the server keeps it: the cursor is a random
// id in [1, 2^53) (2^53 so that clients that parse it into a double, as
// node-redis v4 does, lose nothing) naming an entry of a table of the
// positions handed out, bounded in entries and bytes; the oldest entries
// are evicted first. An entry stays valid until evicted, so a client may
// repeat a call (a retry after a network error). A cursor the table does
// not hold — made up, evicted, from another database, or from before a
// restart — is refused with "ERR invalid cursor" rather than silently
// restarting the iteration. Cursor 0 starts an iteration and ends one.
func keysScan(c *readCtx, argv [][]byte) Reply {
	a, err := schema.ParseScan(argv)
	if err != nil {
		return Error(err)
	}
	var after string
	resume := a.Cursor != 0
	if resume {
		k, ok := c.e.scans.get(a.Cursor, c.db)
		if !ok {
			return Error(schema.ErrInvalidCursor)
		}
		after = k
	}
	r := newKeyRange(a.Match)
	pivot, exclusive := after, resume
	if !resume || r.prefix > after {
		pivot, exclusive = r.prefix, false
	}
	var (
		visited int64
		last    string
		more    bool
	)
	out := make([]Reply, 0, min(a.Count, 64))
	c.ks.keys.Ascend(probeString(pivot), func(it item) bool {
		key := it.key()
		if exclusive && key == pivot {
			return true
		}
		if !r.holds(key) {
			return false
		}
		if visited == a.Count {
			more = true
			return false
		}
		visited++
		last = key
		switch {
		case it.exp != 0 && it.exp <= c.now:
		case a.Match != nil && !schema.Match(a.Match, keyBytes(key), false):
		case a.Type != "" && it.typ.String() != a.Type:
		default:
			out = append(out, Bulk(key))
		}
		return true
	})
	cursor := "0"
	if more {
		cursor = strconv.FormatUint(c.e.scans.put(c.db, last), 10)
	}
	return Array(Bulk(cursor), Array(out...))
}

// scanCursors is SCAN's table of positions, safe for concurrent readers.
type scanCursors struct {
	mu    sync.Mutex
	pos   map[uint64]scanPos
	order []uint64 // ids, oldest first
	bytes int      // key bytes held
}

type scanPos struct {
	db    int
	after string // the last key visited
}

// The bounds of the cursor table. An iteration needs its entry only until
// its next call, so the table holds the positions of the last 128k SCAN
// calls, far more than the clients scanning at once.
const (
	maxScanCursors     = 1 << 17
	maxScanCursorBytes = 32 << 20
	scanCursorIDs      = 1<<53 - 1
)

// put records a position and returns its cursor id. The table keeps its
// own copy of after, which may be a substring of an item's kv: holding it
// would keep the whole kv (a value of up to 512 MB) alive after the key is
// overwritten or deleted.
func (t *scanCursors) put(db int, after string) uint64 {
	after = strings.Clone(after)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pos == nil {
		t.pos = make(map[uint64]scanPos)
	}
	for len(t.order) > 0 && (len(t.order) >= maxScanCursors || t.bytes+len(after) > maxScanCursorBytes) {
		id := t.order[0]
		t.order = t.order[1:]
		t.bytes -= len(t.pos[id].after)
		delete(t.pos, id)
	}
	var id uint64
	for {
		id = rand.Uint64() & scanCursorIDs
		if _, taken := t.pos[id]; id != 0 && !taken {
			break
		}
	}
	t.pos[id] = scanPos{db: db, after: after}
	t.order = append(t.order, id)
	t.bytes += len(after)
	return id
}

// get returns the position of cursor id in database db.
func (t *scanCursors) get(id uint64, db int) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.pos[id]
	if !ok || p.db != db {
		return "", false
	}
	return p.after, true
}

// RANDOMKEY: a random live key, or nil when there is none. A random index
// into the B-tree (O(log n)) is tried a few times; should all the tries
// land on expired keys not yet removed, a walk from a random index returns
// the first live key, so the reply is nil only when every key has expired,
// as on a Redis master.
func keysRandom(c *readCtx, argv [][]byte) Reply {
	n := c.ks.keys.Len()
	if n == 0 {
		return Null
	}
	live := func(it item) bool { return it.exp == 0 || it.exp > c.now }
	for range 16 {
		if it, ok := c.ks.keys.GetAt(rand.IntN(n)); ok && live(it) {
			return Bulk(it.key())
		}
	}
	start, _ := c.ks.keys.GetAt(rand.IntN(n))
	var found *item
	visit := func(it item) bool {
		if live(it) {
			found = &it
			return false
		}
		return true
	}
	c.ks.keys.Ascend(start, visit)
	if found == nil {
		c.ks.keys.Scan(func(it item) bool { return it.key() < start.key() && visit(it) })
	}
	if found == nil {
		return Null
	}
	return Bulk(found.key())
}
