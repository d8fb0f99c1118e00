package protocol

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/memimg/memimg/engine"
)

// ParseMemory parses a size in Redis's memory units: a plain number of
// bytes, or a number followed by k, kb, m, mb, g or gb (case-insensitive;
// k = 1000, kb = 1024, and so on), as redis.conf's memtoll does.
func ParseMemory(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mul := int64(1)
	for _, u := range []struct {
		suffix string
		mul    int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mul = strings.TrimSuffix(t, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("protocol: invalid memory size %q (use bytes or a unit: 1024, 64kb, 512mb, 1gb)", s)
	}
	if n > math.MaxInt64/mul {
		return 0, fmt.Errorf("protocol: memory size %q is too large", s)
	}
	return n * mul, nil
}

// MinProtoMaxBulkLen is the smallest proto-max-bulk-len Redis accepts.
const MinProtoMaxBulkLen = 1 << 20

// params returns every CONFIG GET parameter: the daemon's and the server's
// own, sorted by name.
func (s *Server) params() []Field {
	own := []Field{
		{"databases", strconv.Itoa(s.databases())},
		{"notify-keyspace-events", engine.FormatKeyspaceEvents(s.notifyFlags.Load())},
		{"proto-max-bulk-len", strconv.FormatInt(s.maxBulk.Load(), 10)},
		{"requirepass", s.password()},
	}
	seen := map[string]bool{}
	out := append([]Field(nil), own...)
	for _, f := range own {
		seen[f.Name] = true
	}
	if s.cfg.Params != nil {
		for _, f := range s.cfg.Params() {
			f.Name = strings.ToLower(f.Name)
			if !seen[f.Name] {
				seen[f.Name] = true
				out = append(out, f)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func cmdConfig(c *client, argv [][]byte) {
	sub := strings.ToLower(string(argv[1]))
	s := c.srv
	switch sub {
	case "get":
		if len(argv) < 3 {
			c.reply(subArity("config", sub))
			return
		}
		var elems []engine.Reply
		for _, p := range s.params() {
			for _, pat := range argv[2:] {
				if globMatch(string(pat), p.Name, true) {
					elems = append(elems, engine.Bulk(p.Name), engine.Bulk(p.Value))
					break
				}
			}
		}
		c.reply(engine.Reply{Kind: engine.KindMap, Elems: elems})
	case "set":
		if len(argv) < 4 || len(argv)%2 != 0 {
			c.reply(subArity("config", sub))
			return
		}
		for i := 2; i < len(argv); i += 2 {
			if r, ok := s.setParam(strings.ToLower(string(argv[i])), string(argv[i+1])); !ok {
				c.reply(r)
				return
			}
		}
		c.reply(engine.OK)
	case "resetstat":
		if len(argv) != 2 {
			c.reply(subArity("config", sub))
			return
		}
		s.resetStats()
		c.reply(engine.OK)
	case "rewrite":
		c.reply(engine.Errorf("ERR CONFIG REWRITE is not supported by memimg; edit the config file"))
	case "help":
		help(c,
			"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
			"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
			"RESETSTAT", "    Reset statistics reported by the INFO command.",
			"HELP", "    Print this help.")
	default:
		c.reply(subcommandError("config", argv[1]))
	}
}

// setParam applies one CONFIG SET pair; on failure it returns the error reply.
func (s *Server) setParam(name, value string) (engine.Reply, bool) {
	failed := func(msg string) (engine.Reply, bool) {
		return engine.Errorf("ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + msg), false
	}
	switch name {
	case "requirepass":
		s.pass.Store(&value)
		s.log.Info("requirepass changed by CONFIG SET")
		return engine.OK, true
	case "proto-max-bulk-len":
		n, err := ParseMemory(value)
		if err != nil {
			return failed("argument must be a memory value")
		}
		if n < MinProtoMaxBulkLen {
			return failed(fmt.Sprintf("argument must be between %d and %d inclusive", MinProtoMaxBulkLen, int64(math.MaxInt64)))
		}
		s.maxBulk.Store(n)
		return engine.OK, true
	case "databases":
		return failed("can't set immutable config")
	case "notify-keyspace-events":
		f, err := engine.ParseKeyspaceEvents(value)
		if err != nil {
			return failed(err.Error())
		}
		s.notifyFlags.Store(f)
		s.installNotify(s.eng.Load())
		return engine.OK, true
	}
	known := false
	if s.cfg.Params != nil {
		for _, p := range s.cfg.Params() {
			if strings.EqualFold(p.Name, name) {
				known = true
				break
			}
		}
	}
	var err error
	switch {
	case s.cfg.SetParam != nil:
		err = s.cfg.SetParam(name, value)
	case known:
		err = ErrImmutableParam
	default:
		err = ErrUnknownParam
	}
	switch {
	case err == nil:
		return engine.OK, true
	case errors.Is(err, ErrUnknownParam):
		return engine.Errorf("ERR Unknown option or number of arguments for CONFIG SET - '" + truncate(name, 128) + "'"), false
	case errors.Is(err, ErrImmutableParam):
		return failed("can't set immutable config")
	}
	return failed(err.Error())
}
