// Command memimgd is the memimg server: a Redis-protocol database whose
// storage is its command log.
//
//	memimgd [/path/to/memimg.conf] [--port 6379] [--bind 127.0.0.1] [--dir ./memimg-data]
//	        [--appendfsync always|everysec|no] [--requirepass PASS] [--databases 16]
//	        [--proto-max-bulk-len 512mb] [--loglevel notice] [--logfile FILE]
//	        [--save "3600 1 300 100 60 10000"] [--wal-retain all|snapshot|72h|10gb]
//
// Options are spelled as redis-server's, and the optional config file uses
// redis.conf syntax; options on the command line override the file.
//
// Start-up takes the data directory's lock (DIR/LOCK), listens (answering
// -LOADING until the data set is in memory, as Redis does), opens the log
// (DIR/wal), loads the newest snapshot (DIR/snapshot), replays the log after
// it, then logs
//
//	level=INFO msg="ready to accept connections" addr=127.0.0.1:6379
//
// SIGTERM, SIGINT and the SHUTDOWN command stop it cleanly: it stops
// accepting, lets every connection finish what it has sent, closes them,
// syncs and closes the log, logs "memimgd stopped" and exits 0.
//
// Exit codes: 0 after a clean stop, 1 when start-up or shutdown fails,
// 2 for a bad command line or configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/internal/enginelog"
	"github.com/memimg/memimg/protocol"
	"github.com/memimg/memimg/replication"
	"github.com/memimg/memimg/snapshot"
	"github.com/memimg/memimg/wal"
)

func main() {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	os.Exit(run(os.Args[1:], os.Stderr, sig))
}

// shutdownTimeout bounds how long connections may take to finish at
// shutdown before they are closed.
const shutdownTimeout = 10 * time.Second

