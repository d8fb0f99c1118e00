package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/memimg/memimg/schema"
)

// Lists.
//
// # The data structure
//
// A list is a persistent (copy-on-write) B+tree indexed by position, not
// by key: a rope of packed chunks. A leaf holds up to listLeafMax elements
// packed like Redis's listpack: one string of their bytes end to end and
// the offset where each starts, so a leaf is two allocations, one of them
// free of pointers, however many elements it holds; it holds up to
// listLeafBytes bytes unless it holds one element. An inner node holds up
// to listFanout children and the number of elements under each, so the
// element at index i is found in O(log n) by walking down the counts. A
// list of a few elements is one leaf.
//
// Every operation is O(log n) but the ones Redis makes O(n) (LRANGE's
// copy, LREM's and LPOS's scans, LINSERT's search for its pivot): LINDEX,
// LSET, LPUSH, RPUSH, LPOP, RPOP, and LINSERT's insertion itself. A write
// builds a new leaf (at most listLeafBytes plus the new element, and
// 4 bytes an element) and copies the inner nodes on its path (up to 32
// children a level); it shares the rest with the previous version, so a
// snapshot's view (keyspace.clone) never sees a later change (DESIGN rule
// 5). Elements handed out in replies are substrings of a leaf's string,
// which is never written again.
//
// Why not a tidwall/btree keyed by a position number (LPUSH at min-1,
// RPUSH at max+1)? LINSERT in the middle needs a number between two
// neighbours, and a run of them exhausts any gap: the run must then be
// renumbered, which needs an order-maintenance scheme to stay cheap. An
// implicit index has no numbers to run out of, and a packed leaf costs 4
// bytes an element beside the element's bytes, against 24 (position and
// string header) plus an allocation per element.
//
// Within one command, a write may change the inner nodes it has already
// copied in place: each command gets a fresh listEdit number, the nodes it
// copies or creates carry it, and a node with another number is copied
// before any change. A number is never used again once its command is
// done, so a stored tree is immutable. Leaves are always rebuilt, never
// changed; pushing many elements at once packs them into new leaves
// directly.
//
// The tree is kept balanced in the B+tree way, relaxed: a split keeps all
// leaves at the same depth; a node left small by a removal is merged with
// or balanced against a neighbour; a root with one child is dropped. A
// split at either end of a node (pushes) leaves the full part full, so a
// list built by pushes has full leaves. The height only grows by a root
// split, so it is O(log n) of the most elements the list ever held.
//
// # Encoding
//
// The value's encoding (snapshots, MEMIMG.DIGEST, WATCH fingerprints) is
// the elements in order, whatever the tree's shape:
//
//	version u8 (1) | count uvarint | count × (len uvarint | bytes)
//
// with every uvarint in its shortest form (the decoder refuses others).
//
// # Blocking commands
//
// BLPOP, BRPOP, BLMPOP, BLMOVE and BRPOPLPUSH apply as their non-blocking
// forms: they pop if one of their lists has an element, and otherwise
// change nothing and answer Redis's reply to a blocking command inside
// MULTI (a null array for BLPOP, BRPOP and BLMPOP, a null bulk string for
// BLMOVE and BRPOPLPUSH), which tells the protocol layer to wait for a push
// and try again (schema.ParseBlocking).
//
// Commands that fail against the data (WRONGTYPE, LSET past the end) are
// logged and fail the same way on every replay, changing nothing.

// The tree's shape. Not part of any format: Encode writes the elements
// only.
const (
	listLeafMax   = 128  // elements in a leaf
	listLeafBytes = 4096 // element bytes in a leaf of more than one element
	listLeafMin   = listLeafMax / 4
	listFanout    = 32 // children of an inner node
	listFanMin    = listFanout / 4
)

// listEncodingVersion is the first byte of a list's encoding. Frozen.
const listEncodingVersion = 1

func init() {
	objectDecoders[TypeList] = decodeList

	onRead("llen", listLen)
	onRead("lrange", listRange)
	onRead("lindex", listIndex)
	onRead("lpos", listPos)

	onWrite("lpush", func(c *applyCtx, argv [][]byte) Reply { return listPush(c, argv, true, false) })
	onWrite("rpush", func(c *applyCtx, argv [][]byte) Reply { return listPush(c, argv, false, false) })
	onWrite("lpushx", func(c *applyCtx, argv [][]byte) Reply { return listPush(c, argv, true, true) })
	onWrite("rpushx", func(c *applyCtx, argv [][]byte) Reply { return listPush(c, argv, false, true) })
	onWrite("lpop", func(c *applyCtx, argv [][]byte) Reply { return listPop(c, argv, true) })
	onWrite("rpop", func(c *applyCtx, argv [][]byte) Reply { return listPop(c, argv, false) })
	onWrite("lset", listSet)
	onWrite("linsert", listInsert)
	onWrite("lrem", listRem)
	onWrite("ltrim", listTrim)
	onWrite("lmove", listMoveCmd)
	onWrite("blmove", listMoveCmd)
	onWrite("rpoplpush", func(c *applyCtx, argv [][]byte) Reply { return listMove(c, argv[1], argv[2], false, true) })
	onWrite("brpoplpush", func(c *applyCtx, argv [][]byte) Reply { return listMove(c, argv[1], argv[2], false, true) })
	onWrite("lmpop", listMPop)
	onWrite("blmpop", listMPop)
	onWrite("blpop", func(c *applyCtx, argv [][]byte) Reply { return listBPop(c, argv, true) })
	onWrite("brpop", func(c *applyCtx, argv [][]byte) Reply { return listBPop(c, argv, false) })
}

