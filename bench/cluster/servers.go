package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/bench/internal/benchutil"
)

// proc is one server process: memimgd or redis-server, its output in a
// log file, stopped by its PID.
type proc struct {
	name    string
	addr    string // client address
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	logPath string
}

// startProc starts bin with args, its output appended to logPath, and waits
// until it answers PONG on addr (at most a minute).
func startProc(name, addr, bin, logPath string, args ...string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, addr: addr, logPath: logPath, cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() { _ = p.cmd.Wait(); f.Close(); close(p.exited) }()
	if err := benchutil.WaitPong(addr, p.exited, time.Minute); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: %w; see %s", name, err, logPath)
	}
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM to the process (by PID) and waits up to 30 s for it to
// exit, then SIGKILL and up to 10 s more.
func (p *proc) stop() {
	if p == nil || !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return
	case <-time.After(30 * time.Second):
	}
	fmt.Fprintf(os.Stderr, "bench/cluster: %s (pid %d) did not exit 30 s after SIGTERM; SIGKILL\n", p.name, p.pid())
	_ = p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
}

// client is a small pool for checks (not the load).
func (p *proc) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: p.addr, PoolSize: 2, MaxRetries: -1,
		DialTimeout: 2 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
}

// logSize is the size of the process's log now.
func (p *proc) logSize() int64 {
	fi, err := os.Stat(p.logPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logLines returns the lines of the process's log from byte offset from on
// that contain any of the substrings.
func (p *proc) logLines(from int64, subs ...string) []string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		for _, s := range subs {
			if strings.Contains(sc.Text(), s) {
				out = append(out, sc.Text())
				break
			}
		}
	}
	return out
}

var freeAddr = benchutil.FreeAddr

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// startStandalone starts memimgd alone with --appendfsync always.
func startStandalone(dir string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return startProc("memimgd standalone", addr, *bin, dir+".log",
		"--port", port(addr), "--dir", dir, "--appendfsync", "always", "--save", "")
}

// cluster is three memimgd nodes in one Raft cluster.
type cluster struct {
	nodes []*proc
	ids   []string
}

func (c *cluster) stop() {
	for _, n := range c.nodes {
		n.stop()
	}
}

func (c *cluster) pids() []int {
	var out []int
	for _, n := range c.nodes {
		out = append(out, n.pid())
	}
	return out
}

