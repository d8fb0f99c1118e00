package engine

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// eventLog collects keyspace events as "db:event:key".
type eventLog struct {
	mu  sync.Mutex
	got []string
}

func (l *eventLog) hook(events []Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range events {
		l.got = append(l.got, fmt.Sprintf("%d:%s:%s", ev.DB, ev.Event, ev.Key))
	}
}

func (l *eventLog) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.Join(l.got, " ")
	l.got = nil
	return s
}

// TestNotifyEvents checks the events each command emits, with Redis's
// names and order.
func TestNotifyEvents(t *testing.T) {
	type step struct {
		db     int
		cmd    string
		events string // space-separated db:event:key
		adv    time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"strings", []step{
			{cmd: "SET k v", events: "0:set:k"},
			{cmd: "SET k v", events: "0:set:k"}, // written again: an event, as in Redis
			{cmd: "SET k v NX"},
			{cmd: "SETNX k v"},
			{cmd: "SETNX n v", events: "0:set:n"},
			{cmd: "SET k v EX 100", events: "0:set:k 0:expire:k"},
			{cmd: "SETEX k 100 v", events: "0:set:k 0:expire:k"},
			{cmd: "PSETEX k 100000 v", events: "0:set:k 0:expire:k"},
			{cmd: "SET k w KEEPTTL", events: "0:set:k"},
			{cmd: "GETSET k x", events: "0:set:k"},
			{cmd: "MSET a 1 b 2", events: "0:set:a 0:set:b"},
			{cmd: "MSETNX a 1 c 3"},
			{cmd: "MSETNX c 3 d 4", events: "0:set:c 0:set:d"},
			{cmd: "INCR a", events: "0:incrby:a"},
			{cmd: "INCRBY a 5", events: "0:incrby:a"},
			{cmd: "DECR a", events: "0:incrby:a"},
			{cmd: "DECRBY a 2", events: "0:incrby:a"},
			{cmd: "INCRBYFLOAT a 1.5", events: "0:incrbyfloat:a"},
			{cmd: "APPEND a x", events: "0:append:a"},
			{cmd: "SETRANGE a 0 y", events: "0:setrange:a"},
			{cmd: "GETDEL a", events: "0:del:a"},
			{cmd: "GETDEL a"},
			{cmd: "GET b"},  // reads never emit
			{cmd: "INCR k"}, // an error changes nothing
		}},
		{"keys", []step{
			{cmd: "MSET a 1 b 2 c 3", events: "0:set:a 0:set:b 0:set:c"},
			{cmd: "DEL a nokey b", events: "0:del:a 0:del:b"},
			{cmd: "UNLINK c", events: "0:del:c"},
			{cmd: "SET k v", events: "0:set:k"},
			{cmd: "EXPIRE k 100", events: "0:expire:k"},
			{cmd: "EXPIRE k 100", events: "0:expire:k"}, // the same time: still set, as in Redis
			{cmd: "EXPIRE k 50 GT"},
			{cmd: "PEXPIRE k 200000", events: "0:expire:k"},
			{cmd: "PERSIST k", events: "0:persist:k"},
			{cmd: "PERSIST k"},
			{cmd: "GETEX k EX 10", events: "0:expire:k"},
			{cmd: "GETEX k PERSIST", events: "0:persist:k"},
			{cmd: "GETEX k"},
			{cmd: "RENAME k k2", events: "0:rename_from:k 0:rename_to:k2"},
			{cmd: "RENAME k2 k2"},
			{cmd: "RENAMENX k2 k", events: "0:rename_from:k2 0:rename_to:k"},
			{cmd: "MOVE k 3", events: "0:move_from:k 3:move_to:k"},
			{db: 3, cmd: "COPY k k DB 0", events: "0:copy_to:k"},
			{cmd: "COPY k k2", events: "0:copy_to:k2"},
			{cmd: "COPY k k2"},
			{cmd: "EXPIRE k 0", events: "0:del:k"},
			{cmd: "SET t v PX 100", events: "0:set:t 0:expire:t"},
			{adv: 200 * time.Millisecond},
			{cmd: "SET t w", events: "0:expired:t 0:set:t"},
			{cmd: "SET u v PX 100", events: "0:set:u 0:expire:u"},
			{adv: 200 * time.Millisecond},
			{cmd: "DEL u", events: "0:expired:u"},
			{cmd: "SWAPDB 0 1"},
			{cmd: "FLUSHALL"},
		}},
		{"lists", []step{
			{cmd: "LPUSH l a b", events: "0:lpush:l"},
			{cmd: "RPUSH l c", events: "0:rpush:l"},
			{cmd: "LPUSHX nol a"},
			{cmd: "RPUSHX l d", events: "0:rpush:l"},
			{cmd: "LSET l 0 x", events: "0:lset:l"},
			{cmd: "LINSERT l BEFORE x y", events: "0:linsert:l"},
			{cmd: "LINSERT l BEFORE nope y"},
			{cmd: "LREM l 0 y", events: "0:lrem:l"},
			{cmd: "LREM l 0 nope"},
			{cmd: "LPOP l", events: "0:lpop:l"},
			{cmd: "RPOP l", events: "0:rpop:l"},
			{cmd: "RPOPLPUSH l m", events: "0:lpush:m 0:rpop:l"},
			{cmd: "LMOVE l m LEFT RIGHT", events: "0:rpush:m 0:lpop:l 0:del:l"},
			{cmd: "LMOVE m m LEFT RIGHT", events: "0:rpush:m 0:lpop:m"},
			{cmd: "LMPOP 2 nol m RIGHT COUNT 1", events: "0:rpop:m"},
			{cmd: "LTRIM m 1 0", events: "0:ltrim:m 0:del:m"},
			{cmd: "RPUSH l a b", events: "0:rpush:l"},
			{cmd: "BLPOP l 0", events: "0:lpop:l"},
			{cmd: "BRPOP l 0", events: "0:rpop:l 0:del:l"},
		}},
		{"sets", []step{
			{cmd: "SADD s a b", events: "0:sadd:s"},
			{cmd: "SADD s a"},
			{cmd: "SREM s nope"},
			{cmd: "SREM s a", events: "0:srem:s"},
			{cmd: "SMOVE s t b", events: "0:srem:s 0:del:s 0:sadd:t"},
			{cmd: "SADD s c", events: "0:sadd:s"},
			{cmd: "SINTERSTORE d s t"},
			{cmd: "SUNIONSTORE d s t", events: "0:sunionstore:d"},
			{cmd: "SDIFFSTORE d s s", events: "0:del:d"},
			{cmd: "SPOP t", events: "0:spop:t 0:del:t"},
		}},
		{"hashes", []step{
			{cmd: "HSET h f 1 g 2", events: "0:hset:h"},
			{cmd: "HMSET h f 1", events: "0:hset:h"},
			{cmd: "HSETNX h f 1"},
			{cmd: "HSETNX h n 1", events: "0:hset:h"},
			{cmd: "HINCRBY h f 1", events: "0:hincrby:h"},
			{cmd: "HINCRBYFLOAT h f 1.5", events: "0:hincrbyfloat:h"},
			{cmd: "HDEL h nope"},
			{cmd: "HDEL h f g n", events: "0:hdel:h 0:del:h"},
		}},
		{"zsets", []step{
			{cmd: "ZADD z 1 a 2 b 3 c 4 d", events: "0:zadd:z"},
			{cmd: "ZADD z 1 a"},
			{cmd: "ZADD z INCR 1 a", events: "0:zincr:z"},
			{cmd: "ZINCRBY z 1 a", events: "0:zincr:z"},
			{cmd: "ZREM z nope"},
			{cmd: "ZREM z a", events: "0:zrem:z"},
			{cmd: "ZPOPMIN z", events: "0:zpopmin:z"},
			{cmd: "ZPOPMAX z", events: "0:zpopmax:z"},
			{cmd: "ZADD z 1 a 2 b", events: "0:zadd:z"},
			{cmd: "ZUNIONSTORE u 1 z", events: "0:zunionstore:u"},
			{cmd: "ZRANGESTORE r z 0 0", events: "0:zrangestore:r"},
			{cmd: "ZMPOP 1 z MAX", events: "0:zpopmax:z"},
			{cmd: "ZREMRANGEBYSCORE u 1 1", events: "0:zremrangebyscore:u"},
			{cmd: "ZREMRANGEBYRANK z 0 -1", events: "0:zremrangebyrank:z 0:del:z"},
			{cmd: "BZPOPMIN u 0", events: "0:zpopmin:u"},
			{cmd: "BZPOPMAX u 0", events: "0:zpopmax:u 0:del:u"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newTestClock()
			e := openTestEngine(t, &MemLog{}, clk, -1)
			var l eventLog
			e.SetKeyspaceEvents(NotifyAll|NotifyKeyspace|NotifyKeyevent, l.hook)
			for i, st := range tc.steps {
				if st.adv != 0 {
					clk.advance(st.adv)
					continue
				}
				e.Exec(st.db, kArgv(st.cmd))
				if got := l.take(); got != st.events {
					t.Errorf("step %d %q: events %q, want %q", i, st.cmd, got, st.events)
				}
			}
		})
	}
}

