package replication

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
	"github.com/memimg/memimg/snapshot"
	"github.com/memimg/memimg/wal"
)

// NodeConfig configures a Node.
type NodeConfig struct {
	// ID is the node's Raft server id (--cluster-node-id).
	ID string
	// RaftAddr is where the Raft transport listens, and the address the
	// other members reach it at (--cluster-addr).
	RaftAddr string
	// Addr is the node's client (RESP) address as the other members reach
	// it: followers send their writes there when this node leads.
	Addr string
	// Dir is the data directory: Raft's term and vote go to Dir/raft-state,
	// its snapshots to Dir/raft-snapshots.
	Dir string
	// WAL is the command log, which becomes Raft's log.
	WAL *wal.Log
	// Bootstrap makes the node the first voter of a new cluster unless it
	// already has cluster state (--cluster-bootstrap).
	Bootstrap bool
	// Nonvoter asks to join as a non-voting member (--cluster-nonvoter).
	Nonvoter bool
	// Forward makes a follower send writes to the leader (the default);
	// false answers them with -READONLY.
	Forward bool
	// Password is the requirepass of the members (the same on every node),
	// for the connections between them.
	Password string
	// CompactEntries, if positive, lets Raft take a snapshot of the image
	// every CompactEntries entries and delete the log before it but the
	// last CompactEntries entries: a follower that falls further behind
	// receives the snapshot (InstallSnapshot) instead of the log. 0 keeps
	// the whole log, the database's history (the default).
	CompactEntries uint64
	// ApplyTimeout bounds a proposal's wait to enter the leader's queue,
	// and a forwarded write's round trip; default 10 s.
	ApplyTimeout time.Duration
	// CommitDelay and CommitSiblings: once a group of at least
	// CommitSiblings writes went to Raft, the leader waits up to
	// CommitDelay for the next group to grow by a quarter before it hands
	// it over (PostgreSQL's commit_delay and commit_siblings; see
	// grouper.setDelay). 0: no wait (the default here; memimgd sets its own).
	CommitDelay    time.Duration
	CommitSiblings int
	// Snapshots is the node's Pebble snapshot store and SaveSnapshot writes
	// the engine's image into it, returning once it is durable: Raft's
	// snapshots are those (see SnapshotStore). Without them (tests), Raft
	// keeps its own snapshot files.
	Snapshots    *snapshot.Store
	SaveSnapshot func() error
	// Databases is the number of databases of the image (for snapshots).
	Databases int
	// Logger receives the node's and Raft's logs.
	Logger *slog.Logger
	// raftConfig, if set, adjusts Raft's configuration (tests).
	raftConfig func(*raft.Config)
}

// Node is one member of a memimg cluster: Raft over the wal, with the
// engine as its state machine. It is the engine's Replicator.
type Node struct {
	cfg    NodeConfig
	log    *slog.Logger
	logs   *LogStore
	stable *StableStore
	snaps  raft.SnapshotStore
	store  *SnapshotStore // snaps, when it is the Pebble one
	trans  *raft.NetworkTransport
	raft   *raft.Raft
	fsm    *FSM
	eng    *engine.Engine

	// readyIndex is the index of the current leadership's memimg.noop once
	// it is applied (0: not leader, or not yet): a leader serves
	// linearizable reads only after it.
	mu         sync.Mutex
	readyIndex uint64
	peers      map[string]*redis.Client // by client address
	probes     map[string]*redis.Client // by client address, short timeouts
	proposer   *proposer                // the leader's client writes (proposer.go)
	forwarder  *forwarder               // a follower's client writes (forwarder.go)
	stop       chan struct{}
	done       sync.WaitGroup
}

// The errors a client sees.
var (
	errNoLeader = engine.Errorf("CLUSTERDOWN no leader elected yet; try again")
	errReadOnly = engine.Errorf("READONLY You can't write against a read only replica.")
)

