package replication

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
	"github.com/memimg/memimg/wal"
)

// openWAL opens a wal in dir with small segments, so tests cross segment
// boundaries and see compressed segments.
func openWAL(t testing.TB, dir string) *wal.Log {
	t.Helper()
	l, err := wal.Open(wal.Options{Dir: dir, SegmentSize: 1 << 10, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// newStore opens a LogStore over a fresh wal; the wal is closed at cleanup.
func newStore(t testing.TB, opts LogStoreOptions) (*LogStore, string) {
	t.Helper()
	dir := t.TempDir()
	l := openWAL(t, dir)
	t.Cleanup(func() { l.Close() })
	return NewLogStore(l, opts), dir
}

// testLog is the entry a test stores at index i.
func testLog(i uint64) *raft.Log {
	return &raft.Log{
		Index:      i,
		Term:       1 + i/50,
		Type:       raft.LogCommand,
		Data:       fmt.Appendf(nil, "command %d %s", i, bytes.Repeat([]byte{'x'}, 80)),
		AppendedAt: time.Unix(1700000000, int64(i)*1000),
	}
}

// fill stores entries first..last, in batches of 7.
func fill(t testing.TB, s *LogStore, first, last uint64) {
	t.Helper()
	var batch []*raft.Log
	for i := first; i <= last; i++ {
		batch = append(batch, testLog(i))
		if len(batch) == 7 || i == last {
			if err := s.StoreLogs(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

func sameLog(a, b *raft.Log) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Type == b.Type &&
		bytes.Equal(a.Data, b.Data) && bytes.Equal(a.Extensions, b.Extensions) &&
		a.AppendedAt.Equal(b.AppendedAt)
}

func indexes(t testing.TB, s *LogStore) (uint64, uint64) {
	t.Helper()
	first, err := s.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	last, err := s.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	return first, last
}

// checkRange checks that exactly [first, last] is readable and holds
// testLog entries.
func checkRange(t testing.TB, s *LogStore, first, last uint64) {
	t.Helper()
	f, l := indexes(t, s)
	if f != first || l != last {
		t.Fatalf("log is [%d, %d], want [%d, %d]", f, l, first, last)
	}
	var got raft.Log
	for _, i := range []uint64{0, first - 1, last + 1, last + 100} {
		if i >= first && i <= last && first != 0 {
			continue
		}
		if err := s.GetLog(i, &got); err != raft.ErrLogNotFound {
			t.Fatalf("GetLog(%d) outside [%d, %d]: err %v, want raft.ErrLogNotFound itself", i, first, last, err)
		}
	}
	if last == 0 {
		return
	}
	for i := first; i <= last; i++ {
		if err := s.GetLog(i, &got); err != nil {
			t.Fatalf("GetLog(%d): %v", i, err)
		}
		if want := testLog(i); !sameLog(&got, want) {
			t.Fatalf("GetLog(%d) = %+v, want %+v", i, got, *want)
		}
	}
}

func TestLogStoreEmpty(t *testing.T) {
	s, _ := newStore(t, LogStoreOptions{})
	checkRange(t, s, 0, 0)
	if err := s.DeleteRange(1, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLogs(nil); err != nil {
		t.Fatal(err)
	}
	if !s.IsMonotonic() {
		t.Fatal("not monotonic")
	}
	// An empty log takes any first index (after a snapshot install).
	fill(t, s, 500, 510)
	checkRange(t, s, 500, 510)
}

// TestLogStoreRoundTrip stores one entry of each kind and reads it back,
// before and after a restart.
func TestLogStoreRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 23, 15, 0, 0, 123456789, time.UTC)
	cmd := schema.EncodeCommand(nil, 3, [][]byte{[]byte("SET"), []byte("k"), []byte("v")})
	cases := []struct {
		name string
		log  raft.Log
		kind wal.Kind
	}{
		{"command", raft.Log{Type: raft.LogCommand, Data: cmd, AppendedAt: at}, 1},
		{"command empty", raft.Log{Type: raft.LogCommand, AppendedAt: at}, 1},
		{"command zero time", raft.Log{Type: raft.LogCommand, Data: cmd}, 1},
		{"noop", raft.Log{Type: raft.LogNoop, AppendedAt: at}, 17},
		{"add peer", raft.Log{Type: raft.LogAddPeerDeprecated, Data: []byte("peer")}, 18},
		{"remove peer", raft.Log{Type: raft.LogRemovePeerDeprecated, Data: []byte("peer")}, 19},
		{"barrier", raft.Log{Type: raft.LogBarrier, AppendedAt: at}, 20},
		{"configuration", raft.Log{Type: raft.LogConfiguration, AppendedAt: at, Data: raft.EncodeConfiguration(raft.Configuration{
			Servers: []raft.Server{{ID: "a", Address: "a:1"}, {ID: "b", Address: "b:1", Suffrage: raft.Nonvoter}},
		})}, 21},
		{"command with extensions", raft.Log{Type: raft.LogCommand, Data: cmd, Extensions: []byte("ext"), AppendedAt: at}, 32},
		{"configuration with extensions", raft.Log{Type: raft.LogConfiguration, Data: []byte("c"), Extensions: []byte{0}}, 32},
		{"extensions no data", raft.Log{Type: raft.LogNoop, Extensions: []byte("e")}, 32},
	}
	dir := t.TempDir()
	l := openWAL(t, dir)
	s := NewLogStore(l, LogStoreOptions{})
	for i := range cases {
		c := &cases[i]
		c.log.Index, c.log.Term = uint64(i+1), uint64(i/3+1)
		if err := s.StoreLog(&c.log); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	check := func(s *LogStore) {
		for i := range cases {
			c := &cases[i]
			var got raft.Log
			if err := s.GetLog(c.log.Index, &got); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !sameLog(&got, &c.log) {
				t.Errorf("%s: got %+v, want %+v", c.name, got, c.log)
			}
			rec, err := s.WAL().Get(c.log.Index)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Kind != c.kind || rec.Term != c.log.Term {
				t.Errorf("%s: wal kind %d term %d, want %d, %d", c.name, rec.Kind, rec.Term, c.kind, c.log.Term)
			}
			if rec.Kind == KindCommand && (!bytes.Equal(rec.Data, c.log.Data) || rec.Time != timeToWAL(c.log.AppendedAt)) {
				t.Errorf("%s: a command's wal record must hold its payload and AppendedAt as they are", c.name)
			}
		}
	}
	check(s)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openWAL(t, dir)
	defer l.Close()
	check(NewLogStore(l, LogStoreOptions{}))
}

// TestLogStoreStandaloneFormat checks that a LogCommand stored through Raft
// is the record the standalone engine writes, and that the engine's records
// read as Raft entries.
func TestLogStoreStandaloneFormat(t *testing.T) {
	if KindCommand != wal.Kind(engine.KindCommand) || KindStandaloneNoop != wal.Kind(engine.KindNoop) {
		t.Fatal("kinds diverge from the engine's")
	}
	s, _ := newStore(t, LogStoreOptions{})
	payload := schema.EncodeCommand(nil, 0, [][]byte{[]byte("INCR"), []byte("n")})
	now := time.Now().UnixNano()
	// What engine.Engine's committer writes through enginelog.
	standalone := []wal.Record{
		{Index: 1, Kind: wal.Kind(engine.KindCommand), Time: now, Data: payload},
		{Index: 2, Kind: wal.Kind(engine.KindNoop), Time: now + 1},
	}
	if err := s.WAL().Append(standalone...); err != nil {
		t.Fatal(err)
	}
	var got raft.Log
	if err := s.GetLog(1, &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != raft.LogCommand || got.Term != 0 || !bytes.Equal(got.Data, payload) || got.AppendedAt.UnixNano() != now {
		t.Fatalf("standalone command read as %+v", got)
	}
	if err := s.GetLog(2, &got); err != nil || got.Type != raft.LogNoop {
		t.Fatalf("standalone noop read as %+v, %v", got, err)
	}
	// Through Raft: the same bytes.
	if err := s.StoreLog(&raft.Log{Index: 3, Term: 2, Type: raft.LogCommand, Data: payload, AppendedAt: time.Unix(0, now+2)}); err != nil {
		t.Fatal(err)
	}
	rec, err := s.WAL().Get(3)
	if err != nil {
		t.Fatal(err)
	}
	want := wal.Record{Index: 3, Term: 2, Kind: wal.Kind(engine.KindCommand), Time: now + 2, Data: payload}
	if rec.Index != want.Index || rec.Term != want.Term || rec.Kind != want.Kind || rec.Time != want.Time || !bytes.Equal(rec.Data, want.Data) {
		t.Fatalf("raft command stored as %+v, want %+v", rec, want)
	}
	// A kind that is no Raft entry is an error, not a silent guess.
	if err := s.WAL().Append(wal.Record{Index: 4, Kind: 99}); err != nil {
		t.Fatal(err)
	}
	if err := s.GetLog(4, &got); !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("kind 99: %v", err)
	}
}

func TestLogStoreStoreErrors(t *testing.T) {
	s, _ := newStore(t, LogStoreOptions{})
	fill(t, s, 1, 10)
	for _, l := range []*raft.Log{
		{Index: 12, Type: raft.LogCommand},
		{Index: 10, Type: raft.LogCommand},
		{Index: 11, Type: raft.LogType(16)},
	} {
		if err := s.StoreLog(l); err == nil {
			t.Fatalf("StoreLog(%+v) succeeded", l)
		}
	}
	if err := s.StoreLogs([]*raft.Log{testLog(11), testLog(13)}); !errors.Is(err, wal.ErrOutOfOrder) {
		t.Fatalf("gap in batch: %v", err)
	}
	checkRange(t, s, 1, 10)
}

// TestLogStoreDeleteRange covers what Raft deletes: suffixes after a
// conflict, prefixes after a snapshot, everything after installing one.
func TestLogStoreDeleteRange(t *testing.T) {
	const n = 200
	cases := []struct {
		name       string
		keep       bool
		min, max   uint64
		wantErr    bool
		first      uint64 // 0: check only that FirstIndex is in [firstLo, min]
		firstLo    uint64
		last       uint64
		next       uint64 // the index StoreLog takes next
		prefixCase bool
	}{
		{name: "suffix", min: 150, max: n, first: 1, last: 149, next: 150},
		{name: "suffix past last", min: 150, max: n + 50, first: 1, last: 149, next: 150},
		{name: "last only", min: n, max: n, first: 1, last: n - 1, next: n},
		{name: "suffix mid-segment", min: 2, max: n, first: 1, last: 1, next: 2},
		{name: "prefix", min: 1, max: 100, firstLo: 90, last: n, next: n + 1, prefixCase: true},
		{name: "prefix from before first", min: 0, max: 100, firstLo: 90, last: n, next: n + 1, prefixCase: true},
		{name: "prefix keep", keep: true, min: 1, max: 100, first: 1, last: n, next: n + 1},
		{name: "whole log", min: 1, max: n, first: 0, last: 0, next: 5000},
		{name: "whole log keep", keep: true, min: 1, max: n, first: 0, last: 0, next: 5000},
		{name: "whole log wider", min: 0, max: n + 10, first: 0, last: 0, next: 1},
		{name: "middle", min: 50, max: 60, wantErr: true, first: 1, last: n, next: n + 1},
		{name: "after last", min: n + 1, max: n + 10, first: 1, last: n, next: n + 1},
		{name: "empty range", min: 10, max: 9, first: 1, last: n, next: n + 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, dir := newStore(t, LogStoreOptions{KeepPrefix: c.keep})
			fill(t, s, 1, n)
			err := s.DeleteRange(c.min, c.max)
			if (err != nil) != c.wantErr {
				t.Fatalf("DeleteRange(%d, %d): %v", c.min, c.max, err)
			}
			check := func(s *LogStore) {
				if c.prefixCase {
					first, last := indexes(t, s)
					if first < c.firstLo || first > c.max+1 || last != c.last {
						t.Fatalf("after prefix deletion the log is [%d, %d], want first in [%d, %d], last %d", first, last, c.firstLo, c.max+1, c.last)
					}
					checkRange(t, s, first, last)
					return
				}
				checkRange(t, s, c.first, c.last)
			}
			check(s)
			// Durable: the same after a restart.
			s.WAL().Close()
			l := openWAL(t, dir)
			defer l.Close()
			s = NewLogStore(l, LogStoreOptions{KeepPrefix: c.keep})
			check(s)
			fill(t, s, c.next, c.next+20)
			first, last := indexes(t, s)
			if last != c.next+20 {
				t.Fatalf("after appending: last %d", last)
			}
			checkRange(t, s, first, last)
		})
	}
}

// TestLogStoreCompressedSegments reads entries back from zstd-compressed
// sealed segments, and deletes around them.
func TestLogStoreCompressedSegments(t *testing.T) {
	s, _ := newStore(t, LogStoreOptions{})
	fill(t, s, 1, 300)
	deadline := time.Now().Add(10 * time.Second)
	for s.WAL().Stats().CompressedSegments < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("segments not compressed: %+v", s.WAL().Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	checkRange(t, s, 1, 300)
	// A suffix cut inside a compressed segment rewrites it raw.
	if err := s.DeleteRange(40, 300); err != nil {
		t.Fatal(err)
	}
	checkRange(t, s, 1, 39)
	fill(t, s, 40, 80)
	checkRange(t, s, 1, 80)
}

// TestLogStoreRestart checks that what StoreLogs acknowledged survives a
// close and reopen, and that appends continue.
func TestLogStoreRestart(t *testing.T) {
	dir := t.TempDir()
	l := openWAL(t, dir)
	s := NewLogStore(l, LogStoreOptions{})
	fill(t, s, 1, 120)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for round := uint64(0); round < 3; round++ {
		l = openWAL(t, dir)
		s = NewLogStore(l, LogStoreOptions{})
		checkRange(t, s, 1, 120+round*10)
		fill(t, s, 121+round*10, 130+round*10)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzLogRoundTrip checks that every entry the store accepts reads back the
// same.
func FuzzLogRoundTrip(f *testing.F) {
	f.Add(uint8(0), []byte("data"), []byte(nil), int64(0))
	f.Add(uint8(5), []byte{}, []byte("ext"), int64(1700000000123456789))
	f.Add(uint8(1), []byte(nil), []byte{0x80, 0x80}, int64(-5))
	f.Fuzz(func(t *testing.T, typ uint8, data, ext []byte, ns int64) {
		l := &raft.Log{Index: 7, Term: 3, Type: raft.LogType(typ), Data: data, Extensions: ext, AppendedAt: timeFromWAL(ns)}
		rec, err := encodeLog(l)
		if typ > maxRaftType {
			if err == nil {
				t.Fatal("type out of range accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var got raft.Log
		if err := decodeLog(rec, &got); err != nil {
			t.Fatal(err)
		}
		if !sameLog(&got, l) {
			t.Fatalf("got %+v, want %+v", got, *l)
		}
		// Any payload under KindExtended decodes or fails cleanly.
		_ = decodeLog(wal.Record{Index: 1, Kind: KindExtended, Data: data}, &got)
	})
}

// TestLogStoreConcurrentCompaction runs Raft's compaction (prefix deletions,
// from its snapshot goroutine) against appends and reads, as Raft does: no
// appended entry may be lost and the log stays contiguous.
func TestLogStoreConcurrentCompaction(t *testing.T) {
	s, _ := newStore(t, LogStoreOptions{})
	const n = 1500
	done := make(chan struct{})
	errc := make(chan error, 2)
	go func() {
		defer close(done)
		var batch []*raft.Log
		for i := uint64(1); i <= n; i++ {
			batch = append(batch, testLog(i))
			if len(batch) == 16 || i == n {
				if err := s.StoreLogs(batch); err != nil {
					errc <- err
					return
				}
				batch = batch[:0]
			}
		}
		errc <- nil
	}()
	go func() {
		for {
			select {
			case <-done:
				errc <- nil
				return
			default:
			}
			first, last := s.WAL().FirstIndex(), s.WAL().LastIndex()
			if last > 100 {
				if err := s.DeleteRange(first, last-100); err != nil {
					errc <- err
					return
				}
			}
			if first, _ := s.FirstIndex(); first > 0 {
				var l raft.Log
				if err := s.GetLog(first+50, &l); err != nil && err != raft.ErrLogNotFound {
					errc <- err
					return
				}
			}
		}
	}()
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	first, last := indexes(t, s)
	if last != n || first == 0 || first > n-100 {
		t.Fatalf("log [%d, %d] after concurrent compaction", first, last)
	}
	checkRange(t, s, first, last)
}

// BenchmarkStoreLogs measures StoreLogs with Raft's default batch of 64
// entries of 100 bytes: one write and one fdatasync per batch.
func BenchmarkStoreLogs(b *testing.B) {
	s, _ := newStore(b, LogStoreOptions{})
	batch := make([]*raft.Log, 64)
	data := bytes.Repeat([]byte{'v'}, 100)
	next := uint64(1)
	b.SetBytes(int64(len(batch) * len(data)))
	for b.Loop() {
		for i := range batch {
			batch[i] = &raft.Log{Index: next, Term: 1, Type: raft.LogCommand, Data: data, AppendedAt: time.Now()}
			next++
		}
		if err := s.StoreLogs(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "entries/s")
}