// listNode is a node of a list's tree; the root is the list's object.
// A leaf (kids == nil) holds size elements, element i being
// data[offs[i]:offs[i+1]]; an inner node has kids, all of the same height.
type listNode struct {
	edit listEdit // the command that may change the node in place
	size int      // the elements under the node
	data string
	offs []uint32
	kids []listKid
}

// listKid is a child of an inner node and the number of elements under
// it (kid.n.size, kept beside the pointer so that a walk down by index
// reads one array a level).
type listKid struct {
	n    *listNode
	size int
}

// Type is TypeList.
func (n *listNode) Type() ValueType { return TypeList }

// Len is the number of elements.
func (n *listNode) Len() int { return n.size }

// Encode appends the list's encoding (see the file comment) to dst.
func (n *listNode) Encode(dst []byte) []byte {
	dst = append(dst, listEncodingVersion)
	dst = binary.AppendUvarint(dst, uint64(n.size))
	n.ascend(0, n.size, func(v string) bool {
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
		return true
	})
	return dst
}

var errBadList = errors.New("engine: corrupt list encoding")

// decodeList rebuilds a list from its Encode bytes; it never panics, and
// refuses an empty list (the keyspace holds none).
func decodeList(b []byte) (object, error) {
	if len(b) == 0 || b[0] != listEncodingVersion {
		return nil, errBadList
	}
	b = b[1:]
	count, k := shortestUvarint(b)
	// Every element takes at least one byte: a count above the bytes left
	// is corrupt, and must not size an allocation.
	if k <= 0 || count == 0 || count > uint64(len(b)-k) {
		return nil, errBadList
	}
	b = b[k:]
	vals := make([]string, count) // views of b: build copies them
	for i := range vals {
		l, k := shortestUvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, errBadList
		}
		vals[i] = bstr(b[k : k+int(l)])
		b = b[k+int(l):]
	}
	if len(b) != 0 {
		return nil, errBadList
	}
	return newListEdit().build(vals), nil
}

// shortestUvarint reads a uvarint as binary.Uvarint does, but refuses one
// longer than needed (k == 0), so every value has one encoding: the list
// and sorted-set decoders rely on it to accept only what they would write.
func shortestUvarint(b []byte) (uint64, int) {
	v, k := binary.Uvarint(b)
	if k > 1 && b[k-1] == 0 {
		return 0, 0
	}
	return v, k
}

// listEdit is one command's licence to change, in place, the inner nodes
// it has copied or created (see the file comment): a number no other
// command gets.
type listEdit uint64

var listEdits atomic.Uint64

func newListEdit() listEdit { return listEdit(listEdits.Add(1)) }

// mut returns inner node n itself if ed owns it, else a copy that ed owns,
// with room for one more child.
func (ed listEdit) mut(n *listNode) *listNode {
	if n.edit == ed {
		return n
	}
	return &listNode{edit: ed, size: n.size, kids: append(make([]listKid, 0, len(n.kids)+1), n.kids...)}
}

// inner returns an inner node of kids, which it keeps.
func (ed listEdit) inner(kids []listKid) *listNode {
	n := &listNode{edit: ed, kids: kids}
	for _, k := range kids {
		n.size += k.size
	}
	return n
}

func listKidsOf(nodes ...*listNode) []listKid {
	kids := make([]listKid, len(nodes))
	for i, n := range nodes {
		kids[i] = listKid{n, n.size}
	}
	return kids
}

// Leaves.

// elem is element i of leaf n.
func (n *listNode) elem(i int) string { return n.data[n.offs[i]:n.offs[i+1]] }

// leafPiece is a part of a new leaf: elements lo to hi-1 of leaf n, or,
// when n is nil, the one element v.
type leafPiece struct {
	n      *listNode
	lo, hi int
	v      string
}

func leafElems(n *listNode, lo, hi int) leafPiece { return leafPiece{n: n, lo: lo, hi: hi} }
func leafOne(v string) leafPiece                  { return leafPiece{v: v} }

