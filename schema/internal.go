package schema

func init() {
	register(&Command{
		Name: "memimg.expired", Arity: -2, Flags: Write | Internal | Fast,
		FirstKey: 1, LastKey: -1, Step: 1, Group: "generic",
		Summary: "Removes the given keys if they have expired at the entry's time (submitted by the expiry reactor).",
		Since:   "memimg 0.1",
	})
}
