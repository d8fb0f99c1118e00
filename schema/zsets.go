package schema

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// The sorted set commands (Redis's "sorted-set" group). Arity, flags and
// key positions are Redis 7.2's. Their checks refuse, with Redis's error
// texts, every input that could never apply, before anything is logged;
// the engine parses the arguments again with the same functions when a
// command applies or answers.
//
// Where Redis looks a key up before it parses the rest (ZSCAN's options,
// the options of ZUNION, ZINTER, ZDIFF and ZINTERCARD after their keys),
// the read commands do the same in the engine, so a WRONGTYPE comes first
// as in Redis; the write commands (ZUNIONSTORE, ...) must refuse bad
// syntax before logging, so for them a syntax error comes first.
func init() {
	const w, r, f, d, rnd = Write, ReadOnly, Fast, DenyOOM, Random
	one := func(c *Command) *Command { c.FirstKey, c.LastKey, c.Step = 1, 1, 1; return c }
	cmds := []*Command{
		one(&Command{Name: "zadd", Arity: -4, Flags: w | d | f, Since: "1.2.0",
			Summary: "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
			Check:   func(argv [][]byte) error { _, err := ParseZAdd(argv, false); return err }}),
		one(&Command{Name: "zincrby", Arity: 4, Flags: w | d | f, Since: "1.2.0",
			Summary: "Increments the score of a member in a sorted set.",
			Check:   func(argv [][]byte) error { _, err := ParseZAdd(argv, true); return err }}),
		one(&Command{Name: "zrem", Arity: -3, Flags: w | f, Since: "1.2.0",
			Summary: "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed."}),
		one(&Command{Name: "zcard", Arity: 2, Flags: r | f, Since: "1.2.0",
			Summary: "Returns the number of members in a sorted set."}),
		one(&Command{Name: "zcount", Arity: 4, Flags: r | f, Since: "2.0.0",
			Summary: "Returns the count of members in a sorted set that have scores within a range.",
			Check:   checkZScoreRange}),
		one(&Command{Name: "zlexcount", Arity: 4, Flags: r | f, Since: "2.8.9",
			Summary: "Returns the number of members in a sorted set within a lexicographical range.",
			Check:   checkZLexRange}),
		one(&Command{Name: "zscore", Arity: 3, Flags: r | f, Since: "1.2.0",
			Summary: "Returns the score of a member in a sorted set."}),
		one(&Command{Name: "zmscore", Arity: -3, Flags: r | f, Since: "6.2.0",
			Summary: "Returns the score of one or more members in a sorted set."}),
		one(&Command{Name: "zrank", Arity: -3, Flags: r | f, Since: "2.0.0",
			Summary: "Returns the index of a member in a sorted set ordered by ascending scores.",
			Check:   func(argv [][]byte) error { _, err := ParseZRank(argv); return err }}),
		one(&Command{Name: "zrevrank", Arity: -3, Flags: r | f, Since: "2.0.0",
			Summary: "Returns the index of a member in a sorted set ordered by descending scores.",
			Check:   func(argv [][]byte) error { _, err := ParseZRank(argv); return err }}),
		one(&Command{Name: "zrange", Arity: -4, Flags: r, Since: "1.2.0",
			Summary: "Returns members in a sorted set within a range of indexes.",
			Check:   checkZRange}),
		{Name: "zrangestore", Arity: -5, Flags: w | d, FirstKey: 1, LastKey: 2, Step: 1, Since: "6.2.0",
			Summary: "Stores a range of members from sorted set in a key.",
			Check:   checkZRange},
		one(&Command{Name: "zrevrange", Arity: -4, Flags: r, Since: "1.2.0",
			Summary: "Returns members in a sorted set within a range of indexes in reverse order.",
			Check:   checkZRange}),
		one(&Command{Name: "zrangebyscore", Arity: -4, Flags: r, Since: "1.0.5",
			Summary: "Returns members in a sorted set within a range of scores.",
			Check:   checkZRange}),
		one(&Command{Name: "zrevrangebyscore", Arity: -4, Flags: r, Since: "2.2.0",
			Summary: "Returns members in a sorted set within a range of scores in reverse order.",
			Check:   checkZRange}),
		one(&Command{Name: "zrangebylex", Arity: -4, Flags: r, Since: "2.8.9",
			Summary: "Returns members in a sorted set within a lexicographical range.",
			Check:   checkZRange}),
		one(&Command{Name: "zrevrangebylex", Arity: -4, Flags: r, Since: "2.8.9",
			Summary: "Returns members in a sorted set within a lexicographical range in reverse order.",
			Check:   checkZRange}),
		one(&Command{Name: "zremrangebyrank", Arity: 4, Flags: w, Since: "2.0.0",
			Summary: "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
			Check:   func(argv [][]byte) error { _, _, err := ParseZRankRange(argv); return err }}),
		one(&Command{Name: "zremrangebyscore", Arity: 4, Flags: w, Since: "1.2.0",
			Summary: "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
			Check:   checkZScoreRange}),
		one(&Command{Name: "zremrangebylex", Arity: 4, Flags: w, Since: "2.8.9",
			Summary: "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
			Check:   checkZLexRange}),
		one(&Command{Name: "zpopmin", Arity: -2, Flags: w | f, Since: "5.0.0",
			Summary: "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
			Check:   func(argv [][]byte) error { _, _, err := ParseZPopCount(argv); return err }}),
		one(&Command{Name: "zpopmax", Arity: -2, Flags: w | f, Since: "5.0.0",
			Summary: "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
			Check:   func(argv [][]byte) error { _, _, err := ParseZPopCount(argv); return err }}),
		{Name: "zmpop", Arity: -4, Flags: w, Since: "7.0.0",
			Summary: "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.",
			Check:   func(argv [][]byte) error { _, err := ParseZMPop(argv); return err }},
		{Name: "bzpopmin", Arity: -3, Flags: w | f, FirstKey: 1, LastKey: -2, Step: 1, Since: "5.0.0",
			Summary: "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
			Check:   checkBZPop},
		{Name: "bzpopmax", Arity: -3, Flags: w | f, FirstKey: 1, LastKey: -2, Step: 1, Since: "5.0.0",
			Summary: "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.",
			Check:   checkBZPop},
		one(&Command{Name: "zunionstore", Arity: -4, Flags: w | d, Since: "2.0.0",
			Summary: "Stores the union of multiple sorted sets in a key.",
			Check:   checkZSetOp}),
		one(&Command{Name: "zinterstore", Arity: -4, Flags: w | d, Since: "2.0.0",
			Summary: "Stores the intersect of multiple sorted sets in a key.",
			Check:   checkZSetOp}),
		one(&Command{Name: "zdiffstore", Arity: -4, Flags: w | d, Since: "6.2.0",
			Summary: "Stores the difference of multiple sorted sets in a key.",
			Check:   checkZSetOp}),
		{Name: "zunion", Arity: -3, Flags: r, Since: "6.2.0",
			Summary: "Returns the union of multiple sorted sets.",
			Check:   checkZSetOpKeys},
		{Name: "zinter", Arity: -3, Flags: r, Since: "6.2.0",
			Summary: "Returns the intersect of multiple sorted sets.",
			Check:   checkZSetOpKeys},
		{Name: "zintercard", Arity: -3, Flags: r, Since: "7.0.0",
			Summary: "Returns the number of members of the intersect of multiple sorted sets.",
			Check:   checkZSetOpKeys},
		{Name: "zdiff", Arity: -3, Flags: r, Since: "6.2.0",
			Summary: "Returns the difference between multiple sorted sets.",
			Check:   checkZSetOpKeys},
		one(&Command{Name: "zrandmember", Arity: -2, Flags: r | rnd, Since: "6.2.0",
			Summary: "Returns one or more random members from a sorted set.",
			Check:   func(argv [][]byte) error { _, err := ParseZRandMember(argv); return err }}),
		one(&Command{Name: "zscan", Arity: -3, Flags: r | rnd, Since: "2.8.0",
			Summary: "Iterates over members and scores of a sorted set.",
			Check:   func(argv [][]byte) error { _, err := ParseZScanCursor(argv[2]); return err }}),
	}
	for _, c := range cmds {
		c.Group = "sorted-set"
	}
	register(cmds...)
}

