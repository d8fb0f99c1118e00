package engine

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/memimg/memimg/schema"
	"github.com/tidwall/btree"
)

// The set commands, and the sorted collection that sets and hashes share.
//
// Order. A set's members are kept in one deterministic order, which every
// reply that lists members follows (SMEMBERS, SINTER, SUNION, SDIFF,
// SSCAN, SRANDMEMBER and SPOP with a count at least the size): members
// that are integers in Redis's canonical form ("-12", "7", not "07" or
// "+7") come first, in numeric order, then the other members in byte
// order. That is exactly Redis's order for the sets it keeps as intsets
// (only integers, up to 512 of them), so for those memimg replies as
// Redis does; Redis's order for other sets is its hash table's, which
// clients cannot rely on.
//
// Determinism. Apply never iterates a Go map: the results of SINTERSTORE,
// SUNIONSTORE and SDIFFSTORE are built in the set order, and SPOP draws
// its members with a generator seeded from the entry's index and time, so
// every replay pops the same members. SRANDMEMBER is a read and uses any
// randomness.
//
// Write handlers are deterministic: they read the image, argv, c.now and
// c.index only. Commands that fail against the data (WRONGTYPE) are logged
// and fail the same way on every replay, changing nothing.

func init() {
	onWrite("sadd", setAdd)
	onWrite("srem", setRem)
	onRead("sismember", setIsMember)
	onRead("smismember", setMIsMember)
	onRead("smembers", setMembers)
	onRead("scard", setCard)
	onWrite("spop", setPop)
	onRead("srandmember", setRandMember)
	onWrite("smove", setMove)
	onRead("sinter", setInter)
	onRead("sintercard", setInterCard)
	onRead("sunion", setUnionDiff(false))
	onRead("sdiff", setUnionDiff(true))
	onWrite("sinterstore", setInterStore)
	onWrite("sunionstore", setUnionDiffStore(false))
	onWrite("sdiffstore", setUnionDiffStore(true))
	onRead("sscan", setScan)

	objectDecoders[TypeSet] = func(b []byte) (object, error) {
		c, err := hsDecode[string, setOps](b)
		if err != nil {
			return nil, err
		}
		return &setObj{c}, nil
	}
}

// ---------------------------------------------------------------------------
// The sorted collection.

// hsColl is an immutable collection of elements of type T (a set's members,
// a hash's field-value pairs) kept in the order O defines, with no two
// elements of the same key. It is stored in one of two forms, chosen by its
// contents alone (so a collection decoded from a snapshot has the form the
// live one had):
//
//   - packed, while it has at most hsPackMaxLen elements in at most
//     hsPackMaxBytes: the elements' records (see elemOps) end to end in one
//     string, like Redis's listpacks. One allocation holding no pointers,
//     so small collections cost the garbage collector nothing to scan; a
//     write copies the whole string (a few KB at most).
//   - a tree: a tidwall/btree BTreeG of the elements, one owned string (or
//     two views of one allocation) each. A write works on an O(1) Copy of
//     the tree, which path-copies the nodes it changes: O(log n), never a
//     copy of the collection, and the old tree, still reachable from
//     snapshots and from the previous item, is never changed.
//
// The packed form is also the encoding's body, so encoding a packed
// collection is one copy.
type hsColl[T any, O elemOps[T]] struct {
	n    int    // elements
	size int    // bytes of the elements' records
	data string // the records, in order, when tree is nil
	tree *btree.BTreeG[T]
}

// elemOps is what a hsColl needs to know about its elements. Its methods
// are those of a zero-size type, called through the type parameter.
type elemOps[T any] interface {
	// less is the collection's order, a strict total order on keys.
	less(a, b T) bool
	// same reports whether a and b have the same key.
	same(a, b T) bool
	// recLen is the length of e's record.
	recLen(e T) int
	// appendRec appends e's record: each string as uvarint length, bytes.
	appendRec(dst []byte, e T) []byte
	// readRec reads the record at the start of s; n <= 0 if s does not
	// start with a well-formed record (lengths in canonical uvarints).
	// The element views s.
	readRec(s string) (e T, n int)
	// own returns e in storage of its own, for a tree: e may view a
	// client's buffer or a packed string.
	own(e T) T
}

// The limits of the packed form, and of the slice an edit works on. 64
// elements keep a linear search within a few hundred nanoseconds; 4 KB
// keeps the copy each write makes small.
const (
	hsPackMaxLen   = 64
	hsPackMaxBytes = 4096
	hsEditSliceMax = 128
	hsTreeDegree   = 16
)

