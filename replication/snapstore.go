package replication

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/memimg/memimg/snapshot"
)

// # Snapshots: Raft over the Pebble store
//
// SnapshotStore is Raft's snapshot store over the snapshot package: the
// snapshot Raft knows is the node's own Pebble snapshot, the one start-up
// loads. It serves three of Raft's needs:
//
//   - Start-up. List reports the Pebble snapshot at index N with the Raft
//     configuration in force at N. The engine has already loaded that
//     image, so Raft is told not to restore it again
//     (NoSnapshotRestoreOnStart): it applies the committed entries after
//     N, and reads only the log after N for configuration changes (with no
//     snapshot it would read the whole log, entry by entry).
//   - Compaction (--cluster-compact-entries). Raft's snapshot of the image
//     at index X (FSM.Snapshot, Persist) becomes a Pebble snapshot written
//     by the node's snapshot Saver (at an index at or after X), and Raft
//     then deletes the log before X.
//   - A follower behind the start of the leader's log. Open streams the
//     Pebble snapshot out in the FSM's stream format (see fsm.go); the
//     follower's Create stages the incoming stream in a file, FSM.Restore
//     replaces the image with it, and the restored image is written to the
//     follower's own Pebble store before Restore returns, so that its
//     start-up finds it there.
//
// The Raft configuration and the member table that go with a snapshot are
// kept beside it, in a small file rewritten (atomically, synced) whenever
// the FSM applies a configuration or a member announcement, which is rare:
//
//	<dir>/raft-snapshots/state.json  {"configurations": [{"index": I, "servers": [...]}...],
//	                                  "members": {"id": {...}}}
//	<dir>/raft-snapshots/incoming-<term>-<index>.snap  a received stream, until restored
//	<dir>/raft-snapshots/incoming-<term>-<index>.json  its raft.SnapshotMeta
//	<dir>/raft-snapshots/outgoing-*.snap               a stream being sent (Raft sends its size first)
//
// A configuration is recorded before the entries after it are applied, so
// the file always holds the configuration of any image the Pebble store can
// hold. Incoming and outgoing files are deleted once used, and at start-up.
type SnapshotStore struct {
	dir     string
	pebble  *snapshot.Store
	dbs     int
	applied func() uint64 // the engine's applied index
	save    func() error  // writes a Pebble snapshot of the engine, synchronously

	mu    sync.Mutex
	state clusterState
}

// clusterState is the content of state.json.
type clusterState struct {
	Configurations []indexedConfiguration `json:"configurations"`
	Members        map[string]Member      `json:"members"`
}

// indexedConfiguration is a Raft configuration and the index of the entry
// that set it.
type indexedConfiguration struct {
	Index   uint64        `json:"index"`
	Servers []raft.Server `json:"servers"`
}

// maxConfigurations bounds the history kept in state.json: a snapshot older
// than the oldest one kept is not listed (Raft then reads the log).
const maxConfigurations = 64

// SnapshotStoreOptions configures a SnapshotStore.
type SnapshotStoreOptions struct {
	// Dir holds the state file and incoming snapshots.
	Dir string
	// Pebble is the node's snapshot store.
	Pebble *snapshot.Store
	// Databases is the number of databases of the image.
	Databases int
	// Applied returns the engine's applied index.
	Applied func() uint64
	// Save writes a snapshot of the engine's current image into Pebble and
	// returns once it is durable.
	Save func() error
}

// OpenSnapshotStore opens the store, reading its state file and deleting
// any incoming snapshot a crash left.
func OpenSnapshotStore(o SnapshotStoreOptions) (*SnapshotStore, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("replication: snapshot store: %w", err)
	}
	s := &SnapshotStore{dir: o.Dir, pebble: o.Pebble, dbs: o.Databases, applied: o.Applied, save: o.Save}
	b, err := os.ReadFile(s.statePath())
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("replication: snapshot store: %w", err)
	default:
		if err := json.Unmarshal(b, &s.state); err != nil {
			return nil, fmt.Errorf("replication: snapshot store: %s: %w", s.statePath(), err)
		}
	}
	if s.state.Members == nil {
		s.state.Members = map[string]Member{}
	}
	for _, pat := range []string{"incoming-*", "outgoing-*"} {
		olds, _ := filepath.Glob(filepath.Join(o.Dir, pat))
		for _, p := range olds {
			os.Remove(p)
		}
	}
	return s, nil
}

func (s *SnapshotStore) statePath() string { return filepath.Join(s.dir, "state.json") }

// Members returns the member table kept with the snapshots.
func (s *SnapshotStore) Members() map[string]Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Member, len(s.state.Members))
	for k, v := range s.state.Members {
		out[k] = v
	}
	return out
}

