package ping

import (
	"net/netip"
	"testing"
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
