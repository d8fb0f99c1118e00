package protocol

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/memimgtest"
)

// notifyScript turns keyspace notifications on (KEA), subscribes to
// __key*@0__:* and runs a few commands of every type, then returns the
// messages received as "channel payload", up to the sentinel's.
func notifyScript(t *testing.T, opts *redis.Options) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.ConfigSet(ctx, "notify-keyspace-events", "KEA").Err(); err != nil {
		t.Fatal(err)
	}
	if got := rdb.ConfigGet(ctx, "notify-keyspace-events").Val()["notify-keyspace-events"]; got != "AKE" {
		t.Fatalf("CONFIG GET notify-keyspace-events = %q, want AKE", got)
	}
	ps := rdb.PSubscribe(ctx, "__key*@0__:*")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	do := func(args ...any) {
		t.Helper()
		if err := rdb.Do(ctx, args...).Err(); err != nil && err != redis.Nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	do("set", "k", "v")
	do("set", "k", "v", "ex", "100")
	do("incr", "n")
	do("append", "k", "x")
	do("del", "k", "n", "nokey")
	do("lpush", "l", "a", "b")
	do("rpop", "l")
	do("rpop", "l")
	do("hset", "h", "f", "v")
	do("hdel", "h", "nope")
	do("sadd", "s", "a")
	do("zadd", "z", "1", "a")
	do("zincrby", "z", "1", "a")
	do("rename", "h", "h2")
	do("expire", "h2", "100")
	do("persist", "h2")
	if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "m", "1", 0)
		p.Incr(ctx, "m")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	do("set", "x", "1", "px", "20")
	time.Sleep(400 * time.Millisecond) // active expiry runs every 100 ms
	do("set", "done", "1")

	var got []string
	for {
		m, err := ps.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, m.Channel+" "+m.Payload)
		if m.Channel == "__keyevent@0__:set" && m.Payload == "done" {
			return got
		}
	}
}

// notifyWant is what notifyScript receives from Redis.
var notifyWant = func() []string {
	var out []string
	for _, ev := range strings.Fields(`set:k set:k expire:k incrby:n append:k del:k del:n lpush:l rpop:l rpop:l del:l
		hset:h sadd:s zadd:z zincr:z rename_from:h rename_to:h2 expire:h2 persist:h2 set:m incrby:m
		set:x expire:x expired:x set:done`) {
		name, key, _ := strings.Cut(ev, ":")
		out = append(out, "__keyspace@0__:"+key+" "+name, "__keyevent@0__:"+name+" "+key)
	}
	return out
}()

// TestKeyspaceNotificationsE2E checks the messages a real memimgd publishes
// for a few commands of every type, through go-redis.
func TestKeyspaceNotificationsE2E(t *testing.T) {
	srv := memimgtest.Start(t)
	got := notifyScript(t, srv.Options())
	if strings.Join(got, "\n") != strings.Join(notifyWant, "\n") {
		t.Fatalf("memimgd published:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(notifyWant, "\n"))
	}
}

// TestKeyspaceNotificationsRedis runs the same script against a real
// redis-server: the expectations are Redis's.
func TestKeyspaceNotificationsRedis(t *testing.T) {
	r := memimgtest.StartRedis(t)
	got := notifyScript(t, r.Options())
	if strings.Join(got, "\n") != strings.Join(notifyWant, "\n") {
		t.Fatalf("redis-server published:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(notifyWant, "\n"))
	}
}

// notifyCommands are run by TestKeyspaceNotificationsDifferential.
var notifyCommands = []string{
	"SET k v", "SET k v NX", "SETNX n v", "SET k v PX 100000", "SETEX k 100 v", "SET k w KEEPTTL", "GETSET k x",
	"MSET a 1 b 2", "MSETNX a 1 c 3", "MSETNX c 3 d 4", "INCR a", "DECRBY a 2", "INCRBYFLOAT a 1.5",
	"APPEND a x", "SETRANGE a 0 y", "GETDEL a", "GETEX b EX 100", "GETEX b PERSIST", "GETEX b",
	"DEL b nokey c", "EXPIRE d 100", "EXPIRE d 100", "EXPIRE d 50 GT", "PEXPIRE d 200000", "PERSIST d",
	"PERSIST d", "RENAME d d2", "RENAMENX d2 k", "RENAMENX d2 d", "MOVE d 3", "COPY k k2", "COPY k k2",
	"COPY k k2 REPLACE", "COPY k k DB 4", "EXPIRE k 0", "EXPIREAT k2 1",
	"LPUSH l a b", "RPUSH l c", "LPUSHX nol a", "RPUSHX l d", "LSET l 0 x", "LINSERT l BEFORE x y",
	"LINSERT l BEFORE nope y", "LREM l 0 y", "LREM l 0 nope", "LPOP l", "RPOP l", "RPOPLPUSH l m",
	"LMOVE l m LEFT RIGHT", "LMOVE m m LEFT RIGHT", "RPUSH m e f", "LMPOP 2 nol m RIGHT COUNT 1",
	"LTRIM m 1 0", "RPUSH l a b", "BLPOP l 0", "BRPOP l 0", "RPUSH l a", "LPOP l 5",
	"SADD s a b", "SADD s a", "SREM s nope", "SREM s a", "SMOVE s t b", "SADD s c", "SADD t d",
	"SINTERSTORE dst s t", "SUNIONSTORE dst s t", "SDIFFSTORE dst s s", "SPOP t", "SPOP t",
	"HSET h f 1 g 2", "HMSET h f 1", "HSETNX h f 1", "HSETNX h n 1", "HINCRBY h f 1",
	"HINCRBYFLOAT h f 1.5", "HDEL h nope", "HDEL h f g n",
	"ZADD z 1 a 2 b 3 c 4 d", "ZADD z 1 a", "ZADD z INCR 1 a", "ZINCRBY z 1 a", "ZREM z nope", "ZREM z a",
	"ZPOPMIN z", "ZPOPMAX z", "ZADD z 1 a 2 b", "ZUNIONSTORE u 1 z", "ZINTERSTORE u2 2 z nope",
	"ZRANGESTORE r z 0 0", "ZMPOP 1 z MAX", "ZREMRANGEBYSCORE u 1 1", "ZREMRANGEBYRANK z 0 -1",
	"ZREMRANGEBYLEX u - +", "ZADD u 1 a", "BZPOPMIN u 0",
	"SET done 1",
}

// notifyRun runs notifyCommands with every event on and returns the
// messages of __key*@*__:* up to the last command's.
func notifyRun(t *testing.T, opts *redis.Options) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.ConfigSet(ctx, "notify-keyspace-events", "KEA").Err(); err != nil {
		t.Fatal(err)
	}
	ps := rdb.PSubscribe(ctx, "__key*@*__:*")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range notifyCommands {
		var args []any
		for _, w := range strings.Fields(c) {
			args = append(args, w)
		}
		rdb.Do(ctx, args...) // errors are part of the script
	}
	var got []string
	for {
		m, err := ps.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, m.Channel+" "+m.Payload)
		if m.Channel == "__keyevent@0__:set" && m.Payload == "done" {
			return got
		}
	}
}

