package wal

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"

	"github.com/klauspost/compress/zstd"
)

// errStopped ends a compression interrupted by Close.
var errStopped = errors.New("wal: compression stopped by Close")

// kickCompressor wakes the background compressor.
func (l *Log) kickCompressor() {
	if l.kick == nil {
		return
	}
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// compressLoop compresses sealed raw segments, oldest first, whenever it is
// woken, until Close.
func (l *Log) compressLoop() {
	defer close(l.compDone)
	for {
		select {
		case <-l.stop:
			return
		case <-l.kick:
		}
		for {
			did, err := l.compressOne()
			if err != nil {
				if !errors.Is(err, errStopped) {
					l.logger.Error("wal: background compression failed; will retry at the next segment", "err", err)
				}
				break
			}
			if !did {
				break
			}
		}
	}
}

// compressOne compresses the oldest sealed raw segment, if any:
//
//  1. write N.wal.zst.tmp;
//  2. fsync it;
//  3. rename it to N.wal.zst, fsync the directory;
//  4. verify it by decompressing it;
//  5. switch readers to it;
//  6. remove N.wal, fsync the directory.
//
// A crash at any point leaves either N.wal alone, N.wal with N.wal.zst(.tmp),
// or N.wal.zst alone; Open handles each.
func (l *Log) compressOne() (bool, error) {
	if l.enc == nil {
		return false, nil // NoCompress or ReadOnly
	}
	l.compMu.Lock()
	defer l.compMu.Unlock()

	l.mu.RLock()
	var s *segment
	if !l.closed {
		for _, c := range l.segs {
			if !c.compressed && c != l.active {
				s = c
				break
			}
		}
	}
	if s == nil {
		l.mu.RUnlock()
		return false, nil
	}
	s.acquire()
	size, first, last := s.size, s.first, s.last
	l.mu.RUnlock()
	defer s.release()

	base := segmentName(first)
	tmpPath, zstPath := l.path(base+zstTmpSuffix), l.path(base+zstSuffix)
	out, err := l.fs.OpenFile(tmpPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return false, fmt.Errorf("wal: compress %s: %w", s.name, err)
	}
	zsize, crc, err := l.writeCompressed(out, s, size)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.fs.Rename(tmpPath, zstPath)
	}
	if err != nil {
		l.fs.Remove(tmpPath)
		if errors.Is(err, errStopped) {
			return false, err
		}
		return false, fmt.Errorf("wal: compress %s: %w", s.name, err)
	}
	if err := l.fs.SyncDir(l.opts.Dir); err != nil {
		l.fs.Remove(zstPath)
		return false, fmt.Errorf("wal: compress %s: sync dir: %w", s.name, err)
	}
	if err := l.verifyCompressed(zstPath, size, crc); err != nil {
		l.fs.Remove(zstPath)
		return false, fmt.Errorf("wal: compress %s: verify: %w", s.name, err)
	}

	c := newSegment(first, base+zstSuffix)
	c.compressed = true
	c.last = last
	c.size = zsize
	c.rawSize = size
	l.mu.Lock()
	i := -1
	for j, x := range l.segs {
		if x == s {
			i = j
		}
	}
	if i < 0 || s == l.active || l.closed {
		// Cannot happen while compMu is held; keep the raw file.
		l.mu.Unlock()
		l.fs.Remove(zstPath)
		return false, fmt.Errorf("wal: compress %s: segment changed meanwhile", s.name)
	}
	l.segs[i] = c
	l.mu.Unlock()
	s.release() // the log's reference; readers still holding one finish first

	if err := l.fs.Remove(l.path(s.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.logger.Warn("wal: cannot remove compressed raw segment", "segment", s.name, "err", err)
		return true, nil
	}
	if err := l.fs.SyncDir(l.opts.Dir); err != nil {
		l.logger.Warn("wal: sync dir after compression", "err", err)
	}
	return true, nil
}

// writeCompressed streams the first size bytes of s through the encoder into
// out. It returns the compressed size and the CRC-32C of the raw bytes.
func (l *Log) writeCompressed(out File, s *segment, size int64) (int64, uint32, error) {
	w := io.NewOffsetWriter(out, 0)
	l.enc.ResetContentSize(w, size)
	buf := make([]byte, 1<<20)
	crc := uint32(0)
	for off := int64(0); off < size; {
		select {
		case <-l.stop:
			l.enc.Close()
			return 0, 0, errStopped
		default:
		}
		n := int(min(int64(len(buf)), size-off))
		if _, err := s.f.ReadAt(buf[:n], off); err != nil {
			l.enc.Close()
			return 0, 0, err
		}
		crc = crc32.Update(crc, crcTable, buf[:n])
		if _, err := l.enc.Write(buf[:n]); err != nil {
			l.enc.Close()
			return 0, 0, err
		}
		off += int64(n)
	}
	if err := l.enc.Close(); err != nil {
		return 0, 0, err
	}
	zsize, err := w.Seek(0, io.SeekCurrent)
	return zsize, crc, err
}

// verifyCompressed decompresses the file at path and checks its size and
// CRC against the raw segment's.
func (l *Log) verifyCompressed(path string, size int64, crc uint32) error {
	f, err := l.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fsize, err := f.Size()
	if err != nil {
		return err
	}
	dec, err := l.getDecoder()
	if err != nil {
		return err
	}
	defer l.putDecoder(dec)
	if err := dec.Reset(bufio.NewReaderSize(io.NewSectionReader(f, 0, fsize), 256<<10)); err != nil {
		return err
	}
	h := crc32.New(crcTable)
	n, err := io.Copy(h, dec)
	if err != nil {
		return err
	}
	if n != size || h.Sum32() != crc {
		return fmt.Errorf("decompressed %d bytes with crc %08x, want %d bytes with crc %08x", n, h.Sum32(), size, crc)
	}
	return nil
}

// getDecoder takes a zstd decoder from the pool.
func (l *Log) getDecoder() (*zstd.Decoder, error) {
	select {
	case d := <-l.decoders:
		return d, nil
	default:
	}
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxSegmentFile))
	if err != nil {
		return nil, fmt.Errorf("wal: zstd decoder: %w", err)
	}
	return d, nil
}

