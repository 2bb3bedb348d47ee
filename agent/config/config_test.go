package config

import (
	"net/netip"
	"path/filepath"
	"slices"
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

// TestTopologyDualStack: the example's links carry their IPv6 peering
// beside the IPv4 one, found by address, and a single-family link has one.
func TestTopologyDualStack(t *testing.T) {
	cfg, err := Load("../../examples/dual-stack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	site := cfg.Topology()
	l, _ := site.Link("secondary")
	want := probes.Peering{Family: probes.FamilyIPv6,
		CustomerAddress: netip.MustParsePrefix("2001:db8:60::2/125"), AmazonAddress: netip.MustParsePrefix("2001:db8:60::1/125"),
		ProbeSource: netip.MustParseAddr("2001:db8:9800::2")}
	if got, ok := l.Peering(probes.FamilyIPv6); !ok || got != want {
		t.Errorf("secondary's IPv6 peering = %+v, %v; want %+v", got, ok, want)
	}
	if got, ok := l.Peering(probes.FamilyIPv4); !ok || got.AmazonAddress != l.AmazonAddress || got.ProbeSource != netip.MustParseAddr("10.98.0.2") {
		t.Errorf("secondary's IPv4 peering = %+v, %v", got, ok)
	}
	if got := l.Peerings(); len(got) != 2 || got[0].Family != probes.FamilyIPv4 {
		t.Errorf("secondary's peerings = %+v, want IPv4 then IPv6", got)
	}
	found, p, ok := site.PeeringByAddress(netip.MustParseAddr("2001:db8:60::1"))
	if !ok || found.Name != "secondary" || p.Family != probes.FamilyIPv6 {
		t.Errorf("PeeringByAddress(2001:db8:60::1) = %s %+v %v, want secondary's IPv6 peering", found.Name, p, ok)
	}
	// The IPv4 lookups are today's: an IPv6 peer address is not a link's.
	if _, ok := site.LinkByAmazonAddress(netip.MustParseAddr("2001:db8:60::1")); ok {
		t.Error("LinkByAmazonAddress found a link by its IPv6 address: the IPv4 behaviour changed")
	}

	single, err := Parse("x.yaml", []byte(`site: dc1
links:
  - {name: primary, role: primary, customer_address: "2001:db8:10::2/125", amazon_address: "2001:db8:10::1/125", vlan: 101}
`))
	if err != nil {
		t.Fatal(err)
	}
	sl := single.Topology().Links[0]
	if ps := sl.Peerings(); len(ps) != 1 || ps[0].Family != probes.FamilyIPv6 || ps[0].AmazonAddress != sl.AmazonAddress {
		t.Errorf("IPv6-only link's peerings = %+v, want its one IPv6 peering", ps)
	}
	if _, ok := sl.Peering(probes.FamilyIPv4); ok {
		t.Error("IPv6-only link has an IPv4 peering")
	}
}

// TestMixedFamilies: expected prefixes and targets of both families in one
// configuration (the lab's VPC has an IPv4 and an IPv6 CIDR, and its
// instances an address of each), each validated by the rules of its own.
func TestMixedFamilies(t *testing.T) {
	const base = `site: dc1
links:
  - {name: primary, role: primary, customer_address: 169.254.10.2/30, amazon_address: 169.254.10.1/30, vlan: 101}
targets:
  - {name: i1, address: 198.18.0.10}
  - {name: i1-v6, address: "2001:db8:1000::10"}
routing:
  mode: active_passive
  primary: primary
`
	cfg, err := Parse("mixed.yaml", []byte(base+`  expected_prefixes: [198.18.0.0/16, "2001:db8:1000::/56"]
`))
	if err != nil {
		t.Fatal(err)
	}
	site := cfg.Topology()
	want := []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16"), netip.MustParsePrefix("2001:db8:1000::/56")}
	if !slices.Equal(site.Routing.ExpectedPrefixes, want) {
		t.Errorf("expected prefixes %v, want %v", site.Routing.ExpectedPrefixes, want)
	}
	if len(site.Targets) != 2 || site.Targets[1].Host != "2001:db8:1000::10" {
		t.Errorf("targets %+v", site.Targets)
	}
	_, err = Parse("mixed.yaml", []byte(base+`  expected_prefixes: [198.18.0.0/16, "2001:db8:1000::1/56"]
`))
	if err == nil || !strings.Contains(err.Error(), "routing.expected_prefixes[1] (line 10): 2001:db8:1000::1/56 has host bits set: did you mean 2001:db8:1000::/56?") {
		t.Errorf("IPv6 prefix with host bits: %v", err)
	}
}
