package main

// TestCrashAllTypes: the kill -9 test of crash_test.go extended to hashes,
// lists, sets, sorted sets and MULTI/EXEC. Writers, one per type (HSET,
// HINCRBY, HDEL; RPUSH, LPOP; SADD, SREM; ZADD, ZINCRBY; INCR; a MULTI/EXEC,
// half of them under WATCH, that changes a hash, a list, a set and a sorted
// set at once; one key deleted and created again as another type, and now
// and then a DEL of a collection), change their keys while a real memimgd
// (appendfsync always) is killed with SIGKILL at a random moment, sometimes
// while a BGSAVE is writing a snapshot; after the restart each writer's keys
// must be exactly what its acknowledged commands made of them, plus possibly
// some prefix of the commands whose outcome is unknown (sent, no reply
// before the kill), a transaction is all or nothing, and the server's
// MEMIMG.DIGEST equals the digest of a full replay of the log (memimg
// verify).
//
// Every writer is alone on its keys and sends its commands in order (one at
// a time, in a pipeline, or in a MULTI/EXEC), so it knows the exact state
// its keys must be in: a model, to which each acknowledged command is
// applied (and each reply checked against it). A killed writer stops at its
// first error: the commands without a reply are pending, and the server may
// have applied any prefix of them (it applies a connection's commands in
// order and recovers a prefix of its log). After the restart the state read
// back must equal the model with some prefix of the pending commands
// applied; that prefix becomes the model of the next round.
//
//	go test ./cmd/memimgd/ -run TestCrashAllTypes -v -crash.rounds=20 -crash.seed=S

import (
	"context"
	"fmt"
	"math/rand/v2"
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
)

// ---------------------------------------------------------------------------
// The model: what a writer knows its keys hold.

// tcVal is the value of one key, of one of the five types.
type tcVal struct {
	kind string // "hash", "list", "set", "zset" or "string"
	hash map[string]string
	list []string
	set  map[string]bool
	zset map[string]float64
	str  string
}

func (v *tcVal) empty() bool {
	switch v.kind {
	case "hash":
		return len(v.hash) == 0
	case "list":
		return len(v.list) == 0
	case "set":
		return len(v.set) == 0
	case "zset":
		return len(v.zset) == 0
	}
	return false
}

