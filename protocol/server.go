package protocol

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tidwall/redcon"

	"github.com/memimg/memimg/engine"
)

// Field is one "name:value" line of INFO, or one CONFIG GET parameter.
type Field struct {
	Name, Value string
}

// Config configures a Server. The zero value of every field is a working
// default.
type Config struct {
	// Engine runs every command that is not a connection or server command.
	// Nil means the data set is still loading: the server answers every
	// command not flagged schema.Loading (and every command that needs the
	// data) with Redis's "-LOADING memimg is loading the dataset in memory"
	// until SetEngine is called.
	Engine *engine.Engine
	// Cluster is the node's replication (cluster_cmd.go); nil standalone.
	Cluster Cluster
	// Databases is the number of databases SELECT accepts while the data
	// set loads; default 16. Once the engine is set, the engine's count.
	Databases int
	// Snapshots answers SAVE, BGSAVE and LASTSAVE and fills the snapshot
	// fields of INFO persistence. Nil: SAVE and BGSAVE are refused.
	Snapshots Snapshotter
	// Addr is the address ListenAndServe listens on; default 127.0.0.1:6379.
	Addr string
	// RequirePass, if set, is the default user's password: clients must
	// AUTH (or HELLO ... AUTH) before anything but AUTH, HELLO, QUIT, RESET.
	RequirePass string
	// ProtoMaxBulkLen is the largest bulk string a client may send
	// (proto-max-bulk-len); default 512 MiB.
	ProtoMaxBulkLen int64
	// MaxRequest is the largest request in bytes, all its arguments
	// together; default 1 GiB (Redis's client-query-buffer-limit). A daemon
	// whose log bounds a record's size sets it below that bound, so that a
	// write the log could not hold is refused before it runs.
	MaxRequest int64
	// Logger receives the server's logs; default slog.Default().
	Logger *slog.Logger

	// Shutdown is called by the SHUTDOWN command. It starts the daemon's
	// shutdown and returns at once, without waiting for it (the calling
	// connection is one that shutdown will close); an error is sent to the
	// client. Nil: SHUTDOWN shuts this Server down.
	Shutdown func(mode ShutdownMode) error
	// Info returns extra fields for an INFO section ("server",
	// "persistence", ...), appended after the server's own. May be nil.
	Info func(section string) []Field
	// Params returns the daemon's configuration parameters, by Redis name,
	// for CONFIG GET ("port", "dir", "appendfsync", ...). The server adds
	// its own: requirepass, proto-max-bulk-len, databases. May be nil.
	Params func() []Field
	// SetParam changes a daemon parameter for CONFIG SET. It returns
	// ErrUnknownParam or ErrImmutableParam (wrapped or not) for a parameter
	// it does not know or cannot change, or an error describing a bad value.
	// May be nil: every daemon parameter is then immutable.
	SetParam func(name, value string) error
	// PubSubBufferLimit bounds the output, in bytes, a connection with
	// subscriptions may have queued and not yet written (Redis's
	// client-output-buffer-limit pubsub hard limit): a subscriber that falls
	// further behind is disconnected. 0 means DefaultPubSubBufferLimit
	// (32 MiB); a negative value means no limit.
	PubSubBufferLimit int64
	// NotifyKeyspaceEvents is the initial notify-keyspace-events value
	// (keyspace notifications, see notify.go): "" (the default) for none,
	// "KEA" for every event on both kinds of channels.
	NotifyKeyspaceEvents string
}

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxRequest < 0 {
		errs = append(errs, fmt.Errorf("protocol: MaxRequest must not be negative, got %d", c.MaxRequest))
	}
	if _, err := engine.ParseKeyspaceEvents(c.NotifyKeyspaceEvents); err != nil {
		errs = append(errs, fmt.Errorf("protocol: NotifyKeyspaceEvents %q: %v", c.NotifyKeyspaceEvents, err))
	}
	if c.ProtoMaxBulkLen < 0 {
		errs = append(errs, fmt.Errorf("protocol: ProtoMaxBulkLen must not be negative, got %d", c.ProtoMaxBulkLen))
	}
	return errors.Join(errs...)
}

