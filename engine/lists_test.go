package engine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// listCheck verifies the tree's invariants: counts, equal leaf depth,
// node bounds, no empty node; it returns the height.
func listCheck(t *testing.T, n *listNode, root bool) int {
	t.Helper()
	if n.kids == nil {
		if len(n.offs) != n.size+1 || n.size == 0 || n.size > listLeafMax || n.offs[0] != 0 || int(n.offs[n.size]) != len(n.data) {
			t.Fatalf("leaf: size %d, %d offsets, %d bytes", n.size, len(n.offs), len(n.data))
		}
		for i := 1; i < len(n.offs); i++ {
			if n.offs[i] < n.offs[i-1] {
				t.Fatalf("leaf: offsets %v", n.offs)
			}
		}
		return 1
	}
	if len(n.kids) > listFanout || (root && len(n.kids) < 2) || len(n.kids) == 0 {
		t.Fatalf("inner: %d kids (root %v)", len(n.kids), root)
	}
	sum, h := 0, -1
	for i, k := range n.kids {
		if k.size != k.n.size {
			t.Fatalf("inner: kids[%d].size = %d, kid size %d", i, k.size, k.n.size)
		}
		sum += k.size
		kh := listCheck(t, k.n, false)
		if h >= 0 && kh != h {
			t.Fatalf("leaves at depths %d and %d", h, kh)
		}
		h = kh
	}
	if sum != n.size {
		t.Fatalf("inner: size %d, kids hold %d", n.size, sum)
	}
	return h + 1
}

func listItems(n *listNode) []string {
	if n == nil {
		return nil
	}
	return n.slice(0, n.size)
}

// TestListTreeModel runs random operations on the tree and on a plain
// slice, and checks after each that they agree, that the invariants hold,
// and that every earlier version kept is unchanged (copy-on-write).
func TestListTreeModel(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*7))
			var root *listNode
			var model []string
			type version struct {
				root  *listNode
				items []string
			}
			var kept []version
			next := 0
			val := func() string {
				next++
				switch rng.IntN(20) {
				case 0:
					return "" // leaves of empty elements have no bytes
				case 1:
					// Big elements: leaves bounded by bytes, not count.
					return fmt.Sprint(next) + strings.Repeat("b", rng.IntN(3*listLeafBytes))
				}
				return fmt.Sprint("v", next)
			}
			for step := range 2500 {
				ed := newListEdit()
				// Several operations per edit, as one command does.
				for range 1 + rng.IntN(4) {
					n := len(model)
					switch op := rng.IntN(100); {
					case op < 25: // push at either end
						v := val()
						left := rng.IntN(2) == 0
						root = ed.push(root, left, v)
						if left {
							model = slices.Insert(model, 0, v)
						} else {
							model = append(model, v)
						}
					case op < 32: // push many at either end
						vals := make([]string, 1+rng.IntN(300))
						for i := range vals {
							vals[i] = val()
						}
						left := rng.IntN(2) == 0
						root = ed.push(root, left, vals...)
						if left {
							for _, v := range vals {
								model = slices.Insert(model, 0, v)
							}
						} else {
							model = append(model, vals...)
						}
					case op < 45: // insert anywhere
						i := rng.IntN(n + 1)
						v := val()
						root = ed.insertAt(root, i, v)
						model = slices.Insert(model, i, v)
					case op < 60 && n > 0: // set
						i := rng.IntN(n)
						v := val()
						root = ed.set(root, i, v)
						model[i] = v
					case op < 85 && n > 0: // remove a small range
						lo := rng.IntN(n)
						hi := lo + 1 + rng.IntN(min(n-lo, 1+rng.IntN(80)))
						root = ed.removeRange(root, lo, hi)
						model = slices.Delete(model, lo, hi)
					case op < 88 && n > 0: // remove a big range
						lo := rng.IntN(n)
						hi := lo + 1 + rng.IntN(n-lo)
						root = ed.removeRange(root, lo, hi)
						model = slices.Delete(model, lo, hi)
					case op < 90: // bulk build
						k := 1 + rng.IntN(3000)
						vals := make([]string, k)
						for i := range vals {
							vals[i] = val()
						}
						model = slices.Clone(vals)
						root = ed.build(vals)
					default: // pops from the ends
						if n > 0 {
							c := 1 + rng.IntN(min(n, 100))
							if rng.IntN(2) == 0 {
								root = ed.removeRange(root, 0, c)
								model = model[c:]
							} else {
								root = ed.removeRange(root, n-c, n)
								model = model[:n-c]
							}
						}
					}
					if len(model) == 0 {
						root = nil
					}
				}
				if root == nil {
					if len(model) != 0 {
						t.Fatalf("step %d: tree empty, model has %d", step, len(model))
					}
				} else {
					listCheck(t, root, true)
					if got := listItems(root); !slices.Equal(got, model) {
						t.Fatalf("step %d: tree %d items, model %d", step, len(got), len(model))
					}
					for i := 0; i < 5 && len(model) > 0; i++ {
						j := rng.IntN(len(model))
						if root.at(j) != model[j] {
							t.Fatalf("step %d: at(%d) = %q, want %q", step, j, root.at(j), model[j])
						}
					}
				}
				if step%50 == 0 {
					kept = append(kept, version{root, slices.Clone(model)})
				}
			}
			for i, v := range kept {
				if got := listItems(v.root); !slices.Equal(got, v.items) {
					t.Fatalf("kept version %d changed: %d items, want %d", i, len(got), len(v.items))
				}
			}
		})
	}
}

