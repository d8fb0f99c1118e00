package engine

import (
	"math"
	"reflect"
	"testing"
)

func TestReplyCodecRoundTrip(t *testing.T) {
	for _, r := range []Reply{
		Null, NullArray, OK, Errorf("WRONGTYPE Operation against a key holding the wrong kind of value"),
		Int(0), Int(-1), Int(math.MinInt64), Int(math.MaxInt64), Bulk(""), Bulk("a\x00b"),
		Double(3.5), Double(math.Inf(-1)),
		Array(), Array(Bulk("k"), Array(Bulk("v"), Int(1)), Null),
		{Kind: KindMap, Elems: []Reply{Bulk("f"), Bulk("v")}}, {Kind: KindSet, Elems: []Reply{Bulk("m")}},
	} {
		b := AppendReply(nil, r)
		got, rest, err := DecodeReply(b)
		if err != nil || len(rest) != 0 {
			t.Fatalf("%s: err %v, %d bytes left", render(r), err, len(rest))
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("round trip of %s gave %s", render(r), render(got))
		}
	}
}

func FuzzDecodeReply(f *testing.F) {
	f.Add(AppendReply(nil, Array(Bulk("k"), Int(7), Double(1.5), Null)))
	f.Add([]byte{byte(KindArray), 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, rest, err := DecodeReply(b)
		if err != nil {
			return
		}
		_ = rest
		// What decodes survives an encode/decode round trip unchanged.
		enc := AppendReply(nil, r)
		r2, rest2, err := DecodeReply(enc)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("re-decoding %x: %v, %d bytes left", enc, err, len(rest2))
		}
		if enc2 := AppendReply(nil, r2); string(enc2) != string(enc) {
			t.Fatalf("round trip changed %x into %x", enc, enc2)
		}
	})
}