func (v *tcVal) clone() *tcVal {
	c := *v
	c.hash = cloneMap(v.hash)
	c.list = slices.Clone(v.list)
	c.set = cloneMap(v.set)
	c.zset = cloneMap(v.zset)
	return &c
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// items lists the value's contents as strings: the elements of a list in
// order, the members (field=value, member=score) of the others sorted.
func (v *tcVal) items() []string {
	if v == nil {
		return nil
	}
	var out []string
	switch v.kind {
	case "hash":
		for f, x := range v.hash {
			out = append(out, f+"="+x)
		}
	case "list":
		return slices.Clone(v.list)
	case "set":
		for m := range v.set {
			out = append(out, m)
		}
	case "zset":
		for m, s := range v.zset {
			out = append(out, m+"="+tcScore(s))
		}
	case "string":
		out = append(out, v.str)
	}
	slices.Sort(out)
	return out
}

func tcKind(v *tcVal) string {
	if v == nil {
		return "none"
	}
	return v.kind
}

func tcEqual(a, b *tcVal) bool {
	return tcKind(a) == tcKind(b) && slices.Equal(a.items(), b.items())
}

// tcDiff describes how got differs from want, briefly.
func tcDiff(want, got *tcVal) string {
	if tcEqual(want, got) {
		return "equal"
	}
	if tcKind(want) != tcKind(got) {
		return fmt.Sprintf("type %s (%d items), want %s (%d items)", tcKind(got), len(got.items()), tcKind(want), len(want.items()))
	}
	w, g := want.items(), got.items()
	inW, inG := map[string]bool{}, map[string]bool{}
	for _, x := range w {
		inW[x] = true
	}
	for _, x := range g {
		inG[x] = true
	}
	var missing, extra []string
	for _, x := range w {
		if !inG[x] {
			missing = append(missing, x)
		}
	}
	for _, x := range g {
		if !inW[x] {
			extra = append(extra, x)
		}
	}
	s := fmt.Sprintf("%d items, want %d; %d missing %q; %d extra %q", len(g), len(w),
		len(missing), missing[:min(len(missing), 5)], len(extra), extra[:min(len(extra), 5)])
	if len(missing) == 0 && len(extra) == 0 {
		s += " (same items, another order)"
	}
	return s
}

func tcScore(s float64) string { return strconv.FormatFloat(s, 'f', -1, 64) }

// tcModel is the state of a writer's keys; a missing key is absent.
type tcModel map[string]*tcVal

func (m tcModel) clone() tcModel {
	c := make(tcModel, len(m))
	for k, v := range m {
		c[k] = v.clone()
	}
	return c
}

// val returns key's value, created empty (of kind) if absent.
func (m tcModel) val(key, kind string) *tcVal {
	v := m[key]
	if v == nil {
		v = &tcVal{kind: kind, hash: map[string]string{}, set: map[string]bool{}, zset: map[string]float64{}}
		m[key] = v
	}
	return v
}

// tidy deletes key if its collection is empty, as the server does.
func (m tcModel) tidy(key string) {
	if v := m[key]; v != nil && v.empty() {
		delete(m, key)
	}
}

// anyMember returns some member of a map (any one), and false if empty.
func anyMember[V any](mp map[string]V, skip string) (string, bool) {
	for k := range mp {
		if k != skip {
			return k, true
		}
	}
	return "", false
}

// tcRead reads key's value from the server.
func tcRead(ctx context.Context, rdb *redis.Client, key string) (*tcVal, error) {
	kind, err := rdb.Type(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("TYPE %s: %w", key, err)
	}
	if kind == "none" {
		return nil, nil
	}
	v := (tcModel{}).val(key, kind)
	switch kind {
	case "hash":
		v.hash, err = rdb.HGetAll(ctx, key).Result()
	case "list":
		v.list, err = rdb.LRange(ctx, key, 0, -1).Result()
	case "set":
		var ms []string
		ms, err = rdb.SMembers(ctx, key).Result()
		for _, m := range ms {
			v.set[m] = true
		}
	case "zset":
		var zs []redis.Z
		zs, err = rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
		for i, z := range zs {
			m := z.Member.(string)
			if i > 0 && (zs[i-1].Score > z.Score || zs[i-1].Score == z.Score && zs[i-1].Member.(string) >= m) {
				return nil, fmt.Errorf("ZRANGE %s: %s=%v after %s=%v: not in order", key, m, z.Score, zs[i-1].Member, zs[i-1].Score)
			}
			v.zset[m] = z.Score
		}
	case "string":
		v.str, err = rdb.Get(ctx, key).Result()
	default:
		return nil, fmt.Errorf("TYPE %s = %q", key, kind)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", kind, key, err)
	}
	return v, nil
}

// ---------------------------------------------------------------------------
// Operations and writers.

// tcOp is one operation of a writer: one command, or the commands of one
// MULTI/EXEC.
type tcOp struct {
	cmds [][]any
	// apply applies the operation to a model and returns the replies it
	// must have had (int64, string or float64 each). It depends on the
	// model only, so that it can be applied to several candidate models.
	apply func(m tcModel) []any
	tx    string   // the transaction's id, "" if not a transaction
	watch []string // keys to WATCH before the transaction
}

func (op tcOp) String() string {
	var parts []string
	for _, c := range op.cmds {
		parts = append(parts, strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(c), "["), "]"))
	}
	if op.tx != "" {
		w := ""
		if len(op.watch) > 0 {
			w = fmt.Sprintf("WATCH %v; ", op.watch)
		}
		return w + "MULTI; " + strings.Join(parts, "; ") + "; EXEC"
	}
	return strings.Join(parts, "; ")
}

// tcCounter is a counter of a writer: a string key, or a field of a hash.
type tcCounter struct{ key, field string }

// tcWriter is one writer, alone on its keys, across all the rounds.
type tcWriter struct {
	id       int
	name     string
	keys     []string
	counters []tcCounter
	depth    int  // commands per pipeline (1: one at a time)
	tx       bool // its operations are transactions
	gen      func(w *tcWriter, rng *rand.Rand, proj tcModel, round int) tcOp

	seq       int     // numbers the new elements, over all rounds
	confirmed tcModel // the state its acknowledged operations made
	pending   []tcOp  // sent, no reply before the kill: any prefix may be applied

	txAcked   []string // ids of the acknowledged transactions
	txPending []string // ids of the pending ones

	totalAcked int

	// per round
	nAcked, nPending, nNotSent int
	errs                       []string
}

func (w *tcWriter) next() int { w.seq++; return w.seq }

