package engine

import "time"

// Group commit needs groups. Clients that write in a loop come back soon
// after their reply; if the committer started the next fsync with the first
// of them, the clients would split into small groups that each pay a whole
// fsync (with 50 clients we measured ~14 commands per fsync). Like Redis,
// which serves every ready client before one fsync, and like PostgreSQL's
// commit_delay, the committer waits briefly for the writers it expects:
//
//   - expected is the largest number of writes in flight (queued, being
//     logged or applied) seen at the start of any of the last gatherWindow
//     batches: the writers that are active right now;
//   - it waits while the batch is smaller than expected, for at most the
//     time of one recent fsync: waiting longer than an fsync would cost more
//     than a second fsync;
//   - a wait that times out lowers expected to what actually came, so a
//     client that went away stops delaying the others.
//
// A lone client never waits: expected is then 1.

// gatherWindow is how many recent batches the estimate of active writers
// looks back on.
const gatherWindow = 64

// gatherState is the committer's memory of recent batches.
type gatherState struct {
	peaks [gatherWindow]int64 // writes in flight at the start of recent batches
	next  int
	sync  time.Duration // moving average of one log write + fsync
	timer *time.Timer
}

func (g *gatherState) expected() int64 {
	var m int64
	for _, p := range g.peaks {
		m = max(m, p)
	}
	return m
}

// gather adds to batch the writes that arrive while it is smaller than the
// number of active writers, for at most one fsync's time.
func (e *Engine) gather(batch []*request, g *gatherState) []*request {
	inflight := e.inflight.Load()
	g.peaks[g.next%gatherWindow] = inflight
	g.next++
	want := g.expected()
	if e.opts.Fsync != FsyncAlways || int64(len(batch)) >= want || g.sync <= 0 {
		return batch
	}
	if g.timer == nil {
		g.timer = time.NewTimer(g.sync)
	} else {
		g.timer.Reset(g.sync)
	}
	defer g.timer.Stop()
	for int64(len(batch)) < want && len(batch) < e.opts.MaxBatch {
		select {
		case r := <-e.queue:
			batch = append(batch, r)
		case <-g.timer.C:
			// Fewer writers than expected: forget the old peaks.
			for i := range g.peaks {
				g.peaks[i] = min(g.peaks[i], int64(len(batch)))
			}
			return batch
		case <-e.stop:
			return batch
		}
	}
	return batch
}

// observeSync feeds the duration of one log write + fsync into the moving
// average that bounds the gather wait.
func (g *gatherState) observeSync(d time.Duration) {
	if g.sync == 0 {
		g.sync = d
		return
	}
	g.sync += (d - g.sync) / 8
}
