package engine

import (
	"time"

	"github.com/memimg/memimg/schema"
)

// Active expiry.
//
// A key whose time has come reads as missing at once (lazy expiry, see
// keyspace.lookup and applyCtx.live), but it stays in memory until a write
// removes it. The expiry reactor removes such keys without waiting for a
// write: it runs after commit, never during replay, finds due keys through
// the expiry index (ordered by time, so it reads only due entries) and
// submits their removal as an ordinary logged command,
//
//	memimg.expired key [key ...]
//
// which deletes each key that has expired at the entry's time and leaves
// alone any key written again since the reactor looked (a new value, a new
// TTL, or PERSIST). The command depends on the entry's time and the image
// only, so replaying the log removes exactly the same keys at the same
// points, whatever the reactor's timing was. Clients cannot send it
// (schema.Internal).

// expiredCmd is the internal command the expiry reactor logs.
var expiredCmd = schema.Lookup([]byte("memimg.expired"))

func init() {
	onWrite("memimg.expired", func(c *applyCtx, argv [][]byte) Reply {
		var n int64
		for _, k := range argv[1:] {
			it, ok := c.ks.keys.Get(probe(k))
			if ok && it.exp != 0 && it.exp <= c.now {
				c.ks.remove(k)
				n++
			}
		}
		c.e.stats.ExpiredKeys.Add(uint64(n))
		return Int(n)
	})
}

// expiryPerRound is how many keys one memimg.expired entry removes at most.
const expiryPerRound = 200

// expiryReactor is active expiry. Every ExpiryInterval it submits the due
// keys of each database, a round of at most expiryPerRound keys at a time,
// for up to a quarter of the interval (Redis's active expiry takes up to
// 25% of its cycle too); keys left over wait for the next tick.
func (e *Engine) expiryReactor() {
	defer e.wg.Done()
	t := time.NewTicker(e.opts.ExpiryInterval)
	defer t.Stop()
	budget := max(e.opts.ExpiryInterval/4, time.Millisecond)
	for {
		select {
		case <-t.C:
		case <-e.stop:
			return
		}
		if e.opts.Replicator != nil && !e.opts.Replicator.Leader() {
			continue // the leader removes expired keys, through the log
		}
		deadline := time.Now().Add(budget)
		for db := 0; db < len(e.img.dbs) && time.Now().Before(deadline); db++ {
			for time.Now().Before(deadline) {
				keys := e.dueKeys(db, expiryPerRound)
				if len(keys) == 0 {
					break
				}
				argv := make([][]byte, 0, len(keys)+1)
				argv = append(argv, []byte(expiredCmd.Name))
				for _, k := range keys {
					argv = append(argv, []byte(k))
				}
				r, ok := e.submitOrStop(expiredCmd, db, argv)
				if !ok {
					return // closing
				}
				if r.IsError() {
					if !e.closed.Load() {
						e.log.Warn("active expiry failed", "db", db, "err", r.Str)
					}
					break
				}
				// A short round means the due keys are all gone; a round
				// that removed nothing means someone else (a write) did.
				if len(keys) < expiryPerRound || r.Int == 0 {
					break
				}
			}
		}
	}
}

// submitOrStop submits a write and waits for its reply, or gives up when
// the engine closes. Close stops the committer, and then answers what is
// left in the queue only after the reactor has returned: waiting on a
// request that raced into the queue would deadlock Close. ok is false when
// the engine is closing.
func (e *Engine) submitOrStop(cmd *schema.Command, db int, argv [][]byte) (Reply, bool) {
	p := e.enqueue(cmd, db, argv)
	if p.wait != nil {
		return p.wait(), !e.closed.Load()
	}
	if p.req == nil {
		return p.reply, !e.closed.Load()
	}
	select {
	case <-p.req.done:
		r := p.req.reply
		p.req.argv, p.req.reply = nil, Reply{}
		requestPool.Put(p.req)
		return r, true
	case <-e.stop:
		// The request is answered later by the committer, the applier or
		// Close; its done channel is buffered, so nobody blocks on it. It
		// is not returned to the pool.
		return Reply{}, false
	}
}

// dueKeys lists up to n keys of db whose expiry time has passed by the
// engine's clock: the clock the sequencer stamps entries with (never
// backwards), so a key due here is due at the entry's time as well. With
// the wall clock instead, a sequencer clock behind it (a test clock, a
// replica's) would make every tick log a memimg.expired that removes
// nothing.
func (e *Engine) dueKeys(db, n int) []string {
	now := e.opts.Clock() / int64(time.Millisecond)
	var keys []string
	e.mu.RLock()
	e.img.dbs[db].expires.Scan(func(x expiring) bool {
		if x.exp > now || len(keys) >= n {
			return false
		}
		keys = append(keys, x.key)
		return true
	})
	e.mu.RUnlock()
	return keys
}
