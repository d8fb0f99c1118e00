package protocol

import "math"

// Limits bound what one client request may be. They are Redis's limits; the
// zero value of a field means its default.
type Limits struct {
	// MaxBulkLen is the largest bulk string (proto-max-bulk-len); default
	// 512 MiB.
	MaxBulkLen int64
	// MaxMultibulk is the largest number of arguments in one request;
	// default 1024*1024.
	MaxMultibulk int64
	// MaxInline is the longest inline command and the longest header line
	// ("*3", "$5"); default 64 KiB.
	MaxInline int
	// MaxRequest is the largest request in bytes, all arguments together
	// (Redis's client-query-buffer-limit); default 1 GiB, or MaxBulkLen
	// plus 1 MiB if that is larger.
	MaxRequest int64
}

// The default limits.
const (
	DefaultMaxBulkLen   = 512 << 20
	DefaultMaxMultibulk = 1024 * 1024
	DefaultMaxInline    = 64 << 10
	DefaultMaxRequest   = 1 << 30
)

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	if l.MaxBulkLen <= 0 {
		l.MaxBulkLen = DefaultMaxBulkLen
	}
	if l.MaxMultibulk <= 0 {
		l.MaxMultibulk = DefaultMaxMultibulk
	}
	if l.MaxInline <= 0 {
		l.MaxInline = DefaultMaxInline
	}
	if l.MaxRequest <= 0 {
		l.MaxRequest = DefaultMaxRequest
		if l.MaxBulkLen > l.MaxRequest-(1<<20) {
			l.MaxRequest = l.MaxBulkLen + 1<<20
		}
	}
	return l
}

// The states of the Scanner.
const (
	scanStart     uint8 = iota // before the first byte of a request
	scanInline                 // in an inline command, until '\n'
	scanCount                  // in "*<count>\r\n", after the '*'
	scanBulkStart              // expecting the '$' of the next argument
	scanBulkLen                // in "$<len>\r\n", after the '$'
	scanBulkData               // in an argument's bytes
	scanBulkCR                 // expecting the '\r' after an argument
	scanBulkLF                 // expecting the '\n' after an argument
	scanFailed                 // an error was found; everything is refused
)

// Scanner checks a client's byte stream, incrementally, against Redis's
// request grammar and limits, without buffering anything: the bytes can
// arrive in pieces of any size, split anywhere, and a Scanner fed the same
// stream in any pieces reaches the same verdict at the same offset.
//
// It reads the request framing only (the "*N" and "$N" headers, the CRLFs,
// the line length of inline commands); the arguments' bytes are skipped.
// Numbers follow Redis's string2ll: no '+', no leading zeros, no spaces.
//
// The grammar is stricter than Redis in one place: Redis skips a request
// with a count of 0 or less ("*0\r\n", "*-1\r\n"), which the Scanner refuses
// as an invalid multibulk length, because redcon would.
type Scanner struct {
	lim   Limits
	state uint8

	// the number of the header line being read
	num     int64
	digits  int
	neg     bool
	bad     bool
	prevCR  bool
	lineLen int

	args   int64 // arguments left in the current request
	remain int64 // bytes left in the current argument
	reqLen int64 // bytes of the current request so far
	inline bool  // an inline command was seen (for the fuzz test's cross-check)
	err    *ProtocolError
}

// NewScanner returns a Scanner enforcing l (zero fields take their defaults).
func NewScanner(l Limits) *Scanner {
	return &Scanner{lim: l.withDefaults()}
}

// SetMaxBulkLen changes the bulk length limit; it applies from the next
// bulk header on.
func (s *Scanner) SetMaxBulkLen(n int64) {
	if n > 0 {
		s.lim.MaxBulkLen = n
	}
}

// Err returns the error found so far, or nil.
func (s *Scanner) Err() error {
	if s.err == nil {
		return nil
	}
	return s.err
}

