package lincheck

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"
)

// Helpers for hand-made histories.

func set(k, v string) Input { return Input{Kind: Set, Key: k, Value: v} }
func get(k string) Input    { return Input{Kind: Get, Key: k} }
func incr(k string) Input   { return Input{Kind: Incr, Key: k} }

var (
	okOut  = Output{Value: "OK"}
	nilOut = Output{Nil: true}
	unk    = Output{Unknown: true}
	errOut = Output{Err: "ERR value is not an integer or out of range"}
)

func val(v string) Output   { return Output{Value: v} }
func intOut(n int64) Output { return Output{Int: n} }

// op is an operation of client over [call, ret]; an unknown output gets
// the return time UnknownReturn whatever ret is.
func op(client int, in Input, out Output, call, ret int64) porcupine.Operation {
	if out.Unknown {
		ret = UnknownReturn
	}
	return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
}

func TestModelHistories(t *testing.T) {
	tests := []struct {
		name    string
		want    bool // linearizable
		history []porcupine.Operation
	}{
		// Linearizable histories.
		{"sequential", true, []porcupine.Operation{
			op(0, set("a", "1"), okOut, 0, 1),
			op(0, get("a"), val("1"), 2, 3),
			op(0, incr("a"), intOut(2), 4, 5),
			op(0, get("a"), val("2"), 6, 7),
		}},
		{"empty", true, nil},
		{"get missing key", true, []porcupine.Operation{
			op(0, get("a"), nilOut, 0, 1),
		}},
		{"incr missing key starts at 1", true, []porcupine.Operation{
			op(0, incr("a"), intOut(1), 0, 1),
			op(1, incr("a"), intOut(2), 2, 3),
		}},
		{"incr of a non-integer fails and changes nothing", true, []porcupine.Operation{
			op(0, set("a", "x"), okOut, 0, 1),
			op(0, incr("a"), errOut, 2, 3),
			op(0, get("a"), val("x"), 4, 5),
		}},
		{"incr of a negative integer", true, []porcupine.Operation{
			op(0, set("a", "-5"), okOut, 0, 1),
			op(0, incr("a"), intOut(-4), 2, 3),
		}},
		{"reads concurrent with a write see old then new", true, []porcupine.Operation{
			op(0, set("a", "1"), okOut, 0, 10),
			op(1, get("a"), nilOut, 1, 2),
			op(1, get("a"), val("1"), 3, 4),
			op(2, get("a"), val("1"), 5, 6),
		}},
		{"concurrent incrs in any order", true, []porcupine.Operation{
			op(0, incr("a"), intOut(2), 0, 10),
			op(1, incr("a"), intOut(1), 1, 11),
			op(2, get("a"), val("2"), 12, 13),
		}},
		{"keys are independent", true, []porcupine.Operation{
			op(0, set("a", "1"), okOut, 0, 1),
			op(1, set("b", "2"), okOut, 0, 1),
			op(0, get("b"), val("2"), 2, 3),
			op(1, get("a"), val("1"), 2, 3),
			op(1, incr("b"), intOut(3), 4, 5),
			op(0, get("a"), val("1"), 6, 7),
		}},
		{"closed intervals: touching operations are concurrent", true, []porcupine.Operation{
			op(0, set("a", "1"), okOut, 0, 5),
			op(1, get("a"), nilOut, 5, 6),
		}},

		// Histories that are not linearizable: the checker can fail.
		{"stale read after an acknowledged write", false, []porcupine.Operation{
			op(0, set("a", "1"), okOut, 0, 1),
			op(0, set("a", "2"), okOut, 2, 3),
			op(1, get("a"), val("1"), 4, 5),
		}},
		{"read goes back in time", false, []porcupine.Operation{
			op(0, set("a", "1"), okOut, 0, 10),
			op(1, get("a"), val("1"), 1, 2),
			op(2, get("a"), nilOut, 3, 4),
		}},
		{"incr result skips", false, []porcupine.Operation{
			op(0, incr("a"), intOut(1), 0, 1),
			op(1, incr("a"), intOut(3), 2, 3),
		}},
		{"incr result repeats", false, []porcupine.Operation{
			op(0, incr("a"), intOut(1), 0, 10),
			op(1, incr("a"), intOut(1), 1, 11),
		}},
		{"lost acknowledged set", false, []porcupine.Operation{
			op(0, set("a", "1"), okOut, 0, 1),
			// ... the server is killed and restarted ...
			op(1, get("a"), nilOut, 5, 6),
		}},
		{"lost acknowledged incr", false, []porcupine.Operation{
			op(0, set("a", "1000000"), okOut, 0, 1),
			op(0, incr("a"), intOut(1000001), 2, 3),
			op(1, get("a"), val("1000000"), 5, 6),
		}},
		{"read of a value never written", false, []porcupine.Operation{
			op(0, get("a"), val("7"), 0, 1),
		}},
		{"incr fails on an integer", false, []porcupine.Operation{
			op(0, set("a", "5"), okOut, 0, 1),
			op(0, incr("a"), errOut, 2, 3),
		}},
		{"incr succeeds on a non-integer", false, []porcupine.Operation{
			op(0, set("a", "x"), okOut, 0, 1),
			op(0, incr("a"), intOut(1), 2, 3),
		}},
		{"violation in one key among several", false, []porcupine.Operation{
			op(0, set("a", "1"), okOut, 0, 1),
			op(1, set("b", "1"), okOut, 0, 1),
			op(0, get("a"), val("1"), 2, 3),
			op(1, get("b"), nilOut, 2, 3),
		}},

		// Unknown outcomes: accepted whether or not the write happened,
		// but never before its invocation nor undone once observed.
		{"unknown set that happened", true, []porcupine.Operation{
			op(0, set("a", "1"), unk, 0, 0),
			op(1, get("a"), val("1"), 5, 6),
		}},
		{"unknown set that did not happen", true, []porcupine.Operation{
			op(0, set("a", "1"), unk, 0, 0),
			op(1, get("a"), nilOut, 5, 6),
			op(1, set("a", "2"), okOut, 7, 8),
			op(1, get("a"), val("2"), 9, 10),
		}},
		{"unknown set applied late (paused server)", true, []porcupine.Operation{
			op(0, set("a", "1"), unk, 0, 0),
			op(1, get("a"), nilOut, 5, 6),
			op(1, get("a"), val("1"), 7, 8),
		}},
		{"unknown set observed before its invocation", false, []porcupine.Operation{
			op(1, get("a"), val("1"), 0, 1),
			op(0, set("a", "1"), unk, 5, 0),
		}},
		{"unknown set undone after being observed", false, []porcupine.Operation{
			op(0, set("a", "1"), okOut, 0, 1),
			op(0, set("a", "2"), unk, 2, 0),
			op(1, get("a"), val("2"), 5, 6),
			op(1, get("a"), val("1"), 7, 8),
		}},
		{"unknown write cannot excuse a lost acknowledged one", false, []porcupine.Operation{
			op(0, set("a", "1"), okOut, 0, 1),
			op(1, set("b", "2"), unk, 2, 0),
			op(1, get("a"), nilOut, 5, 6),
		}},
		{"two unknown incrs, neither applied", true, unknownIncrs(2)},
		{"two unknown incrs, one applied", true, unknownIncrs(3)},
		{"two unknown incrs, both applied", true, unknownIncrs(4)},
		{"two unknown incrs cannot add three", false, unknownIncrs(5)},
		{"two unknown incrs cannot subtract", false, unknownIncrs(1)},
		{"unknown get accepts anything", true, []porcupine.Operation{
			op(0, set("a", "1"), okOut, 0, 1),
			op(1, get("a"), unk, 2, 0),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Check(tt.history, 10*time.Second)
			want := porcupine.Illegal
			if tt.want {
				want = porcupine.Ok
			}
			if res != want {
				t.Errorf("Check = %v, want %v", res, want)
				failures, _ := Diagnose(tt.history, 10*time.Second)
				for _, f := range failures {
					t.Log(f)
				}
			}
		})
	}
}

