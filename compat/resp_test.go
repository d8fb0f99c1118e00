package compat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reply is one RESP2 or RESP3 reply, read in full.
type reply struct {
	kind  byte     // the type byte: + - : $ * _ , # ( = % ~ > ! (an attribute is kept in attr)
	str   string   // simple/error/bulk/verbatim/blob error text, integer/double/big number digits, "t"/"f"
	null  bool     // $-1, *-1 (kind '$' or '*'), or RESP3 '_'
	elems []*reply // array, set, push; a map's keys and values, alternating
	attr  *reply   // an attribute ('|') that came before the reply, as a map
}

func (r *reply) isAggregate() bool {
	switch r.kind {
	case '*', '%', '~', '>':
		return !r.null
	}
	return false
}

// Limits that keep a broken server from making the runner allocate wildly.
const (
	maxBulk     = 512 << 20
	maxElements = 1 << 24
	maxDepth    = 64
)

var errProtocol = errors.New("protocol error")

// conn is a minimal RESP client: one command at a time.
type conn struct {
	c  net.Conn
	br *bufio.Reader
}

func dial(addr string) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, br: bufio.NewReaderSize(c, 64*1024)}, nil
}

func (c *conn) Close() error { return c.c.Close() }

// send writes one command as an array of bulk strings.
func (c *conn) send(args []string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	_ = c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.c.Write(b.Bytes())
	return err
}

// replyTimeout bounds the wait for a command's (first) reply; extraTimeout
// the wait for the further replies of SUBSCRIBE and its kin.
var (
	replyTimeout = 10 * time.Second
	extraTimeout = 200 * time.Millisecond
)

// receive reads the replies to the command args: one reply, plus those
// already buffered behind it, plus the further replies the pub/sub commands
// send (one per channel).
func (c *conn) receive(args []string) ([]*reply, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(replyTimeout))
	first, err := readReply(c.br, 0)
	if err != nil {
		return nil, err
	}
	out := []*reply{first}
	want, untilZero := expectedReplies(args)
	if first.kind == '-' {
		want, untilZero = 1, false
	}
	for {
		complete := len(out) >= want && (!untilZero || zeroCount(out[len(out)-1]))
		switch {
		case c.br.Buffered() > 0:
			// More bytes came with the reply: read them too, so that they
			// are compared here and not taken for the next reply.
			_ = c.c.SetReadDeadline(time.Now().Add(replyTimeout))
		case complete:
			return out, nil
		case len(out) < want:
			_ = c.c.SetReadDeadline(time.Now().Add(time.Second))
		default:
			// UNSUBSCRIBE without channels: the replies end with a count
			// of 0, or when no more come.
			_ = c.c.SetReadDeadline(time.Now().Add(extraTimeout))
		}
		r, err := readReply(c.br, 0)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && c.br.Buffered() == 0 {
				return out, nil // fewer replies than expected: the comparison shows it
			}
			return out, err
		}
		out = append(out, r)
	}
}

// expectedReplies is how many replies a command sends: one for most; one
// per channel for SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and the UNSUBSCRIBEs
// given channels; for an UNSUBSCRIBE without channels, replies until one
// reports a subscription count of 0.
func expectedReplies(args []string) (n int, untilZero bool) {
	switch strings.ToLower(args[0]) {
	case "subscribe", "psubscribe", "ssubscribe":
		return max(1, len(args)-1), false
	case "unsubscribe", "punsubscribe", "sunsubscribe":
		if len(args) == 1 {
			return 1, true
		}
		return len(args) - 1, false
	}
	return 1, false
}

// zeroCount reports whether r is a pub/sub reply whose count is 0.
func zeroCount(r *reply) bool {
	return r.isAggregate() && len(r.elems) == 3 && r.elems[2].kind == ':' && r.elems[2].str == "0"
}

// do sends a command and reads its replies.
func (c *conn) do(args ...string) ([]*reply, error) {
	if err := c.send(args); err != nil {
		return nil, err
	}
	return c.receive(args)
}

// readLine reads one line and strips its CRLF.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", fmt.Errorf("%w: line %q does not end with CRLF", errProtocol, line)
	}
	return line[:len(line)-2], nil
}

