package engine

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a clock the tests move by hand.
type testClock struct{ ns atomic.Int64 }

// testT0 is the tests' start time, unix milliseconds.
const testT0 = 1_700_000_000_000

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(testT0 * int64(time.Millisecond))
	return c
}

func (c *testClock) now() int64              { return c.ns.Load() }
func (c *testClock) ms() int64               { return c.ns.Load() / int64(time.Millisecond) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// openTestEngine opens an engine on log with clk as its clock; interval is
// the expiry reactor's (-1: off). It is closed when the test ends.
func openTestEngine(t testing.TB, log *MemLog, clk *testClock, interval time.Duration) *Engine {
	t.Helper()
	e, err := Open(Options{Log: log, ExpiryInterval: interval, Clock: clk.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// render writes a reply compactly: +OK, -ERR ..., :5, "bulk", (nil),
// [a b], {k: v, ...}.
func render(r Reply) string {
	switch r.Kind {
	case KindNull, KindNullArray:
		return "(nil)"
	case KindStatus:
		return "+" + r.Str
	case KindError:
		return "-" + r.Str
	case KindInt:
		return ":" + strconv.FormatInt(r.Int, 10)
	case KindBulk:
		return strconv.Quote(r.Str)
	case KindDouble:
		return strconv.FormatFloat(r.Float, 'g', -1, 64)
	case KindArray, KindSet:
		parts := make([]string, len(r.Elems))
		for i, e := range r.Elems {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case KindMap:
		parts := make([]string, 0, len(r.Elems)/2)
		for i := 0; i+1 < len(r.Elems); i += 2 {
			parts = append(parts, render(r.Elems[i])+": "+render(r.Elems[i+1]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("?%d", r.Kind)
}

// testObject is a collection value of a type no command serves, for
// WRONGTYPE tests.
type testObject struct{}

func (testObject) Type() ValueType          { return TypeString + 100 }
func (testObject) Len() int                 { return 1 }
func (testObject) Encode(dst []byte) []byte { return dst }
