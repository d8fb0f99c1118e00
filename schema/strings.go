package schema

import (
	"math"
	"math/big"
	"time"
)

// The string commands (Redis's "string" group). Their checks reject every
// input that could never apply, with Redis's error texts, before anything is
// logged; the engine calls the same parsers again when a command applies, so
// live apply and replay read the arguments exactly as the check did.
func init() {
	const w, r, f, d = Write, ReadOnly, Fast, DenyOOM
	cmds := []*Command{
		&Command{Name: "append", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.",
			Since:   "2.0.0"},
		&Command{Name: "decr", Arity: 2, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
			Since:   "1.0.0"},
		&Command{Name: "decrby", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
			Since:   "1.0.0", Check: checkDecrBy},
		&Command{Name: "get", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the string value of a key.",
			Since:   "1.0.0"},
		&Command{Name: "getdel", Arity: 2, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the string value of a key after deleting the key.",
			Since:   "6.2.0"},
		&Command{Name: "getex", Arity: -2, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the string value of a key after setting its expiration time.",
			Since:   "6.2.0", Check: checkGetEx},
		&Command{Name: "getrange", Arity: 4, Flags: r, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns a substring of the string stored at a key.",
			Since:   "2.4.0", Check: checkRange},
		&Command{Name: "getset", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the previous string value of a key after setting it to a new value.",
			Since:   "1.0.0"},
		&Command{Name: "incr", Arity: 2, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
			Since:   "1.0.0"},
		&Command{Name: "incrby", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
			Since:   "1.0.0", Check: checkIncrBy},
		&Command{Name: "incrbyfloat", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
			Since:   "2.6.0", Check: checkIncrByFloat},
		&Command{Name: "lcs", Arity: -3, Flags: r, FirstKey: 1, LastKey: 2, Step: 1,
			Summary: "Finds the longest common substring.",
			Since:   "7.0.0", Check: checkLCS},
		&Command{Name: "mget", Arity: -2, Flags: r | f, FirstKey: 1, LastKey: -1, Step: 1,
			Summary: "Atomically returns the string values of one or more keys.",
			Since:   "1.0.0"},
		&Command{Name: "mset", Arity: -3, Flags: w | d, FirstKey: 1, LastKey: -1, Step: 2,
			Summary: "Atomically creates or modifies the string values of one or more keys.",
			Since:   "1.0.1", Check: checkMSet},
		&Command{Name: "msetnx", Arity: -3, Flags: w | d, FirstKey: 1, LastKey: -1, Step: 2,
			Summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.",
			Since:   "1.0.1", Check: checkMSet},
		&Command{Name: "psetex", Arity: 4, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
			Since:   "2.6.0", Check: checkSetEx},
		&Command{Name: "set", Arity: -3, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
			Since:   "1.0.0", Check: checkSet},
		&Command{Name: "setex", Arity: 4, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
			Since:   "2.0.0", Check: checkSetEx},
		&Command{Name: "setnx", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Set the string value of a key only when the key doesn't exist.",
			Since:   "1.0.0"},
		&Command{Name: "setrange", Arity: 4, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
			Since:   "2.2.0", Check: checkSetRange},
		&Command{Name: "strlen", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns the length of a string value.",
			Since:   "2.2.0"},
		&Command{Name: "substr", Arity: 4, Flags: r, FirstKey: 1, LastKey: 1, Step: 1,
			Summary: "Returns a substring from string value.",
			Since:   "1.0.0", Check: checkRange},
	}
	for _, c := range cmds {
		c.Group = "string"
	}
	register(cmds...)
}

// MaxStringLen is the largest string value, Redis's default
// proto-max-bulk-len (512 MB).
const MaxStringLen = 512 << 20

// The errors of the string commands whose text no other group shares.
var (
	// ErrDecrOverflow is DECRBY's error for a decrement of LLONG_MIN.
	ErrDecrOverflow = Error("ERR decrement would overflow")
	// ErrLCSBothLenIdx is LCS's error for LEN and IDX given together.
	ErrLCSBothLenIdx = Error("ERR If you want both the length and indexes, please just use IDX.")
	// ErrLCSNotString is LCS's error for a key holding another type.
	ErrLCSNotString = Error("ERR The specified keys must contain string values")
	// ErrLCSTooBig is LCS's error when its table would exceed
	// proto-max-bulk-len.
	ErrLCSTooBig = Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
)

