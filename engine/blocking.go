package engine

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/memimg/memimg/schema"
)

// # Waiting for keys (blocking commands)
//
// BLPOP and its kin wait in the protocol layer, never in the engine: the
// pop that ends a wait is an ordinary logged command, so replay never
// depends on who was waiting. The engine only tells a waiting client when
// to try again:
//
//	client                         engine
//	w := WaitKeys(db, keys)  ──▶   registered under every key
//	AnyExists(db, keys)?     ──▶   no: wait on w.C
//	                               applyBatch: a write touched key k ──▶ wake w
//	Exec(BLPOP ...)          ──▶   logged; pops, or answers null (someone
//	                               else was faster): wait again
//
// Registering before looking means a push can never slip between the look
// and the wait. A wake-up is a hint, not a promise: the waiter always looks
// again, so waking too often is harmless and waking too rarely is the only
// bug. Writes whose keys are not where their key positions say (a
// transaction's inner commands, MOVE and COPY into another database,
// SWAPDB) wake every waiter.
//
// Waiters woken by the same push race for the element; the one whose pop
// reaches the log first gets it. Redis serves the longest-waiting client
// first; memimg does not promise that order.

// Waiter is a registration of a client waiting for a write to any of a set
// of keys. It must be cancelled when the wait ends.
type Waiter struct {
	// C receives a value when a write touched one of the keys after the
	// registration. It is buffered: a wake-up is never lost, and several
	// collapse into one.
	C    chan struct{}
	e    *Engine
	keys []string // db-qualified
}

// waiters is the engine's table of waiting clients.
type waiters struct {
	n  atomic.Int64 // registered waiters; the apply path looks at this only
	mu sync.Mutex
	m  map[string][]*Waiter
}

// waitKey qualifies key with its database.
func waitKey(db int, key []byte) string {
	b := make([]byte, 0, len(key)+4)
	b = strconv.AppendInt(b, int64(db), 10)
	b = append(b, ':')
	return string(append(b, key...))
}

// WaitKeys registers a waiter for writes to keys of database db. Call
// Cancel when the wait is over.
func (e *Engine) WaitKeys(db int, keys [][]byte) *Waiter {
	w := &Waiter{C: make(chan struct{}, 1), e: e, keys: make([]string, len(keys))}
	for i, k := range keys {
		w.keys[i] = waitKey(db, k)
	}
	t := &e.waiting
	t.mu.Lock()
	if t.m == nil {
		t.m = make(map[string][]*Waiter)
	}
	for _, k := range w.keys {
		t.m[k] = append(t.m[k], w)
	}
	t.n.Add(1)
	t.mu.Unlock()
	return w
}

// Cancel removes the registration. It may be called more than once.
func (w *Waiter) Cancel() {
	if w.e == nil {
		return
	}
	t := &w.e.waiting
	t.mu.Lock()
	for _, k := range w.keys {
		list := t.m[k]
		for i, x := range list {
			if x == w {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(t.m, k)
		} else {
			t.m[k] = list
		}
	}
	t.n.Add(-1)
	t.mu.Unlock()
	w.e = nil
}

// Blocked is the number of clients waiting for keys (INFO's
// blocked_clients).
func (e *Engine) Blocked() int { return int(e.waiting.n.Load()) }

// WaitingKeys is the number of keys clients wait for (INFO's
// total_blocking_keys).
func (e *Engine) WaitingKeys() int {
	e.waiting.mu.Lock()
	defer e.waiting.mu.Unlock()
	return len(e.waiting.m)
}

// AnyExists reports whether any of keys holds a live value in database db:
// whether trying a blocking command now can succeed (or fail with
// WRONGTYPE) rather than find nothing. It is not counted as a command or
// as keyspace hits.
func (e *Engine) AnyExists(db int, keys [][]byte) bool {
	if db < 0 || db >= len(e.img.dbs) {
		return false
	}
	now := e.opts.Clock() / 1e6
	e.mu.RLock()
	defer e.mu.RUnlock()
	ks := e.img.dbs[db]
	for _, k := range keys {
		if _, ok := ks.lookup(k, now); ok {
			return true
		}
	}
	return false
}

// wakeAll wakes every waiter.
func (t *waiters) wakeAll() {
	t.mu.Lock()
	for _, list := range t.m {
		for _, w := range list {
			w.wake()
		}
	}
	t.mu.Unlock()
}

func (w *Waiter) wake() {
	select {
	case w.C <- struct{}{}:
	default:
	}
}

// wakeBatch wakes the waiters of the keys an applied batch wrote. It runs
// after the batch is applied, outside the image lock, and only when someone
// waits.
func (e *Engine) wakeBatch(batch []*request) {
	var buf []byte
	for _, r := range batch {
		var all bool
		if buf, all = e.wakeWrite(buf, r.db, r.cmd, r.argv); all {
			return
		}
	}
}

// wakeWrite wakes the waiters of the keys one applied write named (every
// waiter for a write whose keys are elsewhere, reporting all). buf is
// scratch space, returned for reuse. A wake-up never blocks, so it may run
// under the apply lock.
func (e *Engine) wakeWrite(buf []byte, db int, cmd *schema.Command, argv [][]byte) (_ []byte, all bool) {
	t := &e.waiting
	if cmd == nil || crossKeyed[cmd.Name] {
		t.wakeAll()
		return buf, true
	}
	t.mu.Lock()
	for _, p := range cmd.KeyPositions(argv) {
		buf = strconv.AppendInt(buf[:0], int64(db), 10)
		buf = append(buf, ':')
		buf = append(buf, argv[p]...)
		for _, w := range t.m[string(buf)] {
			w.wake()
		}
	}
	t.mu.Unlock()
	return buf, false
}

// crossKeyed are the writes that can fill keys other than the ones at their
// key positions (in the same database).
var crossKeyed = map[string]bool{
	"memimg.exec": true, "memimg.batch": true, "move": true, "copy": true, "swapdb": true,
}
