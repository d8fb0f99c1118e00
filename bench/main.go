// Command bench is memimg's benchmark harness: it starts memimg, Redis and
// PostgreSQL itself, on 127.0.0.1 in a temporary directory, runs the same
// workloads against each through its native client at matched durability,
// checks that each system holds what it acknowledged, and writes a
// Markdown report, an SVG chart and the raw results as JSON.
//
//	go run ./bench                                   # everything, 5 s per cell (about 15 min)
//	go run ./bench --short --out "$(mktemp -d)"      # about 1 s per cell, clients 1,8 (CI)
//	go run ./bench --systems memimg,postgres --workloads write,read --clients 32
//
// Flags:
//
//	--systems      memimg,redis,postgres   systems to run (a missing one is skipped with how to install it)
//	--workloads    write,read,mix,incr,tx,batch
//	--clients      1,8,32,128              concurrency sweep (client goroutines = pool size)
//	--durability   strict,relaxed          strict: fsync before the reply; relaxed: about once a second
//	--duration     5s                      measured time per cell (after --warmup)
//	--keys         100000                  key space (and number of counters)
//	--value-size   64                      value size in bytes
//	--out DIR                              results.json, results.md, throughput-vs-p99.svg
//	--doc FILE                             the report (default docs/benchmarks-harness.md; DIR/benchmarks-harness.md with --short)
//	--short                                1 s cells, clients 1,8, 2,000 keys
//	--warmup       1s                      unmeasured time before each cell
//	--tmpdir DIR                           where the servers' directories go (a real disk, not tmpfs)
//	--order        interleaved             interleaved: all systems up at once, cells alternate; sequential: one at a time
//	--repeat       1                       run every cell N times (in rounds), report the median
//	--render FILE                          measure nothing: rewrite the outputs from a results.json
//
// The outputs: a Markdown report (the machine, its fsync latency, the
// command line, headline figures, tables, chart, method), results.md (the
// tables), throughput-vs-p99.svg and results.json. Every cell is verified:
// a cell whose data does not match what the system acknowledged is FAILED.
//
// The process exits 1 if any cell failed its verification or its server
// could not start, 2 on bad flags, 130 when interrupted. Servers are
// always stopped by PID, also when the harness is interrupted.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config is what one run measures.
type Config struct {
	Systems      []string      `json:"systems"`
	Workloads    []string      `json:"workloads"`
	Clients      []int         `json:"clients"`
	Durabilities []durability  `json:"durability"`
	Duration     time.Duration `json:"duration_ns"`
	Warmup       time.Duration `json:"warmup_ns"`
	Keys         int           `json:"keys"`
	ValueSize    int           `json:"value_size"`
	// MaxOps bounds the operations of one cell (with Duration).
	MaxOps int64 `json:"max_ops_per_cell"`
	// VerifySample is how many keys are read back after each cell.
	VerifySample int    `json:"verify_sample"`
	FsyncSamples int    `json:"fsync_samples"`
	Seed         uint64 `json:"seed"`
	Short        bool   `json:"short"`
	// Order is "interleaved" (every system up at once, cells alternating)
	// or "sequential" (one server at a time).
	Order string `json:"order"`
	// Repeat is how many times each cell runs; the median is reported.
	Repeat int `json:"repeat"`

	Out     string `json:"-"`
	Doc     string `json:"-"`
	TmpDir  string `json:"-"`
	Keep    bool   `json:"-"`
	Root    string `json:"-"`
	Command string `json:"-"`
	// Render, if set, is a results.json to rewrite the outputs from.
	Render string `json:"-"`
	// RequireAll makes a missing system a failure instead of a skip.
	RequireAll bool `json:"-"`
	// Progress receives the live progress line and messages.
	Progress io.Writer `json:"-"`
	// Interactive: rewrite the progress line in place with \r.
	Interactive bool `json:"-"`
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	res, err := run(ctx, cfg)
	interrupted := ctx.Err() != nil
	stop()
	killAllProcs() // normally nothing is left: each server is stopped after its cells
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	switch {
	case interrupted:
		os.Exit(130)
	case err != nil || res == nil || res.Failed():
		os.Exit(1)
	}
}

