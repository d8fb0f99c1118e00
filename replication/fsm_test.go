package replication

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzReadSnapshot: the snapshot stream a follower receives from the
// leader is network input. readSnapshot never panics on it, refuses a
// damaged stream with ErrSnapshotCorrupt, and what it accepts survives
// being written and read again unchanged (records, members, index, term).
func FuzzReadSnapshot(f *testing.F) {
	var seed bytes.Buffer
	members := map[string]Member{"n1": {ID: "n1", RaftAddr: "127.0.0.1:7001", Addr: "127.0.0.1:6001", Voter: true}}
	if err := writeSnapshot(&seed, ssView(f, 40, 5, ssRecords), members, ssDatabases); err != nil {
		f.Fatal(err)
	}
	f.Add(seed.Bytes())
	var empty bytes.Buffer
	if err := writeSnapshot(&empty, ssView(f, 1, 1, nil), nil, ssDatabases); err != nil {
		f.Fatal(err)
	}
	f.Add(empty.Bytes())
	f.Add([]byte("MIMGSNAP"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ms, err := readSnapshot(bytes.NewReader(b), ssDatabases)
		if err != nil {
			if !errors.Is(err, ErrSnapshotCorrupt) {
				t.Fatalf("an error that is not ErrSnapshotCorrupt: %v", err)
			}
			return
		}
		var again bytes.Buffer
		if err := writeSnapshot(&again, v, ms, ssDatabases); err != nil {
			t.Fatal(err)
		}
		v2, ms2, err := readSnapshot(bytes.NewReader(again.Bytes()), ssDatabases)
		if err != nil {
			t.Fatalf("a stream it wrote does not read back: %v", err)
		}
		if v2.Index != v.Index || v2.Term != v.Term || !reflect.DeepEqual(ssDump(t, v2), ssDump(t, v)) || !reflect.DeepEqual(ms2, ms) {
			t.Fatalf("the round trip changed the snapshot")
		}
	})
}