// ExpireMode says how the number of an expire option is read.
type ExpireMode uint8

// The expire modes: relative seconds or milliseconds (EX, PX, SETEX,
// PSETEX), or an absolute unix time in seconds or milliseconds (EXAT, PXAT).
const (
	ExpireNone ExpireMode = iota
	ExpireEX
	ExpirePX
	ExpireEXAT
	ExpirePXAT
)

// Expire is an expire option as given: the mode and its number, already
// checked to be positive and, in seconds, convertible to milliseconds.
type Expire struct {
	Mode ExpireMode
	N    int64
}

// At returns the absolute expiry time, unix milliseconds, of x at time now
// (unix milliseconds; the entry's time when a command applies). A relative
// time that overflows past the end of time is Redis's "invalid expire time"
// error for cmd.
func (x Expire) At(cmd string, now int64) (int64, error) {
	ms := x.N
	if x.Mode == ExpireEX || x.Mode == ExpireEXAT {
		ms *= 1000 // cannot overflow: parseExpire bounds N
	}
	if x.Mode == ExpireEX || x.Mode == ExpirePX {
		if ms > math.MaxInt64-now {
			return 0, InvalidExpire(cmd)
		}
		ms += now
	}
	return ms, nil
}

// parseExpire reads the number of an expire option as Redis's
// getExpireMillisecondsOrReply does before it adds the current time.
func parseExpire(cmd string, mode ExpireMode, b []byte) (Expire, error) {
	n, ok := ParseInt(b)
	if !ok {
		return Expire{}, ErrNotInteger
	}
	seconds := mode == ExpireEX || mode == ExpireEXAT
	if n <= 0 || (seconds && n > math.MaxInt64/1000) {
		return Expire{}, InvalidExpire(cmd)
	}
	return Expire{Mode: mode, N: n}, nil
}

// checkExpireNow refuses a relative expire that would overflow at the
// current time, as Redis does. Apply checks again at the entry's time, so
// the outcome stays deterministic even for a number at the very edge.
func checkExpireNow(cmd string, x Expire) error {
	if x.Mode == ExpireNone {
		return nil
	}
	_, err := x.At(cmd, time.Now().UnixMilli())
	return err
}

// SetOptions are the options of SET.
type SetOptions struct {
	NX, XX  bool
	Get     bool
	KeepTTL bool
	Expire  Expire
}

// GetExOptions are the options of GETEX.
type GetExOptions struct {
	Persist bool
	Expire  Expire
}

// extOptions is what parseExtended collects.
type extOptions struct {
	nx, xx, get, keepTTL, persist bool
	mode                          ExpireMode
	expire                        []byte
}

// parseExtended reads the options of SET (from argv[3]) or GETEX (from
// argv[2]) as Redis's parseExtendedStringArgumentsOrReply does: the same
// option may repeat (the last number wins) but conflicting ones are a
// syntax error. The expire number is read only after the whole syntax is
// known to be good, which orders the errors as Redis does.
func parseExtended(argv [][]byte, set bool) (extOptions, error) {
	var o extOptions
	start := 2
	if set {
		start = 3
	}
	for j := start; j < len(argv); j++ {
		opt := argv[j]
		hasNext := j+1 < len(argv)
		noExpire := o.mode == ExpireNone
		switch {
		case set && EqualFold(opt, "nx") && !o.xx:
			o.nx = true
		case set && EqualFold(opt, "xx") && !o.nx:
			o.xx = true
		case set && EqualFold(opt, "get"):
			o.get = true
		case set && EqualFold(opt, "keepttl") && !o.persist && noExpire:
			o.keepTTL = true
		case !set && EqualFold(opt, "persist") && noExpire && !o.keepTTL:
			o.persist = true
		case EqualFold(opt, "ex") && hasNext && !o.keepTTL && !o.persist && (noExpire || o.mode == ExpireEX):
			o.mode, o.expire = ExpireEX, argv[j+1]
			j++
		case EqualFold(opt, "px") && hasNext && !o.keepTTL && !o.persist && (noExpire || o.mode == ExpirePX):
			o.mode, o.expire = ExpirePX, argv[j+1]
			j++
		case EqualFold(opt, "exat") && hasNext && !o.keepTTL && !o.persist && (noExpire || o.mode == ExpireEXAT):
			o.mode, o.expire = ExpireEXAT, argv[j+1]
			j++
		case EqualFold(opt, "pxat") && hasNext && !o.keepTTL && !o.persist && (noExpire || o.mode == ExpirePXAT):
			o.mode, o.expire = ExpirePXAT, argv[j+1]
			j++
		default:
			return o, ErrSyntax
		}
	}
	return o, nil
}

