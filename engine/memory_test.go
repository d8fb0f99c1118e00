package engine

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/memimg/memimg/schema"
)

// BenchmarkImageMemory measures the heap the image holds per key: it loads
// N keys "key:%012d" with 64-byte values by applying SET (with EX 3600 on
// every key for ttl=all) straight to the image, as replay does, with no log
// behind it, in key order (order=seq) or in a random order (order=random),
// and reports the live heap after a full GC divided by N (B/key), the
// live heap objects per key (objs/key), and the time of a full GC with the
// image live (GC-ms, the fastest of 5; noisy on a busy machine), which
// grows with the objects and pointers the collector must trace.
//
//	go test ./engine -run '^$' -bench ImageMemory -benchtime=1x
//
// Redis 7 holds the same 1,000,000 keys without TTL in ~169 B/key
// (used_memory).
func BenchmarkImageMemory(b *testing.B) {
	const n = 1_000_000
	for _, random := range []bool{false, true} {
		for _, ttl := range []bool{false, true} {
			name := "order=seq"
			if random {
				name = "order=random"
			}
			if ttl {
				name += "/ttl=all"
			} else {
				name += "/ttl=none"
			}
			b.Run(name, func(b *testing.B) {
				for range b.N {
					bytesPerKey, objsPerKey, gc := imageMemory(b, n, random, ttl)
					b.ReportMetric(bytesPerKey, "B/key")
					b.ReportMetric(objsPerKey, "objs/key")
					b.ReportMetric(float64(gc)/float64(time.Millisecond), "GC-ms")
				}
			})
		}
	}
}

// imageMemory loads n keys into a fresh engine's image and returns the live
// heap bytes and objects per key and the duration of a full GC.
func imageMemory(b *testing.B, n int, random, ttl bool) (float64, float64, time.Duration) {
	b.Helper()
	e, err := Open(Options{Log: &MemLog{}, ExpiryInterval: -1, Databases: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	set := schema.Lookup([]byte("set"))
	val := make([]byte, 64)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	argv := [][]byte{[]byte("set"), nil, val}
	if ttl {
		argv = append(argv, []byte("EX"), []byte("3600"))
	}
	key := make([]byte, 0, 16)
	order := make([]int32, n) // allocated before the first reading, kept to the last
	for i := range order {
		order[i] = int32(i)
	}
	if random {
		rng := rand.New(rand.NewPCG(1, 2))
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e.mu.Lock()
	for i := range n {
		key = fmt.Appendf(key[:0], "key:%012d", order[i])
		argv[1] = key
		if r := e.apply(set, 0, argv, uint64(i+1), now); r.IsError() {
			e.mu.Unlock()
			b.Fatal(r.Str)
		}
	}
	e.mu.Unlock()
	var after runtime.MemStats
	runtime.GC()
	gc := time.Duration(math.MaxInt64)
	for range 5 {
		start := time.Now()
		runtime.GC()
		gc = min(gc, time.Since(start))
	}
	runtime.ReadMemStats(&after)
	if got := e.img.dbs[0].keys.Len(); got != n {
		b.Fatalf("loaded %d keys, want %d", got, n)
	}
	runtime.KeepAlive(e)
	runtime.KeepAlive(order)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n),
		float64(after.HeapObjects-before.HeapObjects) / float64(n), gc
}

// BenchmarkImageOps measures pure apply and query on an image of 1,000,000
// keys "key:%012d" with 64-byte values, half of them with a TTL, keys taken
// in a random order: SET over a key without a TTL, SET with KEEPTTL over a
// key with one (the write that must also update the expiry index), and
// GET. No log, no pipeline: the cost of the image's layout alone. The load
// applies one entry a millisecond, so expiry times differ as in a real log.
func BenchmarkImageOps(b *testing.B) {
	const n = 1_000_000
	e, err := Open(Options{Log: &MemLog{}, ExpiryInterval: -1, Databases: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	keys := make([]byte, 0, 16*n)
	for i := range n {
		keys = fmt.Appendf(keys, "key:%012d", i)
	}
	key := func(i int) []byte { return keys[16*i : 16*i+16 : 16*i+16] }
	order := rand.New(rand.NewPCG(3, 4)).Perm(n)
	val := make([]byte, 64)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	set := schema.Lookup([]byte("set"))
	get := schema.Lookup([]byte("get"))
	// GET reads with the wall clock: the load ends now, and its TTLs
	// outlast the benchmark.
	now := time.Now().UnixNano() - n*int64(time.Millisecond)
	e.mu.Lock()
	for i := range n {
		argv := [][]byte{[]byte("set"), key(i), val}
		if i%2 == 1 {
			argv = append(argv, []byte("EX"), []byte("3600"))
		}
		e.apply(set, 0, argv, uint64(i+1), now)
		now += int64(time.Millisecond)
	}
	e.mu.Unlock()
	index := uint64(n)
	b.Run("SET", func(b *testing.B) {
		argv := [][]byte{[]byte("set"), nil, val}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			argv[1] = key(order[i%n] &^ 1) // keys without a TTL
			index++
			e.apply(set, 0, argv, index, now)
		}
	})
	b.Run("SET-KEEPTTL", func(b *testing.B) {
		argv := [][]byte{[]byte("set"), nil, val, []byte("KEEPTTL")}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			argv[1] = key(order[i%n] | 1) // keys with a TTL
			index++
			e.apply(set, 0, argv, index, now)
		}
	})
	b.Run("GET", func(b *testing.B) {
		argv := [][]byte{[]byte("get"), nil}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			argv[1] = key(order[i%n])
			if r := e.query(get, 0, argv); r.Kind != KindBulk {
				b.Fatal(render(r))
			}
		}
	})
}
