package compat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// script is one parsed testdata/compat file.
type script struct {
	file   string // base name, e.g. "strings.txt"
	cases  []*testCase
	errors []lineError // malformed lines (left out of the cases)
}

// testCase is the commands from one "--- name" line to the next.
type testCase struct {
	name  string
	line  int
	steps []step
}

// step is a command to send, or a pause.
type step struct {
	line  int
	text  string   // the command as written, without its comment
	args  []string // nil for a pause
	sleep time.Duration
	dir   directives
}

// directives are the compat:... words of a line's comment.
type directives struct {
	ignoreValue bool
	unordered   bool
	approx      int64 // integers may differ by this much
}

type lineError struct {
	line int
	msg  string
}

const maxSleep = 5 * time.Second

// parseScriptFile reads and parses the script at path.
func parseScriptFile(path string) (*script, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := parseScript(filepath.Base(path), f)
	return s, nil
}

// parseScript parses a script from r; name is used in reports.
func parseScript(name string, r io.Reader) *script {
	s := &script{file: name}
	var cur *testCase
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	n := 0
	fail := func(format string, a ...any) {
		s.errors = append(s.errors, lineError{n, fmt.Sprintf(format, a...)})
	}
	add := func(st step) {
		if cur == nil {
			cur = &testCase{name: "top", line: st.line}
			s.cases = append(s.cases, cur)
		}
		cur.steps = append(cur.steps, st)
	}
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			continue
		case strings.HasPrefix(trimmed, "---"):
			name := strings.TrimSpace(strings.TrimLeft(trimmed, "-"))
			if name == "" {
				name = "line " + strconv.Itoa(n)
			}
			cur = &testCase{name: name, line: n}
			s.cases = append(s.cases, cur)
			continue
		}
		args, comment, err := splitArgs(line)
		if err != nil {
			fail("%v: %s", err, trimmed)
			continue
		}
		if len(args) == 0 && !strings.HasPrefix(strings.TrimSpace(comment), "compat:") {
			continue // a comment line; it may mention directives in prose
		}
		dir, sleep, err := parseDirectives(comment)
		if err != nil {
			fail("%v", err)
			continue
		}
		if len(args) == 0 {
			if dir != (directives{}) {
				fail("directive on a line without a command (put it at the end of the command's line): %s", trimmed)
			} else if sleep > 0 {
				add(step{line: n, text: trimmed, sleep: sleep})
			}
			continue
		}
		if sleep > 0 {
			fail("compat:sleep must be on a line of its own: %s", trimmed)
			continue
		}
		text := strings.TrimSpace(line)
		if i := commentStart(line); i >= 0 {
			text = strings.TrimSpace(line[:i])
		}
		add(step{line: n, text: text, args: args, dir: dir})
	}
	if err := sc.Err(); err != nil {
		fail("read: %v", err)
	}
	return s
}

// parseDirectives reads the compat:... words of a comment.
func parseDirectives(comment string) (d directives, sleep time.Duration, err error) {
	for _, w := range strings.Fields(comment) {
		name, ok := strings.CutPrefix(w, "compat:")
		if !ok {
			continue
		}
		name, val, hasVal := strings.Cut(name, "=")
		switch {
		case name == "ignore-value" && !hasVal:
			d.ignoreValue = true
		case name == "unordered" && !hasVal:
			d.unordered = true
		case name == "approx-ttl" && !hasVal:
			d.approx = max(d.approx, 1)
		case name == "approx" && hasVal:
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return d, 0, fmt.Errorf("bad directive %q: want compat:approx=N with N ≥ 0", w)
			}
			d.approx = max(d.approx, n)
		case name == "sleep" && hasVal:
			dur, err := time.ParseDuration(val)
			if err != nil || dur <= 0 || dur > maxSleep {
				return d, 0, fmt.Errorf("bad directive %q: want compat:sleep=DURATION, e.g. 150ms, at most %v", w, maxSleep)
			}
			sleep = dur
		default:
			return d, 0, fmt.Errorf("unknown directive %q (known: compat:ignore-value, compat:unordered, compat:approx-ttl, compat:approx=N, compat:sleep=DURATION)", w)
		}
	}
	return d, sleep, nil
}

var (
	errUnbalanced = errors.New("unbalanced quotes")
	errAfterQuote = errors.New("closing quote must be followed by a space or the end of the line")
)

// splitArgs splits a line into words as redis-cli does (sdssplitargs), and
// returns the comment that starts at an unquoted word beginning with '#'.
func splitArgs(line string) (args []string, comment string, err error) {
	p := 0
	for {
		for p < len(line) && isSpace(line[p]) {
			p++
		}
		if p >= len(line) {
			return args, "", nil
		}
		if line[p] == '#' {
			return args, line[p+1:], nil
		}
		var w []byte
		inq, insq := false, false
		for done := false; !done; {
			switch {
			case inq:
				switch {
				case p >= len(line):
					return nil, "", errUnbalanced
				case line[p] == '\\' && p+3 < len(line) && line[p+1] == 'x' && isHex(line[p+2]) && isHex(line[p+3]):
					b, _ := strconv.ParseUint(line[p+2:p+4], 16, 8)
					w = append(w, byte(b))
					p += 3
				case line[p] == '\\' && p+1 < len(line):
					p++
					c := line[p]
					switch c {
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					case 'b':
						c = '\b'
					case 'a':
						c = '\a'
					}
					w = append(w, c)
				case line[p] == '"':
					if p+1 < len(line) && !isSpace(line[p+1]) {
						return nil, "", errAfterQuote
					}
					done = true
				default:
					w = append(w, line[p])
				}
			case insq:
				switch {
				case p >= len(line):
					return nil, "", errUnbalanced
				case line[p] == '\\' && p+1 < len(line) && line[p+1] == '\'':
					p++
					w = append(w, '\'')
				case line[p] == '\'':
					if p+1 < len(line) && !isSpace(line[p+1]) {
						return nil, "", errAfterQuote
					}
					done = true
				default:
					w = append(w, line[p])
				}
			default:
				switch {
				case p >= len(line) || isSpace(line[p]):
					done = true
				case line[p] == '"':
					inq = true
				case line[p] == '\'':
					insq = true
				default:
					w = append(w, line[p])
				}
			}
			if p < len(line) {
				p++
			}
		}
		args = append(args, string(w))
	}
}

