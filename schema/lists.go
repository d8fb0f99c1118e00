package schema

import (
	"math"
	"math/big"
	"time"
)

// The list commands (Redis's "list" group). Arity, flags and key positions
// are Redis 7.2's. Every option a command takes is checked here, before the
// command is logged, with Redis's error texts; the engine parses the options
// again with the same functions when the command applies.
//
// Where Redis reads the data before an argument (LSET reports "no such key"
// before a bad index, LINDEX a missing key before a bad index) the write
// commands still refuse the bad argument first, since it must not reach the
// log. LINDEX, a read, follows Redis's order exactly.
//
// The blocking commands (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH) are
// writes whose apply is the non-blocking attempt: it pops as LPOP, LMPOP or
// LMOVE would, and when every key is empty it changes nothing and answers
// what Redis answers a blocking command inside MULTI: a null array (BLPOP,
// BRPOP, BLMPOP) or a null bulk string (BLMOVE, BRPOPLPUSH). The wait
// itself is the protocol layer's (see Blocking).
func init() {
	const w, r, f, d = Write, ReadOnly, Fast, DenyOOM
	cmds := []*Command{
		{Name: "blmove", Arity: 6, Flags: w | d | NoScript, FirstKey: 1, LastKey: 2, Step: 1,
			Summary: "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.",
			Since:   "6.2.0", Check: checkListMove},
		{Name: "blmpop", Arity: -5, Flags: w,
			Summary: "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
			Since:   "7.0.0", Check: checkListMPop},
		{Name: "blpop", Arity: -3, Flags: w | NoScript, FirstKey: 1, LastKey: -2, Step: 1,
			Summary: "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
			Since:   "2.0.0", Check: checkListBPop},
		{Name: "brpop", Arity: -3, Flags: w | NoScript, FirstKey: 1, LastKey: -2, Step: 1,
			Summary: "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
			Since:   "2.0.0", Check: checkListBPop},
		{Name: "brpoplpush", Arity: 4, Flags: w | d | NoScript, FirstKey: 1, LastKey: 2, Step: 1,
			Summary: "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.",
			Since:   "2.2.0", Check: checkListBPop},
		{Name: "lindex", Arity: 3, Flags: r, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns an element from a list by its index.",
			Since:   "1.0.0"},
		{Name: "linsert", Arity: 5, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Inserts an element before or after another element in a list.",
			Since:   "2.2.0", Check: checkListInsert},
		{Name: "llen", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the length of a list.",
			Since:   "1.0.0"},
		{Name: "lmove", Arity: 5, Flags: w | d, FirstKey: 1, LastKey: 2, Step: 1,
			Summary: "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.",
			Since:   "6.2.0", Check: checkListMove},
		{Name: "lmpop", Arity: -4, Flags: w,
			Summary: "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.",
			Since:   "7.0.0", Check: checkListMPop},
		{Name: "lpop", Arity: -2, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
			Since:   "1.0.0", Check: checkListPop},
		{Name: "lpos", Arity: -3, Flags: r, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the index of matching elements in a list.",
			Since:   "6.0.6", Check: checkListPos},
		{Name: "lpush", Arity: -3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
			Since:   "1.0.0"},
		{Name: "lpushx", Arity: -3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Prepends one or more elements to a list only when the list exists.",
			Since:   "2.2.0"},
		{Name: "lrange", Arity: 4, Flags: r, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns a range of elements from a list.",
			Since:   "1.0.0", Check: checkRange},
		{Name: "lrem", Arity: 4, Flags: w, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Removes elements from a list. Deletes the list if the last element was removed.",
			Since:   "1.0.0", Check: checkListIndex},
		{Name: "lset", Arity: 4, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Sets the value of an element in a list by its index.",
			Since:   "1.0.0", Check: checkListIndex},
		{Name: "ltrim", Arity: 4, Flags: w, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
			Since:   "1.0.0", Check: checkRange},
		{Name: "rpop", Arity: -2, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns and removes the last elements of the list. Deletes the list if the last element was popped.",
			Since:   "1.0.0", Check: checkListPop},
		{Name: "rpoplpush", Arity: 3, Flags: w | d, FirstKey: 1, LastKey: 2, Step: 1,
			Summary: "Returns the last element of a list after removing and pushing it to another list. Deletes the source list if the last element was popped.",
			Since:   "1.2.0"},
		{Name: "rpush", Arity: -3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.",
			Since:   "1.0.0"},
		{Name: "rpushx", Arity: -3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Appends an element to a list only when the list exists.",
			Since:   "2.2.0"},
	}
	for _, c := range cmds {
		c.Group = "list"
	}
	register(cmds...)
}

