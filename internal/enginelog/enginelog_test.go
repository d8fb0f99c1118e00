package enginelog

import (
	"os"
	"path/filepath"
	"strings"
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

// TestMissingEarlierSegmentsRefuseReplay: a log whose sealed segments are
// gone, leaving only the empty active segment that starts past index 1,
// must not replay as an empty data set (that would silently drop all data,
// and the next write would delete the last evidence).
func TestMissingEarlierSegmentsRefuseReplay(t *testing.T) {
	dir := t.TempDir()
	w, err := wal.Open(wal.Options{Dir: dir, SegmentSize: 1024, NoCompress: true})
	if err != nil {
		t.Fatal(err)
	}
	l := New(w)
	payload := make([]byte, 1100) // one record fills a segment
	for i := uint64(1); i <= 3; i++ {
		if err := l.Append([]engine.Entry{{Index: i, Kind: engine.KindNoop, Data: payload}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil || len(files) < 2 {
		t.Fatalf("segments: %v %v", files, err)
	}
	// Lose every segment but the last (empty, active) one.
	for _, f := range files[:len(files)-1] {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	w, err = wal.Open(wal.Options{Dir: dir, SegmentSize: 1024, NoCompress: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.StartIndex() <= 1 {
		t.Fatalf("StartIndex = %d, want > 1", w.StartIndex())
	}
	err = New(w).ReadFrom(1, func(engine.Entry) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("ReadFrom(1) = %v, want an error about missing segments", err)
	}
}
