package protocol

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"strings"
	"testing"

	"github.com/tidwall/redcon"
)

func TestScanner(t *testing.T) {
	lim := Limits{MaxBulkLen: 1 << 20}
	tests := []struct {
		name  string
		in    string
		n     int    // bytes accepted
		err   error  // nil, a *ProtocolError value, or
		errIs string // the Reason of a dynamic error
	}{
		{name: "ping", in: "*1\r\n$4\r\nPING\r\n", n: 14},
		{name: "pipeline", in: "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", n: 34},
		{name: "inline", in: "PING\r\nSET a b\n", n: 14},
		{name: "empty lines", in: "\r\n\n\n", n: 4},
		{name: "partial", in: "*2\r\n$3\r\nfoo", n: 11},
		{name: "bad bulk length", in: "*2\r\n$3\r\nfoo\r\n$x\r\n", n: 16, err: ErrInvalidBulkLength},
		{name: "negative bulk length", in: "*1\r\n$-1\r\n", n: 8, err: ErrInvalidBulkLength},
		{name: "bulk over limit", in: "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1048577\r\n", n: 29, err: ErrInvalidBulkLength},
		{name: "bulk at limit", in: "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1048576\r\n", n: 30},
		{name: "bulk without CRLF", in: "*1\r\n$3\r\nfooX\r\n", n: 11, err: ErrInvalidBulkLength},
		{name: "bulk with LF only", in: "*1\r\n$3\r\nfoo\rX", n: 12, err: ErrInvalidBulkLength},
		{name: "huge multibulk", in: "*1048577\r\n", n: 9, err: ErrInvalidMultibulkLength},
		{name: "max multibulk", in: "*1048576\r\n", n: 10},
		{name: "zero multibulk", in: "*0\r\n", n: 3, err: ErrInvalidMultibulkLength},
		{name: "negative multibulk", in: "*-1\r\n", n: 4, err: ErrInvalidMultibulkLength},
		{name: "leading zero", in: "*01\r\n", n: 4, err: ErrInvalidMultibulkLength},
		{name: "plus sign", in: "*+1\r\n", n: 4, err: ErrInvalidMultibulkLength},
		{name: "LF without CR", in: "*1\n", n: 2, err: ErrInvalidMultibulkLength},
		{name: "CR inside number", in: "*1\r2\r\n", n: 5, err: ErrInvalidMultibulkLength},
		{name: "overflow", in: "*99999999999999999999999\r\n", n: 25, err: ErrInvalidMultibulkLength},
		{name: "no dollar", in: "*1\r\nx", n: 4, errIs: "expected '$', got 'x'"},
		{name: "too big inline", in: strings.Repeat("a", 64<<10+10), n: 64 << 10, err: ErrTooBigInline},
		{name: "inline at limit", in: strings.Repeat("a", 64<<10) + "\n", n: 64<<10 + 1},
		{name: "too big count", in: "*" + strings.Repeat("1", 64<<10+10), n: 64<<10 + 1, err: ErrTooBigCount},
		{name: "too big bulk count", in: "*1\r\n$" + strings.Repeat("1", 64<<10+10), n: 64<<10 + 5, err: ErrTooBigBulkCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, split := range []int{0, 1, 2, 3, 7} {
				s := NewScanner(lim)
				n, err := scanPieces(s, []byte(tt.in), split)
				if n != tt.n {
					t.Errorf("split %d: accepted %d bytes, want %d", split, n, tt.n)
				}
				switch {
				case tt.errIs != "":
					var pe *ProtocolError
					if !errors.As(err, &pe) || pe.Reason != tt.errIs {
						t.Errorf("split %d: err %v, want reason %q", split, err, tt.errIs)
					}
				case !errors.Is(err, tt.err):
					t.Errorf("split %d: err %v, want %v", split, err, tt.err)
				}
			}
		})
	}
}

