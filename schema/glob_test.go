package schema

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		nocase     bool
		want       bool
	}{
		// Literals and the empty cases.
		{"", "", false, true},
		{"", "a", false, false},
		{"a", "", false, false},
		{"hello", "hello", false, true},
		{"hello", "hell", false, false},
		{"hello", "helloo", false, false},
		{"hello", "HELLO", false, false},
		{"hello", "HELLO", true, true},
		{"HeLLo", "hEllO", true, true},
		// '*': the empty string matches no non-empty pattern (Redis 7).
		{"*", "", false, false},
		{"**", "", false, false},
		{"*", "x", false, true},
		{"*", "anything at all", false, true},
		{"a*", "a", false, true},
		{"a*", "abc", false, true},
		{"a*", "ba", false, false},
		{"*a", "a", false, true},
		{"*a", "bba", false, true},
		{"*a", "ab", false, false},
		{"a*b", "ab", false, true},
		{"a*b", "axxxb", false, true},
		{"a*b", "axxxbx", false, false},
		{"a*b*c", "abc", false, true},
		{"a*b*c", "aXbYbZc", false, true},
		{"a*b*c", "aXbYbZ", false, false},
		{"a***b", "ab", false, true},
		{"*ab*", "xxabyy", false, true},
		{"h*llo", "hllo", false, true},
		{"h*llo", "heeeello", false, true},
		{"user:*", "user:", false, true},
		{"user:*", "user", false, false},
		// '?'
		{"h?llo", "hello", false, true},
		{"h?llo", "hallo", false, true},
		{"h?llo", "hllo", false, false},
		{"?", "", false, false},
		{"?", "x", false, true},
		{"??", "x", false, false},
		{"*?", "x", false, true},
		{"?*", "x", false, true},
		// Sets.
		{"h[ae]llo", "hello", false, true},
		{"h[ae]llo", "hallo", false, true},
		{"h[ae]llo", "hillo", false, false},
		{"h[^e]llo", "hallo", false, true},
		{"h[^e]llo", "hello", false, false},
		{"h[a-b]llo", "hbllo", false, true},
		{"h[a-b]llo", "hcllo", false, false},
		{"h[b-a]llo", "hallo", false, true}, // reversed range
		{"[a-z]", "A", false, false},
		{"[a-z]", "A", true, true},
		{"[A-Z]", "q", true, true},
		{"[abc]", "B", true, true},
		{"[^a-c]", "d", false, true},
		{"[^a-c]", "b", false, false},
		{"[]", "]", false, false}, // the set closes at once: it is empty
		{"[]]", "]", false, false},
		{"[\\]]", "]", false, true},
		{"[\\]x]", "x", false, true},
		{"[\\-]", "-", false, true},
		{"[a-]", "b", false, false},   // the ']' is the range's end: a..] is ]..a
		{"[a-]", "^", false, true},    // '^' is in ']'..'a'
		{"[a-]x", "^x", false, false}, // the set is unterminated: it swallowed "x"
		{"[a-]x", "^", false, true},
		{"[abc", "b", false, true}, // unterminated set
		{"[abc", "d", false, false},
		{"[abc", "bc", false, false},
		{"[", "x", false, false},
		{"[^", "x", false, true},
		{"[^", "", false, false},
		{"x[", "x", false, false},
		{"[\\", "\\", false, true},
		{"[A]", "a", true, true},
		{"[\\A]", "a", true, false}, // an escaped byte in a set is exact
		// Escapes.
		{"h\\*llo", "h*llo", false, true},
		{"h\\*llo", "hello", false, false},
		{"\\?", "?", false, true},
		{"\\?", "x", false, false},
		{"\\[a]", "[a]", false, true},
		{"\\\\", "\\", false, true},
		{"\\", "\\", false, true}, // a trailing backslash is literal
		{"a\\", "a\\", false, true},
		{"\\a", "a", false, true},
		{"\\A", "a", true, true},
		// Bytes >= 0x80 compare as signed C chars in ranges (x86-64).
		{"[\x80-\xff]", "\xc3", false, true},
		{"[\x80-\xff]", "a", false, false},
		{"[a-\xff]", "A", false, true}, // the range is \xff..'a'
		{"[a-\xff]", "\xc3", false, false},
		{"\xc3\xa9*", "\xc3\xa9t\xc3\xa9", false, true},
		{"?", "\x00", false, true},
		{"\x00*", "\x00\x01", false, true},
		// Trailing stars after the string ran out.
		{"abc***", "abc", false, true},
		{"abc*?", "abc", false, false},
		{"abc*\\", "abc", false, false},
	}
	for _, tc := range tests {
		if got := Match([]byte(tc.pattern), []byte(tc.s), tc.nocase); got != tc.want {
			t.Errorf("Match(%q, %q, %v) = %v, want %v", tc.pattern, tc.s, tc.nocase, got, tc.want)
		}
		if got := refMatch([]byte(tc.pattern), []byte(tc.s), tc.nocase); got != tc.want {
			t.Errorf("refMatch(%q, %q, %v) = %v, want %v (bad test?)", tc.pattern, tc.s, tc.nocase, got, tc.want)
		}
	}
}

