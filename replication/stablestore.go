package replication

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/hashicorp/raft"
)

// ErrKeyNotFound is returned by StableStore.Get and GetUint64 for a key that
// was never set. Its text is exactly "not found": hashicorp/raft recognises a
// missing key by err.Error() == "not found" (api.go, raft.go), the value
// raft-boltdb returns.
var ErrKeyNotFound = errors.New("not found")

// ErrStableCorrupt is returned by OpenStableStore when the file fails its
// checks (magic, version, length, checksum). The node's term and vote are
// then unknown: it must not take part in elections until an operator has
// looked (restoring the file from a backup, or rebuilding the node).
var ErrStableCorrupt = errors.New("replication: stable store file is corrupt")

// stableMagic opens the stable store file; stableVersion is its format.
var stableMagic = [4]byte{'M', 'I', 'R', 'S'}

const stableVersion = 1

// StableStore is a raft.StableStore kept in one small file (Raft stores the
// current term and the last vote in it). Every Set rewrites the whole file
// durably before returning: write path.tmp, fsync it, rename it over path,
// fsync the directory. So a crash leaves either the old or the new file, and
// a checksum catches any other damage. The file:
//
//	"MIRS" | version (1 byte) | count (uvarint)
//	count × ( uvarint len(key) | key | uvarint len(val) | val )
//	CRC-32C of everything before it (4 bytes, little-endian)
//
// Keys are written in sorted order. Its methods are safe for concurrent use.
// The store does not lock its file: the caller holds the data directory
// (the wal's lock) so no other process opens it.
type StableStore struct {
	path string

	mu     sync.Mutex
	kv     map[string][]byte
	failed error // set when a write may or may not have reached the disk
}

var _ raft.StableStore = (*StableStore)(nil)

// OpenStableStore opens the store in the file at path, or an empty one if
// the file does not exist. A leftover path.tmp (a crash during Set) is
// removed. A file that fails its checks is ErrStableCorrupt, never read as
// empty.
func OpenStableStore(path string) (*StableStore, error) {
	s := &StableStore{path: path, kv: map[string][]byte{}}
	if err := os.Remove(path + ".tmp"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("replication: stable store: remove leftover: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replication: stable store: %w", err)
	}
	kv, why := decodeStable(data)
	if why != "" {
		return nil, fmt.Errorf("%w: %s: %s", ErrStableCorrupt, path, why)
	}
	s.kv = kv
	return s, nil
}

// Path returns the store's file.
func (s *StableStore) Path() string { return s.path }

// Set implements raft.StableStore: it stores a copy of val under key and
// returns once the file is durable.
func (s *StableStore) Set(key, val []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return s.failed
	}
	k := string(key)
	old, had := s.kv[k]
	s.kv[k] = bytes.Clone(val)
	if s.kv[k] == nil {
		s.kv[k] = []byte{}
	}
	if err := s.writeLocked(); err != nil {
		if had {
			s.kv[k] = old
		} else {
			delete(s.kv, k)
		}
		return err
	}
	return nil
}

// Get implements raft.StableStore: the value of key, or ErrKeyNotFound.
func (s *StableStore) Get(key []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.kv[string(key)]
	if !ok {
		return nil, ErrKeyNotFound
	}
	return bytes.Clone(v), nil
}

// SetUint64 implements raft.StableStore: val is stored as 8 big-endian
// bytes, as raft-boltdb does.
func (s *StableStore) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 implements raft.StableStore: the value of key, or 0 and
// ErrKeyNotFound.
func (s *StableStore) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("replication: stable store: key %q holds %d bytes, not a uint64", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// writeLocked writes the whole map to the file durably.
func (s *StableStore) writeLocked() error {
	data := encodeStable(s.kv)
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("replication: stable store: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replication: stable store: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replication: stable store: %w", err)
	}
	// From here the new file may or may not survive a crash: after a
	// failure, what is on disk is unknown, so refuse further writes.
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		s.failed = fmt.Errorf("replication: stable store: sync dir after replacing %s (reopen to recover): %w", s.path, err)
		return s.failed
	}
	return nil
}

// syncDir fsyncs a directory, making a rename in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

var stableCRC = crc32.MakeTable(crc32.Castagnoli)

// encodeStable encodes the file's content.
func encodeStable(kv map[string][]byte) []byte {
	keys := make([]string, 0, len(kv))
	n := 16
	for k, v := range kv {
		keys = append(keys, k)
		n += len(k) + len(v) + 2*binary.MaxVarintLen64
	}
	sort.Strings(keys)
	b := make([]byte, 0, n)
	b = append(b, stableMagic[:]...)
	b = append(b, stableVersion)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(kv[k])))
		b = append(b, kv[k]...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, stableCRC))
}

// decodeStable decodes the file's content, or returns why it is not valid.
func decodeStable(data []byte) (map[string][]byte, string) {
	if len(data) < len(stableMagic)+1+1+4 {
		return nil, fmt.Sprintf("file of %d bytes is too short", len(data))
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if [4]byte(body[:4]) != stableMagic {
		return nil, "bad magic"
	}
	if crc32.Checksum(body, stableCRC) != sum {
		return nil, "checksum mismatch"
	}
	if body[4] != stableVersion {
		return nil, fmt.Sprintf("unsupported version %d", body[4])
	}
	p := body[5:]
	next := func() ([]byte, bool) {
		n, w := binary.Uvarint(p)
		if w <= 0 || n > uint64(len(p)-w) {
			return nil, false
		}
		v := p[w : w+int(n)]
		p = p[w+int(n):]
		return v, true
	}
	count, w := binary.Uvarint(p)
	if w <= 0 || count > uint64(len(p)) {
		return nil, "bad entry count"
	}
	p = p[w:]
	kv := make(map[string][]byte, count)
	var prev []byte
	for i := uint64(0); i < count; i++ {
		k, ok := next()
		if !ok {
			return nil, fmt.Sprintf("entry %d: bad key length", i)
		}
		if i > 0 && bytes.Compare(prev, k) >= 0 {
			return nil, fmt.Sprintf("entry %d: keys out of order", i)
		}
		prev = k
		v, ok := next()
		if !ok {
			return nil, fmt.Sprintf("entry %d: bad value length", i)
		}
		kv[string(k)] = bytes.Clone(v)
		if kv[string(k)] == nil {
			kv[string(k)] = []byte{}
		}
	}
	if len(p) != 0 {
		return nil, fmt.Sprintf("%d bytes after the last entry", len(p))
	}
	return kv, ""
}
