// Package memimgtest starts real memimgd processes for tests, as
// net/http/httptest starts HTTP servers: each on a free loopback port, in a
// temporary data directory, stopped when the test ends.
//
//	func TestSomething(t *testing.T) {
//		srv := memimgtest.Start(t)                      // builds cmd/memimgd once per test binary
//		rdb := srv.Client()                             // go-redis v9, closed at cleanup
//		rdb.Set(ctx, "k", "v", 0)
//		srv.Kill()                                      // kill -9 by PID
//		srv.Restart()                                   // same data directory
//		out, err := memimgtest.RedisCLI(t, srv.Addr, "GET", "k")
//	}
//
// Servers are only ever signalled by their own PID (never pkill or
// killall). A server still running when its test ends is killed. The
// server's log is kept in a file in the test's temporary directory and is
// printed when the test fails.
package memimgtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long Start waits for the "ready" log line (the
// replay of a large log happens before it).
var StartTimeout = 60 * time.Second

// StopTimeout bounds how long Stop waits for the process to exit.
var StopTimeout = 30 * time.Second

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Build compiles cmd/memimgd once per test binary, into tmp/ at the module
// root, and returns the binary's absolute path.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { buildPath, buildErr = build() })
	if buildErr != nil {
		t.Fatalf("memimgtest: %v", buildErr)
	}
	return buildPath
}

func build() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "tmp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Test binaries of several packages build at once: each builds to its
	// own file and renames it into place, which never disturbs a binary
	// another test is running.
	out := filepath.Join(dir, "memimgd")
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, "./cmd/memimgd")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build ./cmd/memimgd: %v\n%s", err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	return out, nil
}

// moduleRoot finds the directory of go.mod: from `go env GOMOD`, or from
// this source file's location.
func moduleRoot() (string, error) {
	if b, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if p := strings.TrimSpace(string(b)); p != "" && p != os.DevNull {
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), "cmd", "memimgd")); err == nil {
				return filepath.Dir(p), nil
			}
		}
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot find the module root")
	}
	return filepath.Dir(filepath.Dir(file)), nil
}

// Option configures Start.
type Option func(*options)

type options struct {
	dir        string
	configFile string
	args       []string
	env        []string
	listening  bool
}

// WithDir uses dir as the data directory instead of a new temporary one.
func WithDir(dir string) Option { return func(o *options) { o.dir = dir } }

// WithArgs adds command-line arguments (after --port 0 --dir DIR, so they
// override them). The log level must stay at notice or below: Start reads
// the address from the "ready" notice.
func WithArgs(args ...string) Option { return func(o *options) { o.args = append(o.args, args...) } }

// WithConfigFile passes path as the config file (the first argument).
func WithConfigFile(path string) Option { return func(o *options) { o.configFile = path } }

// WithEnv adds environment variables ("NAME=value") to the server's
// environment, e.g. MEMIMG_TEST_SNAPSHOT_HOOK.
func WithEnv(kv ...string) Option { return func(o *options) { o.env = append(o.env, kv...) } }

// WhenListening makes Start (and Restart) return as soon as the server
// listens, before it has loaded its data set: until it is ready it answers
// every data command with -LOADING. WaitReady waits for the rest.
func WhenListening() Option { return func(o *options) { o.listening = true } }

// Server is a memimgd process started by Start.
type Server struct {
	process // Addr, Port, Dir (the data directory), Cmd, PID

	bin  string
	opts options

	readyLines int // "ready" lines in the log before the current run
}

// Start starts memimgd with --port 0 and a data directory (a new
// t.TempDir() unless WithDir), waits until it is ready and returns it. It
// fails the test if the server does not start.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := TryStart(t, opts...)
	if err != nil {
		t.Fatalf("memimgtest: %v", err)
	}
	return s
}

// TryStart is Start returning the error instead of failing the test, for
// tests of start-up failures. The server's output is in Log.
func TryStart(t testing.TB, opts ...Option) (*Server, error) {
	t.Helper()
	s := &Server{process: process{t: t}, bin: Build(t)}
	for _, o := range opts {
		o(&s.opts)
	}
	if lvl := logLevelArg(s.opts.args); lvl == "warning" || lvl == "nothing" {
		t.Fatalf("memimgtest: --loglevel %s hides the \"ready\" line Start waits for; use notice or lower", lvl)
	}
	s.Dir = s.opts.dir
	if s.Dir == "" {
		s.Dir = t.TempDir()
	}
	logDir := t.TempDir()
	s.logPath = filepath.Join(logDir, "memimgd.log")
	t.Cleanup(func() {
		s.closeClients()
		if s.Running() {
			s.kill()
		}
		if t.Failed() {
			t.Logf("memimgd log (%s):\n%s", s.logPath, s.Log())
		}
	})
	return s, s.start()
}

// logLevelArg returns the last --loglevel given in args, lower-cased.
func logLevelArg(args []string) string {
	lvl := ""
	for i, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "loglevel" {
			continue
		}
		if !hasVal && i+1 < len(args) {
			val = args[i+1]
		}
		lvl = strings.ToLower(val)
	}
	return lvl
}

// Args returns the command line the server runs with (without the binary).
func (s *Server) Args() []string {
	var args []string
	if s.opts.configFile != "" {
		args = append(args, s.opts.configFile)
	}
	args = append(args, "--port", "0", "--dir", s.Dir)
	return append(args, s.opts.args...)
}

var (
	readyRE     = regexp.MustCompile(`msg="ready to accept connections".* addr=(\S+)`)
	listeningRE = regexp.MustCompile(`msg="listening; loading the data set".* addr=(\S+)`)
)

