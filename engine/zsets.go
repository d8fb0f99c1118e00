package engine

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/memimg/memimg/schema"
	"github.com/tidwall/btree"
)

// Sorted sets.
//
// # The data structure
//
// A sorted set is two copy-on-write trees over the same elements, each an
// entry {member, score} (24 bytes; the member's bytes are shared):
//
//   - ztree, ordered by (score, member), a B-tree whose nodes count the
//     elements under them, so the rank of an element, the element at a
//     rank and the rank of a score or lex bound are found in O(log n) by
//     walking down the counts: ZRANK, ZCOUNT, ZLEXCOUNT, ZRANGE with any
//     offset, ZREMRANGEBYRANK and the pops are O(log n) (+ the elements
//     returned or removed), where Redis's skiplist is O(log n) too.
//     tidwall/btree's BTreeG counts its nodes too (GetAt), but has no
//     rank-of-an-item; a binary search over GetAt would be O(log² n).
//   - dict, a tidwall/btree BTreeG ordered by member: member → score in
//     O(log n) (ZSCORE, ZADD's "is it there", ZREM). A set of at most
//     zsetDictMin members has none and finds a member by scanning its few
//     nodes, as Redis scans a listpack.
//
// Copy-on-write (DESIGN rule 5): a stored zset is never changed. A write
// calls edit, which returns a new zset sharing both trees in O(1): a fresh
// ztree id, under which the nodes the write copies (or creates) may be
// changed in place for the rest of the command, and the dict's O(1)
// Copy(). A write of one element copies the O(log n) nodes on its path in
// each tree (BenchmarkZSetWrite: ZADD of a new score copies 3.8 KB in a
// set of 100 members, 10 KB in one of 100,000 and 12 KB in one of
// 1,000,000, about 2 KB more per tenfold size). Nodes made under an id are
// never changed once the command that made them is done, because the id
// is never used again.
//
// Scores are never NaN (refused, or Redis's NaN error), and -0 is stored
// as 0, as Redis stores it in a listpack (the encoding of every sorted set
// of up to 128 members); a reply of ZINCRBY shows the computed -0 as Redis
// does.
//
// # Encoding
//
// The value's encoding (snapshots, MEMIMG.DIGEST) is the elements in
// (score, member) order, whatever the trees' shapes:
//
//	version u8 (1) | count uvarint | count × (len uvarint | member | score float64 LE)
//
// # Replies
//
// Scores are doubles (KindDouble: a bulk string in RESP2, a double in
// RESP3). Redis 7 writes (member, score) pairs (WITHSCORES, ZPOPMIN with a
// count, ZRANDMEMBER) as one flat array in RESP2 and as an array of
// two-element arrays in RESP3: such a reply is held flat and marked with
// ReplyPairs, for the protocol layer to nest for RESP3 clients.
//
// # Blocking commands
//
// BZPOPMIN and BZPOPMAX apply as a non-blocking attempt: they pop from
// the first non-empty key, or change nothing and answer a null array (the
// reply of a blocking command inside MULTI), which tells the protocol
// layer to wait and try again (schema.ParseZBlocking).
//
// Commands that fail against the data (WRONGTYPE, a NaN score) are logged
// and fail the same way on every replay, changing nothing.

// ReplyPairs, in Reply.Int of an array, marks a reply of (member, score)
// pairs held flat ([m1 s1 m2 s2 ...]), as RESP2 writes them; Redis 7
// nests the pairs in RESP3 ([[m1 s1] [m2 s2] ...]).
const ReplyPairs = 1

// The trees' shapes. Not part of any format: Encode writes the elements
// only.
const (
	zMaxItems = 31            // entries in a node of ztree
	zMinItems = zMaxItems / 2 // in a node other than the root
	// zsetDictMin is the most members of a zset without a dict; a zset
	// drops its dict when it shrinks to half that.
	zsetDictMin = 64
	// zsetScanAll is the most members ZSCAN returns in one call, in score
	// order, whatever COUNT says: Redis does so for a listpack (a sorted
	// set of up to 128 members of up to 64 bytes).
	zsetScanAll = 128
	// zsetDictDegree is the dict's B-tree degree (nodes of up to 2×16-1
	// entries): a write copies 3 or 4 of them in a set of 100k members.
	zsetDictDegree = 16
)

// zsetEncodingVersion is the first byte of a zset's encoding. Frozen.
const zsetEncodingVersion = 1

func init() {
	objectDecoders[TypeZSet] = decodeZSet

	onWrite("zadd", func(c *applyCtx, argv [][]byte) Reply { return zAdd(c, argv, false) })
	onWrite("zincrby", func(c *applyCtx, argv [][]byte) Reply { return zAdd(c, argv, true) })
	onWrite("zrem", zRem)
	onRead("zcard", zCard)
	onRead("zcount", zCount)
	onRead("zlexcount", zLexCount)
	onRead("zscore", zScore)
	onRead("zmscore", zMScore)
	onRead("zrank", func(c *readCtx, argv [][]byte) Reply { return zRank(c, argv, false) })
	onRead("zrevrank", func(c *readCtx, argv [][]byte) Reply { return zRank(c, argv, true) })
	for _, name := range []string{"zrange", "zrevrange", "zrangebyscore", "zrevrangebyscore", "zrangebylex", "zrevrangebylex"} {
		onRead(name, zRange)
	}
	onWrite("zrangestore", zRangeStore)
	onWrite("zremrangebyrank", zRemRange)
	onWrite("zremrangebyscore", zRemRange)
	onWrite("zremrangebylex", zRemRange)
	onWrite("zpopmin", func(c *applyCtx, argv [][]byte) Reply { return zPop(c, argv, false) })
	onWrite("zpopmax", func(c *applyCtx, argv [][]byte) Reply { return zPop(c, argv, true) })
	onWrite("zmpop", zMPop)
	onWrite("bzpopmin", func(c *applyCtx, argv [][]byte) Reply { return zBPop(c, argv, false) })
	onWrite("bzpopmax", func(c *applyCtx, argv [][]byte) Reply { return zBPop(c, argv, true) })
	onWrite("zunionstore", zSetOpStore)
	onWrite("zinterstore", zSetOpStore)
	onWrite("zdiffstore", zSetOpStore)
	onRead("zunion", zSetOpRead)
	onRead("zinter", zSetOpRead)
	onRead("zdiff", zSetOpRead)
	onRead("zintercard", zSetOpRead)
	onRead("zrandmember", zRandMember)
	onRead("zscan", zScan)
}

