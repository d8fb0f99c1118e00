package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/memimgtest"
	"github.com/memimg/memimg/schema"
)

// These tests run the real daemon (built by memimgtest) on loopback ports.

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// needCommands skips the test until the engine has the commands.
func needCommands(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if schema.Lookup([]byte(n)) == nil {
			t.Skipf("%s is not in the catalog yet", strings.ToUpper(n))
		}
	}
}

func TestGoRedis(t *testing.T) {
	srv := memimgtest.Start(t)
	for _, proto := range []int{3, 2} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			ctx := ctxT(t)
			opts := srv.Options()
			opts.Protocol = proto
			opts.ClientName = "tester"
			opts.DB = 2
			rdb := redis.NewClient(opts)
			defer rdb.Close()

			if got, err := rdb.Ping(ctx).Result(); err != nil || got != "PONG" {
				t.Fatalf("PING: %q, %v", got, err)
			}
			if got, err := rdb.Echo(ctx, "hello world").Result(); err != nil || got != "hello world" {
				t.Errorf("ECHO: %q, %v", got, err)
			}
			hello, err := rdb.Do(ctx, "HELLO", strconv.Itoa(proto)).Result()
			if s := fmt.Sprint(hello); err != nil || !strings.Contains(s, "redis") || !strings.Contains(s, "7.2.0") ||
				!strings.Contains(s, "standalone") || !strings.Contains(s, "master") {
				t.Errorf("HELLO: %s, %v", s, err)
			}
			if proto == 3 {
				m, ok := hello.(map[interface{}]interface{})
				if !ok || m["proto"] != int64(3) || m["server"] != "redis" {
					t.Errorf("HELLO 3 is not a RESP3 map: %#v", hello)
				}
			}
			id, err := rdb.ClientID(ctx).Result()
			if err != nil || id <= 0 {
				t.Errorf("CLIENT ID: %d, %v", id, err)
			}
			if got, err := rdb.ClientGetName(ctx).Result(); err != nil || got != "tester" {
				t.Errorf("CLIENT GETNAME: %q, %v", got, err)
			}
			list, err := rdb.ClientList(ctx).Result()
			if err != nil || !strings.Contains(list, fmt.Sprintf("id=%d ", id)) || !strings.Contains(list, "name=tester") ||
				!strings.Contains(list, " db=2 ") || !strings.Contains(list, "lib-name=go-redis") {
				t.Errorf("CLIENT LIST: %q, %v", list, err)
			}
			info, err := rdb.ClientInfo(ctx).Result()
			if err != nil || info.ID != id || info.Name != "tester" || info.DB != 2 {
				t.Errorf("CLIENT INFO: %+v, %v", info, err)
			}
			im, err := rdb.InfoMap(ctx, "server", "clients", "memory", "persistence", "stats", "keyspace").Result()
			if err != nil {
				t.Fatalf("INFO: %v", err)
			}
			checks := map[string][]string{
				"Server":      {"redis_version", "process_id", "tcp_port", "uptime_in_seconds", "run_id"},
				"Clients":     {"connected_clients"},
				"Memory":      {"used_memory", "used_memory_human", "used_memory_rss", "maxmemory"},
				"Persistence": {"aof_enabled", "memimg_log_last_index", "memimg_applied_index", "memimg_appendfsync", "memimg_log_fsyncs"},
				"Stats":       {"total_commands_processed", "instantaneous_ops_per_sec", "keyspace_hits", "keyspace_misses", "expired_keys"},
			}
			for sec, fields := range checks {
				for _, f := range fields {
					if _, ok := im[sec][f]; !ok {
						t.Errorf("INFO %s lacks %s: %v", sec, f, im[sec])
					}
				}
			}
			if im["Server"]["tcp_port"] != strconv.Itoa(srv.Port) || im["Server"]["redis_version"] != "7.2.0" ||
				im["Persistence"]["aof_enabled"] != "1" || im["Memory"]["maxmemory"] != "0" {
				t.Errorf("INFO values: server %v persistence %v", im["Server"], im["Persistence"])
			}
			if n, err := strconv.Atoi(im["Memory"]["used_memory"]); err != nil || n <= 0 {
				t.Errorf("used_memory %q", im["Memory"]["used_memory"])
			}
			cmds, err := rdb.Command(ctx).Result()
			if err != nil || cmds["ping"] == nil || cmds["client"] == nil {
				t.Errorf("COMMAND: %d commands, %v", len(cmds), err)
			}
			count, err := rdb.Do(ctx, "COMMAND", "COUNT").Int()
			if err != nil || count != len(cmds) {
				t.Errorf("COMMAND COUNT %d, %v; COMMAND has %d", count, err, len(cmds))
			}
			ci, err := rdb.Do(ctx, "COMMAND", "INFO", "ping", "nosuch").Slice()
			if err != nil || len(ci) != 2 || ci[1] != nil {
				t.Errorf("COMMAND INFO: %v, %v", ci, err)
			}
			docs, err := rdb.Do(ctx, "COMMAND", "DOCS", "ping").Result()
			if s := fmt.Sprint(docs); err != nil || !strings.Contains(s, "connection") || !strings.Contains(s, "summary") {
				t.Errorf("COMMAND DOCS: %s, %v", s, err)
			}
			cfg, err := rdb.ConfigGet(ctx, "*").Result()
			if err != nil {
				t.Fatalf("CONFIG GET *: %v", err)
			}
			want := map[string]string{"port": strconv.Itoa(srv.Port), "bind": "127.0.0.1", "appendfsync": "always",
				"appendonly": "yes", "databases": "16", "save": DefaultSave, "maxmemory": "0", "requirepass": "",
				"proto-max-bulk-len": "536870912", "dir": srv.Dir}
			for k, v := range want {
				if got, ok := cfg[k]; !ok || got != v {
					t.Errorf("CONFIG GET %s = %q (present %v), want %q", k, got, ok, v)
				}
			}
			if err := rdb.ConfigSet(ctx, "port", "1").Err(); err == nil || !strings.Contains(err.Error(), "immutable") {
				t.Errorf("CONFIG SET port: %v", err)
			}
			if err := rdb.ConfigSet(ctx, "loglevel", "debug").Err(); err != nil {
				t.Errorf("CONFIG SET loglevel: %v", err)
			}
			if got := rdb.ConfigGet(ctx, "loglevel").Val()["loglevel"]; got != "debug" {
				t.Errorf("loglevel after CONFIG SET: %q", got)
			}
			rdb.ConfigSet(ctx, "loglevel", "notice")
			if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
				t.Errorf("CONFIG RESETSTAT: %v", err)
			}
			tm, err := rdb.Time(ctx).Result()
			if err != nil || time.Since(tm).Abs() > time.Minute {
				t.Errorf("TIME: %v, %v", tm, err)
			}
			if err := rdb.Do(ctx, "NOSUCHCMD", "x").Err(); err == nil || !strings.Contains(err.Error(), "unknown command 'NOSUCHCMD'") {
				t.Errorf("unknown command: %v", err)
			}
			if err := rdb.Ping(ctx).Err(); err != nil {
				t.Errorf("PING after an unknown command: %v", err)
			}
		})
	}
}

