package protocol

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/memimgtest"
)

// TestMultiRaw checks the replies of the transaction commands, byte for
// byte, on one connection.
func TestMultiRaw(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := dialRaw(t, ts.addr)
	const (
		ok     = "+OK\r\n"
		queued = "+QUEUED\r\n"
		abort  = "-EXECABORT Transaction discarded because of previous errors.\r\n"
	)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"EXEC"}, "-ERR EXEC without MULTI\r\n"},
		{[]string{"DISCARD"}, "-ERR DISCARD without MULTI\r\n"},
		{[]string{"MULTI"}, ok},
		{[]string{"SET", "a", "1"}, queued},
		{[]string{"INCR", "a"}, queued},
		{[]string{"GET", "a"}, queued},
		{[]string{"PING"}, queued},
		{[]string{"EXEC"}, "*4\r\n" + ok + ":2\r\n" + bulk("2") + "+PONG\r\n"},
		{[]string{"MULTI"}, ok},
		{[]string{"EXEC"}, "*0\r\n"},

		// Nested MULTI and WATCH inside MULTI: refused, not aborting.
		{[]string{"MULTI"}, ok},
		{[]string{"MULTI"}, "-ERR MULTI calls can not be nested\r\n"},
		{[]string{"WATCH", "a"}, "-ERR WATCH inside MULTI is not allowed\r\n"},
		{[]string{"INCR", "a"}, queued},
		{[]string{"EXEC"}, "*1\r\n:3\r\n"},

		// Errors while queuing abort.
		{[]string{"MULTI"}, ok},
		{[]string{"SET", "b", "1"}, queued},
		{[]string{"NOSUCH", "x"}, "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n"},
		{[]string{"EXEC"}, abort},
		{[]string{"EXISTS", "b"}, ":0\r\n"},
		{[]string{"MULTI"}, ok},
		{[]string{"GET"}, "-ERR wrong number of arguments for 'get' command\r\n"},
		{[]string{"EXEC"}, abort},
		{[]string{"MULTI"}, ok},
		{[]string{"SHUTDOWN"}, "-ERR Command not allowed inside a transaction\r\n"},
		{[]string{"EXEC"}, abort},
		{[]string{"MULTI"}, ok},
		{[]string{"SET", "b", "1"}, queued},
		{[]string{"EXEC", "x"}, "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"},
		{[]string{"EXEC"}, "-ERR EXEC without MULTI\r\n"},

		// Errors when running are replied in place; syntax errors are
		// found while queuing but replied in place too, as in Redis.
		{[]string{"MULTI"}, ok},
		{[]string{"SET", "c", "1", "BAD"}, queued},
		{[]string{"INCR", "a"}, queued},
		{[]string{"SET", "s", "str"}, queued},
		{[]string{"INCR", "s"}, queued},
		{[]string{"EXEC"}, "*4\r\n-ERR syntax error\r\n:4\r\n" + ok + "-ERR value is not an integer or out of range\r\n"},

		// DISCARD.
		{[]string{"MULTI"}, ok},
		{[]string{"DEL", "a"}, queued},
		{[]string{"DISCARD"}, ok},
		{[]string{"GET", "a"}, bulk("4")},

		// SELECT inside MULTI applies to what follows, and stays.
		{[]string{"MULTI"}, ok},
		{[]string{"SELECT", "5"}, queued},
		{[]string{"SET", "a", "five"}, queued},
		{[]string{"SELECT", "99"}, queued},
		{[]string{"GET", "a"}, queued},
		{[]string{"EXEC"}, "*4\r\n" + ok + ok + "-ERR DB index is out of range\r\n" + bulk("five")},
		{[]string{"GET", "a"}, bulk("five")},
		{[]string{"SELECT", "0"}, ok},
		{[]string{"GET", "a"}, bulk("4")},

		// WATCH.
		{[]string{"WATCH", "a", "b"}, ok},
		{[]string{"SET", "a", "x"}, ok},
		{[]string{"MULTI"}, ok},
		{[]string{"SET", "b", "y"}, queued},
		{[]string{"EXEC"}, "*-1\r\n"},
		{[]string{"EXISTS", "b"}, ":0\r\n"},
		{[]string{"WATCH", "a"}, ok},
		{[]string{"UNWATCH"}, ok},
		{[]string{"SET", "a", "y"}, ok},
		{[]string{"MULTI"}, ok},
		{[]string{"GET", "a"}, queued},
		{[]string{"EXEC"}, "*1\r\n" + bulk("y")},

		// RESET leaves the transaction.
		{[]string{"MULTI"}, ok},
		{[]string{"SET", "r", "1"}, queued},
		{[]string{"RESET"}, "+RESET\r\n"},
		{[]string{"EXEC"}, "-ERR EXEC without MULTI\r\n"},
		{[]string{"EXISTS", "r"}, ":0\r\n"},

		// RESP3: an aborted EXEC is a null.
		{[]string{"HELLO", "3"}, ""},
		{[]string{"WATCH", "a"}, ok},
		{[]string{"SET", "a", "z"}, ok},
		{[]string{"MULTI"}, ok},
		{[]string{"PING"}, queued},
		{[]string{"EXEC"}, "_\r\n"},
	}
	for i, st := range steps {
		got := c.cmd(st.args...)
		if st.want != "" && got != st.want {
			t.Errorf("step %d %q:\n got %q\nwant %q", i, st.args, got, st.want)
		}
	}
}

