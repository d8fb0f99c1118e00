package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/memimg/memimg/schema"
)

// Entry is one record of the command log as the engine sees it.
type Entry struct {
	Index uint64
	Term  uint64
	Kind  uint8
	Time  int64 // the sequencer's clock, unix nanoseconds
	Data  []byte
}

// Entry kinds. Frozen: they are written to the log.
const (
	// KindCommand is a command payload (schema.EncodeCommand).
	KindCommand uint8 = 1
	// KindNoop carries nothing; it changes no state.
	KindNoop uint8 = 2
)

// Log is what the engine needs of the command log. The wal package provides
// it through a small adapter; a Raft-backed log will later too.
type Log interface {
	// Append writes entries, in index order, after the last one.
	Append(entries []Entry) error
	// Sync makes every appended entry durable.
	Sync() error
	// LastIndex is the index of the last appended entry, 0 if none.
	LastIndex() uint64
	// ReadFrom calls fn for every entry from index from on, in order.
	ReadFrom(from uint64, fn func(Entry) error) error
}

// FsyncMode is Redis's appendfsync: when the log is made durable.
type FsyncMode int

// The fsync modes.
const (
	// FsyncAlways syncs every batch before any of its commands is applied or
	// answered: an acknowledged write is never lost.
	FsyncAlways FsyncMode = iota
	// FsyncEverySec syncs once a second in the background: a crash of the
	// machine (not of the process) can lose the last second of writes.
	FsyncEverySec
	// FsyncNo leaves syncing to the operating system.
	FsyncNo
)

// ParseFsyncMode parses "always", "everysec" or "no".
func ParseFsyncMode(s string) (FsyncMode, error) {
	switch s {
	case "always":
		return FsyncAlways, nil
	case "everysec":
		return FsyncEverySec, nil
	case "no":
		return FsyncNo, nil
	}
	return 0, fmt.Errorf("engine: appendfsync must be always, everysec or no, not %q", s)
}

// String returns the mode's config spelling.
func (m FsyncMode) String() string {
	switch m {
	case FsyncAlways:
		return "always"
	case FsyncEverySec:
		return "everysec"
	case FsyncNo:
		return "no"
	}
	return "unknown"
}

// Options configure an Engine. The zero value, plus a Log, is a working
// configuration.
type Options struct {
	// Log is the command log; required unless Replicator is set.
	Log Log
	// Replicator, if set, carries the writes instead of Log and the
	// engine's own committer (replicated.go): writes are proposed to it,
	// and it applies committed entries through ApplyEntries. The engine
	// then replays nothing at Open (the replicated log re-applies what is
	// committed after Base) and syncs nothing itself.
	Replicator Replicator
	// Fsync is when the log is synced; default FsyncAlways.
	Fsync FsyncMode
	// Databases is the number of databases (SELECT 0..N-1); default 16.
	Databases int
	// MaxBatch bounds how many commands one log write carries; default 4096.
	MaxBatch int
	// MaxEntrySize is the largest log payload the log accepts; a command
	// whose payload is larger is refused with an error and not logged.
	// 0 means no limit.
	MaxEntrySize int
	// ExpiryInterval is how often the active-expiry reactor runs; default
	// 100ms; negative disables it.
	ExpiryInterval time.Duration
	// Clock returns the time in unix nanoseconds; default the wall clock.
	// The sequencer never lets it go backwards.
	Clock func() int64
	// Logger receives the engine's logs; default slog.Default().
	Logger *slog.Logger
	// Base is the image to start from, a loaded snapshot (Loader): the
	// engine starts from an O(1) copy of it and replays the log from
	// Base.Index+1. Base itself never changes and may be used again (it is
	// the snapshot writer's reference for its next incremental snapshot),
	// but not concurrently with Open. Nil: an empty image, and the log is
	// replayed from index 1.
	Base *View
}

// The errors of the package.
var (
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("engine: closed")
	// ErrLogFailed means a log write or sync failed; the engine refuses
	// further writes, since it cannot know what reached the disk.
	ErrLogFailed = errors.New("engine: command log failed")
)

