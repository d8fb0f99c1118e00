package wal

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Many writers append through a mutex that assigns indexes in order and
// sync concurrently; readers read meanwhile, while segments roll and are
// compressed. Run with -race.
func TestConcurrentAppendSync(t *testing.T) {
	const writers, perWriter = 16, 150
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentSize: 8 << 10}
	l := mustOpen(t, opts)

	var (
		order sync.Mutex
		next  uint64 = 1
	)
	var wg sync.WaitGroup
	errs := make(chan error, writers+4)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWriter {
				order.Lock()
				r := rec(next, uint64(w), -1)
				err := l.Append(r)
				if err == nil {
					next++
				}
				order.Unlock()
				if err != nil {
					errs <- err
					return
				}
				if err := l.Sync(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	var reads atomic.Int64
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				last := l.LastIndex()
				if last == 0 {
					continue
				}
				if _, err := l.Get(1 + uint64(reads.Load())%last); err != nil {
					errs <- err
					return
				}
				err := l.ReadFrom(l.FirstIndex(), func(r Record) error {
					if r.Index > last {
						return errStopRead
					}
					return nil
				})
				if err != nil && !errors.Is(err, errStopRead) {
					errs <- err
					return
				}
				reads.Add(1)
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.LastIndex != writers*perWriter {
		t.Fatalf("LastIndex %d, want %d", st.LastIndex, writers*perWriter)
	}
	t.Logf("%d records, %d fsyncs, %d segments (%d compressed), %d reads", st.Appends, st.Syncs, st.Segments, st.CompressedSegments, reads.Load())
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, opts)
	defer l.Close()
	n := uint64(0)
	err := l.ReadFrom(1, func(r Record) error {
		n++
		if r.Index != n || len(r.Data) != int(n*7919%300) {
			t.Fatalf("record %d: index %d, %d bytes", n, r.Index, len(r.Data))
		}
		return nil
	})
	if err != nil || n != writers*perWriter {
		t.Fatalf("ReadFrom after reopen: %d records, %v", n, err)
	}
}

var errStopRead = errors.New("stop")

// Concurrent Syncs share fsyncs: with a slow disk, many writers need far
// fewer fsyncs than Sync calls.
func TestGroupCommit(t *testing.T) {
	const writers = 32
	ffs := newFaultFS()
	l := mustOpen(t, Options{Dir: t.TempDir(), FS: ffs, NoCompress: true})
	defer l.Close()
	ffs.mu.Lock()
	ffs.syncDelay = 5 * time.Millisecond
	ffs.mu.Unlock()

	var order sync.Mutex
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				order.Lock()
				err := l.Append(rec(l.LastIndex()+1, 1, 64))
				order.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				if err := l.Sync(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := l.Stats()
	if st.LastIndex != writers*4 {
		t.Fatalf("LastIndex %d", st.LastIndex)
	}
	t.Logf("%d Sync calls, %d fsyncs", writers*4, st.Syncs)
	if st.Syncs > writers*4/3 {
		t.Fatalf("%d fsyncs for %d Sync calls: no group commit", st.Syncs, writers*4)
	}
	// Sync with nothing new to sync does not fsync.
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := l.Stats().Syncs; got != st.Syncs {
		t.Fatalf("an idle Sync issued an fsync")
	}
}

// A truncation racing with readers makes them see ErrNotFound or the
// current records, never ErrCorrupt.
func TestTruncateWhileReading(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir(), SegmentSize: 2 << 10})
	defer l.Close()
	appendInBatches(t, l, recs(1, 400, 1, 64))
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(g); ; i++ {
				select {
				case <-done:
					return
				default:
				}
				_, err := l.Get(200 + i%200)
				if err != nil && !errors.Is(err, ErrNotFound) {
					t.Errorf("Get: %v", err)
					return
				}
				err = l.ReadFrom(150, func(Record) error { return nil })
				if err != nil && !errors.Is(err, ErrNotFound) {
					t.Errorf("ReadFrom: %v", err)
					return
				}
			}
		}()
	}
	for round := range 20 {
		if err := l.TruncateAfter(180 + uint64(round)); err != nil {
			t.Fatal(err)
		}
		appendInBatches(t, l, recs(l.LastIndex()+1, 400, uint64(round+2), 64))
	}
	close(done)
	wg.Wait()
}
