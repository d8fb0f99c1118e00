package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/protocol"
	"github.com/memimg/memimg/replication"
	"github.com/memimg/memimg/snapshot"
	"github.com/memimg/memimg/wal"
)

// clusterGlue is the daemon's cluster as the protocol layer sees it
// (protocol.Cluster). It exists from the start, before the node is open,
// so the server can be created (and answer -LOADING) first.
type clusterGlue struct {
	node atomic.Pointer[replication.Node]
}

var errClusterLoading = engine.Errorf("LOADING memimg is loading the dataset in memory")

func (g *clusterGlue) get() *replication.Node { return g.node.Load() }

// ReadBarrier implements protocol.Cluster.
func (g *clusterGlue) ReadBarrier() error {
	n := g.get()
	if n == nil {
		return errors.New("loading")
	}
	return n.ReadBarrier()
}

// Propose implements protocol.Cluster.
func (g *clusterGlue) Propose(payloads [][]byte) engine.Reply {
	n := g.get()
	if n == nil {
		return errClusterLoading
	}
	return n.ProposeFromPeer(payloads)
}

// ReadIndex implements protocol.Cluster.
func (g *clusterGlue) ReadIndex() (uint64, error) {
	n := g.get()
	if n == nil {
		return 0, errors.New("loading")
	}
	return n.ReadIndex()
}

// Replicas implements protocol.Cluster.
func (g *clusterGlue) Replicas(index uint64) int {
	if n := g.get(); n != nil {
		return n.Replicas(index)
	}
	return 0
}

// WaitTarget implements protocol.Cluster.
func (g *clusterGlue) WaitTarget() (uint64, error) {
	n := g.get()
	if n == nil {
		return 0, errors.New("the node is starting")
	}
	return n.WaitTarget()
}

func splitHostPort(addr string) (string, int64) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	port, _ := strconv.ParseInt(p, 10, 64)
	return h, port
}

// Role implements protocol.Cluster: ROLE in Redis's shape, the leader as
// a master with its members as replicas, a follower as a replica of it.
func (g *clusterGlue) Role() engine.Reply {
	n := g.get()
	if n == nil {
		return errClusterLoading
	}
	st := n.Stats()
	if n.Leader() {
		ms, _ := n.Members()
		var reps []engine.Reply
		for _, m := range ms {
			if m.Leader {
				continue
			}
			h, p := splitHostPort(m.Addr)
			reps = append(reps, engine.Array(engine.Bulk(h), engine.Bulk(strconv.FormatInt(p, 10)), engine.Bulk(strconv.FormatUint(st.CommitIndex, 10))))
		}
		return engine.Array(engine.Bulk("master"), engine.Int(int64(st.AppliedIndex)), engine.Array(reps...))
	}
	h, p := splitHostPort(st.LeaderAddr)
	state := "connected"
	if st.LeaderID == "" {
		state = "connect"
	}
	return engine.Array(engine.Bulk("slave"), engine.Bulk(h), engine.Int(p), engine.Bulk(state), engine.Int(int64(st.AppliedIndex)))
}

