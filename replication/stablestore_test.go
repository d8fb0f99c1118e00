package replication

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
)

func TestStableStoreNotFound(t *testing.T) {
	s, err := OpenStableStore(filepath.Join(t.TempDir(), "raft-stable"))
	if err != nil {
		t.Fatal(err)
	}
	// hashicorp/raft tests err.Error() == "not found".
	if v, err := s.Get([]byte("CurrentTerm")); err == nil || err.Error() != "not found" || v != nil {
		t.Fatalf("Get of a missing key: %q, %v", v, err)
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() != "not found" || v != 0 {
		t.Fatalf("GetUint64 of a missing key: %d, %v", v, err)
	}
	// And raft agrees the node has no state.
	ls, _ := newStore(t, LogStoreOptions{})
	has, err := raft.HasExistingState(ls, s, raft.NewInmemSnapshotStore())
	if err != nil || has {
		t.Fatalf("HasExistingState = %v, %v", has, err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 3); err != nil {
		t.Fatal(err)
	}
	has, err = raft.HasExistingState(ls, s, raft.NewInmemSnapshotStore())
	if err != nil || !has {
		t.Fatalf("HasExistingState after a term = %v, %v", has, err)
	}
}

func TestStableStoreRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft-stable")
	steps := []struct {
		key string
		val []byte // nil: SetUint64(u)
		u   uint64
	}{
		{key: "CurrentTerm", u: 1},
		{key: "LastVoteTerm", u: 1},
		{key: "LastVoteCand", val: []byte("node-1")},
		{key: "CurrentTerm", u: 1<<64 - 1},
		{key: "LastVoteCand", val: []byte{}},
		{key: "", val: []byte("empty key")},
		{key: "binary\x00key", val: bytes.Repeat([]byte{0xff, 0}, 1000)},
	}
	want := map[string][]byte{}
	for i, st := range steps {
		s, err := OpenStableStore(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.val == nil {
			err = s.SetUint64([]byte(st.key), st.u)
			want[st.key] = []byte{byte(st.u >> 56), byte(st.u >> 48), byte(st.u >> 40), byte(st.u >> 32), byte(st.u >> 24), byte(st.u >> 16), byte(st.u >> 8), byte(st.u)}
		} else {
			err = s.Set([]byte(st.key), st.val)
			want[st.key] = st.val
		}
		if err != nil {
			t.Fatal(err)
		}
		// Reopen: everything set so far is there.
		s, err = OpenStableStore(path)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		for k, v := range want {
			got, err := s.Get([]byte(k))
			if err != nil || !bytes.Equal(got, v) {
				t.Fatalf("step %d: Get(%q) = %x, %v; want %x", i, k, got, err, v)
			}
		}
	}
	s, _ := OpenStableStore(path)
	if u, err := s.GetUint64([]byte("CurrentTerm")); err != nil || u != 1<<64-1 {
		t.Fatalf("GetUint64 = %d, %v", u, err)
	}
	if _, err := s.GetUint64([]byte("LastVoteCand")); err == nil {
		t.Fatal("GetUint64 of a 0-byte value succeeded")
	}
	// The caller's slices are not kept or shared.
	v := []byte("abc")
	s.Set([]byte("k"), v)
	v[0] = 'X'
	got, _ := s.Get([]byte("k"))
	got[1] = 'Y'
	if got, _ := s.Get([]byte("k")); string(got) != "abc" {
		t.Fatalf("stored value aliased: %q", got)
	}
}

func TestStableStoreCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "raft-stable")
	s, err := OpenStableStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 42); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("n2")); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A leftover temporary file (a crash in Set) is ignored and removed.
	if err := os.WriteFile(path+".tmp", []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenStableStore(path); err != nil {
		t.Fatal(err)
	} else if u, _ := s.GetUint64([]byte("CurrentTerm")); u != 42 {
		t.Fatalf("term %d after a leftover tmp", u)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("leftover tmp file not removed: %v", err)
	}

	damage := map[string][]byte{
		"empty":       {},
		"short":       good[:5],
		"truncated":   good[:len(good)-1],
		"extended":    append(bytes.Clone(good), 0),
		"zeros":       make([]byte, len(good)),
		"bad magic":   append([]byte("XXXX"), good[4:]...),
		"bit flip":    flip(good, len(good)/2),
		"crc flip":    flip(good, len(good)-1),
		"version":     flip(good, 4),
		"other file":  []byte("this is not a stable store file at all"),
		"only header": append([]byte("MIRS\x01"), 0, 0, 0, 0),
	}
	for name, data := range damage {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := OpenStableStore(path)
			if !errors.Is(err, ErrStableCorrupt) {
				t.Fatalf("open: %v, want ErrStableCorrupt", err)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x10
	return c
}

func TestStableStoreUnwritable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStableStore(filepath.Join(dir, "raft-stable"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 1); err == nil {
		t.Fatal("Set into a removed directory succeeded")
	}
	// A failed Set leaves the key as it was.
	if _, err := s.GetUint64([]byte("CurrentTerm")); err != ErrKeyNotFound {
		t.Fatalf("after a failed Set: %v", err)
	}
}

func FuzzStableDecode(f *testing.F) {
	f.Add(encodeStable(map[string][]byte{"CurrentTerm": {0, 0, 0, 0, 0, 0, 0, 1}}))
	f.Add([]byte("MIRS\x01\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kv, why := decodeStable(data)
		if why != "" {
			return
		}
		if again := encodeStable(kv); !bytes.Equal(again, data) {
			t.Fatalf("decoded %q but re-encodes differently", data)
		}
	})
}