// zent is an element of a sorted set.
type zent struct {
	member string
	score  float64
}

// zless orders entries by score, then member (bytewise), as Redis does.
func zless(a, b zent) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.member < b.member
}

func zmemberLess(a, b zent) bool { return a.member < b.member }

// zscoreNorm is the score to store: -0 is stored as 0.
func zscoreNorm(f float64) float64 {
	if f == 0 {
		return 0
	}
	return f
}

// ztree: the counted copy-on-write B-tree.

// znode is a node of a ztree. A leaf has no children; an inner node has
// len(items)+1, all of the same height. count is the number of entries
// under the node, itself included.
type znode struct {
	iso      uint64 // the id of the ztree that may change the node in place
	count    int
	items    []zent
	children []*znode
}

// ztree is a B-tree of entries by zless. The zero value with a fresh iso
// is empty.
type ztree struct {
	root *znode
	iso  uint64
}

var zisoSeq atomic.Uint64

func newZIso() uint64 { return zisoSeq.Add(1) }

func (t *ztree) len() int {
	if t.root == nil {
		return 0
	}
	return t.root.count
}

// own returns n itself if t may change it, else a copy t may change, with
// room for one more entry.
func (t *ztree) own(n *znode) *znode {
	if n.iso == t.iso {
		return n
	}
	c := &znode{iso: t.iso, count: n.count}
	c.items = append(make([]zent, 0, len(n.items)+1), n.items...)
	if n.children != nil {
		c.children = append(make([]*znode, 0, len(n.children)+1), n.children...)
	}
	return c
}