// ErrUnknownOutcome starts the error a client gets for a write that may or
// may not have been applied (the leader was lost while replicating it):
// like a timeout, the client cannot tell. Writes that certainly were not
// applied get -TRYAGAIN, -READONLY or -CLUSTERDOWN instead.
const ErrUnknownOutcome = "ERR the write's outcome is unknown: "

// Stable-store keys of memimg's own (Raft's are CurrentTerm, LastVoteTerm,
// LastVoteCand).
var keyClusterID = []byte("memimg.cluster_id")

// NewNode opens the node's Raft state and transport. Start starts Raft
// once the engine is open.
func NewNode(cfg NodeConfig) (*Node, error) {
	if cfg.ID == "" || cfg.RaftAddr == "" || cfg.WAL == nil {
		return nil, errors.New("replication: a node needs an id, a Raft address and a log")
	}
	if cfg.ApplyTimeout <= 0 {
		cfg.ApplyTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.ID), peers: map[string]*redis.Client{}, probes: map[string]*redis.Client{}, stop: make(chan struct{})}
	var err error
	if n.stable, err = OpenStableStore(filepath.Join(cfg.Dir, "raft-state")); err != nil {
		return nil, err
	}
	n.logs = NewLogStore(cfg.WAL, LogStoreOptions{KeepPrefix: cfg.CompactEntries == 0})
	hw := &hclogWriter{log: n.log}
	if cfg.Snapshots != nil {
		n.store, err = OpenSnapshotStore(SnapshotStoreOptions{Dir: filepath.Join(cfg.Dir, "raft-snapshots"),
			Pebble: cfg.Snapshots, Databases: cfg.Databases, Save: cfg.SaveSnapshot,
			Applied: func() uint64 {
				if n.eng == nil {
					return 0 // before Start: no image loaded is known
				}
				return n.eng.AppliedIndex()
			}})
		if err != nil {
			return nil, err
		}
		n.snaps = n.store
	} else if n.snaps, err = raft.NewFileSnapshotStore(filepath.Join(cfg.Dir, "raft-snapshots"), 2, hw); err != nil {
		return nil, fmt.Errorf("replication: snapshot store: %w", err)
	}
	adv, err := net.ResolveTCPAddr("tcp", cfg.RaftAddr)
	if err != nil {
		return nil, fmt.Errorf("replication: --cluster-addr %q: %w", cfg.RaftAddr, err)
	}
	if n.trans, err = raft.NewTCPTransport(cfg.RaftAddr, adv, 4, 10*time.Second, hw); err != nil {
		return nil, fmt.Errorf("replication: listen on --cluster-addr %s: %w", cfg.RaftAddr, err)
	}
	return n, nil
}

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.ID }

// Addr is the node's client address as the other members reach it.
func (n *Node) Addr() string { return n.cfg.Addr }

// HasState reports whether the node already belongs to a cluster (it has
// a term, a vote or Raft entries).
func (n *Node) HasState() bool {
	ok, err := raft.HasExistingState(n.logs, n.stable, n.snaps)
	if err != nil {
		return true
	}
	if ok {
		// A standalone log (term 0 only) is not cluster state.
		term, _ := n.stable.GetUint64(keyCurrentTerm)
		return term > 0
	}
	return false
}

// ClusterID is the id of the cluster the node belongs to, "" if none yet.
func (n *Node) ClusterID() string {
	v, _ := n.stable.Get(keyClusterID)
	return string(v)
}

