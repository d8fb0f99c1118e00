package engine

import (
	"strings"
	"sync/atomic"

	"github.com/memimg/memimg/schema"
)

// Keyspace notifications (Redis's notify-keyspace-events).
//
// The engine works out which events a write causes, with Redis's event
// names; the protocol layer publishes them on __keyspace@<db>__:<key> and
// __keyevent@<db>__:<event> through its pub/sub. Events are not data: they
// are never logged, never change the image, and are not produced while
// the log is replayed (the hook is installed after Open returns).
//
// How: every write handler is registered wrapped (onWrite) in a function
// that, when notifications are off, costs one atomic load. When they are
// on, it looks up the keys the command names (and the target of MOVE and
// COPY) before and after the handler runs, and derives the events from
// what changed: a key written gets the command's event ("set", "lpush",
// "zadd", ...), a collection left empty and removed gets it and then
// "del", a key deleted by DEL or an expiry in the past gets "del", a key
// found expired gets "expired" first. A command that changes nothing
// emits nothing (a failed SETNX, SADD of an existing member), as in Redis.
// The events of a batch are collected under the apply lock (applier only)
// and handed to the hook by the applier after the lock is released and
// before the clients of the batch are answered (flushNotify).
//
// Not emitted: "new" (n), "keymiss" (m), evictions (e: memimg never
// evicts), streams (t) and modules (d); reads never emit. "expired" comes
// when the removal of an expired key is applied (active expiry runs every
// 100 ms, or a write touches the key), not when a read first finds it
// expired.

// The event classes, Redis's notify-keyspace-events flags.
const (
	NotifyKeyspace uint32 = 1 << iota // K: publish on __keyspace@<db>__:<key>
	NotifyKeyevent                    // E: publish on __keyevent@<db>__:<event>
	NotifyGeneric                     // g: DEL, EXPIRE, RENAME, ...
	NotifyString                      // $
	NotifyList                        // l
	NotifySet                         // s
	NotifyHash                        // h
	NotifyZSet                        // z
	NotifyExpired                     // x
	NotifyEvicted                     // e
	NotifyStream                      // t
	NotifyKeyMiss                     // m
	NotifyModule                      // d
	NotifyNew                         // n

	// NotifyAll is the "A" alias.
	NotifyAll = NotifyGeneric | NotifyString | NotifyList | NotifySet | NotifyHash | NotifyZSet |
		NotifyExpired | NotifyEvicted | NotifyStream | NotifyModule
)

// ErrKeyspaceEvents is the error for a notify-keyspace-events value with
// a character that is not a class (Redis's text after "CONFIG SET failed").
var ErrKeyspaceEvents = schema.Error("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")

// ParseKeyspaceEvents parses a notify-keyspace-events value ("KEA", "Ex",
// "" for none) as Redis does.
func ParseKeyspaceEvents(s string) (uint32, error) {
	var f uint32
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'A':
			f |= NotifyAll
		case 'g':
			f |= NotifyGeneric
		case '$':
			f |= NotifyString
		case 'l':
			f |= NotifyList
		case 's':
			f |= NotifySet
		case 'h':
			f |= NotifyHash
		case 'z':
			f |= NotifyZSet
		case 'x':
			f |= NotifyExpired
		case 'e':
			f |= NotifyEvicted
		case 'K':
			f |= NotifyKeyspace
		case 'E':
			f |= NotifyKeyevent
		case 't':
			f |= NotifyStream
		case 'm':
			f |= NotifyKeyMiss
		case 'd':
			f |= NotifyModule
		case 'n':
			f |= NotifyNew
		default:
			return 0, ErrKeyspaceEvents
		}
	}
	return f, nil
}

// FormatKeyspaceEvents is the value CONFIG GET shows for flags, in Redis's
// spelling ("AKE" for "KEA").
func FormatKeyspaceEvents(f uint32) string {
	var b strings.Builder
	if f&NotifyAll == NotifyAll {
		b.WriteByte('A')
	} else {
		for _, c := range []struct {
			f uint32
			c byte
		}{{NotifyGeneric, 'g'}, {NotifyString, '$'}, {NotifyList, 'l'}, {NotifySet, 's'}, {NotifyHash, 'h'},
			{NotifyZSet, 'z'}, {NotifyExpired, 'x'}, {NotifyEvicted, 'e'}, {NotifyStream, 't'},
			{NotifyModule, 'd'}, {NotifyNew, 'n'}} {
			if f&c.f != 0 {
				b.WriteByte(c.c)
			}
		}
	}
	if f&NotifyKeyspace != 0 {
		b.WriteByte('K')
	}
	if f&NotifyKeyevent != 0 {
		b.WriteByte('E')
	}
	if f&NotifyKeyMiss != 0 {
		b.WriteByte('m')
	}
	return b.String()
}

