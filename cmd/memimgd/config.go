package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/protocol"
	"github.com/memimg/memimg/snapshot"
)

// DefaultSave is Redis's default save points: after an hour if one write,
// 5 minutes if 100, a minute if 10000.
const DefaultSave = "3600 1 300 100 60 10000"

// Config is the daemon's configuration in Redis's spelling: each field holds
// the text of one directive, as given in the config file or on the command
// line. Validate checks them all; settings turns them into typed values.
type Config struct {
	File            string // the config file, "" if none
	Port            string
	Bind            string
	Dir             string
	AppendFsync     string
	AppendOnly      string
	RequirePass     string
	Databases       string
	ProtoMaxBulkLen string
	LogLevel        string
	LogFile         string
	Save            string
	MaxMemory       string
	WALRetain       string
	// SnapshotWriteCPU is snapshot-write-cpu: the share of one core a
	// snapshot's writer takes at most.
	SnapshotWriteCPU string
	// NotifyKeyspaceEvents is notify-keyspace-events: the classes of
	// keyspace notifications to publish ("" for none, "KEA" for all).
	NotifyKeyspaceEvents string

	// Cluster (replication through Raft): see docs/operations.md.
	ClusterNodeID       string
	ClusterAddr         string
	ClusterBootstrap    string // yes | no
	ClusterJoin         string // a member's client address
	ClusterNonvoter     string // yes | no
	ClusterForwardWrite string // yes | no
	ClusterJoinTimeout  string // a duration; 0 retries for ever
	ClusterCompact      string // entries; 0 keeps the whole log
	ClusterCommitDelay  string // a duration; 0 never waits
	ClusterCommitSibs   string // writes
}

// DefaultConfig returns the defaults: Redis's where memimg has the same
// directive (save points included), with fsync on every write, and the
// whole log kept.
func DefaultConfig() Config {
	return Config{
		Port:             "6379",
		Bind:             "127.0.0.1",
		Dir:              "./memimg-data",
		AppendFsync:      "always",
		AppendOnly:       "yes",
		Databases:        "16",
		ProtoMaxBulkLen:  "512mb",
		LogLevel:         "notice",
		Save:             DefaultSave,
		MaxMemory:        "0",
		WALRetain:        "all",
		SnapshotWriteCPU: "0.3",

		ClusterBootstrap:    "no",
		ClusterNonvoter:     "no",
		ClusterForwardWrite: "yes",
		ClusterJoinTimeout:  "60s",
		ClusterCompact:      "0",
		ClusterCommitDelay:  "150us",
		ClusterCommitSibs:   "8",
	}
}

// directive is one configuration setting, usable as a config file line and
// as a --flag.
type directive struct {
	name  string
	field func(*Config) *string
	usage string
	flag  bool // a yes/no setting that may be given as a bare --flag
}

