package engine

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

// execAll runs commands (space-separated words) on db 0 and fails on an
// error reply.
func execAll(t testing.TB, e *Engine, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if r := e.Exec(0, argv(strings.Fields(c)...)); r.IsError() {
			t.Fatalf("%s: %s", c, r.Str)
		}
	}
}

// dump renders every record of v, one "db key type exp value" per line.
func dump(t testing.TB, v *View) []string {
	t.Helper()
	var out []string
	err := v.Range(func(r *Record) error {
		out = append(out, fmt.Sprintf("%d %s %d %d %s", r.DB, r.Key, r.Type, r.Exp, r.Value))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCloneIsFrozen checks that a View never sees a write made after it.
func TestCloneIsFrozen(t *testing.T) {
	clk := newTestClock()
	e := openTestEngine(t, &MemLog{}, clk, -1)
	execAll(t, e, "set a 1", "set b 2", "set c 3 px 100000")
	v := e.Clone()
	before := dump(t, v)
	execAll(t, e, "set a 10", "del b", "set d 4", "persist c", "flushall", "set e 5")
	if got := dump(t, v); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Fatalf("the view changed:\nbefore %q\nafter  %q", before, got)
	}
	if v.Index != 3 || v.Keys() != 3 {
		t.Fatalf("view index %d keys %d, want 3 and 3", v.Index, v.Keys())
	}
	if v.Time != testT0*int64(time.Millisecond) {
		t.Fatalf("view time %d, want the entry's %d", v.Time, testT0*int64(time.Millisecond))
	}
}

// TestDiff checks that Diff reports exactly the keys added, deleted and
// changed, in every database, and nothing for a key written again with the
// same value.
func TestDiff(t *testing.T) {
	clk := newTestClock()
	e := openTestEngine(t, &MemLog{}, clk, -1)
	execAll(t, e, "set same v", "set rewritten v", "set changed v", "set gone v", "set ttl v", "set persist v px 50000")
	if r := e.Exec(3, argv("set", "other", "v")); r.IsError() {
		t.Fatal(r.Str)
	}
	prev := e.Clone()
	execAll(t, e, "set rewritten v", "set changed w", "del gone", "set added v", "pexpire ttl 60000", "persist persist")
	if r := e.Exec(3, argv("del", "other")); r.IsError() {
		t.Fatal(r.Str)
	}
	cur := e.Clone()
	var got []string
	err := cur.Diff(prev, func(c *Change) error {
		switch {
		case c.HasOld && c.HasNew:
			got = append(got, fmt.Sprintf("change %d %s %s/%d -> %s/%d", c.New.DB, c.New.Key, c.Old.Value, c.Old.Exp, c.New.Value, c.New.Exp))
		case c.HasNew:
			got = append(got, fmt.Sprintf("add %d %s", c.New.DB, c.New.Key))
		default:
			got = append(got, fmt.Sprintf("del %d %s", c.Old.DB, c.Old.Key))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	exp := testT0 + 60000
	want := []string{
		"add 0 added",
		"change 0 changed v/0 -> w/0",
		"del 0 gone",
		fmt.Sprintf("change 0 persist v/%d -> v/0", testT0+50000),
		fmt.Sprintf("change 0 ttl v/0 -> v/%d", exp),
		"del 3 other",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDiffDigestRandom applies random writes and checks, many times over,
// that an incremental digest (previous digest, minus the old records, plus
// the new ones) equals the digest computed from scratch, and that Diff is
// empty between a view and itself.
func TestDiffDigestRandom(t *testing.T) {
	clk := newTestClock()
	e := openTestEngine(t, &MemLog{}, clk, -1)
	rng := rand.New(rand.NewPCG(1, 2))
	prev := e.Clone()
	var d Digest
	var hs Hasher
	for round := range 30 {
		for range 200 {
			k := fmt.Sprintf("k%03d", rng.IntN(300))
			switch rng.IntN(6) {
			case 0, 1:
				execAll(t, e, fmt.Sprintf("set %s %d", k, rng.IntN(5)))
			case 2:
				execAll(t, e, "del "+k)
			case 3:
				execAll(t, e, fmt.Sprintf("pexpire %s %d", k, 100000+rng.IntN(3)))
			case 4:
				execAll(t, e, "append "+k+" x")
			case 5:
				if rng.IntN(40) == 0 {
					execAll(t, e, "flushall")
				}
			}
		}
		cur := e.Clone()
		err := cur.Diff(prev, func(c *Change) error {
			if c.HasOld {
				hs.Sub(&d, &c.Old)
			}
			if c.HasNew {
				hs.Add(&d, &c.New)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		full, err := cur.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if d != full {
			t.Fatalf("round %d: incremental digest %s, full %s", round, d, full)
		}
		n := 0
		_ = cur.Diff(cur, func(*Change) error { n++; return nil })
		if n != 0 {
			t.Fatalf("round %d: %d changes between a view and itself", round, n)
		}
		prev = cur
	}
}

// TestDigestOrderIndependent checks that the same data written in another
// order (and another history) has the same digest, and that any difference
// changes it.
func TestDigestOrderIndependent(t *testing.T) {
	clk := newTestClock()
	a := openTestEngine(t, &MemLog{}, clk, -1)
	b := openTestEngine(t, &MemLog{}, clk, -1)
	execAll(t, a, "set x 1", "set y 2", "set z 3", "del z")
	execAll(t, b, "set y 0", "set w 9", "set y 2", "set x 1", "del w")
	da, _, _ := a.Digest()
	db, _, _ := b.Digest()
	if da != db {
		t.Fatalf("digests differ: %s %s", da, db)
	}
	execAll(t, b, "pexpire x 100000")
	db2, _, _ := b.Digest()
	if db2 == da {
		t.Fatal("an expiry did not change the digest")
	}
	empty := openTestEngine(t, &MemLog{}, clk, -1)
	if d, _, _ := empty.Digest(); d != (Digest{}) || d.String() != strings.Repeat("0", 32) {
		t.Fatalf("empty digest %s", d)
	}
	p, err := ParseDigest(da.String())
	if err != nil || p != da {
		t.Fatalf("ParseDigest(%s) = %s, %v", da, p, err)
	}
	if r := a.Exec(0, argv("memimg.digest")); r.Kind != KindBulk || r.Str != da.String() {
		t.Fatalf("MEMIMG.DIGEST = %+v, want %s", r, da)
	}
}

// TestLoaderRoundTrip loads a View's records into a Loader and starts an
// engine from it: the same digest, the log replayed from the entry after
// the base, and the base left unchanged by the engine's writes.
func TestLoaderRoundTrip(t *testing.T) {
	clk := newTestClock()
	log := &MemLog{}
	e := openTestEngine(t, log, clk, -1)
	execAll(t, e, "set a 1", "set b 2 px 100000", "set c 3")
	if r := e.Exec(5, argv("set", "d5", "4")); r.IsError() {
		t.Fatal(r.Str)
	}
	v := e.Clone()
	execAll(t, e, "set a 100", "del c") // the log's tail after the view
	want, _, _ := e.Digest()

	// Records in a shuffled order load too.
	var recs []Record
	_ = v.Range(func(r *Record) error {
		c := *r
		c.Value = append([]byte(nil), r.Value...)
		recs = append(recs, c)
		return nil
	})
	sort.Slice(recs, func(i, j int) bool { return recs[i].Key > recs[j].Key })
	ld := NewLoader(16, v.Index, v.Term, v.Time)
	for i := range recs {
		if err := ld.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := ld.Add(&recs[0]); err == nil {
		t.Fatal("a key added twice was accepted")
	}
	vd, _ := v.Digest()
	if ld.Digest() != vd {
		t.Fatalf("loader digest %s, view %s", ld.Digest(), vd)
	}
	base := ld.View()
	e2, err := Open(Options{Log: log, Base: base, ExpiryInterval: -1, Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	if got, idx, _ := e2.Digest(); got != want || idx != 6 {
		t.Fatalf("engine from base + tail: digest %s index %d, want %s and 6", got, idx, want)
	}
	if n := e2.Stats().Replayed.Load(); n != 2 {
		t.Fatalf("replayed %d entries, want the 2 after the base", n)
	}
	execAll(t, e2, "set zz 1", "flushall")
	if bd, _ := base.Digest(); bd != vd {
		t.Fatal("the engine's writes changed its base view")
	}
	if r := e2.Exec(0, argv("get", "a")); r.Kind != KindNull {
		t.Fatalf("GET a after FLUSHALL = %s", render(r))
	}

	// A base with keys in a database the engine does not have is refused,
	// and so is a base ahead of a non-empty log.
	if _, err := Open(Options{Log: log, Base: base, Databases: 2, ExpiryInterval: -1}); err == nil {
		t.Fatal("a base with keys in database 5 opened with 2 databases")
	}
	short := &MemLog{}
	_ = short.Append([]Entry{{Index: 1, Kind: KindNoop}})
	if _, err := Open(Options{Log: short, Base: base, ExpiryInterval: -1}); err == nil {
		t.Fatal("a base at index 4 opened on a log that ends at 1")
	}
	// An empty log (every segment deleted after the snapshot) continues
	// after the base.
	e3, err := Open(Options{Log: &MemLog{}, Base: base, ExpiryInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e3.Close()
	if e3.AppliedIndex() != base.Index {
		t.Fatalf("applied %d, want %d", e3.AppliedIndex(), base.Index)
	}
}

// BenchmarkWriteAfterClone measures what a View costs the writers: SETs of
// random keys of a 1M-key keyspace (the apply path alone, keyspace.set),
// without any View, and with a Clone every 20,000 writes (a snapshot a
// second at 20,000 writes/s), after which the first write to each B-tree
// node copies it (copy-on-write).
//
//	go test ./engine -run XXX -bench WriteAfterClone
func BenchmarkWriteAfterClone(b *testing.B) {
	const n = 1_000_000
	ld := NewLoader(1, 0, 0, 0)
	for i := range n {
		if err := ld.Add(&Record{Key: fmt.Sprintf("key:%012d", i), Value: []byte("0123456789012345678901234567890123456789012345678901234567890123")}); err != nil {
			b.Fatal(err)
		}
	}
	base := ld.View()
	for _, every := range []int{0, 20_000} {
		name := "no-clone"
		if every > 0 {
			name = fmt.Sprintf("clone-every-%d", every)
		}
		b.Run(name, func(b *testing.B) {
			ks := base.dbs[0].clone()
			rng := rand.New(rand.NewPCG(1, 1))
			keys := make([]string, 1<<16)
			for i := range keys {
				keys[i] = fmt.Sprintf("key:%012d", rng.IntN(n))
			}
			var held *keyspace
			b.ResetTimer()
			for i := range b.N {
				if every > 0 && i%every == 0 {
					held = ks.clone() // a View holds the old nodes
				}
				ks.set(newString(keys[i%len(keys)], "new value of sixty-four bytes, more or less, for the benchmark..", 0))
			}
			_ = held
		})
	}
}
