package main

// measure.go: latency histograms (HDR) and what the harness reads about a
// server process from /proc: CPU time, peak memory and bytes written to
// storage.
//
// Methods (also written into docs/benchmarks-harness.md):
//
//   - CPU time: utime+stime from /proc/PID/stat, in clock ticks of 1/100 s
//     (USER_HZ, 100 on Linux). For PostgreSQL the postmaster's own
//     utime+stime+cutime+cstime (cutime/cstime hold its reaped children)
//     plus utime+stime of every live child, so backends that come and go
//     are counted exactly once.
//   - Bytes written, two ways. (1) write_bytes of /proc/PID/io: what the
//     kernel charged the server's processes for dirtying the page cache. The
//     kernel adds a reaped child's counters to its parent, so for PostgreSQL
//     the total is the postmaster's write_bytes plus each live child's (WAL
//     writer, checkpointer, background writer, backends, autovacuum). On
//     kernels with large page-cache folios this is charged per folio, not
//     per page: a 64-byte overwrite in a file that was written in big
//     chunks (PostgreSQL's zero-filled 16 MB WAL segments) is charged up to
//     2 MB although the device writes 4 KB. (2) The sectors written to the
//     block device that holds the temporary directory
//     (/sys/dev/block/MAJ:MIN/stat), which is what the disk really did,
//     journal included, but counts every process on the machine; the
//     machine's background rate is measured before the run.
//   - Peak memory: VmHWM of /proc/PID/status (the kernel's high-water mark of
//     the resident set since the process started) for memimg and Redis; for
//     PostgreSQL, whose processes share memory, the largest sum of Pss
//     (/proc/PID/smaps_rollup, shared pages divided among their users) over
//     the postmaster and its children, sampled every second during the cell
//     and at its end.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"
)

// clockTicks is USER_HZ, the unit of the times in /proc/PID/stat.
const clockTicks = 100

// Histograms record latencies in nanoseconds from 1 µs to 60 s with three
// significant digits.
const (
	histMin     = 1_000
	histMax     = 60_000_000_000
	histSigFigs = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, histSigFigs)
}

// recordLatency adds d to h, clamping it into the histogram's range.
func recordLatency(h *hdrhistogram.Histogram, d time.Duration) {
	v := d.Nanoseconds()
	if v < histMin {
		v = histMin
	}
	if v > histMax {
		v = histMax
	}
	_ = h.RecordValue(v)
}

// Latency is a latency summary in microseconds.
type Latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_us"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P95   float64 `json:"p95_us"`
	P99   float64 `json:"p99_us"`
	P999  float64 `json:"p99_9_us"`
	P9999 float64 `json:"p99_99_us"`
	Max   float64 `json:"max_us"`
}

func summarize(h *hdrhistogram.Histogram) Latency {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return Latency{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1e3,
		P50:   us(h.ValueAtQuantile(50)),
		P90:   us(h.ValueAtQuantile(90)),
		P95:   us(h.ValueAtQuantile(95)),
		P99:   us(h.ValueAtQuantile(99)),
		P999:  us(h.ValueAtQuantile(99.9)),
		P9999: us(h.ValueAtQuantile(99.99)),
		Max:   us(h.Max()),
	}
}

// procTree describes the processes of one server: the main process and,
// when children is set, every process whose parent it is (PostgreSQL).
type procTree struct {
	pid      int
	children bool
}

// procCounters are cumulative counters of a server's processes.
type procCounters struct {
	cpuTicks   uint64
	writeBytes uint64
}

// readCounters returns the cumulative CPU ticks and written bytes of the
// server (main process plus live children when t.children).
func (t procTree) readCounters() (procCounters, error) {
	var c procCounters
	st, err := readStat(t.pid)
	if err != nil {
		return c, err
	}
	c.cpuTicks = st.utime + st.stime
	if t.children {
		c.cpuTicks += st.cutime + st.cstime
	}
	wb, err := readWriteBytes(t.pid)
	if err != nil {
		return c, err
	}
	c.writeBytes = wb
	if t.children {
		for _, pid := range childPIDs(t.pid) {
			cs, err := readStat(pid)
			if err != nil {
				continue // exited between the listing and the read
			}
			cw, err := readWriteBytes(pid)
			if err != nil {
				continue
			}
			c.cpuTicks += cs.utime + cs.stime
			c.writeBytes += cw
		}
	}
	return c, nil
}

