package schema

import "testing"

func TestSetChecks(t *testing.T) {
	tests := []struct {
		cmd  string
		want string // "" means valid
	}{
		{"SADD s a", ""},
		{"SADD s", "ERR wrong number of arguments for 'sadd' command"},
		{"SMOVE a b", "ERR wrong number of arguments for 'smove' command"},
		{"SINTERSTORE d", "ERR wrong number of arguments for 'sinterstore' command"},

		{"SPOP s", ""},
		{"SPOP s 0", ""},
		{"SPOP s 9223372036854775807", ""},
		{"SPOP s -1", "ERR value is out of range, must be positive"},
		{"SPOP s x", "ERR value is out of range, must be positive"},
		{"SPOP s 1 2", "ERR syntax error"},
		{"SPOP s x y", "ERR syntax error"}, // the syntax before the count

		{"SRANDMEMBER s", ""},
		{"SRANDMEMBER s -1048576", ""},
		{"SRANDMEMBER s 9223372036854775807", ""},
		{"SRANDMEMBER s -1048577", "ERR value is out of range, value must between -1048576 and 9223372036854775807"},
		{"SRANDMEMBER s -9223372036854775808",
			"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"},
		{"SRANDMEMBER s x", "ERR value is not an integer or out of range"},
		{"SRANDMEMBER s x y", "ERR syntax error"},

		{"SINTERCARD 1 a", ""},
		{"SINTERCARD 2 a b LIMIT 0", ""},
		{"SINTERCARD 2 a b limit 5 LIMIT 6", ""},
		{"SINTERCARD 2 a LIMIT", ""}, // LIMIT is the second key
		{"SINTERCARD 0 a", "ERR numkeys should be greater than 0"},
		{"SINTERCARD x a", "ERR numkeys should be greater than 0"},
		{"SINTERCARD 3 a b", "ERR Number of keys can't be greater than number of args"},
		{"SINTERCARD 9223372036854775807 a", "ERR Number of keys can't be greater than number of args"},
		{"SINTERCARD 1 a LIMIT", "ERR syntax error"},
		{"SINTERCARD 1 a LIMIT -1", "ERR LIMIT can't be negative"},
		{"SINTERCARD 1 a LIMIT x", "ERR LIMIT can't be negative"},
		{"SINTERCARD 1 a b", "ERR syntax error"},
		{"SINTERCARD 1", "ERR wrong number of arguments for 'sintercard' command"},

		{"SSCAN s 0 MATCH x COUNT 1", ""},
		{"SSCAN s 0 NOVALUES", "ERR syntax error"},
		{"SSCAN s 0 TYPE set", "ERR syntax error"},
		{"SSCAN s abc", "ERR invalid cursor"},
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
	a, err := ParseSInterCard(argvOf("SINTERCARD 2 a b LIMIT 4"))
	if err != nil || len(a.Keys) != 2 || string(a.Keys[1]) != "b" || a.Limit != 4 {
		t.Errorf("ParseSInterCard: %+v %v", a, err)
	}
	p, err := ParseSPop(argvOf("SPOP s 3"))
	if err != nil || !p.HasCount || p.Count != 3 {
		t.Errorf("ParseSPop: %+v %v", p, err)
	}
}
