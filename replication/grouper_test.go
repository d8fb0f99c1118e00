package replication

import (
	"fmt"
	"testing"
	"time"
)

// groupRecorder is a grouper's handler that records each group's size and
// holds the handler until released, so a test decides when a group ends.
type groupRecorder struct {
	groups  chan int
	release chan struct{}
}

func newGroupRecorder() *groupRecorder {
	return &groupRecorder{groups: make(chan int, 100), release: make(chan struct{})}
}

func (r *groupRecorder) handle(g []int) {
	r.groups <- len(g)
	<-r.release
}

func (r *groupRecorder) next(t *testing.T) int {
	t.Helper()
	select {
	case n := <-r.groups:
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no group within 5s")
		return 0
	}
}

// startGrouper starts a grouper over r with the commit delay given, and
// has it hold a group of first items: a group of one is held while they
// queue, so they make the next group whole.
func startGrouper(t *testing.T, r *groupRecorder, delay time.Duration, siblings, first int) *grouper[int] {
	t.Helper()
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); close(r.release) })
	g := newGrouper(r.handle, func(int) {}, stop)
	g.setDelay(delay, siblings)
	g.add(-1)
	if n := r.next(t); n != 1 {
		t.Fatalf("first group of %d, want 1", n)
	}
	for i := range first {
		g.add(i)
	}
	r.release <- struct{}{} // a group of 1 is below any siblings > 1: no wait
	if n := r.next(t); n != first {
		t.Fatalf("second group of %d, want %d", n, first)
	}
	return g
}

// The commit delay, as PostgreSQL's commit_delay and commit_siblings.
func TestGrouperCommitDelay(t *testing.T) {
	t.Run("after a big group the next one waits to grow", func(t *testing.T) {
		r := newGroupRecorder()
		g := startGrouper(t, r, 2*time.Second, 4, 8)
		for i := range 3 {
			g.add(i) // queued behind the held group
		}
		r.release <- struct{}{}
		// The group of 3 waits: 8 items were the last group, so 10 end the
		// wait; the delay (2 s) is far away.
		time.Sleep(100 * time.Millisecond)
		select {
		case n := <-r.groups:
			t.Fatalf("a group of %d went without waiting", n)
		default:
		}
		for i := range 7 {
			g.add(i)
		}
		if n := r.next(t); n != 10 {
			t.Fatalf("group of %d, want 10 (the wait ends once the queue holds a quarter more than the last group)", n)
		}
	})
	t.Run("the wait ends after the delay", func(t *testing.T) {
		r := newGroupRecorder()
		g := startGrouper(t, r, 50*time.Millisecond, 4, 8)
		g.add(1)
		start := time.Now()
		r.release <- struct{}{}
		if n := r.next(t); n != 1 {
			t.Fatalf("group of %d, want 1", n)
		}
		if d := time.Since(start); d < 40*time.Millisecond {
			t.Fatalf("the group went after %v, before the 50ms delay", d)
		}
	})
	for _, tc := range []struct {
		name            string
		delay           time.Duration
		siblings, first int
	}{
		{"a small group does not wait", 2 * time.Second, 4, 3},
		{"no delay, no wait", 0, 2, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newGroupRecorder()
			g := startGrouper(t, r, tc.delay, tc.siblings, tc.first)
			g.add(1)
			start := time.Now()
			r.release <- struct{}{}
			if n := r.next(t); n != 1 {
				t.Fatalf("group of %d, want 1", n)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("the group waited %v", d)
			}
		})
	}
}

// A grouper stopped while it waits for a group to grow fails the queued
// items (shutdown) and its loop ends.
func TestGrouperStopWhileWaiting(t *testing.T) {
	r := newGroupRecorder()
	stop := make(chan struct{})
	failed := make(chan int, 10)
	g := newGrouper(r.handle, func(x int) { failed <- x }, stop)
	g.setDelay(time.Minute, 1)
	g.add(0)
	if n := r.next(t); n != 1 {
		t.Fatalf("first group of %d", n)
	}
	g.add(7)
	r.release <- struct{}{} // the loop now waits up to a minute for a group of 2
	time.Sleep(50 * time.Millisecond)
	close(stop)
	select {
	case x := <-failed:
		if x != 7 {
			t.Fatalf("failed %d, want 7", x)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the queued item was not failed after stop")
	}
	select {
	case n := <-r.groups:
		t.Fatal(fmt.Sprintf("a group of %d was handled after stop", n))
	case <-time.After(100 * time.Millisecond):
	}
	close(r.release)
}
