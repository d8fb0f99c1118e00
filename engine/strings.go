package engine

import (
	"math"
	"strconv"
	"unsafe"

	"github.com/memimg/memimg/schema"
)

// The string commands. Write handlers are deterministic: they read the
// image, argv and c.now (the entry's time) only. Every option was checked by
// the schema before the command was logged; the handlers parse the options
// again with the same schema functions and return the parser's error only
// as a defence (a log written by another build).
//
// Commands that fail against the data (WRONGTYPE, INCR on a non-integer,
// an APPEND past 512 MB) are logged and fail the same way on every replay,
// changing nothing.

func init() {
	onRead("get", strGet)
	onRead("mget", strMGet)
	onRead("strlen", strStrlen)
	onRead("getrange", strGetRange)
	onRead("substr", strGetRange)
	onRead("lcs", strLCS)

	onWrite("set", strSet)
	onWrite("setnx", strSetNX)
	onWrite("setex", strSetEx)
	onWrite("psetex", strSetEx)
	onWrite("getset", strGetSet)
	onWrite("getdel", strGetDel)
	onWrite("getex", strGetEx)
	onWrite("mset", strMSet)
	onWrite("msetnx", strMSetNX)
	onWrite("append", strAppend)
	onWrite("setrange", strSetRange)
	onWrite("incr", func(c *applyCtx, argv [][]byte) Reply { return strIncrBy(c, argv[1], 1) })
	onWrite("decr", func(c *applyCtx, argv [][]byte) Reply { return strIncrBy(c, argv[1], -1) })
	onWrite("incrby", strIncrByCmd)
	onWrite("decrby", strIncrByCmd)
	onWrite("incrbyfloat", strIncrByFloat)
}

// strBytes views s as bytes without copying, for parsing only: the result
// must not be written to or stored.
func strBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// strItem builds the item for key holding val: both are copied, together,
// into the item's one allocation, so they may view argv.
func strItem(key, val []byte, exp int64) item {
	return newString(bstr(key), bstr(val), exp)
}

// strValue is the bulk reply for a found item or the null reply.
func strValue(it item, found bool) Reply {
	if !found {
		return Null
	}
	return Bulk(it.str())
}

// GET key
func strGet(c *readCtx, argv [][]byte) Reply {
	it, ok := c.keyLookup(argv[1])
	if ok && it.typ != TypeString {
		return wrongType
	}
	return strValue(it, ok)
}

// MGET key [key ...]: a missing key, or one of another type, is a null.
func strMGet(c *readCtx, argv [][]byte) Reply {
	out := make([]Reply, len(argv)-1)
	for i, k := range argv[1:] {
		it, ok := c.keyLookup(k)
		if ok && it.typ == TypeString {
			out[i] = Bulk(it.str())
		} else {
			out[i] = Null
		}
	}
	return Array(out...)
}

// STRLEN key
func strStrlen(c *readCtx, argv [][]byte) Reply {
	it, ok := c.keyLookup(argv[1])
	if !ok {
		return Int(0)
	}
	if it.typ != TypeString {
		return wrongType
	}
	return Int(int64(len(it.str())))
}

// GETRANGE key start end (and SUBSTR): both ends inclusive, negative
// indices count from the end, as Redis 7 computes them.
func strGetRange(c *readCtx, argv [][]byte) Reply {
	start, end, err := schema.ParseRange(argv)
	if err != nil {
		return Error(err)
	}
	it, ok := c.keyLookup(argv[1])
	if !ok {
		return Bulk("")
	}
	if it.typ != TypeString {
		return wrongType
	}
	return Bulk(substring(it.str(), start, end))
}

// substring is GETRANGE's arithmetic.
func substring(s string, start, end int64) string {
	n := int64(len(s))
	if start < 0 && end < 0 && start > end {
		return ""
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start = max(start, 0)
	end = max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		return ""
	}
	return s[start : end+1]
}

// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT unix-s | PXAT unix-ms |
// KEEPTTL]. As in Redis 7: the expire is checked first, then GET's type
// check, then NX/XX; with GET the reply is the old value even when NX or XX
// stops the write. SET without KEEPTTL clears the TTL; an EXAT or PXAT in
// the past leaves the key deleted.
func strSet(c *applyCtx, argv [][]byte) Reply {
	var o schema.SetOptions
	if len(argv) > 3 {
		var err error
		if o, err = schema.ParseSetOptions(argv); err != nil {
			return Error(err)
		}
	}
	var exp int64
	if o.Expire.Mode != schema.ExpireNone {
		var err error
		if exp, err = o.Expire.At("set", c.now); err != nil {
			return Error(err)
		}
	}
	old, found := c.live(argv[1])
	reply := OK
	if o.Get {
		if found && old.typ != TypeString {
			return wrongType
		}
		reply = strValue(old, found)
	}
	if (o.NX && found) || (o.XX && !found) {
		if o.Get {
			return reply
		}
		return Null
	}
	if o.KeepTTL && found {
		exp = old.exp
	}
	if exp != 0 && exp <= c.now {
		if found {
			c.ks.remove(argv[1])
		}
		return reply
	}
	c.ks.set(strItem(argv[1], argv[2], exp))
	return reply
}

