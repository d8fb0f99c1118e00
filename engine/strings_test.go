package engine

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// strStep is one line of a test script.
type strStep struct {
	argv  []string
	want  string
	nolog bool          // the command must be refused before the log
	adv   time.Duration // move the clock instead of running a command
}

// strCmd is a command written as space-separated words; "" stands for an empty
// argument. Pseudo-commands starting with "~" read the image directly:
// "~PTTL key" gives the TTL in milliseconds (-2 missing, -1 none).
func strCmd(cmd, want string) strStep {
	var argv []string
	for _, f := range strings.Fields(cmd) {
		if f == `""` {
			f = ""
		}
		argv = append(argv, f)
	}
	return strStep{argv: argv, want: want}
}

// strBad is a command the schema must refuse: its error, and no log entry.
func strBad(cmd, want string) strStep {
	st := strCmd(cmd, want)
	st.nolog = true
	return st
}

// strArgs is a command with arbitrary arguments.
func strArgs(want string, argv ...string) strStep { return strStep{argv: argv, want: want} }

func strAdv(d time.Duration) strStep { return strStep{adv: d} }

// strRun runs steps on db 0 of e and checks every reply and the log.
func strRun(t *testing.T, e *Engine, log *MemLog, clk *testClock, steps []strStep) {
	t.Helper()
	for i, st := range steps {
		if st.adv != 0 {
			clk.advance(st.adv)
			continue
		}
		var got string
		before := len(log.Entries())
		if strings.HasPrefix(st.argv[0], "~") {
			got = strPseudo(e, clk, st.argv)
		} else {
			argv := make([][]byte, len(st.argv))
			for j, a := range st.argv {
				argv[j] = []byte(a)
			}
			got = render(e.Exec(0, argv))
		}
		if got != st.want {
			t.Errorf("step %d %q: got %s, want %s", i, st.argv, got, st.want)
		}
		after := len(log.Entries())
		if st.nolog && after != before {
			t.Errorf("step %d %q: refused command reached the log", i, st.argv)
		}
		if !st.nolog && IsWrite(toBytes(st.argv)) && after != before+1 {
			t.Errorf("step %d %q: write not logged (%d -> %d entries)", i, st.argv, before, after)
		}
	}
}

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func strPseudo(e *Engine, clk *testClock, argv []string) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	now := clk.now() / int64(time.Millisecond)
	switch argv[0] {
	case "~PTTL":
		it, ok := e.img.dbs[0].lookup([]byte(argv[1]), now)
		switch {
		case !ok:
			return ":-2"
		case it.exp == 0:
			return ":-1"
		}
		return ":" + strconv.FormatInt(it.exp-now, 10)
	case "~EXP": // the absolute expiry
		it, ok := e.img.dbs[0].lookup([]byte(argv[1]), now)
		if !ok {
			return ":-2"
		}
		return ":" + strconv.FormatInt(it.exp, 10)
	}
	panic("unknown pseudo-command " + argv[0])
}

const (
	strErrSyntax    = "-ERR syntax error"
	strErrNotInt    = "-ERR value is not an integer or out of range"
	strErrNotFloat  = "-ERR value is not a valid float"
	strErrOverflow  = "-ERR increment or decrement would overflow"
	strErrNaN       = "-ERR increment would produce NaN or Infinity"
	strErrWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value"
)