// TestMatchPathological runs the patterns of Redis's own regression tests
// for runaway matching: they must finish at once, and the nested one must
// report no match, as Redis does.
func TestMatchPathological(t *testing.T) {
	start := time.Now()
	s := strings.Repeat("a", 200)
	p := strings.Repeat("a*", 50) + "b"
	if Match([]byte(p), []byte(s), false) {
		t.Errorf("a*a*...b matched a string with no b")
	}
	// 50000 nested stars: past Redis's nesting limit, no match.
	s = strings.Repeat("a", 50000)
	p = strings.Repeat("*?", 50000)
	if Match([]byte(p), []byte(s), false) {
		t.Errorf("50000 nested stars matched; Redis gives up past 1000")
	}
	// Under the limit the same shape matches.
	if !Match([]byte(strings.Repeat("*?", 900)), []byte(strings.Repeat("a", 1000)), false) {
		t.Errorf("900 nested stars should match 1000 bytes")
	}
	p = strings.Repeat("*a", 500) + "*b"
	s = strings.Repeat("a", 5000)
	if Match([]byte(p), []byte(s), false) {
		t.Errorf("*a*a...*b matched a string with no b")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("pathological patterns took %v", el)
	}
}

func TestLiteralPrefix(t *testing.T) {
	tests := []struct {
		pattern, prefix string
		done            bool
	}{
		{"", "", true},
		{"*", "", false},
		{"user:*", "user:", false},
		{"user:?x", "user:", false},
		{"a[bc]", "a", false},
		{"abc", "abc", true},
		{"a\\*b*", "a*b", false},
		{"a\\*", "a*", true},
		{"\\", "\\", true},
		{"ab\\", "ab\\", true},
		{"\\\\x", "\\x", true},
	}
	for _, tc := range tests {
		p, done := LiteralPrefix([]byte(tc.pattern))
		if string(p) != tc.prefix || done != tc.done {
			t.Errorf("LiteralPrefix(%q) = %q, %v; want %q, %v", tc.pattern, p, done, tc.prefix, tc.done)
		}
	}
}

