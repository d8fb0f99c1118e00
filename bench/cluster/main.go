// Command cluster measures durable writes on a 3-node memimgd cluster
// against a standalone memimgd and against redis-server with one replica,
// in the same run:
//
//	go run ./bench/cluster [-clients 50] [-duration 10s] [-rounds 3] [-keys 100000] [-out FILE] [-short]
//
// Each cell runs -clients clients (go-redis, one connection each), each
// doing SET of a random key of -keys ("key:%012d") to a 64-byte random
// value, one command at a time, for a 1 s warm-up and then -duration; the
// latencies of the operations started in that window go into an HDR
// histogram. The systems:
//
//   - memimgd standalone, --appendfsync always: a SET is acknowledged once
//     it is fsynced on the one machine.
//   - memimgd, a 3-node Raft cluster on loopback (every node fsyncs its
//     log): the clients connected to the leader; then, on the same
//     cluster, the clients spread over the three nodes, the followers
//     forwarding their writes to the leader. A SET is acknowledged once a
//     majority (the leader and one follower) has fsynced it.
//   - redis-server (Debian's) with appendonly yes, appendfsync always, and
//     one replica (--replicaof, also appendfsync always): each operation is
//     SET then WAIT 1 0, two round trips, timed together. Skipped with a
//     message if redis-server is missing.
//
// Every cell starts fresh servers in a temporary directory (removed at the
// end; -keep keeps it, with the servers' logs), on loopback ports chosen at
// run time; they are stopped by PID. The systems take turns, their order
// rotated each round (the machine is shared and noisy), and the report
// gives the median over -rounds rounds of each figure. The servers' CPU
// time over the window comes from /proc/PID/stat (utime+stime, summed over
// a cluster's three processes and over Redis's two).
//
// After each cell it checks the data: DBSIZE equals the number of distinct
// keys acknowledged writes set; the cluster's three nodes converge to the
// same MEMIMG.DIGEST (bounded wait) with that DBSIZE each; Redis's replica
// has the master's DBSIZE and DEBUG DIGEST. A failed check, or any failed
// write, makes the program exit 1 after the report.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	clients   = flag.Int("clients", 50, "concurrent clients, one connection each")
	duration  = flag.Duration("duration", 10*time.Second, "measurement window of each cell (after a 1 s warm-up)")
	rounds    = flag.Int("rounds", 3, "rounds; the report gives the median of each figure")
	keys      = flag.Int("keys", 100_000, "key space of the random SETs")
	outFile   = flag.String("out", "", "also write the Markdown report to this file")
	short     = flag.Bool("short", false, "a quick check: 1 round of 2 s, 10000 keys (unless given)")
	bin       = flag.String("memimgd", "", "memimgd binary (default: go build ./cmd/memimgd)")
	redisBin  = flag.String("redis-server", "/usr/bin/redis-server", "redis-server binary (not found: Redis skipped)")
	keep      = flag.Bool("keep", false, "keep the temporary directory (data and logs)")
	redisPath string
)

func main() {
	flag.Parse()
	if *short {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["rounds"] {
			*rounds = 1
		}
		if !set["duration"] {
			*duration = 2 * time.Second
		}
		if !set["keys"] {
			*keys = 10_000
		}
	}
	if *clients < 1 || *rounds < 1 || *keys < 1 || *duration <= 0 {
		fmt.Fprintln(os.Stderr, "bench/cluster: -clients, -rounds, -keys and -duration must be positive")
		os.Exit(2)
	}
	failures, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/cluster:", err)
		os.Exit(1)
	}
	if len(failures) > 0 {
		fmt.Fprintf(os.Stderr, "bench/cluster: %d check(s) failed\n", len(failures))
		os.Exit(1)
	}
}

// The rows of the report.
const (
	rowStandalone = iota
	rowLeader
	rowSpread
	rowRedis
	nRows
)

var rowNames = [nRows][2]string{
	{"memimgd standalone, appendfsync always", "the server"},
	{"memimgd 3-node cluster", "the leader"},
	{"memimgd 3-node cluster", "all 3 nodes (followers forward to the leader)"},
	{"redis-server + 1 replica, appendfsync always, SET + WAIT 1 0", "the master"},
}

// bench is the state of one run.
type bench struct {
	tmp      string
	results  [nRows][]result
	failures []string
	notes    []string
}