func (s *Server) start() error {
	f, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	ready := make(chan string, 1)
	w := &logWriter{f: f, ready: ready, re: readyRE}
	if s.opts.listening {
		w.re = listeningRE
	}
	s.readyLines = countLines(s.Log(), readyRE)
	cmd := exec.Command(s.bin, s.Args()...)
	if len(s.opts.env) > 0 {
		cmd.Env = append(os.Environ(), s.opts.env...)
	}
	cmd.Stdout = w
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.Cmd, s.PID = cmd, cmd.Process.Pid
	s.done = make(chan struct{})
	s.waitErr = nil
	go func(done chan struct{}) {
		err := cmd.Wait()
		f.Close()
		s.waitErr = err
		close(done)
	}(s.done)

	timer := time.NewTimer(StartTimeout)
	defer timer.Stop()
	select {
	case addr := <-ready:
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			s.kill()
			return fmt.Errorf("bad address in ready line %q", addr)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		s.Port, _ = strconv.Atoi(port)
		s.Addr = net.JoinHostPort(host, port)
		return nil
	case <-s.done:
		return fmt.Errorf("memimgd exited before it was ready (%v); log:\n%s", s.waitErr, s.Log())
	case <-timer.C:
		s.kill()
		return fmt.Errorf("memimgd not ready after %v; log:\n%s", StartTimeout, s.Log())
	}
}

// logWriter copies the server's output to the log file and reports the
// address of the first "ready" line.
type logWriter struct {
	mu    sync.Mutex
	f     *os.File
	line  []byte
	ready chan string
	seen  bool
	re    *regexp.Regexp // the line to report
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.f.Write(p); err != nil {
		return 0, err
	}
	if w.seen {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		if m := w.re.FindSubmatch(w.line[:i]); m != nil {
			w.seen = true
			w.ready <- string(m[1])
			w.line = nil
			break
		}
		w.line = w.line[i+1:]
	}
	return len(p), nil
}

// Log returns the server's output so far (of every run of this Server).
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("<no log: %v>", err)
	}
	return string(b)
}

// WaitReady waits until the current run of the server has logged that it
// is ready (after Start with WhenListening), for up to StartTimeout, and
// fails the test otherwise.
func (s *Server) WaitReady() {
	s.t.Helper()
	deadline := time.Now().Add(StartTimeout)
	for countLines(s.Log(), readyRE) <= s.readyLines {
		if !s.Running() {
			s.t.Fatalf("memimgtest: memimgd exited before it was ready (%v); log:\n%s", s.waitErr, s.Log())
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("memimgtest: memimgd not ready after %v; log:\n%s", StartTimeout, s.Log())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countLines(text string, re *regexp.Regexp) int {
	return len(re.FindAllStringIndex(text, -1))
}

// Stop sends SIGTERM (by PID), waits for the process to exit and fails the
// test unless it exits with code 0.
func (s *Server) Stop() {
	s.t.Helper()
	if code := s.Terminate(); code != 0 {
		s.t.Fatalf("memimgtest: memimgd exited with code %d after SIGTERM; log:\n%s", code, s.Log())
	}
}

// Terminate sends SIGTERM (by PID), waits for the exit and returns the exit
// code; the test fails if the process does not exit within StopTimeout.
func (s *Server) Terminate() int {
	s.t.Helper()
	s.closeClients()
	if !s.Running() {
		return s.ExitCode()
	}
	_ = syscall.Kill(s.PID, syscall.SIGTERM)
	return s.Wait()
}

// Wait waits for the process to exit (within StopTimeout, else the test
// fails and the process is killed) and returns its exit code.
func (s *Server) Wait() int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(StopTimeout):
		s.kill()
		s.t.Fatalf("memimgtest: memimgd (pid %d) did not exit within %v; killed; log:\n%s", s.PID, StopTimeout, s.Log())
	}
	return s.ExitCode()
}

// ExitCode is the exit code of the process once it has exited, -1 if it was
// killed by a signal or is still running.
func (s *Server) ExitCode() int {
	if s.Running() || s.Cmd == nil || s.Cmd.ProcessState == nil {
		return -1
	}
	return s.Cmd.ProcessState.ExitCode()
}

// Restart stops the server if it is running (SIGTERM, exit 0 expected) and
// starts it again on the same data directory, with the same arguments; the
// port may change. Clients from Client are closed: ask for new ones.
func (s *Server) Restart() {
	s.t.Helper()
	if s.Running() {
		s.Stop()
	}
	s.closeClients()
	if err := s.start(); err != nil {
		s.t.Fatalf("memimgtest: restart: %v", err)
	}
}

// RedisCLI runs the real redis-cli against addr ("host:port") with args and
// returns its output (stdout and stderr). The test is skipped if redis-cli
// is not installed, unless the environment has CI=true, where it fails.
func RedisCLI(t testing.TB, addr string, args ...string) (string, error) {
	t.Helper()
	return RedisCLIInput(t, addr, "", args...)
}

// RedisCLIInput is RedisCLI with input piped to redis-cli's standard input,
// as in `printf 'SET a 1\nGET a\n' | redis-cli`.
func RedisCLIInput(t testing.TB, addr, input string, args ...string) (string, error) {
	t.Helper()
	bin := NeedRedisCLI(t)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("memimgtest: address %q: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-h", host, "-p", port}, args...)...)
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err = cmd.Run()
	return out.String(), err
}

// NeedRedisCLI returns the path of redis-cli, or skips the test (fails it if
// CI=true) when it is not installed.
func NeedRedisCLI(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-cli")
	if err != nil {
		msg := "redis-cli is not installed (apt-get install redis-tools)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// Lines returns the non-empty lines of redis-cli output.
func Lines(out string) []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
