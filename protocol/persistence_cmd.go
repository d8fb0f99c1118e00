package protocol

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/memimg/memimg/engine"
)

// Snapshotter is what the server needs of the daemon's snapshots for SAVE,
// BGSAVE, LASTSAVE and INFO persistence.
type Snapshotter interface {
	// Save writes a snapshot and returns once it is durable.
	Save() error
	// BGSave starts a snapshot in the background; with schedule, while one
	// is running, it arranges for another one after it (scheduled true).
	// While one runs and schedule is false it returns an error matching
	// ErrSaveInProgress.
	BGSave(schedule bool) (scheduled bool, err error)
	// SnapshotStatus describes the snapshots for INFO and LASTSAVE.
	SnapshotStatus() SnapshotStatus
}

// ErrSaveInProgress is what Snapshotter.Save and BGSave return (wrapped or
// not) while a snapshot is being written.
var ErrSaveInProgress = errors.New("protocol: a snapshot is in progress")

// SnapshotStatus is the state of the snapshots, as INFO persistence shows it.
type SnapshotStatus struct {
	InProgress       bool
	Started          time.Time     // of the snapshot in progress
	LastSave         time.Time     // of the last successful one (LASTSAVE)
	LastOK           bool          // the last attempt succeeded
	LastDuration     time.Duration // of the last successful one
	ChangesSinceSave uint64        // log entries applied since it
	Saves            uint64        // snapshots written since start-up
}

// SAVE: a snapshot, answered once durable. Unlike Redis's SAVE it does not
// stop the server meanwhile.
func cmdSave(c *client, argv [][]byte) {
	sn := c.srv.cfg.Snapshots
	if sn == nil {
		c.reply(engine.Errorf("ERR snapshots are not configured"))
		return
	}
	if err := sn.Save(); err != nil {
		c.reply(saveError(err))
		return
	}
	c.reply(engine.OK)
}

// BGSAVE [SCHEDULE]
func cmdBGSave(c *client, argv [][]byte) {
	sn := c.srv.cfg.Snapshots
	schedule := false
	if len(argv) > 2 || (len(argv) == 2 && !strings.EqualFold(string(argv[1]), "schedule")) {
		c.reply(errSyntax)
		return
	}
	schedule = len(argv) == 2
	if sn == nil {
		c.reply(engine.Errorf("ERR snapshots are not configured"))
		return
	}
	scheduled, err := sn.BGSave(schedule)
	switch {
	case err != nil:
		c.reply(saveError(err))
	case scheduled:
		c.reply(engine.Status("Background saving scheduled"))
	default:
		c.reply(engine.Status("Background saving started"))
	}
}

func saveError(err error) engine.Reply {
	if errors.Is(err, ErrSaveInProgress) {
		return engine.Errorf("ERR Background save already in progress")
	}
	return engine.Errorf("ERR " + err.Error())
}

// LASTSAVE: the unix time of the last successful snapshot.
func cmdLastSave(c *client, argv [][]byte) {
	t := c.srv.started
	if sn := c.srv.cfg.Snapshots; sn != nil {
		t = sn.SnapshotStatus().LastSave
	}
	c.reply(engine.Int(t.Unix()))
}

// infoSnapshots writes Redis's rdb_* fields of INFO persistence.
func (s *Server) infoSnapshots(w *infoWriter) {
	st := SnapshotStatus{LastSave: s.started, LastOK: true}
	if sn := s.cfg.Snapshots; sn != nil {
		st = sn.SnapshotStatus()
	}
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	w.uint("rdb_changes_since_last_save", st.ChangesSinceSave)
	w.str("rdb_bgsave_in_progress", b(st.InProgress))
	w.int("rdb_last_save_time", st.LastSave.Unix())
	if st.LastOK {
		w.str("rdb_last_bgsave_status", "ok")
	} else {
		w.str("rdb_last_bgsave_status", "err")
	}
	last := int64(-1)
	if st.Saves > 0 {
		last = int64(st.LastDuration.Round(time.Second) / time.Second)
	}
	w.int("rdb_last_bgsave_time_sec", last)
	cur := int64(-1)
	if st.InProgress {
		cur = int64(time.Since(st.Started) / time.Second)
	}
	w.int("rdb_current_bgsave_time_sec", cur)
	w.str("rdb_saves", strconv.FormatUint(st.Saves, 10))
}

// databases is the number of databases SELECT accepts.
func (s *Server) databases() int {
	if eng := s.eng.Load(); eng != nil {
		return eng.Databases()
	}
	return s.cfg.Databases
}

// appliedIndex is the engine's applied index, 0 while loading.
func (s *Server) appliedIndex() uint64 {
	if eng := s.eng.Load(); eng != nil {
		return eng.AppliedIndex()
	}
	return 0
}

// keyspace is the engine's keyspace sizes, none while loading.
func (s *Server) keyspace() []engine.KeyspaceInfo {
	if eng := s.eng.Load(); eng != nil {
		return eng.Keyspace()
	}
	return nil
}

// SetEngine ends loading: from now on the server hands commands to eng.
func (s *Server) SetEngine(eng *engine.Engine) {
	s.installNotify(eng)
	s.eng.Store(eng)
}

// Loading reports whether the server is still waiting for its engine.
func (s *Server) Loading() bool { return s.eng.Load() == nil }
