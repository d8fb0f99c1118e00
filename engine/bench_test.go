package engine

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memimg/memimg/schema"
)

// The benchmarks of the string commands through the whole pipeline (Exec:
// validate, sequence, encode, log append, fsync, apply, reply) and of pure
// apply (replay of a log held in memory).
//
//	go test ./engine -run '^$' -bench . -benchmem
//
// MemLog's Sync does no I/O, so BenchmarkApply measures the pipeline's own
// cost with group commit (FsyncAlways), not a disk's.

const benchKeys = 10_000

func benchOpen(b *testing.B, log *MemLog) *Engine {
	b.Helper()
	e, err := Open(Options{Log: log, Fsync: FsyncAlways, ExpiryInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkApply runs SET, GET and INCR from parallel clients; clients=N is
// the number of goroutines calling Exec.
func BenchmarkApply(b *testing.B) {
	type workload struct {
		name  string
		size  int                                // value size, for SET
		setup func(b *testing.B, e *Engine)      // before the timer
		argv  func(buf [][]byte, i int) [][]byte // the command for op i, in buf
	}
	keys := make([][]byte, benchKeys)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
	}
	populate := func(b *testing.B, e *Engine) {
		for i := 0; i < benchKeys; i += 500 {
			argv := [][]byte{[]byte("MSET")}
			for j := i; j < i+500 && j < benchKeys; j++ {
				argv = append(argv, keys[j], []byte(strconv.Itoa(j)))
			}
			if r := e.Exec(0, argv); r.IsError() {
				b.Fatal(r.Str)
			}
		}
	}
	var workloads []workload
	for _, size := range []int{16, 1024} {
		val := make([]byte, size)
		for i := range val {
			val[i] = 'a' + byte(i%26)
		}
		workloads = append(workloads, workload{
			name: fmt.Sprintf("SET/value=%d", size), size: size,
			argv: func(buf [][]byte, i int) [][]byte {
				buf[0], buf[1], buf[2] = []byte("SET"), keys[i%benchKeys], val
				return buf[:3]
			},
		})
	}
	workloads = append(workloads,
		workload{name: "GET", setup: populate, argv: func(buf [][]byte, i int) [][]byte {
			buf[0], buf[1] = []byte("GET"), keys[i%benchKeys]
			return buf[:2]
		}},
		workload{name: "INCR", setup: populate, argv: func(buf [][]byte, i int) [][]byte {
			buf[0], buf[1] = []byte("INCR"), keys[i%benchKeys]
			return buf[:2]
		}},
	)
	procs := runtime.GOMAXPROCS(0)
	for _, w := range workloads {
		for _, par := range []int{1, 4, 16} {
			clients := par * procs
			b.Run(fmt.Sprintf("%s/clients=%d", w.name, clients), func(b *testing.B) {
				log := &MemLog{}
				e := benchOpen(b, log)
				defer e.Close()
				if w.setup != nil {
					w.setup(b, e)
				}
				if w.size > 0 {
					b.SetBytes(int64(w.size))
				}
				var next atomic.Int64
				syncs0, batches0 := e.Stats().Syncs.Load(), e.Stats().Batches.Load()
				writes0 := e.Stats().Writes.Load()
				b.SetParallelism(par)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					buf := make([][]byte, 3)
					base := int(next.Add(1)) * 7919
					i := 0
					for pb.Next() {
						if r := e.Exec(0, w.argv(buf, base+i)); r.IsError() {
							b.Error(r.Str)
							return
						}
						i++
					}
				})
				b.StopTimer()
				if batches := e.Stats().Batches.Load() - batches0; batches > 0 {
					writes := e.Stats().Writes.Load() - writes0
					b.ReportMetric(float64(writes)/float64(batches), "cmds/batch")
					b.ReportMetric(float64(e.Stats().Syncs.Load()-syncs0)/float64(b.N), "syncs/op")
				}
			})
		}
	}
}

// benchLog builds a log of n string writes: SET with and without TTL,
// INCR, APPEND, INCRBYFLOAT and MSET over a keyspace of benchKeys keys.
func benchLog(b *testing.B, n int) *MemLog {
	b.Helper()
	log := &MemLog{}
	entries := make([]Entry, 0, 4096)
	var buf []byte
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	flush := func() {
		if err := log.Append(entries); err != nil {
			b.Fatal(err)
		}
		entries, buf = entries[:0], buf[:0]
	}
	val := []byte("value-0123456789")
	for i := 1; i <= n; i++ {
		k := []byte("key:" + strconv.Itoa(i%benchKeys))
		var argv [][]byte
		switch i % 8 {
		case 0, 1, 2:
			argv = [][]byte{[]byte("set"), k, val}
		case 3:
			argv = [][]byte{[]byte("set"), k, val, []byte("EX"), []byte("3600")}
		case 4:
			argv = [][]byte{[]byte("incr"), []byte("counter:" + strconv.Itoa(i%100))}
		case 5:
			argv = [][]byte{[]byte("append"), []byte("log:" + strconv.Itoa(i%100)), []byte("x")}
		case 6:
			argv = [][]byte{[]byte("incrbyfloat"), []byte("float:" + strconv.Itoa(i%100)), []byte("0.5")}
		case 7:
			argv = [][]byte{[]byte("mset"), k, val, []byte("other:" + strconv.Itoa(i%benchKeys)), val}
		}
		if c := schema.Lookup(argv[0]); c == nil || c.Validate(argv) != nil {
			b.Fatalf("bad workload command %q", argv)
		}
		start := len(buf)
		buf = schema.EncodeCommand(buf, 0, argv)
		entries = append(entries, Entry{Index: uint64(i), Kind: KindCommand,
			Time: t0 + int64(i)*int64(time.Microsecond), Data: buf[start:]})
		if len(entries) == cap(entries) {
			flush()
		}
	}
	flush()
	return log
}

// BenchmarkReplay measures pure apply: Open replays a log of N entries
// into a fresh image (decode, look up, apply), with no fsync and no
// client. entries/s is the replay speed a restart sees.
func BenchmarkReplay(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			log := benchLog(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e := benchOpen(b, log)
				if e.AppliedIndex() != uint64(n) {
					b.Fatalf("applied %d of %d", e.AppliedIndex(), n)
				}
				b.StopTimer()
				e.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