func TestGoRedisStrings(t *testing.T) {
	needCommands(t, "set", "get", "incr")
	srv := memimgtest.Start(t)
	ctx := ctxT(t)
	rdb := srv.Client()
	if err := rdb.Set(ctx, "greeting", "hello", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := rdb.Get(ctx, "greeting").Result(); err != nil || got != "hello" {
		t.Errorf("GET: %q, %v", got, err)
	}
	if _, err := rdb.Get(ctx, "missing").Result(); err != redis.Nil {
		t.Errorf("GET missing: %v", err)
	}
	for i := 1; i <= 3; i++ {
		if n, err := rdb.Incr(ctx, "counter").Result(); err != nil || n != int64(i) {
			t.Errorf("INCR: %d, %v", n, err)
		}
	}
	// A pipeline of writes: one batch in the log, replies in order.
	cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < 100; i++ {
			p.Incr(ctx, "piped")
		}
		p.Get(ctx, "piped")
		return nil
	})
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	for i, c := range cmds[:100] {
		if n := c.(*redis.IntCmd).Val(); n != int64(i+1) {
			t.Fatalf("pipelined INCR %d replied %d", i, n)
		}
	}
	if got := cmds[100].(*redis.StringCmd).Val(); got != "100" {
		t.Errorf("GET after the pipeline: %q", got)
	}
	// SELECT keeps databases apart.
	opts := srv.Options()
	opts.DB = 5
	db5 := redis.NewClient(opts)
	defer db5.Close()
	if _, err := db5.Get(ctx, "greeting").Result(); err != redis.Nil {
		t.Errorf("db 5 sees db 0's key: %v", err)
	}
	im := rdb.InfoMap(ctx, "keyspace").Val()
	if ks := im["Keyspace"]["db0"]; !strings.HasPrefix(ks, "keys=3,expires=0") {
		t.Errorf("INFO keyspace db0 = %q", ks)
	}

	// Acknowledged writes survive kill -9.
	srv.Kill()
	srv.Restart()
	rdb = srv.Client()
	if got, err := rdb.Get(ctx, "piped").Result(); err != nil || got != "100" {
		t.Errorf("after kill -9 and restart: %q, %v", got, err)
	}
}

