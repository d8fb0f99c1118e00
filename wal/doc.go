// Package wal is memimg's command log: a segmented, append-only sequence of
// checksummed records on disk. It is the primary storage of the database
// (the state is a fold of the log) and, through an adapter, the Raft log, so
// it supports what raft.LogStore needs: first and last index, get by index,
// append of a batch, removal of a prefix or of a suffix.
//
// The wal stores opaque payloads. A Record carries an index (1-based,
// contiguous), a Raft term, a Kind and a timestamp chosen by the caller; what
// the payload means is the caller's business.
//
// # Usage
//
//	l, err := wal.Open(wal.Options{Dir: dir})
//	...
//	err = l.Append(wal.Record{Index: l.LastIndex() + 1, Kind: k, Time: t, Data: p})
//	err = l.Sync() // durable from here on: now the client may hear "OK"
//	...
//	err = l.ReadFrom(l.FirstIndex(), func(r wal.Record) error { ...; return nil })
//
// Append writes a batch with one write call and returns; Sync makes
// everything appended before it durable with one fdatasync. Sync is a group
// commit: while one fsync runs, other callers wait, and a single fsync then
// covers them all. Writers decide the durability policy: call Sync before
// every reply ("always"), once a second ("everysec") or never ("no").
//
// # Files
//
// Options.Dir holds the segment files, each named after the index of its
// first record, zero-padded to 20 digits, plus a LOCK file:
//
//	00000000000000000001.wal       sealed segment, not yet compressed
//	00000000000000052163.wal.zst   sealed segment, zstd-compressed
//	00000000000000104310.wal       the active segment (the last one)
//
// The active segment's file is longer than its records: zeros are written
// ahead of them (up to 1 MiB ahead, never past SegmentSize), and appends
// overwrite the zeros, so that an append changes no file metadata and its
// fdatasync has no filesystem journal commit to wait for (see log.go,
// Preallocation). Every other segment file is exactly its records.
//
// When the active segment reaches Options.SegmentSize it is sealed (synced)
// and a new one started; a background goroutine then compresses the sealed
// segment with zstd, so appends never wait for compression. A compressed
// file is one zstd frame whose content is exactly the raw segment's bytes.
// Reads see raw and compressed segments alike.
//
// # Format
//
// All integers are little-endian. The constants below (magic, version,
// header sizes, field layout, CRC-32C polynomial) are frozen wire format:
// changing any of them makes existing logs unreadable. A new layout takes a
// new version number and readers keep the old ones.
//
// A segment starts with a 24-byte header:
//
//	0      1      2      3      4      5      6      7      8
//	+------+------+------+------+------+------+------+------+
//	|       magic "MIWL"        | ver  |  reserved (zero)   |
//	+------+------+------+------+------+------+------+------+
//	|                      first index                      |
//	+------+------+------+------+------+------+------+------+
//	|   CRC-32C of bytes 0-15   |      reserved (zero)      |
//	+------+------+------+------+------+------+------+------+
//
// ver is the format version, 1. Records follow, each in one frame with a
// 40-byte header, back to back with no padding:
//
//	0      1      2      3      4      5      6      7      8
//	+------+------+------+------+------+------+------+------+
//	|  CRC-32C of bytes 4..40+N |   payload length N (u32)  |
//	+------+------+------+------+------+------+------+------+
//	| kind |             reserved (zero)                    |
//	+------+------+------+------+------+------+------+------+
//	|                      index (u64)                      |
//	+------+------+------+------+------+------+------+------+
//	|                      term (u64)                       |
//	+------+------+------+------+------+------+------+------+
//	|               time (i64, Unix nanoseconds)            |
//	+------+------+------+------+------+------+------+------+
//	|                 payload (N bytes) ...                 |
//	+------+------+------+------+------+------+------+------+
//
// The CRC-32C (Castagnoli) covers bytes 4 to 40+N: every header field and the
// payload. N is at most MaxRecordSize (512 MiB) and, when reading, at most
// what is left of the file, so a corrupt length never makes the reader
// allocate more than the file holds. The index in each frame must follow the
// previous one and the first frame's index equals the segment's first index;
// a segment's first index follows the previous segment's last.
//
// # Crash contract
//
// What the disk is assumed to do:
//
//  1. Data written to a file may be lost or torn until fdatasync (or fsync)
//     on that file returns success; after that it survives a crash or power
//     loss.
//  2. A torn append leaves, after the last synced byte, some prefix of what
//     was written followed by garbage or zeros (the file may also be longer,
//     zero-filled). Bytes synced before are never damaged by a later append
//     to the same sector (powersafe overwrite). If instead a later part of an
//     unsynced write survives while an earlier part is lost, recovery sees a
//     bad record followed by a valid one and refuses to open (ErrCorrupt): it
//     cannot tell this from a damaged acknowledged record, so it does not
//     guess.
//  3. A file created, renamed or removed is durable once its directory has
//     been fsynced; rename within a directory is atomic.
//  4. Silent corruption of synced data (bit rot, a bad controller) can
//     happen: every record is checksummed and checked on every read, at
//     Open and when a segment is compressed, and is reported, never skipped.
//  5. After a failed fsync nothing is known of the unsynced data (the kernel
//     may have dropped the dirty pages while the cache still shows them), so
//     the log refuses every further write with ErrFailed. Close and Open it
//     again: recovery reads what is really on disk.
//
// The order of writes:
//
//   - Append: when the zeros ahead run out, write more zeros past the end
//     of the file; then one write of whole frames after the active
//     segment's last record (over the zeros).
//     Sync: fdatasync of the active segment; older segments were synced
//     when they were sealed.
//   - Seal: cut the zeros off the full segment (ftruncate) and fdatasync
//     it; create the next one, write its header, fdatasync it, fsync the
//     directory. So every segment but the last is complete on disk and
//     ends with its last record. Close also cuts the active segment's
//     zeros.
//   - Compress segment N: write N.wal.zst.tmp, fsync it, rename it to
//     N.wal.zst, fsync the directory, verify it by decompressing it, then
//     remove N.wal and fsync the directory.
//   - TruncateAfter: remove the later segments newest first, fsync the
//     directory; then cut the segment holding the new last record
//     (ftruncate + fdatasync), or, if it is compressed, write its kept part
//     to N.wal.tmp, fsync it, rename it to N.wal, fsync the directory,
//     remove N.wal.zst.
//   - DeleteBefore: remove whole segments oldest first, fsync the directory.
//
// Recovery, at Open:
//
//  1. Lock the directory (LOCK, flock) and list it; files that are not the
//     wal's are ignored.
//  2. Remove leftover *.wal.zst.tmp and *.wal.tmp files: a compression or a
//     rewrite that had not been renamed into place.
//  3. Where both N.wal and N.wal.zst exist, keep N.wal and remove N.wal.zst:
//     the raw file is always complete and current (the crash came between
//     the rename and the removal of the raw file, or during TruncateAfter's
//     rewrite). The segment is compressed again later.
//  4. Read every segment in index order and check its header (magic,
//     version, checksum, first index equal to the file name) and every frame
//     (length, checksum, reserved bytes, index continuity). Any fault in a
//     segment that is not the last one is ErrCorrupt, naming the file and
//     the byte offset (in the uncompressed segment).
//  5. In the last segment, the bytes from the bad frame to the end of the
//     file are judged on one read of them (records appended since the scan
//     continue the log). Beside a running server (read-only), a reader can
//     see a later page of an append before an earlier one, since the file's
//     size no longer gates what it sees: while a valid frame follows the
//     bad one, a read-only Open reads the end again, up to 20 times 5 ms
//     apart, before it calls it corruption. Zeros to the end of the file are the space
//     written ahead (or an append none of whose bytes reached the disk):
//     kept as they are, and not a torn tail. Otherwise a bad frame (short,
//     bad checksum, bad length) is a torn write if no valid frame follows
//     it anywhere in the file: the file is cut at the end of the last valid record, with a
//     warning naming the segment and offset, and TornTail reports it. If a
//     valid frame follows, or the bad frame is whole but out of sequence, it
//     is ErrCorrupt. A last segment whose header was never written (file
//     shorter than a header, or zeros) is removed.
//  6. Check that each segment's first index follows the previous segment's
//     last index (ErrCorrupt otherwise: a lost or extra file).
//  7. fdatasync the last segment and fsync the directory, so that nothing
//     left unsynced in the page cache by a crashed process is built upon.
//  8. Start the background compressor for sealed raw segments.
//
// With Options.ReadOnly nothing is modified: steps 2, 3 and the cut of step
// 5 are skipped and a torn tail is only reported (TornTail), the log then
// ending at the last valid record.
//
// Open reads the whole log (decompressing compressed segments) to check it;
// that costs about as much as one replay.
package wal
