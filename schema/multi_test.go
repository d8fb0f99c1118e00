package schema

import (
	"bytes"
	"reflect"
	"testing"
)

func TestTxWatchesRoundTrip(t *testing.T) {
	for _, ws := range [][]TxWatch{
		nil,
		{{DB: 0, Key: []byte("k")}},
		{{DB: 15, Key: []byte(""), Live: true, Sum: 1<<64 - 1}, {DB: 3, Key: []byte("a b"), Live: true, Sum: 42}, {Key: []byte("x")}},
	} {
		p := EncodeTxWatches(nil, ws)
		got, err := DecodeTxWatches(p, nil)
		if err != nil {
			t.Fatalf("%v: %v", ws, err)
		}
		if len(ws) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, ws) {
			t.Fatalf("round trip: got %+v, want %+v", got, ws)
		}
		// Every truncation is refused.
		for n := 0; n < len(p); n++ {
			if _, err := DecodeTxWatches(p[:n], nil); err == nil {
				t.Fatalf("truncated to %d of %d bytes: decoded", n, len(p))
			}
		}
	}
	if _, err := DecodeTxWatches([]byte{2, 0}, nil); err == nil {
		t.Fatal("unknown version decoded")
	}
}

func FuzzDecodeTxWatches(f *testing.F) {
	f.Add(EncodeTxWatches(nil, nil))
	f.Add(EncodeTxWatches(nil, []TxWatch{{DB: 1, Key: []byte("k"), Live: true, Sum: 7}, {Key: []byte("m")}}))
	f.Add([]byte{1, 200, 1})
	f.Add([]byte{1, 0x80, 0}) // a varint written long
	f.Fuzz(func(t *testing.T, p []byte) {
		ws, err := DecodeTxWatches(p, nil)
		if err != nil {
			return
		}
		// What decodes survives a round trip (the encoding of a
		// varint is not unique, so the bytes may differ).
		q := EncodeTxWatches(nil, ws)
		ws2, err := DecodeTxWatches(q, nil)
		if err != nil || len(ws2) != len(ws) {
			t.Fatalf("re-encoding of %x (%x) does not decode: %v", p, q, err)
		}
		for i := range ws {
			if ws[i].DB != ws2[i].DB || !bytes.Equal(ws[i].Key, ws2[i].Key) || ws[i].Live != ws2[i].Live || ws[i].Sum != ws2[i].Sum {
				t.Fatalf("round trip of %x: %+v, then %+v", p, ws, ws2)
			}
		}
	})
}

func TestCheckTx(t *testing.T) {
	cmd := Lookup([]byte("memimg.exec"))
	w := EncodeTxWatches(nil, nil)
	enc := func(argv ...string) []byte {
		b := make([][]byte, len(argv))
		for i, a := range argv {
			b[i] = []byte(a)
		}
		return EncodeCommand(nil, 0, b)
	}
	tests := []struct {
		argv [][]byte
		ok   bool
	}{
		{[][]byte{[]byte("memimg.exec"), w}, true},
		{[][]byte{[]byte("memimg.exec"), w, enc("set", "k", "v"), enc("get", "k")}, true},
		{[][]byte{[]byte("memimg.exec")}, false},
		{[][]byte{[]byte("memimg.exec"), []byte("x")}, false},
		{[][]byte{[]byte("memimg.exec"), w, []byte("junk")}, false},
		{[][]byte{[]byte("memimg.exec"), w, enc("ping")}, false},
		{[][]byte{[]byte("memimg.exec"), w, enc("memimg.exec", "x")}, false},
		{[][]byte{[]byte("memimg.exec"), w, enc("nosuch")}, false},
		{[][]byte{[]byte("memimg.exec"), w, enc("set", "k", "v", "bad")}, false},
		{[][]byte{[]byte("memimg.exec"), w, enc("get")}, false},
	}
	for i, tc := range tests {
		if err := cmd.Validate(tc.argv); (err == nil) != tc.ok {
			t.Errorf("case %d: %v", i, err)
		}
	}
	if !cmd.Is(Write) || !cmd.Is(Internal) {
		t.Fatal("memimg.exec must be an internal write")
	}
}

func TestExecAbortBecause(t *testing.T) {
	got := ExecAbortBecause(WrongArity("exec")).Error()
	if want := "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