// SETNX key value
func strSetNX(c *applyCtx, argv [][]byte) Reply {
	if _, found := c.live(argv[1]); found {
		return Int(0)
	}
	c.ks.set(strItem(argv[1], argv[2], 0))
	return Int(1)
}

// SETEX key seconds value, PSETEX key milliseconds value
func strSetEx(c *applyCtx, argv [][]byte) Reply {
	x, err := schema.ParseSetEx(argv)
	if err != nil {
		return Error(err)
	}
	name := "setex"
	if x.Mode == schema.ExpirePX {
		name = "psetex"
	}
	exp, err := x.At(name, c.now)
	if err != nil {
		return Error(err)
	}
	c.live(argv[1]) // removes an expired key and counts it (INFO expired_keys)
	c.ks.set(strItem(argv[1], argv[3], exp))
	return OK
}

// GETSET key value: the old value; the new one has no TTL.
func strGetSet(c *applyCtx, argv [][]byte) Reply {
	old, found := c.live(argv[1])
	if found && old.typ != TypeString {
		return wrongType
	}
	c.ks.set(strItem(argv[1], argv[2], 0))
	return strValue(old, found)
}

// GETDEL key
func strGetDel(c *applyCtx, argv [][]byte) Reply {
	old, found := c.live(argv[1])
	if !found {
		return Null
	}
	if old.typ != TypeString {
		return wrongType
	}
	c.ks.remove(argv[1])
	return Bulk(old.str())
}

// GETEX key [EX s | PX ms | EXAT unix-s | PXAT unix-ms | PERSIST]: the value,
// after changing the TTL. An EXAT or PXAT in the past deletes the key.
func strGetEx(c *applyCtx, argv [][]byte) Reply {
	o, err := schema.ParseGetExOptions(argv)
	if err != nil {
		return Error(err)
	}
	old, found := c.live(argv[1])
	if !found {
		return Null
	}
	if old.typ != TypeString {
		return wrongType
	}
	switch {
	case o.Expire.Mode != schema.ExpireNone:
		exp, err := o.Expire.At("getex", c.now)
		if err != nil {
			return Error(err)
		}
		if exp <= c.now {
			c.ks.remove(argv[1])
		} else if exp != old.exp {
			old.exp = exp // old is a copy: the stored item is not touched
			c.ks.set(old)
		}
	case o.Persist && old.exp != 0:
		old.exp = 0
		c.ks.set(old)
	}
	return Bulk(old.str())
}

// MSET key value [key value ...]: every key loses its TTL.
func strMSet(c *applyCtx, argv [][]byte) Reply {
	for i := 1; i+1 < len(argv); i += 2 {
		c.live(argv[i]) // removes an expired key and counts it
		c.ks.set(strItem(argv[i], argv[i+1], 0))
	}
	return OK
}

// MSETNX key value [key value ...]: all or nothing.
func strMSetNX(c *applyCtx, argv [][]byte) Reply {
	for i := 1; i+1 < len(argv); i += 2 {
		if _, found := c.live(argv[i]); found {
			return Int(0)
		}
	}
	for i := 1; i+1 < len(argv); i += 2 {
		c.ks.set(strItem(argv[i], argv[i+1], 0))
	}
	return Int(1)
}

// APPEND key value: the new length. A missing key is created, even with
// an empty value; the TTL is kept.
func strAppend(c *applyCtx, argv [][]byte) Reply {
	old, found := c.live(argv[1])
	if !found {
		c.ks.set(strItem(argv[1], argv[2], 0))
		return Int(int64(len(argv[2])))
	}
	if old.typ != TypeString {
		return wrongType
	}
	if int64(len(old.str()))+int64(len(argv[2])) > schema.MaxStringLen {
		return Error(schema.ErrStringTooLong)
	}
	if len(argv[2]) > 0 {
		// key and old value are already together in old.bytes(): one
		// copy of them with the suffix is the new item.
		old = stringItem(concat(old.bytes(), bstr(argv[2])), old.klen, old.exp)
		c.ks.set(old)
	}
	return Int(int64(len(old.str())))
}

// SETRANGE key offset value: the new length. The string is padded with
// zero bytes up to offset; an empty value changes nothing and creates no
// key; the TTL is kept.
func strSetRange(c *applyCtx, argv [][]byte) Reply {
	off, err := schema.ParseSetRange(argv)
	if err != nil {
		return Error(err)
	}
	val := argv[3]
	old, found := c.live(argv[1])
	if found && old.typ != TypeString {
		return wrongType
	}
	if len(val) == 0 {
		return Int(int64(len(old.str()))) // 0 for a missing key
	}
	key := argv[1]
	n := max(int64(len(old.str())), off+int64(len(val)))
	// The new item's bytes are built in place: key, old value, zero padding up to
	// off, val. buf is never written again, so it is viewed as the string
	// without a second copy (it can be 512 MB).
	buf := make([]byte, int64(len(key))+n)
	copy(buf, key)
	copy(buf[len(key):], old.str())
	copy(buf[int64(len(key))+off:], val)
	c.ks.set(stringItem(unsafe.String(&buf[0], len(buf)), uint32(len(key)), old.exp))
	return Int(n)
}

