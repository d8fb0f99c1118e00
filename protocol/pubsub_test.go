package protocol

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/memimgtest"
)

// push is the RESP2 array or RESP3 push of bulk strings (and a final
// integer if n >= 0).
func pushOf(resp3 bool, n int, parts ...string) string {
	k := len(parts)
	if n >= 0 {
		k++
	}
	var b strings.Builder
	if resp3 {
		b.WriteString(">" + strconv.Itoa(k) + "\r\n")
	} else {
		b.WriteString("*" + strconv.Itoa(k) + "\r\n")
	}
	for _, p := range parts {
		b.WriteString(bulk(p))
	}
	if n >= 0 {
		b.WriteString(":" + strconv.Itoa(n) + "\r\n")
	}
	return b.String()
}

const restricted = "-ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"

// TestPubSubRESP2 checks Redis 7's replies in RESP2 pub/sub mode.
func TestPubSubRESP2(t *testing.T) {
	ts := startTestServer(t, Config{})
	a := dialRaw(t, ts.addr)
	b := dialRaw(t, ts.addr)
	steps := []struct {
		c    *rawConn
		args []string
		want string
	}{
		{a, []string{"SUBSCRIBE", "foo", "bar"}, pushOf(false, 1, "subscribe", "foo") + pushOf(false, 2, "subscribe", "bar")},
		{a, []string{"PSUBSCRIBE", "f*"}, pushOf(false, 3, "psubscribe", "f*")},
		{a, []string{"SSUBSCRIBE", "s1"}, pushOf(false, 1, "ssubscribe", "s1")},
		{a, []string{"GET", "x"}, fmt.Sprintf(restricted, "get")},
		{a, []string{"CONFIG", "GET", "x"}, fmt.Sprintf(restricted, "config|get")},
		{a, []string{"PUBLISH", "foo", "x"}, fmt.Sprintf(restricted, "publish")},
		{a, []string{"HELLO", "3"}, fmt.Sprintf(restricted, "hello")},
		{a, []string{"PING"}, "*2\r\n" + bulk("pong") + bulk("")},
		{a, []string{"PING", "hi"}, "*2\r\n" + bulk("pong") + bulk("hi")},
		{a, []string{"PING", "a", "b"}, "-ERR wrong number of arguments for 'ping' command\r\n"},
		{a, []string{"SUBSCRIBE"}, "-ERR wrong number of arguments for 'subscribe' command\r\n"},
		{b, []string{"PUBLISH", "foo", "hello"}, ":2\r\n"},
		{b, []string{"PUBLISH", "fx", "p"}, ":1\r\n"},
		{b, []string{"SPUBLISH", "s1", "sh"}, ":1\r\n"},
		{b, []string{"SPUBLISH", "foo", "no"}, ":0\r\n"},
		{b, []string{"PUBLISH", "s1", "no"}, ":0\r\n"},
		{a, nil, pushOf(false, -1, "message", "foo", "hello") + pushOf(false, -1, "pmessage", "f*", "foo", "hello") +
			pushOf(false, -1, "pmessage", "f*", "fx", "p") + pushOf(false, -1, "smessage", "s1", "sh")},
		{b, []string{"PUBSUB", "CHANNELS"}, "*2\r\n" + bulk("bar") + bulk("foo")},
		{b, []string{"PUBSUB", "CHANNELS", "f*"}, "*1\r\n" + bulk("foo")},
		{b, []string{"PUBSUB", "NUMSUB", "foo", "bar", "nope"}, "*6\r\n" + bulk("foo") + ":1\r\n" + bulk("bar") + ":1\r\n" + bulk("nope") + ":0\r\n"},
		{b, []string{"PUBSUB", "NUMSUB"}, "*0\r\n"},
		{b, []string{"PUBSUB", "NUMPAT"}, ":1\r\n"},
		{b, []string{"PUBSUB", "SHARDCHANNELS"}, "*1\r\n" + bulk("s1")},
		{b, []string{"PUBSUB", "SHARDNUMSUB", "s1", "x"}, "*4\r\n" + bulk("s1") + ":1\r\n" + bulk("x") + ":0\r\n"},
		{b, []string{"PUBSUB", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n"},
		{b, []string{"PUBSUB", "NUMPAT", "x"}, "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"},
		{b, []string{"PUBSUB", "CHANNELS", "a", "b"}, "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"},
		{b, []string{"PUBSUB"}, "-ERR wrong number of arguments for 'pubsub' command\r\n"},
		{a, []string{"UNSUBSCRIBE", "foo"}, pushOf(false, 2, "unsubscribe", "foo")},
		{a, []string{"UNSUBSCRIBE", "nope"}, pushOf(false, 2, "unsubscribe", "nope")},
		{a, []string{"UNSUBSCRIBE"}, pushOf(false, 1, "unsubscribe", "bar")},
		{a, []string{"UNSUBSCRIBE"}, "*3\r\n" + bulk("unsubscribe") + "$-1\r\n:1\r\n"},
		{a, []string{"PUNSUBSCRIBE"}, pushOf(false, 0, "punsubscribe", "f*")},
		{a, []string{"PUNSUBSCRIBE"}, "*3\r\n" + bulk("punsubscribe") + "$-1\r\n:0\r\n"},
		{a, []string{"ECHO", "x"}, fmt.Sprintf(restricted, "echo")}, // s1 is still subscribed
		{a, []string{"SUNSUBSCRIBE"}, pushOf(false, 0, "sunsubscribe", "s1")},
		{a, []string{"ECHO", "x"}, bulk("x")},
		{a, []string{"PING"}, "+PONG\r\n"},
		{b, []string{"PUBSUB", "CHANNELS"}, "*0\r\n"},
		{b, []string{"PUBSUB", "NUMPAT"}, ":0\r\n"},
		// RESET ends the subscriptions.
		{a, []string{"SUBSCRIBE", "x"}, pushOf(false, 1, "subscribe", "x")},
		{a, []string{"RESET"}, "+RESET\r\n"},
		{b, []string{"PUBSUB", "NUMSUB", "x"}, "*2\r\n" + bulk("x") + ":0\r\n"},
		{a, []string{"ECHO", "y"}, bulk("y")},
		// Never subscribed: UNSUBSCRIBE still answers.
		{b, []string{"UNSUBSCRIBE", "q"}, pushOf(false, 0, "unsubscribe", "q")},
		{b, []string{"SUNSUBSCRIBE"}, "*3\r\n" + bulk("sunsubscribe") + "$-1\r\n:0\r\n"},
		{b, []string{"ECHO", "z"}, bulk("z")},
	}
	for i, st := range steps {
		var got string
		if st.args == nil {
			for len(got) < len(st.want) {
				got += st.c.read()
			}
		} else {
			st.c.send(command(st.args...))
			for len(got) < len(st.want) {
				got += st.c.read()
			}
		}
		if got != st.want {
			t.Errorf("step %d %q:\n got %q\nwant %q", i, st.args, got, st.want)
		}
	}
	// QUIT is allowed, answered, and closes.
	a.cmd("SUBSCRIBE", "q")
	if got := a.cmd("QUIT"); got != "+OK\r\n" {
		t.Errorf("QUIT in pub/sub mode: %q", got)
	}
	a.expectClosed()
	waitNumSub(t, b, "q", 0)
}

func command(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// waitNumSub waits until PUBSUB NUMSUB channel is n.
func waitNumSub(t *testing.T, c *rawConn, channel string, n int) {
	t.Helper()
	want := "*2\r\n" + bulk(channel) + ":" + strconv.Itoa(n) + "\r\n"
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := c.cmd("PUBSUB", "NUMSUB", channel)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PUBSUB NUMSUB %s: %q, want %d subscribers", channel, got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPubSubRESP3 checks the push replies and that RESP3 allows every
// command while subscribed.
func TestPubSubRESP3(t *testing.T) {
	ts := startTestServer(t, Config{})
	a := dialRaw(t, ts.addr)
	b := dialRaw(t, ts.addr)
	a.cmd("HELLO", "3")
	steps := []struct {
		c    *rawConn
		args []string
		want string
	}{
		{a, []string{"SUBSCRIBE", "foo"}, pushOf(true, 1, "subscribe", "foo")},
		{a, []string{"PSUBSCRIBE", "f*"}, pushOf(true, 2, "psubscribe", "f*")},
		{a, []string{"GET", "x"}, "_\r\n"},
		{a, []string{"PING"}, "+PONG\r\n"},
		{b, []string{"PUBLISH", "foo", "hello"}, ":2\r\n"},
		{a, nil, pushOf(true, -1, "message", "foo", "hello") + pushOf(true, -1, "pmessage", "f*", "foo", "hello")},
		{a, []string{"UNSUBSCRIBE", "nope"}, pushOf(true, 2, "unsubscribe", "nope")},
		{a, []string{"PUNSUBSCRIBE"}, pushOf(true, 1, "punsubscribe", "f*")},
		{a, []string{"UNSUBSCRIBE"}, pushOf(true, 0, "unsubscribe", "foo")},
		{a, []string{"UNSUBSCRIBE"}, ">3\r\n" + bulk("unsubscribe") + "_\r\n:0\r\n"},
		{a, []string{"SSUBSCRIBE", "s"}, pushOf(true, 1, "ssubscribe", "s")},
		// A connection publishing to itself gets the message before the
		// reply, as in Redis.
		{a, []string{"SPUBLISH", "s", "me"}, pushOf(true, -1, "smessage", "s", "me") + ":1\r\n"},
		{a, []string{"PUBSUB", "SHARDNUMSUB", "s"}, "*2\r\n" + bulk("s") + ":1\r\n"},
		{a, []string{"SUNSUBSCRIBE"}, pushOf(true, 0, "sunsubscribe", "s")},
	}
	for i, st := range steps {
		var got string
		if st.args != nil {
			st.c.send(command(st.args...))
		}
		for len(got) < len(st.want) {
			got += st.c.read()
		}
		if got != st.want {
			t.Errorf("step %d %q:\n got %q\nwant %q", i, st.args, got, st.want)
		}
	}
}

// TestPubSubIdleDelivery: a subscriber that only reads (it sends nothing
// after SUBSCRIBE) receives messages, in RESP2 and as RESP3 pushes.
func TestPubSubIdleDelivery(t *testing.T) {
	ts := startTestServer(t, Config{})
	pub := dialRaw(t, ts.addr)
	for _, resp3 := range []bool{false, true} {
		sub := dialRaw(t, ts.addr)
		if resp3 {
			sub.cmd("HELLO", "3")
		}
		sub.cmd("SUBSCRIBE", "idle")
		got := make(chan string, 1)
		go func() {
			s, _ := readRESP(sub.rd) // blocks until the message arrives
			got <- s
		}()
		time.Sleep(20 * time.Millisecond)
		if r := pub.cmd("PUBLISH", "idle", "wake"); r != ":1\r\n" {
			t.Fatalf("PUBLISH: %q", r)
		}
		select {
		case s := <-got:
			if want := pushOf(resp3, -1, "message", "idle", "wake"); s != want {
				t.Errorf("resp3=%v: got %q, want %q", resp3, s, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("resp3=%v: the idle subscriber got nothing", resp3)
		}
		sub.c.Close()
		waitNumSub(t, pub, "idle", 0)
	}
}

// TestPubSubClientList: CLIENT LIST shows the subscriptions and the P
// flag.
func TestPubSubClientList(t *testing.T) {
	ts := startTestServer(t, Config{})
	a := dialRaw(t, ts.addr)
	b := dialRaw(t, ts.addr)
	a.send(command("SUBSCRIBE", "x", "y"))
	a.read()
	a.read()
	a.cmd("PSUBSCRIBE", "z*")
	list := b.cmd("CLIENT", "LIST")
	if !strings.Contains(list, " flags=P db=0 sub=2 psub=1 ssub=0 ") {
		t.Errorf("CLIENT LIST:\n%s", list)
	}
	if !strings.Contains(list, " flags=N db=0 sub=0 psub=0 ssub=0 ") {
		t.Errorf("CLIENT LIST:\n%s", list)
	}
}

// TestPubSubOrder: no message precedes the confirmation of the
// subscription that brings it, and none follows the confirmation of the
// UNSUBSCRIBE that ends it, while a publisher publishes without pause;
// also with the commands pipelined, and with SUBSCRIBE inside EXEC (the
// messages go after EXEC's reply, never inside it).
func TestPubSubOrder(t *testing.T) {
	ts := startTestServer(t, Config{})
	stop := make(chan struct{})
	var published atomic.Int64
	var wg sync.WaitGroup
	for p := 0; p < 2; p++ {
		pub := dialRaw(t, ts.addr)
		_ = pub.c.SetDeadline(time.Time{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := io.WriteString(pub.c, command("PUBLISH", "ord", strconv.Itoa(i))); err != nil {
					return
				}
				if _, err := readRESP(pub.rd); err != nil {
					return
				}
				published.Add(1)
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	isMsg := func(s string) bool { return strings.Contains(s, bulk("message")+bulk("ord")) }
	deadline := time.Now().Add(10 * time.Second)
	for _, resp3 := range []bool{false, true} {
		sub := dialRaw(t, ts.addr)
		if resp3 {
			sub.cmd("HELLO", "3")
		}
		for round := 0; round < 50 && time.Now().Before(deadline); round++ {
			_ = sub.c.SetDeadline(time.Now().Add(10 * time.Second))
			// One command per write.
			if got := sub.cmd("SUBSCRIBE", "ord"); got != pushOf(resp3, 1, "subscribe", "ord") {
				t.Fatalf("resp3=%v round %d: first reply to SUBSCRIBE: %q", resp3, round, got)
			}
			for n := 0; n < 3; {
				if s := sub.read(); isMsg(s) {
					n++
				} else {
					t.Fatalf("unexpected %q", s)
				}
			}
			sub.send(command("UNSUBSCRIBE", "ord"))
			for {
				s := sub.read()
				if s == pushOf(resp3, 0, "unsubscribe", "ord") {
					break
				}
				if !isMsg(s) {
					t.Fatalf("unexpected %q", s)
				}
			}
			pong := "+PONG\r\n"
			if got := sub.cmd("PING"); got != pong {
				t.Fatalf("resp3=%v round %d: after UNSUBSCRIBE's confirmation: %q", resp3, round, got)
			}
			// Pipelined.
			ping := pong
			if !resp3 {
				ping = "*2\r\n" + bulk("pong") + bulk("") // in pub/sub mode
			}
			sub.send(command("SUBSCRIBE", "ord") + command("PING") + command("UNSUBSCRIBE", "ord") + command("PING"))
			want := []string{pushOf(resp3, 1, "subscribe", "ord"), ping, pushOf(resp3, 0, "unsubscribe", "ord"), pong}
			for _, w := range want {
				s := sub.read()
				for isMsg(s) && w != want[0] && w != pong {
					s = sub.read()
				}
				if s != w {
					t.Fatalf("resp3=%v round %d pipelined: got %q, want %q", resp3, round, s, w)
				}
			}
			// Inside EXEC.
			sub.send(command("MULTI") + command("SUBSCRIBE", "ord") + command("PING") + command("EXEC"))
			for _, w := range []string{"+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n"} {
				if s := sub.read(); s != w {
					t.Fatalf("MULTI: got %q, want %q", s, w)
				}
			}
			if s, w := sub.read(), "*2\r\n"+pushOf(resp3, 1, "subscribe", "ord")+ping; s != w {
				t.Fatalf("resp3=%v round %d EXEC: got %q, want %q", resp3, round, s, w)
			}
			sub.send(command("UNSUBSCRIBE"))
			for {
				s := sub.read()
				if s == pushOf(resp3, 0, "unsubscribe", "ord") {
					break
				}
				if !isMsg(s) {
					t.Fatalf("unexpected %q", s)
				}
			}
		}
		sub.c.Close()
	}
	if published.Load() == 0 {
		t.Fatal("nothing was published")
	}
}

// TestSkipReply: the reply boundaries that messages held during a batch
// are moved to.
func TestSkipReply(t *testing.T) {
	for _, r := range []string{"+OK\r\n", "-ERR x\r\n", ":12\r\n", "$-1\r\n", "$3\r\nabc\r\n", "_\r\n", ",1.5\r\n",
		"*-1\r\n", "*0\r\n", "*2\r\n$1\r\na\r\n:1\r\n", "%1\r\n+a\r\n*1\r\n:1\r\n", ">3\r\n$1\r\na\r\n$1\r\nb\r\n:1\r\n",
		"=8\r\ntxt:abcd\r\n", "~1\r\n#t\r\n"} {
		if n := skipReply([]byte(r + "+NEXT\r\n")); n != len(r) {
			t.Errorf("skipReply(%q) = %d, want %d", r, n, len(r))
		}
		if n := skipReply([]byte(r[:len(r)-1])); n != -1 {
			t.Errorf("skipReply of a cut %q = %d, want -1", r, n)
		}
	}
	// A mark inside an array moves to its end.
	q := newPSClient()
	out := []byte("+A\r\n*2\r\n+B\r\n+C\r\n+D\r\n")
	q.held = []byte("+m1\r\n")
	q.mark(len("+A\r\n*2\r\n+B\r\n"))
	q.held = append(q.held, "+m2\r\n"...)
	q.merge(out)
	if got, want := string(q.buf), "+A\r\n*2\r\n+B\r\n+C\r\n+m1\r\n+D\r\n+m2\r\n"; got != want {
		t.Errorf("merge: %q, want %q", got, want)
	}
}

// TestPubSubSlowSubscriber: a subscriber that stops reading is
// disconnected once its queued output passes the limit; the publisher is
// never blocked and a subscriber that reads keeps its subscription.
func TestPubSubSlowSubscriber(t *testing.T) {
	const limit = 1 << 20
	ts := startTestServer(t, Config{PubSubBufferLimit: limit})
	slowNC, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slowNC.Close()
	slow := &rawConn{t: t, c: slowNC, rd: bufio.NewReader(slowNC)}
	_ = slowNC.SetDeadline(time.Now().Add(30 * time.Second))
	slow.cmd("SUBSCRIBE", "flood")

	fast := dialRaw(t, ts.addr)
	_ = fast.c.SetDeadline(time.Time{})
	fast.cmd("SUBSCRIBE", "flood")
	var fastGot atomic.Int64
	go func() {
		for {
			if _, err := readRESP(fast.rd); err != nil {
				return
			}
			fastGot.Add(1)
		}
	}()

	pub := dialRaw(t, ts.addr)
	msg := strings.Repeat("x", 16<<10)
	start := time.Now()
	sent := 0
	dropped := false
	for sent < 20000 && time.Since(start) < 20*time.Second {
		_ = pub.c.SetDeadline(time.Now().Add(10 * time.Second))
		r := pub.cmd("PUBLISH", "flood", msg)
		sent++
		if r == ":1\r\n" {
			dropped = true
			break
		}
		if r == ":0\r\n" {
			// On a loaded machine the reading subscriber's goroutine can
			// fall behind by the limit too: both are dropped, which is the
			// limit working; the delivery checks below need a reader that
			// kept up, so they cannot run.
			if !strings.Contains(ts.logs.String(), "output buffer limits") {
				t.Fatal("both subscribers gone without the drop being logged")
			}
			t.Skipf("the reading subscriber fell behind as well after %d messages (machine too loaded for the delivery check)", sent)
		}
		if r != ":2\r\n" {
			t.Fatalf("PUBLISH: %q", r)
		}
	}
	if !dropped {
		t.Fatalf("the slow subscriber is still subscribed after %d messages (%v)", sent, time.Since(start))
	}
	t.Logf("slow subscriber dropped after %d messages of %d bytes in %v", sent, len(msg), time.Since(start))
	// The slow connection is closed: what it reads ends.
	_ = slowNC.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, slowNC); err != nil {
		t.Errorf("reading the dropped subscriber: %v", err)
	}
	if !strings.Contains(ts.logs.String(), "output buffer limits") {
		t.Errorf("the drop is not logged")
	}
	waitNumSub(t, pub, "flood", 1)
	if r := pub.cmd("PUBLISH", "flood", "last"); r != ":1\r\n" {
		t.Errorf("PUBLISH after the drop: %q", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for fastGot.Load() < int64(sent+1) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := fastGot.Load(); n != int64(sent+1) {
		t.Errorf("the reading subscriber got %d messages, want %d", n, sent+1)
	}
}

// TestPubSubGoRedis: go-redis against a real memimgd, in RESP2 and RESP3.
func TestPubSubGoRedis(t *testing.T) {
	srv := memimgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			opts := srv.Options()
			opts.Protocol = proto
			pub := redis.NewClient(opts)
			defer pub.Close()
			subc := redis.NewClient(opts)
			defer subc.Close()

			ps := subc.Subscribe(ctx, "news")
			defer ps.Close()
			if m, err := ps.Receive(ctx); err != nil {
				t.Fatal(err)
			} else if s, ok := m.(*redis.Subscription); !ok || s.Kind != "subscribe" || s.Channel != "news" || s.Count != 1 {
				t.Fatalf("confirmation: %#v", m)
			}
			if err := ps.PSubscribe(ctx, "n*"); err != nil {
				t.Fatal(err)
			}
			if m, err := ps.Receive(ctx); err != nil {
				t.Fatal(err)
			} else if s, ok := m.(*redis.Subscription); !ok || s.Kind != "psubscribe" || s.Count != 2 {
				t.Fatalf("confirmation: %#v", m)
			}
			if n, err := pub.Publish(ctx, "news", "hello").Result(); err != nil || n != 2 {
				t.Fatalf("PUBLISH = %d, %v", n, err)
			}
			m1, err := ps.ReceiveMessage(ctx)
			if err != nil || m1.Channel != "news" || m1.Payload != "hello" || m1.Pattern != "" {
				t.Fatalf("message: %+v, %v", m1, err)
			}
			m2, err := ps.ReceiveMessage(ctx)
			if err != nil || m2.Channel != "news" || m2.Payload != "hello" || m2.Pattern != "n*" {
				t.Fatalf("pmessage: %+v, %v", m2, err)
			}
			if err := ps.Ping(ctx, "hb"); err != nil {
				t.Fatal(err)
			}
			if m, err := ps.Receive(ctx); err != nil {
				t.Fatal(err)
			} else if p, ok := m.(*redis.Pong); !ok || (proto == 2 && p.Payload != "hb") {
				t.Fatalf("PING: %#v", m)
			}

			if got, err := pub.PubSubNumSub(ctx, "news", "none").Result(); err != nil || got["news"] != 1 || got["none"] != 0 {
				t.Errorf("PUBSUB NUMSUB = %v, %v", got, err)
			}
			if n, err := pub.PubSubNumPat(ctx).Result(); err != nil || n != 1 {
				t.Errorf("PUBSUB NUMPAT = %d, %v", n, err)
			}
			if got, err := pub.PubSubChannels(ctx, "ne*").Result(); err != nil || len(got) != 1 || got[0] != "news" {
				t.Errorf("PUBSUB CHANNELS = %v, %v", got, err)
			}

			// Shard channels.
			sps := subc.SSubscribe(ctx, "shard")
			defer sps.Close()
			if _, err := sps.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			if n, err := pub.SPublish(ctx, "shard", "s1").Result(); err != nil || n != 1 {
				t.Fatalf("SPUBLISH = %d, %v", n, err)
			}
			if m, err := sps.ReceiveMessage(ctx); err != nil || m.Channel != "shard" || m.Payload != "s1" {
				t.Fatalf("smessage: %+v, %v", m, err)
			}
			if got, err := pub.PubSubShardNumSub(ctx, "shard").Result(); err != nil || got["shard"] != 1 {
				t.Errorf("PUBSUB SHARDNUMSUB = %v, %v", got, err)
			}
			if got, err := pub.PubSubShardChannels(ctx, "*").Result(); err != nil || len(got) != 1 {
				t.Errorf("PUBSUB SHARDCHANNELS = %v, %v", got, err)
			}

			// A stream of messages through Channel(), in order.
			if err := ps.PUnsubscribe(ctx, "n*"); err != nil {
				t.Fatal(err)
			}
			if m, err := ps.Receive(ctx); err != nil {
				t.Fatal(err)
			} else if s, ok := m.(*redis.Subscription); !ok || s.Kind != "punsubscribe" || s.Count != 1 {
				t.Fatalf("confirmation: %#v", m)
			}
			ch := ps.Channel()
			const n = 500
			go func() {
				for i := 0; i < n; i++ {
					pub.Publish(ctx, "news", strconv.Itoa(i))
				}
			}()
			for i := 0; i < n; i++ {
				select {
				case m := <-ch:
					if m.Payload != strconv.Itoa(i) {
						t.Fatalf("message %d: %q", i, m.Payload)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("got %d of %d messages", i, n)
				}
			}
			if err := ps.Unsubscribe(ctx, "news"); err != nil {
				t.Fatal(err)
			}
			ps.Close()
			sps.Close()
			deadline := time.Now().Add(5 * time.Second)
			for {
				got, err := pub.PubSubNumSub(ctx, "news").Result()
				sh, err2 := pub.PubSubShardNumSub(ctx, "shard").Result()
				if err == nil && err2 == nil && got["news"] == 0 && sh["shard"] == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("subscribers left: %v %v (%v %v)", got, sh, err, err2)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestPubSubManySubscribers: many go-redis subscribers, half of them
// RESP3, receive every message of a bounded publish loop, in order.
func TestPubSubManySubscribers(t *testing.T) {
	srv := memimgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const subscribers = 40
	const maxMessages = 2000
	const maxTime = 5 * time.Second

	type sub struct {
		ps  *redis.PubSub
		got chan []string
	}
	subs := make([]sub, subscribers)
	for i := range subs {
		opts := srv.Options()
		opts.Protocol = 2 + i%2
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		ps := rdb.Subscribe(ctx, "fan")
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		subs[i] = sub{ps: ps, got: make(chan []string, 1)}
	}
	pub := srv.Client()
	start := time.Now()
	sent := 0
	for sent < maxMessages && time.Since(start) < maxTime {
		n, err := pub.Publish(ctx, "fan", strconv.Itoa(sent)).Result()
		if err != nil || n != subscribers {
			t.Fatalf("PUBLISH %d = %d, %v", sent, n, err)
		}
		sent++
	}
	pub.Publish(ctx, "fan", "end")
	elapsed := time.Since(start)
	for _, s := range subs {
		go func(s sub) {
			var got []string
			for {
				m, err := s.ps.ReceiveMessage(ctx)
				if err != nil || m.Payload == "end" {
					break
				}
				got = append(got, m.Payload)
			}
			s.got <- got
		}(s)
	}
	for i, s := range subs {
		got := <-s.got
		if len(got) != sent {
			t.Fatalf("subscriber %d got %d of %d messages", i, len(got), sent)
		}
		for j, p := range got {
			if p != strconv.Itoa(j) {
				t.Fatalf("subscriber %d: message %d is %q", i, j, p)
			}
		}
		s.ps.Close()
	}
	t.Logf("%d messages to %d subscribers in %v", sent, subscribers, elapsed)
}

// TestPubSubLikeRedis runs the same conversations against memimg and a
// real redis-server and compares the replies byte for byte.
func TestPubSubLikeRedis(t *testing.T) {
	redisAddr := startRedisServer(t)
	ts := startTestServer(t, Config{})
	type step struct {
		conn string
		args []string // nil: only read
		n    int      // replies to read
	}
	script := []step{
		{"a", []string{"SUBSCRIBE", "foo", "bar"}, 2},
		{"a", []string{"PSUBSCRIBE", "f*"}, 1},
		{"a", []string{"SSUBSCRIBE", "s1"}, 1},
		{"a", []string{"GET", "x"}, 1},
		{"a", []string{"CONFIG", "GET", "x"}, 1},
		{"a", []string{"CLIENT", "ID"}, 1},
		{"a", []string{"PING"}, 1},
		{"a", []string{"PING", "hi"}, 1},
		{"a", []string{"PING", "a", "b"}, 1},
		{"a", []string{"PUBLISH", "foo", "x"}, 1},
		{"a", []string{"NOSUCH"}, 1},
		{"a", []string{"SUBSCRIBE"}, 1},
		{"b", []string{"PUBLISH", "foo", "hello"}, 1},
		{"b", []string{"PUBLISH", "bar", "hi"}, 1},
		{"b", []string{"PUBLISH", "fx", "p"}, 1},
		{"b", []string{"SPUBLISH", "s1", "sh"}, 1},
		{"b", []string{"SPUBLISH", "foo", "no"}, 1},
		{"b", []string{"PUBLISH", "s1", "no"}, 1},
		{"a", nil, 5},
		{"b", []string{"PUBSUB", "CHANNELS", "f*"}, 1},
		{"b", []string{"PUBSUB", "NUMSUB", "foo", "bar", "nope"}, 1},
		{"b", []string{"PUBSUB", "NUMSUB"}, 1},
		{"b", []string{"PUBSUB", "NUMPAT"}, 1},
		{"b", []string{"PUBSUB", "SHARDCHANNELS"}, 1},
		{"b", []string{"PUBSUB", "SHARDCHANNELS", "x*"}, 1},
		{"b", []string{"PUBSUB", "SHARDNUMSUB", "s1", "x"}, 1},
		{"b", []string{"PUBSUB", "NOPE"}, 1},
		{"b", []string{"PUBSUB", "NUMPAT", "x"}, 1},
		{"b", []string{"PUBSUB", "CHANNELS", "a", "b"}, 1},
		{"b", []string{"PUBSUB", "HELP"}, 1},
		{"b", []string{"PUBSUB"}, 1},
		{"a", []string{"UNSUBSCRIBE", "foo", "nope"}, 2},
		{"a", []string{"UNSUBSCRIBE"}, 1},
		{"a", []string{"UNSUBSCRIBE"}, 1},
		{"a", []string{"PUNSUBSCRIBE", "nope"}, 1},
		{"a", []string{"PUNSUBSCRIBE"}, 1},
		{"a", []string{"PUNSUBSCRIBE"}, 1},
		{"a", []string{"ECHO", "still"}, 1},
		{"a", []string{"SUNSUBSCRIBE"}, 1},
		{"a", []string{"SUNSUBSCRIBE"}, 1},
		{"a", []string{"ECHO", "free"}, 1},
		{"a", []string{"SUBSCRIBE", "x"}, 1},
		{"a", []string{"RESET"}, 1},
		{"a", []string{"PING"}, 1},
		{"b", []string{"PUBSUB", "NUMSUB", "x"}, 1},
		{"a", []string{"SUBSCRIBE", "x"}, 1},
		{"a", []string{"QUIT"}, 1},
		// RESP3
		{"c", []string{"HELLO", "3"}, -1}, // compared apart: version, id
		{"c", []string{"SUBSCRIBE", "foo"}, 1},
		{"c", []string{"PSUBSCRIBE", "f*"}, 1},
		{"c", []string{"ECHO", "any"}, 1},
		{"c", []string{"PING"}, 1},
		{"d", []string{"PUBLISH", "foo", "hello"}, 1},
		{"c", nil, 2},
		{"c", []string{"UNSUBSCRIBE", "nope"}, 1},
		{"c", []string{"PUNSUBSCRIBE"}, 1},
		{"c", []string{"UNSUBSCRIBE"}, 1},
		{"c", []string{"UNSUBSCRIBE"}, 1},
		{"c", []string{"SSUBSCRIBE", "s"}, 1},
		{"c", []string{"SPUBLISH", "s", "me"}, 2},
		{"c", []string{"PUBSUB", "NUMSUB", "s"}, 1},
		{"c", []string{"SUNSUBSCRIBE"}, 1},
		{"c", []string{"SUNSUBSCRIBE"}, 1},
		// MULTI
		{"e", []string{"MULTI"}, 1},
		{"e", []string{"SUBSCRIBE", "y"}, 1},
		{"e", []string{"EXEC"}, 1},
		{"e", []string{"PING"}, 1},
		{"e", []string{"MULTI"}, 1},
		{"e", []string{"UNSUBSCRIBE"}, 1},
	}
	run := func(addr string) []string {
		conns := map[string]*rawConn{}
		var out []string
		for _, st := range script {
			c := conns[st.conn]
			if c == nil {
				c = dialRaw(t, addr)
				conns[st.conn] = c
			}
			if st.args != nil {
				c.send(command(st.args...))
			}
			if st.n < 0 {
				c.read()
				continue
			}
			got := ""
			for i := 0; i < st.n; i++ {
				got += c.read()
			}
			out = append(out, fmt.Sprintf("%s %q: %q", st.conn, st.args, got))
			if len(st.args) > 0 && st.args[0] == "QUIT" {
				c.expectClosed()
			}
		}
		return out
	}
	want := run(redisAddr)
	got := run(ts.addr)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("\n got %s\nwant %s", got[i], want[i])
		}
	}
}

// startRedisServer starts a real redis-server on a free loopback port in a
// temporary directory, stopped by its PID when the test ends; the test is
// skipped if redis-server is not installed.
func startRedisServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkPublish measures PUBLISH round trips from one connection to a
// channel with 1, 10 or 100 subscribers (each reading and discarding what
// it receives), for 16-byte and 1 KiB messages.
//
//	go test -run '^$' -bench Publish -benchtime 20000x ./protocol
func BenchmarkPublish(b *testing.B) {
	for _, subs := range []int{1, 10, 100} {
		for _, size := range []int{16, 1024} {
			b.Run(fmt.Sprintf("subs=%d/size=%d", subs, size), func(b *testing.B) {
				ts := startTestServer(b, Config{})
				for i := 0; i < subs; i++ {
					nc, err := net.Dial("tcp", ts.addr)
					if err != nil {
						b.Fatal(err)
					}
					defer nc.Close()
					io.WriteString(nc, command("SUBSCRIBE", "bench"))
					rd := bufio.NewReader(nc)
					if _, err := readRESP(rd); err != nil {
						b.Fatal(err)
					}
					go io.Copy(io.Discard, rd)
				}
				nc, err := net.Dial("tcp", ts.addr)
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()
				rd := bufio.NewReader(nc)
				req := []byte(command("PUBLISH", "bench", strings.Repeat("m", size)))
				want := ":" + strconv.Itoa(subs) + "\r\n"
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := nc.Write(req); err != nil {
						b.Fatal(err)
					}
					if r, err := readRESP(rd); err != nil || r != want {
						b.Fatalf("PUBLISH: %q, %v", r, err)
					}
				}
			})
		}
	}
}
