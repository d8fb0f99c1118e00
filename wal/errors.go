package wal

import (
	"errors"
	"fmt"
)

// Errors returned by the wal. Match them with errors.Is; the returned errors
// usually wrap one of these with the step that failed.
var (
	// ErrCorrupt means that data that was once written whole fails its
	// checks: a bad checksum or frame in a sealed segment or in the middle of
	// the last one, a bad segment header, a gap between segments. The log
	// refuses to open rather than skip it. The concrete error is a
	// *CorruptError naming the segment file and the byte offset.
	ErrCorrupt = errors.New("wal: corrupt log")

	// ErrNotFound is returned for an index outside [FirstIndex, LastIndex],
	// or for a record removed by a truncation while it was being read.
	ErrNotFound = errors.New("wal: record not found")

	// ErrClosed is returned by Append, Sync, Get, ReadFrom, TruncateAfter,
	// DeleteBefore and Close once the log is closed.
	ErrClosed = errors.New("wal: log closed")

	// ErrOutOfOrder is returned by Append when a record's index is not the
	// next one (LastIndex()+1, then contiguous), or is 0.
	ErrOutOfOrder = errors.New("wal: record index out of order")

	// ErrReadOnly is returned by the methods that would write to a log
	// opened with Options.ReadOnly.
	ErrReadOnly = errors.New("wal: log opened read-only")

	// ErrTooLarge is returned by Append for a record whose payload exceeds
	// MaxRecordSize, or a batch too large for one segment file.
	ErrTooLarge = errors.New("wal: record too large")

	// ErrFailed is returned by Append and Sync once an fsync has failed (or
	// a failed write could not be undone). After a failed fsync the kernel may
	// have dropped the dirty pages, so what the page cache shows may not be on
	// disk: the log stops accepting writes rather than pretend (PostgreSQL's
	// "fsync panic" rule). Close it and Open it again; recovery reads what is
	// really on disk. The returned error also wraps the original cause.
	ErrFailed = errors.New("wal: log failed after an I/O error; reopen to recover")

	// ErrLocked is returned by Open when another Log holds the directory.
	ErrLocked = errors.New("wal: directory is locked by another process")

	// ErrInvalidOptions wraps every problem reported by Options.Validate.
	ErrInvalidOptions = errors.New("wal: invalid options")
)

// CorruptError describes corruption found in a segment file. It matches
// ErrCorrupt with errors.Is.
type CorruptError struct {
	Segment string // segment file name, e.g. "00000000000000000001.wal"
	Offset  int64  // byte offset of the bad frame in the (uncompressed) segment
	Reason  string // what check failed
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s: segment %s offset %d: %s", ErrCorrupt.Error(), e.Segment, e.Offset, e.Reason)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// failedError is the sticky error of a failed log: it matches ErrFailed and
// the original cause.
type failedError struct{ cause error }

func (e *failedError) Error() string { return ErrFailed.Error() + ": " + e.cause.Error() }
func (e *failedError) Unwrap() []error {
	return []error{ErrFailed, e.cause}
}
