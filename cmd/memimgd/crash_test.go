package main

// Crash tests: real memimgd processes killed with SIGKILL (by PID, through
// memimgtest) at random moments, and logs damaged on disk the way a crash or
// bit rot damages them. They check the promises of ../../shared/DESIGN.md
// and wal/doc.go: no acknowledged write is ever lost by a process crash, a
// torn tail is cut with a warning, a corrupt record in the middle is a loud
// error naming the segment and the offset.
//
// Flags, given after the package on the go test command line:
//
//	go test ./cmd/memimgd/ -run Crash -crash.rounds=50 -crash.seed=S
//
//	-crash.rounds=N   kill/restart rounds per fsync mode (default 4, 2 with -short)
//	-crash.seed=S     seed of the random kill moments and damage (logged by every test)

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/memimgtest"
	"github.com/memimg/memimg/schema"
)

var (
	crashRounds = flag.Int("crash.rounds", 0, "kill/restart rounds per fsync mode in TestCrashNoAcknowledgedWriteLost (0: 4, or 2 with -short)")
	crashSeed   = flag.Int64("crash.seed", 0, "seed of the crash tests' randomness (0: from the clock; the seed is logged)")
)

// crashSeedFor returns the seed of a test and logs it.
func crashSeedFor(t *testing.T) uint64 {
	t.Helper()
	seed := *crashSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	return uint64(seed)
}

// crashValue is the value written under key: derived from the key, so that
// any value read back can be checked, and of varying length (9..~110 bytes).
func crashValue(key string) string {
	h := crc32.ChecksumIEEE([]byte(key))
	return key + "=" + strings.Repeat(fmt.Sprintf("%08x", h), int(h%12)+1)
}

// crashClient is a client for one writer: its own connection pool, no
// retries (a retried write would hide an unknown outcome), short timeouts.
func crashClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:         addr,
		Protocol:     3,
		DialTimeout:  time.Second,
		ReadTimeout:  3 * time.Second,
		WriteTimeout: 3 * time.Second,
		MaxRetries:   -1,
		PoolSize:     2,
	})
}

// ---------------------------------------------------------------------------
// TestCrashNoAcknowledgedWriteLost

const (
	crashWriters  = 6
	crashCounters = 3
	crashPipeline = 8 // commands per pipeline of the pipelining writer
)

func crashCounterKey(c int) string { return "ctr:" + strconv.Itoa(c) }

// outcome is what a client knows of one write.
type outcome int

const (
	acked   outcome = iota // the server replied with success
	notSent                // it never reached the server (dial failed)
	unknown                // sent, or maybe sent, and no reply: applied or not
	refused                // the server replied with an error
)

func classify(err error) outcome {
	if err == nil {
		return acked
	}
	var re redis.Error
	if errors.As(err, &re) {
		return refused
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return notSent
	}
	return unknown
}

// writerResult is what one writer saw in one round.
type writerResult struct {
	ackedKeys   []string
	unknownKeys []string
	incrAcked   [crashCounters]int64
	incrUnknown [crashCounters]int64
	replies     [crashCounters][]int64 // the values acknowledged INCRs returned
	notSent     int
	errs        []string // unexpected errors: refused writes, or failures before the kill
}

// crashOp is one write: a SET of a new key, or an INCR of a shared counter.
type crashOp struct {
	key     string
	counter int // -1 for a SET
}

