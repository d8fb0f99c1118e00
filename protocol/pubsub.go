package protocol

// Pub/sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH,
// SPUBLISH and PUBSUB, with Redis 7's replies in RESP2 and RESP3.
//
// Messages are not data: they are never logged, never reach the engine and
// are lost by a subscriber that disconnects, as in Redis.
//
// # Delivery
//
// A publisher runs on its own connection's goroutine, and a redcon.Conn is
// not safe for use by two goroutines, so a message never touches the
// subscriber's redcon.Conn. Every connection that has subscribed once gets
// an outbound queue (psClient) and from then on all its output goes
// through that queue and is written to the socket directly (net.Conn
// writes are atomic with respect to each other; redcon's own writer is
// left empty). A publisher only appends the encoded message to the queue,
// under the queue's lock, and:
//
//   - if the subscriber's goroutine is running a batch of commands, the
//     message is held and merged into that batch's replies when the batch
//     ends (see below);
//   - if nobody is writing the queue, the publisher starts a goroutine that
//     writes it until it is empty, so a subscriber blocked reading (RESP2
//     or RESP3) receives messages at once;
//   - otherwise the goroutine already writing picks it up.
//
// At the end of a batch the subscriber's goroutine writes its replies
// itself if nobody else is writing, once, and hands any rest to a writer
// goroutine, so a steady stream of messages never keeps it from reading
// its next command.
//
// # Order
//
// Messages from one publisher arrive in the order published. A
// subscription's confirmation precedes every message it brings, and no
// message of a channel follows the confirmation of its UNSUBSCRIBE: when a
// (un)subscription takes effect during a batch, the messages held until then
// are marked to go just before its reply, and those held after it go after
// it (after the batch's last reply, when nothing else takes effect). A mark
// that falls inside a reply, an (UN)SUBSCRIBE run by EXEC, moves to the end
// of that reply, so no message lands inside EXEC's array (a message held
// before an UNSUBSCRIBE run by EXEC therefore follows EXEC's reply). A
// connection that publishes to a channel it is subscribed to (RESP3)
// receives the message before PUBLISH's reply, as in Redis.
//
// # Slow subscribers
//
// A subscriber whose queued output (replies and messages not yet written)
// would exceed Config.PubSubBufferLimit (32 MiB by default, Redis's
// client-output-buffer-limit pubsub hard limit) is disconnected, and the
// server logs it. A publisher never waits for a subscriber.

