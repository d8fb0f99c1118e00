package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configure a Store. The zero value plus Dir is a working
// configuration.
type Options struct {
	// Dir is the Pebble store's directory (the daemon's DIR/snapshot);
	// created by the first snapshot.
	Dir string

	// Logger receives progress (a long load logs every second), the steps
	// of each snapshot, and Pebble's own errors. Default slog.Default().
	Logger *slog.Logger

	// MaxIncrementalBytes bounds the batch of an incremental snapshot: one
	// that would be larger is written as a full snapshot instead. Default
	// 256 MiB.
	MaxIncrementalBytes int64

	// TableSize is the size of the sstables a full snapshot writes. Default
	// 128 MiB.
	TableSize int64

	// LockTimeout is how long an operation waits for the store's lock while
	// another process (memimg backup, memimg snapshot info) holds it.
	// Default 10 minutes.
	LockTimeout time.Duration

	// WriteCPU is the share of one core a snapshot's writer takes at most
	// while it walks the image (the keys of a full snapshot, the changes
	// of an incremental one): after every ~0.5 ms of work it pauses in
	// proportion, so the server's clients keep the rest of the machine.
	// 1 (or more) writes flat out, yielding only; a lower share makes the
	// snapshot last longer (about 1/WriteCPU times the CPU it needs).
	// Default 0.3. Pebble's own work (the sstables' final sync, the
	// ingestion, the batch commit) is not paced. Every snapshot is paced,
	// SAVE's and the one at shutdown included.
	WriteCPU float64

	// Hook, for tests, is called at named points of a snapshot's write:
	// "open" (store opened), "write" (every 4096 keys or changes written),
	// "commit" (just before the batch commit or the ingestion), "committed"
	// (after it, before AfterCommit); and of a Load: "load" (before the
	// data is read). It may sleep to hold the operation there.
	Hook func(point string)
}

// EnsureDefaults fills in the zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxIncrementalBytes == 0 {
		o.MaxIncrementalBytes = 256 << 20
	}
	if o.TableSize == 0 {
		o.TableSize = 128 << 20
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 10 * time.Minute
	}
	if o.WriteCPU == 0 {
		o.WriteCPU = 0.3
	}
}

// Validate reports every problem with the options at once. Call it after
// EnsureDefaults.
func (o *Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("Dir is empty"))
	}
	if o.MaxIncrementalBytes < 0 {
		errs = append(errs, fmt.Errorf("MaxIncrementalBytes %d is negative", o.MaxIncrementalBytes))
	}
	if o.TableSize < 1<<20 {
		errs = append(errs, fmt.Errorf("TableSize %d is under 1 MiB", o.TableSize))
	}
	if o.LockTimeout < 0 {
		errs = append(errs, fmt.Errorf("LockTimeout %v is negative", o.LockTimeout))
	}
	if o.WriteCPU < 0.05 {
		errs = append(errs, fmt.Errorf("WriteCPU %v is under 0.05", o.WriteCPU))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidOptions, errors.Join(errs...))
}

// Store is the snapshot store of one data directory. It holds no open
// files between operations: each one opens the Pebble store (waiting for
// its lock) and closes it. A Store's methods are safe for concurrent use;
// within a process they run one at a time.
type Store struct {
	opts Options
	log  *slog.Logger
	sem  chan struct{} // one operation at a time in this process
}

// Open returns the Store of opts.Dir. It does not touch the disk.
func Open(opts Options) (*Store, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Store{opts: opts, log: opts.Logger, sem: make(chan struct{}, 1)}, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.opts.Dir }

// tmpDir is the scratch directory of a full snapshot's sstables.
func (s *Store) tmpDir() string { return s.opts.Dir + ".tmp" }

func (s *Store) hook(point string) {
	if s.opts.Hook != nil {
		s.opts.Hook(point)
	}
}

// exists reports whether the directory holds a Pebble store.
func (s *Store) exists() (bool, error) {
	if _, err := os.Stat(s.opts.Dir); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	d, err := pebble.Peek(s.opts.Dir, vfs.Default)
	if err != nil {
		return false, fmt.Errorf("snapshot: inspect %s: %w", s.opts.Dir, err)
	}
	return d.Exists, nil
}

// pebbleLogger sends Pebble's logs to slog: its many informational lines at
// debug level.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	if p.l.Enabled(context.Background(), slog.LevelDebug) {
		p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
	}
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Warn("pebble: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := "pebble: " + fmt.Sprintf(format, args...)
	p.l.Error(msg)
	panic(msg)
}

func (s *Store) pebbleOptions(readOnly bool) *pebble.Options {
	o := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{s.log},
		ReadOnly:           readOnly,
	}
	o.EnsureDefaults()
	return o
}

// acquire serializes the operations of this process.
func (s *Store) acquire() func() {
	s.sem <- struct{}{}
	return func() { <-s.sem }
}

// isLocked reports whether err is Pebble's refusal of a lock another
// process (or another open in this one) holds.
func isLocked(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		strings.Contains(err.Error(), "lock held by current process")
}

// openDB opens the Pebble store, waiting up to LockTimeout for its lock.
func (s *Store) openDB(readOnly bool) (*pebble.DB, error) {
	if !readOnly {
		if err := os.MkdirAll(s.opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("snapshot: create %s: %w", s.opts.Dir, err)
		}
	}
	deadline := time.Now().Add(s.opts.LockTimeout)
	wait, logged := 10*time.Millisecond, false
	for {
		db, err := pebble.Open(s.opts.Dir, s.pebbleOptions(readOnly))
		if err == nil {
			return db, nil
		}
		if !isLocked(err) {
			return nil, fmt.Errorf("snapshot: open %s: %w", s.opts.Dir, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s, for more than %v", ErrLocked, s.opts.Dir, s.opts.LockTimeout)
		}
		if !logged && wait >= 640*time.Millisecond {
			s.log.Info("snapshot store locked by another process (memimg backup?); waiting", "dir", s.opts.Dir)
			logged = true
		}
		time.Sleep(wait)
		wait = min(wait*2, time.Second)
	}
}

// readMeta reads the metadata; the zero Meta when there is none.
func readMeta(db *pebble.DB) (Meta, error) {
	v, closer, err := db.Get(metaKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return Meta{}, nil
	}
	if err != nil {
		return Meta{}, fmt.Errorf("snapshot: read metadata: %w", err)
	}
	defer closer.Close()
	return decodeMeta(v)
}

// Info returns the metadata of the snapshot the store holds and the bytes
// the store takes on disk. It is ErrNoSnapshot when there is none.
func (s *Store) Info() (Meta, int64, error) {
	defer s.acquire()()
	ok, err := s.exists()
	if err != nil || !ok {
		return Meta{}, 0, errors.Join(ErrNoSnapshot, err)
	}
	db, err := s.openDB(true)
	if err != nil {
		return Meta{}, 0, err
	}
	defer db.Close()
	m, err := readMeta(db)
	if err == nil && m.IsZero() {
		err = ErrNoSnapshot
	}
	return m, s.DiskBytes(), err
}

// DiskBytes is the size of the store's files.
func (s *Store) DiskBytes() int64 {
	var n int64
	_ = filepath.WalkDir(s.opts.Dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