// recordConfiguration keeps c, set by the entry at index, in the history.
func (s *SnapshotStore) recordConfiguration(index uint64, c raft.Configuration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.state.Configurations
	// A configuration at or after index is one this entry replaces (a
	// restored snapshot older than the history, or a re-applied entry).
	for len(h) > 0 && h[len(h)-1].Index >= index {
		h = h[:len(h)-1]
	}
	h = append(h, indexedConfiguration{Index: index, Servers: c.Clone().Servers})
	if len(h) > maxConfigurations {
		h = h[len(h)-maxConfigurations:]
	}
	s.state.Configurations = h
	return s.writeStateLocked()
}

// recordMembers replaces the member table (all of it when all is set, else
// merging m in).
func (s *SnapshotStore) recordMembers(m map[string]Member, all bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if all {
		s.state.Members = map[string]Member{}
	}
	for k, v := range m {
		s.state.Members[k] = v
	}
	return s.writeStateLocked()
}

// writeStateLocked writes state.json atomically and durably.
func (s *SnapshotStore) writeStateLocked() error {
	b, err := json.Marshal(s.state)
	if err != nil {
		return err
	}
	if err := writeFileSync(s.statePath(), b); err != nil {
		return fmt.Errorf("replication: save the cluster state: %w", err)
	}
	return nil
}

// writeFileSync replaces path with b: a synced temporary file renamed over
// it, then the directory synced.
func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// configurationAt returns the configuration in force at index: the last
// one recorded at or before it.
func (s *SnapshotStore) configurationAt(index uint64) (raft.Configuration, uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.state.Configurations
	i := sort.Search(len(h), func(i int) bool { return h[i].Index > index })
	if i == 0 {
		return raft.Configuration{}, 0, false
	}
	c := raft.Configuration{Servers: h[i-1].Servers}
	return c.Clone(), h[i-1].Index, true
}

const pebbleIDPrefix = "pebble-"

// List implements raft.SnapshotStore: the Pebble snapshot, if there is one
// whose configuration is known and the engine's image has reached it.
func (s *SnapshotStore) List() ([]*raft.SnapshotMeta, error) {
	if s.applied() == 0 {
		return nil, nil // no image loaded (yet): nothing to report, no store to open
	}
	m, size, err := s.pebble.Info()
	if errors.Is(err, snapshot.ErrNoSnapshot) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// The engine loaded this store at start-up; an image behind the store
	// (a store it could not load) must not be reported as applied.
	if m.Index == 0 || m.Index > s.applied() {
		return nil, nil
	}
	conf, confIndex, ok := s.configurationAt(m.Index)
	if !ok {
		return nil, nil // a standalone snapshot from before the bootstrap
	}
	return []*raft.SnapshotMeta{{
		Version: raft.SnapshotVersionMax, ID: pebbleID(m.Term, m.Index), Index: m.Index, Term: m.Term,
		Configuration: conf, ConfigurationIndex: confIndex, Size: size,
	}}, nil
}

func pebbleID(term, index uint64) string { return fmt.Sprintf("%s%d-%d", pebbleIDPrefix, term, index) }

// Open implements raft.SnapshotStore. A Pebble snapshot is loaded (its
// digest checked) and streamed in the FSM's format; an incoming one is read
// from its file.
func (s *SnapshotStore) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	if strings.HasPrefix(id, pebbleIDPrefix) {
		return s.openPebble(id)
	}
	b, err := os.ReadFile(filepath.Join(s.dir, id+".json"))
	if err != nil {
		return nil, nil, fmt.Errorf("replication: open snapshot %s: %w", id, err)
	}
	var meta raft.SnapshotMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, nil, fmt.Errorf("replication: open snapshot %s: %w", id, err)
	}
	f, err := os.Open(filepath.Join(s.dir, id+".snap"))
	if err != nil {
		return nil, nil, fmt.Errorf("replication: open snapshot %s: %w", id, err)
	}
	return &meta, f, nil
}

