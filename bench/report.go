package main

// report.go: the outputs of a run. In --out DIR: results.json (everything
// measured), results.md (the tables) and throughput-vs-p99.svg (one panel
// per workload: throughput against p99 latency, one curve per system and
// durability across the client counts, drawn by hand so it needs no
// plotting library and renders on GitHub). The report (--doc, by default
// docs/benchmarks-harness.md) has the machine, the command line, the
// headline figures, the chart, the tables and the method.

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const (
	jsonFile = "results.json"
	mdFile   = "results.md"
	svgFile  = "throughput-vs-p99.svg"
)

// writeOutputs writes results.json, results.md and the SVG into cfg.Out
// and the report into cfg.Doc.
func writeOutputs(res *Results, cfg Config) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, jsonFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, mdFile), []byte(resultTables(res)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, svgFile), chartSVG(res), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Doc), 0o755); err != nil {
		return err
	}
	return os.WriteFile(cfg.Doc, []byte(reportDoc(res, cfg)), 0o644)
}

// --- formatting ---

func fmtUS(us float64) string {
	switch {
	case us >= 10_000:
		return fmt.Sprintf("%.0f ms", us/1000)
	case us >= 1000:
		return fmt.Sprintf("%.1f ms", us/1000)
	default:
		return fmt.Sprintf("%.0f µs", us)
	}
}

// fmtNum prints n with thousands separators.
func fmtNum(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtBytes(n float64) string {
	switch {
	case n >= 10*1024*1024:
		return fmt.Sprintf("%.0f MiB", n/(1024*1024))
	case n >= 10*1024:
		return fmt.Sprintf("%.0f KiB", n/1024)
	default:
		return fmt.Sprintf("%.0f B", n)
	}
}

// fmtDev prints device bytes per op, "n/a" when unknown (negative).
func fmtDev(n float64) string {
	if n < 0 {
		return "n/a"
	}
	return fmtBytes(n)
}

func fmtRatio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "–"
	}
	r := a / b
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

var systemTitles = map[string]string{"memimg": "memimg", "redis": "Redis", "postgres": "PostgreSQL"}

func systemTitle(s string) string {
	if t, ok := systemTitles[s]; ok {
		return t
	}
	return s
}

// durabilityTitle explains a durability level in a few words.
func durabilityTitle(d durability) string {
	if d == strict {
		return "strict: on disk (fsync) before the reply"
	}
	return "relaxed: fsync about once a second / asynchronous commit"
}

// --- tables ---

// cellsFor returns the cells of a workload in table order: durability,
// system, clients.
func cellsFor(res *Results, wl string) []CellResult {
	var cs []CellResult
	for _, c := range res.Cells {
		if c.Workload == wl {
			cs = append(cs, c)
		}
	}
	order := func(c CellResult) (int, int) {
		d := 0
		if c.Durability == relaxed {
			d = 1
		}
		return d, slices.Index(systemNames, c.System)
	}
	slices.SortStableFunc(cs, func(a, b CellResult) int {
		ad, as := order(a)
		bd, bs := order(b)
		if ad != bd {
			return ad - bd
		}
		if as != bs {
			return as - bs
		}
		return a.Clients - b.Clients
	})
	return cs
}