// zsearch is the index of the first entry of items not below e.
func zsearch(items []zent, e zent) int {
	lo, hi := 0, len(items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if zless(items[m], e) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// split moves the upper half of the full node n (owned) to a new node,
// and returns it and the median entry, which leaves both.
func (t *ztree) split(n *znode) (*znode, zent) {
	mid := len(n.items) / 2
	med := n.items[mid]
	r := &znode{iso: t.iso}
	r.items = append(make([]zent, 0, len(n.items)-mid), n.items[mid+1:]...)
	clear(n.items[mid:])
	n.items = n.items[:mid]
	r.count = len(r.items)
	if n.children != nil {
		r.children = append(make([]*znode, 0, len(n.children)-mid), n.children[mid+1:]...)
		clear(n.children[mid+1:])
		n.children = n.children[:mid+1]
		for _, c := range r.children {
			r.count += c.count
		}
	}
	n.count -= r.count + 1
	return r, med
}

// insert adds e, which must not be in the tree. Full nodes are split on
// the way down, so the insertion itself never overflows a node.
func (t *ztree) insert(e zent) {
	if t.root == nil {
		t.root = &znode{iso: t.iso, count: 1, items: []zent{e}}
		return
	}
	n := t.own(t.root)
	if len(n.items) == zMaxItems {
		r, med := t.split(n)
		n = &znode{iso: t.iso, count: n.count + r.count + 1, items: []zent{med}, children: []*znode{n, r}}
	}
	t.root = n
	for {
		n.count++
		i := zsearch(n.items, e)
		if n.children == nil {
			n.items = slices.Insert(n.items, i, e)
			return
		}
		c := t.own(n.children[i])
		n.children[i] = c
		if len(c.items) == zMaxItems {
			r, med := t.split(c)
			n.items = slices.Insert(n.items, i, med)
			n.children = slices.Insert(n.children, i+1, r)
			if zless(med, e) {
				c = r
			}
		}
		n = c
	}
}

// deleteAt removes and returns the entry at index i, 0 <= i < len.
func (t *ztree) deleteAt(i int) zent {
	root := t.own(t.root)
	e := t.delAt(root, i)
	if len(root.items) == 0 {
		if root.children != nil {
			t.root = root.children[0]
		} else {
			t.root = nil
		}
	} else {
		t.root = root
	}
	return e
}

// delAt removes the entry at index i under n (owned).
func (t *ztree) delAt(n *znode, i int) zent {
	n.count--
	if n.children == nil {
		e := n.items[i]
		n.items = slices.Delete(n.items, i, i+1)
		return e
	}
	j := 0
	for ; j < len(n.items); j++ {
		cc := n.children[j].count
		if i < cc {
			break
		}
		if i == cc {
			// The entry is in n: replace it by its predecessor, the last
			// entry under children[j].
			c := t.own(n.children[j])
			n.children[j] = c
			e := n.items[j]
			n.items[j] = t.delAt(c, c.count-1)
			t.fix(n, j)
			return e
		}
		i -= cc + 1
	}
	c := t.own(n.children[j])
	n.children[j] = c
	e := t.delAt(c, i)
	t.fix(n, j)
	return e
}

// fix restores the minimum size of n.children[i] (owned) after a removal
// under it: it borrows an entry through n from a sibling that can spare
// one, or merges with a sibling.
func (t *ztree) fix(n *znode, i int) {
	c := n.children[i]
	if len(c.items) >= zMinItems {
		return
	}
	if i > 0 && len(n.children[i-1].items) > zMinItems {
		l := t.own(n.children[i-1])
		n.children[i-1] = l
		last := len(l.items) - 1
		c.items = slices.Insert(c.items, 0, n.items[i-1])
		n.items[i-1] = l.items[last]
		l.items[last] = zent{}
		l.items = l.items[:last]
		moved := 1
		if l.children != nil {
			g := l.children[last+1]
			l.children[last+1] = nil
			l.children = l.children[:last+1]
			c.children = slices.Insert(c.children, 0, g)
			moved += g.count
		}
		l.count -= moved
		c.count += moved
		return
	}
	if i < len(n.items) && len(n.children[i+1].items) > zMinItems {
		r := t.own(n.children[i+1])
		n.children[i+1] = r
		c.items = append(c.items, n.items[i])
		n.items[i] = r.items[0]
		r.items = slices.Delete(r.items, 0, 1)
		moved := 1
		if r.children != nil {
			g := r.children[0]
			r.children = slices.Delete(r.children, 0, 1)
			c.children = append(c.children, g)
			moved += g.count
		}
		r.count -= moved
		c.count += moved
		return
	}
	if i == len(n.items) {
		i-- // merge with the left sibling
	}
	l := t.own(n.children[i])
	r := n.children[i+1]
	l.items = append(l.items, n.items[i])
	l.items = append(l.items, r.items...)
	if l.children != nil {
		l.children = append(l.children, r.children...)
	}
	l.count += 1 + r.count
	n.children[i] = l
	n.items = slices.Delete(n.items, i, i+1)
	n.children = slices.Delete(n.children, i+1, i+2)
}

// countWhile is the number of entries for which in holds; in must hold
// for a prefix of the order (entries below a bound). O(log n).
func (t *ztree) countWhile(in func(zent) bool) int {
	r := 0
	for n := t.root; n != nil; {
		lo, hi := 0, len(n.items)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if in(n.items[m]) {
				lo = m + 1
			} else {
				hi = m
			}
		}
		r += lo
		if n.children == nil {
			break
		}
		for _, c := range n.children[:lo] {
			r += c.count
		}
		n = n.children[lo]
	}
	return r
}

// rank is the number of entries below e.
func (t *ztree) rank(e zent) int {
	return t.countWhile(func(x zent) bool { return zless(x, e) })
}

// at returns the entry at index i, 0 <= i < len.
func (t *ztree) at(i int) zent {
	n := t.root
	for n.children != nil {
		j := 0
		for ; j < len(n.items); j++ {
			cc := n.children[j].count
			if i < cc {
				break
			}
			if i == cc {
				return n.items[j]
			}
			i -= cc + 1
		}
		n = n.children[j]
	}
	return n.items[i]
}

// ascend calls fn for the entries from index i on, in order, until fn
// returns false.
func (t *ztree) ascend(i int, fn func(zent) bool) {
	if t.root != nil && i < t.root.count {
		t.root.ascend(max(i, 0), fn)
	}
}

func (n *znode) ascend(i int, fn func(zent) bool) bool {
	if n.children == nil {
		for _, e := range n.items[i:] {
			if !fn(e) {
				return false
			}
		}
		return true
	}
	j := 0
	for ; j < len(n.items); j++ {
		cc := n.children[j].count
		if i <= cc {
			break
		}
		i -= cc + 1
	}
	// i is within children[j], or i == its count: start at items[j].
	if i < n.children[j].count && !n.children[j].ascend(i, fn) {
		return false
	}
	for ; j < len(n.items); j++ {
		if !fn(n.items[j]) || !n.children[j+1].ascend(0, fn) {
			return false
		}
	}
	return true
}

// descend calls fn for the entries from index i down to 0, until fn
// returns false.
func (t *ztree) descend(i int, fn func(zent) bool) {
	if t.root != nil && i >= 0 {
		t.root.descend(min(i, t.root.count-1), fn)
	}
}

func (n *znode) descend(i int, fn func(zent) bool) bool {
	if n.children == nil {
		for j := i; j >= 0; j-- {
			if !fn(n.items[j]) {
				return false
			}
		}
		return true
	}
	j := 0
	for ; j < len(n.items); j++ {
		cc := n.children[j].count
		if i <= cc {
			break
		}
		i -= cc + 1
	}
	c := n.children[j]
	if i == c.count {
		// items[j] (j < len(items) here), then all of children[j]
		if !fn(n.items[j]) {
			return false
		}
		i = c.count - 1
	}
	if !c.descend(i, fn) {
		return false
	}
	for j--; j >= 0; j-- {
		if !fn(n.items[j]) || !n.children[j].descend(n.children[j].count-1, fn) {
			return false
		}
	}
	return true
}

// zbuild returns the root of a tree of items (sorted, distinct) for a
// ztree with id iso, in O(n): every node but the root is at least half
// full.
func zbuild(items []zent, iso uint64) *znode {
	if len(items) == 0 {
		return nil
	}
	caps := []int{0, zMaxItems} // caps[h]: the most entries of a tree of height h
	for caps[len(caps)-1] < len(items) {
		caps = append(caps, caps[len(caps)-1]*(zMaxItems+1)+zMaxItems)
	}
	return zbuildHeight(items, len(caps)-1, caps, iso)
}

func zbuildHeight(items []zent, h int, caps []int, iso uint64) *znode {
	n := &znode{iso: iso, count: len(items)}
	if h == 1 {
		n.items = slices.Clone(items)
		return n
	}
	sub := caps[h-1]
	k := (len(items) + sub + 1) / (sub + 1) // children: ceil((len+1)/(sub+1)), at least 2
	per := len(items) - (k - 1)
	base, extra := per/k, per%k
	n.items = make([]zent, 0, k-1)
	n.children = make([]*znode, 0, k)
	pos := 0
	for j := range k {
		m := base
		if j < extra {
			m++
		}
		n.children = append(n.children, zbuildHeight(items[pos:pos+m], h-1, caps, iso))
		pos += m
		if j < k-1 {
			n.items = append(n.items, items[pos])
			pos++
		}
	}
	return n
}

// zset: the object.

// zset is a sorted set (see the file comment).
type zset struct {
	tree ztree
	dict *btree.BTreeG[zent] // by member; nil for zsetDictMin members or fewer
}

var zsetDictOpts = btree.Options{NoLocks: true, Degree: zsetDictDegree}

func newZSet() *zset { return &zset{tree: ztree{iso: newZIso()}} }

// Type is TypeZSet.
func (z *zset) Type() ValueType { return TypeZSet }

// Len is the number of members.
func (z *zset) Len() int { return z.tree.len() }

// Encode appends the zset's encoding (see the file comment) to dst.
func (z *zset) Encode(dst []byte) []byte {
	dst = append(dst, zsetEncodingVersion)
	dst = binary.AppendUvarint(dst, uint64(z.Len()))
	z.tree.ascend(0, func(e zent) bool {
		dst = binary.AppendUvarint(dst, uint64(len(e.member)))
		dst = append(dst, e.member...)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.score))
		return true
	})
	return dst
}

var errBadZSet = errors.New("engine: corrupt sorted set encoding")