// hsEncodingV1 is the first byte of the encoding of sets and hashes. The
// encoding (frozen):
//
//	1 byte    version, 1
//	uvarint   n, the number of elements, at least 1
//	n records in the collection's order, without duplicates; a set's
//	record is uvarint(len) member, a hash's uvarint(len) field
//	uvarint(len) value
//
// Every uvarint is in its shortest form, so equal collections have equal
// encodings.
const hsEncodingV1 = 1

func hsPackable(n, size int) bool { return n <= hsPackMaxLen && size <= hsPackMaxBytes }

func hsNewTree[T any, O elemOps[T]]() *btree.BTreeG[T] {
	var o O
	return btree.NewBTreeGOptions(o.less, btree.Options{NoLocks: true, Degree: hsTreeDegree})
}

// Len is the number of elements.
func (c *hsColl[T, O]) Len() int { return c.n }

// Encode appends the encoding (see hsEncodingV1).
func (c *hsColl[T, O]) Encode(dst []byte) []byte {
	dst = append(dst, hsEncodingV1)
	dst = binary.AppendUvarint(dst, uint64(c.n))
	if c.tree == nil {
		return append(dst, c.data...)
	}
	var o O
	c.tree.Scan(func(e T) bool {
		dst = o.appendRec(dst, e)
		return true
	})
	return dst
}

// get finds the element with probe's key.
func (c *hsColl[T, O]) get(probe T) (T, bool) {
	if c.tree != nil {
		return c.tree.Get(probe)
	}
	var o O
	for s := c.data; len(s) > 0; {
		e, k := o.readRec(s)
		if k <= 0 {
			break
		}
		if o.same(e, probe) {
			return e, true
		}
		s = s[k:]
	}
	var zero T
	return zero, false
}

// after calls fn on the elements in order, from the first after pivot
// (from the first of all when pivot is nil), until fn returns false.
func (c *hsColl[T, O]) after(pivot *T, fn func(T) bool) {
	var o O
	if c.tree != nil {
		if pivot == nil {
			c.tree.Scan(fn)
			return
		}
		c.tree.Ascend(*pivot, func(e T) bool {
			if !o.less(*pivot, e) {
				return true
			}
			return fn(e)
		})
		return
	}
	for s := c.data; len(s) > 0; {
		e, k := o.readRec(s)
		if k <= 0 {
			return
		}
		s = s[k:]
		if pivot != nil && !o.less(*pivot, e) {
			continue
		}
		if !fn(e) {
			return
		}
	}
}

// each calls fn on every element in order until it returns false.
func (c *hsColl[T, O]) each(fn func(T) bool) { c.after(nil, fn) }

// items returns the elements in order, in a new slice.
func (c *hsColl[T, O]) items() []T {
	out := make([]T, 0, c.n)
	c.each(func(e T) bool {
		out = append(out, e)
		return true
	})
	return out
}

// sampler returns a function that gives the element at an index: a tree
// looks it up in O(log n); a packed collection is read once.
func (c *hsColl[T, O]) sampler() func(i int) T {
	if c.tree != nil {
		return func(i int) T {
			e, _ := c.tree.GetAt(i)
			return e
		}
	}
	all := c.items()
	return func(i int) T { return all[i] }
}

// hsFromSorted builds a collection from elements in order, without
// duplicates; size is the sum of their record lengths. The elements may
// view any bytes: they are copied. It returns false for no elements.
func hsFromSorted[T any, O elemOps[T]](elems []T, size int) (hsColl[T, O], bool) {
	if len(elems) == 0 {
		return hsColl[T, O]{}, false
	}
	var o O
	c := hsColl[T, O]{n: len(elems), size: size}
	if hsPackable(c.n, size) {
		buf := make([]byte, 0, size)
		for _, e := range elems {
			buf = o.appendRec(buf, e)
		}
		c.data = unsafe.String(unsafe.SliceData(buf), len(buf))
		return c, true
	}
	c.tree = hsNewTree[T, O]()
	for _, e := range elems {
		c.tree.Load(o.own(e))
	}
	return c, true
}

// Errors of the decoders: the bytes are not an encoding this build wrote.
var errCollCorrupt = errors.New("engine: corrupt set or hash encoding")

