package engine

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/memimg/memimg/schema"
)

// fakeRaft is a one-node replicated log for the tests: Propose appends the
// payload with the next index and the leader's clock, and a goroutine
// "commits" entries in batches and hands them to every follower engine's
// ApplyEntries, the proposer's first.
type fakeRaft struct {
	mu      sync.Mutex
	clock   func() int64
	entries []Entry
	waits   map[uint64]chan Reply
	engines []*Engine // [0] is the leader
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	applied uint64
}

func newFakeRaft(clock func() int64) *fakeRaft {
	f := &fakeRaft{clock: clock, waits: map[uint64]chan Reply{}, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

func (f *fakeRaft) Propose(payload []byte) func() Reply {
	f.mu.Lock()
	idx := uint64(len(f.entries)) + 1
	ch := make(chan Reply, 1)
	f.waits[idx] = ch
	f.entries = append(f.entries, Entry{Index: idx, Term: 1, Kind: KindCommand, Time: f.clock(),
		Data: append([]byte(nil), payload...)})
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
	return func() Reply { return <-ch }
}

func (f *fakeRaft) Leader() bool { return true }

func (f *fakeRaft) run() {
	defer close(f.done)
	for {
		select {
		case <-f.kick:
		case <-f.stop:
			return
		}
		f.mu.Lock()
		batch := f.entries[f.applied:]
		engines := f.engines
		f.applied = uint64(len(f.entries))
		f.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		var leaderReplies []Reply
		for i, e := range engines {
			r := e.ApplyEntries(batch)
			if i == 0 {
				leaderReplies = r
			}
		}
		f.mu.Lock()
		for i, en := range batch {
			if ch := f.waits[en.Index]; ch != nil {
				ch <- leaderReplies[i]
				delete(f.waits, en.Index)
			}
		}
		f.mu.Unlock()
	}
}

func (f *fakeRaft) close() { close(f.stop); <-f.done }

func openReplicated(t *testing.T, f *fakeRaft, clk *testClock) *Engine {
	t.Helper()
	e, err := Open(Options{Replicator: f, ExpiryInterval: -1, Clock: clk.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestReplicatedSameAsStandalone: the same commands through a replicated
// log (leader and follower) and through the standalone pipeline give the
// same replies and the same digest.
func TestReplicatedSameAsStandalone(t *testing.T) {
	clk := newTestClock()
	f := newFakeRaft(clk.now)
	defer f.close()
	leader, follower := openReplicated(t, f, clk), openReplicated(t, f, clk)
	f.engines = []*Engine{leader, follower}
	standalone := openTestEngine(t, &MemLog{}, clk, -1)

	cmds := [][]string{
		{"SET", "a", "1"}, {"INCR", "a"}, {"RPUSH", "l", "x", "y", "z"}, {"LPOP", "l"},
		{"HSET", "h", "f", "v", "g", "w"}, {"SADD", "s", "m1", "m2"}, {"ZADD", "z", "1", "one", "2", "two"},
		{"SET", "ttl", "v", "PX", "50"}, {"SPOP", "s"}, {"GET", "a"}, {"INCR", "l"},
	}
	for _, c := range cmds {
		argv := make([][]byte, len(c))
		for i, a := range c {
			argv[i] = []byte(a)
		}
		got, want := render(leader.Exec(0, argv)), render(standalone.Exec(0, argv))
		if got != want {
			t.Errorf("%v: replicated %s, standalone %s", c, got, want)
		}
	}
	clk.advance(time.Second)
	leader.Exec(0, [][]byte{[]byte("SET"), []byte("later"), []byte("1")})
	standalone.Exec(0, [][]byte{[]byte("SET"), []byte("later"), []byte("1")})
	dl, il, _ := leader.Digest()
	df, iff, _ := follower.Digest()
	ds, is, _ := standalone.Digest()
	if dl != df || dl != ds {
		t.Fatalf("digests: leader %s (index %d), follower %s (%d), standalone %s (%d)", dl, il, df, iff, ds, is)
	}
	if il != uint64(len(cmds)-1+1) { // the GET is not logged; the SET after is
		t.Fatalf("leader applied index %d, want %d", il, len(cmds))
	}
}

// TestApplyEntriesSkipsApplied: an entry at or below the applied index is
// not applied twice (a replicated log re-applies from its own snapshot).
func TestApplyEntriesSkipsApplied(t *testing.T) {
	clk := newTestClock()
	f := newFakeRaft(clk.now)
	defer f.close()
	e := openReplicated(t, f, clk)
	incr := Entry{Index: 1, Term: 1, Kind: KindCommand, Time: clk.now(),
		Data: schema.EncodeCommand(nil, 0, [][]byte{[]byte("INCR"), []byte("n")})}
	e.ApplyEntries([]Entry{incr})
	r := e.ApplyEntries([]Entry{incr, {Index: 2, Term: 1, Kind: KindNoop, Time: clk.now()}})
	if r[0].Kind != 0 {
		t.Fatalf("re-applied entry answered %s", render(r[0]))
	}
	if got := render(e.Exec(0, [][]byte{[]byte("GET"), []byte("n")})); got != `"1"` {
		t.Fatalf("GET n = %s after applying INCR twice, want \"1\"", got)
	}
	if e.AppliedIndex() != 2 {
		t.Fatalf("applied index %d, want 2", e.AppliedIndex())
	}
}

// TestApplyEntriesClampsTime: a leader whose clock is behind the previous
// entry's (a change of leader) cannot move expiry backwards.
func TestApplyEntriesClampsTime(t *testing.T) {
	clk := newTestClock()
	f := newFakeRaft(clk.now)
	defer f.close()
	e := openReplicated(t, f, clk)
	t0 := clk.now()
	set := func(idx uint64, at int64, argv ...string) {
		a := make([][]byte, len(argv))
		for i, s := range argv {
			a[i] = []byte(s)
		}
		e.ApplyEntries([]Entry{{Index: idx, Term: 1, Kind: KindCommand, Time: at, Data: schema.EncodeCommand(nil, 0, a)}})
	}
	set(1, t0+int64(10*time.Second), "SET", "x", "1")
	set(2, t0, "SET", "y", "1", "PX", "5000") // the new leader's clock is 10 s behind
	v := e.Clone()
	var exp int64
	_ = v.Range(func(r *Record) error {
		if r.Key == "y" {
			exp = r.Exp
		}
		return nil
	})
	if want := (t0+int64(10*time.Second))/1e6 + 5000; exp != want {
		t.Fatalf("y expires at %d, want %d (entry time clamped to the previous entry's)", exp, want)
	}
}

// TestReplicatedWakesWaiters: ApplyEntries wakes clients waiting for a key.
func TestReplicatedWakesWaiters(t *testing.T) {
	clk := newTestClock()
	f := newFakeRaft(clk.now)
	defer f.close()
	e := openReplicated(t, f, clk)
	f.engines = []*Engine{e}
	w := e.WaitKeys(0, [][]byte{[]byte("q")})
	defer w.Cancel()
	e.Exec(0, [][]byte{[]byte("RPUSH"), []byte("q"), []byte("v")})
	select {
	case <-w.C:
	case <-time.After(5 * time.Second):
		t.Fatal("waiter not woken by a replicated push")
	}
	if !e.AnyExists(0, [][]byte{[]byte("q")}) {
		t.Fatal("q does not exist after the push")
	}
}

// TestRestore: a follower that receives a snapshot replaces its image.
func TestRestore(t *testing.T) {
	clk := newTestClock()
	src := openTestEngine(t, &MemLog{}, clk, -1)
	for i := range 100 {
		src.Exec(0, [][]byte{[]byte("SET"), []byte(fmt.Sprint("k", i)), []byte("v")})
	}
	f := newFakeRaft(clk.now)
	defer f.close()
	dst := openReplicated(t, f, clk)
	dst.ApplyEntries([]Entry{{Index: 1, Term: 1, Kind: KindCommand, Time: clk.now(),
		Data: schema.EncodeCommand(nil, 0, [][]byte{[]byte("SET"), []byte("stale"), []byte("1")})}})
	v := src.Clone()
	if err := dst.Restore(v); err != nil {
		t.Fatal(err)
	}
	ds, _, _ := src.Digest()
	dd, idx, _ := dst.Digest()
	if ds != dd || idx != 100 {
		t.Fatalf("after Restore: digest %s index %d, want %s index 100", dd, idx, ds)
	}
}