// The errors of the list commands. The names carry "List" so that other
// groups may define errors of the same text without a clash.
var (
	// ErrListIndexRange is LSET's error for an index past either end.
	ErrListIndexRange = Error("ERR index out of range")
	// ErrListPopCount is LPOP's and RPOP's error for a count that is not a
	// non-negative integer.
	ErrListPopCount = Error("ERR value is out of range, must be positive")
	// ErrListRankZero is LPOS's error for RANK 0.
	ErrListRankZero = Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
	// ErrListRankRange is LPOS's error for RANK LLONG_MIN, which cannot be
	// negated (Redis 7.2; 7.0 reads it as -1 and ignores COUNT).
	ErrListRankRange = Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
	// ErrListPosCount is LPOS's error for a COUNT that is not a
	// non-negative integer.
	ErrListPosCount = Error("ERR COUNT can't be negative")
	// ErrListPosMaxLen is LPOS's error for a MAXLEN that is not a
	// non-negative integer.
	ErrListPosMaxLen = Error("ERR MAXLEN can't be negative")
	// ErrListNumKeys is LMPOP's and BLMPOP's error for a numkeys that is
	// not a positive integer.
	ErrListNumKeys = Error("ERR numkeys should be greater than 0")
	// ErrListMPopCount is LMPOP's and BLMPOP's error for a COUNT that is
	// not a positive integer.
	ErrListMPopCount = Error("ERR count should be greater than 0")
	// ErrTimeoutNotFloat, ErrTimeoutNegative and ErrTimeoutRange are the
	// errors of a blocking command's timeout.
	ErrTimeoutNotFloat = Error("ERR timeout is not a float or out of range")
	ErrTimeoutNegative = Error("ERR timeout is negative")
	ErrTimeoutRange    = Error("ERR timeout is out of range")
)

// ParseListPopCount parses the count of LPOP key [count] and RPOP key
// [count]; has is false without one.
func ParseListPopCount(argv [][]byte) (count int64, has bool, err error) {
	if len(argv) > 3 {
		return 0, false, WrongArity(string(argv[0]))
	}
	if len(argv) < 3 {
		return 0, false, nil
	}
	n, ok := ParseInt(argv[2])
	if !ok || n < 0 {
		return 0, false, ErrListPopCount
	}
	return n, true, nil
}

// ParseListIndex parses the integer at argv[2]: LSET's index, LREM's
// count.
func ParseListIndex(argv [][]byte) (int64, error) {
	n, ok := ParseInt(argv[2])
	if !ok {
		return 0, ErrNotInteger
	}
	return n, nil
}

// ParseListInsert parses LINSERT key BEFORE|AFTER pivot element.
func ParseListInsert(argv [][]byte) (before bool, err error) {
	switch {
	case EqualFold(argv[2], "before"):
		return true, nil
	case EqualFold(argv[2], "after"):
		return false, nil
	}
	return false, ErrSyntax
}

// ParseListEnd parses LEFT or RIGHT, the end a list is popped from or
// pushed to.
func ParseListEnd(b []byte) (left bool, err error) {
	switch {
	case EqualFold(b, "left"):
		return true, nil
	case EqualFold(b, "right"):
		return false, nil
	}
	return false, ErrSyntax
}

// ParseListMove parses the ends of LMOVE and BLMOVE source destination
// LEFT|RIGHT LEFT|RIGHT.
func ParseListMove(argv [][]byte) (fromLeft, toLeft bool, err error) {
	if fromLeft, err = ParseListEnd(argv[3]); err != nil {
		return false, false, err
	}
	if toLeft, err = ParseListEnd(argv[4]); err != nil {
		return false, false, err
	}
	return fromLeft, toLeft, nil
}

