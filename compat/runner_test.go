package compat

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/memimg/memimg/memimgtest"
)

// These tests check the runner itself against two redis-servers: replies
// of every RESP type, several replies per command, push messages and
// blocking commands must compare equal, and differences must be reported
// the way the package doc says.

// recorder is a testing.TB that keeps the errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func redisSide(name string, r *memimgtest.Redis) side {
	return side{name: name, addr: r.Addr, running: r.Running, log: r.Log}
}

// runRecorded runs the cases of src and returns the errors reported.
func runRecorded(t *testing.T, h *harness, src string) []string {
	t.Helper()
	s := parseScript("self.txt", strings.NewReader(src))
	if len(s.errors) > 0 {
		t.Fatalf("script errors: %+v", s.errors)
	}
	rec := &recorder{TB: t}
	var miss missing
	for _, c := range s.cases {
		h.runCase(rec, s.file, c, &miss)
	}
	if len(miss.lines) > 0 {
		rec.Errorf("missing:%s", miss.String())
	}
	return rec.errs
}

const sameScript = `
--- resp2
SET k v
GET k
GET nokey
MGET k nokey
EXISTS k
NOSUCHCOMMAND a
CLIENT ID # compat:ignore-value
SET t v EX 100
TTL t # compat:approx-ttl
PTTL t # compat:approx=1000
RPUSH l c a b
LRANGE l 0 -1
SMEMBERS nokey
SADD s x y z
SMEMBERS s # compat:unordered
BLPOP nolist 0.05
BLPOP l 0.05
# compat:sleep=10ms
SUBSCRIBE a b
PSUBSCRIBE p*
PING
UNSUBSCRIBE b
UNSUBSCRIBE
PUNSUBSCRIBE
PING

--- resp3
HELLO 3 # compat:ignore-value
GET nokey
HSET h f v
HGETALL h
HGETALL nokey
SADD s x y z
SMEMBERS s # compat:unordered
ZADD z 1.5 m
ZSCORE z m
EVAL "redis.setresp(3); return {big_number='123456789012345678901234'}" 0
EVAL "redis.setresp(3); return true" 0
EVAL "redis.setresp(3); return false" 0
EVAL "redis.setresp(3); return {verbatim_string={format='txt', string='hi'}}" 0
CLIENT INFO # compat:ignore-value
SUBSCRIBE a b
PUBLISH a hi
UNSUBSCRIBE a
UNSUBSCRIBE
CLIENT TRACKING on
SET x 1
GET x
SET x 2

--- database is new
DBSIZE
CLIENT INFO # compat:ignore-value
`

func TestRunnerSameServers(t *testing.T) {
	a := memimgtest.StartRedis(t)
	b := memimgtest.StartRedis(t)
	h := &harness{mem: redisSide("redis-a", a), redis: redisSide("redis-b", b)}
	if errs := runRecorded(t, h, sameScript); len(errs) > 0 {
		t.Errorf("runner reported differences between two redis-servers:\n%s", strings.Join(errs, "\n"))
	}
}

const diffScript = `--- differences
LPUSH l a
GET l
EXISTS l # compat:ignore-value
EXISTS l # compat:approx=1
LRANGE l 0 -1 # compat:unordered
SELECT 5
--- broken connection
CLIENT KILL TYPE normal SKIPME no
GET k
`

// TestRunnerReports runs a script against a redis-server that lacks LPUSH
// and has 4 databases, and checks what the runner reports.
func TestRunnerReports(t *testing.T) {
	a := memimgtest.StartRedis(t, "--rename-command", "LPUSH", "", "--databases", "4")
	b := memimgtest.StartRedis(t)
	h := &harness{mem: redisSide("redis-a", a), redis: redisSide("redis", b)}
	got := strings.Join(runRecorded(t, h, diffScript), "\n---\n")
	// Connection errors vary in wording.
	got = regexp.MustCompile(`(: +)(EOF|unexpected EOF|read tcp .*)\n`).ReplaceAllString(got, "${1}EOF\n")
	want := `self.txt:2: LPUSH l a
    NOT IMPLEMENTED in redis-a: (error) ERR unknown command 'LPUSH', with args beginning with: 'l' 'a' 
    redis:   (integer) 1
---
self.txt:3: GET l
    redis-a: (nil)
    redis:   (error) WRONGTYPE Operation against a key holding the wrong kind of value
---
self.txt:6: LRANGE l 0 -1
    redis-a: (empty array)
    redis:   1) "a"
---
self.txt:7: SELECT 5
    redis-a: (error) ERR DB index is out of range
    redis:   OK
---
self.txt:10: GET k
    connection failed, rest of the case not run:
    redis-a: EOF
    redis:   EOF
---
missing:
    LPUSH                1 line(s): 2`
	if got != want {
		t.Errorf("reports:\n%s\n\nwant:\n%s", got, want)
	}
}
