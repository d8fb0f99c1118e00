package main

// systems.go: starting and stopping the systems under test. Each runs on
// 127.0.0.1 on a port chosen at run time, in its own directory under the
// run's temporary directory, and is stopped by its PID (never by name).
//
//   - memimg: cmd/memimgd built from this repository into the temporary
//     directory, `--appendfsync always|everysec`.
//   - Redis: Debian's redis-server, `appendonly yes`, `appendfsync
//     always|everysec`, no RDB snapshots, no automatic AOF rewrite (memimg
//     does not compact its log either, and a rewrite in the middle of a cell
//     would make that cell's CPU and disk figures about the rewrite).
//   - PostgreSQL: Debian's postgresql, a temporary cluster made by initdb
//     and run as the `postgres` process itself (not through pg_ctl, so the
//     harness holds the postmaster's PID), `synchronous_commit=on|off`,
//     otherwise the defaults (fsync on, full_page_writes on, 128MB
//     shared_buffers). As root, initdb and postgres run as the `postgres`
//     user (set through the process credentials, as runuser would), and the
//     cluster's directory belongs to that user.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// durability is a durability level: "strict" (every acknowledged write is
// on disk) or "relaxed" (fsync about once a second, or asynchronous commit).
type durability string

const (
	strict  durability = "strict"
	relaxed durability = "relaxed"
)

// errMissing marks a system that is not installed; its message says how to
// install it.
type errMissing struct{ msg string }

func (e *errMissing) Error() string { return e.msg }

// system is one kind of database the harness can benchmark.
type system interface {
	// Name is "memimg", "redis" or "postgres".
	Name() string
	// Check reports whether the system can run here: nil, an *errMissing
	// with the install command, or another error.
	Check() error
	// Setting states the system's configuration for a durability level,
	// e.g. "appendfsync always".
	Setting(d durability) string
	// Start starts a fresh server in dir with the given durability, for up
	// to maxClients concurrent connections.
	Start(ctx context.Context, dir string, d durability, maxClients int) (server, error)
}

// server is a running system.
type server interface {
	// Tree is the server's process (and, for PostgreSQL, its children).
	Tree() procTree
	// Version is the server's version string.
	Version() string
	// Open connects a client pool of the given size.
	Open(ctx context.Context, clients int) (store, error)
	// Stop stops the server by PID and waits for it to exit.
	Stop() error
	// Log returns the end of the server's log, for error messages.
	Log() string
}

// --- processes ---

// proc is a started server process.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// liveProcs holds every process the harness started and has not yet seen
// exit, so an interrupted run (or a failed test) can stop them all by PID.
var liveProcs = struct {
	sync.Mutex
	m map[int]*proc
}{m: map[int]*proc{}}