// memory returns the server's current memory use in bytes: VmRSS of the
// main process, or for a tree the sum of Pss over its processes.
func (t procTree) memory() uint64 {
	if !t.children {
		v, _ := statusField(t.pid, "VmRSS")
		return v
	}
	total := pss(t.pid)
	for _, pid := range childPIDs(t.pid) {
		total += pss(pid)
	}
	return total
}

// peakMemory returns VmHWM of the main process (0 for a tree, whose peak is
// sampled instead).
func (t procTree) peakMemory() uint64 {
	if t.children {
		return 0
	}
	v, _ := statusField(t.pid, "VmHWM")
	return v
}

type statFields struct {
	ppid                         int
	utime, stime, cutime, cstime uint64
}

// readStat parses /proc/PID/stat. The command name (field 2) is in
// parentheses and may contain spaces, so fields are counted from the last
// ')'.
func readStat(pid int) (statFields, error) {
	var s statFields
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 15 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	num := func(n int) uint64 { v, _ := strconv.ParseUint(f[n-3], 10, 64); return v }
	s.ppid = int(num(4))
	s.utime, s.stime, s.cutime, s.cstime = num(14), num(15), num(16), num(17)
	return s, nil
}

// readWriteBytes returns write_bytes from /proc/PID/io.
func readWriteBytes(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/io: no write_bytes", pid)
}

// statusField returns a "kB" field of /proc/PID/status in bytes.
func statusField(pid int, name string) (uint64, error) {
	return kBField(fmt.Sprintf("/proc/%d/status", pid), name)
}

// pss returns Pss of /proc/PID/smaps_rollup in bytes (0 if unreadable).
func pss(pid int) uint64 {
	v, _ := kBField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
	return v
}

func kBField(path, name string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+":")
		if !ok {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) == 0 {
			break
		}
		v, err := strconv.ParseUint(fs[0], 10, 64)
		if err != nil {
			return 0, err
		}
		return v * 1024, nil
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

// childPIDs lists the processes whose parent is pid.
func childPIDs(pid int) []int {
	// /proc/PID/task/TID/children is cheaper but needs CONFIG_PROC_CHILDREN
	// and lists only the children of that thread; postmaster is single
	// threaded, so try it first.
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err == nil {
		var out []int
		for _, f := range strings.Fields(string(b)) {
			if v, err := strconv.Atoi(f); err == nil {
				out = append(out, v)
			}
		}
		return out
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(p); err == nil && st.ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

// cpuTicks returns the machine's busy CPU time (user, nice, system, irq,
// softirq, steal of the "cpu" line of /proc/stat) and the harness's own
// (utime+stime of /proc/self/stat), in clock ticks.
func cpuTicks() (machine, self uint64) {
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) >= 9 && f[0] == "cpu" {
			for _, i := range []int{1, 2, 3, 6, 7, 8} { // skip idle (4), iowait (5)
				v, _ := strconv.ParseUint(f[i], 10, 64)
				machine += v
			}
		}
	}
	if st, err := readStat(os.Getpid()); err == nil {
		self = st.utime + st.stime
	}
	return machine, self
}

// loadAverage returns the 1-minute load average.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// memSampler samples a server's memory every interval until stopped and
// keeps the largest value.
type memSampler struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
}

func startMemSampler(t procTree, interval time.Duration) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	m.peak = t.memory()
	go func() {
		defer close(m.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				if v := t.memory(); v > m.peak {
					m.peak = v
				}
				return
			case <-tick.C:
				if v := t.memory(); v > m.peak {
					m.peak = v
				}
			}
		}
	}()
	return m
}

// Stop ends the sampling and returns the peak.
func (m *memSampler) Stop() uint64 {
	close(m.stop)
	<-m.done
	return m.peak
}

// deviceStat returns the /sys stat file of the block device holding dir,
// or "" if there is none (tmpfs, overlay and the like).
func deviceStat(dir string) string {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return ""
	}
	p := fmt.Sprintf("/sys/dev/block/%d:%d/stat", unix.Major(st.Dev), unix.Minor(st.Dev))
	if _, err := deviceWrites(p); err != nil {
		return ""
	}
	return p
}

