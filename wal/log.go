package wal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
)

// Log is a segmented, append-only record log. Its methods are safe for
// concurrent use. Appends are serialized; Sync is a group commit; Get and
// ReadFrom do their I/O without holding the writers' lock.
type Log struct {
	opts   Options
	fs     FS
	logger *slog.Logger
	lock   io.Closer // the directory lock; nil when read-only

	// mu guards the segment list and the write state below.
	mu     sync.RWMutex
	segs   []*segment // ordered by first index, contiguous
	active *segment   // the raw segment Append writes to; nil if none yet
	first  uint64     // first index; 0 when empty
	last   uint64     // last index; 0 when empty
	seq    uint64     // successful Append calls: the group-commit ticket
	buf    []byte     // encode buffer, reused by Append
	closed bool
	torn   *TornTail

	failure atomic.Pointer[failedError] // set once an fsync failed

	// Group commit. smu is never held while taking mu.
	smu     sync.Mutex
	scond   sync.Cond
	syncing bool   // an fsync is running
	durable uint64 // every Append with seq <= durable is on disk
	syncs   atomic.Uint64
	appends atomic.Uint64

	// truncGen changes whenever TruncateAfter or DeleteBefore removes
	// records, so a reader that fails can tell a removed record from a
	// corrupt one.
	truncGen atomic.Uint64

	// Background compression. compMu is held while one segment is being
	// compressed and by TruncateAfter and DeleteBefore; taken before mu.
	compMu   sync.Mutex
	enc      *zstd.Encoder
	kick     chan struct{}
	stop     chan struct{}
	compDone chan struct{}
	decoders chan *zstd.Decoder

	// The last decompressed segment, for Get.
	cacheMu sync.Mutex
	cache   struct {
		seg     *segment
		data    []byte
		offsets []uint32
	}
}

// TornTail describes a torn end of the log found by Open: the bytes after the
// last valid record of the last segment, left by a crash during a write that
// had not been synced.
type TornTail struct {
	Segment string // segment file name
	Offset  int64  // where the valid data ends (0: the whole file was torn)
	Size    int64  // bytes after Offset
	Cut     bool   // Open removed them (false in read-only mode)
}

// Stats describe the log's files.
type Stats struct {
	FirstIndex, LastIndex uint64
	Segments              int   // segment files
	CompressedSegments    int   // of which zstd-compressed
	DiskBytes             int64 // bytes of all segment files
	SealedRawBytes        int64 // uncompressed bytes of the compressed segments
	SealedCompressedBytes int64 // their bytes on disk
	Appends               uint64
	Syncs                 uint64 // fsyncs issued by Sync since Open
}

// Open opens the log in opts.Dir, creating the directory if needed, and
// recovers it as the package documentation describes.
func Open(opts Options) (*Log, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	l := &Log{
		opts:     opts,
		fs:       opts.FS,
		logger:   opts.Logger,
		decoders: make(chan *zstd.Decoder, 4),
	}
	l.scond.L = &l.smu
	if err := l.recover(); err != nil {
		l.closeFiles()
		return nil, err
	}
	if !opts.ReadOnly && !opts.NoCompress {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			l.closeFiles()
			return nil, fmt.Errorf("wal: open: zstd encoder: %w", err)
		}
		l.enc = enc
		l.kick = make(chan struct{}, 1)
		l.stop = make(chan struct{})
		l.compDone = make(chan struct{})
		go l.compressLoop()
		l.kickCompressor()
	}
	return l, nil
}

func (l *Log) path(name string) string { return filepath.Join(l.opts.Dir, name) }

// FirstIndex returns the index of the first record, 0 when the log is empty.
func (l *Log) FirstIndex() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.first
}

// LastIndex returns the index of the last record, 0 when the log is empty.
func (l *Log) LastIndex() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.last
}

