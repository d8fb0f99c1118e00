package engine

import "github.com/memimg/memimg/schema"

// applyCtx is what a write handler sees: the image, the selected keyspace,
// and the entry's time. Nothing else: no clock, no randomness, no I/O.
type applyCtx struct {
	e     *Engine
	img   *image
	ks    *keyspace
	db    int
	now   int64 // the entry's time, unix milliseconds
	index uint64
}

// live returns key's item if it exists and has not expired at the entry's
// time; an expired item is deleted on the way (lazy expiry, deterministic
// because it depends on the entry's time only).
func (c *applyCtx) live(key []byte) (item, bool) {
	it, ok := c.ks.keys.GetHint(probe(key), &c.ks.hint)
	if !ok {
		return item{}, false
	}
	if it.exp != 0 && it.exp <= c.now {
		c.ks.remove(key)
		c.e.stats.ExpiredKeys.Add(1)
		return item{}, false
	}
	return it, true
}

// readCtx is what a read handler sees. now is the wall clock: reads do not
// change state, so they need not be deterministic.
type readCtx struct {
	e   *Engine
	ks  *keyspace
	db  int
	now int64 // unix milliseconds
}

// keyLookup is a read's lookup of one key: expired keys are missing; hits
// and misses are counted for INFO, as Redis counts them for GET, EXISTS,
// TYPE, TTL and TOUCH.
func (c *readCtx) keyLookup(key []byte) (item, bool) {
	it, ok := c.ks.lookup(key, c.now)
	if ok {
		c.e.stats.KeyspaceHits.Add(1)
	} else {
		c.e.stats.KeyspaceMiss.Add(1)
	}
	return it, ok
}

// writeHandler applies a logged command.
type writeHandler func(c *applyCtx, argv [][]byte) Reply

// readHandler answers a read-only command.
type readHandler func(c *readCtx, argv [][]byte) Reply

// unlockedReader answers a read-only command without the read lock: it
// works on a View (Clone) of its own, for reads that visit the whole image
// (MEMIMG.DIGEST) and must not hold the applier up meanwhile.
type unlockedReader func(e *Engine, db int, argv [][]byte) Reply

var (
	writers         = make([]writeHandler, schema.Count())
	readers         = make([]readHandler, schema.Count())
	unlockedReaders = make([]unlockedReader, schema.Count())
)

// onWrite registers the apply function of a write command.
func onWrite(name string, h writeHandler) {
	c := schema.Lookup([]byte(name))
	if c == nil || !c.Is(schema.Write) {
		panic("engine: " + name + " is not a write command in the schema")
	}
	writers[c.ID] = notifying(c, h) // keyspace notifications (notify.go)
}

// onReadUnlocked registers the query function of a read-only command that
// takes no lock (unlockedReader).
func onReadUnlocked(name string, h unlockedReader) {
	c := schema.Lookup([]byte(name))
	if c == nil || c.Is(schema.Write) {
		panic("engine: " + name + " is not a read command in the schema")
	}
	unlockedReaders[c.ID] = h
}

// onRead registers the query function of a read-only command.
func onRead(name string, h readHandler) {
	c := schema.Lookup([]byte(name))
	if c == nil || c.Is(schema.Write) {
		panic("engine: " + name + " is not a read command in the schema")
	}
	readers[c.ID] = h
}
