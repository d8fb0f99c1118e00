package protocol

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/memimg/memimg/memimgtest"
)

// The blocking commands, as a specification run three ways: against an
// in-process server, a real memimgd and a real redis-server, so that the
// expected replies are Redis's own.

// blockingCase is one scenario: the blocked client sends block, and once it
// is blocked the other client runs then; the blocked client's reply must
// be want.
type blockingCase struct {
	name  string
	setup [][]string // run first, by the other client
	block []string
	then  [][]string // run by the other client once block waits; nil: none
	want  string     // the blocked client's raw reply
	after [][2]string
}

var blockingCases = []blockingCase{
	{name: "BLPOP times out with a null array",
		block: []string{"BLPOP", "bl:none", "0.05"}, want: "*-1\r\n"},
	{name: "BRPOPLPUSH times out with a null array (not a null bulk string as in MULTI)",
		block: []string{"BRPOPLPUSH", "bl:none", "bl:dst", "0.05"}, want: "*-1\r\n"},
	{name: "BLMOVE times out with a null array",
		block: []string{"BLMOVE", "bl:none", "bl:dst", "LEFT", "RIGHT", "0.05"}, want: "*-1\r\n"},
	{name: "BZPOPMIN times out with a null array",
		block: []string{"BZPOPMIN", "bl:none", "0.05"}, want: "*-1\r\n"},
	{name: "BLMPOP times out with a null array",
		block: []string{"BLMPOP", "0.05", "1", "bl:none", "LEFT"}, want: "*-1\r\n"},
	{name: "BLPOP serves at once when the list has elements",
		setup: [][]string{{"RPUSH", "bl:a", "x", "y"}},
		block: []string{"BLPOP", "bl:a", "0"}, want: "*2\r\n" + bulk("bl:a") + bulk("x"),
		after: [][2]string{{"LRANGE bl:a 0 -1", "*1\r\n" + bulk("y")}}},
	{name: "BLPOP on a wrong type fails at once",
		setup: [][]string{{"SET", "bl:s", "v"}},
		block: []string{"BLPOP", "bl:s", "0"}, want: "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{name: "BLPOP waits for a push and the list is removed when emptied",
		block: []string{"BLPOP", "bl:a", "5"},
		then:  [][]string{{"RPUSH", "bl:a", "v1"}},
		want:  "*2\r\n" + bulk("bl:a") + bulk("v1"),
		after: [][2]string{{"EXISTS bl:a", ":0\r\n"}}},
	{name: "BRPOP waits on several keys and names the one pushed",
		block: []string{"BRPOP", "bl:a", "bl:b", "5"},
		then:  [][]string{{"LPUSH", "bl:b", "v1", "v2"}},
		want:  "*2\r\n" + bulk("bl:b") + bulk("v1"),
		after: [][2]string{{"LRANGE bl:b 0 -1", "*1\r\n" + bulk("v2")}}},
	{name: "BLMOVE waits and moves",
		block: []string{"BLMOVE", "bl:src", "bl:dst", "RIGHT", "LEFT", "0"},
		then:  [][]string{{"RPUSH", "bl:src", "a", "b"}},
		want:  bulk("b"),
		after: [][2]string{{"LRANGE bl:dst 0 -1", "*1\r\n" + bulk("b")}, {"LRANGE bl:src 0 -1", "*1\r\n" + bulk("a")}}},
	{name: "BLMPOP waits and pops a count",
		block: []string{"BLMPOP", "5", "2", "bl:a", "bl:b", "RIGHT", "COUNT", "2"},
		then:  [][]string{{"RPUSH", "bl:b", "1", "2", "3"}},
		want:  "*2\r\n" + bulk("bl:b") + "*2\r\n" + bulk("3") + bulk("2")},
	{name: "BZPOPMAX waits for ZADD",
		block: []string{"BZPOPMAX", "bl:z", "5"},
		then:  [][]string{{"ZADD", "bl:z", "1", "one", "2", "two"}},
		want:  "*3\r\n" + bulk("bl:z") + bulk("two") + bulk("2"),
		after: [][2]string{{"ZCARD bl:z", ":1\r\n"}}},
	{name: "a push inside MULTI/EXEC wakes the waiter",
		block: []string{"BLPOP", "bl:a", "5"},
		then:  [][]string{{"MULTI"}, {"SET", "bl:other", "1"}, {"RPUSH", "bl:a", "t"}, {"EXEC"}},
		want:  "*2\r\n" + bulk("bl:a") + bulk("t")},
	{name: "a non-list write to the key does not end the wait",
		block: []string{"BLPOP", "bl:a", "0.3"},
		then:  [][]string{{"SET", "bl:unrelated", "x"}},
		want:  "*-1\r\n"},
}

