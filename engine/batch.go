package engine

import "github.com/memimg/memimg/schema"

// memimg.batch (schema/batch.go): several clients' writes in one entry,
// each applied as its own entry would be.

func init() {
	onWrite("memimg.batch", applyBatch)
}

// applyBatch applies a memimg.batch entry: its commands in order, each
// with a fresh context (an earlier one may have replaced a keyspace, as
// FLUSHALL does), and the array of their replies.
func applyBatch(c *applyCtx, argv [][]byte) Reply {
	replies := make([]Reply, 0, len(argv)-1)
	var sub [][]byte
	for _, p := range argv[1:] {
		db, a, err := schema.DecodeCommand(p, sub)
		if err != nil {
			replies = append(replies, Error(schema.Error("ERR "+err.Error())))
			continue
		}
		sub = a
		cmd := schema.Lookup(a[0])
		switch {
		case cmd == nil || !cmd.Is(schema.Write) || cmd.Name == "memimg.batch":
			replies = append(replies, Error(schema.UnknownCommand(a)))
		case db >= len(c.img.dbs):
			replies = append(replies, Error(schema.ErrDBIndex))
		case writers[cmd.ID] == nil:
			replies = append(replies, Errorf("ERR command '"+cmd.Name+"' is not implemented"))
		default:
			replies = append(replies, writers[cmd.ID](&applyCtx{e: c.e, img: c.img, ks: c.img.dbs[db], db: db, now: c.now, index: c.index}, a))
		}
	}
	return Array(replies...)
}