// TestListTreeFill checks that pushes leave full leaves and a shallow
// tree, and that removals keep it shallow.
func TestListTreeFill(t *testing.T) {
	for _, left := range []bool{false, true} {
		var root *listNode
		for i := range 100_000 {
			root = newListEdit().push(root, left, fmt.Sprint(i))
		}
		h := listCheck(t, root, true)
		leaves, inner := 0, 0
		var walk func(n *listNode)
		walk = func(n *listNode) {
			if n.kids == nil {
				leaves++
				return
			}
			inner++
			for _, k := range n.kids {
				walk(k.n)
			}
		}
		walk(root)
		// Full leaves and full inner nodes, but along the spine at the end
		// the pushes went to.
		minLeaves := (100_000 + listLeafMax - 1) / listLeafMax
		minInner := (minLeaves+listFanout-1)/listFanout + 1
		if leaves > minLeaves+1 || inner > minInner+h || h > 4 {
			t.Errorf("left %v: %d leaves (min %d), %d inner nodes (min %d), height %d",
				left, leaves, minLeaves, inner, minInner, h)
		}
		root = newListEdit().removeRange(root, 10, 99_990)
		if h := listCheck(t, root, true); h > 2 || root.size != 20 {
			t.Errorf("after removal: height %d size %d", h, root.size)
		}
	}
}

func TestListEncodeRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 64, 65, 1000, 5000} {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = strings.Repeat("x", i%7) + fmt.Sprint(i)
		}
		vals[0] = ""
		a := newListEdit().build(slices.Clone(vals))
		// The same contents built another way encode the same.
		var b *listNode
		for i := n - 1; i >= 0; i-- {
			b = newListEdit().push(b, true, vals[i])
		}
		ea, eb := a.Encode(nil), b.Encode(nil)
		if !bytes.Equal(ea, eb) {
			t.Fatalf("n=%d: encodings differ", n)
		}
		if ea[0] != listEncodingVersion {
			t.Fatalf("version byte %d", ea[0])
		}
		obj, err := decodeObject(TypeList, ea)
		if err != nil {
			t.Fatal(err)
		}
		l := obj.(*listNode)
		listCheck(t, l, true)
		if !slices.Equal(listItems(l), vals) || l.Type() != TypeList || l.Len() != n {
			t.Fatalf("n=%d: round trip differs", n)
		}
	}
	for _, bad := range [][]byte{nil, {}, {2, 1, 0}, {1}, {1, 0}, {1, 2, 0}, {1, 1, 5, 'a'}, {1, 1, 0, 0}, {1, 0xff}, {1, 1, 0x81, 0x00, 'a'}} {
		if _, err := decodeList(bad); err == nil {
			t.Errorf("decodeList(%v) accepted", bad)
		}
	}
}

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte{1, 1, 1, 'a'})
	f.Add(newListEdit().build([]string{"a", "", "ccc"}).Encode(nil))
	vals := make([]string, 200)
	for i := range vals {
		vals[i] = fmt.Sprint(i)
	}
	f.Add(newListEdit().build(vals).Encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		obj, err := decodeList(b)
		if err != nil {
			return
		}
		l := obj.(*listNode)
		listCheck(t, l, true)
		if !bytes.Equal(l.Encode(nil), b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// lBad, lOK: the list tests use the keys tests' runner.
var lOK, lBad = kOK, kBad

const lWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value"

func TestListCommands(t *testing.T) {
	s, bad := lOK, lBad
	tests := []struct {
		name  string
		steps []kStep
	}{
		{"push and range", []kStep{
			s("LPUSH l a", ":1"),
			s("LPUSH l b c", ":3"),
			s("RPUSH l x y", ":5"),
			s("LRANGE l 0 -1", `["c" "b" "a" "x" "y"]`),
			s("LLEN l", ":5"),
			s("TYPE l", "+list"),
			s("LRANGE l 1 2", `["b" "a"]`),
			s("LRANGE l -2 -1", `["x" "y"]`),
			s("LRANGE l -100 100", `["c" "b" "a" "x" "y"]`),
			s("LRANGE l 3 1", "[]"),
			s("LRANGE l 5 10", "[]"),
			s("LRANGE l -1 -2", "[]"),
			s("LRANGE l -9223372036854775808 9223372036854775807", `["c" "b" "a" "x" "y"]`),
			s("LRANGE nokey 0 -1", "[]"),
			s("LLEN nokey", ":0"),
			s(`RPUSH e ""`, ":1"),
			s("LRANGE e 0 -1", `[""]`),
			bad("LRANGE l a 1", kErrNotInt),
			bad("LRANGE l 0 1.5", kErrNotInt),
			bad("LPUSH l", kArity("lpush")),
			bad("RPUSH", kArity("rpush")),
			bad("LRANGE l 0", kArity("lrange")),
			bad("LLEN", kArity("llen")),
		}},
		{"pushx", []kStep{
			s("LPUSHX l a b", ":0"),
			s("RPUSHX l a b", ":0"),
			s("EXISTS l", ":0"),
			s("RPUSH l m", ":1"),
			s("LPUSHX l a b", ":3"),
			s("RPUSHX l y z", ":5"),
			s("LRANGE l 0 -1", `["b" "a" "m" "y" "z"]`),
			bad("LPUSHX l", kArity("lpushx")),
		}},
		{"pop", []kStep{
			s("RPUSH l a b c d e", ":5"),
			s("LPOP l", `"a"`),
			s("RPOP l", `"e"`),
			s("LPOP l 2", `["b" "c"]`),
			s("LPOP l 0", "[]"),
			s("RPOP l 5", `["d"]`),
			s("EXISTS l", ":0"),
			s("LPOP l", "(nil)"),
			s("LPOP l 0", "(nil)"),
			s("RPOP l 3", "(nil)"),
			s("RPUSH l a b c", ":3"),
			s("RPOP l 2", `["c" "b"]`),
			s("LLEN l", ":1"),
			bad("LPOP l -1", "-ERR value is out of range, must be positive"),
			bad("LPOP l x", "-ERR value is out of range, must be positive"),
			bad("RPOP l 1 2", kArity("rpop")),
			bad("LPOP", kArity("lpop")),
		}},
		{"index and set", []kStep{
			s("RPUSH l a b c", ":3"),
			s("LINDEX l 0", `"a"`),
			s("LINDEX l -1", `"c"`),
			s("LINDEX l -3", `"a"`),
			s("LINDEX l 3", "(nil)"),
			s("LINDEX l -4", "(nil)"),
			s("LINDEX l x", kErrNotInt),
			s("LINDEX nokey x", "(nil)"),
			s("LSET l 1 B", "+OK"),
			s("LSET l -1 C", "+OK"),
			s("LRANGE l 0 -1", `["a" "B" "C"]`),
			s("LSET l 3 x", "-ERR index out of range"),
			s("LSET l -4 x", "-ERR index out of range"),
			s("LSET nokey 0 x", "-ERR no such key"),
			bad("LSET l x y", kErrNotInt),
			bad("LINDEX l", kArity("lindex")),
			bad("LSET l 0", kArity("lset")),
		}},
		{"insert", []kStep{
			s("RPUSH l a b c", ":3"),
			s("LINSERT l BEFORE b x", ":4"),
			s("LINSERT l after c y", ":5"),
			s("LINSERT l before a z", ":6"),
			s("LRANGE l 0 -1", `["z" "a" "x" "b" "c" "y"]`),
			s("LINSERT l before nope q", ":-1"),
			s("LINSERT nokey before a q", ":0"),
			s("EXISTS nokey", ":0"),
			s("RPUSH d a a", ":2"),
			s("LINSERT d AFTER a m", ":3"),
			s("LRANGE d 0 -1", `["a" "m" "a"]`),
			bad("LINSERT l middle a q", kErrSyntax),
			bad("LINSERT l before a", kArity("linsert")),
		}},
		{"rem", []kStep{
			s("RPUSH l a b a c a b", ":6"),
			s("LREM l 1 a", ":1"),
			s("LRANGE l 0 -1", `["b" "a" "c" "a" "b"]`),
			s("LREM l -1 b", ":1"),
			s("LRANGE l 0 -1", `["b" "a" "c" "a"]`),
			s("LREM l 0 a", ":2"),
			s("LRANGE l 0 -1", `["b" "c"]`),
			s("LREM l 0 zz", ":0"),
			s("LREM nokey 0 a", ":0"),
			s("LREM l -9223372036854775808 b", ":1"),
			s("LREM l 5 c", ":1"),
			s("EXISTS l", ":0"),
			bad("LREM l x a", kErrNotInt),
			bad("LREM l 1", kArity("lrem")),
		}},
		{"trim", []kStep{
			s("RPUSH l a b c d e", ":5"),
			s("LTRIM l 1 -2", "+OK"),
			s("LRANGE l 0 -1", `["b" "c" "d"]`),
			s("LTRIM l 0 100", "+OK"),
			s("LRANGE l 0 -1", `["b" "c" "d"]`),
			s("LTRIM l -1 -1", "+OK"),
			s("LRANGE l 0 -1", `["d"]`),
			s("LTRIM l 1 0", "+OK"),
			s("EXISTS l", ":0"),
			s("LTRIM nokey 0 1", "+OK"),
			s("RPUSH m a b", ":2"),
			s("LTRIM m 5 10", "+OK"),
			s("EXISTS m", ":0"),
			bad("LTRIM l a 1", kErrNotInt),
		}},
		{"pos", []kStep{
			s("RPUSH l a b c a b c a", ":7"),
			s("LPOS l a", ":0"),
			s("LPOS l c", ":2"),
			s("LPOS l z", "(nil)"),
			s("LPOS l a RANK 2", ":3"),
			s("LPOS l a RANK -1", ":6"),
			s("LPOS l a RANK -2", ":3"),
			s("LPOS l a RANK 4", "(nil)"),
			s("LPOS l a COUNT 0", "[:0 :3 :6]"),
			s("LPOS l a COUNT 2", "[:0 :3]"),
			s("LPOS l a COUNT 2 RANK -1", "[:6 :3]"),
			s("LPOS l a RANK 2 COUNT 0", "[:3 :6]"),
			s("LPOS l a COUNT 0 MAXLEN 4", "[:0 :3]"),
			s("LPOS l a RANK -1 MAXLEN 1", ":6"),
			s("LPOS l a RANK -1 MAXLEN 1 COUNT 0", "[:6]"),
			s("LPOS l c MAXLEN 2", "(nil)"),
			s("LPOS l z COUNT 1", "[]"),
			s("LPOS l a RANK 9223372036854775807", "(nil)"),
			s("LPOS l a RANK -9223372036854775807 COUNT 0", "[]"),
			s("LPOS nokey a", "(nil)"),
			s("LPOS nokey a COUNT 1", "[]"),
			s("LPOS l a RANK 1 RANK 2", ":3"),
			bad("LPOS l a RANK 0", "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),
			bad("LPOS l a RANK x", kErrNotInt),
			bad("LPOS l a RANK -9223372036854775808", "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
			bad("LPOS l a COUNT -1", "-ERR COUNT can't be negative"),
			bad("LPOS l a COUNT x", "-ERR COUNT can't be negative"),
			bad("LPOS l a MAXLEN -1", "-ERR MAXLEN can't be negative"),
			bad("LPOS l a RANK", kErrSyntax),
			bad("LPOS l a FOO 1", kErrSyntax),
			bad("LPOS l", kArity("lpos")),
		}},
		{"move", []kStep{
			s("RPUSH src a b c", ":3"),
			s("LMOVE src dst LEFT RIGHT", `"a"`),
			s("LMOVE src dst right left", `"c"`),
			s("LRANGE src 0 -1", `["b"]`),
			s("LRANGE dst 0 -1", `["c" "a"]`),
			s("RPOPLPUSH src dst", `"b"`),
			s("EXISTS src", ":0"),
			s("LRANGE dst 0 -1", `["b" "c" "a"]`),
			s("LMOVE src dst LEFT LEFT", "(nil)"),
			s("RPOPLPUSH src dst", "(nil)"),
			s("LMOVE dst dst LEFT RIGHT", `"b"`),
			s("LRANGE dst 0 -1", `["c" "a" "b"]`),
			s("RPOPLPUSH dst dst", `"b"`),
			s("LRANGE dst 0 -1", `["b" "c" "a"]`),
			s("RPUSH one x", ":1"),
			s("LMOVE one one LEFT LEFT", `"x"`),
			s("LRANGE one 0 -1", `["x"]`),
			s("SET str v", "+OK"),
			s("LMOVE dst str LEFT LEFT", lWrongType),
			s("LMOVE str dst LEFT LEFT", lWrongType),
			s("LMOVE nokey str LEFT LEFT", "(nil)"),
			s("LRANGE dst 0 -1", `["b" "c" "a"]`),
			bad("LMOVE a b UP LEFT", kErrSyntax),
			bad("LMOVE a b LEFT DOWN", kErrSyntax),
			bad("LMOVE a b LEFT", kArity("lmove")),
			bad("RPOPLPUSH a", kArity("rpoplpush")),
		}},
		{"mpop", []kStep{
			s("RPUSH b 1 2 3", ":3"),
			s("LMPOP 2 a b LEFT", `["b" ["1"]]`),
			s("LMPOP 2 a b RIGHT COUNT 5", `["b" ["3" "2"]]`),
			s("LMPOP 2 a b RIGHT", "(nil)"),
			s("EXISTS b", ":0"),
			s("RPUSH a x y", ":2"),
			s("LMPOP 1 a left count 1", `["a" ["x"]]`),
			s("SET s v", "+OK"),
			s("LMPOP 2 s a LEFT", lWrongType),
			s("LMPOP 2 a s LEFT", `["a" ["y"]]`),
			s("LMPOP 2 a s LEFT", lWrongType),
			bad("LMPOP 0 a LEFT", "-ERR numkeys should be greater than 0"),
			bad("LMPOP x a LEFT", "-ERR numkeys should be greater than 0"),
			bad("LMPOP -1 a LEFT", "-ERR numkeys should be greater than 0"),
			bad("LMPOP 2 a LEFT", kErrSyntax),
			bad("LMPOP 9223372036854775807 a LEFT", kErrSyntax),
			bad("LMPOP 1 a MIDDLE", kErrSyntax),
			bad("LMPOP 1 a LEFT COUNT 0", "-ERR count should be greater than 0"),
			bad("LMPOP 1 a LEFT COUNT x", "-ERR count should be greater than 0"),
			bad("LMPOP 1 a LEFT COUNT 1 COUNT 1", kErrSyntax),
			bad("LMPOP 1 a LEFT COUNT", kErrSyntax),
			bad("LMPOP 1 a LEFT FOO", kErrSyntax),
			bad("LMPOP 1 a", kArity("lmpop")),
		}},
		{"blocking, non-blocking attempt", []kStep{
			s("RPUSH a 1 2", ":2"),
			s("BLPOP none a 0", `["a" "1"]`),
			s("BRPOP a 0.5", `["a" "2"]`),
			s("BLPOP a none 0", "(nil)"),
			s("EXISTS a", ":0"),
			s("RPUSH a 1 2 3", ":3"),
			s("BLMOVE a b RIGHT LEFT 0", `"3"`),
			s("BRPOPLPUSH a b 1", `"2"`),
			s("BLMOVE none b RIGHT LEFT 0", "(nil)"),
			s("BRPOPLPUSH none b 0", "(nil)"),
			s("LRANGE b 0 -1", `["2" "3"]`),
			s("BLMPOP 0 2 none b RIGHT COUNT 10", `["b" ["3" "2"]]`),
			s("BLMPOP 0 2 none b RIGHT", "(nil)"),
			s("SET s v", "+OK"),
			s("BLPOP s a 0", lWrongType),
			s("BLPOP none s 0", lWrongType),
			s("BLMOVE s b LEFT LEFT 0", lWrongType),
			s("BLMOVE a s LEFT LEFT 0", lWrongType),
			s("BLMOVE none s LEFT LEFT 0", "(nil)"),
			bad("BLPOP a x", "-ERR timeout is not a float or out of range"),
			bad("BLPOP a -1", "-ERR timeout is negative"),
			bad("BLPOP a -0.0011", "-ERR timeout is negative"),
			bad("BLPOP a -inf", "-ERR timeout is negative"),
			bad("BLPOP a inf", "-ERR timeout is out of range"),
			bad("BLPOP a 1e18", "-ERR timeout is out of range"),
			bad("BLPOP a 9223372036854775.808", "-ERR timeout is out of range"),
			bad("BLPOP a 9223372036854775.807", "-ERR timeout is out of range"), // now + timeout overflows
			bad("BRPOP a nan", "-ERR timeout is not a float or out of range"),
			bad("BLMOVE a b UP LEFT x", kErrSyntax),
			bad("BLMOVE a b LEFT LEFT x", "-ERR timeout is not a float or out of range"),
			bad("BRPOPLPUSH a b -1", "-ERR timeout is negative"),
			bad("BLMPOP x 1 a LEFT", "-ERR timeout is not a float or out of range"),
			bad("BLMPOP 0 0 a LEFT", "-ERR numkeys should be greater than 0"),
			bad("BLMPOP x 1 a LEFT COUNT 0", "-ERR count should be greater than 0"),
			bad("BLMPOP 0 1 a", kArity("blmpop")),
			bad("BLPOP a", kArity("blpop")),
			s("BLPOP none -0.001", "(nil)"), // rounds up to 0: waits forever
			s("BLPOP none 0x10", "(nil)"),
			s("BLPOP none 1e-400", "(nil)"),
		}},
		{"wrong type", []kStep{
			s("SET s v", "+OK"),
			s("LPUSH s a", lWrongType),
			s("RPUSH s a", lWrongType),
			s("LPUSHX s a", lWrongType),
			s("RPUSHX s a", lWrongType),
			s("LPOP s", lWrongType),
			s("RPOP s 0", lWrongType),
			s("LLEN s", lWrongType),
			s("LRANGE s 0 1", lWrongType),
			s("LINDEX s 0", lWrongType),
			s("LINDEX s x", lWrongType),
			s("LSET s 0 a", lWrongType),
			s("LINSERT s before a b", lWrongType),
			s("LREM s 0 a", lWrongType),
			s("LTRIM s 0 1", lWrongType),
			s("LPOS s a", lWrongType),
			s("LPOS s a COUNT 1", lWrongType),
			s("RPUSH l a", ":1"),
			s("GET l", lWrongType),
			s("GET s", `"v"`),
		}},
		{"ttl kept", []kStep{
			s("RPUSH l a b c", ":3"),
			s("EXPIRE l 100", ":1"),
			s("RPUSH l d", ":4"),
			s("LPOP l", `"a"`),
			s("LSET l 0 x", "+OK"),
			s("LINSERT l before x w", ":4"),
			s("LREM l 1 w", ":1"),
			s("LTRIM l 0 1", "+OK"),
			s("LMOVE l l LEFT RIGHT", `"x"`),
			s("TTL l", ":100"),
			s("LMOVE l m LEFT RIGHT", `"c"`),
			s("TTL m", ":-1"),
			s("TTL l", ":100"),
			kWait(101 * time.Second),
			s("LLEN l", ":0"),
			s("RPUSH l z", ":1"),
			s("TTL l", ":-1"),
		}},
		{"binary and case", []kStep{
			s("rpush L a", ":1"),
			s("LPOS L A", "(nil)"),
			s("linsert L BeFoRe a b", ":2"),
			s("lmove L L lEfT rIgHt", `"b"`),
			s("LRANGE L 0 -1", `["a" "b"]`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &MemLog{}
			clk := newTestClock()
			e := openTestEngine(t, log, clk, -1)
			kRun(t, e, log, clk, tt.steps)
		})
	}
}

// TestListBinary pushes elements with NULs, CRLF and empty strings.
func TestListBinary(t *testing.T) {
	log := &MemLog{}
	e := openTestEngine(t, log, newTestClock(), -1)
	vals := []string{"a\x00b", "", "\r\n", strings.Repeat("z", 10000)}
	argv := [][]byte{[]byte("RPUSH"), []byte("k\x00")}
	for _, v := range vals {
		argv = append(argv, []byte(v))
	}
	if r := e.Exec(0, argv); render(r) != ":4" {
		t.Fatalf("RPUSH: %s", render(r))
	}
	// The list must not view the argument buffers.
	for _, a := range argv {
		for i := range a {
			a[i] = '!'
		}
	}
	r := e.Exec(0, toBytes([]string{"LRANGE", "k\x00", "0", "-1"}))
	if len(r.Elems) != 4 {
		t.Fatalf("LRANGE: %s", render(r))
	}
	for i, v := range vals {
		if r.Elems[i].Str != v {
			t.Errorf("element %d: %q, want %q", i, r.Elems[i].Str, v)
		}
	}
	if r := e.Exec(0, toBytes([]string{"LPOS", "k\x00", "a\x00b"})); render(r) != ":0" {
		t.Errorf("LPOS binary: %s", render(r))
	}
}

// TestListBig runs the commands on lists of many leaves against a model.
func TestListBig(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	rng := rand.New(rand.NewPCG(5, 5))
	var model []string
	exec := func(args ...string) Reply { return e.Exec(0, toBytes(args)) }
	push := func(left bool, vals ...string) {
		cmd := "RPUSH"
		if left {
			cmd = "LPUSH"
			for _, v := range vals {
				model = slices.Insert(model, 0, v)
			}
		} else {
			model = append(model, vals...)
		}
		r := exec(append([]string{cmd, "big"}, vals...)...)
		if r.Int != int64(len(model)) {
			t.Fatalf("%s: %s, want %d", cmd, render(r), len(model))
		}
	}
	var vals []string
	for i := range 3000 {
		vals = append(vals, fmt.Sprint("e", i%50))
	}
	push(false, vals...)
	for i := range 2000 {
		switch rng.IntN(9) {
		case 0:
			push(rng.IntN(2) == 0, fmt.Sprint("e", rng.IntN(60)), fmt.Sprint("n", i))
		case 1:
			if len(model) == 0 {
				continue
			}
			j := rng.IntN(len(model))
			exec("LSET", "big", fmt.Sprint(j), fmt.Sprint("s", i))
			model[j] = fmt.Sprint("s", i)
		case 2:
			pivot := fmt.Sprint("e", rng.IntN(60))
			r := exec("LINSERT", "big", "AFTER", pivot, fmt.Sprint("i", i))
			if j := slices.Index(model, pivot); j >= 0 {
				model = slices.Insert(model, j+1, fmt.Sprint("i", i))
			}
			if len(model) > 0 && r.Int != int64(len(model)) && r.Int != -1 {
				t.Fatalf("LINSERT: %s", render(r))
			}
		case 3:
			v := fmt.Sprint("e", rng.IntN(60))
			cnt := rng.IntN(7) - 3
			r := exec("LREM", "big", fmt.Sprint(cnt), v)
			removed := 0
			if cnt >= 0 {
				for j := 0; j < len(model); {
					if model[j] == v && (cnt == 0 || removed < cnt) {
						model = slices.Delete(model, j, j+1)
						removed++
					} else {
						j++
					}
				}
			} else {
				for j := len(model) - 1; j >= 0; j-- {
					if model[j] == v && removed < -cnt {
						model = slices.Delete(model, j, j+1)
						removed++
					}
				}
			}
			if r.Int != int64(removed) {
				t.Fatalf("LREM %d %s: %s, want %d", cnt, v, render(r), removed)
			}
		case 4:
			n := rng.IntN(40)
			r := exec("LPOP", "big", fmt.Sprint(n))
			n = min(n, len(model))
			if len(model) > 0 && len(r.Elems) != n {
				t.Fatalf("LPOP %d: %d elements", n, len(r.Elems))
			}
			model = model[n:]
		case 5:
			n := rng.IntN(40)
			exec("RPOP", "big", fmt.Sprint(n))
			model = model[:len(model)-min(n, len(model))]
		case 6:
			if len(model) > 0 && rng.IntN(10) == 0 {
				lo, hi := rng.IntN(50), len(model)-rng.IntN(50)
				exec("LTRIM", "big", fmt.Sprint(lo), fmt.Sprint(hi-1))
				if lo < hi {
					model = model[lo:hi]
				} else {
					model = nil
				}
			}
		case 7:
			if len(model) == 0 {
				continue
			}
			j := rng.IntN(len(model))
			if r := exec("LINDEX", "big", fmt.Sprint(j)); r.Str != model[j] {
				t.Fatalf("LINDEX %d: %s, want %q", j, render(r), model[j])
			}
			v := model[j]
			if r := exec("LPOS", "big", v); r.Int != int64(slices.Index(model, v)) {
				t.Fatalf("LPOS %s: %s", v, render(r))
			}
		case 8:
			if len(model) < 300 {
				more := make([]string, 500)
				for k := range more {
					more[k] = fmt.Sprint("e", rng.IntN(50))
				}
				push(false, more...)
			}
		}
		if i%100 == 0 || len(model) == 0 {
			r := exec("LRANGE", "big", "0", "-1")
			got := make([]string, len(r.Elems))
			for k, el := range r.Elems {
				got[k] = el.Str
			}
			if !slices.Equal(got, model) {
				t.Fatalf("step %d: LRANGE has %d, model %d", i, len(got), len(model))
			}
		}
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if it, ok := e.img.dbs[0].lookup([]byte("big"), clk.ms()); ok {
		listCheck(t, listOf(it), true)
	}
}

// TestListCopyOnWrite takes a clone of the keyspace, writes, and checks the
// clone still shows the lists as they were.
func TestListCopyOnWrite(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	exec := func(cmd string) { e.Exec(0, kArgv(cmd)) }
	var big []string
	for i := range 1000 {
		big = append(big, fmt.Sprint(i))
	}
	e.Exec(0, toBytes(append([]string{"RPUSH", "big"}, big...)))
	exec("RPUSH small a b c")
	e.mu.RLock()
	snap := e.img.dbs[0].clone()
	e.mu.RUnlock()
	dump := func(ks *keyspace) string {
		var b strings.Builder
		ks.keys.Scan(func(it item) bool {
			fmt.Fprintf(&b, "%s=%q\n", it.key(), listItems(listOf(it)))
			return true
		})
		return b.String()
	}
	want := dump(snap)
	for _, cmd := range []string{
		"LPUSH big x", "RPUSH big y", "LSET big 500 z", "LINSERT big BEFORE 700 w",
		"LREM big 0 5", "LTRIM big 3 -3", "LPOP big 10", "RPOP big 10", "LMOVE big small LEFT RIGHT",
		"LSET small 0 q", "LPUSH small p", "RPOPLPUSH small small", "LREM small 0 b", "BLPOP small 0",
		"LMPOP 1 big RIGHT COUNT 100",
	} {
		exec(cmd)
	}
	if got := dump(snap); got != want {
		t.Fatalf("the clone changed")
	}
	e.mu.RLock()
	now := dump(e.img.dbs[0])
	e.mu.RUnlock()
	if now == want {
		t.Fatalf("the writes changed nothing")
	}
}

// TestListReplay runs a random list workload, then opens a second engine on
// the same log: the images must be identical.
func TestListReplay(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	rng := rand.New(rand.NewPCG(11, 3))
	for i := range 4000 {
		k := fmt.Sprint("l", rng.IntN(8))
		k2 := fmt.Sprint("l", rng.IntN(8))
		v := fmt.Sprint("v", rng.IntN(30))
		var cmd string
		switch rng.IntN(16) {
		case 0, 1:
			cmd = fmt.Sprintf("RPUSH %s %s v%d", k, v, i)
		case 2, 3:
			cmd = fmt.Sprintf("LPUSH %s %s", k, v)
		case 4:
			cmd = fmt.Sprintf("LPOP %s %d", k, rng.IntN(3))
		case 5:
			cmd = "RPOP " + k
		case 6:
			cmd = fmt.Sprintf("LSET %s %d x%d", k, rng.IntN(10)-5, i)
		case 7:
			cmd = fmt.Sprintf("LINSERT %s BEFORE %s i%d", k, v, i)
		case 8:
			cmd = fmt.Sprintf("LREM %s %d %s", k, rng.IntN(5)-2, v)
		case 9:
			cmd = fmt.Sprintf("LTRIM %s %d %d", k, rng.IntN(3), rng.IntN(40)-5)
		case 10:
			cmd = fmt.Sprintf("LMOVE %s %s LEFT RIGHT", k, k2)
		case 11:
			cmd = fmt.Sprintf("LMPOP 2 %s %s RIGHT COUNT %d", k, k2, 1+rng.IntN(3))
		case 12:
			cmd = fmt.Sprintf("BRPOPLPUSH %s %s 0", k, k2)
		case 13:
			cmd = fmt.Sprintf("PEXPIRE %s %d", k, 1+rng.IntN(5000))
		case 14:
			cmd = fmt.Sprintf("BLPOP %s %s 1", k, k2)
		default:
			cmd = "LRANGE " + k + " 0 -1"
		}
		e.Exec(rng.IntN(2), kArgv(cmd))
		clk.advance(time.Duration(rng.IntN(50)) * time.Millisecond)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	want := listDump(e)
	if len(want) < 5 {
		t.Fatalf("workload left only %d keys", len(want))
	}
	r := openTestEngine(t, log, newTestClock(), -1)
	if got := listDump(r); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("replayed image differs:\n got %q\nwant %q", got, want)
	}
	d1, _, err1 := e.Digest()
	d2, _, err2 := r.Digest()
	if err1 != nil || err2 != nil || d1 != d2 {
		t.Fatalf("digests differ: %v %v (%v %v)", d1, d2, err1, err2)
	}
}

// listDump lists every key of every database with its encoded value.
func listDump(e *Engine) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []string
	for db, ks := range e.img.dbs {
		ks.keys.Scan(func(it item) bool {
			val := it.str()
			if o := it.object(); o != nil {
				val = string(o.Encode(nil))
			}
			out = append(out, fmt.Sprintf("%d %q %q %d %d", db, it.key(), val, it.exp, it.typ))
			return true
		})
		ks.expires.Scan(func(x expiring) bool {
			out = append(out, fmt.Sprintf("%d expires %q %d", db, x.key, x.exp))
			return true
		})
	}
	return out
}