// parseFlags reads the command line into a Config, applying --short's
// defaults to the flags not given.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	systems := fs.String("systems", strings.Join(systemNames, ","), "systems to benchmark: "+strings.Join(systemNames, ","))
	wls := fs.String("workloads", strings.Join(workloadNames, ","), "workloads: "+strings.Join(workloadNames, ","))
	clients := fs.String("clients", "1,8,32,128", "client counts (concurrency sweep)")
	durs := fs.String("durability", "strict,relaxed", "durability levels: strict (fsync before reply), relaxed (about once a second / async commit)")
	duration := fs.Duration("duration", 5*time.Second, "measured time per cell")
	warmup := fs.Duration("warmup", time.Second, "unmeasured time before each cell")
	keys := fs.Int("keys", 100_000, "key space (also the number of counters)")
	valueSize := fs.Int("value-size", 64, "value size in bytes")
	maxOps := fs.Int64("max-ops", 100_000_000, "upper bound of operations per cell")
	sample := fs.Int("verify-sample", 2000, "keys read back after each cell")
	fsyncN := fs.Int("fsync-samples", 200, "fdatasyncs timed to describe the disk")
	seed := fs.Uint64("seed", 1, "random seed of the workers")
	out := fs.String("out", "", "directory for results.json, results.md and the SVG (default docs/bench-results; a new temp dir with --short)")
	doc := fs.String("doc", "", "report file (default docs/benchmarks-harness.md; OUT/benchmarks-harness.md with --short)")
	tmp := fs.String("tmpdir", os.TempDir(), "where the servers' temporary directories go (must be a real disk)")
	keep := fs.Bool("keep", false, "keep the servers' temporary directories")
	short := fs.Bool("short", false, "short mode: ~1 s cells, clients 1,8, 2,000 keys (CI)")
	order := fs.String("order", "interleaved", "interleaved: all systems up at once, cells alternate between them; sequential: one server at a time")
	repeat := fs.Int("repeat", 1, "run every cell this many times (in rounds) and report the median throughput")
	render := fs.String("render", "", "measure nothing: rewrite the report, tables and chart from this results.json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./bench [flags]\n\nBenchmarks memimg, Redis and PostgreSQL at matched durability. Flags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *short {
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("clients", func() { *clients = "1,8" })
		def("duration", func() { *duration = time.Second })
		def("warmup", func() { *warmup = 200 * time.Millisecond })
		def("keys", func() { *keys = 2000 })
		def("fsync-samples", func() { *fsyncN = 50 })
	}

	cfg := Config{
		Duration: *duration, Warmup: *warmup, Keys: *keys, ValueSize: *valueSize,
		MaxOps: *maxOps, VerifySample: *sample, FsyncSamples: *fsyncN, Seed: *seed,
		Short: *short, Order: *order, Repeat: *repeat, Out: *out, Doc: *doc, TmpDir: *tmp, Keep: *keep,
		Progress: os.Stderr, Interactive: isTerminal(os.Stderr), Render: *render,
	}
	var err error
	if cfg.Systems, err = parseNames(*systems, systemNames, "system"); err != nil {
		return cfg, err
	}
	if cfg.Workloads, err = parseNames(*wls, workloadNames, "workload"); err != nil {
		return cfg, err
	}
	ds, err := parseNames(*durs, []string{string(strict), string(relaxed)}, "durability")
	if err != nil {
		return cfg, err
	}
	for _, d := range ds {
		cfg.Durabilities = append(cfg.Durabilities, durability(d))
	}
	for _, c := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 || n > 4096 {
			return cfg, fmt.Errorf("--clients: %q is not a number from 1 to 4096", c)
		}
		if !slices.Contains(cfg.Clients, n) {
			cfg.Clients = append(cfg.Clients, n)
		}
	}
	slices.Sort(cfg.Clients)
	cfg.Command = "go run ./bench" + shellArgs(args)
	return cfg, cfg.validate()
}