// checkBlocking runs blockingCases against the server at addr.
func checkBlocking(t *testing.T, addr string) {
	for _, tc := range blockingCases {
		t.Run(tc.name, func(t *testing.T) {
			other := dialRaw(t, addr)
			other.cmd("FLUSHALL")
			for _, c := range tc.setup {
				other.cmd(c...)
			}
			blocked := dialRaw(t, addr)
			blocked.send(command(tc.block...))
			if tc.then != nil {
				waitBlocked(t, other, 1)
				for _, c := range tc.then {
					other.cmd(c...)
				}
			}
			if got := blocked.read(); got != tc.want {
				t.Fatalf("%v answered %q, want %q", tc.block, got, tc.want)
			}
			for _, a := range tc.after {
				if got := other.cmd(strings.Fields(a[0])...); got != a[1] {
					t.Errorf("%s: %q, want %q", a[0], got, a[1])
				}
			}
			waitBlocked(t, other, 0)
		})
	}

	t.Run("two waiters, two pushes: both served", func(t *testing.T) {
		other := dialRaw(t, addr)
		other.cmd("FLUSHALL")
		a, b := dialRaw(t, addr), dialRaw(t, addr)
		a.send(command("BLPOP", "bl:q", "5"))
		b.send(command("BLPOP", "bl:q", "5"))
		waitBlocked(t, other, 2)
		other.cmd("RPUSH", "bl:q", "1")
		other.cmd("RPUSH", "bl:q", "2")
		got := []string{a.read(), b.read()}
		if !(strings.Contains(got[0]+got[1], bulk("1")) && strings.Contains(got[0]+got[1], bulk("2"))) {
			t.Fatalf("replies %q", got)
		}
		if n := other.cmd("EXISTS", "bl:q"); n != ":0\r\n" {
			t.Fatalf("EXISTS bl:q: %q", n)
		}
	})

	t.Run("commands pipelined behind a blocked one run after it", func(t *testing.T) {
		other := dialRaw(t, addr)
		other.cmd("FLUSHALL")
		c := dialRaw(t, addr)
		c.send(command("BLPOP", "bl:p", "5") + command("SET", "bl:after", "1") + command("PING"))
		waitBlocked(t, other, 1)
		if got := other.cmd("EXISTS", "bl:after"); got != ":0\r\n" {
			t.Fatalf("the pipelined SET ran before the BLPOP was served: EXISTS %q", got)
		}
		other.cmd("RPUSH", "bl:p", "v")
		for _, want := range []string{"*2\r\n" + bulk("bl:p") + bulk("v"), "+OK\r\n", "+PONG\r\n"} {
			if got := c.read(); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	})

	t.Run("a client that hangs up stops waiting and takes nothing", func(t *testing.T) {
		other := dialRaw(t, addr)
		other.cmd("FLUSHALL")
		c := dialRaw(t, addr)
		c.send(command("BLPOP", "bl:gone", "0"))
		waitBlocked(t, other, 1)
		c.c.Close()
		waitBlocked(t, other, 0)
		other.cmd("RPUSH", "bl:gone", "kept")
		if got := other.cmd("LRANGE", "bl:gone", "0", "-1"); got != "*1\r\n"+bulk("kept") {
			t.Fatalf("LRANGE after the waiter hung up: %q", got)
		}
	})

	t.Run("CLIENT UNBLOCK", func(t *testing.T) {
		other := dialRaw(t, addr)
		other.cmd("FLUSHALL")
		c := dialRaw(t, addr)
		id := strings.TrimSpace(strings.TrimPrefix(c.cmd("CLIENT", "ID"), ":"))
		if got := other.cmd("CLIENT", "UNBLOCK", id); got != ":0\r\n" {
			t.Fatalf("CLIENT UNBLOCK of a client not blocked: %q", got)
		}
		c.send(command("BLPOP", "bl:u", "0"))
		waitBlocked(t, other, 1)
		if got := other.cmd("CLIENT", "UNBLOCK", id); got != ":1\r\n" {
			t.Fatalf("CLIENT UNBLOCK: %q", got)
		}
		if got := c.read(); got != "*-1\r\n" {
			t.Fatalf("unblocked (TIMEOUT) client got %q", got)
		}
		c.send(command("BRPOPLPUSH", "bl:u", "bl:v", "0"))
		waitBlocked(t, other, 1)
		if got := other.cmd("CLIENT", "UNBLOCK", id, "ERROR"); got != ":1\r\n" {
			t.Fatalf("CLIENT UNBLOCK ERROR: %q", got)
		}
		if got := c.read(); got != "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n" {
			t.Fatalf("unblocked (ERROR) client got %q", got)
		}
		if got := other.cmd("CLIENT", "UNBLOCK", id, "MAYBE"); got != "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n" {
			t.Fatalf("CLIENT UNBLOCK MAYBE: %q", got)
		}
	})

	t.Run("RESP3 timeout is a null", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.cmd("HELLO", "3")
		if got := c.cmd("BLPOP", "bl:none", "0.01"); got != "_\r\n" {
			t.Fatalf("RESP3 BLPOP timeout: %q", got)
		}
	})
}

