package protocol

import (
	"strconv"
	"strings"
	"time"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// connHandler answers a connection or server command. It runs on the
// connection's goroutine after the arity and authentication checks, with no
// write of the connection pending.
type connHandler func(c *client, argv [][]byte)

// connHandlers is indexed by schema.Command.ID.
var connHandlers = func() []connHandler {
	hs := map[string]connHandler{
		"auth":     cmdAuth,
		"client":   cmdClient,
		"command":  cmdCommand,
		"config":   cmdConfig,
		"echo":     cmdEcho,
		"hello":    cmdHello,
		"info":     cmdInfo,
		"lastsave": cmdLastSave,
		"save":     cmdSave,
		"bgsave":   cmdBGSave,
		"memory":   cmdMemory,
		"ping":     cmdPing,
		"quit":     cmdQuit,
		"reset":    cmdReset,
		"select":   cmdSelect,
		"shutdown": cmdShutdown,
		"time":     cmdTime,
		// Transactions (multi.go; EXEC is added by its init).
		"multi":   cmdMulti,
		"discard": cmdDiscard,
		"watch":   cmdWatch,
		"unwatch": cmdUnwatch,
		// Pub/sub (pubsub.go).
		"subscribe":    cmdSubscribe,
		"unsubscribe":  cmdUnsubscribe,
		"psubscribe":   cmdPSubscribe,
		"punsubscribe": cmdPUnsubscribe,
		"ssubscribe":   cmdSSubscribe,
		"sunsubscribe": cmdSUnsubscribe,
		"publish":      cmdPublish,
		"spublish":     cmdSPublish,
		"pubsub":       cmdPubSub,
	}
	out := make([]connHandler, schema.Count())
	for name, h := range hs {
		cmd := schema.Lookup([]byte(name))
		if cmd == nil || !cmd.Is(schema.Connection) {
			panic("protocol: " + name + " is not a connection command in the schema")
		}
		out[cmd.ID] = h
	}
	return out
}()

// Error replies of the connection commands, in Redis's words.
var (
	errNoPassword = engine.Errorf("ERR AUTH <password> called without any password configured for the default user. " +
		"Are you sure your configuration is correct?")
	errWrongPass   = engine.Errorf("WRONGPASS invalid username-password pair or user is disabled.")
	errNoProto     = engine.Errorf("NOPROTO unsupported protocol version")
	errProtoNotInt = engine.Errorf("ERR Protocol version is not an integer or out of range")
	errHelloNoAuth = engine.Errorf("NOAUTH HELLO must be called with the client already authenticated, " +
		"otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client " +
		"and select the RESP protocol version at the same time")
	errBadName    = engine.Errorf("ERR Client names cannot contain spaces, newlines or special characters.")
	errSyntax     = engine.Error(schema.ErrSyntax)
	errNotInteger = engine.Error(schema.ErrNotInteger)
)

// The version memimg claims in HELLO and INFO: the Redis version whose
// behaviour it follows, so clients enable the features they may use.
const redisVersion = "7.2.0"

func cmdPing(c *client, argv [][]byte) {
	if c.pingInPubSub(argv) { // ["pong", message] in RESP2 pub/sub mode (pubsub.go)
		return
	}
	switch len(argv) {
	case 1:
		c.reply(engine.Status("PONG"))
	case 2:
		c.reply(engine.BulkBytes(argv[1]))
	default:
		c.reply(engine.Error(schema.WrongArity("ping")))
	}
}

func cmdEcho(c *client, argv [][]byte) {
	c.reply(engine.BulkBytes(argv[1]))
}

// authenticate checks a user and password as Redis's default user does: with
// no requirepass any password is accepted for "default"; there are no other
// users.
func (s *Server) authenticate(user, pass []byte) bool {
	if string(user) != "default" {
		return false
	}
	return s.password() == "" || s.checkPassword(pass)
}

func cmdAuth(c *client, argv [][]byte) {
	s := c.srv
	switch len(argv) {
	case 2:
		if s.password() == "" {
			c.reply(errNoPassword)
			return
		}
		if !s.checkPassword(argv[1]) {
			c.reply(errWrongPass)
			return
		}
	case 3:
		if !s.authenticate(argv[1], argv[2]) {
			c.reply(errWrongPass)
			return
		}
	default:
		c.reply(errSyntax)
		return
	}
	c.authed = true
	c.reply(engine.OK)
}

func cmdHello(c *client, argv [][]byte) {
	s := c.srv
	proto := int(c.resp.Load())
	i := 1
	if len(argv) > 1 {
		v, ok := schema.ParseInt(argv[1])
		if !ok {
			c.reply(errProtoNotInt)
			return
		}
		if v < 2 || v > 3 {
			c.reply(errNoProto)
			return
		}
		proto, i = int(v), 2
	}
	var user, pass, name []byte
	auth, setName := false, false
	for ; i < len(argv); i++ {
		more := len(argv) - 1 - i
		switch {
		case schema.EqualFold(argv[i], "auth") && more >= 2:
			user, pass, auth = argv[i+1], argv[i+2], true
			i += 2
		case schema.EqualFold(argv[i], "setname") && more >= 1:
			name, setName = argv[i+1], true
			if !validName(name) {
				c.reply(errBadName)
				return
			}
			i++
		default:
			c.reply(engine.Errorf("ERR Syntax error in HELLO option '" + string(argv[i]) + "'"))
			return
		}
	}
	if auth {
		if !s.authenticate(user, pass) {
			c.reply(errWrongPass)
			return
		}
		c.authed = true
	}
	if !c.authed && s.password() != "" {
		c.reply(errHelloNoAuth)
		return
	}
	if setName {
		c.mu.Lock()
		c.name = string(name)
		c.mu.Unlock()
	}
	c.resp.Store(int32(proto))
	c.reply(engine.Reply{Kind: engine.KindMap, Elems: []engine.Reply{
		engine.Bulk("server"), engine.Bulk("redis"),
		engine.Bulk("version"), engine.Bulk(redisVersion),
		engine.Bulk("proto"), engine.Int(int64(proto)),
		engine.Bulk("id"), engine.Int(int64(c.id)),
		engine.Bulk("mode"), engine.Bulk("standalone"),
		engine.Bulk("role"), engine.Bulk("master"),
		engine.Bulk("modules"), engine.Array(),
	}})
}

func cmdSelect(c *client, argv [][]byte) {
	n, ok := schema.ParseInt(argv[1])
	if !ok {
		c.reply(errNotInteger)
		return
	}
	if n < 0 || n >= int64(c.srv.databases()) {
		c.reply(engine.Error(schema.ErrDBIndex))
		return
	}
	c.db.Store(int32(n))
	c.reply(engine.OK)
}

func cmdQuit(c *client, argv [][]byte) {
	c.reply(engine.OK)
	c.quit = true
}

// cmdReset puts the connection back in its initial state: database 0, RESP2,
// no name, no transaction and no watched keys, and not authenticated if a
// password is required.
func cmdReset(c *client, argv [][]byte) {
	c.pubsubReset() // end every subscription, without replies (pubsub.go)
	c.db.Store(0)
	c.resp.Store(2)
	c.mu.Lock()
	c.name = ""
	c.mu.Unlock()
	c.authed = false
	c.discardMulti() // and UNWATCH (multi.go)
	c.reply(engine.Status("RESET"))
}

func cmdTime(c *client, argv [][]byte) {
	now := time.Now()
	c.reply(engine.Array(
		engine.Bulk(strconv.FormatInt(now.Unix(), 10)),
		engine.Bulk(strconv.FormatInt(int64(now.Nanosecond()/1000), 10)),
	))
}

// cmdShutdown stops the daemon. The log is always durable (the engine syncs
// it on close), so SAVE and NOSAVE change nothing; NOW and FORCE are
// accepted. On success the client's connection closes without a reply, as
// in Redis.
// ShutdownMode is SHUTDOWN's choice about the last snapshot.
type ShutdownMode int

// The modes.
const (
	// ShutdownDefault snapshots if save points are configured (Redis's
	// SHUTDOWN without options, and SIGTERM).
	ShutdownDefault ShutdownMode = iota
	// ShutdownSave snapshots even without save points (SHUTDOWN SAVE).
	ShutdownSave
	// ShutdownNoSave does not snapshot (SHUTDOWN NOSAVE); the log keeps
	// every write, so nothing is lost, the next start-up replays more.
	ShutdownNoSave
)

func cmdShutdown(c *client, argv [][]byte) {
	var save, nosave, abort bool
	for _, a := range argv[1:] {
		switch strings.ToLower(string(a)) {
		case "save":
			save = true
		case "nosave":
			nosave = true
		case "now", "force":
		case "abort":
			abort = true
		default:
			c.reply(errSyntax)
			return
		}
	}
	if (save && nosave) || (abort && len(argv) > 2) {
		c.reply(errSyntax)
		return
	}
	if abort {
		c.reply(engine.Errorf("ERR No shutdown in progress."))
		return
	}
	s := c.srv
	s.log.Info("SHUTDOWN requested by a client", "id", c.id, "addr", c.addr)
	var err error
	if s.cfg.Shutdown != nil {
		mode := ShutdownDefault
		switch {
		case save:
			mode = ShutdownSave
		case nosave:
			mode = ShutdownNoSave
		}
		err = s.cfg.Shutdown(mode)
	} else {
		go s.Close()
	}
	if err != nil {
		c.reply(engine.Errorf("ERR Errors trying to SHUTDOWN: " + err.Error()))
		return
	}
	c.quit = true
}

// subcommandError is Redis's reply to an unknown subcommand.
func subcommandError(container string, sub []byte) engine.Reply {
	return engine.Errorf("ERR unknown subcommand '" + truncate(string(sub), 128) + "'. Try " +
		strings.ToUpper(container) + " HELP.")
}

// subArity is Redis's reply to a subcommand with a wrong number of
// arguments.
func subArity(container, sub string) engine.Reply {
	return engine.Error(schema.WrongArity(container + "|" + sub))
}

// help replies with HELP lines as status strings.
func help(c *client, lines ...string) {
	elems := make([]engine.Reply, len(lines))
	for i, l := range lines {
		elems[i] = engine.Status(l)
	}
	c.reply(engine.Array(elems...))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