func (b *bench) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, "bench/cluster: CHECK FAILED:", msg)
	b.failures = append(b.failures, msg)
}

func (b *bench) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, "bench/cluster:", msg)
	b.notes = append(b.notes, msg)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/cluster: "+format+"\n", args...)
}

func run() ([]string, error) {
	tmp, err := os.MkdirTemp("", "memimg-cluster-bench-")
	if err != nil {
		return nil, err
	}
	if *keep {
		progress("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if *bin == "" {
		*bin = filepath.Join(tmp, "memimgd")
		cmd := exec.Command("go", "build", "-o", *bin, "./cmd/memimgd")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/memimgd: %w", err)
		}
	}
	redisVersion := ""
	if p, err := exec.LookPath(*redisBin); err != nil {
		fmt.Fprintf(os.Stderr, "bench/cluster: %s not found, Redis skipped (apt-get install redis-server)\n", *redisBin)
	} else {
		redisPath = p
		if out, err := exec.Command(p, "--version").Output(); err == nil {
			redisVersion = strings.TrimSpace(string(out))
		}
	}

	b := &bench{tmp: tmp}
	systems := []func(round int) error{b.standalone, b.cluster}
	if redisPath != "" {
		systems = append(systems, b.redis)
	}
	t0 := time.Now()
	for r := range *rounds {
		for i := range systems {
			if err := systems[(r+i)%len(systems)](r); err != nil {
				return b.failures, err
			}
		}
	}
	wall := time.Since(t0)

	var out io.Writer = os.Stdout
	if *outFile != "" {
		f, err := os.Create(*outFile)
		if err != nil {
			return b.failures, err
		}
		defer f.Close()
		out = io.MultiWriter(os.Stdout, f)
	}
	b.report(out, redisVersion, wall)
	return b.failures, nil
}

// seed makes each cell's key sequence differ by round and row.
func seed(round, row int) uint64 { return uint64(round*nRows + row + 1) }

func (b *bench) standalone(round int) error {
	progress("round %d: memimgd standalone", round+1)
	dir := filepath.Join(b.tmp, fmt.Sprintf("r%d-standalone", round+1))
	srv, err := startStandalone(dir)
	if err != nil {
		return err
	}
	defer srv.stop()
	seen := newKeySet(*keys)
	res := measure(func(int) string { return srv.addr }, *duration, []int{srv.pid()}, seen, seed(round, rowStandalone), setOp)
	b.results[rowStandalone] = append(b.results[rowStandalone], res)
	b.checkErrs("standalone", round, res)
	b.checkSize("standalone", round, srv, seen, res.errs)
	return nil
}

func (b *bench) cluster(round int) error {
	progress("round %d: memimgd 3-node cluster", round+1)
	base := filepath.Join(b.tmp, fmt.Sprintf("r%d-cluster", round+1))
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	t0 := time.Now()
	c, err := startCluster(base, 3)
	if err != nil {
		return err
	}
	defer c.stop()
	progress("round %d: cluster formed in %v", round+1, time.Since(t0).Round(time.Millisecond))
	li, err := c.leader()
	if err != nil {
		return err
	}
	leaderID := c.ids[li]
	// Raft's warnings while the cluster formed (an election, the joiners'
	// empty logs) are expected; only those from here on are reported.
	logFrom := make([]int64, len(c.nodes))
	for i, n := range c.nodes {
		logFrom[i] = n.logSize()
	}
	seen := newKeySet(*keys)
	res := measure(func(int) string { return c.nodes[li].addr }, *duration, c.pids(), seen, seed(round, rowLeader), setOp)
	b.results[rowLeader] = append(b.results[rowLeader], res)
	b.checkErrs("cluster, clients on the leader", round, res)
	if li2, err := c.leader(); err != nil || li2 != li {
		b.note("round %d: the leader changed during the leader cell: %s before, %v after (%v)", round+1, leaderID, li2, err)
		if err == nil {
			li = li2
		}
	}
	res = measure(func(i int) string { return c.nodes[i%len(c.nodes)].addr }, *duration, c.pids(), seen, seed(round, rowSpread), setOp)
	b.results[rowSpread] = append(b.results[rowSpread], res)
	b.checkErrs("cluster, clients on all nodes", round, res)
	if li2, err := c.leader(); err != nil || li2 != li {
		b.note("round %d: the leader changed during the spread cell: %s before, %v after (%v)", round+1, c.ids[li], li2, err)
	}
	digest, took, err := c.converge()
	if err != nil {
		b.fail("round %d: cluster: %v", round+1, err)
	} else {
		progress("round %d: the 3 nodes agree on digest %s (%v after the load)", round+1, digest, took.Round(time.Millisecond))
	}
	errs := b.results[rowLeader][round].errs + b.results[rowSpread][round].errs
	for _, n := range c.nodes {
		b.checkSize("cluster "+n.name, round, n, seen, errs)
	}
	for i, n := range c.nodes {
		if !n.running() {
			b.fail("round %d: %s exited during the run; see its log", round+1, n.name)
		}
		lines := n.logLines(logFrom[i], "level=WARN", "level=ERROR", "panic")
		if len(lines) > 0 {
			b.note("round %d: %s logged %d warning/error line(s) during the load, the first: %s", round+1, n.name, len(lines), lines[0])
		}
	}
	return nil
}

