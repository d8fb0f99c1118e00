package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const hsErrArity = "-ERR wrong number of arguments for '%s' command"

func TestHashCommands(t *testing.T) {
	s, bad, sa, adv := strCmd, strBad, strArgs, strAdv
	tests := []struct {
		name  string
		steps []strStep
	}{
		{"hset hget hmget", []strStep{
			s("HGET h a", "(nil)"),
			s("HSET h a 1", ":1"),
			s("HSET h b 2 c 3 a 10", ":2"),
			s("HGET h a", `"10"`),
			s("HSET h a 1 a 2", ":0"), // the last value of a field given twice wins
			s("HGET h a", `"2"`),
			s("HMGET h a nope c", `["2" (nil) "3"]`),
			s("HMGET missing a b", "[(nil) (nil)]"),
			s("HMSET h d 4 e 5", "+OK"),
			s("HLEN h", ":5"),
			s(`HSET h "" ""`, ":1"),
			s(`HGET h ""`, `""`),
			sa(":1", "HSET", "h", "bin\x00f", "v\r\n\x00"),
			sa(`"v\r\n\x00"`, "HGET", "h", "bin\x00f"),
			s("TYPE h", "+hash"),
			bad("HSET h a", fmt.Sprintf(hsErrArity, "hset")),
			bad("HSET h a 1 b", fmt.Sprintf(hsErrArity, "hset")),
			bad("HMSET h a 1 b", fmt.Sprintf(hsErrArity, "hmset")),
			bad("HMSET h", fmt.Sprintf(hsErrArity, "hmset")),
			bad("HGET h", fmt.Sprintf(hsErrArity, "hget")),
			bad("HMGET h", fmt.Sprintf(hsErrArity, "hmget")),
		}},
		{"hsetnx hexists hstrlen", []strStep{
			s("HSETNX h a 1", ":1"),
			s("HSETNX h a 2", ":0"),
			s("HGET h a", `"1"`),
			s("HEXISTS h a", ":1"),
			s("HEXISTS h b", ":0"),
			s("HEXISTS missing a", ":0"),
			s("HSET h long hello", ":1"),
			s("HSTRLEN h long", ":5"),
			s("HSTRLEN h nope", ":0"),
			s("HSTRLEN missing a", ":0"),
			bad("HSETNX h a", fmt.Sprintf(hsErrArity, "hsetnx")),
		}},
		{"hdel removes empty hashes", []strStep{
			s("HSET h a 1 b 2 c 3", ":3"),
			s("HDEL h a nope a", ":1"),
			s("HDEL missing a", ":0"),
			s("HLEN h", ":2"),
			s("HDEL h b c", ":2"),
			s("EXISTS h", ":0"),
			s("HLEN h", ":0"),
			s("HGETALL h", "{}"),
			bad("HDEL h", fmt.Sprintf(hsErrArity, "hdel")),
		}},
		{"hkeys hvals hgetall in field order", []strStep{
			s("HSET h zeta 1 alpha 2 mid 3", ":3"),
			s("HKEYS h", `["alpha" "mid" "zeta"]`),
			s("HVALS h", `["2" "3" "1"]`),
			s("HGETALL h", `{"alpha": "2", "mid": "3", "zeta": "1"}`),
			s("HKEYS missing", "[]"),
			s("HVALS missing", "[]"),
			s("HGETALL missing", "{}"),
			bad("HKEYS h x", fmt.Sprintf(hsErrArity, "hkeys")),
		}},
		{"hincrby", []strStep{
			s("HINCRBY h n 5", ":5"),
			s("HINCRBY h n -7", ":-2"),
			s("HGET h n", `"-2"`),
			s("HSET h s abc big 9223372036854775806 small -9223372036854775807 lead 01", ":4"),
			s("HINCRBY h s 1", "-ERR hash value is not an integer"),
			s("HINCRBY h lead 1", "-ERR hash value is not an integer"),
			s("HINCRBY h big 1", ":9223372036854775807"),
			s("HINCRBY h big 1", strErrOverflow),
			s("HINCRBY h small -1", ":-9223372036854775808"),
			s("HINCRBY h small -1", strErrOverflow),
			s("HINCRBY h big -9223372036854775808", ":-1"),
			bad("HINCRBY h n x", strErrNotInt),
			bad("HINCRBY h n 1.5", strErrNotInt),
			bad("HINCRBY h n 99999999999999999999", strErrNotInt),
			bad("HINCRBY h n", fmt.Sprintf(hsErrArity, "hincrby")),
			s("HGET h n", `"-2"`),
		}},
		{"hincrbyfloat", []strStep{
			s("HINCRBYFLOAT h f 10.5", `"10.5"`),
			s("HINCRBYFLOAT h f 0.1", `"10.6"`),
			s("HINCRBYFLOAT h f -5.0e3", `"-4989.39999999999999991"`),
			s("HSET h i 3 s abc inf inf", ":3"),
			sa(":1", "HSET", "h", "sp", " 1"),
			sa("-ERR hash value is not a float", "HINCRBYFLOAT", "h", "sp", "1"),
			s("HINCRBYFLOAT h i 0.1", `"3.1"`),
			s("HINCRBYFLOAT h g 0.1", `"0.1"`),
			s("HINCRBYFLOAT h g 0.2", `"0.3"`),
			s("HINCRBYFLOAT h s 1", "-ERR hash value is not a float"),
			s("HINCRBYFLOAT h inf 1", strErrNaN),
			s("HSET h max 1.18973149535723176502e+4932", ":1"),
			s("HINCRBYFLOAT h max 1.18973149535723176502e+4932", strErrNaN),
			s("HINCRBYFLOAT h z 1e2", `"100"`),
			s("HINCRBYFLOAT h neg -0", `"0"`),
			bad("HINCRBYFLOAT h f x", strErrNotFloat),
			bad("HINCRBYFLOAT h f inf", "-ERR value is NaN or Infinity"),
			bad("HINCRBYFLOAT h f -inf", "-ERR value is NaN or Infinity"),
			bad("HINCRBYFLOAT h f nan", strErrNotFloat),
			bad(`HINCRBYFLOAT h f ""`, strErrNotFloat),
			s("HGET h f", `"-4989.39999999999999991"`),
		}},
		{"hrandfield", []strStep{
			s("HRANDFIELD missing", "(nil)"),
			s("HRANDFIELD missing 3", "[]"),
			s("HRANDFIELD missing -3 WITHVALUES", "[]"),
			s("HSET h a 1", ":1"),
			s("HRANDFIELD h", `"a"`),
			s("HRANDFIELD h 0", "[]"),
			s("HRANDFIELD h 1", `["a"]`),
			s("HRANDFIELD h -3", `["a" "a" "a"]`),
			s("HRANDFIELD h -2 withvalues", `["a" "1" "a" "1"]`),
			s("HSET h b 2 c 3", ":2"),
			s("HRANDFIELD h 3", `["a" "b" "c"]`),
			s("HRANDFIELD h 10 WITHVALUES", `["a" "1" "b" "2" "c" "3"]`),
			bad("HRANDFIELD h x", strErrNotInt),
			bad("HRANDFIELD h 1 WITHVALUE", strErrSyntax),
			bad("HRANDFIELD h 1 WITHVALUES x", strErrSyntax),
			bad("HRANDFIELD h x WITHVALUES x", strErrNotInt),
			bad("HRANDFIELD h -9223372036854775808",
				"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
			bad("HRANDFIELD h -1048577",
				"-ERR value is out of range, value must between -1048576 and 9223372036854775807"),
			bad("HRANDFIELD h 4611686018427387904 WITHVALUES", "-ERR value is out of range"),
		}},
		{"hscan small", []strStep{
			s("HSCAN missing 0", `["0" []]`),
			s("HSET h b 2 a 1 c 3", ":3"),
			s("HSCAN h 0", `["0" ["a" "1" "b" "2" "c" "3"]]`),
			s("HSCAN h 0 COUNT 1", `["0" ["a" "1" "b" "2" "c" "3"]]`),
			s("HSCAN h 0 MATCH [ab] NOVALUES", `["0" ["a" "b"]]`),
			s("HSCAN h 0 match * novalues count 2", `["0" ["a" "b" "c"]]`),
			bad("HSCAN h x", "-ERR invalid cursor"),
			bad("HSCAN h -1", "-ERR invalid cursor"),
			bad("HSCAN h 0 COUNT 0", strErrSyntax),
			bad("HSCAN h 0 COUNT x", strErrNotInt),
			bad("HSCAN h 0 MATCH", strErrSyntax),
			bad("HSCAN h 0 TYPE hash", strErrSyntax),
			s("HSCAN h 12345", "-ERR invalid cursor"),
			bad("HSCAN h", fmt.Sprintf(hsErrArity, "hscan")),
		}},
		{"ttl is kept, expired hashes are gone", []strStep{
			s("HSET h a 1", ":1"),
			s("PEXPIRE h 1000", ":1"),
			s("HSET h b 2", ":1"),
			s("HDEL h a", ":1"),
			s("HINCRBY h n 1", ":1"),
			s("~PTTL h", ":1000"),
			adv(time.Second),
			s("HGET h b", "(nil)"),
			s("HLEN h", ":0"),
			s("HSET h c 3", ":1"),
			s("~PTTL h", ":-1"),
			s("HGETALL h", `{"c": "3"}`),
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

func TestHashWrongType(t *testing.T) {
	s := strCmd
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	strRun(t, e, log, clk, []strStep{
		s("SET x v", "+OK"),
		s("HSET x a 1", strErrWrongType),
		s("HMSET x a 1", strErrWrongType),
		s("HSETNX x a 1", strErrWrongType),
		s("HGET x a", strErrWrongType),
		s("HMGET x a", strErrWrongType),
		s("HDEL x a", strErrWrongType),
		s("HEXISTS x a", strErrWrongType),
		s("HLEN x", strErrWrongType),
		s("HSTRLEN x a", strErrWrongType),
		s("HKEYS x", strErrWrongType),
		s("HVALS x", strErrWrongType),
		s("HGETALL x", strErrWrongType),
		s("HINCRBY x a 1", strErrWrongType),
		s("HINCRBYFLOAT x a 1", strErrWrongType),
		s("HRANDFIELD x", strErrWrongType),
		s("HRANDFIELD x 2", strErrWrongType),
		s("HSCAN x 0", strErrWrongType),
		s("GET x", `"v"`),
		s("HSET h a 1", ":1"),
		s("GET h", strErrWrongType),
		s("SADD h m", strErrWrongType),
		s("SET h v", "+OK"), // SET overwrites any type
		s("GET h", `"v"`),
	})
}

// hsExec runs one command given as words.
func hsExec(e *Engine, db int, cmd string) Reply {
	return e.Exec(db, toBytes(strings.Fields(cmd)))
}

// TestHashLarge grows a hash past the packed form, checks every command on
// the tree form and shrinks it back.
func TestHashLarge(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	const n = 1000
	want := map[string]string{}
	for i := 0; i < n; i += 10 {
		args := []string{"HSET", "h"}
		for j := i; j < i+10; j++ {
			f, v := fmt.Sprintf("f%04d", j), strconv.Itoa(j)
			args = append(args, f, v)
			want[f] = v
		}
		if got := render(e.Exec(0, toBytes(args))); got != ":10" {
			t.Fatalf("HSET: %s", got)
		}
	}
	if got := render(hsExec(e, 0, "HLEN h")); got != ":1000" {
		t.Fatalf("HLEN %s", got)
	}
	e.mu.RLock()
	it, _ := e.img.dbs[0].lookup([]byte("h"), 0)
	if it.object().(*hashObj).tree == nil {
		t.Error("a hash of 1000 fields is packed")
	}
	e.mu.RUnlock()
	keys := hsExec(e, 0, "HKEYS h").Elems
	if len(keys) != n {
		t.Fatalf("HKEYS: %d", len(keys))
	}
	for i, k := range keys {
		if k.Str != fmt.Sprintf("f%04d", i) {
			t.Fatalf("HKEYS[%d] = %q", i, k.Str)
		}
	}
	if got := render(hsExec(e, 0, "HINCRBY h f0500 5")); got != ":505" {
		t.Errorf("HINCRBY: %s", got)
	}
	want["f0500"] = "505"
	// HSCAN with COUNT 7 returns every field once, in order.
	var fields []string
	cursor, calls := "0", 0
	for {
		r := hsExec(e, 0, "HSCAN h "+cursor+" COUNT 7")
		if r.IsError() {
			t.Fatalf("HSCAN: %s", render(r))
		}
		calls++
		for i := 0; i < len(r.Elems[1].Elems); i += 2 {
			f, v := r.Elems[1].Elems[i].Str, r.Elems[1].Elems[i+1].Str
			if want[f] != v {
				t.Errorf("HSCAN %s = %q, want %q", f, v, want[f])
			}
			fields = append(fields, f)
		}
		if cursor = r.Elems[0].Str; cursor == "0" {
			break
		}
	}
	if len(fields) != n || !slices.IsSorted(fields) || calls != (n+6)/7 {
		t.Errorf("HSCAN: %d fields in %d calls", len(fields), calls)
	}
	// A cursor of another key or command is refused.
	r := hsExec(e, 0, "HSCAN h 0 COUNT 3")
	if got := render(hsExec(e, 0, "HSCAN other 0")); got != `["0" []]` {
		t.Errorf("HSCAN missing: %s", got)
	}
	hsExec(e, 0, "HSET other a 1")
	if got := render(hsExec(e, 0, "HSCAN other "+r.Elems[0].Str)); got != "-ERR invalid cursor" {
		t.Errorf("HSCAN with another key's cursor: %s", got)
	}
	if got := render(hsExec(e, 0, "SSCAN h "+r.Elems[0].Str)); got != strErrWrongType {
		t.Errorf("SSCAN of a hash: %s", got)
	}
	if got := render(hsExec(e, 0, "SCAN "+r.Elems[0].Str)); strings.HasPrefix(got, "-") {
		t.Errorf("SCAN with an HSCAN cursor: %s", got)
	}
	// HRANDFIELD: distinct fields with a positive count, all in range.
	for _, cnt := range []int{5, 400, 999} {
		r := hsExec(e, 0, fmt.Sprintf("HRANDFIELD h %d WITHVALUES", cnt))
		if len(r.Elems) != 2*cnt || r.Int != ReplyPairs {
			t.Fatalf("HRANDFIELD %d: %d elements, not marked as pairs", cnt, len(r.Elems))
		}
		seen := map[string]bool{}
		for i := 0; i < len(r.Elems); i += 2 {
			f, v := r.Elems[i].Str, r.Elems[i+1].Str
			if seen[f] || want[f] != v {
				t.Fatalf("HRANDFIELD %d: %q=%q (seen %v)", cnt, f, v, seen[f])
			}
			seen[f] = true
		}
	}
	if r := hsExec(e, 0, "HRANDFIELD h -2000"); len(r.Elems) != 2000 {
		t.Errorf("HRANDFIELD -2000: %d", len(r.Elems))
	}
	// Shrink back to the packed form.
	for i := 0; i < n-3; i++ {
		if got := render(hsExec(e, 0, fmt.Sprintf("HDEL h f%04d", i))); got != ":1" {
			t.Fatalf("HDEL: %s", got)
		}
	}
	if got := render(hsExec(e, 0, "HGETALL h")); got != `{"f0997": "997", "f0998": "998", "f0999": "999"}` {
		t.Errorf("HGETALL: %s", got)
	}
	e.mu.RLock()
	it, _ = e.img.dbs[0].lookup([]byte("h"), 0)
	if it.object().(*hashObj).tree != nil {
		t.Error("a hash of 3 fields is not packed")
	}
	e.mu.RUnlock()
}

// TestHashBigValues: values too big for the packed form make a tree even
// for few fields.
func TestHashBigValues(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	big := strings.Repeat("x", 5000)
	e.Exec(0, toBytes([]string{"HSET", "h", "a", big, "b", "1"}))
	e.mu.RLock()
	it, _ := e.img.dbs[0].lookup([]byte("h"), 0)
	isTree := it.object().(*hashObj).tree != nil
	e.mu.RUnlock()
	if !isTree {
		t.Error("a hash of 5 KB is packed")
	}
	if got := render(hsExec(e, 0, "HSTRLEN h a")); got != ":5000" {
		t.Errorf("HSTRLEN: %s", got)
	}
	hsExec(e, 0, "HSET h a small")
	e.mu.RLock()
	it, _ = e.img.dbs[0].lookup([]byte("h"), 0)
	isTree = it.object().(*hashObj).tree != nil
	e.mu.RUnlock()
	if isTree {
		t.Error("a small hash is not packed")
	}
}

func TestHashEncoding(t *testing.T) {
	for _, n := range []int{1, 3, 64, 65, 500} {
		e := &hashEdit{}
		for i := 0; i < n; i++ {
			e.put(hashEntry{fmt.Sprintf("f%d", i), strings.Repeat("v", i%7)})
		}
		c, _ := e.done()
		h := &hashObj{c}
		b := h.Encode(nil)
		obj, err := decodeObject(TypeHash, b)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		h2 := obj.(*hashObj)
		if h2.Len() != n || h2.size != h.size || (h2.tree == nil) != (h.tree == nil) {
			t.Fatalf("n=%d: decoded %d fields, size %d/%d", n, h2.Len(), h2.size, h.size)
		}
		if b2 := h2.Encode([]byte{}); string(b2) != string(b) {
			t.Fatalf("n=%d: re-encoding differs", n)
		}
		if !slices.Equal(h.items(), h2.items()) {
			t.Fatalf("n=%d: items differ", n)
		}
	}
	for _, b := range []string{"", "\x01", "\x02\x01\x01a\x00", "\x01\x00", "\x01\x01\x01a",
		"\x01\x01\x01a\x01bX", "\x01\x02\x01a\x00\x01a\x00", "\x01\x02\x01b\x00\x01a\x00",
		"\x01\x01\x81\x00a\x00", "\x01\x02\x01a\x00"} {
		if _, err := decodeObject(TypeHash, []byte(b)); err == nil {
			t.Errorf("decoded corrupt %q", b)
		}
	}
}

func FuzzDecodeHash(f *testing.F) {
	f.Add([]byte("\x01\x01\x01a\x01b"))
	f.Add([]byte("\x01\x02\x01a\x00\x01b\x03xyz"))
	e := &hashEdit{}
	for i := 0; i < 70; i++ {
		e.put(hashEntry{fmt.Sprintf("f%03d", i), "v"})
	}
	c, _ := e.done()
	f.Add((&hashObj{c}).Encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		obj, err := decodeObject(TypeHash, b)
		if err != nil {
			return
		}
		h := obj.(*hashObj)
		if got := h.Encode(nil); string(got) != string(b) {
			t.Fatalf("round trip: %q -> %q", b, got)
		}
		if h.Len() != len(h.items()) {
			t.Fatalf("Len %d, %d items", h.Len(), len(h.items()))
		}
	})
}