// ParseSetOptions parses SET key value [NX | XX] [GET] [EX s | PX ms |
// EXAT unix-s | PXAT unix-ms | KEEPTTL]. It does not look at the clock; see
// Expire.At.
func ParseSetOptions(argv [][]byte) (SetOptions, error) {
	o, err := parseExtended(argv, true)
	if err != nil {
		return SetOptions{}, err
	}
	s := SetOptions{NX: o.nx, XX: o.xx, Get: o.get, KeepTTL: o.keepTTL}
	if o.mode != ExpireNone {
		if s.Expire, err = parseExpire("set", o.mode, o.expire); err != nil {
			return SetOptions{}, err
		}
	}
	return s, nil
}

// ParseGetExOptions parses GETEX key [EX s | PX ms | EXAT unix-s |
// PXAT unix-ms | PERSIST].
func ParseGetExOptions(argv [][]byte) (GetExOptions, error) {
	o, err := parseExtended(argv, false)
	if err != nil {
		return GetExOptions{}, err
	}
	g := GetExOptions{Persist: o.persist}
	if o.mode != ExpireNone {
		if g.Expire, err = parseExpire("getex", o.mode, o.expire); err != nil {
			return GetExOptions{}, err
		}
	}
	return g, nil
}

// ParseSetEx parses the time of SETEX key seconds value and PSETEX key
// milliseconds value.
func ParseSetEx(argv [][]byte) (Expire, error) {
	if EqualFold(argv[0], "psetex") {
		return parseExpire("psetex", ExpirePX, argv[2])
	}
	return parseExpire("setex", ExpireEX, argv[2])
}

// ParseIncrement parses the increment of INCRBY and DECRBY; DECRBY's is
// negated, and refused if it cannot be.
func ParseIncrement(argv [][]byte) (int64, error) {
	n, ok := ParseInt(argv[2])
	if !ok {
		return 0, ErrNotInteger
	}
	if EqualFold(argv[0], "decrby") {
		if n == math.MinInt64 {
			return 0, ErrDecrOverflow
		}
		n = -n
	}
	return n, nil
}

// ParseRange parses the start and end of GETRANGE and SUBSTR.
func ParseRange(argv [][]byte) (start, end int64, err error) {
	var ok bool
	if start, ok = ParseInt(argv[2]); !ok {
		return 0, 0, ErrNotInteger
	}
	if end, ok = ParseInt(argv[3]); !ok {
		return 0, 0, ErrNotInteger
	}
	return start, end, nil
}

// ParseSetRange parses the offset of SETRANGE key offset value and refuses
// a result longer than MaxStringLen (a value that sets nothing is never too
// long: Redis answers it without looking at the offset's size).
func ParseSetRange(argv [][]byte) (int64, error) {
	off, ok := ParseInt(argv[2])
	if !ok {
		return 0, ErrNotInteger
	}
	if off < 0 {
		return 0, ErrOffsetRange
	}
	if n := int64(len(argv[3])); n > 0 && off > MaxStringLen-n {
		return 0, ErrStringTooLong
	}
	return off, nil
}

// LCSOptions are the options of LCS.
type LCSOptions struct {
	Len, Idx, WithMatchLen bool
	MinMatchLen            int64
}

// ParseLCSOptions parses LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n]
// [WITHMATCHLEN].
func ParseLCSOptions(argv [][]byte) (LCSOptions, error) {
	var o LCSOptions
	for j := 3; j < len(argv); j++ {
		opt := argv[j]
		switch {
		case EqualFold(opt, "idx"):
			o.Idx = true
		case EqualFold(opt, "len"):
			o.Len = true
		case EqualFold(opt, "withmatchlen"):
			o.WithMatchLen = true
		case EqualFold(opt, "minmatchlen") && j+1 < len(argv):
			n, ok := ParseInt(argv[j+1])
			if !ok {
				return LCSOptions{}, ErrNotInteger
			}
			if n < 0 {
				n = 0
			}
			o.MinMatchLen = n
			j++
		default:
			return LCSOptions{}, ErrSyntax
		}
	}
	if o.Idx && o.Len {
		return LCSOptions{}, ErrLCSBothLenIdx
	}
	return o, nil
}