// Start starts Raft with eng (opened with this node as its Replicator) as
// the state machine, bootstrapping a new cluster if configured to.
func (n *Node) Start(eng *engine.Engine) error {
	n.eng = eng
	n.fsm = newFSM(eng, n.store)
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(n.cfg.ID)
	conf.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Output: &hclogWriter{log: n.log}, Level: hclog.Info})
	conf.BatchApplyCh = true
	conf.MaxAppendEntries = 1024
	// The whole log is kept (it is the database's history): Raft takes no
	// snapshots of its own, so it never compacts the log.
	conf.SnapshotThreshold = math.MaxUint64 >> 1
	conf.SnapshotInterval = 365 * 24 * time.Hour
	conf.TrailingLogs = math.MaxUint64 >> 1
	if c := n.cfg.CompactEntries; c > 0 {
		conf.SnapshotThreshold, conf.TrailingLogs, conf.SnapshotInterval = c, c, 10*time.Second
	}
	conf.NoLegacyTelemetry = true
	// The engine has loaded the newest snapshot before Raft starts (see
	// SnapshotStore): Raft must not restore it a second time.
	conf.NoSnapshotRestoreOnStart = n.store != nil
	if n.cfg.raftConfig != nil {
		n.cfg.raftConfig(conf)
	}
	if n.cfg.Bootstrap && !n.HasState() {
		id := newClusterID()
		if err := n.stable.Set(keyClusterID, []byte(id)); err != nil {
			return err
		}
		err := Bootstrap(n.logs, n.stable, raft.Configuration{Servers: []raft.Server{
			{Suffrage: raft.Voter, ID: raft.ServerID(n.cfg.ID), Address: raft.ServerAddress(n.cfg.RaftAddr)}}})
		if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("replication: bootstrap: %w", err)
		}
		n.log.Info("bootstrapped a new cluster", "cluster_id", id, "log_last_index", n.cfg.WAL.LastIndex())
	}
	// The newest entries stay in memory: replication to the followers and
	// the leader's own apply read them back without going to the wal.
	cached, err := raft.NewLogCache(8192, n.logs)
	if err != nil {
		return err
	}
	r, err := raft.NewRaft(conf, n.fsm, cached, n.stable, n.snaps, n.trans)
	if err != nil {
		return fmt.Errorf("replication: start raft: %w", err)
	}
	n.raft = r
	n.proposer = newProposer(r, n.cfg.ApplyTimeout, n.stop)
	n.proposer.g.setDelay(n.cfg.CommitDelay, n.cfg.CommitSiblings)
	n.forwarder = newForwarder(n)
	st := r.Stats()
	n.log.Info("raft started", "last_snapshot_index", st["last_snapshot_index"], "last_log_index", st["last_log_index"],
		"applied_index", eng.AppliedIndex())
	n.done.Add(2)
	go n.watchLeadership()
	go n.keepAnnounced()
	return nil
}

// keepAnnounced makes sure the cluster knows this member's current
// addresses (a restarted node's client port may have changed): until the
// member table says so, it asks the leader (or, leading, logs it itself).
func (n *Node) keepAnnounced() {
	defer n.done.Done()
	for attempt := 0; ; attempt++ {
		select {
		case <-n.stop:
			return
		case <-time.After(200 * time.Millisecond):
		}
		m, ok := n.fsm.Members()[n.cfg.ID]
		if ok && m.Addr == n.cfg.Addr && m.RaftAddr == n.cfg.RaftAddr {
			return
		}
		if n.raft.State() == raft.Shutdown {
			return
		}
		if !n.inConfiguration() {
			continue // not a member yet: the join adds and announces it
		}
		var err error
		if n.Leader() {
			err = n.announce(n.cfg.ID, n.cfg.RaftAddr, n.cfg.Addr, !n.cfg.Nonvoter)
		} else {
			_, err = n.Join(n.cfg.ID, n.cfg.RaftAddr, n.cfg.Addr, !n.cfg.Nonvoter, n.ClusterID())
		}
		if err != nil && attempt%25 == 0 {
			n.log.Debug("announcing this member's addresses", "err", err)
		}
	}
}

// inConfiguration reports whether this node is in Raft's configuration.
func (n *Node) inConfiguration() bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == n.cfg.ID {
			return true
		}
	}
	return false
}

