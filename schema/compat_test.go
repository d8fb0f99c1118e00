package schema

import (
	"os"
	"strings"
	"testing"
)

// TestCompatibilityTableMatchesCatalog keeps docs/compatibility.md honest:
// every command the catalog serves to clients appears in a row marked done
// or partial.
func TestCompatibilityTableMatchesCatalog(t *testing.T) {
	doc, err := os.ReadFile("../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{} // upper-case names in done/partial rows
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		status := strings.TrimSpace(cells[2])
		if status != "done" && status != "partial" {
			continue
		}
		for _, f := range strings.FieldsFunc(cells[1], func(r rune) bool { return r == ',' || r == ' ' }) {
			served[f] = true
		}
	}
	for _, c := range All() {
		if c.Is(Internal) {
			continue
		}
		if !served[strings.ToUpper(c.Name)] {
			t.Errorf("command %s is served but not marked done or partial in docs/compatibility.md", strings.ToUpper(c.Name))
		}
	}
}