// startProc starts cmd with its output in logPath. The process gets SIGKILL
// if the harness dies (Pdeathsig), so a killed harness leaves no server.
func startProc(name string, cmd *exec.Cmd, logPath string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	liveProcs.Lock()
	liveProcs.m[cmd.Process.Pid] = p
	liveProcs.Unlock()
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		liveProcs.Lock()
		delete(liveProcs.m, cmd.Process.Pid)
		liveProcs.Unlock()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends sig to the process (by PID) and waits up to timeout for it to
// exit, then sends SIGKILL. It returns an error if SIGKILL was needed.
func (p *proc) stop(sig syscall.Signal, timeout time.Duration) error {
	if !p.running() {
		return nil
	}
	_ = syscall.Kill(p.pid(), sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	_ = syscall.Kill(p.pid(), syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("%s (pid %d) did not exit within %v of %v; killed", p.name, p.pid(), timeout, sig)
}

// logTail returns the last lines of the process's log.
func (p *proc) logTail() string { return tailFile(p.logPath, 30) }

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("<no log: %v>", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// killAllProcs kills every process the harness started that is still
// running, by PID, and waits for them. It is the last resort of an
// interrupted run and of the tests' cleanup.
func killAllProcs() {
	liveProcs.Lock()
	ps := make([]*proc, 0, len(liveProcs.m))
	for _, p := range liveProcs.m {
		ps = append(ps, p)
	}
	liveProcs.Unlock()
	for _, p := range ps {
		_ = syscall.Kill(p.pid(), syscall.SIGKILL)
	}
	for _, p := range ps {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	}
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startWithPort starts a server on a fresh free port, retrying with another
// port if the process exits before it is ready (another process took the
// port in between).
func startWithPort(ctx context.Context, attempt func(port int) (*proc, error, bool)) (*proc, int, error) {
	var lastErr error
	for i := 0; i < 3; i++ {
		port, err := freePort()
		if err != nil {
			return nil, 0, err
		}
		p, err, retry := attempt(port)
		if err == nil {
			return p, port, nil
		}
		lastErr = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return nil, 0, lastErr
}

// waitReady polls ready every 50 ms until it succeeds, the process exits,
// the context ends or 60 s pass.
func waitReady(ctx context.Context, p *proc, ready func(context.Context) error) (err error, exited bool) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, cancel := context.WithTimeout(ctx, time.Second)
		err = ready(c)
		cancel()
		if err == nil {
			return nil, false
		}
		if !p.running() {
			return fmt.Errorf("%s exited before it was ready (%v); log:\n%s", p.name, p.waitErr, p.logTail()), true
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			_ = p.stop(syscall.SIGKILL, 5*time.Second)
			if ctx.Err() != nil {
				return ctx.Err(), false
			}
			return fmt.Errorf("%s not ready after 60s (%v); log:\n%s", p.name, err, p.logTail()), false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// commandOutput runs a short command and returns its trimmed output.
func commandOutput(dir, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	b, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// --- Redis-protocol servers: memimg and Redis ---

// respServer is a running memimgd or redis-server.
type respServer struct {
	p       *proc
	addr    string
	version string
}

func (s *respServer) Tree() procTree  { return procTree{pid: s.p.pid()} }
func (s *respServer) Version() string { return s.version }
func (s *respServer) Log() string     { return s.p.logTail() }
func (s *respServer) Stop() error     { return s.p.stop(syscall.SIGTERM, 30*time.Second) }
func (s *respServer) Open(ctx context.Context, clients int) (store, error) {
	return openRedisStore(ctx, s.addr, clients)
}

// startRESP starts a Redis-protocol server made by mk for a port and waits
// until it answers PING.
func startRESP(ctx context.Context, name, logPath string, mk func(port int) *exec.Cmd) (*respServer, error) {
	var addr string
	p, _, err := startWithPort(ctx, func(port int) (*proc, error, bool) {
		p, err := startProc(name, mk(port), logPath)
		if err != nil {
			return nil, err, false
		}
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		err, exited := waitReady(ctx, p, func(c context.Context) error { return pingRedis(c, addr) })
		return p, err, exited
	})
	if err != nil {
		return nil, err
	}
	return &respServer{p: p, addr: addr}, nil
}

// memimgSystem is memimgd, built from this repository.
type memimgSystem struct {
	root    string // module root
	bin     string // built binary, once Build ran
	version string // the commit it was built from
}

func (m *memimgSystem) Name() string { return "memimg" }

func (m *memimgSystem) Setting(d durability) string {
	if d == strict {
		return "--appendfsync always"
	}
	return "--appendfsync everysec"
}

func (m *memimgSystem) Check() error {
	if _, err := exec.LookPath("go"); err != nil {
		return &errMissing{"memimg: the go command is needed to build cmd/memimgd (see https://go.dev/dl)"}
	}
	if m.root == "" {
		return errors.New("memimg: cannot find the memimg module root (run from the repository)")
	}
	return nil
}

// Build compiles cmd/memimgd into dir.
func (m *memimgSystem) Build(dir string) error {
	out := filepath.Join(dir, "memimgd")
	// The commit is read before the build, as the binary is used for the
	// whole run while the repository may move on.
	m.version = m.Version()
	cmd := exec.Command("go", "build", "-o", out, "./cmd/memimgd")
	cmd.Dir = m.root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("memimg: go build ./cmd/memimgd: %v\n%s", err, b)
	}
	m.bin = out
	return nil
}

func (m *memimgSystem) Start(ctx context.Context, dir string, d durability, _ int) (server, error) {
	if m.bin == "" {
		if err := m.Build(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	fsync := "always"
	if d == relaxed {
		fsync = "everysec"
	}
	s, err := startRESP(ctx, "memimgd", filepath.Join(dir, "memimgd.log"), func(port int) *exec.Cmd {
		return exec.Command(m.bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--dir", data, "--appendfsync", fsync, "--loglevel", "notice")
	})
	if err != nil {
		return nil, err
	}
	s.version = m.version
	return s, nil
}

// Version is the repository's current commit (with "-dirty" for local
// changes).
func (m *memimgSystem) Version() string {
	v := commandOutput(m.root, "git", "describe", "--always", "--dirty")
	if v == "" {
		v = "unknown commit"
	}
	return "memimgd " + v
}

// redisSystem is Debian's redis-server.
type redisSystem struct{ bin string }

func (r *redisSystem) Name() string { return "redis" }

func (r *redisSystem) Setting(d durability) string {
	if d == strict {
		return "appendonly yes, appendfsync always"
	}
	return "appendonly yes, appendfsync everysec"
}

func (r *redisSystem) Check() error {
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return &errMissing{"redis: redis-server is not installed; install it with `apt-get install -y redis-server`"}
	}
	r.bin = p
	return nil
}

func (r *redisSystem) Start(ctx context.Context, dir string, d durability, maxClients int) (server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	fsync := "always"
	if d == relaxed {
		fsync = "everysec"
	}
	s, err := startRESP(ctx, "redis-server", filepath.Join(dir, "redis.log"), func(port int) *exec.Cmd {
		return exec.Command(r.bin,
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
			"--daemonize", "no", "--save", "", "--appendonly", "yes", "--appendfsync", fsync,
			"--auto-aof-rewrite-percentage", "0", "--maxclients", strconv.Itoa(maxClients+100))
	})
	if err != nil {
		return nil, err
	}
	s.version = commandOutput("", r.bin, "--version")
	return s, nil
}

// --- PostgreSQL ---

// postgresSystem is Debian's PostgreSQL: initdb and postgres from
// /usr/lib/postgresql/<version>/bin (the highest version installed), or
// from PATH.
type postgresSystem struct {
	binDir string
	// uid and gid the cluster runs as; set when the harness runs as root.
	cred *syscall.Credential
	user string
}

func (pg *postgresSystem) Name() string { return "postgres" }

func (pg *postgresSystem) Setting(d durability) string {
	if d == strict {
		return "synchronous_commit=on"
	}
	return "synchronous_commit=off"
}

const pgInstallHint = "postgres: PostgreSQL is not installed; install it with `apt-get install -y postgresql`"

func (pg *postgresSystem) Check() error {
	if pg.binDir == "" {
		pg.binDir = findPostgresBin()
	}
	if pg.binDir == "" {
		return &errMissing{pgInstallHint}
	}
	for _, b := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(pg.binDir, b)); err != nil {
			return &errMissing{fmt.Sprintf("postgres: %s/%s is missing; %s", pg.binDir, b, pgInstallHint)}
		}
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return &errMissing{"postgres: running as root needs the `postgres` user to run the cluster as (apt-get install -y postgresql creates it)"}
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
		pg.user = u.Username
	}
	return nil
}

// findPostgresBin returns the bin directory of the newest PostgreSQL under
// /usr/lib/postgresql, or the directory of initdb on PATH, or "".
func findPostgresBin() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool {
		vi, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(matches[i]))), 64)
		vj, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(matches[j]))), 64)
		return vi > vj
	})
	if len(matches) > 0 {
		return filepath.Dir(matches[0])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// pgCommand builds a command that runs as the cluster's user.
func (pg *postgresSystem) pgCommand(dir, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(pg.binDir, bin), args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + pg.binDir + ":/usr/bin:/bin", "LC_ALL=C", "LANG=C"}
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	return cmd
}

