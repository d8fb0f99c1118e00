// Package schema is memimg's command catalog: for every command the server
// knows it holds the name, the arity, the flags (read or write, fast, admin,
// connection-level), where the keys are, a syntax check that runs before
// anything is logged, and the documentation COMMAND DOCS serves.
//
// It also defines the log payload: the versioned encoding of one command
// into the bytes a wal record carries. The engine alone gives a payload its
// meaning; the wal stores it opaquely.
//
// # Validation
//
// A command is checked in three steps, all before it reaches the log:
//
//  1. Lookup: an unknown name is refused with Redis's own text
//     ("ERR unknown command 'x', with args beginning with: ...").
//  2. Arity: Redis's convention, a positive arity is exact and a negative one
//     is a minimum, counting the command name
//     ("ERR wrong number of arguments for 'get' command").
//  3. Check: the command's own syntax check (options, integers, floats),
//     which never looks at the data set. Errors that depend on the data set
//     (WRONGTYPE, an INCR on a non-integer value) are found by the engine when
//     the command applies; such a command is logged and fails the same way on
//     every replay.
//
// # Log payload (version 1)
//
// A payload is one command: the selected database and the argument vector,
// the command name first, lower-cased. Integers are unsigned varints
// (encoding/binary.AppendUvarint).
//
//	+---------+-----------+-------------+--------------------------------+
//	| version | db        | argc        | argc × ( len      | bytes    ) |
//	| 1 byte  | uvarint   | uvarint     |          uvarint  | len bytes  |
//	+---------+-----------+-------------+--------------------------------+
//
// The version byte is part of the frozen format: a decoder that meets a
// version it does not know refuses the payload (ErrPayloadVersion) rather than
// guess. A later version is upcast to the current one by DecodeCommand.
package schema