var directives = []directive{
	{"port", func(c *Config) *string { return &c.Port }, "TCP port to listen on; 0 chooses a free port (default 6379)", false},
	{"bind", func(c *Config) *string { return &c.Bind }, "address to listen on (default 127.0.0.1)", false},
	{"dir", func(c *Config) *string { return &c.Dir }, "data directory; the log is DIR/wal (default ./memimg-data)", false},
	{"appendfsync", func(c *Config) *string { return &c.AppendFsync }, "always | everysec | no: when the log is fsynced (default always)", false},
	{"appendonly", func(c *Config) *string { return &c.AppendOnly }, "yes: memimg always logs every write (default yes)", false},
	{"requirepass", func(c *Config) *string { return &c.RequirePass }, "password clients must AUTH with (default none)", false},
	{"databases", func(c *Config) *string { return &c.Databases }, "number of databases, SELECT 0..N-1 (default 16)", false},
	{"proto-max-bulk-len", func(c *Config) *string { return &c.ProtoMaxBulkLen }, "largest bulk string a client may send, e.g. 512mb, 1gb (default 512mb)", false},
	{"loglevel", func(c *Config) *string { return &c.LogLevel }, "debug | verbose | notice | warning | nothing (default notice)", false},
	{"logfile", func(c *Config) *string { return &c.LogFile }, "log file; empty logs to stderr (default \"\")", false},
	{"save", func(c *Config) *string { return &c.Save }, "snapshot points \"<seconds> <changes> ...\"; \"\" for none (default \"" + DefaultSave + "\")", false},
	{"maxmemory", func(c *Config) *string { return &c.MaxMemory }, "0 only: the whole data set lives in memory (default 0)", false},
	{"wal-retain", func(c *Config) *string { return &c.WALRetain }, "all | snapshot | <duration> | <size>: which log segments a snapshot lets go (default all: keep the whole log)", false},
	{"notify-keyspace-events", func(c *Config) *string { return &c.NotifyKeyspaceEvents }, "keyspace notifications to publish, Redis's classes, e.g. KEA (default \"\": none)", false},
	{"snapshot-write-cpu", func(c *Config) *string { return &c.SnapshotWriteCPU }, "share of one core a snapshot's writer takes at most, 0.05..1: lower means less stall for the clients and a longer snapshot (default 0.3)", false},
	{"cluster-node-id", func(c *Config) *string { return &c.ClusterNodeID }, "this node's id in a cluster; with --cluster-addr it runs in a cluster (default \"\": standalone)", false},
	{"cluster-addr", func(c *Config) *string { return &c.ClusterAddr }, "host:port of this node's Raft transport, as the other members reach it", false},
	{"cluster-bootstrap", func(c *Config) *string { return &c.ClusterBootstrap }, "start a new cluster with this node as its first member (keeps a standalone node's data)", true},
	{"cluster-join", func(c *Config) *string { return &c.ClusterJoin }, "host:port (client port) of a member of the cluster to join", false},
	{"cluster-nonvoter", func(c *Config) *string { return &c.ClusterNonvoter }, "join as a non-voting member (a read replica)", true},
	{"cluster-compact-entries", func(c *Config) *string { return &c.ClusterCompact }, "N > 0: Raft snapshots every N entries and deletes the log before the last N; a follower further behind receives the snapshot (default 0: keep the whole log)", false},
	{"cluster-forward-writes", func(c *Config) *string { return &c.ClusterForwardWrite }, "yes: a follower sends writes to the leader; no: answer -READONLY (default yes)", false},
	{"cluster-join-timeout", func(c *Config) *string { return &c.ClusterJoinTimeout }, "how long a new node tries to reach --cluster-join before it gives up and exits 1; 0 tries for ever (default 60s)", false},
	{"cluster-commit-delay", func(c *Config) *string { return &c.ClusterCommitDelay }, "under load (see --cluster-commit-siblings) the leader waits up to this long for the next group of writes to grow before it replicates it, as PostgreSQL's commit_delay; 0 never waits (default 150us)", false},
	{"cluster-commit-siblings", func(c *Config) *string { return &c.ClusterCommitSibs }, "the leader waits (--cluster-commit-delay) only after a group of at least this many writes, as PostgreSQL's commit_siblings (default 8)", false},
}

func findDirective(name string) *directive {
	for i := range directives {
		if directives[i].name == name {
			return &directives[i]
		}
	}
	return nil
}

const usageHead = `usage: memimgd [/path/to/memimg.conf] [--option value ...]

The config file, if given, comes first and uses redis.conf syntax
("port 6380", "dir /var/lib/memimg", # comments, quoted values).
Options on the command line override the file. Options:
`

func printUsage(w io.Writer) {
	fmt.Fprint(w, usageHead)
	for _, d := range directives {
		fmt.Fprintf(w, "  --%-20s %s\n", d.name, d.usage)
	}
}

// errUsage means the command line was wrong; the usage has been printed.
var errUsage = errors.New("memimgd: usage")