func TestRequirePass(t *testing.T) {
	srv := memimgtest.Start(t, memimgtest.WithArgs("--requirepass", "s3cret"))
	ctx := ctxT(t)
	anon := srv.Client()
	if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("PING without a password: %v", err)
	}
	opts := srv.Options()
	opts.Password = "s3cret"
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Errorf("PING with the password (HELLO 3 AUTH): %v", err)
	}
	opts.Protocol = 2
	rdb2 := redis.NewClient(opts)
	defer rdb2.Close()
	if err := rdb2.Ping(ctx).Err(); err != nil {
		t.Errorf("PING with the password, RESP2: %v", err)
	}
	opts.Password = "wrong"
	bad := redis.NewClient(opts)
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("wrong password: %v", err)
	}
	if got := rdb.ConfigGet(ctx, "requirepass").Val()["requirepass"]; got != "s3cret" {
		t.Errorf("CONFIG GET requirepass = %q", got)
	}
	out, _ := memimgtest.RedisCLI(t, srv.Addr, "PING")
	if !strings.Contains(out, "NOAUTH") {
		t.Errorf("redis-cli without a password: %q", out)
	}
	out, err := memimgtest.RedisCLI(t, srv.Addr, "-a", "s3cret", "--no-auth-warning", "PING")
	if err != nil || strings.TrimSpace(out) != "PONG" {
		t.Errorf("redis-cli -a: %q, %v", out, err)
	}
}

func TestRedisCLI(t *testing.T) {
	srv := memimgtest.Start(t)
	run := func(args ...string) string {
		t.Helper()
		out, err := memimgtest.RedisCLI(t, srv.Addr, args...)
		if err != nil {
			t.Fatalf("redis-cli %q: %v\n%s", args, err, out)
		}
		return out
	}
	if out := run("PING"); out != "PONG\n" {
		t.Errorf("PING: %q", out)
	}
	if out := run("ECHO", "hi there"); out != "hi there\n" {
		t.Errorf("ECHO: %q", out)
	}
	if out := run("--no-raw", "INFO", "server"); !strings.Contains(out, "redis_version:7.2.0") {
		t.Errorf("INFO server: %q", out)
	}
	if out := run("-3", "HELLO", "3"); !strings.Contains(out, "proto") || !strings.Contains(out, "standalone") {
		t.Errorf("redis-cli -3 HELLO 3: %q", out)
	}
	if out := run("COMMAND", "COUNT"); strings.TrimSpace(out) == "" || strings.TrimSpace(out) == "0" {
		t.Errorf("COMMAND COUNT: %q", out)
	}
	if out := run("NOSUCH"); !strings.Contains(out, "unknown command") {
		t.Errorf("unknown command: %q", out)
	}

	if schema.Lookup([]byte("set")) == nil || schema.Lookup([]byte("get")) == nil {
		t.Log("SET/GET not in the catalog yet: skipping the data part")
		return
	}
	if out := run("SET", "greeting", "hello world"); out != "OK\n" {
		t.Errorf("SET: %q", out)
	}
	if out := run("GET", "greeting"); out != "hello world\n" {
		t.Errorf("GET: %q", out)
	}
	if out := run("--no-raw", "GET", "greeting"); out != "\"hello world\"\n" {
		t.Errorf("GET --no-raw: %q", out)
	}
	if out := run("--no-raw", "INFO", "keyspace"); !strings.Contains(out, "# Keyspace") || !strings.Contains(out, "db0:keys=1,expires=0,avg_ttl=0") {
		t.Errorf("INFO keyspace: %q", out)
	}
	// Commands piped into redis-cli, one per line.
	out, err := memimgtest.RedisCLIInput(t, srv.Addr, "SET a 1\nGET a\nSET b \"two words\"\nGET b\nPING\n")
	if err != nil || out != "OK\n1\nOK\ntwo words\nPONG\n" {
		t.Errorf("piped commands: %q, %v", out, err)
	}
	// redis-cli --pipe speaks raw RESP (mass insertion).
	var mass strings.Builder
	for i := 0; i < 1000; i++ {
		k, v := fmt.Sprintf("key:%d", i), strconv.Itoa(i)
		fmt.Fprintf(&mass, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
	}
	out, err = memimgtest.RedisCLIInput(t, srv.Addr, mass.String(), "--pipe")
	if err != nil || !strings.Contains(out, "errors: 0, replies: 1000") {
		t.Errorf("redis-cli --pipe: %q, %v", out, err)
	}
	if out := run("GET", "key:999"); out != "999\n" {
		t.Errorf("GET after --pipe: %q", out)
	}
}

// rawSend writes in to a new connection and returns everything the server
// answers until it closes the connection or a second passes in silence.
func rawSend(t *testing.T, addr, in string) (string, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Write from a goroutine: the server may refuse the request and close
	// before it has all been sent.
	go func() { _, _ = io.WriteString(c, in) }()
	var out []byte
	buf := make([]byte, 4096)
	for {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return string(out), false
			}
			return string(out), true
		}
	}
}

