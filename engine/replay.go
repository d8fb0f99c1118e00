package engine

import (
	"errors"
	"fmt"

	"github.com/memimg/memimg/schema"
)

// The replay at start-up reads the log on one goroutine and applies it on
// another: reading (decompressing a sealed segment, checking each record's
// CRC), copying each entry out of the log's buffer and decoding its
// command run beside the apply, on the second core, in batches of
// replayBatchSize entries. The apply stays sequential, in log order.

// replayBatchSize is the number of entries of a replayBatch.
const replayBatchSize = 512

// replayBatch is a run of decoded entries.
type replayBatch struct {
	entries []replayEntry
	data    []byte   // the payloads, copied out of the log's buffer
	argv    [][]byte // every entry's arguments, aliasing data
	err     error    // the read stopped here (after entries)
}

// replayEntry is one entry of a replayBatch.
type replayEntry struct {
	Entry
	db         int
	cmd        *schema.Command
	argv0, end int32 // the entry's arguments: batch.argv[argv0:end]
}

// errReplayStopped ends the reader when the applier stopped first.
var errReplayStopped = errors.New("engine: replay stopped")

// readForReplay reads the log from index from on into batches, decoding
// each command, and sends them in order on the returned channel, which is
// closed after the last one (or one carrying an error). Each batch must be
// handed back on free once applied; closing stop ends the reading early.
func (e *Engine) readForReplay(from uint64, free chan *replayBatch, stop <-chan struct{}) <-chan *replayBatch {
	out := make(chan *replayBatch, cap(free))
	dbs := len(e.img.dbs)
	go func() {
		defer close(out)
		var b *replayBatch
		var tmp [][]byte
		take := func() bool {
			select {
			case <-stop:
				return false
			default:
			}
			select {
			case b = <-free:
			case <-stop:
				return false
			}
			b.entries, b.data, b.argv, b.err = b.entries[:0], b.data[:0], b.argv[:0], nil
			return true
		}
		if !take() {
			return
		}
		err := e.opts.Log.ReadFrom(from, func(en Entry) error {
			re := replayEntry{Entry: en}
			if en.Kind == KindCommand {
				// Copy the payload first: the log reuses its buffer. The
				// arguments alias the copy, which must not move: a batch
				// whose data buffer is full is sent on, as is a full one.
				if len(b.entries) > 0 && len(b.data)+len(en.Data) > cap(b.data) {
					out <- b
					if !take() {
						return errReplayStopped
					}
				}
				if len(en.Data) > cap(b.data)-len(b.data) {
					b.data = make([]byte, 0, max(len(en.Data), 2*cap(b.data)))
				}
				start := len(b.data)
				b.data = append(b.data, en.Data...)
				re.Data = b.data[start:len(b.data):len(b.data)]
				db, a, err := schema.DecodeCommand(re.Data, tmp)
				if err != nil {
					return fmt.Errorf("engine: replay entry %d: %w", en.Index, err)
				}
				tmp = a
				re.cmd = schema.Lookup(a[0])
				if re.cmd == nil || db >= dbs {
					return fmt.Errorf("engine: replay entry %d: unknown command %q or db %d", en.Index, a[0], db)
				}
				re.db = db
				re.argv0 = int32(len(b.argv))
				b.argv = append(b.argv, a...)
				re.end = int32(len(b.argv))
			} else {
				re.Data = nil
			}
			b.entries = append(b.entries, re)
			if len(b.entries) == replayBatchSize {
				out <- b
				if !take() {
					return errReplayStopped
				}
			}
			return nil
		})
		if errors.Is(err, errReplayStopped) {
			return
		}
		b.err = err
		out <- b
	}()
	return out
}

// newReplayBatches returns the batches readForReplay cycles through.
func newReplayBatches() chan *replayBatch {
	free := make(chan *replayBatch, 4)
	for range cap(free) {
		free <- &replayBatch{entries: make([]replayEntry, 0, replayBatchSize),
			data: make([]byte, 0, 256<<10), argv: make([][]byte, 0, 4*replayBatchSize)}
	}
	return free
}