// TestNotifyClassesAndOff checks the class filter, and that nothing is
// collected when notifications are off or lack K and E.
func TestNotifyClassesAndOff(t *testing.T) {
	clk := newTestClock()
	e := openTestEngine(t, &MemLog{}, clk, -1)
	var l eventLog
	run := func(flags string, cmds ...string) string {
		t.Helper()
		f, err := ParseKeyspaceEvents(flags)
		if err != nil {
			t.Fatal(err)
		}
		e.SetKeyspaceEvents(f, l.hook)
		for _, c := range cmds {
			e.Exec(0, kArgv(c))
		}
		return l.take()
	}
	cmds := []string{"SET k v EX 10", "LPUSH l a", "DEL l"}
	for _, tc := range []struct{ flags, want string }{
		{"", ""},
		{"A", ""},  // neither K nor E
		{"KE", ""}, // no class
		{"K$", "0:set:k"},
		{"Eg", "0:expire:k 0:del:l"},
		{"KEl", "0:lpush:l"},
		{"KEA", "0:set:k 0:expire:k 0:lpush:l 0:del:l"},
	} {
		if got := run(tc.flags, cmds...); got != tc.want {
			t.Errorf("flags %q: events %q, want %q", tc.flags, got, tc.want)
		}
	}
	if len(e.notify.buf) != 0 || cap(e.notify.buf) > 1<<16 {
		t.Errorf("the buffer was not emptied: %d", len(e.notify.buf))
	}
}

