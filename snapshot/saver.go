package snapshot

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/memimg/memimg/engine"
)

// Source is what a Saver needs of the engine.
type Source interface {
	// Clone returns an O(1) View of the image as of the last applied entry.
	Clone() *engine.View
	// Sync makes every entry handed to the log durable.
	Sync() error
	// AppliedIndex is the index of the last applied entry.
	AppliedIndex() uint64
}

var _ Source = (*engine.Engine)(nil)

// Rule is one of Redis's save points: snapshot when at least Changes log
// entries were applied since the last snapshot and Seconds have passed
// since it.
type Rule struct {
	Seconds int
	Changes uint64
}

// ParseRules parses Redis's save syntax: "<seconds> <changes>" pairs
// separated by spaces ("3600 1 300 100 60 10000"); "" means no rules.
func ParseRules(s string) ([]Rule, error) {
	f := strings.Fields(s)
	if len(f)%2 != 0 {
		return nil, fmt.Errorf("%w: %q", ErrBadRules, s)
	}
	var rules []Rule
	for i := 0; i < len(f); i += 2 {
		sec, err1 := strconv.Atoi(f[i])
		ch, err2 := strconv.ParseUint(f[i+1], 10, 64)
		if err1 != nil || err2 != nil || sec < 1 || ch < 1 {
			return nil, fmt.Errorf("%w: %q (each a positive integer)", ErrBadRules, s)
		}
		rules = append(rules, Rule{Seconds: sec, Changes: ch})
	}
	return rules, nil
}

// FormatRules is the save syntax of rules, as CONFIG GET save shows it.
func FormatRules(rules []Rule) string {
	parts := make([]string, 0, 2*len(rules))
	for _, r := range rules {
		parts = append(parts, strconv.Itoa(r.Seconds), strconv.FormatUint(r.Changes, 10))
	}
	return strings.Join(parts, " ")
}

// SaverOptions configure a Saver.
type SaverOptions struct {
	// Store and Engine are required.
	Store  *Store
	Engine Source
	// Base is the image loaded at start-up and BaseMeta its metadata (as
	// Store.Load returned them): the first snapshot is incremental over it.
	// Nil: the first snapshot is a full one.
	Base     *engine.View
	BaseMeta Meta
	// Rules are the save points; none: snapshots only on demand.
	Rules []Rule
	// AfterCommit runs after each snapshot is durable, with the store
	// locked (the daemon deletes log segments there). May be nil.
	AfterCommit func(Meta) error
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Interval is how often the rules are checked; default 1s.
	Interval time.Duration
}

// Status is what INFO persistence and LASTSAVE show.
type Status struct {
	// InProgress: a snapshot is being written, since Started.
	InProgress bool
	Started    time.Time
	// LastSave is when the last successful snapshot was committed (the
	// stored one's time at start-up, or the start-up time if there is none).
	LastSave time.Time
	// LastOK is false when the last attempt failed, with LastErr.
	LastOK  bool
	LastErr string
	// LastResult describes the last successful snapshot.
	LastResult Result
	// Meta describes the snapshot the store holds (zero: none).
	Meta      Meta
	DiskBytes int64
	// Changes is the number of entries applied since that snapshot.
	Changes uint64
	// Saves and Failures count the attempts since start-up.
	Saves, Failures uint64
	Rules           []Rule
}

// retryDelay is how long the rules wait after a failed snapshot before they
// try again (Redis's CONFIG_BGSAVE_RETRY_DELAY).
const retryDelay = 5 * time.Second

// Saver writes snapshots: on demand (Save, BGSave) and by the save rules.
// One snapshot runs at a time.
type Saver struct {
	opts  SaverOptions
	store *Store
	eng   Source
	log   *slog.Logger

	mu        sync.Mutex
	idle      *sync.Cond // signalled when a snapshot ends
	running   bool
	scheduled bool // BGSAVE SCHEDULE: another one after the running one
	closed    bool
	prev      *engine.View // the image the store holds, if known
	prevMeta  Meta
	st        Status
	lastTry   time.Time

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewSaver returns a Saver and starts its rule checker.
func NewSaver(o SaverOptions) *Saver {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	s := &Saver{opts: o, store: o.Store, eng: o.Engine, log: o.Logger, stop: make(chan struct{}),
		prev: o.Base, prevMeta: o.BaseMeta}
	s.idle = sync.NewCond(&s.mu)
	s.st.LastOK = true
	s.st.Meta = o.BaseMeta
	s.st.Rules = o.Rules
	s.st.LastSave = time.Now()
	if !o.BaseMeta.IsZero() {
		s.st.LastSave = o.BaseMeta.Created
		s.st.DiskBytes = o.Store.DiskBytes()
	}
	s.wg.Add(1)
	go s.loop()
	return s
}

// SetRules replaces the save rules (CONFIG SET save).
func (s *Saver) SetRules(rules []Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Rules = rules
}

// Status returns the current state.
func (s *Saver) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Rules = append([]Rule(nil), st.Rules...)
	st.Changes = s.changesLocked()
	return st
}

