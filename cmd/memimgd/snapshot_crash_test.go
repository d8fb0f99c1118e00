package main

// Crash tests of snapshots against real memimgd processes (memimgtest):
// kill -9 while a snapshot is being written (the writer held at a chosen
// point by MEMIMG_TEST_SNAPSHOT_HOOK, so the kill lands there: with the
// store just opened, in the middle of writing, just before the commit or
// the ingestion, just after it), right after a snapshot, during the
// start-up load of a snapshot and during the replay of the log after it
// (slowed down by MEMIMG_TEST_REPLAY_DELAY). After each restart every
// acknowledged write is there, and the server's MEMIMG.DIGEST equals the
// digest of a full replay of the log from index 1 (memimg verify, which
// also checks that the snapshot plus the log after it gives the same).

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memimg/memimg/memimgtest"
	"github.com/memimg/memimg/snapshot"
)

// snapWriters are clients writing unique keys (SET key crashValue(key))
// until halted, remembering the ones acknowledged.
type snapWriters struct {
	stop  atomic.Bool
	wg    sync.WaitGroup
	mu    sync.Mutex
	acked []string
}

func startSnapWriters(addr, prefix string, n int) *snapWriters {
	w := &snapWriters{}
	for id := range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			rdb := crashClient(addr)
			defer rdb.Close()
			for seq := 0; !w.stop.Load(); seq++ {
				k := fmt.Sprintf("%s:w%d:%06d", prefix, id, seq)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := rdb.Set(ctx, k, crashValue(k), 0).Err()
				cancel()
				if err != nil {
					return // killed (or refused): its outcome is unknown, and it is not counted
				}
				w.mu.Lock()
				w.acked = append(w.acked, k)
				w.mu.Unlock()
			}
		}()
	}
	return w
}

// halt stops the writers and returns the keys acknowledged.
func (w *snapWriters) halt() []string {
	w.stop.Store(true)
	w.wg.Wait()
	return w.acked
}

// snapPreload writes n keys prefix:NNNNNN with MSETs of 500 keys.
func snapPreload(t *testing.T, rdb *redis.Client, prefix string, n int) []string {
	t.Helper()
	keys := make([]string, 0, n)
	for i := 0; i < n; i += 500 {
		var kv []any
		for j := i; j < min(n, i+500); j++ {
			k := fmt.Sprintf("%s:%06d", prefix, j)
			keys = append(keys, k)
			kv = append(kv, k, crashValue(k))
		}
		if err := rdb.MSet(ctxT(t), kv...).Err(); err != nil {
			t.Fatalf("MSET: %v", err)
		}
	}
	return keys
}