// decodeZSet rebuilds a zset from its Encode bytes; it never panics, and
// refuses what Encode never writes: an empty set, entries out of order, a
// member twice, a NaN or -0 score, trailing bytes.
func decodeZSet(b []byte) (object, error) {
	if len(b) == 0 || b[0] != zsetEncodingVersion {
		return nil, errBadZSet
	}
	b = b[1:]
	count, k := shortestUvarint(b)
	// Every entry takes at least 9 bytes: a count above what is left is
	// corrupt, and must not size an allocation.
	if k <= 0 || count == 0 || count > uint64(len(b)-k)/9 {
		return nil, errBadZSet
	}
	b = b[k:]
	items := make([]zent, count)
	for i := range items {
		l, k := shortestUvarint(b)
		if k <= 0 || l > uint64(len(b)-k) || uint64(len(b)-k)-l < 8 {
			return nil, errBadZSet
		}
		m := string(b[k : k+int(l)])
		b = b[k+int(l):]
		f := math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
		if math.IsNaN(f) || (f == 0 && math.Signbit(f)) {
			return nil, errBadZSet
		}
		items[i] = zent{member: m, score: f}
		if i > 0 && !zless(items[i-1], items[i]) {
			return nil, errBadZSet
		}
	}
	if len(b) != 0 {
		return nil, errBadZSet
	}
	z := zsetFrom(items)
	if z.dict == nil {
		byMember := slices.Clone(items)
		slices.SortFunc(byMember, func(a, b zent) int { return zcmpMember(a, b) })
		for i := 1; i < len(byMember); i++ {
			if byMember[i-1].member == byMember[i].member {
				return nil, errBadZSet
			}
		}
	} else if z.dict.Len() != len(items) {
		return nil, errBadZSet // a member twice
	}
	return z, nil
}

func zcmpMember(a, b zent) int {
	switch {
	case a.member < b.member:
		return -1
	case a.member > b.member:
		return 1
	}
	return 0
}

// zsetFrom builds a zset of items, sorted by zless and distinct by member
// (its dict is built by member and counts each member once).
func zsetFrom(items []zent) *zset {
	z := newZSet()
	z.tree.root = zbuild(items, z.tree.iso)
	if len(items) > zsetDictMin {
		z.buildDict(items)
	}
	return z
}

// buildDict builds the member index of items.
func (z *zset) buildDict(items []zent) {
	byMember := slices.Clone(items)
	slices.SortFunc(byMember, zcmpMember)
	d := btree.NewBTreeGOptions(zmemberLess, zsetDictOpts)
	for _, e := range byMember {
		d.Load(e)
	}
	z.dict = d
}

// entries returns the entries from index lo to hi-1, in order.
func (z *zset) entries(lo, hi int) []zent {
	out := make([]zent, 0, max(hi-lo, 0))
	if lo < hi {
		z.tree.ascend(lo, func(e zent) bool {
			out = append(out, e)
			return len(out) < hi-lo
		})
	}
	return out
}

// edit returns a copy of z to change, sharing its structure in O(1).
func (z *zset) edit() *zset {
	nz := &zset{tree: ztree{root: z.tree.root, iso: newZIso()}}
	if z.dict != nil {
		nz.dict = z.dict.Copy()
	}
	return nz
}

// score returns the score of member.
func (z *zset) score(member string) (float64, bool) {
	if z.dict != nil {
		e, ok := z.dict.Get(zent{member: member})
		return e.score, ok
	}
	var score float64
	found := false
	z.tree.ascend(0, func(e zent) bool {
		if e.member == member {
			score, found = e.score, true
			return false
		}
		return true
	})
	return score, found
}

// insert adds e (on an edit); its member must not be in z.
func (z *zset) insert(e zent) {
	z.tree.insert(e)
	if z.dict != nil {
		z.dict.Set(e)
	} else if z.tree.len() > zsetDictMin {
		z.buildDict(z.entries(0, z.tree.len()))
	}
}

// remove removes e, which must be in z (on an edit).
func (z *zset) remove(e zent) {
	z.tree.deleteAt(z.tree.rank(e))
	z.dropFromDict(e)
}

// removeAt removes and returns the entry at index i (on an edit).
func (z *zset) removeAt(i int) zent {
	e := z.tree.deleteAt(i)
	z.dropFromDict(e)
	return e
}

func (z *zset) dropFromDict(e zent) {
	if z.dict == nil {
		return
	}
	if z.tree.len() <= zsetDictMin/2 {
		z.dict = nil
		return
	}
	z.dict.Delete(e)
}

// removeRange removes the entries from index lo to hi-1 (on an edit): one
// by one, or by rebuilding from the rest when that is most of the set.
func (z *zset) removeRange(lo, hi int) {
	n := z.Len()
	if hi-lo <= 0 {
		return
	}
	if (hi-lo)*4 > n {
		rest := append(z.entries(0, lo), z.entries(hi, n)...)
		nz := zsetFrom(rest)
		*z = *nz
		return
	}
	for range hi - lo {
		z.removeAt(lo)
	}
}

// The bounds of score and lex ranges as indices: the first entry in the
// range and the end of it, [lo, hi).

func (z *zset) scoreSpan(r schema.ZScoreRange) (int, int) {
	lo := z.tree.countWhile(func(e zent) bool { return !r.AboveMin(e.score) })
	hi := z.tree.countWhile(func(e zent) bool { return r.BelowMax(e.score) })
	return lo, max(lo, hi)
}

// lexSpan assumes, as Redis does, that all scores are equal; otherwise
// the result is unspecified.
func (z *zset) lexSpan(r schema.ZLexRange) (int, int) {
	if r.Empty() {
		return 0, 0
	}
	lo := z.tree.countWhile(func(e zent) bool { return !r.AboveMin(e.member) })
	hi := z.tree.countWhile(func(e zent) bool { return r.BelowMax(e.member) })
	return lo, max(lo, hi)
}

// rankSpan turns a start and stop rank into [lo, hi), as Redis computes
// them.
func rankSpan(start, stop int64, n int) (int, int) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if stop < 0 {
		stop += ln
	}
	start = max(start, 0)
	if start > stop || start >= ln {
		return 0, 0
	}
	stop = min(stop, ln-1)
	return int(start), int(stop) + 1
}

