package schema

import (
	"errors"
	"fmt"
	"strings"
)

// Error is an error reply in Redis's form: the first word is the error code
// ("ERR", "WRONGTYPE", ...), the rest the message. Clients parse these texts,
// so they follow Redis to the letter.
type Error string

func (e Error) Error() string { return string(e) }

// The errors of the package. Error replies whose text is fixed are values
// here; those that name a command or argument are built by the functions
// below.
var (
	ErrSyntax        = Error("ERR syntax error")
	ErrNotInteger    = Error("ERR value is not an integer or out of range")
	ErrNotFloat      = Error("ERR value is not a valid float")
	ErrWrongType     = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
	ErrOverflow      = Error("ERR increment or decrement would overflow")
	ErrNoSuchKey     = Error("ERR no such key")
	ErrStringTooLong = Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
	ErrOffsetRange   = Error("ERR offset is out of range")
	ErrNaNOrInf      = Error("ERR increment would produce NaN or Infinity")
	ErrDBIndex       = Error("ERR DB index is out of range")

	// ErrPayloadVersion is returned by DecodeCommand for a payload written by
	// a newer format version.
	ErrPayloadVersion = errors.New("schema: unknown payload version")
	// ErrPayloadCorrupt is returned by DecodeCommand for a payload that does
	// not decode.
	ErrPayloadCorrupt = errors.New("schema: corrupt payload")
)

// WrongArity is the error for a wrong number of arguments to cmd.
func WrongArity(cmd string) Error {
	return Error(fmt.Sprintf("ERR wrong number of arguments for '%s' command", strings.ToLower(cmd)))
}

// UnknownCommand is Redis's error for an unknown command name, quoting the
// first arguments as Redis does.
func UnknownCommand(argv [][]byte) Error {
	var b strings.Builder
	name := ""
	if len(argv) > 0 {
		name = string(argv[0])
	}
	fmt.Fprintf(&b, "ERR unknown command '%s', with args beginning with: ", truncate(name, 128))
	for i := 1; i < len(argv) && b.Len() < 128; i++ {
		fmt.Fprintf(&b, "'%s' ", truncate(string(argv[i]), 128))
	}
	return Error(b.String())
}

// InvalidExpire is the error for a bad expire time given to cmd.
func InvalidExpire(cmd string) Error {
	return Error(fmt.Sprintf("ERR invalid expire time in '%s' command", strings.ToLower(cmd)))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
