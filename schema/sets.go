package schema

// The set commands (Redis's "set" group). Arity, flags and key positions
// are Redis 7's (SINTERCARD's keys are movable: its numkeys says where they
// end, so it declares none, as Redis's first-key/last-key fields do). The
// checks refuse every input that could never apply, with Redis's error
// texts; the engine parses the arguments again with the same functions when
// a command applies.
func init() {
	const w, r, f, d, rnd = Write, ReadOnly, Fast, DenyOOM, Random
	cmds := []*Command{
		{Name: "sadd", Arity: -3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Add one or more members to a set", Since: "1.0.0"},
		{Name: "scard", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Get the number of members in a set", Since: "1.0.0"},
		{Name: "sdiff", Arity: -2, Flags: r, FirstKey: 1, LastKey: -1, Step: 1,
			Summary: "Subtract multiple sets", Since: "1.0.0"},
		{Name: "sdiffstore", Arity: -3, Flags: w | d, FirstKey: 1, LastKey: -1, Step: 1,
			Summary: "Subtract multiple sets and store the resulting set in a key", Since: "1.0.0"},
		{Name: "sinter", Arity: -2, Flags: r, FirstKey: 1, LastKey: -1, Step: 1,
			Summary: "Intersect multiple sets", Since: "1.0.0"},
		{Name: "sintercard", Arity: -3, Flags: r,
			Summary: "Intersect multiple sets and return the cardinality of the result", Since: "7.0.0",
			Check: func(argv [][]byte) error { _, err := ParseSInterCard(argv); return err }},
		{Name: "sinterstore", Arity: -3, Flags: w | d, FirstKey: 1, LastKey: -1, Step: 1,
			Summary: "Intersect multiple sets and store the resulting set in a key", Since: "1.0.0"},
		{Name: "sismember", Arity: 3, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Determine if a given value is a member of a set", Since: "1.0.0"},
		{Name: "smembers", Arity: 2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Get all the members in a set", Since: "1.0.0"},
		{Name: "smismember", Arity: -3, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the membership associated with the given elements for a set", Since: "6.2.0"},
		{Name: "smove", Arity: 4, Flags: w | f, FirstKey: 1, LastKey: 2, Step: 1,
			Summary: "Move a member from one set to another", Since: "1.0.0"},
		{Name: "spop", Arity: -2, Flags: w | f | rnd, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Remove and return one or multiple random members from a set", Since: "1.0.0",
			Check: func(argv [][]byte) error { _, err := ParseSPop(argv); return err }},
		{Name: "srandmember", Arity: -2, Flags: r | rnd, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Get one or multiple random members from a set", Since: "1.0.0",
			Check: func(argv [][]byte) error { _, err := ParseSRandMember(argv); return err }},
		{Name: "srem", Arity: -3, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Remove one or more members from a set", Since: "1.0.0"},
		{Name: "sscan", Arity: -3, Flags: r | rnd, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Incrementally iterate Set elements", Since: "2.8.0",
			Check: func(argv [][]byte) error { _, err := ParseSScan(argv); return err }},
		{Name: "sunion", Arity: -2, Flags: r, FirstKey: 1, LastKey: -1, Step: 1,
			Summary: "Add multiple sets", Since: "1.0.0"},
		{Name: "sunionstore", Arity: -3, Flags: w | d, FirstKey: 1, LastKey: -1, Step: 1,
			Summary: "Add multiple sets and store the resulting set in a key", Since: "1.0.0"},
	}
	for _, c := range cmds {
		c.Group = "set"
	}
	register(cmds...)
}

// The errors of the set commands.
var (
	// ErrNotPositive is Redis's getPositiveLongFromObjectOrReply error
	// (SPOP's count), for a negative number or no number at all.
	ErrNotPositive = Error("ERR value is out of range, must be positive")
	// ErrNumKeys is SINTERCARD's error for a numkeys that is not a
	// positive integer.
	ErrNumKeys = Error("ERR numkeys should be greater than 0")
	// ErrNumKeysArgs is SINTERCARD's error for a numkeys larger than the
	// number of keys given.
	ErrNumKeysArgs = Error("ERR Number of keys can't be greater than number of args")
	// ErrLimitNegative is SINTERCARD's error for a LIMIT that is not a
	// non-negative integer.
	ErrLimitNegative = Error("ERR LIMIT can't be negative")
)

// SPopArgs are the arguments of SPOP key [count].
type SPopArgs struct {
	// HasCount is false for the form without a count, which replies with
	// one member (or a null) rather than a set.
	HasCount bool
	Count    int64
}

// ParseSPop reads SPOP key [count]: more than one count is a syntax error,
// checked before the count as Redis does; the count is a non-negative
// integer, and anything else is ErrNotPositive (Redis's
// getPositiveLongFromObjectOrReply gives that text for a word too).
func ParseSPop(argv [][]byte) (SPopArgs, error) {
	switch {
	case len(argv) == 2:
		return SPopArgs{}, nil
	case len(argv) > 3:
		return SPopArgs{}, ErrSyntax
	}
	n, ok := ParseInt(argv[2])
	if !ok || n < 0 {
		return SPopArgs{}, ErrNotPositive
	}
	return SPopArgs{HasCount: true, Count: n}, nil
}

// ParseSRandMember reads SRANDMEMBER key [count]: more than one count is a
// syntax error; the count is in Redis's range [-2^63+1, 2^63-1], and a
// negative one within memimg's MaxRandomRepeats.
func ParseSRandMember(argv [][]byte) (RandArgs, error) {
	switch {
	case len(argv) == 2:
		return RandArgs{}, nil
	case len(argv) > 3:
		return RandArgs{}, ErrSyntax
	}
	n, err := parseRandCount(argv[2])
	if err == nil {
		err = checkRepeats(n)
	}
	if err != nil {
		return RandArgs{}, err
	}
	return RandArgs{HasCount: true, Count: n}, nil
}

// SInterCardArgs are the arguments of SINTERCARD numkeys key [key ...]
// [LIMIT limit].
type SInterCardArgs struct {
	// Keys are the set keys (a slice of argv).
	Keys [][]byte
	// Limit stops the count when reached; 0 means no limit.
	Limit int64
}

// ParseSInterCard reads SINTERCARD's arguments in Redis's order: numkeys
// (an integer from 1), the number of keys left, then the options, where
// the last LIMIT wins.
func ParseSInterCard(argv [][]byte) (SInterCardArgs, error) {
	n, ok := ParseInt(argv[1])
	if !ok || n < 1 {
		return SInterCardArgs{}, ErrNumKeys
	}
	if n > int64(len(argv)-2) {
		return SInterCardArgs{}, ErrNumKeysArgs
	}
	a := SInterCardArgs{Keys: argv[2 : 2+n]}
	for j := 2 + int(n); j < len(argv); j++ {
		if !EqualFold(argv[j], "limit") || j+1 >= len(argv) {
			return SInterCardArgs{}, ErrSyntax
		}
		j++
		l, ok := ParseInt(argv[j])
		if !ok || l < 0 {
			return SInterCardArgs{}, ErrLimitNegative
		}
		a.Limit = l
	}
	return a, nil
}