// tcOutcome classifies the result of one operation (all of a
// transaction's commands).
func tcOutcome(cmds []redis.Cmder) (outcome, error) {
	o := acked
	var first error
	for _, c := range cmds {
		err := c.Err()
		if err == nil {
			continue
		}
		if first == nil {
			first = err
		}
		switch co := classify(err); {
		case co == refused:
			return refused, err
		case co == unknown:
			o = unknown
		case co == notSent && o == acked:
			o = notSent
		}
	}
	return o, first
}

// tcSameReply compares a reply with the one the model predicts.
func tcSameReply(got, want any) bool {
	if wf, ok := want.(float64); ok {
		switch g := got.(type) {
		case float64:
			return g == wf
		case string:
			f, err := strconv.ParseFloat(g, 64)
			return err == nil && f == wf
		}
		return false
	}
	return fmt.Sprintf("%T:%v", got, got) == fmt.Sprintf("%T:%v", want, want)
}

// run writes until its first failed exchange, until stop, or maxExchanges,
// applying every acknowledged operation to w.confirmed and keeping the
// ones with an unknown outcome in w.pending.
func (w *tcWriter) run(ctx context.Context, addr string, round int, seed uint64, killed, stop *atomic.Bool) {
	const maxExchanges = 20000
	rdb := crashClient(addr)
	defer rdb.Close()
	rng := rand.New(rand.NewPCG(seed, uint64(w.id)))
	w.nAcked, w.nPending, w.nNotSent, w.errs = 0, 0, 0, nil
	proj := w.confirmed.clone() // the state if every operation sent so far is applied
	errorf := func(format string, args ...any) {
		w.errs = append(w.errs, fmt.Sprintf("%s writer: ", w.name)+fmt.Sprintf(format, args...))
	}
	for n := 0; n < maxExchanges && !stop.Load() && ctx.Err() == nil; n++ {
		ops := make([]tcOp, 1+rng.IntN(w.depth))
		for i := range ops {
			ops[i] = w.gen(w, rng, proj, round)
			ops[i].apply(proj)
		}
		// One exchange: the commands, each op's own.
		var cmds []redis.Cmder
		var perOp [][]redis.Cmder
		switch {
		case w.tx:
			queue := func(p redis.Pipeliner) error {
				for _, c := range ops[0].cmds {
					p.Do(ctx, c...)
				}
				return nil
			}
			if len(ops[0].watch) == 0 {
				cmds, _ = rdb.TxPipelined(ctx, queue)
			} else {
				err := rdb.Watch(ctx, func(tx *redis.Tx) error {
					var err error
					cmds, err = tx.TxPipelined(ctx, queue)
					return err
				}, ops[0].watch...)
				if cmds == nil { // WATCH failed: nothing of the transaction was sent
					if classify(err) == refused || !killed.Load() {
						errorf("WATCH %v: %v (before the kill: %v)", ops[0].watch, err, !killed.Load())
					}
					w.nNotSent++
					return
				}
			}
			perOp = [][]redis.Cmder{cmds}
			if len(cmds) != len(ops[0].cmds) {
				errorf("%d replies for the %d commands of a transaction", len(cmds), len(ops[0].cmds))
				return
			}
		case len(ops) > 1:
			cmds, _ = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, op := range ops {
					p.Do(ctx, op.cmds[0]...)
				}
				return nil
			})
			if len(cmds) != len(ops) {
				errorf("%d replies for a pipeline of %d commands", len(cmds), len(ops))
				return
			}
			for _, c := range cmds {
				perOp = append(perOp, []redis.Cmder{c})
			}
		default:
			perOp = [][]redis.Cmder{{rdb.Do(ctx, ops[0].cmds[0]...)}}
		}
		// The acknowledged prefix is applied; the rest is pending, or
		// dropped if none of it was sent.
		for i, op := range ops {
			o, err := tcOutcome(perOp[i])
			if o == acked {
				got := make([]any, len(perOp[i]))
				for j, c := range perOp[i] {
					got[j] = c.(*redis.Cmd).Val()
				}
				exp := op.apply(w.confirmed)
				if len(got) != len(exp) || !slices.EqualFunc(got, exp, tcSameReply) {
					errorf("%s replied %v, want %v", op, got, exp)
				}
				w.nAcked++
				w.totalAcked++
				if op.tx != "" {
					w.txAcked = append(w.txAcked, op.tx)
				}
				continue
			}
			if o == refused || !killed.Load() {
				errorf("%s: %v (before the kill: %v)", op, err, !killed.Load())
			}
			allNotSent := true
			for _, rest := range perOp[i:] {
				if ro, _ := tcOutcome(rest); ro != notSent {
					allNotSent = false
				}
			}
			if allNotSent {
				w.nNotSent += len(ops) - i
			} else {
				for _, p := range ops[i:] {
					w.pending = append(w.pending, p)
					w.nPending++
					if p.tx != "" {
						w.txPending = append(w.txPending, p.tx)
					}
				}
			}
			return
		}
	}
}

