package engine

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// zCheckNode verifies a ztree's invariants under n: counts, order within
// the bounds, node sizes, equal leaf depth; it returns the height.
func zCheckNode(t testing.TB, n *znode, root bool, lo, hi *zent) int {
	t.Helper()
	if len(n.items) == 0 || len(n.items) > zMaxItems || (!root && len(n.items) < zMinItems) {
		t.Fatalf("node of %d items (root %v)", len(n.items), root)
	}
	for i, e := range n.items {
		if (i > 0 && !zless(n.items[i-1], e)) || (lo != nil && !zless(*lo, e)) || (hi != nil && !zless(e, *hi)) {
			t.Fatalf("entries out of order at %d: %v", i, e)
		}
	}
	if n.children == nil {
		if n.count != len(n.items) {
			t.Fatalf("leaf count %d, %d items", n.count, len(n.items))
		}
		return 1
	}
	if len(n.children) != len(n.items)+1 {
		t.Fatalf("%d children for %d items", len(n.children), len(n.items))
	}
	sum, h := len(n.items), -1
	for i, c := range n.children {
		clo, chi := lo, hi
		if i > 0 {
			clo = &n.items[i-1]
		}
		if i < len(n.items) {
			chi = &n.items[i]
		}
		ch := zCheckNode(t, c, false, clo, chi)
		if h >= 0 && ch != h {
			t.Fatalf("leaves at depths %d and %d", h, ch)
		}
		h = ch
		sum += c.count
	}
	if sum != n.count {
		t.Fatalf("count %d, subtree holds %d", n.count, sum)
	}
	return h + 1
}

// zCheck verifies z: the tree, and the dict (if any) holding the same
// entries; it returns the entries in order.
func zCheck(t testing.TB, z *zset) []zent {
	t.Helper()
	if z.tree.root != nil {
		zCheckNode(t, z.tree.root, true, nil, nil)
	}
	es := z.entries(0, z.Len())
	if len(es) != z.Len() {
		t.Fatalf("%d entries, Len %d", len(es), z.Len())
	}
	if z.dict != nil {
		if z.dict.Len() != len(es) {
			t.Fatalf("dict of %d, tree of %d", z.dict.Len(), len(es))
		}
		for _, e := range es {
			if d, ok := z.dict.Get(e); !ok || d.score != e.score {
				t.Fatalf("dict lacks %v", e)
			}
		}
	} else if len(es) > zsetDictMin {
		t.Fatalf("%d entries and no dict", len(es))
	}
	return es
}

func zModelSort(m []zent) {
	slices.SortFunc(m, func(a, b zent) int {
		switch {
		case zless(a, b):
			return -1
		case zless(b, a):
			return 1
		}
		return 0
	})
}

// TestZTreeModel runs random operations on a zset (through edits, as the
// commands do) and on a sorted slice, and checks after each that they
// agree, that the invariants hold, that ranks and positions are right,
// and that every earlier version kept is unchanged (copy-on-write).
func TestZTreeModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type version struct {
		z    *zset
		want []zent
	}
	var kept []version
	z := newZSet()
	var model []zent
	for step := range 6000 {
		z = z.edit()
		ops := 1 + rng.IntN(40)
		if step%500 == 499 {
			ops = 2000 // bulk changes under one edit
		}
		for range ops {
			grow := len(model) < 3000 && (step/700)%2 == 0
			switch r := rng.IntN(10); {
			case r < 6 && grow || r < 3:
				m := fmt.Sprint("m", rng.IntN(8000))
				if _, ok := z.score(m); ok {
					continue
				}
				e := zent{member: m, score: float64(rng.IntN(50))}
				z.insert(e)
				model = append(model, e)
				zModelSort(model)
			case r < 8 && len(model) > 0:
				i := rng.IntN(len(model))
				if got := z.removeAt(i); got != model[i] {
					t.Fatalf("removeAt(%d) = %v, want %v", i, got, model[i])
				}
				model = slices.Delete(model, i, i+1)
			case len(model) > 0:
				i := rng.IntN(len(model))
				z.remove(model[i])
				model = slices.Delete(model, i, i+1)
			}
		}
		got := zCheck(t, z)
		if !slices.Equal(got, model) {
			t.Fatalf("step %d: tree differs from the model", step)
		}
		for range 5 {
			if len(model) == 0 {
				break
			}
			i := rng.IntN(len(model))
			if r := z.tree.rank(model[i]); r != i {
				t.Fatalf("rank %d, want %d", r, i)
			}
			if e := z.tree.at(i); e != model[i] {
				t.Fatalf("at(%d) = %v, want %v", i, e, model[i])
			}
			if s, ok := z.score(model[i].member); !ok || s != model[i].score {
				t.Fatalf("score of %s", model[i].member)
			}
			var asc, desc []zent
			z.tree.ascend(i, func(e zent) bool { asc = append(asc, e); return len(asc) < 7 })
			z.tree.descend(i, func(e zent) bool { desc = append(desc, e); return len(desc) < 7 })
			wantAsc := model[i:min(i+7, len(model))]
			wantDesc := slices.Clone(model[max(i-6, 0) : i+1])
			slices.Reverse(wantDesc)
			if !slices.Equal(asc, wantAsc) || !slices.Equal(desc, wantDesc) {
				t.Fatalf("ascend/descend from %d", i)
			}
		}
		if step%300 == 0 {
			kept = append(kept, version{z, slices.Clone(model)})
		}
	}
	for i, v := range kept {
		if got := zCheck(t, v.z); !slices.Equal(got, v.want) {
			t.Fatalf("version %d changed after later writes", i)
		}
	}
}

