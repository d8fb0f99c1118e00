package wal

import (
	"errors"
	"fmt"
	"log/slog"
)

// DefaultSegmentSize is the size after which the active segment is sealed and
// a new one started.
const DefaultSegmentSize = 64 << 20

// minSegmentSize keeps a rolled segment holding at least one record.
const minSegmentSize = 1 << 10

// Options configure a Log. The zero value plus Dir is a working
// configuration.
type Options struct {
	// Dir is the directory holding the segment files; created if missing.
	Dir string

	// SegmentSize is the size in bytes after which the active segment is
	// sealed and a new one started (a segment ends with the batch that
	// crossed it). Default DefaultSegmentSize; at least 1 KiB, at most 1 GiB.
	SegmentSize int64

	// NoCompress keeps sealed segments as they are. By default each sealed
	// segment is zstd-compressed in the background.
	NoCompress bool

	// ReadOnly opens the log for inspection (dump, verify): no file is ever
	// created, changed or removed, and a torn tail is reported by TornTail
	// instead of cut. Writes return ErrReadOnly.
	ReadOnly bool

	// Logger receives warnings (a torn tail cut at Open) and background
	// errors (compression). Default slog.Default().
	Logger *slog.Logger

	// FS is the filesystem. Default OSFS{}.
	FS FS
}

// EnsureDefaults fills in the zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.FS == nil {
		o.FS = OSFS{}
	}
}

// Validate reports every problem with the options at once. Call it after
// EnsureDefaults.
func (o *Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("Dir is empty"))
	}
	if o.SegmentSize < minSegmentSize || o.SegmentSize > 1<<30 {
		errs = append(errs, fmt.Errorf("SegmentSize %d is outside [%d, %d]", o.SegmentSize, minSegmentSize, 1<<30))
	}
	if o.Logger == nil {
		errs = append(errs, errors.New("Logger is nil"))
	}
	if o.FS == nil {
		errs = append(errs, errors.New("FS is nil"))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidOptions, errors.Join(errs...))
}
