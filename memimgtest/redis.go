package memimgtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RedisStartTimeout bounds how long StartRedis waits for redis-server to
// answer PING.
var RedisStartTimeout = 20 * time.Second

// Redis is a real redis-server process started by StartRedis, for
// differential tests against memimgd.
type Redis struct {
	process // Addr, Port, Dir (a t.TempDir()), Cmd, PID
}

// NeedRedisServer returns the path of redis-server, or skips the test
// (fails it if CI=true) when it is not installed.
func NeedRedisServer(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed (apt-get install redis-server)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true requires it")
		}
		t.Skip(msg + "; tests against Redis skipped")
	}
	return p
}

// StartRedis starts redis-server on a free port of 127.0.0.1, with a new
// t.TempDir() as its working directory and no persistence
// ("--save", "", "--appendonly", "no"), waits until it answers PING and returns it.
// args are added after the defaults, so they override them (for example
// StartRedis(t, "--appendonly", "yes")). The server is killed by its PID
// when the test ends; its log is printed if the test failed.
//
// The test is skipped if redis-server is not installed, unless the
// environment has CI=true, where it fails.
func StartRedis(t testing.TB, args ...string) *Redis {
	t.Helper()
	bin := NeedRedisServer(t)
	r := &Redis{process: process{t: t, Dir: t.TempDir()}}
	r.logPath = filepath.Join(r.Dir, "redis.log")
	t.Cleanup(func() {
		r.closeClients()
		r.kill()
		if t.Failed() {
			t.Logf("redis-server log (%s):\n%s", r.logPath, r.Log())
		}
	})
	// The free port is found by listening on port 0 and closing the
	// listener, so another process may take it before redis-server binds
	// it: then redis-server exits, or (if the other process is a server
	// too) PING answers with someone else's process_id. Try again.
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var retry bool
		if retry, err = r.start(bin, args); err == nil {
			return r
		}
		r.kill()
		if !retry {
			break
		}
	}
	t.Fatalf("memimgtest: redis-server: %v", err)
	return nil
}

// start runs one attempt; retry reports whether another port may help.
func (r *Redis) start(bin string, extra []string) (retry bool, err error) {
	port, err := freePort()
	if err != nil {
		return false, err
	}
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", r.Dir, "--daemonize", "no",
		"--save", "", "--appendonly", "no",
		"--logfile", "", "--loglevel", "notice",
	}
	args = append(args, extra...)
	f, err := os.OpenFile(r.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return false, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = r.Dir
	cmd.Stdout = f
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		f.Close()
		return false, fmt.Errorf("start %s: %w", bin, err)
	}
	r.Cmd, r.PID = cmd, cmd.Process.Pid
	r.Port = port
	r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	r.done = make(chan struct{})
	r.waitErr = nil
	go func(done chan struct{}) {
		err := cmd.Wait()
		f.Close()
		r.waitErr = err
		close(done)
	}(r.done)

	deadline := time.Now().Add(RedisStartTimeout)
	for {
		pid, err := redisPID(r.Addr)
		switch {
		case err == nil && pid == r.PID:
			return false, nil
		case err == nil:
			return true, fmt.Errorf("port %d answered by another server (pid %d)", port, pid)
		}
		select {
		case <-r.done:
			log := r.Log()
			return strings.Contains(log, "in use"), fmt.Errorf("redis-server exited before it was ready (%v); log:\n%s", r.waitErr, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("redis-server not ready after %v (%v); log:\n%s", RedisStartTimeout, err, r.Log())
		}
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// redisPID sends PING then INFO server to addr and returns the server's
// process_id.
func redisPID(addr string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")); err != nil {
		return 0, err
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if line != "+PONG\r\n" {
		return 0, fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	line, err = br.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if !strings.HasPrefix(line, "$") {
		return 0, fmt.Errorf("INFO answered %q", strings.TrimSpace(line))
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("INFO answered %q", strings.TrimSpace(line))
	}
	body := make([]byte, n+2)
	if _, err := io.ReadFull(br, body); err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("INFO server has no process_id")
}

// Log returns the server's output so far.
func (r *Redis) Log() string {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return fmt.Sprintf("<no log: %v>", err)
	}
	return string(b)
}

// Stop sends SIGTERM (by PID) and waits for the process to exit (killing
// it after StopTimeout).
func (r *Redis) Stop() {
	r.t.Helper()
	r.closeClients()
	if !r.Running() {
		return
	}
	_ = syscall.Kill(r.PID, syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(StopTimeout):
		r.kill()
		r.t.Errorf("memimgtest: redis-server (pid %d) did not exit within %v; killed", r.PID, StopTimeout)
	}
}