// Looking keys up.

func zsetOf(it item) *zset { return it.object().(*zset) }

// zsetRead looks key up for a read: its zset, nil if missing; false for
// another type.
func zsetRead(c *readCtx, key []byte) (*zset, bool) {
	it, ok := c.keyLookup(key)
	if !ok {
		return nil, true
	}
	if it.typ != TypeZSet {
		return nil, false
	}
	return zsetOf(it), true
}

// zsetWrite looks key up for a write, as zsetRead does, with its item.
func zsetWrite(c *applyCtx, key []byte) (*zset, item, bool) {
	it, ok := c.live(key)
	if !ok {
		return nil, item{}, true
	}
	if it.typ != TypeZSet {
		return nil, item{}, false
	}
	return zsetOf(it), it, true
}

// zsetStore stores z under key with expiry exp, or removes key when z is
// empty.
func zsetStore(c *applyCtx, key []byte, z *zset, exp int64) {
	if z == nil || z.Len() == 0 {
		c.ks.remove(key)
		return
	}
	c.ks.set(newObject(bstr(key), z, exp))
}

// Replies.

// zPairs is a reply of (member, score) pairs, held flat (ReplyPairs).
func zPairs(elems []Reply) Reply { return Reply{Kind: KindArray, Elems: elems, Int: ReplyPairs} }

// zReply is the reply listing entries, with their scores or not.
func zReply(es []zent, withScores bool) Reply {
	if !withScores {
		out := make([]Reply, len(es))
		for i, e := range es {
			out[i] = Bulk(e.member)
		}
		return Array(out...)
	}
	out := make([]Reply, 0, 2*len(es))
	for _, e := range es {
		out = append(out, Bulk(e.member), Double(e.score))
	}
	return zPairs(out)
}