func newClusterID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// watchLeadership makes each new leadership announce itself: a
// memimg.noop (reads wait for it) and this node's memimg.member entry.
func (n *Node) watchLeadership() {
	defer n.done.Done()
	for {
		select {
		case <-n.stop:
			return
		case leader := <-n.raft.LeaderCh():
			n.mu.Lock()
			n.readyIndex = 0
			n.mu.Unlock()
			if !leader {
				continue
			}
			f := n.raft.Apply(schema.EncodeCommand(nil, 0, [][]byte{[]byte("memimg.noop")}), n.cfg.ApplyTimeout)
			if err := f.Error(); err != nil {
				n.log.Warn("new leader: noop failed", "err", err)
				continue
			}
			n.mu.Lock()
			if n.raft.State() == raft.Leader {
				n.readyIndex = f.Index()
			}
			n.mu.Unlock()
			n.log.Info("leading the cluster", "term", n.raft.CurrentTerm(), "index", f.Index())
			if m, ok := n.fsm.Members()[n.cfg.ID]; !ok || m.Addr != n.cfg.Addr || m.RaftAddr != n.cfg.RaftAddr {
				n.announce(n.cfg.ID, n.cfg.RaftAddr, n.cfg.Addr, !n.cfg.Nonvoter)
			}
		}
	}
}

// announce logs a memimg.member entry (leader only).
func (n *Node) announce(id, raftAddr, addr string, voter bool) error {
	role := "nonvoter"
	if voter {
		role = "voter"
	}
	payload := schema.EncodeCommand(nil, 0, [][]byte{[]byte("memimg.member"), []byte(id), []byte(raftAddr), []byte(addr), []byte(role)})
	return n.raft.Apply(payload, n.cfg.ApplyTimeout).Error()
}

// Leader implements engine.Replicator.
func (n *Node) Leader() bool { return n.raft != nil && n.raft.State() == raft.Leader }

// Propose implements engine.Replicator: on the leader the write goes to
// Raft; on a follower it is sent to the leader (or refused with -READONLY
// if forwarding is off).
func (n *Node) Propose(payload []byte) func() engine.Reply {
	if n.Leader() {
		fc := n.proposer.propose(payload)
		return func() engine.Reply { return n.applyReply(<-fc, payload, n.cfg.Forward) }
	}
	if !n.cfg.Forward {
		return func() engine.Reply { return errReadOnly }
	}
	ch := n.forwarder.forward(payload)
	return func() engine.Reply { return <-ch }
}

// applyReply waits for a proposal on the leader.
// A write that never entered the log because this node is no longer the
// leader is sent to the new one if forward is set.
func (n *Node) applyReply(f raft.ApplyFuture, payload []byte, forward bool) engine.Reply {
	if err := f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader):
			// Never entered the log: safe to send to the new leader.
			if forward {
				return n.forward(payload)
			}
			return errReadOnly
		case errors.Is(err, errNotProposed):
			return engine.Errorf("TRYAGAIN " + err.Error() + "; the write was not applied")
		case errors.Is(err, raft.ErrEnqueueTimeout):
			return engine.Errorf("TRYAGAIN the cluster is too busy to take the write; it was not applied")
		}
		// Leadership lost, or Raft shut down, after the entry was handed
		// to it: it may still be committed by the next leader.
		return engine.Errorf(ErrUnknownOutcome + err.Error())
	}
	r, ok := f.Response().(engine.Reply)
	if !ok {
		return engine.Errorf("ERR the state machine gave no reply")
	}
	return r
}

