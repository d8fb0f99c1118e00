package memimgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/memimg/memimg/memimgtest"
)

func TestStartRedis(t *testing.T) {
	ctx := context.Background()
	r := memimgtest.StartRedis(t, "--databases", "3")
	if !strings.HasPrefix(r.Addr, "127.0.0.1:") || r.Port == 0 || r.PID == 0 || !r.Running() {
		t.Fatalf("redis: %+v", r)
	}
	rdb := r.Client()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING: %v", err)
	}
	for opt, want := range map[string]string{"databases": "3", "save": "", "appendonly": "no", "bind": "127.0.0.1"} {
		got, err := rdb.ConfigGet(ctx, opt).Result()
		if err != nil || got[opt] != want {
			t.Errorf("CONFIG GET %s = %v, %v; want %q", opt, got, err, want)
		}
	}
	// Two servers at once get different ports.
	r2 := memimgtest.StartRedis(t)
	if r2.Port == r.Port || r2.PID == r.PID {
		t.Errorf("second server: port %d pid %d, first: port %d pid %d", r2.Port, r2.PID, r.Port, r.PID)
	}
	r.Kill()
	if r.Running() {
		t.Error("running after Kill")
	}
	r2.Stop()
	if r2.Running() {
		t.Error("running after Stop")
	}
	if !strings.Contains(r2.Log(), "Ready to accept connections") {
		t.Errorf("log:\n%s", r2.Log())
	}
}