// joinLeaf builds a leaf of the pieces, in order; it copies their bytes
// into one new string.
func (ed listEdit) joinLeaf(pieces ...leafPiece) *listNode {
	count, size := 0, 0
	for _, p := range pieces {
		if p.n == nil {
			count++
			size += len(p.v)
		} else {
			count += p.hi - p.lo
			size += int(p.n.offs[p.hi] - p.n.offs[p.lo])
		}
	}
	buf := make([]byte, 0, size)
	offs := make([]uint32, 1, count+1)
	for _, p := range pieces {
		if p.n == nil {
			buf = append(buf, p.v...)
			offs = append(offs, uint32(len(buf)))
			continue
		}
		// Offsets are uint32 arithmetic modulo 2^32: base may wrap, the
		// sums do not (a leaf holds less than 4 GB).
		base := uint32(len(buf)) - p.n.offs[p.lo]
		buf = append(buf, p.n.data[p.n.offs[p.lo]:p.n.offs[p.hi]]...)
		for _, o := range p.n.offs[p.lo+1 : p.hi+1] {
			offs = append(offs, o+base)
		}
	}
	return &listNode{edit: ed, size: count, data: listBytesString(buf), offs: offs}
}

// bytesString views b, which nothing writes again, as a string.
func listBytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// leafOver reports whether a leaf of count elements and size bytes is too
// big and must be split.
func leafOver(count, size int) bool {
	return count > listLeafMax || (count > 1 && size > listLeafBytes)
}

// leafCut is where leaf n, too big, splits: after an element went in at
// pos at either end, that element alone goes to a leaf of its own (pushes
// leave full leaves behind); otherwise in the middle of the elements when
// there are too many, or where the bytes halve, one element at least on
// each side. pos -1 is no position.
func leafCut(n *listNode, pos int) int {
	switch {
	case pos == 0:
		return 1
	case pos == n.size-1:
		return n.size - 1
	case n.size > listLeafMax:
		return n.size / 2
	}
	cut, _ := slices.BinarySearch(n.offs, n.offs[n.size]/2)
	return min(max(cut, 1), n.size-1)
}

// splitLeaf returns leaf n as one leaf, or two when it is too big (pos is
// where an element went in, for leafCut).
func (ed listEdit) splitLeaf(n *listNode, pos int) (*listNode, *listNode) {
	if !leafOver(n.size, len(n.data)) {
		return n, nil
	}
	cut := leafCut(n, pos)
	return ed.joinLeaf(leafElems(n, 0, cut)), ed.joinLeaf(leafElems(n, cut, n.size))
}

// packLeaves packs vals (copied) into leaves, each as full as the limits
// allow; only the last leaf (fromRight: the first) may be partly full.
func (ed listEdit) packLeaves(vals []string, fromRight bool) []*listNode {
	var leaves []*listNode
	take := func(lo, hi int) {
		pieces := make([]leafPiece, hi-lo)
		for i, v := range vals[lo:hi] {
			pieces[i] = leafOne(v)
		}
		leaves = append(leaves, ed.joinLeaf(pieces...))
	}
	if !fromRight {
		for lo := 0; lo < len(vals); {
			hi, size := lo+1, len(vals[lo])
			for hi < len(vals) && !leafOver(hi+1-lo, size+len(vals[hi])) {
				size += len(vals[hi])
				hi++
			}
			take(lo, hi)
			lo = hi
		}
		return leaves
	}
	for hi := len(vals); hi > 0; {
		lo, size := hi-1, len(vals[hi-1])
		for lo > 0 && !leafOver(hi-lo+1, size+len(vals[lo-1])) {
			size += len(vals[lo-1])
			lo--
		}
		take(lo, hi)
		hi = lo
	}
	slices.Reverse(leaves)
	return leaves
}

// The tree.

// child finds the child holding index i of inner node n, and i within it.
func (n *listNode) child(i int) (int, int) {
	j := 0
	for j < len(n.kids)-1 && i >= n.kids[j].size {
		i -= n.kids[j].size
		j++
	}
	return j, i
}

// at returns the element at index i, 0 <= i < n.size.
func (n *listNode) at(i int) string {
	for n.kids != nil {
		var j int
		j, i = n.child(i)
		n = n.kids[j].n
	}
	return n.elem(i)
}

// edge returns the first (left) or last leaf of n.
func (n *listNode) edge(left bool) *listNode {
	for n.kids != nil {
		if left {
			n = n.kids[0].n
		} else {
			n = n.kids[len(n.kids)-1].n
		}
	}
	return n
}

// ascend calls fn for the elements at indices lo to hi-1 in order, until fn
// returns false; it returns false if fn did.
func (n *listNode) ascend(lo, hi int, fn func(string) bool) bool {
	if n.kids == nil {
		for i := lo; i < hi; i++ {
			if !fn(n.elem(i)) {
				return false
			}
		}
		return true
	}
	start := 0
	for _, k := range n.kids {
		end := start + k.size
		if end > lo && start < hi {
			if !k.n.ascend(max(lo-start, 0), min(hi, end)-start, fn) {
				return false
			}
		}
		if end >= hi {
			break
		}
		start = end
	}
	return true
}

