package engine

import (
	"encoding/binary"
	"math/bits"
)

// xxh64x2 is XXH64 (the function of github.com/cespare/xxhash/v2, with a
// seed) of b under two seeds at once: the digest's two lanes in one pass
// over the bytes, without the streaming Digest's buffering. It returns
// exactly what xxhash.NewWithSeed(seed).Write(b); Sum64() would
// (TestXXH64x2 checks it).
func xxh64x2(b []byte, seedA, seedB uint64) (uint64, uint64) {
	const (
		p1 uint64 = 11400714785074694791
		p2 uint64 = 14029467366897019727
		p3 uint64 = 1609587929392839161
		p4 uint64 = 9650029242287828579
		p5 uint64 = 2870177450012600261
	)
	round := func(acc, in uint64) uint64 {
		acc += in * p2
		return bits.RotateLeft64(acc, 31) * p1
	}
	merge := func(acc, v uint64) uint64 {
		acc ^= round(0, v)
		return acc*p1 + p4
	}
	le := binary.LittleEndian
	n := len(b)
	var ha, hb uint64
	if n >= 32 {
		a1, a2, a3, a4 := seedA+p1+p2, seedA+p2, seedA, seedA-p1
		b1, b2, b3, b4 := seedB+p1+p2, seedB+p2, seedB, seedB-p1
		for len(b) >= 32 {
			w1, w2, w3, w4 := le.Uint64(b[0:8]), le.Uint64(b[8:16]), le.Uint64(b[16:24]), le.Uint64(b[24:32])
			a1, b1 = round(a1, w1), round(b1, w1)
			a2, b2 = round(a2, w2), round(b2, w2)
			a3, b3 = round(a3, w3), round(b3, w3)
			a4, b4 = round(a4, w4), round(b4, w4)
			b = b[32:]
		}
		ha = bits.RotateLeft64(a1, 1) + bits.RotateLeft64(a2, 7) + bits.RotateLeft64(a3, 12) + bits.RotateLeft64(a4, 18)
		ha = merge(merge(merge(merge(ha, a1), a2), a3), a4)
		hb = bits.RotateLeft64(b1, 1) + bits.RotateLeft64(b2, 7) + bits.RotateLeft64(b3, 12) + bits.RotateLeft64(b4, 18)
		hb = merge(merge(merge(merge(hb, b1), b2), b3), b4)
	} else {
		ha, hb = seedA+p5, seedB+p5
	}
	ha += uint64(n)
	hb += uint64(n)
	for ; len(b) >= 8; b = b[8:] {
		k := round(0, le.Uint64(b[:8]))
		ha = bits.RotateLeft64(ha^k, 27)*p1 + p4
		hb = bits.RotateLeft64(hb^k, 27)*p1 + p4
	}
	if len(b) >= 4 {
		k := uint64(le.Uint32(b[:4])) * p1
		ha = bits.RotateLeft64(ha^k, 23)*p2 + p3
		hb = bits.RotateLeft64(hb^k, 23)*p2 + p3
		b = b[4:]
	}
	for _, c := range b {
		k := uint64(c) * p5
		ha = bits.RotateLeft64(ha^k, 11) * p1
		hb = bits.RotateLeft64(hb^k, 11) * p1
	}
	avalanche := func(h uint64) uint64 {
		h ^= h >> 33
		h *= p2
		h ^= h >> 29
		h *= p3
		h ^= h >> 32
		return h
	}
	return avalanche(ha), avalanche(hb)
}