func logIndex(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	im, err := rdb.InfoMap(context.Background(), "persistence").Result()
	if err != nil {
		t.Fatal(err)
	}
	return im["Persistence"]["memimg_log_last_index"]
}

func TestBadInput(t *testing.T) {
	srv := memimgtest.Start(t, memimgtest.WithArgs("--proto-max-bulk-len", "1mb"))
	ctx := ctxT(t)
	rdb := srv.Client()
	if got := rdb.ConfigGet(ctx, "proto-max-bulk-len").Val()["proto-max-bulk-len"]; got != "1048576" {
		t.Errorf("proto-max-bulk-len = %q", got)
	}
	before := logIndex(t, rdb)
	tests := []struct {
		name, in, want string
	}{
		{"malformed bulk length", "*2\r\n$3\r\nfoo\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk over the limit", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"huge multibulk", "*99999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"too big inline", strings.Repeat("a", 65*1024), "-ERR Protocol error: too big inline request\r\n"},
		{"no dollar", "*1\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, closed := rawSend(t, srv.Addr, tt.in)
			if out != tt.want || !closed {
				t.Errorf("got %q (closed %v), want %q and a closed connection", out, closed, tt.want)
			}
		})
	}
	// A whole 2 MB value over a 1 MB limit is refused at its header.
	big := "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$2097152\r\n" + strings.Repeat("x", 2<<20) + "\r\n"
	if out, closed := rawSend(t, srv.Addr, big); out != "-ERR Protocol error: invalid bulk length\r\n" || !closed {
		t.Errorf("2 MB value: %q, closed %v", out, closed)
	}
	// An unknown command keeps the connection.
	if out, closed := rawSend(t, srv.Addr, "*1\r\n$3\r\nFOO\r\n*1\r\n$4\r\nPING\r\n"); closed ||
		out != "-ERR unknown command 'FOO', with args beginning with: \r\n+PONG\r\n" {
		t.Errorf("unknown command: %q, closed %v", out, closed)
	}
	// The server is healthy and logged nothing.
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Errorf("PING after bad input: %v", err)
	}
	if after := logIndex(t, rdb); after != before {
		t.Errorf("log index moved from %s to %s", before, after)
	}
	if needed := schema.Lookup([]byte("set")); needed != nil {
		if err := rdb.Set(ctx, "ok", strings.Repeat("v", 1000), 0).Err(); err != nil {
			t.Errorf("SET after bad input: %v", err)
		}
	}
}

