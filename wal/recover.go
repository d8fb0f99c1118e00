package wal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// recover opens the segment files and checks them, following the steps in
// the package documentation.
func (l *Log) recover() error {
	dir, ro := l.opts.Dir, l.opts.ReadOnly

	// Step 1: take the directory and list it.
	if !ro {
		if err := l.fs.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("wal: open: create %s: %w", dir, err)
		}
		lock, err := l.fs.Lock(l.path(lockName))
		if err != nil {
			return fmt.Errorf("wal: open %s: lock: %w", dir, err)
		}
		l.lock = lock
	}
	names, err := l.fs.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("wal: open: list %s: %w", dir, err)
	}
	type entry struct{ raw, zst bool }
	found := map[uint64]*entry{}
	var firsts []uint64
	changedDir := false
	for _, name := range names {
		first, suffix, ok := parseFileName(name)
		if !ok {
			continue
		}
		switch suffix {
		case zstTmpSuffix, rawTmpSuffix:
			// Step 2: leftovers of an interrupted compression or truncation.
			if !ro {
				l.logger.Info("wal: removing unfinished file", "file", name)
				if err := l.fs.Remove(l.path(name)); err != nil {
					return fmt.Errorf("wal: open: remove %s: %w", name, err)
				}
				changedDir = true
			}
			continue
		}
		e := found[first]
		if e == nil {
			e = &entry{}
			found[first] = e
			firsts = append(firsts, first)
		}
		if suffix == rawSuffix {
			e.raw = true
		} else {
			e.zst = true
		}
	}
	slices.Sort(firsts)

	// Step 3: a segment both raw and compressed was being compressed (or
	// rewritten by TruncateAfter): the raw file is complete and current.
	for _, first := range firsts {
		if e := found[first]; e.raw && e.zst && !ro {
			name := segmentName(first) + zstSuffix
			l.logger.Info("wal: removing compressed copy of a raw segment", "file", name)
			if err := l.fs.Remove(l.path(name)); err != nil {
				return fmt.Errorf("wal: open: remove %s: %w", name, err)
			}
			changedDir = true
		}
	}

	// Steps 4 to 6: read every segment, check it and the continuity.
	for i, first := range firsts {
		isLast := i == len(firsts)-1
		var seg *segment
		if found[first].raw {
			seg, err = l.openRaw(first, isLast)
			if seg == nil && err == nil {
				changedDir = true // a torn segment was removed
			}
		} else {
			seg, err = l.openCompressed(first)
		}
		if err != nil {
			return err
		}
		if seg == nil {
			continue
		}
		if n := len(l.segs); n > 0 {
			prev := l.segs[n-1]
			if seg.first != prev.last+1 {
				seg.release()
				return &CorruptError{Segment: seg.name, Offset: 0, Reason: fmt.Sprintf(
					"first index %d does not follow the last index %d of %s (missing or extra segment)", seg.first, prev.last, prev.name)}
			}
		}
		l.segs = append(l.segs, seg)
	}
	if n := len(l.segs); n > 0 {
		l.first, l.last = l.segs[0].first, l.segs[n-1].last
		if l.last < l.first {
			l.first, l.last = 0, 0 // only an empty segment
		}
		if s := l.segs[n-1]; !s.compressed && !ro {
			l.active = s
		}
	}

	// Step 7: what is visible now must be durable before anything is built
	// on it (a crashed process may have left unsynced pages in the cache).
	if !ro {
		if l.active != nil {
			if err := l.active.f.Datasync(); err != nil {
				return fmt.Errorf("wal: open: fdatasync %s: %w", l.active.name, err)
			}
		}
		if changedDir {
			if err := l.fs.SyncDir(dir); err != nil {
				return fmt.Errorf("wal: open: sync %s: %w", dir, err)
			}
		}
	}
	return nil
}

// openRaw opens and checks a raw segment. For the last segment a torn tail
// is cut (or, read-only, reported) and a torn header removes the file, in
// which case it returns nil, nil.
func (l *Log) openRaw(first uint64, isLast bool) (*segment, error) {
	ro := l.opts.ReadOnly
	name := segmentName(first) + rawSuffix
	flag := os.O_RDWR
	if ro {
		flag = os.O_RDONLY
	}
	f, err := l.fs.OpenFile(l.path(name), flag, 0)
	if err != nil {
		return nil, fmt.Errorf("wal: open segment %s: %w", name, err)
	}
	seg, err := l.checkRaw(f, name, first, isLast)
	if seg == nil {
		f.Close()
	}
	return seg, err
}