// Event is one keyspace event: in database DB, Event ("set", "del",
// "expired", ...) happened to Key.
type Event struct {
	DB    int
	Class uint32 // the event's class (NotifyGeneric, NotifyString, ...)
	Event string
	Key   string
}

// NotifyFunc receives the keyspace events of one applied batch, in order.
// It is called by the applier outside the image lock, before the batch's
// clients get their replies; it must not block, and must not keep events
// (the slice is reused).
type NotifyFunc func(events []Event)

// notifier is an Engine's keyspace notification state.
type notifier struct {
	flags atomic.Uint32
	hook  atomic.Pointer[NotifyFunc]
	buf   []Event // the events of the batch being applied; applier only
}

// SetKeyspaceEvents sets the classes of events to emit (flags of
// ParseKeyspaceEvents; 0 turns notifications off) and the function that
// receives them. Events are only collected when flags has K or E, a class,
// and fn is not nil.
func (e *Engine) SetKeyspaceEvents(flags uint32, fn NotifyFunc) {
	if fn == nil {
		e.notify.hook.Store(nil)
	} else {
		e.notify.hook.Store(&fn)
	}
	e.notify.flags.Store(flags)
}

// on returns the flags if events of some class are to be collected, else 0.
func (n *notifier) on() uint32 {
	f := n.flags.Load()
	if f&(NotifyKeyspace|NotifyKeyevent) == 0 || f&^(NotifyKeyspace|NotifyKeyevent) == 0 || n.hook.Load() == nil {
		return 0
	}
	return f
}

// flushNotify hands the events collected while applying a batch to the
// hook. The applier calls it after releasing the image lock.
func (e *Engine) flushNotify() {
	n := &e.notify
	if len(n.buf) == 0 {
		return
	}
	if fn := n.hook.Load(); fn != nil {
		(*fn)(n.buf)
	}
	clear(n.buf)
	n.buf = n.buf[:0]
	if cap(n.buf) > 1<<16 {
		n.buf = nil
	}
}

// notifying wraps the handler of write command cmd so that it records the
// keyspace events it causes (see the file comment).
func notifying(cmd *schema.Command, h writeHandler) writeHandler {
	if cmd.Name == "memimg.exec" || cmd.Name == "memimg.batch" {
		return h // their commands are wrapped one by one
	}
	return func(c *applyCtx, argv [][]byte) Reply {
		if c.e == nil {
			return h(c, argv)
		}
		f := c.e.notify.on()
		if f == 0 {
			return h(c, argv)
		}
		return observe(f, cmd, h, c, argv)
	}
}

// watched is a key a command may change, and its item before.
type watched struct {
	db     int
	key    []byte
	before item
	had    bool
}

// observe runs h and records the events it causes.
func observe(f uint32, cmd *schema.Command, h writeHandler, c *applyCtx, argv [][]byte) Reply {
	var ws []watched
	add := func(db int, key []byte) {
		for _, w := range ws {
			if w.db == db && string(w.key) == string(key) {
				return
			}
		}
		it, ok := c.img.dbs[db].keys.Get(probe(key))
		ws = append(ws, watched{db: db, key: key, before: it, had: ok})
	}
	for _, k := range notifyKeys(cmd, argv, c.db, len(c.img.dbs)) {
		add(k.db, k.key)
	}
	r := h(c, argv)
	for i, w := range ws {
		after, has := c.img.dbs[w.db].keys.Get(probe(w.key))
		changed := w.had != has || (has && (w.before.p != after.p || w.before.exp != after.exp || w.before.typ != after.typ))
		if !changed && !(isExpire(cmd.Name) && r.Kind == KindInt && r.Int == 1) {
			continue
		}
		if w.had && w.before.exp != 0 && w.before.exp <= c.now {
			c.emit(f, w.db, NotifyExpired, "expired", w.key)
			if !has {
				continue
			}
			w.had = false
		}
		typ := after.typ
		if !has {
			typ = w.before.typ
		}
		for _, ev := range commandEvents(cmd.Name, argv, i, len(ws), typ, has, after.exp, w.before.exp) {
			c.emit(f, w.db, ev.class, ev.name, w.key)
		}
		if !has && w.had && removesWithDel(cmd.Name) {
			c.emit(f, w.db, NotifyGeneric, "del", w.key)
		}
	}
	return r
}