// scanPieces feeds in to s in pieces of size split (0: all at once) and
// returns the bytes accepted in all and the error.
func scanPieces(s *Scanner, in []byte, split int) (int, error) {
	if split <= 0 {
		return s.Scan(in)
	}
	total := 0
	for len(in) > 0 {
		k := min(split, len(in))
		n, err := s.Scan(in[:k])
		total += n
		if err != nil {
			return total, err
		}
		in = in[k:]
	}
	return total, nil
}

func TestScannerAfterError(t *testing.T) {
	s := NewScanner(Limits{})
	if _, err := s.Scan([]byte("*0\r\n")); err == nil {
		t.Fatal("no error")
	}
	if n, err := s.Scan([]byte("*1\r\n$4\r\nPING\r\n")); n != 0 || !errors.Is(err, ErrInvalidMultibulkLength) {
		t.Errorf("after an error: %d, %v", n, err)
	}
	if !errors.Is(s.Err(), ErrInvalidMultibulkLength) {
		t.Errorf("Err() = %v", s.Err())
	}
}

func TestScannerMaxRequest(t *testing.T) {
	s := NewScanner(Limits{MaxBulkLen: 1 << 20, MaxRequest: 100})
	in := "*2\r\n$3\r\nset\r\n$200\r\n" + strings.Repeat("x", 200) + "\r\n"
	n, err := s.Scan([]byte(in))
	if !errors.Is(err, ErrQueryBufferLimit) || n != 100 {
		t.Errorf("got %d, %v", n, err)
	}
}

func BenchmarkScanner(b *testing.B) {
	var in []byte
	for i := 0; i < 100; i++ {
		in = append(in, "*3\r\n$3\r\nSET\r\n$10\r\nkey:000001\r\n$64\r\n"...)
		in = append(in, strings.Repeat("v", 64)+"\r\n"...)
	}
	b.SetBytes(int64(len(in)))
	s := NewScanner(Limits{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.Scan(in); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzScanner feeds random bytes split at random points: the Scanner never
// panics, reaches the same verdict at the same offset whatever the pieces,
// and what it accepts as whole multibulk requests redcon parses without a
// protocol error.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		"*1\r\n$4\r\nPING\r\n", "PING\r\n", "*2\r\n$3\r\nfoo\r\n$x\r\n", "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n",
		"*0\r\n", "*-1\r\n", "$5\r\n", "*1\r\n$2000000\r\n", "*2\r\n$1\r\na\r\n$1\r\nb\r\n*1\r\n$4\r\nQUIT\r\n",
		"\r\n\r\n", "*1\r\n$0\r\n\r\n", "*1\r\n$1\r\nab",
	} {
		f.Add([]byte(s), int64(1))
	}
	lim := Limits{MaxBulkLen: 1 << 20, MaxMultibulk: 1000, MaxInline: 100}
	f.Fuzz(func(t *testing.T, data []byte, seed int64) {
		whole := NewScanner(lim)
		wn, werr := whole.Scan(data)
		if wn < 0 || wn > len(data) {
			t.Fatalf("accepted %d of %d bytes", wn, len(data))
		}
		if werr == nil && wn != len(data) {
			t.Fatalf("no error but accepted %d of %d bytes", wn, len(data))
		}
		rnd := rand.New(rand.NewSource(seed))
		pieces := NewScanner(lim)
		pn := 0
		var perr error
		for rest := data; len(rest) > 0; {
			k := rnd.Intn(len(rest)) + 1
			n, err := pieces.Scan(rest[:k])
			pn += n
			if err != nil {
				perr = err
				break
			}
			rest = rest[k:]
		}
		if pn != wn || (perr == nil) != (werr == nil) || (perr != nil && perr.Error() != werr.Error()) {
			t.Fatalf("whole: %d, %v; in pieces: %d, %v", wn, werr, pn, perr)
		}
		if werr == nil && whole.state == scanStart && !whole.inline {
			rd := redcon.NewReader(bytes.NewReader(data))
			for {
				_, err := rd.ReadCommands()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("scanner accepted %q, redcon refused it: %v", data, err)
				}
			}
		}
	})
}