import (
	"sort"
	"strings"
	"sync"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// DefaultPubSubBufferLimit is the default Config.PubSubBufferLimit.
const DefaultPubSubBufferLimit = 32 << 20

// The three namespaces of subscriptions.
const (
	psChannel = iota // SUBSCRIBE
	psPattern        // PSUBSCRIBE
	psShard          // SSUBSCRIBE
	psKinds
)

// The reply names of each kind.
var (
	psSubName   = [psKinds]string{"subscribe", "psubscribe", "ssubscribe"}
	psUnsubName = [psKinds]string{"unsubscribe", "punsubscribe", "sunsubscribe"}
)

// pubsub is a Server's registry of subscriptions.
type pubsub struct {
	mu   sync.RWMutex
	subs [psKinds]map[string]map[*client]struct{} // name → subscribers
}

// psClient is the pub/sub state of a connection that has subscribed once.
type psClient struct {
	// Written by the connection's goroutine with Server.ps.mu held, so the
	// connection's goroutine reads them without it, others with it.
	subs  [psKinds]map[string]uint64 // name → order of subscription
	seq   uint64
	total int // all subscriptions: the connection is in pub/sub mode if > 0

	mu       sync.Mutex
	cond     sync.Cond // signalled when a writer stops
	buf      []byte    // to write, in order
	spare    []byte    // the buffer of the last write, for reuse
	held     []byte    // messages that arrived during a batch
	marks    []psMark  // where held messages go in the batch's replies
	inflight int       // bytes being written
	busy     bool      // the connection's goroutine runs a batch
	writing  bool      // a goroutine is writing buf
	closed   bool      // no more messages: the connection is closing
	broken   bool      // a write failed: drop everything
}

// psMark says that held[:end] (from the previous mark's end) goes before
// the reply that starts at offset at of the batch's output.
type psMark struct{ end, at int }

func newPSClient() *psClient {
	q := &psClient{busy: true}
	for k := range q.subs {
		q.subs[k] = make(map[string]uint64)
	}
	q.cond.L = &q.mu
	return q
}

// count is the number Redis puts in a (un)subscribe reply: channels and
// patterns together, shard channels on their own.
func (q *psClient) count(kind int) int {
	if kind == psShard {
		return len(q.subs[psShard])
	}
	return len(q.subs[psChannel]) + len(q.subs[psPattern])
}

// mark records, with q.mu held, that the messages held so far go before
// offset at of the batch's output.
func (q *psClient) mark(at int) {
	end := 0
	if n := len(q.marks); n > 0 {
		end = q.marks[n-1].end
	}
	if len(q.held) > end {
		q.marks = append(q.marks, psMark{end: len(q.held), at: at})
	}
}

// queued is the output waiting to be written; q.mu is held.
func (q *psClient) queued() int { return len(q.buf) + len(q.held) + q.inflight }

// begin is called when the connection's goroutine starts a batch: messages
// are held until its replies are ready. Nil-safe.
func (q *psClient) begin() {
	if q == nil {
		return
	}
	q.mu.Lock()
	q.busy = true
	q.mu.Unlock()
}

// limit is the output a subscriber may have queued; 0 for none.
func (s *Server) psLimit() int {
	switch l := s.cfg.PubSubBufferLimit; {
	case l == 0:
		return DefaultPubSubBufferLimit
	case l < 0:
		return 0
	default:
		return int(l)
	}
}

// push queues msg, a message encoded as RESP2 (a '*' array); it is sent
// as a push ('>') to a RESP3 connection. from is the publishing connection.
func (c *client) push(from *client, msg []byte) {
	q := c.ps
	resp3 := c.resp.Load() >= 3
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if c == from {
		// Our own goroutine, in a batch: the message goes before the reply
		// of PUBLISH, after what was held before it.
		q.mark(len(c.out))
		c.out = appendPush(c.out, msg, resp3)
		q.mu.Unlock()
		return
	}
	if lim := c.srv.psLimit(); lim > 0 && q.queued()+len(msg) > lim {
		q.closed = true
		q.buf, q.held, q.marks = nil, nil, nil
		q.mu.Unlock()
		c.srv.log.Warn("subscriber closed for overcoming of output buffer limits",
			"id", c.id, "addr", c.addr, "limit", lim)
		c.nc.Conn.Close()
		return
	}
	if q.busy {
		q.held = appendPush(q.held, msg, resp3)
		q.mu.Unlock()
		return
	}
	q.buf = appendPush(q.buf, msg, resp3)
	if q.writing {
		q.mu.Unlock()
		return
	}
	q.writing = true
	q.mu.Unlock()
	go c.drain()
}

func appendPush(b, msg []byte, resp3 bool) []byte {
	n := len(b)
	b = append(b, msg...)
	if resp3 {
		b[n] = '>'
	}
	return b
}

// drain writes the queue until it is empty; the caller has set q.writing.
func (c *client) drain() {
	q := c.ps
	q.mu.Lock()
	for len(q.buf) > 0 && !q.broken {
		q.writeOnce(c)
	}
	q.writing = false
	q.cond.Broadcast()
	q.mu.Unlock()
}

// writeOnce writes what buf holds, with q.mu held on entry and on return
// (not during the write); q.writing is the caller's.
func (q *psClient) writeOnce(c *client) {
	b := q.buf
	q.buf, q.spare = q.spare[:0], nil
	q.inflight = len(b)
	q.mu.Unlock()
	_, err := c.nc.Write(b)
	q.mu.Lock()
	q.inflight = 0
	if cap(b) <= 64<<10 {
		q.spare = b[:0]
	}
	if err != nil {
		q.broken, q.closed = true, true
		q.buf, q.held, q.marks = nil, nil, nil
		c.nc.Conn.Close()
	}
}

// pubsubFlush ends a batch of a connection that has subscribed once: its
// replies (c.out) and the messages held during the batch join the queue, in
// order, and are written. Called instead of handing c.out to redcon.
func (c *client) pubsubFlush() {
	q := c.ps
	out := c.out
	if cap(c.out) > 64<<10 {
		c.out = nil
	} else {
		c.out = c.out[:0]
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.busy = false
	if !q.broken {
		q.merge(out)
	}
	if c.quit {
		q.closed = true // what is queued is written, then the connection closes
	}
	for len(q.buf) > 0 && !q.broken {
		if q.writing {
			if !c.quit {
				return // the writer takes it
			}
			q.cond.Wait()
			continue
		}
		q.writing = true
		q.writeOnce(c)
		if len(q.buf) > 0 && !c.quit && !q.broken {
			go c.drain() // a steady stream: back to reading commands
			return
		}
		q.writing = false
		q.cond.Broadcast()
	}
}

// merge appends out, the batch's replies, to buf with the held messages at
// their marks; q.mu is held.
func (q *psClient) merge(out []byte) {
	if len(q.held) == 0 {
		q.buf = append(q.buf, out...)
		return
	}
	// A mark inside a reply (a SUBSCRIBE in EXEC) moves to its end.
	pos := 0
	for i := range q.marks {
		for pos < q.marks[i].at {
			n := skipReply(out[pos:])
			if n <= 0 {
				pos = len(out)
				break
			}
			pos += n
		}
		q.marks[i].at = pos
	}
	o, h := 0, 0
	for _, m := range q.marks {
		q.buf = append(q.buf, out[o:m.at]...)
		q.buf = append(q.buf, q.held[h:m.end]...)
		o, h = m.at, m.end
	}
	q.buf = append(q.buf, out[o:]...)
	q.buf = append(q.buf, q.held[h:]...)
	if cap(q.held) > 64<<10 {
		q.held = nil
	} else {
		q.held = q.held[:0]
	}
	q.marks = q.marks[:0]
}

// skipReply returns the length of the RESP reply at the start of b, or -1
// if b does not start with a whole reply.
func skipReply(b []byte) int {
	line := -1
	for i := 1; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			line = i + 2
			break
		}
	}
	if len(b) == 0 || line < 0 {
		return -1
	}
	n, ok := schema.ParseInt(b[1 : line-2])
	switch b[0] {
	case '$', '=', '!':
		if !ok {
			return -1
		}
		if n < 0 {
			return line
		}
		if end := line + int(n) + 2; end <= len(b) {
			return end
		}
		return -1
	case '*', '~', '>', '%', '|':
		if !ok {
			return -1
		}
		if b[0] == '%' || b[0] == '|' {
			n *= 2
		}
		pos := line
		for ; n > 0; n-- {
			k := skipReply(b[pos:])
			if k < 0 {
				return -1
			}
			pos += k
		}
		if b[0] == '|' { // an attribute precedes a reply
			k := skipReply(b[pos:])
			if k < 0 {
				return -1
			}
			pos += k
		}
		return pos
	default:
		return line
	}
}