func (s *Saver) changesLocked() uint64 {
	applied := s.eng.AppliedIndex()
	if applied < s.st.Meta.Index {
		return 0
	}
	return applied - s.st.Meta.Index
}

// BGSave starts a snapshot in the background. While one runs it returns
// ErrInProgress, or, with schedule, arranges for another one to start when
// it ends and returns scheduled true.
func (s *Saver) BGSave(schedule bool) (scheduled bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, ErrClosed
	}
	if s.running {
		if schedule {
			s.scheduled = true
			return true, nil
		}
		return false, ErrInProgress
	}
	s.startLocked("BGSAVE")
	return false, nil
}

// Save writes a snapshot and returns when it is durable (SAVE). Unlike
// Redis's SAVE it blocks only its caller: the snapshot is written from a
// View, and the server goes on serving.
func (s *Saver) Save() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.running {
		s.mu.Unlock()
		return ErrInProgress
	}
	s.running = true
	s.st.InProgress, s.st.Started = true, time.Now()
	s.mu.Unlock()
	return s.run("SAVE")
}

// startLocked starts a snapshot in the background; s.mu is held.
func (s *Saver) startLocked(why string) {
	s.running = true
	s.st.InProgress, s.st.Started = true, time.Now()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.run(why)
	}()
}

// run writes one snapshot; the caller has set running.
func (s *Saver) run(why string) error {
	s.mu.Lock()
	prev, prevMeta := s.prev, s.prevMeta
	s.lastTry = time.Now()
	s.mu.Unlock()

	v := s.eng.Clone()
	s.log.Info("snapshot started", "reason", why, "index", v.Index)
	var res Result
	err := s.eng.Sync()
	if err != nil {
		err = fmt.Errorf("snapshot: sync the log before the snapshot: %w", err)
	} else {
		res, err = s.store.Write(v, prev, prevMeta, s.opts.AfterCommit)
	}
	disk := int64(-1)
	if err == nil {
		disk = s.store.DiskBytes()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = false
	s.st.InProgress = false
	if err != nil {
		s.st.LastOK, s.st.LastErr = false, err.Error()
		s.st.Failures++
		s.log.Error("snapshot failed", "index", v.Index, "err", err)
	} else {
		s.prev, s.prevMeta = v, res.Meta
		s.st.LastOK, s.st.LastErr = true, ""
		s.st.LastSave = time.Now()
		s.st.LastResult = res
		s.st.Meta = res.Meta
		s.st.DiskBytes = disk
		s.st.Saves++
		args := []any{"kind", res.Meta.Kind.String(), "index", res.Meta.Index, "keys", res.Meta.Keys,
			"changes", res.Changes, "bytes", res.Bytes, "elapsed", res.Duration.Round(time.Millisecond)}
		if res.Reason != "" {
			args = append(args, "why_full", res.Reason)
		}
		s.log.Info("snapshot written", args...)
	}
	if s.scheduled && !s.closed {
		s.scheduled = false
		s.startLocked("BGSAVE SCHEDULE")
	}
	s.idle.Broadcast()
	return err
}

// loop checks the save rules every Interval.
func (s *Saver) loop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			if !s.running && !s.closed && s.due(now) {
				s.startLocked("save rule")
			}
			s.mu.Unlock()
		}
	}
}

// due reports whether a rule calls for a snapshot now; s.mu is held.
func (s *Saver) due(now time.Time) bool {
	if len(s.st.Rules) == 0 {
		return false
	}
	if !s.st.LastOK && now.Sub(s.lastTry) < retryDelay {
		return false
	}
	changes := s.changesLocked()
	for _, r := range s.st.Rules {
		if changes >= r.Changes && now.Sub(s.st.LastSave) >= time.Duration(r.Seconds)*time.Second {
			return true
		}
	}
	return false
}

// Close stops the rules and waits for a running snapshot. With final, and
// rules configured and changes since the last snapshot, it then writes one
// more (as Redis saves at shutdown when it has save points); its error is
// returned.
func (s *Saver) Close(final bool) error { return s.close(final, false) }

// CloseAndSave is Close for SHUTDOWN SAVE: it takes a last snapshot if
// anything changed since the previous one, whether or not save points are
// configured.
func (s *Saver) CloseAndSave() error { return s.close(true, true) }

func (s *Saver) close(final, force bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.scheduled = false
	close(s.stop)
	for s.running {
		s.idle.Wait()
	}
	save := final && (force || len(s.st.Rules) > 0) && s.changesLocked() > 0
	if save {
		s.running = true
		s.st.InProgress, s.st.Started = true, time.Now()
	}
	s.mu.Unlock()
	var err error
	if save {
		err = s.run("shutdown")
	}
	s.wg.Wait()
	return err
}

// IsInProgress reports whether err is ErrInProgress.
func IsInProgress(err error) bool { return errors.Is(err, ErrInProgress) }
