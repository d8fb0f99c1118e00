package main

// Cluster tests: real memimgd processes on loopback forming a Raft cluster
// (ports chosen at run time, data in temp dirs, killed by PID). They check
// the promises of replication/doc.go and docs/operations.md: writes through
// any node, a leader killed with SIGKILL under load loses no acknowledged
// write, every node converges to the same MEMIMG.DIGEST, reads are
// linearizable (porcupine, internal/lincheck), and bad joins are refused.

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/internal/lincheck"
	"github.com/memimg/memimg/memimgtest"
	"github.com/memimg/memimg/schema"
)

var clusterDuration = flag.Duration("cluster.duration", 0,
	"TestClusterLinearizable's long form: repeat the faults (leader kill, follower pause, follower kill) for this long; 0 runs one round")

// quietRedisLog drops go-redis' lines about failing dials, which killing
// cluster nodes on purpose causes many of.
type quietRedisLog struct{}

func (quietRedisLog) Printf(_ context.Context, format string, v ...any) {
	if msg := fmt.Sprintf(format, v...); !strings.Contains(msg, "failed to dial") {
		log.Print(msg)
	}
}

func init() { redis.SetLogger(quietRedisLog{}) }

// freeRaftAddr returns a loopback address whose port is free right now.
func freeRaftAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// clusterNode is one member: its process and its cluster arguments.
type clusterNode struct {
	id  string
	srv *memimgtest.Server
}

// startCluster starts n nodes: the first bootstraps, the others join it.
// It waits until every node sees n members and a leader.
func startCluster(t *testing.T, n int, extra ...string) []*clusterNode {
	t.Helper()
	var nodes []*clusterNode
	for i := range n {
		id := fmt.Sprintf("n%d", i+1)
		args := []string{"--cluster-node-id", id, "--cluster-addr", freeRaftAddr(t)}
		if i == 0 {
			args = append(args, "--cluster-bootstrap")
		} else {
			args = append(args, "--cluster-join", nodes[0].srv.Addr)
		}
		args = append(args, extra...)
		srv := memimgtest.Start(t, memimgtest.WithArgs(args...))
		nodes = append(nodes, &clusterNode{id: id, srv: srv})
		if i == 0 {
			waitMembers(t, nodes[:1], 1)
		}
	}
	waitMembers(t, nodes, n)
	return nodes
}

