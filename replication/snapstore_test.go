package replication

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/snapshot"
)

// ssDatabases is the number of databases of the images of these tests.
const ssDatabases = 4

// ssRecord is a record of a View, copied out of Range's callback.
type ssRecord struct {
	DB    int
	Key   string
	Type  engine.ValueType
	Exp   int64
	Value string
}

// ssRecords are the keys of the test images: strings, whose encoded value
// is the string's bytes, in several databases, one with an expiry.
var ssRecords = []ssRecord{
	{DB: 0, Key: "alpha", Type: engine.TypeString, Value: "one"},
	{DB: 0, Key: "beta", Type: engine.TypeString, Exp: 4102444800000, Value: "two"},
	{DB: 0, Key: "empty", Type: engine.TypeString, Value: ""},
	{DB: 2, Key: "gamma", Type: engine.TypeString, Value: strings.Repeat("g", 300)},
	{DB: 3, Key: "delta", Type: engine.TypeString, Value: "\x00binary\xff"},
}

// ssView builds an image of ssDatabases databases at index and term
// holding recs.
func ssView(t testing.TB, index, term uint64, recs []ssRecord) *engine.View {
	t.Helper()
	ld := engine.NewLoader(ssDatabases, index, term, 1_700_000_000_000_000_000+int64(index))
	for _, r := range recs {
		if err := ld.Add(&engine.Record{DB: r.DB, Key: r.Key, Type: r.Type, Exp: r.Exp, Value: []byte(r.Value)}); err != nil {
			t.Fatal(err)
		}
	}
	return ld.View()
}

