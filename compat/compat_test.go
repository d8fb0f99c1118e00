package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memimg/memimg/memimgtest"
)

// scriptGlob finds the scripts, from this package's directory.
const scriptGlob = "../testdata/compat/*.txt"

// trace (COMPAT_TRACE=1) logs every command with its reply: run with -v to
// see what a script checks.
var trace = os.Getenv("COMPAT_TRACE") == "1"

// TestCompat runs every script of testdata/compat against memimgd and
// redis-server and requires identical replies; see the package doc for the
// format. Subtests are TestCompat/FILE/CASE.
func TestCompat(t *testing.T) {
	files, err := filepath.Glob(scriptGlob)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no scripts match %s", scriptGlob)
	}
	sort.Strings(files)
	redis := memimgtest.StartRedis(t) // first: skips the test without redis-server
	mem := memimgtest.Start(t)
	h := &harness{
		mem: side{name: "memimgd", addr: mem.Addr, running: mem.Running, log: mem.Log,
			restart: func() (*side, error) {
				// A new server on a new data directory: the old one's
				// log may be what makes it crash.
				srv, err := memimgtest.TryStart(t)
				if err != nil {
					return nil, err
				}
				return &side{addr: srv.Addr, running: srv.Running, log: srv.Log}, nil
			}},
		redis: side{name: "redis", addr: redis.Addr, running: redis.Running, log: redis.Log},
	}
	for _, f := range files {
		s, err := parseScriptFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		t.Run(strings.TrimSuffix(s.file, ".txt"), func(t *testing.T) { h.runScript(t, s) })
	}
}

// side is one of the two servers a harness compares.
type side struct {
	name    string // in reports: "memimgd" or "redis"
	addr    string
	running func() bool
	log     func() string
	// restart, if not nil, starts a new server after this one died and
	// returns its addr, running and log.
	restart func() (*side, error)
	// died is the place of the last command before the server was found
	// dead.
	died string
}

// harness holds the two servers every case runs against: mem, the server
// under test, and redis, the reference.
type harness struct {
	mem, redis side
}

// missing counts, per command name, the lines of a script whose command
// memimgd does not know.
type missing struct {
	mu    sync.Mutex
	lines map[string][]int
}

func (m *missing) add(name string, line int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lines == nil {
		m.lines = map[string][]int{}
	}
	m.lines[name] = append(m.lines[name], line)
}

func (m *missing) String() string {
	names := make([]string, 0, len(m.lines))
	for n := range m.lines {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		lines := m.lines[n]
		fmt.Fprintf(&b, "\n    %-20s %d line(s): %s", n, len(lines), joinInts(lines, 10))
	}
	return b.String()
}

func joinInts(v []int, limit int) string {
	var parts []string
	for i, n := range v {
		if i == limit {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprint(n))
	}
	return strings.Join(parts, ",")
}

func (h *harness) runScript(t *testing.T, s *script) {
	for _, e := range s.errors {
		t.Errorf("%s:%d: malformed line (not run): %s", s.file, e.line, e.msg)
	}
	var miss missing
	for _, c := range s.cases {
		t.Run(c.name, func(t *testing.T) { h.runCase(t, s.file, c, &miss) })
	}
	if len(miss.lines) > 0 {
		t.Errorf("%s: NOT IMPLEMENTED in %s (redis-server knows them):%s", s.file, h.mem.name, miss.String())
	}
}

// connect makes sure both servers run, opens a new connection to each
// (RESP2, database 0) and empties both.
func (h *harness) connect(t testing.TB) (mc, rc *conn) {
	t.Helper()
	for _, sd := range []*side{&h.mem, &h.redis} {
		if sd.running() {
			continue
		}
		if sd.restart == nil {
			t.Fatalf("%s is not running (died after %s); log:\n%s", sd.name, sd.died, sd.log())
		}
		n, err := sd.restart()
		if err != nil {
			t.Fatalf("%s died (after %s) and cannot be started again: %v", sd.name, sd.died, err)
		}
		sd.addr, sd.running, sd.log = n.addr, n.running, n.log
	}
	mc, err := dial(h.mem.addr)
	if err != nil {
		t.Fatalf("connect to %s: %v", h.mem.name, err)
	}
	rc, err = dial(h.redis.addr)
	if err != nil {
		mc.Close()
		t.Fatalf("connect to %s: %v", h.redis.name, err)
	}
	for _, x := range []struct {
		name string
		c    *conn
	}{{h.mem.name, mc}, {h.redis.name, rc}} {
		rs, err := x.c.do("FLUSHALL")
		if err != nil || len(rs) != 1 || rs[0].kind != '+' || rs[0].str != "OK" {
			mc.Close()
			rc.Close()
			if err == nil {
				err = fmt.Errorf("reply %s", strings.Join(render(rs), " "))
			}
			t.Fatalf("FLUSHALL on %s: %v", x.name, err)
		}
	}
	return mc, rc
}

