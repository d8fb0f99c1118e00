package protocol

import (
	"bufio"
	"net"
	"testing"
)

// BenchmarkRoundTrip measures one request and its reply over loopback, the
// client waiting for each reply (no pipelining), from parallel connections.
func BenchmarkRoundTrip(b *testing.B) {
	for _, bc := range []struct{ name, req, reply string }{
		{"ping", "*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
		{"echo", "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n", "$5\r\nhello\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ts := startTestServer(b, Config{})
			b.SetParallelism(16)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", ts.addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				rd := bufio.NewReader(c)
				buf := make([]byte, len(bc.reply))
				req := []byte(bc.req)
				for pb.Next() {
					if _, err := c.Write(req); err != nil {
						b.Error(err)
						return
					}
					if _, err := rd.Read(buf); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
