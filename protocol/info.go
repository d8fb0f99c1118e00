package protocol

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// The INFO sections, in Redis's order. "default", "all" and "everything"
// name all of them.
var infoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "cluster", "keyspace"}

// engineCounters are the engine's counters CONFIG RESETSTAT zeroes.
type engineCounters struct {
	expired, hits, misses uint64
}

func (s *Server) engineCounters() engineCounters {
	eng := s.eng.Load()
	if eng == nil {
		return engineCounters{}
	}
	st := eng.Stats()
	return engineCounters{st.ExpiredKeys.Load(), st.KeyspaceHits.Load(), st.KeyspaceMiss.Load()}
}

// resetStats is CONFIG RESETSTAT: the counters of INFO stats restart at 0.
func (s *Server) resetStats() {
	cmds, errs, in, out := s.totals()
	s.stats.baseMu.Lock()
	defer s.stats.baseMu.Unlock()
	b := &s.stats.base
	b.connections = s.stats.connections.Load()
	b.commands, b.errors, b.netIn, b.netOut = cmds, errs, in, out
	b.engine = s.engineCounters()
}

func cmdInfo(c *client, argv [][]byte) {
	want := map[string]bool{}
	if len(argv) == 1 {
		for _, sec := range infoSections {
			want[sec] = true
		}
	}
	for _, a := range argv[1:] {
		switch sec := strings.ToLower(string(a)); sec {
		case "default", "all", "everything":
			for _, sec := range infoSections {
				want[sec] = true
			}
		default:
			want[sec] = true
		}
	}
	c.verbatim(c.srv.info(want))
}

// infoWriter builds INFO text: "# Section" headers, "name:value" lines,
// sections separated by an empty line, every line ending in CRLF.
type infoWriter struct {
	b []byte
}

func (w *infoWriter) section(title string) {
	if len(w.b) > 0 {
		w.b = append(w.b, "\r\n"...)
	}
	w.b = append(w.b, "# "...)
	w.b = append(w.b, title...)
	w.b = append(w.b, "\r\n"...)
}

func (w *infoWriter) str(name, value string) {
	w.b = append(w.b, name...)
	w.b = append(w.b, ':')
	w.b = append(w.b, value...)
	w.b = append(w.b, "\r\n"...)
}

func (w *infoWriter) int(name string, v int64) { w.str(name, strconv.FormatInt(v, 10)) }

func (w *infoWriter) uint(name string, v uint64) { w.str(name, strconv.FormatUint(v, 10)) }

func (w *infoWriter) float(name string, v float64) { w.str(name, strconv.FormatFloat(v, 'f', 2, 64)) }

// info renders the wanted sections.
func (s *Server) info(want map[string]bool) string {
	var w infoWriter
	now := time.Now()
	for _, sec := range infoSections {
		if !want[sec] {
			continue
		}
		w.section(strings.ToUpper(sec[:1]) + sec[1:])
		switch sec {
		case "server":
			s.infoServer(&w, now)
		case "clients":
			s.mu.Lock()
			n := len(s.clients)
			s.mu.Unlock()
			w.int("connected_clients", int64(n))
			for _, f := range []string{"cluster_connections"} {
				w.str(f, "0")
			}
			w.str("maxclients", "10000")
			for _, f := range []string{"client_recent_max_input_buffer", "client_recent_max_output_buffer"} {
				w.str(f, "0")
			}
			blocked, keys := 0, 0
			if eng := s.eng.Load(); eng != nil {
				blocked, keys = eng.Blocked(), eng.WaitingKeys()
			}
			w.int("blocked_clients", int64(blocked))
			w.str("tracking_clients", "0")
			w.int("clients_in_timeout_table", int64(blocked))
			w.int("total_blocking_keys", int64(keys))
		case "memory":
			s.infoMemory(&w)
		case "persistence":
			s.infoPersistence(&w)
		case "stats":
			s.infoStats(&w)
		case "replication":
			if cl := s.cfg.Cluster; cl != nil {
				for _, f := range cl.Info() {
					w.str(f.Name, f.Value)
				}
				break
			}
			w.str("role", "master")
			w.str("connected_slaves", "0")
			w.str("master_failover_state", "no-failover")
			w.str("master_replid", s.runID)
			w.str("master_replid2", strings.Repeat("0", 40))
			w.uint("master_repl_offset", s.appliedIndex())
			w.str("second_repl_offset", "-1")
			w.str("repl_backlog_active", "0")
		case "cpu":
			var ru syscall.Rusage
			if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
				w.str("used_cpu_sys", tvSeconds(ru.Stime))
				w.str("used_cpu_user", tvSeconds(ru.Utime))
			}
		case "cluster":
			w.str("cluster_enabled", "0")
		case "keyspace":
			for i, ks := range s.keyspace() {
				if ks.Keys > 0 {
					w.str("db"+strconv.Itoa(i), fmt.Sprintf("keys=%d,expires=%d,avg_ttl=0", ks.Keys, ks.Expires))
				}
			}
		}
		if s.cfg.Info != nil {
			for _, f := range s.cfg.Info(sec) {
				w.str(f.Name, f.Value)
			}
		}
	}
	return string(w.b)
}

