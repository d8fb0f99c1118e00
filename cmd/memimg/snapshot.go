package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/internal/enginelog"
	"github.com/memimg/memimg/snapshot"
	"github.com/memimg/memimg/wal"
)

// openStore returns the snapshot store of the data directory dir.
func openStore(dir string, logger *slog.Logger, lockTimeout time.Duration) (*snapshot.Store, error) {
	return snapshot.Open(snapshot.Options{Dir: filepath.Join(dir, "snapshot"), Logger: logger, LockTimeout: lockTimeout})
}

// snapshotInfo is `memimg snapshot info DIR`.
func snapshotInfo(args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := newFlags("snapshot info", stderr)
	wait := fs.Duration("wait", time.Minute, "how long to wait for the store's lock (a snapshot being written)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	dir := fs.Arg(0)
	st, err := openStore(dir, logger, *wait)
	if err != nil {
		return err
	}
	m, disk, err := st.Info()
	if errors.Is(err, snapshot.ErrNoSnapshot) {
		fmt.Fprintf(stdout, "snapshot:       none in %s\n", st.Dir())
	} else if err != nil {
		return err
	} else {
		fmt.Fprintf(stdout, "snapshot:       %s\n", st.Dir())
		fmt.Fprintf(stdout, "format:         %d (value encoding %d)\n", m.Version, m.ValueEncoding)
		fmt.Fprintf(stdout, "index:          %d\n", m.Index)
		fmt.Fprintf(stdout, "term:           %d\n", m.Term)
		fmt.Fprintf(stdout, "entry time:     %s\n", time.Unix(0, m.Time).UTC().Format(time.RFC3339Nano))
		fmt.Fprintf(stdout, "written:        %s (%s)\n", m.Created.UTC().Format(time.RFC3339), m.Kind)
		fmt.Fprintf(stdout, "full rewrite:   at index %d, %d incremental since\n", m.FullIndex, m.Incrementals)
		fmt.Fprintf(stdout, "keys:           %d\n", m.Keys)
		fmt.Fprintf(stdout, "databases:      %d\n", m.Databases)
		fmt.Fprintf(stdout, "digest:         %s\n", m.Digest)
		fmt.Fprintf(stdout, "disk bytes:     %d\n", disk)
	}
	l, err := openLog(dir, logger)
	if err != nil {
		fmt.Fprintf(stdout, "log:            cannot open: %v\n", err)
		return nil
	}
	defer l.Close()
	ws := l.Stats()
	fmt.Fprintf(stdout, "log:            index %d..%d, %d segments, %d bytes\n", l.StartIndex(), ws.LastIndex, ws.Segments, ws.DiskBytes)
	if err == nil && !m.IsZero() {
		switch {
		case l.StartIndex() > m.Index+1 && ws.LastIndex > 0:
			fmt.Fprintf(stdout, "                GAP: the log starts after index %d; this snapshot cannot be completed\n", m.Index+1)
		case ws.LastIndex < m.Index && ws.LastIndex > 0:
			fmt.Fprintf(stdout, "                the log ends before the snapshot (index %d)\n", m.Index)
		default:
			fmt.Fprintf(stdout, "                start-up replays %d entries after the snapshot\n", ws.LastIndex-min(ws.LastIndex, m.Index))
		}
	}
	return nil
}

// verify is `memimg verify DIR`: the state of a full replay of the log,
// from index 1, compared with the state of the newest snapshot plus the log
// after it.
func verify(args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := newFlags("verify", stderr)
	databases := fs.Int("databases", 16, "number of databases (the server's --databases; at least the snapshot's)")
	wait := fs.Duration("wait", time.Minute, "how long to wait for the store's lock (a snapshot being written)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	dir := fs.Arg(0)
	st, err := openStore(dir, logger, *wait)
	if err != nil {
		return err
	}
	// The snapshot first, then the log: a snapshot is never ahead of the
	// log as it was when the snapshot was committed, so the log opened
	// after it holds at least its index.
	if m, _, err := st.Info(); err == nil && m.Databases > *databases {
		*databases = m.Databases // the snapshot's server had more
	}
	t0 := time.Now()
	base, meta, err := st.Load(*databases)
	if err != nil {
		return fmt.Errorf("memimg: verify: load the snapshot: %w", err)
	}
	loadTime := time.Since(t0)
	l, err := openLog(dir, logger)
	if err != nil {
		return err
	}
	defer l.Close()
	if tt := l.TornTail(); tt != nil {
		fmt.Fprintf(stdout, "log:       torn tail in %s at offset %d (%d bytes; the server cuts it at start-up)\n", tt.Segment, tt.Offset, tt.Size)
	}
	last := l.LastIndex()
	fmt.Fprintf(stdout, "log:       index %d..%d\n", l.StartIndex(), last)

	open := func(b *engine.View) (*engine.Engine, time.Duration, error) {
		t := time.Now()
		e, err := engine.Open(engine.Options{Log: enginelog.New(l), Databases: *databases, ExpiryInterval: -1,
			Logger: logger, Base: b})
		return e, time.Since(t), err
	}

	var fromSnap *engine.Engine
	if base == nil {
		fmt.Fprintf(stdout, "snapshot:  none\n")
	} else {
		e, d, err := open(base)
		if err != nil {
			return fmt.Errorf("memimg: verify: snapshot at %d + log: %w", meta.Index, err)
		}
		defer e.Close()
		fromSnap = e
		sd, idx, _ := e.Digest()
		fmt.Fprintf(stdout, "snapshot:  index %d, %d keys, loaded in %v; + %d entries of log in %v: digest %s at index %d\n",
			meta.Index, meta.Keys, loadTime.Round(time.Millisecond), idx-meta.Index, d.Round(time.Millisecond), sd, idx)
	}
	if s := l.StartIndex(); s > 1 {
		fmt.Fprintf(stdout, "replay:    skipped: the log starts at index %d, not 1 (segments deleted by --wal-retain)\n", s)
		if fromSnap == nil && last > 0 {
			return fmt.Errorf("memimg: verify: no snapshot and the log starts at %d: the state cannot be rebuilt", s)
		}
		fmt.Fprintln(stdout, "OK (snapshot and log tail consistent; no full replay possible)")
		return nil
	}
	full, d, err := open(nil)
	if err != nil {
		return fmt.Errorf("memimg: verify: full replay: %w", err)
	}
	defer full.Close()
	fd, fidx, _ := full.Digest()
	fmt.Fprintf(stdout, "replay:    index 1..%d in %v: digest %s\n", fidx, d.Round(time.Millisecond), fd)
	if fromSnap == nil {
		fmt.Fprintln(stdout, "OK (no snapshot to compare)")
		return nil
	}
	sd, sidx, _ := fromSnap.Digest()
	if sd == fd && sidx == fidx {
		fmt.Fprintln(stdout, "OK: the snapshot plus the log tail equals a full replay")
		return nil
	}
	first := "none found (the digests differ but no key does: a hash collision?)"
	stop := errors.New("stop")
	_ = fromSnap.Clone().Diff(full.Clone(), func(c *engine.Change) error {
		describe := func(r engine.Record) string {
			return fmt.Sprintf("type %s exp %d value %s", r.Type, r.Exp, strconv.Quote(trunc(string(r.Value), 64)))
		}
		switch {
		case c.HasOld && c.HasNew:
			first = fmt.Sprintf("db %d key %q: replay has %s, snapshot+tail has %s", c.New.DB, c.New.Key, describe(c.Old), describe(c.New))
		case c.HasOld:
			first = fmt.Sprintf("db %d key %q: only in the full replay (%s)", c.Old.DB, c.Old.Key, describe(c.Old))
		default:
			first = fmt.Sprintf("db %d key %q: only in snapshot+tail (%s)", c.New.DB, c.New.Key, describe(c.New))
		}
		return stop
	})
	fmt.Fprintf(stdout, "DIVERGED: first diverging key: %s\n", first)
	return fmt.Errorf("memimg: verify: the snapshot at index %d plus the log differs from a full replay (digest %s at %d, want %s at %d)",
		meta.Index, sd, sidx, fd, fidx)
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// backup is `memimg backup DIR DEST`: a consistent copy of a data
// directory, while the server runs: a Pebble checkpoint of the snapshot
// store, then, with the store still locked (no snapshot, so no deletion of
// log segments, can happen meanwhile), a copy of the log's segments.
func backup(args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := newFlags("backup", stderr)
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for the store's lock (a snapshot being written)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	dir, dest := fs.Arg(0), fs.Arg(1)
	if ents, err := os.ReadDir(dest); err == nil && len(ents) > 0 {
		return fmt.Errorf("memimg: backup: %s is not empty", dest)
	}
	if _, err := os.Stat(filepath.Join(dir, "wal")); err != nil {
		return fmt.Errorf("memimg: backup: %s is not a data directory: %w", dir, err)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	st, err := openStore(dir, logger, *wait)
	if err != nil {
		return err
	}
	t0 := time.Now()
	var copied []string
	var bytes int64
	m, err := st.Backup(filepath.Join(dest, "snapshot"), func(snapshot.Meta) error {
		var err error
		copied, bytes, err = copySegments(filepath.Join(dir, "wal"), filepath.Join(dest, "wal"))
		return err
	})
	if err != nil {
		return fmt.Errorf("memimg: backup: %w", err)
	}
	// Check the copy: the log must complete the snapshot.
	l, err := openLog(dest, logger)
	if err != nil {
		return fmt.Errorf("memimg: backup: the copied log does not open: %w", err)
	}
	defer l.Close()
	start, last := l.StartIndex(), l.LastIndex()
	if !m.IsZero() && ((last > 0 && start > m.Index+1) || last < m.Index) {
		return fmt.Errorf("memimg: backup: the copied log (%d..%d) does not complete the snapshot at %d", start, last, m.Index)
	}
	fmt.Fprintf(stdout, "backup:    %s\n", dest)
	if m.IsZero() {
		fmt.Fprintf(stdout, "snapshot:  none\n")
	} else {
		fmt.Fprintf(stdout, "snapshot:  index %d, %d keys, digest %s\n", m.Index, m.Keys, m.Digest)
	}
	fmt.Fprintf(stdout, "log:       %d segments, %d bytes, index %d..%d\n", len(copied), bytes, start, last)
	if tt := l.TornTail(); tt != nil {
		fmt.Fprintf(stdout, "           its last record was being written (torn at %s offset %d): the restored server cuts it\n", tt.Segment, tt.Offset)
	}
	fmt.Fprintf(stdout, "took:      %v\n", time.Since(t0).Round(time.Millisecond))
	return nil
}

// copySegments copies the segment files of the log directory src into dst,
// oldest first, each synced; then syncs dst. A sealed segment's compressed
// file is preferred; a raw file that disappears while it is read (the
// server compressed it meanwhile) is taken compressed instead. The last
// (active) segment is copied, then cut after its last whole record
// (wal.RecordsEnd): the zeros the server writes ahead of its records, and
// a record appended while the copy ran, are left out.
func copySegments(src, dst string) ([]string, int64, error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, 0, err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return nil, 0, err
	}
	firsts := map[string]bool{}
	for _, e := range ents {
		base, ok := strings.CutSuffix(e.Name(), ".wal.zst")
		if !ok {
			base, ok = strings.CutSuffix(e.Name(), ".wal")
		}
		if ok && len(base) == 20 {
			firsts[base] = true
		}
	}
	names := make([]string, 0, len(firsts))
	for f := range firsts {
		names = append(names, f)
	}
	sort.Strings(names)
	var out []string
	var total int64
	for i, base := range names {
		var n int64
		var name string
		var err error
		for _, suffix := range []string{".wal.zst", ".wal", ".wal.zst"} {
			name = base + suffix
			n, err = copyFile(filepath.Join(src, name), filepath.Join(dst, name))
			if !errors.Is(err, fs.ErrNotExist) {
				break
			}
		}
		if err == nil && i == len(names)-1 && strings.HasSuffix(name, ".wal") {
			n, err = cutToRecords(filepath.Join(dst, name))
		}
		if err != nil {
			return out, total, fmt.Errorf("copy segment %s: %w", name, err)
		}
		out = append(out, name)
		total += n
	}
	d, err := os.Open(dst)
	if err != nil {
		return out, total, err
	}
	defer d.Close()
	return out, total, d.Sync()
}

// cutToRecords cuts the copied raw segment at path after its last whole
// record, syncs it, and returns its new size.
func cutToRecords(path string) (int64, error) {
	end, err := wal.RecordsEnd(path)
	if err != nil {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	err = f.Truncate(end)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return end, err
}

// copyFile copies src to dst and syncs dst.
func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}
