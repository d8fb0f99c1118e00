package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/memimg/memimg/bench/internal/benchutil"
)

// The same measurements on redis-server (Debian's package) in the same
// run: BGSAVE (fork) instead of memimg's snapshot, start-up from the RDB
// file and from an AOF of the same SETs. Redis runs with appendonly yes,
// appendfsync always (as memimg's --appendfsync always) and
// aof-use-rdb-preamble no, so its AOF holds commands as memimg's log does.

// redisResults are Redis's figures.
type redisResults struct {
	base, bgsave       window
	bgsaveWall         time.Duration // the first BGSAVE, whole data set
	bgsave2Wall        time.Duration // after 1% of the keys changed
	aofStart, rdbStart time.Duration
	rdbBytes, aofBytes int64
	version            string
}

// redisServer is a redis-server process.
type redisServer struct {
	bin, dir, addr string
	cmd            *exec.Cmd
	exited         chan struct{} // closed when cmd has exited
}

// start starts redis-server with the benchmark's settings plus extra and
// returns the time to its first PONG.
func (r *redisServer) start(extra ...string) (time.Duration, error) {
	_, port, _ := strings.Cut(r.addr, ":")
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", r.dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", "no",
		"--daemonize", "no", "--logfile", r.dir + ".log", "--dbfilename", "dump.rdb"}, extra...)
	r.cmd = exec.Command(r.bin, args...)
	t0 := time.Now()
	if err := r.cmd.Start(); err != nil {
		return 0, err
	}
	r.exited = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	if err := benchutil.WaitPong(r.addr, r.exited, 10*time.Minute); err != nil {
		r.kill()
		return 0, fmt.Errorf("redis-server: %w; see %s.log", err, r.dir)
	}
	return time.Since(t0), nil
}

// stop ends redis-server with SIGTERM (by PID) and waits for it to exit.
func (r *redisServer) stop() error {
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-r.exited:
		return nil
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("redis-server did not exit")
	}
}

func (r *redisServer) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
	}
}

// dirSize is the bytes of the files under path.
func dirSize(path string) int64 {
	var n int64
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// runRedis measures redis-server; nil, nil if it is not installed.
func runRedis(tmp string) (*redisResults, error) {
	bin, err := exec.LookPath(*redisBin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench/snapshot: %s not found, Redis skipped (apt-get install redis-server)\n", *redisBin)
		return nil, nil
	}
	r := &redisServer{bin: bin, dir: filepath.Join(tmp, "redis")}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, err
	}
	if r.addr, err = freeAddr(); err != nil {
		return nil, err
	}
	res := &redisResults{}
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		res.version = strings.TrimSpace(string(out))
	}
	if _, err := r.start(); err != nil {
		return nil, err
	}
	defer r.kill()
	ctx := context.Background()
	rdb := (&server{addr: r.addr}).client(*clients + 4)
	if err := load(rdb, *keys); err != nil {
		return nil, err
	}
	rdb.Close()
	// Start-up from the AOF: the SETs of the load, nothing else.
	if err := r.stop(); err != nil {
		return nil, err
	}
	res.aofBytes = dirSize(filepath.Join(r.dir, "appendonlydir"))
	if res.aofStart, err = r.start(); err != nil {
		return nil, err
	}
	rdb = (&server{addr: r.addr}).client(*clients + 4)
	defer rdb.Close()
	res.base = measure(r.addr, *clients, *duration, nil)
	var wall time.Duration
	res.bgsave = measure(r.addr, *clients, 0, func() error {
		t0 := time.Now()
		err := bgsave(ctx, rdb)
		wall = time.Since(t0)
		return err
	})
	res.bgsaveWall = wall
	if err := change(rdb, *keys/100); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := bgsave(ctx, rdb); err != nil {
		return nil, err
	}
	res.bgsave2Wall = time.Since(t0)
	if fi, err := os.Stat(filepath.Join(r.dir, "dump.rdb")); err == nil {
		res.rdbBytes = fi.Size()
	}
	// Start-up from the RDB file: the AOF off, so Redis loads dump.rdb.
	if err := r.stop(); err != nil {
		return nil, err
	}
	if res.rdbStart, err = r.start("--appendonly", "no"); err != nil {
		return nil, err
	}
	return res, r.stop()
}
