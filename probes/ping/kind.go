// What the agent needs to know of the ping kind besides its Config: where
// its checks stand in the checklist, whether a site asks for a ping probe,
// and what verify says of the parts a site leaves out.

package ping

import "github.com/dxwatch/dxwatch/probes"

// Order places ping's checks in the turn-up checklist.
const Order = probes.OrderPing

// Wanted reports whether site asks for a ping probe: VPC targets to ping,
// or links whose Amazon addresses c pings (link_pinned).
func Wanted(c Config, site probes.Site) bool {
	return len(site.Targets) > 0 || (c.LinkPinned && len(site.Links) > 0)
}

// Skipped lists the checklist parts site leaves out of ping.
func Skipped(site probes.Site) []probes.SkippedPart {
	if len(site.Targets) > 0 {
		return nil
	}
	return []probes.SkippedPart{{Name: "ping.targets", Reason: "no VPC targets configured: only the links' Amazon addresses are pinged", Fix: probes.FixNoTargets}}
}
