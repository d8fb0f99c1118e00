package schema

import (
	"math"
	"math/big"
	"strconv"
)

// The hash commands (Redis's "hash" group). Arity, flags and key positions
// are Redis 7's. The checks refuse every input that could never apply, with
// Redis's error texts; the engine parses the arguments again with the same
// functions when a command applies.
func init() {
	const w, r, f, d, rnd = Write, ReadOnly, Fast, DenyOOM, Random
	cmds := []*Command{
		{Name: "hdel", Arity: -3, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Delete one or more hash fields", Since: "2.0.0"},
		{Name: "hexists", Arity: 3, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Determine if a hash field exists", Since: "2.0.0"},
		{Name: "hget", Arity: 3, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Get the value of a hash field", Since: "2.0.0"},
		{Name: "hgetall", Arity: 2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Get all the fields and values in a hash", Since: "2.0.0"},
		{Name: "hincrby", Arity: 4, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Increment the integer value of a hash field by the given number", Since: "2.0.0",
			Check: func(argv [][]byte) error { _, err := ParseHIncrBy(argv); return err }},
		{Name: "hincrbyfloat", Arity: 4, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Increment the float value of a hash field by the given amount", Since: "2.6.0",
			Check: func(argv [][]byte) error { _, err := ParseHIncrByFloat(argv); return err }},
		{Name: "hkeys", Arity: 2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Get all the fields in a hash", Since: "2.0.0"},
		{Name: "hlen", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Get the number of fields in a hash", Since: "2.0.0"},
		{Name: "hmget", Arity: -3, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Get the values of all the given hash fields", Since: "2.0.0"},
		{Name: "hmset", Arity: -4, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Set multiple hash fields to multiple values", Since: "2.0.0",
			Check: checkFieldValuePairs},
		{Name: "hrandfield", Arity: -2, Flags: r | rnd, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Get one or multiple random fields from a hash", Since: "6.2.0",
			Check: func(argv [][]byte) error { _, err := ParseHRandField(argv); return err }},
		{Name: "hscan", Arity: -3, Flags: r | rnd, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Incrementally iterate hash fields and associated values", Since: "2.8.0",
			Check: func(argv [][]byte) error { _, err := ParseHScan(argv); return err }},
		{Name: "hset", Arity: -4, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Set the string value of a hash field", Since: "2.0.0",
			Check: checkFieldValuePairs},
		{Name: "hsetnx", Arity: 4, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Set the value of a hash field, only if the field does not exist", Since: "2.0.0"},
		{Name: "hstrlen", Arity: 3, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Get the length of the value of a hash field", Since: "3.2.0"},
		{Name: "hvals", Arity: 2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Get all the values in a hash", Since: "2.0.0"},
	}
	for _, c := range cmds {
		c.Group = "hash"
	}
	register(cmds...)
}

// The errors of the hash commands (and of the random-count parsers the set
// commands share).
var (
	// ErrHashNotInteger is HINCRBY's error for a field holding a value that
	// is not an integer.
	ErrHashNotInteger = Error("ERR hash value is not an integer")
	// ErrHashNotFloat is HINCRBYFLOAT's error for a field holding a value
	// that is not a number.
	ErrHashNotFloat = Error("ERR hash value is not a float")
	// ErrValueNaNOrInf is HINCRBYFLOAT's error for an infinite increment.
	ErrValueNaNOrInf = Error("ERR value is NaN or Infinity")
	// ErrValueOutOfRange is HRANDFIELD's error for a count with WITHVALUES
	// whose reply would overflow.
	ErrValueOutOfRange = Error("ERR value is out of range")
)

// MaxRandomRepeats bounds the size of the reply of HRANDFIELD, SRANDMEMBER
// (and ZRANDMEMBER) with a negative count, which repeats elements and so is
// not bounded by the collection's size. Redis streams such a reply and
// accepts any count up to 2^63-1, and is killed by the kernel for lack of
// memory when the count is large enough; memimg builds a reply in memory
// first, so it refuses a count below -MaxRandomRepeats instead (one reply
// element costs ~64 bytes, so the bound is ~64 MB, twice that WITHVALUES).
const MaxRandomRepeats = 1 << 20

// rangeError is Redis's getRangeLongFromObjectOrReply error, grammar
// included.
func rangeError(lo, hi int64) Error {
	return Error("ERR value is out of range, value must between " +
		strconv.FormatInt(lo, 10) + " and " + strconv.FormatInt(hi, 10))
}

// checkFieldValuePairs refuses HSET and HMSET without whole field-value
// pairs, with Redis's arity error.
func checkFieldValuePairs(argv [][]byte) error {
	if len(argv)%2 != 0 {
		return WrongArity(string(argv[0]))
	}
	return nil
}

// ParseHIncrBy parses the increment of HINCRBY key field increment.
func ParseHIncrBy(argv [][]byte) (int64, error) {
	n, ok := ParseInt(argv[3])
	if !ok {
		return 0, ErrNotInteger
	}
	return n, nil
}

// ParseHIncrByFloat parses the increment of HINCRBYFLOAT key field
// increment as a long double (see ParseLongDouble); an infinite one is
// refused, as Redis 7 does before it looks at the key.
func ParseHIncrByFloat(argv [][]byte) (*big.Float, error) {
	f, ok := ParseLongDouble(argv[3])
	if !ok {
		return nil, ErrNotFloat
	}
	if f.IsInf() {
		return nil, ErrValueNaNOrInf
	}
	return f, nil
}

// RandArgs are the arguments of HRANDFIELD key [count [WITHVALUES]] and
// SRANDMEMBER key [count].
type RandArgs struct {
	// HasCount is false for the form without a count, which replies with
	// one element (or a null) rather than an array.
	HasCount bool
	// Count is the count: positive for distinct elements, negative for
	// elements that may repeat.
	Count int64
	// WithValues asks HRANDFIELD for the values too.
	WithValues bool
}

// parseRandCount reads the count of HRANDFIELD and SRANDMEMBER: an integer
// in Redis's range [-2^63+1, 2^63-1]. Callers check checkRepeats last, when
// every error Redis gives has been ruled out.
func parseRandCount(b []byte) (int64, error) {
	n, ok := ParseInt(b)
	if !ok {
		return 0, ErrNotInteger
	}
	if n == math.MinInt64 {
		return 0, rangeError(-math.MaxInt64, math.MaxInt64)
	}
	return n, nil
}

// checkRepeats is memimg's bound on a negative count (MaxRandomRepeats).
func checkRepeats(n int64) error {
	if n < -MaxRandomRepeats {
		return rangeError(-MaxRandomRepeats, math.MaxInt64)
	}
	return nil
}

// ParseHRandField reads HRANDFIELD key [count [WITHVALUES]] in Redis's
// order: the count, then the syntax of the rest, then the range of a count
// given with WITHVALUES.
func ParseHRandField(argv [][]byte) (RandArgs, error) {
	if len(argv) < 3 {
		return RandArgs{}, nil
	}
	n, err := parseRandCount(argv[2])
	if err != nil {
		return RandArgs{}, err
	}
	a := RandArgs{HasCount: true, Count: n}
	if len(argv) > 4 || (len(argv) == 4 && !EqualFold(argv[3], "withvalues")) {
		return RandArgs{}, ErrSyntax
	}
	if len(argv) == 4 {
		a.WithValues = true
		if n < -math.MaxInt64/2 || n > math.MaxInt64/2 {
			return RandArgs{}, ErrValueOutOfRange
		}
	}
	if err := checkRepeats(n); err != nil {
		return RandArgs{}, err
	}
	return a, nil
}

// CollScanArgs are the arguments of HSCAN and SSCAN: key cursor [MATCH
// pattern] [COUNT count], and HSCAN's NOVALUES (Redis 7.4).
type CollScanArgs struct {
	// Cursor is 0 to start an iteration, or a cursor a call returned.
	Cursor uint64
	// Match is the pattern; nil when absent or "*".
	Match []byte
	// Count is how many elements to visit; default 10.
	Count int64
	// NoValues asks HSCAN for the fields only.
	NoValues bool
}

// ParseHScan reads HSCAN key cursor [MATCH pattern] [COUNT count]
// [NOVALUES].
func ParseHScan(argv [][]byte) (CollScanArgs, error) { return parseCollScan(argv, true) }

// ParseSScan reads SSCAN key cursor [MATCH pattern] [COUNT count].
func ParseSScan(argv [][]byte) (CollScanArgs, error) { return parseCollScan(argv, false) }

// parseCollScan reads the cursor and options of HSCAN and SSCAN as Redis's
// scanGenericCommand does: the cursor first ("ERR invalid cursor"), then
// the options, where the last MATCH or COUNT wins and a COUNT below 1 is a
// syntax error.
func parseCollScan(argv [][]byte, hash bool) (CollScanArgs, error) {
	c, err := strconv.ParseUint(string(argv[2]), 10, 64)
	if err != nil {
		return CollScanArgs{}, ErrInvalidCursor
	}
	a := CollScanArgs{Cursor: c, Count: 10}
	for i := 3; i < len(argv); i++ {
		opt := argv[i]
		if hash && EqualFold(opt, "novalues") {
			a.NoValues = true
			continue
		}
		if i+1 >= len(argv) {
			return CollScanArgs{}, ErrSyntax
		}
		v := argv[i+1]
		switch {
		case EqualFold(opt, "count"):
			n, ok := ParseInt(v)
			if !ok {
				return CollScanArgs{}, ErrNotInteger
			}
			if n < 1 {
				return CollScanArgs{}, ErrSyntax
			}
			a.Count = n
		case EqualFold(opt, "match"):
			if len(v) == 1 && v[0] == '*' {
				a.Match = nil
			} else {
				a.Match = v
			}
		default:
			return CollScanArgs{}, ErrSyntax
		}
		i++
	}
	return a, nil
}