// descend calls fn for the elements at indices hi-1 down to lo, until fn
// returns false; it returns false if fn did.
func (n *listNode) descend(lo, hi int, fn func(string) bool) bool {
	if n.kids == nil {
		for i := hi - 1; i >= lo; i-- {
			if !fn(n.elem(i)) {
				return false
			}
		}
		return true
	}
	end := n.size
	for j := len(n.kids) - 1; j >= 0; j-- {
		k := n.kids[j]
		start := end - k.size
		if end > lo && start < hi {
			if !k.n.descend(max(lo-start, 0), min(hi, end)-start, fn) {
				return false
			}
		}
		if start <= lo {
			break
		}
		end = start
	}
	return true
}

// slice returns the elements at indices lo to hi-1.
func (n *listNode) slice(lo, hi int) []string {
	out := make([]string, 0, hi-lo)
	n.ascend(lo, hi, func(v string) bool {
		out = append(out, v)
		return true
	})
	return out
}

// build returns a balanced tree of vals (copied); vals must not be empty.
func (ed listEdit) build(vals []string) *listNode {
	return ed.stack(ed.packLeaves(vals, false))
}

// stack builds the inner levels over leaves, in even groups.
func (ed listEdit) stack(nodes []*listNode) *listNode {
	for len(nodes) > 1 {
		up := make([]*listNode, 0, (len(nodes)+listFanout-1)/listFanout)
		for _, part := range listEvenParts(len(nodes), listFanout) {
			up = append(up, ed.inner(listKidsOf(nodes[part[0]:part[1]]...)))
		}
		nodes = up
	}
	return nodes[0]
}

// evenParts cuts n items into the fewest runs of at most size items, of
// lengths that differ by one at most.
func listEvenParts(n, size int) [][2]int {
	parts := (n + size - 1) / size
	out := make([][2]int, parts)
	start := 0
	for p := range out {
		l := n / parts
		if p < n%parts {
			l++
		}
		out[p] = [2]int{start, start + l}
		start += l
	}
	return out
}

// leafAt returns the leaf holding index i of n, and i within it.
func (n *listNode) leafAt(i int) (*listNode, int) {
	for n.kids != nil {
		var j int
		j, i = n.child(i)
		n = n.kids[j].n
	}
	return n, i
}

// set returns root with the element at index i replaced by v.
func (ed listEdit) set(root *listNode, i int, v string) *listNode {
	leaf, off := root.leafAt(i)
	if leafOver(leaf.size, len(leaf.data)-len(leaf.elem(off))+len(v)) {
		// The leaf would be too big: a removal and an insertion, which
		// splits it.
		return ed.insertAt(ed.removeRange(root, i, i+1), i, v)
	}
	return ed.setIn(root, i, v)
}

func (ed listEdit) setIn(n *listNode, i int, v string) *listNode {
	if n.kids == nil {
		return ed.joinLeaf(leafElems(n, 0, i), leafOne(v), leafElems(n, i+1, n.size))
	}
	j, off := n.child(i)
	m := ed.mut(n)
	m.kids[j].n = ed.setIn(m.kids[j].n, off, v)
	return m
}

// insertAt returns root (nil: an empty list) with v inserted before index
// i, 0 <= i <= size (i == size appends).
func (ed listEdit) insertAt(root *listNode, i int, v string) *listNode {
	if root == nil {
		return ed.joinLeaf(leafOne(v))
	}
	l, r := ed.insert(root, i, v)
	if r == nil {
		return l
	}
	return ed.inner(listKidsOf(l, r))
}

// push returns root (nil: an empty list) with vals pushed one by one at
// the head (left) or the tail, as LPUSH and RPUSH do.
func (ed listEdit) push(root *listNode, left bool, vals ...string) *listNode {
	if len(vals) == 1 {
		if left || root == nil {
			return ed.insertAt(root, 0, vals[0])
		}
		return ed.insertAt(root, root.size, vals[0])
	}
	// Many: the leaf at that end and the new elements are packed into new
	// leaves, which are added to the tree whole.
	items := make([]string, 0, len(vals)+listLeafMax)
	var edge *listNode
	if root != nil {
		edge = root.edge(left)
	}
	if left {
		for i := len(vals) - 1; i >= 0; i-- {
			items = append(items, vals[i])
		}
		if edge != nil {
			items = append(items, edge.slice(0, edge.size)...)
			root = ed.removeRange(root, 0, edge.size)
		}
	} else {
		if edge != nil {
			items = append(items, edge.slice(0, edge.size)...)
			root = ed.removeRange(root, root.size-edge.size, root.size)
		}
		items = append(items, vals...)
	}
	leaves := ed.packLeaves(items, left)
	if root == nil {
		return ed.stack(leaves)
	}
	if left {
		for i := len(leaves) - 1; i >= 0; i-- {
			root = ed.addLeafRoot(root, true, leaves[i])
		}
	} else {
		for _, leaf := range leaves {
			root = ed.addLeafRoot(root, false, leaf)
		}
	}
	return root
}