// leaderClient returns a connection pool to the leader's client address.
func (n *Node) leaderClient() (*redis.Client, string, error) {
	deadline := time.Now().Add(n.cfg.ApplyTimeout)
	for {
		_, id := n.raft.LeaderWithID()
		if id != "" && string(id) != n.cfg.ID {
			if m, ok := n.fsm.Members()[string(id)]; ok && m.Addr != "" {
				return n.peer(m.Addr), m.Addr, nil
			}
		}
		if id != "" && string(id) == n.cfg.ID {
			return nil, "", errSelfLeader
		}
		if time.Now().After(deadline) {
			return nil, "", errors.New("no leader")
		}
		select {
		case <-n.stop:
			return nil, "", errors.New("node stopped")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

var errSelfLeader = errors.New("this node became the leader")

// peer returns the connection pool to a member's client address, for
// forwarded writes and read indexes.
func (n *Node) peer(addr string) *redis.Client {
	return n.pool(n.peers, addr, 64, 2*time.Second, n.cfg.ApplyTimeout+5*time.Second, 5*time.Second)
}

// pool returns pools[addr], made with these sizes and
// timeouts the first time.
func (n *Node) pool(pools map[string]*redis.Client, addr string, size int, dial, read, write time.Duration) *redis.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := pools[addr]
	if c == nil {
		c = redis.NewClient(&redis.Options{Addr: addr, Password: n.cfg.Password, Protocol: 2, PoolSize: size,
			MaxRetries: -1, DialTimeout: dial, ReadTimeout: read, WriteTimeout: write, DisableIdentity: true})
		pools[addr] = c
	}
	return c
}

// probeTimeout bounds a probe of a member's progress (WAIT).
const probeTimeout = 250 * time.Millisecond

// probe returns a connection pool to a member's client address for quick
// questions: a member that does not answer within probeTimeout (stopped,
// partitioned) is given up on.
func (n *Node) probe(addr string) *redis.Client {
	return n.pool(n.probes, addr, 4, probeTimeout, probeTimeout, probeTimeout)
}

// forward sends a write to the leader and returns its reply.
func (n *Node) forward(payload []byte) engine.Reply {
	deadline := time.Now().Add(n.cfg.ApplyTimeout)
	for attempt := 0; attempt < 3 || time.Now().Before(deadline); attempt++ {
		if attempt > 0 {
			time.Sleep(min(time.Duration(attempt)*20*time.Millisecond, 200*time.Millisecond))
		}
		c, addr, err := n.leaderClient()
		if errors.Is(err, errSelfLeader) {
			return n.applyReply(<-n.proposer.propose(payload), payload, false)
		}
		if err != nil {
			return errNoLeader
		}
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ApplyTimeout+5*time.Second)
		s, err := c.Do(ctx, "memimg.propose", payload).Text()
		cancel()
		if err != nil {
			if strings.HasPrefix(err.Error(), "READONLY") || strings.HasPrefix(err.Error(), "CLUSTERDOWN") {
				continue // the leader changed before the write entered its log
			}
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				continue // never sent: the old leader is gone, wait for the new one
			}
			return engine.Errorf(ErrUnknownOutcome + "the leader at " + addr + " did not answer: " + err.Error())
		}
		r, _, err := engine.DecodeReply([]byte(s))
		if err != nil {
			return engine.Errorf("ERR the leader's reply could not be decoded: " + err.Error())
		}
		return r
	}
	return errNoLeader
}

// checkForwarded checks a payload sent with memimg.propose as the engine
// checks a client's write before proposing it: it decodes, names a write
// the engine proposes (a client's, a transaction, an expiry; not the
// entries only a leader makes), in a database that exists, with valid
// arguments. Anything else would enter the log as an entry no replay can
// apply.
func (n *Node) checkForwarded(p []byte) error {
	db, argv, err := schema.DecodeCommand(p, nil)
	if err != nil {
		return err
	}
	cmd := schema.Lookup(argv[0])
	switch {
	case cmd == nil || !cmd.Is(schema.Write) || leaderOnly[cmd.Name]:
		return fmt.Errorf("%q is not a write a follower forwards", argv[0])
	case db < 0 || db >= n.eng.Databases():
		return fmt.Errorf("database %d does not exist", db)
	}
	return cmd.Validate(argv)
}

// leaderOnly are the writes only a leader proposes itself.
var leaderOnly = map[string]bool{"memimg.batch": true, "memimg.noop": true, "memimg.member": true}