// appendPubSubReply appends a (un)subscribe confirmation: a push in RESP3.
func appendPubSubReply(b []byte, resp3 bool, kind string, name []byte, null bool, count int) []byte {
	if resp3 {
		b = append(b, ">3\r\n"...)
	} else {
		b = append(b, "*3\r\n"...)
	}
	b = appendBulk(b, kind)
	switch {
	case !null:
		b = appendBulkBytes(b, name)
	case resp3:
		b = append(b, "_\r\n"...)
	default:
		b = append(b, "$-1\r\n"...)
	}
	return AppendReply(b, engine.Int(int64(count)), 2)
}

// psBegin returns the connection's pub/sub state, created on the first
// subscription, with Server.ps.mu held by the caller; q.mu is then locked
// and the messages held so far are marked to go before the reply to come.
func (c *client) psBegin() *psClient {
	if c.ps == nil {
		c.ps = newPSClient() // busy: we are in a batch
	}
	q := c.ps
	q.mu.Lock()
	q.mark(len(c.out))
	return q
}

func (c *client) subscribe(kind int, names [][]byte) {
	p := &c.srv.ps
	resp3 := c.resp.Load() >= 3
	p.mu.Lock()
	q := c.psBegin()
	for _, name := range names {
		if _, ok := q.subs[kind][string(name)]; !ok {
			n := string(name)
			q.seq++
			q.subs[kind][n] = q.seq
			q.total++
			if p.subs[kind] == nil {
				p.subs[kind] = make(map[string]map[*client]struct{})
			}
			m := p.subs[kind][n]
			if m == nil {
				m = make(map[*client]struct{})
				p.subs[kind][n] = m
			}
			m[c] = struct{}{}
		}
		c.out = appendPubSubReply(c.out, resp3, psSubName[kind], name, false, q.count(kind))
	}
	q.mu.Unlock()
	p.mu.Unlock()
}

