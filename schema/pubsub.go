package schema

// The pub/sub commands. They carry the Connection flag: messages are not
// data, so they are neither logged nor applied; the protocol layer answers
// them and delivers the messages between connections. Arity, key positions
// and groups are Redis 7.2's. A shard channel (SSUBSCRIBE, SPUBLISH) is a
// name in a namespace of its own, as in a standalone Redis; its key
// positions are declared as Redis declares them, so COMMAND GETKEYS finds
// the channels.
func init() {
	const (
		c  = Connection
		ls = Loading | Stale
	)
	register(
		&Command{Name: "subscribe", Arity: -2, Flags: c | NoScript | ls, Group: "pubsub", Since: "2.0.0",
			Summary: "Listens for messages published to channels."},
		&Command{Name: "unsubscribe", Arity: -1, Flags: c | NoScript | ls, Group: "pubsub", Since: "2.0.0",
			Summary: "Stops listening to messages posted to channels."},
		&Command{Name: "psubscribe", Arity: -2, Flags: c | NoScript | ls, Group: "pubsub", Since: "2.0.0",
			Summary: "Listens for messages published to channels that match one or more patterns."},
		&Command{Name: "punsubscribe", Arity: -1, Flags: c | NoScript | ls, Group: "pubsub", Since: "2.0.0",
			Summary: "Stops listening to messages published to channels that match one or more patterns."},
		&Command{Name: "publish", Arity: 3, Flags: c | ls | Fast, Group: "pubsub", Since: "2.0.0",
			Summary: "Posts a message to a channel."},
		&Command{Name: "pubsub", Arity: -2, Flags: c | ls, Group: "pubsub", Since: "2.8.0",
			Summary: "A container for Pub/Sub commands."},
		&Command{Name: "ssubscribe", Arity: -2, Flags: c | NoScript | ls, FirstKey: 1, LastKey: -1, Step: 1,
			Group: "pubsub", Since: "7.0.0",
			Summary: "Listens for messages published to shard channels."},
		&Command{Name: "sunsubscribe", Arity: -1, Flags: c | NoScript | ls, FirstKey: 1, LastKey: -1, Step: 1,
			Group: "pubsub", Since: "7.0.0",
			Summary: "Stops listening to messages posted to shard channels."},
		&Command{Name: "spublish", Arity: 3, Flags: c | ls | Fast, FirstKey: 1, LastKey: 1, Step: 1,
			Group: "pubsub", Since: "7.0.0",
			Summary: "Post a message to a shard channel"},
	)
}
