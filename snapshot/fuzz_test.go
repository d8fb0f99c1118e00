package snapshot

import (
	"testing"
	"time"

	"github.com/memimg/memimg/engine"
)

// FuzzDecodeMeta feeds arbitrary bytes to the metadata decoder: it must
// never panic, and what it accepts must encode back to the same bytes.
func FuzzDecodeMeta(f *testing.F) {
	f.Add(encodeMeta(Meta{Kind: Full, Index: 1, Created: time.Unix(0, 1), ValueEncoding: engine.ValueEncodingVersion}))
	f.Add([]byte("MISN"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		if got := encodeMeta(m); string(got) != string(b) {
			t.Fatalf("decode/encode changed the record:\n%x\n%x", b, got)
		}
	})
}

// FuzzParseData feeds arbitrary data keys and values to their parsers and
// to a Loader: errors, never panics.
func FuzzParseData(f *testing.F) {
	f.Add(appendDataKey(nil, 3, "key"), appendValue(nil, &engine.Record{Value: []byte("v"), Exp: 5}))
	f.Add([]byte{1}, []byte{0})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		db, key, err := parseDataKey(k)
		if err != nil {
			return
		}
		typ, exp, val, err := parseValue(v)
		if err != nil {
			return
		}
		ld := engine.NewLoader(16, 0, 0, 0)
		_ = ld.Add(&engine.Record{DB: db, Key: string(key), Type: typ, Exp: exp, Value: val})
	})
}