// resultTables renders one Markdown table per workload.
func resultTables(res *Results) string {
	var b strings.Builder
	for _, name := range res.Config.Workloads {
		wl, _ := findWorkload(name)
		cs := cellsFor(res, name)
		if len(cs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "### %s (`%s`)\n\n", wl.Title, wl.Name)
		fmt.Fprintf(&b, "memimg and Redis: `%s`; PostgreSQL: `%s`.", wl.Redis, wl.Postgres)
		if wl.KeysPerOp > 1 {
			fmt.Fprintf(&b, " One operation writes %d keys.", wl.KeysPerOp)
		}
		b.WriteString(" Durability is stated on every row.\n\n")
		b.WriteString("| system | durability | clients | ops/s | p50 | p95 | p99 | p99.9 | max | CPU µs/op | CPU cores | client / other CPU | peak mem | device writes/op | write_bytes/op | check |\n")
		b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
		for _, c := range cs {
			dur := fmt.Sprintf("%s (`%s`)", c.Durability, c.Setting)
			if c.Status != statusOK {
				status := c.Status
				if c.Status == statusFailed {
					status = "**FAILED**"
				}
				fmt.Fprintf(&b, "| %s | %s | %d | %s | | | | | | | | | | | | %s |\n",
					systemTitle(c.System), dur, c.Clients, status, mdEscape(c.Note))
				continue
			}
			l := c.Latency
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %.1f | %.2f | %.2f / %.2f | %s | %s | %s | ok |\n",
				systemTitle(c.System), dur, c.Clients, fmtOps(c),
				fmtUS(l.P50), fmtUS(l.P95), fmtUS(l.P99), fmtUS(l.P999), fmtUS(l.Max),
				c.CPUMicrosPerOp, c.CPUCores, c.ClientCPUCores, c.OtherCPUCores, fmtBytes(float64(c.PeakMemBytes)),
				fmtDev(c.DeviceBytesPerOp), fmtBytes(c.DiskBytesPerOp))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// fmtOps prints a cell's throughput, with the range over its repetitions.
func fmtOps(c CellResult) string {
	if len(c.RepeatOpsPerSec) < 2 {
		return fmtNum(c.OpsPerSec)
	}
	lo, hi := slices.Min(c.RepeatOpsPerSec), slices.Max(c.RepeatOpsPerSec)
	return fmt.Sprintf("%s (%s–%s)", fmtNum(c.OpsPerSec), fmtNum(lo), fmtNum(hi))
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	return s
}

// headlineClients is the client count of the summary: 32 if it was run,
// else the largest.
func headlineClients(res *Results) int {
	if slices.Contains(res.Config.Clients, 32) {
		return 32
	}
	if n := len(res.Config.Clients); n > 0 {
		return res.Config.Clients[n-1]
	}
	return 0
}

func findCell(res *Results, sys string, d durability, wl string, clients int) (CellResult, bool) {
	for _, c := range res.Cells {
		if c.System == sys && c.Durability == d && c.Workload == wl && c.Clients == clients {
			return c, c.Status == statusOK
		}
	}
	return CellResult{}, false
}

// summaryTables renders, per durability, every workload's throughput and
// p99 at the headline client count, with memimg's ratios to the others.
func summaryTables(res *Results) string {
	n := headlineClients(res)
	var b strings.Builder
	for _, d := range res.Config.Durabilities {
		var syss []string
		for _, s := range systemNames {
			for _, c := range res.Cells {
				if c.System == s && c.Durability == d {
					syss = append(syss, s)
					break
				}
			}
		}
		if len(syss) == 0 {
			continue
		}
		var settings []string
		for _, s := range syss {
			settings = append(settings, fmt.Sprintf("%s `%s`", systemTitle(s), settingOf(res, s, d)))
		}
		fmt.Fprintf(&b, "**%s**, %d clients: %s.", durabilityTitle(d), n, strings.Join(settings, ", "))
		b.WriteString("\n\n| workload |")
		for _, s := range syss {
			fmt.Fprintf(&b, " %s ops/s | %s p99 |", systemTitle(s), systemTitle(s))
		}
		others := slices.DeleteFunc(slices.Clone(syss), func(s string) bool { return s == "memimg" })
		hasMemimg := slices.Contains(syss, "memimg")
		if hasMemimg {
			for _, o := range others {
				fmt.Fprintf(&b, " memimg ÷ %s |", systemTitle(o))
			}
		}
		b.WriteString("\n|---|")
		for range syss {
			b.WriteString("--:|--:|")
		}
		if hasMemimg {
			for range others {
				b.WriteString("--:|")
			}
		}
		b.WriteString("\n")
		for _, name := range res.Config.Workloads {
			wl, _ := findWorkload(name)
			fmt.Fprintf(&b, "| %s |", wl.Title)
			for _, s := range syss {
				c, ok := findCell(res, s, d, name, n)
				switch {
				case ok:
					fmt.Fprintf(&b, " %s | %s |", fmtNum(c.OpsPerSec), fmtUS(c.Latency.P99))
				case c.Status != "":
					fmt.Fprintf(&b, " %s | |", c.Status)
				default:
					b.WriteString(" – | |")
				}
			}
			if hasMemimg {
				m, mok := findCell(res, "memimg", d, name, n)
				for _, o := range others {
					c, ok := findCell(res, o, d, name, n)
					if mok && ok {
						fmt.Fprintf(&b, " %s |", fmtRatio(m.OpsPerSec, c.OpsPerSec))
					} else {
						b.WriteString(" – |")
					}
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func settingOf(res *Results, sys string, d durability) string {
	for _, c := range res.Cells {
		if c.System == sys && c.Durability == d {
			return c.Setting
		}
	}
	return ""
}

// headline states the figures the issue asks for in sentences: memimg
// against PostgreSQL and Redis on writes and reads at the headline client
// count, strict durability.
func headline(res *Results) string {
	n := headlineClients(res)
	var lines []string
	mw, mwok := findCell(res, "memimg", strict, "write", n)
	if mwok {
		for _, o := range []string{"postgres", "redis"} {
			c, ok := findCell(res, o, strict, "write", n)
			if !ok {
				continue
			}
			lines = append(lines, fmt.Sprintf("- Point writes, strict durability, %d clients: memimg %s ops/s vs %s (`%s`) %s ops/s: **%s**; p99 %s vs %s (memimg's p99 is %s of %s's).",
				n, fmtNum(mw.OpsPerSec), systemTitle(o), c.Setting, fmtNum(c.OpsPerSec), fmtRatio(mw.OpsPerSec, c.OpsPerSec),
				fmtUS(mw.Latency.P99), fmtUS(c.Latency.P99), fmtRatio(mw.Latency.P99, c.Latency.P99), systemTitle(o)))
		}
	}
	if mr, ok := findCell(res, "memimg", strict, "read", n); ok {
		for _, o := range []string{"postgres", "redis"} {
			c, ok := findCell(res, o, strict, "read", n)
			if !ok {
				continue
			}
			lines = append(lines, fmt.Sprintf("- Point reads, %d clients: memimg %s ops/s vs %s %s ops/s: **%s**; p99 %s vs %s.",
				n, fmtNum(mr.OpsPerSec), systemTitle(o), fmtNum(c.OpsPerSec), fmtRatio(mr.OpsPerSec, c.OpsPerSec),
				fmtUS(mr.Latency.P99), fmtUS(c.Latency.P99)))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// --- the report ---

func reportDoc(res *Results, cfg Config) string {
	var b strings.Builder
	rel := func(p string) string {
		if r, err := filepath.Rel(filepath.Dir(cfg.Doc), p); err == nil {
			return filepath.ToSlash(r)
		}
		return p
	}
	m := res.Machine
	b.WriteString("# Benchmarks: memimg, Redis and PostgreSQL (the bench/ harness)\n\n")
	fmt.Fprintf(&b, "Written by `go run ./bench` on %s (the run took %s); rerun it rather than editing this page.\n",
		res.Started.Format("2006-01-02 15:04 UTC"), res.Finished.Sub(res.Started).Round(time.Second))
	b.WriteString("Other measurements (redis-benchmark, memory) are in [benchmarks.md](benchmarks.md).\n\n")
	if res.Config.Short {
		b.WriteString("> **Short mode** (`--short`): cells of about a second with a small key space. These figures prove the harness works; they are not measurements to quote.\n\n")
	}
	if res.Failed() {
		b.WriteString("> **This run FAILED**: see the cells marked FAILED and the errors at the end.\n\n")
	}
	b.WriteString("## Command\n\n```sh\n" + res.Command + "\n```\n\n")
	order := "one server at a time"
	if res.Config.Order == "interleaved" {
		order = "the systems of a durability level run side by side and the cells alternate between them"
	}
	if res.Config.Repeat > 1 {
		order += fmt.Sprintf("; every cell ran %d times, in rounds, and the repetition with the median throughput is shown (the range in brackets)", res.Config.Repeat)
	}
	fmt.Fprintf(&b, "Per cell: %s warm-up, then %s measured; key space %s keys and %s counters, %d-byte values, preloaded before timing; %d keys read back after each cell; %s.\n\n",
		res.Config.Warmup, res.Config.Duration, fmtNum(float64(res.Config.Keys)), fmtNum(float64(res.Config.Keys)),
		res.Config.ValueSize, res.Config.VerifySample, order)

	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- CPU: %s, %d cores (the clients and the server share them)\n", orUnknown(m.CPUModel), m.Cores)
	fmt.Fprintf(&b, "- Memory: %s MiB\n", fmtNum(float64(m.MemoryMiB)))
	fmt.Fprintf(&b, "- Kernel: %s; OS: %s\n", orUnknown(m.Kernel), orUnknown(m.OS))
	fmt.Fprintf(&b, "- Disk: the servers' directories are on %s\n", orUnknown(m.Filesystem))
	if m.Fsync.Samples > 0 {
		fmt.Fprintf(&b, "- fsync: %d × (64-byte write + fdatasync) in the temporary directory: mean %.0f µs, p50 %.0f µs, p99 %.0f µs, max %.0f µs\n",
			m.Fsync.Samples, m.Fsync.MeanUS, m.Fsync.P50US, m.Fsync.P99US, m.Fsync.MaxUS)
	}
	if m.Device != "" {
		fmt.Fprintf(&b, "- Device writes: counted from %s; with no server running the machine wrote %s/s (noise in the *device writes/op* column)\n",
			m.Device, fmtBytes(m.Background))
	}
	fmt.Fprintf(&b, "- Load: 1-minute load average %.1f when the run started%s\n", m.LoadAverage, noiseSummary(res))
	fmt.Fprintf(&b, "- Go: %s\n\n", m.GoVersion)

	b.WriteString("## Systems\n\n| system | durability | setting | version | preload |\n|---|---|---|---|--:|\n")
	for _, s := range res.Servers {
		pre := fmt.Sprintf("%.1f s", s.PreloadSec)
		if s.Error != "" {
			pre = "did not start: " + mdEscape(firstLine(s.Error))
		}
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s |\n", systemTitle(s.System), s.Durability, s.Setting, mdEscape(s.Version), pre)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(&b, "\nSkipped: %s\n", s)
	}
	b.WriteString("\n")

	b.WriteString("## Headline\n\n")
	if h := headline(res); h != "" {
		b.WriteString(h + "\n")
	}
	b.WriteString(summaryTables(res))

	b.WriteString("## Throughput against p99 latency\n\n")
	b.WriteString("One panel per workload; each curve is one system at one durability level across the client counts (the numbers by the points), both axes logarithmic. Down and to the right is better. Solid: strict durability; dashed: relaxed.\n\n")
	fmt.Fprintf(&b, "![throughput against p99 latency](%s)\n\n", rel(filepath.Join(cfg.Out, svgFile)))

	b.WriteString("## All results\n\n")
	b.WriteString("Latencies are per operation as the client sees it (from sending to the reply). *CPU µs/op* and *CPU cores* are the server's CPU time (all its processes), *client / other CPU* the cores used by the harness's clients and by every other process on the machine (the noise: other work shares the cores), *peak mem* the server's resident memory, *device writes/op* the bytes the disk wrote per operation (block device counters, the real I/O), *write_bytes/op* what the kernel charged the server's processes (`/proc/PID/io`; inflated for PostgreSQL, see the method). *check* is the verification after the cell.\n\n")
	b.WriteString(resultTables(res))
	fmt.Fprintf(&b, "Raw results (every percentile, every field): [%s](%s).\n\n", rel(filepath.Join(cfg.Out, jsonFile)), rel(filepath.Join(cfg.Out, jsonFile)))

	b.WriteString(methodText)

	if len(res.Errors) > 0 {
		b.WriteString("\n## Errors\n\n")
		for _, e := range res.Errors {
			fmt.Fprintf(&b, "- %s\n", mdEscape(firstLine(e)))
		}
	}
	return b.String()
}

// noiseSummary states how much CPU other processes took during the cells.
func noiseSummary(res *Results) string {
	var sum, peak float64
	n := 0
	for _, c := range res.Cells {
		if c.Status != statusOK {
			continue
		}
		sum += c.OtherCPUCores
		peak = max(peak, c.OtherCPUCores)
		n++
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; other processes used %.2f cores on average during the cells (at most %.2f)", sum/float64(n), peak)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

const methodText = "## Method\n\n" +
	"The harness (`bench/`, run as `go run ./bench`) starts every system itself, on 127.0.0.1 on a port chosen at run time, in a fresh temporary directory, and stops it by its PID afterwards: " +
	"`memimgd` built from this repository (`go build ./cmd/memimgd`), Debian's `redis-server`, and a temporary PostgreSQL cluster made with `initdb` and run as `postgres -D ...` directly (as the `postgres` user when the harness runs as root), so the harness holds the postmaster's PID. A system that is not installed is skipped with the command that installs it.\n\n" +
	"**Durability is matched.** *strict*: memimg `--appendfsync always`, Redis `appendonly yes` + `appendfsync always`, PostgreSQL `synchronous_commit=on` (fsync on): a client hears OK only once its write is on disk. *relaxed*: memimg and Redis `appendfsync everysec`, PostgreSQL `synchronous_commit=off`: a machine crash can lose about the last second. Each (system, durability) pair gets a freshly started server. By default (`--order interleaved`) the servers of one durability level run side by side and the cells alternate between the systems (write at 1 client on each system, then at 8, ...), starting with a different system each time, so every comparison is made within seconds of itself and a machine whose other load changes over time disturbs each system alike; the price is that an idle server's background work (PostgreSQL's checkpointer and autovacuum, the once-a-second fsync of the relaxed modes) can fall into another system's cell. `--order sequential` runs one server at a time. Redis runs with `save \"\"` (no RDB snapshots) and `auto-aof-rewrite-percentage 0` (no AOF rewrite in the middle of a cell); PostgreSQL with its defaults otherwise (128MB shared_buffers, full_page_writes on, checkpoints as configured).\n\n" +
	"**Clients.** Each cell runs N client goroutines in a closed loop (the next operation starts when the previous reply arrives) over a pool of exactly N connections: one go-redis v9 client with `PoolSize` N (RESP3, retries off) for memimg and Redis; a pgx v5 `pgxpool` with N connections and every statement prepared on each connection for PostgreSQL. Each client writes only its own slice of the key space (key index ≡ client (mod N)) so the value a key must hold is known; reads and increments pick keys uniformly from the whole key space.\n\n" +
	"**Workloads.** point write (`SET` / `INSERT .. ON CONFLICT (k) DO UPDATE`), point read (`GET` / `SELECT v FROM kv WHERE k = $1`), 90/10 read/write mix, counter increment (`INCR` / `UPDATE counters SET v = v + 1`), a transaction of 5 writes (`MULTI`, 5 × `SET`, `EXEC` in one round trip / a `pgx.Batch` of 5 upserts, which PostgreSQL runs as one implicit transaction, also one round trip), and a batch of 10 writes (a pipeline of 10 `SET` / one 10-row upsert). A server that does not implement an operation (memimg before it had MULTI/EXEC) is detected by one probe transaction, which writes the values the keys already hold, and the cell is marked *unsupported*. The data set (keys and counters) is preloaded before timing with pipelined `MSET`s / `COPY`, then PostgreSQL is vacuumed, analyzed and checkpointed.\n\n" +
	"**Measures.** Throughput is the operations that started after the warm-up divided by the time from the end of the warm-up to the last reply. Latency is an HDR histogram (1 µs to 60 s, 3 significant digits) per client, merged; it is closed-loop service time (no correction for coordinated omission). " +
	"CPU is `utime+stime` from `/proc/PID/stat` over the measured window; for PostgreSQL the postmaster's own time plus `cutime+cstime` (its exited children) plus every live child's. " +
	"Bytes written are measured two ways over the window. *device writes/op*: the sectors written to the block device that holds the servers' directories (`/sys/dev/block/MAJ:MIN/stat`): what the disk really did, file-system journal included, but for every process on the machine, so it is only as clean as the machine is quiet (the background rate measured before the run is given above). *write_bytes/op*: `write_bytes` of `/proc/PID/io`, what the kernel charged the server's processes for dirtying the page cache; for PostgreSQL the postmaster's (which includes its exited children: the kernel adds a reaped child's counters to its parent) plus every live child's (backends, WAL writer, checkpointer, background writer, autovacuum). On kernels with large page-cache folios the charge is per folio: a small overwrite inside a file that was written in big chunks, as PostgreSQL's zero-filled 16 MB WAL segments are, and as memimg's log is (it writes zeros up to 1 MiB ahead of its records), is charged up to 2 MB while the device writes 4 KB (measured on this kind of machine: 64-byte overwrite + fdatasync in a pre-filled file, 2 MiB charged, 4 KiB written). Appending, as Redis does, is charged per page. So compare systems on *device writes/op*. Bytes a checkpoint writes later for this cell's changes may fall into a later cell. " +
	"Peak memory is `VmHWM` of `/proc/PID/status` (peak resident set since start) for memimg and Redis; for PostgreSQL, whose processes share memory, the largest sum of `Pss` over its processes (`/proc/PID/smaps_rollup`), sampled every second in the cell and at its end.\n\n" +
	"**Verification.** A fast wrong run cannot pass: every read must return a present, well-formed value; after each cell the harness reads back a sample of keys (half from those the cell wrote) and compares each with the last write the server acknowledged to its only writer; after an increment cell the counters must sum to the acknowledged increments. Any mismatch, or any failed operation, marks the cell **FAILED** and the harness exits non-zero.\n\n" +
	"**Limits.** The clients run on the same cores as the server (loopback), so with many clients the Go client's own CPU competes with the server; compare systems at the same client count, not absolute figures across machines. Results depend on the disk's fsync latency, measured above.\n"

// --- the chart ---

var systemColors = map[string]string{"memimg": "#1f6feb", "redis": "#d1242f", "postgres": "#1a7f37"}

func colorOf(sys string) string {
	if c, ok := systemColors[sys]; ok {
		return c
	}
	return "#6e7781"
}

// chartSVG draws one log-log panel per workload: x throughput (ops/s),
// y p99 latency, one polyline per system × durability through its client
// counts.
func chartSVG(res *Results) []byte {
	const (
		panelW, panelH = 470, 320
		cols           = 2
		legendH        = 56
		ml, mr, mt, mb = 64, 16, 30, 44 // panel margins
	)
	wls := res.Config.Workloads
	rows := (len(wls) + cols - 1) / cols
	if rows == 0 {
		rows = 1
	}
	W, H := cols*panelW, legendH+rows*panelH
	var b bytes.Buffer
	esc := func(s string) string {
		var e bytes.Buffer
		_ = xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="11">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", W, H)
	title := fmt.Sprintf("Throughput vs p99 latency, clients %s", joinInts(res.Config.Clients))
	fmt.Fprintf(&b, `<text x="12" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", esc(title))

	// Legend: one entry per system present, plus the line styles.
	var syss []string
	for _, s := range systemNames {
		for _, c := range res.Cells {
			if c.System == s {
				syss = append(syss, s)
				break
			}
		}
	}
	x := 12
	for _, s := range syss {
		fmt.Fprintf(&b, `<line x1="%d" y1="40" x2="%d" y2="40" stroke="%s" stroke-width="2.5"/><text x="%d" y="44">%s</text>`+"\n",
			x, x+22, colorOf(s), x+28, esc(systemTitle(s)))
		x += 40 + 8*len(systemTitle(s))
	}
	x += 12
	fmt.Fprintf(&b, `<line x1="%d" y1="40" x2="%d" y2="40" stroke="#333" stroke-width="2"/><text x="%d" y="44">strict (fsync before reply)</text>`+"\n", x, x+22, x+28)
	x += 200
	fmt.Fprintf(&b, `<line x1="%d" y1="40" x2="%d" y2="40" stroke="#333" stroke-width="2" stroke-dasharray="6,4"/><text x="%d" y="44">relaxed (~1 s)</text>`+"\n", x, x+22, x+28)

	for i, name := range wls {
		wl, _ := findWorkload(name)
		px := (i % cols) * panelW
		py := legendH + (i/cols)*panelH
		x0, y0 := float64(px+ml), float64(py+mt)
		pw, ph := float64(panelW-ml-mr), float64(panelH-mt-mb)
		fmt.Fprintf(&b, `<g><text x="%.0f" y="%d" font-size="12" font-weight="bold">%s</text>`+"\n", x0, py+20, esc(wl.Title))

		type pt struct {
			x, y float64
			c    int
		}
		type series struct {
			sys string
			d   durability
			pts []pt
		}
		var ss []series
		minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, d := range res.Config.Durabilities {
			for _, s := range syss {
				var pts []pt
				for _, c := range cellsFor(res, name) {
					if c.System != s || c.Durability != d || c.Status != statusOK || c.OpsPerSec <= 0 || c.Latency.P99 <= 0 {
						continue
					}
					p := pt{c.OpsPerSec, c.Latency.P99, c.Clients}
					pts = append(pts, p)
					minX, maxX = math.Min(minX, p.x), math.Max(maxX, p.x)
					minY, maxY = math.Min(minY, p.y), math.Max(maxY, p.y)
				}
				if len(pts) > 0 {
					ss = append(ss, series{s, d, pts})
				}
			}
		}
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#d0d7de"/>`+"\n", x0, y0, pw, ph)
		if len(ss) == 0 {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle" fill="#6e7781">no data (unsupported or not run)</text></g>`+"\n", x0+pw/2, y0+ph/2)
			continue
		}
		lx0, lx1 := math.Floor(math.Log10(minX)), math.Ceil(math.Log10(maxX))
		ly0, ly1 := math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
		if lx1 == lx0 {
			lx1++
		}
		if ly1 == ly0 {
			ly1++
		}
		sx := func(v float64) float64 { return x0 + (math.Log10(v)-lx0)/(lx1-lx0)*pw }
		sy := func(v float64) float64 { return y0 + ph - (math.Log10(v)-ly0)/(ly1-ly0)*ph }
		// Grid: decades labelled, 2 and 5 as light lines.
		for e := lx0; e <= lx1; e++ {
			for _, m := range []float64{1, 2, 5} {
				v := m * math.Pow(10, e)
				if math.Log10(v) > lx1+1e-9 {
					continue
				}
				gx := sx(v)
				stroke := "#eaeef2"
				if m == 1 {
					stroke = "#d0d7de"
					fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#57606a">%s</text>`+"\n", gx, y0+ph+14, esc(siLabel(v)))
				}
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", gx, y0, gx, y0+ph, stroke)
			}
		}
		for e := ly0; e <= ly1; e++ {
			for _, m := range []float64{1, 2, 5} {
				v := m * math.Pow(10, e)
				if math.Log10(v) > ly1+1e-9 {
					continue
				}
				gy := sy(v)
				stroke := "#eaeef2"
				if m == 1 {
					stroke = "#d0d7de"
					fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#57606a">%s</text>`+"\n", x0-5, gy+4, esc(axisUS(v)))
				}
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x0, gy, x0+pw, gy, stroke)
			}
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#24292f">throughput (ops/s)</text>`+"\n", x0+pw/2, y0+ph+32)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#24292f" transform="rotate(-90 %.1f %.1f)">p99 latency</text>`+"\n",
			float64(px+14), y0+ph/2, float64(px+14), y0+ph/2)
		for _, s := range ss {
			dash := ""
			if s.d == relaxed {
				dash = ` stroke-dasharray="6,4"`
			}
			var pts []string
			for _, p := range s.pts {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(p.x), sy(p.y)))
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s><title>%s</title></polyline>`+"\n",
				strings.Join(pts, " "), colorOf(s.sys), dash, esc(systemTitle(s.sys)+" "+string(s.d)))
			for _, p := range s.pts {
				fill := colorOf(s.sys)
				if s.d == relaxed {
					fill = "#ffffff"
				}
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s" stroke="%s" stroke-width="1.5"><title>%s</title></circle>`+"\n",
					sx(p.x), sy(p.y), fill, colorOf(s.sys),
					esc(fmt.Sprintf("%s %s, %d clients: %s ops/s, p99 %s", systemTitle(s.sys), s.d, p.c, fmtNum(p.x), fmtUS(p.y))))
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="9" fill="%s">%d</text>`+"\n", sx(p.x)+5, sy(p.y)-5, colorOf(s.sys), p.c)
			}
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// axisUS labels a latency axis: 10 µs, 1 ms, 1 s.
func axisUS(us float64) string {
	switch {
	case us >= 1e6:
		return trimZero(us/1e6) + " s"
	case us >= 1e3:
		return trimZero(us/1e3) + " ms"
	default:
		return trimZero(us) + " µs"
	}
}

// siLabel prints 1000 as 1k, 1000000 as 1M.
func siLabel(v float64) string {
	switch {
	case v >= 1e6:
		return trimZero(v/1e6) + "M"
	case v >= 1e3:
		return trimZero(v/1e3) + "k"
	default:
		return trimZero(v)
	}
}

func trimZero(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	return strings.TrimSuffix(s, ".0")
}

func joinInts(ns []int) string {
	var s []string
	for _, n := range ns {
		s = append(s, fmt.Sprint(n))
	}
	return strings.Join(s, ", ")
}