// TestMultiPipelined sends whole transactions in one write, between
// writes and reads: the replies come in order.
func TestMultiPipelined(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := dialRaw(t, ts.addr)
	var b strings.Builder
	cmd := func(args ...string) {
		b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
		for _, a := range args {
			b.WriteString(bulk(a))
		}
	}
	cmd("SET", "a", "1")
	cmd("INCR", "a")
	cmd("MULTI")
	cmd("INCR", "a")
	cmd("GET", "a")
	cmd("EXEC")
	cmd("INCR", "a")
	cmd("MULTI")
	cmd("INCR", "a")
	cmd("EXEC")
	cmd("GET", "a")
	c.send(b.String())
	want := []string{"+OK\r\n", ":2\r\n", "+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*2\r\n:3\r\n" + bulk("3"),
		":4\r\n", "+OK\r\n", "+QUEUED\r\n", "*1\r\n:5\r\n", bulk("5")}
	for i, w := range want {
		if got := c.read(); got != w {
			t.Errorf("reply %d: got %q, want %q", i, got, w)
		}
	}
}

// TestWatchOtherClient: a write by another connection aborts the
// transaction; a transaction of the watching connection runs otherwise.
func TestWatchOtherClient(t *testing.T) {
	ts := startTestServer(t, Config{})
	a, b := dialRaw(t, ts.addr), dialRaw(t, ts.addr)
	a.cmd("SET", "k", "1")
	a.cmd("WATCH", "k")
	if got := a.cmd("CLIENT", "LIST", "ID", strings.TrimSpace(strings.TrimPrefix(a.cmd("CLIENT", "ID"), ":"))); !strings.Contains(got, " multi=-1 ") {
		t.Errorf("CLIENT LIST outside MULTI: %q", got)
	}
	b.cmd("SET", "k", "2")
	a.cmd("MULTI")
	a.cmd("INCR", "k")
	if got := a.cmd("EXEC"); got != "*-1\r\n" {
		t.Fatalf("EXEC after another client's write: %q", got)
	}
	if got := b.cmd("GET", "k"); got != bulk("2") {
		t.Fatalf("GET: %q", got)
	}
	// Another client's write to another key, or a read, does not abort.
	a.cmd("WATCH", "k")
	b.cmd("SET", "other", "1")
	b.cmd("GET", "k")
	a.cmd("MULTI")
	a.cmd("INCR", "k")
	if got := a.cmd("EXEC"); got != "*1\r\n:3\r\n" {
		t.Fatalf("EXEC: %q", got)
	}
}

