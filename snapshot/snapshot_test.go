package snapshot

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/memimg/memimg/engine"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openEngine(t testing.TB, log *engine.MemLog, base *engine.View) *engine.Engine {
	t.Helper()
	e, err := engine.Open(engine.Options{Log: log, Base: base, ExpiryInterval: -1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func openStore(t testing.TB, dir string, mod ...func(*Options)) *Store {
	t.Helper()
	o := Options{Dir: dir, Logger: quiet}
	for _, m := range mod {
		m(&o)
	}
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func exec(t testing.TB, e *engine.Engine, db int, args ...string) {
	t.Helper()
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	if r := e.Exec(db, argv); r.IsError() {
		t.Fatalf("%q: %s", args, r.Str)
	}
}

func digest(t testing.TB, v *engine.View) engine.Digest {
	t.Helper()
	d, err := v.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// write takes a View and writes it like a Saver does.
func write(t testing.TB, s *Store, e *engine.Engine, prev *engine.View, prevMeta Meta) (*engine.View, Result) {
	t.Helper()
	v := e.Clone()
	if err := e.Sync(); err != nil {
		t.Fatal(err)
	}
	res, err := s.Write(v, prev, prevMeta, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v, res
}

// load loads the store and checks the image equals want.
func load(t testing.TB, s *Store, want *engine.View) (*engine.View, Meta) {
	t.Helper()
	v, m, err := s.Load(16)
	if err != nil {
		t.Fatal(err)
	}
	if v == nil {
		t.Fatal("no snapshot loaded")
	}
	if got, w := digest(t, v), digest(t, want); got != w || v.Index != want.Index || m.Index != want.Index {
		t.Fatalf("loaded index %d digest %s, want %d %s", v.Index, got, want.Index, w)
	}
	return v, m
}

// TestFullThenIncremental writes a full snapshot, then incremental ones,
// and loads each: the same image, and only the changes written.
func TestFullThenIncremental(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snapshot")
	s := openStore(t, dir)
	if v, m, err := s.Load(16); err != nil || v != nil || !m.IsZero() {
		t.Fatalf("empty store: %v %+v %v", v, m, err)
	}
	if _, _, err := s.Info(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Info of no store: %v", err)
	}
	log := &engine.MemLog{}
	e := openEngine(t, log, nil)
	for i := range 2000 {
		exec(t, e, i%3, "set", fmt.Sprintf("key:%04d", i), strings.Repeat("v", i%50))
	}
	exec(t, e, 0, "pexpire", "key:0003", "100000000")
	v1, r1 := write(t, s, e, nil, Meta{})
	if r1.Meta.Kind != Full || r1.Changes != 2000 || r1.Meta.Keys != 2000 {
		t.Fatalf("first snapshot: %+v", r1)
	}
	load(t, s, v1)

	exec(t, e, 0, "set", "key:0000", "changed")
	exec(t, e, 1, "del", "key:0001")
	exec(t, e, 2, "set", "new", "x")
	exec(t, e, 0, "persist", "key:0003")
	v2, r2 := write(t, s, e, v1, r1.Meta)
	if r2.Meta.Kind != Incremental || r2.Changes != 4 || r2.Meta.Incrementals != 1 || r2.Meta.FullIndex != v1.Index {
		t.Fatalf("incremental snapshot: %+v", r2)
	}
	lv, lm := load(t, s, v2)
	if lm.Digest != digest(t, v2) {
		t.Fatal("metadata digest differs from the image's")
	}

	// An engine started from the loaded image, with the log's tail, has
	// the state of a full replay.
	exec(t, e, 0, "set", "tail", "1")
	full, _, _ := e.Digest()
	e2 := openEngine(t, log, lv)
	if d, idx, _ := e2.Digest(); d != full || idx != e.AppliedIndex() {
		t.Fatalf("base + tail: %s at %d, want %s at %d", d, idx, full, e.AppliedIndex())
	}

	// More changes than keys: rewritten in full.
	exec(t, e, 0, "flushall")
	exec(t, e, 0, "set", "only", "1")
	v3, r3 := write(t, s, e, v2, r2.Meta)
	if r3.Meta.Kind != Full || r3.Reason == "" {
		t.Fatalf("after FLUSHALL: %+v", r3)
	}
	load(t, s, v3)

	// A prev the store does not hold: full.
	exec(t, e, 0, "set", "more", "1")
	_, r4 := write(t, s, e, v1, r1.Meta)
	if r4.Meta.Kind != Full {
		t.Fatalf("stale prev: %+v", r4)
	}
	m, disk, err := s.Info()
	if err != nil || m.Index != r4.Meta.Index || disk <= 0 {
		t.Fatalf("Info: %+v %d %v", m, disk, err)
	}
}

// TestIncrementalSizeLimit: a batch over MaxIncrementalBytes becomes a
// full snapshot.
func TestIncrementalSizeLimit(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "snapshot"), func(o *Options) { o.MaxIncrementalBytes = 10 << 10 })
	e := openEngine(t, &engine.MemLog{}, nil)
	for i := range 500 {
		exec(t, e, 0, "set", fmt.Sprint(i), "x")
	}
	v1, r1 := write(t, s, e, nil, Meta{})
	for i := range 100 {
		exec(t, e, 0, "set", fmt.Sprint(i), strings.Repeat("y", 200))
	}
	v2, r2 := write(t, s, e, v1, r1.Meta)
	if r2.Meta.Kind != Full || !strings.Contains(r2.Reason, "bytes") {
		t.Fatalf("over the limit: %+v", r2)
	}
	load(t, s, v2)
}

// TestLoadDetectsDamage changes the store behind the metadata's back: the
// load fails with ErrCorrupt.
func TestLoadDetectsDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(b *pebble.Batch)
	}{
		{"value changed", func(b *pebble.Batch) {
			b.Set(appendDataKey(nil, 0, "a"), appendValue(nil, &engine.Record{Value: []byte("other")}), nil)
		}},
		{"key deleted", func(b *pebble.Batch) { b.Delete(appendDataKey(nil, 0, "a"), nil) }},
		{"key added", func(b *pebble.Batch) {
			b.Set(appendDataKey(nil, 1, "x"), appendValue(nil, &engine.Record{Value: []byte("1")}), nil)
		}},
		{"bad value", func(b *pebble.Batch) { b.Set(appendDataKey(nil, 0, "a"), []byte{0}, nil) }},
		{"bad metadata", func(b *pebble.Batch) { b.Set(metaKey, []byte("MISN garbage"), nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "snapshot")
			s := openStore(t, dir)
			e := openEngine(t, &engine.MemLog{}, nil)
			exec(t, e, 0, "set", "a", "1")
			exec(t, e, 0, "set", "b", "2")
			write(t, s, e, nil, Meta{})
			db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{quiet}})
			if err != nil {
				t.Fatal(err)
			}
			b := db.NewBatch()
			tc.damage(b)
			if err := b.Commit(pebble.Sync); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if _, _, err := s.Load(16); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Load = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestMetaFormat pins the metadata encoding and its checks.
func TestMetaFormat(t *testing.T) {
	m := Meta{Version: 1, Kind: Incremental, Index: 7, Term: 2, Time: 3, Created: time.Unix(0, 4), Keys: 5,
		Digest: engine.Digest{Lo: 6, Hi: 8}, Databases: 16, ValueEncoding: engine.ValueEncodingVersion, FullIndex: 1, Incrementals: 9}
	b := encodeMeta(m)
	if len(b) != metaSize || string(b[:4]) != "MISN" {
		t.Fatalf("encoding %x", b)
	}
	got, err := decodeMeta(b)
	if err != nil || got != m {
		t.Fatalf("decode: %+v %v, want %+v", got, err, m)
	}
	b[10] ^= 1
	if _, err := decodeMeta(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flipped bit: %v", err)
	}
	b = encodeMeta(m)
	b[4] = 9
	b = append(b[:84], encodeMeta(m)[84:]...)
	if _, err := decodeMeta(b); err == nil {
		t.Fatal("version 9 accepted")
	}
}

// TestBackup checkpoints the store; the copy loads to the same image, and
// the store is locked while during runs: another Store waits for it (and
// gives up with ErrLocked after its LockTimeout).
func TestBackup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snapshot")
	s := openStore(t, dir)
	e := openEngine(t, &engine.MemLog{}, nil)
	exec(t, e, 0, "set", "a", "1")
	v, _ := write(t, s, e, nil, Meta{})
	dest := filepath.Join(t.TempDir(), "backup")
	other := openStore(t, dir, func(o *Options) { o.LockTimeout = 200 * time.Millisecond })
	m, err := s.Backup(dest, func(m Meta) error {
		if _, _, err := other.Info(); !errors.Is(err, ErrLocked) {
			return fmt.Errorf("Info during a backup: %v, want ErrLocked", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Index != v.Index {
		t.Fatalf("backup of index %d, want %d", m.Index, v.Index)
	}
	load(t, openStore(t, dest), v)
	if _, _, err := other.Info(); err != nil {
		t.Fatalf("Info after the backup: %v", err)
	}
}

// TestSaver checks BGSAVE, SAVE, the rules and the status.
func TestSaver(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snapshot")
	st := openStore(t, dir, func(o *Options) {})
	e := openEngine(t, &engine.MemLog{}, nil)
	var commits atomic.Int32
	sv := NewSaver(SaverOptions{Store: st, Engine: e, Logger: quiet, Interval: 10 * time.Millisecond,
		AfterCommit: func(Meta) error { commits.Add(1); return nil }})
	defer sv.Close(false)
	exec(t, e, 0, "set", "a", "1")
	if got := sv.Status(); got.Changes != 1 || got.InProgress || !got.LastOK {
		t.Fatalf("status before: %+v", got)
	}
	if _, err := sv.BGSave(false); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sv)
	if got := sv.Status(); got.Saves != 1 || got.Changes != 0 || got.Meta.Kind != Full || commits.Load() != 1 {
		t.Fatalf("status after BGSAVE: %+v", got)
	}
	exec(t, e, 0, "set", "b", "1")
	if err := sv.Save(); err != nil {
		t.Fatal(err)
	}
	if got := sv.Status(); got.Saves != 2 || got.Meta.Kind != Incremental {
		t.Fatalf("status after SAVE: %+v", got)
	}

	// A rule: one change, after a second.
	sv.SetRules([]Rule{{Seconds: 1, Changes: 1}})
	exec(t, e, 0, "set", "c", "1")
	deadline := time.Now().Add(5 * time.Second)
	for sv.Status().Saves < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the rule did not fire: %+v", sv.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitIdle(t, sv)
	v, _, _ := e.Digest()
	lv, _, err := st.Load(16)
	if err != nil || digest(t, lv) != v {
		t.Fatalf("the rule's snapshot: %v", err)
	}

	// Close with final: a last snapshot when there are changes.
	exec(t, e, 0, "set", "d", "1")
	if err := sv.Close(true); err != nil {
		t.Fatal(err)
	}
	if m, _, _ := st.Info(); m.Index != e.AppliedIndex() {
		t.Fatalf("final snapshot at %d, want %d", m.Index, e.AppliedIndex())
	}
	if _, err := sv.BGSave(false); !errors.Is(err, ErrClosed) {
		t.Fatalf("BGSAVE after Close: %v", err)
	}
}

// TestSaverInProgress: a second BGSAVE while one runs is refused, or
// scheduled.
func TestSaverInProgress(t *testing.T) {
	release := make(chan struct{})
	st := openStore(t, filepath.Join(t.TempDir(), "snapshot"), func(o *Options) {
		o.Hook = func(p string) {
			if p == "commit" {
				<-release
			}
		}
	})
	e := openEngine(t, &engine.MemLog{}, nil)
	sv := NewSaver(SaverOptions{Store: st, Engine: e, Logger: quiet})
	defer sv.Close(false)
	exec(t, e, 0, "set", "a", "1")
	if _, err := sv.BGSave(false); err != nil {
		t.Fatal(err)
	}
	if _, err := sv.BGSave(false); !errors.Is(err, ErrInProgress) {
		t.Fatalf("second BGSAVE: %v", err)
	}
	if err := sv.Save(); !errors.Is(err, ErrInProgress) {
		t.Fatalf("SAVE during BGSAVE: %v", err)
	}
	if !sv.Status().InProgress {
		t.Fatal("not in progress")
	}
	if ok, err := sv.BGSave(true); !ok || err != nil {
		t.Fatalf("BGSAVE SCHEDULE: %v %v", ok, err)
	}
	release <- struct{}{}
	release <- struct{}{} // the scheduled one
	close(release)
	waitIdle(t, sv)
	if got := sv.Status(); got.Saves != 2 {
		t.Fatalf("saves %d, want 2", got.Saves)
	}
}

func waitIdle(t *testing.T, sv *Saver) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sv.Status().InProgress {
		if time.Now().After(deadline) {
			t.Fatal("snapshot still in progress")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestParseRules(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{
		{"", "", false},
		{"3600 1 300 100 60 10000", "3600 1 300 100 60 10000", false},
		{"  900   1 ", "900 1", false},
		{"900", "", true},
		{"900 x", "", true},
		{"0 1", "", true},
		{"-5 1", "", true},
	} {
		r, err := ParseRules(tc.in)
		if (err != nil) != tc.err || (!tc.err && FormatRules(r) != tc.want) {
			t.Errorf("ParseRules(%q) = %v, %v", tc.in, r, err)
		}
	}
}
