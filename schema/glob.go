package schema

// Match reports whether s matches the glob-style pattern, as Redis's
// stringmatchlen does for KEYS, SCAN MATCH, CONFIG GET and PSUBSCRIBE:
//
//	pattern  matches
//	a*b      'a', any run of bytes (the empty one included), 'b'
//	a?b      'a', exactly one byte, 'b'
//	[abc]    one byte of the set; [^abc] one byte not in it
//	[a-z]    one byte of the range (the ends may come in either order)
//	\x       the byte x itself, inside or outside a set
//
// nocase folds ASCII letters only. It is a port of Redis 7's matcher, quirks
// included, because clients expect the same keys Redis would give them:
//
//   - An unterminated set ("[abc") matches as if it were closed; a '-' that
//     would end a range at the closing ']' ("[a-]") takes the ']' as the end
//     of the range.
//   - The empty string matches no pattern but the empty one: the matcher
//     only runs while both sides have bytes left, so Match("*", "") is
//     false. KEYS and SCAN treat the pattern "*" as "everything" without
//     calling the matcher, as Redis does, so the empty key is still listed.
//   - The ends of a range compare as C chars, which are signed on x86-64
//     (where Redis is built in practice): a byte >= 0x80 sorts before the
//     ASCII bytes, so [a-\xff] is the range \xff..a. Ranges within ASCII or
//     within 0x80..0xff are unaffected.
//
// Abusive patterns are bounded as in Redis: the recursion on '*' gives up,
// reporting no match, past 1000 nested stars, and once the rest of a pattern
// has failed at every position of the rest of the string no enclosing star
// tries a longer run (which would need the same rest to match later). The
// work is therefore O(len(pattern) * len(s)), never exponential.
func Match(pattern, s []byte, nocase bool) bool {
	skipLonger := false
	return match(pattern, s, nocase, &skipLonger, 0)
}

// maxGlobNesting is Redis's limit on nested '*' in one match.
const maxGlobNesting = 1000

func match(p, s []byte, nocase bool, skipLonger *bool, nesting int) bool {
	if nesting > maxGlobNesting {
		return false
	}
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for len(s) > 0 {
				if match(p[1:], s, nocase, skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				s = s[1:]
			}
			*skipLonger = true
			return false
		case '?':
			s = s[1:]
		case '[':
			var ok bool
			if p, ok = matchSet(p, s[0], nocase); !ok {
				return false
			}
			s = s[1:]
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if !sameByte(p[0], s[0], nocase) {
				return false
			}
			s = s[1:]
		}
		// p[0] is the last byte of the element just matched.
		p = p[1:]
		if len(s) == 0 {
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			break
		}
	}
	return len(p) == 0 && len(s) == 0
}

// matchSet matches c against the set that starts at p (p[0] is the '[').
// It returns the pattern from the set's last byte on (its ']', or the
// pattern's last byte when the set is unterminated, as Redis steps back onto
// it) and whether c is in the set.
func matchSet(p []byte, c byte, nocase bool) ([]byte, bool) {
	i := 1
	not := i < len(p) && p[i] == '^'
	if not {
		i++
	}
	in := false
loop:
	for ; ; i++ {
		switch {
		case len(p)-i >= 2 && p[i] == '\\':
			i++
			if p[i] == c {
				in = true
			}
		case i == len(p):
			i--
			break loop
		case p[i] == ']':
			break loop
		case len(p)-i >= 3 && p[i+1] == '-':
			start, end, x := int(int8(p[i])), int(int8(p[i+2])), int(int8(c))
			if start > end {
				start, end = end, start
			}
			if nocase {
				start, end, x = lowerInt(start), lowerInt(end), lowerInt(x)
			}
			i += 2
			if x >= start && x <= end {
				in = true
			}
		default:
			if sameByte(p[i], c, nocase) {
				in = true
			}
		}
	}
	if not {
		in = !in
	}
	return p[i:], in
}

func sameByte(a, b byte, nocase bool) bool {
	if a == b {
		return true
	}
	return nocase && lowerByte(a) == lowerByte(b)
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// lowerInt is C's tolower on a char promoted to int: only 'A'..'Z' change.
func lowerInt(c int) int {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// LiteralPrefix returns the bytes every string matching pattern (case
// sensitively) starts with: the pattern up to its first '*', '?' or '[',
// escapes resolved. A pattern of literal bytes only is its own match: done
// reports it, and then Match(pattern, s, false) holds exactly when s equals
// the prefix. KEYS and SCAN use the prefix to visit only the range of the
// ordered keyspace where matches can be.
func LiteralPrefix(pattern []byte) (prefix []byte, done bool) {
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*', '?', '[':
			return prefix, false
		case '\\':
			if i+1 < len(pattern) {
				i++
			}
			prefix = append(prefix, pattern[i])
		default:
			prefix = append(prefix, c)
		}
	}
	return prefix, true
}