// run is the daemon; it returns the exit code.
func run(args []string, stderr io.Writer, sig <-chan os.Signal) int {
	cfg, err := parseArgs(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		fmt.Fprintln(stderr, err)
		return 2
	}
	set, err := cfg.settings()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}

	var level slog.LevelVar
	level.Set(set.logLevel)
	logOut := stderr
	if set.logFile != "" {
		f, err := os.OpenFile(set.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "memimgd: open logfile: %v\n", err)
			return 1
		}
		defer f.Close()
		logOut = f
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: &level}))

	// MEMIMG_CPUPROFILE=FILE writes a CPU profile of the whole run, for
	// performance work (go tool pprof FILE).
	if path := os.Getenv("MEMIMG_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(stderr, "memimgd: cpu profile: %v\n", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "memimgd: cpu profile: %v\n", err)
			return 1
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	// MEMIMG_MEMPROFILE=FILE writes a heap profile at shutdown.
	if path := os.Getenv("MEMIMG_MEMPROFILE"); path != "" {
		defer func() {
			if f, err := os.Create(path); err == nil {
				runtime.GC()
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}()
	}

	d, err := start(cfg, set, logger, &level)
	if err != nil {
		logger.Error("start-up failed", "err", err)
		if set.logFile != "" || set.logLevel > slog.LevelError {
			fmt.Fprintln(stderr, err) // the log may not reach the operator
		}
		return 1
	}
	return d.wait(sig)
}

// daemon is a running memimgd.
type daemon struct {
	cfg      Config
	set      settings
	log      *slog.Logger
	level    *slog.LevelVar
	lock     *os.File
	wal      *wal.Log
	eng      *engine.Engine
	srv      *protocol.Server
	snaps    *snapshot.Store
	saver    atomic.Pointer[snapshot.Saver] // nil while loading
	ready    atomic.Bool                    // wal, eng and snaps are set
	stage    atomic.Pointer[string]         // what start-up is doing, for INFO
	ln       net.Listener
	dir      string // absolute
	shutdown chan string
	served   chan error

	shutdownMode atomic.Int32 // a protocol.ShutdownMode, from SHUTDOWN

	// Cluster mode (cluster.go); nil standalone.
	node       *replication.Node
	glue       *clusterGlue
	joinFailed atomic.Bool
	stopJoin   chan struct{}
}

// start takes the lock, opens the log, replays it and starts serving.
func start(cfg Config, set settings, logger *slog.Logger, level *slog.LevelVar) (d *daemon, err error) {
	d = &daemon{cfg: cfg, set: set, log: logger, level: level,
		shutdown: make(chan string, 1), served: make(chan error, 1)}
	defer func() {
		if err != nil {
			d.closeAll()
		}
	}()
	if d.dir, err = filepath.Abs(set.dir); err != nil {
		return d, fmt.Errorf("memimgd: data directory: %w", err)
	}
	if err = os.MkdirAll(d.dir, 0o755); err != nil {
		return d, fmt.Errorf("memimgd: create data directory: %w", err)
	}
	if d.lock, err = lockDir(d.dir); err != nil {
		return d, err
	}
	// Listen before loading, so a port in use fails at once; until the
	// data set is in memory, clients get -LOADING (as from Redis).
	addr := net.JoinHostPort(set.bind, strconv.Itoa(set.port))
	if d.ln, err = net.Listen("tcp", addr); err != nil {
		return d, fmt.Errorf("memimgd: listen: %w", err)
	}
	logger.Info("starting memimgd", "pid", os.Getpid(), "dir", d.dir, "appendfsync", set.fsync.String(),
		"save", snapshot.FormatRules(set.saveRules), "wal_retain", set.retain.String(), "config_file", cfg.File)
	d.setStage("opening the log")
	var cluster protocol.Cluster
	if set.cluster.enabled() {
		d.glue = &clusterGlue{}
		cluster = d.glue
	}
	d.srv, err = protocol.New(protocol.Config{
		Cluster:         cluster,
		Databases:       set.databases,
		Snapshots:       d,
		RequirePass:     set.requirePass,
		ProtoMaxBulkLen: set.protoMaxBulkLen,
		MaxRequest:      wal.MaxRecordSize - 4096,
		Logger:          logger,
		Shutdown:        d.requestShutdown,
		Info:            d.info,
		Params:          d.params,
		SetParam:        d.setParam,

		NotifyKeyspaceEvents: set.notifyEvents,
	})
	if err != nil {
		return d, err
	}
	go func() { d.served <- d.srv.Serve(d.ln) }()
	logger.Info("listening; loading the data set", "addr", d.ln.Addr().String())

	// The log is opened (which reads and checks every segment) while the
	// snapshot loads, on the other core: the two are independent until
	// the replay. d.wal is set before walOpened is sent on, and start
	// always receives from it before it returns.
	walOpened := make(chan error, 1)
	go func() {
		w, err := wal.Open(wal.Options{Dir: filepath.Join(d.dir, "wal"), Logger: logger,
			SegmentSize: testSegmentSize(logger)})
		if err != nil {
			walOpened <- fmt.Errorf("memimgd: open log: %w", err)
			return
		}
		d.wal = w
		walOpened <- nil
	}()
	if d.snaps, err = snapshot.Open(snapshot.Options{Dir: filepath.Join(d.dir, "snapshot"), Logger: logger,
		Hook: snapshotTestHook(logger), WriteCPU: set.snapshotCPU}); err != nil {
		<-walOpened
		return d, err
	}
	d.setStage("loading the snapshot")
	base, meta, err := d.loadSnapshot(walOpened)
	if err != nil {
		return d, err
	}
	if set.cluster.enabled() {
		if err = d.openClusterEngine(base); err != nil {
			return d, err
		}
	} else {
		d.setStage("replaying the log")
		d.eng, err = engine.Open(engine.Options{
			Log:          testSlowReplay(enginelog.New(d.wal), logger),
			Fsync:        set.fsync,
			Databases:    set.databases,
			MaxEntrySize: wal.MaxRecordSize,
			Logger:       logger,
			Base:         base,
		})
		if err != nil {
			return d, fmt.Errorf("memimgd: open engine: %w", err)
		}
	}
	d.saver.Store(snapshot.NewSaver(snapshot.SaverOptions{
		Store:       d.snaps,
		Engine:      d.eng,
		Base:        base,
		BaseMeta:    meta,
		Rules:       set.saveRules,
		AfterCommit: d.afterSnapshot,
		Logger:      logger,
	}))
	d.ready.Store(true)
	d.setStage("")
	d.srv.SetEngine(d.eng)
	if d.node != nil {
		d.glue.node.Store(d.node)
		if j := set.cluster.join; j != "" {
			d.stopJoin = make(chan struct{})
			go d.joinCluster(j, d.stopJoin)
		}
	}
	logger.Info("ready to accept connections", "addr", d.ln.Addr().String())
	return d, nil
}

// wait serves until a signal, SHUTDOWN or a failure, then stops.
func (d *daemon) wait(sig <-chan os.Signal) int {
	code := 0
	select {
	case s := <-sig:
		d.log.Info("shutting down", "reason", "signal "+s.String())
	case reason := <-d.shutdown:
		d.log.Info("shutting down", "reason", reason)
	case err := <-d.served:
		d.log.Error("server failed; shutting down", "err", err)
		code = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := d.srv.Shutdown(ctx); err != nil {
		d.log.Warn("connections did not finish in time; closed them", "err", err)
	}
	if sv := d.saver.Load(); sv != nil {
		// With save points configured, a last snapshot makes the next
		// start-up fast (Redis saves at shutdown too).
		var err error
		switch protocol.ShutdownMode(d.shutdownMode.Load()) {
		case protocol.ShutdownNoSave:
			err = sv.Close(false)
		case protocol.ShutdownSave:
			err = sv.CloseAndSave()
		default:
			err = sv.Close(true)
		}
		if err != nil {
			d.log.Warn("the shutdown snapshot failed; the next start replays more of the log", "err", err)
		}
	}
	if err := d.closeAll(); err != nil {
		d.log.Error("shutdown failed", "err", err)
		return 1
	}
	if d.joinFailed.Load() {
		return 1
	}
	d.log.Info("memimgd stopped")
	return code
}

// closeAll closes what start opened, in reverse order.
func (d *daemon) closeAll() error {
	var errs []error
	if d.srv != nil {
		d.srv.Close()
	} else if d.ln != nil {
		d.ln.Close()
	}
	if sv := d.saver.Load(); sv != nil {
		sv.Close(false)
	}
	if d.stopJoin != nil {
		close(d.stopJoin)
		d.stopJoin = nil
	}
	if d.node != nil {
		if err := d.node.Close(); err != nil {
			errs = append(errs, fmt.Errorf("memimgd: stop raft: %w", err))
		}
	}
	if d.eng != nil {
		if err := d.eng.Close(); err != nil {
			errs = append(errs, fmt.Errorf("memimgd: close engine: %w", err))
		}
	}
	if d.wal != nil {
		if err := d.wal.Close(); err != nil {
			errs = append(errs, fmt.Errorf("memimgd: close log: %w", err))
		}
	}
	if d.lock != nil {
		d.lock.Close()
	}
	return errors.Join(errs...)
}

// requestShutdown is the SHUTDOWN hook: it wakes wait and returns at once.
func (d *daemon) requestShutdown(mode protocol.ShutdownMode) error {
	d.shutdownMode.Store(int32(mode))
	select {
	case d.shutdown <- "SHUTDOWN command":
	default: // already shutting down
	}
	return nil
}

// info adds the daemon's fields to INFO.
func (d *daemon) info(section string) []protocol.Field {
	switch section {
	case "server":
		return []protocol.Field{{Name: "config_file", Value: d.cfg.File}, {Name: "memimg_dir", Value: d.dir}}
	case "persistence":
		if !d.ready.Load() {
			return []protocol.Field{{Name: "memimg_loading_stage", Value: d.getStage()}}
		}
		st := d.wal.Stats()
		u := func(v uint64) string { return strconv.FormatUint(v, 10) }
		i := func(v int64) string { return strconv.FormatInt(v, 10) }
		ratio := 0.0
		if st.SealedCompressedBytes > 0 {
			ratio = float64(st.SealedRawBytes) / float64(st.SealedCompressedBytes)
		}
		return append([]protocol.Field{
			{Name: "memimg_appendfsync", Value: d.set.fsync.String()},
			{Name: "memimg_log_dir", Value: filepath.Join(d.dir, "wal")},
			{Name: "memimg_log_first_index", Value: u(st.FirstIndex)},
			{Name: "memimg_log_last_index", Value: u(st.LastIndex)},
			{Name: "memimg_log_segments", Value: strconv.Itoa(st.Segments)},
			{Name: "memimg_log_compressed_segments", Value: strconv.Itoa(st.CompressedSegments)},
			{Name: "memimg_log_disk_bytes", Value: i(st.DiskBytes)},
			{Name: "memimg_log_appends", Value: u(st.Appends)},
			{Name: "memimg_log_syncs", Value: u(st.Syncs)},
			{Name: "memimg_log_compression_ratio", Value: strconv.FormatFloat(ratio, 'f', 2, 64)},
			{Name: "memimg_wal_retain", Value: d.set.retain.String()},
		}, d.snapshotInfo()...)
	}
	return nil
}

// params are the daemon's CONFIG GET parameters.
func (d *daemon) params() []protocol.Field {
	port := d.set.port
	if a, ok := d.ln.Addr().(*net.TCPAddr); ok {
		port = a.Port
	}
	return []protocol.Field{
		{Name: "port", Value: strconv.Itoa(port)},
		{Name: "bind", Value: d.set.bind},
		{Name: "dir", Value: d.dir},
		{Name: "appendfsync", Value: d.set.fsync.String()},
		{Name: "appendonly", Value: "yes"},
		{Name: "save", Value: d.saveRules()},
		{Name: "maxmemory", Value: "0"},
		{Name: "loglevel", Value: levelName(d.level.Level())},
		{Name: "logfile", Value: d.set.logFile},
	}
}

func levelName(l slog.Level) string {
	for name, v := range logLevels {
		if v == l {
			return name
		}
	}
	return l.String()
}

// setParam is CONFIG SET for the daemon's parameters: loglevel and save
// change at run time; maxmemory and appendonly accept only the value they
// have.
func (d *daemon) setParam(name, value string) error {
	switch name {
	case "loglevel":
		l, ok := logLevels[strings.ToLower(value)]
		if !ok {
			return errors.New("argument(s) must be one of the following: debug, verbose, notice, warning, nothing")
		}
		d.level.Set(l)
		return nil
	case "save":
		rules, err := snapshot.ParseRules(value)
		if err != nil {
			return errors.New("Invalid save parameters")
		}
		sv := d.saver.Load()
		if sv == nil {
			return errors.New("the data set is loading")
		}
		sv.SetRules(rules)
		return nil
	case "maxmemory":
		if n, err := protocol.ParseMemory(value); err != nil || n != 0 {
			return errors.New("memimg keeps the whole data set in memory; only 0 is accepted")
		}
		return nil
	case "appendonly":
		if !strings.EqualFold(value, "yes") {
			return errors.New("memimg's log is its storage; only yes is accepted")
		}
		return nil
	case "port", "bind", "dir", "appendfsync", "logfile":
		return protocol.ErrImmutableParam
	}
	return protocol.ErrUnknownParam
}
