package protocol

import (
	"math"
	"strconv"

	"github.com/memimg/memimg/engine"
)

// AppendReply appends r to b as RESP2 (proto 2) or RESP3 (proto 3) and
// returns the extended buffer. It allocates only to grow b.
//
// The kinds that RESP2 lacks are written as Redis writes them: a null as
// $-1 (a null array as *-1), a map as a flat array of keys and values, a set
// as an array and a double as a bulk string.
func AppendReply(b []byte, r engine.Reply, proto int) []byte {
	resp3 := proto >= 3
	switch r.Kind {
	case engine.KindNull:
		if resp3 {
			return append(b, "_\r\n"...)
		}
		return append(b, "$-1\r\n"...)
	case engine.KindNullArray:
		if resp3 {
			return append(b, "_\r\n"...)
		}
		return append(b, "*-1\r\n"...)
	case engine.KindStatus:
		return appendLine(b, '+', r.Str)
	case engine.KindError:
		return appendLine(b, '-', r.Str)
	case engine.KindInt:
		b = append(b, ':')
		b = strconv.AppendInt(b, r.Int, 10)
		return append(b, '\r', '\n')
	case engine.KindBulk:
		return appendBulk(b, r.Str)
	case engine.KindArray:
		if resp3 && r.Int == engine.ReplyPairs {
			// (member, score) pairs held flat: RESP3 nests them, as Redis 7.
			b = appendHeader(b, '*', len(r.Elems)/2)
			for i := 0; i+1 < len(r.Elems); i += 2 {
				b = appendHeader(b, '*', 2)
				b = AppendReply(b, r.Elems[i], proto)
				b = AppendReply(b, r.Elems[i+1], proto)
			}
			return b
		}
		b = appendHeader(b, '*', len(r.Elems))
	case engine.KindSet:
		if resp3 {
			b = appendHeader(b, '~', len(r.Elems))
		} else {
			b = appendHeader(b, '*', len(r.Elems))
		}
	case engine.KindMap:
		if resp3 {
			b = appendHeader(b, '%', len(r.Elems)/2)
		} else {
			b = appendHeader(b, '*', len(r.Elems)/2*2)
		}
		for _, e := range r.Elems[:len(r.Elems)/2*2] {
			b = AppendReply(b, e, proto)
		}
		return b
	case engine.KindDouble:
		if resp3 {
			b = append(b, ',')
			b = appendDouble(b, r.Float)
			return append(b, '\r', '\n')
		}
		var num [32]byte
		return appendBulkBytes(b, appendDouble(num[:0], r.Float))
	default:
		return appendLine(b, '-', "ERR internal error: unknown reply kind "+strconv.Itoa(int(r.Kind)))
	}
	for _, e := range r.Elems {
		b = AppendReply(b, e, proto)
	}
	return b
}

// appendLine appends a simple string or an error: a line that cannot hold
// CR or LF, which are replaced by spaces as Redis does.
func appendLine(b []byte, prefix byte, s string) []byte {
	b = append(b, prefix)
	start := len(b)
	b = append(b, s...)
	for i := start; i < len(b); i++ {
		if b[i] == '\r' || b[i] == '\n' {
			b[i] = ' '
		}
	}
	return append(b, '\r', '\n')
}

func appendHeader(b []byte, prefix byte, n int) []byte {
	b = append(b, prefix)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

func appendBulk(b []byte, s string) []byte {
	b = appendHeader(b, '$', len(s))
	b = append(b, s...)
	return append(b, '\r', '\n')
}

func appendBulkBytes(b []byte, s []byte) []byte {
	b = appendHeader(b, '$', len(s))
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// appendVerbatim appends a RESP3 verbatim string of format "txt" (a bulk
// string in RESP2), as Redis replies to INFO and CLIENT LIST.
func appendVerbatim(b []byte, s string, proto int) []byte {
	if proto < 3 {
		return appendBulk(b, s)
	}
	b = appendHeader(b, '=', len(s)+4)
	b = append(b, "txt:"...)
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// appendDouble formats f as Redis 7.2 does (d2string with fpconv_dtoa): the
// shortest representation that reads back the same, in plain notation for
// moderate exponents and in "1.5e+20" notation otherwise; "inf", "-inf",
// "nan", and "0" or "-0" for zero.
func appendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0"...)
		}
		return append(b, '0')
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// The shortest digits and their decimal exponent: f = 0.d1d2...dn × 10^(point).
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d.ddde±XX
	var dbuf [24]byte
	digits := dbuf[:0]
	i := 0
	for ; i < len(e) && e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits = append(digits, e[i])
		}
	}
	exp, neg := 0, false
	for _, c := range e[i+1:] {
		switch {
		case c == '-':
			neg = true
		case '0' <= c && c <= '9':
			exp = exp*10 + int(c-'0')
		}
	}
	if neg {
		exp = -exp
	}
	nd := len(digits)
	// fpconv's K: the decimal exponent of the last digit.
	k := exp - (nd - 1)
	absExp := k + nd - 1
	if absExp < 0 {
		absExp = -absExp
	}
	switch {
	case k >= 0 && absExp < nd+7:
		// integer: the digits then k zeros
		b = append(b, digits...)
		for j := 0; j < k; j++ {
			b = append(b, '0')
		}
		return b
	case k < 0 && (k > -7 || absExp < 4):
		// plain decimal
		offset := nd + k // digits before the point
		if offset <= 0 {
			b = append(b, '0', '.')
			for j := 0; j < -offset; j++ {
				b = append(b, '0')
			}
			return append(b, digits...)
		}
		b = append(b, digits[:offset]...)
		b = append(b, '.')
		return append(b, digits[offset:]...)
	}
	// exponent notation: d[.ddd]e±X
	b = append(b, digits[0])
	if nd > 1 {
		b = append(b, '.')
		b = append(b, digits[1:]...)
	}
	b = append(b, 'e')
	if exp < 0 {
		b = append(b, '-')
		exp = -exp
	} else {
		b = append(b, '+')
	}
	return strconv.AppendInt(b, int64(exp), 10)
}
