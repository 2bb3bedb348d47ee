// What the agent needs to know of the bgp kind besides its Config.

package bgp

import "github.com/dxwatch/dxwatch/probes"

// Kind is the probe kind, its configuration section and its probe's name.
const Kind = "bgp"

// Order places the BGP checks in the turn-up checklist.
const Order = probes.OrderBGP

// Wanted reports whether a configuration with a bgp section (present)
// holding c asks for a BGP probe: a peer, or a BMP station.
func Wanted(c Config, present bool) bool {
	return present && (len(c.Peers) > 0 || c.BMP.ListenAddress != "")
}

// Skipped lists the checklist parts left out when c asks for no BGP probe.
func Skipped(c Config) []probes.SkippedPart {
	if len(c.Peers) > 0 || c.BMP.ListenAddress != "" {
		return nil
	}
	return []probes.SkippedPart{{Name: Kind, Reason: "no BGP peers and no BMP station configured: the routes received over each link and the routing intent were not checked",
		Fix: "add a bgp section peering with the edge router(s) (docs/configuration.md); dxwatch never advertises a route"}}
}
