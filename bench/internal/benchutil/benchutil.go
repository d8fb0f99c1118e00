// Package benchutil holds the small pieces the benchmark programs share:
// a free loopback address, and the keys and values they write.
package benchutil

import (
	"fmt"
	"math/rand/v2"
	"net"
)

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Key is the i-th key of a benchmark's key space.
func Key(i int) string { return fmt.Sprintf("key:%012d", i) }

// Value is a random 64-byte value of letters and digits.
func Value(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 64)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}