// validate checks the limits the workloads rely on.
func (c *Config) validate() error {
	if c.Duration <= 0 {
		return errors.New("--duration must be positive")
	}
	if c.Warmup < 0 {
		return errors.New("--warmup must not be negative")
	}
	if c.ValueSize < minValueSize || c.ValueSize > 1<<20 {
		return fmt.Errorf("--value-size must be from %d to 1048576", minValueSize)
	}
	if len(c.Clients) == 0 {
		return errors.New("--clients is empty")
	}
	// Every client writes its own slice of the keys and needs a batch's
	// worth of distinct keys in it.
	if need := batchKeys * c.Clients[len(c.Clients)-1]; c.Keys < need {
		return fmt.Errorf("--keys must be at least %d (%d × the largest client count)", need, batchKeys)
	}
	if c.Repeat < 1 || c.Repeat > 100 {
		return errors.New("--repeat must be from 1 to 100")
	}
	if c.Order != "interleaved" && c.Order != "sequential" {
		return fmt.Errorf("--order must be interleaved or sequential, not %q", c.Order)
	}
	if c.MaxOps < 1 {
		return errors.New("--max-ops must be positive")
	}
	if c.VerifySample < 1 {
		return errors.New("--verify-sample must be positive")
	}
	return nil
}

// parseNames splits a comma-separated list and checks each name.
func parseNames(s string, valid []string, what string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(valid, n) {
			return nil, fmt.Errorf("unknown %s %q (one of %s)", what, n, strings.Join(valid, ","))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s given", what)
	}
	// Keep the canonical order, so tables and charts read the same way.
	slices.SortFunc(out, func(a, b string) int { return slices.Index(valid, a) - slices.Index(valid, b) })
	return out, nil
}

// shellArgs quotes args for a shell command line.
func shellArgs(args []string) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteByte(' ')
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:") == "" {
			b.WriteString(a)
		} else {
			b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
		}
	}
	return b.String()
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Results is everything one run measured; it is written as results.json.
type Results struct {
	Command  string      `json:"command"`
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished"`
	Config   Config      `json:"config"`
	Machine  Machine     `json:"machine"`
	Servers  []ServerRun `json:"servers"`
	// Skipped lists the systems that are not installed, with how to
	// install them.
	Skipped []string     `json:"skipped,omitempty"`
	Cells   []CellResult `json:"cells"`
	// Errors are failures outside any cell (a server that did not start).
	Errors []string `json:"errors,omitempty"`
}

// ServerRun is one server started for one durability level.
type ServerRun struct {
	System     string     `json:"system"`
	Durability durability `json:"durability"`
	Setting    string     `json:"setting"`
	Version    string     `json:"version"`
	PreloadSec float64    `json:"preload_seconds"`
	Error      string     `json:"error,omitempty"`
}

// Cell statuses.
const (
	statusOK          = "ok"
	statusFailed      = "FAILED"
	statusUnsupported = "unsupported"
)

// CellResult is one system × durability × workload × client count.
type CellResult struct {
	System     string     `json:"system"`
	Durability durability `json:"durability"`
	Setting    string     `json:"setting"`
	Workload   string     `json:"workload"`
	Clients    int        `json:"clients"`
	Status     string     `json:"status"`
	Note       string     `json:"note,omitempty"`

	Seconds   float64 `json:"seconds"`
	Ops       int64   `json:"ops"`
	OpsPerSec float64 `json:"ops_per_sec"`
	// KeysPerOp: an operation of tx writes 5 keys, of batch 10.
	KeysPerOp int     `json:"keys_per_op"`
	Latency   Latency `json:"latency"`

	CPUSeconds     float64 `json:"cpu_seconds"`
	CPUMicrosPerOp float64 `json:"cpu_us_per_op"`
	CPUCores       float64 `json:"cpu_cores"`
	PeakMemBytes   uint64  `json:"peak_mem_bytes"`
	// DiskBytes: /proc/PID/io write_bytes of the server's processes.
	DiskBytes      uint64  `json:"proc_write_bytes"`
	DiskBytesPerOp float64 `json:"proc_write_bytes_per_op"`
	// DeviceBytes: bytes written to the block device (every process on the
	// machine); -1 per op when there is no block device.
	DeviceBytes      uint64  `json:"device_write_bytes"`
	DeviceBytesPerOp float64 `json:"device_write_bytes_per_op"`
	// ClientCPUCores is the harness's own CPU use (the clients);
	// OtherCPUCores the rest of the machine's (neither server nor clients):
	// the noise. LoadAverage is the 1-minute load average at the end.
	ClientCPUCores float64 `json:"client_cpu_cores"`
	OtherCPUCores  float64 `json:"other_cpu_cores"`
	LoadAverage    float64 `json:"load_average"`
	Errors         int64   `json:"errors"`
	Verified       string  `json:"verified,omitempty"`
	// With --repeat: every repetition's throughput and p99 (µs); the other
	// fields are those of the median repetition.
	RepeatOpsPerSec []float64 `json:"repeat_ops_per_sec,omitempty"`
	RepeatP99       []float64 `json:"repeat_p99_us,omitempty"`
}