// request is one write waiting for the committer.
type request struct {
	db    int
	argv  [][]byte
	cmd   *schema.Command
	index uint64
	time  int64
	reply Reply
	done  chan struct{}
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// Engine is the memory image and its commit pipeline:
//
//	Exec ──write──▶ queue ─▶ committer: index, time, encode, log.Append, log.Sync
//	                                         │
//	                                         ▼
//	                          applier: apply under the write lock, reply
//	Exec ──read───▶ query under the read lock on the image
//
// The committer fsyncs batch k+1 while the applier applies batch k, and
// everything queued during an fsync becomes the next batch (group commit).
type Engine struct {
	opts   Options
	log    *slog.Logger
	mu     sync.RWMutex // guards img; the applier holds it to write
	img    *image
	queue  chan *request
	applyQ chan []*request
	stop   chan struct{}
	wg     sync.WaitGroup

	closed    atomic.Bool
	failed    atomic.Pointer[error]
	lastIndex atomic.Uint64 // last index handed to the log
	applied   atomic.Uint64 // last index applied
	lastTime  int64         // the last entry's time: the committer's, or replay's and ApplyEntries' (applyEntry)
	inflight  atomic.Int64  // writes queued, being logged or applied

	// The term and time of the last applied entry, for Clone; guarded by
	// mu (written under the apply lock).
	appliedTerm uint64
	appliedTime int64

	stats Stats

	scans scanCursors // SCAN's cursor table (keys.go)

	waiting waiters // clients waiting for keys (blocking.go)

	notify notifier // keyspace notifications (notify.go)
}

// Stats are counters for INFO.
type Stats struct {
	Commands     atomic.Uint64 // commands executed
	Writes       atomic.Uint64 // commands logged
	Batches      atomic.Uint64 // log writes
	Syncs        atomic.Uint64 // fsyncs
	ExpiredKeys  atomic.Uint64 // keys removed by expiry
	KeyspaceHits atomic.Uint64
	KeyspaceMiss atomic.Uint64
	Replayed     atomic.Uint64 // entries replayed at start-up
}

// Open replays the log into a fresh image (or into a copy of Options.Base,
// from the entry after it) and starts the commit pipeline.
func Open(opts Options) (*Engine, error) {
	if opts.Log == nil && opts.Replicator == nil {
		return nil, errors.New("engine: Options.Log is required")
	}
	if opts.Databases <= 0 {
		opts.Databases = 16
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4096
	}
	if opts.ExpiryInterval == 0 {
		opts.ExpiryInterval = 100 * time.Millisecond
	}
	if opts.Clock == nil {
		opts.Clock = func() int64 { return time.Now().UnixNano() }
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{
		opts:   opts,
		log:    opts.Logger,
		img:    newImage(opts.Databases),
		queue:  make(chan *request, 8192),
		applyQ: make(chan []*request, 4),
		stop:   make(chan struct{}),
	}
	if b := opts.Base; b != nil {
		if len(b.dbs) > opts.Databases {
			for db := opts.Databases; db < len(b.dbs); db++ {
				if b.dbs[db].keys.Len() > 0 {
					return nil, fmt.Errorf("engine: the base image has keys in database %d, but there are %d databases", db, opts.Databases)
				}
			}
		}
		for db := range min(len(b.dbs), opts.Databases) {
			e.img.dbs[db] = b.dbs[db].clone()
		}
		e.applied.Store(b.Index)
		e.lastIndex.Store(b.Index)
		e.appliedTerm, e.appliedTime, e.lastTime = b.Term, b.Time, b.Time
	}
	if opts.Replicator == nil {
		if err := e.replay(); err != nil {
			return nil, err
		}
		e.wg.Add(2)
		go e.committer()
		go e.applier()
	}
	if opts.Fsync == FsyncEverySec && opts.Log != nil && opts.Replicator == nil {
		e.wg.Add(1)
		go e.syncEverySecond()
	}
	if opts.ExpiryInterval > 0 {
		e.wg.Add(1)
		go e.expiryReactor()
	}
	return e, nil
}

// replayProgressEvery is how often a long replay logs its progress.
const replayProgressEvery = time.Second

// replay applies the entries of the log after the base image (every entry
// without one) in order.
func (e *Engine) replay() error {
	start := time.Now()
	base := e.applied.Load()
	last := e.opts.Log.LastIndex()
	if last < base && last != 0 {
		return fmt.Errorf("engine: the base image is at index %d, but the log ends at %d", base, last)
	}
	nextReport := start.Add(replayProgressEvery)
	free, stop := newReplayBatches(), make(chan struct{})
	batches := e.readForReplay(base+1, free, stop)
	defer func() {
		close(stop)
		for range batches { // until the reader has stopped
		}
	}()
	for b := range batches {
		for i := range b.entries {
			en := &b.entries[i]
			e.applyEntry(&en.Entry, en.cmd, en.db, b.argv[en.argv0:en.end:en.end])
			if n := e.stats.Replayed.Add(1); n%4096 == 0 && time.Now().After(nextReport) {
				nextReport = time.Now().Add(replayProgressEvery)
				e.log.Info("replaying the log", "index", en.Index, "last_index", last,
					"entries", n, "elapsed", time.Since(start).Round(time.Millisecond))
			}
		}
		if b.err != nil {
			return b.err
		}
		clear(b.argv) // no reference to the data kept in the free list
		free <- b
	}
	if last > base {
		e.lastIndex.Store(last)
		e.applied.Store(last)
	}
	if n := e.stats.Replayed.Load(); n > 0 {
		el := time.Since(start)
		e.log.Info("log replayed", "from_index", base+1, "entries", n, "last_index", e.lastIndex.Load(),
			"elapsed", el.Round(time.Millisecond), "entries_per_sec", int(float64(n)/el.Seconds()))
	}
	return nil
}

// Exec runs one command on database db and returns its reply. Writes return
// once durable (as the fsync mode defines) and applied. Commands flagged
// Connection are the protocol layer's and are refused here.
func (e *Engine) Exec(db int, argv [][]byte) Reply {
	return e.ExecAsync(db, argv).Wait()
}

// Pending is a command on its way through the pipeline; Wait returns its
// reply. A Pending must be waited for exactly once.
type Pending struct {
	req   *request
	reply Reply
	wait  func() Reply // a write proposed to the Replicator
}

// Wait blocks until the command has been applied and returns its reply.
func (p Pending) Wait() Reply {
	r := p.req
	if r == nil {
		if p.wait != nil {
			return p.wait()
		}
		return p.reply
	}
	<-r.done
	rep := r.reply
	r.argv, r.reply = nil, Reply{}
	requestPool.Put(r)
	return rep
}

// ExecAsync starts a command and returns at once: a read is answered on the
// spot; a write is queued for the committer. argv must stay unchanged until
// Wait returns. A pipelining client queues its writes with ExecAsync and
// waits for them in order, so one fsync covers the whole pipeline; a read
// must wait for the writes queued before it to see them.
func (e *Engine) ExecAsync(db int, argv [][]byte) Pending {
	if len(argv) == 0 {
		return Pending{reply: Errorf("ERR empty command")}
	}
	cmd := schema.Lookup(argv[0])
	if cmd == nil || cmd.Is(schema.Internal) || cmd.Is(schema.Connection) {
		return Pending{reply: Error(schema.UnknownCommand(argv))}
	}
	if db < 0 || db >= len(e.img.dbs) {
		return Pending{reply: Error(schema.ErrDBIndex)}
	}
	if err := cmd.Validate(argv); err != nil {
		return Pending{reply: Error(err)}
	}
	e.stats.Commands.Add(1)
	if cmd.Is(schema.Write) {
		return e.enqueue(cmd, db, argv)
	}
	return Pending{reply: e.query(cmd, db, argv)}
}

// IsWrite reports whether argv names a write command (one that goes through
// the log), so a pipelining caller knows when a read must wait.
func IsWrite(argv [][]byte) bool {
	if len(argv) == 0 {
		return false
	}
	c := schema.Lookup(argv[0])
	return c != nil && c.Is(schema.Write)
}

// query answers a read-only command on the current image.
func (e *Engine) query(cmd *schema.Command, db int, argv [][]byte) Reply {
	if h := unlockedReaders[cmd.ID]; h != nil {
		return h(e, db, argv)
	}
	h := readers[cmd.ID]
	if h == nil {
		return Errorf("ERR command '" + cmd.Name + "' is not implemented yet")
	}
	e.mu.RLock()
	r := h(&readCtx{e: e, ks: e.img.dbs[db], db: db, now: e.opts.Clock() / int64(time.Millisecond)}, argv)
	e.mu.RUnlock()
	return r
}

// enqueue hands a validated write to the committer.
func (e *Engine) enqueue(cmd *schema.Command, db int, argv [][]byte) Pending {
	if writers[cmd.ID] == nil {
		return Pending{reply: Errorf("ERR command '" + cmd.Name + "' is not implemented yet")}
	}
	if e.closed.Load() {
		return Pending{reply: Error(ErrClosed)}
	}
	if p := e.failed.Load(); p != nil {
		return Pending{reply: Errorf("MISCONF memimg cannot write its command log: " + (*p).Error())}
	}
	if e.opts.Replicator != nil {
		return e.propose(cmd, db, argv)
	}
	r := requestPool.Get().(*request)
	r.db, r.argv, r.cmd = db, argv, cmd
	e.inflight.Add(1)
	select {
	case e.queue <- r:
	case <-e.stop:
		e.inflight.Add(-1)
		requestPool.Put(r)
		return Pending{reply: Error(ErrClosed)}
	}
	return Pending{req: r}
}

// committer turns queued writes into log batches.
func (e *Engine) committer() {
	defer e.wg.Done()
	defer close(e.applyQ)
	var buf []byte
	var entries []Entry
	var gs gatherState
	var offs []int
	for {
		var first *request
		select {
		case first = <-e.queue:
		case <-e.stop:
			return
		}
		batch := make([]*request, 1, 64)
		batch[0] = first
	drain:
		for len(batch) < e.opts.MaxBatch {
			select {
			case r := <-e.queue:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		batch = e.gather(batch, &gs)
		now := e.opts.Clock()
		if now < e.lastTime {
			now = e.lastTime
		}
		e.lastTime = now
		buf = buf[:0]
		entries = entries[:0]
		idx := e.lastIndex.Load()
		offs = offs[:0]
		kept := batch[:0]
		for _, r := range batch {
			start := len(buf)
			buf = schema.EncodeCommand(buf, r.db, r.argv)
			if max := e.opts.MaxEntrySize; max > 0 && len(buf)-start > max {
				// Refuse this command alone: it never reaches the log.
				r.reply = Errorf(fmt.Sprintf("ERR command too large for the command log (%d bytes, the limit is %d)", len(buf)-start, max))
				buf = buf[:start]
				e.inflight.Add(-1)
				r.done <- struct{}{}
				continue
			}
			idx++
			r.index, r.time = idx, now
			offs = append(offs, start)
			kept = append(kept, r)
		}
		batch = kept
		if len(batch) == 0 {
			continue
		}
		offs = append(offs, len(buf))
		for i, r := range batch {
			entries = append(entries, Entry{Index: r.index, Kind: KindCommand, Time: now, Data: buf[offs[i]:offs[i+1]]})
		}
		t0 := time.Now()
		err := e.opts.Log.Append(entries)
		if err == nil && e.opts.Fsync == FsyncAlways {
			err = e.opts.Log.Sync()
			e.stats.Syncs.Add(1)
		}
		gs.observeSync(time.Since(t0))
		if err != nil {
			e.fail(err)
			e.inflight.Add(-int64(len(batch)))
			for _, r := range batch {
				r.reply = Errorf("MISCONF memimg cannot write its command log: " + err.Error())
				r.done <- struct{}{}
			}
			continue
		}
		e.lastIndex.Store(idx)
		e.stats.Batches.Add(1)
		e.stats.Writes.Add(uint64(len(batch)))
		e.applyQ <- batch
	}
}

// applier applies durable batches in order and wakes their clients.
func (e *Engine) applier() {
	defer e.wg.Done()
	for batch := range e.applyQ {
		e.applyBatch(batch)
	}
}

// applyBatch applies one durable batch and wakes its clients.
func (e *Engine) applyBatch(batch []*request) {
	e.mu.Lock()
	for _, r := range batch {
		r.reply = e.apply(r.cmd, r.db, r.argv, r.index, r.time)
	}
	e.applied.Store(batch[len(batch)-1].index)
	e.appliedTerm, e.appliedTime = 0, batch[len(batch)-1].time // the committer logs term 0
	e.mu.Unlock()
	e.flushNotify() // keyspace events, outside the lock (notify.go)
	if e.waiting.n.Load() > 0 {
		e.wakeBatch(batch)
	}
	e.inflight.Add(-int64(len(batch)))
	for _, r := range batch {
		r.done <- struct{}{}
	}
}

// applyEntry applies one entry of the log, as start-up replay and
// ApplyEntries both do (cmd nil: an entry without a command), and records
// it as applied. The entry's time is clamped to the previous entry's:
// entries written through the replicated log carry their leader's clock,
// which may step back at a change of leader (the committer never steps
// back). The caller holds the apply lock, or runs before the pipeline
// starts.
func (e *Engine) applyEntry(en *Entry, cmd *schema.Command, db int, argv [][]byte) Reply {
	t := max(en.Time, e.lastTime)
	var r Reply
	if cmd != nil {
		r = e.apply(cmd, db, argv, en.Index, t)
	}
	e.lastTime = t
	e.applied.Store(en.Index)
	e.appliedTerm, e.appliedTime = en.Term, t
	return r
}

// apply runs one logged command against the image. It is deterministic: it
// reads only the image, the arguments and the entry's time.
func (e *Engine) apply(cmd *schema.Command, db int, argv [][]byte, index uint64, t int64) Reply {
	h := writers[cmd.ID]
	if h == nil {
		return Errorf("ERR command '" + cmd.Name + "' is not implemented")
	}
	return h(&applyCtx{e: e, img: e.img, ks: e.img.dbs[db], db: db, now: t / int64(time.Millisecond), index: index}, argv)
}

func (e *Engine) fail(err error) {
	err = fmt.Errorf("%w: %v", ErrLogFailed, err)
	if e.failed.CompareAndSwap(nil, &err) {
		e.log.Error("command log failed; refusing writes", "err", err)
	}
}

// syncEverySecond is the everysec fsync policy.
func (e *Engine) syncEverySecond() {
	defer e.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := e.opts.Log.Sync(); err != nil {
				e.fail(err)
			}
			e.stats.Syncs.Add(1)
		case <-e.stop:
			return
		}
	}
}

// Close stops the pipeline after the writes already queued and syncs the log.
// The caller closes the log afterwards.
func (e *Engine) Close() error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	// Let queued requests through: wait until the queue drains.
	for len(e.queue) > 0 {
		time.Sleep(time.Millisecond)
	}
	close(e.stop)
	e.wg.Wait()
	// Anything that raced into the queue after the drain gets an error.
	for {
		select {
		case r := <-e.queue:
			r.reply = Error(ErrClosed)
			r.done <- struct{}{}
		default:
			if e.opts.Log == nil {
				return nil
			}
			return e.opts.Log.Sync()
		}
	}
}

// Failed returns the error that stopped the engine from writing its log, or
// nil while the log is healthy.
func (e *Engine) Failed() error {
	if p := e.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// AppliedIndex is the index of the last applied log entry.
func (e *Engine) AppliedIndex() uint64 { return e.applied.Load() }

// Stats returns the engine's counters.
func (e *Engine) Stats() *Stats { return &e.stats }

// Databases is the number of databases.
func (e *Engine) Databases() int { return len(e.img.dbs) }

// KeyspaceInfo describes one database for INFO keyspace.
type KeyspaceInfo struct {
	Keys    int
	Expires int
}

// Keyspace returns the size of every database.
func (e *Engine) Keyspace() []KeyspaceInfo {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]KeyspaceInfo, len(e.img.dbs))
	for i, ks := range e.img.dbs {
		out[i] = KeyspaceInfo{Keys: ks.keys.Len(), Expires: ks.expires.Len()}
	}
	return out
}