// waitLog waits until the server's log has a line matching re after the
// first skip bytes, and returns the match's first group.
func waitLog(t *testing.T, srv *memimgtest.Server, re *regexp.Regexp, skip int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		log := srv.Log()
		if len(log) > skip {
			if m := re.FindStringSubmatch(log[skip:]); m != nil {
				if len(m) > 1 {
					return m[1]
				}
				return m[0]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line matching %s after %v; log:\n%s", re, timeout, log)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var (
	snapStartedRE = regexp.MustCompile(`msg="snapshot started".* index=(\d+)`)
	snapWrittenRE = regexp.MustCompile(`msg="snapshot written".* index=(\d+)`)
	snapLoadedRE  = regexp.MustCompile(`msg="snapshot loaded" index=(\d+)`)
	verifyRE      = regexp.MustCompile(`replay: +index 1\.\.(\d+) in \S+: digest ([0-9a-f]{32})`)
	verifySnapRE  = regexp.MustCompile(`snapshot: +index \d+.*digest ([0-9a-f]{32}) at index (\d+)`)
)

// next is the decimal index after s.
func next(s string) string {
	n, _ := strconv.ParseUint(s, 10, 64)
	return strconv.FormatUint(n+1, 10)
}

func hookLine(point string) *regexp.Regexp {
	return regexp.MustCompile(`msg="snapshot test hook" point=` + point + `\b`)
}

// digestOf asks the server for MEMIMG.DIGEST.
func digestOf(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	d, err := rdb.Do(ctxT(t), "memimg.digest").Text()
	if err != nil {
		t.Fatalf("MEMIMG.DIGEST: %v", err)
	}
	return d
}

// memimgVerify runs `memimg verify dir`, fails the test unless it exits 0,
// and returns its output.
func memimgVerify(t *testing.T, tool, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, "verify", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("memimg verify %s: %v\n%s", dir, err, out.String())
	}
	return out.String()
}

// checkRecovered checks a restarted server: every key of acked holds its
// crashValue, and its digest equals a full replay's (with the server
// stopped, so that nothing changes in between). It stops srv.
func checkRecovered(t *testing.T, srv *memimgtest.Server, tool string, acked []string) {
	t.Helper()
	rdb := srv.Client()
	for i := 0; i < len(acked); i += 1000 {
		checkKeys(t, rdb, acked[i:min(len(acked), i+1000)], nil)
		if t.Failed() {
			t.FailNow()
		}
	}
	d := digestOf(t, rdb)
	applied := infoField(t, rdb, "memimg_applied_index")
	srv.Stop()
	out := memimgVerify(t, tool, srv.Dir)
	m := verifyRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("memimg verify did no full replay:\n%s", out)
	}
	if m[1] != applied || m[2] != d {
		t.Fatalf("server: digest %s at index %s; full replay: %s at %s\n%s", d, applied, m[2], m[1], out)
	}
	if !strings.Contains(out, "OK") {
		t.Fatalf("memimg verify:\n%s", out)
	}
}

// infoField returns one field of INFO persistence.
func infoField(t *testing.T, rdb *redis.Client, name string) string {
	t.Helper()
	return infoSectionField(t, rdb, "persistence", name)
}

