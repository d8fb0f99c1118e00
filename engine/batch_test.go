package engine

import (
	"testing"

	"github.com/memimg/memimg/schema"
)

// TestBatchSameAsSeparateEntries: a memimg.batch entry gives each of its
// commands the reply it would have had as an entry of its own, in order,
// and leaves the same image; replaying a log that holds the batch gives the
// same image again.
func TestBatchSameAsSeparateEntries(t *testing.T) {
	cmd := func(db int, args ...string) []byte {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		return schema.EncodeCommand(nil, db, argv)
	}
	tx := schema.EncodeCommand(nil, 0, [][]byte{[]byte("memimg.exec"), schema.EncodeTxWatches(nil, nil),
		cmd(0, "SET", "c", "3"), cmd(0, "INCR", "c")})
	payloads := [][]byte{
		cmd(0, "SET", "a", "1"),
		cmd(0, "INCR", "a"),
		cmd(0, "RPUSH", "l", "x", "y", "z"),
		cmd(0, "LPOP", "l", "2"), // an array reply inside the batch's array
		cmd(0, "HSET", "h", "f", "v"),
		cmd(0, "INCR", "h"), // WRONGTYPE: an error for this command only
		cmd(1, "SET", "a", "other database"),
		tx,                                   // a client's transaction inside a batch
		cmd(0, "SET", "ttl", "v", "PX", "1"), // expires at the entry's time + 1 ms
		cmd(0, "FLUSHDB"),                    // replaces database 0's keyspace ...
		cmd(0, "SET", "after", "flush"),      // ... which the next command writes to
	}
	clk := newTestClock()
	f := newFakeRaft(clk.now)
	defer f.close()
	separate, batched := openReplicated(t, f, clk), openReplicated(t, f, clk)

	var entries []Entry
	for i, p := range payloads {
		entries = append(entries, Entry{Index: uint64(i + 1), Term: 1, Kind: KindCommand, Time: clk.now(), Data: p})
	}
	want := separate.ApplyEntries(entries)
	batch := Entry{Index: 1, Term: 1, Kind: KindCommand, Time: clk.now(), Data: schema.EncodeBatch(nil, payloads)}
	got := batched.ApplyEntries([]Entry{batch})
	if got[0].Kind != KindArray || len(got[0].Elems) != len(payloads) {
		t.Fatalf("batch reply %s, want an array of %d", render(got[0]), len(payloads))
	}
	for i := range payloads {
		if g, w := render(got[0].Elems[i]), render(want[i]); g != w {
			t.Errorf("command %d: in a batch %s, alone %s", i, g, w)
		}
	}
	ds, _, _ := separate.Digest()
	db, _, _ := batched.Digest()
	if ds != db {
		t.Fatalf("digest after separate entries %s, after one batch %s", ds, db)
	}

	// Replayed from a log, standalone (memimg verify, a node's start-up).
	log := &MemLog{}
	if err := log.Append([]Entry{batch}); err != nil {
		t.Fatal(err)
	}
	replayed := openTestEngine(t, log, clk, -1)
	if dr, idx, _ := replayed.Digest(); dr != db || idx != 1 {
		t.Fatalf("replayed digest %s at %d, want %s at 1", dr, idx, db)
	}
}

// TestBatchCheck: memimg.batch's check accepts valid writes (a transaction
// included) and refuses what no leader would propose.
func TestBatchCheck(t *testing.T) {
	batchCmd := schema.Lookup([]byte("memimg.batch"))
	set := schema.EncodeCommand(nil, 0, [][]byte{[]byte("SET"), []byte("k"), []byte("v")})
	tests := []struct {
		name     string
		payloads [][]byte
		ok       bool
	}{
		{"writes", [][]byte{set, set}, true},
		{"a read", [][]byte{set, schema.EncodeCommand(nil, 0, [][]byte{[]byte("GET"), []byte("k")})}, false},
		{"a nested batch", [][]byte{set, schema.EncodeBatch(nil, [][]byte{set})}, false},
		{"a corrupt payload", [][]byte{set, {0xff, 1}}, false},
		{"a wrong arity", [][]byte{schema.EncodeCommand(nil, 0, [][]byte{[]byte("SET"), []byte("k")})}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, argv, err := schema.DecodeCommand(schema.EncodeBatch(nil, tt.payloads), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := batchCmd.Validate(argv); (err == nil) != tt.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
