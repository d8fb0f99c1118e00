package lincheck

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"
)

// Workload runs concurrent clients doing random SET, GET and INCR commands
// on a few keys and records their history. Every key only ever holds
// integers (SET values are unique multiples of a million), so INCR never
// fails on a well-behaved server, and a GET or INCR reply tells which SET it
// follows.
//
// Each client has one connection (go-redis, pool of one, retries disabled:
// go-redis retrying an INCR after a connection error could apply it twice
// and the history would not show it). After an error whose outcome is
// unknown, the client closes its connection, waits a little and carries on
// under a new client id (see the package documentation).
type Workload struct {
	// Addr returns the address ("host:port") client (0 to Clients-1)
	// sends its next command to. It is called before every command, so it
	// can follow a server that moved or spread clients over the nodes of a
	// cluster; it must be safe for concurrent use. Required.
	Addr func(client int) string

	// Clients is the number of concurrent clients (default 8).
	Clients int
	// Keys is the number of keys written at a time (default 4).
	Keys int
	// Rotate, if positive, moves the clients to a new set of Keys keys
	// every Rotate. Porcupine's memory and time grow with the square of
	// the number of operations on a key, so a long run needs it. An
	// eighth of the commands then read a key of an earlier set, which
	// checks that its last value survives the faults that follow.
	Rotate time.Duration
	// MaxOps bounds the number of operations recorded (0: no bound).
	// Commands that certainly had no effect are not counted.
	MaxOps int
	// Duration bounds how long the clients run (0: until the context
	// passed to Run is done or MaxOps is reached). A command in flight
	// when it ends is finished, not abandoned.
	Duration time.Duration
	// Seed seeds each client's choice of commands and keys.
	Seed uint64
	// Timeout is each command's dial, read and write timeout (default 1s).
	// A command that times out has an unknown outcome.
	Timeout time.Duration
	// KeyPrefix is prepended to the keys, "k0", "k1"...; the default is
	// "lincheck:" and a random number, so that the keys are missing at
	// the start as the model assumes.
	KeyPrefix string
	// Rejected reports whether an error reply certainly means the command
	// was not executed (the operation is then dropped from the history).
	// The default accepts LOADING, READONLY, MASTERDOWN and TRYAGAIN
	// replies. Other unexpected error replies are counted in
	// Result.ErrorReplies and treated as unknown outcomes of writes.
	Rejected func(err error) bool
	// Recorder records the history; if nil, Run uses a new one.
	Recorder *Recorder
	// Options, if set, may adjust each client's go-redis options. Keep
	// MaxRetries at -1.
	Options func(*redis.Options)
}

// Result is what Run returns.
type Result struct {
	// History is the recorded history, for Check.
	History []porcupine.Operation
	// OK counts operations with a reply; Unknown those with an unknown
	// outcome (in History too); Dropped those left out of History (they
	// certainly had no effect, or they were failed reads).
	OK, Unknown, Dropped int
	// ErrorReplies counts unexpected error replies by message.
	ErrorReplies map[string]int
	// Elapsed is how long the clients ran.
	Elapsed time.Duration
}

// String summarizes the result.
func (r *Result) String() string {
	s := fmt.Sprintf("%d operations recorded (%d with a reply, %d with an unknown outcome), %d dropped, in %v",
		len(r.History), r.OK, r.Unknown, r.Dropped, r.Elapsed.Round(time.Millisecond))
	if len(r.ErrorReplies) > 0 {
		msgs := make([]string, 0, len(r.ErrorReplies))
		for m, n := range r.ErrorReplies {
			msgs = append(msgs, fmt.Sprintf("%q ×%d", m, n))
		}
		sort.Strings(msgs)
		s += "; unexpected error replies: " + strings.Join(msgs, ", ")
	}
	return s
}

// Run runs the clients until Duration has passed, MaxOps operations are
// recorded or ctx is done, whichever comes first, and returns the history.
// It returns an error only for a bad configuration.
func (w *Workload) Run(ctx context.Context) (*Result, error) {
	if w.Addr == nil {
		return nil, errors.New("lincheck: Workload.Addr is required")
	}
	nClients := w.Clients
	if nClients <= 0 {
		nClients = 8
	}
	nKeys := w.Keys
	if nKeys <= 0 {
		nKeys = 4
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	prefix := w.KeyPrefix
	if prefix == "" {
		prefix = fmt.Sprintf("lincheck:%08x:", rand.Uint32())
	}
	rejected := w.Rejected
	if rejected == nil {
		rejected = defaultRejected
	}
	rec := w.Recorder
	if rec == nil {
		rec = NewRecorder()
	}
	if w.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.Duration)
		defer cancel()
	}

	r := &run{
		w: w, ctx: ctx, rec: rec, clients: nClients, keys: nKeys, start: time.Now(),
		timeout: timeout, prefix: prefix, rejected: rejected,
		errorReplies: map[string]int{},
	}
	var wg sync.WaitGroup
	for i := range nClients {
		wg.Go(func() { r.client(i) })
	}
	wg.Wait()
	return &Result{
		History:      rec.History(),
		OK:           int(r.ok.Load()),
		Unknown:      int(r.unknown.Load()),
		Dropped:      int(r.dropped.Load()),
		ErrorReplies: r.errorReplies,
		Elapsed:      time.Since(r.start),
	}, nil
}

