package wal

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sort"

	"golang.org/x/sys/unix"
)

// FS is the small part of a filesystem the wal uses. The default, OSFS, is
// the operating system's; tests wrap it to inject failed fsyncs, short writes
// and full disks. Paths are full paths (Options.Dir joined with a file name).
type FS interface {
	// OpenFile opens or creates a file, as os.OpenFile.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Remove deletes a file.
	Remove(name string) error
	// Rename atomically replaces newname with oldname (same directory).
	Rename(oldname, newname string) error
	// ReadDir returns the names of the entries in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// MkdirAll creates dir and its missing parents.
	MkdirAll(dir string, perm fs.FileMode) error
	// SyncDir makes the creates, renames and removes done in dir durable.
	SyncDir(dir string) error
	// Lock takes an exclusive lock on the named file (created if missing),
	// held until the returned Closer is closed. It fails with ErrLocked if
	// another holder has it.
	Lock(name string) (io.Closer, error)
}

// File is an open segment file.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Sync makes the file's data and metadata durable (fsync).
	Sync() error
	// Datasync makes the file's data durable, and the metadata needed to
	// read it back, such as its size (fdatasync).
	Datasync() error
	// Size returns the file's current size.
	Size() (int64, error)
}

// OSFS is the operating system's filesystem.
type OSFS struct{}

var (
	_ FS   = OSFS{}
	_ File = (*osFile)(nil)
)

// OpenFile implements FS.
func (OSFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &osFile{File: f, fd: int(f.Fd())}, nil
}

// Remove implements FS.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// Rename implements FS.
func (OSFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// ReadDir implements FS.
func (OSFS) ReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	sort.Strings(names)
	return names, nil
}

// MkdirAll implements FS.
func (OSFS) MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }

// SyncDir implements FS.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// Lock implements FS with flock(2).
func (OSFS) Lock(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, err
	}
	return f, nil
}

type osFile struct {
	*os.File
	fd int
}

func (f *osFile) Datasync() error {
	for {
		err := unix.Fdatasync(f.fd)
		if err != unix.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}

func (f *osFile) Size() (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
