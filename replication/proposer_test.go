package replication

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// proposerWait bounds every wait in these tests: long enough for a loaded
// machine under -race, short enough that a hang fails clearly.
const proposerWait = 5 * time.Second

// proposerQuiet is how long a test watches for something that must not
// happen (a proposal handed to Raft while a group is in flight).
const proposerQuiet = 200 * time.Millisecond

// errProposalTimeout is the outcome awaitProposal gives a proposal whose
// future or outcome did not come in time.
var errProposalTimeout = errors.New("timed out")

// proposerFSM records the writes it applies, in order, unpacking the
// memimg.batch entries the proposer may make of a group; its reply to a
// write is a bulk string of the write's key (an array of them for a batch).
// If release is set, each Apply first announces the entry's writes on
// entered and then waits for a token on release (or for release to be
// closed by open): the test decides when each entry is applied.
type proposerFSM struct {
	entered chan []string // the writes of the entry an Apply started on (nil: not gated)
	release chan struct{} // one token per entry (nil: not gated)
	once    sync.Once

	mu      sync.Mutex
	applied []string
}

func newGatedFSM() *proposerFSM {
	return &proposerFSM{entered: make(chan []string, 1024), release: make(chan struct{})}
}

// proposerWrite is the payload of a write whose key is name.
func proposerWrite(name string) []byte {
	return schema.EncodeCommand(nil, 0, [][]byte{[]byte("SET"), []byte(name), []byte("v")})
}

// writeKey is the key of a proposerWrite payload.
func writeKey(p []byte) string {
	_, argv, err := schema.DecodeCommand(p, nil)
	if err != nil || len(argv) < 2 {
		return fmt.Sprintf("<undecodable %q>", p)
	}
	return string(argv[1])
}

func (f *proposerFSM) Apply(l *raft.Log) any {
	var names []string
	batch := false
	if _, argv, err := schema.DecodeCommand(l.Data, nil); err == nil && len(argv) > 0 && string(argv[0]) == "memimg.batch" {
		batch = true
		for _, p := range argv[1:] {
			names = append(names, writeKey(p))
		}
	} else {
		names = []string{writeKey(l.Data)}
	}
	if f.release != nil {
		f.entered <- names
		<-f.release
	}
	f.mu.Lock()
	f.applied = append(f.applied, names...)
	f.mu.Unlock()
	replies := make([]engine.Reply, len(names))
	for i, n := range names {
		replies[i] = engine.Reply{Kind: engine.KindBulk, Str: n}
	}
	if batch {
		return engine.Array(replies...)
	}
	return replies[0]
}

// open lets every entry through from now on.
func (f *proposerFSM) open() { f.once.Do(func() { close(f.release) }) }

// step lets the entry Apply is blocked on through.
func (f *proposerFSM) step(t *testing.T) {
	t.Helper()
	select {
	case f.release <- struct{}{}:
	case <-time.After(proposerWait):
		t.Fatal("the FSM is not waiting to apply an entry")
	}
}

// waitEntered waits for Apply to start on an entry of the writes want.
func (f *proposerFSM) waitEntered(t *testing.T, want ...string) {
	t.Helper()
	select {
	case got := <-f.entered:
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("the FSM started applying %q, want %q", got, want)
		}
	case <-time.After(proposerWait):
		t.Fatalf("the FSM did not start applying %q within %v", want, proposerWait)
	}
}

func (f *proposerFSM) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.applied...)
}

// checkResponse fails unless a write's future answers with the FSM's reply
// to that write (its own share of a batch's replies).
func checkResponse(t *testing.T, f raft.ApplyFuture, name string) {
	t.Helper()
	if r, ok := f.Response().(engine.Reply); !ok || r.Kind != engine.KindBulk || r.Str != name {
		t.Errorf("%s: response %#v, want its own reply %q", name, f.Response(), name)
	}
}

func (f *proposerFSM) Snapshot() (raft.FSMSnapshot, error) { return countSnapshot{}, nil }

func (f *proposerFSM) Restore(rc io.ReadCloser) error { return rc.Close() }

// newProposerCluster is newCluster, bootstrapped from node 0, with Raft
// configured as Node configures it for the proposer: the apply channel
// buffered, so a group handed to Raft is dispatched together.
func newProposerCluster(t *testing.T, n int) *cluster {
	c := newCluster(t, n, 1<<20)
	base := c.conf
	c.conf = func(id raft.ServerID) *raft.Config {
		conf := base(id)
		conf.BatchApplyCh = true
		conf.MaxAppendEntries = 1024
		return conf
	}
	c.open(0)
	if err := Bootstrap(c.nodes[0].logs, c.nodes[0].stable, c.configuration()); err != nil {
		t.Fatal(err)
	}
	return c
}

