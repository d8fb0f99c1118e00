package engine

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

const kErrSame = "-ERR source and destination objects are the same"
const kErrDB = "-ERR DB index is out of range"
const kErrIntRange = "-ERR value is out of range, value must between -2147483648 and 2147483647"

func TestMoveSwapCopyObjectCommands(t *testing.T) {
	tests := []struct {
		name  string
		steps []kStep
	}{
		{"move", []kStep{
			kOK("MOVE k 1", ":0"), // missing
			kOK("SET k v PX 50000", "+OK"),
			kOK("MOVE k 1", ":1"),
			kOK("EXISTS k", ":0"),
			kIn(1, "GET k", `"v"`),
			kIn(1, "PTTL k", ":50000"), // the expiry moves too
			kOK("SET k w", "+OK"),
			kOK("MOVE k 1", ":0"), // exists in the target
			kOK("GET k", `"w"`),
			kIn(1, "MOVE k 0", ":0"),
			kIn(1, "DEL k", ":1"),
			kIn(1, "MOVE k 0", ":0"),
			kOK("RPUSH l a b c", ":3"),
			kOK("MOVE l 15", ":1"),
			kIn(15, "LRANGE l 0 -1", `["a" "b" "c"]`),
			kOK("MOVE k 0", kErrSame),
			kOK("MOVE nokey 0", kErrSame), // checked before the key
			kOK("MOVE k 16", kErrDB),      // 16 databases
			kBad("MOVE k -1", kErrDB),
			kBad("MOVE k x", kErrNotInt),
			kBad("MOVE k 99999999999", kErrIntRange),
			kBad("MOVE k", kArity("move")),
			kBad("MOVE k 1 2", kArity("move")),
		}},
		{"move over an expired key", []kStep{
			kIn(1, "SET k old PX 10", "+OK"),
			kOK("SET k new", "+OK"),
			kWait(10 * time.Millisecond),
			kOK("MOVE k 1", ":1"),
			kIn(1, "GET k", `"new"`),
			kIn(1, "TTL k", ":-1"),
		}},
		{"swapdb", []kStep{
			kOK("SET a 0", "+OK"),
			kIn(1, "SET b 1", "+OK"),
			kIn(1, "SADD s x", ":1"),
			kOK("SWAPDB 0 1", "+OK"),
			kOK("GET a", "(nil)"),
			kOK("GET b", `"1"`),
			kOK("SMEMBERS s", `["x"]`),
			kIn(1, "GET a", `"0"`),
			kOK("SWAPDB 1 1", "+OK"),
			kIn(1, "DBSIZE", ":1"),
			kIn(3, "SWAPDB 0 3", "+OK"), // the client's db is an index: it sees the swap
			kIn(3, "DBSIZE", ":2"),
			kOK("DBSIZE", ":0"),
			kOK("SWAPDB 0 16", kErrDB),
			kOK("SWAPDB 16 0", kErrDB),
			kBad("SWAPDB -1 0", kErrDB),
			kBad("SWAPDB 0 -1", kErrDB),
			kBad("SWAPDB x 0", "-ERR invalid first DB index"),
			kBad("SWAPDB 0 x", "-ERR invalid second DB index"),
			kBad("SWAPDB 99999999999 0", "-ERR invalid first DB index"),
			kBad("SWAPDB x y", "-ERR invalid first DB index"),
			kBad("SWAPDB -1 y", "-ERR invalid second DB index"),
			kBad("SWAPDB 0", kArity("swapdb")),
		}},
		{"copy", []kStep{
			kOK("COPY a b", ":0"),
			kOK("SET a v PX 70000", "+OK"),
			kOK("COPY a b", ":1"),
			kOK("GET b", `"v"`),
			kOK("PTTL b", ":70000"),
			kOK("COPY a b", ":0"), // exists
			kOK("SET a w", "+OK"),
			kOK("COPY a b REPLACE", ":1"),
			kOK("GET b", `"w"`),
			kOK("TTL b", ":-1"), // the source's (no) expiry replaces the old one
			kOK("COPY a b DB 2", ":1"),
			kIn(2, "GET b", `"w"`),
			kOK("COPY a b DB 2", ":0"),
			kOK("COPY a b db 2 replace", ":1"),
			kOK("COPY a a DB 2", ":1"), // another database: not the same object
			kIn(2, "GET a", `"w"`),
			kOK("COPY a a", kErrSame),
			kOK("COPY nokey nokey DB 0", kErrSame),
			kOK("COPY a b DB 16", kErrDB),
			kBad("COPY a b DB -1", kErrDB),
			kBad("COPY a b DB -1 foo", kErrDB), // the index is checked where it is read
			kBad("COPY a b DB x", kErrNotInt),
			kBad("COPY a b DB 99999999999", kErrIntRange),
			kBad("COPY a b DB", kErrSyntax),
			kBad("COPY a b foo", kErrSyntax),
			kBad("COPY a", kArity("copy")),
			kOK("COPY a b REPLACE REPLACE", ":1"),
		}},
		{"copy of collections is independent", []kStep{
			kOK("RPUSH l a b", ":2"),
			kOK("COPY l l2", ":1"),
			kOK("RPUSH l2 c", ":3"),
			kOK("LPOP l", `"a"`),
			kOK("LRANGE l 0 -1", `["b"]`),
			kOK("LRANGE l2 0 -1", `["a" "b" "c"]`),
			kOK("SADD s 1 2", ":2"),
			kOK("COPY s s2", ":1"),
			kOK("SREM s2 1", ":1"),
			kOK("SADD s 3", ":1"),
			kOK("SMEMBERS s", `["1" "2" "3"]`),
			kOK("SMEMBERS s2", `["2"]`),
			kOK("HSET h f 1", ":1"),
			kOK("COPY h h2", ":1"),
			kOK("HINCRBY h2 f 5", ":6"),
			kOK("HGET h f", `"1"`),
			kOK("ZADD z 1 a", ":1"),
			kOK("COPY z z2 DB 1", ":1"),
			kIn(1, "ZINCRBY z2 1 a", "2"),
			kOK("ZSCORE z a", "1"),
			kOK("DEL l", ":1"),
			kOK("LLEN l2", ":3"),
		}},
		{"object", []kStep{
			kOK("OBJECT ENCODING nokey", "(nil)"),
			kOK("OBJECT FREQ nokey", "(nil)"),
			kOK("OBJECT IDLETIME nokey", "(nil)"),
			kOK("OBJECT REFCOUNT nokey", "(nil)"),
			kOK("SET i 123", "+OK"),
			kOK("OBJECT ENCODING i", `"int"`),
			kOK("object encoding i", `"int"`),
			kOK("OBJECT REFCOUNT i", ":2147483647"),
			kOK("SET i -5", "+OK"),
			kOK("OBJECT ENCODING i", `"int"`),
			kOK("OBJECT REFCOUNT i", ":1"),
			kOK("SET i 10000", "+OK"),
			kOK("OBJECT REFCOUNT i", ":1"),
			kOK("SET i 9223372036854775807", "+OK"),
			kOK("OBJECT ENCODING i", `"int"`),
			kOK("SET i 9223372036854775808", "+OK"),
			kOK("OBJECT ENCODING i", `"embstr"`),
			kOK("SET i 007", "+OK"),
			kOK("OBJECT ENCODING i", `"embstr"`),
			kOK("SET e 12345678901234567890123456789012345678901234", "+OK"), // 44 bytes
			kOK("OBJECT ENCODING e", `"embstr"`),
			kOK("SET e 123456789012345678901234567890123456789012345", "+OK"),
			kOK("OBJECT ENCODING e", `"raw"`),
			kOK("OBJECT IDLETIME e", ":0"),
			kOK("OBJECT FREQ e", "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. "+
				"Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
			kOK("RPUSH l a 1", ":2"),
			kOK("OBJECT ENCODING l", `"listpack"`),
			kOK("OBJECT REFCOUNT l", ":1"),
			kOK("SADD s 1 2 -3", ":3"),
			kOK("OBJECT ENCODING s", `"intset"`),
			kOK("SADD s a", ":1"),
			kOK("OBJECT ENCODING s", `"listpack"`),
			kOK("HSET h f v", ":1"),
			kOK("OBJECT ENCODING h", `"listpack"`),
			kOK("HSET h f 12345678901234567890123456789012345678901234567890123456789012345", ":0"),
			kOK("OBJECT ENCODING h", `"hashtable"`),
			kOK("ZADD z 1 a", ":1"),
			kOK("OBJECT ENCODING z", `"listpack"`),
			kOK("ZADD z 2 12345678901234567890123456789012345678901234567890123456789012345", ":1"),
			kOK("OBJECT ENCODING z", `"skiplist"`),
			kOK("OBJECT HELP", "[+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are: +ENCODING <key> "+
				"+    Return the kind of internal representation used in order to store the value "+
				"+    associated with a <key>. +FREQ <key> "+
				"+    Return the access frequency index of the <key>. The returned integer is "+
				"+    proportional to the logarithm of the recent access frequency of the key. "+
				"+IDLETIME <key> +    Return the idle time of the <key>, that is the approximated number of "+
				"+    seconds elapsed since the last access to the key. +REFCOUNT <key> "+
				"+    Return the number of references of the value associated with the specified "+
				"+    <key>. +HELP +    Prints this help.]"),
			kBad("OBJECT", kArity("object")),
			kBad("OBJECT ENCODING", kArity("object|encoding")),
			kBad("OBJECT ENCODING a b", kArity("object|encoding")),
			kBad("OBJECT HELP x", kArity("object|help")),
			kBad("OBJECT foo a", "-ERR unknown subcommand 'foo'. Try OBJECT HELP."),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &MemLog{}
			clk := newTestClock()
			e := openTestEngine(t, log, clk, -1)
			kRun(t, e, log, clk, tc.steps)
		})
	}
}

// TestObjectEncodingThresholds checks the encodings at Redis 7.2's default
// thresholds.
func TestObjectEncodingThresholds(t *testing.T) {
	clk := newTestClock()
	e := openTestEngine(t, &MemLog{}, clk, -1)
	enc := func(key string) string { return render(e.Exec(0, argv("object", "encoding", key))) }
	add := func(cmd, key string, n int, elem func(i int) []string) {
		t.Helper()
		for i := range n {
			if r := e.Exec(0, argv(append([]string{cmd, key}, elem(i)...)...)); r.IsError() {
				t.Fatal(r.Str)
			}
		}
	}
	add("sadd", "ints", 512, func(i int) []string { return []string{fmt.Sprint(i)} })
	add("sadd", "ints2", 513, func(i int) []string { return []string{fmt.Sprint(i)} })
	add("sadd", "strs", 128, func(i int) []string { return []string{fmt.Sprint("m", i)} })
	add("sadd", "strs2", 129, func(i int) []string { return []string{fmt.Sprint("m", i)} })
	add("hset", "h", 128, func(i int) []string { return []string{fmt.Sprint("f", i), "v"} })
	add("hset", "h2", 129, func(i int) []string { return []string{fmt.Sprint("f", i), "v"} })
	add("zadd", "z", 128, func(i int) []string { return []string{"1", fmt.Sprint("m", i)} })
	add("zadd", "z2", 129, func(i int) []string { return []string{"1", fmt.Sprint("m", i)} })
	// 8 KB of listpack: 7 header bytes, then 64-byte strings take 67.
	add("rpush", "l", 122, func(i int) []string { return []string{strings.Repeat("x", 64)} })
	add("rpush", "l2", 123, func(i int) []string { return []string{strings.Repeat("x", 64)} })
	add("rpush", "l3", 5000, func(i int) []string { return []string{"1"} })
	for key, want := range map[string]string{
		"ints": "intset", "ints2": "hashtable", "strs": "listpack", "strs2": "hashtable",
		"h": "listpack", "h2": "hashtable", "z": "listpack", "z2": "skiplist",
		"l": "listpack", "l2": "quicklist", "l3": "quicklist",
	} {
		if got := enc(key); got != `"`+want+`"` {
			t.Errorf("OBJECT ENCODING %s = %s, want %s", key, got, want)
		}
	}
}

// TestSwapDBDiff checks that an incremental snapshot's diff stays exact
// across SWAPDB, MOVE and COPY: the earlier View plus the changes Diff
// reports is the later View.
func TestSwapDBDiff(t *testing.T) {
	clk := newTestClock()
	e := openTestEngine(t, &MemLog{}, clk, -1)
	in := func(db int, cmds ...string) {
		t.Helper()
		for _, c := range cmds {
			if r := e.Exec(db, argv(strings.Fields(c)...)); r.IsError() {
				t.Fatalf("%s: %s", c, r.Str)
			}
		}
	}
	in(0, "set a 0", "set same x", "rpush l 1 2", "sadd s 1")
	in(1, "set b 1", "set same x", "hset h f v", "set t 1 px 90000")
	in(2, "set c 2")
	prev := e.Clone()
	in(0, "swapdb 0 1", "set new 1", "copy h h3 db 2", "move same 2")
	in(1, "swapdb 1 2", "zadd z 1 m")
	in(3, "swapdb 3 4") // two empty databases
	cur := e.Clone()

	state := map[string]string{}
	for _, r := range dump(t, prev) {
		f := strings.Fields(r)
		state[f[0]+" "+f[1]] = r
	}
	keyOf := func(r Record) string { return fmt.Sprintf("%d %s", r.DB, r.Key) }
	line := func(r Record) string { return fmt.Sprintf("%d %s %d %d %s", r.DB, r.Key, r.Type, r.Exp, r.Value) }
	err := cur.Diff(prev, func(c *Change) error {
		if c.HasOld {
			if state[keyOf(c.Old)] != line(c.Old) {
				t.Errorf("diff removes %q, which the earlier view has as %q", line(c.Old), state[keyOf(c.Old)])
			}
			delete(state, keyOf(c.Old))
		}
		if c.HasNew {
			state[keyOf(c.New)] = line(c.New)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range state {
		got = append(got, v)
	}
	sort.Strings(got)
	want := dump(t, cur)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("earlier view + diff:\n%s\nlater view:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSwapDBReplay checks that a log with SWAPDB, MOVE and COPY replays to
// the same image.
func TestSwapDBReplay(t *testing.T) {
	clk := newTestClock()
	log := &MemLog{}
	e := openTestEngine(t, log, clk, -1)
	for _, c := range []string{"set a 1", "rpush l x", "copy l l2 db 3", "swapdb 0 3", "move l2 5", "sadd s 1", "copy s s2"} {
		if r := e.Exec(0, argv(strings.Fields(c)...)); r.IsError() {
			t.Fatalf("%s: %s", c, r.Str)
		}
	}
	want := dump(t, e.Clone())
	e2 := openTestEngine(t, log, clk, -1)
	if got := dump(t, e2.Clone()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("replayed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