// addLeafRoot returns root with leaf x added at the head (left) or the
// tail.
func (ed listEdit) addLeafRoot(root *listNode, left bool, x *listNode) *listNode {
	l, r := ed.addLeaf(root, left, x)
	if r == nil {
		return l
	}
	return ed.inner(listKidsOf(l, r))
}

// addLeaf adds leaf x at the head or the tail of n, a node of the tree;
// when n overflows it is split, and the right half is returned too.
func (ed listEdit) addLeaf(n *listNode, left bool, x *listNode) (*listNode, *listNode) {
	if n.kids == nil {
		if left {
			return x, n
		}
		return n, x
	}
	m := ed.mut(n)
	m.size += x.size
	j := 0
	if !left {
		j = len(m.kids) - 1
	}
	kid, right := ed.addLeaf(m.kids[j].n, left, x)
	m.kids[j] = listKid{kid, kid.size}
	if right == nil {
		return m, nil
	}
	m.kids = slices.Insert(m.kids, j+1, listKid{right, right.size})
	if left {
		return ed.splitInner(m, -1)
	}
	return ed.splitInner(m, 1)
}

// insert inserts v before index i of n; when n overflows it is split, and
// the right half is returned too.
func (ed listEdit) insert(n *listNode, i int, v string) (*listNode, *listNode) {
	if n.kids == nil {
		return ed.splitLeaf(ed.joinLeaf(leafElems(n, 0, i), leafOne(v), leafElems(n, i, n.size)), i)
	}
	end := 0 // where the element goes: -1 at the head, 1 at the tail
	switch i {
	case 0:
		end = -1
	case n.size:
		end = 1
	}
	m := ed.mut(n)
	m.size++
	// i == kids[j].size appends to child j: an append to the list goes to
	// the last leaf, not to a new one.
	j := 0
	for j < len(m.kids)-1 && i > m.kids[j].size {
		i -= m.kids[j].size
		j++
	}
	kid, right := ed.insert(m.kids[j].n, i, v)
	m.kids[j] = listKid{kid, kid.size}
	if right == nil {
		return m, nil
	}
	m.kids = slices.Insert(m.kids, j+1, listKid{right, right.size})
	return ed.splitInner(m, end)
}

// splitInner splits inner node m, which ed owns, if it has too many
// children since elements went in at its head (end -1), its tail (1) or
// elsewhere (0): the new first or last child alone goes to a node of its
// own at an end, so that pushes leave full nodes behind; the children are
// halved otherwise.
func (ed listEdit) splitInner(m *listNode, end int) (*listNode, *listNode) {
	n := len(m.kids)
	if n <= listFanout {
		return m, nil
	}
	cut := n / 2
	switch end {
	case -1:
		cut = 1
	case 1:
		cut = n - 1
	}
	r := ed.inner(slices.Clone(m.kids[cut:]))
	m.kids = slices.Clone(m.kids[:cut])
	m.size -= r.size
	return m, r
}

// removeRange returns root without the elements at indices lo to hi-1
// (0 <= lo < hi <= size), or nil if none is left.
func (ed listEdit) removeRange(root *listNode, lo, hi int) *listNode {
	n := ed.remove(root, lo, hi)
	for n != nil && n.kids != nil && len(n.kids) == 1 {
		n = n.kids[0].n
	}
	return n
}

// remove is removeRange within one node; the result may be small.
func (ed listEdit) remove(n *listNode, lo, hi int) *listNode {
	if lo == 0 && hi == n.size {
		return nil
	}
	if n.kids == nil {
		return ed.joinLeaf(leafElems(n, 0, lo), leafElems(n, hi, n.size))
	}
	m := ed.mut(n)
	m.size -= hi - lo
	var touched [2]int
	nt := 0
	out := 0
	start := 0
	for _, k := range m.kids {
		end := start + k.size
		if end > lo && start < hi {
			k.n = ed.remove(k.n, max(lo-start, 0), min(hi, end)-start)
		}
		start = end
		if k.n == nil {
			continue
		}
		if k.n.size != k.size && nt < len(touched) {
			touched[nt] = out
			nt++
		}
		m.kids[out] = listKid{k.n, k.n.size}
		out++
	}
	clear(m.kids[out:])
	m.kids = m.kids[:out]
	for t := nt - 1; t >= 0; t-- {
		ed.rebalance(m, touched[t])
	}
	return m
}

// small reports whether a node is under its minimum fill.
func (n *listNode) small() bool {
	if n.kids == nil {
		return n.size < listLeafMin && len(n.data) < listLeafBytes/4
	}
	return len(n.kids) < listFanMin
}

// rebalance merges child j of m, if it is small, with a neighbour, or
// shares the neighbour's items with it when both do not fit in one node.
func (ed listEdit) rebalance(m *listNode, j int) {
	if j >= len(m.kids) || len(m.kids) < 2 || !m.kids[j].n.small() {
		return
	}
	if j == len(m.kids)-1 {
		j--
	}
	ed.rebalancePair(m, j)
}