func checkSet(argv [][]byte) error {
	if len(argv) == 3 {
		return nil
	}
	o, err := ParseSetOptions(argv)
	if err != nil {
		return err
	}
	return checkExpireNow("set", o.Expire)
}

func checkGetEx(argv [][]byte) error {
	o, err := ParseGetExOptions(argv)
	if err != nil {
		return err
	}
	return checkExpireNow("getex", o.Expire)
}

func checkSetEx(argv [][]byte) error {
	x, err := ParseSetEx(argv)
	if err != nil {
		return err
	}
	if EqualFold(argv[0], "psetex") {
		return checkExpireNow("psetex", x)
	}
	return checkExpireNow("setex", x)
}

func checkIncrBy(argv [][]byte) error {
	_, err := ParseIncrement(argv)
	return err
}

func checkDecrBy(argv [][]byte) error {
	_, err := ParseIncrement(argv)
	return err
}

// checkIncrByFloat refuses an increment that is not a number, and an
// infinite one, which can never give a finite result (Redis answers the
// same NaN-or-Infinity error, after reading the key's value).
func checkIncrByFloat(argv [][]byte) error {
	_, err := ParseIncrByFloat(argv)
	return err
}

// ParseIncrByFloat parses the increment of INCRBYFLOAT key increment.
func ParseIncrByFloat(argv [][]byte) (*big.Float, error) {
	f, ok := ParseLongDouble(argv[2])
	if !ok {
		return nil, ErrNotFloat
	}
	if f.IsInf() {
		return nil, ErrNaNOrInf
	}
	return f, nil
}

func checkRange(argv [][]byte) error {
	_, _, err := ParseRange(argv)
	return err
}

func checkSetRange(argv [][]byte) error {
	_, err := ParseSetRange(argv)
	return err
}

func checkMSet(argv [][]byte) error {
	if len(argv)%2 == 0 {
		return WrongArity(string(argv[0]))
	}
	return nil
}

func checkLCS(argv [][]byte) error {
	_, err := ParseLCSOptions(argv)
	return err
}

// Long doubles. Redis computes INCRBYFLOAT in C's long double, which on
// x86-64 is the x87 80-bit format: a 64-bit mantissa and a 15-bit exponent.
// Its results ("0.1 + 0.2" is "0.3", not "0.30000000000000004") follow from
// that precision, so memimg computes with big.Float at 64 bits of
// precision, rounding to nearest even as the x87 does, and bounds the
// exponent to the 80-bit range. The arithmetic is pure Go, so replay gives
// the same bits on every platform.

// LongDoublePrec is the mantissa precision of an x87 long double.
const LongDoublePrec = 64

// The exponent bounds of an x87 long double, as big.Float's MantExp reports
// them (x = mant × 2^exp with 0.5 <= |mant| < 1): the largest finite value
// is just below 2^16384, the smallest subnormal is 2^-16445.
const (
	longDoubleMaxExp = 16384
	longDoubleMinExp = -16444
)

// maxLongDoubleChars is Redis's MAX_LONG_DOUBLE_CHARS: longer strings are
// not numbers.
const maxLongDoubleChars = 5 * 1024

// NewLongDouble returns a zero big.Float set up as a long double.
func NewLongDouble() *big.Float {
	return new(big.Float).SetPrec(LongDoublePrec).SetMode(big.ToNearestEven)
}

// LongDoubleFinite reports whether f is finite in the long double range;
// a sum that overflows it is what C calls infinity.
func LongDoubleFinite(f *big.Float) bool {
	return !f.IsInf() && (f.Sign() == 0 || f.MantExp(nil) <= longDoubleMaxExp)
}

// ParseLongDouble parses b as Redis's string2ld does with C's strtold: an
// optional sign, then a decimal number with an optional exponent, a
// hexadecimal one ("0x1.8p3"), or "inf"/"infinity" in any case. Spaces,
// NaN, values too large for a long double and values that underflow to
// zero are refused. The result is rounded to LongDoublePrec bits; infinity
// is returned as an infinite big.Float.
func ParseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= maxLongDoubleChars {
		return nil, false
	}
	neg := false
	s := b
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if EqualFold(s, "inf") || EqualFold(s, "infinity") {
		return NewLongDouble().SetInf(neg), true
	}
	var f *big.Float
	var ok bool
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		f, ok = parseHexLongDouble(s[2:])
	} else {
		f, ok = parseDecLongDouble(s)
	}
	if !ok {
		return nil, false
	}
	if f.Sign() != 0 {
		e := f.MantExp(nil)
		if e > longDoubleMaxExp || e < longDoubleMinExp {
			return nil, false // strtold's ERANGE to HUGE_VAL or to zero
		}
	}
	if neg {
		f.Neg(f)
	}
	return f, true
}