// putDecoder returns a decoder to the pool.
func (l *Log) putDecoder(d *zstd.Decoder) {
	d.Reset(nil)
	select {
	case l.decoders <- d:
	default:
		d.Close()
	}
}

// decompress reads a compressed segment whole into dst.
func (l *Log) decompress(seg *segment, dst []byte) ([]byte, error) {
	f, err := l.fs.OpenFile(l.path(seg.name), os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("wal: open segment %s: %w", seg.name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("wal: open segment %s: %w", seg.name, err)
	}
	src := make([]byte, size)
	if _, err := f.ReadAt(src, 0); err != nil {
		return nil, fmt.Errorf("wal: read segment %s: %w", seg.name, err)
	}
	dec, err := l.getDecoder()
	if err != nil {
		return nil, err
	}
	defer l.putDecoder(dec)
	if int64(cap(dst)) < seg.rawSize {
		dst = make([]byte, 0, seg.rawSize)
	}
	out, err := dec.DecodeAll(src, dst[:0])
	if err != nil {
		return nil, &CorruptError{Segment: seg.name, Offset: 0, Reason: "zstd: " + err.Error()}
	}
	return out, nil
}

// streamCompressed decompresses seg as a stream and calls fn for records
// from..last.
func (l *Log) streamCompressed(seg *segment, from, last uint64, fn func(Record) error) error {
	f, err := l.fs.OpenFile(l.path(seg.name), os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("wal: open segment %s: %w", seg.name, err)
	}
	defer f.Close()
	dec, err := l.getDecoder()
	if err != nil {
		return err
	}
	defer l.putDecoder(dec)
	if err := dec.Reset(bufio.NewReaderSize(io.NewSectionReader(f, 0, seg.size), 256<<10)); err != nil {
		return &CorruptError{Segment: seg.name, Offset: 0, Reason: "zstd: " + err.Error()}
	}
	fr := newFrameReader(dec, 0, seg.rawSize)
	first, err := fr.readHeader()
	if err == nil && first != seg.first {
		err = &badFrame{off: 0, reason: fmt.Sprintf("header first index %d, want %d", first, seg.first)}
	}
	if bf, ok := err.(*badFrame); ok {
		return &CorruptError{Segment: seg.name, Offset: bf.off, Reason: bf.reason}
	}
	if err != nil {
		return &CorruptError{Segment: seg.name, Offset: 0, Reason: "zstd: " + err.Error()}
	}
	return streamFrames(fr, seg.name, from, last, fn)
}