// Server is a RESP server in front of an Engine. It answers the connection
// and server commands (PING, AUTH, HELLO, SELECT, CLIENT, INFO, CONFIG,
// COMMAND, ...) itself and hands every other command to the engine.
type Server struct {
	cfg     Config
	eng     atomic.Pointer[engine.Engine] // nil while loading
	log     *slog.Logger
	started time.Time
	runID   string

	maxBulk atomic.Int64
	pass    atomic.Pointer[string]
	nextID  atomic.Uint64

	mu       sync.Mutex
	clients  map[uint64]*client
	lns      []net.Listener
	closing  bool
	drained  chan struct{} // closed when shutdown has drained the connections
	port     int
	serving  sync.WaitGroup
	sampling sync.Once
	stop     chan struct{}
	quitting chan struct{} // closed when the server starts closing

	stats serverStats
	ps    pubsub // subscriptions (pubsub.go)

	notifyFlags atomic.Uint32 // notify-keyspace-events (notify.go)
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:6379"
	}
	if cfg.ProtoMaxBulkLen == 0 {
		cfg.ProtoMaxBulkLen = DefaultMaxBulkLen
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var id [20]byte
	_, _ = rand.Read(id[:])
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		started:  time.Now(),
		runID:    hex.EncodeToString(id[:]),
		clients:  make(map[uint64]*client),
		drained:  make(chan struct{}),
		stop:     make(chan struct{}),
		quitting: make(chan struct{}),
	}
	if cfg.Databases <= 0 {
		cfg.Databases = 16
		s.cfg.Databases = 16
	}
	s.eng.Store(cfg.Engine)
	s.notifyFlags.Store(mustKeyspaceEvents(cfg.NotifyKeyspaceEvents))
	s.installNotify(cfg.Engine)
	s.maxBulk.Store(cfg.ProtoMaxBulkLen)
	pass := cfg.RequirePass
	s.pass.Store(&pass)
	return s, nil
}

// ListenAndServe listens on Config.Addr and serves.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("protocol: listen: %w", err)
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln and serves them until Shutdown or Close,
// then returns ErrServerClosed. Serve may be called for several listeners.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.lns = append(s.lns, ln)
	if s.port == 0 {
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			s.port = a.Port
		}
	}
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()
	s.sampling.Do(func() { go s.sampleOps() })

	rs := redcon.NewServerNetwork(ln.Addr().Network(), ln.Addr().String(), s.serveRESP, s.accepted, s.closed)
	rs.AcceptError = func(err error) {
		s.log.Warn("accept failed", "err", err)
		time.Sleep(10 * time.Millisecond) // EMFILE and friends: do not spin
	}
	err := rs.Serve(&listener{Listener: ln, srv: s})
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return ErrServerClosed
	}
	return err
}

// Shutdown stops the server gracefully: it stops accepting, lets every
// connection finish the commands it has already sent (their replies are
// written), then closes the connections. If ctx ends first, the remaining
// connections are closed at once and ctx's error is returned. The engine is
// the caller's to close afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.beginClose()
	past := time.Unix(1, 0)
	for _, c := range s.clients {
		_ = c.nc.SetReadDeadline(past)
	}
	s.mu.Unlock()

	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		s.mu.Lock()
		n := len(s.clients)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
			s.closeConns()
			break wait
		case <-tick.C:
		}
	}
	s.finishClose()
	return err
}

// Close stops the server now: it closes the listeners and every connection.
// Commands already running in the engine still complete there.
func (s *Server) Close() error {
	s.mu.Lock()
	s.beginClose()
	s.mu.Unlock()
	s.closeConns()
	s.finishClose()
	return nil
}

// beginClose stops accepting; s.mu is held.
func (s *Server) beginClose() {
	if s.closing {
		return
	}
	s.closing = true
	close(s.quitting)
	for _, ln := range s.lns {
		ln.Close()
	}
}