// StartIndex is the index the log's first segment starts at: FirstIndex for
// a log with records, and for an empty log the index its empty segment was
// created for (0 when there is no segment at all). A log whose records were
// all deleted, or whose earlier segments are missing, is empty but starts
// past 1; a caller that needs the log from index 1 checks this.
func (l *Log) StartIndex() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.last != 0 {
		return l.first
	}
	if len(l.segs) > 0 {
		return l.segs[0].first
	}
	return 0
}

// TornTail returns the torn tail Open found at the end of the log, or nil.
func (l *Log) TornTail() *TornTail {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.torn == nil {
		return nil
	}
	t := *l.torn
	return &t
}

// Stats returns a snapshot of the log's statistics.
func (l *Log) Stats() Stats {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := Stats{
		FirstIndex: l.first,
		LastIndex:  l.last,
		Segments:   len(l.segs),
		Appends:    l.appends.Load(),
		Syncs:      l.syncs.Load(),
	}
	for _, s := range l.segs {
		st.DiskBytes += s.size
		if s.compressed {
			st.CompressedSegments++
			st.SealedRawBytes += s.rawSize
			st.SealedCompressedBytes += s.size
		}
	}
	return st
}

// fail makes the log refuse further writes.
func (l *Log) fail(err error) error {
	fe := &failedError{cause: err}
	if !l.failure.CompareAndSwap(nil, fe) {
		return l.failure.Load()
	}
	l.logger.Error("wal: log failed; refusing writes until reopened", "err", err)
	return fe
}

func (l *Log) failed() error {
	if fe := l.failure.Load(); fe != nil {
		return fe
	}
	return nil
}

// writableLocked reports why the log cannot be written now; mu is held.
func (l *Log) writableLocked() error {
	switch {
	case l.closed:
		return ErrClosed
	case l.opts.ReadOnly:
		return ErrReadOnly
	}
	return l.failed()
}

// Append writes records at the end of the log with one write call. The first
// record's Index must be LastIndex()+1, or anything but 0 when the log is
// empty, and the others must follow it. The records are visible to Get and
// ReadFrom at once but are durable only after Sync. Append copies the
// payloads: the caller may reuse them on return.
//
// A failed write is undone (the file is cut back) and returned; the log stays
// usable. If it cannot be undone, the log fails (ErrFailed).
func (l *Log) Append(recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	next := l.last + 1
	if l.last == 0 {
		next = recs[0].Index
		if next == 0 {
			return fmt.Errorf("%w: index 0", ErrOutOfOrder)
		}
	}
	size := 0
	for i := range recs {
		if recs[i].Index != next+uint64(i) {
			return fmt.Errorf("%w: record %d has index %d, want %d", ErrOutOfOrder, i, recs[i].Index, next+uint64(i))
		}
		if len(recs[i].Data) > MaxRecordSize {
			return fmt.Errorf("%w: record %d: %d bytes, max %d", ErrTooLarge, recs[i].Index, len(recs[i].Data), MaxRecordSize)
		}
		size += frameHeaderSize + len(recs[i].Data)
	}
	if size > maxSegmentFile-segmentHeaderSize {
		return fmt.Errorf("%w: batch of %d bytes exceeds a segment file", ErrTooLarge, size)
	}

	if err := l.prepareActiveLocked(next, int64(size)); err != nil {
		return err
	}
	seg := l.active

	buf := l.buf[:0]
	for i := range recs {
		buf = appendFrame(buf, &recs[i])
	}
	l.preallocateLocked(seg, int64(len(buf)))
	if _, err := seg.f.WriteAt(buf, seg.size); err != nil {
		err = fmt.Errorf("wal: append %d records at index %d: write %s: %w", len(recs), next, seg.name, err)
		if terr := seg.f.Truncate(seg.size); terr != nil {
			return l.fail(errors.Join(err, fmt.Errorf("undo the failed write: %w", terr)))
		}
		seg.alloc = seg.size
		return err
	}
	off := seg.size
	for i := range recs {
		seg.offsets = append(seg.offsets, uint32(off))
		off += int64(frameHeaderSize + len(recs[i].Data))
	}
	seg.size = off
	seg.rawSize = off
	seg.last = next + uint64(len(recs)) - 1
	if l.first == 0 {
		l.first = next
	}
	l.last = seg.last
	l.seq++
	l.appends.Add(uint64(len(recs)))
	if cap(buf) > 16<<20 {
		buf = nil // do not pin a huge batch's buffer
	}
	l.buf = buf

	if seg.size >= l.opts.SegmentSize {
		if err := l.rollLocked(); err != nil {
			if fe := l.failed(); fe != nil {
				return fe
			}
			// The records are written; the next Append retries the roll.
			l.logger.Warn("wal: cannot start a new segment", "after", seg.name, "err", err)
		}
	}
	return nil
}

