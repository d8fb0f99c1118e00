package engine

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/memimg/memimg/schema"
)

// The hash commands. A hash is a hsColl (see sets.go) of field-value pairs
// ordered by field bytes, so every reply that lists fields (HKEYS, HVALS,
// HGETALL, HSCAN, HRANDFIELD with a count at least the size) lists them in
// field order. Redis lists a small hash in insertion order and a large one
// in its hash table's order; neither is promised to clients.
//
// Write handlers are deterministic: they read the image, argv and c.now
// only. Commands that fail against the data (WRONGTYPE, HINCRBY on a value
// that is not an integer) are logged and fail the same way on every
// replay, changing nothing.

func init() {
	onWrite("hset", hashSet(false))
	onWrite("hmset", hashSet(true))
	onWrite("hsetnx", hashSetNX)
	onRead("hget", hashGet)
	onRead("hmget", hashMGet)
	onWrite("hdel", hashDel)
	onRead("hexists", hashExists)
	onRead("hlen", hashLen)
	onRead("hstrlen", hashStrlen)
	onRead("hkeys", hashList(true, false))
	onRead("hvals", hashList(false, true))
	onRead("hgetall", hashList(true, true))
	onWrite("hincrby", hashIncrBy)
	onWrite("hincrbyfloat", hashIncrByFloat)
	onRead("hrandfield", hashRandField)
	onRead("hscan", hashScan)

	objectDecoders[TypeHash] = func(b []byte) (object, error) {
		c, err := hsDecode[hashEntry, hashOps](b)
		if err != nil {
			return nil, err
		}
		return &hashObj{c}, nil
	}
}

// hashEntry is one field of a hash and its value. In a tree both view one
// allocation of their own (hashOps.own); in an edit they may view argv.
type hashEntry struct {
	field, value string
}

// hashObj is a hash value.
type hashObj struct {
	hsColl[hashEntry, hashOps]
}

// Type is TypeHash.
func (*hashObj) Type() ValueType { return TypeHash }

// hashOps orders a hash's entries by field; a record is uvarint(len)
// field uvarint(len) value.
type hashOps struct{}

func (hashOps) less(a, b hashEntry) bool { return a.field < b.field }
func (hashOps) same(a, b hashEntry) bool { return a.field == b.field }
func (hashOps) recLen(e hashEntry) int {
	return hsUvarintLen(len(e.field)) + len(e.field) + hsUvarintLen(len(e.value)) + len(e.value)
}
func (hashOps) appendRec(dst []byte, e hashEntry) []byte {
	return hsAppendString(hsAppendString(dst, e.field), e.value)
}
func (hashOps) readRec(s string) (hashEntry, int) {
	f, k := hsReadString(s)
	if k <= 0 {
		return hashEntry{}, 0
	}
	v, k2 := hsReadString(s[k:])
	if k2 <= 0 {
		return hashEntry{}, 0
	}
	return hashEntry{f, v}, k + k2
}
func (hashOps) own(e hashEntry) hashEntry {
	kv := concat(e.field, e.value)
	return hashEntry{kv[:len(e.field)], kv[len(e.field):]}
}

// hashEdit is an edit of a hash.
type hashEdit = hsEdit[hashEntry, hashOps]

// hashField is the probe for a field name.
func hashField(b []byte) hashEntry { return hashEntry{field: bstr(b)} }

// value returns the value of field f of h, which may be nil.
func (h *hashObj) value(f []byte) (string, bool) {
	if h == nil {
		return "", false
	}
	e, ok := h.get(hashField(f))
	return e.value, ok
}

// edit starts an edit of h, which may be nil.
func (h *hashObj) edit() *hashEdit {
	if h == nil {
		return &hashEdit{}
	}
	return h.hsColl.edit()
}

// hashRead looks key up for a read: nil for a missing key, wrong for a key
// of another type.
func hashRead(c *readCtx, key []byte) (h *hashObj, wrong bool) {
	it, ok := c.keyLookup(key)
	if !ok {
		return nil, false
	}
	if it.typ != TypeHash {
		return nil, true
	}
	return it.object().(*hashObj), false
}

// hashLive looks key up for a write (see applyCtx.live).
func hashLive(c *applyCtx, key []byte) (it item, h *hashObj, wrong bool) {
	it, ok := c.live(key)
	if !ok {
		return it, nil, false
	}
	if it.typ != TypeHash {
		return it, nil, true
	}
	return it, it.object().(*hashObj), false
}