// gatedLeader starts a single-node cluster on a gated proposerFSM and
// returns its Raft once it leads. The gate is opened at cleanup, before
// Raft is shut down.
func gatedLeader(t *testing.T) (*raft.Raft, *proposerFSM) {
	c := newProposerCluster(t, 1)
	fsm := newGatedFSM()
	t.Cleanup(fsm.open)
	r := c.startWithFSM(0, fsm)
	c.leader(-1)
	return r, fsm
}

// startProposer starts a proposer on r, stopped at cleanup.
func startProposer(t *testing.T, r *raft.Raft) *proposer {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	return newProposer(r, proposerWait, stop)
}

// awaitProposal waits for a proposal's future, then for its outcome, both
// within d together; a wait that runs out is errProposalTimeout.
func awaitProposal(ch <-chan raft.ApplyFuture, d time.Duration) (raft.ApplyFuture, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	var f raft.ApplyFuture
	select {
	case f = <-ch:
	case <-timer.C:
		return nil, fmt.Errorf("no future after %v: %w", d, errProposalTimeout)
	}
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return f, err
	case <-timer.C:
		return f, fmt.Errorf("the future did not complete within %v: %w", d, errProposalTimeout)
	}
}

// notAnswered fails if ch already holds an outcome.
func notAnswered(t *testing.T, ch <-chan raft.ApplyFuture, what string) {
	t.Helper()
	select {
	case f := <-ch:
		t.Fatalf("%s was answered (%T, error %v) while the previous group was in flight", what, f, f.Error())
	default:
	}
}

// TestProposerOrderAndCompleteness: on the leader of a three-node cluster,
// many goroutines each pipeline a numbered sequence of writes through one
// proposer and wait for them. Every write's future completes without error
// and answers with the FSM's reply to that write; each goroutine's writes
// are in the log in its order (indexes never go back: writes grouped into
// one entry share it); and every FSM, the leader's and the followers',
// applies every write exactly once, each goroutine's in the order it
// proposed them, all replicas in the same order.
func TestProposerOrderAndCompleteness(t *testing.T) {
	const writers, perWriter = 8, 100
	c := newProposerCluster(t, 3)
	fsms := make([]*proposerFSM, len(c.nodes))
	for i := range c.nodes {
		fsms[i] = &proposerFSM{}
		c.startWithFSM(i, fsms[i])
	}
	leader := c.leader(-1)
	p := startProposer(t, c.nodes[leader].raft)

	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chans := make([]<-chan raft.ApplyFuture, perWriter)
			for s := range perWriter {
				chans[s] = p.propose(proposerWrite(fmt.Sprintf("w%d:%d", w, s)))
			}
			var prev uint64
			for s, ch := range chans {
				name := fmt.Sprintf("w%d:%d", w, s)
				f, err := awaitProposal(ch, 2*proposerWait)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				checkResponse(t, f, name)
				if f.Index() < prev {
					t.Errorf("%s: at index %d, after the writer's previous write at %d", name, f.Index(), prev)
				}
				prev = f.Index()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	want := fsms[leader].commands()
	if len(want) != writers*perWriter {
		t.Fatalf("the leader applied %d writes, want %d", len(want), writers*perWriter)
	}
	next := make([]int, writers) // the sequence number each writer's next write must have
	for i, cmd := range want {
		var w, s int
		if _, err := fmt.Sscanf(cmd, "w%d:%d", &w, &s); err != nil || w < 0 || w >= writers {
			t.Fatalf("write %d is %q", i, cmd)
		}
		if s != next[w] {
			t.Fatalf("write %d is %q: writer %d's write %d was expected (out of order, lost or repeated)", i, cmd, w, next[w])
		}
		next[w]++
	}
	for w, n := range next {
		if n != perWriter {
			t.Fatalf("writer %d: %d writes applied, want %d", w, n, perWriter)
		}
	}

	// The followers apply the same writes in the same order.
	deadline := time.Now().Add(2 * proposerWait)
	for i, f := range fsms {
		for len(f.commands()) < len(want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		got := f.commands()
		if len(got) != len(want) {
			t.Fatalf("%s applied %d writes, the leader %d", c.nodes[i].id, len(got), len(want))
		}
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("%s: write %d is %q, the leader's is %q", c.nodes[i].id, j, got[j], want[j])
			}
		}
	}
}