// infoSectionField returns a field of an INFO section.
func infoSectionField(t *testing.T, rdb *redis.Client, section, name string) string {
	t.Helper()
	info, err := rdb.Info(ctxT(t), section).Result()
	if err != nil {
		t.Fatalf("INFO: %v", err)
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s:\n%s", section, name, info)
	return ""
}

// TestSnapshotCrashDuringWrite kills the server while a full or an
// incremental snapshot is being written, at each point of the write, with
// clients writing all along, and right after a snapshot.
func TestSnapshotCrashDuringWrite(t *testing.T) {
	needCommands(t, "set", "mset", "mget", "memimg.digest")
	tool := buildMemimg(t)
	for _, kind := range []string{"full", "incremental"} {
		for _, point := range []string{"open", "write", "commit", "committed", "after"} {
			if testing.Short() && point != "write" && point != "committed" {
				continue // -short: mid-write and just after the commit
			}
			t.Run(kind+"/"+point, func(t *testing.T) {
				dir := t.TempDir()
				var acked []string
				prevIndex := ""
				if kind == "incremental" {
					// A full snapshot first, so that the one killed is
					// incremental.
					srv := memimgtest.Start(t, memimgtest.WithDir(dir), memimgtest.WithArgs("--save", ""))
					rdb := srv.Client()
					acked = snapPreload(t, rdb, "base", 6000)
					if err := rdb.Do(ctxT(t), "save").Err(); err != nil {
						t.Fatalf("SAVE: %v", err)
					}
					prevIndex = waitLog(t, srv, snapWrittenRE, 0, 10*time.Second)
					srv.Stop()
				}
				opts := []memimgtest.Option{memimgtest.WithDir(dir), memimgtest.WithArgs("--save", "")}
				if point != "after" {
					opts = append(opts, memimgtest.WithEnv("MEMIMG_TEST_SNAPSHOT_HOOK="+point+"=60s"))
				}
				srv := memimgtest.Start(t, opts...)
				rdb := srv.Client()
				// Enough changes for the writer to pass its "write" point
				// (every 4096 keys or changes).
				acked = append(acked, snapPreload(t, rdb, "pre", 6000)...)
				w := startSnapWriters(srv.Addr, kind+point, 4)
				time.Sleep(50 * time.Millisecond)
				skip := len(srv.Log())
				if err := rdb.Do(ctxT(t), "bgsave").Err(); err != nil {
					t.Fatalf("BGSAVE: %v", err)
				}
				started := waitLog(t, srv, snapStartedRE, skip, 10*time.Second)
				if point == "after" {
					waitLog(t, srv, snapWrittenRE, skip, 30*time.Second)
				} else {
					waitLog(t, srv, hookLine(point), skip, 30*time.Second)
				}
				if point == "after" && !regexp.MustCompile(`msg="snapshot written" kind=`+kind).MatchString(srv.Log()[skip:]) {
					t.Fatalf("the snapshot was not %s:\n%s", kind, srv.Log()[skip:])
				}
				time.Sleep(20 * time.Millisecond) // writers keep going meanwhile
				srv.Kill()
				acked = append(acked, w.halt()...)

				srv2 := memimgtest.Start(t, memimgtest.WithDir(dir), memimgtest.WithArgs("--save", ""))
				loaded := ""
				if m := snapLoadedRE.FindStringSubmatch(srv2.Log()); m != nil {
					loaded = m[1]
				}
				want := prevIndex // the snapshot before the one killed, if any
				if point == "committed" || point == "after" {
					want = started
				}
				if loaded != want {
					t.Errorf("restart loaded the snapshot at index %q, want %q (killed at %s, snapshot of %s)", loaded, want, point, started)
				}
				checkRecovered(t, srv2, tool, acked)
			})
		}
	}
}

// TestSnapshotCrashDuringStartup kills the server while it loads its
// snapshot and while it replays the log after it; while loading it answers
// -LOADING.
func TestSnapshotCrashDuringStartup(t *testing.T) {
	needCommands(t, "set", "mset", "mget", "memimg.digest")
	tool := buildMemimg(t)
	dir := t.TempDir()
	srv := memimgtest.Start(t, memimgtest.WithDir(dir), memimgtest.WithArgs("--save", ""))
	rdb := srv.Client()
	acked := snapPreload(t, rdb, "snap", 5000)
	if err := rdb.Do(ctxT(t), "save").Err(); err != nil {
		t.Fatalf("SAVE: %v", err)
	}
	// A tail of 8000 entries after the snapshot: single SETs, pipelined.
	tail := make([]string, 8000)
	pipe := rdb.Pipeline()
	for i := range tail {
		tail[i] = fmt.Sprintf("tail:%06d", i)
		pipe.Set(ctxT(t), tail[i], crashValue(tail[i]), 0)
	}
	if _, err := pipe.Exec(ctxT(t)); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	acked = append(acked, tail...)
	srv.Stop()

	slow := []memimgtest.Option{memimgtest.WithDir(dir), memimgtest.WithArgs("--save", ""), memimgtest.WhenListening(),
		memimgtest.WithEnv("MEMIMG_TEST_REPLAY_DELAY=100ms")}

	// 1. Killed while loading the snapshot; -LOADING meanwhile.
	srv = memimgtest.Start(t, append(slow, memimgtest.WithEnv("MEMIMG_TEST_SNAPSHOT_HOOK=load=60s"))...)
	waitLog(t, srv, hookLine("load"), 0, 30*time.Second)
	rdb = srv.Client()
	for _, cmd := range [][]any{{"get", "snap:000001"}, {"ping"}, {"set", "x", "1"}} {
		err := rdb.Do(ctxT(t), cmd...).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "LOADING memimg is loading the dataset in memory") {
			t.Errorf("%v while loading: %v, want -LOADING", cmd, err)
		}
	}
	if v := infoField(t, rdb, "loading"); v != "1" {
		t.Errorf("INFO loading:%s while loading", v)
	}
	if out, err := memimgtest.RedisCLI(t, srv.Addr, "GET", "snap:000001"); err != nil || !strings.Contains(out, "LOADING") {
		t.Errorf("redis-cli GET while loading: %q %v", out, err)
	}
	srv.Kill()

	// 2. Killed while replaying the log after the snapshot.
	srv = memimgtest.Start(t, slow...)
	waitLog(t, srv, regexp.MustCompile(`msg="snapshot loaded"`), 0, 30*time.Second)
	time.Sleep(300 * time.Millisecond) // 8000 entries take ~800 ms
	if strings.Contains(srv.Log(), "ready to accept connections") {
		t.Fatal("the replay ended before the kill; slow it down more")
	}
	srv.Kill()

	// 3. A normal start: everything is there.
	srv = memimgtest.Start(t, memimgtest.WithDir(dir), memimgtest.WithArgs("--save", ""))
	m := snapLoadedRE.FindStringSubmatch(srv.Log())
	if m == nil || !strings.Contains(srv.Log(), `msg="log replayed" from_index=`+next(m[1])+` entries=8000 `) {
		t.Errorf("restart did not load the snapshot and replay the 8000 entries after it:\n%s", srv.Log())
	}
	checkRecovered(t, srv, tool, acked)
}

