package main

// workloads.go: the operations each system is measured on, through its
// native client (go-redis for memimg and Redis, pgx for PostgreSQL), the
// closed-loop workers that run them, and the checks that the systems hold
// what the workers were told was written.
//
// Keys are "key:00000042" (the data set, preloaded with one value each) and
// "ctr:00000042" (the counters, preloaded with 0). Values are
// "c<cell>.w<worker>.s<seq>." padded with 'x' to the value size, so every
// write of a run has a different value and the harness can rebuild the
// value it expects any key to hold.
//
// Each worker writes only the keys of its own slice of the key space
// (key index ≡ worker (mod clients)), so the last value a key was set to
// is the last one its single writer was acknowledged for. Reads and
// counter increments use the whole key space.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Keys per operation of the multi-key workloads.
const (
	txKeys    = 5
	batchKeys = 10
)

// workload is one kind of operation mix.
type workload struct {
	Name  string // as given to --workloads
	Title string // for tables
	// KeysPerOp is the number of keys one operation writes (0 for reads).
	KeysPerOp int
	// Redis and Postgres describe the operation for each client.
	Redis, Postgres string
}

var workloads = []workload{
	{Name: "write", Title: "point write", KeysPerOp: 1,
		Redis: "SET key value", Postgres: "INSERT INTO kv VALUES ($1,$2) ON CONFLICT (k) DO UPDATE SET v = excluded.v"},
	{Name: "read", Title: "point read", KeysPerOp: 0,
		Redis: "GET key", Postgres: "SELECT v FROM kv WHERE k = $1"},
	{Name: "mix", Title: "90% read / 10% write", KeysPerOp: 1,
		Redis: "GET / SET", Postgres: "SELECT / upsert"},
	{Name: "incr", Title: "counter increment", KeysPerOp: 1,
		Redis: "INCR counter", Postgres: "UPDATE counters SET v = v + 1 WHERE k = $1"},
	{Name: "tx", Title: "transaction of 5 writes", KeysPerOp: txKeys,
		Redis: "MULTI, 5 × SET, EXEC (one round trip)", Postgres: "pgx.Batch of 5 upserts: one implicit transaction, one round trip"},
	{Name: "batch", Title: "batch of 10 writes", KeysPerOp: batchKeys,
		Redis: "pipeline of 10 SET", Postgres: "one 10-row INSERT .. ON CONFLICT DO UPDATE"},
}

var workloadNames = func() []string {
	var n []string
	for _, w := range workloads {
		n = append(n, w.Name)
	}
	return n
}()

func findWorkload(name string) (workload, bool) {
	for _, w := range workloads {
		if w.Name == name {
			return w, true
		}
	}
	return workload{}, false
}

// store is a client pool connected to one server, with the operations the
// workloads and the checks need. Every method is safe for concurrent use.
type store interface {
	Set(ctx context.Context, key, val string) error
	// Get returns the value and whether the key exists.
	Get(ctx context.Context, key string) (string, bool, error)
	Incr(ctx context.Context, key string) error
	// Tx writes the keys atomically (MULTI/EXEC, one SQL transaction).
	Tx(ctx context.Context, keys, vals []string) error
	// Batch writes the keys in one round trip (pipeline, multi-row upsert).
	Batch(ctx context.Context, keys, vals []string) error

	// Load writes the data set and the counters (set to 0) before the
	// cells run, by the fastest path each system has.
	Load(ctx context.Context, keys, vals, counters []string) error
	// ReadMany returns the values of keys; found[i] is false for a
	// missing key.
	ReadMany(ctx context.Context, keys []string) (vals []string, found []bool, err error)
	// SumCounters returns the sum of the counters.
	SumCounters(ctx context.Context, counters []string) (int64, error)
	Close()
}

// errUnsupported wraps an error the server gives for an operation it does
// not implement (memimg before it had MULTI/EXEC).
type errUnsupported struct{ err error }

func (e *errUnsupported) Error() string { return "unsupported: " + e.err.Error() }

// --- go-redis: memimg and Redis ---

// quietLogger drops go-redis's log lines (such as the note that it threw
// away a connection left with unread replies by an unknown MULTI), which
// would break the progress line.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietLogger{}) }

type redisStore struct{ rdb *redis.Client }

// pingRedis checks that a Redis-protocol server answers at addr.
func pingRedis(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	return c.Ping(ctx).Err()
}

