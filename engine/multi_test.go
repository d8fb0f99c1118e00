package engine

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/memimg/memimg/schema"
)

// txCmds builds transaction commands on db 0 from space-separated words.
func txCmds(cmds ...string) []TxCommand {
	out := make([]TxCommand, len(cmds))
	for i, c := range cmds {
		out[i] = TxCommand{Argv: toBytes(strings.Fields(c))}
	}
	return out
}

// watch watches key on db or fails the test.
func watch(t *testing.T, e *Engine, db int, key string) Watch {
	t.Helper()
	w, err := e.Watch(db, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// exec runs one command on db 0 and renders its reply.
func exec(e *Engine, cmd string) string { return render(e.Exec(0, toBytes(strings.Fields(cmd)))) }

func TestTxBasics(t *testing.T) {
	log, clk := &MemLog{}, newTestClock()
	e := openTestEngine(t, log, clk, -1)
	exec(e, "SET s str")

	tests := []struct {
		name  string
		cmds  []TxCommand
		want  string
		added int // log entries the transaction adds
	}{
		{"writes and reads in order", txCmds("SET a 1", "INCR a", "GET a", "INCRBY a 10", "MGET a s nosuch"),
			`[+OK :2 "2" :12 ["12" "str" (nil)]]`, 1},
		{"apply-time errors are per command", txCmds("INCR s", "SET b 1", "INCRBYFLOAT s 1", "GET b"),
			`[-ERR value is not an integer or out of range +OK -ERR value is not a valid float "1"]`, 1},
		{"invalid commands get their error and are not logged",
			[]TxCommand{{Argv: toBytes([]string{"SET", "c", "1", "BAD"})}, {Argv: toBytes([]string{"nosuch", "x"})},
				{Argv: toBytes([]string{"GET"})}, {Argv: toBytes([]string{"memimg.expired", "c"})},
				{Argv: toBytes([]string{"PING"})}, {DB: 99, Argv: toBytes([]string{"SET", "c", "1"})},
				{Argv: toBytes([]string{"SET", "c", "2"})}},
			`[-ERR syntax error -ERR unknown command 'nosuch', with args beginning with: 'x'  -ERR wrong number of arguments for 'get' command ` +
				`-ERR unknown command 'memimg.expired', with args beginning with: 'c'  -ERR unknown command 'PING', with args beginning with:  ` +
				`-ERR DB index is out of range +OK]`, 1},
		{"reads only: not logged", txCmds("GET a", "EXISTS a b c", "TTL a"), `["12" :3 :-1]`, 0},
		{"empty", nil, `[]`, 0},
		{"a read of an unlocked reader is refused", txCmds("MEMIMG.DIGEST", "SET d 1"),
			`[-ERR Command not allowed inside a transaction +OK]`, 1},
		{"FLUSHALL inside: the next commands see the new keyspace", txCmds("SET e 1", "FLUSHALL", "GET e", "SET e 2", "GET e"),
			`[+OK +OK (nil) +OK "2"]`, 1},
	}
	for _, tc := range tests {
		before := len(log.Entries())
		got := render(e.ExecTx(nil, tc.cmds))
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if n := len(log.Entries()) - before; n != tc.added {
			t.Errorf("%s: %d log entries, want %d", tc.name, n, tc.added)
		}
	}

	// The logged entry of a transaction holds only its valid commands.
	en := log.Entries()
	_, argv, err := schema.DecodeCommand(en[len(en)-1].Data, nil)
	if err != nil || string(argv[0]) != "memimg.exec" || len(argv) != 2+5 {
		t.Fatalf("last entry: %q %v", argv, err)
	}
}

func TestTxDatabases(t *testing.T) {
	log, clk := &MemLog{}, newTestClock()
	e := openTestEngine(t, log, clk, -1)
	got := render(e.ExecTx(nil, []TxCommand{
		{DB: 0, Argv: toBytes([]string{"SET", "k", "zero"})},
		{DB: 3, Argv: toBytes([]string{"SET", "k", "three"})},
		{DB: 3, Argv: toBytes([]string{"GET", "k"})},
		{DB: 0, Argv: toBytes([]string{"GET", "k"})},
	}))
	if want := `[+OK +OK "three" "zero"]`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if got := render(e.Exec(3, toBytes([]string{"GET", "k"}))); got != `"three"` {
		t.Fatalf("db 3: %s", got)
	}
}

// TestTxAtomic checks that no reader sees a transaction half applied.
func TestTxAtomic(t *testing.T) {
	log, clk := &MemLog{}, newTestClock()
	e := openTestEngine(t, log, clk, -1)
	const writers, rounds = 8, 200
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan string, 10)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < rounds; j++ {
				if r := e.ExecTx(nil, txCmds("INCR a", "INCR b", "DECR c")); r.Kind != KindArray || len(r.Elems) != 3 {
					errs <- "tx: " + render(r)
					return
				}
			}
		}()
	}
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			r := e.Exec(0, toBytes([]string{"MGET", "a", "b", "c"}))
			a, b, c := r.Elems[0].Str, r.Elems[1].Str, r.Elems[2].Str
			if a != b || (a != "" && "-"+a != c) {
				errs <- fmt.Sprintf("half-applied transaction seen: a=%q b=%q c=%q", a, b, c)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got, want := exec(e, "MGET a b c"), fmt.Sprintf(`["%d" "%d" "-%d"]`, writers*rounds, writers*rounds, writers*rounds); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestTxWatch(t *testing.T) {
	log, clk := &MemLog{}, newTestClock()
	e := openTestEngine(t, log, clk, -1)
	type step struct {
		setup  []string // before WATCH
		watch  []string
		before []string // between WATCH and EXEC
		adv    time.Duration
		cmds   []string
		want   string
	}
	tests := map[string]step{
		"untouched":                       {setup: []string{"SET k 1"}, watch: []string{"k"}, cmds: []string{"INCR k"}, want: "[:2]"},
		"modified":                        {setup: []string{"SET k 1"}, watch: []string{"k"}, before: []string{"SET k 2"}, cmds: []string{"INCR k"}, want: "(nil)"},
		"modified to the same":            {setup: []string{"SET k 1"}, watch: []string{"k"}, before: []string{"SET k 1"}, cmds: []string{"INCR k"}, want: "(nil)"},
		"INCRBY 0":                        {setup: []string{"SET k 1"}, watch: []string{"k"}, before: []string{"INCRBY k 0"}, cmds: []string{"GET k"}, want: "(nil)"},
		"deleted":                         {setup: []string{"SET k 1"}, watch: []string{"k"}, before: []string{"DEL k"}, cmds: []string{"SET x 1"}, want: "(nil)"},
		"created":                         {watch: []string{"k"}, before: []string{"SET k 1"}, cmds: []string{"SET x 1"}, want: "(nil)"},
		"expiry set":                      {setup: []string{"SET k 1"}, watch: []string{"k"}, before: []string{"EXPIRE k 100"}, cmds: []string{"SET x 1"}, want: "(nil)"},
		"persisted":                       {setup: []string{"SET k 1 EX 100"}, watch: []string{"k"}, before: []string{"PERSIST k"}, cmds: []string{"SET x 1"}, want: "(nil)"},
		"failed SETNX: untouched":         {setup: []string{"SET k 1"}, watch: []string{"k"}, before: []string{"SETNX k 2", "DEL other"}, cmds: []string{"GET k"}, want: `["1"]`},
		"other key":                       {setup: []string{"SET k 1"}, watch: []string{"k"}, before: []string{"SET k2 1"}, cmds: []string{"GET k"}, want: `["1"]`},
		"one of many":                     {setup: []string{"SET k 1"}, watch: []string{"a", "b", "k", "c"}, before: []string{"APPEND k x"}, cmds: []string{"GET k"}, want: "(nil)"},
		"missing stays missing":           {watch: []string{"k"}, cmds: []string{"SET k 1"}, want: "[+OK]"},
		"FLUSHALL of a missing key":       {watch: []string{"k"}, before: []string{"FLUSHALL"}, cmds: []string{"SET k 1"}, want: "[+OK]"},
		"FLUSHALL of a live key":          {setup: []string{"SET k 1"}, watch: []string{"k"}, before: []string{"FLUSHALL"}, cmds: []string{"SET k 1"}, want: "(nil)"},
		"expired since WATCH":             {setup: []string{"SET k 1 PX 100"}, watch: []string{"k"}, adv: 200 * time.Millisecond, cmds: []string{"SET x 1"}, want: "(nil)"},
		"expired since WATCH, reads only": {setup: []string{"SET k 1 PX 100"}, watch: []string{"k"}, adv: 200 * time.Millisecond, cmds: []string{"GET x"}, want: "(nil)"},
		"not expired yet":                 {setup: []string{"SET k 1 PX 1000"}, watch: []string{"k"}, adv: 200 * time.Millisecond, cmds: []string{"GET k"}, want: `["1"]`},
		"stale at WATCH":                  {setup: []string{"SET k 1 PX 100", "~adv"}, watch: []string{"k"}, cmds: []string{"SET x 1"}, want: "[+OK]"},
		"stale at WATCH, deleted":         {setup: []string{"SET k 1 PX 100", "~adv"}, watch: []string{"k"}, before: []string{"DEL k"}, cmds: []string{"SET x 1"}, want: "[+OK]"},
		"stale at WATCH, set again":       {setup: []string{"SET k 1 PX 100", "~adv"}, watch: []string{"k"}, before: []string{"SET k 2"}, cmds: []string{"SET x 1"}, want: "(nil)"},
		"no commands, untouched":          {setup: []string{"SET k 1"}, watch: []string{"k"}, want: "[]"},
		"no commands, touched":            {setup: []string{"SET k 1"}, watch: []string{"k"}, before: []string{"SET k 3"}, want: "(nil)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			exec(e, "FLUSHALL")
			for _, c := range tc.setup {
				if c == "~adv" {
					clk.advance(200 * time.Millisecond)
					continue
				}
				exec(e, c)
			}
			var ws []Watch
			for _, k := range tc.watch {
				ws = append(ws, watch(t, e, 0, k))
			}
			for _, c := range tc.before {
				exec(e, c)
			}
			clk.advance(tc.adv)
			cmds := txCmds(tc.cmds...)
			before := len(log.Entries())
			if got := render(e.ExecTx(ws, cmds)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if tc.want == "(nil)" && len(log.Entries()) != before {
				t.Errorf("an aborted transaction reached the log")
			}
		})
	}
}

// txEntry builds the argv of a memimg.exec entry by hand: watches, then
// commands on db 0.
func txEntry(ws []schema.TxWatch, cmds ...string) [][]byte {
	argv := [][]byte{[]byte("memimg.exec"), schema.EncodeTxWatches(nil, ws)}
	for _, c := range cmds {
		argv = append(argv, schema.EncodeCommand(nil, 0, toBytes(strings.Fields(c))))
	}
	return argv
}

// stringSum is the watch fingerprint of a string value with expiry exp.
func stringSum(val string, exp int64) uint64 {
	s, _ := fingerprint(xxhash.New(), nil, newString("k", val, exp))
	return s
}

// TestTxFingerprintFrozen pins the fingerprint format: it is in the log.
func TestTxFingerprintFrozen(t *testing.T) {
	if got, want := stringSum("hello", 0), uint64(0x314a8d02c8bf091f); got != want {
		t.Fatalf("fingerprint of \"hello\" = %#x, want %#x: the format is frozen", got, want)
	}
	if stringSum("hello", 0) == stringSum("hello", 1) || stringSum("a", 0) == stringSum("b", 0) {
		t.Fatal("fingerprint ignores the value or the expiry")
	}
}

// TestTxWatchAtApply checks the logged check, which decides when a watched
// key changed after EXEC was submitted (or on replay): by content.
func TestTxWatchAtApply(t *testing.T) {
	log, clk := &MemLog{}, newTestClock()
	e := openTestEngine(t, log, clk, -1)
	exec(e, "SET k v1")
	exec(e, "SET t v PX 100")
	tExp := clk.ms() + 100
	tests := []struct {
		ws   []schema.TxWatch
		want string
	}{
		{[]schema.TxWatch{{Key: []byte("k"), Live: true, Sum: stringSum("v1", 0)}}, "[+OK]"},
		{[]schema.TxWatch{{Key: []byte("k"), Live: true, Sum: stringSum("v2", 0)}}, "(nil)"},
		{[]schema.TxWatch{{Key: []byte("k"), Live: true, Sum: stringSum("v1", 5)}}, "(nil)"},
		{[]schema.TxWatch{{Key: []byte("k")}}, "(nil)"},
		{[]schema.TxWatch{{Key: []byte("nosuch")}}, "[+OK]"},
		{[]schema.TxWatch{{Key: []byte("nosuch"), Live: true, Sum: 1}}, "(nil)"},
		{[]schema.TxWatch{{DB: 1, Key: []byte("k")}}, "[+OK]"},
		{[]schema.TxWatch{{Key: []byte("t"), Live: true, Sum: stringSum("v", tExp)}}, "[+OK]"},
	}
	for i, tc := range tests {
		if got := render(e.enqueue(txCmd, 0, txEntry(tc.ws, "SET x "+fmt.Sprint(i))).Wait()); got != tc.want {
			t.Errorf("case %d: got %s, want %s", i, got, tc.want)
		}
	}
	clk.advance(200 * time.Millisecond) // t expires
	ws := []schema.TxWatch{{Key: []byte("t"), Live: true, Sum: stringSum("v", tExp)}}
	if got := render(e.enqueue(txCmd, 0, txEntry(ws, "SET y 1")).Wait()); got != "(nil)" {
		t.Errorf("expired watched key: got %s, want (nil)", got)
	}
	if got := render(e.enqueue(txCmd, 0, [][]byte{[]byte("memimg.exec"), []byte("junk")}).Wait()); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("corrupt watches: got %s", got)
	}
}

