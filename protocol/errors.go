package protocol

import "errors"

// ProtocolError is a request that breaks the RESP grammar or a limit. The
// server answers it as Redis does, "-ERR Protocol error: <Reason>", and
// closes the connection; nothing of the request runs.
type ProtocolError struct {
	// Reason is Redis's wording, e.g. "invalid bulk length".
	Reason string
}

func (e *ProtocolError) Error() string { return "protocol: " + e.Reason }

// reply is the error line sent to the client.
func (e *ProtocolError) reply() string { return "-ERR Protocol error: " + e.Reason + "\r\n" }

// The errors of the package.
var (
	// ErrServerClosed is returned by Serve after Shutdown or Close.
	ErrServerClosed = errors.New("protocol: server closed")

	// ErrInvalidBulkLength: a "$" header that is not a number in
	// 0..proto-max-bulk-len, or an argument not followed by CRLF.
	ErrInvalidBulkLength = &ProtocolError{Reason: "invalid bulk length"}
	// ErrInvalidMultibulkLength: a "*" header that is not a number in
	// 1..1048576.
	ErrInvalidMultibulkLength = &ProtocolError{Reason: "invalid multibulk length"}
	// ErrTooBigInline: an inline command longer than 64 KiB.
	ErrTooBigInline = &ProtocolError{Reason: "too big inline request"}
	// ErrTooBigCount: a "*" header line longer than 64 KiB.
	ErrTooBigCount = &ProtocolError{Reason: "too big mbulk count string"}
	// ErrTooBigBulkCount: a "$" header line longer than 64 KiB.
	ErrTooBigBulkCount = &ProtocolError{Reason: "too big bulk count string"}
	// ErrQueryBufferLimit: one request larger than Limits.MaxRequest.
	ErrQueryBufferLimit = &ProtocolError{Reason: "query buffer limit exceeded"}

	// ErrUnknownParam is returned by a Config.SetParam hook for a parameter
	// it does not know; CONFIG SET answers Redis's "Unknown option" error.
	ErrUnknownParam = errors.New("protocol: unknown configuration parameter")
	// ErrImmutableParam is returned by a Config.SetParam hook for a
	// parameter that cannot change at run time.
	ErrImmutableParam = errors.New("protocol: can't set immutable config")
)