// readReply reads one complete reply (with its nested replies).
func readReply(br *bufio.Reader, depth int) (*reply, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: replies nested over %d deep", errProtocol, maxDepth)
	}
	line, err := readLine(br)
	if err != nil {
		return nil, err
	}
	if line == "" {
		return nil, fmt.Errorf("%w: empty line", errProtocol)
	}
	kind, rest := line[0], line[1:]
	r := &reply{kind: kind}
	switch kind {
	case '+', '-':
		r.str = rest
	case ':', '(':
		if !isInteger(rest) {
			return nil, fmt.Errorf("%w: bad integer %q", errProtocol, line)
		}
		r.str = rest
	case ',':
		r.str = rest
	case '#':
		if rest != "t" && rest != "f" {
			return nil, fmt.Errorf("%w: bad boolean %q", errProtocol, line)
		}
		r.str = rest
	case '_':
		if rest != "" {
			return nil, fmt.Errorf("%w: bad null %q", errProtocol, line)
		}
		r.null = true
	case '$', '=', '!':
		n, err := strconv.Atoi(rest)
		if err != nil || n < -1 || n > maxBulk || (n == -1 && kind != '$') {
			return nil, fmt.Errorf("%w: bad length %q", errProtocol, line)
		}
		if n == -1 {
			r.null = true
			break
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(br, b); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return nil, fmt.Errorf("%w: bulk string of %d bytes not followed by CRLF", errProtocol, n)
		}
		r.str = string(b[:n])
		if kind == '=' && (n < 4 || r.str[3] != ':') {
			return nil, fmt.Errorf("%w: verbatim string without a format: %q", errProtocol, r.str)
		}
	case '*', '%', '~', '>', '|':
		n, err := strconv.Atoi(rest)
		if err != nil || n < -1 || n > maxElements || (n == -1 && kind != '*') {
			return nil, fmt.Errorf("%w: bad length %q", errProtocol, line)
		}
		if n == -1 {
			r.null = true
			break
		}
		if kind == '%' || kind == '|' {
			n *= 2
		}
		r.elems = make([]*reply, 0, min(n, 1024))
		for i := 0; i < n; i++ {
			e, err := readReply(br, depth+1)
			if err != nil {
				return nil, err
			}
			r.elems = append(r.elems, e)
		}
		if kind == '|' {
			// An attribute comes before the reply it describes.
			v, err := readReply(br, depth+1)
			if err != nil {
				return nil, err
			}
			r.kind = '%'
			v.attr = r
			return v, nil
		}
	default:
		return nil, fmt.Errorf("%w: unknown reply type %q in %q", errProtocol, kind, line)
	}
	return r, nil
}

// isInteger checks integer syntax: an optional '-' then digits.
func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// --- comparison ---

// equalReplies compares the replies of one command under d.
func equalReplies(a, b []*reply, d directives) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalTop(a[i], b[i], d) {
			return false
		}
	}
	return true
}

func equalTop(a, b *reply, d directives) bool {
	if d.ignoreValue {
		return a.kind == b.kind && a.null == b.null
	}
	return equal(a, b, d)
}

// equal compares two replies exactly, except that integers may differ by
// d.approx and, with d.unordered, the elements of aggregates (at every
// level) may come in any order.
func equal(a, b *reply, d directives) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.kind != b.kind || a.null != b.null || len(a.elems) != len(b.elems) || !equal(a.attr, b.attr, d) {
		return false
	}
	if a.str != b.str {
		if a.kind != ':' || d.approx == 0 {
			return false
		}
		x, err1 := strconv.ParseInt(a.str, 10, 64)
		y, err2 := strconv.ParseInt(b.str, 10, 64)
		if err1 != nil || err2 != nil || x-y > d.approx || y-x > d.approx {
			return false
		}
	}
	if d.unordered && a.isAggregate() {
		return sameMultiset(groups(a), groups(b), d)
	}
	for i := range a.elems {
		if !equal(a.elems[i], b.elems[i], d) {
			return false
		}
	}
	return true
}

// groups splits an aggregate into the units that may be reordered: its
// elements, or a map's key-value pairs.
func groups(r *reply) [][]*reply {
	step := 1
	if r.kind == '%' {
		step = 2
	}
	var g [][]*reply
	for i := 0; i+step <= len(r.elems); i += step {
		g = append(g, r.elems[i:i+step])
	}
	return g
}