// Info implements protocol.Cluster: INFO replication with Redis's fields
// where they mean the same, and memimg's own.
func (g *clusterGlue) Info() []protocol.Field {
	n := g.get()
	if n == nil {
		return []protocol.Field{{Name: "role", Value: "slave"}, {Name: "master_link_status", Value: "down"}}
	}
	st := n.Stats()
	ms, _ := n.Members()
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	var out []protocol.Field
	if n.Leader() {
		out = append(out, protocol.Field{Name: "role", Value: "master"})
		i := 0
		var reps []protocol.Field
		for _, m := range ms {
			if m.Leader {
				continue
			}
			h, p := splitHostPort(m.Addr)
			reps = append(reps, protocol.Field{Name: "slave" + strconv.Itoa(i),
				Value: fmt.Sprintf("ip=%s,port=%d,state=online,offset=%d,lag=0", h, p, st.CommitIndex)})
			i++
		}
		out = append(out, protocol.Field{Name: "connected_slaves", Value: strconv.Itoa(i)})
		out = append(out, reps...)
	} else {
		h, p := splitHostPort(st.LeaderAddr)
		link := "up"
		if st.LeaderID == "" {
			link = "down"
		}
		out = append(out,
			protocol.Field{Name: "role", Value: "slave"},
			protocol.Field{Name: "master_host", Value: h},
			protocol.Field{Name: "master_port", Value: strconv.FormatInt(p, 10)},
			protocol.Field{Name: "master_link_status", Value: link},
			protocol.Field{Name: "master_last_io_seconds_ago", Value: strconv.Itoa(int(st.LastContact / time.Second))},
			protocol.Field{Name: "master_sync_in_progress", Value: "0"},
			protocol.Field{Name: "slave_read_only", Value: "1"},
			protocol.Field{Name: "connected_slaves", Value: "0"})
	}
	voters := 0
	for _, m := range ms {
		if m.Voter {
			voters++
		}
	}
	out = append(out,
		protocol.Field{Name: "master_repl_offset", Value: u(st.AppliedIndex)},
		protocol.Field{Name: "memimg_cluster_id", Value: st.ClusterID},
		protocol.Field{Name: "memimg_cluster_node_id", Value: n.ID()},
		protocol.Field{Name: "memimg_cluster_state", Value: st.State},
		protocol.Field{Name: "memimg_cluster_leader_id", Value: st.LeaderID},
		protocol.Field{Name: "memimg_cluster_leader_addr", Value: st.LeaderAddr},
		protocol.Field{Name: "memimg_cluster_term", Value: u(st.Term)},
		protocol.Field{Name: "memimg_cluster_commit_index", Value: u(st.CommitIndex)},
		protocol.Field{Name: "memimg_cluster_last_index", Value: u(st.LastIndex)},
		protocol.Field{Name: "memimg_cluster_applied_index", Value: u(st.AppliedIndex)},
		protocol.Field{Name: "memimg_cluster_members", Value: strconv.Itoa(len(ms))},
		protocol.Field{Name: "memimg_cluster_voters", Value: strconv.Itoa(voters)},
	)
	return out
}

