package engine

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func openTest(t *testing.T, opts Options) (*Engine, *MemLog) {
	t.Helper()
	log := &MemLog{}
	if opts.Log == nil {
		opts.Log = log
	}
	if opts.ExpiryInterval == 0 {
		opts.ExpiryInterval = -1
	}
	e, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, log
}

func argv(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

func TestOversizeCommandIsRefusedAndNotLogged(t *testing.T) {
	e, log := openTest(t, Options{MaxEntrySize: 100})
	if r := e.Exec(0, argv("set", "small", "v")); r.Kind != KindStatus {
		t.Fatalf("small SET = %+v", r)
	}
	r := e.Exec(0, argv("set", "big", strings.Repeat("x", 200)))
	if !r.IsError() || !strings.Contains(r.Str, "too large") {
		t.Fatalf("big SET = %+v, want a too-large error", r)
	}
	if n := len(log.Entries()); n != 1 {
		t.Fatalf("log has %d entries, want 1", n)
	}
	// The engine keeps writing after refusing one command.
	if r := e.Exec(0, argv("set", "after", "v")); r.Kind != KindStatus {
		t.Fatalf("SET after refusal = %+v", r)
	}
	if e.Failed() != nil {
		t.Fatalf("engine failed: %v", e.Failed())
	}
}

func TestFailedSyncRefusesLaterWrites(t *testing.T) {
	log := &MemLog{SyncErr: errors.New("disk on fire")}
	e, _ := openTest(t, Options{Log: log})
	r := e.Exec(0, argv("set", "k", "v"))
	if !r.IsError() || !strings.HasPrefix(r.Str, "MISCONF") {
		t.Fatalf("SET with failing sync = %+v, want MISCONF", r)
	}
	if !errors.Is(e.Failed(), ErrLogFailed) {
		t.Fatalf("Failed() = %v", e.Failed())
	}
	// The write was not applied: nobody may read what may not be durable.
	if r := e.Exec(0, argv("get", "k")); r.Kind != KindNull {
		t.Fatalf("GET after failed sync = %+v, want null", r)
	}
	if r := e.Exec(0, argv("set", "k2", "v")); !strings.HasPrefix(r.Str, "MISCONF") {
		t.Fatalf("later SET = %+v, want MISCONF", r)
	}
}

func TestGroupCommitSharesSyncs(t *testing.T) {
	e, log := openTest(t, Options{})
	const writers, each = 32, 50
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if r := e.Exec(0, argv("incr", "counter")); r.IsError() {
					t.Errorf("INCR: %s", r.Str)
					return
				}
			}
		}()
	}
	wg.Wait()
	if r := e.Exec(0, argv("get", "counter")); r.Str != "1600" {
		t.Fatalf("counter = %q, want 1600", r.Str)
	}
	if got := len(log.Entries()); got != writers*each {
		t.Fatalf("log has %d entries, want %d", got, writers*each)
	}
	// Every write is covered by a sync before its reply.
	if log.Syncs() == 0 || log.Syncs() > writers*each {
		t.Fatalf("syncs = %d for %d writes", log.Syncs(), writers*each)
	}
}