// crashWriter writes until its first error or until stop, at most maxOps
// writes, and records every outcome.
func crashWriter(ctx context.Context, addr string, round, id int, seed uint64, killed, stop *atomic.Bool) (res writerResult) {
	rdb := crashClient(addr)
	defer rdb.Close()
	rng := rand.New(rand.NewPCG(seed, uint64(id)))
	pipelined := id == 0
	const maxOps = 1 << 20
	seq := 0
	ops := make([]crashOp, 0, crashPipeline)
	for seq < maxOps && !stop.Load() && ctx.Err() == nil {
		n := 1
		if pipelined {
			n = crashPipeline
		}
		ops = ops[:0]
		for range n {
			if rng.IntN(4) == 0 {
				ops = append(ops, crashOp{counter: rng.IntN(crashCounters)})
			} else {
				ops = append(ops, crashOp{key: fmt.Sprintf("r%d:w%d:%d", round, id, seq), counter: -1})
				seq++
			}
		}
		var cmds []redis.Cmder
		if pipelined {
			cmds, _ = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, op := range ops {
					if op.counter < 0 {
						p.Set(ctx, op.key, crashValue(op.key), 0)
					} else {
						p.Incr(ctx, crashCounterKey(op.counter))
					}
				}
				return nil
			})
		} else if op := ops[0]; op.counter < 0 {
			cmds = []redis.Cmder{rdb.Set(ctx, op.key, crashValue(op.key), 0)}
		} else {
			cmds = []redis.Cmder{rdb.Incr(ctx, crashCounterKey(op.counter))}
		}
		if len(cmds) != len(ops) {
			res.errs = append(res.errs, fmt.Sprintf("writer %d: %d replies for %d commands", id, len(cmds), len(ops)))
			return res
		}
		failed := false
		for i, op := range ops {
			err := cmds[i].Err()
			o := classify(err)
			if err != nil {
				failed = true
				if o == refused || !killed.Load() {
					res.errs = append(res.errs, fmt.Sprintf("writer %d: %v (before the kill: %v)", id, err, !killed.Load()))
				}
			}
			switch {
			case o == notSent:
				res.notSent++
			case op.counter < 0 && o == acked:
				if v := cmds[i].(*redis.StatusCmd).Val(); v != "OK" {
					res.errs = append(res.errs, fmt.Sprintf("writer %d: SET %s replied %q", id, op.key, v))
				}
				res.ackedKeys = append(res.ackedKeys, op.key)
			case op.counter < 0 && o == unknown:
				res.unknownKeys = append(res.unknownKeys, op.key)
			case o == acked:
				res.incrAcked[op.counter]++
				res.replies[op.counter] = append(res.replies[op.counter], cmds[i].(*redis.IntCmd).Val())
			case o == unknown:
				res.incrUnknown[op.counter]++
			}
		}
		if failed {
			return res
		}
	}
	return res
}

// crashState is what the clients know, cumulated over the rounds.
type crashState struct {
	acked       map[string]bool // SETs acknowledged: must be present
	unknown     map[string]bool // SETs with an unknown outcome: may be present
	incrAcked   [crashCounters]int64
	incrUnknown [crashCounters]int64
	replies     [crashCounters]map[int64]bool
	maxReply    [crashCounters]int64
}

func newCrashState() *crashState {
	st := &crashState{acked: map[string]bool{}, unknown: map[string]bool{}}
	for c := range st.replies {
		st.replies[c] = map[int64]bool{}
	}
	return st
}

// crashRound runs the writers against srv, kills srv with SIGKILL after a
// random delay, and adds what the writers saw to st.
func crashRound(t *testing.T, srv *memimgtest.Server, st *crashState, round int, rng *rand.Rand) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var killed, stop atomic.Bool
	results := make([]writerResult, crashWriters)
	var wg sync.WaitGroup
	seed := rng.Uint64()
	for w := range crashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[w] = crashWriter(ctx, srv.Addr, round, w, seed, &killed, &stop)
		}()
	}
	delay := 50*time.Millisecond + time.Duration(rng.Int64N(int64(350*time.Millisecond)))
	time.Sleep(delay)
	killed.Store(true)
	srv.Kill()
	stop.Store(true)
	wg.Wait()

	var nAcked, nUnknown, nIncr, nIncrUnknown, nNotSent int
	for _, r := range results {
		for _, e := range r.errs {
			t.Errorf("round %d: %s", round, e)
		}
		for _, k := range r.ackedKeys {
			st.acked[k] = true
		}
		for _, k := range r.unknownKeys {
			st.unknown[k] = true
		}
		nAcked += len(r.ackedKeys)
		nUnknown += len(r.unknownKeys)
		nNotSent += r.notSent
		for c := range crashCounters {
			st.incrAcked[c] += r.incrAcked[c]
			st.incrUnknown[c] += r.incrUnknown[c]
			nIncr += int(r.incrAcked[c])
			nIncrUnknown += int(r.incrUnknown[c])
			for _, v := range r.replies[c] {
				if st.replies[c][v] {
					t.Errorf("round %d: two acknowledged INCR %s replied %d", round, crashCounterKey(c), v)
				}
				st.replies[c][v] = true
				st.maxReply[c] = max(st.maxReply[c], v)
			}
		}
	}
	t.Logf("round %d: killed after %v: %d SET acknowledged, %d unknown; %d INCR acknowledged, %d unknown; %d not sent",
		round, delay.Round(time.Millisecond), nAcked, nUnknown, nIncr, nIncrUnknown, nNotSent)
}