// Command implements protocol.Cluster: MEMIMG.CLUSTER's subcommands.
func (g *clusterGlue) Command(argv [][]byte) engine.Reply {
	n := g.get()
	if n == nil {
		return errClusterLoading
	}
	sub := strings.ToLower(string(argv[1]))
	arity := func(min, max int) bool { return len(argv) >= min && len(argv) <= max }
	errReply := func(err error) engine.Reply {
		var fromLeader redis.Error
		if errors.As(err, &fromLeader) { // the leader's own answer, passed on as it is
			return engine.Errorf(fromLeader.Error())
		}
		if msg := err.Error(); strings.HasPrefix(msg, "ERR ") {
			return engine.Errorf(msg)
		}
		if errors.As(err, new(replication.ErrJoinRetry)) {
			return engine.Errorf("TRYAGAIN " + err.Error())
		}
		return engine.Errorf("ERR " + err.Error())
	}
	switch sub {
	case "members":
		if !arity(2, 2) {
			break
		}
		ms, err := n.Members()
		if err != nil {
			return errReply(err)
		}
		rows := make([]engine.Reply, len(ms))
		for i, m := range ms {
			role, state := "voter", "follower"
			if !m.Voter {
				role = "nonvoter"
			}
			if m.Leader {
				state = "leader"
			}
			rows[i] = engine.Array(engine.Bulk(m.ID), engine.Bulk(m.RaftAddr), engine.Bulk(m.Addr), engine.Bulk(role), engine.Bulk(state))
		}
		return engine.Array(rows...)
	case "leader":
		if !arity(2, 2) {
			break
		}
		m, ok := n.LeaderMember()
		if !ok {
			return engine.NullArray
		}
		return engine.Array(engine.Bulk(m.ID), engine.Bulk(m.Addr), engine.Bulk(m.RaftAddr))
	case "id":
		if !arity(2, 2) {
			break
		}
		return engine.Bulk(n.ClusterID())
	case "join":
		if !arity(5, 7) {
			break
		}
		voter := true
		cid := ""
		if len(argv) >= 6 {
			switch strings.ToLower(string(argv[5])) {
			case "voter":
			case "nonvoter":
				voter = false
			default:
				return engine.Errorf("ERR the role must be VOTER or NONVOTER")
			}
		}
		if len(argv) == 7 {
			cid = string(argv[6])
		}
		id, err := n.Join(string(argv[2]), string(argv[3]), string(argv[4]), voter, cid)
		if err != nil {
			return errReply(err)
		}
		return engine.Bulk(id)
	case "leave":
		if !arity(3, 3) {
			break
		}
		if err := n.Leave(string(argv[2])); err != nil {
			return errReply(err)
		}
		return engine.OK
	case "lastindex":
		if !arity(2, 2) {
			break
		}
		return engine.Int(int64(n.LastIndex()))
	case "snapshot":
		if !arity(2, 2) {
			break
		}
		if err := n.Snapshot(); err != nil {
			return errReply(err)
		}
		return engine.OK
	case "transfer":
		if !arity(2, 3) {
			break
		}
		id := ""
		if len(argv) == 3 {
			id = string(argv[2])
		}
		if err := n.Transfer(id); err != nil {
			return errReply(err)
		}
		return engine.OK
	default:
		return engine.Errorf("ERR unknown subcommand '" + string(argv[1]) + "'. Try MEMIMG.CLUSTER HELP.")
	}
	return engine.Errorf("ERR wrong number of arguments for 'memimg.cluster|" + sub + "' command")
}

// advertisedAddr is the client address the other members reach this node
// at: the host of --cluster-addr with the port the server listens on.
func advertisedAddr(clusterAddr string, ln net.Listener) string {
	h, _, _ := net.SplitHostPort(clusterAddr)
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return net.JoinHostPort(h, p)
}