// ListPosOptions are the options of LPOS.
type ListPosOptions struct {
	// Rank is the match to start from: 1 the first, -1 the last; never 0.
	Rank int64
	// Count is the number of matches to return, 0 for all; -1 without
	// COUNT (the reply is then one index or null, not an array).
	Count int64
	// MaxLen is the number of elements to compare at most, 0 for all.
	MaxLen int64
}

// ParseListPos parses LPOS key element [RANK rank] [COUNT num-matches]
// [MAXLEN len]; options may repeat, the last one wins.
func ParseListPos(argv [][]byte) (ListPosOptions, error) {
	o := ListPosOptions{Rank: 1, Count: -1}
	for j := 3; j < len(argv); j++ {
		more := j+1 < len(argv)
		switch {
		case EqualFold(argv[j], "rank") && more:
			j++
			n, ok := ParseInt(argv[j])
			if !ok {
				return o, ErrNotInteger
			}
			if n == math.MinInt64 {
				return o, ErrListRankRange
			}
			if n == 0 {
				return o, ErrListRankZero
			}
			o.Rank = n
		case EqualFold(argv[j], "count") && more:
			j++
			n, ok := ParseInt(argv[j])
			if !ok || n < 0 {
				return o, ErrListPosCount
			}
			o.Count = n
		case EqualFold(argv[j], "maxlen") && more:
			j++
			n, ok := ParseInt(argv[j])
			if !ok || n < 0 {
				return o, ErrListPosMaxLen
			}
			o.MaxLen = n
		default:
			return o, ErrSyntax
		}
	}
	return o, nil
}

// ListMPop is what LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
// and BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] ask
// for.
type ListMPop struct {
	// Keys are the lists to try, in order; they view argv.
	Keys [][]byte
	// Left is true to pop from the head.
	Left bool
	// Count is the number of elements to pop at most, 1 without COUNT.
	Count int64
}

// ParseListMPop parses LMPOP and BLMPOP (and checks BLMPOP's timeout, which
// Redis reads last).
func ParseListMPop(argv [][]byte) (ListMPop, error) {
	at := 1 // the position of numkeys
	blocking := EqualFold(argv[0], "blmpop")
	if blocking {
		at = 2
	}
	numkeys, ok := ParseInt(argv[at])
	if !ok || numkeys < 1 {
		return ListMPop{}, ErrListNumKeys
	}
	where := int64(at) + numkeys + 1
	if numkeys > int64(len(argv)) || where >= int64(len(argv)) {
		return ListMPop{}, ErrSyntax
	}
	m := ListMPop{Keys: argv[at+1 : where], Count: -1}
	var err error
	if m.Left, err = ParseListEnd(argv[where]); err != nil {
		return ListMPop{}, err
	}
	for j := int(where) + 1; j < len(argv); j++ {
		if m.Count == -1 && EqualFold(argv[j], "count") && j+1 < len(argv) {
			j++
			n, ok := ParseInt(argv[j])
			if !ok || n < 1 {
				return ListMPop{}, ErrListMPopCount
			}
			m.Count = n
			continue
		}
		return ListMPop{}, ErrSyntax
	}
	if m.Count == -1 {
		m.Count = 1
	}
	if blocking {
		if _, err := ParseBlockTimeout(argv[1]); err != nil {
			return ListMPop{}, err
		}
	}
	return m, nil
}

// ParseBlockTimeout parses the timeout of a blocking command, in seconds
// with a fraction, as Redis 7.2's getTimeoutFromObjectOrReply does: the
// number is read as a C long double (ParseLongDouble), multiplied by 1000
// in long double precision and rounded up to whole milliseconds. 0 means
// no limit. A number too large for 64-bit milliseconds is "out of range";
// a negative one is "negative", except that one above -1 ms rounds up to 0
// and so waits forever, as in Redis.
func ParseBlockTimeout(b []byte) (ms int64, err error) {
	f, ok := ParseLongDouble(b)
	if !ok {
		return 0, ErrTimeoutNotFloat
	}
	if f.IsInf() {
		if f.Sign() > 0 {
			return 0, ErrTimeoutRange
		}
		return 0, ErrTimeoutNegative
	}
	f.Mul(f, big.NewFloat(1000)) // rounded to 64 bits, as the x87 does
	if f.Cmp(maxInt64Float) > 0 {
		return 0, ErrTimeoutRange
	}
	// ceill: truncate, then one up for a positive fraction.
	i, acc := f.Int64()
	if acc == big.Below && f.Sign() > 0 {
		i++
	}
	if f.Cmp(minInt64Float) < 0 || i < 0 {
		// C's cast of a value below LLONG_MIN gives LLONG_MIN on x86:
		// negative too.
		return 0, ErrTimeoutNegative
	}
	return i, nil
}

