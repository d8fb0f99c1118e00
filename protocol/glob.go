package protocol

import "github.com/memimg/memimg/schema"

// globMatch reports whether s matches the glob pattern as Redis's
// stringmatchlen does (*, ?, [...], \x).
func globMatch(pattern, s string, nocase bool) bool {
	return schema.Match([]byte(pattern), []byte(s), nocase)
}