// hsDecode rebuilds a collection from its encoding, checking all of it:
// version, canonical lengths, strict order, no trailing bytes.
func hsDecode[T any, O elemOps[T]](b []byte) (hsColl[T, O], error) {
	var o O
	if len(b) < 2 || b[0] != hsEncodingV1 {
		return hsColl[T, O]{}, errCollCorrupt
	}
	data := string(b[1:])
	n, k := hsUvarint(data)
	if k <= 0 || n == 0 || n > uint64(len(data)) {
		return hsColl[T, O]{}, errCollCorrupt
	}
	data = data[k:]
	c := hsColl[T, O]{n: int(n), size: len(data)}
	elems := make([]T, 0, min(n, 1024))
	for s := data; ; {
		if len(s) == 0 {
			if uint64(len(elems)) != n {
				return hsColl[T, O]{}, errCollCorrupt
			}
			break
		}
		e, k := o.readRec(s)
		if k <= 0 || uint64(len(elems)) == n {
			return hsColl[T, O]{}, errCollCorrupt
		}
		if len(elems) > 0 && !o.less(elems[len(elems)-1], e) {
			return hsColl[T, O]{}, errCollCorrupt
		}
		elems = append(elems, e)
		s = s[k:]
	}
	if hsPackable(c.n, c.size) {
		c.data = data // the records, already in the packed form
		return c, nil
	}
	c.tree = hsNewTree[T, O]()
	for _, e := range elems {
		c.tree.Load(o.own(e))
	}
	return c, nil
}

// hsUvarint reads a uvarint in its shortest form from the start of s; k <=
// 0 if there is none.
func hsUvarint(s string) (v uint64, k int) {
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if i == binary.MaxVarintLen64-1 && b > 1 {
			return 0, 0 // overflow
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if b == 0 && i > 0 {
				return 0, 0 // not the shortest form
			}
			return v, i + 1
		}
		shift += 7
	}
	return 0, 0
}

// hsUvarintLen is the length of n as a uvarint.
func hsUvarintLen(n int) int {
	k := 1
	for n >= 0x80 {
		n >>= 7
		k++
	}
	return k
}

// hsReadString reads one length-prefixed string from the start of s.
func hsReadString(s string) (string, int) {
	l, k := hsUvarint(s)
	if k <= 0 || l > uint64(len(s)-k) {
		return "", 0
	}
	return s[k : k+int(l)], k + int(l)
}

func hsAppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// hsEdit is a collection being changed by one command: a sorted slice for
// a small one, a Copy of the tree for a large one. It is private to the
// command until done returns the new collection.
type hsEdit[T any, O elemOps[T]] struct {
	small []T // sorted, when tree is nil; may view argv and packed strings
	tree  *btree.BTreeG[T]
	n     int
	size  int
}

// edit starts an edit of c; c may be nil (a missing key).
func (c *hsColl[T, O]) edit() *hsEdit[T, O] {
	if c == nil {
		return &hsEdit[T, O]{}
	}
	if c.tree != nil {
		return &hsEdit[T, O]{tree: c.tree.Copy(), n: c.n, size: c.size}
	}
	return &hsEdit[T, O]{small: c.items(), n: c.n, size: c.size}
}

// find is the position of probe's key in the slice, and whether it is
// there.
func (e *hsEdit[T, O]) find(probe T) (int, bool) {
	var o O
	i, j := 0, len(e.small)
	for i < j {
		h := int(uint(i+j) >> 1)
		if o.less(e.small[h], probe) {
			i = h + 1
		} else {
			j = h
		}
	}
	return i, i < len(e.small) && o.same(e.small[i], probe)
}

// get finds the element with probe's key.
func (e *hsEdit[T, O]) get(probe T) (T, bool) {
	if e.tree != nil {
		return e.tree.Get(probe)
	}
	if i, ok := e.find(probe); ok {
		return e.small[i], true
	}
	var zero T
	return zero, false
}

// put stores x, replacing the element of the same key if there is one.
// x may view argv: put copies it when it goes into a tree.
func (e *hsEdit[T, O]) put(x T) (old T, replaced bool) {
	var o O
	if e.tree != nil {
		old, replaced = e.tree.Set(o.own(x))
	} else {
		i, found := e.find(x)
		if found {
			old, replaced = e.small[i], true
			e.small[i] = x
		} else {
			e.small = slices.Insert(e.small, i, x)
		}
	}
	e.size += o.recLen(x)
	if replaced {
		e.size -= o.recLen(old)
	} else {
		e.n++
		if e.tree == nil && e.n > hsEditSliceMax {
			e.toTree()
		}
	}
	return old, replaced
}