// emit records one event if its class is on.
func (c *applyCtx) emit(f uint32, db int, class uint32, event string, key []byte) {
	if f&class == 0 {
		return
	}
	c.e.notify.buf = append(c.e.notify.buf, Event{DB: db, Class: class, Event: event, Key: string(key)})
}

// dbKey is a key of a database.
type dbKey struct {
	db  int
	key []byte
}

// notifyKeys lists the keys a write may change, in the order of Redis's
// events: the catalog's key positions, but the destination only for the
// STORE commands, the keys after numkeys for the MPOP commands, the
// destination first for the LMOVE family (Redis pushes, then reports the
// pop), and the target database's key for MOVE and COPY.
func notifyKeys(cmd *schema.Command, argv [][]byte, db, dbs int) []dbKey {
	one := func(i int) []dbKey { return []dbKey{{db, argv[i]}} }
	switch cmd.Name {
	case "sinterstore", "sunionstore", "sdiffstore", "zunionstore", "zinterstore", "zdiffstore", "zrangestore":
		return one(1)
	case "lmpop", "zmpop":
		return numKeys(argv, 1, db)
	case "blmpop", "bzmpop":
		return numKeys(argv, 2, db)
	case "lmove", "blmove", "rpoplpush", "brpoplpush":
		return []dbKey{{db, argv[2]}, {db, argv[1]}}
	case "memimg.expired":
		out := make([]dbKey, 0, len(argv)-1)
		for _, k := range argv[1:] {
			out = append(out, dbKey{db, k})
		}
		return out
	case "move":
		out := one(1)
		if to, err := schema.ParseDBIndex(argv[2]); err == nil && to >= 0 && to < dbs {
			out = append(out, dbKey{to, argv[1]})
		}
		return out
	case "copy":
		a, err := schema.ParseCopy(argv, dbs)
		if err != nil {
			return nil
		}
		if a.DB >= 0 {
			db = a.DB
		}
		return []dbKey{{db, argv[2]}}
	}
	pos := cmd.KeyPositions(argv)
	out := make([]dbKey, 0, len(pos))
	for _, p := range pos {
		out = append(out, dbKey{db, argv[p]})
	}
	return out
}

// numKeys lists the keys after the numkeys argument at argv[i].
func numKeys(argv [][]byte, i, db int) []dbKey {
	n, ok := schema.ParseInt(argv[i])
	if !ok || n < 1 || n > int64(len(argv)-i-1) {
		return nil
	}
	out := make([]dbKey, 0, n)
	for _, k := range argv[i+1 : i+1+int(n)] {
		out = append(out, dbKey{db, k})
	}
	return out
}

func isExpire(name string) bool {
	switch name {
	case "expire", "pexpire", "expireat", "pexpireat":
		return true
	}
	return false
}

// removesWithDel reports whether a command that leaves a key removed
// reports "del" after its own event: the commands that remove elements
// from a collection (Redis deletes the emptied key).
func removesWithDel(name string) bool {
	switch name {
	case "lpop", "rpop", "blpop", "brpop", "lmpop", "blmpop", "lrem", "ltrim", "lmove", "blmove",
		"rpoplpush", "brpoplpush", "srem", "spop", "smove", "hdel", "zrem", "zpopmin", "zpopmax",
		"bzpopmin", "bzpopmax", "zmpop", "bzmpop", "zremrangebyrank", "zremrangebyscore", "zremrangebylex":
		return true
	}
	return false
}

// notifyEvent is an event name and its class.
type notifyEvent struct {
	class uint32
	name  string
}

// typeClass is the class of the events of a value type.
func typeClass(t ValueType) uint32 {
	switch t {
	case TypeString:
		return NotifyString
	case TypeList:
		return NotifyList
	case TypeSet:
		return NotifySet
	case TypeHash:
		return NotifyHash
	case TypeZSet:
		return NotifyZSet
	}
	return NotifyGeneric
}

// hasOption reports whether one of argv[from:] is one of opts
// (case-insensitively).
func hasOption(argv [][]byte, from int, opts ...string) bool {
	for _, a := range argv[min(from, len(argv)):] {
		for _, o := range opts {
			if schema.EqualFold(a, o) {
				return true
			}
		}
	}
	return false
}

