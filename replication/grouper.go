package replication

import (
	"sync"
	"time"
)

// grouper queues items and hands them to a handler a group at a time:
// everything that queued while the handler was busy with the previous
// group. One group is handled at a time, on the grouper's goroutine. The
// leader's proposer (groups of writes become Raft entries) and a
// follower's forwarder (groups of writes sent to the leader in one
// request) are groupers.
type grouper[T any] struct {
	handle func(group []T) // runs one group; returns when it is done with it
	fail   func(item T)    // answers an item the grouper will never handle (stopped)

	mu      sync.Mutex
	queue   []T
	stopped bool
	wake    chan struct{} // an item was queued (capacity 1)
	stop    <-chan struct{}

	// The commit delay (setDelay): under load, wait a little for the group
	// to grow. Guarded by mu but for the fields set before the loop runs.
	delay    time.Duration // 0: none
	siblings int           // wait only after a group of at least this many
	last     int           // size of the previous group (the loop's own)
	target   int           // while waiting: the size that ends the wait early
	full     chan struct{} // the queue reached target (capacity 1)
}

// setDelay makes the grouper wait up to delay before it takes a group,
// when the previous group held at least siblings items, for the queue to
// reach a quarter more than the previous group: PostgreSQL's commit_delay
// and commit_siblings. A bigger group costs every node one fsync, one
// AppendEntries and one apply call fewer per write; a light load (small
// groups) never waits. Call it before the first add.
func (g *grouper[T]) setDelay(delay time.Duration, siblings int) {
	g.delay, g.siblings = delay, max(siblings, 1)
}

// newGrouper starts a grouper; it stops when stop is closed, failing what
// is queued then and what is added later.
func newGrouper[T any](handle func([]T), fail func(T), stop <-chan struct{}) *grouper[T] {
	g := &grouper[T]{handle: handle, fail: fail, wake: make(chan struct{}, 1), stop: stop, full: make(chan struct{}, 1)}
	go g.loop()
	go func() {
		<-stop
		g.shutdown() // at once, even while a group is being handled
	}()
	return g
}

// add queues x (or fails it at once if the grouper has stopped).
func (g *grouper[T]) add(x T) {
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		g.fail(x)
		return
	}
	g.queue = append(g.queue, x)
	full := g.target > 0 && len(g.queue) >= g.target
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	if full {
		select {
		case g.full <- struct{}{}:
		default:
		}
	}
}

func (g *grouper[T]) loop() {
	for {
		select {
		case <-g.wake:
		case <-g.stop:
			return
		}
		if g.delay > 0 && g.last >= g.siblings && !g.waitToGrow() {
			return
		}
		g.mu.Lock()
		group := g.queue
		g.queue = nil
		g.mu.Unlock()
		g.last = len(group)
		if len(group) > 0 {
			g.handle(group)
		}
	}
}

// waitToGrow waits up to the commit delay for the queue to hold a quarter
// more than the previous group; false if the grouper was stopped.
func (g *grouper[T]) waitToGrow() bool {
	select {
	case <-g.full: // a stale token from an earlier wait
	default:
	}
	target := g.last + (g.last+3)/4
	g.mu.Lock()
	if len(g.queue) >= target {
		g.mu.Unlock()
		return true
	}
	g.target = target // add signals full from here on
	g.mu.Unlock()
	t := time.NewTimer(g.delay)
	defer func() {
		t.Stop()
		g.mu.Lock()
		g.target = 0
		g.mu.Unlock()
	}()
	select {
	case <-g.full:
	case <-t.C:
	case <-g.stop:
		return false
	}
	return true
}

// shutdown fails what is still queued, and everything added later.
func (g *grouper[T]) shutdown() {
	g.mu.Lock()
	group := g.queue
	g.queue, g.stopped = nil, true
	g.mu.Unlock()
	for _, x := range group {
		g.fail(x)
	}
}

// Limits of one group's share: a memimg.batch entry, or a forwarded
// request. A group beyond them is cut into several.
const (
	maxBatchCommands = 1024
	maxBatchBytes    = 1 << 20
)

// chunks cuts payloads (of the items of a group) into runs within the
// limits, calling f with the bounds of each.
func chunks(n int, size func(i int) int, f func(lo, hi int)) {
	for lo := 0; lo < n; {
		hi, bytes := lo+1, size(lo)
		for hi < n && hi-lo < maxBatchCommands && bytes+size(hi) <= maxBatchBytes {
			bytes += size(hi)
			hi++
		}
		f(lo, hi)
		lo = hi
	}
}