// TestZBuild checks the bulk builder's invariants for many sizes.
func TestZBuild(t *testing.T) {
	for _, n := range []int{0, 1, 2, 30, 31, 32, 33, 63, 64, 65, 500, 1023, 1024, 1025, 5000, 33000, 70000} {
		items := make([]zent, n)
		for i := range items {
			items[i] = zent{member: fmt.Sprintf("%08d", i), score: float64(i / 3)}
		}
		z := zsetFrom(items)
		if got := zCheck(t, z); !slices.Equal(got, items) {
			t.Fatalf("n=%d: built tree differs", n)
		}
		// It stays valid under removals and insertions.
		z = z.edit()
		for i := 0; i < n/2; i++ {
			z.removeAt(i % z.Len())
		}
		z.insert(zent{member: "new", score: -1})
		zCheck(t, z)
	}
}

func TestZSetEncodeRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 64, 65, 1000, 5000} {
		items := make([]zent, n)
		for i := range items {
			items[i] = zent{member: strings.Repeat("x", i%7) + fmt.Sprint(i), score: float64(i%10) - 4.5}
		}
		items[0].member = ""
		items[n-1].score = math.Inf(1)
		zModelSort(items)
		a := zsetFrom(slices.Clone(items))
		// The same contents built another way encode the same.
		b := newZSet()
		for i := n - 1; i >= 0; i-- {
			b.insert(items[i])
		}
		ea, eb := a.Encode(nil), b.Encode(nil)
		if !bytes.Equal(ea, eb) {
			t.Fatalf("n=%d: encodings differ", n)
		}
		if ea[0] != zsetEncodingVersion {
			t.Fatalf("version byte %d", ea[0])
		}
		obj, err := decodeObject(TypeZSet, ea)
		if err != nil {
			t.Fatal(err)
		}
		z := obj.(*zset)
		if got := zCheck(t, z); !slices.Equal(got, items) || z.Type() != TypeZSet || z.Len() != n {
			t.Fatalf("n=%d: round trip differs", n)
		}
	}
	one := func(m string, f float64) []byte {
		b := []byte{1, 1, byte(len(m))}
		b = append(b, m...)
		return append(b, make([]byte, 8)...)
	}
	nan := one("a", 0)
	copy(nan[4:], []byte{1, 0, 0, 0, 0, 0, 0xf8, 0x7f})
	negZero := one("a", 0)
	negZero[len(negZero)-1] = 0x80
	twice := append([]byte{1, 2}, append(one("a", 0)[2:], one("a", 0)[2:]...)...)
	twice[len(twice)-2] = 0xf0 // a score of 1 for the second "a": ordered, but a member twice
	twice[len(twice)-1] = 0x3f
	unordered := append([]byte{1, 2}, append(one("b", 0)[2:], one("a", 0)[2:]...)...)
	// Overlong uvarints (0x81 0x00 for 1) would decode to a set whose
	// encoding differs from the bytes read (found by FuzzDecodeZSet).
	longCount := append([]byte{1, 0x81, 0x00}, one("a", 0)[2:]...)
	longMember := append([]byte{1, 1, 0x81, 0x00}, one("a", 0)[3:]...)
	for _, bad := range [][]byte{nil, {}, {2, 1, 0}, {1}, {1, 0}, {1, 2, 0}, {1, 1, 5, 'a'}, {1, 0xff},
		nan, negZero, twice, unordered, longCount, longMember, append(one("a", 0), 0)} {
		if _, err := decodeZSet(bad); err == nil {
			t.Errorf("decodeZSet(%v) accepted", bad)
		}
	}
	if _, err := decodeZSet(one("a", 0)); err != nil {
		t.Errorf("a valid encoding refused: %v", err)
	}
	// A member twice in a set large enough to have a dict.
	big := make([]zent, 100)
	for i := range big {
		big[i] = zent{member: fmt.Sprint(i % 99), score: float64(i)}
	}
	enc := []byte{1, 100}
	for _, e := range big {
		enc = append(enc, byte(len(e.member)))
		enc = append(enc, e.member...)
		enc = append(enc, zsetFrom([]zent{e}).Encode(nil)[3+len(e.member):]...)
	}
	if _, err := decodeZSet(enc); err == nil {
		t.Errorf("a member twice in a large set accepted")
	}
}