func TestStringCommands(t *testing.T) {
	s, bad, sa, adv := strCmd, strBad, strArgs, strAdv
	tests := []struct {
		name  string
		steps []strStep
	}{
		{"set and get", []strStep{
			s("GET k", "(nil)"),
			s("SET k v", "+OK"),
			s("GET k", `"v"`),
			s("set k v2", "+OK"),
			s("GET k", `"v2"`),
			s(`SET empty ""`, "+OK"),
			s("GET empty", `""`),
			sa("+OK", "SET", "bin\x00key", "a\r\nb\x00"),
			sa(`"a\r\nb\x00"`, "GET", "bin\x00key"),
			bad("SET k", "-ERR wrong number of arguments for 'set' command"),
			bad("GET", "-ERR wrong number of arguments for 'get' command"),
			bad("GET a b", "-ERR wrong number of arguments for 'get' command"),
		}},
		{"set nx xx get", []strStep{
			s("SET k v1 NX", "+OK"),
			s("SET k v2 NX", "(nil)"),
			s("GET k", `"v1"`),
			s("SET k v3 XX", "+OK"),
			s("GET k", `"v3"`),
			s("SET missing v XX", "(nil)"),
			s("GET missing", "(nil)"),
			s("SET k v4 GET", `"v3"`),
			s("GET k", `"v4"`),
			s("SET new v GET", "(nil)"),
			s("GET new", `"v"`),
			// Redis 7 allows NX with GET: the old value, and no write.
			s("SET k v5 NX GET", `"v4"`),
			s("GET k", `"v4"`),
			s("SET nx1 v NX GET", "(nil)"),
			s("GET nx1", `"v"`),
			s("SET missing2 v XX GET", "(nil)"),
			s("~PTTL missing2", ":-2"),
			s("SET k v6 XX GET", `"v4"`),
			s("GET k", `"v6"`),
			bad("SET k v NX XX", strErrSyntax),
			bad("SET k v XX NX", strErrSyntax),
			bad("SET k v FOO", strErrSyntax),
			bad("SET k v GET PERSIST", strErrSyntax),
			s("GET k", `"v6"`),
		}},
		{"set expiry", []strStep{
			s("SET k v EX 10", "+OK"),
			s("~PTTL k", ":10000"),
			adv(9999 * time.Millisecond),
			s("GET k", `"v"`),
			adv(time.Millisecond),
			s("GET k", "(nil)"),
			s("SET k v PX 1500", "+OK"),
			s("~PTTL k", ":1500"),
			s("SET k v ex 5 EX 20", "+OK"), // the last one wins
			s("~PTTL k", ":20000"),
			s("SET k v", "+OK"), // SET clears the TTL
			s("~PTTL k", ":-1"),
			s(fmt.Sprintf("SET k v EXAT %d", testT0/1000+100), "+OK"),
			s("~EXP k", fmt.Sprintf(":%d", (testT0/1000+100)*1000)),
			s(fmt.Sprintf("SET k v PXAT %d", testT0+20_000+5), "+OK"),
			s("~EXP k", fmt.Sprintf(":%d", testT0+20_000+5)),
			// An absolute time in the past: OK, and the key is gone.
			s("SET k v2 PXAT 1000 GET", `"v"`),
			s("GET k", "(nil)"),
			s("~PTTL k", ":-2"),
			s("SET k v EXAT 1", "+OK"),
			s("GET k", "(nil)"),
			bad("SET k v EX 0", "-ERR invalid expire time in 'set' command"),
			bad("SET k v EX -5", "-ERR invalid expire time in 'set' command"),
			bad("SET k v PX 0", "-ERR invalid expire time in 'set' command"),
			bad("SET k v EXAT 0", "-ERR invalid expire time in 'set' command"),
			bad("SET k v PXAT -1", "-ERR invalid expire time in 'set' command"),
			bad("SET k v EX 9223372036854776", "-ERR invalid expire time in 'set' command"),
			bad("SET k v PX 9223372036854775807", "-ERR invalid expire time in 'set' command"),
			bad("SET k v EX ten", strErrNotInt),
			bad("SET k v EX", strErrSyntax),
			bad("SET k v EX 10 PX 10", strErrSyntax),
			bad("SET k v EX abc FOO", strErrSyntax),
			s("GET k", "(nil)"),
		}},
		{"keepttl", []strStep{
			s("SET k v EX 100", "+OK"),
			adv(10 * time.Second),
			s("SET k v2 KEEPTTL", "+OK"),
			s("~PTTL k", ":90000"),
			s("GET k", `"v2"`),
			s("SET k v3 KEEPTTL GET", `"v2"`),
			s("~PTTL k", ":90000"),
			s("SET k v4", "+OK"),
			s("~PTTL k", ":-1"),
			s("SET fresh v KEEPTTL", "+OK"),
			s("~PTTL fresh", ":-1"),
			bad("SET k v KEEPTTL EX 10", strErrSyntax),
			bad("SET k v PX 10 KEEPTTL", strErrSyntax),
		}},
		{"setnx setex psetex", []strStep{
			s("SETNX k v", ":1"),
			s("SETNX k w", ":0"),
			s("GET k", `"v"`),
			s("SETEX k 10 w", "+OK"),
			s("GET k", `"w"`),
			s("~PTTL k", ":10000"),
			s("PSETEX k 1500 x", "+OK"),
			s("~PTTL k", ":1500"),
			adv(1500 * time.Millisecond),
			s("GET k", "(nil)"),
			s("SETNX k again", ":1"), // an expired key is missing
			s("~PTTL k", ":-1"),
			bad("SETEX k 0 v", "-ERR invalid expire time in 'setex' command"),
			bad("setEx k -1 v", "-ERR invalid expire time in 'setex' command"),
			bad("SETEX k ten v", strErrNotInt),
			bad("PSETEX k 0 v", "-ERR invalid expire time in 'psetex' command"),
			bad("PSETEX k 9223372036854775807 v", "-ERR invalid expire time in 'psetex' command"),
			bad("SETEX k 10", "-ERR wrong number of arguments for 'setex' command"),
			bad("SETNX k", "-ERR wrong number of arguments for 'setnx' command"),
			s("GET k", `"again"`),
		}},
		{"getset getdel", []strStep{
			s("GETSET k v", "(nil)"),
			s("GET k", `"v"`),
			s("SET k v2 EX 100", "+OK"),
			s("GETSET k v3", `"v2"`),
			s("~PTTL k", ":-1"), // GETSET clears the TTL
			s("GETDEL k", `"v3"`),
			s("GET k", "(nil)"),
			s("GETDEL k", "(nil)"),
			s("SET k v PX 10", "+OK"),
			adv(10 * time.Millisecond),
			s("GETDEL k", "(nil)"),
			s("GETSET k v", "(nil)"),
		}},
		{"getex", []strStep{
			s("GETEX missing", "(nil)"),
			s("GETEX missing EX 10", "(nil)"),
			s("~PTTL missing", ":-2"),
			s("SET k v", "+OK"),
			s("GETEX k", `"v"`),
			s("~PTTL k", ":-1"),
			s("GETEX k EX 10", `"v"`),
			s("~PTTL k", ":10000"),
			s("GETEX k", `"v"`),
			s("~PTTL k", ":10000"),
			s("GETEX k px 2500", `"v"`),
			s("~PTTL k", ":2500"),
			s(fmt.Sprintf("GETEX k EXAT %d", testT0/1000+50), `"v"`),
			s("~PTTL k", ":50000"),
			s(fmt.Sprintf("GETEX k PXAT %d", testT0+777), `"v"`),
			s("~PTTL k", ":777"),
			s("GETEX k PERSIST", `"v"`),
			s("~PTTL k", ":-1"),
			s("GETEX k PERSIST", `"v"`),
			// An absolute time in the past deletes the key.
			s("GETEX k PXAT 1", `"v"`),
			s("GET k", "(nil)"),
			s("~PTTL k", ":-2"),
			s("SET k v PX 100", "+OK"),
			adv(100 * time.Millisecond),
			s("GETEX k PERSIST", "(nil)"),
			s("SET k v", "+OK"),
			bad("GETEX k NX", strErrSyntax),
			bad("GETEX k KEEPTTL", strErrSyntax),
			bad("GETEX k EX 10 PERSIST", strErrSyntax),
			bad("GETEX k PERSIST PX 10", strErrSyntax),
			bad("GETEX k EX 10 PX 10", strErrSyntax),
			bad("GETEX k EX", strErrSyntax),
			bad("GETEX k EX 0", "-ERR invalid expire time in 'getex' command"),
			bad("GETEX k PX -1", "-ERR invalid expire time in 'getex' command"),
			bad("GETEX k EX x", strErrNotInt),
			s("~PTTL k", ":-1"),
		}},
		{"mset mget msetnx", []strStep{
			s("MSET a 1 b 2 c 3", "+OK"),
			s("MGET a b missing c", `["1" "2" (nil) "3"]`),
			s("MSET a x a y", "+OK"), // the last one wins
			s("GET a", `"y"`),
			s("SET a v EX 10", "+OK"),
			s("MSET a z", "+OK"),
			s("~PTTL a", ":-1"),
			s("MSETNX a 1 d 4", ":0"),
			s("MGET a d", `["z" (nil)]`),
			s("MSETNX d 4 e 5", ":1"),
			s("MGET d e", `["4" "5"]`),
			s("SET f v PX 5", "+OK"),
			adv(5 * time.Millisecond),
			s("MSETNX f 6 g 7", ":1"),
			s("MGET f g", `["6" "7"]`),
			bad("MSET a 1 b", "-ERR wrong number of arguments for 'mset' command"),
			bad("MSET a", "-ERR wrong number of arguments for 'mset' command"),
			bad("MSETNX a 1 b", "-ERR wrong number of arguments for 'msetnx' command"),
			bad("MGET", "-ERR wrong number of arguments for 'mget' command"),
			s("GET b", `"2"`),
		}},
		{"append strlen", []strStep{
			s("APPEND k Hello", ":5"),
			sa(":11", "APPEND", "k", " World"),
			s("GET k", `"Hello World"`),
			sa(":11", "APPEND", "j", "Hello World"),
			s("GET j", `"Hello World"`),
			s("STRLEN j", ":11"),
			s("STRLEN missing", ":0"),
			// APPEND creates the key even with an empty value.
			s(`APPEND empty ""`, ":0"),
			s("~PTTL empty", ":-1"),
			s("GET empty", `""`),
			s(`APPEND j ""`, ":11"),
			s("SET t v EX 10", "+OK"),
			s("APPEND t w", ":2"),
			s("~PTTL t", ":10000"), // APPEND keeps the TTL
			adv(10 * time.Second),
			s("APPEND t x", ":1"),
			s("~PTTL t", ":-1"),
			bad("APPEND k", "-ERR wrong number of arguments for 'append' command"),
			bad("STRLEN", "-ERR wrong number of arguments for 'strlen' command"),
		}},
		{"setrange", []strStep{
			sa("+OK", "SET", "k", "Hello World"),
			s("SETRANGE k 6 Redis", ":11"),
			s("GET k", `"Hello Redis"`),
			s("SETRANGE k 11 !!", ":13"),
			s("GET k", `"Hello Redis!!"`),
			s("SETRANGE p 5 x", ":6"),
			s("GET p", `"\x00\x00\x00\x00\x00x"`),
			s("SETRANGE p 0 abc", ":6"),
			s("GET p", `"abc\x00\x00x"`),
			// An empty value sets nothing: no key is created.
			s(`SETRANGE none 0 ""`, ":0"),
			s(`SETRANGE none 536870912 ""`, ":0"),
			s("~PTTL none", ":-2"),
			s(`SETRANGE k 100 ""`, ":13"),
			s("SET t ab EX 10", "+OK"),
			s("SETRANGE t 1 c", ":2"),
			s("~PTTL t", ":10000"), // SETRANGE keeps the TTL
			s("GET t", `"ac"`),
			bad("SETRANGE k -1 x", "-ERR offset is out of range"),
			bad("SETRANGE k 536870912 x", "-ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
			bad("SETRANGE k 536870910 xyz", "-ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
			bad("SETRANGE k x x", strErrNotInt),
			s("GET k", `"Hello Redis!!"`),
		}},
		{"getrange", []strStep{
			sa("+OK", "SET", "k", "This is a string"),
			s("GETRANGE k 0 3", `"This"`),
			s("GETRANGE k -3 -1", `"ing"`),
			s("GETRANGE k 0 -1", `"This is a string"`),
			s("GETRANGE k 10 100", `"string"`),
			s("GETRANGE k 5 3", `""`),
			s("GETRANGE k -1 -5", `""`),
			s("GETRANGE k 0 -100", `"T"`), // Redis 7: end clamps to 0
			s("GETRANGE k -100 2", `"Thi"`),
			s("GETRANGE k 16 20", `""`),
			s("GETRANGE k -9223372036854775808 9223372036854775807", `"This is a string"`),
			s("SUBSTR k 0 3", `"This"`),
			s("GETRANGE missing 0 -1", `""`),
			s(`SET e ""`, "+OK"),
			s("GETRANGE e 0 -1", `""`),
			s("GETRANGE e -1 0", `""`),
			bad("GETRANGE k a 1", strErrNotInt),
			bad("GETRANGE k 0 1.5", strErrNotInt),
			bad("SUBSTR k 0", "-ERR wrong number of arguments for 'substr' command"),
		}},
		{"incr decr", []strStep{
			s("INCR n", ":1"),
			s("INCR n", ":2"),
			s("DECR n", ":1"),
			s("INCRBY n 10", ":11"),
			s("INCRBY n -20", ":-9"),
			s("DECRBY n 3", ":-12"),
			s("DECRBY n -12", ":0"),
			s("GET n", `"0"`),
			s("DECR fresh", ":-1"),
			s("SET n 9223372036854775806", "+OK"),
			s("INCR n", ":9223372036854775807"),
			s("INCR n", strErrOverflow),
			s("INCRBY n -1", ":9223372036854775806"),
			s("SET m -9223372036854775807", "+OK"),
			s("DECR m", ":-9223372036854775808"),
			s("DECR m", strErrOverflow),
			s("DECRBY m 1", strErrOverflow),
			s("INCRBY m -9223372036854775808", strErrOverflow),
			s("INCRBY m 9223372036854775807", ":-1"),
			s("SET s abc", "+OK"),
			s("INCR s", strErrNotInt),
			sa("+OK", "SET", "s", " 1"),
			s("INCR s", strErrNotInt),
			s("SET s 010", "+OK"),
			s("INCR s", strErrNotInt),
			s("SET s 1.0", "+OK"),
			s("INCR s", strErrNotInt),
			s("SET s 99999999999999999999", "+OK"),
			s("INCR s", strErrNotInt),
			s("GET s", `"99999999999999999999"`),
			s("SET t 5 EX 10", "+OK"),
			s("INCR t", ":6"),
			s("~PTTL t", ":10000"), // INCR keeps the TTL
			bad("INCRBY n abc", strErrNotInt),
			bad("INCRBY n 9223372036854775808", strErrNotInt),
			bad("DECRBY n -9223372036854775808", "-ERR decrement would overflow"),
			bad("INCR", "-ERR wrong number of arguments for 'incr' command"),
		}},
		{"incrbyfloat", []strStep{
			s("SET f 10.50", "+OK"),
			s("INCRBYFLOAT f 0.1", `"10.6"`),
			s("INCRBYFLOAT f -5", `"5.6"`),
			s("GET f", `"5.6"`),
			s("SET g 5.0e3", "+OK"),
			s("INCRBYFLOAT g 2.0e2", `"5200"`),
			s("INCRBYFLOAT h 0.1", `"0.1"`),
			s("INCRBYFLOAT h 0.2", `"0.3"`), // long double, as Redis on x86-64
			s("SET i 3", "+OK"),
			s("INCRBYFLOAT i 1.5", `"4.5"`),
			s("INCRBYFLOAT i -4.5", `"0"`),
			s("INCRBYFLOAT j 0x10", `"16"`),
			s("INCRBYFLOAT j 1e20", `"100000000000000000016"`),
			s("SET t 1 PX 5000", "+OK"),
			s("INCRBYFLOAT t 1", `"2"`),
			s("~PTTL t", ":5000"), // INCRBYFLOAT keeps the TTL
			s("SET big 1e4932", "+OK"),
			s("INCRBYFLOAT big 1e4932", strErrNaN),
			s("SET s abc", "+OK"),
			s("INCRBYFLOAT s 1", strErrNotFloat),
			s("SET s inf", "+OK"),
			s("INCRBYFLOAT s 1", strErrNaN),
			sa("+OK", "SET", "s", " 1"),
			s("INCRBYFLOAT s 1", strErrNotFloat),
			bad("INCRBYFLOAT f abc", strErrNotFloat),
			bad("INCRBYFLOAT f nan", strErrNotFloat),
			bad("INCRBYFLOAT f 1e5000", strErrNotFloat),
			bad("INCRBYFLOAT f inf", strErrNaN),
			bad("INCRBYFLOAT f -inf", strErrNaN),
			s("GET f", `"5.6"`),
		}},
		{"lcs", []strStep{
			s("MSET key1 ohmytext key2 mynewtext", "+OK"),
			s("LCS key1 key2", `"mytext"`),
			s("LCS key1 key2 LEN", ":6"),
			s("LCS key1 key2 IDX", `{"matches": [[[:4 :7] [:5 :8]] [[:2 :3] [:0 :1]]], "len": :6}`),
			s("LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN", `{"matches": [[[:4 :7] [:5 :8] :4]], "len": :6}`),
			s("LCS key1 key2 IDX WITHMATCHLEN", `{"matches": [[[:4 :7] [:5 :8] :4] [[:2 :3] [:0 :1] :2]], "len": :6}`),
			s("LCS key1 key2 IDX MINMATCHLEN -1", `{"matches": [[[:4 :7] [:5 :8]] [[:2 :3] [:0 :1]]], "len": :6}`),
			s("LCS key1 missing", `""`),
			s("LCS key1 missing IDX", `{"matches": [], "len": :0}`),
			s("LCS missing missing LEN", ":0"),
			s("MSET a ABCBDAB b BDCABA", "+OK"),
			s("LCS a b", `"BDAB"`), // Redis's walk back prefers j-- on ties
			s("LCS a b LEN", ":4"),
			bad("LCS key1 key2 LEN IDX", "-ERR If you want both the length and indexes, please just use IDX."),
			bad("LCS key1 key2 FOO", strErrSyntax),
			bad("LCS key1 key2 MINMATCHLEN", strErrSyntax),
			bad("LCS key1 key2 MINMATCHLEN x", strErrNotInt),
			bad("LCS key1", "-ERR wrong number of arguments for 'lcs' command"),
		}},
		{"expired keys are missing everywhere", []strStep{
			s("MSET a 1 b 2 c 3 d 4 e 5 f 6 g 7 h 8 i 9 j 10 k 11 l 12 m 13 n 14", "+OK"),
			s("GETEX a PX 10", `"1"`), s("GETEX b PX 10", `"2"`), s("GETEX c PX 10", `"3"`),
			s("GETEX d PX 10", `"4"`), s("GETEX e PX 10", `"5"`), s("GETEX f PX 10", `"6"`),
			s("GETEX g PX 10", `"7"`), s("GETEX h PX 10", `"8"`), s("GETEX i PX 10", `"9"`),
			s("GETEX j PX 10", `"10"`), s("GETEX k PX 10", `"11"`), s("GETEX l PX 10", `"12"`),
			s("GETEX m PX 10", `"13"`), s("GETEX n PX 10", `"14"`),
			adv(10 * time.Millisecond),
			s("GET a", "(nil)"),
			s("MGET a b", "[(nil) (nil)]"),
			s("STRLEN a", ":0"),
			s("GETRANGE a 0 -1", `""`),
			s("LCS a b", `""`),
			s("APPEND a x", ":1"),
			s("~PTTL a", ":-1"),
			s("INCR b", ":1"),
			s("INCRBYFLOAT c 1.5", `"1.5"`),
			s("SETRANGE d 1 x", ":2"),
			s("GET d", `"\x00x"`),
			s("SET e v XX", "(nil)"),
			s("SET f v NX", "+OK"),
			s("GETSET g v", "(nil)"),
			s("GETDEL h", "(nil)"),
			s("GETEX i", "(nil)"),
			s("SETNX j v", ":1"),
			s("MSETNX k v", ":1"),
			s("SET l v GET", "(nil)"),
			s("SET m v KEEPTTL", "+OK"),
			s("~PTTL m", ":-1"),
			s("DECRBY n 2", ":-2"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &MemLog{}
			clk := newTestClock()
			e := openTestEngine(t, log, clk, -1)
			strRun(t, e, log, clk, tt.steps)
		})
	}
}

// TestStringWrongType puts a value of another type under a key (no other
// type has commands yet) and checks every string command against it.
func TestStringWrongType(t *testing.T) {
	s := strCmd
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	e.mu.Lock()
	e.img.dbs[0].set(newObject("x", testObject{}, 0))
	e.mu.Unlock()
	strRun(t, e, log, clk, []strStep{
		s("GET x", strErrWrongType),
		s("STRLEN x", strErrWrongType),
		s("GETRANGE x 0 1", strErrWrongType),
		s("MGET x", "[(nil)]"),
		s("LCS x x", "-ERR The specified keys must contain string values"),
		s("SET x v GET", strErrWrongType),
		s("GETSET x v", strErrWrongType),
		s("GETDEL x", strErrWrongType),
		s("GETEX x EX 10", strErrWrongType),
		s("APPEND x v", strErrWrongType),
		s("SETRANGE x 0 v", strErrWrongType),
		s(`SETRANGE x 0 ""`, strErrWrongType),
		s("INCR x", strErrWrongType),
		s("DECRBY x 2", strErrWrongType),
		s("INCRBYFLOAT x 2", strErrWrongType),
		s("SETNX x v", ":0"),
		s("MSETNX x v", ":0"),
		s("SET x v NX", "(nil)"),
		s("SET x v", "+OK"), // SET overwrites any type
		s("GET x", `"v"`),
	})
}

func TestStringKeyspaceStats(t *testing.T) {
	s := strCmd
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	strRun(t, e, log, clk, []strStep{
		s("SET a 1", "+OK"),
		s("GET a", `"1"`),
		s("GET b", "(nil)"),
		s("MGET a b c", `["1" (nil) (nil)]`),
	})
	if h, m := e.Stats().KeyspaceHits.Load(), e.Stats().KeyspaceMiss.Load(); h != 2 || m != 3 {
		t.Errorf("hits %d misses %d, want 2 and 3", h, m)
	}
}

// TestStringReplay runs a workload with relative TTLs and clock jumps, then
// replays the log into a second engine at a much later time: the images
// must be identical, item by item, expiry times included.
func TestStringReplay(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	exec := func(db int, cmd string) Reply {
		return e.Exec(db, toBytes(strings.Fields(cmd)))
	}
	for i := 0; i < 300; i++ {
		k := fmt.Sprintf("k%d", i%37)
		switch i % 11 {
		case 0:
			exec(0, fmt.Sprintf("SET %s v%d EX %d", k, i, 1+i%5))
		case 1:
			exec(0, "INCR "+k)
		case 2:
			exec(0, fmt.Sprintf("APPEND %s x%d", k, i))
		case 3:
			exec(0, fmt.Sprintf("SETEX %s %d s%d", k, 2+i%3, i))
		case 4:
			exec(0, fmt.Sprintf("INCRBYFLOAT f%d 0.1", i%5))
		case 5:
			exec(0, fmt.Sprintf("GETEX %s PX %d", k, 100*(1+i%7)))
		case 6:
			exec(0, fmt.Sprintf("MSET %s m%d z%d n%d", k, i, i%9, i))
		case 7:
			exec(0, fmt.Sprintf("SETRANGE %s %d abc", k, i%13))
		case 8:
			exec(0, fmt.Sprintf("SET %s v KEEPTTL GET", k))
		case 9:
			exec(0, "GETDEL "+k)
		case 10:
			exec(3, fmt.Sprintf("PSETEX %s %d db3", k, 500+i))
		}
		clk.advance(time.Duration(i%4) * 250 * time.Millisecond)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	want := strDump(e)
	if len(want) < 20 {
		t.Fatalf("workload left only %d keys", len(want))
	}

	later := newTestClock()
	later.advance(24 * time.Hour)
	r := openTestEngine(t, log, later, -1)
	if got := strDump(r); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("replayed image differs:\n got %q\nwant %q", got, want)
	}
	if r.AppliedIndex() != uint64(len(log.Entries())) {
		t.Errorf("applied %d of %d entries", r.AppliedIndex(), len(log.Entries()))
	}
	// The replayed engine reads with its own clock: the keys with a TTL
	// are gone a day later, the others are served.
	for _, line := range want {
		if strings.Contains(line, " expires ") {
			continue
		}
		var db int
		var key, val string
		var exp int64
		fmt.Sscanf(line, "%d %q %q %d", &db, &key, &val, &exp)
		got := render(r.Exec(db, [][]byte{[]byte("GET"), []byte(key)}))
		wantGet := strconv.Quote(val)
		if exp != 0 {
			wantGet = "(nil)"
		}
		if got != wantGet {
			t.Errorf("db %d GET %s = %s, want %s", db, key, got, wantGet)
		}
	}
}

// strDump lists every item of every database, expiry index included.
func strDump(e *Engine) []string {
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
