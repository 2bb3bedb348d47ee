package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoTestSupport: no product package, dxwatch itself included,
// links the test-support wing (lab/...) or package testing. The product is
// every package but the wing (the fake AWS endpoint's binary among it).
func TestLinksNoTestSupport(t *testing.T) {
	const module = "github.com/dxwatch/dxwatch"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	testSupport := func(p string) bool {
		return p == module+"/lab" || strings.HasPrefix(p, module+"/lab/")
	}
	var checked int
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, " ")
		if testSupport(pkg) {
			continue
		}
		checked++
		for _, d := range strings.Fields(deps) {
			if testSupport(d) || d == "testing" {
				t.Errorf("%s links %s", pkg, d)
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked %d packages: go list found too few", checked)
	}
}
