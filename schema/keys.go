package schema

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The keyspace commands (Redis's "generic" group, with MOVE, SWAPDB, COPY
// and OBJECT, and the "server" commands DBSIZE, FLUSHDB and FLUSHALL). Arity, flags and key positions
// are Redis 7.2's. Their checks refuse every input that could never apply
// with Redis's error texts; the engine parses the options again with the
// same functions when a command applies.
func init() {
	const w, r, f, rnd = Write, ReadOnly, Fast, Random
	generic := []*Command{
		{Name: "del", Arity: -2, Flags: w, FirstKey: 1, LastKey: -1, Step: 1,
			Summary: "Deletes one or more keys.", Since: "1.0.0"},
		{Name: "unlink", Arity: -2, Flags: w | f, FirstKey: 1, LastKey: -1, Step: 1,
			Summary: "Asynchronously deletes one or more keys.", Since: "4.0.0"},
		{Name: "exists", Arity: -2, Flags: r | f, FirstKey: 1, LastKey: -1, Step: 1,
			Summary: "Determines whether one or more keys exist.", Since: "1.0.0"},
		{Name: "type", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Determines the type of value stored at a key.", Since: "1.0.0"},
		{Name: "expire", Arity: -3, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Sets the expiration time of a key in seconds.", Since: "1.0.0",
			Check: checkExpire("expire")},
		{Name: "pexpire", Arity: -3, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Sets the expiration time of a key in milliseconds.", Since: "2.6.0",
			Check: checkExpire("pexpire")},
		{Name: "expireat", Arity: -3, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Sets the expiration time of a key to a Unix timestamp.", Since: "1.2.0",
			Check: checkExpire("expireat")},
		{Name: "pexpireat", Arity: -3, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.", Since: "2.6.0",
			Check: checkExpire("pexpireat")},
		{Name: "ttl", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the expiration time in seconds of a key.", Since: "1.0.0"},
		{Name: "pttl", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the expiration time in milliseconds of a key.", Since: "2.6.0"},
		{Name: "persist", Arity: 2, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Removes the expiration time of a key.", Since: "2.2.0"},
		{Name: "expiretime", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the expiration time of a key as a Unix timestamp.", Since: "7.0.0"},
		{Name: "pexpiretime", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.", Since: "7.0.0"},
		{Name: "keys", Arity: 2, Flags: r,
			Summary: "Returns all key names that match a pattern.", Since: "1.0.0"},
		{Name: "scan", Arity: -2, Flags: r | rnd,
			Summary: "Iterates over the key names in the database.", Since: "2.8.0",
			Check: func(argv [][]byte) error { _, err := ParseScan(argv); return err }},
		{Name: "randomkey", Arity: 1, Flags: r | rnd,
			Summary: "Returns a random key name from the database.", Since: "1.0.0"},
		{Name: "rename", Arity: 3, Flags: w, FirstKey: 1, LastKey: 2, Step: 1,
			Summary: "Renames a key and overwrites the destination.", Since: "1.0.0"},
		{Name: "renamenx", Arity: 3, Flags: w | f, FirstKey: 1, LastKey: 2, Step: 1,
			Summary: "Renames a key only when the target key name doesn't exist.", Since: "1.0.0"},
		{Name: "touch", Arity: -2, Flags: r | f, FirstKey: 1, LastKey: -1, Step: 1,
			Summary: "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
			Since:   "3.2.1"},
		{Name: "move", Arity: 3, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Moves a key to another database.", Since: "1.0.0",
			Check: checkMove},
		{Name: "swapdb", Arity: 3, Flags: w | f,
			Summary: "Swaps two Redis databases.", Since: "4.0.0",
			Check: checkSwapDB},
		{Name: "copy", Arity: -3, Flags: w | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1,
			Summary: "Copies the value of a key to a new key.", Since: "6.2.0",
			Check: func(argv [][]byte) error { _, err := ParseCopy(argv, -1); return err }},
		{Name: "object", Arity: -2, Flags: r, FirstKey: 2, LastKey: 2, Step: 1,
			Summary: "A container for object introspection commands.", Since: "2.2.3",
			Check: checkObject},
	}
	for _, c := range generic {
		c.Group = "generic"
	}
	server := []*Command{
		{Name: "dbsize", Arity: 1, Flags: r | f,
			Summary: "Returns the number of keys in the database.", Since: "1.0.0"},
		{Name: "flushdb", Arity: -1, Flags: w,
			Summary: "Remove all keys from the current database.", Since: "1.0.0",
			Check: func(argv [][]byte) error { _, err := ParseFlush(argv); return err }},
		{Name: "flushall", Arity: -1, Flags: w,
			Summary: "Removes all keys from all databases.", Since: "1.0.0",
			Check: func(argv [][]byte) error { _, err := ParseFlush(argv); return err }},
	}
	for _, c := range server {
		c.Group = "server"
	}
	register(append(generic, server...)...)
}

// The errors of the keyspace commands.
var (
	// ErrInvalidCursor is SCAN's error for a cursor that is not an unsigned
	// number, or (memimg) one this server did not hand out.
	ErrInvalidCursor = Error("ERR invalid cursor")
	// ErrExpireNXAndOthers is EXPIRE's error for NX given with XX, GT or LT.
	ErrExpireNXAndOthers = Error("ERR NX and XX, GT or LT options at the same time are not compatible")
	// ErrExpireGTAndLT is EXPIRE's error for GT given with LT.
	ErrExpireGTAndLT = Error("ERR GT and LT options at the same time are not compatible")
	// ErrSameObject is MOVE's error for the current database as the target,
	// and COPY's for a key copied onto itself.
	ErrSameObject = Error("ERR source and destination objects are the same")
	// ErrIntRange is Redis's error for an integer argument that parses but
	// does not fit in a C int (a DB index of MOVE or COPY). "must between"
	// is Redis's wording.
	ErrIntRange = Error("ERR value is out of range, value must between -2147483648 and 2147483647")
	// ErrSwapDBFirst and ErrSwapDBSecond are SWAPDB's errors for an index
	// that is not an integer (or does not fit in a C int).
	ErrSwapDBFirst  = Error("ERR invalid first DB index")
	ErrSwapDBSecond = Error("ERR invalid second DB index")
	// ErrNoLFU is OBJECT FREQ's error: memimg has no eviction policy, so no
	// LFU policy is ever selected.
	ErrNoLFU = Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. " +
		"Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
)

// ParseDBIndex reads a database index as Redis's getIntFromObjectOrReply
// does: "not an integer" for a non-number, "out of range" for a number
// outside a C int. Whether the database exists is the caller's check.
func ParseDBIndex(b []byte) (int, error) {
	n, ok := ParseInt(b)
	if !ok {
		return 0, ErrNotInteger
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, ErrIntRange
	}
	return int(n), nil
}

// ParseSwapDB reads SWAPDB's two indexes. A negative index is left to the
// range check of the caller ("ERR DB index is out of range"), as in Redis.
func ParseSwapDB(argv [][]byte) (a, b int, err error) {
	parse := func(v []byte, bad Error) (int, error) {
		n, ok := ParseInt(v)
		if !ok || n < math.MinInt32 || n > math.MaxInt32 {
			return 0, bad
		}
		return int(n), nil
	}
	if a, err = parse(argv[1], ErrSwapDBFirst); err != nil {
		return 0, 0, err
	}
	if b, err = parse(argv[2], ErrSwapDBSecond); err != nil {
		return 0, 0, err
	}
	return a, b, nil
}

// checkMove refuses what MOVE could never apply: an index that is not a
// C int, or negative (the upper bound depends on the server's databases
// and is checked when the command applies).
func checkMove(argv [][]byte) error {
	db, err := ParseDBIndex(argv[2])
	if err == nil && db < 0 {
		err = ErrDBIndex
	}
	return err
}

// checkSwapDB refuses what SWAPDB could never apply, as checkMove does.
func checkSwapDB(argv [][]byte) error {
	a, b, err := ParseSwapDB(argv)
	if err == nil && (a < 0 || b < 0) {
		err = ErrDBIndex
	}
	return err
}

// CopyArgs are the options of COPY source destination [DB db] [REPLACE].
type CopyArgs struct {
	// DB is the target database; -1 when not given (the current one).
	DB int
	// Replace lets COPY overwrite an existing destination.
	Replace bool
}

// ParseCopy reads COPY's options in Redis's order: each DB index is
// checked for range as soon as it is read ("ERR DB index is out of
// range", before a syntax error further on). databases is the number of
// databases; -1 when unknown (the schema's check), where only a negative
// index is known to be out of range and the engine checks the rest when
// the command applies.
func ParseCopy(argv [][]byte, databases int) (CopyArgs, error) {
	a := CopyArgs{DB: -1}
	for i := 3; i < len(argv); i++ {
		switch {
		case EqualFold(argv[i], "replace"):
			a.Replace = true
		case EqualFold(argv[i], "db") && i+1 < len(argv):
			n, err := ParseDBIndex(argv[i+1])
			if err != nil {
				return CopyArgs{}, err
			}
			if n < 0 || (databases >= 0 && n >= databases) {
				return CopyArgs{}, ErrDBIndex
			}
			a.DB = n
			i++
		default:
			return CopyArgs{}, ErrSyntax
		}
	}
	return a, nil
}

// checkObject checks OBJECT's subcommand and its arity with Redis's texts.
func checkObject(argv [][]byte) error {
	sub := strings.ToLower(string(argv[1]))
	want := 3
	switch sub {
	case "encoding", "freq", "idletime", "refcount":
	case "help":
		want = 2
	default:
		return Error("ERR unknown subcommand '" + truncate(string(argv[1]), 128) + "'. Try OBJECT HELP.")
	}
	if len(argv) != want {
		return WrongArity("object|" + sub)
	}
	return nil
}

// ExpireArgs are the arguments of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT
// as given: the number, its unit and base, and the Redis 7 conditions.
type ExpireArgs struct {
	// Cmd is the lower-case command name, for error texts.
	Cmd string
	// N is the number as given: relative or absolute, seconds or ms.
	N int64
	// Millis is true for PEXPIRE and PEXPIREAT.
	Millis bool
	// Absolute is true for EXPIREAT and PEXPIREAT.
	Absolute bool
	// NX: only if the key has no TTL. XX: only if it has one. GT: only if
	// the new expiry is later than the current one (no TTL counts as
	// infinite). LT: only if it is earlier (no TTL counts as infinite).
	NX, XX, GT, LT bool
}

// ParseExpire reads the arguments of cmd ("expire", "pexpire", "expireat"
// or "pexpireat") key number [NX | XX | GT | LT ...] in Redis's order: the
// options first ("ERR Unsupported option x", the incompatibility errors),
// then the number. The conversion to milliseconds is checked too; the
// addition of the base time is checked by At.
func ParseExpire(cmd string, argv [][]byte) (ExpireArgs, error) {
	a := ExpireArgs{Cmd: cmd, Millis: cmd[0] == 'p', Absolute: strings.HasSuffix(cmd, "at")}
	for _, opt := range argv[3:] {
		switch {
		case EqualFold(opt, "nx"):
			a.NX = true
		case EqualFold(opt, "xx"):
			a.XX = true
		case EqualFold(opt, "gt"):
			a.GT = true
		case EqualFold(opt, "lt"):
			a.LT = true
		default:
			return ExpireArgs{}, Error("ERR Unsupported option " + string(opt))
		}
	}
	if a.NX && (a.XX || a.GT || a.LT) {
		return ExpireArgs{}, ErrExpireNXAndOthers
	}
	if a.GT && a.LT {
		return ExpireArgs{}, ErrExpireGTAndLT
	}
	n, ok := ParseInt(argv[2])
	if !ok {
		return ExpireArgs{}, ErrNotInteger
	}
	if !a.Millis && (n > math.MaxInt64/1000 || n < math.MinInt64/1000) {
		return ExpireArgs{}, InvalidExpire(cmd)
	}
	a.N = n
	return a, nil
}

// At returns the absolute expiry, unix milliseconds, that a asks for at
// time now (unix ms; the entry's time when the command applies). It may be
// in the past, which deletes the key. A time past the end of int64 is
// Redis's "invalid expire time" error.
func (a ExpireArgs) At(now int64) (int64, error) {
	when := a.N
	if !a.Millis {
		when *= 1000 // ParseExpire bounded N
	}
	if !a.Absolute {
		if when > math.MaxInt64-now {
			return 0, InvalidExpire(a.Cmd)
		}
		when += now
	}
	return when, nil
}

// Permits reports whether the conditions let the key's expiry change from
// cur (unix ms; 0 for none) to when.
func (a ExpireArgs) Permits(cur, when int64) bool {
	switch {
	case a.NX && cur != 0:
		return false
	case a.XX && cur == 0:
		return false
	case a.GT && (cur == 0 || when <= cur):
		return false
	case a.LT && cur != 0 && when >= cur:
		return false
	}
	return true
}

func checkExpire(cmd string) func([][]byte) error {
	return func(argv [][]byte) error {
		a, err := ParseExpire(cmd, argv)
		if err != nil {
			return err
		}
		// A relative time that overflows now is refused before logging;
		// apply checks again at the entry's time, deterministically.
		_, err = a.At(time.Now().UnixMilli())
		return err
	}
}

// ScanArgs are the arguments of SCAN cursor [MATCH pattern] [COUNT count]
// [TYPE type].
type ScanArgs struct {
	// Cursor is 0 to start an iteration, or a cursor SCAN returned.
	Cursor uint64
	// Match is the pattern; nil when absent or "*" (every key).
	Match []byte
	// Count is how many keys to visit; default 10.
	Count int64
	// Type is the lower-case type name to keep; "" keeps every type. A
	// name no type has is accepted and keeps nothing (Redis 7.2).
	Type string
}

// ParseScan reads SCAN's arguments as Redis does: the cursor first
// ("ERR invalid cursor"), then the options, where the last MATCH, COUNT or
// TYPE wins; a COUNT below 1 is a syntax error.
func ParseScan(argv [][]byte) (ScanArgs, error) {
	var a ScanArgs
	c, err := strconv.ParseUint(string(argv[1]), 10, 64)
	if err != nil {
		return ScanArgs{}, ErrInvalidCursor
	}
	a.Cursor, a.Count = c, 10
	for i := 2; i < len(argv); i += 2 {
		if i+1 >= len(argv) {
			return ScanArgs{}, ErrSyntax
		}
		switch v := argv[i+1]; {
		case EqualFold(argv[i], "count"):
			n, ok := ParseInt(v)
			if !ok {
				return ScanArgs{}, ErrNotInteger
			}
			if n < 1 {
				return ScanArgs{}, ErrSyntax
			}
			a.Count = n
		case EqualFold(argv[i], "match"):
			if len(v) == 1 && v[0] == '*' {
				a.Match = nil
			} else {
				a.Match = v
			}
		case EqualFold(argv[i], "type"):
			a.Type = strings.ToLower(string(v))
		default:
			return ScanArgs{}, ErrSyntax
		}
	}
	return a, nil
}

// ParseFlush reads the optional ASYNC or SYNC of FLUSHDB and FLUSHALL.
// memimg frees memory the same way in both cases (the garbage collector
// does it), so the mode changes nothing but is checked as Redis does.
func ParseFlush(argv [][]byte) (async bool, err error) {
	switch {
	case len(argv) == 1:
		return false, nil
	case len(argv) == 2 && EqualFold(argv[1], "async"):
		return true, nil
	case len(argv) == 2 && EqualFold(argv[1], "sync"):
		return false, nil
	}
	return false, ErrSyntax
}
