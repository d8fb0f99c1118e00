package protocol

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// testServer is an in-process Server on a loopback port, over an engine
// with an in-memory log.
type testServer struct {
	*Server
	addr string
	log  *engine.MemLog
	eng  *engine.Engine
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startTestServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	ml := &engine.MemLog{}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng, err := engine.Open(engine.Options{Log: ml, ExpiryInterval: -1, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Engine = eng
	cfg.Logger = logger
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
		eng.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &testServer{Server: srv, addr: ln.Addr().String(), log: ml, eng: eng, logs: logs}
}

// rawConn is a client speaking raw RESP.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, rd: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

// cmd sends a command as a RESP array and returns the raw reply.
func (r *rawConn) cmd(args ...string) string {
	r.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	r.send(b.String())
	return r.read()
}

// read reads one whole reply and returns its raw text.
func (r *rawConn) read() string {
	r.t.Helper()
	s, err := readRESP(r.rd)
	if err != nil {
		r.t.Fatalf("read reply: %v", err)
	}
	return s
}

func readRESP(rd *bufio.Reader) (string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return line, err
	}
	if len(line) < 3 {
		return line, fmt.Errorf("short line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return line, nil
	case '$', '=', '!':
		n, _ := strconv.Atoi(body)
		if n < 0 {
			return line, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return line, err
		}
		return line + string(buf), nil
	case '*', '~', '%', '>':
		n, _ := strconv.Atoi(body)
		if line[0] == '%' {
			n *= 2
		}
		out := line
		for i := 0; i < n; i++ {
			s, err := readRESP(rd)
			out += s
			if err != nil {
				return out, err
			}
		}
		return out, nil
	}
	return line, fmt.Errorf("unknown reply type %q", line)
}

// expectClosed checks that the server closes the connection.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := r.rd.ReadByte()
	if err == nil {
		r.t.Fatalf("connection still open; read %q", b)
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
		r.t.Fatalf("want EOF, got %v", err)
	}
}

func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

func TestConnectionCommands(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := dialRaw(t, ts.addr)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, "+PONG\r\n"},
		{[]string{"ping", "hi"}, bulk("hi")},
		{[]string{"PING", "a", "b"}, "-ERR wrong number of arguments for 'ping' command\r\n"},
		{[]string{"ECHO", "x y"}, bulk("x y")},
		{[]string{"ECHO"}, "-ERR wrong number of arguments for 'echo' command\r\n"},
		{[]string{"SELECT", "15"}, "+OK\r\n"},
		{[]string{"SELECT", "16"}, "-ERR DB index is out of range\r\n"},
		{[]string{"SELECT", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"CLIENT", "SETNAME", "worker-1"}, "+OK\r\n"},
		{[]string{"CLIENT", "GETNAME"}, bulk("worker-1")},
		{[]string{"CLIENT", "SETNAME", "bad name"}, "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"},
		{[]string{"CLIENT", "SETINFO", "LIB-NAME", "go-redis"}, "+OK\r\n"},
		{[]string{"CLIENT", "SETINFO", "LIB-VER", "9.0"}, "+OK\r\n"},
		{[]string{"CLIENT", "SETINFO", "nope", "x"}, "-ERR Unrecognized option 'nope'\r\n"},
		{[]string{"CLIENT", "NO-EVICT", "on"}, "+OK\r\n"},
		{[]string{"CLIENT", "NO-TOUCH", "off"}, "+OK\r\n"},
		{[]string{"CLIENT", "FOO"}, "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"},
		{[]string{"CLIENT", "GETNAME", "x"}, "-ERR wrong number of arguments for 'client|getname' command\r\n"},
		{[]string{"AUTH", "x"}, "-" + errNoPassword.Str + "\r\n"},
		{[]string{"AUTH", "default", "x"}, "+OK\r\n"},
		{[]string{"AUTH", "someone", "x"}, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{[]string{"HELLO", "4"}, "-NOPROTO unsupported protocol version\r\n"},
		{[]string{"HELLO", "x"}, "-ERR Protocol version is not an integer or out of range\r\n"},
		{[]string{"HELLO", "3", "FOO"}, "-ERR Syntax error in HELLO option 'FOO'\r\n"},
		{[]string{"NOSUCH", "a", "b"}, "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n"},
		{[]string{"memimg.expired", "a"}, "-ERR unknown command 'memimg.expired', with args beginning with: 'a' \r\n"},
		{[]string{"CONFIG", "GET", "databases"}, "*2\r\n" + bulk("databases") + bulk("16")},
		{[]string{"CONFIG", "SET", "databases", "3"}, "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n"},
		{[]string{"CONFIG", "SET", "nosuch", "3"}, "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"},
		{[]string{"CONFIG", "SET", "proto-max-bulk-len", "1kb"}, "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n"},
		{[]string{"CONFIG", "SET", "proto-max-bulk-len", "2mb"}, "+OK\r\n"},
		{[]string{"CONFIG", "GET", "proto*"}, "*2\r\n" + bulk("proto-max-bulk-len") + bulk("2097152")},
		{[]string{"CONFIG", "RESETSTAT"}, "+OK\r\n"},
		{[]string{"COMMAND", "GETKEYS", "PING"}, "-ERR The command has no key arguments\r\n"},
		{[]string{"COMMAND", "GETKEYS", "NOSUCH"}, "-ERR Invalid command specified\r\n"},
		{[]string{"COMMAND", "INFO", "nosuch"}, "*1\r\n$-1\r\n"},
		{[]string{"SHUTDOWN", "ABORT"}, "-ERR No shutdown in progress.\r\n"},
		{[]string{"SHUTDOWN", "BOGUS"}, "-ERR syntax error\r\n"},
		{[]string{"MEMORY", "PURGE"}, "+OK\r\n"},
		{[]string{"MEMORY", "PURGE", "x"}, "-ERR unknown subcommand or wrong number of arguments for 'PURGE'. Try MEMORY HELP.\r\n"},
		{[]string{"MEMORY", "NOPE"}, "-ERR unknown subcommand or wrong number of arguments for 'NOPE'. Try MEMORY HELP.\r\n"},
		{[]string{"RESET"}, "+RESET\r\n"},
	}
	for _, tt := range tests {
		if got := c.cmd(tt.args...); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.args, got, tt.want)
		}
	}
	// RESET put the connection back to db 0 and no name.
	if got := c.cmd("CLIENT", "GETNAME"); got != "$-1\r\n" {
		t.Errorf("name after RESET: %q", got)
	}
	if got := c.cmd("CLIENT", "INFO"); !strings.Contains(got, " db=0 ") || !strings.Contains(got, " resp=2 ") {
		t.Errorf("CLIENT INFO after RESET: %q", got)
	}
	if got := c.cmd("QUIT"); got != "+OK\r\n" {
		t.Errorf("QUIT: %q", got)
	}
	c.expectClosed()
}