// Failed reports whether any cell failed or any server did not start.
func (r *Results) Failed() bool {
	if len(r.Errors) > 0 {
		return true
	}
	for _, c := range r.Cells {
		if c.Status == statusFailed {
			return true
		}
	}
	return false
}

// runner runs the cells and keeps the progress line.
type runner struct {
	cfg   Config
	res   *Results
	work  string
	total int // cells in the run
	done  int
	mu    sync.Mutex
}

// run runs the whole benchmark and writes its outputs.
func run(ctx context.Context, cfg Config) (*Results, error) {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.Root == "" {
		cfg.Root = moduleRoot()
	}
	if cfg.Out == "" {
		if cfg.Short || cfg.Root == "" {
			d, err := os.MkdirTemp("", "memimg-bench-out-*")
			if err != nil {
				return nil, err
			}
			cfg.Out = d
		} else {
			cfg.Out = filepath.Join(cfg.Root, "docs", "bench-results")
		}
	}
	if cfg.Doc == "" {
		if cfg.Short || cfg.Root == "" {
			cfg.Doc = filepath.Join(cfg.Out, "benchmarks-harness.md")
		} else {
			cfg.Doc = filepath.Join(cfg.Root, "docs", "benchmarks-harness.md")
		}
	}
	if cfg.Command == "" {
		cfg.Command = "go run ./bench (called from a test)"
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	if cfg.Render != "" {
		return renderFrom(cfg)
	}
	work, err := os.MkdirTemp(cfg.TmpDir, "memimg-bench-*")
	if err != nil {
		return nil, err
	}
	// The PostgreSQL cluster runs as another user, who must reach into it.
	if err := os.Chmod(work, 0o755); err != nil {
		return nil, err
	}
	if !cfg.Keep {
		defer os.RemoveAll(work)
	}

	res := &Results{Command: cfg.Command, Started: time.Now().UTC(), Config: cfg}
	r := &runner{cfg: cfg, res: res, work: work}
	r.logf("bench: work directory %s", work)

	res.Machine = describeMachine(work)
	res.Machine.GoVersion = goVersion()
	res.Machine.LoadAverage = loadAverage()
	if isMemoryFS(res.Machine.Filesystem) {
		r.logf("bench: WARNING: %s is on %s, where fsync costs nothing; use --tmpdir on a disk", work, res.Machine.Filesystem)
	}
	if fl, err := measureFsync(work, cfg.FsyncSamples); err != nil {
		r.logf("bench: fsync probe: %v", err)
	} else {
		res.Machine.Fsync = fl
		r.logf("bench: %d × (64-byte write + fdatasync) in %s: mean %.0f µs, p50 %.0f µs, p99 %.0f µs",
			fl.Samples, res.Machine.Filesystem, fl.MeanUS, fl.P50US, fl.P99US)
	}

	res.Machine.Device = deviceStat(work)
	if res.Machine.Device != "" {
		idle := 2 * time.Second
		if cfg.Short {
			idle = 500 * time.Millisecond
		}
		if bg, err := backgroundWrites(res.Machine.Device, idle); err == nil {
			res.Machine.Background = bg
			r.logf("bench: device %s: %s/s written by the machine with no server running", res.Machine.Device, fmtBytes(bg))
		}
	} else {
		r.logf("bench: no block device found under %s: device write figures are n/a", work)
	}

	var systems []system
	for _, s := range allSystems(cfg.Root) {
		if !slices.Contains(cfg.Systems, s.Name()) {
			continue
		}
		if err := s.Check(); err != nil {
			var miss *errMissing
			if errors.As(err, &miss) && !cfg.RequireAll {
				r.logf("bench: %s: skipped", miss.msg)
				res.Skipped = append(res.Skipped, miss.msg)
				continue
			}
			r.logf("bench: %v", err)
			res.Errors = append(res.Errors, err.Error())
			continue
		}
		if m, ok := s.(*memimgSystem); ok {
			r.logf("bench: building cmd/memimgd")
			if err := m.Build(work); err != nil {
				r.logf("bench: %v", err)
				res.Errors = append(res.Errors, err.Error())
				continue
			}
		}
		systems = append(systems, s)
	}
	r.total = len(systems) * len(cfg.Durabilities) * len(cfg.Workloads) * len(cfg.Clients) * cfg.Repeat

	for _, d := range cfg.Durabilities {
		if cfg.Order == "interleaved" {
			r.runGroup(ctx, systems, d)
			continue
		}
		for _, s := range systems {
			if ctx.Err() != nil {
				break
			}
			r.runGroup(ctx, []system{s}, d)
		}
	}
	res.Finished = time.Now().UTC()
	if ctx.Err() != nil {
		r.logf("bench: interrupted; writing what was measured")
	}
	if err := writeOutputs(res, cfg); err != nil {
		return res, err
	}
	r.logf("bench: wrote %s, %s", cfg.Doc, cfg.Out)
	if res.Failed() {
		r.logf("bench: FAILED: %d cell(s) failed, %d error(s)", countStatus(res, statusFailed), len(res.Errors))
	}
	return res, nil
}

// renderFrom rewrites the outputs from a results.json, measuring nothing.
func renderFrom(cfg Config) (*Results, error) {
	b, err := os.ReadFile(cfg.Render)
	if err != nil {
		return nil, err
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Render, err)
	}
	if err := writeOutputs(&res, cfg); err != nil {
		return &res, err
	}
	fmt.Fprintf(cfg.Progress, "bench: wrote %s, %s from %s\n", cfg.Doc, cfg.Out, cfg.Render)
	return &res, nil
}

