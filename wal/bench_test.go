package wal

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// BenchmarkAppendSync measures durable appends: each op appends one record
// (indexes assigned under a mutex, as a sequencer does) and waits for Sync.
// With more writers, concurrent Syncs share fsyncs (group commit); the
// records/fsync metric shows how many.
func BenchmarkAppendSync(b *testing.B) {
	for _, size := range []int{64, 1024} {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("size=%d/writers=%d", size, writers), func(b *testing.B) {
				l := mustOpen(b, Options{Dir: b.TempDir()})
				defer l.Close()
				b.SetBytes(int64(size))
				var (
					order sync.Mutex
					next  uint64 = 1
					wg    sync.WaitGroup
				)
				per := b.N / writers
				extra := b.N % writers
				b.ResetTimer()
				for w := range writers {
					n := per
					if w < extra {
						n++
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						r := rec(1, 1, size)
						for range n {
							order.Lock()
							r.Index = next
							err := l.Append(r)
							next++
							order.Unlock()
							if err == nil {
								err = l.Sync()
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				st := l.Stats()
				if st.Syncs > 0 {
					b.ReportMetric(float64(st.Appends)/float64(st.Syncs), "records/fsync")
				}
			})
		}
	}
}

// BenchmarkAppend measures Append alone (no Sync): the encode and write
// path.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			l := mustOpen(b, Options{Dir: b.TempDir(), NoCompress: true})
			defer l.Close()
			r := rec(1, 1, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r.Index = uint64(i + 1)
				if err := l.Append(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var errBenchDone = errors.New("done")

// BenchmarkReadFrom measures replay: each op is one record delivered by
// ReadFrom, from raw or zstd-compressed sealed segments.
func BenchmarkReadFrom(b *testing.B) {
	const n, size = 100_000, 256
	for _, compress := range []bool{false, true} {
		name := "raw"
		if compress {
			name = "zstd"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			opts := Options{Dir: dir, SegmentSize: 4 << 20, NoCompress: !compress}
			l := mustOpen(b, opts)
			batch := make([]Record, 0, 100)
			for i := uint64(1); i <= n; i++ {
				r := rec(i, 1, size)
				// Compressible payloads, like real commands.
				copy(r.Data, fmt.Sprintf("SET user:%08d {\"name\":\"user %d\",\"visits\":%d}", i, i, i%97))
				batch = append(batch, r)
				if len(batch) == cap(batch) {
					mustAppend(b, l, batch...)
					batch = batch[:0]
				}
			}
			waitCompressed(b, l)
			st := l.Stats()
			l.Close()
			l = mustOpen(b, opts)
			defer l.Close()
			b.SetBytes(size)
			b.ResetTimer()
			left := b.N
			for left > 0 {
				err := l.ReadFrom(1, func(r Record) error {
					left--
					if left == 0 {
						return errBenchDone
					}
					return nil
				})
				if err != nil && err != errBenchDone {
					b.Fatal(err)
				}
			}
			if compress && st.SealedCompressedBytes > 0 {
				b.ReportMetric(float64(st.SealedRawBytes)/float64(st.SealedCompressedBytes), "zstd-ratio")
			}
		})
	}
}

// BenchmarkGet measures random access, on the active raw segment and on a
// compressed sealed segment (cached after the first read).
func BenchmarkGet(b *testing.B) {
	l := mustOpen(b, Options{Dir: b.TempDir(), SegmentSize: 1 << 20})
	defer l.Close()
	for i := uint64(1); i <= 20_000; i += 100 {
		mustAppend(b, l, recs(i, i+99, 1, 128)...)
	}
	waitCompressed(b, l)
	for _, c := range []struct {
		name  string
		index uint64
	}{{"compressed", 10}, {"active", 19_990}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				if _, err := l.Get(c.index + uint64(i%8)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