// joinCluster asks the member at target to add this node, retrying until it
// succeeds, a definite refusal comes, --cluster-join-timeout passes (a
// wrong address: the node exits 1) or stop closes.
func (d *daemon) joinCluster(target string, stop <-chan struct{}) {
	n := d.node
	cs := d.set.cluster
	role := "voter"
	if cs.nonvoter {
		role = "nonvoter"
	}
	rdb := redis.NewClient(&redis.Options{Addr: target, Password: d.set.requirePass, MaxRetries: -1,
		DialTimeout: 2 * time.Second, ReadTimeout: 30 * time.Second, DisableIdentity: true})
	defer rdb.Close()
	if n.HasState() {
		// A member already: only check that target is in the same cluster.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		id, err := rdb.Do(ctx, "memimg.cluster", "id").Text()
		cancel()
		if err == nil && id != "" && n.ClusterID() != "" && id != n.ClusterID() {
			d.log.Error("this node's data directory belongs to another cluster; shutting down",
				"cluster_id", n.ClusterID(), "target", target, "target_cluster_id", id)
			d.joinFailed.Store(true)
			select {
			case d.shutdown <- "data directory of another cluster":
			default:
			}
		}
		return
	}
	args := []any{"memimg.cluster", "join", cs.nodeID, cs.addr, n.Addr(), role}
	if id := n.ClusterID(); id != "" {
		args = append(args, id)
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		id, err := rdb.Do(ctx, args...).Text()
		cancel()
		if err == nil {
			if err := n.SetClusterID(id); err != nil {
				d.log.Error("joined, but the cluster id could not be saved", "err", err)
			}
			d.log.Info("joined the cluster", "through", target, "cluster_id", id)
			return
		}
		var rerr redis.Error
		if errors.As(err, &rerr) && strings.HasPrefix(err.Error(), "ERR ") {
			// A definite refusal (duplicate id, another cluster, bad address).
			d.log.Error("the cluster refused this node; shutting down", "through", target, "err", err)
			d.joinFailed.Store(true) // before the shutdown, which reads it for the exit code
			select {
			case d.shutdown <- "refused by the cluster: " + err.Error():
			default:
			}
			return
		}
		if cs.joinTimeout > 0 && time.Since(start) >= cs.joinTimeout {
			d.log.Error("cannot join the cluster; giving up (--cluster-join-timeout) and shutting down",
				"through", target, "tried_for", time.Since(start).Round(time.Second), "err", err)
			d.joinFailed.Store(true)
			select {
			case d.shutdown <- "could not join the cluster through " + target + ": " + err.Error():
			default:
			}
			return
		}
		if attempt == 1 || attempt%20 == 0 {
			d.log.Warn("cannot join the cluster yet; retrying", "through", target, "err", err)
		}
		select {
		case <-stop:
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// openClusterEngine opens the node and the engine it replicates: the
// engine starts from the snapshot (base) and Raft applies the committed
// entries after it.
func (d *daemon) openClusterEngine(base *engine.View) error {
	cs := d.set.cluster
	var err error
	d.node, err = replication.NewNode(replication.NodeConfig{
		ID: cs.nodeID, RaftAddr: cs.addr, Addr: advertisedAddr(cs.addr, d.ln), Dir: d.dir, WAL: d.wal,
		Bootstrap: cs.bootstrap, Nonvoter: cs.nonvoter, Forward: cs.forward, Password: d.set.requirePass,
		CompactEntries: cs.compact,
		CommitDelay:    cs.commitDelay,
		CommitSiblings: cs.commitSiblings,
		Snapshots:      d.snaps,
		SaveSnapshot:   d.saveForRaft,
		Databases:      d.set.databases,
		Logger:         d.log,
	})
	if err != nil {
		return fmt.Errorf("memimgd: cluster: %w", err)
	}
	if cs.join != "" && !d.node.HasState() && d.wal.LastIndex() > 0 {
		return fmt.Errorf("memimgd: cluster: the data directory %s holds data (%d log entries); a node joins a cluster empty (to bring data into a cluster, start this node with --cluster-bootstrap instead)", d.dir, d.wal.LastIndex())
	}
	if !cs.bootstrap && cs.join == "" && !d.node.HasState() {
		return fmt.Errorf("memimgd: cluster: this node belongs to no cluster yet: start it with --cluster-bootstrap (a new cluster) or --cluster-join host:port (an existing one)")
	}
	d.setStage("starting raft")
	d.eng, err = engine.Open(engine.Options{
		Replicator:   d.node,
		Fsync:        engine.FsyncAlways,
		Databases:    d.set.databases,
		MaxEntrySize: wal.MaxRecordSize,
		Logger:       d.log,
		Base:         base,
	})
	if err != nil {
		return fmt.Errorf("memimgd: open engine: %w", err)
	}
	if err := d.node.Start(d.eng); err != nil {
		return fmt.Errorf("memimgd: cluster: %w", err)
	}
	d.log.Info("cluster node started", "node_id", cs.nodeID, "cluster_addr", cs.addr, "client_addr", d.node.Addr(),
		"bootstrap", cs.bootstrap, "join", cs.join, "nonvoter", cs.nonvoter)
	return nil
}

// saveForRaft writes a snapshot for Raft (before a log compaction, after
// restoring a snapshot received from the leader) and returns once it is
// durable. Raft may ask before the Saver exists (a follower restoring a
// snapshot right at start-up), or while a BGSAVE runs: it waits for both.
func (d *daemon) saveForRaft() error {
	for {
		sv := d.saver.Load()
		if sv == nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		err := sv.Save()
		if !snapshot.IsInProgress(err) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
