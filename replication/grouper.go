package replication

import "sync"

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
}

// newGrouper starts a grouper; it stops when stop is closed, failing what
// is queued then and what is added later.
func newGrouper[T any](handle func([]T), fail func(T), stop <-chan struct{}) *grouper[T] {
	g := &grouper[T]{handle: handle, fail: fail, wake: make(chan struct{}, 1), stop: stop}
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
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

func (g *grouper[T]) loop() {
	for {
		select {
		case <-g.wake:
		case <-g.stop:
			return
		}
		g.mu.Lock()
		group := g.queue
		g.queue = nil
		g.mu.Unlock()
		if len(group) > 0 {
			g.handle(group)
		}
	}
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
