package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// kArgv splits a command into words; `""` stands for an empty argument.
func kArgv(cmd string) [][]byte {
	var argv [][]byte
	for _, f := range strings.Fields(cmd) {
		if f == `""` {
			f = ""
		}
		argv = append(argv, []byte(f))
	}
	return argv
}

// kStep is one line of a test script: a command and its reply, or a move
// of the clock.
type kStep struct {
	cmd   string
	want  string
	nolog bool // the schema must refuse it: nothing reaches the log
	db    int
	adv   time.Duration
}

func kOK(cmd, want string) kStep  { return kStep{cmd: cmd, want: want} }
func kBad(cmd, want string) kStep { return kStep{cmd: cmd, want: want, nolog: true} }
func kIn(db int, cmd, want string) kStep {
	return kStep{cmd: cmd, want: want, db: db}
}
func kWait(d time.Duration) kStep { return kStep{adv: d} }

// kRun runs steps and checks each reply, and that writes are logged and
// refused commands are not.
func kRun(t *testing.T, e *Engine, log *MemLog, clk *testClock, steps []kStep) {
	t.Helper()
	for i, st := range steps {
		if st.adv != 0 {
			clk.advance(st.adv)
			continue
		}
		argv := kArgv(st.cmd)
		before := len(log.Entries())
		got := render(e.Exec(st.db, argv))
		if got != st.want {
			t.Errorf("step %d %q: got %s, want %s", i, st.cmd, got, st.want)
		}
		after := len(log.Entries())
		switch {
		case st.nolog && after != before:
			t.Errorf("step %d %q: refused command reached the log", i, st.cmd)
		case !st.nolog && IsWrite(argv) && after != before+1:
			t.Errorf("step %d %q: write not logged (%d -> %d entries)", i, st.cmd, before, after)
		case !IsWrite(argv) && after != before:
			t.Errorf("step %d %q: read reached the log", i, st.cmd)
		}
	}
}

const (
	kErrSyntax = "-ERR syntax error"
	kErrNotInt = "-ERR value is not an integer or out of range"
	kErrNXAnd  = "-ERR NX and XX, GT or LT options at the same time are not compatible"
	kErrGTLT   = "-ERR GT and LT options at the same time are not compatible"
	kErrCursor = "-ERR invalid cursor"
)

func kArity(cmd string) string {
	return "-ERR wrong number of arguments for '" + cmd + "' command"
}