func TestConfigFileProcess(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "memimg.conf")
	conf := "# test config\nport 1\ndatabases 4\nrequirepass \"from file\"\nappendfsync everysec\nloglevel verbose\n"
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// --port 0 and --dir (added by memimgtest) and --databases override the file.
	srv := memimgtest.Start(t, memimgtest.WithConfigFile(file), memimgtest.WithArgs("--databases", "8"))
	ctx := ctxT(t)
	opts := srv.Options()
	opts.Password = "from file"
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	cfg, err := rdb.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if cfg["databases"] != "8" || cfg["appendfsync"] != "everysec" || cfg["port"] != strconv.Itoa(srv.Port) ||
		cfg["loglevel"] != "verbose" || cfg["requirepass"] != "from file" {
		t.Errorf("CONFIG GET: %v", cfg)
	}
	if err := rdb.Do(ctx, "SELECT", "7").Err(); err != nil {
		t.Errorf("SELECT 7: %v", err)
	}
	if err := rdb.Do(ctx, "SELECT", "8").Err(); err == nil || !strings.Contains(err.Error(), "DB index is out of range") {
		t.Errorf("SELECT 8: %v", err)
	}
	if got := rdb.InfoMap(ctx, "server").Val()["Server"]["config_file"]; got != file {
		t.Errorf("INFO config_file = %q", got)
	}
	srv.Stop()
}

func TestStartupErrors(t *testing.T) {
	badConf := filepath.Join(t.TempDir(), "bad.conf")
	if err := os.WriteFile(badConf, []byte("port 6380\nnosuchthing 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []memimgtest.Option
		code int
		want []string
	}{
		{"unknown directive", []memimgtest.Option{memimgtest.WithConfigFile(badConf)}, 2,
			[]string{badConf + `:2: unknown directive "nosuchthing"`}},
		{"bad appendfsync", []memimgtest.Option{memimgtest.WithArgs("--appendfsync", "sometimes", "--databases", "0")}, 2,
			[]string{"appendfsync must be always, everysec or no", "databases must be"}},
		{"unknown flag", []memimgtest.Option{memimgtest.WithArgs("--nosuch", "1")}, 2,
			[]string{"flag provided but not defined: -nosuch", "usage: memimgd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := memimgtest.TryStart(t, tt.opts...)
			if err == nil {
				t.Fatal("the server started")
			}
			if code := srv.Wait(); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(srv.Log(), w) {
					t.Errorf("output lacks %q:\n%s", w, srv.Log())
				}
			}
		})
	}
}

func TestLockedDir(t *testing.T) {
	first := memimgtest.Start(t)
	second, err := memimgtest.TryStart(t, memimgtest.WithDir(first.Dir))
	if err == nil {
		t.Fatal("a second server started on the same directory")
	}
	if code := second.Wait(); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(second.Log(), "is in use by another memimgd") {
		t.Errorf("no clear error:\n%s", second.Log())
	}
	if err := first.Client().Ping(ctxT(t)).Err(); err != nil {
		t.Errorf("the first server: %v", err)
	}
}

func TestSigterm(t *testing.T) {
	srv := memimgtest.Start(t)
	rdb := srv.Client()
	if err := rdb.Ping(ctxT(t)).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop() // fails unless exit code 0
	if !strings.Contains(srv.Log(), `msg="memimgd stopped"`) {
		t.Errorf("no stop message:\n%s", srv.Log())
	}
	// It starts again on the same directory (the lock was released).
	srv.Restart()
	if err := srv.Client().Ping(ctxT(t)).Err(); err != nil {
		t.Errorf("after restart: %v", err)
	}
}

func TestShutdownCommand(t *testing.T) {
	srv := memimgtest.Start(t)
	// An idle connection is closed by the shutdown too.
	idle, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	out, _ := memimgtest.RedisCLI(t, srv.Addr, "SHUTDOWN")
	if strings.Contains(out, "ERR") {
		t.Errorf("SHUTDOWN: %q", out)
	}
	if code := srv.Wait(); code != 0 {
		t.Errorf("exit code %d after SHUTDOWN", code)
	}
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(idle).ReadByte(); err == nil {
		t.Errorf("idle connection still open")
	}
	if !strings.Contains(srv.Log(), `msg="memimgd stopped"`) {
		t.Errorf("no stop message:\n%s", srv.Log())
	}
}