// rebalancePair merges children j and j+1 of m (which ed owns) when one of
// them is small and they fit in one node, or shares their items evenly.
// Two inner nodes merged bring their facing children side by side, both
// perhaps small (a range removal leaves small nodes down both edges): they
// are rebalanced in turn, down to the leaves.
func (ed listEdit) rebalancePair(m *listNode, j int) {
	a, b := m.kids[j].n, m.kids[j+1].n
	if !a.small() && !b.small() {
		return
	}
	if a.kids == nil {
		both := ed.joinLeaf(leafElems(a, 0, a.size), leafElems(b, 0, b.size))
		if !leafOver(both.size, len(both.data)) {
			m.kids[j] = listKid{both, both.size}
			m.kids = slices.Delete(m.kids, j+1, j+2)
			return
		}
		cut := leafCut(both, -1)
		a, b = ed.joinLeaf(leafElems(both, 0, cut)), ed.joinLeaf(leafElems(both, cut, both.size))
	} else {
		a = ed.mut(a)
		seam := len(a.kids) - 1
		all := append(a.kids, b.kids...)
		if len(all) <= listFanout {
			a.kids, a.size = all, a.size+b.size
			ed.rebalancePair(a, seam)
			m.kids[j] = listKid{a, a.size}
			m.kids = slices.Delete(m.kids, j+1, j+2)
			return
		}
		cut := len(all) / 2
		b = ed.inner(slices.Clone(all[cut:]))
		a.kids = slices.Clone(all[:cut])
		a.size -= b.size - m.kids[j+1].size // what moved from a to b
	}
	m.kids[j] = listKid{a, a.size}
	m.kids[j+1] = listKid{b, b.size}
}

// The commands.

// listOf is the list of a TypeList item.
func listOf(it item) *listNode { return it.object().(*listNode) }

// listRead looks key up for a read: its list, nil if missing, or the
// WRONGTYPE error.
func listRead(c *readCtx, key []byte) (*listNode, bool) {
	it, ok := c.keyLookup(key)
	if !ok {
		return nil, true
	}
	if it.typ != TypeList {
		return nil, false
	}
	return listOf(it), true
}

// listWrite looks key up for a write, as listRead does.
func listWrite(c *applyCtx, key []byte) (*listNode, item, bool) {
	it, ok := c.live(key)
	if !ok {
		return nil, item{}, true
	}
	if it.typ != TypeList {
		return nil, item{}, false
	}
	return listOf(it), it, true
}

// listStore stores root under key with expiry exp, or removes key when the
// list is empty.
func listStore(c *applyCtx, key []byte, root *listNode, exp int64) {
	if root == nil || root.size == 0 {
		c.ks.remove(key)
		return
	}
	c.ks.set(newObject(bstr(key), root, exp))
}

