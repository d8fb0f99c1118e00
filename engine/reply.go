package engine

import "github.com/memimg/memimg/schema"

// ReplyKind is the type of a Reply, independent of the wire protocol: the
// protocol layer writes each kind in RESP2 or RESP3.
type ReplyKind uint8

// The reply kinds.
const (
	KindNull      ReplyKind = iota // a missing value: RESP2 $-1, RESP3 _
	KindStatus                     // a simple string: +OK
	KindError                      // an error: -ERR ...
	KindInt                        // an integer: :1
	KindBulk                       // a bulk string: $3 foo
	KindArray                      // an array of replies
	KindNullArray                  // a missing array: RESP2 *-1, RESP3 _
	KindMap                        // RESP3 map (RESP2: flat array of key, value, ...)
	KindSet                        // RESP3 set (RESP2: array)
	KindDouble                     // RESP3 double (RESP2: bulk string)
)

// Reply is the answer to one command. It holds no reference to the
// connection, so the engine stays protocol-agnostic and testable.
type Reply struct {
	Kind  ReplyKind
	Str   string  // Status, Error, Bulk
	Int   int64   // Int
	Float float64 // Double
	Elems []Reply // Array, Map (key, value, key, value, ...), Set
}

// Common replies.
var (
	OK        = Reply{Kind: KindStatus, Str: "OK"}
	Null      = Reply{Kind: KindNull}
	NullArray = Reply{Kind: KindNullArray}
)

// Int returns an integer reply.
func Int(n int64) Reply { return Reply{Kind: KindInt, Int: n} }

// Bulk returns a bulk string reply.
func Bulk(s string) Reply { return Reply{Kind: KindBulk, Str: s} }

// BulkBytes returns a bulk string reply holding a copy of b.
func BulkBytes(b []byte) Reply { return Reply{Kind: KindBulk, Str: string(b)} }

// Status returns a simple string reply.
func Status(s string) Reply { return Reply{Kind: KindStatus, Str: s} }

// Double returns a floating point reply.
func Double(f float64) Reply { return Reply{Kind: KindDouble, Float: f} }

// Array returns an array reply.
func Array(elems ...Reply) Reply { return Reply{Kind: KindArray, Elems: elems} }

// Error returns an error reply; err's text must start with an error code
// ("ERR ...", "WRONGTYPE ...").
func Error(err error) Reply { return Reply{Kind: KindError, Str: err.Error()} }

// Errorf returns an error reply with the text msg.
func Errorf(msg string) Reply { return Reply{Kind: KindError, Str: msg} }

// IsError reports whether r is an error reply.
func (r Reply) IsError() bool { return r.Kind == KindError }

// wrongType is the WRONGTYPE reply.
var wrongType = Error(schema.ErrWrongType)