// TestProposerOneGroupInFlight: while a group is in Raft and not yet
// applied, new proposals queue: none of them is handed to Raft (its channel
// holds no future, the log does not grow) or applied. Once the group is
// applied, everything that queued meanwhile is handed to Raft at once, as
// the next group, while the FSM still holds that group's first entry; a
// proposal made then waits for that group in turn. In the end all are
// applied, group after group, each writer's in its order, and each
// future answers with its own write's reply.
func TestProposerOneGroupInFlight(t *testing.T) {
	const writers, perWriter = 4, 5
	r, fsm := gatedLeader(t)
	p := startProposer(t, r)

	// Group 1: "a", in Raft, its Apply held.
	a := p.propose(proposerWrite("a"))
	fsm.waitEntered(t, "a")
	base := r.LastIndex()

	// Meanwhile writers queue group 2.
	queued := make([][]<-chan raft.ApplyFuture, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range perWriter {
				queued[w] = append(queued[w], p.propose(proposerWrite(fmt.Sprintf("b%d:%d", w, s))))
			}
		}()
	}
	wg.Wait()
	time.Sleep(proposerQuiet)
	for w := range queued {
		for s, ch := range queued[w] {
			notAnswered(t, ch, fmt.Sprintf("b%d:%d", w, s))
		}
	}
	if last := r.LastIndex(); last != base {
		t.Fatalf("the log grew from %d to %d while the first group was in flight", base, last)
	}
	if got := fsm.commands(); len(got) != 0 {
		t.Fatalf("applied %q before the FSM was released", got)
	}
	select {
	case cmd := <-fsm.entered:
		t.Fatalf("the FSM started on %q before \"a\" was applied", cmd)
	default:
	}

	// "a" is applied: group 2 goes to Raft whole, while its first entry is
	// held in the FSM.
	fsm.step(t)
	if f, err := awaitProposal(a, proposerWait); err != nil {
		t.Fatalf("a: %v", err)
	} else {
		checkResponse(t, f, "a")
	}
	select {
	case got := <-fsm.entered:
		if len(got) != writers*perWriter {
			t.Fatalf("the FSM started on %q, want the second group's %d writes in one entry", got, writers*perWriter)
		}
	case <-time.After(proposerWait):
		t.Fatal("the FSM did not start on the second group")
	}

	// Group 3 waits for group 2 to be applied.
	inRaft := r.LastIndex()
	c := p.propose(proposerWrite("c"))
	time.Sleep(proposerQuiet)
	notAnswered(t, c, "c")
	if last := r.LastIndex(); last != inRaft {
		t.Fatalf("the log grew from %d to %d while the second group was in flight", inRaft, last)
	}
	if got := fsm.commands(); fmt.Sprint(got) != "[a]" {
		t.Fatalf("applied %q while the second group's first entry is held", got)
	}

	fsm.open()
	var lastB uint64
	for w := range queued {
		var prev uint64
		for s, ch := range queued[w] {
			name := fmt.Sprintf("b%d:%d", w, s)
			f, err := awaitProposal(ch, proposerWait)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			checkResponse(t, f, name)
			if i := f.Index(); i <= base || i < prev {
				t.Errorf("%s at index %d: want after \"a\" (%d) and the writer's previous write (%d)", name, i, base, prev)
			}
			prev = f.Index()
			lastB = max(lastB, prev)
		}
	}
	cf, err := awaitProposal(c, proposerWait)
	if err != nil {
		t.Fatalf("c: %v", err)
	}
	checkResponse(t, cf, "c")
	if cf.Index() <= lastB {
		t.Errorf("c at index %d, not after the second group (up to %d)", cf.Index(), lastB)
	}

	got := fsm.commands()
	if n := 1 + writers*perWriter + 1; len(got) != n {
		t.Fatalf("applied %d writes, want %d: %q", len(got), n, got)
	}
	if got[0] != "a" || got[len(got)-1] != "c" {
		t.Fatalf("applied %q: want \"a\" first and \"c\" last", got)
	}
	next := make([]int, writers)
	for _, cmd := range got[1 : len(got)-1] {
		var w, s int
		if _, err := fmt.Sscanf(cmd, "b%d:%d", &w, &s); err != nil || w < 0 || w >= writers || s != next[w] {
			t.Fatalf("applied %q: %q out of order or unexpected", got, cmd)
		}
		next[w]++
	}
}