// waitMembers waits until every running node lists want members, all with
// client addresses, and agrees on a leader.
func waitMembers(t *testing.T, nodes []*clusterNode, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		for _, nd := range nodes {
			if !nd.srv.Running() {
				continue
			}
			rows, err := nd.srv.Client().Do(context.Background(), "memimg.cluster", "members").Slice()
			leaders := 0
			if err == nil && len(rows) == want {
				for _, r := range rows {
					f := r.([]any)
					if f[2] == "" {
						ok = false
					}
					if f[4] == "leader" {
						leaders++
					}
				}
			}
			if err != nil || len(rows) != want || leaders != 1 {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for _, nd := range nodes {
				if nd.srv.Running() {
					rows, err := nd.srv.Client().Do(context.Background(), "memimg.cluster", "members").Result()
					t.Logf("%s: %v %v", nd.id, rows, err)
				}
			}
			t.Fatalf("the cluster did not reach %d members with a leader", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leaderOf returns the index in nodes of the leader, as running nodes see it.
func leaderOf(t *testing.T, nodes []*clusterNode) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, nd := range nodes {
			if !nd.srv.Running() {
				continue
			}
			v, err := nd.srv.Client().Do(context.Background(), "memimg.cluster", "leader").Slice()
			if err != nil || len(v) == 0 {
				continue
			}
			for i, x := range nodes {
				if x.id == v[0] && x.srv.Running() {
					return i
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no leader")
	return -1
}

// waitConverged waits until the running nodes have applied the same index
// and returns their common digest.
func waitConverged(t *testing.T, nodes []*clusterNode) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var digests []string
		for _, nd := range nodes {
			rdb := nd.srv.Client()
			// A linearizable read through every node: each sees every
			// write acknowledged so far; then its own image's digest.
			d, err := rdb.Do(context.Background(), "memimg.digest").Text()
			if err != nil {
				digests = append(digests, "error: "+err.Error())
				continue
			}
			digests = append(digests, d)
		}
		same := true
		for _, d := range digests[1:] {
			same = same && d == digests[0]
		}
		if same && !strings.HasPrefix(digests[0], "error") {
			return digests[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes did not converge: digests %v", digests)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterKillLeaderUnderLoad: writers spread over all three nodes
// (followers forward to the leader); the leader is killed with SIGKILL
// and restarted; every acknowledged write is on every node afterwards and
// the digests agree.
func TestClusterKillLeaderUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three memimgd")
	}
	nodes := startCluster(t, 3)
	var addrs atomic.Pointer[[]string]
	setAddrs := func() {
		a := make([]string, len(nodes))
		for i, nd := range nodes {
			a[i] = nd.srv.Addr
		}
		addrs.Store(&a)
	}
	setAddrs()

	const writers = 6
	var stop atomic.Bool
	var mu sync.Mutex
	acked := map[string]string{}
	var failures atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clients := map[string]*redis.Client{}
			defer func() {
				for _, c := range clients {
					c.Close()
				}
			}()
			for i := 0; i < 20000 && !stop.Load(); i++ {
				a := (*addrs.Load())[(w+i)%len(nodes)]
				c := clients[a]
				if c == nil {
					c = redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1, DialTimeout: time.Second,
						ReadTimeout: 15 * time.Second, PoolSize: 1})
					clients[a] = c
				}
				k, v := fmt.Sprintf("w%d:%d", w, i), fmt.Sprintf("v%d", i)
				if err := c.Set(context.Background(), k, v, 0).Err(); err != nil {
					failures.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				mu.Lock()
				acked[k] = v
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	li := leaderOf(t, nodes)
	t.Logf("killing the leader %s (pid %d)", nodes[li].id, nodes[li].srv.PID)
	nodes[li].srv.Kill()
	time.Sleep(1500 * time.Millisecond)
	nl := leaderOf(t, nodes)
	t.Logf("new leader %s", nodes[nl].id)
	nodes[li].srv.Restart()
	setAddrs()
	time.Sleep(time.Second)
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d writes acknowledged, %d failed (during the failover)", len(acked), failures.Load())
	if len(acked) < 100 {
		t.Fatalf("only %d writes acknowledged", len(acked))
	}
	waitMembers(t, nodes, 3)
	digest := waitConverged(t, nodes)
	for _, nd := range nodes {
		rdb := nd.srv.Client()
		if err := rdb.Do(context.Background(), "readonly").Err(); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(acked))
		for k := range acked {
			keys = append(keys, k)
		}
		for start := 0; start < len(keys); start += 1000 {
			batch := keys[start:min(len(keys), start+1000)]
			vals, err := rdb.MGet(context.Background(), batch...).Result()
			if err != nil {
				t.Fatalf("%s: MGET: %v", nd.id, err)
			}
			for i, k := range batch {
				if vals[i] != acked[k] {
					t.Fatalf("%s: acknowledged %s=%s is %v", nd.id, k, acked[k], vals[i])
				}
			}
		}
	}
	t.Logf("every acknowledged write on every node; digest %s", digest)
}

// TestClusterLinearizable: concurrent clients on every node run a recorded
// SET/GET/INCR history while the leader is killed and restarted and a
// follower is paused with SIGSTOP; porcupine must find it linearizable.
// One round of faults by default; the long form repeats them:
//
//	go test ./cmd/memimgd/ -run TestClusterLinearizable -cluster.duration=5m -timeout 30m
func TestClusterLinearizable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three memimgd")
	}
	nodes := startCluster(t, 3)
	var addrs atomic.Pointer[[]string]
	setAddrs := func() {
		a := make([]string, len(nodes))
		for i, nd := range nodes {
			a[i] = nd.srv.Addr
		}
		addrs.Store(&a)
	}
	setAddrs()
	defer func() {
		for _, nd := range nodes {
			if nd.srv.Running() {
				_ = syscall.Kill(nd.srv.PID, syscall.SIGCONT)
			}
		}
	}()
	rec := lincheck.NewRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &lincheck.Workload{
		Addr:     func(c int) string { a := *addrs.Load(); return a[c%len(a)] },
		Clients:  9,
		Keys:     4,
		Rotate:   2 * time.Second,
		Duration: 30*time.Second + 2**clusterDuration,
		Seed:     uint64(time.Now().UnixNano()),
		Timeout:  2 * time.Second,
		Recorder: rec,
		Rejected: func(err error) bool {
			for _, p := range []string{"LOADING", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN"} {
				if strings.HasPrefix(err.Error(), p) {
					return true
				}
			}
			return false
		},
	}
	t.Logf("seed %d", w.Seed)
	done := make(chan *lincheck.Result, 1)
	go func() {
		res, err := w.Run(ctx)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	start := time.Now()
	rounds := 0
	for rounds == 0 || time.Since(start) < *clusterDuration {
		rounds++
		time.Sleep(time.Second)
		// Kill the leader with SIGKILL, restart it.
		li := leaderOf(t, nodes)
		nodes[li].srv.Kill()
		time.Sleep(1500 * time.Millisecond)
		nodes[li].srv.Restart()
		setAddrs()
		time.Sleep(time.Second)
		// Pause a follower longer than the clients' timeout.
		fi := (leaderOf(t, nodes) + 1) % len(nodes)
		if err := syscall.Kill(nodes[fi].srv.PID, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
		if err := syscall.Kill(nodes[fi].srv.PID, syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		if rounds%2 == 0 {
			// Kill a follower too.
			fi := (leaderOf(t, nodes) + 2) % len(nodes)
			nodes[fi].srv.Kill()
			time.Sleep(500 * time.Millisecond)
			nodes[fi].srv.Restart()
			setAddrs()
		}
	}
	time.Sleep(1500 * time.Millisecond)
	cancel()
	t.Logf("%d rounds of faults", rounds)
	res := <-done
	if res == nil {
		t.Fatal("no result")
	}
	t.Logf("%v", res)
	for msg := range res.ErrorReplies {
		if !strings.Contains(msg, "outcome is unknown") {
			t.Errorf("unexpected error reply: %q ×%d", msg, res.ErrorReplies[msg])
		}
	}
	if res.OK < 100 {
		t.Fatalf("only %d operations had a reply", res.OK)
	}
	result := lincheck.Check(res.History, time.Minute)
	t.Logf("porcupine: %v", result)
	if result == porcupine.Illegal {
		failures, info := lincheck.Diagnose(res.History, time.Minute)
		for _, f := range failures {
			t.Errorf("%v", f)
		}
		path := fmt.Sprintf("/tmp/lincheck-cluster-%d.html", time.Now().UnixNano())
		if err := lincheck.Visualize(path, info); err == nil {
			t.Logf("visualization: %s", path)
		}
		t.Fatal("the history is not linearizable")
	}
}

// TestClusterBadJoins: a duplicate node id and a node with data are
// refused with a clear error; a node of another cluster, and one given a
// --cluster-join address where nothing answers, shut down; the cluster is
// unharmed.
func TestClusterBadJoins(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memimgd")
	}
	nodes := startCluster(t, 2)
	seed := nodes[0].srv.Addr

	dup, err := memimgtest.TryStart(t, memimgtest.WithArgs("--cluster-node-id", "n2", "--cluster-addr", freeRaftAddr(t), "--cluster-join", seed))
	if err == nil {
		if code := dup.Wait(); code != 1 {
			t.Fatalf("a duplicate node id: exit code %d, want 1", code)
		}
	}
	if !strings.Contains(dup.Log(), "node id n2 is already a member") {
		t.Fatalf("a duplicate node id: log:\n%s", dup.Log())
	}

	// A wrong --cluster-join address (nothing answers there): the node
	// retries for --cluster-join-timeout, then exits 1 saying so.
	wrong, err := memimgtest.TryStart(t, memimgtest.WithArgs("--cluster-node-id", "n7", "--cluster-addr", freeRaftAddr(t),
		"--cluster-join", freeRaftAddr(t), "--cluster-join-timeout", "1s"))
	if err == nil {
		if code := wrong.Wait(); code != 1 {
			t.Fatalf("a wrong --cluster-join address: exit code %d, want 1", code)
		}
	}
	if !strings.Contains(wrong.Log(), "cannot join the cluster; giving up") {
		t.Fatalf("a wrong --cluster-join address: log:\n%s", wrong.Log())
	}

	// A standalone data directory cannot join (it would bring data the
	// cluster does not have); it can bootstrap a new cluster instead.
	solo := memimgtest.Start(t)
	if err := solo.Client().Set(context.Background(), "mine", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	solo.Stop()
	withData, err := memimgtest.TryStart(t, memimgtest.WithDir(solo.Dir), memimgtest.WithArgs("--cluster-node-id", "n9", "--cluster-addr", freeRaftAddr(t), "--cluster-join", seed))
	if err == nil {
		t.Fatal("a node with data started with --cluster-join")
	}
	if !strings.Contains(withData.Log(), "holds data") {
		t.Fatalf("a node with data: log:\n%s", withData.Log())
	}

	// The member of another cluster: bootstrap one, stop it, start it
	// with --cluster-join to the first cluster.
	other := memimgtest.Start(t, memimgtest.WithArgs("--cluster-node-id", "o1", "--cluster-addr", freeRaftAddr(t), "--cluster-bootstrap"))
	waitMembers(t, []*clusterNode{{id: "o1", srv: other}}, 1)
	other.Stop()
	stranger, err := memimgtest.TryStart(t, memimgtest.WithDir(other.Dir), memimgtest.WithArgs("--cluster-node-id", "o1", "--cluster-addr", freeRaftAddr(t), "--cluster-join", seed))
	if err == nil {
		if code := stranger.Wait(); code != 1 {
			t.Fatalf("a node of another cluster: exit code %d, want 1", code)
		}
	}
	if !strings.Contains(stranger.Log(), "belongs to another cluster") {
		t.Fatalf("a node of another cluster: log:\n%s", stranger.Log())
	}

	// The cluster still works.
	if err := nodes[1].srv.Client().Set(context.Background(), "after", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, nodes, 2)
}

// TestClusterJoinDuringFirstElection: nodes started right after the
// bootstrapping one, before it has elected itself (a script starting all
// three at once), wait for the election and join; none gives up.
func TestClusterJoinDuringFirstElection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memimgd")
	}
	first := &clusterNode{id: "n1", srv: memimgtest.Start(t, memimgtest.WithArgs(
		"--cluster-node-id", "n1", "--cluster-addr", freeRaftAddr(t), "--cluster-bootstrap"))}
	nodes := []*clusterNode{first}
	for _, id := range []string{"n2", "n3"} {
		srv := memimgtest.Start(t, memimgtest.WithArgs(
			"--cluster-node-id", id, "--cluster-addr", freeRaftAddr(t), "--cluster-join", first.srv.Addr))
		nodes = append(nodes, &clusterNode{id: id, srv: srv})
	}
	waitMembers(t, nodes, 3)
	for _, n := range nodes[1:] {
		if log := n.srv.Log(); strings.Contains(log, "refused this node") {
			t.Fatalf("%s gave up joining:\n%s", n.id, log)
		}
	}
}

// TestClusterFromStandalone: a standalone memimgd's data directory becomes
// the first node of a cluster with --cluster-bootstrap, keeping its data;
// a voter and a non-voter join and receive it; the non-voter applies the
// log without counting for the quorum.
func TestClusterFromStandalone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memimgd")
	}
	ctx := context.Background()
	solo := memimgtest.Start(t)
	rdb := solo.Client()
	for i := range 200 {
		if err := rdb.Set(ctx, fmt.Sprint("old:", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	rdb.RPush(ctx, "list", "a", "b")
	want := rdb.Do(ctx, "memimg.digest").Val()
	solo.Stop()

	first := memimgtest.Start(t, memimgtest.WithDir(solo.Dir),
		memimgtest.WithArgs("--cluster-node-id", "n1", "--cluster-addr", freeRaftAddr(t), "--cluster-bootstrap"))
	nodes := []*clusterNode{{id: "n1", srv: first}}
	waitMembers(t, nodes, 1)
	if got := first.Client().Do(ctx, "memimg.digest").Val(); got != want {
		t.Fatalf("after bootstrap the digest is %v, want the standalone %v", got, want)
	}
	voter := memimgtest.Start(t, memimgtest.WithArgs("--cluster-node-id", "n2", "--cluster-addr", freeRaftAddr(t), "--cluster-join", first.Addr))
	nonvoter := memimgtest.Start(t, memimgtest.WithArgs("--cluster-node-id", "r1", "--cluster-addr", freeRaftAddr(t), "--cluster-join", first.Addr, "--cluster-nonvoter"))
	nodes = append(nodes, &clusterNode{id: "n2", srv: voter}, &clusterNode{id: "r1", srv: nonvoter})
	waitMembers(t, nodes, 3)
	rows, err := first.Client().Do(ctx, "memimg.cluster", "members").Slice()
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, r := range rows {
		f := r.([]any)
		roles[f[0].(string)] = f[3].(string)
	}
	if roles["n1"] != "voter" || roles["n2"] != "voter" || roles["r1"] != "nonvoter" {
		t.Fatalf("roles %v", roles)
	}
	if got := waitConverged(t, nodes); got != want {
		t.Fatalf("converged on %s, want the standalone digest %s", got, want)
	}
	// A write through the non-voter reaches everyone; READONLY reads it back
	// from the non-voter's own image once applied.
	if err := nonvoter.Client().Set(ctx, "new", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v := voter.Client().Get(ctx, "new").Val(); v != "1" {
		t.Fatalf("GET new on n2 = %q", v)
	}
	if v := nonvoter.Client().Get(ctx, "old:7").Val(); v != "7" {
		t.Fatalf("GET old:7 on the non-voter = %q", v)
	}
	// The quorum is n1 and n2: with the non-voter stopped, writes go on.
	nonvoter.Kill()
	if err := first.Client().Set(ctx, "without-r1", "1", 0).Err(); err != nil {
		t.Fatalf("a write with the non-voter down: %v", err)
	}
	if n := first.Client().Do(ctx, "wait", "1", "0").Val(); n != int64(1) {
		t.Fatalf("WAIT 1 0 = %v, want 1 (one other voter of two)", n)
	}
}

// TestClusterWait: WAIT numreplicas timeout with Redis's meaning, through
// the leader and through a follower: it counts the other members whose log
// holds the connection's writes, waits for a stopped follower until its
// timeout (answering the count it has), and wakes when the follower is
// back.
func TestClusterWait(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three memimgd")
	}
	ctx := context.Background()
	nodes := startCluster(t, 3)
	li := leaderOf(t, nodes)
	leader := nodes[li].srv.Client()
	fol := nodes[(li+1)%3]
	other := nodes[(li+2)%3]
	wait := func(c *redis.Client, n, ms int) (int64, time.Duration) {
		t.Helper()
		start := time.Now()
		v, err := c.Do(ctx, "wait", n, ms).Int64()
		if err != nil {
			t.Fatalf("WAIT %d %d: %v", n, ms, err)
		}
		return v, time.Since(start)
	}
	if err := leader.Set(ctx, "a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := wait(leader, 2, 5000); n != 2 {
		t.Fatalf("WAIT 2 5000 on the leader with both followers up = %d, want 2", n)
	}
	// Through a follower: its write is forwarded; both other members
	// (itself and the other follower) come to hold it.
	if err := fol.srv.Client().Set(ctx, "b", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := wait(fol.srv.Client(), 2, 5000); n != 2 {
		t.Fatalf("WAIT 2 5000 on a follower = %d, want 2", n)
	}

	// One follower stopped: a write commits on the other; WAIT 1 answers
	// at once, WAIT 2 waits its timeout out and answers 1.
	if err := syscall.Kill(other.srv.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			_ = syscall.Kill(other.srv.PID, syscall.SIGCONT)
		}
	}()
	if err := leader.Set(ctx, "c", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := wait(leader, 1, 0); n != 1 {
		t.Fatalf("WAIT 1 0 with a follower stopped = %d, want 1", n)
	}
	if n, took := wait(leader, 2, 300); n != 1 || took < 300*time.Millisecond {
		t.Fatalf("WAIT 2 300 with a follower stopped = %d after %v, want 1 after 300ms", n, took)
	}
	// WAIT 2 0 (no limit) returns once the follower is back.
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = syscall.Kill(other.srv.PID, syscall.SIGCONT)
	}()
	n, took := wait(leader, 2, 0)
	stopped = false
	if n != 2 || took < 200*time.Millisecond {
		t.Fatalf("WAIT 2 0 across the follower's pause = %d after %v, want 2 after it resumed", n, took)
	}
	if _, err := leader.Do(ctx, "wait", "x", "0").Result(); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Fatalf("WAIT x 0: %v", err)
	}
}

// TestClusterFollowerKeepsOrder: a connection's pipelined writes on a
// follower reach the leader in its order (the follower forwards them in
// groups, one request at a time), while other connections write too.
func TestClusterFollowerKeepsOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three memimgd")
	}
	ctx := context.Background()
	nodes := startCluster(t, 3)
	li := leaderOf(t, nodes)
	fol := nodes[(li+1)%3].srv
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rdb := fol.Client()
			for round := range 5 {
				p := rdb.Pipeline()
				for i := range 100 {
					p.RPush(ctx, fmt.Sprintf("list:%d", c), round*100+i)
				}
				if _, err := p.Exec(ctx); err != nil {
					t.Errorf("client %d: %v", c, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	leader := nodes[li].srv.Client()
	for c := range 4 {
		got, err := leader.LRange(ctx, fmt.Sprintf("list:%d", c), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 500 {
			t.Fatalf("list:%d has %d elements, want 500", c, len(got))
		}
		for i, v := range got {
			if v != strconv.Itoa(i) {
				t.Fatalf("list:%d[%d] = %s: a pipelined write overtook an earlier one", c, i, v)
			}
		}
	}
}

// TestClusterProposeRefusesBadPayloads: memimg.propose (what followers
// send the leader) is open to any connection in a cluster, so the leader
// checks each payload as it checks a client's write: garbage, a read, an
// entry only a leader makes, a missing database and bad arguments are
// refused and never reach the log, which still replays after a restart.
func TestClusterProposeRefusesBadPayloads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memimgd")
	}
	ctx := context.Background()
	nodes := startCluster(t, 1)
	c := nodes[0].srv.Client()
	enc := func(db int, args ...string) string {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		return string(schema.EncodeCommand(nil, db, argv))
	}
	for _, bad := range []string{"x", enc(0, "GET", "k"), enc(0, "memimg.noop"),
		string(schema.EncodeBatch(nil, [][]byte{[]byte(enc(0, "SET", "k", "v"))})), enc(99, "SET", "k", "v"), enc(0, "SET", "k")} {
		err := c.Do(ctx, "memimg.propose", bad).Err()
		if err == nil || !strings.Contains(err.Error(), "invalid forwarded write") {
			t.Fatalf("memimg.propose %q: %v, want a refusal", bad, err)
		}
	}
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	nodes[0].srv.Restart()
	if v, err := nodes[0].srv.Client().Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after a restart: GET k = %q, %v", v, err)
	}
}

// TestStandaloneWait: a standalone server has no replicas. As Redis
// without replicas: WAIT 0 answers 0 at once, WAIT 1 waits its timeout
// and answers 0.
func TestStandaloneWait(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memimgd")
	}
	ctx := context.Background()
	c := memimgtest.Start(t).Client()
	if n, err := c.Do(ctx, "wait", 0, 0).Int64(); err != nil || n != 0 {
		t.Fatalf("WAIT 0 0 = %d, %v", n, err)
	}
	start := time.Now()
	if n, err := c.Do(ctx, "wait", 1, 200).Int64(); err != nil || n != 0 || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("WAIT 1 200 = %d, %v after %v; want 0 after 200ms", n, err, time.Since(start))
	}
}

// infoInt reads an integer field of INFO.
func infoInt(t *testing.T, rdb *redis.Client, section, field string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(infoSectionField(t, rdb, section, field), 10, 64)
	if err != nil {
		t.Fatalf("INFO %s %s: %v", section, field, err)
	}
	return n
}

// TestClusterFollowerCatchUpBySnapshot: with --cluster-compact-entries, a
// follower stopped while the leader's log is compacted past it receives a
// snapshot when it comes back, and converges.
func TestClusterFollowerCatchUpBySnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three memimgd")
	}
	ctx := context.Background()
	env := memimgtest.WithEnv("MEMIMG_TEST_WAL_SEGMENT_SIZE=32kb")
	var nodes []*clusterNode
	for i := range 3 {
		id := fmt.Sprintf("n%d", i+1)
		args := []string{"--cluster-node-id", id, "--cluster-addr", freeRaftAddr(t), "--cluster-compact-entries", "50"}
		if i == 0 {
			args = append(args, "--cluster-bootstrap")
		} else {
			args = append(args, "--cluster-join", nodes[0].srv.Addr)
		}
		nodes = append(nodes, &clusterNode{id: id, srv: memimgtest.Start(t, env, memimgtest.WithArgs(args...))})
		waitMembers(t, nodes, i+1)
	}
	li := leaderOf(t, nodes)
	fi := (li + 1) % 3
	behind := nodes[fi]
	behindLast := infoInt(t, behind.srv.Client(), "replication", "memimg_cluster_last_index")
	behind.srv.Stop()

	leader := nodes[li].srv.Client()
	// 300 round trips of 10 writes: the leader proposes what queues
	// together as one entry, so these make at least 300 entries.
	for r := range 300 {
		p := leader.Pipeline()
		for i := range 10 {
			p.Set(ctx, fmt.Sprint("k:", r*10+i), strings.Repeat("v", 40), 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := leader.Do(ctx, "memimg.cluster", "snapshot").Err(); err != nil {
		t.Fatalf("MEMIMG.CLUSTER SNAPSHOT: %v", err)
	}
	first := infoInt(t, leader, "persistence", "memimg_log_first_index")
	t.Logf("the follower stopped at index %d; the leader's log now starts at %d", behindLast, first)
	if first <= behindLast+1 {
		t.Fatalf("the leader's log was not compacted past the stopped follower (first index %d, follower at %d)", first, behindLast)
	}
	behind.srv.Restart()
	d := waitConverged(t, nodes)
	if !strings.Contains(behind.srv.Log(), "image restored from a snapshot") {
		t.Fatalf("the follower caught up without a snapshot?\n%s", behind.srv.Log())
	}
	if v := behind.srv.Client().Get(ctx, "k:2999").Val(); v != strings.Repeat("v", 40) {
		t.Fatalf("GET k:2999 on the caught-up follower: %q", v)
	}
	t.Logf("converged on %s", d)

	// The restored image is the follower's Pebble snapshot: restarted, it
	// starts from it (Raft neither restores it again nor reads the log
	// before it), and converges.
	restoredAt := infoInt(t, behind.srv.Client(), "persistence", "memimg_snapshot_index")
	if restoredAt < first {
		t.Fatalf("the follower's snapshot is at index %d, before the leader's log (%d)", restoredAt, first)
	}
	behind.srv.Restart()
	// Its shutdown may have written a newer one: the last start's index is
	// at least the restored one.
	starts := regexp.MustCompile(`"raft started".* last_snapshot_index=(\d+)`).FindAllStringSubmatch(behind.srv.Log(), -1)
	if len(starts) == 0 {
		t.Fatalf("no \"raft started\" line:\n%s", behind.srv.Log())
	}
	if at, _ := strconv.ParseInt(starts[len(starts)-1][1], 10, 64); at < restoredAt {
		t.Fatalf("restarted, Raft started from index %d, not from the Pebble snapshot at %d:\n%s", at, restoredAt, behind.srv.Log())
	}
	if err := leader.Set(ctx, "after-restart", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, nodes)
}
