package engine

import (
	"encoding/binary"
	"errors"
	"math"
)

// A Reply's binary encoding, for carrying a reply between cluster nodes (a
// follower's write is proposed by the leader, and the leader's reply goes
// back to the follower's client as it was, in whatever protocol that
// client speaks):
//
//	reply := kind u8 | body
//	body  := nothing                          Null, NullArray
//	       | uvarint len | bytes              Status, Error, Bulk
//	       | zigzag varint                    Int
//	       | 8 bytes, little-endian bits      Double
//	       | uvarint n | n × reply            Array, Map (2 × pairs), Set
//
// It is not stored anywhere, so it may change between versions as long as
// the nodes of one cluster run the same version.

// ErrReplyEncoding is returned by DecodeReply for bytes that are not an
// encoded Reply.
var ErrReplyEncoding = errors.New("engine: malformed reply encoding")

// maxReplyDepth bounds the nesting DecodeReply accepts.
const maxReplyDepth = 64

// AppendReply appends r's binary encoding to dst.
func AppendReply(dst []byte, r Reply) []byte {
	dst = append(dst, byte(r.Kind))
	switch r.Kind {
	case KindStatus, KindError, KindBulk:
		dst = binary.AppendUvarint(dst, uint64(len(r.Str)))
		dst = append(dst, r.Str...)
	case KindInt:
		dst = binary.AppendVarint(dst, r.Int)
	case KindDouble:
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.Float))
	case KindArray, KindMap, KindSet:
		dst = binary.AppendUvarint(dst, uint64(len(r.Elems)))
		for _, e := range r.Elems {
			dst = AppendReply(dst, e)
		}
	}
	return dst
}

// DecodeReply decodes one Reply from the start of b and returns the bytes
// after it.
func DecodeReply(b []byte) (Reply, []byte, error) {
	return decodeReply(b, 0)
}

func decodeReply(b []byte, depth int) (Reply, []byte, error) {
	if len(b) == 0 || depth > maxReplyDepth {
		return Reply{}, nil, ErrReplyEncoding
	}
	r := Reply{Kind: ReplyKind(b[0])}
	b = b[1:]
	switch r.Kind {
	case KindNull, KindNullArray:
	case KindStatus, KindError, KindBulk:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return Reply{}, nil, ErrReplyEncoding
		}
		r.Str = string(b[k : k+int(n)])
		b = b[k+int(n):]
	case KindInt:
		v, k := binary.Varint(b)
		if k <= 0 {
			return Reply{}, nil, ErrReplyEncoding
		}
		r.Int, b = v, b[k:]
	case KindDouble:
		if len(b) < 8 {
			return Reply{}, nil, ErrReplyEncoding
		}
		r.Float, b = math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:]
	case KindArray, KindMap, KindSet:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) { // every element takes a byte at least
			return Reply{}, nil, ErrReplyEncoding
		}
		b = b[k:]
		if n == 0 {
			break
		}
		r.Elems = make([]Reply, n)
		for i := range r.Elems {
			var err error
			if r.Elems[i], b, err = decodeReply(b, depth+1); err != nil {
				return Reply{}, nil, err
			}
		}
	default:
		return Reply{}, nil, ErrReplyEncoding
	}
	return r, b, nil
}