// crashVerify checks the restarted server against st.
func crashVerify(t *testing.T, rdb *redis.Client, st *crashState, round int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Every acknowledged SET is there with its value.
	keys := make([]string, 0, len(st.acked))
	for k := range st.acked {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var lost []string
	for chunk := range slices.Chunk(keys, 1000) {
		vals, err := rdb.MGet(ctx, chunk...).Result()
		if err != nil {
			t.Fatalf("after round %d: MGET: %v", round, err)
		}
		for i, k := range chunk {
			if s, ok := vals[i].(string); !ok || s != crashValue(k) {
				lost = append(lost, fmt.Sprintf("%s=%v", k, vals[i]))
			}
		}
	}
	if len(lost) > 0 {
		t.Errorf("after round %d: %d of %d acknowledged SETs lost or wrong, e.g. %q", round, len(lost), len(keys), lost[:min(len(lost), 5)])
	}
	// Every counter holds at least its acknowledged INCRs and at most those
	// plus the ones whose outcome is unknown; at least what any INCR replied.
	for c := range crashCounters {
		k := crashCounterKey(c)
		v, err := rdb.Get(ctx, k).Int64()
		if err == redis.Nil {
			v, err = 0, nil
		}
		if err != nil {
			t.Fatalf("after round %d: GET %s: %v", round, k, err)
		}
		lo, hi := st.incrAcked[c], st.incrAcked[c]+st.incrUnknown[c]
		if v < lo || v > hi || v < st.maxReply[c] {
			t.Errorf("after round %d: %s = %d, want %d..%d (acknowledged..+unknown) and >= %d (largest acknowledged reply)",
				round, k, v, lo, hi, st.maxReply[c])
		}
	}
	// The log still starts at index 1 (no segment went missing).
	if im, err := rdb.InfoMap(ctx, "persistence").Result(); err != nil || im["Persistence"]["memimg_log_first_index"] != "1" {
		t.Errorf("after round %d: memimg_log_first_index = %q (%v), want 1", round, im["Persistence"]["memimg_log_first_index"], err)
	}
	// Nothing else: every key is a counter, an acknowledged SET or one whose
	// outcome is unknown, with its value.
	all, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatalf("after round %d: KEYS: %v", round, err)
	}
	var extra []string
	for _, k := range all {
		switch {
		case strings.HasPrefix(k, "ctr:"), st.acked[k]:
		case st.unknown[k]:
			if v, err := rdb.Get(ctx, k).Result(); err != nil || v != crashValue(k) {
				extra = append(extra, fmt.Sprintf("%s=%q (%v)", k, v, err))
			}
		default:
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		t.Errorf("after round %d: %d keys nobody wrote or with a wrong value, e.g. %q", round, len(extra), extra[:min(len(extra), 5)])
	}
}

// TestCrashNoAcknowledgedWriteLost kills the server with SIGKILL at random
// moments while several clients write, restarts it on the same directory,
// and checks that every acknowledged write survived, in every fsync mode: a
// process crash leaves the page cache intact, so even everysec and no lose
// nothing acknowledged.
func TestCrashNoAcknowledgedWriteLost(t *testing.T) {
	needCommands(t, "set", "get", "incr", "mget", "keys")
	rounds := *crashRounds
	if rounds <= 0 {
		rounds = 4
		if testing.Short() {
			rounds = 2
		}
	}
	seed := crashSeedFor(t)
	for i, mode := range []string{"always", "everysec", "no"} {
		t.Run(mode, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			srv := memimgtest.Start(t, memimgtest.WithArgs("--appendfsync", mode))
			if got := srv.Client().ConfigGet(ctxT(t), "appendfsync").Val()["appendfsync"]; got != mode {
				t.Fatalf("appendfsync = %q, want %q", got, mode)
			}
			st := newCrashState()
			for round := 1; round <= rounds; round++ {
				crashRound(t, srv, st, round, rng)
				srv.Restart()
				crashVerify(t, srv.Client(), st, round)
				if t.Failed() {
					return
				}
			}
			if len(st.acked) == 0 {
				t.Errorf("no write was acknowledged in %d rounds: the test checked nothing", rounds)
			}
			// A clean stop and start keeps it all too.
			srv.Restart()
			crashVerify(t, srv.Client(), st, rounds+1)
			srv.Stop()
		})
	}
}