// FuzzMatch checks Match against refMatch, a line-by-line transliteration
// of Redis's C code (NUL-terminated buffers, int lengths) without the
// skip-longer-matches shortcut, which must change no answer; and checks the
// promise of LiteralPrefix that KEYS and SCAN rely on.
func FuzzMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"*", ""}, {"a*b", "aab"}, {"h[^e]llo", "hallo"}, {"[a-]x", "^"},
		{"\\*", "*"}, {"[abc", "b"}, {"*?*?", "ab"}, {"[\x80-a]", "Z"},
		{"user:*:name", "user:42:name"}, {"[^", "x"}, {"a\\", "a\\"},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]), false)
		f.Add([]byte(seed[0]), []byte(seed[1]), true)
	}
	f.Fuzz(func(t *testing.T, pattern, s []byte, nocase bool) {
		got := Match(pattern, s, nocase)
		// The reference is exponential in the number of stars: keep it to
		// inputs it finishes quickly.
		if len(pattern) <= 24 && len(s) <= 24 && bytes.Count(pattern, []byte("*")) <= 5 {
			if want := refMatch(pattern, s, nocase); got != want {
				t.Fatalf("Match(%q, %q, %v) = %v, reference says %v", pattern, s, nocase, got, want)
			}
		}
		prefix, done := LiteralPrefix(pattern)
		cs := Match(pattern, s, false)
		if cs && !bytes.HasPrefix(s, prefix) {
			t.Fatalf("Match(%q, %q) but the key lacks the literal prefix %q", pattern, s, prefix)
		}
		if done && cs != bytes.Equal(s, prefix) {
			t.Fatalf("literal pattern %q: Match(%q) = %v", pattern, s, cs)
		}
		// A string made of the prefix matches a literal pattern.
		if done && !Match(pattern, prefix, false) {
			t.Fatalf("literal pattern %q does not match its own prefix %q", pattern, prefix)
		}
	})
}

// refMatch is Redis's stringmatchlen transliterated as literally as Go
// allows: the buffers get a NUL terminator the C code may read, indices
// stand for pointers, chars are signed. It has no skip-longer-matches
// shortcut and no nesting limit, so it is exponential on some patterns.
func refMatch(pattern, str []byte, nocase bool) bool {
	p := append(append([]byte(nil), pattern...), 0)
	s := append(append([]byte(nil), str...), 0)
	return refImpl(p, 0, len(pattern), s, 0, len(str), nocase)
}

func refImpl(p []byte, pi, patternLen int, s []byte, si, stringLen int, nocase bool) bool {
	char := func(b byte) int { return int(int8(b)) }
	tolower := func(c int) int {
		if c >= 'A' && c <= 'Z' {
			return c + 32
		}
		return c
	}
	for patternLen != 0 && stringLen != 0 {
		switch p[pi] {
		case '*':
			for patternLen != 0 && p[pi+1] == '*' {
				pi++
				patternLen--
			}
			if patternLen == 1 {
				return true
			}
			for stringLen != 0 {
				if refImpl(p, pi+1, patternLen-1, s, si, stringLen, nocase) {
					return true
				}
				si++
				stringLen--
			}
			return false
		case '?':
			si++
			stringLen--
		case '[':
			pi++
			patternLen--
			not := patternLen != 0 && p[pi] == '^'
			if not {
				pi++
				patternLen--
			}
			match := false
			for {
				if patternLen >= 2 && p[pi] == '\\' {
					pi++
					patternLen--
					if p[pi] == s[si] {
						match = true
					}
				} else if patternLen == 0 {
					pi--
					patternLen++
					break
				} else if p[pi] == ']' {
					break
				} else if patternLen >= 3 && p[pi+1] == '-' {
					start, end, c := char(p[pi]), char(p[pi+2]), char(s[si])
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, c = tolower(start), tolower(end), tolower(c)
					}
					pi += 2
					patternLen -= 2
					if c >= start && c <= end {
						match = true
					}
				} else {
					if !nocase {
						if p[pi] == s[si] {
							match = true
						}
					} else if tolower(char(p[pi])) == tolower(char(s[si])) {
						match = true
					}
				}
				pi++
				patternLen--
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			si++
			stringLen--
		default:
			if p[pi] == '\\' && patternLen >= 2 {
				pi++
				patternLen--
			}
			if !nocase {
				if p[pi] != s[si] {
					return false
				}
			} else if tolower(char(p[pi])) != tolower(char(s[si])) {
				return false
			}
			si++
			stringLen--
		}
		pi++
		patternLen--
		if stringLen == 0 {
			for patternLen != 0 && p[pi] == '*' {
				pi++
				patternLen--
			}
			break
		}
	}
	return patternLen == 0 && stringLen == 0
}
