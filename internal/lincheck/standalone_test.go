package lincheck

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/memimg/memimg/memimgtest"
	"github.com/redis/go-redis/v9"
)

var (
	flagDuration = flag.Duration("lincheck.duration", 0,
		"run the linearizability tests for this long (the long form, e.g. 60s); 0 runs the short form of a few seconds")
	flagSeed         = flag.Uint64("lincheck.seed", 0, "the workload's random seed (0: pick one, logged)")
	flagClients      = flag.Int("lincheck.clients", 8, "concurrent clients")
	flagServerArgs   = flag.String("lincheck.serverargs", "", "extra memimgd arguments, space-separated (e.g. \"--appendfsync no\")")
	flagCheckTimeout = flag.Duration("lincheck.checktimeout", 0,
		"how long porcupine may search (0: 60s in the short form, 10m in the long form)")
)

// quietLogger drops go-redis' log lines about failing dials, of which a
// server being killed causes many.
type quietLogger struct{}

func (quietLogger) Printf(_ context.Context, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if !strings.Contains(msg, "failed to dial") {
		log.Print(msg)
	}
}

func init() { redis.SetLogger(quietLogger{}) }

// TestStandaloneLinearizable runs the workload against one real memimgd
// while it is killed with SIGKILL and restarted on the same data directory
// (acknowledged writes must survive: appendfsync always), and stopped with
// SIGSTOP for a while, once shorter and once longer than the clients'
// timeout (the commands that time out are applied when the server
// continues, after the client gave up: unknown outcomes). The history must
// be linearizable.
//
// The short form (default) runs for about 3 seconds; -lincheck.duration
// runs the long form. If porcupine cannot decide within the check timeout,
// the short form only logs it (a slow CI machine is not a bug), while the
// long form, which is run on purpose to check thoroughly, fails.
func TestStandaloneLinearizable(t *testing.T) {
	long := *flagDuration > 0
	duration := 3 * time.Second
	checkTimeout := 60 * time.Second
	if long {
		duration = *flagDuration
		checkTimeout = 10 * time.Minute
	}
	if *flagCheckTimeout > 0 {
		checkTimeout = *flagCheckTimeout
	}
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	const opTimeout = 500 * time.Millisecond
	t.Logf("seed %d (-lincheck.seed=%d), %d clients, %v", seed, seed, *flagClients, duration)

	srv := memimgtest.Start(t, memimgtest.WithDir(t.TempDir()),
		memimgtest.WithArgs(strings.Fields(*flagServerArgs)...))
	var addr atomic.Pointer[string]
	addr.Store(&srv.Addr)
	defer func() {
		if srv.Running() {
			_ = syscall.Kill(srv.PID, syscall.SIGCONT) // never leave it stopped
		}
	}()

	rec := NewRecorder()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	w := &Workload{
		Addr:     func(int) string { return *addr.Load() },
		Clients:  *flagClients,
		Keys:     4,
		Rotate:   2 * time.Second, // new keys every 2s: bounded porcupine work per key
		Duration: 3 * duration,    // a safety bound: stop ends the run
		Seed:     seed,
		Timeout:  opTimeout,
		Recorder: rec,
	}
	type runResult struct {
		res *Result
		err error
	}
	done := make(chan runResult, 1)
	go func() {
		res, err := w.Run(ctx)
		done <- runResult{res, err}
	}()

	// The nemesis, in this goroutine (memimgtest fails the test from
	// it): a cycle of faults, the first after an eighth of the run, then
	// one after another with gaps between them, until seven eighths of the
	// run; the clients then run against the final server for the rest.
	var annotations []porcupine.Annotation
	event := func(desc string, start int64) {
		annotations = append(annotations, porcupine.Annotation{
			Tag: "memimgd", Start: start, End: rec.Now(), Description: desc,
			BackgroundColor: "#ffd9d9",
		})
	}
	kills, pauses := 0, 0
	kill := func() {
		start := rec.Now()
		srv.Kill()
		srv.Restart()
		a := srv.Addr
		addr.Store(&a)
		kills++
		event("SIGKILL, restart", start)
	}
	pause := func(d time.Duration) {
		start := rec.Now()
		if err := syscall.Kill(srv.PID, syscall.SIGSTOP); err != nil {
			t.Fatalf("SIGSTOP: %v", err)
		}
		time.Sleep(d)
		if err := syscall.Kill(srv.PID, syscall.SIGCONT); err != nil {
			t.Fatalf("SIGCONT: %v", err)
		}
		pauses++
		event(fmt.Sprintf("SIGSTOP %v", d), start)
	}
	faults := []func(){
		kill,
		func() { pause(opTimeout / 2) }, // commands are only delayed
		kill,
		func() { pause(opTimeout * 2) }, // commands time out, run later
	}
	const gap = 400 * time.Millisecond
	start := time.Now()
	time.Sleep(duration / 8)
	for i := 0; i == 0 || time.Since(start) < duration*7/8; i++ {
		faults[i%len(faults)]()
		time.Sleep(gap)
	}
	kill() // the last fault is a kill: the final reads check durability
	lastFault := rec.Now()
	time.Sleep(max(duration/8, gap))
	stop()

	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	res := r.res
	timeouts := 0
	for _, op := range res.History {
		if reason, _ := op.Metadata.(string); strings.Contains(reason, "timeout") {
			timeouts++
		}
	}
	t.Logf("%d kills, %d pauses; %v; %d unknown outcomes are timeouts", kills, pauses, res, timeouts)
	if len(res.ErrorReplies) > 0 {
		t.Errorf("memimgd replied with unexpected errors: %v", res.ErrorReplies)
	}
	if res.OK < 100 {
		t.Fatalf("only %d operations had a reply: the workload did not run", res.OK)
	}
	after := 0
	for _, op := range res.History {
		if op.Call > lastFault && !op.Output.(Output).Unknown {
			after++
		}
	}
	if after == 0 {
		t.Fatalf("no operation completed after the last fault: the server did not come back")
	}

	checkStart := time.Now()
	result := Check(res.History, checkTimeout)
	t.Logf("porcupine: %v in %v", result, time.Since(checkStart).Round(time.Millisecond))
	switch result {
	case porcupine.Ok:
	case porcupine.Unknown:
		if long {
			t.Fatalf("porcupine could not decide within %v (-lincheck.checktimeout)", checkTimeout)
		}
		t.Logf("porcupine could not decide within %v; not a failure in the short form", checkTimeout)
	case porcupine.Illegal:
		failures, info := Diagnose(res.History, checkTimeout)
		for _, f := range failures {
			t.Errorf("%v", f)
		}
		info.AddAnnotations(annotations)
		dir, err := os.MkdirTemp("", "lincheck-")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("standalone-seed%d.html", seed))
		if err := Visualize(path, info); err != nil {
			t.Errorf("visualization: %v", err)
		}
		t.Fatalf("the history is NOT linearizable (seed %d); visualization of the failing keys: %s", seed, path)
	}
}