// ---------------------------------------------------------------------------
// The log on disk, parsed from the format drawn in wal/doc.go.

const (
	segHeaderSize   = 24
	frameHeaderSize = 40
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// diskFrame is one record frame found in a segment file.
type diskFrame struct {
	off   int64 // offset of the frame header in the file
	size  int64 // frameHeaderSize + payload length
	index uint64
	kind  byte
	data  []byte
}

// diskSegment is a raw segment file parsed frame by frame.
type diskSegment struct {
	path, name string
	b          []byte
	first      uint64
	frames     []diskFrame
	end        int64 // where the valid frames end
}

var segmentNameRE = regexp.MustCompile(`^[0-9]{20}\.wal(\.zst)?$`)

// activeSegment returns the path of the last segment of dir's log, which
// must be a raw (not compressed) file.
func activeSegment(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if segmentNameRE.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatalf("no segment in %s/wal", dir)
	}
	slices.Sort(names)
	last := names[len(names)-1]
	if !strings.HasSuffix(last, ".wal") {
		t.Fatalf("the last segment %s is compressed", last)
	}
	return filepath.Join(dir, "wal", last)
}

// parseSegment reads a raw segment: its header, then frames while they are
// whole and their checksums and indexes are right. With wantClean it fails
// the test unless the whole file is valid frames, then only zeros (the
// space the wal writes ahead of the active segment's records).
func parseSegment(t *testing.T, path string, wantClean bool) *diskSegment {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := &diskSegment{path: path, name: filepath.Base(path), b: b}
	le := binary.LittleEndian
	if len(b) < segHeaderSize || string(b[:4]) != "MIWL" || b[4] != 1 ||
		le.Uint32(b[16:]) != crc32.Checksum(b[:16], castagnoli) {
		t.Fatalf("%s: bad segment header % x", path, b[:min(len(b), segHeaderSize)])
	}
	s.first = le.Uint64(b[8:])
	if want := fmt.Sprintf("%020d.wal", s.first); want != s.name {
		t.Fatalf("%s: header first index %d", path, s.first)
	}
	off := int64(segHeaderSize)
	next := s.first
	for off+frameHeaderSize <= int64(len(b)) {
		h := b[off:]
		n := int64(le.Uint32(h[4:]))
		if off+frameHeaderSize+n > int64(len(b)) ||
			le.Uint32(h) != crc32.Checksum(h[4:frameHeaderSize+n], castagnoli) ||
			le.Uint64(h[16:]) != next {
			break
		}
		s.frames = append(s.frames, diskFrame{off: off, size: frameHeaderSize + n, index: next, kind: h[8],
			data: h[frameHeaderSize : frameHeaderSize+n]})
		off += frameHeaderSize + n
		next++
	}
	s.end = off
	if wantClean && !allZeroBytes(b[off:]) {
		t.Fatalf("%s: %d bytes after the last valid frame at %d (the test's parser disagrees with the format?)",
			path, int64(len(b))-s.end, s.end)
	}
	return s
}

// allZeroBytes reports whether b holds only zeros.
func allZeroBytes(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// frameArgs decodes a frame's command payload and returns its argv.
func frameArgs(t *testing.T, f diskFrame) []string {
	t.Helper()
	_, argv, err := schema.DecodeCommand(f.data, nil)
	if err != nil {
		t.Fatalf("frame %d at offset %d: %v", f.index, f.off, err)
	}
	var out []string
	for _, a := range argv {
		out = append(out, string(a))
	}
	return out
}

// copyTree copies the regular files of src into dst, recursively.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// buildMemimg builds the operator tool cmd/memimg into a temporary directory.
func buildMemimg(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "memimg")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/memimg/memimg/cmd/memimg").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/memimg: %v\n%s", err, out)
	}
	return bin
}