func (s *SnapshotStore) openPebble(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	v, m, err := s.pebble.Load(s.dbs)
	if err != nil {
		return nil, nil, fmt.Errorf("replication: open snapshot %s: %w", id, err)
	}
	if v == nil {
		return nil, nil, fmt.Errorf("replication: open snapshot %s: the store holds none", id)
	}
	conf, confIndex, ok := s.configurationAt(m.Index)
	if !ok {
		return nil, nil, fmt.Errorf("replication: open snapshot %s: no configuration known at index %d", id, m.Index)
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, ID: pebbleID(m.Term, m.Index), Index: m.Index,
		Term: m.Term, Configuration: conf, ConfigurationIndex: confIndex}
	// Raft sends the size before the stream: the stream is written to a
	// scratch file first, removed when the reader is closed.
	f, err := os.CreateTemp(s.dir, "outgoing-*.snap")
	if err != nil {
		return nil, nil, fmt.Errorf("replication: open snapshot %s: %w", id, err)
	}
	fail := func(err error) (*raft.SnapshotMeta, io.ReadCloser, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, nil, fmt.Errorf("replication: open snapshot %s: %w", id, err)
	}
	if err := writeSnapshot(f, v, s.Members(), s.dbs); err != nil {
		return fail(err)
	}
	if meta.Size, err = f.Seek(0, io.SeekCurrent); err != nil {
		return fail(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	return meta, removeOnClose{f}, nil
}

// removeOnClose is a scratch file that goes when closed.
type removeOnClose struct{ *os.File }

func (r removeOnClose) Close() error {
	err := r.File.Close()
	os.Remove(r.File.Name())
	return err
}

// Create implements raft.SnapshotStore. Raft calls it for two things: its
// own snapshot for compaction (FSM.Snapshot, then Persist, which asks the
// sink for a Pebble snapshot instead of writing to it) and a snapshot
// received from the leader (written to the sink, then restored).
func (s *SnapshotStore) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, _ raft.Transport) (raft.SnapshotSink, error) {
	id := "incoming-" + strconv.FormatUint(term, 10) + "-" + strconv.FormatUint(index, 10)
	return &snapshotSink{store: s, meta: raft.SnapshotMeta{Version: version, ID: id, Index: index, Term: term,
		Configuration: configuration, ConfigurationIndex: configurationIndex}}, nil
}

// snapshotSink stages a received snapshot in a file, or stands for a local
// one written to Pebble.
type snapshotSink struct {
	store *SnapshotStore
	meta  raft.SnapshotMeta
	f     *os.File
	size  int64
	local bool
	err   error
}

// ID implements raft.SnapshotSink.
func (k *snapshotSink) ID() string { return k.meta.ID }

// Write implements raft.SnapshotSink: a received stream goes to its file.
func (k *snapshotSink) Write(p []byte) (int, error) {
	if k.err != nil {
		return 0, k.err
	}
	if k.f == nil {
		if k.f, k.err = os.Create(filepath.Join(k.store.dir, k.meta.ID+".snap.tmp")); k.err != nil {
			return 0, k.err
		}
	}
	n, err := k.f.Write(p)
	k.size += int64(n)
	if err != nil {
		k.err = err
	}
	return n, err
}

// saveLocal makes the sink's snapshot the engine's image written to
// Pebble (Persist of the FSM's own snapshot).
func (k *snapshotSink) saveLocal() error {
	k.local = true
	if err := k.store.save(); err != nil {
		return fmt.Errorf("replication: snapshot for compaction: %w", err)
	}
	return nil
}

// Close implements raft.SnapshotSink.
func (k *snapshotSink) Close() error {
	if k.local {
		return k.err
	}
	if k.f == nil {
		if k.err != nil {
			return k.err // the file could not be created
		}
		return errors.New("replication: an empty snapshot received")
	}
	defer func() { k.f = nil }()
	if k.err != nil {
		k.f.Close()
		os.Remove(k.f.Name())
		return k.err
	}
	if err := k.f.Sync(); err != nil {
		k.f.Close()
		os.Remove(k.f.Name())
		return err
	}
	if err := k.f.Close(); err != nil {
		os.Remove(k.f.Name())
		return err
	}
	k.meta.Size = k.size
	b, err := json.Marshal(k.meta)
	if err != nil {
		return err
	}
	base := filepath.Join(k.store.dir, k.meta.ID)
	if err := writeFileSync(base+".json", b); err != nil {
		return err
	}
	if err := os.Rename(base+".snap.tmp", base+".snap"); err != nil {
		return err
	}
	// The configuration the image will be restored with (Raft takes it
	// from this meta); one newer than the Pebble store is not used yet.
	return k.store.recordConfiguration(k.meta.ConfigurationIndex, k.meta.Configuration)
}

// Cancel implements raft.SnapshotSink.
func (k *snapshotSink) Cancel() error {
	if k.f != nil {
		k.f.Close()
		os.Remove(k.f.Name())
		k.f = nil
	}
	return nil
}

// restored finishes a received snapshot: the engine holds its image (at
// index, with configuration conf and the members), which is now written to
// Pebble; then its files go.
func (s *SnapshotStore) restored(index uint64, members map[string]Member) error {
	if err := s.recordMembers(members, true); err != nil {
		return err
	}
	if err := s.save(); err != nil {
		return fmt.Errorf("replication: write the restored snapshot at %d: %w", index, err)
	}
	olds, _ := filepath.Glob(filepath.Join(s.dir, "incoming-*"))
	for _, p := range olds {
		os.Remove(p)
	}
	return nil
}

var _ raft.SnapshotStore = (*SnapshotStore)(nil)
