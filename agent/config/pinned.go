package config

import (
	"fmt"
	"net/netip"

	"github.com/dxwatch/dxwatch/probes/problem"
)

// validatePinnedTargets checks links[].pinned_target: a unicast address
// outside the peering subnets, sent to from the link's probe_source (of its
// family), which is what makes the echoes cross this link both ways.
func (c *Config) validatePinnedTargets(ps *problem.List) {
	for i, l := range c.Links {
		if l.PinnedTarget == "" {
			continue
		}
		p := fmt.Sprintf("links[%d].pinned_target", i)
		a, err := netip.ParseAddr(l.PinnedTarget)
		switch {
		case err != nil:
			ps.Addf(p, "not an IP address: %q, want a VPC address the link's pinned echoes go to, e.g. 10.40.1.10", l.PinnedTarget)
			continue
		case a.Zone() != "" || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast():
			ps.Addf(p, "%s is not a unicast address: use a VPC instance's address", l.PinnedTarget)
			continue
		}
		if l.ProbeSource == "" {
			ps.Addf(p, "needs links[%d].probe_source: the echoes to %s must leave from the link's monitored address, which the edge routes over this link only and AWS answers over it (docs/probe-sources.md)", i, a)
		} else if src, err := netip.ParseAddr(l.ProbeSource); err == nil && src.Is4() != a.Is4() {
			ps.Addf(p, "%s and probe_source %s are of different address families: the echoes to it are sent from the probe source", a, src)
		}
		if j, pfx, ok := c.peeringSubnetOf(a); ok {
			ps.Addf(p, "%s is inside links[%d]'s peering subnet %s: the Amazon address is probed without pinned_target; give a VPC address", a, j, pfx)
		}
	}
}
