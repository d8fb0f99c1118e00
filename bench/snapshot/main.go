// Command snapshot measures memimg's snapshots against a real memimgd, and
// the same things on redis-server in the same run:
//
//	go run ./bench/snapshot [-keys 1000000] [-clients 50] [-duration 10s] [-memimgd PATH] [-redis-server PATH]
//
// It loads -keys keys ("key:%012d", 64-byte random values) with pipelined
// SETs (one log entry each) and restarts the server: start-up by replaying
// the whole log. Then the writer stall: -clients clients SET random existing
// keys, one command at a time, for -duration with no snapshot, then while a
// BGSAVE runs (the first one: a full snapshot of the whole image), then
// while an incremental BGSAVE runs after 1% of the keys changed; it reports
// SET latency p50, p99, p99.9 and max of each window, and the cost of both
// snapshots (INFO persistence). Last, SAVE and restart: start-up from the
// snapshot (plus an empty log tail). Start-up is the time from exec to the
// first PING answered PONG (a loading server answers -LOADING).
//
// Then Redis (redis.go; skipped with a message if redis-server is missing):
// appendonly yes, appendfsync always, no RDB preamble; the same load, a
// restart (start-up from the AOF of those SETs), the same stall windows
// without and during BGSAVE (fork), a BGSAVE after 1% changed, and a
// restart from dump.rdb.
//
// It prints a Markdown report. The servers run in a temporary directory,
// removed at the end (-keep keeps it, with the servers' logs), on loopback
// ports chosen at run time, and are stopped by PID.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/bench/internal/benchutil"
)

var (
	keys     = flag.Int("keys", 1_000_000, "keys in the data set")
	clients  = flag.Int("clients", 50, "concurrent writers in the stall test")
	duration = flag.Duration("duration", 10*time.Second, "length of the no-snapshot window")
	bin      = flag.String("memimgd", "", "memimgd binary (default: go build ./cmd/memimgd)")
	keep     = flag.Bool("keep", false, "keep the data directory")
	redisBin = flag.String("redis-server", "redis-server", "redis-server binary for the same measurements on Redis (not found: skipped)")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/snapshot:", err)
		os.Exit(1)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "memimg-snapshot-bench-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(tmp)
	}
	if *bin == "" {
		*bin = filepath.Join(tmp, "memimgd")
		cmd := exec.Command("go", "build", "-o", *bin, "./cmd/memimgd")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/memimgd: %w", err)
		}
	}
	dir := filepath.Join(tmp, "data")
	fmt.Printf("# Snapshot benchmark\n\n%d keys, %d clients, %s/%s, %d CPUs, %s\n\n", *keys, *clients,
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339))

	srv, err := start(dir)
	if err != nil {
		return err
	}
	defer srv.kill()
	rdb := srv.client(*clients + 4)
	t0 := time.Now()
	if err := load(rdb, *keys); err != nil {
		return err
	}
	fmt.Printf("load: %d SETs (pipelined) in %v\n\n", *keys, time.Since(t0).Round(time.Millisecond))

	// 1. Start-up by replaying the whole log.
	if err := srv.stop(); err != nil {
		return err
	}
	replayStart, err := srv.restart()
	if err != nil {
		return err
	}
	rdb = srv.client(*clients + 4)

	// 2. Writer stall.
	ctx := context.Background()
	base := measure(srv.addr, *clients, *duration, nil)
	var fullWall, incrWall time.Duration
	full := measure(srv.addr, *clients, 0, func() error {
		t0 := time.Now()
		err := bgsave(ctx, rdb)
		fullWall = time.Since(t0)
		return err
	})
	fullMs, fullBytes, fullKind := snapInfo(ctx, rdb)
	changed := *keys / 100
	if err := change(rdb, changed); err != nil {
		return err
	}
	incr := measure(srv.addr, *clients, 0, func() error {
		t0 := time.Now()
		err := bgsave(ctx, rdb)
		incrWall = time.Since(t0)
		return err
	})
	incrMs, incrBytes, incrKind := snapInfo(ctx, rdb)
	disk := info(ctx, rdb, "memimg_snapshot_disk_bytes")
	logBytes := info(ctx, rdb, "memimg_log_disk_bytes")

	// 3. Start-up from the snapshot.
	if err := rdb.Do(ctx, "save").Err(); err != nil {
		return fmt.Errorf("SAVE: %w", err)
	}
	if err := srv.stop(); err != nil {
		return err
	}
	snapStart, err := srv.restart()
	if err != nil {
		return err
	}
	srv.kill()

	// 4. The same on Redis.
	rr, err := runRedis(tmp)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}

	fmt.Printf("## Writer stall: SET latency, %d clients, one command at a time\n\n", *clients)
	fmt.Println("| system | window | SETs | SET/s | p50 | p99 | p99.9 | max |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	base.row("memimg", "no snapshot")
	full.row("memimg", "during BGSAVE ("+fullKind+", whole image)")
	incr.row("memimg", fmt.Sprintf("during BGSAVE (%s, %d keys changed)", incrKind, changed))
	if rr != nil {
		rr.base.row("redis", "no BGSAVE")
		rr.bgsave.row("redis", "during BGSAVE (fork, whole data set)")
	}
	fmt.Println()

	fmt.Printf("## Snapshot cost\n\n")
	fmt.Println("| system | snapshot | wall time (BGSAVE to done) | server-reported time | bytes written |")
	fmt.Println("|---|---|---|---|---|")
	fmt.Printf("| memimg | %s, %d keys | %v | %s ms | %s |\n", fullKind, *keys, fullWall.Round(time.Millisecond), fullMs, fullBytes)
	fmt.Printf("| memimg | %s, %d keys changed (1%%) | %v | %s ms | %s |\n", incrKind, changed, incrWall.Round(time.Millisecond), incrMs, incrBytes)
	if rr != nil {
		fmt.Printf("| redis | BGSAVE, %d keys | %v | - | %d (dump.rdb) |\n", *keys, rr.bgsaveWall.Round(time.Millisecond), rr.rdbBytes)
		fmt.Printf("| redis | BGSAVE after %d keys changed (always whole) | %v | - | %d |\n", changed, rr.bgsave2Wall.Round(time.Millisecond), rr.rdbBytes)
	}
	fmt.Println()

	fmt.Printf("## On disk\n\n")
	fmt.Println("| system | snapshot / RDB bytes | log / AOF bytes |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| memimg | %s (Pebble store) | %s (whole log at the end, zstd-sealed segments) |\n", disk, logBytes)
	if rr != nil {
		fmt.Printf("| redis | %d (dump.rdb) | %d (AOF of the %d loading SETs) |\n", rr.rdbBytes, rr.aofBytes, *keys)
	}
	fmt.Println()

	fmt.Printf("## Start-up, %d keys: exec to first PONG\n\n", *keys)
	fmt.Println("| system | from | to first PONG | log replayed | snapshot loaded |")
	fmt.Println("|---|---|---|---|---|")
	replayStart.row("memimg", fmt.Sprintf("the log only (%d SET entries)", *keys))
	snapStart.row("memimg", "the snapshot + the log after it")
	if rr != nil {
		fmt.Printf("| redis | AOF (%d SETs, no RDB preamble) | %v | - | - |\n", *keys, rr.aofStart.Round(time.Millisecond))
		fmt.Printf("| redis | RDB | %v | - | - |\n", rr.rdbStart.Round(time.Millisecond))
		fmt.Printf("\n%s\n", rr.version)
	}
	return nil
}

