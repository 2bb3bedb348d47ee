package ping

import (
	"net/netip"
	"testing"

	"github.com/dxwatch/dxwatch/probes"
)

// TestTargetSpecsPinnedTarget: a link with a pinned_target (a Transit
// Gateway site) probes it, from its probe source, in place of its Amazon
// address; the other link keeps its Amazon address.
func TestTargetSpecsPinnedTarget(t *testing.T) {
	site := testSite()
	site.Links[0].ProbeSource = netip.MustParseAddr("198.51.100.1")
	site.Links[0].PinnedTarget = netip.MustParseAddr("198.18.0.10")
	specs := targetSpecs(decode(t, "interval: 200ms"), site)
	byName := map[string]targetSpec{}
	for _, s := range specs {
		byName[s.name] = s
	}
	p, ok := byName["primary-pinned"]
	if !ok || p.host != "198.18.0.10" || p.link != "primary" || !p.probeSource || p.source != netip.MustParseAddr("198.51.100.1") {
		t.Errorf("primary-pinned: %+v (found %v), want 198.18.0.10 on link primary from 198.51.100.1", p, ok)
	}
	if _, ok := byName["primary-amazon"]; ok {
		t.Error("primary-amazon is still probed: the peer /30 of a transit VIF is not reachable")
	}
	if s := byName["secondary-amazon"]; s.host != "169.254.20.1" || s.link != "secondary" {
		t.Errorf("secondary-amazon: %+v", s)
	}
}

// TestTargetSpecsIPv6Peering: a dual-stack link's IPv6 peering is pinged at
// its Amazon IPv6 address ("<link>-amazon6") from its own IPv6 probe
// source, or at its IPv6 pinned_target ("<link>-pinned6"); the IPv4 pinned
// target is unchanged and a single-family link has no IPv6 one.
func TestTargetSpecsIPv6Peering(t *testing.T) {
	site := testSite()
	site.Links[0].IPv6 = probes.Peering{Family: probes.FamilyIPv6,
		CustomerAddress: netip.MustParsePrefix("2001:db8:10::2/125"), AmazonAddress: netip.MustParsePrefix("2001:db8:10::1/125"),
		ProbeSource: netip.MustParseAddr("2001:db8:200::1")}
	site.Links[1].IPv6 = probes.Peering{Family: probes.FamilyIPv6,
		CustomerAddress: netip.MustParsePrefix("2001:db8:20::2/125"), AmazonAddress: netip.MustParsePrefix("2001:db8:20::1/125"),
		ProbeSource: netip.MustParseAddr("2001:db8:200::2"), PinnedTarget: netip.MustParseAddr("2001:db8:1000::10")}
	byName := map[string]targetSpec{}
	for _, s := range targetSpecs(decode(t, "interval: 200ms"), site) {
		byName[s.name] = s
	}
	if p := byName["primary-amazon6"]; p.host != "2001:db8:10::1" || p.link != "primary" || p.family != probes.FamilyIPv6 ||
		!p.probeSource || p.source != netip.MustParseAddr("2001:db8:200::1") {
		t.Errorf("primary-amazon6: %+v, want 2001:db8:10::1 on link primary, family ipv6, from 2001:db8:200::1", p)
	}
	if p := byName["secondary-pinned6"]; p.host != "2001:db8:1000::10" || p.link != "secondary" || p.family != probes.FamilyIPv6 {
		t.Errorf("secondary-pinned6: %+v, want 2001:db8:1000::10 on link secondary, family ipv6", p)
	}
	if p := byName["primary-amazon"]; p.host != "169.254.10.1" || p.family != "" || p.probeSource {
		t.Errorf("primary-amazon: %+v, want the IPv4 pinned target as before", p)
	}
	if len(byName) != 3+4 {
		t.Errorf("%d targets, want the 3 site targets and 2 per link: %v", len(byName), byName)
	}
	if _, _, ok := linkTarget6(testSite().Links[0]); ok {
		t.Error("a single-family link has an IPv6 pinned target")
	}
}