// ProposeFromPeer answers memimg.propose: a follower's writes, proposed
// here (together) if this node leads, each answered with its reply's
// encoding in a bulk string, an array of them for several. A node that
// does not lead answers -READONLY, so the follower tries the new leader;
// so does an element whose write did not enter the log.
func (n *Node) ProposeFromPeer(payloads [][]byte) engine.Reply {
	if !n.Leader() {
		return errReadOnly
	}
	futures := make([]<-chan raft.ApplyFuture, len(payloads))
	replies := make([]engine.Reply, len(payloads))
	for i, p := range payloads {
		if err := n.checkForwarded(p); err != nil {
			replies[i] = engine.Errorf("ERR invalid forwarded write: " + err.Error())
			continue
		}
		futures[i] = n.proposer.propose(append([]byte(nil), p...))
	}
	for i, fc := range futures {
		if fc == nil {
			continue // refused above
		}
		r := n.applyReply(<-fc, nil, false)
		if r.IsError() && r.Str == errReadOnly.Str {
			replies[i] = errReadOnly // not entered: the follower tries the new leader
			continue
		}
		replies[i] = engine.Bulk(string(engine.AppendReply(nil, r)))
	}
	if len(replies) == 1 {
		return replies[0]
	}
	return engine.Array(replies...)
}

// ReadIndex answers memimg.readindex on the leader: an index such that a
// read that waits until it is applied sees every write acknowledged before
// the call (Raft's ReadIndex: the commit index, once the leadership is
// confirmed by a quorum and the leadership's noop is applied).
func (n *Node) ReadIndex() (uint64, error) {
	if !n.Leader() {
		return 0, errors.New("not the leader")
	}
	idx := n.raft.CommitIndex()
	if err := n.raft.VerifyLeader().Error(); err != nil {
		return 0, err
	}
	n.mu.Lock()
	ready := n.readyIndex
	n.mu.Unlock()
	if ready == 0 {
		return 0, errors.New("the new leader has not applied its first entry yet")
	}
	return max(idx, ready), nil
}

// ReadBarrier returns once this node's image holds every write
// acknowledged (anywhere in the cluster) before the call: on the leader
// through ReadIndex, on a follower by asking the leader for its read index
// and waiting to apply up to it.
func (n *Node) ReadBarrier() error {
	var idx uint64
	if n.Leader() {
		var err error
		if idx, err = n.ReadIndex(); err != nil {
			return err
		}
	} else {
		c, _, err := n.leaderClient()
		if errors.Is(err, errSelfLeader) {
			return n.ReadBarrier()
		}
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ApplyTimeout)
		v, err := c.Do(ctx, "memimg.readindex").Uint64()
		cancel()
		if err != nil {
			return err
		}
		idx = v
	}
	return n.fsm.WaitIndex(idx, n.cfg.ApplyTimeout)
}

// WaitTarget returns an index at or after every write acknowledged to a
// client of this node before the call: on the leader its applied index
// (an acknowledged write was applied), on a follower the leader's commit
// index (writes are forwarded to the leader and acknowledged there).
func (n *Node) WaitTarget() (uint64, error) {
	if n.Leader() {
		return n.fsm.Index(), nil
	}
	c, _, err := n.leaderClient()
	if errors.Is(err, errSelfLeader) {
		return n.WaitTarget()
	}
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ApplyTimeout)
	defer cancel()
	return c.Do(ctx, "memimg.readindex").Uint64()
}

// LastIndex is the index of the last entry in this node's log (durable:
// the log syncs before Raft counts an entry as stored).
func (n *Node) LastIndex() uint64 { return n.raft.LastIndex() }