// parseArgs builds the configuration from the command line: defaults, then
// the config file (the first argument if it is not an option), then the
// options. A file's problems are returned with file:line; -h returns
// flag.ErrHelp.
func parseArgs(args []string, stderr io.Writer) (Config, error) {
	cfg := DefaultConfig()
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cfg.File = args[0]
		args = args[1:]
		if err := cfg.loadFile(cfg.File); err != nil {
			return cfg, err
		}
	}
	fs := flag.NewFlagSet("memimgd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { printUsage(stderr) }
	for _, d := range directives {
		p := d.field(&cfg)
		if d.flag {
			fs.BoolFunc(d.name, d.usage, func(v string) error {
				switch strings.ToLower(v) {
				case "true", "yes", "1":
					*p = "yes"
				case "false", "no", "0":
					*p = "no"
				default:
					return fmt.Errorf("yes or no, got %q", v)
				}
				return nil
			})
			continue
		}
		fs.Func(d.name, d.usage, func(v string) error { *p = v; return nil })
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "memimgd: unexpected argument %q (the config file must come first)\n", fs.Arg(0))
		printUsage(stderr)
		return cfg, errUsage
	}
	return cfg, nil
}

// loadFile reads a redis.conf-style file into c: one directive per line,
// its name then its arguments, separated by spaces; arguments may be quoted
// ("a b", 'a b', with \n, \t, \xHH escapes in double quotes); lines starting
// with # are comments. Every problem is reported, each with file:line.
func (c *Config) loadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("memimgd: config file: %w", err)
	}
	defer f.Close()
	var errs []error
	saves := 0 // save lines seen: the first replaces the default, later ones add
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		fail := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, a...)))
		}
		args, err := splitArgs(text)
		if err != nil {
			fail("%v", err)
			continue
		}
		if len(args) == 0 {
			continue
		}
		name := strings.ToLower(args[0])
		d := findDirective(name)
		if d == nil {
			fail("unknown directive %q", args[0])
			continue
		}
		if name == "save" && len(args) >= 2 {
			v := strings.TrimSpace(strings.Join(args[1:], " "))
			if saves == 0 || v == "" || c.Save == "" {
				c.Save = v
			} else {
				c.Save += " " + v
			}
			saves++
			continue
		}
		if len(args) != 2 {
			if name == "bind" && len(args) > 2 {
				fail("bind: memimgd listens on one address, got %d", len(args)-1)
			} else {
				fail("%s takes one argument, got %d", name, len(args)-1)
			}
			continue
		}
		*d.field(c) = args[1]
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("memimgd: config file %s: %w", path, err))
	}
	return errors.Join(errs...)
}

// splitArgs splits a config line as Redis's sdssplitargs does.
func splitArgs(line string) ([]string, error) {
	var args []string
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) {
			return args, nil
		}
		var cur []byte
		switch line[i] {
		case '"':
			i++
			for {
				if i >= len(line) {
					return nil, errors.New("unbalanced quotes")
				}
				ch := line[i]
				if ch == '"' {
					i++
					break
				}
				if ch == '\\' && i+1 < len(line) {
					i++
					switch e := line[i]; e {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					case 'x':
						if i+2 < len(line) {
							if v, err := strconv.ParseUint(line[i+1:i+3], 16, 8); err == nil {
								cur = append(cur, byte(v))
								i += 2
								break
							}
						}
						cur = append(cur, 'x')
					default:
						cur = append(cur, e)
					}
					i++
					continue
				}
				cur = append(cur, ch)
				i++
			}
		case '\'':
			i++
			for {
				if i >= len(line) {
					return nil, errors.New("unbalanced quotes")
				}
				ch := line[i]
				if ch == '\'' {
					i++
					break
				}
				if ch == '\\' && i+1 < len(line) && line[i+1] == '\'' {
					i++
					ch = '\''
				}
				cur = append(cur, ch)
				i++
			}
		default:
			for i < len(line) && line[i] != ' ' && line[i] != '\t' {
				cur = append(cur, line[i])
				i++
			}
			args = append(args, string(cur))
			continue
		}
		if i < len(line) && line[i] != ' ' && line[i] != '\t' {
			return nil, errors.New("closing quote must be followed by a space")
		}
		args = append(args, string(cur))
	}
}

