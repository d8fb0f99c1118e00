package engine

import (
	"bytes"
	"strings"

	"github.com/memimg/memimg/schema"
)

// The keyspace commands that work across databases or look at a value's
// representation: MOVE, SWAPDB, COPY and OBJECT.
//
// MOVE, SWAPDB and COPY are deterministic writes like the others: the
// target database's range is checked when the command applies, against the
// number of databases of the engine (the schema does not know it), so a
// log replayed with the same --databases applies the same way. A negative
// index is refused before logging.
//
// Values are immutable (image.go): a collection object is never changed in
// place, a write builds a new one sharing structure with the old. So MOVE
// moves the item itself, and COPY gives the new key a new item that
// shares the source's object: a later write to either key builds a new
// object for that key only, and the other key (and every snapshot's view)
// keeps the old one. That is an O(1) copy with the semantics of Redis's
// deep copy.
//
// SWAPDB swaps the two keyspaces of the image. Snapshots stay correct: an
// incremental snapshot diffs each database of its base View against the
// same database of the new View, key by key (View.Diff), and a swapped
// database is just a database whose keys all changed.
//
// OBJECT reports what Redis would: ENCODING names the encoding Redis 7.2
// would choose for the value's current contents with its default
// thresholds (memimg's own layouts differ, and Redis's conversions back to
// a small encoding after removals are not modelled: a set that grew past
// 128 members and shrank again says "listpack" here and "hashtable" in
// Redis). REFCOUNT is 2147483647 for the integers 0..9999, which Redis
// shares, and 1 otherwise. IDLETIME is always 0: memimg keeps no access
// times (a read would have to write). FREQ is Redis's error for a server
// without an LFU policy: memimg never evicts.

func init() {
	onWrite("move", keysMove)
	onWrite("swapdb", keysSwapDB)
	onWrite("copy", keysCopy)
	onRead("object", keysObject)
}

// liveIn is applyCtx.live for a key of database db, which need not be the
// current one: an expired key is removed on the way.
func (c *applyCtx) liveIn(db int, key []byte) (item, bool) {
	ks := c.img.dbs[db]
	it, ok := ks.keys.GetHint(probe(key), &ks.hint)
	if !ok {
		return item{}, false
	}
	if it.exp != 0 && it.exp <= c.now {
		ks.remove(key)
		c.e.stats.ExpiredKeys.Add(1)
		return item{}, false
	}
	return it, true
}

// MOVE key db: 1 if the key moved (with its expiry) to database db, 0 if
// it is missing here or exists there.
func keysMove(c *applyCtx, argv [][]byte) Reply {
	db, err := schema.ParseDBIndex(argv[2])
	if err != nil {
		return Error(err)
	}
	if db < 0 || db >= len(c.img.dbs) {
		return Error(schema.ErrDBIndex)
	}
	if db == c.db {
		return Error(schema.ErrSameObject)
	}
	it, ok := c.live(argv[1])
	if !ok {
		return Int(0)
	}
	if _, exists := c.liveIn(db, argv[1]); exists {
		return Int(0)
	}
	c.ks.remove(argv[1])
	c.img.dbs[db].set(it) // the same immutable item, now in db
	return Int(1)
}

// SWAPDB index1 index2: the two databases trade places, O(1).
func keysSwapDB(c *applyCtx, argv [][]byte) Reply {
	a, b, err := schema.ParseSwapDB(argv)
	if err != nil {
		return Error(err)
	}
	n := len(c.img.dbs)
	if a < 0 || b < 0 || a >= n || b >= n {
		return Error(schema.ErrDBIndex)
	}
	c.img.dbs[a], c.img.dbs[b] = c.img.dbs[b], c.img.dbs[a]
	c.ks = c.img.dbs[c.db]
	return OK
}

// COPY source destination [DB db] [REPLACE]: 1 if copied (value and
// expiry), 0 if source is missing or destination exists without REPLACE.
func keysCopy(c *applyCtx, argv [][]byte) Reply {
	a, err := schema.ParseCopy(argv, len(c.img.dbs))
	if err != nil {
		return Error(err)
	}
	db := c.db
	if a.DB >= 0 {
		db = a.DB
	}
	if db == c.db && bytes.Equal(argv[1], argv[2]) {
		return Error(schema.ErrSameObject)
	}
	it, ok := c.live(argv[1])
	if !ok {
		return Int(0)
	}
	if _, exists := c.liveIn(db, argv[2]); exists && !a.Replace {
		return Int(0)
	}
	// A new item (a new header for a collection, sharing the immutable
	// object), so that the two keys are independent from now on.
	c.img.dbs[db].set(it.withKey(argv[2]))
	return Int(1)
}

// objectHelp is OBJECT HELP's reply, Redis 7's text.
var objectHelp = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
}

