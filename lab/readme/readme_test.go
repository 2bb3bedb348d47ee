package readme

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNotes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	text := "# pkg\n\n## Metrics\n\n| metric | meaning |\n|---|---|\n| `x` | y |\n\nA note.\n\n\n### Detail\n\nMore.\n\n## Metrics again\n\nNot this.\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ section, want string }{
		{"Metrics", "A note.\n\n#### Detail\n\nMore."},
		{"Configuration", ""},
	} {
		got, err := Notes(path, tc.section)
		if err != nil || got != tc.want {
			t.Errorf("Notes(%q) = %q, %v; want %q", tc.section, got, err, tc.want)
		}
	}
}
