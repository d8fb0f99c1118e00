package engine

import (
	"testing"
	"unsafe"
)

// TestItemLayout pins the item's size: it is stored by value in every
// B-tree node, so each byte counts twice or so (nodes are half to fully
// used).
func TestItemLayout(t *testing.T) {
	if n := unsafe.Sizeof(item{}); n != 32 {
		t.Errorf("item is %d bytes, want 32", n)
	}
}

// TestNewStringCopies checks that an item never views the bytes it was
// built from (a client's buffer), the empty key and empty value included.
func TestNewStringCopies(t *testing.T) {
	for _, tc := range []struct{ key, val string }{
		{"k", "v"}, {"", "v"}, {"k", ""}, {"", ""}, {"key:000000000001", "0123456789"},
	} {
		kb, vb := []byte(tc.key), []byte(tc.val)
		it := strItem(kb, vb, 7)
		for i := range kb {
			kb[i] = '!'
		}
		for i := range vb {
			vb[i] = '!'
		}
		if it.key() != tc.key || it.str() != tc.val || it.exp != 7 || it.typ != TypeString {
			t.Errorf("strItem(%q, %q) = %q/%q exp %d typ %d after the buffers changed",
				tc.key, tc.val, it.key(), it.str(), it.exp, it.typ)
		}
		moved := probe([]byte("dst")).withKey([]byte("new"))
		if moved.key() != "new" || moved.str() != "" {
			t.Errorf("withKey: %q/%q", moved.key(), moved.str())
		}
		w := it.withKey(kb)
		if len(kb) > 0 {
			kb[0] = '?'
			if w.key()[0] != '!' {
				t.Errorf("withKey views its argument")
			}
		}
		if w.str() != tc.val || w.exp != 7 {
			t.Errorf("withKey lost the value or expiry: %q exp %d", w.str(), w.exp)
		}
	}
}

// TestExpiryIndexSharesKV checks that a write that keeps the expiry time
// but changes the value moves the expiry index's key to the new kv, so the
// index never keeps a replaced value alive, and that SCAN's cursor table
// keeps its own copy of the last key.
func TestExpiryIndexSharesKV(t *testing.T) {
	log := &MemLog{}
	clk := newTestClock()
	e := openTestEngine(t, log, clk, -1)
	s := kOK
	kRun(t, e, log, clk, []kStep{
		s("SET k 10 EX 100", "+OK"),
		s("SET k 11 KEEPTTL", "+OK"),
		s("INCR k", ":12"),
		s("INCRBYFLOAT k 0.5", `"12.5"`),
		s("APPEND k x", ":5"),
		s("SETRANGE k 6 y", ":7"),
		s("SET j v PX 100000", "+OK"),
		s("SET j v KEEPTTL", "+OK"), // equal bytes, new allocation
		s("EXPIRE j 100", ":1"),     // same time, same kv
		s("RENAME j i", "+OK"),
		s("SETEX h 100 a", "+OK"),
		s("SETEX h 100 b", "+OK"),
		s("GETEX h EX 200", `"b"`),
		s("GET k", `"12.5x\x00y"`),
	})
	kCheckIndex(t, e)

	for i := range 20 {
		e.Exec(0, kArgv("SET key:"+string(rune('a'+i))+" value"))
	}
	r := e.Exec(0, kArgv("SCAN 0 COUNT 5"))
	if r.Kind != KindArray || len(r.Elems) != 2 || r.Elems[0].Str == "0" {
		t.Fatalf("SCAN 0 COUNT 5 = %s", render(r))
	}
	e.scans.mu.Lock()
	defer e.scans.mu.Unlock()
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, p := range e.scans.pos {
		it, ok := e.img.dbs[p.db].keys.Get(probeString(p.after))
		if !ok {
			t.Fatalf("cursor position %q is not a key", p.after)
		}
		if unsafe.StringData(p.after) == unsafe.StringData(it.bytes()) {
			t.Errorf("the cursor table views the kv of %q", p.after)
		}
	}
}

// TestObjectItems checks the collection side of the item layout: the key
// lives in the object header, a copy of the caller's bytes; withKey keeps
// the (immutable) object; TTLs index the object's key.
func TestObjectItems(t *testing.T) {
	ks := newKeyspace()
	kb := []byte("coll")
	it := newObject(bstr(kb), testObject{}, 99)
	kb[0] = 'X'
	if it.key() != "coll" || it.object() == nil || it.typ != (testObject{}).Type() {
		t.Fatalf("object item: key %q object %v typ %d", it.key(), it.object(), it.typ)
	}
	ks.set(it)
	got, ok := ks.lookup([]byte("coll"), 0)
	if !ok || got.object() == nil {
		t.Fatal("object item not found")
	}
	if _, ok := ks.expires.Get(expiring{exp: 99, key: "coll"}); !ok {
		t.Fatal("object item's TTL not indexed")
	}
	moved := got.withKey([]byte("other"))
	if moved.key() != "other" || moved.object() != got.object() || moved.exp != 99 {
		t.Fatalf("withKey: key %q exp %d", moved.key(), moved.exp)
	}
	if _, ok := ks.remove([]byte("coll")); !ok || ks.expires.Len() != 0 {
		t.Fatalf("remove left %d expiry entries", ks.expires.Len())
	}
	if s := newString("k", "v", 0); s.object() != nil {
		t.Fatal("a string item has an object")
	}
}
