// What the agent needs to know of the trace kind besides its Config.

package trace

import "github.com/dxwatch/dxwatch/probes"

// Order places the traces' checks in the turn-up checklist.
const Order = probes.OrderTrace

// Wanted reports whether site asks for a trace probe: VPC targets to
// trace, and an interval.
func Wanted(c Config, site probes.Site) bool {
	return len(site.Targets) > 0 && c.Interval > 0
}

// Skipped lists the checklist parts site leaves out of trace.
func Skipped(site probes.Site) []probes.SkippedPart {
	if len(site.Targets) > 0 {
		return nil
	}
	return []probes.SkippedPart{{Name: Kind, Reason: "no VPC targets configured: nothing to trace", Fix: probes.FixNoTargets}}
}
