package agent_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/history"
	"github.com/dxwatch/dxwatch/agent/report"
	"github.com/dxwatch/dxwatch/lab"
)

// TestLabReport runs the dxwatch binary in the lab with its ledger on disk,
// cuts and restores the primary (carrier), then cuts both links silently
// for a few seconds, and reads the month so far from /api/report (the code
// `dxwatch report` runs): the primary's outage is there, its IPv4
// peering's with the length fping measured toward the primary's IPv4
// Amazon peer at the same time, within one probe interval plus fping's
// period; the double cut is there as the site's outage; each incident
// carries the evidence recorded with it.
func TestLabReport(t *testing.T) {
	l, c := labAgentBinary(t, lab.Options{Edge: lab.EdgeOne}, labConfig)
	c.waitFor(60*time.Second, "primary active", c.active("primary"))
	bothUp := func() bool { return c.linkState("primary", "up")() && c.linkState("secondary", "up")() }
	c.waitFor(30*time.Second, "both links up", bothUp)

	// 1. The primary, cut and restored, with fping toward its Amazon peer:
	// the address dxwatch's pinned echoes probe.
	fp := startFping(t, l, lab.PrimaryAmazon)
	cut1 := time.Now()
	if err := l.Cut(lab.LinkPrimary, false); err != nil {
		t.Fatal(err)
	}
	c.waitFor(10*time.Second, "primary down", c.linkState("primary", "down"))
	time.Sleep(3 * time.Second)
	if err := l.Restore(lab.LinkPrimary); err != nil {
		t.Fatal(err)
	}
	c.waitFor(60*time.Second, "primary up again", c.linkState("primary", "up"))
	fpRes := fp.stop(t)
	t.Logf("fping -l -D -p 10 toward %s: %s", lab.PrimaryAmazon, fpRes)
	c.waitFor(60*time.Second, "both links up before the double cut", bothUp)

	// 2. Both links cut silently (carrier up, packets dropped) for a few
	// seconds: no link carries traffic.
	cut2 := time.Now()
	for _, link := range []string{lab.LinkPrimary, lab.LinkSecondary} {
		if err := l.Cut(link, true); err != nil {
			t.Fatal(err)
		}
	}
	c.waitFor(15*time.Second, "both links down", func() bool {
		return c.linkState("primary", "down")() && c.linkState("secondary", "down")()
	})
	time.Sleep(3 * time.Second)
	for _, link := range []string{lab.LinkPrimary, lab.LinkSecondary} {
		if err := l.Restore(link); err != nil {
			t.Fatal(err)
		}
	}
	restored2 := time.Now()
	c.waitFor(90*time.Second, "both links up after the double cut", bothUp)

	code, body := c.get("/api/report")
	if code != 200 {
		t.Fatalf("/api/report answered %d: %s", code, body)
	}
	var rep report.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("/api/report: %v", err)
	}
	_, md := c.get("/api/report?format=markdown")
	t.Logf("the month so far:\n%s", md)

	var primary, site []report.Incident
	for _, inc := range rep.Incidents {
		switch {
		case inc.Scope == report.SiteScope:
			site = append(site, inc)
		case inc.Scope == report.LinkScope && inc.Link == "primary":
			primary = append(primary, inc)
		}
	}
	if len(primary) != 2 {
		t.Fatalf("%d incidents of the primary, want 2 (the carrier cut, the double cut): %+v", len(primary), primary)
	}
	p := primary[0]
	if p.Start.Before(cut1.Truncate(time.Second)) || p.Start.After(cut2) || p.Ongoing {
		t.Errorf("the primary's first outage %s–%s: want it after the cut at %s, ended", p.Start, p.End, cut1)
	}
	// The report dates the outage by dxwatch's judgment: from the evidence
	// that took the link down (here the BGP session down, seen by BMP at
	// once; or down_after lost echoes) to the echo that cleared it. fping
	// dates it by the sends of its last echo answered before and its first
	// answered after. Each end agrees within dxwatch's probe interval plus
	// fping's period, plus the time a reply takes to arrive and be
	// processed (dxwatch dates a reply when its receiving goroutine reads
	// it, fping by the send): up to 25 ms on this shared, loaded machine.
	// Measured: the start 14-22 ms, the end 104-119 ms after fping's (the
	// end is dxwatch's first answered echo after the restore, up to one
	// interval after fping's first).
	//
	// The lab is dual-stack: the link as a whole is down while both its
	// peerings are, and back as soon as one is; fping toward the IPv4
	// Amazon peer measures the IPv4 peering. So fping's outage is held
	// against the IPv4 peering's (its link_state events, which the ledger
	// records and the report's "primary IPv4" row counts), and the link's
	// outage must lie within it, starting with it.
	run := fpRes.Longest()
	const arrival = 25 * time.Millisecond
	within := labPingInterval + fpRes.Period() + arrival
	var v4Down, v4Up time.Time
	for _, e := range c.eventsSince(0) {
		if e.Kind != "link_state" || e.Link != "primary" || e.Family != "ipv4" || e.Time.Before(cut1) || e.Time.After(cut2) {
			continue
		}
		switch {
		case e.State == "down" && v4Down.IsZero():
			v4Down = e.Time
		case e.State != "down" && !v4Down.IsZero() && v4Up.IsZero():
			v4Up = e.Time
		}
	}
	startDiff, endDiff := v4Down.Sub(run.Before), v4Up.Sub(run.After)
	t.Logf("the primary's outage: report %s – %s (%.3f s); its IPv4 peering %s – %s; fping %s – %s (%.3f s, %d lost): IPv4 start %+.3f s, end %+.3f s apart",
		p.Start.Format("15:04:05.000"), p.End.Format("15:04:05.000"), time.Duration(p.Duration).Seconds(), v4Down.Format("15:04:05.000"), v4Up.Format("15:04:05.000"),
		run.Before.Format("15:04:05.000"), run.After.Format("15:04:05.000"), run.Outage().Seconds(), run.Lost, startDiff.Seconds(), endDiff.Seconds())
	if v4Down.IsZero() || v4Up.IsZero() || startDiff.Abs() > within || endDiff.Abs() > within {
		t.Errorf("the primary's IPv4 peering's outage starts %+.3f s and ends %+.3f s from fping's: more than dxwatch's interval (%s) plus fping's period (%s) plus %s for the reply's arrival",
			startDiff.Seconds(), endDiff.Seconds(), labPingInterval, fpRes.Period().Round(time.Microsecond), arrival)
	}
	if d := p.Start.Sub(run.Before); d.Abs() > within || p.End.After(v4Up) {
		t.Errorf("the primary's outage %s–%s: want it to start with fping's (%+.3f s apart) and end no later than its IPv4 peering's (%s)",
			p.Start, p.End, d.Seconds(), v4Up)
	}
	for _, row := range rep.Peerings {
		if row.Name == "primary/ipv4" && row.Down < report.Seconds(v4Up.Sub(v4Down)) {
			t.Errorf("the report's primary IPv4 row counts %s down, less than its outage %s", time.Duration(row.Down), v4Up.Sub(v4Down))
		}
	}
	if len(p.Records) == 0 || p.Records[0].Evidence == nil || len(p.Records[0].Evidence.Reasons) == 0 || p.Cause == "" || p.ConnectionIDs[0] == "" {
		t.Errorf("the primary's outage has no cause, IDs or evidence: %+v", p)
	} else if !failing(p.Records[0].Evidence) {
		t.Errorf("the evidence of the primary's outage shows nothing failing: %+v", p.Records[0].Evidence)
	}

	if len(site) != 1 {
		t.Fatalf("%d site incidents, want 1 (the double cut): %+v", len(site), site)
	}
	s := site[0]
	d := time.Duration(s.Duration)
	if s.Start.Before(cut2.Truncate(time.Second)) || s.End.After(restored2.Add(30*time.Second)) || d < time.Second || d > restored2.Sub(cut2)+30*time.Second {
		t.Errorf("site outage %s–%s (%s): want it within the double cut %s–%s", s.Start, s.End, d, cut2, restored2)
	}
	if len(s.Records) < 2 {
		t.Errorf("the site's outage carries %d links' down records, want both", len(s.Records))
	}
	for _, r := range s.Records {
		if r.Evidence == nil || !failing(r.Evidence) {
			t.Errorf("the site's outage: %s's down record at %s shows nothing failing: %+v", r.Link, r.Time, r.Evidence)
		}
	}
	if st := rep.SiteTotals; st.Down <= 0 || st.Incidents != 1 || st.Percent == nil {
		t.Errorf("site totals %+v: want the double cut as its only downtime", st)
	}
}

// failing reports whether the evidence shows something failing: a BGP
// session, prefix or AWS check not ok, or an echo lost.
func failing(ev *history.Evidence) bool {
	for _, f := range ev.Facts {
		if !f.OK {
			return true
		}
	}
	for _, e := range ev.Echoes {
		if e.Lost > 0 {
			return true
		}
	}
	return false
}
