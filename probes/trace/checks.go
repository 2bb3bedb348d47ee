package trace

import (
	"fmt"
	"slices"

	"github.com/dxwatch/dxwatch/probes"
)

// Checks implements probes.Checker: "trace.target.<name>" for every target
// traced so far. It passes when the path crosses the expected link (the
// primary in active/passive, any link in active/active), warns when an
// active/passive path crosses the secondary, and fails when the trace saw no
// Direct Connect hop or did not reach the target.
func (p *Probe) Checks() []probes.CheckResult {
	var out []probes.CheckResult
	for _, path := range p.Paths() {
		out = append(out, evaluate(p.deps.Site, path))
	}
	return out
}

// primaryLink returns the link that carries traffic in active/passive mode.
func primaryLink(site probes.Site) string {
	if site.Routing.Primary != "" {
		return site.Routing.Primary
	}
	for _, l := range site.Links {
		if l.Role == probes.RolePrimary {
			return l.Name
		}
	}
	return ""
}

func evaluate(site probes.Site, path Path) probes.CheckResult {
	c := probes.CheckResult{
		Name:  "trace.target." + path.Target,
		Order: probes.OrderTrace,
		Time:  path.Time,
	}
	if len(path.Links) == 1 {
		c.Link = path.Links[0]
	}
	hops := hopsSeen(path.Hops)
	switch {
	case path.Error != "":
		c.Status = probes.Fail
		c.Reason = fmt.Sprintf("trace to %s could not run: %s", path.Host, path.Error)
		c.Fix = "make the target resolvable and routable from the agent, and give dxwatch CAP_NET_RAW (setcap cap_net_raw+ep)"
	case !path.Reached:
		c.Status = probes.Fail
		c.Reason = fmt.Sprintf("%s trace did not reach %s (%s); hops seen: %s", path.Method, path.Host, path.Result, hops)
		c.Fix = fmt.Sprintf("allow %s from the on-premises network in the instance's security group and network ACL (or set trace.method: tcp), and check the VPC route tables propagate the on-premises prefixes", path.Method)
	case len(path.Links) == 0:
		c.Status = probes.Fail
		c.Reason = fmt.Sprintf("path to %s crosses no Direct Connect link (no hop is a link's Amazon or customer address); hops seen: %s", path.Host, hops)
		c.Fix = "check that the edge router routes the VPC prefixes over the Direct Connect virtual interfaces (BGP routes learned from the Amazon peers) rather than a VPN or internet path"
	case site.Routing.Mode == probes.ModeActiveActive:
		c.Status = probes.Pass
		c.Reason = fmt.Sprintf("path to %s is %s (active/active); hops: %s", path.Host, path.Result, hops)
	default:
		primary := primaryLink(site)
		if slices.Equal(path.Links, []string{primary}) {
			c.Status = probes.Pass
			c.Reason = fmt.Sprintf("path to %s crosses the primary link %s; hops: %s", path.Host, primary, hops)
			break
		}
		c.Status = probes.Warn
		c.Reason = fmt.Sprintf("path to %s is %s, not only the primary link %s (active/passive); hops: %s", path.Host, path.Result, primary, hops)
		c.Fix = fmt.Sprintf("check the AS_PATH prepends on the secondary link and the local preference on the edge router (or the communities 7224:7100/7200/7300 toward AWS) so that %s is preferred both ways; if the primary is down, this is the failover working", primary)
	}
	return c
}