// hashStore stores the result of an edit under key with expiry exp, or
// removes key if the hash is empty.
func hashStore(c *applyCtx, key []byte, e *hashEdit, exp int64) {
	if res, ok := e.done(); ok {
		c.ks.set(newObject(bstr(key), &hashObj{res}, exp))
	} else {
		c.ks.remove(key)
	}
}

// HSET key field value [field value ...]: the number of fields added;
// HMSET: OK. A field given twice takes the last value. The TTL is kept.
func hashSet(ok bool) writeHandler {
	return func(c *applyCtx, argv [][]byte) Reply {
		it, h, wrong := hashLive(c, argv[1])
		if wrong {
			return wrongType
		}
		e := h.edit()
		var added int64
		for i := 2; i+1 < len(argv); i += 2 {
			if _, replaced := e.put(hashEntry{bstr(argv[i]), bstr(argv[i+1])}); !replaced {
				added++
			}
		}
		hashStore(c, argv[1], e, it.exp)
		if ok {
			return OK
		}
		return Int(added)
	}
}

// HSETNX key field value: 1 if the field was set, 0 if it existed.
func hashSetNX(c *applyCtx, argv [][]byte) Reply {
	it, h, wrong := hashLive(c, argv[1])
	if wrong {
		return wrongType
	}
	if _, exists := h.value(argv[2]); exists {
		return Int(0)
	}
	e := h.edit()
	e.put(hashEntry{bstr(argv[2]), bstr(argv[3])})
	hashStore(c, argv[1], e, it.exp)
	return Int(1)
}

// HGET key field
func hashGet(c *readCtx, argv [][]byte) Reply {
	h, wrong := hashRead(c, argv[1])
	if wrong {
		return wrongType
	}
	if v, ok := h.value(argv[2]); ok {
		return Bulk(v)
	}
	return Null
}

// HMGET key field [field ...]: a null for each missing field; a missing
// key is an empty hash (unlike MGET, a key of another type is WRONGTYPE).
func hashMGet(c *readCtx, argv [][]byte) Reply {
	h, wrong := hashRead(c, argv[1])
	if wrong {
		return wrongType
	}
	out := make([]Reply, len(argv)-2)
	for i, f := range argv[2:] {
		if v, ok := h.value(f); ok {
			out[i] = Bulk(v)
		} else {
			out[i] = Null
		}
	}
	return Array(out...)
}

// HDEL key field [field ...]: the number of fields removed; an empty hash
// is removed.
func hashDel(c *applyCtx, argv [][]byte) Reply {
	it, h, wrong := hashLive(c, argv[1])
	if wrong {
		return wrongType
	}
	if h == nil {
		return Int(0)
	}
	e := h.edit()
	var removed int64
	for _, f := range argv[2:] {
		if _, ok := e.del(hashField(f)); ok {
			removed++
		}
	}
	if removed > 0 {
		hashStore(c, argv[1], e, it.exp)
	}
	return Int(removed)
}

// HEXISTS key field
func hashExists(c *readCtx, argv [][]byte) Reply {
	h, wrong := hashRead(c, argv[1])
	if wrong {
		return wrongType
	}
	_, ok := h.value(argv[2])
	return Int(hsBool(ok))
}

// HLEN key
func hashLen(c *readCtx, argv [][]byte) Reply {
	h, wrong := hashRead(c, argv[1])
	if wrong {
		return wrongType
	}
	if h == nil {
		return Int(0)
	}
	return Int(int64(h.n))
}

// HSTRLEN key field: the length of the value, 0 if missing.
func hashStrlen(c *readCtx, argv [][]byte) Reply {
	h, wrong := hashRead(c, argv[1])
	if wrong {
		return wrongType
	}
	v, _ := h.value(argv[2])
	return Int(int64(len(v)))
}

// HKEYS key, HVALS key (arrays) and HGETALL key (a map: RESP3 %, RESP2 a
// flat array of fields and values), in field order.
func hashList(fields, values bool) readHandler {
	return func(c *readCtx, argv [][]byte) Reply {
		h, wrong := hashRead(c, argv[1])
		if wrong {
			return wrongType
		}
		kind := KindArray
		if fields && values {
			kind = KindMap
		}
		if h == nil {
			return Reply{Kind: kind, Elems: []Reply{}}
		}
		per := 1
		if fields && values {
			per = 2
		}
		out := make([]Reply, 0, per*h.n)
		h.each(func(e hashEntry) bool {
			if fields {
				out = append(out, Bulk(e.field))
			}
			if values {
				out = append(out, Bulk(e.value))
			}
			return true
		})
		return Reply{Kind: kind, Elems: out}
	}
}

