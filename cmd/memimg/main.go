// Command memimg is the operator tool of memimg: it reads a data directory
// without a running server.
//
//	memimg wal dump [--from N] [--limit N] DIR   print the log's entries, one per line
//	memimg wal verify DIR                        check every record and payload of the log
//
// DIR is the server's data directory (its --dir); the log is DIR/wal. Both
// commands open the log read-only: they never change a file, so they are safe
// to run beside a live server.
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
`

// errUsage means the command line was wrong; usage has been printed.
var errUsage = errors.New("memimg: usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "wal" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var err error
	switch args[1] {
	case "dump":
		err = walDump(args[2:], stdout, stderr, logger)
	case "verify":
		err = walVerify(args[2:], stdout, stderr, logger)
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
