package replication

import (
	"errors"
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
	future  chan raft.ApplyFuture // receives its outcome (its share of a batch's), once settled
}

// newProposer starts the proposer of r; it stops when stop is closed.
func newProposer(r *raft.Raft, timeout time.Duration, stop <-chan struct{}) *proposer {
	p := &proposer{raft: r, timeout: timeout}
	p.g = newGrouper(p.handle, func(pr *proposal) { pr.future <- settledFuture{err: errNotProposed} }, stop)
	return p
}

// propose queues payload; the returned channel receives its outcome, a
// future that no longer blocks, once its entry is out of Raft (or a failed
// one if the node stops first).
func (p *proposer) propose(payload []byte) <-chan raft.ApplyFuture {
	pr := &proposal{payload: payload, future: make(chan raft.ApplyFuture, 1)}
	p.g.add(pr)
	return pr.future
}

// handle hands Raft a group, as one entry or a few (chunks), and returns
// when each of them is out of Raft (applied, or failed: one refused at once
// is not a sign the others are), each write answered.
//
// Only the proposer waits on Raft's futures (which give their outcome to
// one waiter only); the writers wait on their own channel, which gets the
// settled outcome. So a writer wakes once, when there is something to
// answer, and not also when its group is handed to Raft. Those wake-ups
// came between raft.Apply and Raft's leader loop taking the entry: 155-210
// us of a 1.5 ms round with 3 nodes on 2 cores, 3-7 us without them (the
// time moved into the fsync that follows, which now shares the CPU with the
// previous group's replies: throughput did not change measurably).
func (p *proposer) handle(group []*proposal) {
	type entry struct {
		f    raft.ApplyFuture
		part []*proposal
	}
	var entries []entry
	chunks(len(group), func(i int) int { return len(group[i].payload) }, func(lo, hi int) {
		entries = append(entries, entry{p.apply(group[lo:hi]), group[lo:hi]})
	})
	for _, e := range entries {
		out := settle(e.f)
		if len(e.part) == 1 {
			e.part[0].future <- out
			continue
		}
		for i, pr := range e.part {
			pr.future <- out.share(i)
		}
	}
}

// apply hands Raft one entry for part: the write itself if it is alone, a
// memimg.batch of them otherwise, whose reply array is split among them.
func (p *proposer) apply(part []*proposal) raft.ApplyFuture {
	if len(part) == 1 {
		return p.raft.Apply(part[0].payload, p.timeout)
	}
	payloads := make([][]byte, len(part))
	for i, pr := range part {
		payloads[i] = pr.payload
	}
	return p.raft.Apply(schema.EncodeBatch(nil, payloads), p.timeout)
}

// settledFuture is the outcome of a Raft future, read once by the
// proposer: a raft.ApplyFuture that no longer blocks, which any number of
// goroutines may read.
type settledFuture struct {
	err   error
	resp  any
	index uint64
}

// settle waits for f and keeps its outcome.
func settle(f raft.ApplyFuture) settledFuture {
	err := f.Error()
	return settledFuture{err: err, resp: f.Response(), index: f.Index()}
}

// share is the outcome of the i-th write of a memimg.batch entry: the same
// error and index, and its own element of the reply array.
func (s settledFuture) share(i int) settledFuture {
	if rep, ok := s.resp.(engine.Reply); ok && rep.Kind == engine.KindArray && i < len(rep.Elems) {
		s.resp = rep.Elems[i]
	} // otherwise the whole entry failed (it did not decode): so did each write
	return s
}

// Error implements raft.ApplyFuture.
func (s settledFuture) Error() error { return s.err }

// Response implements raft.ApplyFuture.
func (s settledFuture) Response() any { return s.resp }

// Index implements raft.ApplyFuture.
func (s settledFuture) Index() uint64 { return s.index }

var _ raft.ApplyFuture = settledFuture{}

// errNotProposed is the outcome of a write the proposer never handed to
// Raft (the node is stopping): certainly not applied.
var errNotProposed = errors.New("the node is stopping")
