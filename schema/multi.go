package schema

import (
	"encoding/binary"
	"errors"
)

// Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH are Connection
// commands (the protocol layer keeps a connection's queue and its watched
// keys); the transaction reaches the log as one internal write,
//
//	memimg.exec <watches> <command> [<command> ...]
//
// where <watches> is EncodeTxWatches's encoding of the watched keys and each
// <command> is the EncodeCommand payload (database included) of one queued
// command. The entry applies atomically: the watches are checked against the
// image at the entry's time, then every command runs in order (reads too,
// against the state at that point) and the reply is the array of their
// replies, or a null array when a watched key changed. Arity, flags and
// groups of the client commands are Redis 7.2's.
func init() {
	const tx = Connection | NoScript | Loading | Stale
	register(
		&Command{Name: "multi", Arity: 1, Flags: tx | Fast, Group: "transactions", Since: "1.2.0",
			Summary: "Starts a transaction."},
		&Command{Name: "exec", Arity: 1, Flags: tx, Group: "transactions", Since: "1.2.0",
			Summary: "Executes all commands in a transaction."},
		&Command{Name: "discard", Arity: 1, Flags: tx | Fast, Group: "transactions", Since: "2.0.0",
			Summary: "Discards a transaction."},
		&Command{Name: "watch", Arity: -2, Flags: tx | Fast, FirstKey: 1, LastKey: -1, Step: 1,
			Group: "transactions", Since: "2.2.0",
			Summary: "Monitors changes to keys to determine the execution of a transaction."},
		&Command{Name: "unwatch", Arity: 1, Flags: tx | Fast, Group: "transactions", Since: "2.2.0",
			Summary: "Forgets about watched keys of a transaction."},
		&Command{Name: "memimg.exec", Arity: -2, Flags: Write | Internal, Group: "transactions",
			Since: "memimg 0.1", Check: checkTx,
			Summary: "Applies a transaction (MULTI ... EXEC) atomically: its watched keys' check, then its commands."},
	)
}

// TxWatchVersion is the version of EncodeTxWatches's encoding. Frozen: part
// of the on-disk format.
const TxWatchVersion = 1

// TxWatch is one watched key as the log carries it: the key's state when
// WATCH saw it. Live is false for a key that was missing (or expired);
// otherwise Sum is the fingerprint of its value, type and expiry (the
// engine defines it, and freezes its definition).
type TxWatch struct {
	DB   int
	Key  []byte
	Live bool
	Sum  uint64
}

// EncodeTxWatches appends the encoding of ws to dst:
//
//	version u8 | count uvarint | per key: db uvarint, len(key) uvarint, key,
//	live u8 (0 or 1), and when live, sum u64 little-endian
func EncodeTxWatches(dst []byte, ws []TxWatch) []byte {
	dst = append(dst, TxWatchVersion)
	dst = binary.AppendUvarint(dst, uint64(len(ws)))
	for _, w := range ws {
		dst = binary.AppendUvarint(dst, uint64(w.DB))
		dst = binary.AppendUvarint(dst, uint64(len(w.Key)))
		dst = append(dst, w.Key...)
		if !w.Live {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		dst = binary.LittleEndian.AppendUint64(dst, w.Sum)
	}
	return dst
}

// ErrTxCorrupt is the error for a memimg.exec whose arguments do not decode.
var ErrTxCorrupt = errors.New("schema: corrupt transaction")

// DecodeTxWatches decodes EncodeTxWatches's encoding, appending to ws
// (reused if it has capacity). The keys alias p.
func DecodeTxWatches(p []byte, ws []TxWatch) ([]TxWatch, error) {
	out := ws[:0]
	if len(p) == 0 || p[0] != TxWatchVersion {
		return out, ErrTxCorrupt
	}
	p = p[1:]
	n, k := binary.Uvarint(p)
	// Every watch takes at least three bytes, which bounds n by the
	// payload and keeps a corrupt count from allocating.
	if k <= 0 || n > uint64(len(p)) {
		return out, ErrTxCorrupt
	}
	p = p[k:]
	for i := uint64(0); i < n; i++ {
		db, k := binary.Uvarint(p)
		if k <= 0 || db > 1<<20 {
			return out, ErrTxCorrupt
		}
		p = p[k:]
		l, k := binary.Uvarint(p)
		if k <= 0 || l >= uint64(len(p)-k) {
			return out, ErrTxCorrupt
		}
		p = p[k:]
		w := TxWatch{DB: int(db), Key: p[:l:l]}
		p = p[l:]
		switch p[0] {
		case 0:
			p = p[1:]
		case 1:
			if len(p) < 9 {
				return out, ErrTxCorrupt
			}
			w.Live, w.Sum = true, binary.LittleEndian.Uint64(p[1:9])
			p = p[9:]
		default:
			return out, ErrTxCorrupt
		}
		out = append(out, w)
	}
	if len(p) != 0 {
		return out, ErrTxCorrupt
	}
	return out, nil
}

// checkTx is memimg.exec's check: the watches decode, and every command
// decodes and is a valid client command for the engine (not a Connection
// or Internal one, arity and syntax checked).
func checkTx(argv [][]byte) error {
	if _, err := DecodeTxWatches(argv[1], nil); err != nil {
		return err
	}
	var sub [][]byte
	for _, p := range argv[2:] {
		_, a, err := DecodeCommand(p, sub)
		if err != nil {
			return ErrTxCorrupt
		}
		sub = a
		c := Lookup(a[0])
		if c == nil || c.Is(Internal) || c.Is(Connection) {
			return ErrTxCorrupt
		}
		if err := c.Validate(a); err != nil {
			return err
		}
	}
	return nil
}

// The replies of the transaction commands, in Redis's words.
var (
	ErrExecAbort      = Error("EXECABORT Transaction discarded because of previous errors.")
	ErrMultiNested    = Error("ERR MULTI calls can not be nested")
	ErrExecNoMulti    = Error("ERR EXEC without MULTI")
	ErrDiscardNoMulti = Error("ERR DISCARD without MULTI")
	ErrWatchInMulti   = Error("ERR WATCH inside MULTI is not allowed")
	ErrNotInMulti     = Error("ERR Command not allowed inside a transaction")
)

// ExecAbortBecause is Redis's reply to an EXEC refused while queuing (a
// wrong number of arguments): the transaction is discarded, and the reason
// is err's text without its "ERR " code.
func ExecAbortBecause(err error) Error {
	msg := err.Error()
	if len(msg) > 4 && msg[:4] == "ERR " {
		msg = msg[4:]
	}
	return Error("EXECABORT Transaction discarded because of: " + msg)
}
