package enginelog

import (
	"testing"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/wal"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	w, err := wal.Open(wal.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	l := New(w)
	if err := l.ReadFrom(1, func(engine.Entry) error { t.Error("entry in an empty log"); return nil }); err != nil {
		t.Fatalf("ReadFrom on an empty log: %v", err)
	}
	buf := []byte("abcdef")
	batch := []engine.Entry{
		{Index: 1, Term: 0, Kind: engine.KindCommand, Time: 10, Data: buf[:3]},
		{Index: 2, Term: 0, Kind: engine.KindNoop, Time: 11, Data: buf[3:]},
	}
	if err := l.Append(batch); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXX") // the wal copied the payloads
	if err := l.Append([]engine.Entry{{Index: 3, Kind: engine.KindCommand, Time: 12, Data: []byte("g")}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if l.LastIndex() != 3 {
		t.Errorf("LastIndex %d", l.LastIndex())
	}
	var got []engine.Entry
	err = l.ReadFrom(2, func(e engine.Entry) error {
		e.Data = append([]byte(nil), e.Data...)
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Index != 2 || got[0].Kind != engine.KindNoop || string(got[0].Data) != "def" ||
		got[0].Time != 11 || got[1].Index != 3 || string(got[1].Data) != "g" {
		t.Errorf("ReadFrom(2) = %+v", got)
	}
	if err := l.Append([]engine.Entry{{Index: 9, Kind: engine.KindCommand}}); err == nil {
		t.Error("append out of order accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
