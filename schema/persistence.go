package schema

// The persistence commands. SAVE, BGSAVE and LASTSAVE act on the server's
// snapshots, not on the data set: they are Connection commands, answered by
// the protocol layer through the daemon (Redis's arity, flags and groups).
// MEMIMG.DIGEST is a read of the whole image, answered by the engine.
func init() {
	const ls = Loading | Stale
	register(
		&Command{Name: "save", Arity: 1, Flags: Connection | Admin | NoScript, Group: "server", Since: "1.0.0",
			Summary: "Synchronously saves the database(s) to disk."},
		&Command{Name: "bgsave", Arity: -1, Flags: Connection | Admin | NoScript, Group: "server", Since: "1.0.0",
			Summary: "Asynchronously saves the database(s) to disk."},
		&Command{Name: "lastsave", Arity: 1, Flags: Connection | ls | Fast | Random, Group: "server", Since: "1.0.0",
			Summary: "Returns the Unix timestamp of the last successful save to disk."},
		&Command{Name: "memimg.digest", Arity: 1, Flags: ReadOnly, Group: "server", Since: "memimg 0.1",
			Summary: "Returns an order-independent 128-bit hash of the whole data set (every database, key, type, value and expiry)."},
	)
}