// prepareActiveLocked makes sure there is an active segment that can take a
// batch of size bytes starting at index next.
func (l *Log) prepareActiveLocked(next uint64, size int64) error {
	if l.active != nil && l.last == 0 && l.active.first != next {
		// An empty log keeps an empty segment: restart it at next.
		// The removal is made durable first, so that no crash leaves two
		// empty segments that do not follow each other.
		s := l.active
		if err := l.removeSegmentFileLocked(s); err != nil {
			return err
		}
		l.segs, l.active = nil, nil
		s.release()
		if err := l.fs.SyncDir(l.opts.Dir); err != nil {
			return l.fail(fmt.Errorf("wal: remove empty segment %s: sync dir: %w", s.name, err))
		}
	}
	if l.active != nil && l.active.size+size > maxSegmentFile && l.active.count() > 0 {
		if err := l.rollLocked(); err != nil {
			return err
		}
	}
	if l.active == nil {
		seg, err := l.createSegmentLocked(next)
		if err != nil {
			return err
		}
		l.segs = append(l.segs, seg)
		l.active = seg
	}
	return nil
}

// # Preallocation
//
// The active segment's file is kept longer than its records: zeros are
// written ahead of the end, up to preallocateAhead bytes at a time (and
// never past SegmentSize), and appends overwrite them. An append then
// changes no file metadata, so the fdatasync after it has only the data to
// flush and no filesystem journal commit to wait for: on ext4 the
// fdatasync of a small append took ~30% less time and CPU in a file
// written ahead with zeros than at the end of the file (the same reason
// PostgreSQL fills its WAL segments with zeros before use). Sealing a
// segment, and closing the log, cut the zeros off again, so every segment
// but the active one is exactly its records. At Open, zeros after the last
// record of the last segment are that space, not a torn write.

// preallocateAhead is how far past the end of its records the active
// segment's file is filled with zeros when an append needs more room.
const preallocateAhead = 1 << 20

// zeros is what preallocateLocked writes.
var zeros [preallocateAhead]byte

// preallocateLocked makes seg's file at least n bytes longer than its
// records, writing zeros ahead up to preallocateAhead further (capped at
// SegmentSize). A failure is not an error: the append then extends the
// file as it would without preallocation (what was written is zeros).
func (l *Log) preallocateLocked(seg *segment, n int64) {
	need := seg.size + n
	if need <= seg.alloc {
		return
	}
	from := max(seg.alloc, seg.size)
	end := min(need+preallocateAhead, max(l.opts.SegmentSize, need))
	for from < end {
		k := min(end-from, preallocateAhead)
		if _, err := seg.f.WriteAt(zeros[:k], from); err != nil {
			l.logger.Debug("wal: cannot write zeros ahead of the active segment", "segment", seg.name, "err", err)
			return
		}
		from += k
		seg.alloc = from
	}
}

// trimLocked cuts the zeros written ahead of seg's records off its file.
func (l *Log) trimLocked(seg *segment) error {
	if seg.alloc <= seg.size {
		return nil
	}
	if err := seg.f.Truncate(seg.size); err != nil {
		return fmt.Errorf("cut %s at offset %d: %w", seg.name, seg.size, err)
	}
	seg.alloc = seg.size
	return nil
}

