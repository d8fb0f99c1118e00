package engine

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/memimg/memimg/schema"
)

// The sorted set benchmarks measure apply (the write handler on a
// keyspace, no log) and queries on sets of 100 to 1,000,000 members: a
// write's cost must grow as log n (it copies one path of each tree), not
// as n.
//
//	go test ./engine -run '^$' -bench 'BenchmarkZSet' -benchmem

var zsetBenchSizes = []int{100, 1_000, 10_000, 100_000, 1_000_000}

// zsetBenchCtx returns an apply context on a fresh keyspace holding the
// sorted set "z" of n members "member:i" with score i.
func zsetBenchCtx(b *testing.B, n int) *applyCtx {
	c := &applyCtx{e: &Engine{}, ks: newKeyspace(), now: testT0}
	es := make([]zent, n)
	for i := range es {
		es[i] = zent{member: "member:" + strconv.Itoa(i), score: float64(i)}
	}
	zModelSort(es)
	c.ks.set(newObject("z", zsetFrom(es), 0))
	return c
}

func zsetBenchApply(b *testing.B, c *applyCtx, argv [][]byte) Reply {
	r := writers[schema.Lookup(argv[0]).ID](c, argv)
	if r.IsError() {
		b.Fatal(r.Str)
	}
	return r
}

// BenchmarkZSetWrite: each iteration is one or two commands, each its
// own edit (copying its paths), as in the server.
func BenchmarkZSetWrite(b *testing.B) {
	args := func(ss ...string) [][]byte { return toBytes(ss) }
	ops := []struct {
		name string
		argv func(n, i int) [][][]byte
	}{
		// A new score for a random member: remove and insert in the
		// ordered tree, a lookup and an update in the dict.
		{"ZADD-update", func(n, i int) [][][]byte {
			return [][][]byte{args("ZADD", "z", strconv.Itoa(n+i), "member:"+strconv.Itoa(i*7919%n))}
		}},
		{"ZADD-new+ZREM", func(n, i int) [][][]byte {
			return [][][]byte{args("ZADD", "z", strconv.Itoa(n/2), "new"), args("ZREM", "z", "new")}
		}},
		{"ZINCRBY", func(n, i int) [][][]byte {
			return [][][]byte{args("ZINCRBY", "z", "1", "member:"+strconv.Itoa(i*7919%n))}
		}},
		{"ZPOPMIN+ZADD", func(n, i int) [][][]byte {
			return [][][]byte{args("ZPOPMIN", "z"), args("ZADD", "z", strconv.Itoa(n+i), "member:"+strconv.Itoa(i))}
		}},
	}
	for _, o := range ops {
		for _, n := range zsetBenchSizes {
			b.Run(fmt.Sprintf("%s/n=%d", o.name, n), func(b *testing.B) {
				c := zsetBenchCtx(b, n)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for _, argv := range o.argv(n, i) {
						zsetBenchApply(b, c, argv)
					}
				}
			})
		}
	}
}

func BenchmarkZSetRead(b *testing.B) {
	for _, n := range zsetBenchSizes {
		c := zsetBenchCtx(b, n)
		rc := &readCtx{e: c.e, ks: c.ks, now: testT0}
		member := func(i int) string { return "member:" + strconv.Itoa(i*7919%n) }
		b.Run(fmt.Sprintf("ZSCORE/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				zScore(rc, toBytes([]string{"ZSCORE", "z", member(i)}))
			}
		})
		b.Run(fmt.Sprintf("ZRANK/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				zRank(rc, toBytes([]string{"ZRANK", "z", member(i)}), false)
			}
		})
		b.Run(fmt.Sprintf("ZCOUNT-half/n=%d", n), func(b *testing.B) {
			argv := toBytes([]string{"ZCOUNT", "z", strconv.Itoa(n / 4), strconv.Itoa(3 * n / 4)})
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				zCount(rc, argv)
			}
		})
		b.Run(fmt.Sprintf("ZRANGE-10-middle/n=%d", n), func(b *testing.B) {
			argv := toBytes([]string{"ZRANGE", "z", strconv.Itoa(n / 2), strconv.Itoa(n/2 + 9), "WITHSCORES"})
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				zRange(rc, argv)
			}
		})
		b.Run(fmt.Sprintf("ZRANGEBYSCORE-LIMIT-middle-10/n=%d", n), func(b *testing.B) {
			argv := toBytes([]string{"ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", strconv.Itoa(n / 2), "10"})
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				zRange(rc, argv)
			}
		})
	}
}

// BenchmarkZSetMemory reports the heap bytes a member of a 1,000,000
// member sorted set costs ("member:i", 8 to 14 bytes), built by ZADD
// commands of 100 members and by one build (a snapshot load).
func BenchmarkZSetMemory(b *testing.B) {
	const n = 1_000_000
	for _, how := range []string{"zadd", "load"} {
		b.Run(how, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				c := &applyCtx{e: &Engine{}, ks: newKeyspace(), now: testT0}
				var enc []byte // the snapshot's bytes, not counted
				if how == "zadd" {
					argv := [][]byte{[]byte("ZADD"), []byte("z")}
					for j := 0; j < n; j += 100 {
						argv = argv[:2]
						for k := j; k < j+100; k++ {
							argv = append(argv, []byte(strconv.Itoa(k*7919%n)), []byte("member:"+strconv.Itoa(k)))
						}
						zsetBenchApply(b, c, argv)
					}
				} else {
					es := make([]zent, n)
					for k := range es {
						es[k] = zent{member: "member:" + strconv.Itoa(k), score: float64(k * 7919 % n)}
					}
					zModelSort(es)
					enc = zsetFrom(es).Encode(nil)
					es = nil
					runtime.GC()
					runtime.ReadMemStats(&before)
					obj, err := decodeZSet(enc)
					if err != nil {
						b.Fatal(err)
					}
					c.ks.set(newObject("z", obj, 0))
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/member")
				runtime.KeepAlive(c)
				runtime.KeepAlive(enc)
			}
		})
	}
}