func tvSeconds(tv syscall.Timeval) string {
	return fmt.Sprintf("%d.%06d", tv.Sec, tv.Usec)
}

func (s *Server) infoServer(w *infoWriter, now time.Time) {
	w.str("redis_version", redisVersion)
	w.str("redis_git_sha1", "00000000")
	w.str("redis_git_dirty", "0")
	w.str("redis_build_id", "0")
	w.str("redis_mode", "standalone")
	w.str("os", runtime.GOOS+" "+runtime.GOARCH)
	w.int("arch_bits", int64(strconv.IntSize))
	w.str("monotonic_clock", "POSIX clock_gettime")
	w.str("multiplexing_api", "epoll")
	w.str("atomicvar_api", "c11-builtin")
	w.str("gcc_version", "0.0.0")
	w.int("process_id", int64(os.Getpid()))
	w.str("process_supervised", "no")
	w.str("run_id", s.runID)
	w.int("tcp_port", int64(s.Port()))
	w.int("server_time_usec", now.UnixMicro())
	up := now.Sub(s.started)
	w.int("uptime_in_seconds", int64(up/time.Second))
	w.int("uptime_in_days", int64(up/(24*time.Hour)))
	w.str("hz", "10")
	w.str("configured_hz", "10")
	w.int("lru_clock", now.Unix()&(1<<24-1))
	if exe, err := os.Executable(); err == nil {
		w.str("executable", exe)
	}
	w.str("io_threads_active", "0")
	w.str("go_version", runtime.Version())
}

// memSamples reads the Go runtime's memory metrics without stopping the
// world.
//
// used_memory is the live heap as of the last garbage collection
// (/gc/heap/live:bytes): like Redis's used_memory it counts the bytes the data
// set and the server hold, not garbage waiting to be collected, which
// used_memory_rss shows instead.
var memSamples = []metrics.Sample{
	{Name: "/gc/heap/live:bytes"},
	{Name: "/memory/classes/total:bytes"},
	{Name: "/gc/heap/goal:bytes"},
	{Name: "/gc/cycles/total:gc-cycles"},
	{Name: "/memory/classes/heap/objects:bytes"},
}

// peakMemory is the largest used_memory seen.
var peakMemory atomic.Uint64

func heapInUse() (inUse, sys, goal, gcs uint64) {
	ss := make([]metrics.Sample, len(memSamples))
	copy(ss, memSamples)
	metrics.Read(ss)
	v := func(i int) uint64 {
		if ss[i].Value.Kind() == metrics.KindUint64 {
			return ss[i].Value.Uint64()
		}
		return 0
	}
	inUse, sys, goal, gcs = v(0), v(1), v(2), v(3)
	if inUse == 0 { // no collection yet: count every allocated object
		inUse = v(4)
	}
	for {
		p := peakMemory.Load()
		if inUse <= p || peakMemory.CompareAndSwap(p, inUse) {
			break
		}
	}
	return
}

