package schema

import "encoding/binary"

// PayloadVersion is the version of the log payload that EncodeCommand writes.
// Frozen: part of the on-disk format.
const PayloadVersion = 1

// EncodeCommand appends the payload of one command to dst and returns the
// extended slice. The command name (argv[0]) is written lower-cased so that
// replay does not depend on the client's spelling.
func EncodeCommand(dst []byte, db int, argv [][]byte) []byte {
	dst = append(dst, PayloadVersion)
	dst = binary.AppendUvarint(dst, uint64(db))
	dst = binary.AppendUvarint(dst, uint64(len(argv)))
	for i, a := range argv {
		dst = binary.AppendUvarint(dst, uint64(len(a)))
		if i == 0 {
			for _, ch := range a {
				if 'A' <= ch && ch <= 'Z' {
					ch += 'a' - 'A'
				}
				dst = append(dst, ch)
			}
			continue
		}
		dst = append(dst, a...)
	}
	return dst
}

// DecodeCommand decodes a payload written by EncodeCommand. The returned
// arguments alias p; copy what must outlive it. argv is reused if it has
// capacity.
func DecodeCommand(p []byte, argv [][]byte) (db int, out [][]byte, err error) {
	if len(p) == 0 {
		return 0, nil, ErrPayloadCorrupt
	}
	if p[0] != PayloadVersion {
		return 0, nil, ErrPayloadVersion
	}
	p = p[1:]
	d, n := binary.Uvarint(p)
	if n <= 0 || d > 1<<20 {
		return 0, nil, ErrPayloadCorrupt
	}
	p = p[n:]
	argc, n := binary.Uvarint(p)
	// Every argument takes at least one byte (its length), which bounds argc
	// by the remaining payload and keeps a corrupt count from allocating.
	if n <= 0 || argc == 0 || argc > uint64(len(p)) {
		return 0, nil, ErrPayloadCorrupt
	}
	p = p[n:]
	out = argv[:0]
	for i := uint64(0); i < argc; i++ {
		l, n := binary.Uvarint(p)
		if n <= 0 || l > uint64(len(p)-n) {
			return 0, nil, ErrPayloadCorrupt
		}
		p = p[n:]
		out = append(out, p[:l:l])
		p = p[l:]
	}
	if len(p) != 0 {
		return 0, nil, ErrPayloadCorrupt
	}
	return int(d), out, nil
}