// Scan consumes the next piece of the stream. It returns len(p) and nil
// while the stream is well-formed; on the first violation it returns the
// number of bytes of p before the offending byte and the error, and every
// later call returns 0 and the same error.
func (s *Scanner) Scan(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	i := 0
	for i < len(p) {
		switch s.state {
		case scanStart:
			c := p[i]
			i++
			switch c {
			case '*':
				s.state = scanCount
				s.reqLen = 1
				s.startLine()
			case '\n':
				// an empty inline line: nothing to run
			default:
				s.state = scanInline
				s.lineLen = 1
				s.inline = true
			}
		case scanInline:
			j := i
			for j < len(p) && p[j] != '\n' {
				j++
			}
			s.lineLen += j - i
			if s.lineLen > s.lim.MaxInline {
				return s.fail(i+s.lim.MaxInline-(s.lineLen-(j-i)), ErrTooBigInline)
			}
			i = j
			if i < len(p) {
				i++ // the '\n'
				s.state = scanStart
			}
		case scanCount, scanBulkLen:
			c := p[i]
			s.lineLen++
			s.reqLen++
			if s.lineLen > s.lim.MaxInline {
				if s.state == scanCount {
					return s.fail(i, ErrTooBigCount)
				}
				return s.fail(i, ErrTooBigBulkCount)
			}
			if c != '\n' {
				s.lineByte(c)
				i++
				continue
			}
			ok := !s.bad && s.prevCR && s.digits > 0 && !s.neg
			if s.state == scanCount {
				if !ok || s.num > s.lim.MaxMultibulk || s.num == 0 {
					return s.fail(i, ErrInvalidMultibulkLength)
				}
				s.args = s.num
				s.state = scanBulkStart
			} else {
				if !ok || s.num > s.lim.MaxBulkLen {
					return s.fail(i, ErrInvalidBulkLength)
				}
				s.remain = s.num
				s.state = scanBulkData
			}
			i++
		case scanBulkStart:
			c := p[i]
			if c != '$' {
				return s.fail(i, &ProtocolError{Reason: "expected '$', got '" + string(rune(c)) + "'"})
			}
			s.reqLen++
			if s.reqLen > s.lim.MaxRequest {
				return s.fail(i, ErrQueryBufferLimit)
			}
			s.state = scanBulkLen
			s.startLine()
			i++
		case scanBulkData:
			n := int64(len(p) - i)
			if n > s.remain {
				n = s.remain
			}
			s.remain -= n
			s.reqLen += n
			if s.reqLen > s.lim.MaxRequest {
				return s.fail(i+int(n-(s.reqLen-s.lim.MaxRequest)), ErrQueryBufferLimit)
			}
			i += int(n)
			if s.remain == 0 {
				s.state = scanBulkCR
			}
		case scanBulkCR:
			if p[i] != '\r' {
				return s.fail(i, ErrInvalidBulkLength)
			}
			s.reqLen++
			s.state = scanBulkLF
			i++
		case scanBulkLF:
			if p[i] != '\n' {
				return s.fail(i, ErrInvalidBulkLength)
			}
			s.reqLen++
			s.args--
			if s.args == 0 {
				s.state = scanStart
			} else {
				s.state = scanBulkStart
			}
			i++
		}
	}
	return len(p), nil
}

func (s *Scanner) startLine() {
	s.num, s.digits, s.neg, s.bad, s.prevCR, s.lineLen = 0, 0, false, false, false, 0
}

// lineByte takes one byte of a header line other than its '\n'.
func (s *Scanner) lineByte(c byte) {
	if s.prevCR {
		// a '\r' not followed by '\n'
		s.bad = true
	}
	s.prevCR = false
	switch {
	case c == '\r':
		s.prevCR = true
	case c == '-' && s.digits == 0 && !s.neg:
		s.neg = true
	case '0' <= c && c <= '9':
		if s.digits > 0 && s.num == 0 {
			s.bad = true // a leading zero
		}
		if s.num > (math.MaxInt64-9)/10 {
			s.bad = true // out of range
		} else {
			s.num = s.num*10 + int64(c-'0')
		}
		s.digits++
	default:
		s.bad = true
	}
}

func (s *Scanner) fail(n int, err *ProtocolError) (int, error) {
	s.state = scanFailed
	s.err = err
	return n, err
}
