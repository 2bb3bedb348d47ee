package ping

import (
	"fmt"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// Checks returns one check per target that has had an echo judged:
// "ping.target.<name>" for a VPC target, "ping.link.<link>" for a link's
// Amazon peer address, "ping.link.<link>.ipv6" for the Amazon address of a
// dual-stack link's IPv6 peering.
func (p *Probe) Checks() []probes.CheckResult {
	var out []probes.CheckResult
	for _, t := range p.snapshot() {
		t.mu.Lock()
		tr := t.tr
		known, up, consecutive := tr.known, tr.up, tr.consecutive
		downSince, lastReply, lastRTT, judged := tr.downSince, tr.lastReply, tr.lastRTT, tr.lastJudged
		jitter := tr.jitter.value()
		lost, n := tr.recentLoss()
		addr, sendErr := t.addr, t.sendErr
		t.mu.Unlock()
		if !known {
			continue
		}
		s := t.spec
		r := probes.CheckResult{Name: "ping.target." + s.name, Order: probes.OrderPing, Link: s.link, Time: judged}
		what := fmt.Sprintf("target %s (%s)", s.name, s.host)
		if s.link != "" {
			r.Name = "ping.link." + s.link
			what = fmt.Sprintf("link %s's Amazon peer address %s", s.link, s.host)
			if s.family == probes.FamilyIPv6 {
				r.Name += ".ipv6"
				what = fmt.Sprintf("link %s's Amazon IPv6 peer address %s", s.link, s.host)
			}
			if s.probeSource {
				what += fmt.Sprintf(" (from the link's probe source %s, so that the replies return over it)", s.source)
			}
		}
		if addr.IsValid() && addr.String() != s.host {
			what = fmt.Sprintf("target %s (%s, %s)", s.name, s.host, addr)
		}
		window := fmt.Sprintf("%d of the last %d echoes lost (%.0f%%)", lost, n, 100*float64(lost)/float64(n))
		switch {
		case !up:
			r.Status = probes.Fail
			last := "never answered"
			if !lastReply.IsZero() {
				last = "last reply " + lastReply.UTC().Format(time.RFC3339)
			}
			r.Reason = fmt.Sprintf("%s does not answer: %d consecutive echoes lost since %s, %s; %s",
				what, consecutive, downSince.UTC().Format(time.RFC3339), window, last)
			if sendErr != nil {
				r.Reason += "; sending fails: " + sendErr.Error()
			}
			r.Fix = fixFor(s, sendErr)
		case lost*20 > n:
			r.Status = probes.Warn
			r.Reason = fmt.Sprintf("%s answers but %s; RTT %v, jitter %v", what, window, lastRTT.Round(time.Microsecond), jitter.Round(time.Microsecond))
			r.Fix = "look for congestion or errors on the link (interface counters, the Direct Connect connection's CloudWatch metrics) and for rate limiting of ICMP on the path"
		default:
			r.Status = probes.Pass
			r.Reason = fmt.Sprintf("%s answers: RTT %v, jitter %v, %s", what, lastRTT.Round(time.Microsecond), jitter.Round(time.Microsecond), window)
		}
		out = append(out, r)
	}
	return out
}

// fixFor says what to do about a target that does not answer.
func fixFor(s targetSpec, sendErr error) string {
	if sendErr != nil && isRouteError(sendErr) {
		if s.link != "" {
			return fmt.Sprintf("dxwatch's host has no route to %s, link %s's Amazon peer address: give the host a route to the link's peer /30 (or a default route) via the edge router that holds link %s, "+
				"and check that the edge router's interface for the link is up with its customer address", s.host, s.link, s.link)
		}
		return fmt.Sprintf("the agent has no route to %s: check that the edge router receives the VPC prefix over BGP (bgp checks) and that the agent's routes point to the edge router", s.host)
	}
	if s.link != "" && s.probeSource {
		return fmt.Sprintf("the echoes leave from link %s's probe source %s: check that the address is on dxwatch's host, that the edge router routes %s/32 to dxwatch's host "+
			"and advertises it to AWS over link %s only (its virtual interface's accepted routes list it; the other links' do not: docs/probe-sources.md), "+
			"then the connection and virtual interface of the link (aws checks)", s.link, s.source, s.source, s.link)
	}
	if s.link != "" {
		return fmt.Sprintf("check the connection and virtual interface of link %s (aws checks), the VLAN and peer addresses of the edge router's interface for this link, "+
			"and that the agent's on-premises prefix is advertised to AWS over this link so that the reply can come back", s.link)
	}
	return "allow ICMP echo request from the on-premises CIDR in the instance's security group inbound rules; " +
		"allow ICMP both ways in the subnet's network ACL (NACLs are stateless: echo request in, echo reply out); " +
		"enable route propagation from the virtual private gateway on the VPC's route tables; " +
		"and check that the VPC prefix is received over a link (bgp checks) and the on-premises prefix advertised to AWS"
}