// The writers' operations.

func tcHashGen(w *tcWriter, rng *rand.Rand, proj tcModel, round int) tcOp {
	k := w.keys[0]
	var cur map[string]string
	if v := proj[k]; v != nil {
		cur = v.hash
	}
	r := rng.IntN(20)
	if r >= 12 && r < 16 {
		by := int64(1 + rng.IntN(3))
		return tcOp{cmds: [][]any{{"hincrby", k, "cnt", by}}, apply: func(m tcModel) []any {
			v := m.val(k, "hash")
			n, _ := strconv.ParseInt(v.hash["cnt"], 10, 64)
			n += by
			v.hash["cnt"] = strconv.FormatInt(n, 10)
			return []any{n}
		}}
	}
	if f, ok := anyMember(cur, "cnt"); ok && r >= 16 {
		if r == 19 { // delete an acknowledged field
			return tcOp{cmds: [][]any{{"hdel", k, f}}, apply: func(m tcModel) []any {
				v := m.val(k, "hash")
				_, had := v.hash[f]
				delete(v.hash, f)
				m.tidy(k)
				return []any{tcBool(had)}
			}}
		}
		// Overwrite a field with a new value.
		val := fmt.Sprintf("v%d_%d_over", round, w.next())
		return tcOp{cmds: [][]any{{"hset", k, f, val}}, apply: func(m tcModel) []any {
			v := m.val(k, "hash")
			_, had := v.hash[f]
			v.hash[f] = val
			return []any{tcBool(!had)}
		}}
	}
	n := w.next()
	f, val := fmt.Sprintf("f%d_%d", round, n), fmt.Sprintf("v%d_%d", round, n)
	return tcOp{cmds: [][]any{{"hset", k, f, val}}, apply: func(m tcModel) []any {
		v := m.val(k, "hash")
		_, had := v.hash[f]
		v.hash[f] = val
		return []any{tcBool(!had)}
	}}
}

func tcListGen(w *tcWriter, rng *rand.Rand, proj tcModel, round int) tcOp {
	k := w.keys[0]
	if proj[k] != nil && rng.IntN(400) == 0 {
		return tcDel(k)
	}
	if v := proj[k]; v != nil && len(v.list) > 0 && rng.IntN(10) < 3 {
		return tcOp{cmds: [][]any{{"lpop", k}}, apply: func(m tcModel) []any {
			v := m.val(k, "list")
			if len(v.list) == 0 {
				m.tidy(k)
				return []any{nil}
			}
			head := v.list[0]
			v.list = v.list[1:]
			m.tidy(k)
			return []any{head}
		}}
	}
	cmd := []any{"rpush", k}
	var elems []string
	for range 1 + rng.IntN(3) {
		e := fmt.Sprintf("e%d_%d", round, w.next())
		elems = append(elems, e)
		cmd = append(cmd, e)
	}
	return tcOp{cmds: [][]any{cmd}, apply: func(m tcModel) []any {
		v := m.val(k, "list")
		v.list = append(v.list, elems...)
		return []any{int64(len(v.list))}
	}}
}

func tcSetGen(w *tcWriter, rng *rand.Rand, proj tcModel, round int) tcOp {
	k := w.keys[0]
	if proj[k] != nil && rng.IntN(200) == 0 {
		return tcDel(k)
	}
	if v := proj[k]; v != nil && rng.IntN(10) < 3 {
		if mem, ok := anyMember(v.set, ""); ok {
			absent := fmt.Sprintf("never%d", w.next())
			return tcOp{cmds: [][]any{{"srem", k, mem, absent}}, apply: func(m tcModel) []any {
				v := m.val(k, "set")
				n := tcBool(v.set[mem])
				delete(v.set, mem)
				m.tidy(k)
				return []any{n}
			}}
		}
	}
	cmd := []any{"sadd", k}
	var mems []string
	for range 1 + rng.IntN(2) {
		mem := fmt.Sprintf("m%d_%d", round, w.next())
		mems = append(mems, mem)
		cmd = append(cmd, mem)
	}
	return tcOp{cmds: [][]any{cmd}, apply: func(m tcModel) []any {
		v := m.val(k, "set")
		var n int64
		for _, mem := range mems {
			if !v.set[mem] {
				v.set[mem] = true
				n++
			}
		}
		return []any{n}
	}}
}