func (h *harness) runCase(t testing.TB, file string, c *testCase, miss *missing) {
	mc, rc := h.connect(t)
	defer mc.Close()
	defer rc.Close()
	// Labels of the same width keep the two replies aligned.
	w := max(len(h.mem.name), len(h.redis.name)) + 1
	memLabel := fmt.Sprintf("%-*s ", w, h.mem.name+":")
	redisLabel := fmt.Sprintf("%-*s ", w, h.redis.name+":")
	block := func(rs []*reply) string {
		return strings.Join(render(rs), "\n    "+strings.Repeat(" ", w+1))
	}
	for _, st := range c.steps {
		if st.args == nil {
			time.Sleep(st.sleep)
			continue
		}
		where := fmt.Sprintf("%s:%d: %s", file, st.line, st.text)
		// Both servers get the command before either reply is read, so a
		// blocking command waits on both at once and clocks stay close.
		errM := mc.send(st.args)
		errR := rc.send(st.args)
		var mr, rr []*reply
		if errM == nil {
			mr, errM = mc.receive(st.args)
		}
		if errR == nil {
			rr, errR = rc.receive(st.args)
		}
		if errM != nil || errR != nil {
			msg := fmt.Sprintf("%s\n    connection failed, rest of the case not run:\n    %s%s\n    %s%s",
				where, memLabel, outcome(mr, errM), redisLabel, outcome(rr, errR))
			for _, sd := range []*side{&h.mem, &h.redis} {
				if !sd.running() {
					sd.died = where
					msg += fmt.Sprintf("\n    %s has exited; its log:\n%s", sd.name, sd.log())
				}
			}
			t.Error(msg)
			return
		}
		if name, ok := unknownToMem(st.args, mr, rr); ok {
			miss.add(name, st.line)
			t.Errorf("%s\n    NOT IMPLEMENTED in %s: %s\n    %s%s", where, h.mem.name, oneLine(mr), redisLabel, oneLine(rr))
			continue
		}
		if !equalReplies(mr, rr, st.dir) {
			t.Errorf("%s\n    %s%s\n    %s%s", where, memLabel, block(mr), redisLabel, block(rr))
		} else if trace {
			t.Logf("%s\n    %s", where, block(rr))
		}
	}
}

// outcome describes the replies read and the error that ended them.
func outcome(rs []*reply, err error) string {
	switch {
	case err == nil:
		return oneLine(rs)
	case len(rs) > 0:
		return fmt.Sprintf("%v (after %s)", err, oneLine(rs))
	}
	return err.Error()
}

// unknownToMem reports whether the server under test answered "unknown
// command" (or "unknown subcommand") where redis-server did not, and names
// the command.
func unknownToMem(args []string, mr, rr []*reply) (string, bool) {
	unknown := func(rs []*reply, prefix string) bool {
		return len(rs) > 0 && rs[0].kind == '-' && strings.HasPrefix(rs[0].str, prefix)
	}
	name := strings.ToUpper(args[0])
	switch {
	case unknown(mr, "ERR unknown command") && !unknown(rr, "ERR unknown command"):
		return name, true
	case unknown(mr, "ERR unknown subcommand") && !unknown(rr, "ERR unknown subcommand"):
		if len(args) > 1 {
			name += " " + strings.ToUpper(args[1])
		}
		return name, true
	}
	return "", false
}

func oneLine(rs []*reply) string {
	return strings.Join(render(rs), " ")
}