func (s *Server) infoMemory(w *infoWriter) {
	used, sys, goal, gcs := heapInUse()
	w.uint("used_memory", used)
	w.str("used_memory_human", humanBytes(used))
	rss := rssBytes()
	w.uint("used_memory_rss", rss)
	w.str("used_memory_rss_human", humanBytes(rss))
	peak := peakMemory.Load()
	w.uint("used_memory_peak", peak)
	w.str("used_memory_peak_human", humanBytes(peak))
	total := totalSystemMemory()
	w.uint("total_system_memory", total)
	w.str("total_system_memory_human", humanBytes(total))
	w.str("maxmemory", "0")
	w.str("maxmemory_human", "0B")
	w.str("maxmemory_policy", "noeviction")
	if used > 0 {
		w.float("mem_fragmentation_ratio", float64(rss)/float64(used))
	}
	w.str("mem_allocator", "go")
	w.uint("go_memory_sys", sys)
	w.uint("go_heap_goal", goal)
	w.uint("go_gc_cycles", gcs)
}

// rssBytes is the resident set size from /proc/self/statm; 0 where there
// is no /proc.
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// totalSystemMemory is MemTotal from /proc/meminfo; 0 if unknown.
func totalSystemMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, _ := strconv.ParseUint(fs[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// humanBytes formats n as Redis's bytesToHuman: 512B, 1.50K, 2.00M, ...
func humanBytes(n uint64) string {
	f := float64(n)
	switch {
	case n < 1024:
		return strconv.FormatUint(n, 10) + "B"
	case n < 1<<20:
		return fmt.Sprintf("%.2fK", f/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.2fM", f/(1<<20))
	case n < 1<<40:
		return fmt.Sprintf("%.2fG", f/(1<<30))
	case n < 1<<50:
		return fmt.Sprintf("%.2fT", f/(1<<40))
	}
	return fmt.Sprintf("%.2fP", f/(1<<50))
}

func (s *Server) infoPersistence(w *infoWriter) {
	eng := s.eng.Load()
	if eng == nil {
		w.str("loading", "1")
	} else {
		w.str("loading", "0")
	}
	w.str("async_loading", "0")
	s.infoSnapshots(w)
	w.str("aof_enabled", "1")
	w.str("aof_rewrite_in_progress", "0")
	w.str("aof_rewrite_scheduled", "0")
	if eng != nil && eng.Failed() != nil {
		w.str("aof_last_write_status", "err")
	} else {
		w.str("aof_last_write_status", "ok")
	}
	if eng == nil {
		return
	}
	st := eng.Stats()
	writes, batches, syncs := st.Writes.Load(), st.Batches.Load(), st.Syncs.Load()
	w.uint("memimg_applied_index", eng.AppliedIndex())
	w.uint("memimg_replayed_entries", st.Replayed.Load())
	w.uint("memimg_log_writes", writes)
	w.uint("memimg_log_batches", batches)
	w.uint("memimg_log_fsyncs", syncs)
	w.float("memimg_avg_commands_per_batch", ratio(writes, batches))
	w.float("memimg_avg_commands_per_fsync", ratio(writes, syncs))
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (s *Server) infoStats(w *infoWriter) {
	cmds, errs, in, out := s.totals()
	s.stats.baseMu.Lock()
	base := s.stats.base
	s.stats.baseMu.Unlock()
	ec := s.engineCounters()
	w.uint("total_connections_received", s.stats.connections.Load()-base.connections)
	w.uint("total_commands_processed", cmds-base.commands)
	w.int("instantaneous_ops_per_sec", int64(s.stats.ops.rate()+0.5))
	w.uint("total_net_input_bytes", in-base.netIn)
	w.uint("total_net_output_bytes", out-base.netOut)
	w.float("instantaneous_input_kbps", s.stats.in.rate()/1024)
	w.float("instantaneous_output_kbps", s.stats.out.rate()/1024)
	w.str("rejected_connections", "0")
	w.uint("expired_keys", ec.expired-base.engine.expired)
	w.str("evicted_keys", "0")
	w.uint("keyspace_hits", ec.hits-base.engine.hits)
	w.uint("keyspace_misses", ec.misses-base.engine.misses)
	w.str("pubsub_channels", "0")
	w.str("pubsub_patterns", "0")
	w.uint("total_error_replies", errs-base.errors)
}