func tcZsetGen(w *tcWriter, rng *rand.Rand, proj tcModel, round int) tcOp {
	k := w.keys[0]
	if proj[k] != nil && rng.IntN(200) == 0 {
		return tcDel(k)
	}
	if v := proj[k]; v != nil && rng.IntN(10) < 4 {
		if mem, ok := anyMember(v.zset, ""); ok {
			by := float64(rng.IntN(12)-6) / 2 // halves: exact in binary
			if by == 0 {
				by = 3.5
			}
			return tcOp{cmds: [][]any{{"zincrby", k, tcScore(by), mem}}, apply: func(m tcModel) []any {
				v := m.val(k, "zset")
				v.zset[mem] += by
				return []any{v.zset[mem]}
			}}
		}
	}
	mem := fmt.Sprintf("m%d_%d", round, w.next())
	score := float64(rng.IntN(4001)-2000) / 2
	return tcOp{cmds: [][]any{{"zadd", k, tcScore(score), mem}}, apply: func(m tcModel) []any {
		v := m.val(k, "zset")
		_, had := v.zset[mem]
		v.zset[mem] = score
		return []any{tcBool(!had)}
	}}
}

// tcTxGen: one transaction touching the four collection types, each with
// an effect named after the transaction's id; half of them WATCH the keys.
func tcTxGen(w *tcWriter, rng *rand.Rand, proj tcModel, round int) tcOp {
	h, l, s, z := w.keys[0], w.keys[1], w.keys[2], w.keys[3]
	id := fmt.Sprintf("%d_%d", round, w.next())
	score := float64(rng.IntN(1000))
	var watch []string
	if rng.IntN(2) == 0 {
		// Alone on its keys, the writer's WATCH never aborts: not live,
		// and not when the entry (which carries the watched keys'
		// fingerprints) is replayed after a restart, on collections
		// loaded from a snapshot.
		watch = w.keys
	}
	return tcOp{
		tx:    id,
		watch: watch,
		cmds: [][]any{
			{"hset", h, "f" + id, "v" + id},
			{"rpush", l, "e" + id},
			{"sadd", s, "m" + id},
			{"zadd", z, tcScore(score), "m" + id},
		},
		apply: func(m tcModel) []any {
			hv, lv, sv, zv := m.val(h, "hash"), m.val(l, "list"), m.val(s, "set"), m.val(z, "zset")
			_, hHad := hv.hash["f"+id]
			hv.hash["f"+id] = "v" + id
			lv.list = append(lv.list, "e"+id)
			sHad := sv.set["m"+id]
			sv.set["m"+id] = true
			_, zHad := zv.zset["m"+id]
			zv.zset["m"+id] = score
			return []any{tcBool(!hHad), int64(len(lv.list)), tcBool(!sHad), tcBool(!zHad)}
		},
	}
}

func tcIncrGen(w *tcWriter, rng *rand.Rand, proj tcModel, round int) tcOp {
	k := w.keys[0]
	return tcOp{cmds: [][]any{{"incr", k}}, apply: func(m tcModel) []any {
		v := m.val(k, "string")
		n, _ := strconv.ParseInt(v.str, 10, 64)
		n++
		v.str = strconv.FormatInt(n, 10)
		return []any{n}
	}}
}

// tcDel deletes the writer's key: rarely, so that its collection starts
// again from nothing (and an incremental snapshot sees the deletion).
func tcDel(k string) tcOp {
	return tcOp{cmds: [][]any{{"del", k}}, apply: func(m tcModel) []any {
		_, had := m[k]
		delete(m, k)
		return []any{tcBool(had)}
	}}
}