func TestKeysCommands(t *testing.T) {
	sec := int64(testT0 / 1000)
	tests := []struct {
		name  string
		steps []kStep
	}{
		{"del unlink exists", []kStep{
			kOK("SET a 1", "+OK"), kOK("SET b 2", "+OK"), kOK("SET c 3", "+OK"),
			kOK("EXISTS a", ":1"),
			kOK("EXISTS a a b x", ":3"), // duplicates count
			kOK("EXISTS x", ":0"),
			kOK("DEL a a x", ":1"), // a key named twice is deleted once
			kOK("EXISTS a", ":0"),
			kOK("DEL a", ":0"),
			kOK("UNLINK b c", ":2"),
			kOK("DBSIZE", ":0"),
			kBad("DEL", kArity("del")),
			kBad("UNLINK", kArity("unlink")),
			kBad("EXISTS", kArity("exists")),
		}},
		{"type", []kStep{
			kOK("SET s v", "+OK"),
			kOK("TYPE s", "+string"),
			kOK("TYPE nope", "+none"),
			kOK("PEXPIRE s 10", ":1"),
			kWait(10 * time.Millisecond),
			kOK("TYPE s", "+none"),
			kBad("TYPE", kArity("type")),
			kBad("TYPE a b", kArity("type")),
		}},
		{"expire and ttl", []kStep{
			kOK("TTL k", ":-2"), kOK("PTTL k", ":-2"),
			kOK("EXPIRETIME k", ":-2"), kOK("PEXPIRETIME k", ":-2"),
			kOK("EXPIRE k 10", ":0"), // missing key
			kOK("SET k v", "+OK"),
			kOK("TTL k", ":-1"), kOK("PTTL k", ":-1"),
			kOK("EXPIRETIME k", ":-1"), kOK("PEXPIRETIME k", ":-1"),
			kOK("EXPIRE k 10", ":1"),
			kOK("TTL k", ":10"), kOK("PTTL k", ":10000"),
			kOK("EXPIRETIME k", fmt.Sprintf(":%d", sec+10)),
			kOK("PEXPIRETIME k", fmt.Sprintf(":%d", testT0+10_000)),
			kWait(400 * time.Millisecond),
			kOK("TTL k", ":10"), // 9.6 s rounds to 10, as in Redis
			kOK("PTTL k", ":9600"),
			kWait(200 * time.Millisecond),
			kOK("TTL k", ":9"),
			kOK("PEXPIRE k 1500", ":1"),
			kOK("PTTL k", ":1500"),
			kOK("EXPIREAT k "+strconv.FormatInt(sec+100, 10), ":1"),
			kOK("PEXPIRETIME k", fmt.Sprintf(":%d", (sec+100)*1000)),
			kOK("PEXPIREAT k "+strconv.FormatInt(testT0+50_000, 10), ":1"),
			kOK("PEXPIRETIME k", fmt.Sprintf(":%d", testT0+50_000)),
			kOK("EXPIRETIME k", fmt.Sprintf(":%d", (testT0+50_000+500)/1000)),
			kOK("expire k 20", ":1"), // any case
			kOK("TTL k", ":20"),
			kWait(20 * time.Second),
			kOK("TTL k", ":-2"),
			kOK("EXISTS k", ":0"),
			kOK("EXPIRE k 10", ":0"),
		}},
		{"expire in the past deletes", []kStep{
			kOK("SET a v", "+OK"), kOK("SET b v", "+OK"), kOK("SET c v", "+OK"),
			kOK("SET d v", "+OK"), kOK("SET e v", "+OK"),
			kOK("EXPIRE a 0", ":1"),
			kOK("EXPIRE b -10", ":1"),
			kOK("PEXPIRE c 0", ":1"),
			kOK("EXPIREAT d 1", ":1"),
			kOK("PEXPIREAT e "+strconv.FormatInt(testT0, 10), ":1"), // now is the past
			kOK("EXISTS a b c d e", ":0"),
			kOK("DBSIZE", ":0"), // deleted, not just hidden
			kOK("EXPIRE a -1", ":0"),
		}},
		{"expire options", []kStep{
			kOK("SET k v", "+OK"),
			kOK("EXPIRE k 100 XX", ":0"), // no TTL yet
			kOK("EXPIRE k 100 GT", ":0"), // no TTL is infinite: nothing is greater
			kOK("TTL k", ":-1"),
			kOK("EXPIRE k 100 LT", ":1"), // ... and anything is less
			kOK("EXPIRE k 50 NX", ":0"),
			kOK("EXPIRE k 50 XX", ":1"),
			kOK("TTL k", ":50"),
			kOK("EXPIRE k 40 GT", ":0"),
			kOK("EXPIRE k 50 GT", ":0"), // equal is not greater
			kOK("EXPIRE k 60 GT", ":1"),
			kOK("EXPIRE k 70 LT", ":0"),
			kOK("EXPIRE k 60 LT", ":0"),
			kOK("EXPIRE k 30 lt", ":1"),
			kOK("TTL k", ":30"),
			kOK("EXPIRE k 45 XX GT", ":1"),
			kOK("EXPIRE k 40 XX LT", ":1"),
			kOK("EXPIRE k 40 GT GT", ":0"), // repeats are allowed
			kOK("TTL k", ":40"),
			kOK("PERSIST k", ":1"),
			kOK("EXPIRE k 40 XX LT", ":0"),
			kOK("EXPIRE k 40 NX", ":1"),
			kOK("EXPIRE k 40 NX", ":0"),
			kOK("EXPIRE k -1 GT", ":0"),
			kOK("EXPIRE k -1 LT", ":1"), // a past time that passes LT deletes
			kOK("EXISTS k", ":0"),
			kOK("EXPIRE k 10 NX", ":0"), // missing
			kBad("EXPIRE k 10 NX XX", kErrNXAnd),
			kBad("EXPIRE k 10 NX GT", kErrNXAnd),
			kBad("EXPIRE k 10 LT NX", kErrNXAnd),
			kBad("EXPIRE k 10 GT LT", kErrGTLT),
			kBad("PEXPIRE k 10 XX GT LT", kErrGTLT),
			kBad("EXPIRE k 10 FOO", "-ERR Unsupported option FOO"),
			kBad("EXPIREAT k 10 nx bar", "-ERR Unsupported option bar"),
			kBad("EXPIRE k ten FOO", "-ERR Unsupported option FOO"), // options first
			kBad("EXPIRE k ten NX XX", kErrNXAnd),
			kBad("EXPIRE k ten", kErrNotInt),
			kBad("EXPIRE k 1.5", kErrNotInt),
			kBad("EXPIRE k", kArity("expire")),
			kBad("PEXPIREAT k", kArity("pexpireat")),
		}},
		{"expire overflow", []kStep{
			kOK("SET k v", "+OK"),
			kBad("EXPIRE k 9223372036854776", "-ERR invalid expire time in 'expire' command"),
			kBad("EXPIRE k -9223372036854776", "-ERR invalid expire time in 'expire' command"),
			kBad("EXPIRE k 9223372036854775", "-ERR invalid expire time in 'expire' command"), // + now
			kBad("PEXPIRE k 9223372036854775807", "-ERR invalid expire time in 'pexpire' command"),
			kBad("EXPIREAT k 9223372036854776", "-ERR invalid expire time in 'expireat' command"),
			kBad("EXPIRE k 99999999999999999999", kErrNotInt),
			kOK("EXPIREAT k 9223372036854775", ":1"), // no base time to add
			kOK("PEXPIRETIME k", ":9223372036854775000"),
			kOK("PEXPIREAT k 9223372036854775807", ":1"),
			kOK("PEXPIRETIME k", ":9223372036854775807"),
			kOK("PEXPIRE k -9223372036854775808", ":1"),
			kOK("EXISTS k", ":0"),
			kOK("TTL k", ":-2"),
		}},
		{"persist", []kStep{
			kOK("PERSIST k", ":0"),
			kOK("SET k v", "+OK"),
			kOK("PERSIST k", ":0"),
			kOK("EXPIRE k 10", ":1"),
			kOK("PERSIST k", ":1"),
			kOK("TTL k", ":-1"),
			kOK("PERSIST k", ":0"),
			kOK("PEXPIRE k 5", ":1"),
			kWait(5 * time.Millisecond),
			kOK("PERSIST k", ":0"), // expired: missing
			kOK("EXISTS k", ":0"),
			kBad("PERSIST", kArity("persist")),
		}},
		{"lazy expiry and dbsize", []kStep{
			kOK("SET a v", "+OK"),
			kOK("SET b v PX 100", "+OK"),
			kOK("DBSIZE", ":2"),
			kWait(99 * time.Millisecond),
			kOK("EXISTS b", ":1"),
			kWait(time.Millisecond),
			kOK("EXISTS b", ":0"),
			kOK("DBSIZE", ":2"), // expired, not yet removed: counted, as in Redis
			kOK("KEYS *", `["a"]`),
			kOK("DEL b", ":0"), // the write removes it, but it was not live
			kOK("DBSIZE", ":1"),
			kBad("DBSIZE x", kArity("dbsize")),
		}},
		{"rename", []kStep{
			kOK("RENAME nokey x", "-ERR no such key"),
			kOK("RENAME nokey nokey", "-ERR no such key"),
			kOK("RENAMENX nokey x", "-ERR no such key"),
			kOK("SET a 1", "+OK"),
			kOK("RENAME a a", "+OK"),
			kOK("RENAMENX a a", ":0"),
			kOK("GET a", `"1"`),
			kOK("RENAME a b", "+OK"),
			kOK("EXISTS a", ":0"),
			kOK("GET b", `"1"`),
			kOK("TTL b", ":-1"),
			// The TTL moves with the value and replaces the target's.
			kOK("SET t x", "+OK"),
			kOK("EXPIRE t 50", ":1"),
			kOK("SET r v EX 100", "+OK"),
			kOK("RENAME r t", "+OK"),
			kOK("GET t", `"v"`),
			kOK("TTL t", ":100"),
			kOK("EXISTS r", ":0"),
			kOK("RENAME b t", "+OK"), // a value without TTL over one with
			kOK("TTL t", ":-1"),
			kOK("GET t", `"1"`),
			kOK("SET u x", "+OK"),
			kOK("RENAMENX t u", ":0"),
			kOK("GET t", `"1"`),
			kOK("RENAMENX t w", ":1"),
			kOK("GET w", `"1"`),
			kOK("EXISTS t", ":0"),
			// An expired target counts as missing.
			kOK("SET gone x PX 10", "+OK"),
			kWait(10 * time.Millisecond),
			kOK("RENAMENX w gone", ":1"),
			kOK("GET gone", `"1"`),
			kOK("TTL gone", ":-1"),
			kOK("DBSIZE", ":2"), // gone and u
			kBad("RENAME a", kArity("rename")),
			kBad("RENAMENX a b c", kArity("renamenx")),
		}},
		{"touch", []kStep{
			kOK("SET a 1", "+OK"), kOK("SET b 1", "+OK"),
			kOK("TOUCH a", ":1"),
			kOK("TOUCH a b c a", ":3"),
			kOK("TOUCH c", ":0"),
			kBad("TOUCH", kArity("touch")),
		}},
		{"keys", []kStep{
			kOK("KEYS *", "[]"),
			kOK("MSET user:1 a user:2 b user:10 c order:1 d user e", "+OK"),
			kOK(`SET "" empty`, "+OK"),
			kOK("KEYS *", `["" "order:1" "user" "user:1" "user:10" "user:2"]`),
			kOK("KEYS user:*", `["user:1" "user:10" "user:2"]`),
			kOK("KEYS user*", `["user" "user:1" "user:10" "user:2"]`),
			kOK("KEYS user:?", `["user:1" "user:2"]`),
			kOK("KEYS *1", `["order:1" "user:1"]`),
			kOK("KEYS *:1*", `["order:1" "user:1" "user:10"]`),
			kOK("KEYS user:1", `["user:1"]`), // a literal pattern
			kOK("KEYS user:3", "[]"),
			kOK("KEYS user:[12]", `["user:1" "user:2"]`),
			kOK("KEYS [ou]*", `["order:1" "user" "user:1" "user:10" "user:2"]`),
			kOK("KEYS user\\:1", `["user:1"]`),
			kOK("KEYS **", `["order:1" "user" "user:1" "user:10" "user:2"]`), // not the empty key
			kOK("PEXPIRE user:2 1", ":1"),
			kWait(time.Millisecond),
			kOK("KEYS user:*", `["user:1" "user:10"]`),
			kBad("KEYS", kArity("keys")),
			kBad("KEYS a b", kArity("keys")),
		}},
		{"flush", []kStep{
			kOK("SET a 1", "+OK"),
			kIn(1, "SET a 1", "+OK"),
			kIn(1, "SET b 1", "+OK"),
			kIn(2, "SET c 1 EX 100", "+OK"),
			kOK("FLUSHDB", "+OK"),
			kOK("DBSIZE", ":0"),
			kIn(1, "DBSIZE", ":2"),
			kIn(1, "FLUSHDB ASYNC", "+OK"),
			kIn(1, "DBSIZE", ":0"),
			kIn(2, "DBSIZE", ":1"),
			kIn(2, "SET d 1", "+OK"),
			kOK("SET a 1", "+OK"),
			kOK("FLUSHALL", "+OK"),
			kOK("DBSIZE", ":0"),
			kIn(2, "DBSIZE", ":0"),
			kIn(2, "TTL c", ":-2"),
			kIn(2, "SET c 2", "+OK"),
			kIn(2, "TTL c", ":-1"),
			kOK("FLUSHALL sync", "+OK"),
			kIn(2, "DBSIZE", ":0"),
			kOK("FLUSHDB SYNC", "+OK"),
			kOK("FLUSHALL async", "+OK"),
			kBad("FLUSHDB FOO", kErrSyntax),
			kBad("FLUSHDB ASYNC SYNC", kErrSyntax),
			kBad("FLUSHALL ASYNC ASYNC", kErrSyntax),
			kBad("FLUSHALL now", kErrSyntax),
		}},
		{"randomkey", []kStep{
			kOK("RANDOMKEY", "(nil)"),
			kOK("SET only v", "+OK"),
			kOK("RANDOMKEY", `"only"`),
			kOK("PEXPIRE only 5", ":1"),
			kWait(5 * time.Millisecond),
			kOK("DBSIZE", ":1"),
			kOK("RANDOMKEY", "(nil)"), // every key has expired
			kBad("RANDOMKEY x", kArity("randomkey")),
		}},
		{"scan syntax", []kStep{
			kOK("SET a 1", "+OK"), kOK("SET b 1", "+OK"), kOK("SET c 1", "+OK"),
			kOK("SCAN 0", `["0" ["a" "b" "c"]]`),
			kOK("scan 0 count 100 match * type string", `["0" ["a" "b" "c"]]`),
			kOK("SCAN 0 MATCH [ab]", `["0" ["a" "b"]]`),
			kOK("SCAN 0 MATCH a MATCH *", `["0" ["a" "b" "c"]]`), // the last one wins
			kOK("SCAN 0 TYPE STRING", `["0" ["a" "b" "c"]]`),
			kOK("SCAN 0 TYPE list", `["0" []]`),
			kOK("SCAN 0 TYPE nosuchtype", `["0" []]`), // Redis 7.2: no error
			kOK("SCAN 00", `["0" ["a" "b" "c"]]`),
			kOK("SCAN 12345", kErrCursor), // never handed out
			kOK("SCAN 18446744073709551615", kErrCursor),
			kBad("SCAN abc", kErrCursor),
			kBad("SCAN -1", kErrCursor),
			kBad("SCAN 18446744073709551616", kErrCursor),
			kBad("SCAN abc COUNT 0", kErrCursor), // the cursor is checked first
			kBad("SCAN 0 COUNT 0", kErrSyntax),
			kBad("SCAN 0 COUNT -1", kErrSyntax),
			kBad("SCAN 0 COUNT ten", kErrNotInt),
			kBad("SCAN 0 COUNT", kErrSyntax),
			kBad("SCAN 0 MATCH", kErrSyntax),
			kBad("SCAN 0 FOO bar", kErrSyntax),
			kBad("SCAN 0 MATCH a b", kErrSyntax),
			kBad("SCAN", kArity("scan")),
		}},
		{"internal commands are refused", []kStep{
			kOK("SET k v", "+OK"),
			kBad("MEMIMG.EXPIRED k", "-ERR unknown command 'MEMIMG.EXPIRED', with args beginning with: 'k' "),
			kOK("EXISTS k", ":1"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &MemLog{}
			clk := newTestClock()
			e := openTestEngine(t, log, clk, -1)
			kRun(t, e, log, clk, tc.steps)
			kCheckIndex(t, e)
		})
	}
}

// kCheckIndex checks that the expiry index holds exactly the keys with a
// TTL, at their times.
func kCheckIndex(t *testing.T, e *Engine) {
	t.Helper()
	e.mu.RLock()
	defer e.mu.RUnlock()
	for db, ks := range e.img.dbs {
		n := 0
		ks.keys.Scan(func(it item) bool {
			if it.exp != 0 {
				n++
				x, ok := ks.expires.Get(expiring{exp: it.exp, key: it.key()})
				if !ok {
					t.Errorf("db %d: key %q expires at %d but is not in the expiry index", db, it.key(), it.exp)
				} else if len(x.key) > 0 && unsafe.StringData(x.key) != unsafe.StringData(it.key()) {
					// The index must view the current kv, not keep a
					// replaced one (and its value) alive.
					t.Errorf("db %d: the expiry index entry of %q does not share the item's bytes", db, it.key())
				}
			}
			return true
		})
		if n != ks.expires.Len() {
			t.Errorf("db %d: %d keys with a TTL, %d in the expiry index", db, n, ks.expires.Len())
		}
	}
}

// kScan runs a whole SCAN iteration and returns the keys and the number of
// calls. between runs after every call.
func kScan(t *testing.T, e *Engine, db int, opts string, between func()) ([]string, int) {
	t.Helper()
	cursor := "0"
	var keys []string
	calls := 0
	for {
		r := e.Exec(db, kArgv("SCAN "+cursor+" "+opts))
		if r.Kind != KindArray || len(r.Elems) != 2 {
			t.Fatalf("SCAN %s %s: %s", cursor, opts, render(r))
		}
		calls++
		cursor = r.Elems[0].Str
		for _, k := range r.Elems[1].Elems {
			keys = append(keys, k.Str)
		}
		if between != nil {
			between()
		}
		if cursor == "0" {
			return keys, calls
		}
		if n, err := strconv.ParseUint(cursor, 10, 64); err != nil || n >= 1<<53 {
			t.Fatalf("cursor %q is not a number below 2^53", cursor)
		}
		if calls > 1_000_000 {
			t.Fatal("SCAN does not end")
		}
	}
}

func kFill(t *testing.T, e *Engine, db int, format string, n int) []string {
	t.Helper()
	var keys []string
	argv := [][]byte{[]byte("MSET")}
	for i := range n {
		k := fmt.Sprintf(format, i)
		keys = append(keys, k)
		argv = append(argv, []byte(k), []byte("v"))
	}
	if r := e.Exec(db, argv); r.IsError() {
		t.Fatal(r.Str)
	}
	return keys
}

func TestScanCursor(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	users := kFill(t, e, 0, "user:%04d", 250)
	kFill(t, e, 0, "order:%04d", 100)
	kFill(t, e, 0, "zeta:%04d", 100)
	kFill(t, e, 3, "db3:%02d", 20)
	before := len(log.Entries())

	all, calls := kScan(t, e, 0, "", nil)
	if len(all) != 450 || calls != 45 {
		t.Errorf("SCAN: %d keys in %d calls, want 450 in 45", len(all), calls)
	}
	if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Errorf("SCAN returned keys out of order or twice")
	}
	got, calls := kScan(t, e, 0, "COUNT 1000", nil)
	if len(got) != 450 || calls != 1 {
		t.Errorf("SCAN COUNT 1000: %d keys in %d calls", len(got), calls)
	}
	// A literal prefix limits the walk to its range.
	got, calls = kScan(t, e, 0, "MATCH user:* COUNT 50", nil)
	if !slices.Equal(got, users) || calls != 5 {
		t.Errorf("SCAN MATCH user:*: %d keys in %d calls, want 250 in 5", len(got), calls)
	}
	got, _ = kScan(t, e, 0, "MATCH *:00[0-4]? COUNT 7", nil)
	want := 0
	for _, k := range all {
		if strings.HasSuffix(k[:len(k)-2], ":00") && k[len(k)-2] <= '4' {
			want++
		}
	}
	if len(got) != want || want != 3*50 {
		t.Errorf("SCAN MATCH *:00[0-4]?: %d keys, want %d", len(got), want)
	}
	got, calls = kScan(t, e, 0, "MATCH user:0042", nil)
	if !slices.Equal(got, []string{"user:0042"}) || calls != 1 {
		t.Errorf("SCAN MATCH user:0042: %q in %d calls", got, calls)
	}
	got, _ = kScan(t, e, 0, "MATCH nope:*", nil)
	if len(got) != 0 {
		t.Errorf("SCAN MATCH nope:*: %q", got)
	}
	got, _ = kScan(t, e, 3, "COUNT 3", nil)
	if len(got) != 20 {
		t.Errorf("SCAN in db 3: %d keys", len(got))
	}

	// A cursor belongs to its database, and may be used again.
	r := e.Exec(0, kArgv("SCAN 0 COUNT 5"))
	cursor := r.Elems[0].Str
	if got := render(e.Exec(3, kArgv("SCAN "+cursor))); got != kErrCursor {
		t.Errorf("cursor of db 0 in db 3: %s", got)
	}
	r1 := render(e.Exec(0, kArgv("SCAN "+cursor+" COUNT 5")))
	r2 := render(e.Exec(0, kArgv("SCAN "+cursor+" COUNT 5")))
	if r1[strings.Index(r1, " "):] != r2[strings.Index(r2, " "):] {
		t.Errorf("the same cursor twice: %s then %s", r1, r2)
	}
	if len(log.Entries()) != before {
		t.Errorf("SCAN wrote to the log")
	}
}