// unknownIncrs is INCR → 1, two INCRs with unknown outcomes, then an INCR
// replying last.
func unknownIncrs(last int64) []porcupine.Operation {
	return []porcupine.Operation{
		op(0, incr("a"), intOut(1), 0, 1),
		op(0, incr("a"), unk, 2, 0),
		op(1, incr("a"), unk, 3, 0),
		op(2, incr("a"), intOut(last), 10, 11),
	}
}

func TestApplyIncr(t *testing.T) {
	for _, v := range []string{"x", "", "+1", "01", " 1", "1 ", "1.5", "9223372036854775807", "9223372036854775808"} {
		s, out := apply(register{exists: true, value: v}, incr("a"))
		if out.Err == "" || s.value != v {
			t.Errorf("INCR of %q = %v, state %v; want an error and no change", v, out, s)
		}
	}
	for v, want := range map[string]int64{"0": 1, "-1": 0, "-9223372036854775808": -9223372036854775807, "41": 42} {
		s, out := apply(register{exists: true, value: v}, incr("a"))
		if out.Err != "" || out.Int != want || s.value != out.String() {
			t.Errorf("INCR of %q = %v, state %v; want %d", v, out, s, want)
		}
	}
}

func TestVisualizeIllegal(t *testing.T) {
	history := []porcupine.Operation{
		op(0, set("a", "1"), okOut, 0, 1),
		op(1, set("a", "2"), unk, 1, 0),
		op(1, get("a"), nilOut, 5, 6),
	}
	if res := Check(history, 10*time.Second); res != porcupine.Illegal {
		t.Fatalf("Check = %v, want Illegal", res)
	}
	_, info := Diagnose(history, 10*time.Second)
	path := filepath.Join(t.TempDir(), "history.html")
	if err := Visualize(path, info); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "<html") || !strings.Contains(string(b), "SET a 1") {
		t.Errorf("visualization (%d bytes) lacks the history", len(b))
	}
}