func (pg *postgresSystem) Start(ctx context.Context, dir string, d durability, maxClients int) (server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if pg.cred != nil {
		if err := os.Chown(dir, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
			return nil, err
		}
		// The cluster's user must be able to reach dir.
		if err := checkTraversable(dir, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
			return nil, fmt.Errorf("postgres: %v (use --tmpdir with a directory the %s user can reach)", err, pg.user)
		}
	}
	data := filepath.Join(dir, "data")
	initLog := filepath.Join(dir, "initdb.log")
	ip, err := startProc("initdb", pg.pgCommand(dir, "initdb", "-D", data, "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"), initLog)
	if err != nil {
		return nil, err
	}
	select {
	case <-ip.done:
	case <-ctx.Done():
		_ = ip.stop(syscall.SIGKILL, 5*time.Second)
		return nil, ctx.Err()
	}
	if ip.waitErr != nil {
		return nil, fmt.Errorf("postgres: initdb: %v; log:\n%s", ip.waitErr, tailFile(initLog, 30))
	}
	s := &pgServer{}
	synchronous := "on"
	if d == relaxed {
		synchronous = "off"
	}
	p, port, err := startWithPort(ctx, func(port int) (*proc, error, bool) {
		p, err := startProc("postgres", pg.pgCommand(dir, "postgres", "-D", data,
			"-c", "listen_addresses=127.0.0.1",
			"-c", "port="+strconv.Itoa(port),
			"-c", "unix_socket_directories="+dir,
			"-c", "synchronous_commit="+synchronous,
			"-c", "max_connections="+strconv.Itoa(maxClients+20),
			"-c", "logging_collector=off",
		), filepath.Join(dir, "postgres.log"))
		if err != nil {
			return nil, err, false
		}
		s.dsn = fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", port)
		err, exited := waitReady(ctx, p, func(c context.Context) error { return pingPostgres(c, s.dsn) })
		return p, err, exited
	})
	if err != nil {
		return nil, err
	}
	_ = port
	s.p = p
	if err := createPGSchema(ctx, s.dsn); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("postgres: create tables: %w", err)
	}
	s.version = commandOutput("", filepath.Join(pg.binDir, "postgres"), "--version")
	return s, nil
}