func TestHello(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := dialRaw(t, ts.addr)
	id := strings.TrimSpace(strings.TrimPrefix(c.cmd("CLIENT", "ID"), ":"))
	got := c.cmd("HELLO", "3", "SETNAME", "h1")
	want := "%7\r\n" + bulk("server") + bulk("redis") + bulk("version") + bulk("7.2.0") +
		bulk("proto") + ":3\r\n" + bulk("id") + ":" + id + "\r\n" + bulk("mode") + bulk("standalone") +
		bulk("role") + bulk("master") + bulk("modules") + "*0\r\n"
	if got != want {
		t.Errorf("HELLO 3:\n got %q\nwant %q", got, want)
	}
	// RESP3 from now on: a null is _, a map is %.
	if got := c.cmd("CLIENT", "GETNAME"); got != bulk("h1") {
		t.Errorf("GETNAME: %q", got)
	}
	if got := c.cmd("COMMAND", "INFO", "nosuch"); got != "*1\r\n_\r\n" {
		t.Errorf("RESP3 null: %q", got)
	}
	if got := c.cmd("CONFIG", "GET", "databases"); got != "%1\r\n"+bulk("databases")+bulk("16") {
		t.Errorf("RESP3 map: %q", got)
	}
	if got := c.cmd("INFO", "cluster"); got != "="+strconv.Itoa(len("txt:# Cluster\r\ncluster_enabled:0\r\n"))+"\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n" {
		t.Errorf("RESP3 INFO: %q", got)
	}
	if got := c.cmd("HELLO", "2"); !strings.HasPrefix(got, "*14\r\n") {
		t.Errorf("HELLO 2: %q", got)
	}
	if got := c.cmd("INFO", "cluster"); got != bulk("# Cluster\r\ncluster_enabled:0\r\n") {
		t.Errorf("RESP2 INFO: %q", got)
	}
}