// The errors of the sorted set commands.
var (
	ErrZAddXXNX       = Error("ERR XX and NX options at the same time are not compatible")
	ErrZAddGTLTNX     = Error("ERR GT, LT, and/or NX options at the same time are not compatible")
	ErrZAddIncrPairs  = Error("ERR INCR option supports a single increment-element pair")
	ErrZScoreNaN      = Error("ERR resulting score is not a number (NaN)")
	ErrZMinMaxFloat   = Error("ERR min or max is not a float")
	ErrZMinMaxLex     = Error("ERR min or max not valid string range item")
	ErrZLimitRank     = Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
	ErrZWithScoresLex = Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
	ErrZWeight        = Error("ERR weight value is not a float")
	ErrZLimitNegative = Error("ERR LIMIT can't be negative")
	ErrZNumKeys       = Error("ERR numkeys should be greater than 0")
	ErrZCount         = Error("ERR count should be greater than 0")
	ErrZPositive      = Error("ERR value is out of range, must be positive")
	ErrZOutOfRange    = Error("ERR value is out of range")
)

// ZNeedKeys is the error of ZUNION, ZINTER, ZDIFF, ZINTERCARD and their
// STORE forms for a numkeys below 1.
func ZNeedKeys(cmd string) Error {
	return Error(fmt.Sprintf("ERR at least 1 input key is needed for '%s' command", cmd))
}

