package wal

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenRecords are written to testdata/segment-v1.wal, a frozen example of
// the version 1 format: if this test fails, the wire format changed.
var goldenRecords = []Record{
	{Index: 7, Term: 1, Kind: 1, Time: 1_700_000_000_000_000_000, Data: []byte("SET k v")},
	{Index: 8, Term: 2, Kind: 2, Time: 1_700_000_000_000_000_001, Data: nil},
	{Index: 9, Term: 2, Kind: 255, Time: -1, Data: bytes.Repeat([]byte{0xff, 0x00}, 20)},
}

func TestFormatGolden(t *testing.T) {
	got := appendSegmentHeader(nil, 7)
	for i := range goldenRecords {
		got = appendFrame(got, &goldenRecords[i])
	}
	path := filepath.Join("testdata", "segment-v1.wal")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs from %s: the wire format changed\n got %x\nwant %x", path, got, want)
	}
	// Spot-check the layout drawn in doc.go.
	if string(want[:4]) != "MIWL" || want[4] != 1 || le.Uint64(want[8:]) != 7 {
		t.Fatalf("segment header %x", want[:segmentHeaderSize])
	}
	f := want[segmentHeaderSize:]
	if le.Uint32(f[4:]) != 7 || f[8] != 1 || le.Uint64(f[16:]) != 7 || le.Uint64(f[24:]) != 1 || string(f[40:47]) != "SET k v" {
		t.Fatalf("first frame %x", f[:47])
	}

	// The golden file opens as a log.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, segmentName(7)+rawSuffix), want, 0o644); err != nil {
		t.Fatal(err)
	}
	l := mustOpen(t, Options{Dir: dir, ReadOnly: true})
	defer l.Close()
	checkLog(t, l, goldenRecords)
}
