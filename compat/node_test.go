package compat

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memimg/memimg/memimgtest"
)

// nodeTimeout bounds one run of compat/node/mixed.js; the script has its
// own global timeout (MIXED_TIMEOUT_MS, 60 s), this is the backstop.
const nodeTimeout = 2 * time.Minute

// TestNodeClient runs compat/node/mixed.js, a mixed workload with the
// node-redis client over RESP2 and RESP3, against a real redis-server (so
// the script's expectations are Redis's own behaviour) and against memimgd.
// It needs node and the script's packages (cd compat/node && npm ci);
// without them it is skipped, or fails if MEMIMG_REQUIRE_NODE=1 (as in CI).
func TestNodeClient(t *testing.T) {
	node, script := needNode(t)
	t.Run("redis", func(t *testing.T) {
		r := memimgtest.StartRedis(t)
		runNode(t, node, script, r.Addr)
	})
	t.Run("memimgd", func(t *testing.T) {
		srv := memimgtest.Start(t)
		runNode(t, node, script, srv.Addr)
		if !srv.Running() {
			t.Fatalf("memimgd exited during the node workload; log:\n%s", srv.Log())
		}
	})
}

// needNode returns the path of node and of mixed.js, or skips the test
// (fails it if MEMIMG_REQUIRE_NODE=1) when node or the installed packages
// are missing.
func needNode(t *testing.T) (node, script string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("node", "mixed.js"))
	if err != nil {
		t.Fatal(err)
	}
	var missing string
	node, err = exec.LookPath("node")
	if err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "redis", "package.json")); err != nil {
		missing = "compat/node/node_modules is missing"
	}
	if missing != "" {
		msg := missing + ": install with `cd compat/node && npm ci` (apt-get install nodejs npm for node)"
		if os.Getenv("MEMIMG_REQUIRE_NODE") == "1" {
			t.Fatal(msg + "; MEMIMG_REQUIRE_NODE=1 requires it")
		}
		t.Skip(msg)
	}
	return node, script
}

// runNode runs the script against addr and fails the test with its output
// unless it exits 0.
func runNode(t *testing.T, node, script, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, addr) // killed by its PID on timeout
	cmd.Dir = filepath.Dir(script)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node %s %s: killed after %v; output:\n%s", filepath.Base(script), addr, nodeTimeout, out.String())
	}
	if err != nil {
		t.Fatalf("node %s %s: %v after %v; output:\n%s", filepath.Base(script), addr, err, time.Since(start).Round(time.Millisecond), out.String())
	}
	t.Log(strings.TrimSpace(out.String()))
}
