package protocol

import (
	"time"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// Blocking commands: BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN,
// BZPOPMAX.
//
// Outside MULTI such a command waits here, on its connection's goroutine,
// until it can be served, its timeout passes, CLIENT UNBLOCK ends it, the
// client goes away or the server shuts down. The pop itself is an ordinary
// logged write (engine/blocking.go draws the protocol):
//
//	w := WaitKeys(keys)            registered first: no push slips past
//	AnyExists(keys)? ── yes ──▶    Exec(argv): popped ──▶ reply, done
//	     │ no                        │ null (another client was faster)
//	     ▼                           ▼
//	wait: w.C ─▶ look again │ timeout ─▶ null │ CLIENT UNBLOCK │ client gone
//
// So a wait that finds nothing writes nothing to the log; only a try that
// had reason to succeed is logged. Inside MULTI a blocking command never
// waits (the engine answers null at once), as in Redis.
//
// While waiting, nobody reads the connection for redcon. To notice a
// client that hangs up (and to stop waiting for it, as Redis does), a
// watcher goroutine reads the socket meanwhile; what it reads (commands
// the client pipelined behind the blocking one) is kept and handed to
// redcon first when the wait is over.

// unblockMode is how CLIENT UNBLOCK ends a wait.
type unblockMode uint8

const (
	unblockTimeout unblockMode = iota + 1 // as if the timeout passed
	unblockError                          // with -UNBLOCKED
)

var errUnblocked = engine.Errorf("UNBLOCKED client unblocked via CLIENT UNBLOCK")

// blockingCall reports whether argv, a validated write, must wait when it
// finds nothing, and what for.
func blockingCall(cmd *schema.Command, argv [][]byte) (schema.Blocking, bool) {
	if len(cmd.Name) == 0 || cmd.Name[0] != 'b' {
		return schema.Blocking{}, false
	}
	if b, ok := schema.ParseBlocking(argv); ok {
		return b, true
	}
	return schema.ParseZBlocking(argv)
}

// execBlocking runs a blocking command outside MULTI, waiting as long as
// it must.
func (c *client) execBlocking(eng *engine.Engine, db int, argv [][]byte, b schema.Blocking) {
	c.flushPending()
	w := eng.WaitKeys(db, b.Keys)
	defer w.Cancel()
	bw := c.startWait(b.Timeout)
	defer bw.end()
	try := eng.AnyExists(db, b.Keys)
	for {
		if try {
			r := eng.Exec(db, argv)
			if r.Kind != engine.KindNull && r.Kind != engine.KindNullArray {
				c.reply(r)
				return
			}
		}
		switch bw.wait(w.C) {
		case waitWoken:
			try = eng.AnyExists(db, b.Keys)
		case waitTimedOut, waitUnblocked:
			c.reply(blockTimeout)
			return
		case waitUnblockedError:
			c.reply(errUnblocked)
			return
		case waitGone:
			return
		}
	}
}

// waitEnd is how one step of a blocking wait ended.
type waitEnd int

const (
	waitWoken          waitEnd = iota // what the caller waits on fired: look again
	waitTimedOut                      // the command's timeout passed
	waitUnblocked                     // CLIENT UNBLOCK (TIMEOUT)
	waitUnblockedError                // CLIENT UNBLOCK ERROR
	waitGone                          // the client went away or the server is closing: no reply (c.quit is set)
)

// blockingWait is a connection's wait in a blocking command (BLPOP, WAIT):
// its timeout, and, once it really waits, the CLIENT UNBLOCK flag and the
// watcher of its socket.
type blockingWait struct {
	c       *client
	timer   *time.Timer
	timeout <-chan time.Time
	watch   *inputWatch
}

// startWait begins a wait of at most timeout (0: no limit).
func (c *client) startWait(timeout time.Duration) *blockingWait {
	select {
	case <-c.unblock: // a CLIENT UNBLOCK that came too late for an earlier wait
	default:
	}
	bw := &blockingWait{c: c}
	if timeout > 0 {
		bw.timer = time.NewTimer(timeout)
		bw.timeout = bw.timer.C
	}
	return bw
}

// end finishes the wait: the watcher stops (what it read is kept for
// redcon) and the connection is no longer blocked.
func (bw *blockingWait) end() {
	if bw.timer != nil {
		bw.timer.Stop()
	}
	if bw.watch != nil {
		bw.c.stopWatch(bw.watch)
	}
	bw.c.blocked.Store(false)
}

// wait waits until wake fires or the wait ends otherwise.
func (bw *blockingWait) wait(wake <-chan struct{}) waitEnd {
	c := bw.c
	if bw.watch == nil {
		// About to wait: from here on CLIENT UNBLOCK may end it, and the
		// socket is watched.
		c.blocked.Store(true)
		bw.watch = c.watchInput()
	}
	for {
		select {
		case <-wake:
			return waitWoken
		case <-bw.timeout:
			return waitTimedOut
		case m := <-c.unblock:
			if m == unblockError {
				return waitUnblockedError
			}
			return waitUnblocked
		case <-bw.watch.done:
			if bw.watch.err == nil || isTimeout(bw.watch.err) && !c.srv.isClosing() {
				// Input behind the blocking command: keep it and watch on,
				// up to a bound (the rest waits in the socket).
				c.nc.held = append(c.nc.held, bw.watch.buf...)
				if len(c.nc.held) < maxHeldInput {
					bw.watch = c.watchInput()
				} else {
					bw.watch = &inputWatch{} // idle: a nil done never fires
				}
				continue
			}
			// The client went away or the server is closing: no reply.
			c.nc.held = append(c.nc.held, bw.watch.buf...)
			c.nc.heldErr = bw.watch.err
			bw.watch = nil
			c.quit = true
			return waitGone
		case <-c.srv.quitting:
			c.quit = true
			return waitGone
		}
	}
}

// blockTimeout is what a blocking command answers when its wait ends
// with nothing: a null array for all of them, BLMOVE and BRPOPLPUSH
// included (Redis 7 answers those with a null bulk string only inside
// MULTI, where they do not wait).
var blockTimeout = engine.NullArray

// maxHeldInput bounds what is read from a blocked client's socket and kept
// for after the wait.
const maxHeldInput = 1 << 20

// inputWatch is a read of the socket running while the connection waits.
type inputWatch struct {
	done chan struct{} // closed when the read returned; nil: no read runs
	buf  []byte        // what it read
	err  error
}

// watchInput starts reading the socket in the background.
func (c *client) watchInput() *inputWatch {
	iw := &inputWatch{done: make(chan struct{})}
	nc := c.nc.Conn
	go func() {
		buf := make([]byte, 16<<10)
		n, err := nc.Read(buf)
		iw.buf, iw.err = buf[:n], err
		close(iw.done)
	}()
	return iw
}

// stopWatch interrupts the watcher's read (through a read deadline in the
// past), keeps what it read for redcon, and clears the deadline unless the
// server is shutting down (Shutdown ends idle reads the same way).
func (c *client) stopWatch(iw *inputWatch) {
	if iw.done == nil {
		return // the idle watch: nothing runs
	}
	select {
	case <-iw.done:
	default:
		_ = c.nc.Conn.SetReadDeadline(time.Unix(1, 0))
		<-iw.done
		s := c.srv
		s.mu.Lock()
		if !s.closing {
			_ = c.nc.Conn.SetReadDeadline(time.Time{})
		}
		s.mu.Unlock()
	}
	c.nc.held = append(c.nc.held, iw.buf...)
	if iw.err != nil && !isTimeout(iw.err) {
		c.nc.heldErr = iw.err
	}
}

// isClosing reports whether the server is shutting down.
func (s *Server) isClosing() bool {
	select {
	case <-s.quitting:
		return true
	default:
		return false
	}
}

// clientUnblock is CLIENT UNBLOCK client-id [TIMEOUT|ERROR].
func clientUnblock(c *client, argv [][]byte) {
	if len(argv) != 3 && len(argv) != 4 {
		c.reply(subArity("client", "unblock"))
		return
	}
	id, ok := schema.ParseInt(argv[2])
	if !ok {
		c.reply(engine.Errorf("ERR value is not an integer or out of range"))
		return
	}
	mode := unblockTimeout
	if len(argv) == 4 {
		switch {
		case schema.EqualFold(argv[3], "timeout"):
		case schema.EqualFold(argv[3], "error"):
			mode = unblockError
		default:
			c.reply(engine.Errorf("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"))
			return
		}
	}
	c.srv.mu.Lock()
	o := c.srv.clients[uint64(id)]
	c.srv.mu.Unlock()
	if o == nil || !o.blocked.Load() {
		c.reply(engine.Int(0))
		return
	}
	select {
	case o.unblock <- mode:
		c.reply(engine.Int(1))
	default:
		c.reply(engine.Int(0)) // already being unblocked
	}
}
