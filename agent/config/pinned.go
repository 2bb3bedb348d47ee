package config

import (
	"github.com/dxwatch/dxwatch/probes/problem"
)

// validatePinnedTargets checks links[].pinned_target and
// links[].ipv6.pinned_target: a unicast address outside the peering
// subnets, sent to from its peering's probe_source (of its family), which
// is what makes the echoes cross this link both ways.
func (c *Config) validatePinnedTargets(ps *problem.List) {
	for i, l := range c.Links {
		for _, k := range l.peeringKeys(i) {
			c.validatePinnedTarget(ps, k)
		}
	}
}

func (c *Config) validatePinnedTarget(ps *problem.List, k peeringKeys) {
	if k.pinned == "" {
		return
	}
	p := k.path + ".pinned_target"
	a, bad := hostAddress(k.pinned)
	switch bad {
	case badSyntax, badPrefix:
		ps.Addf(p, "not an IP address: %q, want a VPC address the link's pinned echoes go to, e.g. 10.40.1.10", k.pinned)
		return
	case badNotUnicast:
		ps.Addf(p, "%s is not a unicast address: use a VPC instance's address", k.pinned)
		return
	}
	if k.src == "" {
		ps.Addf(p, "needs %s.probe_source: the echoes to %s must leave from the link's monitored address, which the edge routes over this link only and AWS answers over it (docs/probe-sources.md)", k.path, a)
	} else if src, bad := hostAddress(k.src); bad == badNone && src.Is4() != a.Is4() {
		ps.Addf(p, "%s and probe_source %s are of different address families: the echoes to it are sent from the probe source", a, src)
	}
	if j, pfx, ok := c.peeringSubnetOf(a); ok {
		ps.Addf(p, "%s is inside links[%d]'s peering subnet %s: the Amazon address is probed without pinned_target; give a VPC address", a, j, pfx)
	}
}
