package protocol

import (
	"strings"
	"time"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// Cluster is the daemon's replication, as the protocol layer needs it: the
// cluster commands, linearizable reads and INFO replication. Config.Cluster
// is nil on a standalone server.
type Cluster interface {
	// ReadBarrier returns once a read on this node sees every write
	// acknowledged anywhere in the cluster before the call.
	ReadBarrier() error
	// Command answers MEMIMG.CLUSTER (argv[0] is the command name).
	Command(argv [][]byte) engine.Reply
	// Role answers ROLE.
	Role() engine.Reply
	// Propose answers memimg.propose: a follower's writes, which a leader
	// proposes; each reply is engine.AppendReply's encoding in a bulk
	// string (an array of them for several writes).
	Propose(payloads [][]byte) engine.Reply
	// ReadIndex answers memimg.readindex on the leader.
	ReadIndex() (uint64, error)
	// WaitTarget is an index at or after every write acknowledged to a
	// client of this node so far (what WAIT waits for).
	WaitTarget() (uint64, error)
	// Replicas counts the members other than the leader whose log holds
	// the entry at index (WAIT's answer).
	Replicas(index uint64) int
	// Info returns the fields of INFO replication.
	Info() []Field
}

func init() {
	connHandlers[schema.Lookup([]byte("role")).ID] = cmdRole
	connHandlers[schema.Lookup([]byte("readonly")).ID] = cmdReadonly(true)
	connHandlers[schema.Lookup([]byte("readwrite")).ID] = cmdReadonly(false)
	connHandlers[schema.Lookup([]byte("wait")).ID] = cmdWait
	connHandlers[schema.Lookup([]byte("memimg.cluster")).ID] = cmdCluster
	connHandlers[schema.Lookup([]byte("memimg.propose")).ID] = cmdPropose
	connHandlers[schema.Lookup([]byte("memimg.readindex")).ID] = cmdReadIndex
}

var errNotCluster = engine.Errorf("ERR This instance has cluster support disabled (start memimgd with --cluster-node-id and --cluster-addr)")

// ROLE: a standalone server is a master without replicas, as Redis.
func cmdRole(c *client, argv [][]byte) {
	if cl := c.srv.cfg.Cluster; cl != nil {
		c.reply(cl.Role())
		return
	}
	c.reply(engine.Array(engine.Bulk("master"), engine.Int(int64(c.srv.appliedIndex())), engine.Array()))
}

// READONLY and READWRITE: a connection to a follower that sent READONLY
// reads the follower's image as it is (fast, possibly stale), as on a
// Redis Cluster replica; by default reads are linearizable.
func cmdReadonly(on bool) func(c *client, argv [][]byte) {
	return func(c *client, argv [][]byte) {
		if c.srv.cfg.Cluster == nil {
			c.reply(errNotCluster)
			return
		}
		c.staleReads = on
		c.reply(engine.OK)
	}
}

// WAIT numreplicas timeout, with Redis's meaning: it waits until at least
// numreplicas replicas (the members other than the leader) hold every
// write acknowledged to this connection, or until timeout milliseconds
// pass (0: no limit), and answers how many do. A cluster write is
// acknowledged once committed on a quorum, so WAIT for fewer than half
// the voters answers at once; for more it waits for the others to catch
// up. A standalone server has no replicas: WAIT 0 answers 0 at once, a
// higher count waits for the timeout, as Redis without replicas does.
func cmdWait(c *client, argv [][]byte) {
	want, ok := schema.ParseInt(argv[1])
	if !ok {
		c.reply(engine.Errorf("ERR value is not an integer or out of range"))
		return
	}
	ms, ok := schema.ParseInt(argv[2])
	if !ok || ms < 0 {
		c.reply(engine.Errorf("ERR timeout is not an integer or out of range"))
		return
	}
	cl := c.srv.cfg.Cluster
	count := func() int { return 0 }
	if cl != nil {
		target, err := cl.WaitTarget()
		if err != nil {
			c.reply(engine.Errorf("CLUSTERDOWN cannot tell which writes to wait for: " + err.Error()))
			return
		}
		count = func() int { return cl.Replicas(target) }
	}
	n := count()
	if int64(n) >= want {
		c.reply(engine.Int(int64(n)))
		return
	}
	bw := c.startWait(time.Duration(ms) * time.Millisecond)
	defer bw.end()
	for {
		var poll <-chan struct{} // standalone: nothing to poll, only the timeout ends it
		var t *time.Timer
		if cl != nil {
			p := make(chan struct{})
			t = time.AfterFunc(waitPollEvery, func() { close(p) })
			poll = p
		}
		end := bw.wait(poll)
		if t != nil {
			t.Stop()
		}
		switch end {
		case waitWoken:
			if n = count(); int64(n) >= want {
				c.reply(engine.Int(int64(n)))
				return
			}
		case waitTimedOut, waitUnblocked:
			c.reply(engine.Int(int64(count())))
			return
		case waitUnblockedError:
			c.reply(errUnblocked)
			return
		case waitGone:
			return
		}
	}
}

// waitPollEvery is how often a waiting WAIT asks the replicas again.
const waitPollEvery = 10 * time.Millisecond

// MEMIMG.CLUSTER MEMBERS | LEADER | JOIN | LEAVE | TRANSFER | HELP.
func cmdCluster(c *client, argv [][]byte) {
	if strings.EqualFold(string(argv[1]), "help") {
		help(c,
			"MEMIMG.CLUSTER <subcommand> [<arg> ...]. Subcommands are:",
			"MEMBERS", "    The members: id, Raft address, client address, voter|nonvoter, leader|follower.",
			"ID", "    The cluster's id.",
			"LEADER", "    The leader's id and client address.",
			"JOIN <id> <raft-addr> <client-addr> [VOTER|NONVOTER] [<cluster-id>]",
			"    Add a member (sent by a node started with --cluster-join).",
			"LEAVE <id>", "    Remove a member.",
			"TRANSFER [<id>]", "    Hand the leadership to a member (the most up-to-date one by default).",
			"SNAPSHOT", "    Take a Raft snapshot now (and compact the log with --cluster-compact-entries).",
			"LASTINDEX", "    The index of the last entry in this node's log (what WAIT counts).",
			"HELP", "    Print this help.")
		return
	}
	cl := c.srv.cfg.Cluster
	if cl == nil {
		c.reply(errNotCluster)
		return
	}
	c.reply(cl.Command(argv))
}

// memimg.propose payload: from a follower.
func cmdPropose(c *client, argv [][]byte) {
	cl := c.srv.cfg.Cluster
	if cl == nil {
		c.reply(errNotCluster)
		return
	}
	c.reply(cl.Propose(argv[1:]))
}

// memimg.readindex: from a follower about to serve a read.
func cmdReadIndex(c *client, argv [][]byte) {
	cl := c.srv.cfg.Cluster
	if cl == nil {
		c.reply(errNotCluster)
		return
	}
	idx, err := cl.ReadIndex()
	if err != nil {
		c.reply(engine.Errorf("READONLY " + err.Error()))
		return
	}
	c.reply(engine.Int(int64(idx)))
}

// readBarrier makes the reads of this batch linearizable: one barrier per
// batch of commands read together (every one of them arrived before it).
func (c *client) readBarrier() bool {
	cl := c.srv.cfg.Cluster
	if cl == nil || c.staleReads || c.barrierDone {
		return true
	}
	if err := cl.ReadBarrier(); err != nil {
		c.reply(engine.Errorf("CLUSTERDOWN cannot confirm a linearizable read: " + err.Error()))
		return false
	}
	c.barrierDone = true
	return true
}
