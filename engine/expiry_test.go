package engine

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memimg/memimg/schema"
)

// kExpiredEntries counts the memimg.expired entries of the log and the keys
// they name.
func kExpiredEntries(t *testing.T, log *MemLog) (entries, keys int) {
	t.Helper()
	for _, en := range log.Entries() {
		_, argv, err := schema.DecodeCommand(en.Data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(argv[0]) == "memimg.expired" {
			entries++
			keys += len(argv) - 1
		}
	}
	return entries, keys
}

// kEventually polls cond until it holds or the time is up.
func kEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func kDBSize(e *Engine, db int) int64 {
	return e.Exec(db, kArgv("DBSIZE")).Int
}

// TestActiveExpiry: keys with a TTL leave the keyspace (DBSIZE) without
// being read, through logged memimg.expired entries; replaying the log
// into a fresh engine (with no reactor) gives the same keys.
func TestActiveExpiry(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, 2*time.Millisecond)

	// 450 volatile keys over two databases (more than one round of 200),
	// some long-lived keys, some keys without TTL.
	for i := range 300 {
		e.Exec(0, kArgv(fmt.Sprintf("SET v%03d x PX %d", i, 100+i%50)))
	}
	for i := range 150 {
		e.Exec(5, kArgv(fmt.Sprintf("SET w%03d x EX 1", i)))
	}
	kFill(t, e, 0, "p%02d", 10)
	e.Exec(0, kArgv("SET later x EX 3600"))
	e.Exec(5, kArgv("SET later x EX 3600"))

	// The engine's clock has not moved: nothing is due, whatever the wall
	// clock says, and nothing may be logged for it.
	time.Sleep(30 * time.Millisecond)
	if n, _ := kExpiredEntries(t, log); n != 0 {
		t.Fatalf("%d memimg.expired entries before any key was due", n)
	}
	if got := kDBSize(e, 0); got != 311 {
		t.Fatalf("DBSIZE %d before expiry, want 311", got)
	}

	clk.advance(2 * time.Second)
	kEventually(t, "active expiry", func() bool {
		return kDBSize(e, 0) == 11 && kDBSize(e, 5) == 1
	})
	entries, keys := kExpiredEntries(t, log)
	if entries < 3 || keys != 450 {
		t.Errorf("%d memimg.expired entries naming %d keys, want at least 3 naming 450", entries, keys)
	}
	if got := e.Stats().ExpiredKeys.Load(); got != 450 {
		t.Errorf("expired_keys %d, want 450", got)
	}
	if got := render(e.Exec(0, kArgv("TTL later"))); got != ":3598" {
		t.Errorf("TTL later: %s", got)
	}
	kCheckIndex(t, e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	want := kDump(e)

	// The same log, replayed with no reactor and a clock that has not
	// moved: the keys were removed by the log, not by a clock.
	r := openTestEngine(t, log, newTestClock(), -1)
	if got := kDump(r); !slices.Equal(got, want) {
		t.Fatalf("replayed image differs:\n got %q\nwant %q", got, want)
	}
	if got := kDBSize(r, 0); got != 11 {
		t.Errorf("replayed DBSIZE %d, want 11", got)
	}
}

// TestExpiredCommand applies memimg.expired entries written by hand: a key
// is removed only if it has expired at the entry's time, so a key written
// again since the reactor saw it (new value, new TTL, PERSIST) stays.
func TestExpiredCommand(t *testing.T) {
	log := &MemLog{}
	ms := int64(time.Millisecond)
	t0 := int64(testT0) * ms
	entries := []struct {
		at   int64 // ms after testT0
		argv string
	}{
		{0, "SET a x PX 100"},
		{0, "SET b x PX 100"},
		{0, "SET c x PX 100"},
		{0, "SET d x PX 100"},
		{0, "SET e x"},
		{50, "SET b y"},          // no TTL any more
		{60, "PEXPIRE c 1000"},   // a later TTL
		{70, "PERSIST d"},        // no TTL
		{90, "memimg.expired a"}, // too early: stays
		{200, "memimg.expired a b c d e nosuch"},
	}
	var batch []Entry
	for i, en := range entries {
		batch = append(batch, Entry{Index: uint64(i + 1), Kind: KindCommand, Time: t0 + en.at*ms,
			Data: schema.EncodeCommand(nil, 0, kArgv(en.argv))})
	}
	if err := log.Append(batch); err != nil {
		t.Fatal(err)
	}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	got := strings.Join(kKeys(e, 0), " ")
	if got != "b c d e" {
		t.Errorf("keys after replay: %q, want \"b c d e\"", got)
	}
	if n := e.Stats().ExpiredKeys.Load(); n != 1 {
		t.Errorf("expired_keys %d, want 1", n)
	}
	kCheckIndex(t, e)
}

// TestExpiryClose closes engines while the reactor is busy submitting: Close
// must return (no deadlock on a request left in the queue).
func TestExpiryClose(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := range 10 {
		clk := newTestClock()
		e, err := Open(Options{Log: &MemLog{}, ExpiryInterval: time.Millisecond, Clock: clk.now, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		pending := make([]Pending, 0, 1000)
		for j := range 1000 {
			pending = append(pending, e.ExecAsync(0, kArgv(fmt.Sprintf("SET k%d x PX 1", j))))
		}
		for _, p := range pending {
			p.Wait()
		}
		clk.advance(time.Second)
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- e.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return")
		}
	}
}