var (
	maxInt64Float = new(big.Float).SetInt64(math.MaxInt64)
	minInt64Float = new(big.Float).SetInt64(math.MinInt64)
)

// checkBlockTimeout is ParseBlockTimeout plus Redis's check that the
// deadline, now plus the timeout, fits in 64-bit milliseconds. It reads the
// clock, so it runs only before logging: apply never needs the timeout.
func checkBlockTimeout(b []byte) error {
	ms, err := ParseBlockTimeout(b)
	if err != nil {
		return err
	}
	if ms > 0 && ms > math.MaxInt64-time.Now().UnixMilli() {
		return ErrTimeoutRange
	}
	return nil
}

// Blocking describes a call of a blocking list command, for the protocol
// layer that makes it wait.
type Blocking struct {
	// Keys are the lists whose push can serve the call: every key of BLPOP,
	// BRPOP and BLMPOP, the source of BLMOVE and BRPOPLPUSH. They view
	// argv.
	Keys [][]byte
	// Timeout is how long to wait, rounded up to a millisecond; 0 means no
	// limit.
	Timeout time.Duration
}

// ParseBlocking reports whether argv (already validated) is a call of a
// blocking list command, and what it waits for. A timeout too long for a
// time.Duration (about 292 years) is reported as 0: no limit.
func ParseBlocking(argv [][]byte) (Blocking, bool) {
	if len(argv) < 3 {
		return Blocking{}, false
	}
	var b Blocking
	var t []byte
	switch {
	case EqualFold(argv[0], "blpop"), EqualFold(argv[0], "brpop"):
		b.Keys, t = argv[1:len(argv)-1], argv[len(argv)-1]
	case EqualFold(argv[0], "brpoplpush"), EqualFold(argv[0], "blmove"):
		b.Keys, t = argv[1:2], argv[len(argv)-1]
	case EqualFold(argv[0], "blmpop"):
		m, err := ParseListMPop(argv)
		if err != nil {
			return Blocking{}, false
		}
		b.Keys, t = m.Keys, argv[1]
	default:
		return Blocking{}, false
	}
	ms, err := ParseBlockTimeout(t)
	if err != nil {
		return Blocking{}, false
	}
	if ms <= math.MaxInt64/int64(time.Millisecond) {
		b.Timeout = time.Duration(ms) * time.Millisecond
	}
	return b, true
}

func checkListPop(argv [][]byte) error {
	_, _, err := ParseListPopCount(argv)
	return err
}

func checkListIndex(argv [][]byte) error {
	_, err := ParseListIndex(argv)
	return err
}

func checkListInsert(argv [][]byte) error {
	_, err := ParseListInsert(argv)
	return err
}

func checkListPos(argv [][]byte) error {
	_, err := ParseListPos(argv)
	return err
}

// checkListMove checks LMOVE, and BLMOVE's timeout after its ends, as
// Redis reads them.
func checkListMove(argv [][]byte) error {
	if _, _, err := ParseListMove(argv); err != nil {
		return err
	}
	if len(argv) == 6 {
		return checkBlockTimeout(argv[5])
	}
	return nil
}

// checkListMPop checks LMPOP and BLMPOP, and BLMPOP's deadline.
func checkListMPop(argv [][]byte) error {
	if _, err := ParseListMPop(argv); err != nil {
		return err
	}
	if EqualFold(argv[0], "blmpop") {
		return checkBlockTimeout(argv[1])
	}
	return nil
}

// checkListBPop checks the timeout of BLPOP, BRPOP and BRPOPLPUSH, their
// last argument.
func checkListBPop(argv [][]byte) error {
	return checkBlockTimeout(argv[len(argv)-1])
}