func TestAuth(t *testing.T) {
	ts := startTestServer(t, Config{RequirePass: "s3cret"})
	c := dialRaw(t, ts.addr)
	noauth := "-NOAUTH Authentication required.\r\n"
	for _, args := range [][]string{{"PING"}, {"SELECT", "1"}, {"CLIENT", "ID"}, {"INFO"}} {
		if got := c.cmd(args...); got != noauth {
			t.Errorf("%q before AUTH: %q", args, got)
		}
	}
	if got := c.cmd("NOSUCH"); !strings.HasPrefix(got, "-ERR unknown command") {
		t.Errorf("unknown command before AUTH: %q", got)
	}
	if got := c.cmd("HELLO", "3"); got != "-"+errHelloNoAuth.Str+"\r\n" {
		t.Errorf("HELLO without AUTH: %q", got)
	}
	if got := c.cmd("AUTH", "wrong"); got != "-WRONGPASS invalid username-password pair or user is disabled.\r\n" {
		t.Errorf("wrong password: %q", got)
	}
	if got := c.cmd("HELLO", "3", "AUTH", "default", "wrong"); !strings.HasPrefix(got, "-WRONGPASS") {
		t.Errorf("HELLO AUTH wrong: %q", got)
	}
	if got := c.cmd("AUTH", "s3cret"); got != "+OK\r\n" {
		t.Errorf("AUTH: %q", got)
	}
	if got := c.cmd("PING"); got != "+PONG\r\n" {
		t.Errorf("PING after AUTH: %q", got)
	}

	c2 := dialRaw(t, ts.addr)
	if got := c2.cmd("HELLO", "3", "AUTH", "default", "s3cret"); !strings.HasPrefix(got, "%7\r\n") {
		t.Errorf("HELLO AUTH: %q", got)
	}
	if got := c2.cmd("RESET"); got != "+RESET\r\n" {
		t.Errorf("RESET: %q", got)
	}
	if got := c2.cmd("PING"); got != noauth {
		t.Errorf("PING after RESET: %q", got)
	}

	// go-redis authenticates with HELLO 3 AUTH default <password>.
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: ts.addr, Password: "s3cret"})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Errorf("go-redis with password: %v", err)
	}
	bad := redis.NewClient(&redis.Options{Addr: ts.addr, Password: "nope", MaxRetries: -1})
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("go-redis with a wrong password: %v", err)
	}
}

func TestClientList(t *testing.T) {
	ts := startTestServer(t, Config{})
	a := dialRaw(t, ts.addr)
	b := dialRaw(t, ts.addr)
	a.cmd("CLIENT", "SETNAME", "alpha")
	b.cmd("SELECT", "3")
	idB := strings.TrimSpace(strings.TrimPrefix(b.cmd("CLIENT", "ID"), ":"))
	list := a.cmd("CLIENT", "LIST")
	if !strings.Contains(list, " name=alpha ") || !strings.Contains(list, "id="+idB+" ") || !strings.Contains(list, " db=3 ") {
		t.Errorf("CLIENT LIST:\n%s", list)
	}
	one := a.cmd("CLIENT", "LIST", "ID", idB)
	if strings.Count(one, "id=") != 1 || !strings.Contains(one, "id="+idB+" ") {
		t.Errorf("CLIENT LIST ID:\n%q", one)
	}
	if got := a.cmd("CLIENT", "KILL", "ID", idB); got != ":1\r\n" {
		t.Errorf("CLIENT KILL: %q", got)
	}
	b.expectClosed()
	if got := a.cmd("CLIENT", "KILL", "ADDR", "1.2.3.4:5"); got != ":0\r\n" {
		t.Errorf("CLIENT KILL nobody: %q", got)
	}
}

func TestCommandCommand(t *testing.T) {
	ts := startTestServer(t, Config{})
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		rdb := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: proto})
		cmds, err := rdb.Command(ctx).Result()
		if err != nil {
			t.Fatalf("RESP%d COMMAND: %v", proto, err)
		}
		ping := cmds["ping"]
		if ping == nil || ping.Arity != -1 || ping.FirstKeyPos != 0 {
			t.Errorf("RESP%d COMMAND ping: %+v", proto, ping)
		}
		if _, ok := cmds["memimg.expired"]; ok {
			t.Errorf("COMMAND lists an internal command")
		}
		n, err := rdb.Do(ctx, "COMMAND", "COUNT").Int()
		if err != nil || n != len(cmds) {
			t.Errorf("COMMAND COUNT = %d, %v; COMMAND lists %d", n, err, len(cmds))
		}
		docs, err := rdb.Do(ctx, "COMMAND", "DOCS", "echo").Result()
		if got := fmt.Sprint(docs); err != nil || !strings.Contains(got, "echo") || !strings.Contains(got, "connection") ||
			!strings.Contains(got, "1.0.0") || !strings.Contains(got, "Returns the given string.") {
			t.Errorf("RESP%d COMMAND DOCS echo: %s, %v", proto, got, err)
		}
		list, err := rdb.CommandList(ctx, &redis.FilterBy{Pattern: "cl*"}).Result()
		if err != nil || len(list) != 1 || list[0] != "client" {
			t.Errorf("COMMAND LIST FILTERBY PATTERN cl*: %v, %v", list, err)
		}
		rdb.Close()
	}
	if schema.Lookup([]byte("get")) != nil {
		c := dialRaw(t, ts.addr)
		if got := c.cmd("COMMAND", "GETKEYS", "GET", "k1"); got != "*1\r\n"+bulk("k1") {
			t.Errorf("COMMAND GETKEYS GET k1: %q", got)
		}
	}
}

