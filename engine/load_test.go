package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/memimg/memimg/schema"
)

// TestLoaderAddAll loads a View of every type, with expiries, in several
// batches through AddAll, and checks it against the same records through
// Add: the same digest and keys, and an engine started from it.
func TestLoaderAddAll(t *testing.T) {
	clk := newTestClock()
	e := openTestEngine(t, &MemLog{}, clk, -1)
	for i := range 3000 { // a few batches of loadBatchSize
		execAll(t, e, fmt.Sprintf("set k%05d v%d", i, i))
	}
	execAll(t, e, "set ttl 1 px 100000", "rpush l a b c", "sadd s x y", "zadd z 1 a 2 b",
		"hset h f v", "hset hx f v", "pexpire hx 100000")
	if r := e.Exec(3, argv("set", "in3", "x")); r.IsError() {
		t.Fatal(r.Str)
	}
	v := e.Clone()
	var recs []Record
	_ = v.Range(func(r *Record) error {
		c := *r
		c.Value = append([]byte(nil), r.Value...)
		recs = append(recs, c)
		return nil
	})
	feed := func(recs []Record, fail error) func(r *Record) (bool, error) {
		i := 0
		return func(r *Record) (bool, error) {
			if i == len(recs) {
				return false, fail
			}
			*r = recs[i]
			i++
			return true, nil
		}
	}
	ld := NewLoader(16, v.Index, v.Term, v.Time)
	if err := ld.AddAll(feed(recs, nil)); err != nil {
		t.Fatal(err)
	}
	want, _ := v.Digest()
	if ld.Digest() != want || ld.Keys() != v.Keys() {
		t.Fatalf("AddAll: digest %s, %d keys; want %s, %d", ld.Digest(), ld.Keys(), want, v.Keys())
	}
	e2, err := Open(Options{Log: &MemLog{}, Base: ld.View(), ExpiryInterval: -1, Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	if got, _, _ := e2.Digest(); got != want {
		t.Fatalf("engine from the AddAll view: digest %s, want %s", got, want)
	}
	if r := e2.Exec(0, argv("pttl", "hx")); r.Int <= 0 {
		t.Fatalf("pttl hx = %+v: the expiry index lost it", r)
	}

	// The errors: of next, of a record (duplicate key, bad database, bad
	// value), stop the load with that error.
	boom := errors.New("boom")
	if err := NewLoader(16, 0, 0, 0).AddAll(feed(recs, boom)); !errors.Is(err, boom) {
		t.Errorf("next's error: got %v", err)
	}
	dup := append(append([]Record(nil), recs[:2000]...), recs[1999:]...)
	if err := NewLoader(16, 0, 0, 0).AddAll(feed(dup, nil)); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a key twice: got %v", err)
	}
	bad := append([]Record(nil), recs...)
	bad[2500].DB = 99
	if err := NewLoader(16, 0, 0, 0).AddAll(feed(bad, nil)); err == nil || !strings.Contains(err.Error(), "database 99") {
		t.Errorf("a bad database: got %v", err)
	}
	bad = append([]Record(nil), recs...)
	for i := range bad {
		if bad[i].Type == TypeZSet {
			bad[i].Value = []byte{0xff}
		}
	}
	if err := NewLoader(16, 0, 0, 0).AddAll(feed(bad, nil)); err == nil {
		t.Error("a bad value was accepted")
	}
}

// TestReplayBadEntry: a replay stops at an entry it cannot decode, with an
// error naming it, whichever batch of the pipeline it falls in.
func TestReplayBadEntry(t *testing.T) {
	for _, bad := range []int{1, 700, 1500} {
		log := &MemLog{}
		var ents []Entry
		for i := 1; i <= 2000; i++ {
			data := schema.EncodeCommand(nil, 0, argv("set", fmt.Sprintf("k%d", i), "v"))
			if i == bad {
				data = []byte{0xee}
			}
			ents = append(ents, Entry{Index: uint64(i), Kind: KindCommand, Time: int64(i), Data: data})
		}
		if err := log.Append(ents); err != nil {
			t.Fatal(err)
		}
		_, err := Open(Options{Log: log, ExpiryInterval: -1})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("replay entry %d", bad)) {
			t.Fatalf("bad entry %d: got %v", bad, err)
		}
	}
}