// Parsing doubles as C's strtod does.

// zIsSpace is C's isspace in the "C" locale.
func zIsSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

func zIsDigit(c byte) bool { return '0' <= c && c <= '9' }

func zIsHex(c byte) bool { return zIsDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

// zHasPrefixFold reports whether s starts with the lower-case word p,
// ignoring case.
func zHasPrefixFold(s []byte, p string) bool {
	return len(s) >= len(p) && EqualFold(s[:len(p)], p)
}

// zStrtod parses the longest prefix of s that C's strtod (glibc, "C"
// locale) reads: leading spaces, a sign, then a decimal number with an
// optional exponent, a hexadecimal one with an optional binary exponent,
// "inf", "infinity" or "nan" (with an optional "(chars)"). It returns the
// value, the number of bytes read (0 when there is no number; the value is
// then 0) and whether strtod would set ERANGE: an overflow to ±Inf or a
// non-zero number that rounds to zero. Values are correctly rounded, as
// glibc's are.
func zStrtod(s []byte) (v float64, n int, erange bool) {
	i := 0
	for i < len(s) && zIsSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	sign := func(f float64) float64 {
		if neg {
			return -f
		}
		return f
	}
	rest := s[i:]
	switch {
	case zHasPrefixFold(rest, "infinity"):
		return sign(math.Inf(1)), i + 8, false
	case zHasPrefixFold(rest, "inf"):
		return sign(math.Inf(1)), i + 3, false
	case zHasPrefixFold(rest, "nan"):
		j := i + 3
		if j < len(s) && s[j] == '(' {
			k := j + 1
			for k < len(s) && (zIsDigit(s[k]) || 'a' <= s[k]|0x20 && s[k]|0x20 <= 'z' || s[k] == '_') {
				k++
			}
			if k < len(s) && s[k] == ')' {
				j = k + 1
			}
		}
		return math.NaN(), j, false
	}
	hex := len(rest) >= 2 && rest[0] == '0' && rest[1]|0x20 == 'x'
	if hex {
		// "0x" must be followed by a hex digit, or by '.' and one;
		// otherwise strtod reads the "0" only.
		j := 2
		if !(j < len(rest) && zIsHex(rest[j]) || j+1 < len(rest) && rest[j] == '.' && zIsHex(rest[j+1])) {
			hex = false
		}
	}
	isDigit := zIsDigit
	if hex {
		isDigit = zIsHex
		i += 2
	}
	start := i
	nonzero := false
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		nonzero = nonzero || s[i] != '0'
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			nonzero = nonzero || s[j] != '0'
			j++
			digits++
		}
		if digits > 0 {
			i = j
		}
	}
	if digits == 0 {
		return 0, 0, false
	}
	mantEnd := i
	// An exponent counts only when it is complete.
	expChar := byte('e')
	if hex {
		expChar = 'p'
	}
	if i < len(s) && s[i]|0x20 == expChar {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && zIsDigit(s[j]) {
			for j < len(s) && zIsDigit(s[j]) {
				j++
			}
			i = j
		}
	}
	var text []byte
	if hex {
		text = append(text, "0x"...)
		text = append(text, s[start:mantEnd]...)
		if i > mantEnd {
			text = append(text, s[mantEnd:i]...)
		} else {
			text = append(text, "p0"...)
		}
	} else {
		text = s[start:i]
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		ne, ok := err.(*strconv.NumError)
		if !ok || ne.Err != strconv.ErrRange {
			// Cannot happen: text is well formed. Read it as no number.
			return 0, 0, false
		}
		erange = true
	}
	if f == 0 && nonzero {
		erange = true // underflow to zero
	}
	return sign(f), i, erange
}

// ParseZScore parses a score or an increment as Redis's string2d does
// (getDoubleFromObject): the whole argument must be a number as strtod
// reads it, without leading spaces; NaN, overflows to infinity and
// underflows to zero are refused, "inf" and "-inf" accepted.
func ParseZScore(b []byte) (float64, bool) {
	if len(b) == 0 || zIsSpace(b[0]) {
		return 0, false
	}
	v, n, erange := zStrtod(b)
	if n != len(b) || math.IsNaN(v) || (erange && (math.IsInf(v, 0) || v == 0)) {
		return 0, false
	}
	return v, true
}

