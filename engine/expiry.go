package engine

import (
	"time"

	"github.com/memimg/memimg/schema"
)

// expiredCmd is the internal command the expiry reactor logs.
var expiredCmd = schema.Lookup([]byte("memimg.expired"))

func init() {
	// memimg.expired key [key ...]: delete each key that has expired at the
	// entry's time. A key written again since the reactor looked at it is
	// left alone, so the command is safe whatever happened in between.
	onWrite("memimg.expired", func(c *applyCtx, argv [][]byte) Reply {
		var n int64
		for _, k := range argv[1:] {
			it, ok := c.ks.keys.Get(item{key: bstr(k)})
			if ok && it.exp != 0 && it.exp <= c.now {
				c.ks.remove(k)
				n++
			}
		}
		c.e.stats.ExpiredKeys.Add(uint64(n))
		return Int(n)
	})
}

// expiryReactor is active expiry: it runs after commit, never during replay,
// finds keys whose TTL is due and submits their deletion through the log.
func (e *Engine) expiryReactor() {
	defer e.wg.Done()
	t := time.NewTicker(e.opts.ExpiryInterval)
	defer t.Stop()
	const perRound = 200
	for {
		select {
		case <-t.C:
		case <-e.stop:
			return
		}
		for db := 0; db < len(e.img.dbs); db++ {
			for {
				keys := e.dueKeys(db, perRound)
				if len(keys) == 0 {
					break
				}
				argv := make([][]byte, 0, len(keys)+1)
				argv = append(argv, []byte(expiredCmd.Name))
				for _, k := range keys {
					argv = append(argv, []byte(k))
				}
				r := e.submit(expiredCmd, db, argv)
				if r.IsError() {
					e.log.Warn("active expiry failed", "db", db, "err", r.Str)
					break
				}
				// Stop when the round was short, or nothing was due yet at the
				// entry's time (the sequencer's clock lags the wall clock).
				if len(keys) < perRound || r.Int == 0 || e.closed.Load() {
					break
				}
			}
		}
	}
}

// dueKeys lists up to n keys of db whose expiry time has passed.
func (e *Engine) dueKeys(db, n int) []string {
	now := time.Now().UnixMilli()
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
