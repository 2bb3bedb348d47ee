package agent

import (
	"fmt"
	"strings"

	"github.com/dxwatch/dxwatch/probes"
)

// One broken piece fails more than one check: a primary BGP session that
// never comes up also leaves the primary without routes, its Amazon peer
// without a return path for pings, the traffic on the secondary and the
// routing intent unmet. explain finds the root of each such chain, keeps
// it failing with its fix, and turns the failures that follow from it into
// warnings that name it (CheckResult.Because), so that a report has one
// failing line per broken piece.

// linkChain lists a link's checks from the most fundamental up ("%s" is
// the link's name): the first failing one explains the failures of the
// ones after it.
var linkChain = []string{
	"aws.connection.%s.state",
	"aws.vif.%s.state",
	"aws.vif.%s.config",
	"aws.vif.%s.bgp",
	"bgp.dx_session.%s",
	"aws.vif.%s.routes",
	"bgp.prefix.%s",
	"ping.link.%s",
	"health.link.%s",
}

// peeringChain lists the checks of a dual-stack link's IPv6 peering ("%s"
// is the link's name), from the most fundamental up. A failure of the
// link's chain explains them (a cut takes both families); else the first
// failing one is the peering's root: it explains the rest of the peering's
// chain and the link's health verdict (a link whose IPv6 peering is down
// is degraded), and never an IPv4 check.
var peeringChain = []string{
	"aws.vif.%s.config.ipv6",
	"aws.vif.%s.bgp.ipv6",
	"aws.cloudwatch.%s.bgp.ipv6",
	"bgp.dx_session.%s.ipv6",
	"aws.vif.%s.routes.ipv6",
	"bgp.prefix.%s.ipv6",
	"ping.link.%s.ipv6",
}

// acrossLinks are checks judged over every link (name prefixes): a link
// whose chain fails explains their failures.
var acrossLinks = []string{
	"aws.routing.return_path",
	"aws.route_table.", // the propagated on-prem route goes with the VIFs' BGP
	"bgp.intent.primary_preferred",
	"trace.target.",
	"health.active",
}

// allLinks are checks (name prefixes) that fail only when no link works:
// explained when every link's chain fails.
var allLinks = []string{"ping.target."}

// explain returns rs with the failures that follow from another failing
// check turned into warnings naming it, and the fixes of what remains
// narrowed by what passed. rs is not modified.
func explain(rs []probes.CheckResult, links []string) []probes.CheckResult {
	out := make([]probes.CheckResult, len(rs))
	copy(out, rs)
	byName := map[string]int{}
	for i, r := range out {
		byName[r.Name] = i
	}
	failing := func(name string) bool {
		i, ok := byName[name]
		return ok && out[i].Status == probes.Fail && out[i].Because == ""
	}
	follows := func(i int, root string) {
		r := &out[i]
		if (r.Status != probes.Fail && r.Status != probes.Warn) || r.Because != "" || r.Name == root {
			return
		}
		r.Status, r.Because = probes.Warn, root
		r.Reason = fmt.Sprintf("%s (follows from %s)", r.Reason, root)
		r.Fix = "fix " + root + " first"
	}

	// Each link's chain: the first failure is the root. A failure of the
	// link's IPv6 peering's chain, found first, explains the link's
	// health verdict when nothing before it in the link's chain fails.
	roots := map[string]string{}        // link -> its root check
	peeringRoots := map[string]string{} // link -> its IPv6 peering's root check
	for _, link := range links {
		peeringRoot := ""
		for _, pat := range peeringChain {
			if name := fmt.Sprintf(pat, link); failing(name) {
				peeringRoot = name
				break
			}
		}
		for _, pat := range linkChain {
			name := fmt.Sprintf(pat, link)
			if _, ok := roots[link]; !ok && pat == "health.link.%s" && peeringRoot != "" {
				if i, ok := byName[name]; ok {
					follows(i, peeringRoot)
				}
				continue
			}
			if _, ok := roots[link]; ok {
				if i, ok := byName[name]; ok {
					follows(i, roots[link])
				}
			} else if failing(name) {
				roots[link] = name
			}
		}
		root := roots[link]
		if root == "" {
			root = peeringRoot
			peeringRoots[link] = peeringRoot
		}
		for _, pat := range peeringChain {
			if i, ok := byName[fmt.Sprintf(pat, link)]; ok && root != "" {
				follows(i, root)
			}
		}
	}
	// Route tables: propagation off explains the missing route.
	for i, r := range out {
		if t, ok := strings.CutSuffix(r.Name, ".routes"); ok && strings.HasPrefix(r.Name, "aws.route_table.") && failing(t+".propagation") {
			follows(i, t+".propagation")
		}
	}
	// Checks across links follow a link's root, the primary's first; with
	// no link broken, an IPv6 peering's (the traffic of that family moved).
	root := ""
	for _, rs := range []map[string]string{roots, peeringRoots} {
		for _, l := range links {
			if root == "" && rs[l] != "" {
				root = rs[l]
			}
		}
	}
	if root != "" {
		for i, r := range out {
			if hasAnyPrefix(r.Name, acrossLinks) || (len(roots) == len(links) && hasAnyPrefix(r.Name, allLinks)) {
				follows(i, root)
			}
		}
	}
	narrowPing(out, byName)
	return out
}

// narrowPing sharpens the fix of a VPC target that does not answer ping
// while a trace reaches it: routing works both ways, so only ICMP echo is
// filtered.
func narrowPing(out []probes.CheckResult, byName map[string]int) {
	for i, r := range out {
		target, ok := strings.CutPrefix(r.Name, "ping.target.")
		if !ok || r.Status != probes.Fail || r.Because != "" {
			continue
		}
		j, ok := byName["trace.target."+target]
		if !ok || (out[j].Status != probes.Pass && out[j].Status != probes.Warn) {
			continue
		}
		out[i].Fix = fmt.Sprintf("the trace to %s reaches it (%s), so the route works both ways and only ICMP echo is dropped: "+
			"allow ICMP echo request from the on-premises CIDR in the inbound rules of the instance's security group, "+
			"ICMP both ways in the subnet's network ACL (stateless: echo request in, echo reply out), "+
			"and ICMP in the instance's own firewall (iptables/nftables, Windows Firewall)", target, out[j].Name)
	}
}

// linkNames returns the site's link names, the primary first.
func linkNames(site probes.Site) []string {
	names := []string{}
	if site.Routing.Primary != "" {
		names = append(names, site.Routing.Primary)
	}
	for _, l := range site.Links {
		if l.Name != site.Routing.Primary {
			names = append(names, l.Name)
		}
	}
	return names
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