// commandEvents are the events of command name for its i-th watched key
// (of n), which changed: has is whether the key exists afterwards, typ its
// type (or its former type), exp and before its expiry after and before.
func commandEvents(name string, argv [][]byte, i, n int, typ ValueType, has bool, exp, before int64) []notifyEvent {
	g := func(ev string) []notifyEvent { return []notifyEvent{{NotifyGeneric, ev}} }
	t := func(ev string) []notifyEvent { return []notifyEvent{{typeClass(typ), ev}} }
	left := func(a []byte) bool { return schema.EqualFold(a, "left") }
	switch name {
	case "del", "unlink", "getdel":
		return g("del")
	case "memimg.expired":
		return []notifyEvent{{NotifyExpired, "expired"}}
	case "expire", "pexpire", "expireat", "pexpireat", "getex":
		switch {
		case !has:
			return g("del")
		case exp == 0:
			return g("persist")
		case exp == before && name == "getex":
			return nil
		}
		return g("expire")
	case "persist":
		return g("persist")
	case "rename", "renamenx":
		if i == 0 {
			return g("rename_from")
		}
		return g("rename_to")
	case "move":
		if i == 0 {
			return g("move_from")
		}
		return g("move_to")
	case "copy":
		return g("copy_to")
	case "set":
		if !has {
			return g("del") // an EXAT/PXAT in the past
		}
		if hasOption(argv, 3, "ex", "px", "exat", "pxat") {
			return []notifyEvent{{NotifyString, "set"}, {NotifyGeneric, "expire"}}
		}
		return t("set")
	case "setex", "psetex":
		return []notifyEvent{{NotifyString, "set"}, {NotifyGeneric, "expire"}}
	case "setnx", "getset", "mset", "msetnx":
		return t("set")
	case "incr", "decr", "incrby", "decrby":
		return t("incrby")
	case "incrbyfloat", "append", "setrange":
		return t(name)
	case "lpush", "lpushx":
		return t("lpush")
	case "rpush", "rpushx":
		return t("rpush")
	case "lpop", "blpop":
		return t("lpop")
	case "rpop", "brpop":
		return t("rpop")
	case "lmpop":
		return mpop(t, direction(argv, 1, "left"), "lpop", "rpop")
	case "blmpop":
		return mpop(t, direction(argv, 2, "left"), "lpop", "rpop")
	case "linsert", "lset", "lrem", "ltrim", "sadd", "srem", "spop", "hdel", "hincrby", "hincrbyfloat",
		"zrem", "zremrangebyrank", "zremrangebyscore", "zremrangebylex", "zpopmin", "zpopmax",
		"sinterstore", "sunionstore", "sdiffstore", "zunionstore", "zinterstore", "zdiffstore", "zrangestore":
		if !has && strings.HasSuffix(name, "store") {
			return g("del") // an empty result deletes the destination
		}
		return t(name)
	case "bzpopmin", "bzpopmax":
		return t(name[1:])
	case "zmpop":
		return mpop(t, direction(argv, 1, "min"), "zpopmin", "zpopmax")
	case "bzmpop":
		return mpop(t, direction(argv, 2, "min"), "zpopmin", "zpopmax")
	case "lmove", "blmove", "rpoplpush", "brpoplpush":
		from, to := "rpop", "lpush"
		if name == "lmove" || name == "blmove" {
			from, to = "lpop", "lpush"
			if !left(argv[3]) {
				from = "rpop"
			}
			if !left(argv[4]) {
				to = "rpush"
			}
		}
		if n == 1 { // the same list: pushed, then popped
			return []notifyEvent{{NotifyList, to}, {NotifyList, from}}
		}
		if i == 0 {
			return []notifyEvent{{NotifyList, to}}
		}
		return []notifyEvent{{NotifyList, from}}
	case "smove":
		if i == 0 {
			return t("srem")
		}
		return t("sadd")
	case "hset", "hmset", "hsetnx":
		return t("hset")
	case "zadd":
		if hasOption(argv, 2, "incr") {
			return t("zincr")
		}
		return t("zadd")
	case "zincrby":
		return t("zincr")
	}
	return nil
}

// direction reports whether the LEFT/RIGHT or MIN/MAX argument of an
// MPOP command, the one after the keys counted by argv[numkeys], is dir.
func direction(argv [][]byte, numkeys int, dir string) bool {
	n, ok := schema.ParseInt(argv[numkeys])
	at := numkeys + 1 + int(n)
	return ok && n >= 0 && at < len(argv) && schema.EqualFold(argv[at], dir)
}

func mpop(t func(string) []notifyEvent, first bool, a, b string) []notifyEvent {
	if first {
		return t(a)
	}
	return t(b)
}