// server is a memimgd process.
type server struct {
	dir  string
	addr string
	cmd  *exec.Cmd
	log  *os.File
}

var readyRE = regexp.MustCompile(`msg="ready to accept connections"`)

func start(dir string) (*server, error) {
	s := &server{dir: dir}
	_, err := s.restart()
	return s, err
}

// startup is what one start-up took.
type startup struct {
	total            time.Duration
	replayed, loaded string
}

func (st startup) row(system, name string) {
	fmt.Printf("| %s | %s | %v | %s | %s |\n", system, name, st.total.Round(time.Millisecond), st.replayed, st.loaded)
}

var (
	replayedRE = regexp.MustCompile(`msg="log replayed".* entries=(\d+) .*elapsed=(\S+)`)
	loadedRE   = regexp.MustCompile(`msg="snapshot loaded".* keys=(\d+) .*elapsed=(\S+)`)
)

// restart starts the server on its directory and port and waits for its
// first successful PING (PONG, not -LOADING): the start-up time.
func (s *server) restart() (startup, error) {
	logPath := s.dir + ".log"
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return startup{}, err
	}
	s.log = f
	if s.addr == "" {
		if s.addr, err = freeAddr(); err != nil {
			return startup{}, err
		}
	}
	_, port, _ := strings.Cut(s.addr, ":")
	s.cmd = exec.Command(*bin, "--port", port, "--dir", s.dir, "--save", "")
	pr, pw, err := os.Pipe()
	if err != nil {
		return startup{}, err
	}
	s.cmd.Stdout, s.cmd.Stderr = pw, pw
	t0 := time.Now()
	if err := s.cmd.Start(); err != nil {
		return startup{}, err
	}
	pw.Close()
	var lines []string
	var mu sync.Mutex
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l := sc.Text()
			fmt.Fprintln(f, l)
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		}
	}()
	if err := benchutil.WaitPong(s.addr, logDone, 10*time.Minute); err != nil {
		s.kill()
		return startup{}, fmt.Errorf("memimgd: %w; see %s", err, logPath)
	}
	st := startup{total: time.Since(t0), replayed: "-", loaded: "-"}
	// The ready line follows the first PONG closely; give it a moment.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		seen := slices.ContainsFunc(lines, readyRE.MatchString)
		mu.Unlock()
		if seen {
			break
		}
	}
	mu.Lock()
	for _, l := range lines {
		if m := replayedRE.FindStringSubmatch(l); m != nil {
			st.replayed = m[1] + " entries in " + m[2]
		}
		if m := loadedRE.FindStringSubmatch(l); m != nil {
			st.loaded = m[1] + " keys in " + m[2]
		}
	}
	mu.Unlock()
	return st, nil
}