// Replicas counts the members other than the leader whose log holds the
// entry at target (WAIT's answer): this node's own log it reads, the
// others' it asks for (MEMIMG.CLUSTER LASTINDEX); a member that does not
// answer within a short time is not counted.
func (n *Node) Replicas(target uint64) int {
	ms, err := n.Members()
	if err != nil {
		return 0
	}
	var (
		wg    sync.WaitGroup
		count atomic.Int64
	)
	for _, m := range ms {
		switch {
		case m.Leader:
		case m.ID == n.cfg.ID:
			if n.LastIndex() >= target {
				count.Add(1)
			}
		case m.Addr != "":
			wg.Add(1)
			go func(addr string) {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
				defer cancel()
				if v, err := n.probe(addr).Do(ctx, "memimg.cluster", "lastindex").Uint64(); err == nil && v >= target {
					count.Add(1)
				}
			}(m.Addr)
		}
	}
	wg.Wait()
	return int(count.Load())
}

// MemberInfo is one row of MEMIMG.CLUSTER MEMBERS.
type MemberInfo struct {
	Member
	Leader bool
	Known  bool // in the Raft configuration (not only announced)
}

// Members returns the cluster's members: Raft's configuration, with the
// client addresses their announcements gave.
func (n *Node) Members() ([]MemberInfo, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	ann := n.fsm.Members()
	_, leader := n.raft.LeaderWithID()
	var out []MemberInfo
	for _, s := range f.Configuration().Servers {
		m := ann[string(s.ID)]
		m.ID, m.RaftAddr, m.Voter = string(s.ID), string(s.Address), s.Suffrage == raft.Voter
		out = append(out, MemberInfo{Member: m, Leader: s.ID == leader, Known: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// LeaderMember returns the current leader, if known.
func (n *Node) LeaderMember() (Member, bool) {
	addr, id := n.raft.LeaderWithID()
	if id == "" {
		return Member{}, false
	}
	m := n.fsm.Members()[string(id)]
	m.ID, m.RaftAddr = string(id), string(addr)
	return m, true
}

// Join adds a member (on the leader; a follower passes the request to the
// leader). The new member's Raft address must answer; an id already in the
// cluster with another address is refused.
func (n *Node) Join(id, raftAddr, addr string, voter bool, clusterID string) (string, error) {
	if !n.Leader() {
		c, _, err := n.leaderClient()
		switch {
		case errors.Is(err, errSelfLeader):
			// Elected while looking: take the join here.
			return n.Join(id, raftAddr, addr, voter, clusterID)
		case err != nil:
			// An election in progress, not a refusal: the joiner retries.
			return "", ErrJoinRetry{fmt.Errorf("no leader to join through: %w", err)}
		}
		role := "voter"
		if !voter {
			role = "nonvoter"
		}
		args := []any{"memimg.cluster", "join", id, raftAddr, addr, role}
		if clusterID != "" {
			args = append(args, clusterID)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*n.cfg.ApplyTimeout)
		defer cancel()
		return c.Do(ctx, args...).Text()
	}
	mine := n.ClusterID()
	if clusterID != "" && clusterID != mine {
		return "", fmt.Errorf("the node's data directory belongs to cluster %s, this is cluster %s", clusterID, mine)
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return "", err
	}
	for _, s := range f.Configuration().Servers {
		switch {
		case string(s.ID) == id && string(s.Address) == raftAddr:
			return mine, n.announce(id, raftAddr, addr, voter) // a restart or a retry: idempotent
		case string(s.ID) == id:
			return "", fmt.Errorf("node id %s is already a member, with Raft address %s", id, s.Address)
		case string(s.Address) == raftAddr:
			return "", fmt.Errorf("Raft address %s already belongs to member %s", raftAddr, s.ID)
		}
	}
	conn, err := net.DialTimeout("tcp", raftAddr, 2*time.Second)
	if err != nil {
		return "", fmt.Errorf("cannot reach Raft address %s: %v", raftAddr, err)
	}
	conn.Close()
	var fut raft.IndexFuture
	if voter {
		fut = n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, n.cfg.ApplyTimeout)
	} else {
		fut = n.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, n.cfg.ApplyTimeout)
	}
	if err := fut.Error(); err != nil {
		return "", err
	}
	n.log.Info("member added", "id", id, "raft_addr", raftAddr, "addr", addr, "voter", voter)
	return mine, n.announce(id, raftAddr, addr, voter)
}

// ErrJoinRetry wraps a join that could not be decided now (no leader yet):
// the joining node should try again, not give up.
type ErrJoinRetry struct{ Err error }

func (e ErrJoinRetry) Error() string { return e.Err.Error() }
func (e ErrJoinRetry) Unwrap() error { return e.Err }

// SetClusterID records the cluster this node joined.
func (n *Node) SetClusterID(id string) error {
	if id == "" || n.ClusterID() == id {
		return nil
	}
	return n.stable.Set(keyClusterID, []byte(id))
}

// Leave removes a member (leader only; a follower passes it on).
func (n *Node) Leave(id string) error {
	if !n.Leader() {
		c, _, err := n.leaderClient()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*n.cfg.ApplyTimeout)
		defer cancel()
		return c.Do(ctx, "memimg.cluster", "leave", id).Err()
	}
	return n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.ApplyTimeout).Error()
}