// waitBlocked waits until INFO clients reports n blocked clients.
func waitBlocked(t *testing.T, r *rawConn, n int) {
	t.Helper()
	want := "blocked_clients:" + string(rune('0'+n))
	deadline := time.Now().Add(5 * time.Second)
	for {
		info := r.cmd("INFO", "clients")
		if strings.Contains(info, want+"\r\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never %s:\n%s", want, info)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBlocking(t *testing.T) {
	ts := startTestServer(t, Config{})
	checkBlocking(t, ts.addr)
}

func TestBlockingMemimgd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memimgd")
	}
	srv := memimgtest.Start(t)
	checkBlocking(t, srv.Addr)
}

func TestBlockingRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server")
	}
	r := memimgtest.StartRedis(t)
	checkBlocking(t, r.Addr)
}

// TestBlockingLogsNothingWhileWaiting: a wait that finds nothing writes no
// log entry, however long it lasts and however many unrelated writes
// happen meanwhile.
func TestBlockingLogsNothingWhileWaiting(t *testing.T) {
	ts := startTestServer(t, Config{})
	other := dialRaw(t, ts.addr)
	c := dialRaw(t, ts.addr)
	c.send(command("BLPOP", "k", "0.3"))
	waitBlocked(t, other, 1)
	before := ts.eng.AppliedIndex()
	for i := 0; i < 20; i++ {
		other.cmd("SET", "unrelated", "x")
	}
	if got := c.read(); got != "*-1\r\n" {
		t.Fatalf("BLPOP: %q", got)
	}
	if got := ts.eng.AppliedIndex() - before; got != 20 {
		t.Fatalf("%d entries logged during the wait, want the 20 SETs only", got)
	}
}

// TestBlockingShutdown: a graceful shutdown does not wait for blocked
// clients' timeouts.
func TestBlockingShutdown(t *testing.T) {
	ts := startTestServer(t, Config{})
	other := dialRaw(t, ts.addr)
	c := dialRaw(t, ts.addr)
	c.send(command("BLPOP", "k", "0"))
	waitBlocked(t, other, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := ts.Server.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a blocked client: %v", err)
	}
	c.expectClosed()
}