// OBJECT ENCODING | FREQ | IDLETIME | REFCOUNT key, OBJECT HELP. A missing
// key is a nil reply, also for FREQ (Redis looks the key up first).
func keysObject(c *readCtx, argv [][]byte) Reply {
	sub := strings.ToLower(string(argv[1]))
	if sub == "help" {
		out := make([]Reply, len(objectHelp))
		for i, l := range objectHelp {
			out[i] = Status(l)
		}
		return Array(out...)
	}
	it, ok := c.keyLookup(argv[2])
	if !ok {
		return Null
	}
	switch sub {
	case "encoding":
		return Bulk(objectEncoding(it))
	case "freq":
		return Error(schema.ErrNoLFU)
	case "idletime":
		return Int(0)
	}
	return Int(objectRefcount(it))
}

// sharedRefcount is Redis's OBJ_SHARED_REFCOUNT, the count OBJECT REFCOUNT
// reports for a shared object.
const sharedRefcount = 2147483647

// objectRefcount is what Redis's OBJECT REFCOUNT says for it: the integers
// 0..9999 are shared objects in Redis (without an LRU/LFU maxmemory
// policy, which memimg never has); everything else has one reference.
func objectRefcount(it item) int64 {
	if it.typ == TypeString {
		if n, ok := canonicalInt(it.str()); ok && n >= 0 && n < 10000 {
			return sharedRefcount
		}
	}
	return 1
}

// canonicalInt parses s as Redis's string2ll: a 64-bit integer in its
// canonical form.
func canonicalInt(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	return schema.ParseInt(strBytes(s))
}

// Redis 7.2's default thresholds for its compact encodings.
const (
	redisEmbstrMax        = 44   // OBJ_ENCODING_EMBSTR_SIZE_LIMIT
	redisListpackBytes    = 8192 // list-max-listpack-size -2
	redisSetIntsetEntries = 512  // set-max-intset-entries
	redisListpackEntries  = 128  // set-, hash-, zset-max-listpack-entries
	redisListpackValue    = 64   // set-, hash-, zset-max-listpack-value
)

// objectEncoding names the encoding Redis 7.2 would use for it's value
// (see the file comment).
func objectEncoding(it item) string {
	switch it.typ {
	case TypeString:
		s := it.str()
		if _, ok := canonicalInt(s); ok {
			return "int"
		}
		if len(s) <= redisEmbstrMax {
			return "embstr"
		}
		return "raw"
	case TypeList:
		return listEncoding(it.object().(*listNode))
	case TypeSet:
		return setEncoding(it.object().(*setObj))
	case TypeHash:
		h := it.object().(*hashObj)
		small := h.Len() <= redisListpackEntries
		if small {
			h.each(func(e hashEntry) bool {
				small = len(e.field) <= redisListpackValue && len(e.value) <= redisListpackValue
				return small
			})
		}
		if small {
			return "listpack"
		}
		return "hashtable"
	case TypeZSet:
		z := it.object().(*zset)
		small := z.Len() <= redisListpackEntries
		if small {
			z.tree.ascend(0, func(e zent) bool {
				small = len(e.member) <= redisListpackValue
				return small
			})
		}
		if small {
			return "listpack"
		}
		return "skiplist"
	}
	return "unknown"
}

// listEncoding is "listpack" while a listpack of the list's elements would
// fit in list-max-listpack-size's 8 KB, "quicklist" beyond.
func listEncoding(l *listNode) string {
	const header = 6 + 1 // total bytes, count, end byte
	// Every entry takes at least 2 bytes: a longer list cannot fit.
	if header+2*l.Len() > redisListpackBytes {
		return "quicklist"
	}
	size := header
	l.ascend(0, l.Len(), func(v string) bool {
		size += listpackEntrySize(v)
		return size <= redisListpackBytes
	})
	if size <= redisListpackBytes {
		return "listpack"
	}
	return "quicklist"
}

// listpackEntrySize is the size of v as an entry of a Redis listpack: its
// encoding and data, then the back-length of those.
func listpackEntrySize(v string) int {
	var n int
	if i, ok := canonicalInt(v); ok {
		switch {
		case i >= 0 && i <= 127:
			n = 1
		case i >= -4096 && i <= 4095:
			n = 2
		case i >= -1<<15 && i < 1<<15:
			n = 3
		case i >= -1<<23 && i < 1<<23:
			n = 4
		case i >= -1<<31 && i < 1<<31:
			n = 5
		default:
			n = 9
		}
	} else {
		switch l := len(v); {
		case l < 64:
			n = 1 + l
		case l < 4096:
			n = 2 + l
		default:
			n = 5 + l
		}
	}
	switch {
	case n <= 127:
		return n + 1
	case n < 16383:
		return n + 2
	case n < 2097151:
		return n + 3
	case n < 268435455:
		return n + 4
	}
	return n + 5
}

// setEncoding is "intset" for at most 512 integers, "listpack" for at
// most 128 members of at most 64 bytes, "hashtable" otherwise.
func setEncoding(s *setObj) string {
	n := s.Len()
	ints, short := n <= redisSetIntsetEntries, n <= redisListpackEntries
	if ints || short {
		s.each(func(m string) bool {
			if ints {
				_, ints = canonicalInt(m)
			}
			if short {
				short = len(m) <= redisListpackValue
			}
			return ints || short
		})
	}
	switch {
	case ints:
		return "intset"
	case short:
		return "listpack"
	}
	return "hashtable"
}
