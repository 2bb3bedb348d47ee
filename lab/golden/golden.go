// Package golden compares a test's output with a file under testdata and
// rewrites the file when the tests run with -update:
//
//	golden.Check(t, "testdata/status.json", got)
//	go test ./agent/health -run TestAPIGolden -update
//
// Only tests import it: the -update flag it defines is a test binary's.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the tests produce")

// Update reports whether the tests run with -update.
func Update() bool { return *update }

// Check compares got with the file at path; under -update it writes got
// there instead (creating the directory). A difference is reported with
// the first line that differs and the whole of got.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run '^%s$' -update creates it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the test produced (go test -run '^%s$' -update rewrites it): %s\n--- got\n%s", path, t.Name(), FirstDiff(string(want), string(got)), got)
	}
}

// FirstDiff describes the first line where got differs from want.
func FirstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, a, b)
		}
	}
	return "no line differs"
}