// insert adds x if no element has its key, and reports whether it did.
func (e *hsEdit[T, O]) insert(x T) bool {
	var o O
	if e.tree != nil {
		if _, ok := e.tree.Get(x); ok {
			return false
		}
		e.tree.Set(o.own(x))
	} else {
		i, found := e.find(x)
		if found {
			return false
		}
		e.small = slices.Insert(e.small, i, x)
	}
	e.n++
	e.size += o.recLen(x)
	if e.tree == nil && e.n > hsEditSliceMax {
		e.toTree()
	}
	return true
}

// del removes the element with probe's key.
func (e *hsEdit[T, O]) del(probe T) (T, bool) {
	var o O
	var old T
	if e.tree != nil {
		var ok bool
		if old, ok = e.tree.Delete(probe); !ok {
			return old, false
		}
	} else {
		i, ok := e.find(probe)
		if !ok {
			return old, false
		}
		old = e.small[i]
		e.small = slices.Delete(e.small, i, i+1)
	}
	e.n--
	e.size -= o.recLen(old)
	return old, true
}

// deleteAt removes the element at index i (0 <= i < n).
func (e *hsEdit[T, O]) deleteAt(i int) T {
	var o O
	var old T
	if e.tree != nil {
		old, _ = e.tree.DeleteAt(i)
	} else {
		old = e.small[i]
		e.small = slices.Delete(e.small, i, i+1)
	}
	e.n--
	e.size -= o.recLen(old)
	return old
}

// toTree moves the slice into a tree.
func (e *hsEdit[T, O]) toTree() {
	var o O
	e.tree = hsNewTree[T, O]()
	for _, x := range e.small {
		e.tree.Load(o.own(x))
	}
	e.small = nil
}

// done returns the edited collection, in the form its contents call for;
// false if it is empty.
func (e *hsEdit[T, O]) done() (hsColl[T, O], bool) {
	if e.n == 0 {
		return hsColl[T, O]{}, false
	}
	if e.tree == nil {
		return hsFromSorted[T, O](e.small, e.size)
	}
	if hsPackable(e.n, e.size) {
		var o O
		buf := make([]byte, 0, e.size)
		e.tree.Scan(func(x T) bool {
			buf = o.appendRec(buf, x)
			return true
		})
		return hsColl[T, O]{n: e.n, size: e.size, data: unsafe.String(unsafe.SliceData(buf), len(buf))}, true
	}
	return hsColl[T, O]{n: e.n, size: e.size, tree: e.tree}, true
}

// ---------------------------------------------------------------------------
// Sets.

// setObj is a set value.
type setObj struct {
	hsColl[string, setOps]
}

var (
	_ object = (*setObj)(nil)
	_ object = (*hashObj)(nil)
)

// Type is TypeSet.
func (*setObj) Type() ValueType { return TypeSet }

// has reports whether m is a member.
func (s *setObj) has(m string) bool {
	if s == nil {
		return false
	}
	_, ok := s.get(m)
	return ok
}

// setOps orders set members: canonical integers first, by value, then the
// other members by bytes (see the top of the file).
type setOps struct{}

func (setOps) less(a, b string) bool { return setCompare(a, b) < 0 }
func (setOps) same(a, b string) bool { return a == b }
func (setOps) recLen(m string) int   { return hsUvarintLen(len(m)) + len(m) }
func (setOps) appendRec(dst []byte, m string) []byte {
	return hsAppendString(dst, m)
}
func (setOps) readRec(s string) (string, int) { return hsReadString(s) }
func (setOps) own(m string) string            { return strings.Clone(m) }

// setCompare is the set order as a three-way comparison.
func setCompare(a, b string) int {
	ai, aInt := setInt(a)
	bi, bInt := setInt(b)
	switch {
	case aInt && bInt:
		return cmp.Compare(ai, bi)
	case aInt:
		return -1
	case bInt:
		return 1
	}
	return strings.Compare(a, b)
}

// setInt reads m as Redis reads an intset member (string2ll): a canonical
// 64-bit integer.
func setInt(m string) (int64, bool) {
	if len(m) == 0 || len(m) > 20 {
		return 0, false
	}
	if c := m[0]; c != '-' && (c < '0' || c > '9') {
		return 0, false
	}
	return schema.ParseInt(strBytes(m))
}

// setEdit is an edit of a set.
type setEdit = hsEdit[string, setOps]

