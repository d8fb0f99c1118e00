package schema

import "errors"

// Batches: the leader of a cluster proposes the writes of several clients
// that queued together as one Raft entry,
//
//	memimg.batch <command> [<command> ...]
//
// where each <command> is the EncodeCommand payload (database included) of
// one write, as it would have been logged alone. The entry applies its
// commands in order, each exactly as its own entry would (at the entry's
// time), and the reply is the array of their replies, one per client; it
// is not a transaction for the clients (no watches, and each command's
// error is its own). A client transaction (memimg.exec) may be one of the
// commands; a batch may not.
func init() {
	register(&Command{Name: "memimg.batch", Arity: -2, Flags: Write | Internal, Group: "cluster",
		Since: "memimg 0.2", Check: checkBatch,
		Summary: "Applies the writes of several clients, proposed together as one replicated entry."})
}

// ErrBatchCorrupt is the error for a memimg.batch whose commands do not
// decode or are not writes.
var ErrBatchCorrupt = errors.New("ERR corrupt memimg.batch entry")

// batchName is memimg.batch's argv[0].
var batchName = []byte("memimg.batch")

// EncodeBatch appends the payload of a memimg.batch of payloads (each an
// EncodeCommand output) to dst.
func EncodeBatch(dst []byte, payloads [][]byte) []byte {
	argv := make([][]byte, 0, 1+len(payloads))
	argv = append(argv, batchName)
	argv = append(argv, payloads...)
	return EncodeCommand(dst, 0, argv)
}

// checkBatch is memimg.batch's check: every command decodes, is a write
// and not a batch, and is valid (arity, syntax).
func checkBatch(argv [][]byte) error {
	var sub [][]byte
	for _, p := range argv[1:] {
		_, a, err := DecodeCommand(p, sub)
		if err != nil {
			return ErrBatchCorrupt
		}
		sub = a
		c := Lookup(a[0])
		if c == nil || !c.Is(Write) || c.Name == "memimg.batch" {
			return ErrBatchCorrupt
		}
		if err := c.Validate(a); err != nil {
			return err
		}
	}
	return nil
}