// TestTxReplay checks that replaying a log of committed and aborted
// transactions, from the first entry or from a snapshot taken between a
// WATCH and its EXEC, gives the same image.
func TestTxReplay(t *testing.T) {
	log, clk := &MemLog{}, newTestClock()
	e := openTestEngine(t, log, clk, -1)
	exec(e, "SET k v1")
	exec(e, "SET n 10")
	// Committed, with a watch.
	w := watch(t, e, 0, "k")
	if got := render(e.ExecTx([]Watch{w}, txCmds("INCR n", "SET k v2", "GET k"))); got != `[:11 +OK "v2"]` {
		t.Fatal(got)
	}
	// A snapshot here: the next transaction's WATCH is before it, its
	// EXEC after.
	w = watch(t, e, 0, "k")
	base := e.Clone()
	// Aborted at apply time: the watched key changes after the pre-check
	// (by hand: an entry whose watch saw v1).
	exec(e, "SET other 1")
	if got := render(e.ExecTx([]Watch{w}, txCmds("INCR n"))); got != `[:12]` {
		t.Fatal(got)
	}
	stale := []schema.TxWatch{{Key: []byte("k"), Live: true, Sum: stringSum("v1", 0)}}
	if got := render(e.enqueue(txCmd, 0, txEntry(stale, "INCR n", "SET aborted 1")).Wait()); got != "(nil)" {
		t.Fatal(got)
	}
	exec(e, "SET k v3 PX 100")
	w = watch(t, e, 0, "k")
	clk.advance(time.Second)
	if got := render(e.ExecTx([]Watch{w}, txCmds("SET expired 1"))); got != "(nil)" {
		t.Fatal(got)
	}
	// The expiry check at apply time, logged.
	exec(e, "SET k v4 PX 100")
	sum := stringSum("v4", clk.ms()+100)
	clk.advance(time.Second)
	if got := render(e.enqueue(txCmd, 0, txEntry([]schema.TxWatch{{Key: []byte("k"), Live: true, Sum: sum}}, "SET expired 2")).Wait()); got != "(nil)" {
		t.Fatal(got)
	}
	want, _, err := e.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got := exec(e, "MGET n aborted expired"); got != `["12" (nil) (nil)]` {
		t.Fatalf("state: %s", got)
	}

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, b := range []*View{nil, base} {
		e2, err := Open(Options{Log: log, ExpiryInterval: -1, Clock: clk.now, Logger: quiet, Base: b})
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := e2.Digest()
		e2.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("replay (base %v): digest %s, want %s", b != nil, got, want)
		}
	}
}

// TestTxTooLarge: a transaction the log refuses runs no command.
func TestTxTooLarge(t *testing.T) {
	log, clk := &MemLog{}, newTestClock()
	e, err := Open(Options{Log: log, ExpiryInterval: -1, Clock: clk.now, MaxEntrySize: 100,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got := render(e.ExecTx(nil, txCmds("SET a 1", "SET b "+strings.Repeat("x", 200))))
	if !strings.HasPrefix(got, "-ERR command too large") {
		t.Fatalf("got %s", got)
	}
	if got := exec(e, "EXISTS a b"); got != ":0" {
		t.Fatalf("a refused transaction ran: EXISTS %s", got)
	}
}

// BenchmarkTx measures a transaction of two INCRs with one watched key,
// through the whole pipeline.
func BenchmarkTx(b *testing.B) {
	e := benchOpen(b, &MemLog{})
	defer e.Close()
	e.Exec(0, toBytes([]string{"SET", "w", "1"}))
	cmds := txCmds("INCR a", "INCR b")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, _ := e.Watch(0, []byte("w"))
		if r := e.ExecTx([]Watch{w}, cmds); r.Kind != KindArray {
			b.Fatal(render(r))
		}
	}
}