// setRead looks key up for a read: nil for a missing key, wrong for a key
// of another type.
func setRead(c *readCtx, key []byte) (s *setObj, wrong bool) {
	it, ok := c.keyLookup(key)
	if !ok {
		return nil, false
	}
	if it.typ != TypeSet {
		return nil, true
	}
	return it.object().(*setObj), false
}

// setLive looks key up for a write (see applyCtx.live).
func setLive(c *applyCtx, key []byte) (it item, s *setObj, wrong bool) {
	it, ok := c.live(key)
	if !ok {
		return it, nil, false
	}
	if it.typ != TypeSet {
		return it, nil, true
	}
	return it, it.object().(*setObj), false
}

// edit starts an edit of s, which may be nil.
func (s *setObj) edit() *setEdit {
	if s == nil {
		return &setEdit{}
	}
	return s.hsColl.edit()
}

// setStore stores the result of an edit under key with expiry exp, or
// removes key if the set is empty.
func setStore(c *applyCtx, key []byte, e *setEdit, exp int64) {
	if res, ok := e.done(); ok {
		c.ks.set(newObject(bstr(key), &setObj{res}, exp))
	} else {
		c.ks.remove(key)
	}
}

// setReply is a set reply (RESP3 ~, RESP2 an array) of members.
func setReply(members []string) Reply {
	out := make([]Reply, len(members))
	for i, m := range members {
		out[i] = Bulk(m)
	}
	return Reply{Kind: KindSet, Elems: out}
}

var setEmpty = Reply{Kind: KindSet, Elems: []Reply{}}

// SADD key member [member ...]: the number of members added. The TTL is
// kept.
func setAdd(c *applyCtx, argv [][]byte) Reply {
	it, s, wrong := setLive(c, argv[1])
	if wrong {
		return wrongType
	}
	e := s.edit()
	var added int64
	for _, m := range argv[2:] {
		if e.insert(bstr(m)) {
			added++
		}
	}
	if added > 0 {
		setStore(c, argv[1], e, it.exp)
	}
	return Int(added)
}

// SREM key member [member ...]: the number of members removed; an empty
// set is removed.
func setRem(c *applyCtx, argv [][]byte) Reply {
	it, s, wrong := setLive(c, argv[1])
	if wrong {
		return wrongType
	}
	if s == nil {
		return Int(0)
	}
	e := s.edit()
	var removed int64
	for _, m := range argv[2:] {
		if _, ok := e.del(bstr(m)); ok {
			removed++
		}
	}
	if removed > 0 {
		setStore(c, argv[1], e, it.exp)
	}
	return Int(removed)
}

// SISMEMBER key member
func setIsMember(c *readCtx, argv [][]byte) Reply {
	s, wrong := setRead(c, argv[1])
	if wrong {
		return wrongType
	}
	return Int(hsBool(s.has(bstr(argv[2]))))
}

// SMISMEMBER key member [member ...]: a missing key is an empty set.
func setMIsMember(c *readCtx, argv [][]byte) Reply {
	s, wrong := setRead(c, argv[1])
	if wrong {
		return wrongType
	}
	out := make([]Reply, len(argv)-2)
	for i, m := range argv[2:] {
		out[i] = Int(hsBool(s.has(bstr(m))))
	}
	return Array(out...)
}

