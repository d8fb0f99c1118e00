package protocol

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

func cmdClient(c *client, argv [][]byte) {
	sub := strings.ToLower(string(argv[1]))
	n := len(argv)
	arity := func(ok bool) bool {
		if !ok {
			c.reply(subArity("client", sub))
		}
		return ok
	}
	switch sub {
	case "id":
		if arity(n == 2) {
			c.reply(engine.Int(int64(c.id)))
		}
	case "getname":
		if arity(n == 2) {
			c.mu.Lock()
			name := c.name
			c.mu.Unlock()
			if name == "" {
				c.reply(engine.Null)
			} else {
				c.reply(engine.Bulk(name))
			}
		}
	case "setname":
		if !arity(n == 3) {
			return
		}
		if !validName(argv[2]) {
			c.reply(errBadName)
			return
		}
		c.mu.Lock()
		c.name = string(argv[2])
		c.mu.Unlock()
		c.reply(engine.OK)
	case "setinfo":
		if !arity(n == 4) {
			return
		}
		attr := strings.ToLower(string(argv[2]))
		if attr != "lib-name" && attr != "lib-ver" {
			c.reply(engine.Errorf("ERR Unrecognized option '" + truncate(string(argv[2]), 128) + "'"))
			return
		}
		if !validName(argv[3]) && len(argv[3]) > 0 {
			c.reply(engine.Errorf("ERR " + attr + " cannot contain spaces, newlines or special characters."))
			return
		}
		c.mu.Lock()
		if attr == "lib-name" {
			c.libName = string(argv[3])
		} else {
			c.libVer = string(argv[3])
		}
		c.mu.Unlock()
		c.reply(engine.OK)
	case "info":
		if arity(n == 2) {
			c.verbatim(c.info(time.Now()) + "\n")
		}
	case "list":
		clientList(c, argv)
	case "kill":
		if arity(n >= 3) {
			clientKill(c, argv)
		}
	case "no-evict", "no-touch":
		if !arity(n == 3) {
			return
		}
		if !schema.EqualFold(argv[2], "on") && !schema.EqualFold(argv[2], "off") {
			c.reply(errSyntax)
			return
		}
		c.reply(engine.OK)
	case "unblock":
		clientUnblock(c, argv)
	case "getredir":
		if arity(n == 2) {
			c.reply(engine.Int(-1))
		}
	case "help":
		if arity(n == 2) {
			help(c,
				"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
				"GETNAME", "    Return the name of the current connection.",
				"ID", "    Return the ID of the current connection.",
				"INFO", "    Return information about the current client connection.",
				"KILL <ip:port>", "    Kill connection made from <ip:port>.",
				"KILL <option> <value> [<option> <value> [...]]",
				"    Kill connections. Options are: ID <client-id>, ADDR <ip:port>, LADDR <ip:port>, SKIPME (YES|NO).",
				"LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]",
				"    Return information about client connections.",
				"NO-EVICT (ON|OFF)", "    Accepted; memimg never evicts.",
				"NO-TOUCH (ON|OFF)", "    Accepted; memimg keeps no LRU data.",
				"SETINFO <option> <value>", "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
				"SETNAME <name>", "    Assign the name <name> to the current connection.",
				"UNBLOCK <clientid> [TIMEOUT|ERROR]",
				"    Unblock the specified blocked client.",
				"HELP", "    Print this help.")
		}
	default:
		c.reply(subcommandError("client", argv[1]))
	}
}

// clients returns the connected clients in id order.
func (s *Server) clientsByID() []*client {
	s.mu.Lock()
	out := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// clientList is CLIENT LIST [TYPE type] [ID id ...].
func clientList(c *client, argv [][]byte) {
	typ := ""
	var ids map[uint64]bool
	for i := 2; i < len(argv); {
		switch {
		case schema.EqualFold(argv[i], "type") && i+1 < len(argv):
			typ = strings.ToLower(string(argv[i+1]))
			switch typ {
			case "normal", "master", "replica", "slave", "pubsub":
			default:
				c.reply(engine.Errorf("ERR Unknown client type '" + truncate(string(argv[i+1]), 128) + "'"))
				return
			}
			i += 2
		case schema.EqualFold(argv[i], "id") && i+1 < len(argv):
			ids = map[uint64]bool{}
			for i++; i < len(argv); i++ {
				id, err := strconv.ParseUint(string(argv[i]), 10, 64)
				if err != nil || id == 0 {
					c.reply(engine.Errorf("ERR Invalid client ID"))
					return
				}
				ids[id] = true
			}
		default:
			c.reply(errSyntax)
			return
		}
	}
	var b strings.Builder
	if typ == "" || typ == "normal" {
		now := time.Now()
		for _, o := range c.srv.clientsByID() {
			if ids != nil && !ids[o.id] {
				continue
			}
			b.WriteString(o.info(now))
			b.WriteByte('\n')
		}
	}
	c.verbatim(b.String())
}

// clientKill is CLIENT KILL addr, or CLIENT KILL with filters (ID, ADDR,
// LADDR, SKIPME, TYPE, USER, MAXAGE), replying with the number killed.
func clientKill(c *client, argv [][]byte) {
	s := c.srv
	if len(argv) == 3 {
		addr := string(argv[2])
		for _, o := range s.clientsByID() {
			if o.addr == addr {
				s.kill(c, o)
				c.reply(engine.OK)
				return
			}
		}
		c.reply(engine.Errorf("ERR No such client"))
		return
	}
	if len(argv)%2 != 0 {
		c.reply(errSyntax)
		return
	}
	var (
		id            uint64
		addr, laddr   string
		typ, user     string
		maxAge        int64 = -1
		skipMe              = true
		haveID, haveT bool
	)
	for i := 2; i < len(argv); i += 2 {
		v := string(argv[i+1])
		switch strings.ToLower(string(argv[i])) {
		case "id":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n == 0 {
				c.reply(engine.Errorf("ERR client-id should be greater than 0"))
				return
			}
			id, haveID = n, true
		case "addr":
			addr = v
		case "laddr":
			laddr = v
		case "type":
			typ, haveT = strings.ToLower(v), true
			switch typ {
			case "normal", "master", "replica", "slave", "pubsub":
			default:
				c.reply(engine.Errorf("ERR Unknown client type '" + truncate(v, 128) + "'"))
				return
			}
		case "user":
			user = v
		case "skipme":
			switch strings.ToLower(v) {
			case "yes":
				skipMe = true
			case "no":
				skipMe = false
			default:
				c.reply(errSyntax)
				return
			}
		case "maxage":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				c.reply(errSyntax)
				return
			}
			maxAge = n
		default:
			c.reply(errSyntax)
			return
		}
	}
	now := time.Now()
	killed := 0
	for _, o := range s.clientsByID() {
		switch {
		case haveID && o.id != id,
			addr != "" && o.addr != addr,
			laddr != "" && o.laddr != laddr,
			haveT && typ != "normal",
			user != "" && user != "default",
			maxAge >= 0 && int64(now.Sub(o.created)/time.Second) < maxAge,
			skipMe && o == c:
			continue
		}
		s.kill(c, o)
		killed++
	}
	c.reply(engine.Int(int64(killed)))
}

// kill closes o's connection; a client killing itself gets its reply first.
func (s *Server) kill(self, o *client) {
	if o == self {
		self.quit = true
		return
	}
	s.log.Info("client killed", "id", o.id, "addr", o.addr, "by", self.id)
	o.nc.Conn.Close()
}