// TestScanGuarantee scans while another goroutine inserts and deletes keys
// between (and during) the calls: every key present for the whole
// iteration must come back exactly once, and no key that never existed may.
func TestScanGuarantee(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	stable := kFill(t, e, 0, "k%05d", 2000)
	kFill(t, e, 0, "k%05d-tmp", 2000) // deleted as the scan runs
	var (
		mu      sync.Mutex
		created = map[string]bool{}
	)
	for i := range 2000 {
		created[fmt.Sprintf("k%05d-tmp", i)] = true
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 6000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			switch i % 3 {
			case 0:
				e.Exec(0, kArgv(fmt.Sprintf("DEL k%05d-tmp", rng.IntN(2000))))
			case 1:
				k := fmt.Sprintf("k%05d-new%d", rng.IntN(2100), i)
				mu.Lock()
				created[k] = true
				mu.Unlock()
				e.Exec(0, kArgv("SET "+k+" v"))
			case 2:
				k := fmt.Sprintf("k%05d-tmp", rng.IntN(2000))
				e.Exec(0, kArgv("SET "+k+" again"))
			}
		}
	}()
	counts := map[string]int{}
	keys, _ := kScan(t, e, 0, "COUNT 7", func() {
		// Writes between calls, in step with the scan.
		for range 3 {
			kPause()
		}
	})
	close(stop)
	wg.Wait()
	for _, k := range keys {
		counts[k]++
	}
	for _, k := range stable {
		if counts[k] != 1 {
			t.Errorf("stable key %s returned %d times", k, counts[k])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for k := range counts {
		if !created[k] && !slices.Contains(stable, k) {
			t.Errorf("SCAN returned %q, which never existed", k)
		}
	}
	if len(log.Entries()) < 100 {
		t.Errorf("only %d writes ran during the scan", len(log.Entries()))
	}
}

// kPause lets the writer goroutine run between SCAN calls.
func kPause() { time.Sleep(50 * time.Microsecond) }

func TestScanCursorTable(t *testing.T) {
	var tab scanCursors
	first := tab.put(0, "a")
	ids := []uint64{first}
	for i := range maxScanCursors {
		ids = append(ids, tab.put(0, fmt.Sprint(i)))
	}
	if _, ok := tab.get(first, 0); ok {
		t.Errorf("the oldest cursor survived %d newer ones", maxScanCursors)
	}
	if k, ok := tab.get(ids[len(ids)-1], 0); !ok || k != fmt.Sprint(maxScanCursors-1) {
		t.Errorf("the newest cursor: %q %v", k, ok)
	}
	if len(tab.pos) != maxScanCursors || len(tab.order) != maxScanCursors {
		t.Errorf("table holds %d ids (%d in order), want %d", len(tab.pos), len(tab.order), maxScanCursors)
	}
	for _, id := range ids {
		if id == 0 || id >= 1<<53 {
			t.Fatalf("cursor id %d out of range", id)
		}
	}
	// The byte bound: big keys evict sooner.
	var big scanCursors
	k := strings.Repeat("x", 1<<20)
	var bigIDs []uint64
	for range 64 {
		bigIDs = append(bigIDs, big.put(1, k))
	}
	if big.bytes > maxScanCursorBytes {
		t.Errorf("table holds %d key bytes, bound %d", big.bytes, maxScanCursorBytes)
	}
	if _, ok := big.get(bigIDs[0], 1); ok {
		t.Errorf("the oldest big cursor survived")
	}
	if _, ok := big.get(bigIDs[63], 1); !ok {
		t.Errorf("the newest big cursor was evicted")
	}
	if _, ok := big.get(bigIDs[63], 0); ok {
		t.Errorf("a cursor of db 1 was found in db 0")
	}
}

func TestRandomKey(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	keys := kFill(t, e, 0, "r%03d", 100)
	seen := map[string]bool{}
	for range 2000 {
		r := e.Exec(0, kArgv("RANDOMKEY"))
		if r.Kind != KindBulk || !slices.Contains(keys, r.Str) {
			t.Fatalf("RANDOMKEY: %s", render(r))
		}
		seen[r.Str] = true
	}
	if len(seen) < 90 {
		t.Errorf("2000 RANDOMKEYs saw only %d of 100 keys", len(seen))
	}
	// Every key but one expires: RANDOMKEY finds the live one even though
	// random picks almost always land on expired keys.
	for _, k := range keys {
		if k != "r042" {
			e.Exec(0, kArgv("PEXPIRE "+k+" 10"))
		}
	}
	clk.advance(10 * time.Millisecond)
	for range 50 {
		if got := render(e.Exec(0, kArgv("RANDOMKEY"))); got != `"r042"` {
			t.Fatalf("RANDOMKEY with one live key: %s", got)
		}
	}
	e.Exec(0, kArgv("PEXPIRE r042 1"))
	clk.advance(time.Millisecond)
	if got := render(e.Exec(0, kArgv("RANDOMKEY"))); got != "(nil)" {
		t.Errorf("RANDOMKEY with every key expired: %s", got)
	}
}

// TestKeysReplay runs a workload of keyspace commands with relative TTLs
// and clock jumps, then opens a second engine on the same log a day later:
// the images must be identical, expiry times included.
func TestKeysReplay(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 3000 {
		k := fmt.Sprintf("k%d", rng.IntN(60))
		k2 := fmt.Sprintf("k%d", rng.IntN(60))
		db := rng.IntN(3)
		var cmd string
		switch rng.IntN(16) {
		case 0, 1, 2:
			cmd = fmt.Sprintf("SET %s v%d", k, i)
		case 3:
			cmd = fmt.Sprintf("EXPIRE %s %d", k, rng.IntN(20)-2)
		case 4:
			cmd = fmt.Sprintf("PEXPIRE %s %d %s", k, rng.IntN(5000), []string{"NX", "XX", "GT", "LT", ""}[rng.IntN(5)])
		case 5:
			cmd = fmt.Sprintf("EXPIREAT %s %d", k, clk.ms()/1000+int64(rng.IntN(30))-5)
		case 6:
			cmd = fmt.Sprintf("PEXPIREAT %s %d GT", k, clk.ms()+int64(rng.IntN(9000)))
		case 7:
			cmd = "PERSIST " + k
		case 8:
			cmd = fmt.Sprintf("DEL %s %s", k, k2)
		case 9:
			cmd = fmt.Sprintf("RENAME %s %s", k, k2)
		case 10:
			cmd = fmt.Sprintf("RENAMENX %s %s", k, k2)
		case 11:
			cmd = "UNLINK " + k
		case 12:
			if rng.IntN(40) == 0 {
				cmd = "FLUSHDB"
			} else {
				cmd = fmt.Sprintf("SET %s x PX %d", k, 1+rng.IntN(3000))
			}
		case 13:
			if rng.IntN(200) == 0 {
				cmd = "FLUSHALL"
			} else {
				cmd = fmt.Sprintf("GETEX %s EX %d", k, 1+rng.IntN(10))
			}
		default:
			cmd = "TTL " + k // reads are not logged
		}
		e.Exec(db, kArgv(cmd))
		clk.advance(time.Duration(rng.IntN(300)) * time.Millisecond)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	want := kDump(e)
	if len(want) < 30 {
		t.Fatalf("workload left only %d lines", len(want))
	}
	kCheckIndex(t, e)

	later := newTestClock()
	later.advance(24 * time.Hour)
	r := openTestEngine(t, log, later, -1)
	if got := kDump(r); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("replayed image differs:\n got %q\nwant %q", got, want)
	}
	// Read through the commands, at the replayed engine's own clock: keys
	// with a TTL have expired a day later, the others keep no TTL.
	for db := range 3 {
		for _, k := range kKeys(r, db) {
			got := render(r.Exec(db, kArgv("PTTL "+k)))
			if got != ":-1" && got != ":-2" {
				t.Errorf("db %d PTTL %s a day later: %s", db, k, got)
			}
		}
	}
}

// kDump lists every item of every database, expiry index included.
func kDump(e *Engine) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []string
	for db, ks := range e.img.dbs {
		ks.keys.Scan(func(it item) bool {
			out = append(out, fmt.Sprintf("%d %q %q %d %d", db, it.key(), it.str(), it.exp, it.typ))
			return true
		})
		ks.expires.Scan(func(x expiring) bool {
			out = append(out, fmt.Sprintf("%d expires %q %d", db, x.key, x.exp))
			return true
		})
	}
	return out
}

// kKeys lists the keys in db's tree, expired or not.
func kKeys(e *Engine, db int) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []string
	e.img.dbs[db].keys.Scan(func(it item) bool {
		out = append(out, it.key())
		return true
	})
	return out
}