// tcMorphGen changes one key's type often: it deletes it (1 time in 8)
// and creates it again as a string, hash, list, set or sorted set, or adds
// to it.
func tcMorphGen(w *tcWriter, rng *rand.Rand, proj tcModel, round int) tcOp {
	k := w.keys[0]
	cur := proj[k]
	if cur != nil && rng.IntN(8) == 0 {
		return tcDel(k)
	}
	kind := []string{"string", "hash", "list", "set", "zset"}[rng.IntN(5)]
	if cur != nil {
		kind = cur.kind
	}
	x := fmt.Sprintf("x%d_%d", round, w.next())
	switch {
	case kind == "string" && cur == nil:
		return tcOp{cmds: [][]any{{"set", k, x}}, apply: func(m tcModel) []any {
			m.val(k, "string").str = x
			return []any{"OK"}
		}}
	case kind == "string":
		return tcOp{cmds: [][]any{{"append", k, "," + x}}, apply: func(m tcModel) []any {
			v := m.val(k, "string")
			v.str += "," + x
			return []any{int64(len(v.str))}
		}}
	case kind == "hash":
		return tcOp{cmds: [][]any{{"hset", k, x, "v" + x}}, apply: func(m tcModel) []any {
			m.val(k, "hash").hash[x] = "v" + x
			return []any{int64(1)}
		}}
	case kind == "list":
		return tcOp{cmds: [][]any{{"rpush", k, x}}, apply: func(m tcModel) []any {
			v := m.val(k, "list")
			v.list = append(v.list, x)
			return []any{int64(len(v.list))}
		}}
	case kind == "set":
		return tcOp{cmds: [][]any{{"sadd", k, x}}, apply: func(m tcModel) []any {
			m.val(k, "set").set[x] = true
			return []any{int64(1)}
		}}
	default:
		score := float64(rng.IntN(100))
		return tcOp{cmds: [][]any{{"zadd", k, tcScore(score), x}}, apply: func(m tcModel) []any {
			m.val(k, "zset").zset[x] = score
			return []any{int64(1)}
		}}
	}
}

