// Command memimg is the operator tool of memimg: it reads a data directory,
// with or without a running server.
//
//	memimg wal dump [--from N] [--limit N] DIR   print the log's entries, one per line
//	memimg wal verify DIR                        check every record and payload of the log
//	memimg snapshot info DIR                     describe the newest snapshot and the log after it
//	memimg verify [--databases N] DIR            compare a full replay of the log with snapshot + log tail
//	memimg backup DIR DEST                       copy the snapshot and the log, consistently, into DEST
//
// DIR is the server's data directory (its --dir); the log is DIR/wal and the
// snapshot store DIR/snapshot. The wal commands open the log read-only and
// never change a file. The snapshot commands open the store for the time
// they need it, waiting while the server writes a snapshot (and the server's
// next snapshot waits for them): all are safe beside a live server.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  memimg wal dump [--from N] [--limit N] DIR   print the log's entries, one per line
  memimg wal verify DIR                        check every record and payload of the log
  memimg snapshot info DIR                     describe the newest snapshot and the log after it
  memimg verify [--databases N] DIR            compare a full replay of the log with snapshot + log tail
  memimg backup DIR DEST                       copy the snapshot and the log, consistently, into DEST
`

// errUsage means the command line was wrong; usage has been printed.
var errUsage = errors.New("memimg: usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var err error
	switch {
	case args[0] == "wal" && args[1] == "dump":
		err = walDump(args[2:], stdout, stderr, logger)
	case args[0] == "wal" && args[1] == "verify":
		err = walVerify(args[2:], stdout, stderr, logger)
	case args[0] == "snapshot" && args[1] == "info":
		err = snapshotInfo(args[2:], stdout, stderr, logger)
	case args[0] == "verify":
		err = verify(args[1:], stdout, stderr, logger)
	case args[0] == "backup":
		err = backup(args[1:], stdout, stderr, logger)
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// newFlags returns a flag set that prints the tool's usage on error.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	return fs
}