// listIndexOf turns a Redis index (negative from the end) into a position,
// reporting whether it is within a list of n elements.
func listIndexOf(i int64, n int) (int, bool) {
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

// listSpan turns LRANGE's and LTRIM's start and stop into the positions
// lo to hi-1 of a list of n elements, as Redis computes them; lo == hi is
// empty.
func listSpan(start, stop int64, n int) (int, int) {
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

// LLEN key
func listLen(c *readCtx, argv [][]byte) Reply {
	l, ok := listRead(c, argv[1])
	if !ok {
		return wrongType
	}
	if l == nil {
		return Int(0)
	}
	return Int(int64(l.size))
}

// LRANGE key start stop
func listRange(c *readCtx, argv [][]byte) Reply {
	start, stop, err := schema.ParseRange(argv)
	if err != nil {
		return Error(err)
	}
	l, ok := listRead(c, argv[1])
	if !ok {
		return wrongType
	}
	if l == nil {
		return Array()
	}
	lo, hi := listSpan(start, stop, l.size)
	out := make([]Reply, 0, hi-lo)
	l.ascend(lo, hi, func(v string) bool {
		out = append(out, Bulk(v))
		return true
	})
	return Array(out...)
}

// LINDEX key index: as Redis, the key is looked up before the index is
// parsed.
func listIndex(c *readCtx, argv [][]byte) Reply {
	l, ok := listRead(c, argv[1])
	if !ok {
		return wrongType
	}
	if l == nil {
		return Null
	}
	i, ok := schema.ParseInt(argv[2])
	if !ok {
		return Error(schema.ErrNotInteger)
	}
	pos, ok := listIndexOf(i, l.size)
	if !ok {
		return Null
	}
	return Bulk(l.at(pos))
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
func listPos(c *readCtx, argv [][]byte) Reply {
	o, err := schema.ParseListPos(argv)
	if err != nil {
		return Error(err)
	}
	l, ok := listRead(c, argv[1])
	if !ok {
		return wrongType
	}
	if l == nil {
		if o.Count != -1 {
			return Array()
		}
		return Null
	}
	elem := bstr(argv[2])
	rank, fromTail := o.Rank, o.Rank < 0
	if fromTail {
		rank = -rank
	}
	var matches, seen int64
	var found []Reply
	pos := -1
	visit := func(v string) bool {
		if o.MaxLen != 0 && seen >= o.MaxLen {
			return false
		}
		seen++
		if v != elem {
			return true
		}
		matches++
		if matches < rank {
			return true
		}
		idx := int(seen - 1)
		if fromTail {
			idx = l.size - 1 - idx
		}
		if o.Count == -1 {
			pos = idx
			return false
		}
		found = append(found, Int(int64(idx)))
		return o.Count == 0 || int64(len(found)) < o.Count
	}
	if fromTail {
		l.descend(0, l.size, visit)
	} else {
		l.ascend(0, l.size, visit)
	}
	if o.Count != -1 {
		return Array(found...)
	}
	if pos < 0 {
		return Null
	}
	return Int(int64(pos))
}

// LPUSH, RPUSH, LPUSHX, RPUSHX key element [element ...]: the new length.
// The X forms push only onto an existing list (0 otherwise). The TTL is
// kept.
func listPush(c *applyCtx, argv [][]byte, left, existing bool) Reply {
	l, it, ok := listWrite(c, argv[1])
	if !ok {
		return wrongType
	}
	if l == nil && existing {
		return Int(0)
	}
	vals := make([]string, len(argv)-2)
	for i, e := range argv[2:] {
		vals[i] = bstr(e) // the leaves copy them
	}
	l = newListEdit().push(l, left, vals...)
	listStore(c, argv[1], l, it.exp)
	return Int(int64(l.size))
}

// listTake removes up to count elements from one end of l (count >= 1)
// and returns them in the order they were popped, and what is left.
func listTake(ed listEdit, l *listNode, left bool, count int64) ([]string, *listNode) {
	n := int(min(count, int64(l.size)))
	var out []string
	if left {
		out = l.slice(0, n)
		l = ed.removeRange(l, 0, n)
	} else {
		out = l.slice(l.size-n, l.size)
		slices.Reverse(out)
		l = ed.removeRange(l, l.size-n, l.size)
	}
	return out, l
}

func listBulks(vals []string) []Reply {
	out := make([]Reply, len(vals))
	for i, v := range vals {
		out[i] = Bulk(v)
	}
	return out
}

// LPOP, RPOP key [count]: one element (null if missing), or with a count
// an array of up to count elements (a null array if missing).
func listPop(c *applyCtx, argv [][]byte, left bool) Reply {
	count, hasCount, err := schema.ParseListPopCount(argv)
	if err != nil {
		return Error(err)
	}
	l, it, ok := listWrite(c, argv[1])
	switch {
	case !ok:
		return wrongType
	case l == nil && hasCount:
		return NullArray
	case l == nil:
		return Null
	case hasCount && count == 0:
		return Array()
	}
	if !hasCount {
		count = 1
	}
	vals, rest := listTake(newListEdit(), l, left, count)
	listStore(c, argv[1], rest, it.exp)
	if !hasCount {
		return Bulk(vals[0])
	}
	return Array(listBulks(vals)...)
}

// LSET key index element
func listSet(c *applyCtx, argv [][]byte) Reply {
	i, err := schema.ParseListIndex(argv)
	if err != nil {
		return Error(err)
	}
	l, it, ok := listWrite(c, argv[1])
	switch {
	case !ok:
		return wrongType
	case l == nil:
		return Error(schema.ErrNoSuchKey)
	}
	pos, ok := listIndexOf(i, l.size)
	if !ok {
		return Error(schema.ErrListIndexRange)
	}
	listStore(c, argv[1], newListEdit().set(l, pos, bstr(argv[3])), it.exp)
	return OK
}

// LINSERT key BEFORE|AFTER pivot element: the new length, -1 if the pivot
// is not found, 0 if the key is missing.
func listInsert(c *applyCtx, argv [][]byte) Reply {
	before, err := schema.ParseListInsert(argv)
	if err != nil {
		return Error(err)
	}
	l, it, ok := listWrite(c, argv[1])
	switch {
	case !ok:
		return wrongType
	case l == nil:
		return Int(0)
	}
	pivot, at := bstr(argv[3]), -1
	i := 0
	l.ascend(0, l.size, func(v string) bool {
		if v == pivot {
			at = i
			return false
		}
		i++
		return true
	})
	if at < 0 {
		return Int(-1)
	}
	if !before {
		at++
	}
	l = newListEdit().insertAt(l, at, bstr(argv[4]))
	listStore(c, argv[1], l, it.exp)
	return Int(int64(l.size))
}

// LREM key count element: removes the first count matches (count > 0),
// the last -count (count < 0) or all (0); the number removed.
func listRem(c *applyCtx, argv [][]byte) Reply {
	count, err := schema.ParseListIndex(argv)
	if err != nil {
		return Error(err)
	}
	l, it, ok := listWrite(c, argv[1])
	switch {
	case !ok:
		return wrongType
	case l == nil:
		return Int(0)
	}
	elem := bstr(argv[3])
	limit := count
	if limit < 0 {
		limit = -limit // -MinInt64 stays negative: no limit, as in Redis
	}
	var hits []int // indices of the matches, in the order found
	visit := func(i, step int) func(string) bool {
		return func(v string) bool {
			if v == elem {
				hits = append(hits, i)
				if limit > 0 && int64(len(hits)) == limit {
					return false
				}
			}
			i += step
			return true
		}
	}
	if count < 0 {
		l.descend(0, l.size, visit(l.size-1, -1))
	} else {
		l.ascend(0, l.size, visit(0, 1))
	}
	if len(hits) == 0 {
		return Int(0)
	}
	ed := newListEdit()
	if len(hits) > l.size/8 {
		// Many matches: one pass that keeps the others.
		slices.Sort(hits)
		keep := make([]string, 0, l.size-len(hits))
		i, h := 0, 0
		l.ascend(0, l.size, func(v string) bool {
			if h < len(hits) && hits[h] == i {
				h++
			} else {
				keep = append(keep, v)
			}
			i++
			return true
		})
		l = nil
		if len(keep) > 0 {
			l = ed.build(keep)
		}
	} else {
		// From the last index down, so the others do not move.
		slices.Sort(hits)
		for k := len(hits) - 1; k >= 0; k-- {
			l = ed.removeRange(l, hits[k], hits[k]+1)
		}
	}
	listStore(c, argv[1], l, it.exp)
	return Int(int64(len(hits)))
}

// LTRIM key start stop: keeps the elements from start to stop.
func listTrim(c *applyCtx, argv [][]byte) Reply {
	start, stop, err := schema.ParseRange(argv)
	if err != nil {
		return Error(err)
	}
	l, it, ok := listWrite(c, argv[1])
	switch {
	case !ok:
		return wrongType
	case l == nil:
		return OK
	}
	lo, hi := listSpan(start, stop, l.size)
	if lo == 0 && hi == l.size {
		return OK
	}
	if lo == hi {
		c.ks.remove(argv[1])
		return OK
	}
	ed := newListEdit()
	if hi < l.size {
		l = ed.removeRange(l, hi, l.size)
	}
	if lo > 0 {
		l = ed.removeRange(l, 0, lo)
	}
	listStore(c, argv[1], l, it.exp)
	return OK
}

// LMOVE and BLMOVE source destination LEFT|RIGHT LEFT|RIGHT [timeout]
func listMoveCmd(c *applyCtx, argv [][]byte) Reply {
	fromLeft, toLeft, err := schema.ParseListMove(argv)
	if err != nil {
		return Error(err)
	}
	return listMove(c, argv[1], argv[2], fromLeft, toLeft)
}

// listMove pops an element from one end of src and pushes it onto dst:
// the element, or null if src is missing. The lists keep their TTLs; src
// may be dst (a rotation).
func listMove(c *applyCtx, src, dst []byte, fromLeft, toLeft bool) Reply {
	sl, sit, ok := listWrite(c, src)
	switch {
	case !ok:
		return wrongType
	case sl == nil:
		return Null
	}
	same := bytes.Equal(src, dst)
	var dl *listNode
	var dit item
	if !same {
		if dl, dit, ok = listWrite(c, dst); !ok {
			return wrongType
		}
	}
	ed := newListEdit()
	vals, rest := listTake(ed, sl, fromLeft, 1)
	v := vals[0]
	if same {
		listStore(c, src, ed.push(rest, toLeft, v), sit.exp)
		return Bulk(v)
	}
	listStore(c, src, rest, sit.exp)
	listStore(c, dst, ed.push(dl, toLeft, v), dit.exp)
	return Bulk(v)
}

// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count], and BLMPOP
// timeout numkeys ...: [key, [elements]] from the first non-empty list, or
// a null array.
func listMPop(c *applyCtx, argv [][]byte) Reply {
	m, err := schema.ParseListMPop(argv)
	if err != nil {
		return Error(err)
	}
	for _, key := range m.Keys {
		l, it, ok := listWrite(c, key)
		if !ok {
			return wrongType
		}
		if l == nil {
			continue
		}
		vals, rest := listTake(newListEdit(), l, m.Left, m.Count)
		listStore(c, key, rest, it.exp)
		return Array(BulkBytes(key), Array(listBulks(vals)...))
	}
	return NullArray
}

// BLPOP, BRPOP key [key ...] timeout: [key, element] from the first
// non-empty list, or a null array.
func listBPop(c *applyCtx, argv [][]byte, left bool) Reply {
	for _, key := range argv[1 : len(argv)-1] {
		l, it, ok := listWrite(c, key)
		if !ok {
			return wrongType
		}
		if l == nil {
			continue
		}
		vals, rest := listTake(newListEdit(), l, left, 1)
		listStore(c, key, rest, it.exp)
		return Array(BulkBytes(key), Bulk(vals[0]))
	}
	return NullArray
}