// unsubscribe removes the subscriptions to names, or all of kind if names
// is empty, replying to each unless quiet (RESET).
func (c *client) unsubscribe(kind int, names [][]byte, quiet bool) {
	p := &c.srv.ps
	resp3 := c.resp.Load() >= 3
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.ps == nil {
		// Never subscribed: nothing to end, and no queue needed.
		if !quiet {
			for _, name := range names {
				c.out = appendPubSubReply(c.out, resp3, psUnsubName[kind], name, false, 0)
			}
			if len(names) == 0 {
				c.out = appendPubSubReply(c.out, resp3, psUnsubName[kind], nil, true, 0)
			}
		}
		return
	}
	q := c.psBegin()
	defer q.mu.Unlock()
	if len(names) == 0 {
		names = q.names(kind)
		if len(names) == 0 {
			if !quiet {
				c.out = appendPubSubReply(c.out, resp3, psUnsubName[kind], nil, true, q.count(kind))
			}
			return
		}
	}
	for _, name := range names {
		if _, ok := q.subs[kind][string(name)]; ok {
			delete(q.subs[kind], string(name))
			q.total--
			if m := p.subs[kind][string(name)]; m != nil {
				delete(m, c)
				if len(m) == 0 {
					delete(p.subs[kind], string(name))
				}
			}
		}
		if !quiet {
			c.out = appendPubSubReply(c.out, resp3, psUnsubName[kind], name, false, q.count(kind))
		}
	}
}

// names lists the subscriptions of kind in the order they were made.
func (q *psClient) names(kind int) [][]byte {
	type sub struct {
		name string
		seq  uint64
	}
	subs := make([]sub, 0, len(q.subs[kind]))
	for n, seq := range q.subs[kind] {
		subs = append(subs, sub{n, seq})
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].seq < subs[j].seq })
	out := make([][]byte, len(subs))
	for i, s := range subs {
		out[i] = []byte(s.name)
	}
	return out
}

// publish delivers msg to the subscribers of channel in the namespace of
// kind (psChannel, which patterns also match, or psShard) and returns the
// number of deliveries, as Redis counts them: one per subscription that
// matched, so a connection matched by two patterns counts twice.
func (s *Server) publish(from *client, kind int, channel, msg []byte) int {
	p := &s.ps
	p.mu.RLock()
	defer p.mu.RUnlock()
	n := 0
	if subs := p.subs[kind][string(channel)]; len(subs) > 0 {
		name := "message"
		if kind == psShard {
			name = "smessage"
		}
		enc := appendMessage(nil, name, nil, channel, msg)
		for c := range subs {
			c.push(from, enc)
			n++
		}
	}
	if kind != psChannel {
		return n
	}
	var enc []byte
	for pat, subs := range p.subs[psPattern] {
		if !schema.Match([]byte(pat), channel, false) {
			continue
		}
		enc = appendMessage(enc[:0], "pmessage", []byte(pat), channel, msg)
		for c := range subs {
			c.push(from, enc)
			n++
		}
	}
	return n
}