// checkTraversable checks that every directory from / down to dir can be
// searched by uid/gid (the other-x bit, or owner/group x for them).
func checkTraversable(dir string, uid, gid int) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		if ok {
			switch {
			case int(st.Uid) == uid && mode&0o100 != 0:
			case int(st.Gid) == gid && mode&0o010 != 0:
			case mode&0o001 != 0:
			default:
				return fmt.Errorf("directory %s (mode %v) cannot be entered by uid %d", d, mode, uid)
			}
		}
		if d == "/" || d == filepath.Dir(d) {
			return nil
		}
	}
}

// pgServer is a running PostgreSQL cluster.
type pgServer struct {
	p       *proc
	dsn     string
	version string
}

func (s *pgServer) Tree() procTree  { return procTree{pid: s.p.pid(), children: true} }
func (s *pgServer) Version() string { return s.version }
func (s *pgServer) Log() string     { return s.p.logTail() }

// Stop asks for a fast shutdown (SIGINT), then an immediate one (SIGQUIT),
// then kills the postmaster; its children exit when it is gone.
func (s *pgServer) Stop() error {
	if !s.p.running() {
		return nil
	}
	_ = syscall.Kill(s.p.pid(), syscall.SIGINT)
	select {
	case <-s.p.done:
		return nil
	case <-time.After(30 * time.Second):
	}
	return s.p.stop(syscall.SIGQUIT, 10*time.Second)
}

func (s *pgServer) Open(ctx context.Context, clients int) (store, error) {
	return openPGStore(ctx, s.dsn, clients)
}

// --- lookup ---

// allSystems returns the systems the harness knows, in report order.
func allSystems(root string) []system {
	return []system{&memimgSystem{root: root}, &redisSystem{}, &postgresSystem{}}
}

// systemNames are the names accepted by --systems.
var systemNames = []string{"memimg", "redis", "postgres"}

// moduleRoot finds the memimg module root: the directory of `go env GOMOD`
// if it holds cmd/memimgd, else the nearest parent of the working directory
// that does.
func moduleRoot() string {
	if b, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if p := strings.TrimSpace(string(b)); p != "" && p != os.DevNull {
			if fileExists(filepath.Join(filepath.Dir(p), "cmd", "memimgd")) {
				return filepath.Dir(p)
			}
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) && fileExists(filepath.Join(d, "cmd", "memimgd")) {
			return d
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