// zScoreText formats a score as ZSCAN shows it: as Redis stores it in a
// listpack, an integer in ±2^62 as one, anything else with "%.17g".
func zScoreText(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f >= -(1<<62) && f <= 1<<62 && f == math.Trunc(f):
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

// The commands.

// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member
// ...], and ZINCRBY key increment member (incr): as Redis's zsetAdd.
func zAdd(c *applyCtx, argv [][]byte, incr bool) Reply {
	a, err := schema.ParseZAdd(argv, incr)
	if err != nil {
		return Error(err)
	}
	old, it, ok := zsetWrite(c, argv[1])
	if !ok {
		return wrongType
	}
	if old == nil && a.XX {
		if a.Incr {
			return Null
		}
		return Int(0)
	}
	var z *zset
	if old == nil {
		z = newZSet()
	} else {
		z = old.edit()
	}
	var added, updated, processed int64
	var score float64
	for j, s := range a.Scores {
		m := bstr(a.Members[j])
		cur, exists := z.score(m)
		switch {
		case exists:
			if a.NX {
				continue
			}
			if a.Incr {
				s += cur
				if math.IsNaN(s) {
					return Error(schema.ErrZScoreNaN)
				}
			}
			if (a.LT && s >= cur) || (a.GT && s <= cur) {
				continue
			}
			score = s
			processed++
			if s != cur {
				// Reinserted with the stored member's bytes, not argv's.
				prev := z.removeAt(z.tree.rank(zent{member: m, score: cur}))
				z.insert(zent{member: prev.member, score: zscoreNorm(s)})
				updated++
			}
		case !a.XX:
			z.insert(zent{member: string(a.Members[j]), score: zscoreNorm(s)})
			score = s
			added++
			processed++
		}
	}
	if added+updated > 0 {
		zsetStore(c, argv[1], z, it.exp)
	}
	if a.Incr {
		if processed == 0 {
			return Null
		}
		return Double(score)
	}
	if a.CH {
		return Int(added + updated)
	}
	return Int(added)
}

// ZREM key member [member ...]
func zRem(c *applyCtx, argv [][]byte) Reply {
	old, it, ok := zsetWrite(c, argv[1])
	if !ok {
		return wrongType
	}
	if old == nil {
		return Int(0)
	}
	z := old.edit()
	var n int64
	for _, m := range argv[2:] {
		if s, found := z.score(bstr(m)); found {
			z.remove(zent{member: bstr(m), score: s})
			n++
			if z.Len() == 0 {
				break
			}
		}
	}
	if n > 0 {
		zsetStore(c, argv[1], z, it.exp)
	}
	return Int(n)
}

// ZCARD key
func zCard(c *readCtx, argv [][]byte) Reply {
	z, ok := zsetRead(c, argv[1])
	if !ok {
		return wrongType
	}
	if z == nil {
		return Int(0)
	}
	return Int(int64(z.Len()))
}

// ZCOUNT key min max: O(log n), two rank lookups.
func zCount(c *readCtx, argv [][]byte) Reply {
	r, err := schema.ParseZScoreRange(argv[2], argv[3])
	if err != nil {
		return Error(err)
	}
	z, ok := zsetRead(c, argv[1])
	if !ok {
		return wrongType
	}
	if z == nil {
		return Int(0)
	}
	lo, hi := z.scoreSpan(r)
	return Int(int64(hi - lo))
}

// ZLEXCOUNT key min max
func zLexCount(c *readCtx, argv [][]byte) Reply {
	r, err := schema.ParseZLexRange(argv[2], argv[3])
	if err != nil {
		return Error(err)
	}
	z, ok := zsetRead(c, argv[1])
	if !ok {
		return wrongType
	}
	if z == nil {
		return Int(0)
	}
	lo, hi := z.lexSpan(r)
	return Int(int64(hi - lo))
}

// ZSCORE key member
func zScore(c *readCtx, argv [][]byte) Reply {
	z, ok := zsetRead(c, argv[1])
	if !ok {
		return wrongType
	}
	if z == nil {
		return Null
	}
	s, found := z.score(bstr(argv[2]))
	if !found {
		return Null
	}
	return Double(s)
}

// ZMSCORE key member [member ...]
func zMScore(c *readCtx, argv [][]byte) Reply {
	z, ok := zsetRead(c, argv[1])
	if !ok {
		return wrongType
	}
	out := make([]Reply, len(argv)-2)
	for i, m := range argv[2:] {
		out[i] = Null
		if z != nil {
			if s, found := z.score(bstr(m)); found {
				out[i] = Double(s)
			}
		}
	}
	return Array(out...)
}

// ZRANK key member [WITHSCORE], ZREVRANK: O(log n).
func zRank(c *readCtx, argv [][]byte, rev bool) Reply {
	withScore, err := schema.ParseZRank(argv)
	if err != nil {
		return Error(err)
	}
	none := Null
	if withScore {
		none = NullArray
	}
	z, ok := zsetRead(c, argv[1])
	if !ok {
		return wrongType
	}
	if z == nil {
		return none
	}
	m := bstr(argv[2])
	s, found := z.score(m)
	if !found {
		return none
	}
	r := z.tree.rank(zent{member: m, score: s})
	if rev {
		r = z.Len() - 1 - r
	}
	if withScore {
		return Array(Int(int64(r)), Double(s))
	}
	return Int(int64(r))
}

// zRangeSpan returns the indices the range a selects in z, in the order
// to return them: from index first, count entries, descending if a.Rev.
func zRangeSpan(z *zset, a schema.ZRangeArgs) (first, count int) {
	n := z.Len()
	var lo, hi int
	switch a.By {
	case schema.ZByRank:
		lo, hi = rankSpan(a.Start, a.Stop, n)
		if a.Rev {
			return n - 1 - lo, hi - lo
		}
		return lo, hi - lo
	case schema.ZByScore:
		lo, hi = z.scoreSpan(a.Score)
	case schema.ZByLex:
		lo, hi = z.lexSpan(a.Lex)
	}
	// LIMIT: a negative offset selects nothing (Redis walks past the end),
	// a negative count everything.
	if a.Offset < 0 || a.Offset >= int64(hi-lo) {
		return 0, 0
	}
	count = hi - lo - int(a.Offset)
	if a.Limit >= 0 && a.Limit < int64(count) {
		count = int(a.Limit)
	}
	if a.Rev {
		return hi - 1 - int(a.Offset), count
	}
	return lo + int(a.Offset), count
}

// zCollect returns the count entries from index first, descending if rev.
func zCollect(z *zset, first, count int, rev bool) []zent {
	out := make([]zent, 0, count)
	if count <= 0 {
		return out
	}
	fn := func(e zent) bool {
		out = append(out, e)
		return len(out) < count
	}
	if rev {
		z.tree.descend(first, fn)
	} else {
		z.tree.ascend(first, fn)
	}
	return out
}

// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count]
// [WITHSCORES], and ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE,
// ZRANGEBYLEX, ZREVRANGEBYLEX: O(log n + m) for m entries returned,
// whatever the offset.
func zRange(c *readCtx, argv [][]byte) Reply {
	a, err := schema.ParseZRange(argv)
	if err != nil {
		return Error(err)
	}
	z, ok := zsetRead(c, a.Key)
	if !ok {
		return wrongType
	}
	if z == nil {
		return Array()
	}
	first, count := zRangeSpan(z, a)
	return zReply(zCollect(z, first, count, a.Rev), a.WithScores)
}

// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset
// count]: the number of members stored; an empty result deletes dst.
func zRangeStore(c *applyCtx, argv [][]byte) Reply {
	a, err := schema.ParseZRange(argv)
	if err != nil {
		return Error(err)
	}
	src, _, ok := zsetWrite(c, a.Key)
	if !ok {
		return wrongType
	}
	var es []zent
	if src != nil {
		first, count := zRangeSpan(src, a)
		es = zCollect(src, first, count, a.Rev)
		if a.Rev {
			slices.Reverse(es)
		}
	}
	c.live(a.Dest) // an expired destination counts as expired
	if len(es) == 0 {
		c.ks.remove(a.Dest)
		return Int(0)
	}
	zsetStore(c, a.Dest, zsetFrom(es), 0)
	return Int(int64(len(es)))
}

// ZREMRANGEBYRANK key start stop, ZREMRANGEBYSCORE key min max,
// ZREMRANGEBYLEX key min max: the number removed.
func zRemRange(c *applyCtx, argv [][]byte) Reply {
	var span func(z *zset) (int, int)
	switch {
	case schema.EqualFold(argv[0], "zremrangebyrank"):
		start, stop, err := schema.ParseZRankRange(argv)
		if err != nil {
			return Error(err)
		}
		span = func(z *zset) (int, int) { return rankSpan(start, stop, z.Len()) }
	case schema.EqualFold(argv[0], "zremrangebyscore"):
		r, err := schema.ParseZScoreRange(argv[2], argv[3])
		if err != nil {
			return Error(err)
		}
		span = func(z *zset) (int, int) { return z.scoreSpan(r) }
	default:
		r, err := schema.ParseZLexRange(argv[2], argv[3])
		if err != nil {
			return Error(err)
		}
		span = func(z *zset) (int, int) { return z.lexSpan(r) }
	}
	old, it, ok := zsetWrite(c, argv[1])
	if !ok {
		return wrongType
	}
	if old == nil {
		return Int(0)
	}
	lo, hi := span(old)
	if hi <= lo {
		return Int(0)
	}
	z := old.edit()
	z.removeRange(lo, hi)
	zsetStore(c, argv[1], z, it.exp)
	return Int(int64(hi - lo))
}

// zPopN removes up to count entries from the low end of z (the high end
// if fromMax) and returns them in the order popped; z is an edit.
func zPopN(z *zset, count int64, fromMax bool) []zent {
	n := int(min(count, int64(z.Len())))
	var es []zent
	if fromMax {
		es = zCollect(z, z.Len()-1, n, true)
		z.removeRange(z.Len()-n, z.Len())
	} else {
		es = zCollect(z, 0, n, false)
		z.removeRange(0, n)
	}
	return es
}

// ZPOPMIN key [count], ZPOPMAX: without a count, [member score] (or
// empty); with one, the pairs (ReplyPairs).
func zPop(c *applyCtx, argv [][]byte, fromMax bool) Reply {
	count, given, err := schema.ParseZPopCount(argv)
	if err != nil {
		return Error(err)
	}
	old, it, ok := zsetWrite(c, argv[1])
	if !ok {
		return wrongType
	}
	if old == nil || count == 0 {
		return Array()
	}
	z := old.edit()
	es := zPopN(z, count, fromMax)
	zsetStore(c, argv[1], z, it.exp)
	r := zReply(es, true)
	if !given {
		r.Int = 0 // a single pair is flat in RESP3 too
	}
	return r
}

// zFirstNonEmpty finds the first of keys that holds a sorted set: its
// index, or -1 if none does, and false if one of the keys before it (or
// it) holds another type.
func zFirstNonEmpty(c *applyCtx, keys [][]byte) (int, *zset, item, bool) {
	for i, k := range keys {
		z, it, ok := zsetWrite(c, k)
		if !ok {
			return -1, nil, item{}, false
		}
		if z != nil {
			return i, z, it, true
		}
	}
	return -1, nil, item{}, true
}

// ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]: [key, [[member,
// score], ...]] from the first non-empty key, or a null array.
func zMPop(c *applyCtx, argv [][]byte) Reply {
	a, err := schema.ParseZMPop(argv)
	if err != nil {
		return Error(err)
	}
	i, old, it, ok := zFirstNonEmpty(c, a.Keys)
	if !ok {
		return wrongType
	}
	if i < 0 {
		return NullArray
	}
	z := old.edit()
	es := zPopN(z, a.Count, a.Max)
	zsetStore(c, a.Keys[i], z, it.exp)
	pairs := make([]Reply, len(es))
	for j, e := range es {
		pairs[j] = Array(Bulk(e.member), Double(e.score))
	}
	return Array(Bulk(zsetKey(it)), Array(pairs...))
}

// zsetKey is the key of a zset's item, for replies: immutable.
func zsetKey(it item) string { return it.key() }

// BZPOPMIN key [key ...] timeout, BZPOPMAX: the non-blocking attempt (see
// the file comment): [key, member, score], or a null array.
func zBPop(c *applyCtx, argv [][]byte, fromMax bool) Reply {
	keys := argv[1 : len(argv)-1]
	i, old, it, ok := zFirstNonEmpty(c, keys)
	if !ok {
		return wrongType
	}
	if i < 0 {
		return NullArray
	}
	z := old.edit()
	es := zPopN(z, 1, fromMax)
	zsetStore(c, keys[i], z, it.exp)
	return Array(Bulk(zsetKey(it)), Bulk(es[0].member), Double(es[0].score))
}

// Union, intersection, difference.

// zsrc is one input of a set operation: a zset, a plain set, or nothing
// (a missing key).
type zsrc struct {
	z      *zset
	set    *setObj // members with score 1
	obj    object  // z or set, to see a key named twice
	weight float64
}

func (s *zsrc) len() int {
	switch {
	case s.z != nil:
		return s.z.Len()
	case s.set != nil:
		return s.set.Len()
	}
	return 0
}

// find returns the score of m in s.
func (s *zsrc) find(m string) (float64, bool) {
	switch {
	case s.z != nil:
		return s.z.score(m)
	case s.set != nil:
		return 1, s.set.has(m)
	}
	return 0, false
}

// each calls fn for every element of s, from the highest to the lowest
// for a zset (Redis's order, which only shows in floating point sums).
func (s *zsrc) each(fn func(zent) bool) {
	switch {
	case s.z != nil:
		s.z.tree.descend(s.z.Len()-1, fn)
	case s.set != nil:
		s.set.each(func(m string) bool { return fn(zent{member: m, score: 1}) })
	}
}

// zsrcOf is the input for an item; false for a type other than zset or
// set.
func zsrcOf(it item, found bool) (zsrc, bool) {
	s := zsrc{weight: 1}
	if !found {
		return s, true
	}
	switch it.typ {
	case TypeZSet:
		s.z = zsetOf(it)
		s.obj = s.z
	case TypeSet:
		s.set = it.object().(*setObj)
		s.obj = s.set
	default:
		return s, false
	}
	return s, true
}

// zAggregate is zunionInterAggregate.
func zAggregate(target, v float64, agg schema.ZAggregate) float64 {
	switch agg {
	case schema.ZAggMin:
		if v < target {
			return v
		}
		return target
	case schema.ZAggMax:
		if v > target {
			return v
		}
		return target
	}
	target += v
	if math.IsNaN(target) {
		return 0
	}
	return target
}

// zSetOp computes a set operation over srcs as Redis's
// zunionInterDiffGenericCommand does, the inputs of a union or an
// intersection taken in order of size, and returns the result sorted (or,
// for ZINTERCARD, its size only).
func zSetOp(a schema.ZSetOpArgs, srcs []zsrc) ([]zent, int64) {
	if a.Weights != nil {
		for i := range srcs {
			srcs[i].weight = a.Weights[i]
		}
	}
	if a.Op != schema.ZDiff {
		slices.SortStableFunc(srcs, func(x, y zsrc) int { return x.len() - y.len() })
	}
	var out []zent
	switch a.Op {
	case schema.ZInter:
		var card int64
		if srcs[0].len() == 0 {
			break
		}
		srcs[0].each(func(e zent) bool {
			score := srcs[0].weight * e.score
			if math.IsNaN(score) {
				score = 0
			}
			for j := 1; j < len(srcs); j++ {
				var v float64
				if srcs[j].obj == srcs[0].obj {
					v = e.score * srcs[j].weight
				} else if s, ok := srcs[j].find(e.member); ok {
					v = s * srcs[j].weight
				} else {
					return true
				}
				score = zAggregate(score, v, a.Aggregate)
			}
			if a.CardOnly {
				card++
				return a.Limit == 0 || card < a.Limit
			}
			out = append(out, zent{member: e.member, score: zscoreNorm(score)})
			return true
		})
		if a.CardOnly {
			return nil, card
		}
	case schema.ZUnion:
		acc := make(map[string]int) // member → index in out
		for i := range srcs {
			s := &srcs[i]
			s.each(func(e zent) bool {
				score := s.weight * e.score
				if math.IsNaN(score) {
					score = 0
				}
				if j, ok := acc[e.member]; ok {
					out[j].score = zAggregate(out[j].score, score, a.Aggregate)
				} else {
					acc[e.member] = len(out)
					out = append(out, zent{member: e.member, score: score})
				}
				return true
			})
		}
		for i := range out {
			out[i].score = zscoreNorm(out[i].score)
		}
	case schema.ZDiff:
		if srcs[0].len() == 0 {
			break
		}
		srcs[0].each(func(e zent) bool {
			for j := 1; j < len(srcs); j++ {
				if srcs[j].obj == srcs[0].obj {
					return true
				}
				if _, ok := srcs[j].find(e.member); ok {
					return true
				}
			}
			out = append(out, e)
			return true
		})
	}
	slices.SortFunc(out, func(x, y zent) int {
		if zless(x, y) {
			return -1
		}
		if zless(y, x) {
			return 1
		}
		return 0
	})
	return out, int64(len(out))
}

// ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM | MIN |
// MAX] [WITHSCORES], ZINTER, ZDIFF (no WEIGHTS nor AGGREGATE), ZINTERCARD
// numkeys key [key ...] [LIMIT limit]. As in Redis, the keys are looked up
// (WRONGTYPE) before the options are read.
func zSetOpRead(c *readCtx, argv [][]byte) Reply {
	a, err := schema.ParseZSetOpKeys(argv)
	if err != nil {
		return Error(err)
	}
	srcs := make([]zsrc, len(a.Keys))
	for i, k := range a.Keys {
		it, found := c.keyLookup(k)
		var ok bool
		if srcs[i], ok = zsrcOf(it, found); !ok {
			return wrongType
		}
	}
	if a, err = schema.ParseZSetOp(argv); err != nil {
		return Error(err)
	}
	es, card := zSetOp(a, srcs)
	if a.CardOnly {
		return Int(card)
	}
	return zReply(es, a.WithScores)
}

// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS w ...]
// [AGGREGATE SUM | MIN | MAX], ZINTERSTORE, ZDIFFSTORE: the size of the
// result, stored without a TTL; an empty result deletes destination.
func zSetOpStore(c *applyCtx, argv [][]byte) Reply {
	a, err := schema.ParseZSetOp(argv)
	if err != nil {
		return Error(err)
	}
	srcs := make([]zsrc, len(a.Keys))
	for i, k := range a.Keys {
		it, found := c.live(k)
		var ok bool
		if srcs[i], ok = zsrcOf(it, found); !ok {
			return wrongType
		}
	}
	es, _ := zSetOp(a, srcs)
	for _, s := range srcs {
		if s.set != nil {
			// A set's members may view its packed bytes: copy them, so the
			// new zset does not keep the whole set alive.
			for i := range es {
				es[i].member = strings.Clone(es[i].member)
			}
			break
		}
	}
	c.live(a.Dest) // an expired destination counts as expired
	if len(es) == 0 {
		c.ks.remove(a.Dest)
		return Int(0)
	}
	zsetStore(c, a.Dest, zsetFrom(es), 0)
	return Int(int64(len(es)))
}

// ZRANDMEMBER key [count [WITHSCORES]]: a read, so any randomness will
// do. A positive count gives distinct members (all of them, from the
// highest, as Redis when count >= the size); a negative one may repeat.
func zRandMember(c *readCtx, argv [][]byte) Reply {
	a, err := schema.ParseZRandMember(argv)
	if err != nil {
		return Error(err)
	}
	z, ok := zsetRead(c, argv[1])
	if !ok {
		return wrongType
	}
	if !a.HasCount {
		if z == nil {
			return Null
		}
		return Bulk(z.tree.at(rand.IntN(z.Len())).member)
	}
	if z == nil || a.Count == 0 {
		return Array()
	}
	n := z.Len()
	var es []zent
	switch {
	case a.Count < 0 || a.Count == 1:
		k := a.Count
		if k < 0 {
			k = -k
		}
		es = make([]zent, k)
		for i := range es {
			es[i] = z.tree.at(rand.IntN(n))
		}
	case a.Count >= int64(n):
		es = zCollect(z, n-1, n, true)
	default:
		// Floyd's sampling of count distinct indices, in random order.
		k := int(a.Count)
		picked := make(map[int]bool, k)
		idx := make([]int, 0, k)
		for j := n - k; j < n; j++ {
			t := rand.IntN(j + 1)
			if picked[t] {
				t = j
			}
			picked[t] = true
			idx = append(idx, t)
		}
		rand.Shuffle(len(idx), func(x, y int) { idx[x], idx[y] = idx[y], idx[x] })
		es = make([]zent, k)
		for i, t := range idx {
			es[i] = z.tree.at(t)
		}
	}
	return zReply(es, a.WithScores)
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]: a set of up to
// zsetScanAll members is returned whole, in score order, with cursor 0
// (as Redis does for a listpack); a larger one is walked in member order,
// COUNT members a call, its position kept in the SCAN cursor table (an
// unknown cursor is "ERR invalid cursor", see keysScan). Scores are
// strings, as Redis formats them here (zScoreText).
func zScan(c *readCtx, argv [][]byte) Reply {
	cursor, err := schema.ParseZScanCursor(argv[2])
	if err != nil {
		return Error(err)
	}
	z, ok := zsetRead(c, argv[1])
	if !ok {
		return wrongType
	}
	if z == nil {
		return Array(Bulk("0"), Array())
	}
	match, count, err := schema.ParseZScanOptions(argv)
	if err != nil {
		return Error(err)
	}
	var out []Reply
	keep := func(e zent) bool {
		if match == nil || schema.Match(match, strBytes(e.member), false) {
			out = append(out, Bulk(e.member), Bulk(zScoreText(e.score)))
		}
		return true
	}
	if z.Len() <= zsetScanAll || z.dict == nil {
		z.tree.ascend(0, keep)
		return Array(Bulk("0"), Array(out...))
	}
	var after string
	resume := cursor != 0
	if resume {
		if after, ok = c.e.scans.get(cursor, c.db); !ok {
			return Error(schema.ErrInvalidCursor)
		}
	}
	var (
		visited int64
		last    string
		more    bool
	)
	z.dict.Ascend(zent{member: after}, func(e zent) bool {
		if resume && e.member == after {
			return true
		}
		if visited == count {
			more = true
			return false
		}
		visited++
		last = e.member
		return keep(e)
	})
	next := "0"
	if more {
		next = strconv.FormatUint(c.e.scans.put(c.db, last), 10)
	}
	return Array(Bulk(next), Array(out...))
}