// defaultRejected accepts the error replies of a server that refused to run
// a command: still loading, a read-only replica, a replica without its
// master, a cluster asking to try again.
func defaultRejected(err error) bool {
	msg := err.Error()
	for _, p := range []string{"LOADING ", "READONLY ", "MASTERDOWN ", "TRYAGAIN "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// run is the state of one Run.
type run struct {
	w        *Workload
	ctx      context.Context
	rec      *Recorder
	clients  int
	keys     int
	start    time.Time
	timeout  time.Duration
	prefix   string
	rejected func(error) bool

	issued    atomic.Int64 // operations started or recorded, for MaxOps
	nextValue atomic.Int64
	ok        atomic.Int64
	unknown   atomic.Int64
	dropped   atomic.Int64

	mu           sync.Mutex
	errorReplies map[string]int
}

// outcome is what became of a command.
type outcome int

const (
	replied outcome = iota // a definite reply: recorded
	dropped                // certainly no effect, or a failed read: not recorded
	unknown                // may or may not have taken effect: recorded as unknown
)

// client is one client's loop.
func (r *run) client(id int) {
	rng := rand.New(rand.NewPCG(r.w.Seed, uint64(id)))
	conns := map[string]*redis.Client{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Commands are not cancelled with ctx, whose end only stops the loop:
	// an abandoned command would have an unknown outcome for nothing.
	opCtx := context.WithoutCancel(r.ctx)
	proc := id
	for r.ctx.Err() == nil {
		if limit := int64(r.w.MaxOps); limit > 0 && r.issued.Add(1) > limit {
			return
		}
		addr := r.w.Addr(id)
		c := conns[addr]
		if c == nil {
			c = r.newClient(addr)
			conns[addr] = c
		}
		in := r.randomInput(rng)
		call := r.rec.Invoke(proc, in)
		out, err := do(opCtx, c, in)
		switch oc, out := r.classify(in, out, err); oc {
		case replied:
			call.Return(out)
			r.ok.Add(1)
		case dropped:
			call.Drop()
			r.dropped.Add(1)
			r.issued.Add(-1)
		case unknown:
			call.Unknown(fmt.Sprintf("client %d: %v", id, err))
			r.unknown.Add(1)
			proc += r.clients
		}
		if err != nil && !isErrorReply(err) {
			// A connection problem: start afresh (go-redis would
			// otherwise throttle dialing a failing address for a
			// second), after a pause so as not to spin while the
			// server is down.
			c.Close()
			delete(conns, addr)
			sleep(r.ctx, time.Duration(5+rng.IntN(15))*time.Millisecond)
		}
	}
}

// newClient makes a client of one connection to addr, without retries.
func (r *run) newClient(addr string) *redis.Client {
	opt := &redis.Options{
		Addr:            addr,
		Protocol:        3,
		PoolSize:        1,
		MaxRetries:      -1,
		DialTimeout:     r.timeout,
		DialerRetries:   1,
		ReadTimeout:     r.timeout,
		WriteTimeout:    r.timeout,
		PoolTimeout:     r.timeout,
		DisableIdentity: true,
	}
	if r.w.Options != nil {
		r.w.Options(opt)
	}
	return redis.NewClient(opt)
}

// randomInput picks a command: half GETs, a quarter SETs of a new value, a
// quarter INCRs, on the current keys; with Rotate, an eighth are GETs of
// earlier keys instead.
func (r *run) randomInput(rng *rand.Rand) Input {
	gen := 0
	if r.w.Rotate > 0 {
		gen = int(time.Since(r.start) / r.w.Rotate)
		if gen > 0 && rng.IntN(8) == 0 {
			return Input{Kind: Get, Key: r.key(rng.IntN(gen), rng.IntN(r.keys))}
		}
	}
	in := Input{Key: r.key(gen, rng.IntN(r.keys))}
	switch p := rng.IntN(4); {
	case p < 2:
		in.Kind = Get
	case p == 2:
		in.Kind = Set
		in.Value = strconv.FormatInt(r.nextValue.Add(1)*1_000_000, 10)
	default:
		in.Kind = Incr
	}
	return in
}

// key is the name of key i of generation gen.
func (r *run) key(gen, i int) string {
	if r.w.Rotate <= 0 {
		return r.prefix + "k" + strconv.Itoa(i)
	}
	return r.prefix + "g" + strconv.Itoa(gen) + ".k" + strconv.Itoa(i)
}

// do sends in and returns the reply.
func do(ctx context.Context, c *redis.Client, in Input) (Output, error) {
	switch in.Kind {
	case Get:
		v, err := c.Get(ctx, in.Key).Result()
		if err == redis.Nil {
			return Output{Nil: true}, nil
		}
		return Output{Value: v}, err
	case Set:
		s, err := c.Set(ctx, in.Key, in.Value, 0).Result()
		return Output{Value: s}, err
	case Incr:
		n, err := c.Incr(ctx, in.Key).Result()
		return Output{Int: n}, err
	}
	panic(fmt.Sprintf("lincheck: unknown command %v", in.Kind))
}

// classify decides what the reply or error of in means for the history.
func (r *run) classify(in Input, out Output, err error) (outcome, Output) {
	if err == nil {
		return replied, out
	}
	if isErrorReply(err) {
		msg := err.Error()
		if r.rejected(err) {
			return dropped, out
		}
		if in.Kind == Incr && strings.Contains(msg, "not an integer") {
			return replied, Output{Err: msg}
		}
		r.mu.Lock()
		r.errorReplies[msg]++
		r.mu.Unlock()
		if in.Kind == Get {
			return dropped, out
		}
		return unknown, out
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return dropped, out // never sent
	}
	if errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) {
		return dropped, out // never sent
	}
	if in.Kind == Get {
		return dropped, out
	}
	return unknown, out
}

// isErrorReply reports whether err is an error reply from the server.
func isErrorReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && err != redis.Nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