// settings are a validated Config in typed form.
type settings struct {
	port            int
	bind            string
	dir             string
	fsync           engine.FsyncMode
	requirePass     string
	databases       int
	protoMaxBulkLen int64
	logLevel        slog.Level
	logFile         string
	saveRules       []snapshot.Rule
	retain          retainPolicy
	notifyEvents    string // notify-keyspace-events, validated
	cluster         clusterSettings
	snapshotCPU     float64
}

// clusterSettings are the cluster directives, validated; zero standalone.
type clusterSettings struct {
	nodeID, addr, join  string
	bootstrap, nonvoter bool
	forward             bool
	compact             uint64
	joinTimeout         time.Duration // 0: for ever
	commitDelay         time.Duration // 0: never waits
	commitSiblings      int
}

// enabled reports whether the node runs in a cluster.
func (c clusterSettings) enabled() bool { return c.nodeID != "" }

// Log levels: Redis's four, mapped onto slog's (verbose sits between debug
// and info).
var logLevels = map[string]slog.Level{
	"debug":   slog.LevelDebug,
	"verbose": slog.LevelDebug + 2,
	"notice":  slog.LevelInfo,
	"warning": slog.LevelWarn,
	"nothing": slog.LevelError + 100,
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	_, err := c.settings()
	return err
}