// TestNotifyMulti checks that the commands of a transaction emit their
// events, in order, and that replay emits nothing.
func TestNotifyMulti(t *testing.T) {
	clk := newTestClock()
	log := &MemLog{}
	e := openTestEngine(t, log, clk, -1)
	var l eventLog
	e.SetKeyspaceEvents(NotifyAll|NotifyKeyspace, l.hook)
	e.ExecTx(nil, []TxCommand{
		{DB: 0, Argv: kArgv("SET a 1")}, {DB: 0, Argv: kArgv("INCR a")},
		{DB: 2, Argv: kArgv("SADD s x")}, {DB: 0, Argv: kArgv("DEL a")},
	})
	if got, want := l.take(), "0:set:a 0:incrby:a 2:sadd:s 0:del:a"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	e2 := openTestEngine(t, log, clk, -1) // replays the log
	var l2 eventLog
	e2.SetKeyspaceEvents(NotifyAll|NotifyKeyspace, l2.hook)
	if got := l2.take(); got != "" {
		t.Errorf("replay emitted %q", got)
	}
}

// TestNotifyExpiryReactor checks that active expiry emits "expired".
func TestNotifyExpiryReactor(t *testing.T) {
	clk := newTestClock()
	e := openTestEngine(t, &MemLog{}, clk, 5*time.Millisecond)
	var l eventLog
	e.SetKeyspaceEvents(NotifyExpired|NotifyKeyevent, l.hook)
	e.Exec(0, kArgv("SET k v PX 10"))
	clk.advance(20 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	var got string
	for time.Now().Before(deadline) && got == "" {
		time.Sleep(10 * time.Millisecond)
		got = l.take()
	}
	if got != "0:expired:k" {
		t.Fatalf("events %q, want 0:expired:k", got)
	}
}

// TestKeyspaceEventsFlags checks the parsing and Redis's spelling.
func TestKeyspaceEventsFlags(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "KEA": "AKE", "Kg$lshzxetd": "AK", "Em": "Em", "gK": "gK", "AKEmn": "AKEm",
		"Ex": "xE", "lsz$": "$lsz", "n": "n",
	} {
		f, err := ParseKeyspaceEvents(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := FormatKeyspaceEvents(f); got != want {
			t.Errorf("%q formats as %q, want %q", in, got, want)
		}
	}
	if _, err := ParseKeyspaceEvents("KEQ"); err == nil || err.Error() != "Invalid event class character. Use 'Ag$lshzxeKEtmdn'." {
		t.Errorf("bad class: %v", err)
	}
}