// openRedisStore connects a go-redis client with a pool of clients
// connections. Retries are off: a retried INCR could count twice.
func openRedisStore(ctx context.Context, addr string, clients int) (store, error) {
	rdb := redis.NewClient(&redis.Options{
		Addr:         addr,
		PoolSize:     clients,
		MinIdleConns: clients,
		MaxRetries:   -1,
		DialTimeout:  5 * time.Second,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		PoolTimeout:  30 * time.Second,
	})
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, err
	}
	return &redisStore{rdb: rdb}, nil
}

func (s *redisStore) Close() { s.rdb.Close() }

func (s *redisStore) Set(ctx context.Context, key, val string) error {
	return s.rdb.Set(ctx, key, val, 0).Err()
}

func (s *redisStore) Get(ctx context.Context, key string) (string, bool, error) {
	v, err := s.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (s *redisStore) Incr(ctx context.Context, key string) error {
	return s.rdb.Incr(ctx, key).Err()
}

func (s *redisStore) Tx(ctx context.Context, keys, vals []string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i := range keys {
			p.Set(ctx, keys[i], vals[i], 0)
		}
		return nil
	})
	if err != nil && isUnknownCommand(err) {
		return &errUnsupported{err}
	}
	return err
}

// isUnknownCommand recognizes a server's reply to a command it does not
// implement: Redis's "unknown command", memimg's "is not implemented yet".
func isUnknownCommand(err error) bool {
	s := strings.ToLower(err.Error())
	for _, m := range []string{"unknown command", "not implemented", "not supported", "exec without multi"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

func (s *redisStore) Batch(ctx context.Context, keys, vals []string) error {
	cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range keys {
			p.Set(ctx, keys[i], vals[i], 0)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(cmds) != len(keys) {
		return fmt.Errorf("pipeline: %d replies for %d commands", len(cmds), len(keys))
	}
	return nil
}

// Load sends MSETs of 1,000 keys, 10 per pipeline.
func (s *redisStore) Load(ctx context.Context, keys, vals, counters []string) error {
	const per = 1000
	mset := func(p redis.Pipeliner, ks []string, v func(i int) string) {
		args := make([]any, 0, 2*len(ks))
		for i, k := range ks {
			args = append(args, k, v(i))
		}
		p.MSet(ctx, args...)
	}
	type chunk struct {
		ks []string
		v  func(int) string
	}
	var chunks []chunk
	for i := 0; i < len(keys); i += per {
		j := min(i+per, len(keys))
		off := i
		chunks = append(chunks, chunk{keys[i:j], func(n int) string { return vals[off+n] }})
	}
	for i := 0; i < len(counters); i += per {
		j := min(i+per, len(counters))
		chunks = append(chunks, chunk{counters[i:j], func(int) string { return "0" }})
	}
	for i := 0; i < len(chunks); i += 10 {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, c := range chunks[i:min(i+10, len(chunks))] {
				mset(p, c.ks, c.v)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("preload: %w", err)
		}
	}
	return nil
}

func (s *redisStore) ReadMany(ctx context.Context, keys []string) ([]string, []bool, error) {
	vals := make([]string, len(keys))
	found := make([]bool, len(keys))
	const per = 1000
	for i := 0; i < len(keys); i += per {
		j := min(i+per, len(keys))
		res, err := s.rdb.MGet(ctx, keys[i:j]...).Result()
		if err != nil {
			return nil, nil, err
		}
		if len(res) != j-i {
			return nil, nil, fmt.Errorf("MGET: %d values for %d keys", len(res), j-i)
		}
		for n, v := range res {
			if str, ok := v.(string); ok {
				vals[i+n], found[i+n] = str, true
			}
		}
	}
	return vals, found, nil
}

func (s *redisStore) SumCounters(ctx context.Context, counters []string) (int64, error) {
	vals, found, err := s.ReadMany(ctx, counters)
	if err != nil {
		return 0, err
	}
	var sum int64
	for i, v := range vals {
		if !found[i] {
			return 0, fmt.Errorf("counter %s is missing", counters[i])
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("counter %s holds %q", counters[i], v)
		}
		sum += n
	}
	return sum, nil
}

// --- pgx: PostgreSQL ---

// The prepared statements, by name.
var pgStatements = map[string]string{
	"get":  "SELECT v FROM kv WHERE k = $1",
	"set":  "INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
	"incr": "UPDATE counters SET v = v + 1 WHERE k = $1",
	"batch": func() string {
		var b strings.Builder
		b.WriteString("INSERT INTO kv (k, v) VALUES ")
		for i := 0; i < batchKeys; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "($%d, $%d)", 2*i+1, 2*i+2)
		}
		b.WriteString(" ON CONFLICT (k) DO UPDATE SET v = excluded.v")
		return b.String()
	}(),
	"mget": "SELECT k, v FROM kv WHERE k = ANY($1)",
	"sum":  "SELECT coalesce(sum(v), 0)::bigint, count(*) FROM counters",
}

const pgSchema = `
CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v text NOT NULL);
CREATE TABLE IF NOT EXISTS counters (k text PRIMARY KEY, v bigint NOT NULL);
`

type pgStore struct{ pool *pgxpool.Pool }

func pingPostgres(ctx context.Context, dsn string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	return c.Ping(ctx)
}

// createPGSchema creates the tables, once, before any pool is opened (the
// statements prepared on each connection need them).
func createPGSchema(ctx context.Context, dsn string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, pgSchema)
	return err
}

