package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// TruncateAfter removes every record after index (a suffix) and makes the
// removal durable. The next Append must then carry index+1 (or any index if
// index is below FirstIndex, which empties the log). Index at or past
// LastIndex changes nothing.
//
// Segments are removed newest first, so a crash leaves a log that is a
// prefix of the old one; a compressed segment holding index is rewritten as
// a raw one cut at index (written to N.wal.tmp, synced, renamed to N.wal),
// which becomes the active segment again.
func (l *Log) TruncateAfter(index uint64) error {
	l.compMu.Lock()
	defer l.compMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	if l.last == 0 || index >= l.last {
		return nil
	}
	l.truncGen.Add(1)
	l.dropCache()

	removed := false
	for n := len(l.segs); n > 0 && l.segs[n-1].first > index; n = len(l.segs) {
		s := l.segs[n-1]
		if err := l.removeSegmentFileLocked(s); err != nil {
			return err
		}
		removed = true
		l.segs = l.segs[:n-1]
		if s == l.active {
			l.active = nil
		}
		s.release()
		l.last = s.first - 1
		if len(l.segs) == 0 {
			l.first, l.last = 0, 0
		}
	}
	if removed {
		if err := l.fs.SyncDir(l.opts.Dir); err != nil {
			return l.fail(fmt.Errorf("wal: truncate after %d: sync dir: %w", index, err))
		}
	}
	if len(l.segs) == 0 {
		return nil
	}

	k := l.segs[len(l.segs)-1]
	if k.last > index {
		if k.compressed {
			nk, err := l.rewriteCompressedLocked(k, index)
			if err != nil {
				return err
			}
			l.segs[len(l.segs)-1] = nk
			k.release()
			k = nk
		} else {
			keep := int(index + 1 - k.first)
			cut := int64(k.offsets[keep])
			if err := k.f.Truncate(cut); err != nil {
				return fmt.Errorf("wal: truncate after %d: cut %s at offset %d: %w", index, k.name, cut, err)
			}
			if err := k.f.Datasync(); err != nil {
				return l.fail(fmt.Errorf("wal: truncate after %d: fdatasync %s: %w", index, k.name, err))
			}
			k.size, k.rawSize, k.alloc = cut, cut, cut
			k.offsets = k.offsets[:keep]
			k.last = index
		}
	}
	l.last = k.last
	if k.compressed {
		l.active = nil
	} else {
		l.active = k
	}
	l.kickCompressor() // older raw segments may still wait for it
	return nil
}

// rewriteCompressedLocked turns compressed segment k into a raw one holding
// its records up to index.
func (l *Log) rewriteCompressedLocked(k *segment, index uint64) (*segment, error) {
	data, err := l.decompress(k, nil)
	if err != nil {
		return nil, fmt.Errorf("wal: truncate after %d: %w", index, err)
	}
	res, err := scanSegment(bytes.NewReader(data), int64(len(data)), true)
	if err == nil && (res.bad != nil || res.first != k.first || res.last != k.last) {
		err = fmt.Errorf("%w: segment %s changed since Open", ErrCorrupt, k.name)
	}
	if err != nil {
		return nil, fmt.Errorf("wal: truncate after %d: %w", index, err)
	}
	keep := int(index + 1 - k.first)
	cut := int64(res.offsets[keep])

	base := segmentName(k.first)
	tmpPath, rawPath := l.path(base+rawTmpSuffix), l.path(base+rawSuffix)
	f, err := l.fs.OpenFile(tmpPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("wal: truncate after %d: %w", index, err)
	}
	_, err = f.WriteAt(data[:cut], 0)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = l.fs.Rename(tmpPath, rawPath)
	}
	if err != nil {
		f.Close()
		l.fs.Remove(tmpPath)
		return nil, fmt.Errorf("wal: truncate after %d: rewrite %s: %w", index, k.name, err)
	}
	if err := l.fs.SyncDir(l.opts.Dir); err != nil {
		f.Close()
		return nil, l.fail(fmt.Errorf("wal: truncate after %d: sync dir: %w", index, err))
	}
	// Both files now exist and Open prefers the raw one; drop the other.
	if err := l.fs.Remove(l.path(k.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.logger.Warn("wal: cannot remove rewritten compressed segment", "segment", k.name, "err", err)
	} else if err := l.fs.SyncDir(l.opts.Dir); err != nil {
		l.logger.Warn("wal: sync dir", "err", err)
	}
	nk := newSegment(k.first, base+rawSuffix)
	nk.f = f
	nk.last = index
	nk.size, nk.rawSize = cut, cut
	nk.offsets = res.offsets[:keep:keep]
	return nk, nil
}

// DeleteBefore removes the segments whose records all lie before index (a
// prefix): FirstIndex becomes the first index of the oldest segment kept, so
// records before index may remain. When every record is before index the log
// becomes empty, and the next Append may start at any index. Segments are
// removed oldest first, so a crash leaves a contiguous log.
func (l *Log) DeleteBefore(index uint64) error {
	l.compMu.Lock()
	defer l.compMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	if l.last == 0 || index <= l.first {
		return nil
	}
	removed := false
	for len(l.segs) > 0 && l.segs[0].last < index {
		if !removed {
			l.truncGen.Add(1)
			l.dropCache()
			removed = true
		}
		s := l.segs[0]
		if err := l.removeSegmentFileLocked(s); err != nil {
			return err
		}
		l.segs = l.segs[1:]
		if s == l.active {
			l.active = nil
		}
		s.release()
		l.first = s.last + 1
	}
	if len(l.segs) == 0 || l.first > l.last {
		l.first, l.last = 0, 0
	}
	if removed {
		if err := l.fs.SyncDir(l.opts.Dir); err != nil {
			return l.fail(fmt.Errorf("wal: delete before %d: sync dir: %w", index, err))
		}
	}
	return nil
}

// removeSegmentFileLocked deletes a segment's file.
func (l *Log) removeSegmentFileLocked(s *segment) error {
	if err := l.fs.Remove(l.path(s.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("wal: remove segment %s: %w", s.name, err)
	}
	return nil
}
