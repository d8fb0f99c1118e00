package replication

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/memimg/memimg/schema"
	"github.com/memimg/memimg/wal"
)

// countFSM counts the commands it applies and hashes them, with their index
// and AppendedAt, so two replicas agree only if they applied the same
// entries, in the same order, with the same times.
type countFSM struct {
	mu   sync.Mutex
	n    uint64 // commands applied
	last uint64 // index of the last one
	hash uint64
}

func (f *countFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := fnv.New64a()
	var b [24]byte
	binary.LittleEndian.PutUint64(b[0:], f.hash)
	binary.LittleEndian.PutUint64(b[8:], l.Index)
	binary.LittleEndian.PutUint64(b[16:], uint64(timeToWAL(l.AppendedAt)))
	h.Write(b[:])
	h.Write(l.Data)
	f.hash = h.Sum64()
	f.n++
	f.last = l.Index
	return f.n
}

func (f *countFSM) state() (n, last, hash uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n, f.last, f.hash
}

func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) {
	n, last, hash := f.state()
	return countSnapshot{n, last, hash}, nil
}

func (f *countFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var b [24]byte
	if _, err := io.ReadFull(rc, b[:]); err != nil {
		return err
	}
	f.mu.Lock()
	f.n, f.last, f.hash = binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[16:])
	f.mu.Unlock()
	return nil
}

type countSnapshot struct{ n, last, hash uint64 }

func (s countSnapshot) Persist(sink raft.SnapshotSink) error {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[0:], s.n)
	binary.LittleEndian.PutUint64(b[8:], s.last)
	binary.LittleEndian.PutUint64(b[16:], s.hash)
	if _, err := sink.Write(b[:]); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (countSnapshot) Release() {}

// node is one member of an in-process cluster. Its wal and stable store are
// on disk; its snapshot store is in memory but outlives restarts, as if it
// were on disk.
type node struct {
	id    raft.ServerID
	addr  raft.ServerAddress
	dir   string
	snaps *raft.InmemSnapshotStore

	wal    *wal.Log
	logs   *LogStore
	stable *StableStore
	trans  *raft.InmemTransport
	fsm    *countFSM
	raft   *raft.Raft
}

type cluster struct {
	logBuf syncBuffer
	t      *testing.T
	nodes  []*node
	conf   func(id raft.ServerID) *raft.Config
}

func newCluster(t *testing.T, n int, snapshotThreshold uint64) *cluster {
	c := &cluster{t: t}
	c.conf = func(id raft.ServerID) *raft.Config {
		conf := raft.DefaultConfig()
		conf.LocalID = id
		// Generous for a loaded machine: a leader that loses its lease
		// fails the in-flight applies and the test.
		conf.HeartbeatTimeout = 300 * time.Millisecond
		conf.ElectionTimeout = 300 * time.Millisecond
		conf.LeaderLeaseTimeout = 200 * time.Millisecond
		conf.CommitTimeout = 5 * time.Millisecond
		conf.SnapshotThreshold = snapshotThreshold
		conf.SnapshotInterval = 50 * time.Millisecond
		conf.TrailingLogs = 100
		conf.Logger = hclog.New(&hclog.LoggerOptions{Name: string(id), Level: hclog.Info, Output: &c.logBuf})
		return conf
	}
	dir := t.TempDir()
	for i := range n {
		id := raft.ServerID(fmt.Sprintf("n%d", i+1))
		c.nodes = append(c.nodes, &node{id: id, addr: raft.ServerAddress(id), dir: filepath.Join(dir, string(id)), snaps: raft.NewInmemSnapshotStore()})
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
		if t.Failed() {
			t.Logf("raft logs:\n%s", c.logBuf.String())
		}
	})
	return c
}

func (c *cluster) configuration() raft.Configuration {
	var conf raft.Configuration
	for _, n := range c.nodes {
		conf.Servers = append(conf.Servers, raft.Server{ID: n.id, Address: n.addr, Suffrage: raft.Voter})
	}
	return conf
}

