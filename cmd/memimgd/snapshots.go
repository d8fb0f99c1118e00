package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/protocol"
	"github.com/memimg/memimg/snapshot"
)

// The daemon's side of snapshots: loading at start-up, SAVE/BGSAVE/LASTSAVE
// and INFO (protocol.Snapshotter), log retention after each snapshot, and a
// test hook.

var _ protocol.Snapshotter = (*daemon)(nil)

func (d *daemon) setStage(s string) { d.stage.Store(&s) }

func (d *daemon) getStage() string {
	if p := d.stage.Load(); p != nil {
		return *p
	}
	return ""
}

// loadSnapshot loads the newest snapshot. If it cannot be loaded and the
// log still starts at index 1, the whole log is replayed instead (the log
// is the source of truth) and the next snapshot rewrites the store in full;
// otherwise start-up fails. The log is being opened meanwhile: walOpened
// says when it is (d.wal set) or why it could not be; loadSnapshot always
// receives from it.
func (d *daemon) loadSnapshot(walOpened <-chan error) (*engine.View, snapshot.Meta, error) {
	start := time.Now()
	base, meta, err := d.snaps.Load(d.set.databases)
	if werr := <-walOpened; werr != nil {
		return nil, snapshot.Meta{}, werr
	}
	if err == nil {
		if base != nil {
			d.log.Info("snapshot loaded", "index", meta.Index, "keys", meta.Keys, "kind", meta.Kind.String(),
				"created", meta.Created.UTC().Format(time.RFC3339), "elapsed", time.Since(start).Round(time.Millisecond))
		}
		return base, meta, nil
	}
	if s := d.wal.StartIndex(); s <= 1 {
		d.log.Warn("cannot load the snapshot; replaying the whole log instead (the next snapshot is a full one)",
			"dir", d.snaps.Dir(), "err", err)
		return nil, snapshot.Meta{}, nil
	}
	return nil, snapshot.Meta{}, fmt.Errorf("memimgd: load the snapshot (%s), and the log starts at index %d, not 1, so it cannot replace it: %w",
		d.snaps.Dir(), d.wal.StartIndex(), err)
}

// afterSnapshot runs once a snapshot is durable: log retention.
func (d *daemon) afterSnapshot(m snapshot.Meta) error {
	start, err := retainAfterSnapshot(d.set.retain, d.wal, filepath.Join(d.dir, "wal"), m, time.Now())
	if err != nil {
		return err
	}
	if start > 0 {
		d.log.Info("log segments deleted", "wal_retain", d.set.retain.String(), "snapshot_index", m.Index,
			"log_starts_at", start)
	}
	return nil
}

// Save implements protocol.Snapshotter.
func (d *daemon) Save() error {
	sv := d.saver.Load()
	if sv == nil {
		return errors.New("LOADING memimg is loading the dataset in memory")
	}
	return saveErr(sv.Save())
}

// BGSave implements protocol.Snapshotter.
func (d *daemon) BGSave(schedule bool) (bool, error) {
	sv := d.saver.Load()
	if sv == nil {
		return false, errors.New("LOADING memimg is loading the dataset in memory")
	}
	ok, err := sv.BGSave(schedule)
	return ok, saveErr(err)
}

func saveErr(err error) error {
	if errors.Is(err, snapshot.ErrInProgress) {
		return fmt.Errorf("%w: %w", protocol.ErrSaveInProgress, err)
	}
	return err
}

// SnapshotStatus implements protocol.Snapshotter.
func (d *daemon) SnapshotStatus() protocol.SnapshotStatus {
	sv := d.saver.Load()
	if sv == nil {
		return protocol.SnapshotStatus{LastSave: time.Now(), LastOK: true}
	}
	st := sv.Status()
	return protocol.SnapshotStatus{
		InProgress:       st.InProgress,
		Started:          st.Started,
		LastSave:         st.LastSave,
		LastOK:           st.LastOK,
		LastDuration:     st.LastResult.Duration,
		ChangesSinceSave: st.Changes,
		Saves:            st.Saves,
	}
}

// saveRules is the save parameter as CONFIG GET shows it.
func (d *daemon) saveRules() string {
	if sv := d.saver.Load(); sv != nil {
		return snapshot.FormatRules(sv.Status().Rules)
	}
	return snapshot.FormatRules(d.set.saveRules)
}