// ssDump returns the records of v, in Range's order.
func ssDump(t testing.TB, v *engine.View) []ssRecord {
	t.Helper()
	var out []ssRecord
	err := v.Range(func(r *engine.Record) error {
		out = append(out, ssRecord{DB: r.DB, Key: r.Key, Type: r.Type, Exp: r.Exp, Value: string(r.Value)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ssSorted returns recs in Range's order: by database, then key.
func ssSorted(recs []ssRecord) []ssRecord {
	out := append([]ssRecord(nil), recs...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].DB != out[j].DB {
			return out[i].DB < out[j].DB
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// ssConf is a configuration of voters with the given ids (each at the
// address "<id>:7000").
func ssConf(ids ...string) raft.Configuration {
	var c raft.Configuration
	for _, id := range ids {
		c.Servers = append(c.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(id), Address: raft.ServerAddress(id + ":7000")})
	}
	return c
}

// ssFixture is a node's Pebble store and the directory of its
// SnapshotStore, with the engine's applied index and a count of the Save
// calls.
type ssFixture struct {
	dir     string // the SnapshotStore's directory
	pebble  *snapshot.Store
	applied uint64
	saves   int
}

// newSSFixture returns a fixture over fresh directories, its engine
// applied up to index 1000.
func newSSFixture(t testing.TB) *ssFixture {
	t.Helper()
	root := t.TempDir()
	p, err := snapshot.Open(snapshot.Options{Dir: filepath.Join(root, "snapshot"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &ssFixture{dir: filepath.Join(root, "raft-snapshots"), pebble: p, applied: 1000}
}

// open opens the SnapshotStore of the fixture.
func (f *ssFixture) open(t testing.TB) *SnapshotStore {
	t.Helper()
	s, err := OpenSnapshotStore(SnapshotStoreOptions{
		Dir: f.dir, Pebble: f.pebble, Databases: ssDatabases,
		Applied: func() uint64 { return f.applied },
		Save:    func() error { f.saves++; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writePebble writes v to the fixture's Pebble store, in full.
func (f *ssFixture) writePebble(t testing.TB, v *engine.View) {
	t.Helper()
	if _, err := f.pebble.Write(v, nil, snapshot.Meta{}, nil); err != nil {
		t.Fatal(err)
	}
}

// files returns the names in the store's directory matching pattern.
func (f *ssFixture) files(t testing.TB, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(f.dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// TestSnapshotStoreList checks which snapshot List reports: none without a
// Pebble snapshot, without a configuration recorded at or before its index
// (a standalone snapshot from before the bootstrap), or with the engine's
// image behind it; otherwise the Pebble snapshot, with the configuration in
// force at its index (the last recorded at or before it).
func TestSnapshotStoreList(t *testing.T) {
	type recorded struct {
		index uint64
		conf  raft.Configuration
	}
	history := []recorded{{2, ssConf("a")}, {7, ssConf("a", "b")}, {15, ssConf("a", "b", "c")}}
	tests := []struct {
		name      string
		pebble    uint64 // index of the Pebble snapshot (term 3); 0 for none
		confs     []recorded
		applied   uint64
		wantIndex uint64 // the listed ConfigurationIndex; 0 for an empty list
		wantConf  raft.Configuration
	}{
		{name: "no pebble snapshot", pebble: 0, confs: history, applied: 1000},
		{name: "no configuration recorded", pebble: 10, applied: 1000},
		{name: "standalone snapshot before the bootstrap", pebble: 10, confs: history[2:], applied: 1000},
		{name: "engine behind the snapshot", pebble: 10, confs: history, applied: 9},
		{name: "engine at the snapshot", pebble: 10, confs: history, applied: 10, wantIndex: 7, wantConf: ssConf("a", "b")},
		{name: "engine past the snapshot", pebble: 10, confs: history, applied: 1000, wantIndex: 7, wantConf: ssConf("a", "b")},
		{name: "configuration at the snapshot's index", pebble: 15, confs: history, applied: 1000, wantIndex: 15, wantConf: ssConf("a", "b", "c")},
		{name: "only configuration before the snapshot", pebble: 10, confs: history[:1], applied: 1000, wantIndex: 2, wantConf: ssConf("a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSSFixture(t)
			f.applied = tt.applied
			if tt.pebble != 0 {
				f.writePebble(t, ssView(t, tt.pebble, 3, ssRecords))
			}
			s := f.open(t)
			for _, c := range tt.confs {
				if err := s.recordConfiguration(c.index, c.conf); err != nil {
					t.Fatal(err)
				}
			}
			list, err := s.List()
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if tt.wantIndex == 0 {
				if len(list) != 0 {
					t.Fatalf("List = %+v, want none", list)
				}
				return
			}
			if len(list) != 1 {
				t.Fatalf("List = %+v, want one snapshot", list)
			}
			m := list[0]
			if m.Index != tt.pebble || m.Term != 3 {
				t.Errorf("listed index %d term %d, want %d 3", m.Index, m.Term, tt.pebble)
			}
			if m.ConfigurationIndex != tt.wantIndex || !reflect.DeepEqual(m.Configuration, tt.wantConf) {
				t.Errorf("listed configuration %+v at %d, want %+v at %d", m.Configuration, m.ConfigurationIndex, tt.wantConf, tt.wantIndex)
			}
			if m.Size <= 0 {
				t.Errorf("listed size %d, want > 0", m.Size)
			}
			if !strings.HasPrefix(m.ID, "pebble-") {
				t.Errorf("listed id %q, want a pebble- one", m.ID)
			}
		})
	}
}

// TestSnapshotStoreStateSurvivesReopen checks that the configurations and
// the member table are kept across a restart: members merged in one at a
// time (all false), then the whole table replaced (all true).
func TestSnapshotStoreStateSurvivesReopen(t *testing.T) {
	f := newSSFixture(t)
	s := f.open(t)
	if got := s.Members(); len(got) != 0 {
		t.Fatalf("members of a new store: %+v", got)
	}
	if _, _, ok := s.configurationAt(1000); ok {
		t.Fatal("a new store has a configuration")
	}
	a := Member{ID: "a", RaftAddr: "a:7000", Addr: "a:6379", Voter: true}
	b := Member{ID: "b", RaftAddr: "b:7000", Addr: "b:6379"}
	a2 := Member{ID: "a", RaftAddr: "a:7001", Addr: "a:6380", Voter: true}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.recordConfiguration(3, ssConf("a")))
	must(s.recordConfiguration(8, ssConf("a", "b")))
	must(s.recordMembers(map[string]Member{"a": a}, false))
	must(s.recordMembers(map[string]Member{"b": b}, false))
	must(s.recordMembers(map[string]Member{"a": a2}, false))

	s = f.open(t)
	if got, want := s.Members(), map[string]Member{"a": a2, "b": b}; !reflect.DeepEqual(got, want) {
		t.Errorf("members after a restart: %+v, want %+v", got, want)
	}
	for _, tt := range []struct {
		at, wantIndex uint64
		want          raft.Configuration
	}{
		{at: 3, wantIndex: 3, want: ssConf("a")},
		{at: 7, wantIndex: 3, want: ssConf("a")},
		{at: 8, wantIndex: 8, want: ssConf("a", "b")},
		{at: 1000, wantIndex: 8, want: ssConf("a", "b")},
	} {
		c, i, ok := s.configurationAt(tt.at)
		if !ok || i != tt.wantIndex || !reflect.DeepEqual(c, tt.want) {
			t.Errorf("configurationAt(%d) after a restart = %+v at %d (%v), want %+v at %d", tt.at, c, i, ok, tt.want, tt.wantIndex)
		}
	}
	if _, _, ok := s.configurationAt(2); ok {
		t.Error("configurationAt(2): a configuration before the first recorded")
	}

	// The returned table is a copy.
	s.Members()["x"] = Member{ID: "x"}
	if _, ok := s.Members()["x"]; ok {
		t.Error("Members returned the store's own map")
	}

	c := Member{ID: "c", RaftAddr: "c:7000", Addr: "c:6379", Voter: true}
	must(s.recordMembers(map[string]Member{"c": c}, true))
	s = f.open(t)
	if got, want := s.Members(), map[string]Member{"c": c}; !reflect.DeepEqual(got, want) {
		t.Errorf("members after a replacement and a restart: %+v, want %+v", got, want)
	}
}

// TestSnapshotStoreRecordConfigurationReplacesLater checks that a
// configuration recorded at an index at or before the last recorded one
// replaces those at or after its index, and that the result is what a
// restart reads.
func TestSnapshotStoreRecordConfigurationReplacesLater(t *testing.T) {
	tests := []struct {
		name  string
		index uint64
		want  []uint64 // the indexes recorded afterwards
	}{
		{name: "after the last", index: 20, want: []uint64{3, 8, 12, 20}},
		{name: "at the last", index: 12, want: []uint64{3, 8, 12}},
		{name: "between two", index: 10, want: []uint64{3, 8, 10}},
		{name: "at a middle one", index: 8, want: []uint64{3, 8}},
		{name: "before the first", index: 1, want: []uint64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSSFixture(t)
			s := f.open(t)
			for _, i := range []uint64{3, 8, 12} {
				if err := s.recordConfiguration(i, ssConf("old")); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.recordConfiguration(tt.index, ssConf("new")); err != nil {
				t.Fatal(err)
			}
			s = f.open(t)
			var got []uint64
			for _, c := range s.state.Configurations {
				got = append(got, c.Index)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("recorded indexes %v, want %v", got, tt.want)
			}
			c, i, ok := s.configurationAt(1000)
			if !ok || i != tt.index || !reflect.DeepEqual(c, ssConf("new")) {
				t.Errorf("latest configuration %+v at %d, want the new one at %d", c, i, tt.index)
			}
		})
	}
}

// TestSnapshotStoreOpenPebble checks the stream Open makes of the listed
// Pebble snapshot: its meta's Size is the stream's length, it decodes
// (readSnapshot) to the image written, with the member table, and closing
// it removes its scratch file.
func TestSnapshotStoreOpenPebble(t *testing.T) {
	f := newSSFixture(t)
	f.writePebble(t, ssView(t, 10, 3, ssRecords))
	s := f.open(t)
	members := map[string]Member{
		"a": {ID: "a", RaftAddr: "a:7000", Addr: "a:6379", Voter: true},
		"b": {ID: "b", RaftAddr: "b:7000", Addr: "b:6379"},
	}
	if err := s.recordConfiguration(5, ssConf("a", "b")); err != nil {
		t.Fatal(err)
	}
	if err := s.recordMembers(members, true); err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %+v, %v", list, err)
	}

	meta, rc, err := s.Open(list[0].ID)
	if err != nil {
		t.Fatalf("Open(%s): %v", list[0].ID, err)
	}
	if out := f.files(t, "outgoing-*"); len(out) != 1 {
		t.Errorf("scratch files while open: %v, want one", out)
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if out := f.files(t, "outgoing-*"); len(out) != 0 {
		t.Errorf("scratch files after Close: %v", out)
	}

	if meta.ID != list[0].ID || meta.Index != 10 || meta.Term != 3 {
		t.Errorf("meta %+v, want id %s index 10 term 3", meta, list[0].ID)
	}
	if meta.ConfigurationIndex != 5 || !reflect.DeepEqual(meta.Configuration, ssConf("a", "b")) {
		t.Errorf("meta configuration %+v at %d, want a, b at 5", meta.Configuration, meta.ConfigurationIndex)
	}
	if meta.Size != int64(len(b)) {
		t.Errorf("meta size %d, but %d bytes read", meta.Size, len(b))
	}

	v, gotMembers, err := readSnapshot(bytes.NewReader(b), ssDatabases)
	if err != nil {
		t.Fatalf("readSnapshot: %v", err)
	}
	if want := ssView(t, 10, 3, nil); v.Index != want.Index || v.Term != want.Term || v.Time != want.Time {
		t.Errorf("stream image at index %d term %d time %d, want %d %d %d", v.Index, v.Term, v.Time, want.Index, want.Term, want.Time)
	}
	if got, want := ssDump(t, v), ssSorted(ssRecords); !reflect.DeepEqual(got, want) {
		t.Errorf("stream records:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(gotMembers, members) {
		t.Errorf("stream members %+v, want %+v", gotMembers, members)
	}
}

// TestSnapshotStoreReceive follows a snapshot received from the leader:
// staged by a sink, opened for Restore with the meta given to Create, its
// configuration recorded; a cancelled sink leaves nothing; restored writes
// the image to Pebble (Save), replaces the members and removes the
// incoming files.
func TestSnapshotStoreReceive(t *testing.T) {
	f := newSSFixture(t)
	s := f.open(t)
	var stream bytes.Buffer
	sent := map[string]Member{"l": {ID: "l", RaftAddr: "l:7000", Addr: "l:6379", Voter: true}}
	if err := writeSnapshot(&stream, ssView(t, 40, 5, ssRecords), sent, ssDatabases); err != nil {
		t.Fatal(err)
	}
	want := stream.Bytes()
	conf := ssConf("l", "m")

	sink, err := s.Create(raft.SnapshotVersionMax, 40, 5, conf, 38, nil)
	if err != nil {
		t.Fatal(err)
	}
	for rest := want; len(rest) > 0; { // in pieces, as Raft copies it
		n := min(len(rest), 100)
		if w, err := sink.Write(rest[:n]); err != nil || w != n {
			t.Fatalf("Write: %d, %v", w, err)
		}
		rest = rest[n:]
	}
	if err := sink.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if tmp := f.files(t, "*.tmp"); len(tmp) != 0 {
		t.Errorf("temporary files after Close: %v", tmp)
	}

	meta, rc, err := s.Open(sink.ID())
	if err != nil {
		t.Fatalf("Open(%s): %v", sink.ID(), err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("opened %d bytes, not the %d written", len(got), len(want))
	}
	if meta.ID != sink.ID() || meta.Index != 40 || meta.Term != 5 || meta.Size != int64(len(want)) {
		t.Errorf("meta %+v, want id %s index 40 term 5 size %d", meta, sink.ID(), len(want))
	}
	if meta.ConfigurationIndex != 38 || !reflect.DeepEqual(meta.Configuration, conf) {
		t.Errorf("meta configuration %+v at %d, want %+v at 38", meta.Configuration, meta.ConfigurationIndex, conf)
	}
	if c, i, ok := s.configurationAt(40); !ok || i != 38 || !reflect.DeepEqual(c, conf) {
		t.Errorf("configurationAt(40) = %+v at %d (%v), want the received one at 38", c, i, ok)
	}

	// Another sink, cancelled part way.
	other, err := s.Create(raft.SnapshotVersionMax, 50, 6, conf, 38, nil)
	if err != nil {
		t.Fatal(err)
	}
	if other.ID() == sink.ID() {
		t.Fatalf("two snapshots with the id %s", sink.ID())
	}
	if _, err := other.Write(want[:10]); err != nil {
		t.Fatal(err)
	}
	if err := other.Cancel(); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if tmp := f.files(t, "*.tmp"); len(tmp) != 0 {
		t.Errorf("temporary files after Cancel: %v", tmp)
	}
	if _, rc, err := s.Open(other.ID()); err == nil {
		rc.Close()
		t.Errorf("Open of the cancelled %s succeeded", other.ID())
	}

	// Restore's end.
	if err := s.recordMembers(map[string]Member{"old": {ID: "old"}}, false); err != nil {
		t.Fatal(err)
	}
	restoredMembers := map[string]Member{"l": sent["l"], "m": {ID: "m", RaftAddr: "m:7000", Addr: "m:6379"}}
	if err := s.restored(40, restoredMembers); err != nil {
		t.Fatalf("restored: %v", err)
	}
	if f.saves != 1 {
		t.Errorf("Save called %d times, want once", f.saves)
	}
	if got := s.Members(); !reflect.DeepEqual(got, restoredMembers) {
		t.Errorf("members after restored: %+v, want %+v", got, restoredMembers)
	}
	if in := f.files(t, "incoming-*"); len(in) != 0 {
		t.Errorf("incoming files after restored: %v", in)
	}
	if got := f.open(t).Members(); !reflect.DeepEqual(got, restoredMembers) {
		t.Errorf("members after restored and a restart: %+v, want %+v", got, restoredMembers)
	}
}

// TestSnapshotStoreOpenDeletesLeftovers checks that opening the store
// deletes the incoming and outgoing files a crash left, and keeps the
// state file.
func TestSnapshotStoreOpenDeletesLeftovers(t *testing.T) {
	f := newSSFixture(t)
	s := f.open(t)
	if err := s.recordConfiguration(3, ssConf("a")); err != nil {
		t.Fatal(err)
	}
	leftovers := []string{
		"incoming-5-40.snap", "incoming-5-40.json", "incoming-6-50.snap.tmp",
		"outgoing-123456.snap",
	}
	for _, name := range leftovers {
		if err := os.WriteFile(filepath.Join(f.dir, name), []byte("left by a crash"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s = f.open(t)
	for _, pat := range []string{"incoming-*", "outgoing-*"} {
		if left := f.files(t, pat); len(left) != 0 {
			t.Errorf("%s files after open: %v", pat, left)
		}
	}
	if _, err := os.Stat(filepath.Join(f.dir, "state.json")); err != nil {
		t.Errorf("state file: %v", err)
	}
	if _, i, ok := s.configurationAt(3); !ok || i != 3 {
		t.Errorf("configuration lost with the leftovers: %d %v", i, ok)
	}
}

// TestSnapshotStoreEmptyReceived checks that a received snapshot with no
// bytes (Close without Write) is an error and leaves no snapshot to open.
func TestSnapshotStoreEmptyReceived(t *testing.T) {
	f := newSSFixture(t)
	s := f.open(t)
	sink, err := s.Create(raft.SnapshotVersionMax, 40, 5, ssConf("a"), 38, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err == nil {
		t.Fatal("Close of an empty snapshot succeeded")
	}
	if _, rc, err := s.Open(sink.ID()); err == nil {
		rc.Close()
		t.Errorf("Open of the empty %s succeeded", sink.ID())
	}
	if in := f.files(t, "incoming-*"); len(in) != 0 {
		t.Errorf("incoming files: %v", in)
	}
}
