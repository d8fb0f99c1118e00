package schema

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func listWords(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		if f == `""` {
			f = ""
		}
		out = append(out, []byte(f))
	}
	return out
}

func TestListCatalog(t *testing.T) {
	for _, tc := range []struct {
		name  string
		arity int
		write bool
		keys  string // KeyPositions of the sample
		cmd   string
	}{
		{"lpush", -3, true, "1", "lpush k a b"},
		{"rpushx", -3, true, "1", "rpushx k a"},
		{"lpop", -2, true, "1", "lpop k 2"},
		{"llen", 2, false, "1", "llen k"},
		{"lrange", 4, false, "1", "lrange k 0 1"},
		{"lindex", 3, false, "1", "lindex k 0"},
		{"lpos", -3, false, "1", "lpos k a"},
		{"lset", 4, true, "1", "lset k 0 a"},
		{"linsert", 5, true, "1", "linsert k before a b"},
		{"lrem", 4, true, "1", "lrem k 0 a"},
		{"ltrim", 4, true, "1", "ltrim k 0 1"},
		{"lmove", 5, true, "1 2", "lmove a b left right"},
		{"rpoplpush", 3, true, "1 2", "rpoplpush a b"},
		{"lmpop", -4, true, "", "lmpop 1 a left"},
		{"blpop", -3, true, "1 2", "blpop a b 0"},
		{"brpop", -3, true, "1", "brpop a 0"},
		{"blmove", 6, true, "1 2", "blmove a b left left 0"},
		{"brpoplpush", 4, true, "1 2", "brpoplpush a b 0"},
		{"blmpop", -5, true, "", "blmpop 0 1 a left"},
	} {
		c := Lookup([]byte(tc.name))
		if c == nil {
			t.Errorf("%s: not in the catalog", tc.name)
			continue
		}
		if c.Arity != tc.arity || c.Is(Write) != tc.write || c.Is(ReadOnly) == tc.write || c.Group != "list" {
			t.Errorf("%s: arity %d flags %v group %s", tc.name, c.Arity, c.Flags.Names(), c.Group)
		}
		argv := listWords(tc.cmd)
		if err := c.Validate(argv); err != nil {
			t.Errorf("%s: %v", tc.cmd, err)
		}
		var pos []string
		for _, p := range c.KeyPositions(argv) {
			pos = append(pos, string(rune('0'+p)))
		}
		if got := strings.Join(pos, " "); got != tc.keys {
			t.Errorf("%s: keys at %q, want %q", tc.cmd, got, tc.keys)
		}
	}
}

func TestParseBlockTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ms   int64
		err  error
		desc string
	}{
		{"0", 0, nil, ""},
		{"-0", 0, nil, ""},
		{"1", 1000, nil, ""},
		{"0.5", 500, nil, ""},
		{"0.0001", 1, nil, "rounded up"},
		{"1e-400", 1, nil, "a long double subnormal, rounded up"},
		{"1.0005", 1001, nil, ""},
		{"0x10", 16000, nil, "hexadecimal, as strtold"},
		{"-0.001", 0, nil, "-1 ms in long double is above -1: ceil gives 0"},
		{"-0.0011", 0, ErrTimeoutNegative, ""},
		{"-1", 0, ErrTimeoutNegative, ""},
		{"-inf", 0, ErrTimeoutNegative, ""},
		{"-1e30", 0, ErrTimeoutNegative, ""},
		{"inf", 0, ErrTimeoutRange, ""},
		{"1e18", 0, ErrTimeoutRange, ""},
		{"9223372036854775.807", math.MaxInt64, nil, "the largest"},
		{"9223372036854775.808", 0, ErrTimeoutRange, "rounds to 2^63"},
		{"x", 0, ErrTimeoutNotFloat, ""},
		{"", 0, ErrTimeoutNotFloat, ""},
		{" 1", 0, ErrTimeoutNotFloat, ""},
		{"1 ", 0, ErrTimeoutNotFloat, ""},
		{"nan", 0, ErrTimeoutNotFloat, ""},
		{"1e-5000", 0, ErrTimeoutNotFloat, "underflows a long double"},
	} {
		ms, err := ParseBlockTimeout([]byte(tc.in))
		if ms != tc.ms || err != tc.err {
			t.Errorf("ParseBlockTimeout(%q) = %d, %v; want %d, %v (%s)", tc.in, ms, err, tc.ms, tc.err, tc.desc)
		}
	}
}