// sameMultiset matches every unit of a with a distinct equal unit of b.
func sameMultiset(a, b [][]*reply, d directives) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
next:
	for _, x := range a {
		for j, y := range b {
			if used[j] || len(x) != len(y) {
				continue
			}
			same := true
			for k := range x {
				if !equal(x[k], y[k], d) {
					same = false
					break
				}
			}
			if same {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}

// --- rendering, in redis-cli's style but keeping every type apart ---

// render returns the replies as text lines.
func render(rs []*reply) []string {
	if len(rs) == 1 {
		return renderOne(rs[0])
	}
	var lines []string
	for i, r := range rs {
		lines = append(lines, prefixed(fmt.Sprintf("[reply %d] ", i+1), renderOne(r))...)
	}
	if len(rs) == 0 {
		lines = []string{"(no reply)"}
	}
	return lines
}

func renderOne(r *reply) []string {
	lines := renderValue(r)
	if r.attr != nil {
		lines = append(prefixed("(attribute) ", renderValue(r.attr)), lines...)
	}
	return lines
}

func renderValue(r *reply) []string {
	switch r.kind {
	case '+':
		return []string{r.str}
	case '-':
		return []string{"(error) " + r.str}
	case '!':
		return []string{"(blob error) " + r.str}
	case ':':
		return []string{"(integer) " + r.str}
	case '(':
		return []string{"(big number) " + r.str}
	case ',':
		return []string{"(double) " + r.str}
	case '#':
		if r.str == "t" {
			return []string{"(true)"}
		}
		return []string{"(false)"}
	case '_':
		return []string{"(null)"}
	case '$':
		if r.null {
			return []string{"(nil)"}
		}
		return []string{strconv.Quote(r.str)}
	case '=':
		return []string{fmt.Sprintf("(verbatim %s) %s", r.str[:3], strconv.Quote(r.str[4:]))}
	case '*', '~', '>':
		if r.null {
			return []string{"(nil array)"}
		}
		if len(r.elems) == 0 {
			return []string{map[byte]string{'*': "(empty array)", '~': "(empty set)", '>': "(empty push)"}[r.kind]}
		}
		mark := map[byte]string{'*': ")", '~': "~", '>': ")"}[r.kind]
		width := len(strconv.Itoa(len(r.elems)))
		var lines []string
		for i, e := range r.elems {
			lines = append(lines, prefixed(fmt.Sprintf("%*d%s ", width, i+1, mark), renderOne(e))...)
		}
		if r.kind == '>' {
			lines = append([]string{"(push)"}, lines...)
		}
		return lines
	case '%':
		if len(r.elems) == 0 {
			return []string{"(empty hash)"}
		}
		width := len(strconv.Itoa(len(r.elems) / 2))
		var lines []string
		for i := 0; i+1 < len(r.elems); i += 2 {
			k := renderOne(r.elems[i])
			v := renderOne(r.elems[i+1])
			head := fmt.Sprintf("%*d# %s => ", width, i/2+1, strings.Join(k, " "))
			lines = append(lines, prefixed(head, v)...)
		}
		return lines
	}
	return []string{fmt.Sprintf("(type %q) %q", r.kind, r.str)}
}

// prefixed puts p before the first line and as many spaces before the
// others.
func prefixed(p string, lines []string) []string {
	out := make([]string, len(lines))
	pad := strings.Repeat(" ", len(p))
	for i, l := range lines {
		if i == 0 {
			out[i] = p + l
		} else {
			out[i] = pad + l
		}
	}
	return out
}

// --- tests of the client and the comparison (no servers needed) ---

func parseReplies(t *testing.T, s string) []*reply {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(s))
	var out []*reply
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return out
		}
		r, err := readReply(br, 0)
		if err != nil {
			t.Fatalf("readReply(%q): %v", s, err)
		}
		out = append(out, r)
	}
}

