package replication

import (
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// # The leader's proposer
//
// Clients' writes on the leader do not go to raft.Apply one by one as they
// come. The proposer queues them and hands Raft a group at a time: the
// writes that arrived while the previous group was being replicated (a
// grouper, grouper.go). One group is in flight at a time: the leader fsyncs it, the
// followers receive and fsync it, it commits and is applied, and then the
// next group, all that queued meanwhile, goes.
//
// A group becomes one Raft entry, a memimg.batch of its writes
// (schema/batch.go; up to maxBatchCommands writes and maxBatchBytes), so
// Raft's per-entry work (futures, encodings, the log cache, the FSM's
// calls) is done once per group; the batch's reply array is split among
// the writers.
//
// Raft would otherwise dispatch whatever reached it, ten or so entries per
// fsync and AppendEntries under load, with several batches in flight: each
// costs every node an fsync, an RPC and the wake-ups around them. Measured
// with redis-benchmark (SET, 50 clients, 3 nodes on one 2-core machine),
// one group in flight gave 10-29% more throughput for 21% less CPU per
// write (docs/benchmarks.md); two in flight, with batched entries, gave
// 15-28% less than one. The standalone committer follows the same
// rule: a batch is what queued while the previous one was being made
// durable.
//
// The order of the writes is kept (a connection's pipelined writes are
// proposed in its order), and a write's outcome is its entry's: a batch
// that Raft refused (ErrNotLeader: it never entered the log) sends each of
// its writes to the new leader, nothing is lost or reordered by the queue.
// A write waits in the queue for the group in flight, which leaves Raft
// once committed and applied, or failed (a leader without a quorum steps
// down and fails it).
type proposer struct {
	raft    *raft.Raft
	timeout time.Duration // raft.Apply's enqueue timeout
	g       *grouper[*proposal]
}

// proposal is one write waiting in the proposer.
type proposal struct {
	payload []byte
	future  chan raft.ApplyFuture // receives its entry's future (its share of a batch's)
}

// newProposer starts the proposer of r; it stops when stop is closed.
func newProposer(r *raft.Raft, timeout time.Duration, stop <-chan struct{}) *proposer {
	p := &proposer{raft: r, timeout: timeout}
	p.g = newGrouper(p.handle, func(pr *proposal) { pr.future <- failedFuture{errNotProposed} }, stop)
	return p
}

// propose queues payload; the returned channel receives its future once
// the proposal is handed to Raft (or a failed one if the node stops).
func (p *proposer) propose(payload []byte) <-chan raft.ApplyFuture {
	pr := &proposal{payload: payload, future: make(chan raft.ApplyFuture, 1)}
	p.g.add(pr)
	return pr.future
}

// handle hands Raft a group, as one entry or a few (chunks), and returns
// when each of them is out of Raft: applied, or failed (one refused at
// once is not a sign the others are).
func (p *proposer) handle(group []*proposal) {
	var entries []*sharedFuture
	chunks(len(group), func(i int) int { return len(group[i].payload) }, func(lo, hi int) {
		entries = append(entries, p.apply(group[lo:hi]))
	})
	for _, f := range entries {
		_ = f.Error()
	}
}

// apply hands Raft one entry for part: the write itself if it is alone, a
// memimg.batch of them otherwise, whose reply array is split among them.
func (p *proposer) apply(part []*proposal) *sharedFuture {
	if len(part) == 1 {
		f := share(p.raft.Apply(part[0].payload, p.timeout))
		part[0].future <- f
		return f
	}
	payloads := make([][]byte, len(part))
	for i, pr := range part {
		payloads[i] = pr.payload
	}
	f := share(p.raft.Apply(schema.EncodeBatch(nil, payloads), p.timeout))
	for i, pr := range part {
		pr.future <- batchFuture{f, i}
	}
	return f
}

// sharedFuture is a Raft future that several goroutines may wait on: the
// writers of a batch and the proposer. Raft's own futures hand their
// outcome to one waiter only (the others would read nil from the closed
// channel: a failed write taken for a success), so one waits and the
// others read what it kept.
type sharedFuture struct {
	f     raft.ApplyFuture
	once  sync.Once
	err   error
	resp  any
	index uint64
}

func share(f raft.ApplyFuture) *sharedFuture { return &sharedFuture{f: f} }

func (s *sharedFuture) wait() {
	s.once.Do(func() {
		s.err = s.f.Error()
		s.resp, s.index = s.f.Response(), s.f.Index()
	})
}

// Error implements raft.ApplyFuture.
func (s *sharedFuture) Error() error { s.wait(); return s.err }

// Response implements raft.ApplyFuture.
func (s *sharedFuture) Response() any { s.wait(); return s.resp }

// Index implements raft.ApplyFuture.
func (s *sharedFuture) Index() uint64 { s.wait(); return s.index }

// batchFuture is one write's share of a memimg.batch's future: the same
// outcome, and its own element of the reply array.
type batchFuture struct {
	*sharedFuture
	i int
}

// Response implements raft.ApplyFuture.
func (f batchFuture) Response() any {
	r := f.sharedFuture.Response()
	if rep, ok := r.(engine.Reply); ok && rep.Kind == engine.KindArray && f.i < len(rep.Elems) {
		return rep.Elems[f.i]
	}
	return r // the whole entry failed (it did not decode): so did each write
}

// errNotProposed is the outcome of a write the proposer never handed to
// Raft (the node is stopping): certainly not applied.
var errNotProposed = errors.New("the node is stopping")

// failedFuture is the future of a proposal that never reached Raft.
type failedFuture struct{ err error }

func (f failedFuture) Error() error  { return f.err }
func (f failedFuture) Index() uint64 { return 0 }
func (f failedFuture) Response() any { return nil }

var _ raft.ApplyFuture = failedFuture{}