// appendMessage encodes a message as a RESP2 array: message or smessage
// with the channel, or pmessage with the pattern and the channel.
func appendMessage(b []byte, kind string, pattern, channel, msg []byte) []byte {
	if pattern != nil {
		b = append(b, "*4\r\n"...)
		b = appendBulk(b, kind)
		b = appendBulkBytes(b, pattern)
	} else {
		b = append(b, "*3\r\n"...)
		b = appendBulk(b, kind)
	}
	b = appendBulkBytes(b, channel)
	return appendBulkBytes(b, msg)
}

// pubsubMode reports whether the connection is in RESP2 pub/sub mode, where
// only a few commands are allowed.
func (c *client) pubsubMode() bool {
	return c.ps != nil && c.ps.total > 0 && c.resp.Load() < 3
}

// refusedInPubSub answers the commands a RESP2 connection in pub/sub mode
// may not run with Redis's error and reports whether it did.
func (c *client) refusedInPubSub(cmd *schema.Command, argv [][]byte) bool {
	if !c.pubsubMode() {
		return false
	}
	switch cmd.Name {
	case "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe",
		"ping", "quit", "reset":
		return false
	}
	name := cmd.Name
	if subcommandContainers[name] && len(argv) > 1 {
		name += "|" + strings.ToLower(string(argv[1]))
	}
	c.flushPending()
	c.refuse(cmd, engine.Errorf("ERR Can't execute '"+name+"': only (P|S)SUBSCRIBE / "+
		"(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
	return true
}

// subcommandContainers are the commands whose name Redis gives with the
// subcommand ("config|get").
var subcommandContainers = map[string]bool{
	"acl": true, "client": true, "cluster": true, "command": true, "config": true,
	"function": true, "latency": true, "memory": true, "module": true, "object": true,
	"pubsub": true, "script": true, "slowlog": true, "xgroup": true, "xinfo": true,
}

// pingInPubSub answers PING in RESP2 pub/sub mode, ["pong", message], and
// reports whether it did.
func (c *client) pingInPubSub(argv [][]byte) bool {
	if !c.pubsubMode() || len(argv) > 2 {
		return false
	}
	msg := engine.Bulk("")
	if len(argv) == 2 {
		msg = engine.BulkBytes(argv[1])
	}
	c.reply(engine.Array(engine.Bulk("pong"), msg))
	return true
}

// pubsubReset ends every subscription without replies (RESET).
func (c *client) pubsubReset() {
	for kind := 0; kind < psKinds; kind++ {
		c.unsubscribe(kind, nil, true)
	}
}

// pubsubClosed removes a closed connection's subscriptions and drops its
// queue.
func (c *client) pubsubClosed() {
	if c.ps == nil {
		return
	}
	p := &c.srv.ps
	p.mu.Lock()
	for kind := range c.ps.subs {
		for name := range c.ps.subs[kind] {
			if m := p.subs[kind][name]; m != nil {
				delete(m, c)
				if len(m) == 0 {
					delete(p.subs[kind], name)
				}
			}
		}
		c.ps.subs[kind] = map[string]uint64{}
	}
	c.ps.total = 0
	p.mu.Unlock()
	q := c.ps
	q.mu.Lock()
	q.closed = true
	q.buf, q.held, q.marks, q.spare = nil, nil, nil, nil
	q.mu.Unlock()
}

// pubsubCounts returns the connection's subscriptions for CLIENT LIST:
// channels, patterns, shard channels.
func (c *client) pubsubCounts() (sub, psub, ssub int) {
	p := &c.srv.ps
	p.mu.RLock()
	defer p.mu.RUnlock()
	if c.ps == nil {
		return 0, 0, 0
	}
	return len(c.ps.subs[psChannel]), len(c.ps.subs[psPattern]), len(c.ps.subs[psShard])
}

func cmdSubscribe(c *client, argv [][]byte)  { c.subscribe(psChannel, argv[1:]) }
func cmdPSubscribe(c *client, argv [][]byte) { c.subscribe(psPattern, argv[1:]) }
func cmdSSubscribe(c *client, argv [][]byte) { c.subscribe(psShard, argv[1:]) }

func cmdUnsubscribe(c *client, argv [][]byte)  { c.unsubscribe(psChannel, argv[1:], false) }
func cmdPUnsubscribe(c *client, argv [][]byte) { c.unsubscribe(psPattern, argv[1:], false) }
func cmdSUnsubscribe(c *client, argv [][]byte) { c.unsubscribe(psShard, argv[1:], false) }

func cmdPublish(c *client, argv [][]byte) {
	c.reply(engine.Int(int64(c.srv.publish(c, psChannel, argv[1], argv[2]))))
}

func cmdSPublish(c *client, argv [][]byte) {
	c.reply(engine.Int(int64(c.srv.publish(c, psShard, argv[1], argv[2]))))
}

// cmdPubSub is PUBSUB CHANNELS / NUMSUB / NUMPAT / SHARDCHANNELS /
// SHARDNUMSUB / HELP.
func cmdPubSub(c *client, argv [][]byte) {
	sub := strings.ToLower(string(argv[1]))
	p := &c.srv.ps
	switch sub {
	case "channels", "shardchannels":
		if len(argv) > 3 {
			c.reply(engine.Errorf("ERR unknown subcommand or wrong number of arguments for '" +
				truncate(string(argv[1]), 128) + "'. Try PUBSUB HELP."))
			return
		}
		kind := psChannel
		if sub == "shardchannels" {
			kind = psShard
		}
		var names []string
		p.mu.RLock()
		for name := range p.subs[kind] {
			if len(argv) == 2 || schema.Match(argv[2], []byte(name), false) {
				names = append(names, name)
			}
		}
		p.mu.RUnlock()
		sort.Strings(names)
		elems := make([]engine.Reply, len(names))
		for i, n := range names {
			elems[i] = engine.Bulk(n)
		}
		c.reply(engine.Array(elems...))
	case "numsub", "shardnumsub":
		kind := psChannel
		if sub == "shardnumsub" {
			kind = psShard
		}
		elems := make([]engine.Reply, 0, 2*(len(argv)-2))
		p.mu.RLock()
		for _, name := range argv[2:] {
			elems = append(elems, engine.BulkBytes(name), engine.Int(int64(len(p.subs[kind][string(name)]))))
		}
		p.mu.RUnlock()
		c.reply(engine.Array(elems...))
	case "numpat":
		if len(argv) != 2 {
			c.reply(subArity("pubsub", sub))
			return
		}
		p.mu.RLock()
		n := len(p.subs[psPattern])
		p.mu.RUnlock()
		c.reply(engine.Int(int64(n)))
	case "help":
		if len(argv) != 2 {
			c.reply(subArity("pubsub", sub))
			return
		}
		help(c,
			"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"CHANNELS [<pattern>]",
			"    Return the currently active channels matching a <pattern> (default: '*').",
			"NUMPAT",
			"    Return number of subscriptions to patterns.",
			"NUMSUB [<channel> ...]",
			"    Return the number of subscribers for the specified channels, excluding",
			"    pattern subscriptions(default: no channels).",
			"SHARDCHANNELS [<pattern>]",
			"    Return the currently active shard level channels matching a <pattern> (default: '*').",
			"SHARDNUMSUB [<shardchannel> ...]",
			"    Return the number of subscribers for the specified shard level channel(s)",
			"HELP",
			"    Prints this help.")
	default:
		c.reply(subcommandError("pubsub", argv[1]))
	}
}
