package labsite_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// TestSiteIsTheConfig: Site is the site lab/dxwatch.yaml describes, and
// with probe sources the one lab/dxwatch-probe-sources.yaml describes.
func TestSiteIsTheConfig(t *testing.T) {
	for _, tc := range []struct {
		file string
		want probes.Site
	}{
		{"../dxwatch.yaml", labsite.Site()},
		{"../dxwatch-probe-sources.yaml", labsite.WithProbeSources(labsite.Site())},
	} {
		cfg, err := config.Load(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Topology(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s describes\n%+v\nlabsite gives\n%+v", tc.file, got, tc.want)
		}
	}
}

// TestModes: the lab spells the routing modes as dxwatch does (the lab
// keeps its own constants so as not to import probes).
func TestModes(t *testing.T) {
	if lab.ModeActivePassive != probes.ModeActivePassive || lab.ModeActiveActive != probes.ModeActiveActive {
		t.Errorf("lab's modes %q, %q; dxwatch's %q, %q", lab.ModeActivePassive, lab.ModeActiveActive, probes.ModeActivePassive, probes.ModeActiveActive)
	}
}

// TestConfig: sections are replaced, added and removed, and the result
// is a valid configuration of the same site.
func TestConfig(t *testing.T) {
	text := labsite.Config(map[string]string{
		"ping":    "interval: 100ms\ntimeout: 100ms",
		"targets": "",
		"routing": "mode: active_active\nexpected_prefixes: [198.18.0.0/16]",
		"nothere": "",
	})
	cfg, err := config.Parse("labsite.yaml", []byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if cfg.Ping.Interval.String() != "100ms" || len(cfg.Targets) != 0 || cfg.Routing.Mode != probes.ModeActiveActive ||
		len(cfg.BGP.Peers) != 1 || strings.Count(text, "\nping:") != 1 {
		t.Errorf("sections not applied:\n%s", text)
	}
	if labsite.Config(nil) == "" || labsite.Config(nil) != labsite.Config(map[string]string{"nothere": ""}) {
		t.Error("Config(nil) differs from a Config that changes nothing")
	}
}
