package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/internal/enginelog"
	"github.com/memimg/memimg/snapshot"
	"github.com/memimg/memimg/wal"
)

// snapshotOf writes a snapshot of the state of DIR/wal's first n entries
// into DIR/snapshot; change, if not nil, alters the records first (a
// snapshot that does not match its log).
func snapshotOf(t *testing.T, dir string, n uint64, change func(r *engine.Record)) {
	t.Helper()
	l, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e, err := engine.Open(engine.Options{Log: firstN{enginelog.New(l), n}, ExpiryInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	v := e.Clone()
	e.Close()
	if change != nil {
		ld := engine.NewLoader(16, v.Index, v.Term, v.Time)
		_ = v.Range(func(r *engine.Record) error {
			c := *r
			c.Value = append([]byte(nil), r.Value...)
			change(&c)
			return ld.Add(&c)
		})
		v = ld.View()
	}
	st, err := snapshot.Open(snapshot.Options{Dir: filepath.Join(dir, "snapshot"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write(v, nil, snapshot.Meta{}, nil); err != nil {
		t.Fatal(err)
	}
}

// firstN is a log that ends at entry n.
type firstN struct {
	engine.Log
	n uint64
}

func (f firstN) LastIndex() uint64 { return min(f.n, f.Log.LastIndex()) }

func (f firstN) ReadFrom(from uint64, fn func(engine.Entry) error) error {
	return f.Log.ReadFrom(from, func(e engine.Entry) error {
		if e.Index > f.n {
			return nil
		}
		return fn(e)
	})
}

func runTool(args ...string) (string, int) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String() + errb.String(), code
}

func TestVerifySnapshotInfoBackup(t *testing.T) {
	dir := writeLog(t, []string{"set", "a", "1"}, []string{"set", "b", "2"}, []string{"incr", "a"},
		[]string{"del", "b"}, []string{"set", "c", "3"})
	if out, code := runTool("verify", dir); code != 0 || !strings.Contains(out, "OK (no snapshot to compare)") {
		t.Fatalf("verify without a snapshot: %d\n%s", code, out)
	}
	snapshotOf(t, dir, 3, nil)
	out, code := runTool("verify", dir)
	if code != 0 || !strings.Contains(out, "OK: the snapshot plus the log tail equals a full replay") ||
		!strings.Contains(out, "snapshot:  index 3, 2 keys") {
		t.Fatalf("verify: %d\n%s", code, out)
	}
	out, code = runTool("snapshot", "info", dir)
	for _, want := range []string{"index:          3", "keys:           2", "(full)", "start-up replays 2 entries after the snapshot"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("snapshot info lacks %q: %d\n%s", want, code, out)
		}
	}

	dest := filepath.Join(t.TempDir(), "backup")
	out, code = runTool("backup", dir, dest)
	if code != 0 || !strings.Contains(out, "snapshot:  index 3") || !strings.Contains(out, "index 1..5") {
		t.Fatalf("backup: %d\n%s", code, out)
	}
	if out, code := runTool("verify", dest); code != 0 || !strings.Contains(out, "OK: the snapshot") {
		t.Fatalf("verify of the backup: %d\n%s", code, out)
	}
	if out, code := runTool("backup", dir, dest); code == 0 || !strings.Contains(out, "not empty") {
		t.Fatalf("backup into a full directory: %d\n%s", code, out)
	}

	// A snapshot that does not match the log: verify names the key.
	bad := writeLog(t, []string{"set", "a", "1"}, []string{"set", "b", "2"}, []string{"set", "c", "3"})
	snapshotOf(t, bad, 2, func(r *engine.Record) {
		if r.Key == "b" {
			r.Value = []byte("tampered")
		}
	})
	out, code = runTool("verify", bad)
	if code != 1 || !strings.Contains(out, `DIVERGED: first diverging key: db 0 key "b"`) || !strings.Contains(out, `"tampered"`) {
		t.Fatalf("verify of a tampered snapshot: %d\n%s", code, out)
	}
	if out, code := runTool("snapshot", "info", t.TempDir()); code != 0 || !strings.Contains(out, "snapshot:       none") {
		t.Fatalf("snapshot info of an empty directory: %d\n%s", code, out)
	}
}

// A backup taken while the server writes copies its active segment with
// the zeros written ahead of the records and, maybe, a record caught half
// written, or one written after the copy read the stretch before it. The
// backup keeps only the whole records, and its log opens clean.
func TestBackupCutsActiveSegment(t *testing.T) {
	dir := writeLog(t, []string{"set", "a", "1"}, []string{"set", "b", "2"}, []string{"set", "c", "3"})
	snapshotOf(t, dir, 2, nil)
	seg := filepath.Join(dir, "wal", "00000000000000000001.wal")
	end, err := wal.RecordsEnd(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Zeros, then a stretch that looks like a later record's bytes.
	f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	tail := append(make([]byte, 4096), bytes.Repeat([]byte("a later record "), 20)...)
	if _, err := f.Write(tail); err != nil {
		t.Fatal(err)
	}
	f.Close()

	dest := filepath.Join(t.TempDir(), "backup")
	if out, code := runTool("backup", dir, dest); code != 0 || !strings.Contains(out, "index 1..3") {
		t.Fatalf("backup: %d\n%s", code, out)
	}
	fi, err := os.Stat(filepath.Join(dest, "wal", "00000000000000000001.wal"))
	if err != nil || fi.Size() != end {
		t.Fatalf("the backup's active segment: %v, %v; want it cut to its records' %d bytes", fi, err, end)
	}
	if out, code := runTool("verify", dest); code != 0 || !strings.Contains(out, "OK: the snapshot") || strings.Contains(out, "torn") {
		t.Fatalf("verify of the backup: %d\n%s", code, out)
	}
}
