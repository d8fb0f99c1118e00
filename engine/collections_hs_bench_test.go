package engine

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"testing"
)

// The benchmarks of the hash and set commands at the apply level: one
// write to a collection of size=N, as the applier runs it (a new object
// and item per write, sharing structure with the old one, which stays
// intact for snapshots). The cost of a write must grow as log n, not n:
//
//	go test ./engine -run '^$' -bench 'HashSet' -benchmem
//
// Each op writes to a random position of the collection (a pseudo-random
// walk over the fields, so the tree's paths are not all cached).

// hsBenchCtx is an apply context on a fresh image.
func hsBenchCtx(b *testing.B) *applyCtx {
	e, err := Open(Options{Log: &MemLog{}, ExpiryInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return &applyCtx{e: e, img: e.img, ks: e.img.dbs[0], now: testT0, index: 1}
}

func hsBenchArgv(words ...string) [][]byte { return toBytes(words) }

var hsBenchSizes = []int{10, 100, 1_000, 10_000, 100_000, 1_000_000}

func BenchmarkHashSetWrite(b *testing.B) {
	type op struct {
		name  string
		fill  func(c *applyCtx, n int)
		write func(c *applyCtx, i, n int) Reply
	}
	fillHash := func(c *applyCtx, n int) {
		for i := 0; i < n; i += 1000 {
			argv := hsBenchArgv("HSET", "h")
			for j := i; j < min(i+1000, n); j++ {
				argv = append(argv, []byte("field:"+strconv.Itoa(j)), []byte("value:"+strconv.Itoa(j)))
			}
			hashSet(false)(c, argv)
		}
	}
	fillSet := func(c *applyCtx, n int) {
		for i := 0; i < n; i += 1000 {
			argv := hsBenchArgv("SADD", "s")
			for j := i; j < min(i+1000, n); j++ {
				argv = append(argv, []byte("member:"+strconv.Itoa(j)))
			}
			setAdd(c, argv)
		}
	}
	// The arguments of the ops are built before the timer: 4096 fields or
	// members spread over the collection, used in turn.
	const pool = 4096
	pick := func(prefix string, n int) [][]byte {
		out := make([][]byte, pool)
		for i := range out {
			out[i] = []byte(prefix + strconv.Itoa(i*7919%n))
		}
		return out
	}
	var (
		fields, members, counters, fresh [][]byte
		argv                             = make([][]byte, 4)
	)
	ops := []op{
		{"HSET", fillHash, func(c *applyCtx, i, n int) Reply {
			argv[0], argv[1], argv[2], argv[3] = []byte("HSET"), []byte("h"), fields[i%pool], []byte("v")
			return hashSet(false)(c, argv[:4])
		}},
		{"HINCRBY", fillHash, func(c *applyCtx, i, n int) Reply {
			argv[0], argv[1], argv[2], argv[3] = []byte("HINCRBY"), []byte("h"), counters[i%pool], []byte("1")
			return hashIncrBy(c, argv[:4])
		}},
		{"HDEL+HSET", fillHash, func(c *applyCtx, i, n int) Reply {
			argv[0], argv[1], argv[2] = []byte("HDEL"), []byte("h"), fields[i%pool]
			hashDel(c, argv[:3])
			argv[0], argv[3] = []byte("HSET"), []byte("v")
			return hashSet(false)(c, argv[:4])
		}},
		{"SADD", fillSet, func(c *applyCtx, i, n int) Reply {
			if i%pool == 0 { // new members each round
				fresh = pick("new:"+strconv.Itoa(i)+":", pool)
			}
			argv[0], argv[1], argv[2] = []byte("SADD"), []byte("s"), fresh[i%pool]
			return setAdd(c, argv[:3])
		}},
		{"SREM+SADD", fillSet, func(c *applyCtx, i, n int) Reply {
			argv[0], argv[1], argv[2] = []byte("SREM"), []byte("s"), members[i%pool]
			setRem(c, argv[:3])
			argv[0] = []byte("SADD")
			return setAdd(c, argv[:3])
		}},
		{"SPOP+SADD", fillSet, func(c *applyCtx, i, n int) Reply {
			c.index++
			argv[0], argv[1] = []byte("SPOP"), []byte("s")
			m := setPop(c, argv[:2])
			argv[0], argv[2] = []byte("SADD"), []byte(m.Str)
			return setAdd(c, argv[:3])
		}},
	}
	for _, o := range ops {
		for _, n := range hsBenchSizes {
			b.Run(fmt.Sprintf("%s/size=%d", o.name, n), func(b *testing.B) {
				c := hsBenchCtx(b)
				o.fill(c, n)
				fields, members, counters = pick("field:", n), pick("member:", n), pick("n:", n)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if r := o.write(c, i, n); r.IsError() {
						b.Fatal(r.Str)
					}
				}
			})
		}
	}
}

// BenchmarkHashSetRead measures the reads that look one element up.
func BenchmarkHashSetRead(b *testing.B) {
	for _, n := range hsBenchSizes {
		b.Run(fmt.Sprintf("HGET/size=%d", n), func(b *testing.B) {
			c := hsBenchCtx(b)
			for i := 0; i < n; i += 1000 {
				argv := hsBenchArgv("HSET", "h")
				for j := i; j < min(i+1000, n); j++ {
					argv = append(argv, []byte("field:"+strconv.Itoa(j)), []byte("v"))
				}
				hashSet(false)(c, argv)
			}
			rc := &readCtx{e: c.e, ks: c.ks, now: testT0}
			argv := make([][]byte, n)
			for i := range argv {
				argv[i] = []byte("field:" + strconv.Itoa(i*7919%n))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r := hashGet(rc, [][]byte{[]byte("HGET"), []byte("h"), argv[i%n]}); r.Kind != KindBulk {
					b.Fatal(render(r))
				}
			}
		})
	}
}

// BenchmarkHashSetMemory measures the live heap per element: one set (or
// hash) of 1,000,000 members "member:%d" (fields "field:%d" with values
// "value:%d"), and 100,000 small ones of 10 elements each, the packed form.
//
//	go test ./engine -run '^$' -bench HashSetMemory -benchtime=1x
//
// Redis 7.0 holds the same in ~70 B/member for the big set and ~95
// B/field for the big hash (hashtables), ~9 B/member for the small integer
// sets (intsets) and ~25 B/field for the small hashes (listpacks), plus
// ~60 B/key, by used_memory.
func BenchmarkHashSetMemory(b *testing.B) {
	type shape struct {
		name      string
		keys, per int
		hash      bool
	}
	for _, s := range []shape{
		{"set/big", 1, 1_000_000, false},
		{"hash/big", 1, 1_000_000, true},
		{"set/small", 100_000, 10, false},
		{"hash/small", 100_000, 10, true},
	} {
		b.Run(s.name, func(b *testing.B) {
			for range b.N {
				c := hsBenchCtx(b)
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for k := 0; k < s.keys; k++ {
					key := "k:" + strconv.Itoa(k)
					for i := 0; i < s.per; i += 1000 {
						argv := hsBenchArgv("SADD", key)
						if s.hash {
							argv[0] = []byte("HSET")
						}
						for j := i; j < min(i+1000, s.per); j++ {
							if s.hash {
								argv = append(argv, []byte("field:"+strconv.Itoa(j)), []byte("value:"+strconv.Itoa(j)))
							} else {
								argv = append(argv, []byte("member:"+strconv.Itoa(j)))
							}
						}
						if s.hash {
							hashSet(false)(c, argv)
						} else {
							setAdd(c, argv)
						}
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				n := float64(s.keys * s.per)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/elem")
				b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/n, "objs/elem")
				runtime.KeepAlive(c)
			}
		})
	}
}