func (b *bench) redis(round int) error {
	progress("round %d: redis-server + 1 replica", round+1)
	base := filepath.Join(b.tmp, fmt.Sprintf("r%d-redis", round+1))
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	r, err := startRedis(base)
	if err != nil {
		return err
	}
	defer r.stop()
	seen := newKeySet(*keys)
	res := measure(func(int) string { return r.master.addr }, *duration, r.pids(), seen, seed(round, rowRedis), setWaitOp)
	b.results[rowRedis] = append(b.results[rowRedis], res)
	b.checkErrs("redis", round, res)
	// Every write was WAITed for, so the replica has them all; allow it a
	// bounded moment anyway before comparing.
	deadline := time.Now().Add(30 * time.Second)
	var md, rd string
	var mn, rn int64
	for {
		mn, rn = dbsize(r.master), dbsize(r.replica)
		md, rd = debugDigest(r.master), debugDigest(r.replica)
		if mn == rn && md == rd && mn >= 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if mn != rn || md != rd {
		b.fail("round %d: redis: the replica differs from the master: DBSIZE %d vs %d, DEBUG DIGEST %s vs %s", round+1, rn, mn, rd, md)
	}
	b.checkSize("redis master", round, r.master, seen, res.errs)
	return nil
}

func debugDigest(p *proc) string {
	rdb := p.client()
	defer rdb.Close()
	s, err := rdb.Do(context.Background(), "debug", "digest").Text()
	if err != nil {
		return "error: " + err.Error()
	}
	return s
}

func (b *bench) checkErrs(what string, round int, res result) {
	if res.errs > 0 {
		b.fail("round %d: %s: %d write(s) failed, the first: %s", round+1, what, res.errs, res.firstErr)
	}
	if res.hist.TotalCount() == 0 {
		b.fail("round %d: %s: no write completed in the window", round+1, what)
	}
}

// checkSize checks DBSIZE on p: the distinct keys of the acknowledged
// writes, plus at most the writes whose outcome is unknown.
func (b *bench) checkSize(what string, round int, p *proc, seen *keySet, unknown int64) {
	want := seen.len()
	got := dbsize(p)
	if got < want || got > want+unknown {
		if unknown == 0 {
			b.fail("round %d: %s: DBSIZE %d, want %d (distinct keys acknowledged)", round+1, what, got, want)
		} else {
			b.fail("round %d: %s: DBSIZE %d, want %d..%d (distinct keys acknowledged, plus failed writes)", round+1, what, got, want, want+unknown)
		}
	}
}

// median of xs (the mean of the middle two for an even count), NaN for none.
func median(xs []float64) float64 {
	xs = slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func fmtNs(ns float64) string {
	switch {
	case math.IsNaN(ns):
		return "-"
	case ns < 1e6:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
}

func (b *bench) figure(row int, f func(result) float64) float64 {
	var xs []float64
	for _, r := range b.results[row] {
		xs = append(xs, f(r))
	}
	return median(xs)
}

func quantile(q float64) func(result) float64 {
	return func(r result) float64 {
		if r.hist.TotalCount() == 0 {
			return math.NaN()
		}
		return float64(r.hist.ValueAtQuantile(q))
	}
}

func (b *bench) report(w io.Writer, redisVersion string, wall time.Duration) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("### Run\n\n")
	p("- command: `%s`\n", command())
	p("- machine: %d CPUs (%s), %s RAM, %s/%s; %s\n", runtime.NumCPU(), cpuModel(), memTotal(), runtime.GOOS, runtime.GOARCH,
		time.Now().UTC().Format(time.RFC3339))
	p("- tree: %s; %s", gitRev(), runtime.Version())
	if redisVersion != "" {
		p("; %s", redisVersion)
	}
	p("\n")
	p("- load: %d clients, one connection each, SET of a random key of %d (64-byte values), one command at a time; "+
		"%v window after a %v warm-up; %d round(s), systems in rotated order, fresh servers in each cell; %v in all\n",
		*clients, *keys, *duration, warmup, *rounds, wall.Round(time.Second))
	p("- every server on loopback, data in %s, no snapshots (--save \"\")\n\n", os.TempDir())

	p("| system | clients connected to | SET/s (median) | p50 | p99 | p99.9 | max | server CPU s per 1k SETs |\n")
	p("|---|---|---|---|---|---|---|---|\n")
	for row := range nRows {
		if len(b.results[row]) == 0 {
			continue
		}
		p("| %s | %s | %.0f | %s | %s | %s | %s | %.3f |\n", rowNames[row][0], rowNames[row][1],
			b.figure(row, result.rate), fmtNs(b.figure(row, quantile(50))), fmtNs(b.figure(row, quantile(99))),
			fmtNs(b.figure(row, quantile(99.9))), fmtNs(b.figure(row, func(r result) float64 {
				if r.hist.TotalCount() == 0 {
					return math.NaN()
				}
				return float64(r.hist.Max())
			})), b.figure(row, result.cpuPer1k))
	}
	p("\nEach figure is the median over the rounds of that figure; the latency of the Redis row is SET + WAIT 1 0 together. ")
	p("Server CPU: utime+stime of the server processes over the window (a cluster's 3, Redis's master and replica).\n\n")

	sa := b.figure(rowStandalone, result.rate)
	p("Cluster / standalone throughput: **%.2f×** with the clients on the leader, **%.2f×** spread over the 3 nodes (target ≥ 0.5×)",
		b.figure(rowLeader, result.rate)/sa, b.figure(rowSpread, result.rate)/sa)
	if len(b.results[rowRedis]) > 0 {
		p("; Redis with a replica / standalone memimgd: %.2f×", b.figure(rowRedis, result.rate)/sa)
	}
	p(".\n\n")

	p("Per round (SET/s; server CPU cores busy over the window; cluster/standalone ratio of that round):\n\n")
	p("| round | standalone | cluster, leader | cluster, spread | redis + replica | ratio leader | ratio spread |\n")
	p("|---|---|---|---|---|---|---|\n")
	for r := range *rounds {
		cellOf := func(row int) string {
			if r >= len(b.results[row]) {
				return "-"
			}
			x := b.results[row][r]
			return fmt.Sprintf("%.0f (%.2f cores)", x.rate(), x.cpu.Seconds()/x.elapsed.Seconds())
		}
		ratio := func(row int) string {
			if r >= len(b.results[row]) || r >= len(b.results[rowStandalone]) {
				return "-"
			}
			return fmt.Sprintf("%.2f", b.results[row][r].rate()/b.results[rowStandalone][r].rate())
		}
		p("| %d | %s | %s | %s | %s | %s | %s |\n", r+1, cellOf(rowStandalone), cellOf(rowLeader), cellOf(rowSpread),
			cellOf(rowRedis), ratio(rowLeader), ratio(rowSpread))
	}
	p("\n")
	if len(b.failures) == 0 {
		p("Checks passed: no write failed; after each cell DBSIZE equals the distinct keys written; the cluster's 3 nodes converged to one MEMIMG.DIGEST; Redis's replica had the master's DBSIZE and DEBUG DIGEST.\n")
	} else {
		p("**Checks FAILED:**\n\n")
		for _, f := range b.failures {
			p("- %s\n", f)
		}
	}
	if len(b.notes) > 0 {
		p("\nNotes from the run:\n\n")
		for _, n := range b.notes {
			p("- %s\n", n)
		}
	}
}

func command() string {
	parts := []string{"go", "run", "./bench/cluster"}
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t'\"$") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return fmt.Sprintf("%.1f GiB", kb/(1<<20))
		}
	}
	return "?"
}

func gitRev() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "commit ?"
	}
	rev := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += " with uncommitted changes"
	}
	return rev
}