func hsBool(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// SMEMBERS key: a set reply, in the set order.
func setMembers(c *readCtx, argv [][]byte) Reply {
	s, wrong := setRead(c, argv[1])
	if wrong {
		return wrongType
	}
	if s == nil {
		return setEmpty
	}
	return setReply(s.items())
}

// SCARD key
func setCard(c *readCtx, argv [][]byte) Reply {
	s, wrong := setRead(c, argv[1])
	if wrong {
		return wrongType
	}
	if s == nil {
		return Int(0)
	}
	return Int(int64(s.n))
}

// hsEntryRand is the random generator of a write that draws: seeded from the
// entry's index and time, so every replay draws the same.
func hsEntryRand(c *applyCtx) *rand.Rand {
	return rand.New(rand.NewPCG(c.index, uint64(c.now)))
}

// SPOP key [count]: without a count, one random member (or a null); with
// one, a set reply of up to count distinct random members, in the order
// drawn, or of the whole set, in the set order, when count is at least its
// size. The members are removed; an emptied set is removed. The TTL of
// what is left is kept.
func setPop(c *applyCtx, argv [][]byte) Reply {
	a, err := schema.ParseSPop(argv)
	if err != nil {
		return Error(err)
	}
	it, s, wrong := setLive(c, argv[1])
	if wrong {
		return wrongType
	}
	if s == nil {
		if a.HasCount {
			return setEmpty
		}
		return Null
	}
	if a.HasCount && a.Count == 0 {
		return setEmpty
	}
	if a.HasCount && a.Count >= int64(s.n) {
		c.ks.remove(argv[1])
		return setReply(s.items())
	}
	rng := hsEntryRand(c)
	e := s.edit()
	if !a.HasCount {
		m := e.deleteAt(rng.IntN(e.n))
		setStore(c, argv[1], e, it.exp)
		return Bulk(m)
	}
	popped := make([]string, a.Count)
	for i := range popped {
		popped[i] = e.deleteAt(rng.IntN(e.n))
	}
	setStore(c, argv[1], e, it.exp)
	return setReply(popped)
}

// SRANDMEMBER key [count]: without a count, one random member (or a
// null); with a positive one, up to count distinct members, the whole set
// in the set order when count is at least its size; with a negative one,
// -count members drawn independently.
func setRandMember(c *readCtx, argv [][]byte) Reply {
	a, err := schema.ParseSRandMember(argv)
	if err != nil {
		return Error(err)
	}
	s, wrong := setRead(c, argv[1])
	if wrong {
		return wrongType
	}
	if s == nil {
		if a.HasCount {
			return Array()
		}
		return Null
	}
	if !a.HasCount {
		return Bulk(s.sampler()(rand.IntN(s.n)))
	}
	idx := hsRandomIndexes(s.n, a.Count)
	if idx == nil {
		return Array(setBulks(s.items())...)
	}
	at := s.sampler()
	out := make([]Reply, len(idx))
	for i, j := range idx {
		out[i] = Bulk(at(j))
	}
	return Array(out...)
}

// hsRandomIndexes draws the indexes of a random read of count elements out
// of n: count > 0 asks for distinct ones, count < 0 for -count drawn
// independently. It returns nil when the answer is every element (count
// >= n), in order.
func hsRandomIndexes(n int, count int64) []int {
	switch {
	case count < 0:
		idx := make([]int, -count)
		for i := range idx {
			idx[i] = rand.IntN(n)
		}
		return idx
	case count >= int64(n):
		return nil
	case count*3 > int64(n):
		return rand.Perm(n)[:count]
	}
	idx := make([]int, 0, count)
	seen := make(map[int]struct{}, count)
	for int64(len(idx)) < count {
		j := rand.IntN(n)
		if _, dup := seen[j]; !dup {
			seen[j] = struct{}{}
			idx = append(idx, j)
		}
	}
	return idx
}

func setBulks(ss []string) []Reply {
	out := make([]Reply, len(ss))
	for i, s := range ss {
		out[i] = Bulk(s)
	}
	return out
}

// SMOVE source destination member: 1 if member moved (or is in source
// when both are the same key), 0 if source is missing or lacks it. As in
// Redis, a missing source answers 0 before the types are checked.
// Destination is created if missing; both keep their TTL.
func setMove(c *applyCtx, argv [][]byte) Reply {
	srcIt, src, wrongSrc := setLive(c, argv[1])
	dstIt, dst, wrongDst := setLive(c, argv[2])
	if src == nil && !wrongSrc {
		return Int(0)
	}
	if wrongSrc || wrongDst {
		return wrongType
	}
	m := bstr(argv[3])
	if bytes.Equal(argv[1], argv[2]) {
		return Int(hsBool(src.has(m)))
	}
	if !src.has(m) {
		return Int(0)
	}
	e := src.edit()
	e.del(m)
	setStore(c, argv[1], e, srcIt.exp)
	e = dst.edit()
	if e.insert(m) {
		setStore(c, argv[2], e, dstIt.exp)
	}
	return Int(1)
}

// setsOf looks the keys up with lookup: the sets, nil for a missing key.
// Every key is checked, so a key of another type anywhere is WRONGTYPE.
func setsOf(keys [][]byte, lookup func([]byte) (*setObj, bool)) (sets []*setObj, missing, wrong bool) {
	sets = make([]*setObj, len(keys))
	for i, k := range keys {
		s, w := lookup(k)
		if w {
			return nil, false, true
		}
		sets[i] = s
		missing = missing || s == nil
	}
	return sets, missing, false
}

func (c *readCtx) setLookup(key []byte) (*setObj, bool) { return setRead(c, key) }

func (c *applyCtx) setLookup(key []byte) (*setObj, bool) {
	_, s, wrong := setLive(c, key)
	return s, wrong
}

// setInterEach calls fn on the members of the intersection of sets (none
// missing), in the set order, until fn returns false: it walks the
// smallest set and looks its members up in the others.
func setInterEach(sets []*setObj, fn func(string) bool) {
	sets = slices.Clone(sets)
	slices.SortStableFunc(sets, func(a, b *setObj) int { return cmp.Compare(a.n, b.n) })
	first := sets[0]
	sets[0].each(func(m string) bool {
		for _, s := range sets[1:] {
			if s != first && !s.has(m) {
				return true
			}
		}
		return fn(m)
	})
}

// setInterAll is the intersection, in the set order, and the size of its
// records.
func setInterAll(sets []*setObj) ([]string, int) {
	var out []string
	size := 0
	setInterEach(sets, func(m string) bool {
		out = append(out, m)
		size += setOps{}.recLen(m)
		return true
	})
	return out, size
}

// SINTER key [key ...]: a set reply; a missing key is an empty set.
func setInter(c *readCtx, argv [][]byte) Reply {
	sets, missing, wrong := setsOf(argv[1:], c.setLookup)
	if wrong {
		return wrongType
	}
	if missing {
		return setEmpty
	}
	out, _ := setInterAll(sets)
	return setReply(out)
}

// SINTERCARD numkeys key [key ...] [LIMIT limit]: the size of the
// intersection, counting up to limit when it is not 0.
func setInterCard(c *readCtx, argv [][]byte) Reply {
	a, err := schema.ParseSInterCard(argv)
	if err != nil {
		return Error(err)
	}
	sets, missing, wrong := setsOf(a.Keys, c.setLookup)
	if wrong {
		return wrongType
	}
	if missing {
		return Int(0)
	}
	var n int64
	setInterEach(sets, func(string) bool {
		n++
		return a.Limit == 0 || n < a.Limit
	})
	return Int(n)
}

// setUnionDiffAll is the union of sets, or the members of the first that
// are in none of the others (diff), in the set order, and the size of
// their records. Missing keys are nil, empty sets.
func setUnionDiffAll(sets []*setObj, diff bool) ([]string, int) {
	var ops setOps
	size := 0
	if diff {
		var out []string
		if sets[0] == nil {
			return nil, 0
		}
		sets[0].each(func(m string) bool {
			for _, s := range sets[1:] {
				if s == sets[0] || s.has(m) {
					return true
				}
			}
			out = append(out, m)
			size += ops.recLen(m)
			return true
		})
		return out, size
	}
	lists := make([][]string, 0, len(sets))
	for _, s := range sets {
		if s != nil {
			lists = append(lists, s.items())
		}
	}
	out := setMerge(lists)
	for _, m := range out {
		size += ops.recLen(m)
	}
	return out, size
}

// setMerge merges lists in the set order, dropping duplicates: pairwise,
// halving the number of lists each round, O(n log k) for n members in k
// lists.
func setMerge(lists [][]string) []string {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	h := len(lists) / 2
	a, b := setMerge(lists[:h]), setMerge(lists[h:])
	out := make([]string, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch d := setCompare(a[0], b[0]); {
		case d < 0:
			out, a = append(out, a[0]), a[1:]
		case d > 0:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

// SUNION key [key ...] and SDIFF key [key ...]: set replies; a missing key
// is an empty set.
func setUnionDiff(diff bool) readHandler {
	return func(c *readCtx, argv [][]byte) Reply {
		sets, _, wrong := setsOf(argv[1:], c.setLookup)
		if wrong {
			return wrongType
		}
		out, _ := setUnionDiffAll(sets, diff)
		return setReply(out)
	}
}

// setStoreResult stores members (in the set order) as the set at key,
// replacing any value of any type and its TTL, or removes key when there
// are none. It replies with the size.
func setStoreResult(c *applyCtx, key []byte, members []string, size int) Reply {
	c.live(key) // an expired destination is removed and counted
	res, ok := hsFromSorted[string, setOps](members, size)
	if !ok {
		c.ks.remove(key)
		return Int(0)
	}
	c.ks.set(newObject(bstr(key), &setObj{res}, 0))
	return Int(int64(res.n))
}

// SINTERSTORE destination key [key ...]
func setInterStore(c *applyCtx, argv [][]byte) Reply {
	sets, missing, wrong := setsOf(argv[2:], c.setLookup)
	if wrong {
		return wrongType
	}
	if missing {
		return setStoreResult(c, argv[1], nil, 0)
	}
	out, size := setInterAll(sets)
	return setStoreResult(c, argv[1], out, size)
}

// SUNIONSTORE destination key [key ...] and SDIFFSTORE.
func setUnionDiffStore(diff bool) writeHandler {
	return func(c *applyCtx, argv [][]byte) Reply {
		sets, _, wrong := setsOf(argv[2:], c.setLookup)
		if wrong {
			return wrongType
		}
		out, size := setUnionDiffAll(sets, diff)
		return setStoreResult(c, argv[1], out, size)
	}
}

// SSCAN key cursor [MATCH pattern] [COUNT count]: see hsScan.
func setScan(c *readCtx, argv [][]byte) Reply {
	a, err := schema.ParseSScan(argv)
	if err != nil {
		return Error(err)
	}
	s, wrong := setRead(c, argv[1])
	if wrong {
		return wrongType
	}
	if s == nil {
		return hsEmptyScan()
	}
	return hsScan(c, &s.hsColl, argv[1], a, setScanTag,
		func(m string) string { return m },
		func(m string) string { return m },
		func(out []Reply, m string) []Reply { return append(out, Bulk(m)) })
}

func hsEmptyScan() Reply { return Array(Bulk("0"), Array()) }

// The tags that start the positions HSCAN and SSCAN leave in the cursor
// table, so that a cursor of one command is not taken by another.
const (
	setScanTag  = "\xffsscan:"
	hashScanTag = "\xffhscan:"
)

// hsScanWholeMax is the size up to which HSCAN and SSCAN visit the whole
// collection in one call whatever the COUNT, as Redis does for its small
// encodings (listpacks of up to 128 entries, intsets).
const hsScanWholeMax = 128

// hsScan is HSCAN and SSCAN on an existing collection.
//
// The collection is ordered, so an iteration is a walk in order and its
// position is the key of the last element visited, kept in SCAN's cursor
// table (see keysScan) with the collection's key: each call visits up to
// COUNT elements after the position (all of them when the collection has
// at most hsScanWholeMax) and replies with those that pass MATCH (matched
// on key(e)). Every element present during the whole iteration is
// returned exactly once. A cursor the table does not hold, or one from
// another command or another key, is "ERR invalid cursor".
func hsScan[T any, O elemOps[T]](c *readCtx, coll *hsColl[T, O], key []byte, a schema.CollScanArgs, tag string,
	keyOf func(T) string, posOf func(string) T, emit func([]Reply, T) []Reply) Reply {
	var pivot *T
	if a.Cursor != 0 {
		pos, ok := c.e.scans.get(a.Cursor, c.db)
		if !ok {
			return Error(schema.ErrInvalidCursor)
		}
		at, ok := hsScanPos(pos, tag, key)
		if !ok {
			return Error(schema.ErrInvalidCursor)
		}
		p := posOf(at)
		pivot = &p
	}
	budget := a.Count
	if coll.n <= hsScanWholeMax {
		budget = int64(coll.n)
	}
	var (
		visited int64
		last    string
		more    bool
	)
	out := make([]Reply, 0, min(budget, 64))
	coll.after(pivot, func(e T) bool {
		if visited == budget {
			more = true
			return false
		}
		visited++
		k := keyOf(e)
		last = k
		if a.Match == nil || schema.Match(a.Match, strBytes(k), false) {
			out = emit(out, e)
		}
		return true
	})
	cursor := "0"
	if more {
		pos := make([]byte, 0, len(tag)+binary.MaxVarintLen64+len(key)+len(last))
		pos = append(pos, tag...)
		pos = hsAppendString(pos, bstr(key))
		pos = append(pos, last...)
		id := c.e.scans.put(c.db, unsafe.String(unsafe.SliceData(pos), len(pos)))
		cursor = strconv.FormatUint(id, 10)
	}
	return Array(Bulk(cursor), Array(out...))
}

// hsScanPos reads a position that hsScan left for key under tag.
func hsScanPos(pos, tag string, key []byte) (string, bool) {
	rest, ok := strings.CutPrefix(pos, tag)
	if !ok {
		return "", false
	}
	k, n := hsReadString(rest)
	if n <= 0 || k != bstr(key) {
		return "", false
	}
	return rest[n:], true
}
