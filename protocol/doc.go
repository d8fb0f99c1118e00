// Package protocol is memimg's RESP server: it speaks RESP2 and RESP3 to
// redis-cli and Redis client libraries, over github.com/tidwall/redcon.
//
// A Server answers the connection and server commands itself (PING, ECHO,
// HELLO, AUTH, SELECT, QUIT, RESET, TIME, INFO, COMMAND, CLIENT, CONFIG,
// SHUTDOWN: the commands flagged schema.Connection) and hands every other
// command to the engine, whose engine.Reply it encodes in the protocol
// version the connection chose with HELLO.
//
//	srv, err := protocol.New(protocol.Config{Engine: eng, Logger: logger})
//	go srv.Serve(ln)
//	...
//	srv.Shutdown(ctx) // stop accepting, let connections finish, close them
//	eng.Close()
//
// A Server created without an Engine serves at once but answers every
// command that needs the data with "-LOADING memimg is loading the dataset
// in memory", as Redis does while it loads; SetEngine ends that. A daemon
// listens first, loads its snapshot and replays its log, then sets the
// engine.
//
// # Bad input
//
// redcon buffers a request until it is complete and has no limit of its own,
// so every accepted connection is wrapped: a Scanner reads the byte stream
// as it arrives, in pieces of any size, and checks the request framing
// against Redis's limits before redcon buffers anything. A request over a
// limit or off the grammar is answered as Redis answers it
// ("-ERR Protocol error: invalid bulk length", "invalid multibulk length",
// "too big inline request", "expected '$', got 'x'") and the connection is
// closed; the commands pipelined before it run and are answered first, and
// nothing of the bad request reaches the engine or the log. Other clients
// are not affected.
//
//	limit                    default      error
//	bulk string length       512 MiB      invalid bulk length (proto-max-bulk-len)
//	arguments per request    1048576      invalid multibulk length
//	inline command / header  64 KiB       too big inline request / too big mbulk count string
//	one request, in all      1 GiB        query buffer limit exceeded
//
// # Pipelines
//
// redcon parses every complete request of a read at once. The handler takes
// the whole pipeline: writes are queued in the engine together
// (engine.ExecAsync), so one log write and one fsync cover them, and a read
// first waits for the writes queued before it. Replies are written in order,
// in one buffer, with one write to the socket.
//
// # Differences from Redis
//
// A request with a count of 0 or less ("*0\r\n") is refused as an invalid
// multibulk length (Redis skips it). There are no ACL users besides
// "default". Unauthenticated clients get the same request limits as
// authenticated ones.
package protocol