// TestSnapshotLogRetention: with --wal-retain snapshot, a snapshot deletes
// the log segments it covers (never the last one); the server restarts
// from the snapshot and the rest of the log, also after a kill right after
// the snapshot committed; memimg verify checks the snapshot and the tail
// (no full replay is possible any more), and a server with no snapshot and
// a log that starts past index 1 refuses to start.
func TestSnapshotLogRetention(t *testing.T) {
	needCommands(t, "set", "mset", "mget", "memimg.digest")
	tool := buildMemimg(t)
	dir := t.TempDir()
	args := memimgtest.WithArgs("--save", "", "--wal-retain", "snapshot")
	seg := memimgtest.WithEnv("MEMIMG_TEST_WAL_SEGMENT_SIZE=16kb")
	srv := memimgtest.Start(t, memimgtest.WithDir(dir), args, seg,
		memimgtest.WithEnv("MEMIMG_TEST_SNAPSHOT_HOOK=committed=60s"))
	rdb := srv.Client()
	var acked []string
	for i := range 40 { // 40 entries of ~6 KB: segments of ~3 entries
		acked = append(acked, snapPreload(t, rdb, fmt.Sprintf("r%02d", i), 100)...)
	}
	if first := infoField(t, rdb, "memimg_log_first_index"); first != "1" {
		t.Fatalf("log starts at %s before any snapshot", first)
	}
	w := startSnapWriters(srv.Addr, "ret", 2)
	if err := rdb.Do(ctxT(t), "bgsave").Err(); err != nil {
		t.Fatalf("BGSAVE: %v", err)
	}
	waitLog(t, srv, hookLine("committed"), 0, 30*time.Second)
	srv.Kill() // durable, segments not yet deleted
	acked = append(acked, w.halt()...)

	srv = memimgtest.Start(t, memimgtest.WithDir(dir), args, seg)
	rdb = srv.Client()
	checkKeys(t, rdb, acked[:100], nil)
	if err := rdb.Do(ctxT(t), "save").Err(); err != nil {
		t.Fatalf("SAVE: %v", err)
	}
	waitLog(t, srv, regexp.MustCompile(`msg="log segments deleted"`), 0, 10*time.Second)
	first, _ := strconv.Atoi(infoField(t, rdb, "memimg_log_first_index"))
	if first <= 1 {
		t.Fatalf("the log still starts at %d after a snapshot with --wal-retain snapshot", first)
	}
	acked = append(acked, snapPreload(t, rdb, "after", 300)...)
	d := digestOf(t, rdb)
	srv.Stop()

	srv = memimgtest.Start(t, memimgtest.WithDir(dir), args, seg)
	rdb = srv.Client()
	for i := 0; i < len(acked); i += 1000 {
		checkKeys(t, rdb, acked[i:min(len(acked), i+1000)], nil)
	}
	if got := digestOf(t, rdb); got != d {
		t.Fatalf("digest after restart %s, before %s", got, d)
	}
	srv.Stop()
	out := memimgVerify(t, tool, dir)
	if m := verifySnapRE.FindStringSubmatch(out); m == nil || m[1] != d || !strings.Contains(out, "replay:    skipped") {
		t.Fatalf("memimg verify (digest %s):\n%s", d, out)
	}

	// Without the snapshot the trimmed log cannot rebuild the state: the
	// server refuses to start rather than serve a partial image.
	if err := os.RemoveAll(filepath.Join(dir, "snapshot")); err != nil {
		t.Fatal(err)
	}
	if _, err := memimgtest.TryStart(t, memimgtest.WithDir(dir), args); err == nil {
		t.Fatal("started without the snapshot on a log that does not start at 1")
	}
}

