package schema

import (
	"strings"
	"testing"
)

func TestHashChecks(t *testing.T) {
	outOfRange := "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
	tests := []struct {
		cmd  string
		want string // "" means valid
	}{
		{"HSET h f v", ""},
		{"HSET h f v g w", ""},
		{"HSET h f", "ERR wrong number of arguments for 'hset' command"},
		{"HSET h f v g", "ERR wrong number of arguments for 'hset' command"},
		{"hmset h f v g", "ERR wrong number of arguments for 'hmset' command"},
		{"HMSET h f v", ""},
		{"HSETNX h f v", ""},
		{"HSETNX h f", "ERR wrong number of arguments for 'hsetnx' command"},
		{"HGET h f", ""},
		{"HMGET h", "ERR wrong number of arguments for 'hmget' command"},
		{"HDEL h", "ERR wrong number of arguments for 'hdel' command"},
		{"HGETALL h x", "ERR wrong number of arguments for 'hgetall' command"},

		{"HINCRBY h f 1", ""},
		{"HINCRBY h f -9223372036854775808", ""},
		{"HINCRBY h f 9223372036854775808", "ERR value is not an integer or out of range"},
		{"HINCRBY h f 1.0", "ERR value is not an integer or out of range"},
		{"HINCRBY h f +1", "ERR value is not an integer or out of range"},
		{"HINCRBYFLOAT h f 1.5", ""},
		{"HINCRBYFLOAT h f 0x1p3", ""},
		{"HINCRBYFLOAT h f -1e4000", ""},
		{"HINCRBYFLOAT h f abc", "ERR value is not a valid float"},
		{"HINCRBYFLOAT h f nan", "ERR value is not a valid float"},
		{"HINCRBYFLOAT h f 1e5000", "ERR value is not a valid float"},
		{"HINCRBYFLOAT h f inf", "ERR value is NaN or Infinity"},
		{"HINCRBYFLOAT h f -Infinity", "ERR value is NaN or Infinity"},

		{"HRANDFIELD h", ""},
		{"HRANDFIELD h 5", ""},
		{"HRANDFIELD h -5 withvalues", ""},
		{"HRANDFIELD h 9223372036854775807", ""},
		{"HRANDFIELD h -1048576 WITHVALUES", ""},
		{"HRANDFIELD h -1048577", "ERR value is out of range, value must between -1048576 and 9223372036854775807"},
		{"HRANDFIELD h -9223372036854775808", outOfRange},
		{"HRANDFIELD h -9223372036854775808 FOO", outOfRange}, // the count first
		{"HRANDFIELD h x", "ERR value is not an integer or out of range"},
		{"HRANDFIELD h x FOO", "ERR value is not an integer or out of range"},
		{"HRANDFIELD h 1 FOO", "ERR syntax error"},
		{"HRANDFIELD h 1 WITHVALUES FOO", "ERR syntax error"},
		{"HRANDFIELD h 4611686018427387903 WITHVALUES", ""},
		{"HRANDFIELD h 4611686018427387904 WITHVALUES", "ERR value is out of range"},
		{"HRANDFIELD h -4611686018427387904 WITHVALUES", "ERR value is out of range"},
		{"HRANDFIELD h -4611686018427387903 WITHVALUES",
			"ERR value is out of range, value must between -1048576 and 9223372036854775807"},

		{"HSCAN h 0", ""},
		{"HSCAN h 18446744073709551615 MATCH a* COUNT 5 NOVALUES", ""},
		{"HSCAN h 0 novalues novalues", ""},
		{"HSCAN h 18446744073709551616", "ERR invalid cursor"},
		{"HSCAN h -1", "ERR invalid cursor"},
		{"HSCAN h x COUNT 0", "ERR invalid cursor"},
		{"HSCAN h 0 COUNT 0", "ERR syntax error"},
		{"HSCAN h 0 COUNT x", "ERR value is not an integer or out of range"},
		{"HSCAN h 0 MATCH", "ERR syntax error"},
		{"HSCAN h 0 TYPE hash", "ERR syntax error"},
		{"HSCAN h", "ERR wrong number of arguments for 'hscan' command"},
	}
	for _, tc := range tests {
		got := ""
		if err := validate(argvOf(tc.cmd)); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

func TestParseHScanAndRand(t *testing.T) {
	a, err := ParseHScan(argvOf("HSCAN h 42 MATCH * COUNT 7 match f* NOVALUES"))
	if err != nil || a.Cursor != 42 || a.Count != 7 || string(a.Match) != "f*" || !a.NoValues {
		t.Errorf("ParseHScan: %+v %v", a, err)
	}
	a, _ = ParseHScan(argvOf("HSCAN h 0 MATCH f* MATCH *"))
	if a.Match != nil || a.Count != 10 || a.NoValues {
		t.Errorf("ParseHScan defaults: %+v", a)
	}
	r, err := ParseHRandField(argvOf("HRANDFIELD h -3 WithValues"))
	if err != nil || !r.HasCount || r.Count != -3 || !r.WithValues {
		t.Errorf("ParseHRandField: %+v %v", r, err)
	}
	if r, _ := ParseHRandField(argvOf("HRANDFIELD h")); r.HasCount {
		t.Errorf("ParseHRandField without a count: %+v", r)
	}
	f, err := ParseHIncrByFloat(argvOf("HINCRBYFLOAT h f 0.1"))
	if err != nil || FormatLongDouble(f) != "0.1" {
		t.Errorf("ParseHIncrByFloat: %v %v", f, err)
	}
}

func TestHashAndSetCatalog(t *testing.T) {
	tests := []struct {
		name  string
		arity int
		flags string
		keys  [3]int
		group string
	}{
		{"hdel", -3, "write fast", [3]int{1, 1, 1}, "hash"},
		{"hexists", 3, "readonly fast", [3]int{1, 1, 1}, "hash"},
		{"hget", 3, "readonly fast", [3]int{1, 1, 1}, "hash"},
		{"hgetall", 2, "readonly", [3]int{1, 1, 1}, "hash"},
		{"hincrby", 4, "write denyoom fast", [3]int{1, 1, 1}, "hash"},
		{"hincrbyfloat", 4, "write denyoom fast", [3]int{1, 1, 1}, "hash"},
		{"hkeys", 2, "readonly", [3]int{1, 1, 1}, "hash"},
		{"hlen", 2, "readonly fast", [3]int{1, 1, 1}, "hash"},
		{"hmget", -3, "readonly fast", [3]int{1, 1, 1}, "hash"},
		{"hmset", -4, "write denyoom fast", [3]int{1, 1, 1}, "hash"},
		{"hrandfield", -2, "readonly random", [3]int{1, 1, 1}, "hash"},
		{"hscan", -3, "readonly random", [3]int{1, 1, 1}, "hash"},
		{"hset", -4, "write denyoom fast", [3]int{1, 1, 1}, "hash"},
		{"hsetnx", 4, "write denyoom fast", [3]int{1, 1, 1}, "hash"},
		{"hstrlen", 3, "readonly fast", [3]int{1, 1, 1}, "hash"},
		{"hvals", 2, "readonly", [3]int{1, 1, 1}, "hash"},

		{"sadd", -3, "write denyoom fast", [3]int{1, 1, 1}, "set"},
		{"scard", 2, "readonly fast", [3]int{1, 1, 1}, "set"},
		{"sdiff", -2, "readonly", [3]int{1, -1, 1}, "set"},
		{"sdiffstore", -3, "write denyoom", [3]int{1, -1, 1}, "set"},
		{"sinter", -2, "readonly", [3]int{1, -1, 1}, "set"},
		{"sintercard", -3, "readonly", [3]int{0, 0, 0}, "set"},
		{"sinterstore", -3, "write denyoom", [3]int{1, -1, 1}, "set"},
		{"sismember", 3, "readonly fast", [3]int{1, 1, 1}, "set"},
		{"smembers", 2, "readonly", [3]int{1, 1, 1}, "set"},
		{"smismember", -3, "readonly fast", [3]int{1, 1, 1}, "set"},
		{"smove", 4, "write fast", [3]int{1, 2, 1}, "set"},
		{"spop", -2, "write fast random", [3]int{1, 1, 1}, "set"},
		{"srandmember", -2, "readonly random", [3]int{1, 1, 1}, "set"},
		{"srem", -3, "write fast", [3]int{1, 1, 1}, "set"},
		{"sscan", -3, "readonly random", [3]int{1, 1, 1}, "set"},
		{"sunion", -2, "readonly", [3]int{1, -1, 1}, "set"},
		{"sunionstore", -3, "write denyoom", [3]int{1, -1, 1}, "set"},
	}
	for _, tt := range tests {
		c := Lookup([]byte(strings.ToUpper(tt.name)))
		if c == nil {
			t.Errorf("%s: not in the catalog", tt.name)
			continue
		}
		if c.Arity != tt.arity || c.Group != tt.group || c.Summary == "" || c.Since == "" {
			t.Errorf("%s: arity %d group %q summary %q since %q", tt.name, c.Arity, c.Group, c.Summary, c.Since)
		}
		if got := strings.Join(c.Flags.Names(), " "); got != tt.flags {
			t.Errorf("%s: flags %q, want %q", tt.name, got, tt.flags)
		}
		if k := [3]int{c.FirstKey, c.LastKey, c.Step}; k != tt.keys {
			t.Errorf("%s: keys %v, want %v", tt.name, k, tt.keys)
		}
	}
	if pos := Lookup([]byte("sunionstore")).KeyPositions(argvOf("SUNIONSTORE d a b")); len(pos) != 3 {
		t.Errorf("sunionstore key positions %v", pos)
	}
}

func FuzzHashSetChecks(f *testing.F) {
	for _, s := range []string{"HRANDFIELD h -5 WITHVALUES", "HSCAN h 0 MATCH a COUNT 3 NOVALUES",
		"SINTERCARD 2 a b LIMIT 3", "SPOP s 3", "SRANDMEMBER s -2", "SSCAN s 0 COUNT 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv := argvOf(s)
		if len(argv) == 0 {
			return
		}
		c := Lookup(argv[0])
		if c == nil || (c.Group != "hash" && c.Group != "set") {
			return
		}
		_ = c.Validate(argv) // must not panic
	})
}
