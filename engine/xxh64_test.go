package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func TestXXH64x2(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, 300)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for n := 0; n <= len(buf); n++ {
		seedA, seedB := rng.Uint64(), uint64(digestSeedHi)
		a, b := xxh64x2(buf[:n], seedA, seedB)
		wa, wb := xxhash.NewWithSeed(seedA), xxhash.NewWithSeed(seedB)
		wa.Write(buf[:n])
		wb.Write(buf[:n])
		if a != wa.Sum64() || b != wb.Sum64() {
			t.Fatalf("len %d: %x %x, want %x %x", n, a, b, wa.Sum64(), wb.Sum64())
		}
	}
}
