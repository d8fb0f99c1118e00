package replication

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/engine"
)

// # A follower's forwarder
//
// A follower sends its clients' writes to the leader. The forwarder queues
// them and sends a group at a time (a grouper, grouper.go): everything that
// queued while the previous request was out, as one memimg.propose with
// every payload, which the leader proposes together (most likely as one
// entry) and answers with an array of replies. One request per group
// instead of one per write saves both nodes the round trips' system calls
// and wake-ups.
//
// Anything but a clean answer falls back to forwarding each write of the
// group on its own (Node.forward), which waits for a new leader and
// retries a write that certainly did not enter the log: a request refused
// as a whole (the node asked does not lead, or no connection could be
// made), or an element answered -READONLY (its write was not proposed).
// A request sent whose answer is lost makes every write in it of unknown
// outcome, as a single write's would be.
type forwarder struct {
	n *Node
	g *grouper[*forwarded]
}

// forwarded is one write waiting in the forwarder.
type forwarded struct {
	payload []byte
	reply   chan engine.Reply
}

func newForwarder(n *Node) *forwarder {
	f := &forwarder{n: n}
	f.g = newGrouper(f.handle, func(w *forwarded) {
		w.reply <- engine.Errorf("TRYAGAIN the node is stopping; the write was not applied")
	}, n.stop)
	return f
}

// forward queues payload; the returned channel receives its reply.
func (f *forwarder) forward(payload []byte) <-chan engine.Reply {
	w := &forwarded{payload: payload, reply: make(chan engine.Reply, 1)}
	f.g.add(w)
	return w.reply
}

// handle sends a group to the leader, a request per chunk.
func (f *forwarder) handle(group []*forwarded) {
	chunks(len(group), func(i int) int { return len(group[i].payload) }, func(lo, hi int) {
		f.send(group[lo:hi])
	})
}

// alone forwards w by itself, in the background (it may wait for a new
// leader). Only a write that did not reach the leader goes alone: its
// order with the writes after it is not kept (as across a failover).
func (f *forwarder) alone(w *forwarded) {
	go func() { w.reply <- f.n.forward(w.payload) }()
}

// send forwards part in one memimg.propose and answers its writes; it
// returns once the leader has answered, so the next group follows this
// one (a connection's pipelined writes keep their order).
func (f *forwarder) send(part []*forwarded) {
	n := f.n
	c, addr, err := n.leaderClient()
	if errors.Is(err, errSelfLeader) {
		// This node leads now: propose here, in order.
		futures := make([]<-chan raft.ApplyFuture, len(part))
		for i, w := range part {
			futures[i] = n.proposer.propose(w.payload)
		}
		for i, w := range part {
			w.reply <- n.applyReply(<-futures[i], w.payload, false)
		}
		return
	}
	if err != nil {
		for _, w := range part { // no leader yet: each waits for one
			f.alone(w)
		}
		return
	}
	args := make([]any, 0, 1+len(part))
	args = append(args, "memimg.propose")
	for _, w := range part {
		args = append(args, w.payload)
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ApplyTimeout+5*time.Second)
	val, err := c.Do(ctx, args...).Result()
	cancel()
	var rerr redis.Error
	if len(part) == 1 && errors.As(err, &rerr) {
		val, err = []any{rerr}, nil // one write's own answer
	} else if len(part) == 1 && err == nil {
		val = []any{val}
	}
	vals, ok := val.([]any)
	if err == nil && (!ok || len(vals) != len(part)) {
		err = errors.New("the leader's answer does not match the request")
	}
	if err != nil && strings.Contains(err.Error(), "wrong number of arguments") {
		// A leader of an older version, which takes one write per
		// memimg.propose (nothing was proposed): one at a time, in order.
		for _, w := range part {
			w.reply <- n.forward(w.payload)
		}
		return
	}
	if err != nil {
		var op *net.OpError
		if strings.HasPrefix(err.Error(), "READONLY") || strings.HasPrefix(err.Error(), "CLUSTERDOWN") ||
			errors.As(err, &op) && op.Op == "dial" {
			for _, w := range part { // refused as a whole, or never sent
				f.alone(w)
			}
			return
		}
		r := engine.Errorf(ErrUnknownOutcome + "the leader at " + addr + " did not answer: " + err.Error())
		for _, w := range part {
			w.reply <- r
		}
		return
	}
	for i, v := range vals {
		w := part[i]
		switch v := v.(type) {
		case string:
			r, _, err := engine.DecodeReply([]byte(v))
			if err != nil {
				r = engine.Errorf("ERR the leader's reply could not be decoded: " + err.Error())
			}
			w.reply <- r
		case error:
			if strings.HasPrefix(v.Error(), "READONLY") || strings.HasPrefix(v.Error(), "CLUSTERDOWN") {
				f.alone(w) // not proposed: the leader changed meanwhile
				continue
			}
			w.reply <- engine.Errorf(v.Error())
		default:
			w.reply <- engine.Errorf("ERR the leader's reply could not be decoded")
		}
	}
}
