package lincheck

import (
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Recorder records a history of operations run by concurrent clients. Times
// are nanoseconds on the monotonic clock since NewRecorder. It is safe for
// concurrent use.
type Recorder struct {
	start time.Time

	mu  sync.Mutex
	ops []porcupine.Operation
}

// NewRecorder returns an empty Recorder whose clock starts now.
func NewRecorder() *Recorder {
	return &Recorder{start: time.Now()}
}

// Now is the recorder's clock: nanoseconds since NewRecorder, never
// decreasing.
func (r *Recorder) Now() int64 { return int64(time.Since(r.start)) }

// Call is an operation in progress, from Invoke until exactly one of
// Return, Unknown or Drop.
type Call struct {
	r      *Recorder
	client int
	in     Input
	call   int64
}

// Invoke records that client is about to send in, and returns the Call on
// which to record the outcome. Take the time as late as possible: just
// before the command is sent.
func (r *Recorder) Invoke(client int, in Input) *Call {
	return &Call{r: r, client: client, in: in, call: r.Now()}
}

// Return records the reply, received now.
func (c *Call) Return(out Output) {
	ret := c.r.Now()
	c.r.add(porcupine.Operation{ClientId: c.client, Input: c.in, Call: c.call, Output: out, Return: ret})
}

// Unknown records that the outcome is unknown (connection error, timeout):
// the operation may or may not have taken effect, at any time after its
// invocation. It gets the return time UnknownReturn; reason (the error) is
// kept as the operation's metadata, shown by the visualization. A GET with
// an unknown outcome should be dropped instead: it has no effect to account
// for.
func (c *Call) Unknown(reason string) {
	c.r.add(porcupine.Operation{
		ClientId: c.client, Input: c.in, Call: c.call,
		Output: Output{Unknown: true}, Return: UnknownReturn,
		Metadata: reason,
	})
}

// Drop forgets the operation: it certainly had no effect (it was never
// sent, or the server refused it without running it), or it is a read that
// failed.
func (c *Call) Drop() {}

func (r *Recorder) add(op porcupine.Operation) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

// History returns a copy of the operations recorded so far, in the order
// their outcomes were recorded.
func (r *Recorder) History() []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]porcupine.Operation(nil), r.ops...)
}
