package protocol

import (
	"math"
	"testing"

	"github.com/memimg/memimg/engine"
)

func TestAppendReply(t *testing.T) {
	m := engine.Reply{Kind: engine.KindMap, Elems: []engine.Reply{engine.Bulk("a"), engine.Int(1)}}
	set := engine.Reply{Kind: engine.KindSet, Elems: []engine.Reply{engine.Status("x")}}
	tests := []struct {
		name         string
		r            engine.Reply
		resp2, resp3 string
	}{
		{"null", engine.Null, "$-1\r\n", "_\r\n"},
		{"null array", engine.NullArray, "*-1\r\n", "_\r\n"},
		{"status", engine.OK, "+OK\r\n", "+OK\r\n"},
		{"error", engine.Errorf("ERR bad"), "-ERR bad\r\n", "-ERR bad\r\n"},
		{"error with newline", engine.Errorf("ERR a\r\nb"), "-ERR a  b\r\n", "-ERR a  b\r\n"},
		{"int", engine.Int(-42), ":-42\r\n", ":-42\r\n"},
		{"bulk", engine.Bulk("hello"), "$5\r\nhello\r\n", "$5\r\nhello\r\n"},
		{"empty bulk", engine.Bulk(""), "$0\r\n\r\n", "$0\r\n\r\n"},
		{"array", engine.Array(engine.Bulk("a"), engine.Null), "*2\r\n$1\r\na\r\n$-1\r\n", "*2\r\n$1\r\na\r\n_\r\n"},
		{"empty array", engine.Array(), "*0\r\n", "*0\r\n"},
		{"map", m, "*2\r\n$1\r\na\r\n:1\r\n", "%1\r\n$1\r\na\r\n:1\r\n"},
		{"set", set, "*1\r\n+x\r\n", "~1\r\n+x\r\n"},
		{"double", engine.Double(1.5), "$3\r\n1.5\r\n", ",1.5\r\n"},
		{"double inf", engine.Double(math.Inf(1)), "$3\r\ninf\r\n", ",inf\r\n"},
		{"double -inf", engine.Double(math.Inf(-1)), "$4\r\n-inf\r\n", ",-inf\r\n"},
		{"pairs", engine.Reply{Kind: engine.KindArray, Int: engine.ReplyPairs, Elems: []engine.Reply{engine.Bulk("m"), engine.Double(2)}},
			"*2\r\n$1\r\nm\r\n$1\r\n2\r\n", "*1\r\n*2\r\n$1\r\nm\r\n,2\r\n"},
		{"nested", engine.Array(m), "*1\r\n*2\r\n$1\r\na\r\n:1\r\n", "*1\r\n%1\r\n$1\r\na\r\n:1\r\n"},
	}
	for _, tt := range tests {
		if got := string(AppendReply(nil, tt.r, 2)); got != tt.resp2 {
			t.Errorf("%s RESP2: got %q, want %q", tt.name, got, tt.resp2)
		}
		if got := string(AppendReply(nil, tt.r, 3)); got != tt.resp3 {
			t.Errorf("%s RESP3: got %q, want %q", tt.name, got, tt.resp3)
		}
	}
}

// The expected texts are Redis 7.2's (fpconv_dtoa).
func TestAppendDouble(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "-0"}, {1, "1"}, {-1, "-1"}, {1.5, "1.5"}, {0.1, "0.1"},
		{100, "100"}, {1e6, "1000000"}, {1e7, "10000000"}, {1.2e7, "12000000"}, {1e8, "1e+8"},
		{1e20, "1e+20"}, {1e21, "1e+21"}, {1.5e300, "1.5e+300"}, {123456.789, "123456.789"},
		{0.000123, "0.000123"}, {1e-7, "1e-7"}, {1.5e-7, "1.5e-7"}, {3.14159, "3.14159"},
		{-2.5e-10, "-2.5e-10"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
		{5e-324, "5e-324"}, {math.NaN(), "nan"}, {0.30000000000000004, "0.30000000000000004"},
		{123456789012345678, "123456789012345680"},
	}
	for _, tt := range tests {
		if got := string(appendDouble(nil, tt.f)); got != tt.want {
			t.Errorf("appendDouble(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestAppendReplyAllocs(t *testing.T) {
	buf := make([]byte, 0, 1024)
	r := engine.Array(engine.Bulk("value"), engine.Int(7), engine.Double(2.25), engine.Null)
	n := testing.AllocsPerRun(100, func() { buf = AppendReply(buf[:0], r, 3) })
	if n != 0 {
		t.Errorf("AppendReply allocates %v times per call", n)
	}
}