func (l *Log) checkRaw(f File, name string, first uint64, isLast bool) (*segment, error) {
	ro := l.opts.ReadOnly
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("wal: open segment %s: %w", name, err)
	}
	res, err := scanSegment(bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 1<<20), size, true)
	var bf *badFrame
	if errors.As(err, &bf) {
		// A bad header. Segments are created with their header synced
		// before any record, so an unwritten header at the end of the log
		// is a crash during creation.
		var hdr [segmentHeaderSize]byte
		n, _ := f.ReadAt(hdr[:], 0)
		if isLast && (size <= segmentHeaderSize || allZero(hdr[:n])) {
			l.torn = &TornTail{Segment: name, Offset: 0, Size: size, Cut: !ro}
			if ro {
				l.logger.Warn("wal: torn segment header", "segment", name, "bytes", size)
				return nil, nil
			}
			l.logger.Warn("wal: removing segment with a torn header", "segment", name, "bytes", size)
			if err := l.fs.Remove(l.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("wal: open: remove %s: %w", name, err)
			}
			return nil, nil
		}
		return nil, &CorruptError{Segment: name, Offset: bf.off, Reason: bf.reason}
	}
	if err != nil {
		return nil, fmt.Errorf("wal: open segment %s: %w", name, err)
	}
	if res.first != first {
		return nil, &CorruptError{Segment: name, Offset: 0, Reason: fmt.Sprintf("header first index %d does not match the file name", res.first)}
	}
	alloc := res.end
	validAfter := int64(-1) // offset of a valid frame after the bad one, if checkTail looked
	if bad := res.bad; bad != nil && isLast && !bad.whole {
		var err error
		attempts := 1
		if ro {
			attempts = readOnlyTailAttempts
		}
		if res, alloc, validAfter, size, err = checkTailRetrying(f, res, size, attempts); err != nil {
			return nil, fmt.Errorf("wal: open segment %s: %w", name, err)
		}
	}
	if bad := res.bad; bad != nil {
		if !isLast || bad.whole {
			return nil, &CorruptError{Segment: name, Offset: bad.off, Reason: bad.reason}
		}
		// The last segment: a torn write if nothing valid follows.
		pos, found := validAfter, validAfter >= 0
		if validAfter == -1 {
			var err error
			if pos, found, err = findValidFrame(f, bad.off+1, size, res.last+1); err != nil {
				return nil, fmt.Errorf("wal: open segment %s: %w", name, err)
			}
		}
		if found {
			return nil, &CorruptError{Segment: name, Offset: bad.off, Reason: fmt.Sprintf("%s, and a valid record follows at offset %d", bad.reason, pos)}
		}
		l.torn = &TornTail{Segment: name, Offset: res.end, Size: size - res.end, Cut: !ro}
		if ro {
			l.logger.Warn("wal: torn tail (read-only: not cut)", "segment", name, "offset", res.end, "bytes", size-res.end, "reason", bad.reason)
		} else {
			l.logger.Warn("wal: cutting torn tail", "segment", name, "offset", res.end, "bytes", size-res.end, "reason", bad.reason)
			if err := f.Truncate(res.end); err != nil {
				return nil, fmt.Errorf("wal: open: cut torn tail of %s at offset %d: %w", name, res.end, err)
			}
			if err := f.Datasync(); err != nil {
				return nil, fmt.Errorf("wal: open: cut torn tail of %s: fdatasync: %w", name, err)
			}
		}
	}
	seg := newSegment(first, name)
	seg.f = f
	seg.last = res.last
	seg.size = res.end
	seg.rawSize = res.end
	seg.alloc = alloc
	seg.offsets = res.offsets
	return seg, nil
}

// readOnlyTailAttempts is how many times a read-only Open reads the end of
// the last segment while it looks corrupt (a bad frame, then a valid one),
// readOnlyTailWait apart. Beside a running server that is a write in
// progress: the file's size no longer gates what a reader sees (the server
// writes into zeros written ahead), so a reader can see a later page of an
// append before an earlier one. Corruption stays; a write in progress
// completes within microseconds.
const (
	readOnlyTailAttempts = 20
	readOnlyTailWait     = 5 * time.Millisecond
)

// checkTailRetrying is checkTail, tried up to attempts times while it finds
// a valid frame after the bad one; the records confirmed by an attempt are
// kept. It returns the file's size as last read.
func checkTailRetrying(f File, res scanResult, size int64, attempts int) (_ scanResult, alloc, validAfter, _ int64, err error) {
	for i := 0; ; i++ {
		if i > 0 {
			time.Sleep(readOnlyTailWait)
			if size, err = f.Size(); err != nil {
				return res, res.end, -1, size, err
			}
		}
		var out scanResult
		out, alloc, validAfter, err = checkTail(f, res, size)
		if err != nil || validAfter < 0 || i+1 >= attempts {
			return out, alloc, validAfter, size, err
		}
		res = out // the records before the bad frame are confirmed
	}
}

// maxTailInMemory bounds the end of a last segment that checkTail reads
// into memory; a longer one (a bad frame far from the end of a big
// segment) is checked on the file.
const maxTailInMemory = 64 << 20