func TestReadAndRender(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+OK\r\n", "OK"},
		{"$2\r\nOK\r\n", `"OK"`},
		{"-ERR x y\r\n", "(error) ERR x y"},
		{":-12\r\n", "(integer) -12"},
		{"$-1\r\n", "(nil)"},
		{"*-1\r\n", "(nil array)"},
		{"*0\r\n", "(empty array)"},
		{"$0\r\n\r\n", `""`},
		{"$3\r\na\r\n\r\n", `"a\r\n"`},
		{"*2\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n", "1) \"a\"\n2) 1) (integer) 1\n   2) (nil)"},
		{"_\r\n", "(null)"},
		{",1.5\r\n", "(double) 1.5"},
		{"#t\r\n", "(true)"},
		{"(12345678901234567890\r\n", "(big number) 12345678901234567890"},
		{"=7\r\ntxt:abc\r\n", `(verbatim txt) "abc"`},
		{"%2\r\n+a\r\n:1\r\n$1\r\nb\r\n*1\r\n:2\r\n", "1# a => (integer) 1\n2# \"b\" => 1) (integer) 2"},
		{"~2\r\n:1\r\n:2\r\n", "1~ (integer) 1\n2~ (integer) 2"},
		{">2\r\n+x\r\n:1\r\n", "(push)\n1) x\n2) (integer) 1"},
		{"|1\r\n+k\r\n+v\r\n:5\r\n", "(attribute) 1# k => v\n(integer) 5"},
	} {
		rs := parseReplies(t, tc.in)
		if got := strings.Join(render(rs), "\n"); got != tc.want {
			t.Errorf("render(%q):\n%s\nwant:\n%s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"?x\r\n", ":1x\r\n", "$5\r\nab\r\n", "*1\r\n", "+OK\n", "$-2\r\n", "%-1\r\n", "#x\r\n", "=2\r\nab\r\n"} {
		if _, err := readReply(bufio.NewReader(strings.NewReader(bad)), 0); err == nil {
			t.Errorf("readReply(%q): no error", bad)
		}
	}
}

func TestEqualReplies(t *testing.T) {
	arr := func(s string) []*reply { return parseReplies(t, s) }
	for _, tc := range []struct {
		a, b string
		d    directives
		want bool
	}{
		{"+OK\r\n", "+OK\r\n", directives{}, true},
		{"+OK\r\n", "$2\r\nOK\r\n", directives{}, false},
		{"$-1\r\n", "*-1\r\n", directives{}, false},
		{"$-1\r\n", "$0\r\n\r\n", directives{}, false},
		{"-ERR a\r\n", "-ERR b\r\n", directives{}, false},
		{"-ERR a\r\n", "-ERR b\r\n", directives{ignoreValue: true}, true},
		{"$1\r\na\r\n", "$-1\r\n", directives{ignoreValue: true}, false},
		{":100\r\n", ":99\r\n", directives{}, false},
		{":100\r\n", ":99\r\n", directives{approx: 1}, true},
		{":100\r\n", ":98\r\n", directives{approx: 1}, false},
		{"*2\r\n:100\r\n:5\r\n", "*2\r\n:101\r\n:5\r\n", directives{approx: 1}, true},
		{"*2\r\n:1\r\n:2\r\n", "*2\r\n:2\r\n:1\r\n", directives{}, false},
		{"*2\r\n:1\r\n:2\r\n", "*2\r\n:2\r\n:1\r\n", directives{unordered: true}, true},
		{"*3\r\n:1\r\n:1\r\n:2\r\n", "*3\r\n:2\r\n:2\r\n:1\r\n", directives{unordered: true}, false},
		{"~2\r\n:1\r\n:2\r\n", "*2\r\n:2\r\n:1\r\n", directives{unordered: true}, false},
		{"%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "%2\r\n+b\r\n:2\r\n+a\r\n:1\r\n", directives{unordered: true}, true},
		{"%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "%2\r\n+b\r\n:1\r\n+a\r\n:2\r\n", directives{unordered: true}, false},
		{"+a\r\n+b\r\n", "+a\r\n", directives{}, false},
		{"*2\r\n$1\r\n0\r\n*2\r\n+a\r\n+b\r\n", "*2\r\n$1\r\n0\r\n*2\r\n+b\r\n+a\r\n", directives{unordered: true}, true},
		{"*2\r\n$1\r\n0\r\n*2\r\n+a\r\n+b\r\n", "*2\r\n$1\r\n0\r\n*2\r\n+b\r\n+a\r\n", directives{}, false},
	} {
		if got := equalReplies(arr(tc.a), arr(tc.b), tc.d); got != tc.want {
			t.Errorf("equalReplies(%q, %q, %+v) = %v", tc.a, tc.b, tc.d, got)
		}
	}
}
