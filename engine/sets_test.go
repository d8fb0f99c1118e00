package engine

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSetCommands(t *testing.T) {
	s, bad, sa, adv := strCmd, strBad, strArgs, strAdv
	tests := []struct {
		name  string
		steps []strStep
	}{
		{"sadd srem sismember", []strStep{
			s("SADD s a b c a", ":3"),
			s("SADD s c d", ":1"),
			s("SCARD s", ":4"),
			s("SISMEMBER s a", ":1"),
			s("SISMEMBER s z", ":0"),
			s("SISMEMBER missing a", ":0"),
			s("SMISMEMBER s a z d", "[:1 :0 :1]"),
			s("SMISMEMBER missing a b", "[:0 :0]"),
			s("SREM s a z a", ":1"),
			s("SREM missing a", ":0"),
			s("SCARD missing", ":0"),
			s("SREM s b c d", ":3"),
			s("EXISTS s", ":0"),
			s(`SADD s ""`, ":1"),
			s(`SISMEMBER s ""`, ":1"),
			sa(":1", "SADD", "s", "bin\x00\r\n"),
			sa(":1", "SISMEMBER", "s", "bin\x00\r\n"),
			s("TYPE s", "+set"),
			bad("SADD s", fmt.Sprintf(hsErrArity, "sadd")),
			bad("SREM s", fmt.Sprintf(hsErrArity, "srem")),
			bad("SISMEMBER s", fmt.Sprintf(hsErrArity, "sismember")),
			bad("SMISMEMBER s", fmt.Sprintf(hsErrArity, "smismember")),
		}},
		{"smembers order: integers first, by value", []strStep{
			s("SADD s 10 9 -3 b a 007 +5 -0 0 9223372036854775807 -9223372036854775808 99999999999999999999", ":12"),
			s("SMEMBERS s", `["-9223372036854775808" "-3" "0" "9" "10" "9223372036854775807" `+
				`"+5" "-0" "007" "99999999999999999999" "a" "b"]`),
			s("SMEMBERS missing", "[]"),
			s("SADD ints 3 1 2 100 20", ":5"),
			s("SMEMBERS ints", `["1" "2" "3" "20" "100"]`),
		}},
		{"spop", []strStep{
			s("SPOP missing", "(nil)"),
			s("SPOP missing 2", "[]"),
			s("SADD s a", ":1"),
			s("SPOP s 0", "[]"),
			s("SPOP s", `"a"`),
			s("EXISTS s", ":0"),
			s("SADD s 3 1 2", ":3"),
			s("SPOP s 5", `["1" "2" "3"]`),
			s("EXISTS s", ":0"),
			s("SADD s 3 1 2", ":3"),
			s("SPOP s 3", `["1" "2" "3"]`),
			s("EXISTS s", ":0"),
			bad("SPOP s -1", "-ERR value is out of range, must be positive"),
			bad("SPOP s x", "-ERR value is out of range, must be positive"),
			bad("SPOP s 1 2", strErrSyntax),
		}},
		{"srandmember", []strStep{
			s("SRANDMEMBER missing", "(nil)"),
			s("SRANDMEMBER missing 5", "[]"),
			s("SRANDMEMBER missing -5", "[]"),
			s("SADD s x", ":1"),
			s("SRANDMEMBER s", `"x"`),
			s("SRANDMEMBER s 0", "[]"),
			s("SRANDMEMBER s -3", `["x" "x" "x"]`),
			s("SADD s 2 1", ":2"),
			s("SRANDMEMBER s 3", `["1" "2" "x"]`),
			s("SRANDMEMBER s 100", `["1" "2" "x"]`),
			bad("SRANDMEMBER s x", strErrNotInt),
			bad("SRANDMEMBER s 1 2", strErrSyntax),
			bad("SRANDMEMBER s -9223372036854775808",
				"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
			bad("SRANDMEMBER s -1048577",
				"-ERR value is out of range, value must between -1048576 and 9223372036854775807"),
		}},
		{"smove", []strStep{
			s("SMOVE missing dst a", ":0"),
			s("SET str v", "+OK"),
			s("SMOVE missing str a", ":0"), // a missing source wins over a wrong destination
			s("SADD src a b", ":2"),
			s("SMOVE src str a", strErrWrongType),
			s("SMOVE str src a", strErrWrongType),
			s("SMOVE src dst z", ":0"),
			s("EXISTS dst", ":0"),
			s("SMOVE src src a", ":1"),
			s("SMOVE src src z", ":0"),
			s("SMOVE src dst a", ":1"),
			s("SMEMBERS src", `["b"]`),
			s("SMEMBERS dst", `["a"]`),
			s("SADD dst b", ":1"),
			s("SMOVE src dst b", ":1"),
			s("EXISTS src", ":0"),
			s("SMEMBERS dst", `["a" "b"]`),
			bad("SMOVE a b", fmt.Sprintf(hsErrArity, "smove")),
		}},
		{"sinter sunion sdiff", []strStep{
			s("SADD a 1 2 3 4 x y", ":6"),
			s("SADD b 2 3 5 y z", ":5"),
			s("SADD c 3 y 9", ":3"),
			s("SINTER a b", `["2" "3" "y"]`),
			s("SINTER a b c", `["3" "y"]`),
			s("SINTER a", `["1" "2" "3" "4" "x" "y"]`),
			s("SINTER a a", `["1" "2" "3" "4" "x" "y"]`),
			s("SINTER a missing", "[]"),
			s("SINTERCARD 2 a b", ":3"),
			s("SINTERCARD 2 a b LIMIT 2", ":2"),
			s("SINTERCARD 2 a b LIMIT 0", ":3"),
			s("SINTERCARD 2 a b limit 10 LIMIT 1", ":1"),
			s("SINTERCARD 1 a", ":6"),
			s("SINTERCARD 2 a missing", ":0"),
			s("SUNION a b c", `["1" "2" "3" "4" "5" "9" "x" "y" "z"]`),
			s("SUNION missing", "[]"),
			s("SUNION missing a", `["1" "2" "3" "4" "x" "y"]`),
			s("SDIFF a b", `["1" "4" "x"]`),
			s("SDIFF a b c", `["1" "4" "x"]`),
			s("SDIFF a missing", `["1" "2" "3" "4" "x" "y"]`),
			s("SDIFF a a", "[]"),
			s("SDIFF missing a", "[]"),
			s("SET str v", "+OK"),
			s("SINTER a str", strErrWrongType),
			s("SINTER missing str", strErrWrongType),
			s("SINTERCARD 2 a str", strErrWrongType),
			s("SUNION a str", strErrWrongType),
			s("SDIFF a str", strErrWrongType),
			s("SDIFF missing str", strErrWrongType),
			bad("SINTERCARD 0 a", "-ERR numkeys should be greater than 0"),
			bad("SINTERCARD -1 a", "-ERR numkeys should be greater than 0"),
			bad("SINTERCARD x a", "-ERR numkeys should be greater than 0"),
			bad("SINTERCARD 3 a b", "-ERR Number of keys can't be greater than number of args"),
			bad("SINTERCARD 1 a LIMIT -1", "-ERR LIMIT can't be negative"),
			bad("SINTERCARD 1 a LIMIT x", "-ERR LIMIT can't be negative"),
			bad("SINTERCARD 1 a LIMIT", strErrSyntax),
			bad("SINTERCARD 1 a b", strErrSyntax),
			bad("SINTERCARD 1", fmt.Sprintf(hsErrArity, "sintercard")),
			bad("SINTER", fmt.Sprintf(hsErrArity, "sinter")),
		}},
		{"store variants", []strStep{
			s("SADD a 1 2 3 x", ":4"),
			s("SADD b 2 3 4 y", ":4"),
			s("SET dst v EX 100", "+OK"),
			s("SINTERSTORE dst a b", ":2"),
			s("TYPE dst", "+set"),
			s("~PTTL dst", ":-1"),
			s("SMEMBERS dst", `["2" "3"]`),
			s("SUNIONSTORE dst a b", ":6"),
			s("SMEMBERS dst", `["1" "2" "3" "4" "x" "y"]`),
			s("SDIFFSTORE dst a b", ":2"),
			s("SMEMBERS dst", `["1" "x"]`),
			s("SDIFFSTORE dst dst a", ":0"),
			s("EXISTS dst", ":0"),
			s("SUNIONSTORE dst a", ":4"),
			s("SINTERSTORE dst a missing", ":0"),
			s("EXISTS dst", ":0"),
			s("SUNIONSTORE dst missing", ":0"),
			s("SUNIONSTORE a a b", ":6"),
			s("SCARD a", ":6"),
			s("SET str v", "+OK"),
			s("SINTERSTORE dst a str", strErrWrongType),
			s("SUNIONSTORE dst a str", strErrWrongType),
			s("SDIFFSTORE dst a str", strErrWrongType),
			s("SUNIONSTORE str a", ":6"), // the destination's type does not matter
			s("TYPE str", "+set"),
			bad("SINTERSTORE dst", fmt.Sprintf(hsErrArity, "sinterstore")),
		}},
		{"sscan small", []strStep{
			s("SSCAN missing 0", `["0" []]`),
			s("SADD s b 10 a 9", ":4"),
			s("SSCAN s 0", `["0" ["9" "10" "a" "b"]]`),
			s("SSCAN s 0 COUNT 1 MATCH ?", `["0" ["9" "a" "b"]]`),
			bad("SSCAN s x", "-ERR invalid cursor"),
			bad("SSCAN s 0 NOVALUES", strErrSyntax),
			bad("SSCAN s 0 COUNT 0", strErrSyntax),
			bad("SSCAN s 0 COUNT", strErrSyntax),
		}},
		{"ttl is kept by edits", []strStep{
			s("SADD s a b", ":2"),
			s("PEXPIRE s 500", ":1"),
			s("SADD s c", ":1"),
			s("SREM s a", ":1"),
			s("SPOP s 0", "[]"),
			s("~PTTL s", ":500"),
			s("SADD d x", ":1"),
			s("SMOVE s d b", ":1"),
			s("~PTTL s", ":500"),
			s("~PTTL d", ":-1"),
			s("SMOVE s d c", ":1"),
			s("EXISTS s", ":0"),
			s("SADD s a", ":1"),
			s("PEXPIRE s 500", ":1"),
			adv(500 * time.Millisecond),
			s("SISMEMBER s a", ":0"),
			s("SMOVE s d a", ":0"),
			s("SCARD s", ":0"),
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

func TestSetWrongType(t *testing.T) {
	s := strCmd
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	strRun(t, e, log, clk, []strStep{
		s("HSET x a 1", ":1"),
		s("SADD x a", strErrWrongType),
		s("SREM x a", strErrWrongType),
		s("SISMEMBER x a", strErrWrongType),
		s("SMISMEMBER x a", strErrWrongType),
		s("SMEMBERS x", strErrWrongType),
		s("SCARD x", strErrWrongType),
		s("SPOP x", strErrWrongType),
		s("SPOP x 1", strErrWrongType),
		s("SRANDMEMBER x", strErrWrongType),
		s("SRANDMEMBER x 1", strErrWrongType),
		s("SSCAN x 0", strErrWrongType),
		s("HGET x a", `"1"`),
	})
}

// TestSetLarge grows sets past the packed form and checks the commands on
// trees, against a model.
func TestSetLarge(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	add := func(key string, members []string) {
		for i := 0; i < len(members); i += 100 {
			args := append([]string{"SADD", key}, members[i:min(i+100, len(members))]...)
			if r := e.Exec(0, toBytes(args)); r.IsError() {
				t.Fatal(render(r))
			}
		}
	}
	var a, b []string
	for i := 0; i < 3000; i++ {
		a = append(a, strconv.Itoa(i))
		if i%3 == 0 {
			b = append(b, strconv.Itoa(i))
		}
		if i%5 == 0 {
			b = append(b, fmt.Sprintf("m%d", i))
		}
	}
	add("a", a)
	add("b", b)
	if got := render(hsExec(e, 0, "SCARD b")); got != fmt.Sprintf(":%d", len(b)) {
		t.Fatalf("SCARD b %s", got)
	}
	strs := func(r Reply) []string {
		out := make([]string, len(r.Elems))
		for i, x := range r.Elems {
			out[i] = x.Str
		}
		return out
	}
	wantB := slices.Clone(b)
	sort.Slice(wantB, func(i, j int) bool { return setCompare(wantB[i], wantB[j]) < 0 })
	if got := strs(hsExec(e, 0, "SMEMBERS b")); !slices.Equal(got, wantB) {
		t.Fatalf("SMEMBERS b: %d members, out of order", len(got))
	}
	if got := render(hsExec(e, 0, "SINTERCARD 2 a b")); got != ":1000" {
		t.Errorf("SINTERCARD: %s", got)
	}
	if got := render(hsExec(e, 0, "SINTERCARD 2 a b LIMIT 7")); got != ":7" {
		t.Errorf("SINTERCARD LIMIT: %s", got)
	}
	if got := len(hsExec(e, 0, "SUNION a b").Elems); got != 3000+600 {
		t.Errorf("SUNION: %d", got)
	}
	if got := render(hsExec(e, 0, "SDIFFSTORE d a b")); got != ":2000" {
		t.Errorf("SDIFFSTORE: %s", got)
	}
	// SSCAN with a small COUNT visits every member once, in order.
	var seen []string
	cursor := "0"
	for {
		r := hsExec(e, 0, "SSCAN b "+cursor+" COUNT 13")
		if r.IsError() {
			t.Fatal(render(r))
		}
		seen = append(seen, strs(r.Elems[1])...)
		if cursor = r.Elems[0].Str; cursor == "0" {
			break
		}
	}
	if !slices.Equal(seen, wantB) {
		t.Errorf("SSCAN: %d members", len(seen))
	}
	// SRANDMEMBER with a positive count gives distinct members.
	for _, n := range []int{10, 900, 2999} {
		got := strs(hsExec(e, 0, fmt.Sprintf("SRANDMEMBER a %d", n)))
		slices.SortFunc(got, setCompare)
		if len(got) != n || len(slices.Compact(got)) != n {
			t.Errorf("SRANDMEMBER %d: %d members, duplicates", n, len(got))
		}
	}
	// SPOP until empty gives every member once.
	var popped []string
	for {
		r := hsExec(e, 0, "SPOP b 77")
		if len(r.Elems) == 0 {
			break
		}
		popped = append(popped, strs(r)...)
	}
	slices.SortFunc(popped, setCompare)
	if !slices.Equal(popped, wantB) {
		t.Errorf("SPOP: %d members popped of %d", len(popped), len(wantB))
	}
	if got := render(hsExec(e, 0, "EXISTS b")); got != ":0" {
		t.Errorf("EXISTS b after SPOP: %s", got)
	}
}

func TestSetEncoding(t *testing.T) {
	for _, n := range []int{1, 2, 64, 65, 1000} {
		e := &setEdit{}
		for i := 0; i < n; i++ {
			e.insert(strconv.Itoa(i * 7 % 1009))
			e.insert(fmt.Sprintf("s%d", i))
		}
		c, _ := e.done()
		s := &setObj{c}
		b := s.Encode(nil)
		obj, err := decodeObject(TypeSet, b)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		s2 := obj.(*setObj)
		if s2.Len() != 2*n || (s2.tree == nil) != (s.tree == nil) {
			t.Fatalf("n=%d: decoded %d members", n, s2.Len())
		}
		if string(s2.Encode(nil)) != string(b) || !slices.Equal(s.items(), s2.items()) {
			t.Fatalf("n=%d: round trip differs", n)
		}
	}
	// Out of the set order: "10" before "9" is bytes order, not the set's.
	for _, b := range []string{"\x01\x02\x0210\x019", "\x01\x02\x01a\x01a", "\x01\x01", "\x01\x01\x01ab"} {
		if _, err := decodeObject(TypeSet, []byte(b)); err == nil {
			t.Errorf("decoded corrupt %q", b)
		}
	}
}

func FuzzDecodeSet(f *testing.F) {
	f.Add([]byte("\x01\x02\x019\x0210"))
	f.Add([]byte("\x01\x02\x01a\x01b"))
	e := &setEdit{}
	for i := 0; i < 70; i++ {
		e.insert(strconv.Itoa(i - 35))
	}
	c, _ := e.done()
	f.Add((&setObj{c}).Encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		obj, err := decodeObject(TypeSet, b)
		if err != nil {
			return
		}
		s := obj.(*setObj)
		if got := s.Encode(nil); string(got) != string(b) {
			t.Fatalf("round trip: %q -> %q", b, got)
		}
		items := s.items()
		if s.Len() != len(items) || !slices.IsSortedFunc(items, setCompare) {
			t.Fatalf("Len %d, %d items", s.Len(), len(items))
		}
	})
}

func TestSetCompare(t *testing.T) {
	in := []string{"b", "10", "-1", "a", "-0", "01", "", "9", "-", "1a", "18446744073709551616", "-9223372036854775808"}
	sort.Slice(in, func(i, j int) bool { return setCompare(in[i], in[j]) < 0 })
	want := "-9223372036854775808 -1 9 10  - -0 01 18446744073709551616 1a a b"
	if got := strings.Join(in, " "); got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

// hsDumpKeyspace lists every item of ks with its encoded value and expiry,
// and the expiry index.
func hsDumpKeyspace(ks *keyspace) []string {
	var out []string
	ks.keys.Scan(func(it item) bool {
		val := it.str()
		if obj := it.object(); obj != nil {
			val = string(obj.Encode(nil))
		}
		out = append(out, fmt.Sprintf("%q %d %d %q", it.key(), it.typ, it.exp, val))
		return true
	})
	ks.expires.Scan(func(x expiring) bool {
		out = append(out, fmt.Sprintf("expires %q %d", x.key, x.exp))
		return true
	})
	return out
}

func hsDump(e *Engine) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []string
	for db, ks := range e.img.dbs {
		for _, line := range hsDumpKeyspace(ks) {
			out = append(out, fmt.Sprintf("%d %s", db, line))
		}
	}
	return out
}

// hsWorkload runs a mix of hash and set writes, with TTLs and clock jumps,
// on small and large collections.
func hsWorkload(t *testing.T, e *Engine, clk *testClock, rounds int) {
	t.Helper()
	for i := 0; i < rounds; i++ {
		k := fmt.Sprintf("k%d", i%7)
		big := fmt.Sprintf("big%d", i%2)
		var cmd string
		switch i % 17 {
		case 0:
			cmd = fmt.Sprintf("HSET h%s f%d v%d f%d w%d", k, i%50, i, (i*7)%90, i)
		case 1:
			cmd = fmt.Sprintf("HDEL h%s f%d f%d", k, i%50, (i*3)%90)
		case 2:
			cmd = fmt.Sprintf("HINCRBYFLOAT h%s n 0.%d", k, i%10)
		case 3:
			cmd = fmt.Sprintf("HINCRBY hbig f%d %d", i%300, i)
		case 4:
			cmd = fmt.Sprintf("SADD s%s %d m%d %d", k, i%40, i%60, -i)
		case 5:
			cmd = fmt.Sprintf("SREM s%s %d m%d", k, i%40, (i*5)%60)
		case 6:
			cmd = fmt.Sprintf("SPOP s%s %d", k, i%4)
		case 7:
			cmd = "SPOP " + big
		case 8:
			cmd = fmt.Sprintf("SADD %s %d x%d %d", big, i, i%500, i*31%997)
		case 9:
			cmd = fmt.Sprintf("SMOVE s%s %s %d", k, big, i%40)
		case 10:
			cmd = fmt.Sprintf("SINTERSTORE inter %s s%s", big, k)
		case 11:
			cmd = fmt.Sprintf("SUNIONSTORE uni%d big0 big1 s%s", i%3, k)
		case 12:
			cmd = fmt.Sprintf("SDIFFSTORE diff big0 big1 s%s", k)
		case 13:
			cmd = fmt.Sprintf("PEXPIRE h%s %d", k, 200+i%900)
		case 14:
			cmd = fmt.Sprintf("PEXPIRE s%s %d", k, 300+i%700)
		case 15:
			cmd = fmt.Sprintf("SPOP %s %d", big, i%90)
		case 16:
			cmd = fmt.Sprintf("HSETNX hbig g%d %d", i%400, i)
		}
		if r := hsExec(e, i%2*2, cmd); r.IsError() && r.Str != strErrWrongType[1:] {
			t.Fatalf("%s: %s", cmd, render(r))
		}
		clk.advance(time.Duration(i%5) * 37 * time.Millisecond)
	}
}

// TestHashSetReplay replays a workload's log into a second engine at a much
// later time: the images must be identical, SPOP's draws included.
func TestHashSetReplay(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	hsWorkload(t, e, clk, 3000)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	want := hsDump(e)
	var sets, hashes, trees int
	for _, line := range want {
		switch {
		case strings.Contains(line, fmt.Sprintf(" %d ", TypeSet)):
			sets++
		case strings.Contains(line, fmt.Sprintf(" %d ", TypeHash)):
			hashes++
		}
	}
	e.mu.RLock()
	for _, ks := range e.img.dbs {
		ks.keys.Scan(func(it item) bool {
			switch o := it.object().(type) {
			case *setObj:
				trees += int(hsBool(o.tree != nil))
			case *hashObj:
				trees += int(hsBool(o.tree != nil))
			}
			return true
		})
	}
	e.mu.RUnlock()
	if sets < 5 || hashes < 3 || trees < 2 {
		t.Fatalf("workload left %d sets, %d hashes, %d trees", sets, hashes, trees)
	}
	later := newTestClock()
	later.advance(24 * time.Hour)
	r := openTestEngine(t, log, later, -1)
	if got := hsDump(r); !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("replayed image differs at line %d:\n got %.200s\nwant %.200s", i, got[i], want[i])
			}
		}
		t.Fatalf("replayed image differs: %d lines, want %d", len(got), len(want))
	}
	d1, _, err1 := e.Digest()
	d2, _, err2 := r.Digest()
	if err1 != nil || err2 != nil || d1 != d2 {
		t.Fatalf("digests %v %v (%v, %v)", d1, d2, err1, err2)
	}
}

// TestHashSetCopyOnWrite takes a clone of the keyspace, then writes to the
// hashes and sets it holds, small and large, while another goroutine reads
// the clone: the clone's view never changes (and -race sees no conflict).
func TestHashSetCopyOnWrite(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	hsWorkload(t, e, clk, 1500)
	for i := 0; i < 400; i++ {
		hsExec(e, 0, fmt.Sprintf("HSET hbig f%d %d", i, i))
		hsExec(e, 0, fmt.Sprintf("SADD sbig %d", i))
	}
	e.mu.Lock()
	clone := e.img.dbs[0].clone()
	e.mu.Unlock()
	want := hsDumpKeyspace(clone)

	done := make(chan struct{})
	readerErr := make(chan string, 1)
	go func() {
		defer close(readerErr)
		for {
			select {
			case <-done:
				return
			default:
			}
			if got := hsDumpKeyspace(clone); !slices.Equal(got, want) {
				readerErr <- "the clone changed while writes ran"
				return
			}
		}
	}()
	hsWorkload(t, e, clk, 1500)
	for i := 0; i < 400; i++ {
		hsExec(e, 0, fmt.Sprintf("HSET hbig f%d x%d", i, i))
		hsExec(e, 0, fmt.Sprintf("HDEL hbig f%d", i*7%400))
		hsExec(e, 0, fmt.Sprintf("SREM sbig %d", i*3%400))
		hsExec(e, 0, "SPOP sbig 2")
	}
	close(done)
	if msg, ok := <-readerErr; ok {
		t.Fatal(msg)
	}
	if got := hsDumpKeyspace(clone); !slices.Equal(got, want) {
		t.Fatal("the clone changed")
	}
	if live := hsDump(e); len(live) == 0 || slices.Equal(live, want) {
		t.Fatal("the writes changed nothing")
	}
}
