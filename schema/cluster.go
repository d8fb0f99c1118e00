package schema

// The cluster commands (replication through Raft). ROLE, READONLY,
// READWRITE, WAIT and MEMIMG.CLUSTER are answered by the protocol layer
// with the daemon's cluster; memimg.propose and memimg.readindex are the
// requests a follower sends its leader (refused from clients like every
// Internal command, accepted on a cluster peer's connection);
// memimg.noop and memimg.member are logged entries that change no data:
// a new leader's first entry, and a member's addresses for the others.
func init() {
	const c = Connection
	register(
		&Command{Name: "role", Arity: 1, Flags: c | NoScript | Loading | Stale | Fast, Group: "server", Since: "2.8.12",
			Summary: "Returns the replication role."},
		&Command{Name: "readonly", Arity: 1, Flags: c | Loading | Stale | Fast, Group: "cluster", Since: "3.0.0",
			Summary: "Enables read-only queries for a connection to a Redis Cluster replica node."},
		&Command{Name: "readwrite", Arity: 1, Flags: c | Loading | Stale | Fast, Group: "cluster", Since: "3.0.0",
			Summary: "Enables read-write queries for a connection to a Redis Cluster replica node."},
		&Command{Name: "wait", Arity: 3, Flags: c | NoScript, Group: "generic", Since: "3.0.0",
			Summary: "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed."},
		&Command{Name: "memimg.cluster", Arity: -2, Flags: c | Admin | Loading | Stale, Group: "server", Since: "memimg 0.1",
			Summary: "Cluster membership: MEMBERS, JOIN, LEAVE, LEADER, TRANSFER."},
		&Command{Name: "memimg.propose", Arity: -2, Flags: c | Internal, Group: "server", Since: "memimg 0.1",
			Summary: "Followers' writes (one or more payloads), proposed by the leader (cluster peers only)."},
		&Command{Name: "memimg.readindex", Arity: 1, Flags: c | Internal, Group: "server", Since: "memimg 0.1",
			Summary: "The leader's commit index, once its leadership is confirmed (cluster peers only)."},
		&Command{Name: "memimg.noop", Arity: 1, Flags: Write | Internal | Fast, Group: "server", Since: "memimg 0.1",
			Summary: "Changes nothing: a new leader's first entry."},
		&Command{Name: "memimg.member", Arity: 5, Flags: Write | Internal | Fast, Group: "server", Since: "memimg 0.1",
			Summary: "Records a cluster member's id, Raft address, client address and role; changes no data."},
	)
}
