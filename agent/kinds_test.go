package agent

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dxwatch/dxwatch/agent/config"
)

// TestKindsMatchConfigSections: every probe kind has its configuration
// section, and every section whose type comes from a probe package is a
// kind, so that adding a kind in one place and forgetting the other fails.
func TestKindsMatchConfigSections(t *testing.T) {
	var sections []string
	ct := reflect.TypeFor[config.Config]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		if strings.Contains(f.Type.PkgPath(), "/probes/") {
			sections = append(sections, strings.Split(f.Tag.Get("yaml"), ",")[0])
		}
	}
	var names []string
	for _, k := range kinds {
		names = append(names, k.name)
		if k.order == 0 || k.spec == nil || k.skipped == nil {
			t.Errorf("kind %q: order, spec and skipped must all be set", k.name)
		}
	}
	slices.Sort(sections)
	slices.Sort(names)
	if !slices.Equal(sections, names) {
		t.Errorf("probe sections of config.Config %v, kinds %v: list each kind in agent/kinds.go and give it a section", sections, names)
	}
}

// TestKindsSkipped: a configuration without optional sections names every
// kind it leaves out, each in that kind's place in the checklist.
func TestKindsSkipped(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("site: dc1\nlinks:\n  - {name: primary, role: primary, amazon_address: 169.254.10.1/30, customer_address: 169.254.10.2/30, vlan: 101}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range skippedParts(cfg) {
		got[c.Name] = c.Order
	}
	for _, k := range kinds {
		found := false
		for name, order := range got {
			if name == k.name || strings.HasPrefix(name, k.name+".") {
				found = true
				if order != k.order {
					t.Errorf("%s: order %d, want the kind's %d", name, order, k.order)
				}
			}
		}
		if !found {
			t.Errorf("kind %q: nothing says it was left out; got %v", k.name, got)
		}
	}
	if specs := probeSpecs(cfg); len(specs) != 1 || specs[0].kind != "ping" {
		t.Errorf("probes for a config with one link and no sections: %v, want only ping (the link's Amazon address)", specs)
	}
}