// startCluster starts node n1 with --cluster-bootstrap, waits for it to
// lead, then n2 and n3 with --cluster-join n1, and waits until every node
// lists 3 members with client addresses and one leader.
func startCluster(base string, size int) (*cluster, error) {
	c := &cluster{}
	for i := range size {
		id := fmt.Sprintf("n%d", i+1)
		addr, err := freeAddr()
		if err != nil {
			c.stop()
			return nil, err
		}
		raftAddr, err := freeAddr()
		if err != nil {
			c.stop()
			return nil, err
		}
		dir := filepath.Join(base, id)
		args := []string{"--port", port(addr), "--dir", dir, "--appendfsync", "always", "--save", "",
			"--cluster-node-id", id, "--cluster-addr", raftAddr}
		if i == 0 {
			args = append(args, "--cluster-bootstrap")
		} else {
			args = append(args, "--cluster-join", c.nodes[0].addr)
		}
		p, err := startProc("memimgd "+id, addr, *bin, dir+".log", args...)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.nodes = append(c.nodes, p)
		c.ids = append(c.ids, id)
		if i == 0 {
			if err := c.waitMembers(1, 30*time.Second); err != nil {
				c.stop()
				return nil, err
			}
		}
	}
	if err := c.waitMembers(size, time.Minute); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// waitMembers waits until every node lists want members, each with a
// client address, exactly one of them the leader.
func (c *cluster) waitMembers(want int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last string
	for {
		ok := true
		for _, n := range c.nodes {
			rdb := n.client()
			rows, err := rdb.Do(context.Background(), "memimg.cluster", "members").Slice()
			rdb.Close()
			leaders, addrs := 0, 0
			for _, r := range rows {
				if f, _ := r.([]any); len(f) >= 5 {
					if s, _ := f[2].(string); s != "" {
						addrs++
					}
					if f[4] == "leader" {
						leaders++
					}
				}
			}
			if err != nil || len(rows) != want || addrs != want || leaders != 1 {
				ok = false
				last = fmt.Sprintf("%s: %v %v", n.name, rows, err)
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the cluster did not reach %d members with a leader in %v (last: %s)", want, limit, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leader returns the index of the leader as node 1 sees it.
func (c *cluster) leader() (int, error) {
	deadline := time.Now().Add(30 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			rdb := n.client()
			v, err := rdb.Do(context.Background(), "memimg.cluster", "leader").Slice()
			rdb.Close()
			if err != nil || len(v) == 0 {
				lastErr = err
				continue
			}
			for i, id := range c.ids {
				if id == v[0] {
					return i, nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return -1, fmt.Errorf("no leader in 30 s: %v", lastErr)
}

// converge waits (at most a minute) until every node answers the same
// MEMIMG.DIGEST, and returns it and how long it took.
func (c *cluster) converge() (string, time.Duration, error) {
	t0 := time.Now()
	deadline := t0.Add(time.Minute)
	for {
		var ds []string
		for _, n := range c.nodes {
			rdb := n.client()
			d, err := rdb.Do(context.Background(), "memimg.digest").Text()
			rdb.Close()
			if err != nil {
				d = "error: " + err.Error()
			}
			ds = append(ds, d)
		}
		same := !strings.HasPrefix(ds[0], "error")
		for _, d := range ds[1:] {
			same = same && d == ds[0]
		}
		if same {
			return ds[0], time.Since(t0), nil
		}
		if time.Now().After(deadline) {
			return "", time.Since(t0), fmt.Errorf("the nodes' digests did not converge in a minute: %v", ds)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// redisPair is a redis-server master and its replica.
type redisPair struct {
	master, replica *proc
}

func (r *redisPair) stop() {
	r.replica.stop()
	r.master.stop()
}

func (r *redisPair) pids() []int { return []int{r.master.pid(), r.replica.pid()} }

func redisArgs(addr, dir string) []string {
	return []string{"--port", port(addr), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no",
		"--logfile", dir + ".log", "--enable-debug-command", "local"}
}

// startRedis starts the master, then the replica with --replicaof, and
// waits (at most a minute) until the master reports connected_slaves:1
// with the replica online and the replica master_link_status:up.
func startRedis(base string) (*redisPair, error) {
	r := &redisPair{}
	maddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	mdir := filepath.Join(base, "master")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		return nil, err
	}
	if r.master, err = startProc("redis master", maddr, redisPath, mdir+".out", redisArgs(maddr, mdir)...); err != nil {
		return nil, err
	}
	raddr, err := freeAddr()
	if err != nil {
		r.master.stop()
		return nil, err
	}
	rdir := filepath.Join(base, "replica")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		r.master.stop()
		return nil, err
	}
	args := append(redisArgs(raddr, rdir), "--replicaof", "127.0.0.1", port(maddr))
	if r.replica, err = startProc("redis replica", raddr, redisPath, rdir+".out", args...); err != nil {
		r.master.stop()
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		m := infoField(r.master, "replication", "connected_slaves")
		s0 := infoField(r.master, "replication", "slave0")
		link := infoField(r.replica, "replication", "master_link_status")
		if m == "1" && strings.Contains(s0, "state=online") && link == "up" {
			return r, nil
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("the replica did not connect in a minute: connected_slaves:%s slave0:%s master_link_status:%s", m, s0, link)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// infoField returns one field of INFO section, "?" if unavailable.
func infoField(p *proc, section, field string) string {
	rdb := p.client()
	defer rdb.Close()
	return benchutil.InfoField(context.Background(), rdb, section, field)
}

// dbsize is DBSIZE on p, -1 on error.
func dbsize(p *proc) int64 {
	rdb := p.client()
	defer rdb.Close()
	n, err := rdb.DBSize(context.Background()).Result()
	if err != nil {
		return -1
	}
	return n
}

// cpuTime is utime+stime of the processes from /proc/PID/stat.
func cpuTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		// f[0] is field 3 (state); utime is field 14, stime field 15.
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ is 100
}