func countStatus(res *Results, status string) int {
	n := 0
	for _, c := range res.Cells {
		if c.Status == status {
			n++
		}
	}
	return n
}

func goVersion() string {
	if v := commandOutput("", "go", "version"); v != "" {
		return v
	}
	return "unknown"
}

// logf prints a message on its own line (ending any progress line).
func (r *runner) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg.Interactive {
		fmt.Fprint(r.cfg.Progress, "\r\033[K")
	}
	fmt.Fprintf(r.cfg.Progress, format+"\n", args...)
}

// progress rewrites the live progress line.
func (r *runner) progress(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Not on a terminal (CI logs), the per-cell lines are enough.
	if r.cfg.Interactive {
		fmt.Fprintf(r.cfg.Progress, "\r\033[K%s", line)
	}
}

// liveServer is a started, preloaded server and the data it should hold.
type liveServer struct {
	srv server
	run ServerRun
	ds  *dataset
}

// startServer starts one system at one durability level and preloads it.
// On failure it records the error and marks the server's cells FAILED.
func (r *runner) startServer(ctx context.Context, s system, d durability) *liveServer {
	run := ServerRun{System: s.Name(), Durability: d, Setting: s.Setting(d)}
	fail := func(err error) *liveServer {
		run.Error = err.Error()
		r.res.Servers = append(r.res.Servers, run)
		r.res.Errors = append(r.res.Errors, fmt.Sprintf("%s %s: %v", s.Name(), d, err))
		r.logf("bench: %s (%s): %v", s.Name(), run.Setting, err)
		for _, wl := range r.cfg.Workloads {
			for _, c := range r.cfg.Clients {
				r.res.Cells = append(r.res.Cells, CellResult{System: s.Name(), Durability: d, Setting: run.Setting,
					Workload: wl, Clients: c, Status: statusFailed, Note: "server: " + firstLine(err.Error())})
				r.done++
			}
		}
		return nil
	}
	dir := filepath.Join(r.work, fmt.Sprintf("%s-%s", s.Name(), d))
	r.progress(fmt.Sprintf("starting %s (%s)", s.Name(), run.Setting))
	srv, err := s.Start(ctx, dir, d, r.cfg.Clients[len(r.cfg.Clients)-1])
	if err != nil {
		return fail(err)
	}
	run.Version = srv.Version()
	ds := newDataset(r.cfg.Keys, r.cfg.ValueSize)
	start := time.Now()
	r.progress(fmt.Sprintf("preloading %s: %d keys and %d counters", s.Name(), len(ds.keys), len(ds.counters)))
	if err := r.preload(ctx, srv, ds); err != nil {
		r.stopServer(srv)
		return fail(fmt.Errorf("preload: %w", err))
	}
	run.PreloadSec = time.Since(start).Seconds()
	r.res.Servers = append(r.res.Servers, run)
	return &liveServer{srv: srv, run: run, ds: ds}
}