// TestKeyspaceNotificationsDifferential runs commands of every type
// against memimgd and redis-server: the messages must be the same, in the
// same order.
func TestKeyspaceNotificationsDifferential(t *testing.T) {
	r := memimgtest.StartRedis(t)
	srv := memimgtest.Start(t)
	want := notifyRun(t, r.Options())
	got := notifyRun(t, srv.Options())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		n := 0
		for n < len(got) && n < len(want) && got[n] == want[n] {
			n++
		}
		t.Fatalf("memimgd and redis-server differ from message %d on:\nmemimgd:\n%s\nredis-server:\n%s",
			n, strings.Join(got[n:], "\n"), strings.Join(want[n:], "\n"))
	}
}

// TestKeyspaceEventsConfig checks CONFIG SET and GET of
// notify-keyspace-events, with Redis's texts.
func TestKeyspaceEventsConfig(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := dialRaw(t, ts.addr)
	for _, st := range []struct{ args, want string }{
		{"CONFIG GET notify-keyspace-events", "*2\r\n" + bulk("notify-keyspace-events") + bulk("")},
		{"CONFIG SET notify-keyspace-events KEA", "+OK\r\n"},
		{"CONFIG GET notify-keyspace-events", "*2\r\n" + bulk("notify-keyspace-events") + bulk("AKE")},
		{"CONFIG SET notify-keyspace-events Q", "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - " +
			"Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n"},
		{"CONFIG SET notify-keyspace-events Ex", "+OK\r\n"},
		{"CONFIG GET notify-keyspace-events", "*2\r\n" + bulk("notify-keyspace-events") + bulk("xE")},
	} {
		if got := c.cmd(strings.Fields(st.args)...); got != st.want {
			t.Errorf("%s: %q, want %q", st.args, got, st.want)
		}
	}
	if _, err := New(Config{NotifyKeyspaceEvents: "KEQ"}); err == nil {
		t.Error("New accepted notify-keyspace-events KEQ")
	}
}

// TestKeyspaceEventsDirective checks that memimgd takes
// notify-keyspace-events from its command line (or config file) and
// publishes from the first write.
func TestKeyspaceEventsDirective(t *testing.T) {
	srv := memimgtest.Start(t, memimgtest.WithArgs("--notify-keyspace-events", "E$"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb := srv.Client()
	if got := rdb.ConfigGet(ctx, "notify-keyspace-events").Val()["notify-keyspace-events"]; got != "$E" {
		t.Fatalf("CONFIG GET notify-keyspace-events = %q, want $E", got)
	}
	ps := rdb.Subscribe(ctx, "__keyevent@0__:set")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	rdb.LPush(ctx, "l", "x") // class l is off
	rdb.Set(ctx, "k", "v", 0)
	m, err := ps.ReceiveMessage(ctx)
	if err != nil || m.Channel != "__keyevent@0__:set" || m.Payload != "k" {
		t.Fatalf("message %v, %v; want k on __keyevent@0__:set", m, err)
	}
}
