package agent_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
)

// transitGatewayConfig is labConfig on a Transit Gateway site: each link's
// pinned echoes go from its monitored address (probe_source) to a VPC
// instance (pinned_target), as the peer /30 of a transit VIF is not
// reachable from on-prem.
var transitGatewayConfig = strings.NewReplacer(
	"    vlan: 101\n", "    vlan: 101\n    probe_source: "+lab.PrimaryProbeSource+"\n    pinned_target: "+lab.Instance2+"\n",
	"    vlan: 102\n", "    vlan: 102\n    probe_source: "+lab.SecondaryProbeSource+"\n    pinned_target: "+lab.Instance2+"\n",
).Replace(labConfig)

// TestLabTransitGatewayVerdicts is issue #19's lab acceptance: in the
// lab's Transit Gateway variant (the AWS routers refuse on-prem traffic to
// their peer /30; each edge routes a probe source's traffic over its own
// link) the per-link monitored addresses carry the link verdicts through a
// silent cut, as in the return-path acceptance: a silent primary cut (BFD
// off, BGP up for 90 s) takes the primary down and leaves the secondary
// up; a silent secondary cut takes the secondary down and leaves the
// primary up.
func TestLabTransitGatewayVerdicts(t *testing.T) {
	if err := lab.Available(); err != nil {
		t.Skipf("needs root and the lab: run make test-lab (%v)", err)
	}
	l, c := labAgentBinary(t, lab.Options{NoBFD: true, ProbeSources: true, TransitGateway: true}, transitGatewayConfig)
	settleBoth(t, c)

	secondaryHoldsThroughPrimaryCut(t, l, c)

	if err := l.Cut(lab.LinkSecondary, true); err != nil {
		t.Fatal(err)
	}
	d := c.waitFor(10*time.Second, "secondary down", c.linkState(lab.LinkSecondary, "down"))
	t.Logf("secondary down %s after its silent cut", d.Round(time.Millisecond))
	if st, why := c.status().link(lab.LinkPrimary); st != "up" {
		t.Errorf("primary %s %q, want up", st, why)
	}
	if err := l.Restore(lab.LinkSecondary); err != nil {
		t.Fatal(err)
	}
}

// secondaryHoldsThroughPrimaryCut cuts the primary silently (BGP stays up
// for its 90 s hold time) and wants the primary down and the secondary up
// all along, on its own answered echoes from its probe source; then
// restores the primary.
func secondaryHoldsThroughPrimaryCut(t *testing.T, l *lab.Lab, c *agentClient) {
	t.Helper()
	w := watchLinks(t, c)
	if err := l.Cut(lab.LinkPrimary, true); err != nil {
		t.Fatal(err)
	}
	d := c.waitFor(10*time.Second, "primary down", c.linkState(lab.LinkPrimary, "down"))
	t.Logf("primary down %s after its silent cut", d.Round(time.Millisecond))
	time.Sleep(5 * time.Second) // the secondary's echoes must keep answering
	seen := w.stop()
	if got := seen[lab.LinkSecondary]; !slices.Equal(got, []string{"up"}) {
		t.Errorf("secondary states %v during the primary's silent cut, want only up: its echoes leave from %s and return over it", got, lab.SecondaryProbeSource)
	}
	if err := l.Restore(lab.LinkPrimary); err != nil {
		t.Fatal(err)
	}
	c.waitFor(30*time.Second, "primary up again", c.linkState(lab.LinkPrimary, "up"))
}