var freeAddr = benchutil.FreeAddr

func (s *server) client(pool int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.addr, PoolSize: pool, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
}

func (s *server) stop() error {
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	return s.cmd.Wait()
}

func (s *server) kill() {
	if s.cmd != nil && s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

var (
	key   = benchutil.Key
	value = benchutil.Value
)

// load SETs keys 0..n-1 with 8 pipelining connections.
func load(rdb *redis.Client, n int) error {
	const conns, batch = 8, 1000
	var next atomic.Int64
	errs := make(chan error, conns)
	for c := range conns {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			for {
				from := int(next.Add(batch)) - batch
				if from >= n {
					errs <- nil
					return
				}
				p := rdb.Pipeline()
				for i := from; i < min(n, from+batch); i++ {
					p.Set(context.Background(), key(i), value(rng), 0)
				}
				if _, err := p.Exec(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// change SETs a new value into n random existing keys.
func change(rdb *redis.Client, n int) error {
	rng := rand.New(rand.NewPCG(9, 9))
	p := rdb.Pipeline()
	for i := range n {
		p.Set(context.Background(), key(rng.IntN(*keys)), value(rng), 0)
		if (i+1)%1000 == 0 {
			if _, err := p.Exec(context.Background()); err != nil {
				return err
			}
		}
	}
	_, err := p.Exec(context.Background())
	return err
}

func bgsave(ctx context.Context, rdb *redis.Client) error {
	if err := rdb.Do(ctx, "bgsave").Err(); err != nil {
		return err
	}
	for {
		time.Sleep(2 * time.Millisecond)
		if info(ctx, rdb, "rdb_bgsave_in_progress") == "0" {
			return nil
		}
	}
}

// info returns a field of INFO persistence.
func info(ctx context.Context, rdb *redis.Client, field string) string {
	return benchutil.InfoField(ctx, rdb, "persistence", field)
}

func snapInfo(ctx context.Context, rdb *redis.Client) (ms, bytes, kind string) {
	return info(ctx, rdb, "memimg_snapshot_last_ms"), info(ctx, rdb, "memimg_snapshot_last_bytes"),
		info(ctx, rdb, "memimg_snapshot_kind")
}

// window is the SET latencies of one measurement.
type window struct {
	lat     []time.Duration
	elapsed time.Duration
}

func (w window) row(system, name string) {
	slices.Sort(w.lat)
	q := func(p float64) string {
		if len(w.lat) == 0 {
			return "-"
		}
		return fmtDur(w.lat[min(len(w.lat)-1, int(p*float64(len(w.lat))))])
	}
	rate := float64(len(w.lat)) / w.elapsed.Seconds()
	max := "-"
	if len(w.lat) > 0 {
		max = fmtDur(w.lat[len(w.lat)-1])
	}
	fmt.Printf("| %s | %s | %d | %s | %s | %s | %s | %s |\n", system, name, len(w.lat), strconv.Itoa(int(rate)), q(0.5), q(0.99), q(0.999), max)
}

func fmtDur(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

// measure runs clients writers; with during nil, for d; otherwise it starts
// the writers, lets them run 500 ms, runs during, and keeps only the
// latencies of the requests started while during ran.
func measure(addr string, clients int, d time.Duration, during func() error) window {
	var stop atomic.Bool
	type sample struct {
		at  time.Time
		lat time.Duration
	}
	res := make([][]sample, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1})
			defer rdb.Close()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			ctx := context.Background()
			for !stop.Load() {
				k, v := key(rng.IntN(*keys)), value(rng)
				t0 := time.Now()
				if err := rdb.Set(ctx, k, v, 0).Err(); err != nil {
					return
				}
				res[c] = append(res[c], sample{t0, time.Since(t0)})
			}
		}()
	}
	var from, to time.Time
	if during == nil {
		time.Sleep(500 * time.Millisecond)
		from = time.Now()
		time.Sleep(d)
		to = time.Now()
	} else {
		time.Sleep(500 * time.Millisecond)
		from = time.Now()
		if err := during(); err != nil {
			fmt.Fprintln(os.Stderr, "during:", err)
		}
		to = time.Now()
	}
	stop.Store(true)
	wg.Wait()
	var w window
	for _, r := range res {
		for _, s := range r {
			if !s.at.Before(from) && s.at.Before(to) {
				w.lat = append(w.lat, s.lat)
			}
		}
	}
	w.elapsed = to.Sub(from)
	return w
}
