package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
	"github.com/memimg/memimg/wal"
)

// writeLog makes DIR/wal with the given commands, one entry each.
func writeLog(t *testing.T, cmds ...[]string) string {
	t.Helper()
	dir := t.TempDir()
	l, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal")})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cmds {
		var argv [][]byte
		for _, a := range c {
			argv = append(argv, []byte(a))
		}
		rec := wal.Record{Index: uint64(i + 1), Kind: wal.Kind(engine.KindCommand), Time: int64(i) * 1e9,
			Data: schema.EncodeCommand(nil, 0, argv)}
		if err := l.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWalDump(t *testing.T) {
	sub := func(db int, args ...string) string {
		var argv [][]byte
		for _, a := range args {
			argv = append(argv, []byte(a))
		}
		return string(schema.EncodeCommand(nil, db, argv))
	}
	tx := []string{"memimg.exec", string(schema.EncodeTxWatches(nil, nil)), sub(0, "SET", "t", "1")}
	batch := []string{"memimg.batch", sub(0, "SET", "x", "1"), sub(2, "INCR", "y"), sub(0, tx...)}
	dir := writeLog(t, []string{"SET", "k", "hello world"}, []string{"incr", "n"}, []string{"set", "b", "\x00\n"}, batch)
	tests := []struct {
		args []string
		want []string // lines, prefix-matched after the time field is dropped
	}{
		{[]string{"wal", "dump", dir}, []string{`1 db=0 set k "hello world"`, `2 db=0 incr n`, `3 db=0 set b "\x00\n"`,
			`4 db=0 memimg.batch [db=0 set x 1] [db=2 incr y] [db=0 memimg.exec watches=0 [db=0 set t 1]]`}},
		{[]string{"wal", "dump", "--from", "2", "--limit", "2", dir}, []string{`2 db=0 incr n`, `3 db=0 set b "\x00\n"`}},
		{[]string{"wal", "dump", "--from", "2", "--limit", "1", dir}, []string{`2 db=0 incr n`}},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		if code := run(tt.args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, code, errb.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != len(tt.want) {
			t.Fatalf("%v: %d lines, want %d:\n%s", tt.args, len(lines), len(tt.want), out.String())
		}
		for i, l := range lines {
			f := strings.Fields(l)
			got := f[0] + " " + strings.Join(f[3:], " ") // drop term= and time=
			if got != tt.want[i] {
				t.Errorf("%v line %d = %q, want %q", tt.args, i, got, tt.want[i])
			}
		}
	}
}

func TestWalVerify(t *testing.T) {
	dir := writeLog(t, []string{"set", "k", "v"}, []string{"del", "k"})
	var out, errb bytes.Buffer
	if code := run([]string{"wal", "verify", dir}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "ok: 2 entries") {
		t.Fatalf("verify: exit %d, out %q, err %q", code, out.String(), errb.String())
	}
	// An unknown command in the log is a verification failure.
	bad := writeLog(t, []string{"set", "k", "v"}, []string{"nosuchcommand", "x"})
	out.Reset()
	errb.Reset()
	if code := run([]string{"wal", "verify", bad}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "entry 2") {
		t.Fatalf("verify of a bad log: exit %d, err %q", code, errb.String())
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"wal"}, {"wal", "nope"}, {"wal", "dump"}, {"wal", "dump", "--bogus", "x"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