// walVerifyCmd runs `memimg wal verify dir` and returns its stdout, stderr
// and exit code.
func walVerifyCmd(t *testing.T, bin, dir string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var o, e bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "wal", "verify", dir)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("memimg wal verify: %v", err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// checkKeys checks that every key of want is present with crashValue and
// every key of gone is absent.
func checkKeys(t *testing.T, rdb *redis.Client, want, gone []string) {
	t.Helper()
	ctx := ctxT(t)
	if len(want) > 0 {
		vals, err := rdb.MGet(ctx, want...).Result()
		if err != nil {
			t.Fatalf("MGET: %v", err)
		}
		for i, k := range want {
			if s, ok := vals[i].(string); !ok || s != crashValue(k) {
				t.Errorf("%s = %v, want %q", k, vals[i], crashValue(k))
			}
		}
	}
	for _, k := range gone {
		if v, err := rdb.Get(ctx, k).Result(); err != redis.Nil {
			t.Errorf("%s = %q (%v), want no such key", k, v, err)
		}
	}
}

// writeKeys SETs each key to its crashValue, one command (one record) at a
// time, and fails the test unless each is acknowledged.
func writeKeys(t *testing.T, rdb *redis.Client, keys []string) {
	t.Helper()
	ctx := ctxT(t)
	for _, k := range keys {
		if err := rdb.Set(ctx, k, crashValue(k), 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
}

func keyList(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s:%04d", prefix, i)
	}
	return keys
}

// ---------------------------------------------------------------------------
// TestCrashTornTail

// TestCrashTornTail damages the end of the active segment after a kill -9
// the ways a torn write does, and checks that the server cuts the tail with
// a warning, loses nothing but the damaged last record, and keeps working.
func TestCrashTornTail(t *testing.T) {
	needCommands(t, "set", "get", "mget")
	tool := buildMemimg(t)
	rng := rand.New(rand.NewPCG(crashSeedFor(t), 0))

	// One log for every case: N acknowledged SETs, each its own record, then
	// kill -9.
	const n = 100
	keys := keyList("torn", n)
	srv := memimgtest.Start(t)
	writeKeys(t, srv.Client(), keys)
	srv.Kill()
	base := srv.Dir
	seg := parseSegment(t, activeSegment(t, base), true)
	if len(seg.frames) != n {
		t.Fatalf("%s holds %d records, want %d", seg.name, len(seg.frames), n)
	}
	last := seg.frames[n-1]
	if args := frameArgs(t, last); len(args) != 3 || args[0] != "set" || args[1] != keys[n-1] {
		t.Fatalf("the last record is %q, want SET %s", args, keys[n-1])
	}
	// The kill left the zeros the wal writes ahead of its records; the
	// damage below is done to the records' end, as if there were none.
	size := seg.end
	if ahead := int64(len(seg.b)) - size; ahead == 0 {
		t.Errorf("%s: no zeros written ahead of the records after a kill -9", seg.name)
	}
	if err := os.Truncate(seg.path, size); err != nil {
		t.Fatal(err)
	}
	seg.b = seg.b[:size]

	truncateTo := func(sz int64) func(*testing.T, string) {
		return func(t *testing.T, path string) {
			if err := os.Truncate(path, sz); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendBytes := func(b []byte) func(*testing.T, string) {
		return func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	garbage := make([]byte, 1+rng.IntN(300))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	// The next record, whole in length but with its last sectors never
	// written (zeros): a torn append of a full frame.
	next := func() []byte {
		k := "torn:next"
		p := schema.EncodeCommand(nil, 0, [][]byte{[]byte("set"), []byte(k), []byte(crashValue(k))})
		f := make([]byte, frameHeaderSize+len(p))
		le := binary.LittleEndian
		le.PutUint32(f[4:], uint32(len(p)))
		f[8] = last.kind
		le.PutUint64(f[16:], last.index+1)
		copy(f[24:40], seg.b[last.off+24:last.off+40]) // term and time of the last record
		copy(f[frameHeaderSize:], p)
		le.PutUint32(f, crc32.Checksum(f[4:], castagnoli))
		clear(f[len(f)-16:])
		return f
	}()
	cut := 1 + rng.IntN(39)
	tests := []struct {
		name     string
		damage   func(*testing.T, string)
		lost     bool  // the last record is damaged: its key is gone
		validEnd int64 // where the valid records end; -1: only zeros follow them, which is no torn tail
	}{
		{"cut 1 byte", truncateTo(size - 1), true, last.off},
		{"cut 39 bytes", truncateTo(size - 39), true, last.off},
		{fmt.Sprintf("cut %d bytes (random)", cut), truncateTo(size - int64(cut)), true, last.off},
		{"cut inside the last header", truncateTo(last.off + frameHeaderSize/2), true, last.off},
		{"cut in the middle of the last payload", truncateTo(last.off + frameHeaderSize + (last.size-frameHeaderSize)/2), true, last.off},
		{fmt.Sprintf("%d garbage bytes appended", len(garbage)), appendBytes(garbage), false, size},
		{"4 KiB of zeros appended", appendBytes(make([]byte, 4096)), false, -1},
		{"the last record zeroed", func(t *testing.T, path string) {
			truncateTo(last.off)(t, path)
			appendBytes(make([]byte, last.size+1000))(t, path)
		}, true, -1},
		{"next record with a zeroed end", appendBytes(next), false, size},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTree(t, base, dir)
			path := activeSegment(t, dir)
			tt.damage(t, path)

			want, gone := keys, []string{"torn:next"}
			entries := n
			if tt.lost {
				want, gone = keys[:n-1], append(gone, keys[n-1])
				entries--
			}
			// The tool sees the torn tail and changes nothing.
			damaged, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, errOut, code := walVerifyCmd(t, tool, dir)
			if tt.validEnd < 0 {
				if code != 0 || strings.Contains(out, "torn tail") || !strings.Contains(out, fmt.Sprintf("ok: %d entries", entries)) {
					t.Errorf("wal verify of the log with zeros after its records: exit %d, want 0, no torn tail and %d entries\nstdout: %s\nstderr: %s",
						code, entries, out, errOut)
				}
			} else {
				wantTorn := fmt.Sprintf("torn tail: segment %s offset %d (%d bytes)", seg.name, tt.validEnd, int64(len(damaged))-tt.validEnd)
				if code != 0 || !strings.Contains(out, wantTorn) || !strings.Contains(out, fmt.Sprintf("ok: %d entries", entries)) {
					t.Errorf("wal verify of the damaged log: exit %d, want 0 and %q and %d entries\nstdout: %s\nstderr: %s",
						code, wantTorn, entries, out, errOut)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, damaged) {
				t.Errorf("wal verify changed %s", seg.name)
			}

			// The server cuts a torn tail, says so, and has every other key;
			// zeros after the records it takes as they are.
			srv := memimgtest.Start(t, memimgtest.WithDir(dir))
			logText := srv.Log()
			if tt.validEnd < 0 {
				if strings.Contains(logText, "torn tail") {
					t.Errorf("zeros after the records taken for a torn tail:\n%s", logText)
				}
			} else {
				if !strings.Contains(logText, "torn tail") || !strings.Contains(logText, seg.name) ||
					!strings.Contains(logText, fmt.Sprintf("offset=%d", tt.validEnd)) {
					t.Errorf("no warning naming the torn tail of %s at offset %d in the log:\n%s", seg.name, tt.validEnd, logText)
				}
				if fi, err := os.Stat(path); err != nil || fi.Size() < tt.validEnd || fi.Size() > tt.validEnd+1<<20 {
					t.Errorf("%s after start-up: %v, %v; want it cut to %d bytes (then zeros written ahead)", seg.name, fi.Size(), err, tt.validEnd)
				}
				if b, _ := os.ReadFile(path); int64(len(b)) >= tt.validEnd && !allZeroBytes(b[tt.validEnd:]) {
					t.Errorf("%s after start-up: not only zeros after offset %d", seg.name, tt.validEnd)
				}
			}
			rdb := srv.Client()
			checkKeys(t, rdb, want, gone)

			// New writes work and survive another kill -9.
			more := keyList("after", 20)
			writeKeys(t, rdb, more)
			srv.Kill()
			out, errOut, code = walVerifyCmd(t, tool, dir)
			if code != 0 || strings.Contains(out, "torn tail") || !strings.Contains(out, fmt.Sprintf("ok: %d entries", entries+len(more))) {
				t.Errorf("wal verify after the cut and %d more writes: exit %d, want 0, %d entries, no torn tail\nstdout: %s\nstderr: %s",
					len(more), code, entries+len(more), out, errOut)
			}
			srv.Restart()
			checkKeys(t, srv.Client(), append(slices.Clone(want), more...), gone)
			srv.Stop()
		})
	}
}

// ---------------------------------------------------------------------------
// TestCrashCorruptMiddle

// TestCrashCorruptMiddle flips one bit in a record that is not the last one
// (bit rot in acknowledged data) and checks that neither the server nor
// `memimg wal verify` accepts the log, both naming the segment and the
// offset, that nothing is changed on disk, and that the log is whole again
// once the byte is restored.
func TestCrashCorruptMiddle(t *testing.T) {
	needCommands(t, "set", "get", "mget")
	tool := buildMemimg(t)
	const n = 50
	keys := keyList("rot", n)
	srv := memimgtest.Start(t)
	writeKeys(t, srv.Client(), keys)
	srv.Stop()
	base := srv.Dir
	seg := parseSegment(t, activeSegment(t, base), true)
	if len(seg.frames) != n {
		t.Fatalf("%s holds %d records, want %d", seg.name, len(seg.frames), n)
	}
	f := seg.frames
	mid := f[n/2]
	tests := []struct {
		name    string
		at      int64 // the byte to flip
		mask    byte
		wantOff int64 // the offset the error must name
	}{
		{"payload of the first record", f[0].off + frameHeaderSize + (f[0].size-frameHeaderSize)/2, 0x10, f[0].off},
		{"payload of a middle record", mid.off + mid.size - 1, 0x01, mid.off},
		{"checksum of a middle record", mid.off + 1, 0x80, mid.off},
		{"length of a middle record, low byte", mid.off + 4, 0x04, mid.off},
		{"length of a middle record, high byte", mid.off + 7, 0x80, mid.off},
		{"index of the record before the last", f[n-2].off + 16, 0x01, f[n-2].off},
		{"time of the record before the last", f[n-2].off + 32, 0x01, f[n-2].off},
		{"segment header, first index", 8, 0x02, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTree(t, base, dir)
			path := activeSegment(t, dir)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[tt.at] ^= tt.mask
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			where := fmt.Sprintf("offset %d", tt.wantOff)

			srv, err := memimgtest.TryStart(t, memimgtest.WithDir(dir))
			if err == nil {
				srv.Stop()
				t.Fatalf("the server started on a log with a flipped byte at %d", tt.at)
			}
			if code := srv.Wait(); code == 0 {
				t.Errorf("exit code 0")
			}
			if l := srv.Log(); !strings.Contains(l, seg.name) || !strings.Contains(l, where) {
				t.Errorf("the server's error does not name %s and %q:\n%s", seg.name, where, l)
			}
			out, errOut, code := walVerifyCmd(t, tool, dir)
			if code != 1 || !strings.Contains(errOut, seg.name) || !strings.Contains(errOut, where) {
				t.Errorf("wal verify: exit %d, want 1 and a message naming %s and %q\nstdout: %s\nstderr: %s",
					code, seg.name, where, out, errOut)
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(after, b) {
				t.Fatalf("%s was changed by the failed start-up or the tool (%d bytes, was %d; %v)", seg.name, len(after), len(b), err)
			}

			// Restored, the log is whole again.
			b[tt.at] ^= tt.mask
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, errOut, code := walVerifyCmd(t, tool, dir); code != 0 || !strings.Contains(out, fmt.Sprintf("ok: %d entries", n)) {
				t.Errorf("wal verify after the repair: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			srv = memimgtest.Start(t, memimgtest.WithDir(dir))
			checkKeys(t, srv.Client(), keys, nil)
			srv.Stop()
		})
	}
}

// ---------------------------------------------------------------------------
// TestCrashDuringCompression

// TestCrashDuringCompression fills a whole segment (64 MiB: memimgd has no
// flag for the segment size) so that it is sealed and compressed in the
// background, kills the server with SIGKILL while the compressor runs (when
// a .wal.zst.tmp appears, or after a random delay), and checks that every
// acknowledged write survives, in several rounds, then once more after the
// compressor has finished and a clean restart. Skipped with -short.
func TestCrashDuringCompression(t *testing.T) {
	needCommands(t, "set", "get", "mget")
	if testing.Short() {
		t.Skip("writes 64 MiB per round")
	}
	rng := rand.New(rand.NewPCG(crashSeedFor(t), 0))
	const (
		nKeys     = 16
		valueSize = 1 << 20
		rounds    = 4
	)
	// Values: the key and its version, then filler that zstd compresses
	// well but not for free.
	block := make([]byte, 4096)
	for i := range block {
		block[i] = byte(rng.Uint32())
	}
	value := func(key string, version int) string {
		var b strings.Builder
		b.Grow(valueSize)
		fmt.Fprintf(&b, "%s#%d|", key, version)
		for b.Len() < valueSize {
			b.Write(block[:min(len(block), valueSize-b.Len())])
		}
		return b.String()
	}
	latest := map[string]int{} // key -> version last acknowledged
	version := 0
	persistence := func(rdb *redis.Client, field string) int {
		t.Helper()
		im, err := rdb.InfoMap(ctxT(t), "persistence").Result()
		if err != nil {
			t.Fatalf("INFO persistence: %v", err)
		}
		n, err := strconv.Atoi(im["Persistence"][field])
		if err != nil {
			t.Fatalf("INFO %s = %q", field, im["Persistence"][field])
		}
		return n
	}
	verify := func(rdb *redis.Client, when string) {
		t.Helper()
		ctx := ctxT(t)
		for k, v := range latest {
			got, err := rdb.Get(ctx, k).Result()
			if err != nil || got != value(k, v) {
				t.Errorf("%s: %s = %.40q... (%v), want version %d", when, k, got, err, v)
			}
		}
	}
	walFiles := func(dir string) []string {
		ents, _ := os.ReadDir(filepath.Join(dir, "wal"))
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}

	srv := memimgtest.Start(t)
	for round := 1; round <= rounds; round++ {
		rdb := srv.Client()
		ctx := ctxT(t)
		// A new log has no segment until its first write.
		segs := max(persistence(rdb, "memimg_log_segments"), 1)
		// Fill the active segment until it is sealed (at most 2 segments'
		// worth of writes).
		for i := 0; ; i++ {
			if i == 128 {
				t.Fatalf("round %d: no new segment after %d MiB of writes", round, i)
			}
			version++
			k := fmt.Sprintf("big:%02d", version%nKeys)
			if err := rdb.Set(ctx, k, value(k, version), 0).Err(); err != nil {
				t.Fatalf("round %d: SET %s: %v", round, k, err)
			}
			latest[k] = version
			if persistence(rdb, "memimg_log_segments") > segs {
				break
			}
		}
		// Kill while the compressor runs: in odd rounds when its temporary
		// file appears, in even rounds after a random delay.
		var delay time.Duration
		if round%2 == 1 {
			deadline := time.Now().Add(5 * time.Second)
			for !slices.ContainsFunc(walFiles(srv.Dir), func(n string) bool { return strings.HasSuffix(n, ".tmp") }) {
				if time.Now().After(deadline) {
					t.Logf("round %d: no .tmp file seen in 5 s", round)
					break
				}
				time.Sleep(time.Millisecond)
			}
			delay = time.Duration(rng.Int64N(int64(50 * time.Millisecond)))
		} else {
			delay = time.Duration(rng.Int64N(int64(100 * time.Millisecond)))
		}
		time.Sleep(delay)
		srv.Kill()
		t.Logf("round %d: killed %v after the seal (or the .tmp file); wal: %v", round, delay.Round(time.Millisecond), walFiles(srv.Dir))
		srv.Restart()
		verify(srv.Client(), fmt.Sprintf("after round %d", round))
		// The log is whole: from index 1, one entry per acknowledged SET.
		if first, last := persistence(srv.Client(), "memimg_log_first_index"), persistence(srv.Client(), "memimg_log_last_index"); first != 1 || last != version {
			t.Errorf("after round %d: log index %d..%d, want 1..%d", round, first, last, version)
		}
		if t.Failed() {
			return
		}
	}
	// Let the compressor finish, then stop cleanly and start again.
	rdb := srv.Client()
	deadline := time.Now().Add(30 * time.Second)
	for persistence(rdb, "memimg_log_compressed_segments") < persistence(rdb, "memimg_log_segments")-1 {
		if time.Now().After(deadline) {
			t.Fatalf("sealed segments not compressed after 30 s: %v", walFiles(srv.Dir))
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.Restart()
	verify(srv.Client(), "after a clean restart")
	files := walFiles(srv.Dir)
	t.Logf("wal: %v", files)
	if slices.ContainsFunc(files, func(n string) bool { return strings.HasSuffix(n, ".tmp") }) {
		t.Errorf("temporary files left in the log directory: %v", files)
	}
	srv.Stop()
}
