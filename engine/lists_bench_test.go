package engine

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/memimg/memimg/schema"
)

// The list benchmarks measure apply (the write handler on a keyspace, no
// log) on lists of 100 to 1,000,000 elements: a write's cost must grow as
// log n (it copies one path of the tree), not as n.
//
//	go test ./engine -run '^$' -bench 'BenchmarkList' -benchmem

var listBenchSizes = []int{100, 1_000, 10_000, 100_000, 1_000_000}

// listBenchCtx returns an apply context on a fresh keyspace holding the
// list "l" of n elements.
func listBenchCtx(b *testing.B, n int) *applyCtx {
	c := &applyCtx{e: &Engine{}, ks: newKeyspace(), now: testT0}
	vals := make([]string, n)
	for i := range vals {
		vals[i] = "element:" + strconv.Itoa(i)
	}
	c.ks.set(newObject("l", newListEdit().build(vals), 0))
	return c
}

func listBenchApply(b *testing.B, c *applyCtx, argv [][]byte) Reply {
	cmd := schema.Lookup(argv[0])
	r := writers[cmd.ID](c, argv)
	if r.IsError() {
		b.Fatal(r.Str)
	}
	return r
}

func BenchmarkListWrite(b *testing.B) {
	type op struct {
		name string
		argv func(n, i int) [][][]byte // the commands of one iteration
	}
	args := func(ss ...string) [][]byte { return toBytes(ss) }
	ops := []op{
		{"RPUSH+LPOP", func(n, i int) [][][]byte {
			return [][][]byte{args("RPUSH", "l", "new"), args("LPOP", "l")}
		}},
		{"LPUSH+RPOP", func(n, i int) [][][]byte {
			return [][][]byte{args("LPUSH", "l", "new"), args("RPOP", "l")}
		}},
		{"LSET-middle", func(n, i int) [][][]byte {
			return [][][]byte{args("LSET", "l", strconv.Itoa(n/2), "new")}
		}},
		{"LSET-random", func(n, i int) [][][]byte {
			return [][][]byte{args("LSET", "l", strconv.Itoa(i*7919%n), "new")}
		}},
		{"LMOVE-rotate", func(n, i int) [][][]byte {
			return [][][]byte{args("LMOVE", "l", "l", "LEFT", "RIGHT")}
		}},
	}
	for _, o := range ops {
		for _, n := range listBenchSizes {
			b.Run(fmt.Sprintf("%s/n=%d", o.name, n), func(b *testing.B) {
				c := listBenchCtx(b, n)
				cmds := o.argv(n, 0)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if o.name == "LSET-random" {
						cmds = o.argv(n, i)
					}
					for _, argv := range cmds {
						listBenchApply(b, c, argv)
					}
				}
			})
		}
	}
}

// BenchmarkListInsertMiddle inserts an element in the middle of the list
// and removes it again (the tree operations LINSERT and LREM end with,
// without their O(n) search), each as its own command: a new edit, so
// every one copies its path.
func BenchmarkListInsertMiddle(b *testing.B) {
	for _, n := range listBenchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			c := listBenchCtx(b, n)
			it, _ := c.ks.lookup([]byte("l"), testT0)
			l := listOf(it)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l = newListEdit().insertAt(l, n/2, "new")
				l = newListEdit().removeRange(l, n/2, n/2+1)
			}
		})
	}
}

func BenchmarkListRead(b *testing.B) {
	for _, n := range listBenchSizes {
		c := listBenchCtx(b, n)
		rc := &readCtx{e: c.e, ks: c.ks, now: testT0}
		b.Run(fmt.Sprintf("LINDEX-middle/n=%d", n), func(b *testing.B) {
			argv := toBytes([]string{"LINDEX", "l", strconv.Itoa(n / 2)})
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				listIndex(rc, argv)
			}
		})
		b.Run(fmt.Sprintf("LRANGE-100-middle/n=%d", n), func(b *testing.B) {
			argv := toBytes([]string{"LRANGE", "l", strconv.Itoa(n / 2), strconv.Itoa(n/2 + 99)})
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				listRange(rc, argv)
			}
		})
	}
}

// BenchmarkListMemory reports the heap bytes an element of a 1,000,000
// element list costs, built by RPUSH commands of 100 elements and by one
// build (a snapshot load), for 10-byte elements.
func BenchmarkListMemory(b *testing.B) {
	const n = 1_000_000
	for _, how := range []string{"rpush", "load"} {
		b.Run(how, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				c := &applyCtx{e: &Engine{}, ks: newKeyspace(), now: testT0}
				if how == "rpush" {
					argv := [][]byte{[]byte("RPUSH"), []byte("l")}
					for j := 0; j < n; j += 100 {
						argv = argv[:2]
						for k := j; k < j+100; k++ {
							argv = append(argv, []byte(fmt.Sprintf("e:%08d", k)))
						}
						listBenchApply(b, c, argv)
					}
				} else {
					vals := make([]string, n)
					for k := range vals {
						vals[k] = fmt.Sprintf("e:%08d", k)
					}
					c.ks.set(newObject("l", newListEdit().build(vals), 0))
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/element")
				runtime.KeepAlive(c)
			}
		})
	}
}