// rollLocked seals the active segment and starts the next one. The sealed
// segment is made durable first, so every segment but the last is always
// complete on disk.
func (l *Log) rollLocked() error {
	old := l.active
	if err := l.trimLocked(old); err != nil {
		return fmt.Errorf("wal: seal %s: %w", old.name, err)
	}
	if err := old.f.Datasync(); err != nil {
		return l.fail(fmt.Errorf("wal: seal %s: fdatasync: %w", old.name, err))
	}
	seg, err := l.createSegmentLocked(old.last + 1)
	if err != nil {
		return err
	}
	l.segs = append(l.segs, seg)
	l.active = seg
	l.kickCompressor()
	return nil
}

// createSegmentLocked creates a segment file holding just its header, and
// makes it durable.
func (l *Log) createSegmentLocked(first uint64) (*segment, error) {
	name := segmentName(first) + rawSuffix
	p := l.path(name)
	f, err := l.fs.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("wal: create segment %s: %w", name, err)
	}
	hdr := appendSegmentHeader(nil, first)
	err = func() error {
		if _, err := f.WriteAt(hdr, 0); err != nil {
			return err
		}
		if err := f.Datasync(); err != nil {
			return err
		}
		return l.fs.SyncDir(l.opts.Dir)
	}()
	if err != nil {
		f.Close()
		l.fs.Remove(p)
		return nil, fmt.Errorf("wal: create segment %s: %w", name, err)
	}
	seg := newSegment(first, name)
	seg.f = f
	seg.size = segmentHeaderSize
	seg.rawSize = segmentHeaderSize
	seg.alloc = segmentHeaderSize
	if prev := l.active; prev != nil {
		seg.offsets = make([]uint32, 0, len(prev.offsets))
	}
	return seg, nil
}

// Sync makes every record appended before the call durable. Concurrent
// callers share fsyncs (group commit): while one fsync runs the others wait,
// then a single fsync covers all of them. After a failed fsync, Sync and
// Append return an error matching ErrFailed until the log is reopened.
func (l *Log) Sync() error {
	l.mu.RLock()
	closed, target := l.closed, l.seq
	l.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if l.opts.ReadOnly {
		return nil
	}
	l.smu.Lock()
	defer l.smu.Unlock()
	for l.durable < target {
		if err := l.failed(); err != nil {
			return err
		}
		if l.syncing {
			l.scond.Wait()
			continue
		}
		l.syncing = true
		l.smu.Unlock()
		cover, err := l.syncActive()
		l.smu.Lock()
		l.syncing = false
		l.scond.Broadcast()
		if err != nil {
			return err
		}
		l.durable = max(l.durable, cover)
	}
	return nil
}

// syncActive fsyncs the active segment and returns the Append ticket it
// covers. Older segments were made durable when they were sealed.
func (l *Log) syncActive() (uint64, error) {
	l.mu.RLock()
	seg, cover := l.active, l.seq
	if seg != nil {
		seg.acquire()
	}
	l.mu.RUnlock()
	if seg == nil {
		return cover, nil
	}
	err := seg.f.Datasync()
	seg.release()
	if err != nil {
		return 0, l.fail(fmt.Errorf("wal: sync %s: fdatasync: %w", seg.name, err))
	}
	l.syncs.Add(1)
	return cover, nil
}

// findLocked returns the segment holding index, which is in the log.
func (l *Log) findLocked(index uint64) *segment {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].first > index }) - 1
	return l.segs[i]
}

// readFailed turns an error met while reading records into ErrNotFound when a
// truncation removed them meanwhile.
func (l *Log) readFailed(gen uint64, index uint64, err error) error {
	if l.truncGen.Load() != gen {
		return fmt.Errorf("%w: record %d was removed while being read", ErrNotFound, index)
	}
	return err
}