func TestRecorder(t *testing.T) {
	rec := NewRecorder()
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for i := range 100 {
				call := rec.Invoke(c, set("a", "v"))
				switch i % 3 {
				case 0:
					call.Return(okOut)
				case 1:
					call.Unknown("timeout")
				case 2:
					call.Drop()
				}
			}
		})
	}
	wg.Wait()
	h := rec.History()
	if len(h) != 4*67 {
		t.Fatalf("%d operations recorded, want %d", len(h), 4*67)
	}
	for _, o := range h {
		out := o.Output.(Output)
		switch {
		case out.Unknown && (o.Return != UnknownReturn || o.Metadata != "timeout"):
			t.Errorf("unknown operation %+v: want return UnknownReturn and the reason", o)
		case !out.Unknown && (o.Return < o.Call || o.Return == UnknownReturn):
			t.Errorf("operation %+v returns before its call", o)
		}
	}
	if UnknownReturn != math.MaxInt64 {
		t.Errorf("UnknownReturn = %d", UnknownReturn)
	}
}

// replyErr is an error reply, as go-redis returns them.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

func TestClassify(t *testing.T) {
	r := &run{rejected: defaultRejected, errorReplies: map[string]int{}}
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	readErr := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	tests := []struct {
		in   Input
		err  error
		want outcome
	}{
		{set("a", "1"), nil, replied},
		{set("a", "1"), dialErr, dropped},
		{incr("a"), dialErr, dropped},
		{set("a", "1"), readErr, unknown},
		{incr("a"), readErr, unknown},
		{get("a"), readErr, dropped},
		{incr("a"), context.DeadlineExceeded, unknown},
		{set("a", "1"), errors.New("EOF"), unknown},
		{set("a", "1"), redis.ErrClosed, dropped},
		{set("a", "1"), replyErr("LOADING memimgd is loading the dataset in memory"), dropped},
		{incr("a"), replyErr("ERR value is not an integer or out of range"), replied},
		{incr("a"), replyErr("ERR fsync failed"), unknown},
		{get("a"), replyErr("WRONGTYPE Operation against a key holding the wrong kind of value"), dropped},
	}
	for _, tt := range tests {
		if got, _ := r.classify(tt.in, Output{}, tt.err); got != tt.want {
			t.Errorf("classify(%v, %v) = %v, want %v", tt.in, tt.err, got, tt.want)
		}
	}
	if len(r.errorReplies) != 2 {
		t.Errorf("unexpected error replies counted: %v, want the fsync and WRONGTYPE ones", r.errorReplies)
	}
}

func TestDiagnose(t *testing.T) {
	history := []porcupine.Operation{
		op(0, set("a", "1"), okOut, 0, 1),
		op(1, set("b", "1"), okOut, 0, 1),
		op(0, get("a"), val("1"), 2, 3),
		op(1, set("b", "2"), unk, 2, 0),
		op(0, get("b"), val("2"), 3, 4),
		op(1, get("b"), nilOut, 5, 6),
		op(1, get("b"), val("2"), 7, 8),
	}
	failures, info := Diagnose(history, 10*time.Second)
	if len(failures) != 1 {
		t.Fatalf("failures: %v, want one on key b", failures)
	}
	f := failures[0]
	t.Log(f)
	if f.Key != "b" || f.Ops != 5 || f.Linearized != 3 || f.State != `"2"` ||
		len(f.Stuck) != 2 || f.Stuck[0].Input != get("b") || f.Stuck[0].Output != nilOut {
		t.Errorf("failure %+v, want key b stuck at GET b → nil after 3 operations", f)
	}
	if got := len(info.PartialLinearizations()); got != 1 {
		t.Errorf("info has %d partitions, want only the failing key's", got)
	}
	if failures, _ := Diagnose(history[:3], time.Second); failures != nil {
		t.Errorf("failures of a linearizable history: %v", failures)
	}
}

func TestCheckManyKeys(t *testing.T) {
	var history []porcupine.Operation
	for k := range 50 {
		key := "k" + string(rune('a'+k%26)) + string(rune('a'+k/26))
		history = append(history,
			op(0, set(key, "1"), okOut, int64(10*k), int64(10*k+1)),
			op(1, incr(key), intOut(2), int64(10*k+2), int64(10*k+3)),
			op(1, get(key), val("2"), int64(10*k+4), int64(10*k+5)))
	}
	if res := Check(history, 10*time.Second); res != porcupine.Ok {
		t.Fatalf("Check = %v, want Ok", res)
	}
	history = append(history, op(2, get("kzz"), val("1"), 1000, 1001))
	if res := Check(history, 10*time.Second); res != porcupine.Illegal {
		t.Fatalf("Check with a read of a value never written = %v, want Illegal", res)
	}
}
