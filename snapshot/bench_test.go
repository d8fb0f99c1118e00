package snapshot

// Benchmarks of snapshots at 100,000 and 1,000,000 keys ("key:%012d", 64-byte
// random values):
//
//	go test ./snapshot -run XXX -bench . -benchtime 3x
//
//	Full         a full snapshot of the whole image (sstables + ingestion)
//	Incremental  an incremental one after 1% of the keys changed
//	Diff         the Diff of two Views 1% apart alone (no Pebble): the cost
//	             an incremental snapshot pays for needing no bookkeeping
//	Load         loading the snapshot into a View (start-up)
//	Clone        Engine.Clone: the O(1) pause of the applier
//
// Each reports keys/s or changes/s and bytes written.

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/memimg/memimg/engine"
)

var benchSizes = []int{100_000, 1_000_000}

// benchView builds a View of n keys through a Loader (fast, in key order).
func benchView(b *testing.B, n int) *engine.View {
	b.Helper()
	ld := engine.NewLoader(16, 0, 0, 0)
	rng := rand.New(rand.NewPCG(3, 4))
	val := make([]byte, 64)
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := range n {
		for j := range val { // random text: compresses like real values, not like a repeated one
			val[j] = alphabet[rng.IntN(len(alphabet))]
		}
		r := engine.Record{Key: fmt.Sprintf("key:%012d", i), Value: val}
		if err := ld.Add(&r); err != nil {
			b.Fatal(err)
		}
	}
	return ld.View()
}

// benchChanged opens an engine on base and changes frac of its keys (SET
// of a new value, random keys), returning the engine.
func benchChanged(b *testing.B, base *engine.View, n int, frac float64) *engine.Engine {
	b.Helper()
	e, err := engine.Open(engine.Options{Log: &engine.MemLog{}, Base: base, ExpiryInterval: -1, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	rng := rand.New(rand.NewPCG(1, 2))
	changes := int(float64(n) * frac)
	pend := make([]engine.Pending, 0, 256)
	for i := range changes {
		argv := [][]byte{[]byte("set"), fmt.Appendf(nil, "key:%012d", rng.IntN(n)), fmt.Appendf(nil, "changed-%d", i)}
		pend = append(pend, e.ExecAsync(0, argv))
		if len(pend) == cap(pend) {
			for _, p := range pend {
				p.Wait()
			}
			pend = pend[:0]
		}
	}
	for _, p := range pend {
		p.Wait()
	}
	return e
}

// MemLog indices start at 1 while the base view is at 0, as an engine
// expects.

func BenchmarkFull(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			v := benchView(b, n)
			s := openStore(b, filepath.Join(b.TempDir(), "snapshot"))
			var bytes int64
			b.ResetTimer()
			for range b.N {
				res, err := s.Write(v, nil, Meta{}, nil)
				if err != nil {
					b.Fatal(err)
				}
				bytes = res.Bytes
			}
			b.SetBytes(bytes)
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
			b.ReportMetric(float64(s.DiskBytes())/float64(n), "disk-B/key")
		})
	}
}

func BenchmarkIncremental(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("keys=%d/changed=1%%", n), func(b *testing.B) {
			base := benchView(b, n)
			s := openStore(b, filepath.Join(b.TempDir(), "snapshot"))
			res0, err := s.Write(base, nil, Meta{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			e := benchChanged(b, base, n, 0.01)
			v := e.Clone()
			var res Result
			b.ResetTimer()
			for range b.N {
				// Each round writes the same difference over the base:
				// the store is put back to the base first (untimed).
				b.StopTimer()
				if _, err := s.Write(base, nil, Meta{}, nil); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err = s.Write(v, base, res0.Meta, nil)
				if err != nil {
					b.Fatal(err)
				}
				if res.Meta.Kind != Incremental {
					b.Fatalf("kind %v: %s", res.Meta.Kind, res.Reason)
				}
			}
			b.SetBytes(res.Bytes)
			b.ReportMetric(float64(res.Changes), "changes")
			b.ReportMetric(float64(res.Changes)*float64(b.N)/b.Elapsed().Seconds(), "changes/s")
		})
	}
}

func BenchmarkDiff(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("keys=%d/changed=1%%", n), func(b *testing.B) {
			base := benchView(b, n)
			e := benchChanged(b, base, n, 0.01)
			v := e.Clone()
			changes := 0
			b.ResetTimer()
			for range b.N {
				changes = 0
				if err := v.Diff(base, func(*engine.Change) error { changes++; return nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(changes), "changes")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			v := benchView(b, n)
			s := openStore(b, filepath.Join(b.TempDir(), "snapshot"))
			if _, err := s.Write(v, nil, Meta{}, nil); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				lv, _, err := s.Load(16)
				if err != nil || lv.Keys() != n {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}

func BenchmarkClone(b *testing.B) {
	base := benchView(b, 1_000_000)
	e, err := engine.Open(engine.Options{Log: &engine.MemLog{}, Base: base, ExpiryInterval: -1, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	b.ResetTimer()
	for range b.N {
		e.Clone()
	}
}
