// What the agent needs to know of the aws kind besides its Config.

package aws

import "github.com/dxwatch/dxwatch/probes"

// Order places the AWS checks (connections first) in the turn-up checklist.
const Order = probes.OrderConnection

// Skipped lists the checklist parts left out without an aws section
// (present).
func Skipped(present bool) []probes.SkippedPart {
	if present {
		return nil
	}
	return []probes.SkippedPart{{Name: Kind, Reason: "no aws section: connections, virtual interfaces, gateways and route propagation were not checked",
		Fix: "add an aws section with the regions and the Direct Connect gateway ID (docs/configuration.md), and read-only credentials (deploy/iam-policy.json)"}}
}
