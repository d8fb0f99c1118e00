package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/memimg/memimg/engine"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "memimg.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseArgsFileAndFlags(t *testing.T) {
	file := writeFile(t, `# a comment
port 7000
  dir "/var/lib/memimg data"
appendfsync everysec
requirepass 'p a\'ss'
databases 4

proto-max-bulk-len 64mb
LOGLEVEL warning
save ""
`)
	var stderr bytes.Buffer
	cfg, err := parseArgs([]string{file, "--port", "7001", "--databases=8"}, &stderr)
	if err != nil {
		t.Fatalf("parseArgs: %v\n%s", err, stderr.String())
	}
	set, err := cfg.settings()
	if err != nil {
		t.Fatal(err)
	}
	want := settings{port: 7001, bind: "127.0.0.1", dir: "/var/lib/memimg data", fsync: engine.FsyncEverySec,
		requirePass: "p a'ss", databases: 8, protoMaxBulkLen: 64 << 20, logLevel: logLevels["warning"],
		retain: retainPolicy{kind: "all", text: "all"}, cluster: clusterSettings{forward: true, joinTimeout: time.Minute, commitDelay: 150 * time.Microsecond, commitSiblings: 8}, snapshotCPU: 0.3}
	if !reflect.DeepEqual(set, want) {
		t.Errorf("settings:\n got %+v\nwant %+v", set, want)
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want error
	}{
		{"unknown flag", []string{"--nosuch", "1"}, errUsage},
		{"extra argument", []string{"--port", "1", "extra"}, errUsage},
		{"help", []string{"-h"}, flag.ErrHelp},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		_, err := parseArgs(tt.args, &stderr)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
		if !strings.Contains(stderr.String(), "--proto-max-bulk-len") {
			t.Errorf("%s: no usage printed:\n%s", tt.name, stderr.String())
		}
	}
}

func TestConfigFileErrors(t *testing.T) {
	file := writeFile(t, "port 6380\nnosuch-directive yes\nbind 127.0.0.1 ::1\ndir \"unbalanced\nport\n")
	_, err := parseArgs([]string{file}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		file + `:2: unknown directive "nosuch-directive"`,
		file + ":3: bind: memimgd listens on one address",
		file + ":4: unbalanced quotes",
		file + ":5: port takes one argument, got 0",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := parseArgs([]string{"/nonexistent/memimg.conf"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

// Validate reports every problem at once.
func TestValidateAll(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Port = "70000"
	cfg.AppendFsync = "sometimes"
	cfg.Databases = "0"
	cfg.ProtoMaxBulkLen = "1kb"
	cfg.LogLevel = "loud"
	cfg.AppendOnly = "no"
	cfg.Save = "3600"
	cfg.MaxMemory = "1gb"
	cfg.Dir = ""
	cfg.NotifyKeyspaceEvents = "KEQ"
	cfg.ClusterJoinTimeout = "-1s"
	cfg.ClusterCommitDelay = "2s"
	cfg.ClusterCommitSibs = "0"
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"port", "appendfsync must be always, everysec or no", "databases", "proto-max-bulk-len",
		"loglevel", "appendonly", "save", "maxmemory", "dir", "notify-keyspace-events: Invalid event class character",
		"cluster-join-timeout must be a duration", "cluster-commit-delay must be a duration from 0 to 1s",
		"cluster-commit-siblings must be a count of writes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	ok := DefaultConfig()
	ok.NotifyKeyspaceEvents = "KEA"
	if set, err := ok.settings(); err != nil || set.notifyEvents != "KEA" {
		t.Errorf("notify-keyspace-events KEA: %q, %v", set.notifyEvents, err)
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"port 6379", []string{"port", "6379"}, false},
		{"  dir   /a/b  ", []string{"dir", "/a/b"}, false},
		{`requirepass "a b\n\x41"`, []string{"requirepass", "a b\nA"}, false},
		{`save ""`, []string{"save", ""}, false},
		{`x 'it\'s'`, []string{"x", "it's"}, false},
		{`x "open`, nil, true},
		{`x "a"b`, nil, true},
	}
	for _, tt := range tests {
		got, err := splitArgs(tt.in)
		if (err != nil) != tt.err || (!tt.err && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("splitArgs(%q) = %q, %v", tt.in, got, err)
		}
	}
}