func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		c.nc.Conn.Close()
	}
}

// finishClose lets the Serve loops return and waits for them.
func (s *Server) finishClose() {
	s.mu.Lock()
	select {
	case <-s.drained:
	default:
		close(s.drained)
		close(s.stop)
	}
	s.mu.Unlock()
	s.serving.Wait()
}

// Port is the TCP port of the first listener, 0 before Serve.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// listener registers every accepted connection, wrapped in a conn that
// checks the request stream against the limits. When the server shuts down
// its Accept fails only after the connections have drained, because
// redcon's serve loop closes every connection as soon as Accept fails.
type listener struct {
	net.Listener
	srv *Server
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			l.srv.mu.Lock()
			closing := l.srv.closing
			l.srv.mu.Unlock()
			if closing {
				<-l.srv.drained
				return nil, net.ErrClosed
			}
			return nil, err
		}
		if c := l.srv.register(nc); c != nil {
			return c.nc, nil
		}
		nc.Close() // accepted while closing
	}
}

// register creates the client of a new connection; nil if the server is
// closing.
func (s *Server) register(nc net.Conn) *client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil
	}
	c := newClient(s, nc)
	s.clients[c.id] = c
	s.stats.connections.Add(1)
	return c
}

// accepted is redcon's accept callback: it ties the redcon.Conn to its
// client.
func (s *Server) accepted(rc redcon.Conn) bool {
	nc, ok := rc.NetConn().(*conn)
	if !ok {
		return false
	}
	nc.client.rc = rc
	rc.SetContext(nc.client)
	s.log.Debug("client connected", "id", nc.client.id, "addr", nc.client.addr)
	return true
}

// closed is redcon's close callback.
func (s *Server) closed(rc redcon.Conn, err error) {
	c, ok := rc.Context().(*client)
	if !ok {
		return
	}
	s.mu.Lock()
	delete(s.clients, c.id)
	s.stats.retire(c)
	s.mu.Unlock()
	c.pubsubClosed()
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		s.log.Info("protocol error; connection closed", "id", c.id, "addr", c.addr, "reason", pe.Reason)
	case err != nil && !isTimeout(err) && !errors.Is(err, net.ErrClosed):
		s.log.Debug("client disconnected", "id", c.id, "addr", c.addr, "err", err)
	default:
		s.log.Debug("client disconnected", "id", c.id, "addr", c.addr)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// conn wraps an accepted connection: every byte read passes through a
// Scanner, so a request over the limits is refused before redcon buffers it,
// and the bytes in and out are counted.
type conn struct {
	net.Conn
	client *client
	sc     Scanner
	perr   error // a protocol error found, reported on the next Read
	// Input read while the client was blocked (blocking.go), handed to
	// redcon before anything else, then the error that ended that read.
	held    []byte
	heldErr error
	sent    bool // the error reply has been written
}

func (c *conn) Read(p []byte) (int, error) {
	if c.perr != nil {
		return 0, c.refuse()
	}
	var n int
	var err error
	switch {
	case len(c.held) > 0:
		n = copy(p, c.held)
		c.held = c.held[n:]
	case c.heldErr != nil:
		err, c.heldErr = c.heldErr, nil
	default:
		n, err = c.Conn.Read(p)
	}
	if n > 0 {
		c.client.netIn.Add(uint64(n))
		c.sc.SetMaxBulkLen(c.client.srv.maxBulk.Load())
		k, serr := c.sc.Scan(p[:n])
		if serr != nil {
			// Hand over the bytes before the bad request first, so the
			// commands pipelined before it run and are answered in order;
			// the error is reported on the next Read.
			c.perr = serr
			if k > 0 {
				return k, nil
			}
			return 0, c.refuse()
		}
	}
	return n, err
}

// Lingering close after a protocol error: how long and how much of the
// client's remaining input is read and discarded.
const (
	lingerTime  = time.Second
	lingerBytes = 64 << 20
)

// refuse writes the protocol error reply once and returns the error, which
// makes redcon close the connection.
//
// Closing a socket with unread input makes the kernel send a reset, which
// can destroy the error reply before the client reads it (a client in the
// middle of sending a large value always has unread input). So the write
// side is shut first (the client sees the reply, then end of file), and the
// input is drained for a bounded time before the close.
func (c *conn) refuse() error {
	if !c.sent {
		c.sent = true
		var pe *ProtocolError
		if errors.As(c.perr, &pe) {
			_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			n, _ := c.Conn.Write([]byte(pe.reply()))
			c.client.netOut.Add(uint64(n))
			if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				_ = c.Conn.SetReadDeadline(time.Now().Add(lingerTime))
				_, _ = io.CopyN(io.Discard, c.Conn, lingerBytes)
			}
		}
	}
	return c.perr
}

