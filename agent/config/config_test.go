package config

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/golden"
	"github.com/dxwatch/dxwatch/probes"
)

func TestExamplesAreValid(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := Load(f)
			if err != nil {
				t.Fatalf("example does not load:\n%v", err)
			}
			site := cfg.Topology()
			if len(site.Links) != 2 || site.Routing.Primary != "primary" {
				t.Errorf("site = %+v, want two links with primary preferred", site)
			}
		})
	}
}

// TestInvalid loads every file in testdata/invalid and compares the whole
// error with the golden file beside it: each message names its path and line.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid testdata: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			_, err := Load(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			golden.Check(t, strings.TrimSuffix(f, ".yaml")+".err", []byte(err.Error()+"\n"))
		})
	}
}

func TestTopology(t *testing.T) {
	cfg, err := Load("../../examples/hosted-pureport.yaml")
	if err != nil {
		t.Fatal(err)
	}
	site := cfg.Topology()
	l, ok := site.LinkByAmazonAddress(netip.MustParseAddr("169.254.100.6"))
	if !ok || l.Name != "secondary" || l.VLAN != 2002 {
		t.Errorf("LinkByAmazonAddress(169.254.100.6) = %+v, %v", l, ok)
	}
	if site.Routing.Primary != "primary" || site.Routing.Mode != probes.ModeActivePassive || site.Routing.AmazonASN != 64512 {
		t.Errorf("routing = %+v: primary must default to the link with role primary", site.Routing)
	}
	if got := len(site.Routing.ExpectedPrefixes); got != 2 {
		t.Errorf("expected prefixes = %d, want 2", got)
	}
}

func TestTopologyProbeSource(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte(`site: dc1
links:
  - {name: primary, role: primary, customer_address: 169.254.10.2/30, amazon_address: 169.254.10.1/30, vlan: 101, probe_source: 198.51.100.1}
  - {name: secondary, role: secondary, customer_address: 169.254.20.2/30, amazon_address: 169.254.20.1/30, vlan: 102}
`))
	if err != nil {
		t.Fatal(err)
	}
	site := cfg.Topology()
	if got := site.Links[0].ProbeSource; got != netip.MustParseAddr("198.51.100.1") {
		t.Errorf("primary's probe source = %v, want 198.51.100.1", got)
	}
	if got := site.Links[1].ProbeSource; got.IsValid() {
		t.Errorf("secondary's probe source = %v, want none", got)
	}
}

func TestLineOfMissingKeyIsItsParent(t *testing.T) {
	_, err := Parse("x.yaml", []byte("site: dc1\nlinks:\n  - name: a\n    role: primary\n    vlan: 5\n"))
	if err == nil {
		t.Fatal("want an error")
	}
	if !strings.Contains(err.Error(), "links[0].customer_address (line 3): missing") {
		t.Errorf("error does not place the missing key at its link's line:\n%v", err)
	}
}

// TestConfigFilesInLab loads the lab's configurations: the probe sources of
// lab/dxwatch-probe-sources.yaml are the lab's, on the right links.
func TestConfigFilesInLab(t *testing.T) {
	for file, want := range map[string][2]string{
		"../../lab/dxwatch.yaml":               {},
		"../../lab/dxwatch-probe-sources.yaml": {lab.PrimaryProbeSource, lab.SecondaryProbeSource},
	} {
		cfg, err := Load(file)
		if err != nil {
			t.Fatalf("%s:\n%v", file, err)
		}
		site := cfg.Topology()
		for i, name := range []string{lab.LinkPrimary, lab.LinkSecondary} {
			l, _ := site.Link(name)
			got := ""
			if l.ProbeSource.IsValid() {
				got = l.ProbeSource.String()
			}
			if got != want[i] {
				t.Errorf("%s: %s's probe_source %q, want %q", file, name, got, want[i])
			}
		}
	}
}
