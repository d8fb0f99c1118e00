// Package benchutil holds the small pieces the benchmark programs share:
// a free loopback address, the keys and values they write, waiting for a
// server's first PONG, and reading an INFO field.
package benchutil

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
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

// WaitPong polls PING on addr every 2 ms until it answers PONG (a server
// still loading answers -LOADING), for at most limit or until exited is
// closed. The start-up benchmarks time a server to its first PONG.
func WaitPong(addr string, exited <-chan struct{}, limit time.Duration) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1, MaxRetries: -1,
		DialTimeout: 100 * time.Millisecond, ReadTimeout: time.Second})
	defer rdb.Close()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if rdb.Ping(context.Background()).Val() == "PONG" {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the server exited")
		case <-time.After(2 * time.Millisecond):
		}
	}
	return fmt.Errorf("no PONG in %v", limit)
}

// InfoField returns one field of INFO section, "?" if unavailable.
func InfoField(ctx context.Context, rdb *redis.Client, section, field string) string {
	s, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), field+":"); ok {
			return v
		}
	}
	return "?"
}