func (c *conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		// redcon flushes its (empty) buffer after every batch; for a
		// subscriber a pub/sub writer may hold the socket meanwhile.
		return 0, nil
	}
	n, err := c.Conn.Write(p)
	c.client.netOut.Add(uint64(n))
	return n, err
}

// serverStats are the counters of INFO stats that outlive connections.
type serverStats struct {
	connections atomic.Uint64 // connections accepted
	// the counters of closed connections
	commands, errors, netIn, netOut atomic.Uint64
	// the values CONFIG RESETSTAT zeroed: subtracted from what INFO shows
	baseMu sync.Mutex
	base   baseCounters
	// instantaneous rates, sampled every 100 ms
	ops sampler
	in  sampler
	out sampler
}

// baseCounters are the counters' values at the last CONFIG RESETSTAT.
type baseCounters struct {
	connections, commands, errors, netIn, netOut uint64
	engine                                       engineCounters
}

// retire adds a closing client's counters to the totals; s.mu is held.
func (st *serverStats) retire(c *client) {
	st.commands.Add(c.commands.Load())
	st.errors.Add(c.errors.Load())
	st.netIn.Add(c.netIn.Load())
	st.netOut.Add(c.netOut.Load())
}

// totals returns the counters since start-up (before RESETSTAT's offsets).
func (s *Server) totals() (commands, errs, netIn, netOut uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	commands, errs = s.stats.commands.Load(), s.stats.errors.Load()
	netIn, netOut = s.stats.netIn.Load(), s.stats.netOut.Load()
	for _, c := range s.clients {
		commands += c.commands.Load()
		errs += c.errors.Load()
		netIn += c.netIn.Load()
		netOut += c.netOut.Load()
	}
	return
}

// sampler keeps the last 16 per-second rates of a counter, as Redis does for
// instantaneous_ops_per_sec.
type sampler struct {
	mu      sync.Mutex
	last    uint64
	lastAt  time.Time
	samples [16]float64
	idx     int
}

func (sm *sampler) add(v uint64, now time.Time) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if !sm.lastAt.IsZero() {
		dt := now.Sub(sm.lastAt).Seconds()
		if dt > 0 && v >= sm.last {
			sm.samples[sm.idx] = float64(v-sm.last) / dt
			sm.idx = (sm.idx + 1) % len(sm.samples)
		}
	}
	sm.last, sm.lastAt = v, now
}

func (sm *sampler) rate() float64 {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	var sum float64
	for _, v := range sm.samples {
		sum += v
	}
	return sum / float64(len(sm.samples))
}

func (s *Server) sampleOps() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			cmds, _, in, out := s.totals()
			s.stats.ops.add(cmds, now)
			s.stats.in.add(in, now)
			s.stats.out.add(out, now)
		case <-s.stop:
			return
		}
	}
}

// fdOf returns the file descriptor of nc for CLIENT LIST, -1 if unknown.
func fdOf(nc net.Conn) int {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	_ = raw.Control(func(f uintptr) { fd = int(f) })
	return fd
}
