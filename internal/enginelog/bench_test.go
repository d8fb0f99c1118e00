package enginelog

// BenchmarkStartup measures what a restart without a snapshot does: open the
// wal (which reads and checks every segment) and replay every entry into a
// fresh engine. The log holds 1,000,000 SETs of "key:%012d" (each key once,
// in order) with 64-byte values, one entry each, in batches of 50, as
// bench/snapshot's load; its sealed segments are zstd-compressed as on a
// real server. Sub-benchmarks: open (wal.Open alone), read (ReadFrom of
// every entry), open+replay (wal.Open and engine.Open).
//
//	go test ./internal/enginelog -run XXX -bench Startup -benchtime 5x

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
	"github.com/memimg/memimg/wal"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// benchWAL writes a log of n SET entries in batches of 50 (as 50 clients
// would) and waits until its sealed segments are compressed.
func benchWAL(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "wal")
	w, err := wal.Open(wal.Options{Dir: dir, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	l := New(w)
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	val := make([]byte, 64)
	var buf []byte
	var entries []engine.Entry
	var offs []int
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; i < n; {
		buf, entries, offs = buf[:0], entries[:0], offs[:0]
		for j := 0; j < 50 && i < n; j++ {
			i++
			for k := range val {
				val[k] = alphabet[rng.IntN(len(alphabet))]
			}
			offs = append(offs, len(buf))
			buf = schema.EncodeCommand(buf, 0, [][]byte{[]byte("SET"), fmt.Appendf(nil, "key:%012d", i-1), val})
		}
		offs = append(offs, len(buf))
		first := w.LastIndex() + 1
		for k := 0; k+1 < len(offs); k++ {
			entries = append(entries, engine.Entry{Index: first + uint64(k), Kind: engine.KindCommand,
				Time: t0 + int64(i)*1000, Data: buf[offs[k]:offs[k+1]]})
		}
		if err := l.Append(entries); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; {
		st := w.Stats()
		if st.CompressedSegments == st.Segments-1 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("segments not compressed: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}

func BenchmarkStartup(b *testing.B) {
	const n = 1_000_000
	dir := benchWAL(b, n)
	var size int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			size += fi.Size()
		}
	}
	b.Logf("log: %d entries, %d files, %d bytes", n, len(ents), size)
	open := func(b *testing.B) *wal.Log {
		w, err := wal.Open(wal.Options{Dir: dir, Logger: quiet, NoCompress: true})
		if err != nil {
			b.Fatal(err)
		}
		return w
	}
	b.Run("open", func(b *testing.B) {
		for range b.N {
			w := open(b)
			b.StopTimer()
			w.Close()
			b.StartTimer()
		}
	})
	b.Run("read", func(b *testing.B) {
		w := open(b)
		defer w.Close()
		b.ResetTimer()
		for range b.N {
			k := 0
			if err := New(w).ReadFrom(1, func(engine.Entry) error { k++; return nil }); err != nil || k != n {
				b.Fatal(k, err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
	b.Run("open+replay", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			w := open(b)
			e, err := engine.Open(engine.Options{Log: New(w), Logger: quiet, ExpiryInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			if e.AppliedIndex() != n {
				b.Fatalf("applied %d", e.AppliedIndex())
			}
			b.StopTimer()
			e.Close()
			w.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}