// TestWatchExpiry: a watched key whose TTL passes before EXEC aborts it;
// a key already expired when watched does not.
func TestWatchExpiry(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := dialRaw(t, ts.addr)
	c.cmd("SET", "k", "1", "PX", "50")
	c.cmd("WATCH", "k")
	time.Sleep(100 * time.Millisecond)
	c.cmd("MULTI")
	c.cmd("SET", "x", "1")
	if got := c.cmd("EXEC"); got != "*-1\r\n" {
		t.Fatalf("EXEC after the watched key expired: %q", got)
	}
	c.cmd("SET", "k", "1", "PX", "50")
	time.Sleep(100 * time.Millisecond)
	c.cmd("WATCH", "k")
	c.cmd("MULTI")
	c.cmd("SET", "x", "1")
	if got := c.cmd("EXEC"); got != "*1\r\n+OK\r\n" {
		t.Fatalf("EXEC with a key expired before WATCH: %q", got)
	}
}

// TestMultiGoRedis uses go-redis's transactions: TxPipelined, and the
// WATCH / GET / MULTI / SET / EXEC retry loop from many clients at once,
// which must lose no increment.
func TestMultiGoRedis(t *testing.T) {
	ts := startTestServer(t, Config{})
	rdb := redis.NewClient(&redis.Options{Addr: ts.addr, PoolSize: 32})
	t.Cleanup(func() { rdb.Close() })
	checkTxRedis(t, rdb)
}

func checkTxRedis(t *testing.T, rdb *redis.Client) {
	t.Helper()
	ctx := context.Background()
	cmds, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "a", "1", 0)
		p.Incr(ctx, "a")
		p.Get(ctx, "a")
		return nil
	})
	if err != nil || len(cmds) != 3 || cmds[2].(*redis.StringCmd).Val() != "2" {
		t.Fatalf("TxPipelined: %v %v", cmds, err)
	}
	// An apply-time error is the command's own.
	rdb.Set(ctx, "s", "str", 0)
	cmds, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "s")
		p.Incr(ctx, "a")
		return nil
	})
	if err == nil || cmds[0].Err() == nil || cmds[1].(*redis.IntCmd).Val() != 3 {
		t.Fatalf("TxPipelined with an error: %v %v", cmds, err)
	}

	const clients, incrs = 8, 25
	increment := func() error {
		for {
			err := rdb.Watch(ctx, func(tx *redis.Tx) error {
				n, err := tx.Get(ctx, "counter").Int()
				if err != nil && !errors.Is(err, redis.Nil) {
					return err
				}
				_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, "counter", n+1, 0)
					return nil
				})
				return err
			}, "counter")
			if !errors.Is(err, redis.TxFailedErr) {
				return err
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < incrs; j++ {
				if err := increment(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, err := rdb.Get(ctx, "counter").Int(); err != nil || n != clients*incrs {
		t.Fatalf("counter = %d (%v), want %d", n, err, clients*incrs)
	}
}

// TestMultiMemimgd runs transactions against a real memimgd, kills it
// with SIGKILL and checks that the restarted server replays them to the
// same state.
func TestMultiMemimgd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memimgd")
	}
	srv := memimgtest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	checkTxRedis(t, rdb)
	// An aborted transaction, by another client's write.
	other := redis.NewClient(srv.Options())
	defer other.Close()
	err := rdb.Watch(ctx, func(tx *redis.Tx) error {
		if err := other.Set(ctx, "counter", "other", 0).Err(); err != nil {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "counter", "lost", 0)
			p.Set(ctx, "aborted", "1", 0)
			return nil
		})
		return err
	}, "counter")
	if !errors.Is(err, redis.TxFailedErr) {
		t.Fatalf("Watch: %v, want TxFailedErr", err)
	}
	want := map[string]string{}
	for _, k := range []string{"a", "s", "counter", "aborted"} {
		want[k] = rdb.Get(ctx, k).Val()
	}
	if want["counter"] != "other" || want["aborted"] != "" {
		t.Fatalf("state before restart: %v", want)
	}
	digest := rdb.Do(ctx, "MEMIMG.DIGEST").Val()
	srv.Kill()
	srv.Restart()
	rdb = srv.Client()
	for k, v := range want {
		if got := rdb.Get(ctx, k).Val(); got != v {
			t.Errorf("after restart %s = %q, want %q", k, got, v)
		}
	}
	if got := rdb.Do(ctx, "MEMIMG.DIGEST").Val(); got != digest {
		t.Errorf("digest after restart %v, want %v", got, digest)
	}
}
