package main

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/bench/internal/benchutil"
)

// Histograms hold latencies in nanoseconds from 1 µs to 60 s, three
// significant digits (as bench/measure.go).
const (
	histMin     = 1_000
	histMax     = 60_000_000_000
	histSigFigs = 3
)

// keySet is the set of keys some acknowledged write has set: after a cell,
// DBSIZE must be its size (plus at most the writes whose outcome is unknown).
type keySet struct{ w []atomic.Uint64 }

func newKeySet(n int) *keySet { return &keySet{w: make([]atomic.Uint64, (n+63)/64)} }

func (s *keySet) add(i int) { s.w[i/64].Or(1 << (i % 64)) }

func (s *keySet) len() int64 {
	var n int64
	for i := range s.w {
		n += int64(bits.OnesCount64(s.w[i].Load()))
	}
	return n
}

// result is one measurement: the operations started inside the window.
type result struct {
	hist     *hdrhistogram.Histogram
	elapsed  time.Duration // the window
	cpu      time.Duration // the servers' CPU time in the window
	errs     int64         // failed operations (whole run, warm-up included)
	firstErr string
}

func (r result) rate() float64 { return float64(r.hist.TotalCount()) / r.elapsed.Seconds() }

// cpuPer1k is the servers' CPU seconds per 1000 operations.
func (r result) cpuPer1k() float64 {
	if r.hist.TotalCount() == 0 {
		return math.NaN()
	}
	return r.cpu.Seconds() / float64(r.hist.TotalCount()) * 1000
}

// op is one measured operation on a client.
type op func(ctx context.Context, rdb *redis.Client, k, v string) error

func setOp(ctx context.Context, rdb *redis.Client, k, v string) error {
	return rdb.Set(ctx, k, v, 0).Err()
}

// setWaitOp is SET then WAIT 1 0: the write is acknowledged once one
// replica has it; its latency is that of the pair.
func setWaitOp(ctx context.Context, rdb *redis.Client, k, v string) error {
	if err := rdb.Set(ctx, k, v, 0).Err(); err != nil {
		return err
	}
	n, err := rdb.Do(ctx, "wait", 1, 0).Int64()
	if err != nil {
		return err
	}
	if n < 1 {
		return fmt.Errorf("WAIT 1 0 answered %d", n)
	}
	return nil
}

var (
	key   = benchutil.Key
	value = benchutil.Value
)

// warmup is how long the clients run before the window opens.
const warmup = time.Second

// measure runs clients writers, client c connected (one connection) to
// addr(c), each doing o on a random key of the keys, one at a time. It
// waits warmup, then measures for d: the latencies of the operations
// started in the window and the CPU time of pids over it. Acknowledged
// writes are added to seen.
func measure(addr func(c int) string, d time.Duration, pids []int, seen *keySet, seed uint64, o op) result {
	start := time.Now()
	var from, to atomic.Int64 // nanoseconds since start
	from.Store(math.MaxInt64)
	to.Store(math.MaxInt64)
	var stop atomic.Bool
	hists := make([]*hdrhistogram.Histogram, *clients)
	var errs atomic.Int64
	var errMu sync.Mutex
	firstErr := ""
	var wg sync.WaitGroup
	for c := range *clients {
		hists[c] = hdrhistogram.New(histMin, histMax, histSigFigs)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rdb := redis.NewClient(&redis.Options{Addr: addr(c), PoolSize: 1, MaxRetries: -1,
				DialTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
			defer rdb.Close()
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			ctx := context.Background()
			for !stop.Load() {
				i := rng.IntN(*keys)
				k, v := key(i), value(rng)
				t0 := time.Since(start)
				err := o(ctx, rdb, k, v)
				lat := time.Since(start) - t0
				if err != nil {
					if errs.Add(1) == 1 {
						errMu.Lock()
						firstErr = fmt.Sprintf("%s: %v", addr(c), err)
						errMu.Unlock()
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				seen.add(i)
				if int64(t0) >= from.Load() && int64(t0) < to.Load() {
					_ = hists[c].RecordValue(min(max(lat.Nanoseconds(), histMin), histMax))
				}
			}
		}()
	}
	time.Sleep(warmup)
	cpu0 := cpuTime(pids)
	from.Store(int64(time.Since(start)))
	time.Sleep(d)
	to.Store(int64(time.Since(start)))
	cpu1 := cpuTime(pids)
	stop.Store(true)
	wg.Wait()
	all := hdrhistogram.New(histMin, histMax, histSigFigs)
	for _, h := range hists {
		all.Merge(h)
	}
	return result{hist: all, elapsed: time.Duration(to.Load() - from.Load()), cpu: cpu1 - cpu0,
		errs: errs.Load(), firstErr: firstErr}
}