// INCRBY key increment, DECRBY key decrement
func strIncrByCmd(c *applyCtx, argv [][]byte) Reply {
	n, err := schema.ParseIncrement(argv)
	if err != nil {
		return Error(err)
	}
	return strIncrBy(c, argv[1], n)
}

// strIncrBy adds n to the integer held by key (0 if missing), keeping its
// TTL.
func strIncrBy(c *applyCtx, key []byte, n int64) Reply {
	old, found := c.live(key)
	var v int64
	if found {
		if old.typ != TypeString {
			return wrongType
		}
		var ok bool
		if v, ok = schema.ParseInt(strBytes(old.str())); !ok {
			return Error(schema.ErrNotInteger)
		}
	}
	if (n < 0 && v < 0 && n < math.MinInt64-v) || (n > 0 && v > 0 && n > math.MaxInt64-v) {
		return Error(schema.ErrOverflow)
	}
	v += n
	var digits [20]byte
	c.ks.set(strItem(key, strconv.AppendInt(digits[:0], v, 10), old.exp))
	return Int(v)
}

// INCRBYFLOAT key increment: computed in long double precision as Redis
// does (see schema.ParseLongDouble); the stored value and the reply are
// the formatted result. The TTL is kept.
func strIncrByFloat(c *applyCtx, argv [][]byte) Reply {
	old, found := c.live(argv[1])
	v := schema.NewLongDouble()
	if found {
		if old.typ != TypeString {
			return wrongType
		}
		f, ok := schema.ParseLongDouble(strBytes(old.str()))
		if !ok {
			return Error(schema.ErrNotFloat)
		}
		v.Set(f)
	}
	incr, err := schema.ParseIncrByFloat(argv)
	if err != nil {
		return Error(err)
	}
	if v.IsInf() {
		// A stored "inf": inf + finite is infinite.
		return Error(schema.ErrNaNOrInf)
	}
	v.Add(v, incr)
	if !schema.LongDoubleFinite(v) {
		return Error(schema.ErrNaNOrInf)
	}
	it := newString(bstr(argv[1]), schema.FormatLongDouble(v), old.exp)
	c.ks.set(it)
	return Bulk(it.str())
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest
// common subsequence, by Redis's dynamic programming and its walk back
// through the table, so ties resolve and ranges come out as in Redis.
func strLCS(c *readCtx, argv [][]byte) Reply {
	ia, okA := c.keyLookup(argv[1])
	ib, okB := c.keyLookup(argv[2])
	if (okA && ia.typ != TypeString) || (okB && ib.typ != TypeString) {
		return Error(schema.ErrLCSNotString)
	}
	o, err := schema.ParseLCSOptions(argv)
	if err != nil {
		return Error(err)
	}
	a, b := ia.str(), ib.str()
	if int64(len(a)) >= math.MaxUint32-1 || int64(len(b)) >= math.MaxUint32-1 {
		return Errorf("ERR String too long for LCS")
	}
	alen, blen := len(a), len(b)
	cells := uint64(alen+1) * uint64(blen+1)
	if cells*4 > schema.MaxStringLen {
		return Error(schema.ErrLCSTooBig)
	}
	w := blen + 1
	lcs := make([]uint32, cells)
	for i := 1; i <= alen; i++ {
		for j := 1; j <= blen; j++ {
			if a[i-1] == b[j-1] {
				lcs[i*w+j] = lcs[(i-1)*w+j-1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i-1)*w+j], lcs[i*w+j-1])
			}
		}
	}
	total := lcs[alen*w+blen]
	if o.Len {
		return Int(int64(total))
	}
	result := make([]byte, total)
	idx := total
	var matches []Reply
	// aStart == alen means no range is open.
	aStart, aEnd, bStart, bEnd := alen, 0, 0, 0
	i, j := alen, blen
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			if aStart == alen {
				aStart, aEnd = i-1, i-1
				bStart, bEnd = j-1, j-1
			} else if aStart == i && bStart == j {
				aStart--
				bStart--
			} else {
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if lcs[(i-1)*w+j] > lcs[i*w+j-1] {
				i--
			} else {
				j--
			}
			if aStart != alen {
				emit = true
			}
		}
		if emit {
			matchLen := int64(aEnd - aStart + 1)
			if o.Idx && (o.MinMatchLen == 0 || matchLen >= o.MinMatchLen) {
				m := []Reply{
					Array(Int(int64(aStart)), Int(int64(aEnd))),
					Array(Int(int64(bStart)), Int(int64(bEnd))),
				}
				if o.WithMatchLen {
					m = append(m, Int(matchLen))
				}
				matches = append(matches, Array(m...))
			}
			aStart = alen
		}
	}
	if o.Idx {
		if matches == nil {
			matches = []Reply{}
		}
		return Reply{Kind: KindMap, Elems: []Reply{
			Bulk("matches"), Array(matches...),
			Bulk("len"), Int(int64(total)),
		}}
	}
	return Bulk(string(result))
}