// commentStart returns the index of the '#' that starts line's comment, or
// -1. It is only called on lines splitArgs accepted.
func commentStart(line string) int {
	p := 0
	for p < len(line) {
		for p < len(line) && isSpace(line[p]) {
			p++
		}
		if p >= len(line) {
			return -1
		}
		if line[p] == '#' {
			return p
		}
		// Skip one word, quotes included.
		inq, insq := false, false
		for ; p < len(line); p++ {
			c := line[p]
			if inq {
				if c == '\\' {
					p++
				} else if c == '"' {
					inq = false
				}
			} else if insq {
				if c == '\\' && p+1 < len(line) && line[p+1] == '\'' {
					p++
				} else if c == '\'' {
					insq = false
				}
			} else if isSpace(c) {
				break
			} else if c == '"' {
				inq = true
			} else if c == '\'' {
				insq = true
			}
		}
	}
	return -1
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// --- tests of the parser (no servers needed) ---

func TestSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		line    string
		args    []string
		comment string
		err     error
	}{
		{line: `SET k v`, args: []string{"SET", "k", "v"}},
		{line: "  GET\t k  ", args: []string{"GET", "k"}},
		{line: `SET k ""`, args: []string{"SET", "k", ""}},
		{line: `SET "a key" "x\"y\\z\n\r\t\x41\x7a\x00"`, args: []string{"SET", "a key", "x\"y\\z\n\r\tAz\x00"}},
		{line: `SET k "\q\x4"`, args: []string{"SET", "k", "qx4"}},
		{line: `SET k 'it\'s \n "raw"'`, args: []string{"SET", "k", `it's \n "raw"`}},
		{line: `SET k a#b`, args: []string{"SET", "k", "a#b"}},
		{line: `SET k "#x" # a comment`, args: []string{"SET", "k", "#x"}, comment: " a comment"},
		{line: `TTL k # compat:approx-ttl`, args: []string{"TTL", "k"}, comment: " compat:approx-ttl"},
		{line: `# only a comment`, comment: " only a comment"},
		{line: `SET k a"b c"`, args: []string{"SET", "k", "ab c"}},
		{line: `SET k "unterminated`, err: errUnbalanced},
		{line: `SET k 'unterminated`, err: errUnbalanced},
		{line: `SET k "a"b`, err: errAfterQuote},
		{line: `SET k 'a'b`, err: errAfterQuote},
	} {
		args, comment, err := splitArgs(tc.line)
		if err != tc.err || comment != tc.comment || !reflect.DeepEqual(args, tc.args) {
			t.Errorf("splitArgs(%q) = %q, %q, %v; want %q, %q, %v", tc.line, args, comment, err, tc.args, tc.comment, tc.err)
		}
		if err == nil {
			want := -1
			if tc.comment != "" || strings.HasPrefix(strings.TrimSpace(tc.line), "#") {
				want = len(tc.line) - len(tc.comment) - 1
			}
			if got := commentStart(tc.line); got != want {
				t.Errorf("commentStart(%q) = %d, want %d", tc.line, got, want)
			}
		}
	}
}

func TestParseScript(t *testing.T) {
	src := `# header: prose may name compat:approx-ttl or compat:approx=N
SET a 1
--- first case
SET k "v w" # compat:ignore-value compat:unordered
TTL k # compat:approx-ttl
# compat:sleep=20ms
PTTL k # compat:approx=50 other words

---   second   
GET k
SET k "bad
GET k # compat:nonsense
# compat:unordered
GET k # compat:sleep=1ms
---
PING
`
	s := parseScript("x.txt", strings.NewReader(src))
	var got []string
	for _, c := range s.cases {
		got = append(got, fmt.Sprintf("case %q@%d", c.name, c.line))
		for _, st := range c.steps {
			got = append(got, fmt.Sprintf("%d %q %q %v %+v", st.line, st.text, st.args, st.sleep, st.dir))
		}
	}
	want := []string{
		`case "top"@2`,
		`2 "SET a 1" ["SET" "a" "1"] 0s {ignoreValue:false unordered:false approx:0}`,
		`case "first case"@3`,
		`4 "SET k \"v w\"" ["SET" "k" "v w"] 0s {ignoreValue:true unordered:true approx:0}`,
		`5 "TTL k" ["TTL" "k"] 0s {ignoreValue:false unordered:false approx:1}`,
		`6 "# compat:sleep=20ms" [] 20ms {ignoreValue:false unordered:false approx:0}`,
		`7 "PTTL k" ["PTTL" "k"] 0s {ignoreValue:false unordered:false approx:50}`,
		`case "second"@9`,
		`10 "GET k" ["GET" "k"] 0s {ignoreValue:false unordered:false approx:0}`,
		`case "line 15"@15`,
		`16 "PING" ["PING"] 0s {ignoreValue:false unordered:false approx:0}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cases:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var errLines []int
	for _, e := range s.errors {
		errLines = append(errLines, e.line)
	}
	if !reflect.DeepEqual(errLines, []int{11, 12, 13, 14}) {
		t.Errorf("malformed lines %v, want [11 12 13 14]: %+v", errLines, s.errors)
	}
}
