package protocol

import (
	"crypto/subtle"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// client is the state of one connection.
type client struct {
	srv     *Server
	rc      redcon.Conn
	nc      *conn
	id      uint64
	addr    string
	laddr   string
	fd      int
	created time.Time

	// Owned by the connection's goroutine.
	authed  bool
	pending []engine.Pending // writes queued in the engine, replies not yet written
	out     []byte           // replies of the current pipeline
	quit    bool             // close once the replies are written
	ps      *psClient        // pub/sub state and output queue, from the first subscription (pubsub.go)

	// The transaction (multi.go), owned by the connection's goroutine.
	tx *multiState // inside MULTI; nil outside

	// Cluster (cluster_cmd.go), owned by the connection's goroutine.
	staleReads  bool                  // READONLY: reads skip the linearizability barrier
	barrierDone bool                  // this batch's reads are past a barrier
	watched     []engine.Watch        // WATCHed keys
	watchSet    map[watchKey]struct{} // the watched keys, when there are many

	// Read by CLIENT LIST and INFO from other goroutines.
	db         atomic.Int32
	resp       atomic.Int32
	lastActive atomic.Int64 // unix nanoseconds
	lastCmd    atomic.Pointer[schema.Command]
	lastSub    atomic.Pointer[string] // the subcommand of a container command (CLIENT LIST's cmd=client|list)
	commands   atomic.Uint64
	errors     atomic.Uint64
	netIn      atomic.Uint64
	netOut     atomic.Uint64
	txLen      atomic.Int32 // commands queued since MULTI + 1; 0 outside MULTI
	blocked    atomic.Bool  // waiting in a blocking command (blocking.go)

	unblock chan unblockMode // CLIENT UNBLOCK's request to end the wait

	mu      sync.Mutex // guards the names
	name    string
	libName string
	libVer  string
}

func newClient(s *Server, nc net.Conn) *client {
	now := time.Now()
	c := &client{
		srv:     s,
		id:      s.nextID.Add(1),
		addr:    nc.RemoteAddr().String(),
		laddr:   nc.LocalAddr().String(),
		fd:      fdOf(nc),
		created: now,
		unblock: make(chan unblockMode, 1),
	}
	c.resp.Store(2)
	c.lastActive.Store(now.UnixNano())
	c.nc = &conn{Conn: nc, client: c, sc: *NewScanner(Limits{MaxBulkLen: s.maxBulk.Load(), MaxRequest: s.cfg.MaxRequest})}
	return c
}

// serveRESP is redcon's handler. It runs the command it is given and every
// command already read behind it (the rest of a pipeline): writes are queued
// in the engine together, so one log write and fsync covers the pipeline,
// and the replies are written in order.
func (s *Server) serveRESP(rc redcon.Conn, cmd redcon.Command) {
	c, ok := rc.Context().(*client)
	if !ok {
		rc.WriteError("ERR internal error: connection without state")
		rc.Close()
		return
	}
	c.lastActive.Store(time.Now().UnixNano())
	c.ps.begin() // pub/sub: hold messages until this batch's replies are ready
	c.barrierDone = false
	c.exec(cmd.Args)
	for _, m := range rc.ReadPipeline() {
		if c.quit {
			break
		}
		c.exec(m.Args)
	}
	c.flushPending()
	if c.ps != nil {
		c.pubsubFlush() // pub/sub: replies and messages go through the connection's queue
	} else if len(c.out) > 0 {
		rc.WriteRaw(c.out)
		if cap(c.out) > 64<<10 {
			c.out = nil
		} else {
			c.out = c.out[:0]
		}
	}
	if c.quit {
		rc.Close()
	}
}

// exec runs one command, or queues it if it is a write.
func (c *client) exec(argv [][]byte) {
	if len(argv) == 0 {
		return
	}
	c.commands.Add(1)
	s := c.srv
	cmd := schema.Lookup(argv[0])
	if cmd == nil || cmd.Is(schema.Internal) && !(cmd.Is(schema.Connection) && s.cfg.Cluster != nil) {
		c.flushPending()
		c.refuse(nil, engine.Error(schema.UnknownCommand(argv)))
		return
	}
	c.lastCmd.Store(cmd)
	if len(argv) > 1 && containerCommands[cmd.Name] {
		sub := strings.ToLower(string(argv[1]))
		c.lastSub.Store(&sub)
	} else {
		c.lastSub.Store(nil)
	}
	if (cmd.Arity > 0 && len(argv) != cmd.Arity) || (cmd.Arity < 0 && len(argv) < -cmd.Arity) {
		c.flushPending()
		c.refuse(cmd, engine.Error(schema.WrongArity(cmd.Name)))
		return
	}
	if !c.authed && !cmd.Is(schema.NoAuth) && s.password() != "" {
		c.flushPending()
		c.refuse(cmd, errNoAuth)
		return
	}
	if c.refusedInPubSub(cmd, argv) { // RESP2 pub/sub mode allows a few commands only (pubsub.go)
		return
	}
	db := int(c.db.Load())
	eng := s.eng.Load()
	if eng == nil && (!cmd.Is(schema.Connection) || !cmd.Is(schema.Loading)) {
		c.flushPending()
		c.refuse(cmd, errLoading)
		return
	}
	if c.tx != nil && c.queue(cmd, argv) { // inside MULTI (multi.go)
		return
	}
	switch {
	case cmd.Is(schema.Connection):
		c.flushPending()
		if cmd.Name == "exec" && c.tx != nil && !c.readBarrier() {
			return
		}
		if h := connHandlers[cmd.ID]; h != nil {
			h(c, argv)
		} else {
			c.reply(engine.Errorf("ERR command '" + cmd.Name + "' is not implemented yet"))
		}
	case cmd.Is(schema.Write):
		if b, ok := blockingCall(cmd, argv); ok {
			c.execBlocking(eng, db, argv, b)
			return
		}
		c.pending = append(c.pending, eng.ExecAsync(db, argv))
	default:
		// A read waits for the writes queued before it, so it sees them.
		c.flushPending()
		if !c.readBarrier() {
			return
		}
		c.reply(eng.Exec(db, argv))
	}
}

// flushPending waits for the queued writes and writes their replies.
func (c *client) flushPending() {
	for i, p := range c.pending {
		c.reply(p.Wait())
		c.pending[i] = engine.Pending{}
	}
	c.pending = c.pending[:0]
}

// reply appends r to the connection's output.
func (c *client) reply(r engine.Reply) {
	if r.Kind == engine.KindError {
		c.errors.Add(1)
	}
	c.out = AppendReply(c.out, r, int(c.resp.Load()))
}

// verbatim appends a verbatim text reply (a bulk string in RESP2).
func (c *client) verbatim(s string) {
	c.out = appendVerbatim(c.out, s, int(c.resp.Load()))
}

func (s *Server) password() string { return *s.pass.Load() }

// checkPassword compares in constant time.
func (s *Server) checkPassword(p []byte) bool {
	want := s.password()
	return subtle.ConstantTimeCompare(p, []byte(want)) == 1
}

// containerCommands are the commands with subcommands, which CLIENT LIST
// names as container|subcommand, as Redis does.
var containerCommands = map[string]bool{
	"client": true, "config": true, "command": true, "memory": true, "object": true, "pubsub": true,
	"memimg.cluster": true,
}

// validName reports whether b can be a client name: Redis refuses spaces,
// newlines and other characters outside '!'..'~'.
func validName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

// info formats the client as one line of CLIENT LIST, Redis's fields in
// Redis's order.
func (c *client) info(now time.Time) string {
	c.mu.Lock()
	name, lib, ver := c.name, c.libName, c.libVer
	c.mu.Unlock()
	last := "NULL"
	if cmd := c.lastCmd.Load(); cmd != nil {
		last = cmd.Name
		if sub := c.lastSub.Load(); sub != nil {
			last += "|" + *sub
		}
	}
	var b strings.Builder
	b.Grow(256)
	w := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	w("id", strconv.FormatUint(c.id, 10))
	w("addr", c.addr)
	w("laddr", c.laddr)
	w("fd", i(int64(c.fd)))
	w("name", name)
	w("age", i(int64(now.Sub(c.created)/time.Second)))
	w("idle", i(int64(now.Sub(time.Unix(0, c.lastActive.Load()))/time.Second)))
	sub, psub, ssub := c.pubsubCounts()
	switch {
	case c.blocked.Load():
		w("flags", "b")
	case sub+psub+ssub > 0:
		w("flags", "P")
	default:
		w("flags", "N")
	}
	w("db", i(int64(c.db.Load())))
	w("sub", i(int64(sub)))
	w("psub", i(int64(psub)))
	w("ssub", i(int64(ssub)))
	w("multi", i(int64(c.txLen.Load())-1))
	for _, k := range []string{"qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "tot-mem"} {
		w(k, "0")
	}
	w("events", "r")
	w("cmd", last)
	w("user", "default")
	w("redir", "-1")
	w("resp", i(int64(c.resp.Load())))
	w("lib-name", lib)
	w("lib-ver", ver)
	return b.String()
}

var (
	errNoAuth  = engine.Errorf("NOAUTH Authentication required.")
	errLoading = engine.Errorf("LOADING memimg is loading the dataset in memory")
)