// open opens node i's stores (not Raft).
func (c *cluster) open(i int) *node {
	t, n := c.t, c.nodes[i]
	n.wal = openWAL(t, filepath.Join(n.dir, "wal"))
	n.logs = NewLogStore(n.wal, LogStoreOptions{})
	var err error
	if n.stable, err = OpenStableStore(filepath.Join(n.dir, "raft-stable")); err != nil {
		t.Fatal(err)
	}
	return n
}

// start starts node i's Raft on its stores, with a countFSM, and connects
// it to the others.
func (c *cluster) start(i int) {
	fsm := &countFSM{}
	c.startWithFSM(i, fsm)
	c.nodes[i].fsm = fsm
}

// startWithFSM is start with fsm as node i's state machine (the node's
// countFSM stays nil: do not call converge on such a cluster).
func (c *cluster) startWithFSM(i int, fsm raft.FSM) *raft.Raft {
	t, n := c.t, c.nodes[i]
	if n.wal == nil {
		c.open(i)
	}
	_, n.trans = raft.NewInmemTransport(n.addr)
	for _, o := range c.nodes {
		if o != n && o.raft != nil {
			n.trans.Connect(o.addr, o.trans)
			o.trans.Connect(n.addr, n.trans)
		}
	}
	r, err := raft.NewRaft(c.conf(n.id), fsm, n.logs, n.stable, n.snaps, n.trans)
	if err != nil {
		t.Fatal(err)
	}
	n.raft = r
	return r
}

// stop shuts node i down and closes its stores, as a process exit would.
func (c *cluster) stop(i int) {
	n := c.nodes[i]
	if n.raft != nil {
		if err := n.raft.Shutdown().Error(); err != nil {
			c.t.Errorf("shutdown %s: %v", n.id, err)
		}
		n.raft = nil
		n.trans.Close()
		for _, o := range c.nodes {
			if o != n && o.trans != nil {
				o.trans.Disconnect(n.addr)
			}
		}
	}
	if n.wal != nil {
		if err := n.wal.Close(); err != nil {
			c.t.Errorf("close %s's wal: %v", n.id, err)
		}
		n.wal, n.logs, n.stable = nil, nil, nil
	}
}