// deviceWrites returns the bytes written to a block device so far: field 7
// of its stat file counts 512-byte sectors whatever the device's block size.
func deviceWrites(statPath string) (uint64, error) {
	if statPath == "" {
		return 0, errors.New("no block device")
	}
	b, err := os.ReadFile(statPath)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 7 {
		return 0, fmt.Errorf("%s: %d fields", statPath, len(f))
	}
	v, err := strconv.ParseUint(f[6], 10, 64)
	return v * 512, err
}

// backgroundWrites measures the device's write rate in bytes per second
// over d while the harness runs no server: the noise in the device figures.
func backgroundWrites(statPath string, d time.Duration) (float64, error) {
	a, err := deviceWrites(statPath)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	time.Sleep(d)
	b, err := deviceWrites(statPath)
	if err != nil {
		return 0, err
	}
	return float64(b-a) / time.Since(start).Seconds(), nil
}

// FsyncLatency is the measured cost of one small write plus fdatasync in
// the benchmark's temporary directory.
type FsyncLatency struct {
	Samples int     `json:"samples"`
	MeanUS  float64 `json:"mean_us"`
	P50US   float64 `json:"p50_us"`
	P99US   float64 `json:"p99_us"`
	MaxUS   float64 `json:"max_us"`
}

// measureFsync times n rounds of a 64-byte write and fdatasync of a file
// in dir (the same file, so each round only has to make the new data and
// the file size durable, as a log append does).
func measureFsync(dir string, n int) (FsyncLatency, error) {
	var r FsyncLatency
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return r, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := bytes.Repeat([]byte("x"), 64)
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		if _, err := f.Write(buf); err != nil {
			return r, err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return r, err
		}
		lat = append(lat, time.Since(start))
	}
	if n == 0 {
		return r, nil
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	r.Samples = n
	r.MeanUS = us(sum / time.Duration(n))
	r.P50US = us(lat[n/2])
	r.P99US = us(lat[min(n-1, n*99/100)])
	r.MaxUS = us(lat[n-1])
	return r, nil
}

// Machine describes the machine a run happened on.
type Machine struct {
	CPUModel   string       `json:"cpu_model"`
	Cores      int          `json:"cores"`
	MemoryMiB  uint64       `json:"memory_mib"`
	Kernel     string       `json:"kernel"`
	OS         string       `json:"os"`
	TempDir    string       `json:"temp_dir"`
	Filesystem string       `json:"filesystem"`
	Fsync      FsyncLatency `json:"fsync"`
	// Device is the block device's stat file ("" if none); Background is
	// its write rate before the run, in bytes per second.
	Device     string  `json:"device_stat,omitempty"`
	Background float64 `json:"device_background_write_bytes_per_sec"`
	GoVersion  string  `json:"go_version"`
	// LoadAverage is the 1-minute load average when the run started.
	LoadAverage float64 `json:"load_average_at_start"`
}

// describeMachine reads the CPU model, core count, memory, kernel and the
// file system of dir.
func describeMachine(dir string) Machine {
	m := Machine{TempDir: dir}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "model name":
				if m.CPUModel == "" {
					m.CPUModel = strings.TrimSpace(v)
				}
			case "processor":
				m.Cores++
			}
		}
	}
	if v, err := kBField("/proc/meminfo", "MemTotal"); err == nil {
		m.MemoryMiB = v >> 20
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	m.Filesystem = fsType(dir)
	return m
}

// fsType names the file system dir is on, from /proc/self/mounts (the
// longest mount point that is a prefix of dir).
func fsType(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "unknown"
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "unknown"
	}
	best, bestType, bestDev := "", "unknown", ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best, bestType, bestDev = mp, f[2], f[0]
		}
	}
	if bestDev != "" && bestDev != bestType {
		return bestType + " on " + bestDev
	}
	return bestType
}

// isMemoryFS reports whether the file system type keeps data only in
// memory, where fsync costs nothing and results mean little.
func isMemoryFS(fs string) bool {
	t, _, _ := strings.Cut(fs, " ")
	return t == "tmpfs" || t == "ramfs"
}
