package schema

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

func argvOf(s string) [][]byte {
	var argv [][]byte
	for _, f := range strings.Fields(s) {
		if f == `""` {
			f = ""
		}
		argv = append(argv, []byte(f))
	}
	return argv
}

func validate(argv [][]byte) error {
	c := Lookup(argv[0])
	if c == nil {
		return UnknownCommand(argv)
	}
	return c.Validate(argv)
}

func TestStringChecks(t *testing.T) {
	invalidSet := "ERR invalid expire time in 'set' command"
	invalidGetEx := "ERR invalid expire time in 'getex' command"
	tests := []struct {
		cmd  string
		want string // "" means valid
	}{
		// SET: options, repeats and conflicts as parseExtendedStringArgumentsOrReply.
		{"SET k v", ""},
		{"set k v nx", ""},
		{"SET k v XX", ""},
		{"SET k v NX GET", ""},
		{"SET k v XX GET", ""},
		{"SET k v GET GET", ""},
		{"SET k v NX NX", ""},
		{"SET k v EX 10", ""},
		{"SET k v ex 10 ex 20", ""},
		{"SET k v PX 10", ""},
		{"SET k v EXAT 1", ""},
		{"SET k v PXAT 1", ""},
		{"SET k v KEEPTTL", ""},
		{"SET k v KEEPTTL GET XX", ""},
		{"SET k v GET EX 100 NX", ""},
		{"SET k", "ERR wrong number of arguments for 'set' command"},
		{"SET k v NX XX", "ERR syntax error"},
		{"SET k v XX NX", "ERR syntax error"},
		{"SET k v EX 10 PX 10", "ERR syntax error"},
		{"SET k v PX 10 EXAT 10", "ERR syntax error"},
		{"SET k v EXAT 10 PXAT 10", "ERR syntax error"},
		{"SET k v EX 10 KEEPTTL", "ERR syntax error"},
		{"SET k v KEEPTTL PX 10", "ERR syntax error"},
		{"SET k v EX", "ERR syntax error"},
		{"SET k v NX EX", "ERR syntax error"},
		{"SET k v PERSIST", "ERR syntax error"},
		{"SET k v FOO", "ERR syntax error"},
		{"SET k v NXX", "ERR syntax error"},
		{"SET k v EX abc FOO", "ERR syntax error"}, // syntax before numbers
		{"SET k v EX abc", "ERR value is not an integer or out of range"},
		{"SET k v EX 1.5", "ERR value is not an integer or out of range"},
		{"SET k v EX +1", "ERR value is not an integer or out of range"},
		{"SET k v EX 0", invalidSet},
		{"SET k v EX -1", invalidSet},
		{"SET k v PX 0", invalidSet},
		{"SET k v PX -100", invalidSet},
		{"SET k v EXAT 0", invalidSet},
		{"SET k v PXAT -1", invalidSet},
		{"SET k v EXAT 9223372036854775", ""},
		{"SET k v EX 9223372036854775", invalidSet},                // fits in ms, but not once now is added
		{"SET k v EX 9223372036854776", invalidSet},                // seconds to ms overflows
		{"SET k v PX 9223372036854775807", invalidSet},             // now + ms overflows
		{"SET k v PXAT 9223372036854775807", ""},                   // absolute: no addition
		{"SET k v EX 99999999999999999999", ErrNotInteger.Error()}, // out of int64

		// GETEX.
		{"GETEX k", ""},
		{"GETEX k EX 10", ""},
		{"GETEX k px 10", ""},
		{"GETEX k EXAT 10", ""},
		{"GETEX k PXAT 10", ""},
		{"GETEX k PERSIST", ""},
		{"GETEX k PERSIST PERSIST", ""},
		{"GETEX k NX", "ERR syntax error"},
		{"GETEX k GET", "ERR syntax error"},
		{"GETEX k KEEPTTL", "ERR syntax error"},
		{"GETEX k EX 10 PERSIST", "ERR syntax error"},
		{"GETEX k PERSIST EX 10", "ERR syntax error"},
		{"GETEX k EX 10 PX 10", "ERR syntax error"},
		{"GETEX k EX", "ERR syntax error"},
		{"GETEX k EX x", "ERR value is not an integer or out of range"},
		{"GETEX k EX 0", invalidGetEx},
		{"GETEX k PXAT -5", invalidGetEx},
		{"GETEX", "ERR wrong number of arguments for 'getex' command"},

		// SETEX, PSETEX.
		{"SETEX k 10 v", ""},
		{"SETEX k 0 v", "ERR invalid expire time in 'setex' command"},
		{"setex k -1 v", "ERR invalid expire time in 'setex' command"},
		{"SETEX k 9223372036854776 v", "ERR invalid expire time in 'setex' command"},
		{"SETEX k ten v", "ERR value is not an integer or out of range"},
		{"PSETEX k 100 v", ""},
		{"PSETEX k 0 v", "ERR invalid expire time in 'psetex' command"},
		{"PSETEX k 9223372036854775807 v", "ERR invalid expire time in 'psetex' command"},
		{"SETEX k 10", "ERR wrong number of arguments for 'setex' command"},

		// MSET, MSETNX.
		{"MSET a 1", ""},
		{"MSET a 1 b 2", ""},
		{"MSET a", "ERR wrong number of arguments for 'mset' command"},
		{"MSET a 1 b", "ERR wrong number of arguments for 'mset' command"},
		{"MSETNX a 1 b", "ERR wrong number of arguments for 'msetnx' command"},
		{"MGET", "ERR wrong number of arguments for 'mget' command"},

		// INCRBY, DECRBY, INCRBYFLOAT.
		{"INCRBY k 5", ""},
		{"INCRBY k -9223372036854775808", ""},
		{"INCRBY k 9223372036854775808", "ERR value is not an integer or out of range"},
		{"INCRBY k 1.5", "ERR value is not an integer or out of range"},
		{"INCRBY k 05", "ERR value is not an integer or out of range"},
		{"DECRBY k 9223372036854775807", ""},
		{"DECRBY k -9223372036854775808", "ERR decrement would overflow"},
		{"DECRBY k x", "ERR value is not an integer or out of range"},
		{"INCRBYFLOAT k 1.5", ""},
		{"INCRBYFLOAT k 5.0e3", ""},
		{"INCRBYFLOAT k -.5", ""},
		{"INCRBYFLOAT k 0x1p3", ""},
		{"INCRBYFLOAT k 1e4000", ""},
		{"INCRBYFLOAT k abc", "ERR value is not a valid float"},
		{"INCRBYFLOAT k nan", "ERR value is not a valid float"},
		{"INCRBYFLOAT k 1e", "ERR value is not a valid float"},
		{"INCRBYFLOAT k 1e5000", "ERR value is not a valid float"},
		{"INCRBYFLOAT k 1_000", "ERR value is not a valid float"},
		{"INCRBYFLOAT k inf", "ERR increment would produce NaN or Infinity"},
		{"INCRBYFLOAT k -Infinity", "ERR increment would produce NaN or Infinity"},
		{"INCR k 1", "ERR wrong number of arguments for 'incr' command"},

		// GETRANGE, SUBSTR, SETRANGE.
		{"GETRANGE k 0 -1", ""},
		{"GETRANGE k a 1", "ERR value is not an integer or out of range"},
		{"GETRANGE k 0 b", "ERR value is not an integer or out of range"},
		{"SUBSTR k 0 x", "ERR value is not an integer or out of range"},
		{"SETRANGE k 0 v", ""},
		{"SETRANGE k -1 v", "ERR offset is out of range"},
		{"SETRANGE k x v", "ERR value is not an integer or out of range"},
		{"SETRANGE k 536870911 v", ""},
		{"SETRANGE k 536870912 v", "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
		{`SETRANGE k 536870912 ""`, ""},
		{"SETRANGE k 9223372036854775807 v", "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},

		// LCS.
		{"LCS a b", ""},
		{"LCS a b LEN", ""},
		{"LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN", ""},
		{"LCS a b idx minmatchlen -3", ""},
		{"LCS a b LEN IDX", "ERR If you want both the length and indexes, please just use IDX."},
		{"LCS a b FOO", "ERR syntax error"},
		{"LCS a b MINMATCHLEN", "ERR syntax error"},
		{"LCS a b MINMATCHLEN x", "ERR value is not an integer or out of range"},
		{"LCS a", "ERR wrong number of arguments for 'lcs' command"},
	}
	for _, tt := range tests {
		err := validate(argvOf(tt.cmd))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

func TestStringCatalog(t *testing.T) {
	tests := []struct {
		name  string
		arity int
		flags []string
		keys  [3]int
	}{
		{"append", 3, []string{"write", "denyoom", "fast"}, [3]int{1, 1, 1}},
		{"decr", 2, []string{"write", "denyoom", "fast"}, [3]int{1, 1, 1}},
		{"get", 2, []string{"readonly", "fast"}, [3]int{1, 1, 1}},
		{"getdel", 2, []string{"write", "fast"}, [3]int{1, 1, 1}},
		{"getex", -2, []string{"write", "fast"}, [3]int{1, 1, 1}},
		{"getrange", 4, []string{"readonly"}, [3]int{1, 1, 1}},
		{"incrbyfloat", 3, []string{"write", "denyoom", "fast"}, [3]int{1, 1, 1}},
		{"lcs", -3, []string{"readonly"}, [3]int{1, 2, 1}},
		{"mget", -2, []string{"readonly", "fast"}, [3]int{1, -1, 1}},
		{"mset", -3, []string{"write", "denyoom"}, [3]int{1, -1, 2}},
		{"set", -3, []string{"write", "denyoom"}, [3]int{1, 1, 1}},
		{"setnx", 3, []string{"write", "denyoom", "fast"}, [3]int{1, 1, 1}},
		{"setrange", 4, []string{"write", "denyoom"}, [3]int{1, 1, 1}},
		{"strlen", 2, []string{"readonly", "fast"}, [3]int{1, 1, 1}},
		{"substr", 4, []string{"readonly"}, [3]int{1, 1, 1}},
	}
	for _, tt := range tests {
		c := Lookup([]byte(tt.name))
		if c == nil {
			t.Errorf("%s: not in the catalog", tt.name)
			continue
		}
		if c.Arity != tt.arity || c.Group != "string" {
			t.Errorf("%s: arity %d group %q", tt.name, c.Arity, c.Group)
		}
		if got := strings.Join(c.Flags.Names(), " "); got != strings.Join(tt.flags, " ") {
			t.Errorf("%s: flags %q, want %q", tt.name, got, tt.flags)
		}
		if k := [3]int{c.FirstKey, c.LastKey, c.Step}; k != tt.keys {
			t.Errorf("%s: keys %v, want %v", tt.name, k, tt.keys)
		}
	}
	mset := Lookup([]byte("mset"))
	if pos := mset.KeyPositions(argvOf("MSET a 1 b 2 c 3")); len(pos) != 3 || pos[2] != 5 {
		t.Errorf("mset key positions %v", pos)
	}
}

func TestParseSetOptions(t *testing.T) {
	o, err := ParseSetOptions(argvOf("SET k v NX GET EX 10 EX 20"))
	if err != nil {
		t.Fatal(err)
	}
	if !o.NX || o.XX || !o.Get || o.KeepTTL || o.Expire != (Expire{Mode: ExpireEX, N: 20}) {
		t.Fatalf("got %+v", o)
	}
	o, err = ParseSetOptions(argvOf("SET k v xx keepttl"))
	if err != nil || !o.XX || !o.KeepTTL || o.Expire.Mode != ExpireNone {
		t.Fatalf("got %+v, %v", o, err)
	}
	g, err := ParseGetExOptions(argvOf("GETEX k PXAT 1234"))
	if err != nil || g.Persist || g.Expire != (Expire{Mode: ExpirePXAT, N: 1234}) {
		t.Fatalf("got %+v, %v", g, err)
	}
}

func TestExpireAt(t *testing.T) {
	const now = 1_700_000_000_000
	tests := []struct {
		x    Expire
		want int64
		err  bool
	}{
		{Expire{ExpireEX, 10}, now + 10_000, false},
		{Expire{ExpirePX, 10}, now + 10, false},
		{Expire{ExpireEXAT, 10}, 10_000, false},
		{Expire{ExpirePXAT, 10}, 10, false},
		{Expire{ExpirePX, math.MaxInt64 - now}, math.MaxInt64, false},
		{Expire{ExpirePX, math.MaxInt64 - now + 1}, 0, true},
		{Expire{ExpireEX, math.MaxInt64 / 1000}, 0, true},
		{Expire{ExpirePXAT, math.MaxInt64}, math.MaxInt64, false},
	}
	for _, tt := range tests {
		got, err := tt.x.At("set", now)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("%+v: got %d, %v", tt.x, got, err)
		}
		if err != nil && err.Error() != "ERR invalid expire time in 'set' command" {
			t.Errorf("%+v: error %q", tt.x, err)
		}
	}
}

func TestLongDouble(t *testing.T) {
	sum := func(a, b string) string {
		x, ok := ParseLongDouble([]byte(a))
		if !ok {
			return "bad " + a
		}
		y, ok := ParseLongDouble([]byte(b))
		if !ok {
			return "bad " + b
		}
		z := NewLongDouble().Add(x, y)
		if !LongDoubleFinite(z) {
			return "inf"
		}
		return FormatLongDouble(z)
	}
	tests := []struct{ a, b, want string }{
		{"10.50", "0.1", "10.6"},
		{"10.6", "-5", "5.6"},
		{"5.0e3", "2.0e2", "5200"},
		{"0.1", "0.2", "0.3"},
		{"0", "0", "0"},
		{"0", "-0", "0"},
		{"-1e-30", "0", "0"}, // "%.17Lf" gives -0.000..., written 0
		{"3", "1.5", "4.5"},
		{"1", "-1", "0"},
		{"1e20", "0", "100000000000000000000"},
		{"0x10", "0", "16"},
		{"0X1.8p1", "0", "3"},
		{"+.5", "1.", "1.5"},
		{"1.5E+2", "0", "150"},
		{"123456789012345678", "1", "123456789012345679"}, // exact in 64 bits, not in a double
		{"1e4932", "1e4932", "inf"},
		{"-1e4932", "-1e4932", "inf"},
		{"1.1e4932", "0", FormatLongDouble(mustLD("1.1e4932"))},
	}
	for _, tt := range tests {
		if got := sum(tt.a, tt.b); got != tt.want {
			t.Errorf("%s + %s = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
	for _, bad := range []string{"", " 1", "1 ", "abc", "nan", "-nan", "NaN", "1e", "1e+", "e5", ".",
		"0x", "0xg", "1.2.3", "1_0", "0b101", "0o7", "1e5000", "1e-5000", "0x1p99999", "infi", "++1", "1\x002"} {
		if _, ok := ParseLongDouble([]byte(bad)); ok {
			t.Errorf("ParseLongDouble(%q) accepted", bad)
		}
	}
	for _, good := range []string{"inf", "-INF", "+Infinity", "0e-99999", "1e-4900", "0x.8", "1.e3"} {
		if _, ok := ParseLongDouble([]byte(good)); !ok {
			t.Errorf("ParseLongDouble(%q) refused", good)
		}
	}
	if s := FormatLongDouble(mustLD("1.1e4932")); len(s) != 4933 || !strings.HasPrefix(s, "1") {
		t.Errorf("largest values: %d digits", len(s))
	}
}

func mustLD(s string) *big.Float {
	f, ok := ParseLongDouble([]byte(s))
	if !ok {
		panic(s)
	}
	return f
}

// FuzzParseLongDouble checks that the parser never panics and agrees with
// strconv on what strconv reads as a plain decimal in the double range: the
// two roundings (to 64 bits, then to 53) may differ from one rounding by
// one unit in the last place, never more.
func FuzzParseLongDouble(f *testing.F) {
	for _, s := range []string{"0", "1.5", "-0.1", "5.0e3", "1e308", "1e-320", "0x1.8p3", "inf",
		"-Infinity", "nan", "1e", ".5", "5.", "1_0", "123456789012345678901234567890", "1e4932"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseLongDouble([]byte(s))
		if !ok || v.IsInf() || strings.ContainsAny(s, "xXiInN_") {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(want, 0) || want == 0 || math.Abs(want) < 0x1p-1022 {
			return
		}
		got, _ := v.Float64()
		if got != want && math.Nextafter(got, want) != want {
			t.Errorf("%q: %v, strconv %v", s, got, want)
		}
		// What INCRBYFLOAT stores must be a number INCRBYFLOAT reads.
		if _, ok := ParseLongDouble([]byte(FormatLongDouble(v))); !ok {
			t.Fatalf("%q: formatted %q does not parse", s, FormatLongDouble(v))
		}
	})
}

// FuzzSetOptions checks that SET's check and parser agree and never panic.
func FuzzSetOptions(f *testing.F) {
	for _, s := range []string{"NX GET EX 10", "XX KEEPTTL", "PX 5 PX 6", "EXAT", "GET GET NX XX", "PERSIST"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, opts string) {
		argv := append(argvOf("SET k v"), argvOf(opts)...)
		o, err := ParseSetOptions(argv)
		if err != nil {
			return
		}
		if o.NX && o.XX || o.KeepTTL && o.Expire.Mode != ExpireNone {
			t.Fatalf("%q: conflicting options accepted: %+v", opts, o)
		}
		if o.Expire.Mode != ExpireNone && o.Expire.N <= 0 {
			t.Fatalf("%q: non-positive expire accepted", opts)
		}
	})
}