// TestProposerStop: when the stop channel is closed, the proposals queued
// behind the group in flight, and every proposal made afterwards, get a
// future whose error is errNotProposed, without waiting for the group; none
// of them is ever applied, while the group already in Raft still is. A
// proposer stopped while idle fails new proposals the same way.
func TestProposerStop(t *testing.T) {
	r, fsm := gatedLeader(t)
	stop := make(chan struct{})
	p := newProposer(r, proposerWait, stop)

	a := p.propose(proposerWrite("a"))
	fsm.waitEntered(t, "a")
	var queued []<-chan raft.ApplyFuture
	for i := range 5 {
		queued = append(queued, p.propose(proposerWrite(fmt.Sprintf("queued %d", i))))
	}
	close(stop)
	for i, ch := range queued {
		if _, err := awaitProposal(ch, proposerWait); !errors.Is(err, errNotProposed) {
			t.Fatalf("queued %d after stop: %v, want %v", i, err, errNotProposed)
		}
	}
	for i := range 3 {
		if _, err := awaitProposal(p.propose(proposerWrite(fmt.Sprintf("late %d", i))), proposerWait); !errors.Is(err, errNotProposed) {
			t.Fatalf("late %d: %v, want %v", i, err, errNotProposed)
		}
	}

	// The group in flight completes.
	fsm.open()
	if _, err := awaitProposal(a, proposerWait); err != nil {
		t.Fatalf("a, in Raft before the stop: %v", err)
	}

	// A stopped proposer's proposals are not applied: after a marker
	// written directly to Raft, only "a" and the marker are in the FSM.
	marker := make(chan raft.ApplyFuture, 1)
	marker <- r.Apply(proposerWrite("marker"), proposerWait)
	if _, err := awaitProposal(marker, proposerWait); err != nil {
		t.Fatalf("marker: %v", err)
	}

	// A proposer that works until it is stopped idle.
	stop2 := make(chan struct{})
	p2 := newProposer(r, proposerWait, stop2)
	if _, err := awaitProposal(p2.propose(proposerWrite("before stop")), proposerWait); err != nil {
		t.Fatalf("before stop: %v", err)
	}
	close(stop2)
	for i := range 3 {
		if _, err := awaitProposal(p2.propose(proposerWrite(fmt.Sprintf("idle late %d", i))), proposerWait); !errors.Is(err, errNotProposed) {
			t.Fatalf("idle late %d: %v, want %v", i, err, errNotProposed)
		}
	}

	marker <- r.Apply(proposerWrite("marker 2"), proposerWait)
	if _, err := awaitProposal(marker, proposerWait); err != nil {
		t.Fatalf("marker 2: %v", err)
	}
	want := []string{"a", "marker", "before stop", "marker 2"}
	if got := fsm.commands(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("applied %q, want %q", got, want)
	}
}

// TestProposerNotLeader: writes proposed through a follower's proposer,
// by several goroutines at once and so grouped, each get raft.ErrNotLeader
// from their own future (the caller may send them to the leader), group
// after group; none is applied anywhere.
func TestProposerNotLeader(t *testing.T) {
	const writers, perWriter = 4, 25
	c := newProposerCluster(t, 3)
	for i := range c.nodes {
		c.start(i)
	}
	leader := c.leader(-1)
	follower := (leader + 1) % len(c.nodes)
	p := startProposer(t, c.nodes[follower].raft)

	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chans := make([]<-chan raft.ApplyFuture, perWriter)
			for s := range perWriter {
				chans[s] = p.propose(proposerWrite(fmt.Sprintf("w%d:%d", w, s)))
			}
			for s, ch := range chans {
				if _, err := awaitProposal(ch, proposerWait); !errors.Is(err, raft.ErrNotLeader) {
					t.Errorf("w%d:%d on follower %s: %v, want %v", w, s, c.nodes[follower].id, err, raft.ErrNotLeader)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// One write through the leader's proposer: every node applies exactly
	// that one.
	lp := startProposer(t, c.nodes[leader].raft)
	if _, err := awaitProposal(lp.propose(proposerWrite("on the leader")), proposerWait); err != nil {
		t.Fatalf("on the leader: %v", err)
	}
	c.converge(1)
}