// TestSnapshotCommands covers SAVE, BGSAVE, LASTSAVE, CONFIG GET/SET save,
// INFO persistence and the save rules, from redis-cli.
func TestSnapshotCommands(t *testing.T) {
	needCommands(t, "set", "save", "bgsave", "lastsave", "memimg.digest")
	srv := memimgtest.Start(t, memimgtest.WithArgs("--save", ""))
	rdb := srv.Client()
	before := time.Now().Unix()
	if err := rdb.Set(ctxT(t), "a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v := infoField(t, rdb, "rdb_changes_since_last_save"); v != "1" {
		t.Errorf("rdb_changes_since_last_save:%s, want 1", v)
	}
	out, err := memimgtest.RedisCLI(t, srv.Addr, "SAVE")
	if err != nil || strings.TrimSpace(out) != "OK" {
		t.Fatalf("SAVE: %q %v", out, err)
	}
	if v := infoField(t, rdb, "rdb_changes_since_last_save"); v != "0" {
		t.Errorf("rdb_changes_since_last_save:%s after SAVE", v)
	}
	last, err := rdb.LastSave(ctxT(t)).Result()
	if err != nil || last < before-1 {
		t.Errorf("LASTSAVE = %d, %v", last, err)
	}
	for field, want := range map[string]string{"rdb_bgsave_in_progress": "0", "rdb_last_bgsave_status": "ok",
		"memimg_snapshot_kind": "full", "memimg_snapshot_keys": "1", "memimg_snapshot_index": "1"} {
		if v := infoField(t, rdb, field); v != want {
			t.Errorf("INFO %s:%s, want %s", field, v, want)
		}
	}
	if v := infoField(t, rdb, "memimg_snapshot_digest"); v != digestOf(t, rdb) {
		t.Errorf("snapshot digest %s, server %s", v, digestOf(t, rdb))
	}
	out, _ = memimgtest.RedisCLI(t, srv.Addr, "BGSAVE")
	if !strings.Contains(out, "Background saving started") {
		t.Errorf("BGSAVE: %q", out)
	}
	if out, _ := memimgtest.RedisCLI(t, srv.Addr, "BGSAVE", "NOW"); !strings.Contains(out, "syntax error") {
		t.Errorf("BGSAVE NOW: %q", out)
	}
	if v, err := rdb.ConfigGet(ctxT(t), "save").Result(); err != nil || v["save"] != "" {
		t.Errorf("CONFIG GET save = %v, %v", v, err)
	}
	if err := rdb.ConfigSet(ctxT(t), "save", "1 1").Err(); err != nil {
		t.Fatalf("CONFIG SET save: %v", err)
	}
	if err := rdb.ConfigSet(ctxT(t), "save", "1 x").Err(); err == nil {
		t.Error("CONFIG SET save \"1 x\" accepted")
	}
	if v, _ := rdb.ConfigGet(ctxT(t), "save").Result(); v["save"] != "1 1" {
		t.Errorf("CONFIG GET save = %v after SET", v)
	}
	// The rule "1 1" snapshots the next write within about a second.
	if err := rdb.Set(ctxT(t), "b", "2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for infoField(t, rdb, "memimg_snapshot_keys") != "2" {
		if time.Now().After(deadline) {
			t.Fatalf("the save rule did not snapshot; log:\n%s", srv.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := infoField(t, rdb, "memimg_snapshot_kind"); v != "incremental" {
		t.Errorf("rule snapshot kind %s", v)
	}
}

// TestSaveConfig covers the save directive in a config file (several
// lines, several pairs a line, "") and on the command line.
func TestSaveConfig(t *testing.T) {
	for _, tc := range []struct {
		file string
		want string
		err  bool
	}{
		{"", DefaultSave, false},
		{"save \"\"\n", "", false},
		{"save 900 1\nsave 300 10\n", "900 1 300 10", false},
		{"save 3600 1 300 100\n", "3600 1 300 100", false},
		{"save 900 1\nsave \"\"\n", "", false},
		{"save 900\n", "", true},
		{"save 0 1\n", "", true},
		{"wal-retain 7d\n", DefaultSave, false},
		{"wal-retain sometimes\n", "", true},
	} {
		args := []string{}
		if tc.file != "" {
			p := t.TempDir() + "/m.conf"
			if err := os.WriteFile(p, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, p)
		}
		var errb bytes.Buffer
		cfg, err := parseArgs(args, &errb)
		if err == nil {
			var s settings
			s, err = cfg.settings()
			if got := snapshot.FormatRules(s.saveRules); err == nil && got != tc.want {
				t.Errorf("%q: save %q, want %q", tc.file, got, tc.want)
			}
		}
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v, want error %v", tc.file, err, tc.err)
		}
	}
	for _, tc := range []struct{ in, kind string }{
		{"all", "all"}, {"snapshot", "snapshot"}, {"72h", "age"}, {"7d", "age"}, {"10gb", "size"}, {"1.5d", "age"},
	} {
		p, err := parseRetain(tc.in)
		if err != nil || p.kind != tc.kind {
			t.Errorf("parseRetain(%q) = %+v, %v", tc.in, p, err)
		}
	}
	if _, err := parseRetain("-1h"); err == nil {
		t.Error("parseRetain(-1h) accepted")
	}
}

// TestBackupWhileServing runs memimg backup beside a server under writes
// and a snapshot: a server started on the copy has every write
// acknowledged before the backup began, and memimg verify accepts it.
func TestBackupWhileServing(t *testing.T) {
	needCommands(t, "set", "mset", "mget", "memimg.digest")
	tool := buildMemimg(t)
	srv := memimgtest.Start(t, memimgtest.WithArgs("--save", ""))
	rdb := srv.Client()
	acked := snapPreload(t, rdb, "bk", 3000)
	if err := rdb.Do(ctxT(t), "save").Err(); err != nil {
		t.Fatalf("SAVE: %v", err)
	}
	acked = append(acked, snapPreload(t, rdb, "bk2", 1000)...) // a log tail after the snapshot
	w := startSnapWriters(srv.Addr, "bkw", 3)
	time.Sleep(50 * time.Millisecond)
	w.mu.Lock()
	before := append([]string(nil), w.acked...) // acknowledged before the backup began
	w.mu.Unlock()
	// A BGSAVE during the backup waits for its lock.
	if err := rdb.Do(ctxT(t), "bgsave").Err(); err != nil {
		t.Fatalf("BGSAVE: %v", err)
	}
	dest := filepath.Join(t.TempDir(), "backup")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, "backup", srv.Dir, dest).CombinedOutput()
	if err != nil {
		t.Fatalf("memimg backup: %v\n%s", err, out)
	}
	w.halt()
	srv.Stop()
	if out := memimgVerify(t, tool, dest); !strings.Contains(out, "OK") {
		t.Fatalf("verify of the backup:\n%s", out)
	}
	restored := memimgtest.Start(t, memimgtest.WithDir(dest), memimgtest.WithArgs("--save", ""))
	rdb = restored.Client()
	all := append(acked, before...)
	for i := 0; i < len(all); i += 1000 {
		checkKeys(t, rdb, all[i:min(len(all), i+1000)], nil)
	}
}
