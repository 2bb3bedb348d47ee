package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/dxwatch/dxwatch/lab/golden"
)

// TestTooLarge: a file over MaxFileSize is refused before it is parsed,
// with its size and the limit; Parse holds the same limit for a reload.
func TestTooLarge(t *testing.T) {
	f := filepath.Join(t.TempDir(), "big.yaml")
	data := append([]byte("site: dc1\n# "), bytes.Repeat([]byte("x"), MaxFileSize)...)
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(f)
	if err == nil {
		t.Fatal("a file over 1 MiB loaded")
	}
	golden.Check(t, "testdata/too-large.err", []byte(strings.ReplaceAll(err.Error(), f, "big.yaml")+"\n"))
	if _, err := Parse("big.yaml", data); err == nil || !strings.Contains(err.Error(), "at most 1 MiB") {
		t.Errorf("Parse of %d bytes: %v", len(data), err)
	}
	// A device has no size to check first: it is read up to the limit.
	if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "the file is more than 1 MiB") {
		t.Errorf("Load(/dev/zero): %v", err)
	}
}

// TestAnchorsWithinLimit: anchors and merge keys used as intended load.
func TestAnchorsWithinLimit(t *testing.T) {
	_, err := Parse("x.yaml", []byte(`site: dc1
links:
  - &link {name: primary, role: primary, customer_address: 169.254.10.2/30, amazon_address: 169.254.10.1/30, vlan: 101}
  - <<: *link
    name: secondary
    role: secondary
    customer_address: 169.254.20.2/30
    amazon_address: 169.254.20.1/30
routing:
  expected_prefixes: &vpc [10.20.0.0/16]
`))
	if err != nil {
		t.Fatal(err)
	}
}

// TestYAMLAliasGuard records what the YAML library does with an alias
// bomb on its own: its decoder refuses a document whose decoding is almost
// all alias expansion. That guard works while decoding, after the parse
// into nodes, and lineIndex (which once expanded aliases) came before it:
// hence checkAliases, which refuses the bomb before either runs.
func TestYAMLAliasGuard(t *testing.T) {
	bomb, err := os.ReadFile("testdata/invalid/alias-bomb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(bomb, &v); err == nil || !strings.Contains(err.Error(), "excessive aliasing") {
		t.Errorf("yaml.v3 decoded the alias bomb into any: %v", err)
	}
}

// TestIndexDoesNotExpandAliases: the line index of an alias bomb has an
// entry per value written, not per value the aliases stand for (9^9).
func TestIndexDoesNotExpandAliases(t *testing.T) {
	bomb, err := os.ReadFile("testdata/invalid/alias-bomb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(bomb, &root); err != nil {
		t.Fatal(err)
	}
	idx := indexLines(&root)
	if n := len(idx.byPath); n > 9*10 {
		t.Errorf("the index of a 9-line file has %d paths", n)
	}
	if n := len(idx.aliases); n != 8*9 {
		t.Errorf("%d aliases indexed, want the 72 written", n)
	}
}