// checkTail decides what the bytes of the last segment from res.end (where
// scanSegment met a bad frame that is not whole) to size are. It reads
// them with one read, so that its decision is about one moment of the
// file even beside a writer (a read-only Open next to a running server,
// whose appends go into the zeros written ahead):
//
//   - records that continue the log (appended since the scan): res grows;
//   - then only zeros: space written ahead, not a torn tail (res.bad nil,
//     alloc the file's size);
//   - otherwise res.bad is the bad frame, and validAfter the offset of a
//     valid frame after it (corruption), or -2 if there is none (a torn
//     write); -1 if the tail was too long to read whole and the caller
//     must look on the file.
func checkTail(f File, res scanResult, size int64) (_ scanResult, alloc, validAfter int64, err error) {
	alloc = res.end
	if size-res.end > maxTailInMemory {
		zero, err := allZeroRange(f, res.end, size)
		if err != nil {
			return res, alloc, -1, err
		}
		if zero {
			res.bad, alloc = nil, size
		}
		return res, alloc, -1, nil
	}
	tail := make([]byte, size-res.end)
	if n, err := f.ReadAt(tail, res.end); err != nil && !(err == io.EOF && n == len(tail)) {
		return res, alloc, -1, err
	}
	start := res.end
	res.bad = nil
	if err := scanFrames(newFrameReader(bytes.NewReader(tail), start, size), &res, true); err != nil {
		return res, res.end, -1, err
	}
	if res.bad != nil && res.bad.whole {
		return res, res.end, -1, nil
	}
	off := int(res.end - start)
	if res.bad == nil || allZero(tail[off:]) {
		return scanResult{first: res.first, last: res.last, end: res.end, offsets: res.offsets}, size, -1, nil
	}
	pos, found, err := findValidFrame(bytes.NewReader(tail[off:]), 1, int64(len(tail)-off), res.last+1)
	if err != nil {
		return res, res.end, -1, err
	}
	if found {
		return res, res.end, res.end + pos, nil
	}
	return res, res.end, -2, nil
}

// allZeroRange reports whether bytes [from, end) of ra are all zero.
func allZeroRange(ra io.ReaderAt, from, end int64) (bool, error) {
	buf := make([]byte, min(end-from, 1<<20))
	for from < end {
		n := min(end-from, int64(len(buf)))
		if _, err := ra.ReadAt(buf[:n], from); err != nil && err != io.EOF {
			return false, err
		}
		if !allZero(buf[:n]) {
			return false, nil
		}
		from += n
	}
	return true, nil
}

// openCompressed checks a compressed segment by decompressing it.
// Compressed segments were complete and synced before they were renamed into
// place, so any fault is corruption.
func (l *Log) openCompressed(first uint64) (*segment, error) {
	name := segmentName(first) + zstSuffix
	f, err := l.fs.OpenFile(l.path(name), os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("wal: open segment %s: %w", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("wal: open segment %s: %w", name, err)
	}
	dec, err := l.getDecoder()
	if err != nil {
		return nil, err
	}
	defer l.putDecoder(dec)
	if err := dec.Reset(bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 256<<10)); err != nil {
		return nil, &CorruptError{Segment: name, Offset: 0, Reason: "zstd: " + err.Error()}
	}
	res, err := scanSegment(dec, -1, false)
	var bf *badFrame
	switch {
	case errors.As(err, &bf):
		return nil, &CorruptError{Segment: name, Offset: bf.off, Reason: bf.reason}
	case err != nil:
		return nil, &CorruptError{Segment: name, Offset: res.end, Reason: "zstd: " + err.Error()}
	case res.bad != nil:
		return nil, &CorruptError{Segment: name, Offset: res.bad.off, Reason: res.bad.reason}
	case res.first != first:
		return nil, &CorruptError{Segment: name, Offset: 0, Reason: fmt.Sprintf("header first index %d does not match the file name", res.first)}
	}
	seg := newSegment(first, name)
	seg.compressed = true
	seg.last = res.last
	seg.size = size
	seg.rawSize = res.end
	return seg, nil
}

// RecordsEnd returns where the valid records of the raw segment file at
// path end: after its last whole, checksummed record that follows the one
// before it. What comes after (the zeros written ahead of the active
// segment's records, a record being appended) is not part of the log yet.
// A copy of an active segment taken while it is written should be cut
// there: the copy may have read a stretch before a record was written into
// it and a later stretch after, which Open would take for corruption.
func RecordsEnd(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	res, err := scanSegment(bufio.NewReaderSize(io.NewSectionReader(f, 0, fi.Size()), 1<<20), fi.Size(), false)
	var bf *badFrame
	if errors.As(err, &bf) {
		return 0, &CorruptError{Segment: filepath.Base(path), Offset: bf.off, Reason: bf.reason}
	}
	if err != nil {
		return 0, err
	}
	return res.end, nil
}
