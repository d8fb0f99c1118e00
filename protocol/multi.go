package protocol

import (
	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, as in Redis 7.
//
// Between MULTI and EXEC a connection's commands are queued (each answered
// +QUEUED), except EXEC, DISCARD, MULTI, WATCH, QUIT and RESET, which run
// at once. A command refused while queuing (unknown, wrong number of
// arguments, not authenticated, or one Redis never queues: SAVE, SHUTDOWN)
// gets its error and marks the transaction, whose EXEC then replies
// EXECABORT; a wrong number of arguments to EXEC itself discards the
// transaction at once. A syntax error that Redis finds only when the
// command runs (SET k v BADOPTION) is found when it is queued, but, as in
// Redis, replied in its place in EXEC's array; the command is never logged.
//
// EXEC hands the queued engine commands to the engine as one transaction
// (engine.ExecTx: one log entry, applied atomically, with the watched keys
// checked at that point; see engine/multi.go for how WATCH is decided), and
// runs the queued connection commands (PING, ECHO, SELECT, CLIENT, ...)
// in their places while it writes the replies. A SELECT inside MULTI
// applies to the commands queued after it, and stays in effect after EXEC,
// as in Redis: each engine command is given the database that the SELECTs
// before it select.

// multiState is a connection's transaction, from MULTI to EXEC or DISCARD.
type multiState struct {
	queue []queued
	dirty bool // a command was refused while queuing: EXEC aborts
}

// queued is one queued command.
type queued struct {
	cmd  *schema.Command
	argv [][]byte // the connection's own copy
	err  error    // the command's syntax error, replied in EXEC's array
}

// notInMulti are the commands Redis refuses inside MULTI (CMD_NO_MULTI).
var notInMulti = map[string]bool{"save": true, "shutdown": true, "sync": true, "psync": true}

// runsInMulti are the commands that run at once inside MULTI.
var runsInMulti = map[string]bool{"exec": true, "discard": true, "multi": true, "watch": true,
	"quit": true, "reset": true}

// refuse replies r to a command refused before it ran (cmd nil: an unknown
// command). Inside MULTI the refusal marks the transaction; a refused EXEC
// discards it, with Redis's EXECABORT reply.
func (c *client) refuse(cmd *schema.Command, r engine.Reply) {
	if c.tx != nil {
		if cmd != nil && cmd.Name == "exec" {
			c.discardMulti()
			r = engine.Error(schema.ExecAbortBecause(schema.Error(r.Str)))
		} else {
			c.tx.dirty = true
		}
	}
	c.reply(r)
}

// queue queues cmd if the connection is inside MULTI and cmd does not run
// at once; it reports whether it did (and replied).
func (c *client) queue(cmd *schema.Command, argv [][]byte) bool {
	if c.tx == nil || runsInMulti[cmd.Name] {
		return false
	}
	if notInMulti[cmd.Name] {
		c.tx.dirty = true
		c.reply(engine.Error(schema.ErrNotInMulti))
		return true
	}
	q := queued{cmd: cmd, argv: copyArgv(argv)}
	if !cmd.Is(schema.Connection) {
		q.err = cmd.Validate(q.argv)
	}
	c.tx.queue = append(c.tx.queue, q)
	c.txLen.Store(int32(len(c.tx.queue)) + 1)
	c.reply(replyQueued)
	return true
}

var replyQueued = engine.Status("QUEUED")

// copyArgv copies argv into one allocation: the connection's read buffer
// is reused once the command is answered.
func copyArgv(argv [][]byte) [][]byte {
	n := 0
	for _, a := range argv {
		n += len(a)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(argv))
	for i, a := range argv {
		start := len(buf)
		buf = append(buf, a...)
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out
}

// discardMulti ends the transaction and forgets the watched keys.
func (c *client) discardMulti() {
	c.tx = nil
	c.txLen.Store(0)
	c.watched = nil
	c.watchSet = nil
}

func cmdMulti(c *client, argv [][]byte) {
	if c.tx != nil {
		c.reply(engine.Error(schema.ErrMultiNested))
		return
	}
	c.tx = &multiState{}
	c.txLen.Store(1)
	c.reply(engine.OK)
}

func cmdDiscard(c *client, argv [][]byte) {
	if c.tx == nil {
		c.reply(engine.Error(schema.ErrDiscardNoMulti))
		return
	}
	c.discardMulti()
	c.reply(engine.OK)
}

// cmdWatch records the state of each key now; a key watched already keeps
// its first state, as in Redis.
func cmdWatch(c *client, argv [][]byte) {
	if c.tx != nil {
		c.reply(engine.Error(schema.ErrWatchInMulti))
		return
	}
	eng := c.srv.eng.Load()
	if eng == nil {
		c.reply(errLoading)
		return
	}
	db := int(c.db.Load())
	for _, k := range argv[1:] {
		if c.watching(db, k) {
			continue
		}
		w, err := eng.Watch(db, k)
		if err != nil {
			c.reply(engine.Error(err))
			return
		}
		c.watched = append(c.watched, w)
	}
	c.reply(engine.OK)
}

// watching reports whether key of db is watched already. A linear scan:
// connections watch a few keys; a map takes over for many.
func (c *client) watching(db int, key []byte) bool {
	if len(c.watched) > 32 {
		if c.watchSet == nil || len(c.watchSet) != len(c.watched) {
			c.watchSet = make(map[watchKey]struct{}, len(c.watched))
			for _, w := range c.watched {
				c.watchSet[watchKey{w.DB(), w.Key()}] = struct{}{}
			}
		}
		if _, ok := c.watchSet[watchKey{db, string(key)}]; ok {
			return true
		}
		c.watchSet[watchKey{db, string(key)}] = struct{}{}
		return false
	}
	for _, w := range c.watched {
		if w.DB() == db && w.Key() == string(key) {
			return true
		}
	}
	return false
}

type watchKey struct {
	db  int
	key string
}

func cmdUnwatch(c *client, argv [][]byte) {
	c.watched = nil
	c.watchSet = nil
	c.reply(engine.OK)
}

// EXEC runs the queued connection commands through connHandlers, which
// lists it: it is added here, after connHandlers is built.
func init() {
	connHandlers[schema.Lookup([]byte("exec")).ID] = cmdExec
}

// cmdExec runs the transaction. The engine commands go to the engine as
// one transaction; the replies are then written in queue order, each
// connection command running in its place.
func cmdExec(c *client, argv [][]byte) {
	tx := c.tx
	if tx == nil {
		c.reply(engine.Error(schema.ErrExecNoMulti))
		return
	}
	watched := c.watched
	c.discardMulti()
	if tx.dirty {
		c.reply(engine.Error(schema.ErrExecAbort))
		return
	}
	db := int(c.db.Load())
	var cmds []engine.TxCommand
	slot := make([]int, len(tx.queue)) // index in cmds, -1: not an engine command
	for i, q := range tx.queue {
		slot[i] = -1
		switch {
		case q.err != nil:
		case q.cmd.Is(schema.Connection):
			if q.cmd.Name == "select" {
				if n, ok := schema.ParseInt(q.argv[1]); ok && n >= 0 && n < int64(c.srv.databases()) {
					db = int(n)
				}
			}
		default:
			slot[i] = len(cmds)
			cmds = append(cmds, engine.TxCommand{DB: db, Argv: q.argv})
		}
	}
	r := engine.Array()
	if len(cmds) > 0 || len(watched) > 0 {
		eng := c.srv.eng.Load()
		if eng == nil {
			c.reply(errLoading)
			return
		}
		r = eng.ExecTx(watched, cmds)
	}
	if r.Kind != engine.KindArray {
		c.reply(r) // a watched key changed (null array), or the log refused it
		return
	}
	c.out = appendHeader(c.out, '*', len(tx.queue))
	for i, q := range tx.queue {
		switch {
		case q.err != nil:
			c.reply(engine.Error(q.err))
		case slot[i] >= 0:
			c.reply(r.Elems[slot[i]])
		default:
			if h := connHandlers[q.cmd.ID]; h != nil {
				h(c, q.argv)
			} else {
				c.reply(engine.Errorf("ERR command '" + q.cmd.Name + "' is not implemented yet"))
			}
		}
	}
}