// HINCRBY key field increment: the new value. A missing field counts as
// 0; the TTL is kept.
func hashIncrBy(c *applyCtx, argv [][]byte) Reply {
	n, err := schema.ParseHIncrBy(argv)
	if err != nil {
		return Error(err)
	}
	it, h, wrong := hashLive(c, argv[1])
	if wrong {
		return wrongType
	}
	var v int64
	if old, ok := h.value(argv[2]); ok {
		if v, ok = schema.ParseInt(strBytes(old)); !ok {
			return Error(schema.ErrHashNotInteger)
		}
	}
	if (n < 0 && v < 0 && n < math.MinInt64-v) || (n > 0 && v > 0 && n > math.MaxInt64-v) {
		return Error(schema.ErrOverflow)
	}
	v += n
	e := h.edit()
	e.put(hashEntry{bstr(argv[2]), strconv.FormatInt(v, 10)})
	hashStore(c, argv[1], e, it.exp)
	return Int(v)
}

// HINCRBYFLOAT key field increment: computed in long double precision and
// formatted as INCRBYFLOAT does (see strIncrByFloat); the reply is the new
// value. A missing field counts as 0; the TTL is kept.
func hashIncrByFloat(c *applyCtx, argv [][]byte) Reply {
	incr, err := schema.ParseHIncrByFloat(argv)
	if err != nil {
		return Error(err)
	}
	it, h, wrong := hashLive(c, argv[1])
	if wrong {
		return wrongType
	}
	v := schema.NewLongDouble()
	if old, ok := h.value(argv[2]); ok {
		f, ok := schema.ParseLongDouble(strBytes(old))
		if !ok {
			return Error(schema.ErrHashNotFloat)
		}
		v.Set(f)
	}
	if v.IsInf() {
		// A stored "inf": inf + finite is infinite.
		return Error(schema.ErrNaNOrInf)
	}
	v.Add(v, incr)
	if !schema.LongDoubleFinite(v) {
		return Error(schema.ErrNaNOrInf)
	}
	s := schema.FormatLongDouble(v)
	e := h.edit()
	e.put(hashEntry{bstr(argv[2]), s})
	hashStore(c, argv[1], e, it.exp)
	return Bulk(s)
}

// HRANDFIELD key [count [WITHVALUES]]: without a count, one random field
// (or a null); with a positive one, up to count distinct fields, the whole
// hash in field order when count is at least its size; with a negative
// one, -count fields drawn independently. WITHVALUES follows each field
// with its value, in one flat array marked ReplyPairs (see zsets.go):
// Redis 7 replies so to RESP2 clients, and with an array of [field, value]
// pairs to RESP3 clients.
func hashRandField(c *readCtx, argv [][]byte) Reply {
	a, err := schema.ParseHRandField(argv)
	if err != nil {
		return Error(err)
	}
	h, wrong := hashRead(c, argv[1])
	if wrong {
		return wrongType
	}
	if h == nil {
		if a.HasCount {
			return Array()
		}
		return Null
	}
	if !a.HasCount {
		return Bulk(h.sampler()(rand.IntN(h.n)).field)
	}
	var ents []hashEntry
	if idx := hsRandomIndexes(h.n, a.Count); idx == nil {
		ents = h.items()
	} else {
		at := h.sampler()
		ents = make([]hashEntry, len(idx))
		for i, j := range idx {
			ents[i] = at(j)
		}
	}
	per := 1
	if a.WithValues {
		per = 2
	}
	out := make([]Reply, 0, per*len(ents))
	for _, e := range ents {
		out = append(out, Bulk(e.field))
		if a.WithValues {
			out = append(out, Bulk(e.value))
		}
	}
	if a.WithValues {
		return Reply{Kind: KindArray, Elems: out, Int: ReplyPairs}
	}
	return Array(out...)
}

// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]: see hsScan.
// MATCH applies to fields; NOVALUES (Redis 7.4) leaves the values out.
func hashScan(c *readCtx, argv [][]byte) Reply {
	a, err := schema.ParseHScan(argv)
	if err != nil {
		return Error(err)
	}
	h, wrong := hashRead(c, argv[1])
	if wrong {
		return wrongType
	}
	if h == nil {
		return hsEmptyScan()
	}
	return hsScan(c, &h.hsColl, argv[1], a, hashScanTag,
		func(e hashEntry) string { return e.field },
		func(f string) hashEntry { return hashEntry{field: f} },
		func(out []Reply, e hashEntry) []Reply {
			out = append(out, Bulk(e.field))
			if !a.NoValues {
				out = append(out, Bulk(e.value))
			}
			return out
		})
}
