package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/agent/history"
)

// stamp is how the report writes an instant: UTC to the second.
const stamp = "2006-01-02 15:04:05Z"

// WriteMarkdown writes the report for a person and for an SLA claim:
// the summary against the target, the availability per link, each
// incident with what dxwatch saw, and the time excluded and why.
func (r *Report) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }

	p("# Direct Connect availability of site %s, %s\n\n", r.Site, r.rangeName())
	p("From %s to %s (UTC), as dxwatch on the site's on-premises side judged it, from its ledger.\n", r.From.Format(stamp), r.To.Format(stamp))
	if r.End.Before(r.To) {
		p("**So far**: up to %s; the rest of the range is still to come and is not counted.\n", r.End.Format(stamp))
	}
	if r.DXGatewayID != "" {
		p("Direct Connect gateway: `%s`.\n", r.DXGatewayID)
	}
	p("\n## Summary\n\n")
	s := r.SiteTotals
	switch {
	case s.Percent == nil:
		p("Site availability: **not known**: dxwatch observed none of the range (see the excluded time below). The target is %s %%.\n\n", pct(r.TargetPercent))
	default:
		verdict := "met"
		if s.Met != nil && !*s.Met {
			verdict = "NOT met"
		}
		p("Site availability: **%s %%** against a target of %s %%: **%s**.\n\n", pct(*s.Percent), pct(r.TargetPercent), verdict)
		p("- The site was down (no link carrying traffic) for %s in %s; the target allows %s.\n", dur(s.Down), count(s.Incidents, "incident"), dur(*s.Allowed))
		p("- Counting the %s dxwatch did not observe as down, the availability would be %s %% (its lower bound).\n", dur(s.NotObserved), pct(*s.LowerBound))
		p("- Excluded from availability: drills %s, declared maintenance %s, not observed %s.\n\n", dur(s.Drill), dur(s.Maintenance), dur(s.NotObserved))
	}
	p("| | connection | VIF | availability | lower bound | up | down | not observed | drills | maintenance | incidents |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|\n")
	rows := []Totals{s}
	for _, l := range r.Links {
		rows = append(rows, l)
		for _, pt := range r.Peerings {
			if pt.Link == l.Name {
				rows = append(rows, pt)
			}
		}
	}
	for _, t := range rows {
		name := "**site**"
		if t.Name != SiteScope {
			name = r.scopeName(t.Name)
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", name, code(t.ConnectionID), code(t.VIFID), pctOrNone(t.Percent), pctOrNone(t.LowerBound),
			dur(t.Up), dur(t.Down), dur(t.NotObserved), dur(t.Drill), dur(t.Maintenance), t.Incidents)
	}
	p("\nAvailability is up ÷ (up + down): a link is up while dxwatch judged its data plane up, the site while any link is; drills, declared maintenance and time not observed are left out and listed below, never counted as up.\n")
	if len(r.Peerings) > 0 {
		p("\nA dual-stack link has a row per peering (IPv4, IPv6), each judged on its own family's evidence: a peering is up while its family's traffic could cross the link. ")
		p("The link counts as up while any of its peerings is (one peering down leaves it degraded, still carrying traffic), and the site's availability is the links'. ")
		p("A peering's outage is listed as an incident of its own when the peering was down for a second or more while the link as a whole was not; otherwise (both peerings down together) the link's incident tells it. ")
		p("A peering's excluded time is listed below only where it differs from its link's.\n")
	}

	p("\n## Incidents\n\n")
	if len(r.Incidents) == 0 {
		p("None: no link and not the site was seen down outside the excluded time.\n")
	}
	for i, inc := range r.Incidents {
		what := "Site down: no link carried traffic"
		switch inc.Scope {
		case LinkScope:
			what = "Link " + inc.Link + " down"
		case PeeringScope:
			what = "Link " + inc.Link + ": its " + familyName(inc.Family) + " peering down"
		}
		p("### %d. %s, %s – %s (%s)\n\n", i+1, what, inc.Start.Format(stamp), inc.End.Format(stamp), dur(inc.Duration))
		if inc.Ongoing {
			p("**Still down when the report ends.**\n\n")
		}
		p("- Resources: connection %s, VIF %s", codes(inc.ConnectionIDs), codes(inc.VIFIDs))
		if inc.DXGatewayID != "" {
			p(", DX gateway %s", code(inc.DXGatewayID))
		}
		p(".\n- Down for %s", dur(inc.Down))
		if inc.NotObserved > 0 {
			p("; within it, %s not observed (dxwatch stopped or restarted during the outage, and saw it down on both sides)", dur(inc.NotObserved))
		}
		p(".\n")
		if inc.LinkUp != nil && inc.LinkDown != nil {
			p("- Link %s as a whole was up (degraded: its other peering carried traffic) for %s of it and down for %s.\n", inc.Link, dur(*inc.LinkUp), dur(*inc.LinkDown))
		}
		p("- Cause dxwatch gave: %s\n", inc.Cause)
		p("- The evidence points to: **%s**: %s\n", inc.Side, sentence(inc.SideWhy))
		for _, t := range inc.Records {
			writeEvidence(p, t)
		}
		p("\n")
	}

	p("## Excluded time\n\n")
	if len(r.Exclusions) == 0 {
		p("None: dxwatch observed every second of the range, with no drill and no declared maintenance.\n")
	} else {
		p("| kind | of | from | to | duration | why |\n|---|---|---|---|---|---|\n")
		ex := r.Exclusions
		for i := 0; i < len(ex); {
			// One row for the scopes that share a window and its reason.
			e, scopes := ex[i], []string{ex[i].Scope}
			j := i + 1
			for ; j < len(ex) && ex[j].Kind == e.Kind && ex[j].From.Equal(e.From) && ex[j].To.Equal(e.To) && ex[j].Reason == e.Reason; j++ {
				scopes = append(scopes, ex[j].Scope)
			}
			for k, sc := range scopes {
				scopes[k] = r.scopeName(sc)
			}
			of := strings.Join(scopes, ", ")
			if len(scopes) == len(r.Links)+1 {
				of = "site and every link"
			}
			p("| %s | %s | %s | %s | %s | %s |\n", strings.ReplaceAll(string(e.Kind), "_", " "), of, e.From.Format(stamp), e.To.Format(stamp), dur(e.Duration), cell(e.Reason))
			i = j
		}
	}
	for _, n := range r.Notes {
		p("\nNote: %s\n", n)
	}
	p("\n## How this was measured\n\n")
	p("dxwatch runs on the site's on-premises network. It judges each link from the BGP sessions its edge router holds with AWS (seen by BMP) and the routes received over them, ICMP echoes pinned to the link's Amazon peer and to VPC targets, traceroutes, and AWS's Direct Connect API and CloudWatch, and records every change of a link's state with a snapshot of that evidence, and a heartbeat every minute. ")
	p("A link counts as down from the second dxwatch judged it down (the observation that took it down) to the second it judged it up again; the site, while every link was down. ")
	p("Times are UTC, to the second.\n")
	return b.Flush()
}