// Get returns the record at index, or ErrNotFound outside
// [FirstIndex, LastIndex]. The returned Data is the caller's. Like ReadFrom,
// it sees appended records at once, before Sync makes them durable. A record
// of a compressed segment is served from the last decompressed segment, kept
// in memory.
func (l *Log) Get(index uint64) (Record, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return Record{}, ErrClosed
	}
	if first, last := l.first, l.last; last == 0 || index < first || index > last {
		l.mu.RUnlock()
		return Record{}, fmt.Errorf("%w: index %d outside [%d, %d]", ErrNotFound, index, first, last)
	}
	gen := l.truncGen.Load()
	seg := l.findLocked(index)
	if seg.compressed {
		l.mu.RUnlock()
		rec, err := l.getCompressed(seg, index)
		if err != nil {
			return Record{}, l.readFailed(gen, index, err)
		}
		return rec, nil
	}
	i := int(index - seg.first)
	off, end := int64(seg.offsets[i]), seg.frameEnd(i)
	seg.acquire()
	l.mu.RUnlock()
	defer seg.release()

	buf := make([]byte, end-off)
	if _, err := seg.f.ReadAt(buf, off); err != nil {
		return Record{}, l.readFailed(gen, index, fmt.Errorf("wal: read %s offset %d: %w", seg.name, off, err))
	}
	rec, _, why := decodeFrame(buf)
	if why == "" && rec.Index != index {
		why = fmt.Sprintf("record index %d, want %d", rec.Index, index)
	}
	if why != "" {
		return Record{}, l.readFailed(gen, index, &CorruptError{Segment: seg.name, Offset: off, Reason: why})
	}
	return rec, nil
}

// getCompressed returns a record of a compressed segment, decompressing the
// segment into the one-segment cache on a miss.
func (l *Log) getCompressed(seg *segment, index uint64) (Record, error) {
	l.cacheMu.Lock()
	defer l.cacheMu.Unlock()
	c := &l.cache
	if c.seg != seg {
		c.seg = nil
		data, err := l.decompress(seg, c.data[:0])
		if err != nil {
			return Record{}, err
		}
		c.data = data
		res, err := scanSegment(bytes.NewReader(data), int64(len(data)), true)
		if err == nil && res.bad == nil && (res.first != seg.first || res.last != seg.last) {
			err = &CorruptError{Segment: seg.name, Offset: 0, Reason: fmt.Sprintf("holds records %d..%d, want %d..%d", res.first, res.last, seg.first, seg.last)}
		}
		if err == nil && res.bad != nil {
			err = &CorruptError{Segment: seg.name, Offset: res.bad.off, Reason: res.bad.reason}
		}
		if err != nil {
			if bf, ok := err.(*badFrame); ok {
				err = &CorruptError{Segment: seg.name, Offset: bf.off, Reason: bf.reason}
			}
			return Record{}, err
		}
		c.offsets = res.offsets
		c.seg = seg
	}
	i := int(index - seg.first)
	end := int64(len(c.data))
	if i+1 < len(c.offsets) {
		end = int64(c.offsets[i+1])
	}
	rec, _, why := decodeFrame(c.data[c.offsets[i]:end])
	if why != "" || rec.Index != index {
		return Record{}, &CorruptError{Segment: seg.name, Offset: int64(c.offsets[i]), Reason: "record changed in the cache"}
	}
	rec.Data = append([]byte(nil), rec.Data...)
	return rec, nil
}

// dropCache forgets the decompressed segment.
func (l *Log) dropCache() {
	l.cacheMu.Lock()
	l.cache.seg, l.cache.data, l.cache.offsets = nil, nil, nil
	l.cacheMu.Unlock()
}