// snapshotInfo is memimg's own snapshot fields of INFO persistence.
func (d *daemon) snapshotInfo() []protocol.Field {
	sv := d.saver.Load()
	if sv == nil {
		return nil
	}
	st := sv.Status()
	m := st.Meta
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	created := int64(0)
	if !m.IsZero() {
		created = m.Created.Unix()
	}
	return []protocol.Field{
		{Name: "memimg_snapshot_dir", Value: d.snaps.Dir()},
		{Name: "memimg_snapshot_index", Value: u(m.Index)},
		{Name: "memimg_snapshot_term", Value: u(m.Term)},
		{Name: "memimg_snapshot_keys", Value: u(m.Keys)},
		{Name: "memimg_snapshot_kind", Value: m.Kind.String()},
		{Name: "memimg_snapshot_created", Value: i(created)},
		{Name: "memimg_snapshot_digest", Value: m.Digest.String()},
		{Name: "memimg_snapshot_full_index", Value: u(m.FullIndex)},
		{Name: "memimg_snapshot_incrementals", Value: strconv.Itoa(m.Incrementals)},
		{Name: "memimg_snapshot_disk_bytes", Value: i(st.DiskBytes)},
		{Name: "memimg_snapshot_last_changes", Value: strconv.Itoa(st.LastResult.Changes)},
		{Name: "memimg_snapshot_last_bytes", Value: i(st.LastResult.Bytes)},
		{Name: "memimg_snapshot_last_ms", Value: i(st.LastResult.Duration.Milliseconds())},
		{Name: "memimg_snapshot_saves", Value: u(st.Saves)},
		{Name: "memimg_snapshot_failures", Value: u(st.Failures)},
		{Name: "memimg_snapshot_last_error", Value: st.LastErr},
	}
}

// snapshotTestHook reads MEMIMG_TEST_SNAPSHOT_HOOK, for crash tests: a
// comma-separated list of point=duration ("commit=3s,write=20ms") that
// makes the snapshot writer log and sleep at those points (see
// snapshot.Options.Hook), so a kill -9 can land there. Nil when unset.
func snapshotTestHook(logger *slog.Logger) func(string) {
	spec := os.Getenv("MEMIMG_TEST_SNAPSHOT_HOOK")
	if spec == "" {
		return nil
	}
	delays := map[string]time.Duration{}
	for _, part := range strings.Split(spec, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		d, err := time.ParseDuration(val)
		if err != nil {
			logger.Warn("MEMIMG_TEST_SNAPSHOT_HOOK: bad duration", "part", part)
			continue
		}
		delays[name] = d
	}
	logger.Warn("MEMIMG_TEST_SNAPSHOT_HOOK is set: snapshots are slowed down for a test", "spec", spec)
	return func(point string) {
		if d, ok := delays[point]; ok {
			logger.Info("snapshot test hook", "point", point, "sleep", d)
			time.Sleep(d)
		}
	}
}

// testSegmentSize reads MEMIMG_TEST_WAL_SEGMENT_SIZE (bytes), for tests of
// log retention that need several segments; 0 (the wal's default) when
// unset.
func testSegmentSize(logger *slog.Logger) int64 {
	v := os.Getenv("MEMIMG_TEST_WAL_SEGMENT_SIZE")
	if v == "" {
		return 0
	}
	n, err := protocol.ParseMemory(v)
	if err != nil {
		logger.Warn("MEMIMG_TEST_WAL_SEGMENT_SIZE: bad size", "value", v)
		return 0
	}
	logger.Warn("MEMIMG_TEST_WAL_SEGMENT_SIZE is set", "bytes", n)
	return n
}

// testSlowReplay reads MEMIMG_TEST_REPLAY_DELAY, a duration to sleep every
// 1024 entries of the start-up replay, so that a crash test's kill -9 lands
// during the replay. l itself when unset.
func testSlowReplay(l engine.Log, logger *slog.Logger) engine.Log {
	v := os.Getenv("MEMIMG_TEST_REPLAY_DELAY")
	if v == "" {
		return l
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		logger.Warn("MEMIMG_TEST_REPLAY_DELAY: bad duration", "value", v)
		return l
	}
	logger.Warn("MEMIMG_TEST_REPLAY_DELAY is set: the replay is slowed down for a test", "every_1024_entries", d)
	return slowReplayLog{Log: l, delay: d}
}

type slowReplayLog struct {
	engine.Log
	delay time.Duration
}

func (s slowReplayLog) ReadFrom(from uint64, fn func(engine.Entry) error) error {
	n := 0
	return s.Log.ReadFrom(from, func(e engine.Entry) error {
		if n++; n%1024 == 0 {
			time.Sleep(s.delay)
		}
		return fn(e)
	})
}