// leader waits for a leader among the running nodes, other than not.
func (c *cluster) leader(not int) int {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i, n := range c.nodes {
			if i != not && n.raft != nil && n.raft.State() == raft.Leader {
				return i
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no leader elected")
	return -1
}

// apply applies count commands through the leader, all in flight at once so
// that Raft batches them (one StoreLogs, one fsync, per batch).
func (c *cluster) apply(leader, from, count int) {
	c.t.Helper()
	r := c.nodes[leader].raft
	futures := make([]raft.ApplyFuture, 0, count)
	for i := from; i < from+count; i++ {
		cmd := schema.EncodeCommand(nil, 0, [][]byte{[]byte("SET"), fmt.Appendf(nil, "key:%d", i), fmt.Appendf(nil, "value %d", i)})
		futures = append(futures, r.Apply(cmd, 5*time.Second))
	}
	for i, f := range futures {
		if err := f.Error(); err != nil {
			c.t.Fatalf("apply %d: %v", from+i, err)
		}
	}
}

// converge waits until every running node has applied want commands and all
// agree on the hash.
func (c *cluster) converge(want uint64) {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		done := true
		hashes := map[uint64]bool{}
		var states []string
		for _, n := range c.nodes {
			if n.raft == nil {
				continue
			}
			cnt, last, h := n.fsm.state()
			states = append(states, fmt.Sprintf("%s: n=%d last=%d hash=%x", n.id, cnt, last, h))
			done = done && cnt == want
			hashes[h] = true
		}
		done = done && len(hashes) == 1
		if done {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("FSMs did not converge on %d commands: %v", want, states)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCluster runs three nodes on LogStore and StableStore: a leader is
// elected, 1000 commands are applied, the leader is shut down, a new one is
// elected and takes more writes, and the old leader restarts from its
// directories and catches up: all three FSMs end identical.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	start := time.Now()
	c := newCluster(t, 3, 400)
	c.open(0)
	if err := Bootstrap(c.nodes[0].logs, c.nodes[0].stable, c.configuration()); err != nil {
		t.Fatal(err)
	}
	for i := range c.nodes {
		c.start(i)
	}
	old := c.leader(-1)
	c.apply(old, 0, 1000)
	c.converge(1000)

	c.dump(t, "before stop")
	c.stop(old)
	leader := c.leader(old)
	c.apply(leader, 1000, 200)
	c.converge(1200)

	c.dump(t, "before restart")
	c.start(old)
	c.apply(leader, 1200, 100)
	c.converge(1300)
	c.dump(t, "after restart")

	// A follower that falls behind the leader's compacted log gets a
	// snapshot: Raft then deletes its whole log (a MonotonicLogStore) and
	// the wal takes the next entry after the snapshot.
	behind := (leader + 1) % 3
	c.stop(behind)
	followerLast := uint64(0)
	{
		l := openWAL(t, filepath.Join(c.nodes[behind].dir, "wal"))
		followerLast = l.LastIndex()
		l.Close()
	}
	applied := 1300
	for deadline := time.Now().Add(10 * time.Second); ; {
		c.apply(leader, applied, 100)
		applied += 100
		if first, _ := indexes(t, c.nodes[leader].logs); first > followerLast+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the leader never compacted past the stopped follower")
		}
	}
	c.start(behind)
	c.converge(uint64(applied))
	c.apply(leader, applied, 10)
	applied += 10
	c.converge(uint64(applied))
	c.dump(t, "end")
	if first, _ := indexes(t, c.nodes[behind].logs); first <= followerLast {
		t.Errorf("%s caught up without a snapshot: its log starts at %d", c.nodes[behind].id, first)
	}
	if snaps, _ := c.nodes[behind].snaps.List(); len(snaps) == 0 {
		t.Errorf("%s has no snapshot", c.nodes[behind].id)
	}

	// Snapshots were taken (threshold 400) and the logs compacted; the
	// wal of every node still holds the tail.
	for _, n := range c.nodes {
		first, last := indexes(t, n.logs)
		if last < uint64(applied) || first > last {
			t.Errorf("%s: log [%d, %d]", n.id, first, last)
		}
		if v, err := n.stable.GetUint64(keyCurrentTerm); err != nil || v < 2 {
			t.Errorf("%s: current term %d, %v; want at least 2 after a re-election", n.id, v, err)
		}
	}
	if el := time.Since(start); el > 25*time.Second {
		t.Errorf("the cluster test took %v", el)
	}
}

// TestClusterFromStandalone turns a standalone data directory (a wal the
// engine wrote: commands with term 0) into the first node of a cluster: no
// command is lost, the others receive them through Raft, with the times the
// standalone sequencer gave them.
func TestClusterFromStandalone(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	c := newCluster(t, 3, 1<<20)
	n1 := c.open(0)
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	var standalone countFSM
	for i := uint64(1); i <= 150; i++ {
		rec := wal.Record{Index: i, Kind: KindCommand, Time: base + int64(i), Data: schema.EncodeCommand(nil, 0, [][]byte{[]byte("INCR"), []byte("n")})}
		if i%50 == 0 {
			rec.Kind, rec.Data = KindStandaloneNoop, nil
		}
		if err := n1.wal.Append(rec); err != nil {
			t.Fatal(err)
		}
		if rec.Kind == KindCommand {
			var l raft.Log
			if err := decodeLog(rec, &l); err != nil {
				t.Fatal(err)
			}
			standalone.Apply(&l)
		}
	}
	if err := n1.wal.Sync(); err != nil {
		t.Fatal(err)
	}
	wantN, _, wantHash := standalone.state()

	// raft.BootstrapCluster refuses a node with a log; Bootstrap does not.
	if err := raft.BootstrapCluster(c.conf(n1.id), n1.logs, n1.stable, n1.snaps, nil, c.configuration()); err != raft.ErrCantBootstrap {
		t.Fatalf("raft.BootstrapCluster on a standalone log: %v", err)
	}
	if err := Bootstrap(n1.logs, n1.stable, c.configuration()); err != nil {
		t.Fatal(err)
	}
	if err := Bootstrap(n1.logs, n1.stable, c.configuration()); err != raft.ErrCantBootstrap {
		t.Fatalf("second Bootstrap: %v", err)
	}
	for i := range c.nodes {
		c.start(i)
	}
	leader := c.leader(-1)
	if leader != 0 {
		t.Fatalf("leader is %s, want the bootstrapped node", c.nodes[leader].id)
	}
	c.converge(wantN)
	for _, n := range c.nodes {
		if _, _, h := n.fsm.state(); h != wantHash {
			t.Fatalf("%s applied the standalone log differently", n.id)
		}
	}
	c.apply(leader, 0, 50)
	c.converge(wantN + 50)
	// The standalone records are on every node, same index, term and time.
	for _, n := range c.nodes[1:] {
		for i := uint64(1); i <= 150; i++ {
			var a, b raft.Log
			if err := c.nodes[0].logs.GetLog(i, &a); err != nil {
				t.Fatal(err)
			}
			if err := n.logs.GetLog(i, &b); err != nil {
				t.Fatal(err)
			}
			if !sameLog(&a, &b) || a.Term != 0 {
				t.Fatalf("%s: log %d = %+v, leader has %+v", n.id, i, b, a)
			}
		}
	}
}

// TestBootstrapResume finishes a Bootstrap interrupted between its two
// writes, and refuses a log written by Raft.
func TestBootstrapResume(t *testing.T) {
	s, dir := newStore(t, LogStoreOptions{})
	st, err := OpenStableStore(filepath.Join(dir, "raft-stable"))
	if err != nil {
		t.Fatal(err)
	}
	conf := raft.Configuration{Servers: []raft.Server{{ID: "a", Address: "a", Suffrage: raft.Voter}}}
	if err := Bootstrap(s, st, raft.Configuration{}); err == nil {
		t.Fatal("empty configuration accepted")
	}
	// The configuration entry is in, the term is not.
	if err := s.StoreLog(&raft.Log{Index: 1, Term: 1, Type: raft.LogConfiguration, Data: raft.EncodeConfiguration(conf)}); err != nil {
		t.Fatal(err)
	}
	if err := Bootstrap(s, st, conf); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastIndex(); last != 1 {
		t.Fatalf("resumed Bootstrap appended again: last %d", last)
	}
	if v, err := st.GetUint64(keyCurrentTerm); v != 1 || err != nil {
		t.Fatalf("term %d, %v", v, err)
	}
	// A Raft log (term > 0) without a stable store is not standalone.
	s2, dir2 := newStore(t, LogStoreOptions{})
	st2, _ := OpenStableStore(filepath.Join(dir2, "raft-stable"))
	fill(t, s2, 1, 3)
	if err := Bootstrap(s2, st2, conf); err != raft.ErrCantBootstrap {
		t.Fatalf("Bootstrap on a Raft log: %v", err)
	}
}

// dump logs every open node's log range and snapshot, for a failing test.
func (c *cluster) dump(t *testing.T, what string) {
	t.Helper()
	for _, n := range c.nodes {
		if n.logs == nil {
			continue
		}
		f, l := indexes(t, n.logs)
		snaps, _ := n.snaps.List()
		var si uint64
		if len(snaps) > 0 {
			si = snaps[0].Index
		}
		st := n.wal.Stats()
		t.Logf("%s %s: log [%d,%d] snap %d segs %d compressed %d", what, n.id, f, l, si, st.Segments, st.CompressedSegments)
	}
}

// syncBuffer collects the nodes' Raft logs, shown when a test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