// openPGStore opens a pgx pool of exactly clients connections, each with
// the statements prepared.
func openPGStore(ctx context.Context, dsn string, clients int) (store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(clients)
	cfg.MinConns = int32(clients)
	cfg.HealthCheckPeriod = time.Hour
	cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		for name, sql := range pgStatements {
			if _, err := c.Prepare(ctx, name, sql); err != nil {
				return fmt.Errorf("prepare %s: %w", name, err)
			}
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// Open every connection now, not during the timed run.
	conns := make([]*pgxpool.Conn, 0, clients)
	for i := 0; i < clients; i++ {
		c, err := pool.Acquire(ctx)
		if err != nil {
			for _, c := range conns {
				c.Release()
			}
			pool.Close()
			return nil, err
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Release()
	}
	return &pgStore{pool: pool}, nil
}

func (s *pgStore) Close() { s.pool.Close() }

func (s *pgStore) Set(ctx context.Context, key, val string) error {
	tag, err := s.pool.Exec(ctx, "set", key, val)
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("upsert of %s affected %d rows", key, tag.RowsAffected())
	}
	return err
}

func (s *pgStore) Get(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.pool.QueryRow(ctx, "get", key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (s *pgStore) Incr(ctx context.Context, key string) error {
	tag, err := s.pool.Exec(ctx, "incr", key)
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("increment of %s affected %d rows", key, tag.RowsAffected())
	}
	return err
}

// Tx sends the upserts as one pgx.Batch: one round trip, and one implicit
// transaction (the batch ends in a single Sync), so either all commit or
// none.
func (s *pgStore) Tx(ctx context.Context, keys, vals []string) error {
	b := &pgx.Batch{}
	for i := range keys {
		b.Queue("set", keys[i], vals[i])
	}
	br := s.pool.SendBatch(ctx, b)
	for range keys {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

func (s *pgStore) Batch(ctx context.Context, keys, vals []string) error {
	if len(keys) != batchKeys {
		return fmt.Errorf("batch of %d keys, want %d", len(keys), batchKeys)
	}
	args := make([]any, 0, 2*len(keys))
	for i := range keys {
		args = append(args, keys[i], vals[i])
	}
	tag, err := s.pool.Exec(ctx, "batch", args...)
	if err == nil && tag.RowsAffected() != int64(len(keys)) {
		err = fmt.Errorf("batch upsert affected %d rows, want %d", tag.RowsAffected(), len(keys))
	}
	return err
}

// Load copies the data set and the counters in with COPY, then vacuums,
// analyzes and checkpoints so the timed cells start from a settled table.
func (s *pgStore) Load(ctx context.Context, keys, vals, counters []string) error {
	if _, err := s.pool.Exec(ctx, "TRUNCATE kv, counters"); err != nil {
		return err
	}
	n, err := s.pool.CopyFrom(ctx, pgx.Identifier{"kv"}, []string{"k", "v"},
		pgx.CopyFromSlice(len(keys), func(i int) ([]any, error) { return []any{keys[i], vals[i]}, nil }))
	if err != nil {
		return fmt.Errorf("preload: COPY kv: %w", err)
	}
	if n != int64(len(keys)) {
		return fmt.Errorf("preload: COPY kv copied %d rows of %d", n, len(keys))
	}
	n, err = s.pool.CopyFrom(ctx, pgx.Identifier{"counters"}, []string{"k", "v"},
		pgx.CopyFromSlice(len(counters), func(i int) ([]any, error) { return []any{counters[i], int64(0)}, nil }))
	if err != nil {
		return fmt.Errorf("preload: COPY counters: %w", err)
	}
	if n != int64(len(counters)) {
		return fmt.Errorf("preload: COPY counters copied %d rows of %d", n, len(counters))
	}
	for _, q := range []string{"VACUUM ANALYZE kv", "VACUUM ANALYZE counters", "CHECKPOINT"} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("preload: %s: %w", q, err)
		}
	}
	return nil
}

func (s *pgStore) ReadMany(ctx context.Context, keys []string) ([]string, []bool, error) {
	vals := make([]string, len(keys))
	found := make([]bool, len(keys))
	pos := make(map[string][]int, len(keys))
	for i, k := range keys {
		pos[k] = append(pos[k], i)
	}
	const per = 1000
	for i := 0; i < len(keys); i += per {
		rows, err := s.pool.Query(ctx, "mget", keys[i:min(i+per, len(keys))])
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return nil, nil, err
			}
			for _, p := range pos[k] {
				vals[p], found[p] = v, true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	return vals, found, nil
}

func (s *pgStore) SumCounters(ctx context.Context, counters []string) (int64, error) {
	var sum, n int64
	if err := s.pool.QueryRow(ctx, "sum").Scan(&sum, &n); err != nil {
		return 0, err
	}
	if n != int64(len(counters)) {
		return 0, fmt.Errorf("counters table has %d rows, want %d", n, len(counters))
	}
	return sum, nil
}

// --- the data set and what it should hold ---

// dataset is the key space of one server and the value each key should
// hold, updated after every cell from what the workers were acknowledged.
type dataset struct {
	keys      []string
	counters  []string
	valueSize int
	// expect[i] is the last acknowledged write to keys[i].
	expect []stamp
	// counterSum is the sum the counters should have.
	counterSum int64
	// counterSlack is how many increments may or may not have happened
	// (they failed with an error after being sent).
	counterSlack int64
	// cell numbers the cells run on this server; 0 is the preload.
	cell uint32
}

// stamp identifies one write: the cell, the worker and its sequence
// number. unsure marks a write that failed with an error after it was sent,
// so the key may hold either value.
type stamp struct {
	cell   uint32
	worker uint16
	unsure bool
	seq    uint32
}

func newDataset(nkeys, valueSize int) *dataset {
	d := &dataset{valueSize: valueSize}
	d.keys = make([]string, nkeys)
	d.counters = make([]string, nkeys)
	d.expect = make([]stamp, nkeys)
	for i := range d.keys {
		d.keys[i] = fmt.Sprintf("key:%08d", i)
		d.counters[i] = fmt.Sprintf("ctr:%08d", i)
	}
	return d
}

// value builds the value of a write, into buf.
func (d *dataset) value(buf []byte, s stamp) []byte {
	buf = append(buf[:0], 'c')
	buf = strconv.AppendUint(buf, uint64(s.cell), 10)
	buf = append(buf, ".w"...)
	buf = strconv.AppendUint(buf, uint64(s.worker), 10)
	buf = append(buf, ".s"...)
	buf = strconv.AppendUint(buf, uint64(s.seq), 10)
	buf = append(buf, '.')
	for len(buf) < d.valueSize {
		buf = append(buf, 'x')
	}
	return buf
}

// minValueSize is the smallest value size that holds any stamp.
const minValueSize = 32

// preloadValues returns the values of the preload (cell 0).
func (d *dataset) preloadValues() []string {
	vals := make([]string, len(d.keys))
	var buf []byte
	for i := range vals {
		buf = d.value(buf, stamp{cell: 0, worker: 0, seq: uint32(i)})
		vals[i] = string(buf)
		d.expect[i] = stamp{cell: 0, worker: 0, seq: uint32(i)}
	}
	return vals
}

// --- workers ---

// worker is one client goroutine of a cell. Its fields are its own; the
// progress counter is read by the progress line.
type worker struct {
	id      int // 0..clients-1
	clients int
	st      store
	wl      workload
	d       *dataset
	cell    uint32
	rng     *rand.Rand
	buf     []byte

	hist     *hdrhistogram.Histogram
	measured int64 // operations started after the warm-up
	ops      atomic.Int64
	errors   int64
	firstErr error
	// last[j] is the stamp of the last acknowledged (or unsure) write of
	// the worker's j-th key (key index id + j*clients); seq 0 = not
	// written.
	last []stamp
	seq  uint32
	// incrAcked counts acknowledged increments; incrUnsure failed ones.
	incrAcked, incrUnsure int64
	// badReads counts reads that returned a missing or malformed value.
	badReads int64
	badRead  string
	// unsupported is set when the server does not implement the operation.
	unsupported error
	keysBuf     []string
	valsBuf     []string
	picked      []int
}

func newWorker(id, clients int, st store, wl workload, d *dataset, cell uint32, seed uint64) *worker {
	n := (len(d.keys) - id + clients - 1) / clients
	return &worker{
		id: id, clients: clients, st: st, wl: wl, d: d, cell: cell,
		rng:  rand.New(rand.NewPCG(seed, uint64(id)+1)),
		hist: newHistogram(),
		last: make([]stamp, max(n, 0)),
	}
}

// own picks a random key index of the worker's slice, returning the key
// index and the slot in last.
func (w *worker) own() (int, int) {
	j := w.rng.IntN(len(w.last))
	return w.id + j*w.clients, j
}

// pickOwn picks n distinct slots of the worker's slice.
func (w *worker) pickOwn(n int) []int {
	w.picked = w.picked[:0]
	for len(w.picked) < n {
		j := w.rng.IntN(len(w.last))
		dup := false
		for _, p := range w.picked {
			if p == j {
				dup = true
				break
			}
		}
		if !dup {
			w.picked = append(w.picked, j)
		}
	}
	return w.picked
}

func (w *worker) nextStamp() stamp {
	w.seq++
	return stamp{cell: w.cell, worker: uint16(w.id + 1), seq: w.seq}
}

// record notes the outcome of a write of slots js with stamp s.
func (w *worker) record(js []int, s stamp, err error) {
	if err != nil {
		s.unsure = true
	}
	for _, j := range js {
		w.last[j] = s
	}
}

func (w *worker) write(ctx context.Context) error {
	idx, j := w.own()
	s := w.nextStamp()
	w.buf = w.d.value(w.buf, s)
	err := w.st.Set(ctx, w.d.keys[idx], string(w.buf))
	s.unsure = err != nil
	w.last[j] = s
	return err
}

func (w *worker) read(ctx context.Context) error {
	idx := w.rng.IntN(len(w.d.keys))
	v, ok, err := w.st.Get(ctx, w.d.keys[idx])
	if err != nil {
		return err
	}
	if !ok || len(v) != w.d.valueSize || v[0] != 'c' {
		w.badReads++
		if w.badRead == "" {
			w.badRead = fmt.Sprintf("GET %s returned %q (found=%v)", w.d.keys[idx], truncate(v, 40), ok)
		}
	}
	return nil
}

func (w *worker) multi(ctx context.Context, n int, tx bool) error {
	js := w.pickOwn(n)
	s := w.nextStamp()
	w.keysBuf, w.valsBuf = w.keysBuf[:0], w.valsBuf[:0]
	w.buf = w.d.value(w.buf, s)
	v := string(w.buf)
	for _, j := range js {
		w.keysBuf = append(w.keysBuf, w.d.keys[w.id+j*w.clients])
		w.valsBuf = append(w.valsBuf, v)
	}
	var err error
	if tx {
		err = w.st.Tx(ctx, w.keysBuf, w.valsBuf)
	} else {
		err = w.st.Batch(ctx, w.keysBuf, w.valsBuf)
	}
	w.record(js, s, err)
	return err
}

// op runs one operation of the workload.
func (w *worker) op(ctx context.Context) error {
	switch w.wl.Name {
	case "write":
		return w.write(ctx)
	case "read":
		return w.read(ctx)
	case "mix":
		if w.rng.IntN(10) == 0 {
			return w.write(ctx)
		}
		return w.read(ctx)
	case "incr":
		err := w.st.Incr(ctx, w.d.counters[w.rng.IntN(len(w.d.counters))])
		if err != nil {
			w.incrUnsure++
		} else {
			w.incrAcked++
		}
		return err
	case "tx":
		return w.multi(ctx, txKeys, true)
	case "batch":
		return w.multi(ctx, batchKeys, false)
	}
	return fmt.Errorf("unknown workload %q", w.wl.Name)
}

// run runs operations until the deadline or maxOps, recording the latency
// of those that start after warmupEnd.
func (w *worker) run(ctx context.Context, warmupEnd, deadline time.Time, maxOps int64) {
	var n int64
	for n < maxOps && ctx.Err() == nil {
		start := time.Now()
		if !start.Before(deadline) {
			break
		}
		err := w.op(ctx)
		lat := time.Since(start)
		n++
		w.ops.Store(n)
		if err != nil {
			var unsup *errUnsupported
			if errors.As(err, &unsup) {
				w.unsupported = err
				return
			}
			if ctx.Err() != nil {
				return
			}
			w.errors++
			if w.firstErr == nil {
				w.firstErr = err
			}
			if w.errors > 1000 {
				return // the server is gone; stop hammering it
			}
			continue
		}
		if !start.Before(warmupEnd) {
			recordLatency(w.hist, lat)
			w.measured++
		}
	}
}

// merge folds the workers' acknowledged writes into the data set's
// expectations and returns the key indexes the cell wrote.
func (d *dataset) merge(ws []*worker) []int {
	var written []int
	for _, w := range ws {
		for j, s := range w.last {
			if s.seq == 0 {
				continue
			}
			idx := w.id + j*w.clients
			d.expect[idx] = s
			written = append(written, idx)
		}
		d.counterSum += w.incrAcked
		d.counterSlack += w.incrUnsure
	}
	return written
}

// verifyKeys reads back a sample of keys (up to half from those the cell
// wrote, the rest from the whole key space; every key when the key space
// is no bigger than the sample) and compares each with the last
// acknowledged write. Keys whose last write failed are skipped.
func (d *dataset) verifyKeys(ctx context.Context, st store, written []int, sample int, rng *rand.Rand) (checked int, err error) {
	var idx []int
	if len(d.keys) <= sample {
		for i := range d.keys {
			idx = append(idx, i)
		}
	} else {
		seen := map[int]bool{}
		add := func(i int) {
			if !seen[i] {
				seen[i] = true
				idx = append(idx, i)
			}
		}
		half := sample / 2
		if len(written) <= half {
			for _, i := range written {
				add(i)
			}
		} else {
			for _, p := range rng.Perm(len(written))[:half] {
				add(written[p])
			}
		}
		for len(idx) < sample {
			add(rng.IntN(len(d.keys)))
		}
	}
	keep := idx[:0]
	for _, i := range idx {
		if !d.expect[i].unsure {
			keep = append(keep, i)
		}
	}
	idx = keep
	keys := make([]string, len(idx))
	for n, i := range idx {
		keys[n] = d.keys[i]
	}
	vals, found, err := st.ReadMany(ctx, keys)
	if err != nil {
		return 0, fmt.Errorf("read-back: %w", err)
	}
	var bad []string
	var buf []byte
	nbad := 0
	for n, i := range idx {
		buf = d.value(buf, d.expect[i])
		if !found[n] || vals[n] != string(buf) {
			nbad++
			if len(bad) < 3 {
				got := "missing"
				if found[n] {
					got = fmt.Sprintf("%q", truncate(vals[n], 40))
				}
				bad = append(bad, fmt.Sprintf("%s = %s, want %q", d.keys[i], got, truncate(string(buf), 40)))
			}
		}
	}
	if nbad > 0 {
		return len(idx), fmt.Errorf("%d of %d keys read back wrong: %s", nbad, len(idx), strings.Join(bad, "; "))
	}
	return len(idx), nil
}

// verifyCounters checks that the counters sum to the acknowledged
// increments (give or take the ones that failed after being sent).
func (d *dataset) verifyCounters(ctx context.Context, st store) error {
	sum, err := st.SumCounters(ctx, d.counters)
	if err != nil {
		return fmt.Errorf("counter sum: %w", err)
	}
	if sum < d.counterSum || sum > d.counterSum+d.counterSlack {
		if d.counterSlack == 0 {
			return fmt.Errorf("counters sum to %d, want %d (the acknowledged increments)", sum, d.counterSum)
		}
		return fmt.Errorf("counters sum to %d, want %d..%d (acknowledged increments, plus up to %d that failed)",
			sum, d.counterSum, d.counterSum+d.counterSlack, d.counterSlack)
	}
	// What failed either happened or not; from now on it is known.
	d.counterSum, d.counterSlack = sum, 0
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
