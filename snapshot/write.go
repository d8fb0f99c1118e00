package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/memimg/memimg/engine"
)

// Result describes a snapshot written.
type Result struct {
	Meta Meta
	// Changes is the number of keys set or deleted (incremental) or
	// written (full).
	Changes int
	// Bytes is the size of the batch (incremental) or of the sstables
	// (full).
	Bytes int64
	// Reason says why a full snapshot was written.
	Reason   string
	Duration time.Duration
}

// hookEvery is how many keys or changes a write goes between "write" hooks.
const hookEvery = 4096

// yieldEvery is how many keys or changes a write goes between yields of the
// processor to the server's goroutines (pacer.tick: runtime.Gosched, or a
// pause after each slice of work).
const yieldEvery = 256

// errRewrite stops an incremental snapshot that should be a full one.
var errRewrite = errors.New("snapshot: rewrite in full")

// Write writes the image v to the store: only what changed since prev when
// prev is the image the store holds (prevMeta, as returned by the last Load
// or Write), and in full otherwise or when an incremental batch would be too
// large (see the package documentation). afterCommit, if not nil, runs once
// the snapshot is durable, with the store still locked; its error is
// logged, and does not fail the snapshot.
//
// Before anything is written the caller must have made the log durable
// through v.Index (engine.Engine.Sync): Write does not see the log.
func (s *Store) Write(v, prev *engine.View, prevMeta Meta, afterCommit func(Meta) error) (Result, error) {
	defer s.acquire()()
	start := time.Now()
	db, err := s.openDB(false)
	if err != nil && !errors.Is(err, ErrLocked) {
		// A store that cannot even be opened (damaged files) is moved
		// aside, never deleted, and a new one is written in full from the
		// image in memory: the state it held is in memory.
		aside := fmt.Sprintf("%s.damaged-%d", s.opts.Dir, time.Now().UnixNano())
		s.log.Error("snapshot: the store cannot be opened; moving it aside and writing a new one in full",
			"dir", s.opts.Dir, "moved_to", aside, "err", err)
		if rerr := os.Rename(s.opts.Dir, aside); rerr != nil {
			return Result{}, errors.Join(err, fmt.Errorf("snapshot: move the damaged store aside: %w", rerr))
		}
		db, err = s.openDB(false)
	}
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	s.hook("open")
	cur, err := readMeta(db)
	if err != nil {
		s.log.Warn("snapshot: the stored snapshot's metadata is unreadable; rewriting it in full", "err", err)
		cur = Meta{}
	}
	var res Result
	reason := ""
	switch {
	case cur.IsZero():
		reason = "first snapshot"
	case prev == nil || prevMeta.IsZero():
		reason = "no previous image in memory"
	case cur.Index != prev.Index || cur.Digest != prevMeta.Digest || cur.Keys != prevMeta.Keys:
		reason = fmt.Sprintf("the store holds index %d, not the expected %d", cur.Index, prev.Index)
	case prev.Databases() != v.Databases():
		reason = "the number of databases changed"
	}
	if reason == "" {
		res, err = s.writeIncremental(db, v, prev, cur)
		if errors.Is(err, errRewrite) {
			reason, err = res.Reason, nil
		} else if err != nil {
			return res, err
		}
	}
	if reason != "" {
		res, err = s.writeFull(db, v, cur)
		res.Reason = reason
		if err != nil {
			return res, err
		}
	}
	s.hook("committed")
	res.Duration = time.Since(start)
	if afterCommit != nil {
		if err := afterCommit(res.Meta); err != nil {
			s.log.Warn("snapshot: after-commit step failed", "index", res.Meta.Index, "err", err)
		}
	}
	return res, nil
}