// ReadFrom calls fn for each record from index from to the end of the log, in
// order, and returns fn's first error. It streams: a raw segment is read
// through a buffer, a compressed one decompressed once. Records appended
// during the scan are included. from must lie in [FirstIndex, LastIndex+1]
// (ErrNotFound otherwise); from == LastIndex+1 reads nothing.
//
// rec.Data is valid only until fn returns: copy it to keep it. fn must not
// call TruncateAfter or DeleteBefore.
func (l *Log) ReadFrom(from uint64, fn func(Record) error) error {
	next := from
	var rbuf *bufio.Reader
	for started := false; ; started = true {
		l.mu.RLock()
		if l.closed {
			l.mu.RUnlock()
			return ErrClosed
		}
		if l.last == 0 || next > l.last {
			outside := !started && l.last != 0 && next > l.last+1
			err := fmt.Errorf("%w: index %d outside [%d, %d]", ErrNotFound, next, l.first, l.last)
			l.mu.RUnlock()
			if outside {
				return err
			}
			return nil
		}
		if next < l.first {
			err := fmt.Errorf("%w: index %d outside [%d, %d]", ErrNotFound, next, l.first, l.last)
			l.mu.RUnlock()
			return err
		}
		gen := l.truncGen.Load()
		seg := l.findLocked(next)
		last := seg.last
		var err error
		if seg.compressed {
			l.mu.RUnlock()
			err = l.streamCompressed(seg, next, last, fn)
		} else {
			off, end := int64(seg.offsets[next-seg.first]), seg.size
			seg.acquire()
			l.mu.RUnlock()
			if rbuf == nil {
				rbuf = bufio.NewReaderSize(nil, 256<<10)
			}
			rbuf.Reset(io.NewSectionReader(seg.f, off, end-off))
			err = streamFrames(newFrameReader(rbuf, off, end), seg.name, next, last, fn)
			seg.release()
		}
		if fe, ok := err.(fnError); ok {
			return fe.err
		}
		if err != nil {
			return l.readFailed(gen, next, err)
		}
		next = last + 1
	}
}

// fnError marks an error returned by the caller's function.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// streamFrames reads records from..last with fr and calls fn for each one.
func streamFrames(fr *frameReader, name string, from, last uint64, fn func(Record) error) error {
	for want := from; want <= last; {
		start := fr.off
		rec, err := fr.next()
		if err == io.EOF {
			return &CorruptError{Segment: name, Offset: start, Reason: fmt.Sprintf("segment ends before record %d", want)}
		}
		if bf, ok := err.(*badFrame); ok {
			return &CorruptError{Segment: name, Offset: bf.off, Reason: bf.reason}
		}
		if err != nil {
			return fmt.Errorf("wal: read %s offset %d: %w", name, start, err)
		}
		if rec.Index < want {
			continue // before from, in a compressed segment
		}
		if rec.Index != want {
			return &CorruptError{Segment: name, Offset: start, Reason: fmt.Sprintf("record index %d, want %d", rec.Index, want)}
		}
		if err := fn(rec); err != nil {
			return fnError{err}
		}
		want++
	}
	return nil
}

// Close syncs and closes the log. Background compression is stopped (an
// unfinished one is redone at the next Open). It returns the log's failure,
// if it failed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.mu.Unlock()

	if l.stop != nil {
		close(l.stop)
		<-l.compDone
	}
	var errs []error
	if err := l.failed(); err != nil {
		errs = append(errs, err)
	} else if !l.opts.ReadOnly {
		l.mu.RLock()
		seg := l.active
		l.mu.RUnlock()
		if seg != nil {
			l.mu.Lock()
			err := l.trimLocked(seg) // a clean shutdown leaves no zeros after the last record
			l.mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("wal: close: %w", err))
			}
			if err := seg.f.Datasync(); err != nil {
				errs = append(errs, fmt.Errorf("wal: close: fdatasync %s: %w", seg.name, err))
			}
		}
	}
	l.closeFiles()
	return errors.Join(errs...)
}

// closeFiles releases every segment, the decoders and the directory lock.
func (l *Log) closeFiles() {
	l.mu.Lock()
	for _, s := range l.segs {
		s.release()
	}
	l.segs, l.active = nil, nil
	l.mu.Unlock()
	l.dropCache()
	for {
		select {
		case d := <-l.decoders:
			d.Close()
			continue
		default:
		}
		break
	}
	if l.enc != nil {
		l.enc.Close()
		l.enc = nil
	}
	if l.lock != nil {
		l.lock.Close()
		l.lock = nil
	}
}
