package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
	"github.com/memimg/memimg/wal"
)

// openLog opens DIR/wal read-only.
func openLog(dir string, logger *slog.Logger) (*wal.Log, error) {
	return wal.Open(wal.Options{Dir: filepath.Join(dir, "wal"), ReadOnly: true, Logger: logger})
}

func walDump(args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := newFlags("wal dump", stderr)
	from := fs.Uint64("from", 1, "first index to print")
	limit := fs.Uint64("limit", 0, "print at most this many entries (0: all)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	l, err := openLog(fs.Arg(0), logger)
	if err != nil {
		return err
	}
	defer l.Close()
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	var n uint64
	var argv [][]byte
	stop := fmt.Errorf("stop")
	err = l.ReadFrom(*from, func(r wal.Record) error {
		if *limit > 0 && n >= *limit {
			return stop
		}
		n++
		line := fmt.Sprintf("%d term=%d time=%s ", r.Index, r.Term,
			time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano))
		switch uint8(r.Kind) {
		case engine.KindCommand:
			db, a, err := schema.DecodeCommand(r.Data, argv)
			if err != nil {
				line += fmt.Sprintf("command <undecodable payload: %v>", err)
				break
			}
			argv = a
			line += fmt.Sprintf("db=%d", db) + describeArgs(a)
		case engine.KindNoop:
			line += "noop"
		default:
			line += fmt.Sprintf("kind=%d bytes=%d", r.Kind, len(r.Data))
		}
		_, err := fmt.Fprintln(w, line)
		return err
	})
	if err == stop {
		err = nil
	}
	return err
}

// quote prints an argument as redis-cli would accept it back: bare if it is
// plain printable text, double-quoted with escapes otherwise.
// describeArgs renders a command's arguments; the commands nested in a
// memimg.batch (several clients' writes) or a memimg.exec (a transaction,
// after its watches) are rendered each in brackets.
func describeArgs(a [][]byte) string {
	var nested [][]byte
	line := ""
	switch strings.ToLower(string(a[0])) {
	case "memimg.batch":
		line, nested = " memimg.batch", a[1:]
	case "memimg.exec":
		ws, err := schema.DecodeTxWatches(a[1], nil)
		if err != nil {
			break
		}
		line, nested = fmt.Sprintf(" memimg.exec watches=%d", len(ws)), a[2:]
	}
	if line == "" {
		for _, x := range a {
			line += " " + quote(x)
		}
		return line
	}
	for _, p := range nested {
		db, sub, err := schema.DecodeCommand(p, nil)
		if err != nil {
			line += fmt.Sprintf(" [<undecodable: %v>]", err)
			continue
		}
		line += fmt.Sprintf(" [db=%d%s]", db, describeArgs(sub))
	}
	return line
}

func quote(b []byte) string {
	if len(b) == 0 {
		return `""`
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '\\' {
			return strconv.Quote(string(b))
		}
	}
	return string(b)
}

func walVerify(args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := newFlags("wal verify", stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	l, err := openLog(fs.Arg(0), logger)
	if err != nil {
		return fmt.Errorf("memimg: wal verify: %w", err)
	}
	defer l.Close()
	if start := l.StartIndex(); start > 1 {
		return fmt.Errorf("memimg: wal verify: the log starts at index %d, not 1: earlier segments are missing or were deleted", start)
	}
	var n, commands uint64
	var prev uint64
	var argv [][]byte
	err = l.ReadFrom(l.FirstIndex(), func(r wal.Record) error {
		if prev != 0 && r.Index != prev+1 {
			return fmt.Errorf("memimg: wal verify: index %d follows %d", r.Index, prev)
		}
		prev = r.Index
		n++
		if uint8(r.Kind) == engine.KindCommand {
			commands++
			_, a, err := schema.DecodeCommand(r.Data, argv)
			if err != nil {
				return fmt.Errorf("memimg: wal verify: entry %d: %w", r.Index, err)
			}
			if schema.Lookup(a[0]) == nil {
				return fmt.Errorf("memimg: wal verify: entry %d: unknown command %q", r.Index, a[0])
			}
			argv = a
		}
		return nil
	})
	if err != nil {
		return err
	}
	st := l.Stats()
	if tt := l.TornTail(); tt != nil {
		fmt.Fprintf(stdout, "torn tail: segment %s offset %d (%d bytes) would be cut when the server next opens the log\n",
			tt.Segment, tt.Offset, tt.Size)
	}
	fmt.Fprintf(stdout, "ok: %d entries (%d commands), index %d..%d, %d segments, %d bytes on disk\n",
		n, commands, l.FirstIndex(), l.LastIndex(), st.Segments, st.DiskBytes)
	return nil
}