func TestInfo(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := dialRaw(t, ts.addr)
	c.cmd("PING")
	all := c.cmd("INFO")
	for _, want := range []string{"# Server\r\n", "redis_version:7.2.0\r\n", "# Clients\r\nconnected_clients:1\r\n",
		"# Memory\r\n", "used_memory:", "used_memory_rss:", "maxmemory:0\r\n", "# Persistence\r\n", "aof_enabled:1\r\n",
		"memimg_applied_index:", "# Stats\r\n", "total_commands_processed:", "keyspace_hits:",
		"# Keyspace\r\n"} {
		if !strings.Contains(all, want) {
			t.Errorf("INFO lacks %q", want)
		}
	}
	if tcp := fmt.Sprintf("tcp_port:%d\r\n", ts.Port()); !strings.Contains(all, tcp) {
		t.Errorf("INFO lacks %q", tcp)
	}
	two := c.cmd("INFO", "clients", "STATS")
	if !strings.Contains(two, "# Clients") || !strings.Contains(two, "# Stats") || strings.Contains(two, "# Server") {
		t.Errorf("INFO clients stats:\n%s", two)
	}
	if got := c.cmd("INFO", "nosuch"); got != "$0\r\n\r\n" {
		t.Errorf("INFO nosuch: %q", got)
	}
}

// TestBadInput: a malformed or oversize request gets Redis's error and a
// closed connection; the commands before it in the pipeline are answered;
// nothing reaches the log; other clients are unaffected.
func TestBadInput(t *testing.T) {
	ts := startTestServer(t, Config{ProtoMaxBulkLen: 1 << 20})
	other := dialRaw(t, ts.addr)
	if got := other.cmd("PING"); got != "+PONG\r\n" {
		t.Fatalf("PING: %q", got)
	}
	tests := []struct {
		name, in, want string
	}{
		{"malformed bulk length", "*2\r\n$3\r\nfoo\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk over proto-max-bulk-len", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"too many arguments", "*2000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"no dollar", "*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
		{"too big inline", strings.Repeat("x", 70000), "-ERR Protocol error: too big inline request\r\n"},
		{"pipelined before", "*1\r\n$4\r\nPING\r\nECHO hi\r\n*1\r\n$-5\r\n", "+PONG\r\n$2\r\nhi\r\n-ERR Protocol error: invalid bulk length\r\n"},
	}
	before := len(ts.log.Entries())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, ts.addr)
			c.send(tt.in)
			got := ""
			for len(got) < len(tt.want) {
				s, err := readRESP(c.rd)
				got += s
				if err != nil {
					break
				}
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			c.expectClosed()
		})
	}
	// The bulk arrives in pieces: the header is refused as soon as it is
	// complete, without waiting for the data.
	t.Run("in pieces", func(t *testing.T) {
		c := dialRaw(t, ts.addr)
		for _, p := range []string{"*3\r\n$3\r", "\nSET\r\n$1\r\nk\r\n$20", "00000", "\r"} {
			c.send(p)
			time.Sleep(10 * time.Millisecond)
		}
		c.send("\n")
		if got := c.read(); got != "-ERR Protocol error: invalid bulk length\r\n" {
			t.Errorf("got %q", got)
		}
		c.expectClosed()
	})
	if got := other.cmd("PING"); got != "+PONG\r\n" {
		t.Errorf("other client after the bad ones: %q", got)
	}
	if after := len(ts.log.Entries()); after != before {
		t.Errorf("log grew from %d to %d entries", before, after)
	}
	// Unknown commands and wrong arity keep the connection.
	c := dialRaw(t, ts.addr)
	if got := c.cmd("FOO"); !strings.HasPrefix(got, "-ERR unknown command 'FOO'") {
		t.Errorf("unknown: %q", got)
	}
	if got := c.cmd("PING"); got != "+PONG\r\n" {
		t.Errorf("after unknown: %q", got)
	}
	if !strings.Contains(ts.logs.String(), "protocol error; connection closed") {
		t.Errorf("no log of the protocol errors")
	}
	if strings.Contains(ts.logs.String(), "2000000") {
		t.Errorf("the log shows request contents:\n%s", ts.logs.String())
	}
}

func TestShutdownDrains(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := dialRaw(t, ts.addr)
	c.cmd("PING")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- ts.Shutdown(ctx)
	}()
	c.expectClosed()
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Errorf("still accepting after Shutdown")
	}
}

func TestShutdownCommand(t *testing.T) {
	called := make(chan struct{}, 1)
	ts := startTestServer(t, Config{Shutdown: func(ShutdownMode) error { called <- struct{}{}; return nil }})
	c := dialRaw(t, ts.addr)
	c.send("*1\r\n$8\r\nSHUTDOWN\r\n")
	c.expectClosed()
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("the Shutdown hook was not called")
	}
}