func (r *runner) stopServer(srv server) {
	if err := srv.Stop(); err != nil {
		r.logf("bench: %v", err)
	}
}

// runGroup starts the systems at one durability level, runs every
// workload × client count against them and stops them. With several
// systems (--order interleaved) the cells alternate between the systems,
// in an order that rotates from cell to cell, so that each comparison is
// made within seconds and a machine whose other load changes over time
// disturbs every system alike.
func (r *runner) runGroup(ctx context.Context, systems []system, d durability) {
	var live []*liveServer
	defer func() {
		for _, ls := range live {
			r.stopServer(ls.srv)
		}
	}()
	for _, s := range systems {
		if ctx.Err() != nil {
			return
		}
		if ls := r.startServer(ctx, s, d); ls != nil {
			live = append(live, ls)
		}
	}
	if len(live) == 0 {
		return
	}
	// With --repeat, every round runs the whole sequence again, so the
	// repetitions of a cell are spread over the run, not back to back.
	k := 0
	var raw []CellResult
	defer func() { r.res.Cells = append(r.res.Cells, aggregate(raw)...) }()
	for round := 0; round < r.cfg.Repeat; round++ {
		for _, name := range r.cfg.Workloads {
			wl, _ := findWorkload(name)
			for _, c := range r.cfg.Clients {
				for i := range live {
					if ctx.Err() != nil {
						return
					}
					ls := live[(i+k)%len(live)]
					cell := r.runCell(ctx, ls.srv, ls.run, wl, c, ls.ds)
					r.done++
					raw = append(raw, cell)
					r.logf("%s", cellLine(r.done, r.total, cell))
				}
				k++
			}
		}
	}
}

