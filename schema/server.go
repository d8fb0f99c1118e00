package schema

// The connection and server commands. They carry the Connection flag: the
// protocol layer answers them (they act on the client's connection or on the
// server process) and the engine refuses them. Arity, flags and groups are
// Redis 7.2's, so COMMAND describes them as Redis does.
func init() {
	const (
		c  = Connection
		ls = Loading | Stale
		na = NoScript | Loading | Stale | Fast | NoAuth
	)
	register(
		&Command{Name: "auth", Arity: -2, Flags: c | na, Group: "connection", Since: "1.0.0",
			Summary: "Authenticates the connection."},
		&Command{Name: "client", Arity: -2, Flags: c | NoScript | ls, Group: "connection", Since: "2.4.0",
			Summary: "A container for client connection commands."},
		&Command{Name: "command", Arity: -1, Flags: c | ls, Group: "server", Since: "2.8.13",
			Summary: "Returns detailed information about all commands."},
		&Command{Name: "config", Arity: -2, Flags: c | Admin | NoScript | ls, Group: "server", Since: "2.0.0",
			Summary: "A container for server configuration commands."},
		&Command{Name: "echo", Arity: 2, Flags: c | ls | Fast, Group: "connection", Since: "1.0.0",
			Summary: "Returns the given string."},
		&Command{Name: "hello", Arity: -1, Flags: c | na, Group: "connection", Since: "6.0.0",
			Summary: "Handshakes with the Redis server."},
		&Command{Name: "info", Arity: -1, Flags: c | ls, Group: "server", Since: "1.0.0",
			Summary: "Returns information and statistics about the server."},
		&Command{Name: "memory", Arity: -2, Flags: c, Group: "server", Since: "4.0.0",
			Summary: "A container for memory diagnostics commands."},
		&Command{Name: "ping", Arity: -1, Flags: c | Fast, Group: "connection", Since: "1.0.0",
			Summary: "Returns the server's liveliness response."},
		&Command{Name: "quit", Arity: -1, Flags: c | na, Group: "connection", Since: "1.0.0",
			Summary: "Closes the connection."},
		&Command{Name: "reset", Arity: 1, Flags: c | na, Group: "connection", Since: "6.2.0",
			Summary: "Resets the connection."},
		&Command{Name: "select", Arity: 2, Flags: c | ls | Fast, Group: "connection", Since: "1.0.0",
			Summary: "Changes the selected database."},
		&Command{Name: "shutdown", Arity: -1, Flags: c | Admin | NoScript | ls, Group: "server", Since: "1.0.0",
			Summary: "Synchronously saves the database(s) to disk and shuts down the Redis server."},
		&Command{Name: "time", Arity: 1, Flags: c | ls | Fast | Random, Group: "server", Since: "2.6.0",
			Summary: "Returns the server time."},
	)
}