// writeIncremental writes the difference between prev (what the store
// holds, described by cur) and v in one batch.
func (s *Store) writeIncremental(db *pebble.DB, v, prev *engine.View, cur Meta) (Result, error) {
	b := db.NewBatch()
	defer b.Close()
	digest, keys := cur.Digest, int64(cur.Keys)
	limitChanges := max(v.Keys(), 1024)
	var hs engine.Hasher
	var kbuf, vbuf []byte
	changes := 0
	res := Result{}
	pace := newPacer(s.opts.WriteCPU)
	err := v.Diff(prev, func(c *engine.Change) error {
		if c.HasOld {
			hs.Sub(&digest, &c.Old)
			keys--
		}
		var err error
		if c.HasNew {
			hs.Add(&digest, &c.New)
			keys++
			kbuf = appendDataKey(kbuf[:0], c.New.DB, c.New.Key)
			vbuf = appendValue(vbuf[:0], &c.New)
			err = b.Set(kbuf, vbuf, nil)
		} else {
			kbuf = appendDataKey(kbuf[:0], c.Old.DB, c.Old.Key)
			err = b.Delete(kbuf, nil)
		}
		if err != nil {
			return fmt.Errorf("snapshot: batch: %w", err)
		}
		changes++
		if changes%yieldEvery == 0 {
			pace.tick()
			if changes%hookEvery == 0 {
				s.hook("write")
			}
		}
		switch {
		case int64(b.Len()) > s.opts.MaxIncrementalBytes:
			res.Reason = fmt.Sprintf("the changes exceed %d bytes", s.opts.MaxIncrementalBytes)
			return errRewrite
		case changes > limitChanges:
			res.Reason = fmt.Sprintf("more changes (%d) than keys (%d)", changes, v.Keys())
			return errRewrite
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if keys != int64(v.Keys()) {
		return res, fmt.Errorf("snapshot: incremental snapshot counts %d keys, the image has %d", keys, v.Keys())
	}
	m := Meta{Version: FormatVersion, Kind: Incremental, Index: v.Index, Term: v.Term, Time: v.Time,
		Created: time.Now(), Keys: uint64(keys), Digest: digest, Databases: v.Databases(),
		ValueEncoding: engine.ValueEncodingVersion, FullIndex: cur.FullIndex, Incrementals: cur.Incrementals + 1}
	if err := b.Set(metaKey, encodeMeta(m), nil); err != nil {
		return res, fmt.Errorf("snapshot: batch: %w", err)
	}
	res.Bytes = int64(b.Len())
	s.hook("commit")
	if err := b.Commit(pebble.Sync); err != nil {
		return res, fmt.Errorf("snapshot: commit the batch of index %d: %w", v.Index, err)
	}
	res.Meta, res.Changes = m, changes
	return res, nil
}

// sstFS creates the sstables of a full snapshot: it starts the writeback of
// every megabyte as it is written (sync_file_range), so that the final
// fsync of a file has little left to do. One large fsync at the end would
// flush ~100 MB at once and, on a journaling filesystem, hold up the
// command log's fdatasync behind it: every writer of the server would wait
// (measured: a ~250 ms stall of all 50 clients at 1M keys).
var sstFS = vfs.NewSyncingFS(vfs.Default, vfs.SyncingFileOptions{BytesPerSync: 1 << 20})

// sstWriter writes the sstables of a full snapshot, rolling to a new file
// at TableSize.
type sstWriter struct {
	s     *Store
	opts  sstable.WriterOptions
	dir   string
	files []string
	w     *sstable.Writer
	size  int64 // bytes given to the current file
	total int64
}

func (sw *sstWriter) set(k, v []byte) error {
	if sw.w == nil {
		p := filepath.Join(sw.dir, fmt.Sprintf("%06d.sst", len(sw.files)+1))
		f, err := sstFS.Create(p, vfs.WriteCategoryUnspecified)
		if err != nil {
			return fmt.Errorf("snapshot: create %s: %w", p, err)
		}
		sw.w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), sw.opts)
		sw.files = append(sw.files, p)
		sw.size = 0
	}
	if err := sw.w.Set(k, v); err != nil {
		return fmt.Errorf("snapshot: write %s: %w", sw.files[len(sw.files)-1], err)
	}
	n := int64(len(k) + len(v))
	sw.size += n
	sw.total += n
	if sw.size >= sw.s.opts.TableSize {
		return sw.finish()
	}
	return nil
}

// finish completes the current file (written, synced and closed).
func (sw *sstWriter) finish() error {
	if sw.w == nil {
		return nil
	}
	w := sw.w
	sw.w = nil
	if err := w.Close(); err != nil {
		return fmt.Errorf("snapshot: finish %s: %w", sw.files[len(sw.files)-1], err)
	}
	return nil
}

// writeFull writes the whole image v as sstables and ingests them in place
// of everything the store held.
func (s *Store) writeFull(db *pebble.DB, v *engine.View, cur Meta) (res Result, err error) {
	tmp := s.tmpDir()
	if err := os.RemoveAll(tmp); err != nil {
		return res, fmt.Errorf("snapshot: clear %s: %w", tmp, err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return res, fmt.Errorf("snapshot: create %s: %w", tmp, err)
	}
	defer os.RemoveAll(tmp)
	wo := s.pebbleOptions(false).MakeWriterOptions(0, db.TableFormat())
	// Data blocks of 32 KiB rather than Pebble's 4 KiB: a full snapshot is
	// read once, whole, at start-up, where fewer, larger blocks mean fewer
	// reads, block-cache entries and iterator steps.
	wo.BlockSize = 32 << 10
	sw := &sstWriter{s: s, dir: tmp, opts: wo}
	defer func() {
		if sw.w != nil {
			sw.w.Close()
		}
	}()
	var hs engine.Hasher
	var digest engine.Digest
	var kbuf, vbuf []byte
	keys := 0
	pace := newPacer(s.opts.WriteCPU)
	err = v.Range(func(r *engine.Record) error {
		hs.Add(&digest, r)
		kbuf = appendDataKey(kbuf[:0], r.DB, r.Key)
		vbuf = appendValue(vbuf[:0], r)
		keys++
		if keys%yieldEvery == 0 {
			pace.tick()
			if keys%hookEvery == 0 {
				s.hook("write")
			}
		}
		return sw.set(kbuf, vbuf)
	})
	if err == nil {
		err = sw.finish()
	}
	if err != nil {
		return res, err
	}
	// The metadata goes in a file of its own: it sorts before the data,
	// but its count and digest are known only now.
	m := Meta{Version: FormatVersion, Kind: Full, Index: v.Index, Term: v.Term, Time: v.Time,
		Created: time.Now(), Keys: uint64(keys), Digest: digest, Databases: v.Databases(),
		ValueEncoding: engine.ValueEncodingVersion, FullIndex: v.Index}
	if err := sw.set(metaKey, encodeMeta(m)); err != nil {
		return res, err
	}
	if err := sw.finish(); err != nil {
		return res, err
	}
	s.hook("commit")
	if _, err := db.IngestAndExcise(context.Background(), sw.files, nil, nil,
		pebble.KeyRange{Start: spanStart, End: spanEnd}); err != nil {
		return res, fmt.Errorf("snapshot: ingest the sstables of index %d: %w", v.Index, err)
	}
	return Result{Meta: m, Changes: keys, Bytes: sw.total}, nil
}
