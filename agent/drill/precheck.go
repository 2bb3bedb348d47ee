package drill

import (
	"fmt"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/probes"
)

// Pre-check names.
const (
	CheckLinksUp           = "drill.links_up"
	CheckPrimaryActive     = "drill.primary_active"
	CheckSecondaryPrefixes = "drill.secondary_prefixes"
	CheckQuiet             = "drill.no_recent_failover"
	CheckConfirmed         = "drill.confirmed"
	CheckMethod            = "drill.method"
)

// PreChecks evaluates whether a drill may start: every link up, the
// primary carrying the traffic, the secondary carrying every expected
// prefix, no failover within o.Quiet, the caller's confirmation. A failing
// check refuses the drill.
func PreChecks(site probes.Site, st health.Status, events []health.Event, now time.Time, o Options) []probes.CheckResult {
	o.defaults()
	primary, secondary := roles(site)
	var out []probes.CheckResult
	add := func(name string, status probes.CheckStatus, reason, fix string) {
		out = append(out, probes.CheckResult{Name: name, Status: status, Reason: reason, Fix: fix, Time: now})
	}

	switch {
	case o.Method == nil:
		add(CheckMethod, probes.Fail, "no way to fail the primary over", "pass --method aws (StartBgpFailoverTest on the primary VIF) or --lab <dir>")
	default:
		add(CheckMethod, probes.Pass, "the primary is failed over with "+o.Method.Name(), "")
	}

	var notUp []string
	for _, l := range st.Links {
		if l.State != health.StateUp {
			why := string(l.State)
			if len(l.Reasons) > 0 {
				why += ": " + strings.Join(l.Reasons, "; ")
			}
			notUp = append(notUp, l.Name+" is "+why)
		}
	}
	switch {
	case len(st.Links) < 2 || primary == "" || secondary == "":
		add(CheckLinksUp, probes.Fail, fmt.Sprintf("a drill needs a primary and a secondary link; the site has %d", len(st.Links)), "configure both links with their roles")
	case len(notUp) > 0:
		add(CheckLinksUp, probes.Fail, strings.Join(notUp, "; "), "fix the link first (dxwatch verify): failing over onto a link that is not up cuts the traffic")
	default:
		add(CheckLinksUp, probes.Pass, "every link is up", "")
	}

	switch {
	case st.InProgress != nil:
		add(CheckPrimaryActive, probes.Fail, "a failover is in progress", "wait until it is over")
	case !st.ActiveKnown:
		add(CheckPrimaryActive, probes.Fail, "which link carries the traffic is not known: nothing to measure a failover against",
			"configure VPC targets and the trace or bgp probe so dxwatch can tell the active link")
	case len(st.Active) != 1 || st.Active[0] != primary:
		add(CheckPrimaryActive, probes.Fail, fmt.Sprintf("the traffic crosses %s, not the primary %s alone", strings.Join(st.Active, "+"), primary),
			"a drill starts from the primary carrying the traffic; in active/active mode the failover moves part of it only")
	default:
		add(CheckPrimaryActive, probes.Pass, "the primary "+primary+" carries the traffic", "")
	}

	add(secondaryPrefixes(site, st, secondary, now))

	var recent *health.Event
	for i := range events {
		e := &events[i]
		if e.Kind != health.KindLinkState && now.Sub(e.Time) < o.Quiet {
			recent = e
		}
	}
	if recent != nil {
		add(CheckQuiet, probes.Fail, fmt.Sprintf("a %s %s → %s happened %s ago, within %s", recent.Kind,
			strings.Join(recent.From, "+"), strings.Join(recent.To, "+"), now.Sub(recent.Time).Round(time.Second), o.Quiet),
			"wait, or lower --quiet if the network has settled")
	} else {
		add(CheckQuiet, probes.Pass, fmt.Sprintf("no failover in the last %s", o.Quiet), "")
	}

	switch {
	case o.Yes || o.DryRun:
		add(CheckConfirmed, probes.Pass, map[bool]string{true: "dry run: nothing will be failed over", false: "confirmed with --yes"}[o.DryRun], "")
	default:
		add(CheckConfirmed, probes.Fail, "a drill cuts the primary link: it needs --yes", "rehearse with --dry-run, then run again with --yes in a change window")
	}
	return out
}

func secondaryPrefixes(site probes.Site, st health.Status, secondary string, now time.Time) (string, probes.CheckStatus, string, string) {
	l := linkStatus(st, secondary)
	if len(site.Routing.ExpectedPrefixes) == 0 {
		return CheckSecondaryPrefixes, probes.Skip, "no expected prefixes configured", "list the VPC CIDRs under routing.expected_prefixes"
	}
	have := map[string]bool{}
	seen := false
	if l != nil {
		for _, e := range l.Evidence {
			if e.Source == "bgp_prefix" {
				seen = true
				if e.OK && e.Fresh {
					have[e.Name] = true
				}
			}
		}
	}
	if !seen && len(st.Feeds) == 0 {
		return CheckSecondaryPrefixes, probes.Skip,
			"no BGP feed configured: dxwatch cannot confirm that the secondary carries the expected prefixes", "add the bgp section (a session with the edge router) to check this"
	}
	var missing []string
	for _, p := range site.Routing.ExpectedPrefixes {
		if !have[p.String()] {
			missing = append(missing, p.String())
		}
	}
	if len(missing) > 0 {
		return CheckSecondaryPrefixes, probes.Fail, fmt.Sprintf("the secondary %s does not carry %s", secondary, strings.Join(missing, ", ")),
			"check the secondary VIF's routes (DX gateway allowed prefixes, the edge router's inbound policy): after the failover these prefixes would be unreachable"
	}
	return CheckSecondaryPrefixes, probes.Pass, fmt.Sprintf("the secondary %s carries every expected prefix", secondary), ""
}