// Transfer hands the leadership to id, or to the most up-to-date follower
// if id is "" (leader only).
func (n *Node) Transfer(id string) error {
	if !n.Leader() {
		return errors.New("not the leader")
	}
	if id == "" {
		return n.raft.LeadershipTransfer().Error()
	}
	ms, err := n.Members()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.ID == id {
			return n.raft.LeadershipTransferToServer(raft.ServerID(id), raft.ServerAddress(m.RaftAddr)).Error()
		}
	}
	return fmt.Errorf("no member %s", id)
}

// Snapshot makes Raft take a snapshot now, and compact the log after it if
// CompactEntries is set.
func (n *Node) Snapshot() error {
	return n.raft.Snapshot().Error()
}

// Stats are figures for INFO replication.
type Stats struct {
	State                        string
	Term, CommitIndex, LastIndex uint64
	AppliedIndex                 uint64 // the state machine's
	LeaderID, LeaderAddr         string
	LastContact                  time.Duration // -1 on the leader
	ClusterID                    string
}

// Stats returns the node's Raft figures.
func (n *Node) Stats() Stats {
	st := Stats{State: strings.ToLower(n.raft.State().String()), Term: n.raft.CurrentTerm(),
		CommitIndex: n.raft.CommitIndex(), LastIndex: n.raft.LastIndex(), AppliedIndex: n.fsm.Index(),
		ClusterID: n.ClusterID(), LastContact: -1}
	if m, ok := n.LeaderMember(); ok {
		st.LeaderID, st.LeaderAddr = m.ID, m.Addr
	}
	if !n.Leader() {
		if t := n.raft.LastContact(); !t.IsZero() {
			st.LastContact = time.Since(t)
		}
	}
	return st
}

// Close stops Raft and the transport. The log is the caller's to close.
func (n *Node) Close() error {
	select {
	case <-n.stop:
		return nil
	default:
		close(n.stop)
	}
	var err error
	if n.raft != nil {
		err = n.raft.Shutdown().Error()
	}
	n.done.Wait()
	if n.trans != nil {
		n.trans.Close()
	}
	n.mu.Lock()
	for _, c := range n.peers {
		c.Close()
	}
	for _, c := range n.probes {
		c.Close()
	}
	n.mu.Unlock()
	return err
}

// hclogWriter turns Raft's log lines into slog records.
type hclogWriter struct{ log *slog.Logger }

func (w *hclogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	switch {
	case strings.Contains(line, "[ERROR]"):
		level = slog.LevelError
	case strings.Contains(line, "[WARN]"):
		level = slog.LevelWarn
	case strings.Contains(line, "[DEBUG]"), strings.Contains(line, "[TRACE]"):
		level = slog.LevelDebug
	}
	w.log.Log(context.Background(), level, "raft", "line", line)
	return len(p), nil
}

var _ io.Writer = (*hclogWriter)(nil)
