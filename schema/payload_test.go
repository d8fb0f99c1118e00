package schema

import (
	"bytes"
	"errors"
	"testing"
)

func TestEncodeDecodeCommand(t *testing.T) {
	tests := []struct {
		name string
		db   int
		argv []string
		want []string // argv as decoded
	}{
		{"lower-cases the name", 0, []string{"SET", "Key", "Value"}, []string{"set", "Key", "Value"}},
		{"empty argument", 3, []string{"set", "", ""}, []string{"set", "", ""}},
		{"binary argument", 15, []string{"set", "k", "\x00\r\n\xff"}, []string{"set", "k", "\x00\r\n\xff"}},
		{"large db", 1 << 16, []string{"ping"}, []string{"ping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var argv [][]byte
			for _, a := range tt.argv {
				argv = append(argv, []byte(a))
			}
			p := EncodeCommand(nil, tt.db, argv)
			db, got, err := DecodeCommand(p, nil)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if db != tt.db {
				t.Errorf("db = %d, want %d", db, tt.db)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("argc = %d, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("argv[%d] = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestDecodeCommandRefuses(t *testing.T) {
	good := EncodeCommand(nil, 0, [][]byte{[]byte("set"), []byte("k"), []byte("v")})
	tests := []struct {
		name string
		p    []byte
		want error
	}{
		{"empty", nil, ErrPayloadCorrupt},
		{"unknown version", append([]byte{9}, good[1:]...), ErrPayloadVersion},
		{"truncated", good[:len(good)-1], ErrPayloadCorrupt},
		{"trailing bytes", append(append([]byte(nil), good...), 0), ErrPayloadCorrupt},
		{"zero argc", []byte{PayloadVersion, 0, 0}, ErrPayloadCorrupt},
		{"huge argc", []byte{PayloadVersion, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrPayloadCorrupt},
		{"huge length", []byte{PayloadVersion, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrPayloadCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := DecodeCommand(tt.p, nil); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzDecodeCommand feeds the payload decoder arbitrary bytes: it must never
// panic, and whatever it accepts must encode back to the same bytes (modulo
// the name's case, which the encoder lower-cases).
func FuzzDecodeCommand(f *testing.F) {
	f.Add(EncodeCommand(nil, 0, [][]byte{[]byte("set"), []byte("k"), []byte("v")}))
	f.Add(EncodeCommand(nil, 7, [][]byte{[]byte("del")}))
	f.Add([]byte{PayloadVersion})
	f.Fuzz(func(t *testing.T, p []byte) {
		db, argv, err := DecodeCommand(p, nil)
		if err != nil {
			return
		}
		again := EncodeCommand(nil, db, argv)
		db2, argv2, err := DecodeCommand(again, nil)
		if err != nil || db2 != db || len(argv2) != len(argv) {
			t.Fatalf("re-encoding changed the command: %v", err)
		}
		for i := 1; i < len(argv); i++ {
			if !bytes.Equal(argv[i], argv2[i]) {
				t.Fatalf("argv[%d] changed", i)
			}
		}
	})
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-1", -1, true}, {"123", 123, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"", 0, false}, {"-", 0, false}, {"+1", 0, false}, {"01", 0, false},
		{" 1", 0, false}, {"1 ", 0, false}, {"1.0", 0, false}, {"-0", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseInt([]byte(tt.in))
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseFloat(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"1.5", true}, {"-0", true}, {"inf", true}, {"-inf", true}, {"+inf", true},
		{"5.0e3", true}, {"nan", false}, {"", false}, {" 1", false}, {"1x", false},
	}
	for _, tt := range tests {
		if _, ok := ParseFloat([]byte(tt.in)); ok != tt.ok {
			t.Errorf("ParseFloat(%q) ok = %v, want %v", tt.in, ok, tt.ok)
		}
	}
}

func TestLookupIsCaseInsensitive(t *testing.T) {
	c := Lookup([]byte("MEMIMG.EXPIRED"))
	if c == nil || c.Name != "memimg.expired" {
		t.Fatalf("Lookup(MEMIMG.EXPIRED) = %v", c)
	}
	if Lookup([]byte("no-such-command")) != nil {
		t.Fatal("Lookup found an unknown command")
	}
	if Lookup(bytes.Repeat([]byte("x"), 100)) != nil {
		t.Fatal("Lookup found an overlong name")
	}
}