func tcBool(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func newTCWriters() []*tcWriter {
	ws := []*tcWriter{
		{name: "hash", keys: []string{"h:0"}, counters: []tcCounter{{"h:0", "cnt"}}, depth: 1, gen: tcHashGen},
		{name: "list", keys: []string{"l:1"}, depth: 8, gen: tcListGen}, // pipelined
		{name: "set", keys: []string{"s:2"}, depth: 1, gen: tcSetGen},
		{name: "zset", keys: []string{"z:3"}, depth: 1, gen: tcZsetGen},
		{name: "multi", keys: []string{"tx:h", "tx:l", "tx:s", "tx:z"}, depth: 1, tx: true, gen: tcTxGen},
		{name: "incr", keys: []string{"c:5"}, counters: []tcCounter{{"c:5", ""}}, depth: 4, gen: tcIncrGen}, // pipelined
		{name: "morph", keys: []string{"x:6"}, depth: 1, gen: tcMorphGen},
	}
	for i, w := range ws {
		w.id = i
		w.confirmed = tcModel{}
	}
	return ws
}

// ---------------------------------------------------------------------------
// Checking a restarted server.

// tcCounterValue is the counter's value in a model or a state read back.
func tcCounterValue(m tcModel, c tcCounter) int64 {
	v := m[c.key]
	if v == nil {
		return 0
	}
	s := v.str
	if c.field != "" {
		s = v.hash[c.field]
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// check compares the writer's keys on the restarted server (got) with its
// model and pending operations, and makes the matching candidate its model.
// It returns how many of the pending operations were applied ("name j/n").
func (w *tcWriter) check(t *testing.T, got tcModel, round int) string {
	t.Helper()
	// The candidates: the model with the first j pending operations applied.
	cands := []tcModel{w.confirmed.clone()}
	for _, op := range w.pending {
		c := cands[len(cands)-1].clone()
		op.apply(c)
		cands = append(cands, c)
	}
	match := -1
	for j, c := range cands {
		same := true
		for _, k := range w.keys {
			if !tcEqual(c[k], got[k]) {
				same = false
				break
			}
		}
		if same {
			match = j
			break
		}
	}

	// Counters: acknowledged <= value <= acknowledged + unknown (the
	// smallest and largest of the candidates).
	for _, c := range w.counters {
		v, lo, hi := tcCounterValue(got, c), tcCounterValue(cands[0], c), tcCounterValue(cands[0], c)
		for _, cand := range cands[1:] {
			lo, hi = min(lo, tcCounterValue(cand, c)), max(hi, tcCounterValue(cand, c))
		}
		if v < lo || v > hi {
			t.Errorf("after round %d: %s writer: counter %s %s = %d, want %d..%d (acknowledged..+%d pending operations)",
				round, w.name, c.key, c.field, v, lo, hi, len(w.pending))
		}
	}
	// Transactions: all or nothing; all if acknowledged.
	if w.tx {
		h, l, s, z := got[w.keys[0]], got[w.keys[1]], got[w.keys[2]], got[w.keys[3]]
		inList := map[string]bool{}
		if l != nil {
			for _, e := range l.list {
				inList[e] = true
			}
		}
		effects := func(id string) (n int, which []string) {
			if _, ok := h.hashField("f" + id); ok {
				n, which = n+1, append(which, "HSET")
			}
			if inList["e"+id] {
				n, which = n+1, append(which, "RPUSH")
			}
			if s != nil && s.set["m"+id] {
				n, which = n+1, append(which, "SADD")
			}
			if z != nil {
				if _, ok := z.zset["m"+id]; ok {
					n, which = n+1, append(which, "ZADD")
				}
			}
			return n, which
		}
		var partial, lost []string
		for _, id := range w.txAcked {
			if n, which := effects(id); n != 4 {
				lost = append(lost, fmt.Sprintf("%s (present: %v)", id, which))
			}
		}
		for _, id := range w.txPending {
			if n, which := effects(id); n != 0 && n != 4 {
				partial = append(partial, fmt.Sprintf("%s (present: %v)", id, which))
			}
		}
		if len(lost) > 0 {
			t.Errorf("after round %d: %d of %d acknowledged transactions not all there, e.g. %q", round, len(lost), len(w.txAcked), lost[:min(len(lost), 5)])
		}
		if len(partial) > 0 {
			t.Errorf("after round %d: pending transactions applied in part: %q", round, partial)
		}
	}

	if match < 0 {
		var b strings.Builder
		last := cands[len(cands)-1]
		for _, k := range w.keys {
			if tcEqual(cands[0][k], got[k]) && tcEqual(last[k], got[k]) {
				continue
			}
			fmt.Fprintf(&b, "\n  %s: vs acknowledged: %s", k, tcDiff(cands[0][k], got[k]))
			if len(cands) > 1 {
				fmt.Fprintf(&b, "; vs all %d pending applied: %s", len(w.pending), tcDiff(last[k], got[k]))
			}
		}
		var ps []string
		for _, op := range w.pending {
			ps = append(ps, op.String())
		}
		t.Errorf("after round %d: %s writer: the restarted state is neither the acknowledged state nor it plus a prefix of the %d pending operations %q:%s",
			round, w.name, len(w.pending), ps, b.String())
		return w.name + " mismatch"
	}
	w.confirmed = cands[match]
	for _, id := range w.txPending {
		if s := w.confirmed[w.keys[2]]; s != nil && s.set["m"+id] {
			w.txAcked = append(w.txAcked, id) // applied: from now on it must stay
		}
	}
	applied := fmt.Sprintf("%s %d/%d", w.name, match, len(w.pending))
	w.pending, w.txPending = nil, nil
	return applied
}

func (v *tcVal) hashField(f string) (string, bool) {
	if v == nil || v.kind != "hash" {
		return "", false
	}
	x, ok := v.hash[f]
	return x, ok
}

// tcCheck reads every writer's keys from the restarted server and checks
// them; there must be no other key.
func tcCheck(t *testing.T, rdb *redis.Client, ws []*tcWriter, round int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	known := map[string]bool{}
	var applied []string
	for _, w := range ws {
		got := tcModel{}
		for _, k := range w.keys {
			known[k] = true
			v, err := tcRead(ctx, rdb, k)
			if err != nil {
				t.Fatalf("after round %d: %v", round, err)
			}
			if v != nil {
				got[k] = v
			}
		}
		applied = append(applied, w.check(t, got, round))
	}
	t.Logf("after round %d: pending operations found applied: %s", round, strings.Join(applied, ", "))
	all, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatalf("after round %d: KEYS: %v", round, err)
	}
	var extra []string
	for _, k := range all {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		t.Errorf("after round %d: keys nobody wrote: %q", round, extra)
	}
}

// ---------------------------------------------------------------------------
// The test.

var tcSnapshotLoadedRE = regexp.MustCompile(`msg="snapshot loaded" index=(\d+)`)

// tcRound runs the writers against srv, issues a BGSAVE at a random moment
// (in most rounds), and kills srv with SIGKILL at a random moment.
func tcRound(t *testing.T, srv *memimgtest.Server, ws []*tcWriter, round int, rng *rand.Rand) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	skip := len(srv.Log())
	var killed, stop atomic.Bool
	var wg sync.WaitGroup
	seed := rng.Uint64()
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, srv.Addr, round, seed, &killed, &stop)
		}()
	}
	delay := 100*time.Millisecond + time.Duration(rng.Int64N(int64(400*time.Millisecond)))
	// A BGSAVE in 3 rounds of 4: at a random moment before the kill, or
	// just before it, so that the kill may land while it writes.
	var save time.Duration = -1
	switch rng.IntN(4) {
	case 0:
	case 1:
		save = max(0, delay-time.Duration(rng.Int64N(int64(20*time.Millisecond))))
	default:
		save = time.Duration(rng.Int64N(int64(delay)))
	}
	saveReply := "no BGSAVE"
	if save >= 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(save)
			rdb := crashClient(srv.Addr)
			defer rdb.Close()
			r, err := rdb.Do(ctx, "bgsave").Text()
			if err != nil {
				r = err.Error()
			}
			saveReply = fmt.Sprintf("BGSAVE at %v: %q", save.Round(time.Millisecond), r)
		}()
	}
	time.Sleep(delay)
	killed.Store(true)
	srv.Kill()
	stop.Store(true)
	wg.Wait()

	var sum []string
	for _, w := range ws {
		for _, e := range w.errs {
			t.Errorf("round %d: %s", round, e)
		}
		sum = append(sum, fmt.Sprintf("%s %d/%d/%d", w.name, w.nAcked, w.nPending, w.nNotSent))
	}
	log := srv.Log()[skip:]
	snap := "no snapshot written"
	if snapWrittenRE.MatchString(log) {
		snap = "a snapshot written"
	} else if snapStartedRE.MatchString(log) {
		snap = "killed during a snapshot"
	}
	t.Logf("round %d: killed after %v; %s, %s; operations acknowledged/pending/not sent: %s",
		round, delay.Round(time.Millisecond), saveReply, snap, strings.Join(sum, ", "))
}