// writeEvidence writes what dxwatch recorded with one change to down.
func writeEvidence(p func(string, ...any), t Transition) {
	who := t.Link
	if t.Family != "" {
		who += "'s " + familyName(t.Family) + " peering"
	}
	p("- What dxwatch saw when %s went down at %s:\n", who, t.Time.Format(stamp))
	ev := t.Evidence
	if ev == nil {
		p("  - no evidence was recorded with the change\n")
		return
	}
	for _, r := range ev.Reasons {
		p("  - rule: %s\n", r)
	}
	for _, f := range ev.Facts {
		state := "ok"
		if !f.OK {
			state = "failing"
		}
		p("  - %s %s", source(f.Source), f.Name)
		if f.Family != "" {
			p(" (%s)", familyName(f.Family))
		}
		p(": %s", state)
		if f.Detail != "" {
			p(" (%s)", f.Detail)
		}
		if !f.Time.IsZero() {
			p(", seen %s", f.Time.UTC().Format(stamp))
		}
		p("\n")
	}
	for _, e := range ev.Echoes {
		kind := "the link's Amazon peer"
		if e.Kind == history.EchoVPCTarget {
			kind = "VPC target"
		}
		p("  - echoes to %s (%s): %d sent, %d lost, %d lost in a row", e.Target, kind, e.Sent, e.Lost, e.ConsecutiveLost)
		if e.LastReply != nil {
			p(", last reply %s", e.LastReply.UTC().Format(stamp))
		}
		p("\n")
	}
	for _, s := range ev.Timeline {
		p("  - %s %s", s.Time.UTC().Format(stamp), strings.ReplaceAll(s.What, "_", " "))
		if s.Link != "" {
			p(" %s", s.Link)
		}
		if s.Target != "" {
			p(" %s", s.Target)
		}
		if s.Detail != "" {
			p(": %s", s.Detail)
		}
		p("\n")
	}
	if ev.Truncated {
		p("  - (the snapshot was cut to its 8 KiB bound)\n")
	}
}

func source(s string) string {
	switch s {
	case "bgp_session":
		return "BGP session"
	case "bgp_prefix":
		return "expected prefix"
	case "aws":
		return "AWS check"
	}
	return s
}

// scopeName writes a scope of the report: a link's or the site's name,
// or a peering's "primary IPv6".
func (r *Report) scopeName(name string) string {
	for _, pt := range r.Peerings {
		if pt.Name == name {
			return pt.Link + " " + familyName(pt.Family)
		}
	}
	return name
}

// rangeName is "November 2026" for a calendar month, else the range.
func (r *Report) rangeName() string {
	if r.From.Day() == 1 && r.From.Equal(monthStart(r.From)) && r.To.Equal(r.From.AddDate(0, 1, 0)) {
		return r.From.Format("January 2006")
	}
	return r.From.Format(stamp) + " to " + r.To.Format(stamp)
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// pct writes a percentage to four decimals at most, rounded down: a
// report never shows more availability than there was (99.99996 is
// 99.9999, not 100).
func pct(v float64) string {
	s := fmt.Sprintf("%.4f", math.Floor(v*1e4)/1e4)
	return strings.TrimRight(strings.TrimRight(s, "0"), ".")
}

func pctOrNone(v *float64) string {
	if v == nil {
		return "–"
	}
	return pct(*v) + " %"
}

// dur writes a duration to the second: 1 d 2 h 3 min 4 s.
func dur(d Seconds) string {
	s := int64(time.Duration(d).Round(time.Second) / time.Second)
	if s == 0 {
		if d > 0 {
			return "< 1 s"
		}
		return "0 s"
	}
	var parts []string
	for _, u := range []struct {
		n    int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}} {
		if s >= u.n {
			parts = append(parts, fmt.Sprintf("%d %s", s/u.n, u.name))
			s %= u.n
		}
	}
	return strings.Join(parts, " ")
}

// count writes n things: 1 incident, 2 incidents.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func code(s string) string {
	if s == "" {
		return "–"
	}
	return "`" + s + "`"
}

func codes(list []string) string {
	if len(list) == 0 {
		return "–"
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = code(s)
	}
	return strings.Join(out, " and ")
}

func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// sentence ends s with a full stop.
func sentence(s string) string {
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}
