package memimgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/memimg/memimg/memimgtest"
)

func TestServerLifecycle(t *testing.T) {
	ctx := context.Background()
	srv := memimgtest.Start(t)
	if !strings.HasPrefix(srv.Addr, "127.0.0.1:") || srv.Port == 0 || srv.PID == 0 || !srv.Running() {
		t.Fatalf("server: %+v", srv)
	}
	if err := srv.Client().Ping(ctx).Err(); err != nil {
		t.Fatalf("PING: %v", err)
	}
	pid := srv.PID
	srv.Kill()
	if srv.Running() || srv.ExitCode() != -1 {
		t.Errorf("after Kill: running %v, exit code %d", srv.Running(), srv.ExitCode())
	}
	srv.Restart()
	if srv.PID == pid || !srv.Running() {
		t.Errorf("Restart: pid %d (was %d), running %v", srv.PID, pid, srv.Running())
	}
	if err := srv.Client().Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after restart: %v", err)
	}
	srv.Stop()
	if srv.ExitCode() != 0 {
		t.Errorf("exit code %d", srv.ExitCode())
	}
	if !strings.Contains(srv.Log(), "memimgd stopped") {
		t.Errorf("log:\n%s", srv.Log())
	}
}

func TestRedisCLI(t *testing.T) {
	srv := memimgtest.Start(t)
	out, err := memimgtest.RedisCLI(t, srv.Addr, "PING")
	if err != nil || out != "PONG\n" {
		t.Errorf("redis-cli PING: %q, %v", out, err)
	}
	out, err = memimgtest.RedisCLIInput(t, srv.Addr, "PING\nECHO hi\n")
	if lines := memimgtest.Lines(out); err != nil || len(lines) != 2 || lines[1] != "hi" {
		t.Errorf("piped: %q, %v", out, err)
	}
}