func (c Config) settings() (settings, error) {
	var s settings
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("memimgd: "+format, a...)) }

	if p, err := strconv.Atoi(c.Port); err != nil || p < 0 || p > 65535 {
		bad("port must be 0..65535, got %q", c.Port)
	} else {
		s.port = p
	}
	if s.bind = strings.TrimSpace(c.Bind); s.bind == "" || strings.ContainsAny(s.bind, " \t") {
		bad("bind must be one address, got %q", c.Bind)
	}
	if s.dir = c.Dir; s.dir == "" {
		bad("dir must not be empty")
	}
	if m, err := engine.ParseFsyncMode(strings.ToLower(c.AppendFsync)); err != nil {
		bad("appendfsync must be always, everysec or no, got %q", c.AppendFsync)
	} else {
		s.fsync = m
	}
	if !strings.EqualFold(c.AppendOnly, "yes") {
		bad("appendonly must be yes: memimg's log is its storage, got %q", c.AppendOnly)
	}
	s.requirePass = c.RequirePass
	if n, err := strconv.Atoi(c.Databases); err != nil || n < 1 || n > 1<<16 {
		bad("databases must be 1..65536, got %q", c.Databases)
	} else {
		s.databases = n
	}
	if n, err := protocol.ParseMemory(c.ProtoMaxBulkLen); err != nil {
		bad("proto-max-bulk-len: %v", err)
	} else if n < protocol.MinProtoMaxBulkLen {
		bad("proto-max-bulk-len must be at least 1mb, got %q", c.ProtoMaxBulkLen)
	} else {
		s.protoMaxBulkLen = n
	}
	if l, ok := logLevels[strings.ToLower(c.LogLevel)]; !ok {
		bad("loglevel must be debug, verbose, notice, warning or nothing, got %q", c.LogLevel)
	} else {
		s.logLevel = l
	}
	s.logFile = c.LogFile
	if r, err := snapshot.ParseRules(c.Save); err != nil {
		bad("save must be pairs of <seconds> <changes> (or \"\"), got %q", c.Save)
	} else {
		s.saveRules = r
	}
	if p, err := parseRetain(c.WALRetain); err != nil {
		bad("wal-retain: %v", err)
	} else {
		s.retain = p
	}
	if _, err := engine.ParseKeyspaceEvents(c.NotifyKeyspaceEvents); err != nil {
		bad("notify-keyspace-events: %v, got %q", err, c.NotifyKeyspaceEvents)
	} else {
		s.notifyEvents = c.NotifyKeyspaceEvents
	}
	if v, err := strconv.ParseFloat(c.SnapshotWriteCPU, 64); err != nil || v < 0.05 || v > 1 {
		bad("snapshot-write-cpu must be a share of one core from 0.05 to 1, got %q", c.SnapshotWriteCPU)
	} else {
		s.snapshotCPU = v
	}
	yesNo := func(name, v string) bool {
		switch strings.ToLower(v) {
		case "yes":
			return true
		case "no", "":
			return false
		}
		bad("%s must be yes or no, got %q", name, v)
		return false
	}
	cs := &s.cluster
	cs.nodeID, cs.addr, cs.join = c.ClusterNodeID, c.ClusterAddr, c.ClusterJoin
	cs.bootstrap = yesNo("cluster-bootstrap", c.ClusterBootstrap)
	cs.nonvoter = yesNo("cluster-nonvoter", c.ClusterNonvoter)
	cs.forward = yesNo("cluster-forward-writes", c.ClusterForwardWrite)
	if d, err := time.ParseDuration(c.ClusterJoinTimeout); err != nil || d < 0 {
		bad("cluster-join-timeout must be a duration such as 60s, or 0, got %q", c.ClusterJoinTimeout)
	} else {
		cs.joinTimeout = d
	}
	if d, err := time.ParseDuration(c.ClusterCommitDelay); err != nil || d < 0 || d > time.Second {
		bad("cluster-commit-delay must be a duration from 0 to 1s such as 150us, got %q", c.ClusterCommitDelay)
	} else {
		cs.commitDelay = d
	}
	if v, err := strconv.Atoi(c.ClusterCommitSibs); err != nil || v < 1 {
		bad("cluster-commit-siblings must be a count of writes, at least 1, got %q", c.ClusterCommitSibs)
	} else {
		cs.commitSiblings = v
	}
	if v, err := strconv.ParseUint(c.ClusterCompact, 10, 64); err != nil {
		bad("cluster-compact-entries must be a count of entries, got %q", c.ClusterCompact)
	} else {
		cs.compact = v
	}
	switch {
	case cs.nodeID == "" && (cs.addr != "" || cs.join != "" || cs.bootstrap || cs.nonvoter):
		bad("cluster-addr, cluster-join, cluster-bootstrap and cluster-nonvoter need cluster-node-id")
	case cs.nodeID != "":
		if strings.ContainsAny(cs.nodeID, " \t\r\n") {
			bad("cluster-node-id must not contain spaces, got %q", cs.nodeID)
		}
		if _, _, err := net.SplitHostPort(cs.addr); err != nil || cs.addr == "" {
			bad("cluster-addr must be host:port, got %q", cs.addr)
		}
		if cs.join != "" {
			if _, _, err := net.SplitHostPort(cs.join); err != nil {
				bad("cluster-join must be host:port, got %q", cs.join)
			}
		}
		if cs.bootstrap && cs.join != "" {
			bad("cluster-bootstrap and cluster-join exclude each other: bootstrap the first node, join the others")
		}
		if cs.bootstrap && cs.nonvoter {
			bad("the bootstrapping node must be a voter")
		}
		if s.retain.kind != "all" {
			bad("wal-retain must be all in a cluster: Raft owns the log")
		}
	}
	if n, err := protocol.ParseMemory(c.MaxMemory); err != nil || n != 0 {
		bad("maxmemory: memimg keeps the whole data set in memory; only 0 is accepted, got %q", c.MaxMemory)
	}
	return s, errors.Join(errs...)
}
