package schema

import (
	"strings"
	"testing"
	"time"
)

func keysArgv(s string) [][]byte {
	var argv [][]byte
	for _, f := range strings.Fields(s) {
		argv = append(argv, []byte(f))
	}
	return argv
}

func keysValidate(argv [][]byte) error {
	c := Lookup(argv[0])
	if c == nil {
		return UnknownCommand(argv)
	}
	return c.Validate(argv)
}

func TestKeysChecks(t *testing.T) {
	arity := func(cmd string) string { return "ERR wrong number of arguments for '" + cmd + "' command" }
	nxAnd := "ERR NX and XX, GT or LT options at the same time are not compatible"
	gtlt := "ERR GT and LT options at the same time are not compatible"
	tests := []struct {
		cmd  string
		want string // "" means valid
	}{
		{"DEL a", ""},
		{"DEL a b c", ""},
		{"DEL", arity("del")},
		{"UNLINK", arity("unlink")},
		{"EXISTS a a", ""},
		{"EXISTS", arity("exists")},
		{"TYPE a", ""},
		{"TYPE a b", arity("type")},
		{"TOUCH a b", ""},
		{"TOUCH", arity("touch")},

		{"EXPIRE k 10", ""},
		{"EXPIRE k -10", ""},
		{"EXPIRE k 0", ""},
		{"expire k 10 nx", ""},
		{"EXPIRE k 10 XX", ""},
		{"EXPIRE k 10 GT", ""},
		{"EXPIRE k 10 LT", ""},
		{"EXPIRE k 10 XX GT", ""},
		{"EXPIRE k 10 LT XX", ""},
		{"EXPIRE k 10 NX NX", ""},
		{"EXPIRE k 10 GT GT XX", ""},
		{"EXPIRE k 10 NX XX", nxAnd},
		{"EXPIRE k 10 XX NX", nxAnd},
		{"EXPIRE k 10 NX GT", nxAnd},
		{"EXPIRE k 10 LT NX", nxAnd},
		{"EXPIRE k 10 NX GT LT", nxAnd}, // NX is checked first
		{"EXPIRE k 10 GT LT", gtlt},
		{"EXPIRE k 10 XX LT GT", gtlt},
		{"EXPIRE k 10 FOO", "ERR Unsupported option FOO"},
		{"EXPIRE k 10 NX foo", "ERR Unsupported option foo"},
		{"EXPIRE k x FOO", "ERR Unsupported option FOO"}, // options before the number
		{"EXPIRE k x NX XX", nxAnd},
		{"EXPIRE k x", "ERR value is not an integer or out of range"},
		{"EXPIRE k 01", "ERR value is not an integer or out of range"},
		{"EXPIRE k +1", "ERR value is not an integer or out of range"},
		{"EXPIRE k", arity("expire")},
		{"EXPIRE k 9223372036854775", "ERR invalid expire time in 'expire' command"}, // overflows now
		{"EXPIRE k 9223372036854776", "ERR invalid expire time in 'expire' command"},
		{"EXPIRE k -9223372036854775", ""},
		{"EXPIRE k -9223372036854776", "ERR invalid expire time in 'expire' command"},
		{"EXPIREAT k 9223372036854775", ""},
		{"EXPIREAT k 9223372036854776", "ERR invalid expire time in 'expireat' command"},
		{"PEXPIRE k 9223372036854775807", "ERR invalid expire time in 'pexpire' command"},
		{"PEXPIRE k -9223372036854775808", ""},
		{"PEXPIREAT k 9223372036854775807", ""},
		{"PEXPIREAT k -1 GT", ""},
		{"PEXPIREAT k", arity("pexpireat")},
		{"TTL k", ""}, {"PTTL k", ""}, {"EXPIRETIME k", ""}, {"PEXPIRETIME k", ""},
		{"TTL", arity("ttl")},
		{"PEXPIRETIME a b", arity("pexpiretime")},
		{"PERSIST k", ""},
		{"PERSIST k x", arity("persist")},

		{"KEYS *", ""},
		{"KEYS", arity("keys")},
		{"KEYS a b", arity("keys")},
		{"SCAN 0", ""},
		{"SCAN 18446744073709551615", ""},
		{"SCAN 0 MATCH a* COUNT 5 TYPE string", ""},
		{"scan 0 match a* match b* count 1 count 100", ""},
		{"SCAN 0 TYPE whatever", ""},
		{"SCAN x", "ERR invalid cursor"},
		{"SCAN -1", "ERR invalid cursor"},
		{"SCAN 1.5", "ERR invalid cursor"},
		{"SCAN 18446744073709551616", "ERR invalid cursor"},
		{"SCAN x COUNT 0", "ERR invalid cursor"},
		{"SCAN 0 COUNT 0", "ERR syntax error"},
		{"SCAN 0 COUNT -5", "ERR syntax error"},
		{"SCAN 0 COUNT x", "ERR value is not an integer or out of range"},
		{"SCAN 0 COUNT", "ERR syntax error"},
		{"SCAN 0 MATCH", "ERR syntax error"},
		{"SCAN 0 TYPE", "ERR syntax error"},
		{"SCAN 0 FOO 1", "ERR syntax error"},
		{"SCAN 0 COUNT 1 MATCH", "ERR syntax error"},
		{"SCAN", arity("scan")},
		{"RANDOMKEY", ""},
		{"RANDOMKEY x", arity("randomkey")},
		{"RENAME a b", ""},
		{"RENAME a", arity("rename")},
		{"RENAMENX a b c", arity("renamenx")},

		{"DBSIZE", ""},
		{"DBSIZE x", arity("dbsize")},
		{"FLUSHDB", ""},
		{"FLUSHDB async", ""},
		{"FLUSHDB SYNC", ""},
		{"FLUSHDB LAZY", "ERR syntax error"},
		{"FLUSHDB ASYNC SYNC", "ERR syntax error"},
		{"FLUSHALL", ""},
		{"FLUSHALL ASYNC", ""},
		{"FLUSHALL sync", ""},
		{"FLUSHALL SYNC SYNC", "ERR syntax error"},
		{"FLUSHALL x", "ERR syntax error"},
	}
	for _, tc := range tests {
		err := keysValidate(keysArgv(tc.cmd))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

func TestKeysCatalog(t *testing.T) {
	tests := []struct {
		name  string
		arity int
		flags string
		keys  [3]int
		group string
	}{
		{"del", -2, "write", [3]int{1, -1, 1}, "generic"},
		{"unlink", -2, "write fast", [3]int{1, -1, 1}, "generic"},
		{"exists", -2, "readonly fast", [3]int{1, -1, 1}, "generic"},
		{"type", 2, "readonly fast", [3]int{1, 1, 1}, "generic"},
		{"expire", -3, "write fast", [3]int{1, 1, 1}, "generic"},
		{"pexpire", -3, "write fast", [3]int{1, 1, 1}, "generic"},
		{"expireat", -3, "write fast", [3]int{1, 1, 1}, "generic"},
		{"pexpireat", -3, "write fast", [3]int{1, 1, 1}, "generic"},
		{"ttl", 2, "readonly fast", [3]int{1, 1, 1}, "generic"},
		{"pttl", 2, "readonly fast", [3]int{1, 1, 1}, "generic"},
		{"expiretime", 2, "readonly fast", [3]int{1, 1, 1}, "generic"},
		{"pexpiretime", 2, "readonly fast", [3]int{1, 1, 1}, "generic"},
		{"persist", 2, "write fast", [3]int{1, 1, 1}, "generic"},
		{"keys", 2, "readonly", [3]int{0, 0, 0}, "generic"},
		{"scan", -2, "readonly random", [3]int{0, 0, 0}, "generic"},
		{"randomkey", 1, "readonly random", [3]int{0, 0, 0}, "generic"},
		{"rename", 3, "write", [3]int{1, 2, 1}, "generic"},
		{"renamenx", 3, "write fast", [3]int{1, 2, 1}, "generic"},
		{"touch", -2, "readonly fast", [3]int{1, -1, 1}, "generic"},
		{"dbsize", 1, "readonly fast", [3]int{0, 0, 0}, "server"},
		{"flushdb", -1, "write", [3]int{0, 0, 0}, "server"},
		{"flushall", -1, "write", [3]int{0, 0, 0}, "server"},
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
	if pos := Lookup([]byte("rename")).KeyPositions(keysArgv("RENAME a b")); len(pos) != 2 || pos[1] != 2 {
		t.Errorf("rename key positions %v", pos)
	}
	if pos := Lookup([]byte("del")).KeyPositions(keysArgv("DEL a b c")); len(pos) != 3 {
		t.Errorf("del key positions %v", pos)
	}
}

func TestParseExpire(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli()
	tests := []struct {
		cmd  string
		want int64
	}{
		{"EXPIRE k 10", now + 10_000},
		{"EXPIRE k -10", now - 10_000},
		{"PEXPIRE k 10", now + 10},
		{"EXPIREAT k 10", 10_000},
		{"PEXPIREAT k 10", 10},
		{"PEXPIREAT k -7", -7},
	}
	for _, tc := range tests {
		argv := keysArgv(tc.cmd)
		a, err := ParseExpire(strings.ToLower(string(argv[0])), argv)
		if err != nil {
			t.Fatalf("%s: %v", tc.cmd, err)
		}
		if got, err := a.At(now); err != nil || got != tc.want {
			t.Errorf("%s: At = %d, %v; want %d", tc.cmd, got, err, tc.want)
		}
	}
	// The relative overflow depends on the time it is added to.
	a, err := ParseExpire("pexpire", keysArgv("PEXPIRE k 9223372036854775000"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.At(807); err != nil {
		t.Errorf("at 807 ms: %v", err)
	}
	if _, err := a.At(808); err == nil || err.Error() != "ERR invalid expire time in 'pexpire' command" {
		t.Errorf("at 808 ms: %v", err)
	}
}

func TestExpirePermits(t *testing.T) {
	const none = 0
	tests := []struct {
		opts      string
		cur, when int64
		want      bool
	}{
		{"", none, 5, true},
		{"", 10, 5, true},
		{"NX", none, 5, true},
		{"NX", 10, 5, false},
		{"XX", none, 5, false},
		{"XX", 10, 5, true},
		{"GT", none, 5, false}, // no TTL is infinite
		{"GT", 10, 5, false},
		{"GT", 10, 10, false},
		{"GT", 10, 11, true},
		{"LT", none, 5, true},
		{"LT", 10, 11, false},
		{"LT", 10, 10, false},
		{"LT", 10, 9, true},
		{"XX GT", 10, 11, true},
		{"XX LT", none, 5, false},
		{"XX LT", 10, 5, true},
	}
	for _, tc := range tests {
		a, err := ParseExpire("expire", keysArgv("EXPIRE k 1 "+tc.opts))
		if err != nil {
			t.Fatalf("%s: %v", tc.opts, err)
		}
		if got := a.Permits(tc.cur, tc.when); got != tc.want {
			t.Errorf("%s: Permits(%d, %d) = %v, want %v", tc.opts, tc.cur, tc.when, got, tc.want)
		}
	}
}

func TestParseScan(t *testing.T) {
	a, err := ParseScan(keysArgv("SCAN 42"))
	if err != nil || a.Cursor != 42 || a.Count != 10 || a.Match != nil || a.Type != "" {
		t.Errorf("SCAN 42: %+v %v", a, err)
	}
	a, err = ParseScan(keysArgv("SCAN 0 MATCH u:* COUNT 3 TYPE String MATCH v:* COUNT 7"))
	if err != nil || a.Count != 7 || string(a.Match) != "v:*" || a.Type != "string" {
		t.Errorf("options: %+v %v", a, err)
	}
	a, err = ParseScan(keysArgv("SCAN 0 MATCH u:* MATCH *"))
	if err != nil || a.Match != nil {
		t.Errorf("MATCH * must mean every key: %+v %v", a, err)
	}
}