func TestParseBlocking(t *testing.T) {
	for _, tc := range []struct {
		cmd     string
		ok      bool
		keys    string
		timeout time.Duration
	}{
		{"BLPOP a b 1.5", true, "a b", 1500 * time.Millisecond},
		{"brpop a 0", true, "a", 0},
		{"BRPOPLPUSH src dst 2", true, "src", 2 * time.Second},
		{"BLMOVE src dst LEFT RIGHT 0.001", true, "src", time.Millisecond},
		{"BLMPOP 3 2 a b LEFT COUNT 2", true, "a b", 3 * time.Second},
		{"BLPOP a 9223372036854775", true, "a", 0}, // too long for a Duration: no limit
		{"LPOP a", false, "", 0},
		{"LMPOP 1 a LEFT", false, "", 0},
		{"GET a", false, "", 0},
	} {
		b, ok := ParseBlocking(listWords(tc.cmd))
		var keys []string
		for _, k := range b.Keys {
			keys = append(keys, string(k))
		}
		if ok != tc.ok || strings.Join(keys, " ") != tc.keys || b.Timeout != tc.timeout {
			t.Errorf("ParseBlocking(%s) = %q %v %v", tc.cmd, keys, b.Timeout, ok)
		}
	}
}

func TestParseListMPop(t *testing.T) {
	m, err := ParseListMPop(listWords("LMPOP 2 a b RIGHT COUNT 7"))
	if err != nil || m.Left || m.Count != 7 || len(m.Keys) != 2 || string(m.Keys[1]) != "b" {
		t.Fatalf("LMPOP: %+v %v", m, err)
	}
	m, err = ParseListMPop(listWords("blmpop 0 1 a left"))
	if err != nil || !m.Left || m.Count != 1 || len(m.Keys) != 1 {
		t.Fatalf("BLMPOP: %+v %v", m, err)
	}
	for cmd, want := range map[string]error{
		"LMPOP 0 a LEFT":                 ErrListNumKeys,
		"LMPOP 3 a LEFT":                 ErrSyntax,
		"LMPOP 9223372036854775807 a LE": ErrSyntax,
		"LMPOP 1 a LEFT COUNT -1":        ErrListMPopCount,
		"LMPOP 1 a LEFT COUNT 2 COUNT 3": ErrSyntax,
		"BLMPOP -1 1 a LEFT":             ErrTimeoutNegative,
		"BLMPOP 0 1 a UP":                ErrSyntax,
	} {
		if _, err := ParseListMPop(listWords(cmd)); err != want {
			t.Errorf("%s: %v, want %v", cmd, err, want)
		}
	}
}

func TestParseListPos(t *testing.T) {
	o, err := ParseListPos(listWords("LPOS k e RANK -2 COUNT 0 MAXLEN 10 RANK 3"))
	if err != nil || o != (ListPosOptions{Rank: 3, Count: 0, MaxLen: 10}) {
		t.Fatalf("%+v %v", o, err)
	}
	o, err = ParseListPos(listWords("LPOS k e"))
	if err != nil || o != (ListPosOptions{Rank: 1, Count: -1}) {
		t.Fatalf("defaults: %+v %v", o, err)
	}
}

// TestListChecks runs each command's Check on good and bad arguments.
func TestListChecks(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want string
	}{
		{"LPOP k 1 2", "ERR wrong number of arguments for 'lpop' command"},
		{"RPOP k -1", string(ErrListPopCount)},
		{"LPOP k 0", ""},
		{"LSET k 1.5 v", string(ErrNotInteger)},
		{"LREM k x v", string(ErrNotInteger)},
		{"LRANGE k 0 x", string(ErrNotInteger)},
		{"LTRIM k x 0", string(ErrNotInteger)},
		{"LINSERT k AFTER p v", ""},
		{"LINSERT k NEAR p v", string(ErrSyntax)},
		{"LMOVE a b LEFT NOWHERE", string(ErrSyntax)},
		{"BLMOVE a b LEFT RIGHT -1", string(ErrTimeoutNegative)},
		{"BLMOVE a b UP RIGHT -1", string(ErrSyntax)},
		{"BRPOPLPUSH a b x", string(ErrTimeoutNotFloat)},
		{"BLPOP a b c 0", ""},
		{"BLMPOP 1 1 a LEFT COUNT 0", string(ErrListMPopCount)},
		{"LPOS k e RANK 0", string(ErrListRankZero)},
		{"LINDEX k x", ""}, // LINDEX reads the key first, as Redis
	} {
		argv := listWords(tc.cmd)
		err := Lookup(argv[0]).Validate(argv)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.cmd, got, tc.want)
		}
	}
	if !slices.Contains(Lookup([]byte("blpop")).Flags.Names(), "noscript") {
		t.Errorf("BLPOP is not noscript")
	}
}
