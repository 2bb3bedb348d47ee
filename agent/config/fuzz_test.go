package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// goWords are Go's words for types and the YAML library's own phrasing:
// a problem says what the file must hold in YAML terms, never these.
// A quoted value is the file's own text, which may say anything.
var (
	quoted  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	goWords = regexp.MustCompile(`\b(config|bgp|ping|trace|aws|health|probes|time|netip)\.[A-Z]|\[\][a-z*]|\bu?int(8|16|32|64)?\b|float(32|64)|not found in type|cannot unmarshal|!!`)
)

// FuzzParse feeds arbitrary files to Parse: it must never panic, and what
// it refuses it must explain in a bounded, readable error, each problem
// with a line (or a top-level path when the key is missing altogether) and
// in YAML's words. The seed corpus is testdata/invalid, the examples and
// testdata/fuzz/FuzzParse (alias bombs, a second document, huge values).
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/invalid/*.yaml", "../../examples/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse("fuzz.yaml", data)
		if err == nil {
			return
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("error is a %T, not a *config.Error: %v", err, err)
		}
		if len(ce.Problems) == 0 || len(ce.Problems) > MaxProblems {
			t.Fatalf("%d problems listed:\n%v", len(ce.Problems), err)
		}
		for _, p := range ce.Problems {
			text := p.Error()
			if p.Line <= 0 && strings.ContainsAny(p.Path, ".[") {
				t.Errorf("problem without a line: %q", text)
			}
			if p.Line <= 0 && p.Path == "" && !strings.Contains(text, "1 MiB") {
				t.Errorf("problem with neither path nor line: %q", text)
			}
			if goWords.MatchString(quoted.ReplaceAllString(p.Msg, `""`)) {
				t.Errorf("problem in Go's words: %q", text)
			}
			if n := len([]rune(text)); n > 600 {
				t.Errorf("problem of %d characters: %.200q…", n, text)
			}
		}
	})
}