// aggregate folds the repetitions of each cell into one: the repetition
// with the median throughput, with every repetition's throughput and p99
// kept; a cell is FAILED if any repetition failed.
func aggregate(raw []CellResult) []CellResult {
	type key struct {
		sys, wl string
		d       durability
		c       int
	}
	var order []key
	groups := map[key][]CellResult{}
	for _, c := range raw {
		k := key{c.System, c.Workload, c.Durability, c.Clients}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	var out []CellResult
	for _, k := range order {
		g := groups[k]
		if len(g) == 1 {
			out = append(out, g[0])
			continue
		}
		var pick *CellResult
		for i := range g {
			if g[i].Status != statusOK && (pick == nil || g[i].Status == statusFailed) {
				pick = &g[i]
				if g[i].Note != "" {
					pick.Note = fmt.Sprintf("repetition %d of %d: %s", i+1, len(g), g[i].Note)
				}
			}
		}
		if pick == nil {
			sorted := slices.Clone(g)
			slices.SortFunc(sorted, func(a, b CellResult) int { return cmpFloat(a.OpsPerSec, b.OpsPerSec) })
			m := sorted[len(sorted)/2]
			pick = &m
		}
		c := *pick
		for _, r := range g {
			c.RepeatOpsPerSec = append(c.RepeatOpsPerSec, r.OpsPerSec)
			c.RepeatP99 = append(c.RepeatP99, r.Latency.P99)
		}
		out = append(out, c)
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// preload writes the data set and checks it reads back.
func (r *runner) preload(ctx context.Context, srv server, ds *dataset) error {
	st, err := srv.Open(ctx, 4)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Load(ctx, ds.keys, ds.preloadValues(), ds.counters); err != nil {
		return err
	}
	if _, err := ds.verifyKeys(ctx, st, nil, r.cfg.VerifySample, rand.New(rand.NewPCG(r.cfg.Seed, 0))); err != nil {
		return err
	}
	return ds.verifyCounters(ctx, st)
}

// cellLine is the one-line summary printed after a cell.
func cellLine(done, total int, c CellResult) string {
	head := fmt.Sprintf("[%d/%d] %-8s %-7s %-6s c=%-4d", done, total, c.System, c.Durability, c.Workload, c.Clients)
	if c.Status != statusOK {
		return fmt.Sprintf("%s %s: %s", head, c.Status, c.Note)
	}
	return fmt.Sprintf("%s %10.0f ops/s  p50 %s  p99 %s  max %s  cpu %.1f µs/op  device %s/op  write_bytes %s/op",
		head, c.OpsPerSec, fmtUS(c.Latency.P50), fmtUS(c.Latency.P99), fmtUS(c.Latency.Max),
		c.CPUMicrosPerOp, fmtDev(c.DeviceBytesPerOp), fmtBytes(c.DiskBytesPerOp))
}

// runCell runs one workload at one client count and verifies the data.
func (r *runner) runCell(ctx context.Context, srv server, run ServerRun, wl workload, clients int, ds *dataset) CellResult {
	cell := CellResult{System: run.System, Durability: run.Durability, Setting: run.Setting,
		Workload: wl.Name, Clients: clients, KeysPerOp: wl.KeysPerOp, Status: statusOK}
	failed := func(format string, args ...any) CellResult {
		cell.Status = statusFailed
		cell.Note = fmt.Sprintf(format, args...)
		return cell
	}
	ds.cell++
	label := fmt.Sprintf("[%d/%d] %s %s %s c=%d", r.done+1, r.total, run.System, run.Durability, wl.Name, clients)

	if wl.Name == "tx" {
		if err := r.probeTx(ctx, srv, ds); err != nil {
			var unsup *errUnsupported
			if errors.As(err, &unsup) {
				cell.Status = statusUnsupported
				cell.Note = firstLine(unsup.err.Error())
				return cell
			}
			return failed("probe transaction: %v", firstLine(err.Error()))
		}
	}

	r.progress(label + " connecting")
	st, err := srv.Open(ctx, clients)
	if err != nil {
		return failed("connect %d clients: %v", clients, firstLine(err.Error()))
	}
	workers := make([]*worker, clients)
	for i := range workers {
		workers[i] = newWorker(i, clients, st, wl, ds, ds.cell, r.cfg.Seed+uint64(ds.cell)*7919)
	}
	perWorker := max(r.cfg.MaxOps/int64(clients), 1)
	tree := srv.Tree()
	// A single process's peak is the kernel's VmHWM; a tree's (PostgreSQL)
	// is sampled, once a second, as reading smaps_rollup of every backend
	// costs CPU the server would otherwise have.
	var sampler *memSampler
	if tree.children {
		sampler = startMemSampler(tree, time.Second)
	}

	start := time.Now()
	warmupEnd := start.Add(r.cfg.Warmup)
	deadline := warmupEnd.Add(r.cfg.Duration)
	opCtx, cancel := context.WithDeadline(ctx, deadline.Add(60*time.Second))
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(opCtx, warmupEnd, deadline, perWorker)
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	// The counters are read when the warm-up ends and when the last worker
	// is done; the progress line is redrawn meanwhile.
	var c0 procCounters
	var d0, m0, s0 uint64
	var t0 time.Time
	measuring := false
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	warm := time.NewTimer(time.Until(warmupEnd))
	defer warm.Stop()
	var lastOps int64
	lastT := start
	startMeasure := func() {
		measuring = true
		t0 = time.Now()
		c0, _ = tree.readCounters()
		d0, _ = deviceWrites(r.res.Machine.Device)
		m0, s0 = cpuTicks()
	}
	if r.cfg.Warmup == 0 {
		startMeasure()
	}
loop:
	for {
		select {
		case <-allDone:
			break loop
		case <-warm.C:
			if !measuring {
				startMeasure()
			}
		case now := <-tick.C:
			var ops int64
			for _, w := range workers {
				ops += w.ops.Load()
			}
			rate := float64(ops-lastOps) / now.Sub(lastT).Seconds()
			lastOps, lastT = ops, now
			phase := "warm-up"
			if measuring {
				phase = fmt.Sprintf("%.1fs/%.1fs", now.Sub(warmupEnd).Seconds(), r.cfg.Duration.Seconds())
			}
			r.progress(fmt.Sprintf("%s %s  %d ops  %.0f ops/s", label, phase, ops, rate))
		}
	}
	if !measuring { // every worker stopped during the warm-up
		startMeasure()
	}
	tEnd := time.Now()
	c1, cerr := tree.readCounters()
	d1, derr := deviceWrites(r.res.Machine.Device)
	m1, s1 := cpuTicks()
	cell.LoadAverage = loadAverage()
	var peak uint64
	if sampler != nil {
		peak = sampler.Stop()
	} else {
		peak = tree.peakMemory()
	}
	st.Close()

	hist := newHistogram()
	for _, w := range workers {
		hist.Merge(w.hist)
		cell.Ops += w.measured
		cell.Errors += w.errors
	}
	cell.Seconds = tEnd.Sub(t0).Seconds()
	if cell.Seconds > 0 {
		cell.OpsPerSec = float64(cell.Ops) / cell.Seconds
	}
	cell.Latency = summarize(hist)
	if cerr == nil && c1.cpuTicks >= c0.cpuTicks {
		cell.CPUSeconds = float64(c1.cpuTicks-c0.cpuTicks) / clockTicks
		cell.DiskBytes = c1.writeBytes - c0.writeBytes
		if cell.Seconds > 0 {
			cell.CPUCores = cell.CPUSeconds / cell.Seconds
			client := float64(s1-s0) / clockTicks
			cell.ClientCPUCores = client / cell.Seconds
			if other := float64(m1-m0)/clockTicks - cell.CPUSeconds - client; other > 0 {
				cell.OtherCPUCores = other / cell.Seconds
			}
		}
		if cell.Ops > 0 {
			cell.CPUMicrosPerOp = cell.CPUSeconds * 1e6 / float64(cell.Ops)
			cell.DiskBytesPerOp = float64(cell.DiskBytes) / float64(cell.Ops)
		}
	}
	cell.PeakMemBytes = peak
	cell.DeviceBytesPerOp = -1
	if derr == nil && d1 >= d0 {
		cell.DeviceBytes = d1 - d0
		if cell.Ops > 0 {
			cell.DeviceBytesPerOp = float64(cell.DeviceBytes) / float64(cell.Ops)
		}
	}

	if ctx.Err() != nil {
		return failed("interrupted")
	}
	for _, w := range workers {
		if w.unsupported != nil {
			cell.Status = statusUnsupported
			cell.Note = firstLine(w.unsupported.Error())
		}
	}

	// Verification: what the workers were told is what the server holds.
	r.progress(label + " verifying")
	written := ds.merge(workers)
	vst, err := srv.Open(ctx, 4)
	if err != nil {
		return failed("verify: connect: %v", firstLine(err.Error()))
	}
	defer vst.Close()
	var problems []string
	if cell.Errors > 0 {
		var first error
		for _, w := range workers {
			if w.firstErr != nil {
				first = w.firstErr
				break
			}
		}
		problems = append(problems, fmt.Sprintf("%d operations failed, first: %v", cell.Errors, firstLine(first.Error())))
	}
	var bad int64
	var badRead string
	for _, w := range workers {
		bad += w.badReads
		if badRead == "" {
			badRead = w.badRead
		}
	}
	if bad > 0 {
		problems = append(problems, fmt.Sprintf("%d reads returned a missing or malformed value, e.g. %s", bad, badRead))
	}
	if cell.Ops == 0 && cell.Status == statusOK {
		problems = append(problems, noOpsNote)
	}
	checked, err := ds.verifyKeys(ctx, vst, written, r.cfg.VerifySample,
		rand.New(rand.NewPCG(r.cfg.Seed, uint64(ds.cell))))
	if err != nil {
		problems = append(problems, err.Error())
	}
	cell.Verified = fmt.Sprintf("%d keys read back", checked)
	if wl.Name == "incr" {
		var acked int64
		for _, w := range workers {
			acked += w.incrAcked
		}
		if err := ds.verifyCounters(ctx, vst); err != nil {
			problems = append(problems, err.Error())
		} else {
			cell.Verified += fmt.Sprintf("; counters sum to %d (%d increments acknowledged in this cell)", ds.counterSum, acked)
		}
	}
	if len(problems) > 0 {
		return failed("%s", strings.Join(problems, "; "))
	}
	return cell
}

// probeTx tries one transaction on a connection of its own (a client that
// met an unknown MULTI may have unread replies on its connection). It
// writes the values the keys already hold, so it changes nothing whether
// the server applies it, applies part of it or refuses it.
func (r *runner) probeTx(ctx context.Context, srv server, ds *dataset) error {
	st, err := srv.Open(ctx, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	var keys, vals []string
	var buf []byte
	for i := 0; i < len(ds.keys) && len(keys) < txKeys; i++ {
		if ds.expect[i].unsure {
			continue
		}
		buf = ds.value(buf, ds.expect[i])
		keys = append(keys, ds.keys[i])
		vals = append(vals, string(buf))
	}
	return st.Tx(ctx, keys, vals)
}

// noOpsNote is the note of a cell in whose measured window no operation
// started (the server or the machine stalled for longer than the window).
const noOpsNote = "no operation started in the measured time"

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