// scanDigits splits s into a mantissa of digits with at most one '.', and
// returns the digits without the point, how many of them follow it, and the
// rest of s.
func scanDigits(s []byte, hex bool) (digits []byte, frac int, rest []byte, ok bool) {
	seenPoint := false
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' && !seenPoint:
			seenPoint = true
		case '0' <= c && c <= '9', hex && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
			digits = append(digits, c)
			if seenPoint {
				frac++
			}
		default:
			return digits, frac, s[i:], len(digits) > 0
		}
	}
	return digits, frac, nil, len(digits) > 0
}

// scanExponent parses the exponent after its letter: an optional sign and
// at least one digit, and nothing after. A huge exponent is clamped: it
// over- or underflows whatever the mantissa is (the mantissa has at most
// maxLongDoubleChars digits).
func scanExponent(s []byte) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var e int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		if e < 1<<40 {
			e = e*10 + int64(c-'0')
		}
	}
	if neg {
		e = -e
	}
	return e, true
}

// parseDecLongDouble parses an unsigned decimal number exactly as a
// rational and rounds it once, to the nearest long double.
func parseDecLongDouble(s []byte) (*big.Float, bool) {
	digits, frac, rest, ok := scanDigits(s, false)
	if !ok {
		return nil, false
	}
	var exp int64
	if len(rest) > 0 {
		if rest[0] != 'e' && rest[0] != 'E' {
			return nil, false
		}
		if exp, ok = scanExponent(rest[1:]); !ok {
			return nil, false
		}
	}
	mant, _ := new(big.Int).SetString(string(digits), 10)
	f := NewLongDouble()
	if mant.Sign() == 0 {
		return f, true
	}
	exp -= int64(frac)
	// |value| >= 10^(exp) and < 10^(exp+len(digits)): outside the long
	// double range whatever the digits, so skip computing huge powers.
	if exp > 5000 || exp+int64(len(digits)) < -5000 {
		return nil, false // strtold's ERANGE: to HUGE_VAL or to zero
	}
	ten := big.NewInt(10)
	if exp >= 0 {
		mant.Mul(mant, new(big.Int).Exp(ten, big.NewInt(exp), nil))
		return f.SetInt(mant), true
	}
	den := new(big.Int).Exp(ten, big.NewInt(-exp), nil)
	return f.SetRat(new(big.Rat).SetFrac(mant, den)), true
}

// parseHexLongDouble parses the part of a hexadecimal number after "0x":
// hex digits with an optional point, and an optional binary exponent "p".
func parseHexLongDouble(s []byte) (*big.Float, bool) {
	digits, frac, rest, ok := scanDigits(s, true)
	if !ok {
		return nil, false
	}
	var exp int64
	if len(rest) > 0 {
		if rest[0] != 'p' && rest[0] != 'P' {
			return nil, false
		}
		if exp, ok = scanExponent(rest[1:]); !ok {
			return nil, false
		}
	}
	mant, _ := new(big.Int).SetString(string(digits), 16)
	f := NewLongDouble()
	if mant.Sign() == 0 {
		return f, true
	}
	exp -= 4 * int64(frac)
	if exp > 1<<20 || exp < -(1<<20) {
		return nil, false // out of range whatever the digits
	}
	// SetMantExp on an exact copy, then round once to 64 bits.
	exact := new(big.Float).SetInt(mant)
	exact.SetMantExp(exact, int(exp))
	return f.Set(exact), true
}

// FormatLongDouble formats f as Redis's ld2string does in its
// human-friendly mode: "%.17Lf", then trailing zeros and a trailing point
// cut, and "-0" written "0". f must be finite.
func FormatLongDouble(f *big.Float) string {
	s := f.Text('f', 17)
	i := len(s)
	for i > 0 && s[i-1] == '0' {
		i--
	}
	if i > 0 && s[i-1] == '.' {
		i--
	}
	s = s[:i]
	if s == "-0" {
		s = "0"
	}
	// Redis's buffer (maxLongDoubleChars) always has room: the largest long
	// double has 4933 integer digits.
	return s
}
