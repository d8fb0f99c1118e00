package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// rec returns a deterministic record for index i with a payload of size
// bytes (size < 0: a size that varies with i).
func rec(i uint64, term uint64, size int) Record {
	if size < 0 {
		size = int(i*7919) % 300
	}
	data := make([]byte, size)
	for j := range data {
		data[j] = byte(i) ^ byte(j*31) ^ byte(term)
	}
	return Record{Index: i, Term: term, Kind: Kind(i % 7), Time: int64(i) * 1e6, Data: data}
}

// recs returns records from..to inclusive.
func recs(from, to uint64, term uint64, size int) []Record {
	var out []Record
	for i := from; i <= to; i++ {
		out = append(out, rec(i, term, size))
	}
	return out
}

func sameRecord(a, b Record) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Kind == b.Kind && a.Time == b.Time && bytes.Equal(a.Data, b.Data)
}

// testLogger returns a logger writing into a buffer the test can inspect.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestLogger() (*slog.Logger, *logBuf) {
	b := &logBuf{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

func mustOpen(t testing.TB, opts Options) *Log {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger, _ = newTestLogger()
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func mustAppend(t testing.TB, l *Log, rs ...Record) {
	t.Helper()
	if err := l.Append(rs...); err != nil {
		t.Fatalf("Append(%d..): %v", rs[0].Index, err)
	}
}

// appendInBatches appends rs in batches of varying size and syncs.
func appendInBatches(t testing.TB, l *Log, rs []Record) {
	t.Helper()
	for i, b := 0, 1; i < len(rs); b = b%5 + 1 {
		j := min(i+b, len(rs))
		mustAppend(t, l, rs[i:j]...)
		i = j
	}
	if err := l.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// checkLog verifies that l holds exactly want, through FirstIndex,
// LastIndex, Get and ReadFrom.
func checkLog(t testing.TB, l *Log, want []Record) {
	t.Helper()
	var first, last uint64
	if len(want) > 0 {
		first, last = want[0].Index, want[len(want)-1].Index
	}
	if got := l.FirstIndex(); got != first {
		t.Fatalf("FirstIndex = %d, want %d", got, first)
	}
	if got := l.LastIndex(); got != last {
		t.Fatalf("LastIndex = %d, want %d", got, last)
	}
	for _, w := range want {
		got, err := l.Get(w.Index)
		if err != nil {
			t.Fatalf("Get(%d): %v", w.Index, err)
		}
		if !sameRecord(got, w) {
			t.Fatalf("Get(%d) = %+v, want %+v", w.Index, got, w)
		}
	}
	if len(want) == 0 {
		return
	}
	for _, from := range []uint64{first, first + (last-first)/2, last} {
		var got []Record
		err := l.ReadFrom(from, func(r Record) error {
			r.Data = slices.Clone(r.Data)
			got = append(got, r)
			return nil
		})
		if err != nil {
			t.Fatalf("ReadFrom(%d): %v", from, err)
		}
		exp := want[from-first:]
		if len(got) != len(exp) {
			t.Fatalf("ReadFrom(%d) read %d records, want %d", from, len(got), len(exp))
		}
		for i := range got {
			if !sameRecord(got[i], exp[i]) {
				t.Fatalf("ReadFrom(%d): record %d = %+v, want %+v", from, i, got[i], exp[i])
			}
		}
	}
	if _, err := l.Get(first - 1); first > 0 && !isNotFound(err) {
		t.Fatalf("Get(%d) before the first: %v, want ErrNotFound", first-1, err)
	}
	if _, err := l.Get(last + 1); !isNotFound(err) {
		t.Fatalf("Get(%d) after the last: %v, want ErrNotFound", last+1, err)
	}
}

// waitCompressed runs the compressor until no sealed raw segment is left.
func waitCompressed(t testing.TB, l *Log) {
	t.Helper()
	for {
		did, err := l.compressOne()
		if err != nil {
			t.Fatalf("compress: %v", err)
		}
		if !did {
			return
		}
	}
}

// dirFiles returns the segment file names in dir.
func dirFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := OSFS{}.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if _, _, ok := parseFileName(n); ok {
			out = append(out, n)
		}
	}
	return out
}

// dirSnapshot returns the names and contents of the files in dir.
func dirSnapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, n := range dirFiles(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		m[n] = string(b)
	}
	return m
}

// faultFS wraps the OS filesystem to inject failures.
type faultFS struct {
	OSFS
	mu        sync.Mutex
	syncErr   error         // returned by Sync and Datasync while set
	syncDelay time.Duration // added to every Sync and Datasync
	spaceLeft int64         // bytes that can still be written; < 0: unlimited
	syncs     atomic.Int64  // successful Datasync calls
}

func newFaultFS() *faultFS { return &faultFS{spaceLeft: -1} }

func (f *faultFS) setSyncErr(err error) {
	f.mu.Lock()
	f.syncErr = err
	f.mu.Unlock()
}

func (f *faultFS) setSpace(n int64) {
	f.mu.Lock()
	f.spaceLeft = n
	f.mu.Unlock()
}

func (f *faultFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	file, err := f.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

type faultFile struct {
	File
	fs *faultFS
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	left := f.fs.spaceLeft
	if left >= 0 {
		// As on a real filesystem, only bytes past the end of the file
		// take space; overwriting what the file holds (zeros written
		// ahead) does not.
		size, err := f.File.Size()
		if err != nil {
			f.fs.mu.Unlock()
			return 0, err
		}
		inside := min(max(size-off, 0), int64(len(p)))
		take := min(int64(len(p))-inside, left)
		n := inside + take
		f.fs.spaceLeft -= take
		f.fs.mu.Unlock()
		if n < int64(len(p)) {
			w, err := f.File.WriteAt(p[:n], off)
			if err != nil {
				return w, err
			}
			return w, &fs.PathError{Op: "write", Path: "fault", Err: syscall.ENOSPC}
		}
		return f.File.WriteAt(p, off)
	}
	f.fs.mu.Unlock()
	return f.File.WriteAt(p, off)
}

func (f *faultFile) sync(real func() error) error {
	f.fs.mu.Lock()
	err, delay := f.fs.syncErr, f.fs.syncDelay
	f.fs.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if err != nil {
		return err
	}
	if err := real(); err != nil {
		return err
	}
	f.fs.syncs.Add(1)
	return nil
}

func (f *faultFile) Sync() error     { return f.sync(f.File.Sync) }
func (f *faultFile) Datasync() error { return f.sync(f.File.Datasync) }

var _ io.WriterAt = (*faultFile)(nil)

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func fmtRecords(rs []Record) string {
	var b bytes.Buffer
	for _, r := range rs {
		fmt.Fprintf(&b, "%d/%d ", r.Index, r.Term)
	}
	return b.String()
}