func FuzzDecodeZSet(f *testing.F) {
	f.Add([]byte{1, 1, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(zsetFrom([]zent{{"a", -1}, {"", 0}, {"ccc", 2.5}}).Encode(nil))
	items := make([]zent, 200)
	for i := range items {
		items[i] = zent{member: fmt.Sprint(i), score: float64(i % 7)}
	}
	zModelSort(items)
	f.Add(zsetFrom(items).Encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		obj, err := decodeZSet(b)
		if err != nil {
			return
		}
		z := obj.(*zset)
		zCheck(t, z)
		if !bytes.Equal(z.Encode(nil), b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

const zWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value"

func TestZSetCommands(t *testing.T) {
	s, bad, sa := strCmd, strBad, strArgs
	tests := []struct {
		name  string
		steps []strStep
	}{
		{"zadd and zrange", []strStep{
			s("ZADD z 1 a 2 b 3 c", ":3"),
			s("ZADD z 1 a", ":0"),
			s("ZCARD z", ":3"),
			s("ZRANGE z 0 -1 WITHSCORES", `["a" 1 "b" 2 "c" 3]`),
			s("ZADD z 1.5 x -inf lo inf hi", ":3"),
			s("ZRANGE z 0 -1", `["lo" "a" "x" "b" "c" "hi"]`),
			s("zadd z 2 a", ":0"),
			s("ZSCORE z a", "2"),
			s("ZRANGE z 0 -1", `["lo" "x" "a" "b" "c" "hi"]`),
			s("TYPE z", "+zset"),
			s("ZADD d 1 m 1 m 2 m", ":1"),
			s("ZRANGE d 0 -1 WITHSCORES", `["m" 2]`),
			bad("ZADD z 1 a 2", "-ERR syntax error"),
			bad("ZADD z NX", "-ERR wrong number of arguments for 'zadd' command"),
			bad("ZADD z NX CH", "-ERR syntax error"),
			bad("ZADD z NX XX 1 a", "-ERR XX and NX options at the same time are not compatible"),
			bad("ZADD z GT LT 1 a", "-ERR GT, LT, and/or NX options at the same time are not compatible"),
			bad("ZADD z NX GT 1 a", "-ERR GT, LT, and/or NX options at the same time are not compatible"),
			bad("ZADD z INCR 1 a 2 b", "-ERR INCR option supports a single increment-element pair"),
			bad("ZADD z abc a", "-ERR value is not a valid float"),
			bad("ZADD z nan a", "-ERR value is not a valid float"),
			bad("ZADD z 1e400 a", "-ERR value is not a valid float"),
			bad("ZADD z 1e-400 a", "-ERR value is not a valid float"),
			bad("ZADD z", "-ERR wrong number of arguments for 'zadd' command"),
			s("ZADD z 0x10 hex 1e-310 tiny", ":2"),
			s("ZSCORE z hex", "16"),
			s("ZSCORE z tiny", "1e-310"),
		}},
		{"zadd options", []strStep{
			s("ZADD z 1 a 2 b", ":2"),
			s("ZADD z NX 5 a 3 c", ":1"),
			s("ZADD z XX 5 a 4 d", ":0"),
			s("ZRANGE z 0 -1 WITHSCORES", `["b" 2 "c" 3 "a" 5]`),
			s("ZADD z CH 6 a 3 c 7 e", ":2"),
			s("ZADD z GT CH 1 a 10 b", ":1"),
			s("ZADD z LT CH 1 a 20 b", ":1"),
			s("ZRANGE z 0 -1 WITHSCORES", `["a" 1 "c" 3 "e" 7 "b" 10]`),
			s("ZADD z GT 5 new", ":1"),
			s("ZADD missing XX 1 a", ":0"),
			s("EXISTS missing", ":0"),
			s("ZADD missing XX INCR 1 a", "(nil)"),
		}},
		{"zadd incr and zincrby", []strStep{
			s("ZADD z INCR 5 a", "5"),
			s("ZADD z INCR 2.5 a", "7.5"),
			s("ZADD z NX INCR 1 a", "(nil)"),
			s("ZADD z GT INCR -1 a", "(nil)"),
			s("ZADD z LT INCR 0 a", "(nil)"),
			s("ZADD z XX INCR 1 nosuch", "(nil)"),
			s("ZINCRBY z 1 a", "8.5"),
			s("ZINCRBY z -8.5 a", "0"),
			s("ZINCRBY z inf a", "+Inf"),
			s("ZINCRBY z -inf a", "-ERR resulting score is not a number (NaN)"),
			s("ZSCORE z a", "+Inf"),
			s("ZINCRBY n -0 m", "-0"), // the computed score, as Redis replies
			s("ZSCORE n m", "0"),      // stored as 0, as in a listpack
			bad("ZINCRBY z abc a", "-ERR value is not a valid float"),
			bad("ZINCRBY z nx a", "-ERR syntax error"),
			bad("ZINCRBY z 1", "-ERR wrong number of arguments for 'zincrby' command"),
		}},
		{"zrem and empty keys", []strStep{
			s("ZADD z 1 a 2 b 3 c", ":3"),
			s("ZREM z a nosuch a", ":1"),
			s("ZREM z b c", ":2"),
			s("EXISTS z", ":0"),
			s("ZREM z a", ":0"),
			s("ZCARD z", ":0"),
			bad("ZREM z", "-ERR wrong number of arguments for 'zrem' command"),
		}},
		{"zscore zmscore zrank", []strStep{
			s("ZADD z 1 a 2 b 3 c 3 d", ":4"),
			s("ZSCORE z nosuch", "(nil)"),
			s("ZSCORE nokey a", "(nil)"),
			s("ZMSCORE z a nosuch d", `[1 (nil) 3]`),
			s("ZMSCORE nokey a b", `[(nil) (nil)]`),
			s("ZRANK z a", ":0"),
			s("ZRANK z d", ":3"),
			s("ZREVRANK z d", ":0"),
			s("ZREVRANK z a", ":3"),
			s("ZRANK z c WITHSCORE", `[:2 3]`),
			s("ZREVRANK z c withscore", `[:1 3]`),
			s("ZRANK z nosuch", "(nil)"),
			s("ZRANK z nosuch WITHSCORE", "(nil)"),
			s("ZRANK nokey a WITHSCORE", "(nil)"),
			bad("ZRANK z a FOO", "-ERR syntax error"),
			bad("ZRANK z a WITHSCORE x", "-ERR wrong number of arguments for 'zrank' command"),
			bad("ZREVRANK z", "-ERR wrong number of arguments for 'zrevrank' command"),
		}},
		{"zrange ranks and options", []strStep{
			s("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5"),
			s("ZRANGE z 1 3", `["b" "c" "d"]`),
			s("ZRANGE z -2 -1", `["d" "e"]`),
			s("ZRANGE z -100 0", `["a"]`),
			s("ZRANGE z 3 1", `[]`),
			s("ZRANGE z 5 10", `[]`),
			s("ZRANGE z 0 1 REV WITHSCORES", `["e" 5 "d" 4]`),
			s("ZREVRANGE z 1 2", `["d" "c"]`),
			s("ZRANGE nokey 0 -1", `[]`),
			bad("ZRANGE z 0 1 LIMIT 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
			s("ZRANGE z 0 1 LIMIT 0 -1", `["a" "b"]`),
			bad("ZRANGE z [a [b BYLEX WITHSCORES", "-ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
			bad("ZRANGE z a 1", "-ERR value is not an integer or out of range"),
			bad("ZREVRANGE z 0 1 REV", "-ERR syntax error"),
			bad("ZRANGEBYSCORE z 0 1 BYLEX", "-ERR syntax error"),
			bad("ZRANGE z 0 1 FOO", "-ERR syntax error"),
		}},
		{"zrange by score and lex", []strStep{
			s("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5"),
			s("ZRANGEBYSCORE z (2 4", `["c" "d"]`),
			s("ZRANGEBYSCORE z 2 (4 WITHSCORES", `["b" 2 "c" 3]`),
			s("ZRANGEBYSCORE z -inf +inf LIMIT 1 2", `["b" "c"]`),
			s("ZRANGEBYSCORE z -inf +inf LIMIT 4 -1", `["e"]`),
			s("ZRANGEBYSCORE z -inf +inf LIMIT 5 1", `[]`),
			s("ZRANGEBYSCORE z -inf +inf LIMIT -1 1", `[]`),
			s("ZRANGEBYSCORE z (3 (3", `[]`),
			s("ZRANGEBYSCORE z \"\" 1", `["a"]`),
			s("ZREVRANGEBYSCORE z 4 (1 LIMIT 1 2", `["c" "b"]`),
			s("ZRANGE z 4 2 BYSCORE REV", `["d" "c" "b"]`),
			bad("ZRANGEBYSCORE z a 1", "-ERR min or max is not a float"),
			bad("ZCOUNT z nan 1", "-ERR min or max is not a float"),
			s("ZCOUNT z (1 4", ":3"),
			s("ZCOUNT z 4 1", ":0"),
			s("ZADD l 0 a 0 b 0 c 0 d", ":4"),
			s("ZRANGEBYLEX l [b +", `["b" "c" "d"]`),
			s("ZRANGEBYLEX l (b (d", `["c"]`),
			s("ZREVRANGEBYLEX l + - LIMIT 1 2", `["c" "b"]`),
			s("ZLEXCOUNT l - (c", ":2"),
			s("ZLEXCOUNT l + -", ":0"),
			bad("ZRANGEBYLEX l a b", "-ERR min or max not valid string range item"),
			bad("ZLEXCOUNT l +a -", "-ERR min or max not valid string range item"),
		}},
		{"zrangestore", []strStep{
			s("ZADD src 1 a 2 b 3 c", ":3"),
			s("SET dst v EX 100", "+OK"),
			s("ZRANGESTORE dst src 0 1 REV", ":2"),
			s("ZRANGE dst 0 -1 WITHSCORES", `["b" 2 "c" 3]`),
			s("~PTTL dst", ":-1"),
			s("ZRANGESTORE dst src 5 9", ":0"),
			s("EXISTS dst", ":0"),
			bad("ZRANGESTORE dst src 0 1 WITHSCORES", "-ERR syntax error"),
		}},
		{"zremrange", []strStep{
			s("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5"),
			s("PEXPIRE z 100000", ":1"),
			s("ZREMRANGEBYRANK z 0 1", ":2"),
			s("ZREMRANGEBYSCORE z (4 +inf", ":1"),
			s("ZRANGE z 0 -1", `["c" "d"]`),
			s("~PTTL z", ":100000"),
			s("ZREMRANGEBYLEX z - +", ":2"),
			s("EXISTS z", ":0"),
			bad("ZREMRANGEBYRANK z a 1", "-ERR value is not an integer or out of range"),
			bad("ZREMRANGEBYSCORE z a 1", "-ERR min or max is not a float"),
			bad("ZREMRANGEBYLEX z a 1", "-ERR min or max not valid string range item"),
		}},
		{"pops", []strStep{
			s("ZADD z 1 a 2 b 3 c 4 d", ":4"),
			s("ZPOPMIN z", `["a" 1]`),
			s("ZPOPMAX z 2", `["d" 4 "c" 3]`),
			s("ZPOPMIN z 0", `[]`),
			s("ZPOPMIN z 5", `["b" 2]`),
			s("EXISTS z", ":0"),
			s("ZPOPMIN z", `[]`),
			bad("ZPOPMIN z -1", "-ERR value is out of range, must be positive"),
			bad("ZPOPMIN z 1 2", "-ERR syntax error"),
			s("ZADD a 1 x 2 y", ":2"),
			s("ZMPOP 2 nokey a MAX COUNT 5", `["a" [["y" 2] ["x" 1]]]`),
			s("ZMPOP 1 a MIN", "(nil)"),
			bad("ZMPOP 0 a MIN", "-ERR numkeys should be greater than 0"),
			bad("ZMPOP 1 a MIN COUNT 0", "-ERR count should be greater than 0"),
			bad("ZMPOP 2 a MIN", "-ERR syntax error"),
			s("ZADD b 5 p 6 q", ":2"),
			s("BZPOPMAX nokey b 0", `["b" "q" 6]`),
			s("BZPOPMIN b 0.5", `["b" "p" 5]`),
			s("BZPOPMIN b 0", "(nil)"),
			bad("BZPOPMIN b -1", "-ERR timeout is negative"),
			bad("BZPOPMIN b abc", "-ERR timeout is not a float or out of range"),
			bad("BZPOPMIN b inf", "-ERR timeout is out of range"),
		}},
		{"set operations", []strStep{
			s("ZADD a 1 x 2 y 3 z", ":3"),
			s("ZADD b 10 y 20 z 30 w", ":3"),
			s("ZUNIONSTORE u 2 a b WEIGHTS 2 0.5", ":4"),
			s("ZRANGE u 0 -1 WITHSCORES", `["x" 2 "y" 9 "w" 15 "z" 16]`),
			s("ZRANGE u 0 -1 BYSCORE", `[]`),
			s("ZINTER 2 a b AGGREGATE MAX WITHSCORES", `["y" 10 "z" 20]`),
			s("ZDIFF 2 a b WITHSCORES", `["x" 1]`),
			s("ZINTERCARD 2 a b LIMIT 1", ":1"),
			s("ZUNION 2 a nokey", `["x" "y" "z"]`),
			s("ZINTERSTORE i 2 a nokey", ":0"),
			s("ZDIFFSTORE d 2 b a", ":1"),
			s("ZRANGE d 0 -1 WITHSCORES", `["w" 30]`),
			s("SET s v", "+OK"),
			s("ZUNIONSTORE u 2 a s", zWrongType),
			s("ZUNION 2 a s", zWrongType),
			// Redis looks the keys up before reading the options: the
			// reads do too.
			s("ZUNION 2 a s FOO", zWrongType),
			s("ZUNION 2 a b FOO", "-ERR syntax error"),
			// The STORE forms refuse bad syntax before the log.
			bad("ZUNIONSTORE u 2 a s FOO", "-ERR syntax error"),
			bad("ZUNIONSTORE u 0 a", "-ERR at least 1 input key is needed for 'zunionstore' command"),
			bad("ZINTERSTORE u 3 a b", "-ERR syntax error"),
			bad("ZUNIONSTORE u 1 a WEIGHTS x", "-ERR weight value is not a float"),
			bad("ZDIFFSTORE u 1 a WEIGHTS 1", "-ERR syntax error"),
			bad("ZUNIONSTORE u 1 a WITHSCORES", "-ERR syntax error"),
			bad("ZUNION 0 a", "-ERR at least 1 input key is needed for 'zunion' command"),
			bad("ZINTERCARD 1 a LIMIT -1", "-ERR LIMIT can't be negative"),
		}},
		{"set operations with plain sets", []strStep{
			s("ZADD z 5 a 6 b", ":2"),
			s("SADD s a c 10", ":3"),
			s("ZUNION 2 z s WITHSCORES", `["10" 1 "c" 1 "a" 6 "b" 6]`),
			s("ZINTER 2 s z WEIGHTS 3 1 WITHSCORES", `["a" 8]`),
			s("ZDIFF 2 s z WITHSCORES", `["10" 1 "c" 1]`),
			s("ZINTERCARD 2 s s", ":3"),
			s("ZUNIONSTORE d 2 s s AGGREGATE MAX", ":3"),
			s("ZRANGE d 0 -1 WITHSCORES", `["10" 1 "a" 1 "c" 1]`),
			s("ZRANGE s 0 -1", zWrongType),
		}},
		{"zrandmember", []strStep{
			s("ZADD z 1 a 2 b 3 c", ":3"),
			s("ZRANDMEMBER z 5", `["c" "b" "a"]`),
			s("ZRANDMEMBER z 3 WITHSCORES", `["c" 3 "b" 2 "a" 1]`),
			s("ZRANDMEMBER z 0", `[]`),
			s("ZRANDMEMBER nokey", "(nil)"),
			s("ZRANDMEMBER nokey 3", `[]`),
			bad("ZRANDMEMBER z abc", "-ERR value is not an integer or out of range"),
			bad("ZRANDMEMBER z 1 FOO", "-ERR syntax error"),
			bad("ZRANDMEMBER z 4611686018427387904 WITHSCORES", "-ERR value is out of range"),
			s("ZADD one 7 m", ":1"),
			s("ZRANDMEMBER one -3 WITHSCORES", `["m" 7 "m" 7 "m" 7]`),
			s("ZRANDMEMBER one", `"m"`),
		}},
		{"zscan small", []strStep{
			s("ZADD z 1 a 2.5 b -inf c 12345678 d 1e17 e", ":5"),
			s("ZSCAN z 0", `["0" ["c" "-inf" "a" "1" "b" "2.5" "d" "12345678" "e" "100000000000000000"]]`),
			s("ZSCAN z 0 MATCH [ab] COUNT 1", `["0" ["a" "1" "b" "2.5"]]`),
			s("ZSCAN nokey 0 COUNT abc", `["0" []]`),
			s("ZSCAN z 0 COUNT 0", "-ERR syntax error"),
			s("ZSCAN z 0 TYPE zset", "-ERR syntax error"),
			bad("ZSCAN z abc", "-ERR invalid cursor"),
			s("ZSCAN z \"\"", `["0" ["c" "-inf" "a" "1" "b" "2.5" "d" "12345678" "e" "100000000000000000"]]`),
		}},
		{"wrong type", []strStep{
			s("SET s v", "+OK"),
			s("ZADD s 1 a", zWrongType),
			s("ZINCRBY s 1 a", zWrongType),
			s("ZREM s a", zWrongType),
			s("ZCARD s", zWrongType),
			s("ZSCORE s a", zWrongType),
			s("ZMSCORE s a", zWrongType),
			s("ZRANK s a", zWrongType),
			s("ZRANGE s 0 -1", zWrongType),
			s("ZRANGESTORE d s 0 -1", zWrongType),
			s("ZCOUNT s 0 1", zWrongType),
			s("ZLEXCOUNT s - +", zWrongType),
			s("ZREMRANGEBYRANK s 0 1", zWrongType),
			s("ZPOPMIN s", zWrongType),
			s("ZMPOP 1 s MIN", zWrongType),
			s("BZPOPMIN s 0", zWrongType),
			s("ZRANDMEMBER s", zWrongType),
			s("ZSCAN s 0", zWrongType),
			s("GET s", `"v"`),
		}},
		{"binary members", []strStep{
			sa(":3", "ZADD", "z", "1", "a\x00b", "1", "", "1", "\xff"),
			sa(`["" "a\x00b" "\xff"]`, "ZRANGE", "z", "0", "-1"),
			sa("1", "ZSCORE", "z", "a\x00b"),
			sa(":1", "ZRANK", "z", "a\x00b"),
			sa(`["a\x00b"]`, "ZRANGEBYLEX", "z", "(", "(\xff"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &MemLog{}
			clk := newTestClock()
			e := openTestEngine(t, log, clk, -1)
			strRun(t, e, log, clk, tc.steps)
		})
	}
}

// TestZSetReplyShapes checks the RESP3 marks: pairs are flat and marked
// ReplyPairs, except ZPOPMIN's single pair and ZMPOP's nested pairs.
func TestZSetReplyShapes(t *testing.T) {
	e := openTestEngine(t, &MemLog{}, newTestClock(), -1)
	e.Exec(0, kArgv("ZADD z 1 a 2 b 3 c 4 d 5 e 6 f"))
	e.Exec(0, kArgv("ZADD y 1 a"))
	for cmd, pairs := range map[string]bool{
		"ZRANGE z 0 1 WITHSCORES":           true,
		"ZRANGE z 0 1":                      false,
		"ZRANGEBYSCORE z 0 9 WITHSCORES":    true,
		"ZUNION 2 z y WITHSCORES":           true,
		"ZUNION 2 z y":                      false,
		"ZRANDMEMBER z 2 WITHSCORES":        true,
		"ZRANDMEMBER z -2 WITHSCORES":       true,
		"ZRANDMEMBER z 2":                   false,
		"ZPOPMIN z":                         false,
		"ZPOPMIN z 1":                       true,
		"ZPOPMAX z 2":                       true,
		"ZMPOP 1 z MIN":                     false,
		"ZRANK z d WITHSCORE":               false,
		"ZREVRANGEBYSCORE z 9 0 WITHSCORES": true,
	} {
		r := e.Exec(0, kArgv(cmd))
		if r.Kind != KindArray || (r.Int == ReplyPairs) != pairs {
			t.Errorf("%s: kind %d, mark %d, want pairs %v", cmd, r.Kind, r.Int, pairs)
		}
	}
}

// zExec runs a command given as words and renders its reply.
func zExec(e *Engine, args ...string) string { return render(e.Exec(0, toBytes(args))) }

// TestZSetBig checks the commands on sets with a dict (more than
// zsetDictMin members) against a model, through many random commands.
func TestZSetBig(t *testing.T) {
	e := openTestEngine(t, &MemLog{}, newTestClock(), -1)
	rng := rand.New(rand.NewPCG(3, 4))
	model := map[string]float64{}
	sorted := func() []zent {
		var es []zent
		for m, s := range model {
			es = append(es, zent{m, s})
		}
		zModelSort(es)
		return es
	}
	for i := range 20000 {
		m := fmt.Sprint("m", rng.IntN(3000))
		switch rng.IntN(6) {
		case 0, 1, 2:
			sc := float64(rng.IntN(100))
			zExec(e, "ZADD", "big", fmt.Sprint(sc), m)
			model[m] = sc
		case 3:
			zExec(e, "ZREM", "big", m)
			delete(model, m)
		case 4:
			got := zExec(e, "ZRANK", "big", m)
			want := "(nil)"
			if s, ok := model[m]; ok {
				es := sorted()
				want = fmt.Sprintf(":%d", zsearch(es, zent{m, s}))
			}
			if got != want {
				t.Fatalf("step %d: ZRANK %s = %s, want %s", i, m, got, want)
			}
		case 5:
			if i%50 != 0 {
				continue
			}
			es := sorted()
			lo, hi := rng.IntN(100), rng.IntN(100)
			var want []string
			for _, e := range es {
				if e.score >= float64(lo) && e.score <= float64(hi) {
					want = append(want, fmt.Sprintf("%q", e.member))
				}
			}
			off := rng.IntN(50)
			if off < len(want) {
				want = want[off:]
			} else {
				want = nil
			}
			want = want[:min(len(want), 20)]
			got := zExec(e, "ZRANGEBYSCORE", "big", fmt.Sprint(lo), fmt.Sprint(hi), "LIMIT", fmt.Sprint(off), "20")
			if got != "["+strings.Join(want, " ")+"]" {
				t.Fatalf("step %d: ZRANGEBYSCORE %d %d: %s, want %v", i, lo, hi, got, want)
			}
			if got := zExec(e, "ZCARD", "big"); got != fmt.Sprintf(":%d", len(model)) {
				t.Fatalf("ZCARD %s, want %d", got, len(model))
			}
		}
	}
	e.mu.RLock()
	it, _ := e.img.dbs[0].lookup([]byte("big"), time.Now().UnixMilli())
	got := zCheck(t, zsetOf(it))
	e.mu.RUnlock()
	if !slices.Equal(got, sorted()) {
		t.Fatalf("the set differs from the model")
	}

	// ZSCAN of a large set: member order, COUNT a call, every member once.
	seen := map[string]int{}
	cursor := "0"
	calls := 0
	for {
		r := e.Exec(0, toBytes([]string{"ZSCAN", "big", cursor, "COUNT", "100"}))
		cursor = r.Elems[0].Str
		for j := 0; j < len(r.Elems[1].Elems); j += 2 {
			seen[r.Elems[1].Elems[j].Str]++
		}
		calls++
		if cursor == "0" {
			break
		}
	}
	if len(seen) != len(model) || calls < len(model)/100 {
		t.Fatalf("ZSCAN saw %d members in %d calls, want %d", len(seen), calls, len(model))
	}
	for m, n := range seen {
		if n != 1 {
			t.Fatalf("ZSCAN returned %s %d times", m, n)
		}
	}
	if got := zExec(e, "ZSCAN", "big", "12345"); got != "-ERR invalid cursor" {
		t.Fatalf("unknown cursor: %s", got)
	}
	// Removing most of a big set rebuilds it; what is left is right.
	n := len(model)
	if got := zExec(e, "ZREMRANGEBYRANK", "big", "5", "-6"); got != fmt.Sprintf(":%d", n-10) {
		t.Fatalf("ZREMRANGEBYRANK: %s", got)
	}
	es := sorted()
	want := append(slices.Clone(es[:5]), es[n-5:]...)
	e.mu.RLock()
	it, _ = e.img.dbs[0].lookup([]byte("big"), time.Now().UnixMilli())
	got = zCheck(t, zsetOf(it))
	e.mu.RUnlock()
	if !slices.Equal(got, want) {
		t.Fatalf("after ZREMRANGEBYRANK: %v, want %v", got, want)
	}
}

// TestZSetDictThreshold grows a set past zsetDictMin and shrinks it below
// half of it: the dict comes and goes, the set stays right.
func TestZSetDictThreshold(t *testing.T) {
	z := newZSet()
	for i := range zsetDictMin + 10 {
		z = z.edit()
		z.insert(zent{member: fmt.Sprint(i), score: float64(i % 3)})
		zCheck(t, z)
		if (z.dict != nil) != (z.Len() > zsetDictMin) {
			t.Fatalf("%d members, dict %v", z.Len(), z.dict != nil)
		}
	}
	for z.Len() > 0 {
		z = z.edit()
		z.removeAt(z.Len() / 2)
		zCheck(t, z)
		if z.Len() <= zsetDictMin/2 && z.dict != nil {
			t.Fatalf("%d members and a dict", z.Len())
		}
	}
}

// TestZSetCopyOnWrite takes a clone of the keyspace, writes, and checks
// the clone still shows the sorted sets as they were.
func TestZSetCopyOnWrite(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	args := []string{"ZADD", "big"}
	for i := range 1000 {
		args = append(args, fmt.Sprint(i%17), fmt.Sprint("m", i))
	}
	e.Exec(0, toBytes(args))
	e.Exec(0, kArgv("ZADD small 1 a 2 b 3 c"))
	e.Exec(0, kArgv("ZADD other 5 b 6 x"))
	e.mu.RLock()
	snap := e.img.dbs[0].clone()
	e.mu.RUnlock()
	dump := func(ks *keyspace) string {
		var b strings.Builder
		ks.keys.Scan(func(it item) bool {
			z := zsetOf(it)
			fmt.Fprintf(&b, "%s=%v\n", it.key(), zCheck(t, z))
			return true
		})
		return b.String()
	}
	want := dump(snap)
	for _, cmd := range []string{
		"ZADD big 100 new", "ZADD big 3 m5", "ZINCRBY big 7 m6", "ZREM big m7 m8", "ZPOPMIN big 10", "ZPOPMAX big 10",
		"ZREMRANGEBYRANK big 100 200", "ZREMRANGEBYSCORE big 3 5", "ZMPOP 1 big MAX COUNT 3",
		"ZADD small 9 a", "ZREM small b", "BZPOPMIN small 0", "ZUNIONSTORE other 2 small big",
		"ZRANGESTORE small big 0 5", "ZREMRANGEBYRANK big 0 -100",
	} {
		e.Exec(0, kArgv(cmd))
	}
	if got := dump(snap); got != want {
		t.Fatalf("the clone changed")
	}
	e.mu.RLock()
	now := dump(e.img.dbs[0])
	e.mu.RUnlock()
	if now == want {
		t.Fatalf("the writes changed nothing")
	}
}

// TestZSetReplay runs a random sorted set workload, then opens a second
// engine on the same log: the images must be identical.
func TestZSetReplay(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	rng := rand.New(rand.NewPCG(13, 5))
	for i := range 5000 {
		k := fmt.Sprint("z", rng.IntN(6))
		k2 := fmt.Sprint("z", rng.IntN(6))
		m := fmt.Sprint("m", rng.IntN(200))
		sc := fmt.Sprint(rng.IntN(40) - 20)
		var cmd string
		switch rng.IntN(20) {
		case 0, 1, 2, 3:
			cmd = fmt.Sprintf("ZADD %s %s %s %d n%d", k, sc, m, rng.IntN(9), i)
		case 4:
			cmd = fmt.Sprintf("ZADD %s %s CH %s %s", k, []string{"NX", "XX", "GT", "LT"}[rng.IntN(4)], sc, m)
		case 5:
			cmd = fmt.Sprintf("ZINCRBY %s 1.5 %s", k, m)
		case 6:
			cmd = fmt.Sprintf("ZREM %s %s %s", k, m, fmt.Sprint("n", rng.IntN(i+1)))
		case 7:
			cmd = fmt.Sprintf("ZPOPMIN %s %d", k, rng.IntN(4))
		case 8:
			cmd = "ZPOPMAX " + k
		case 9:
			cmd = fmt.Sprintf("ZREMRANGEBYRANK %s %d %d", k, rng.IntN(5), rng.IntN(10)-3)
		case 10:
			cmd = fmt.Sprintf("ZREMRANGEBYSCORE %s (%s 20", k, sc)
		case 11:
			cmd = fmt.Sprintf("ZUNIONSTORE %s 2 %s %s WEIGHTS 1 0.5", fmt.Sprint("z", rng.IntN(6)), k, k2)
		case 12:
			cmd = fmt.Sprintf("ZINTERSTORE %s 2 %s %s AGGREGATE MAX", fmt.Sprint("z", rng.IntN(6)), k, k2)
		case 13:
			cmd = fmt.Sprintf("ZDIFFSTORE %s 2 %s %s", fmt.Sprint("z", rng.IntN(6)), k, k2)
		case 14:
			cmd = fmt.Sprintf("ZRANGESTORE %s %s 0 %d", k2, k, rng.IntN(30))
		case 15:
			cmd = fmt.Sprintf("ZMPOP 2 %s %s MAX COUNT %d", k, k2, 1+rng.IntN(3))
		case 16:
			cmd = fmt.Sprintf("BZPOPMIN %s %s 0", k, k2)
		case 17:
			cmd = fmt.Sprintf("PEXPIRE %s %d", k, 1+rng.IntN(5000))
		case 18:
			cmd = fmt.Sprintf("ZREMRANGEBYLEX %s [m1 (m5", k)
		default:
			cmd = "ZRANGE " + k + " 0 -1 WITHSCORES"
		}
		e.Exec(rng.IntN(2), kArgv(cmd))
		clk.advance(time.Duration(rng.IntN(50)) * time.Millisecond)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	want := listDump(e)
	if len(want) < 4 {
		t.Fatalf("workload left only %d keys", len(want))
	}
	r := openTestEngine(t, log, newTestClock(), -1)
	if got := listDump(r); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("replayed image differs:\n got %q\nwant %q", got, want)
	}
	d1, _, err1 := e.Digest()
	d2, _, err2 := r.Digest()
	if err1 != nil || err2 != nil || d1 != d2 {
		t.Fatalf("digests differ: %v %v (%v %v)", d1, d2, err1, err2)
	}
}