// TestCrashAllTypes kills the server with SIGKILL at random moments while
// writers change hashes, lists, sets, sorted sets, a string counter and all
// four collections in MULTI/EXEC transactions, and checks after each
// restart that every acknowledged write is there (exactly: each writer's
// keys are what its acknowledged operations, plus a prefix of the ones
// whose outcome is unknown, made them), that transactions are all or
// nothing, and that MEMIMG.DIGEST equals a full replay's (memimg verify).
func TestCrashAllTypes(t *testing.T) {
	needCommands(t, "hset", "hincrby", "hdel", "del", "set", "append", "hgetall", "rpush", "lpop", "lrange", "sadd", "srem", "smembers",
		"zadd", "zincrby", "zrange", "multi", "exec", "watch", "incr", "get", "type", "keys", "bgsave", "memimg.digest")
	rounds := *crashRounds
	if rounds <= 0 {
		rounds = 4
		if testing.Short() {
			rounds = 2
		}
	}
	tool := buildMemimg(t)
	rng := rand.New(rand.NewPCG(crashSeedFor(t), 7))
	// A save rule that never fires in the test, but makes every clean stop
	// write a snapshot: each round after the first starts from one, and its
	// crash restarts from it (or from the BGSAVE's, if that committed) and
	// replays the log after it.
	srv := memimgtest.Start(t, memimgtest.WithArgs("--appendfsync", "always", "--save", "3600 1"))
	if got := srv.Client().ConfigGet(ctxT(t), "appendfsync").Val()["appendfsync"]; got != "always" {
		t.Fatalf("appendfsync = %q, want always", got)
	}
	ws := newTCWriters()
	digest := ""
	for round := 1; round <= rounds; round++ {
		if round > 1 {
			srv.Restart() // stopped by checkRecovered
		}
		tcRound(t, srv, ws, round, rng)
		skip := len(srv.Log())
		srv.Restart()
		loaded := "no snapshot"
		if m := tcSnapshotLoadedRE.FindStringSubmatch(srv.Log()[skip:]); m != nil {
			loaded = "the snapshot at index " + m[1]
		}
		rdb := srv.Client()
		t.Logf("restart %d: loaded %s; applied index %s", round, loaded, infoField(t, rdb, "memimg_applied_index"))
		tcCheck(t, rdb, ws, round)
		if t.Failed() {
			return
		}
		digest = digestOf(t, rdb)
		checkRecovered(t, srv, tool, nil) // the digest equals a full replay's; stops srv
	}
	for _, w := range ws {
		if w.totalAcked == 0 {
			t.Errorf("%s writer: nothing acknowledged in %d rounds: the test checked nothing of it", w.name, rounds)
		}
	}
	// A clean start keeps it all, with the same digest.
	srv.Restart()
	rdb := srv.Client()
	tcCheck(t, rdb, ws, rounds+1)
	if d := digestOf(t, rdb); d != digest {
		t.Errorf("digest after a clean restart %s, before %s", d, digest)
	}
	srv.Stop()
}
