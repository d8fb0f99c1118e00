package schema

import (
	"math"
	"testing"
)

func TestZSetChecks(t *testing.T) {
	tests := []struct {
		cmd  string
		want string // "" means valid
	}{
		{"ZADD z 1 a", ""},
		{"ZADD z NX CH 1 a 2 b", ""},
		{"ZADD z xx gt ch incr 1 a", ""},
		{"ZADD z 1", "ERR wrong number of arguments for 'zadd' command"},
		{"ZADD z 1 a 2", "ERR syntax error"},
		{"ZADD z NX CH", "ERR syntax error"},
		{"ZADD z FOO 1 a", "ERR syntax error"},
		{"ZADD z FOO a", "ERR value is not a valid float"},
		{"ZADD z NX XX 1 a", "ERR XX and NX options at the same time are not compatible"},
		{"ZADD z LT GT 1 a", "ERR GT, LT, and/or NX options at the same time are not compatible"},
		{"ZADD z LT NX 1 a", "ERR GT, LT, and/or NX options at the same time are not compatible"},
		{"ZADD z INCR 1 a 2 b", "ERR INCR option supports a single increment-element pair"},
		{"ZADD z NX XX 1 a 2", "ERR syntax error"}, // pairs are counted first
		{"ZADD z inf a -inf b +inf c", ""},
		{"ZADD z 0x1p3 a", ""},
		{"ZADD z 1e400 a", "ERR value is not a valid float"},
		{"ZINCRBY z 1 a", ""},
		{"ZINCRBY z ch a", "ERR syntax error"},
		{"ZINCRBY z x a", "ERR value is not a valid float"},
		{"ZCOUNT z (1 +inf", ""},
		{"ZCOUNT z x 1", "ERR min or max is not a float"},
		{"ZLEXCOUNT z - +", ""},
		{"ZLEXCOUNT z [a (b", ""},
		{"ZLEXCOUNT z a b", "ERR min or max not valid string range item"},
		{`ZLEXCOUNT z "" +`, "ERR min or max not valid string range item"},
		{"ZLEXCOUNT z -x +", "ERR min or max not valid string range item"},
		{"ZRANK z a", ""},
		{"ZRANK z a WITHSCORE", ""},
		{"ZRANK z a withscores", "ERR syntax error"},
		{"ZRANK z a WITHSCORE x", "ERR wrong number of arguments for 'zrank' command"},
		{"ZRANGE z 0 -1", ""},
		{"ZRANGE z 0 -1 REV WITHSCORES", ""},
		{"ZRANGE z (1 5 BYSCORE LIMIT 0 10", ""},
		{"ZRANGE z [a + BYLEX REV LIMIT 1 -1", ""},
		{"ZRANGE z 0 1 LIMIT 0 1", "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"},
		{"ZRANGE z 0 1 LIMIT 0 -1", ""},
		{"ZRANGE z - + BYLEX WITHSCORES", "ERR syntax error, WITHSCORES not supported in combination with BYLEX"},
		{"ZRANGE z 0 1 LIMIT 0", "ERR syntax error"},
		{"ZRANGE z 0 1 LIMIT x 1 BYSCORE", "ERR value is not an integer or out of range"},
		{"ZRANGE z x 1", "ERR value is not an integer or out of range"},
		{"ZRANGE z x 1 BYSCORE", "ERR min or max is not a float"},
		{"ZRANGE z 0 1 BYSCORE BYLEX", "ERR syntax error"},
		{"ZRANGE z 0 1 REV REV", "ERR syntax error"},
		{"ZRANGESTORE d z 0 1", ""},
		{"ZRANGESTORE d z 0 1 WITHSCORES", "ERR syntax error"},
		{"ZRANGESTORE d z 0", "ERR wrong number of arguments for 'zrangestore' command"},
		{"ZREVRANGE z 0 1 WITHSCORES", ""},
		{"ZREVRANGE z 0 1 REV", "ERR syntax error"},
		{"ZREVRANGE z 0 1 LIMIT 0 1", "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"},
		{"ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 0 1", ""},
		{"ZRANGEBYSCORE z 0 1 BYSCORE", "ERR syntax error"},
		{"ZREVRANGEBYSCORE z 1 x", "ERR min or max is not a float"},
		{"ZRANGEBYLEX z - + LIMIT 0 1", ""},
		{"ZRANGEBYLEX z - + WITHSCORES", "ERR syntax error, WITHSCORES not supported in combination with BYLEX"},
		{"ZREVRANGEBYLEX z + [a", ""},
		{"ZREMRANGEBYRANK z 0 -1", ""},
		{"ZREMRANGEBYRANK z 0 x", "ERR value is not an integer or out of range"},
		{"ZREMRANGEBYSCORE z 0 x", "ERR min or max is not a float"},
		{"ZREMRANGEBYLEX z 0 x", "ERR min or max not valid string range item"},
		{"ZPOPMIN z", ""},
		{"ZPOPMIN z 0", ""},
		{"ZPOPMIN z -1", "ERR value is out of range, must be positive"},
		{"ZPOPMIN z x", "ERR value is out of range, must be positive"},
		{"ZPOPMAX z 1 2", "ERR syntax error"},
		{"ZMPOP 1 z MIN", ""},
		{"ZMPOP 2 a b max COUNT 3", ""},
		{"ZMPOP 0 z MIN", "ERR numkeys should be greater than 0"},
		{"ZMPOP x z MIN", "ERR numkeys should be greater than 0"},
		{"ZMPOP 9223372036854775807 z MIN", "ERR syntax error"},
		{"ZMPOP 1 z LEFT", "ERR syntax error"},
		{"ZMPOP 1 z MIN COUNT", "ERR syntax error"},
		{"ZMPOP 1 z MIN COUNT 0", "ERR count should be greater than 0"},
		{"ZMPOP 1 z MIN COUNT 1 COUNT 2", "ERR syntax error"},
		{"BZPOPMIN a b 0", ""},
		{"BZPOPMAX a 1.5", ""},
		{"BZPOPMIN a -0.0001", ""},
		{"BZPOPMIN a -1", "ERR timeout is negative"},
		{"BZPOPMIN a x", "ERR timeout is not a float or out of range"},
		{"BZPOPMIN a inf", "ERR timeout is out of range"},
		{"BZPOPMIN a", "ERR wrong number of arguments for 'bzpopmin' command"},
		{"ZUNIONSTORE d 2 a b WEIGHTS 1 2 AGGREGATE min", ""},
		{"ZUNIONSTORE d 2 a b WEIGHTS 1", "ERR syntax error"},
		{"ZUNIONSTORE d 2 a b WEIGHTS 1 x", "ERR weight value is not a float"},
		{"ZUNIONSTORE d 2 a b AGGREGATE avg", "ERR syntax error"},
		{"ZUNIONSTORE d 2 a b WITHSCORES", "ERR syntax error"},
		{"ZUNIONSTORE d 0 a", "ERR at least 1 input key is needed for 'zunionstore' command"},
		{"ZINTERSTORE d -1 a", "ERR at least 1 input key is needed for 'zinterstore' command"},
		{"ZDIFFSTORE d x a", "ERR value is not an integer or out of range"},
		{"ZDIFFSTORE d 3 a b", "ERR syntax error"},
		{"ZDIFFSTORE d 2 a b AGGREGATE max", "ERR syntax error"},
		{"ZUNION 2 a b WITHSCORES", ""},
		{"ZUNION 2 a b FOO", ""}, // options are read after the keys' lookup
		{"ZUNION 0 a", "ERR at least 1 input key is needed for 'zunion' command"},
		{"ZINTERCARD 2 a b", ""},
		{"ZINTERCARD 3 a b", "ERR syntax error"},
		{"ZRANDMEMBER z", ""},
		{"ZRANDMEMBER z -5 WITHSCORES", ""},
		{"ZRANDMEMBER z x", "ERR value is not an integer or out of range"},
		{"ZRANDMEMBER z 1 withscore", "ERR syntax error"},
		{"ZRANDMEMBER z 1 WITHSCORES x", "ERR syntax error"},
		{"ZRANDMEMBER z -4611686018427387905 WITHSCORES", "ERR value is out of range"},
		{"ZRANDMEMBER z -4611686018427387904 WITHSCORES", ""},
		{"ZSCAN z 0", ""},
		{"ZSCAN z 0 COUNT x", ""}, // options are read after the key's lookup
		{"ZSCAN z x", "ERR invalid cursor"},
		{"ZSCAN z -1", ""},
		{"ZSCAN z 18446744073709551616", "ERR invalid cursor"},
	}
	for _, tc := range tests {
		err := validate(argvOf(tc.cmd))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

func TestZParseOptions(t *testing.T) {
	a, err := ParseZSetOp(argvOf("ZUNIONSTORE d 2 a b WEIGHTS 2 0.5 AGGREGATE MAX WEIGHTS 3 4"))
	if err != nil || string(a.Dest) != "d" || len(a.Keys) != 2 || a.Weights[0] != 3 || a.Weights[1] != 4 || a.Aggregate != ZAggMax {
		t.Errorf("ParseZSetOp: %+v %v", a, err)
	}
	a, err = ParseZSetOp(argvOf("ZINTERCARD 1 a LIMIT 5"))
	if err != nil || !a.CardOnly || a.Limit != 5 || a.Op != ZInter {
		t.Errorf("ZINTERCARD: %+v %v", a, err)
	}
	r, err := ParseZRange(argvOf("ZREVRANGEBYSCORE z (5 -inf LIMIT 1 2 WITHSCORES"))
	if err != nil || r.By != ZByScore || !r.Rev || r.Score.Min != math.Inf(-1) || r.Score.Max != 5 || !r.Score.MaxEx ||
		r.Offset != 1 || r.Limit != 2 || !r.WithScores {
		t.Errorf("ParseZRange: %+v %v", r, err)
	}
	m, c, err := ParseZScanOptions(argvOf("ZSCAN z 0 MATCH a* COUNT 5 MATCH *"))
	if err != nil || m != nil || c != 5 {
		t.Errorf("ParseZScanOptions: %q %d %v", m, c, err)
	}
	if _, _, err := ParseZScanOptions(argvOf("ZSCAN z 0 COUNT 0")); err != ErrSyntax {
		t.Errorf("COUNT 0: %v", err)
	}
	b, ok := ParseZBlocking(argvOf("BZPOPMAX a b 1.5"))
	if !ok || len(b.Keys) != 2 || b.Timeout.Milliseconds() != 1500 {
		t.Errorf("ParseZBlocking: %+v %v", b, ok)
	}
	if _, ok := ParseZBlocking(argvOf("ZPOPMAX a 1")); ok {
		t.Errorf("ParseZBlocking accepted ZPOPMAX")
	}
}

// TestZStrtod checks the emulation of glibc's strtod that score ranges
// use, and string2d's stricter reading of scores.
func TestZStrtod(t *testing.T) {
	tests := []struct {
		in     string
		v      float64
		n      int
		erange bool
	}{
		{"", 0, 0, false},
		{"1", 1, 1, false},
		{"  -1.5e3x", -1500, 8, false},
		{"+.5", 0.5, 3, false},
		{"5.", 5, 2, false},
		{".", 0, 0, false},
		{"-", 0, 0, false},
		{"1e", 1, 1, false},
		{"1e+", 1, 1, false},
		{"1e+2", 100, 4, false},
		{"0x", 0, 1, false},
		{"0x10", 16, 4, false},
		{"0X1.8p1", 3, 7, false},
		{"0x1p", 1, 3, false},
		{"0x.8", 0.5, 4, false},
		{"inf", math.Inf(1), 3, false},
		{"-Infinity", math.Inf(-1), 9, false},
		{"infinit", math.Inf(1), 3, false},
		{"1e400", math.Inf(1), 5, true},
		{"-1e400", math.Inf(-1), 6, true},
		{"1e-400", 0, 6, true},
		{"0e-400", 0, 6, false},
		{"1e-310", 1e-310, 6, false},
		{"1_0", 1, 1, false},
	}
	for _, tc := range tests {
		v, n, er := zStrtod([]byte(tc.in))
		if v != tc.v || n != tc.n || er != tc.erange {
			t.Errorf("zStrtod(%q) = %v %d %v, want %v %d %v", tc.in, v, n, er, tc.v, tc.n, tc.erange)
		}
	}
	if v, n, _ := zStrtod([]byte("nan(abc)x")); !math.IsNaN(v) || n != 8 {
		t.Errorf("nan(abc): %v %d", v, n)
	}
	for in, ok := range map[string]bool{
		"1": true, "-0": true, "1.5": true, "inf": true, "-inf": true, "0x10": true, "1e-310": true,
		"": false, " 1": false, "1 ": false, "nan": false, "1e400": false, "1e-400": false, "1_0": false, "x": false,
	} {
		if _, got := ParseZScore([]byte(in)); got != ok {
			t.Errorf("ParseZScore(%q) = %v, want %v", in, got, ok)
		}
	}
	for in, ok := range map[string]bool{
		"": true, "(": true, " 1": true, "(1": true, "0x2": true, "1e400": true, "((1": false, "1 ": false,
		"nan": false, "(nan": false, "1\x00junk": true,
	} {
		if _, _, got := zParseScoreBound([]byte(in)); got != ok {
			t.Errorf("zParseScoreBound(%q) = %v, want %v", in, got, ok)
		}
	}
}

func TestZRanges(t *testing.T) {
	r, _ := ParseZScoreRange([]byte("(1"), []byte("2"))
	if r.AboveMin(1) || !r.AboveMin(1.5) || !r.BelowMax(2) || r.BelowMax(2.1) || r.Empty() {
		t.Errorf("score range %+v", r)
	}
	for _, tc := range []struct {
		min, max string
		empty    bool
	}{
		{"-", "+", false}, {"+", "-", true}, {"-", "-", true}, {"+", "+", true},
		{"[a", "[a", false}, {"(a", "[a", true}, {"[b", "[a", true}, {"[a", "+", false}, {"-", "[a", false},
		{"[", "(", true}, {"[", "[", false},
	} {
		l, err := ParseZLexRange([]byte(tc.min), []byte(tc.max))
		if err != nil || l.Empty() != tc.empty {
			t.Errorf("lex range %s %s: empty %v, want %v (%v)", tc.min, tc.max, l.Empty(), tc.empty, err)
		}
	}
	l, _ := ParseZLexRange([]byte("(b"), []byte("[d"))
	if l.AboveMin("b") || !l.AboveMin("ba") || !l.BelowMax("d") || l.BelowMax("da") {
		t.Errorf("lex range %+v", l)
	}
	for in, want := range map[string]uint64{"0": 0, "": 0, "+7": 7, "-1": math.MaxUint64, "18446744073709551615": math.MaxUint64} {
		if got, err := ParseZScanCursor([]byte(in)); err != nil || got != want {
			t.Errorf("ParseZScanCursor(%q) = %d %v", in, got, err)
		}
	}
	for _, in := range []string{" 1", "-", "1x", "18446744073709551616"} {
		if _, err := ParseZScanCursor([]byte(in)); err != ErrInvalidCursor {
			t.Errorf("ParseZScanCursor(%q) accepted", in)
		}
	}
}