// zCString is b as C code that takes it as a NUL-terminated string sees
// it: up to its first NUL byte.
func zCString(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// ZADD and ZINCRBY.

// ZAddArgs are the arguments of ZADD key [NX | XX] [GT | LT] [CH] [INCR]
// score member [score member ...] and of ZINCRBY key increment member.
type ZAddArgs struct {
	NX, XX, GT, LT, CH, Incr bool
	// Scores and Members are the pairs, in order; Members view argv.
	Scores  []float64
	Members [][]byte
}

// ParseZAdd reads ZADD's arguments, or ZINCRBY's (incr), as Redis's
// zaddGenericCommand does: the options, then the pairs (an odd count or
// none is a syntax error), then the conflicts, then the scores.
func ParseZAdd(argv [][]byte, incr bool) (ZAddArgs, error) {
	a := ZAddArgs{Incr: incr}
	i := 2
options:
	for ; i < len(argv); i++ {
		o := argv[i]
		switch {
		case EqualFold(o, "nx"):
			a.NX = true
		case EqualFold(o, "xx"):
			a.XX = true
		case EqualFold(o, "ch"):
			a.CH = true
		case EqualFold(o, "incr"):
			a.Incr = true
		case EqualFold(o, "gt"):
			a.GT = true
		case EqualFold(o, "lt"):
			a.LT = true
		default:
			break options
		}
	}
	n := len(argv) - i
	if n == 0 || n%2 != 0 {
		return ZAddArgs{}, ErrSyntax
	}
	if a.NX && a.XX {
		return ZAddArgs{}, ErrZAddXXNX
	}
	if (a.GT && a.NX) || (a.LT && a.NX) || (a.GT && a.LT) {
		return ZAddArgs{}, ErrZAddGTLTNX
	}
	if a.Incr && n > 2 {
		return ZAddArgs{}, ErrZAddIncrPairs
	}
	a.Scores = make([]float64, 0, n/2)
	a.Members = make([][]byte, 0, n/2)
	for ; i < len(argv); i += 2 {
		f, ok := ParseZScore(argv[i])
		if !ok {
			return ZAddArgs{}, ErrNotFloat
		}
		a.Scores = append(a.Scores, f)
		a.Members = append(a.Members, argv[i+1])
	}
	return a, nil
}

// Ranges.

// ZScoreRange is a range of scores: min and max, each inclusive or
// exclusive ("(1.5").
type ZScoreRange struct {
	Min, Max     float64
	MinEx, MaxEx bool
}

// ParseZScoreRange reads a score range as Redis's zslParseRange does: a
// bound is a number as strtod reads it (leading spaces, hexadecimal, "inf",
// an out-of-range number read as infinite, even an empty string read as 0),
// optionally after "(" for an exclusive bound; NaN is refused.
func ParseZScoreRange(min, max []byte) (ZScoreRange, error) {
	var r ZScoreRange
	var ok bool
	if r.Min, r.MinEx, ok = zParseScoreBound(min); !ok {
		return ZScoreRange{}, ErrZMinMaxFloat
	}
	if r.Max, r.MaxEx, ok = zParseScoreBound(max); !ok {
		return ZScoreRange{}, ErrZMinMaxFloat
	}
	return r, nil
}

func zParseScoreBound(b []byte) (v float64, ex, ok bool) {
	b = zCString(b)
	if len(b) > 0 && b[0] == '(' {
		ex = true
		b = b[1:]
	}
	v, n, _ := zStrtod(b)
	if n != len(b) || math.IsNaN(v) {
		return 0, false, false
	}
	return v, ex, true
}

// AboveMin reports whether v is at or above the range's minimum
// (zslValueGteMin).
func (r ZScoreRange) AboveMin(v float64) bool {
	if r.MinEx {
		return v > r.Min
	}
	return v >= r.Min
}

// BelowMax reports whether v is at or below the range's maximum
// (zslValueLteMax).
func (r ZScoreRange) BelowMax(v float64) bool {
	if r.MaxEx {
		return v < r.Max
	}
	return v <= r.Max
}

// Empty reports whether no score can be in the range.
func (r ZScoreRange) Empty() bool {
	return r.Min > r.Max || (r.Min == r.Max && (r.MinEx || r.MaxEx))
}

// ZLexBound is one end of a lexicographical range: "-" (Inf -1), "+"
// (Inf 1), or a value after "[" (inclusive) or "(" (exclusive).
type ZLexBound struct {
	Inf   int8
	Ex    bool
	Value []byte // views argv
}

// ZLexRange is a range of members by byte order.
type ZLexRange struct{ Min, Max ZLexBound }

// ParseZLexRange reads a lexicographical range as zslParseLexRange does.
func ParseZLexRange(min, max []byte) (ZLexRange, error) {
	var r ZLexRange
	var ok bool
	if r.Min, ok = zParseLexBound(min); !ok {
		return ZLexRange{}, ErrZMinMaxLex
	}
	if r.Max, ok = zParseLexBound(max); !ok {
		return ZLexRange{}, ErrZMinMaxLex
	}
	return r, nil
}

func zParseLexBound(b []byte) (ZLexBound, bool) {
	if len(b) == 0 {
		return ZLexBound{}, false
	}
	switch b[0] {
	case '+', '-':
		// Redis tests c[1] != '\0' on the C string.
		if len(b) > 1 && b[1] != 0 {
			return ZLexBound{}, false
		}
		if b[0] == '+' {
			return ZLexBound{Inf: 1, Ex: true}, true
		}
		return ZLexBound{Inf: -1, Ex: true}, true
	case '(':
		return ZLexBound{Ex: true, Value: b[1:]}, true
	case '[':
		return ZLexBound{Value: b[1:]}, true
	}
	return ZLexBound{}, false
}

// zCompareLex is sdscmplex: the order of s and the bound b, where "-" is
// below every string and "+" above.
func zCompareLex(s string, b ZLexBound) int {
	switch b.Inf {
	case -1:
		return 1
	case 1:
		return -1
	}
	v := string(b.Value) // no allocation: used in a comparison only
	switch {
	case s < v:
		return -1
	case s > v:
		return 1
	}
	return 0
}

// AboveMin reports whether s is at or above the range's minimum
// (zslLexValueGteMin).
func (r ZLexRange) AboveMin(s string) bool {
	c := zCompareLex(s, r.Min)
	if r.Min.Ex {
		return c > 0
	}
	return c >= 0
}

// BelowMax reports whether s is at or below the range's maximum
// (zslLexValueLteMax).
func (r ZLexRange) BelowMax(s string) bool {
	c := zCompareLex(s, r.Max)
	if r.Max.Ex {
		return c < 0
	}
	return c <= 0
}

// Empty reports whether no string can be in the range (the first test
// of zslIsInLexRange).
func (r ZLexRange) Empty() bool {
	var c int
	switch {
	case r.Min.Inf == r.Max.Inf && r.Min.Inf != 0:
		c = 0 // the same shared string
	case r.Min.Inf == -1 || r.Max.Inf == 1:
		c = -1
	case r.Min.Inf == 1 || r.Max.Inf == -1:
		c = 1
	default:
		a, b := string(r.Min.Value), string(r.Max.Value)
		switch {
		case a < b:
			c = -1
		case a > b:
			c = 1
		}
	}
	return c > 0 || (c == 0 && (r.Min.Ex || r.Max.Ex))
}

func checkZScoreRange(argv [][]byte) error {
	_, err := ParseZScoreRange(argv[2], argv[3])
	return err
}

func checkZLexRange(argv [][]byte) error {
	_, err := ParseZLexRange(argv[2], argv[3])
	return err
}

// ParseZRankRange reads the start and stop of ZREMRANGEBYRANK.
func ParseZRankRange(argv [][]byte) (start, stop int64, err error) {
	var ok bool
	if start, ok = ParseInt(argv[2]); !ok {
		return 0, 0, ErrNotInteger
	}
	if stop, ok = ParseInt(argv[3]); !ok {
		return 0, 0, ErrNotInteger
	}
	return start, stop, nil
}

// ZRANGE and its kin.

// ZRangeBy says what a ZRANGE range is made of.
type ZRangeBy uint8

// The kinds of range.
const (
	ZByRank ZRangeBy = iota
	ZByScore
	ZByLex
)

// ZRangeArgs are the arguments of ZRANGE, ZRANGESTORE, ZREVRANGE,
// ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX and ZREVRANGEBYLEX.
type ZRangeArgs struct {
	// Key is the source key; Dest is ZRANGESTORE's destination (nil for
	// the others).
	Key, Dest []byte
	By        ZRangeBy
	Rev       bool
	// Start and Stop are a rank range (ZByRank).
	Start, Stop int64
	Score       ZScoreRange // ZByScore
	Lex         ZLexRange   // ZByLex
	WithScores  bool
	// Offset and Limit are LIMIT's; Limit is -1 without LIMIT (and a
	// negative limit means no limit).
	Offset, Limit int64
}

// ParseZRange reads the arguments of the ZRANGE family, the command named
// by argv[0], as Redis's zrangeGenericCommand does: the options first (in
// order, each error as met), then the conflicts of LIMIT with a rank range
// and of WITHSCORES with BYLEX, then the range itself (REV swaps min and
// max of a score or lex range).
func ParseZRange(argv [][]byte) (ZRangeArgs, error) {
	a := ZRangeArgs{Limit: -1}
	first := 1
	by, byFixed := ZByRank, false
	dirFixed := false
	store := false
	switch name := argv[0]; {
	case EqualFold(name, "zrange"):
	case EqualFold(name, "zrangestore"):
		first, store = 2, true
		a.Dest = argv[1]
	case EqualFold(name, "zrevrange"):
		byFixed, dirFixed, a.Rev = true, true, true
	case EqualFold(name, "zrangebyscore"):
		by, byFixed, dirFixed = ZByScore, true, true
	case EqualFold(name, "zrevrangebyscore"):
		by, byFixed, dirFixed, a.Rev = ZByScore, true, true, true
	case EqualFold(name, "zrangebylex"):
		by, byFixed, dirFixed = ZByLex, true, true
	case EqualFold(name, "zrevrangebylex"):
		by, byFixed, dirFixed, a.Rev = ZByLex, true, true, true
	default:
		return ZRangeArgs{}, ErrSyntax
	}
	a.Key = argv[first]
	for j := first + 3; j < len(argv); j++ {
		left := len(argv) - j - 1
		o := argv[j]
		switch {
		case !store && EqualFold(o, "withscores"):
			a.WithScores = true
		case EqualFold(o, "limit") && left >= 2:
			var ok bool
			if a.Offset, ok = ParseInt(argv[j+1]); !ok {
				return ZRangeArgs{}, ErrNotInteger
			}
			if a.Limit, ok = ParseInt(argv[j+2]); !ok {
				return ZRangeArgs{}, ErrNotInteger
			}
			j += 2
		case !dirFixed && EqualFold(o, "rev"):
			a.Rev, dirFixed = true, true
		case !byFixed && EqualFold(o, "bylex"):
			by, byFixed = ZByLex, true
		case !byFixed && EqualFold(o, "byscore"):
			by, byFixed = ZByScore, true
		default:
			return ZRangeArgs{}, ErrSyntax
		}
	}
	a.By = by
	if a.Limit != -1 && by == ZByRank {
		return ZRangeArgs{}, ErrZLimitRank
	}
	if a.WithScores && by == ZByLex {
		return ZRangeArgs{}, ErrZWithScoresLex
	}
	lo, hi := argv[first+1], argv[first+2]
	if a.Rev && by != ZByRank {
		lo, hi = hi, lo
	}
	var err error
	switch by {
	case ZByRank:
		var ok bool
		if a.Start, ok = ParseInt(lo); !ok {
			return ZRangeArgs{}, ErrNotInteger
		}
		if a.Stop, ok = ParseInt(hi); !ok {
			return ZRangeArgs{}, ErrNotInteger
		}
	case ZByScore:
		a.Score, err = ParseZScoreRange(lo, hi)
	case ZByLex:
		a.Lex, err = ParseZLexRange(lo, hi)
	}
	if err != nil {
		return ZRangeArgs{}, err
	}
	return a, nil
}

func checkZRange(argv [][]byte) error {
	_, err := ParseZRange(argv)
	return err
}

// ZRANK and ZREVRANK.

// ParseZRank reads ZRANK key member [WITHSCORE] (Redis 7.2).
func ParseZRank(argv [][]byte) (withScore bool, err error) {
	if len(argv) > 4 {
		return false, WrongArity(string(argv[0]))
	}
	if len(argv) == 4 {
		if !EqualFold(argv[3], "withscore") {
			return false, ErrSyntax
		}
		return true, nil
	}
	return false, nil
}

// ZPOPMIN, ZPOPMAX, ZMPOP, BZPOPMIN, BZPOPMAX.

// ParseZPopCount reads the count of ZPOPMIN key [count]: given reports
// whether there is one (the reply's shape differs).
func ParseZPopCount(argv [][]byte) (count int64, given bool, err error) {
	if len(argv) > 3 {
		return 0, false, ErrSyntax
	}
	if len(argv) < 3 {
		return 1, false, nil
	}
	n, ok := ParseInt(argv[2])
	if !ok || n < 0 {
		return 0, false, ErrZPositive
	}
	return n, true, nil
}

// ZMPopArgs are the arguments of ZMPOP numkeys key [key ...] MIN | MAX
// [COUNT count].
type ZMPopArgs struct {
	Keys  [][]byte
	Max   bool
	Count int64
}

// ParseZMPop reads ZMPOP's arguments as zmpopGenericCommand does.
func ParseZMPop(argv [][]byte) (ZMPopArgs, error) {
	n, ok := ParseInt(argv[1])
	if !ok || n < 1 {
		return ZMPopArgs{}, ErrZNumKeys
	}
	where := 2 + n
	if where >= int64(len(argv)) || where < 0 {
		return ZMPopArgs{}, ErrSyntax
	}
	a := ZMPopArgs{Keys: argv[2:where], Count: -1}
	switch w := argv[where]; {
	case EqualFold(w, "min"):
	case EqualFold(w, "max"):
		a.Max = true
	default:
		return ZMPopArgs{}, ErrSyntax
	}
	for j := int(where) + 1; j < len(argv); j++ {
		if a.Count == -1 && EqualFold(argv[j], "count") && j+1 < len(argv) {
			j++
			c, ok := ParseInt(argv[j])
			if !ok || c < 1 {
				return ZMPopArgs{}, ErrZCount
			}
			a.Count = c
			continue
		}
		return ZMPopArgs{}, ErrSyntax
	}
	if a.Count == -1 {
		a.Count = 1
	}
	return a, nil
}

// checkBZPop checks the timeout of BZPOPMIN key [key ...] timeout (and
// BZPOPMAX), with the lists' parser (ParseBlockTimeout): the apply is a
// non-blocking attempt that never reads it.
func checkBZPop(argv [][]byte) error {
	return checkBlockTimeout(argv[len(argv)-1])
}

// ParseZBlocking reports whether argv (already validated) is a call of
// BZPOPMIN or BZPOPMAX, and what it waits for, as ParseBlocking does for
// the lists: the protocol layer makes such a call wait while its apply
// answers a null array.
func ParseZBlocking(argv [][]byte) (Blocking, bool) {
	if len(argv) < 3 || !(EqualFold(argv[0], "bzpopmin") || EqualFold(argv[0], "bzpopmax")) {
		return Blocking{}, false
	}
	ms, err := ParseBlockTimeout(argv[len(argv)-1])
	if err != nil {
		return Blocking{}, false
	}
	b := Blocking{Keys: argv[1 : len(argv)-1]}
	if ms <= math.MaxInt64/int64(time.Millisecond) {
		b.Timeout = time.Duration(ms) * time.Millisecond
	}
	return b, true
}

// ZUNION, ZINTER, ZDIFF, ZINTERCARD and the STORE forms.

// ZSetOp is the operation of ZUNION, ZINTER and ZDIFF.
type ZSetOp uint8

// The operations.
const (
	ZUnion ZSetOp = iota
	ZInter
	ZDiff
)

// ZAggregate is how ZUNION and ZINTER combine the scores of a member.
type ZAggregate uint8

// The aggregates.
const (
	ZAggSum ZAggregate = iota
	ZAggMin
	ZAggMax
)

// ZSetOpArgs are the arguments of ZUNION, ZINTER, ZDIFF, ZINTERCARD,
// ZUNIONSTORE, ZINTERSTORE and ZDIFFSTORE.
type ZSetOpArgs struct {
	Op ZSetOp
	// Dest is the destination of the STORE forms, nil otherwise.
	Dest []byte
	Keys [][]byte
	// Weights has one weight a key; nil means 1 each.
	Weights    []float64
	Aggregate  ZAggregate
	WithScores bool
	// CardOnly is ZINTERCARD; Limit its LIMIT (0: none).
	CardOnly bool
	Limit    int64
	// opts is the index of the first option in argv.
	opts int
}

// ParseZSetOpKeys reads the command, numkeys and the keys: the part Redis
// reads before it looks the keys up.
func ParseZSetOpKeys(argv [][]byte) (ZSetOpArgs, error) {
	var a ZSetOpArgs
	numIdx := 1
	name := argv[0]
	switch {
	case EqualFold(name, "zunion"):
		a.Op = ZUnion
	case EqualFold(name, "zinter"):
		a.Op = ZInter
	case EqualFold(name, "zintercard"):
		a.Op, a.CardOnly = ZInter, true
	case EqualFold(name, "zdiff"):
		a.Op = ZDiff
	case EqualFold(name, "zunionstore"):
		a.Op, numIdx = ZUnion, 2
	case EqualFold(name, "zinterstore"):
		a.Op, numIdx = ZInter, 2
	case EqualFold(name, "zdiffstore"):
		a.Op, numIdx = ZDiff, 2
	default:
		return ZSetOpArgs{}, ErrSyntax
	}
	if numIdx == 2 {
		a.Dest = argv[1]
	}
	n, ok := ParseInt(argv[numIdx])
	if !ok {
		return ZSetOpArgs{}, ErrNotInteger
	}
	if n < 1 {
		return ZSetOpArgs{}, ZNeedKeys(lowerASCII(name))
	}
	if n > int64(len(argv)-numIdx-1) {
		return ZSetOpArgs{}, ErrSyntax
	}
	a.Keys = argv[numIdx+1 : numIdx+1+int(n)]
	a.opts = numIdx + 1 + int(n)
	return a, nil
}

// ParseZSetOp reads the whole command: the keys, then WEIGHTS and
// AGGREGATE (not for ZDIFF and ZINTERCARD), WITHSCORES (not for the STORE
// forms nor ZINTERCARD) and LIMIT (ZINTERCARD only), in any order, the
// last one given winning.
func ParseZSetOp(argv [][]byte) (ZSetOpArgs, error) {
	a, err := ParseZSetOpKeys(argv)
	if err != nil {
		return ZSetOpArgs{}, err
	}
	n := len(a.Keys)
	for j := a.opts; j < len(argv); {
		remaining := len(argv) - j
		o := argv[j]
		switch {
		case a.Op != ZDiff && !a.CardOnly && remaining >= n+1 && EqualFold(o, "weights"):
			j++
			w := make([]float64, n)
			for i := range w {
				f, ok := ParseZScore(argv[j])
				if !ok {
					return ZSetOpArgs{}, ErrZWeight
				}
				w[i] = f
				j++
			}
			a.Weights = w
		case a.Op != ZDiff && !a.CardOnly && remaining >= 2 && EqualFold(o, "aggregate"):
			switch v := argv[j+1]; {
			case EqualFold(v, "sum"):
				a.Aggregate = ZAggSum
			case EqualFold(v, "min"):
				a.Aggregate = ZAggMin
			case EqualFold(v, "max"):
				a.Aggregate = ZAggMax
			default:
				return ZSetOpArgs{}, ErrSyntax
			}
			j += 2
		case a.Dest == nil && !a.CardOnly && EqualFold(o, "withscores"):
			a.WithScores = true
			j++
		case a.CardOnly && remaining >= 2 && EqualFold(o, "limit"):
			l, ok := ParseInt(argv[j+1])
			if !ok || l < 0 {
				return ZSetOpArgs{}, ErrZLimitNegative
			}
			a.Limit = l
			j += 2
		default:
			return ZSetOpArgs{}, ErrSyntax
		}
	}
	return a, nil
}

func lowerASCII(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}

func checkZSetOp(argv [][]byte) error {
	_, err := ParseZSetOp(argv)
	return err
}

func checkZSetOpKeys(argv [][]byte) error {
	_, err := ParseZSetOpKeys(argv)
	return err
}

// ZRANDMEMBER and ZSCAN.

// ZRandMemberArgs are the arguments of ZRANDMEMBER key [count
// [WITHSCORES]].
type ZRandMemberArgs struct {
	HasCount   bool
	Count      int64
	WithScores bool
}

// ParseZRandMember reads ZRANDMEMBER's arguments as zrandmemberCommand
// does.
func ParseZRandMember(argv [][]byte) (ZRandMemberArgs, error) {
	var a ZRandMemberArgs
	if len(argv) < 3 {
		return a, nil
	}
	n, ok := ParseInt(argv[2])
	if !ok {
		return a, ErrNotInteger
	}
	a.HasCount, a.Count = true, n
	if len(argv) > 4 || (len(argv) == 4 && !EqualFold(argv[3], "withscores")) {
		return ZRandMemberArgs{}, ErrSyntax
	}
	if len(argv) == 4 {
		a.WithScores = true
		if n < math.MinInt64/2 || n > math.MaxInt64/2 {
			return ZRandMemberArgs{}, ErrZOutOfRange
		}
	}
	return a, nil
}

// ParseZScanCursor reads ZSCAN's cursor as Redis's parseScanCursorOrReply
// does with strtoul: an optional sign and decimal digits ("-1" wraps
// around, "" is 0); leading spaces, other bytes and overflows are
// refused.
func ParseZScanCursor(b []byte) (uint64, error) {
	b = zCString(b)
	if len(b) > 0 && zIsSpace(b[0]) {
		return 0, ErrInvalidCursor
	}
	if len(b) == 0 {
		return 0, nil
	}
	neg := false
	s := b
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, ErrInvalidCursor
	}
	var v uint64
	for _, c := range s {
		if !zIsDigit(c) {
			return 0, ErrInvalidCursor
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, ErrInvalidCursor
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return v, nil
}

// ParseZScanOptions reads ZSCAN's options, [MATCH pattern] [COUNT count],
// the last of each winning; Redis reads them after the key's lookup. Match
// is nil for none or "*".
func ParseZScanOptions(argv [][]byte) (match []byte, count int64, err error) {
	count = 10
	for i := 3; i < len(argv); i += 2 {
		if i+1 >= len(argv) {
			return nil, 0, ErrSyntax
		}
		switch v := argv[i+1]; {
		case EqualFold(argv[i], "count"):
			n, ok := ParseInt(v)
			if !ok {
				return nil, 0, ErrNotInteger
			}
			if n < 1 {
				return nil, 0, ErrSyntax
			}
			count = n
		case EqualFold(argv[i], "match"):
			if len(v) == 1 && v[0] == '*' {
				match = nil
			} else {
				match = v
			}
		default:
			return nil, 0, ErrSyntax
		}
	}
	return match, count, nil
}
