package snapshot

import "errors"

// The errors of the package.
var (
	// ErrNoSnapshot is returned by Info when the store holds no snapshot.
	ErrNoSnapshot = errors.New("snapshot: no snapshot")
	// ErrCorrupt means the store's contents are damaged: a bad metadata
	// record, a data key or value that cannot be decoded, or data that does
	// not match the metadata's key count or digest.
	ErrCorrupt = errors.New("snapshot: corrupt")
	// ErrVersion means the store was written in a format (or with a value
	// encoding) this build does not know.
	ErrVersion = errors.New("snapshot: unknown format version")
	// ErrLocked means another process held the store's lock for longer
	// than Options.LockTimeout.
	ErrLocked = errors.New("snapshot: store locked by another process")
	// ErrInProgress is returned by Saver.BGSave and Saver.Save while a
	// snapshot is being written.
	ErrInProgress = errors.New("snapshot: a snapshot is already in progress")
	// ErrClosed is returned after Saver.Close.
	ErrClosed = errors.New("snapshot: closed")
	// ErrInvalidOptions wraps the problems Options.Validate finds.
	ErrInvalidOptions = errors.New("snapshot: invalid options")
	// ErrBadRules is returned by ParseRules.
	ErrBadRules = errors.New("snapshot: save rules are pairs of <seconds> <changes>")
)
