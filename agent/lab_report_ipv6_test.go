package agent_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/report"
	"github.com/dxwatch/dxwatch/lab"
)

// TestLabReportIPv6Only runs the dxwatch binary in the lab with its
// ledger on disk, drops every IPv6 packet on the primary for a few
// seconds (IPv4 untouched) and reads the month so far from /api/report:
// the outage is an incident of the primary's IPv6 peering, its family
// named, dated exactly as the health model's events date it, and within
// the model's detection (lost echoes) of what fping -6 measured toward
// the primary's Amazon IPv6 peer; the link as a whole and the site have
// no incident, and the report has the primary's peering rows.
func TestLabReportIPv6Only(t *testing.T) {
	l, c := labAgentBinary(t, lab.Options{Edge: lab.EdgeOne}, labConfig)
	c.waitFor(60*time.Second, "IPv6 traffic on the primary", c.familyActive("ipv6", "primary"))
	peeringUp := func() bool {
		p := c.peerings()
		return p.peering("primary", "ipv4") == "up" && p.peering("primary", "ipv6") == "up"
	}
	c.waitFor(30*time.Second, "both peerings of the primary up", peeringUp)

	fp := startFping(t, l, lab.PrimaryAmazon6)
	cut := time.Now()
	if err := l.CutFamily("primary", "ipv6"); err != nil {
		t.Fatal(err)
	}
	c.waitFor(10*time.Second, "the primary's IPv6 peering down", func() bool { return c.peerings().peering("primary", "ipv6") == "down" })
	seenDown := time.Now()
	time.Sleep(3 * time.Second)
	restored := time.Now()
	if err := l.Restore("primary"); err != nil {
		t.Fatal(err)
	}
	c.waitFor(60*time.Second, "the primary's IPv6 peering up again", peeringUp)
	seenUp := time.Now()
	fpRes := fp.stop(t)
	t.Logf("fping -6 -l -D -p 10 toward %s: %s", lab.PrimaryAmazon6, fpRes)

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

	var v6 []report.Incident
	for _, inc := range rep.Incidents {
		if inc.End.Before(cut) {
			continue // before the test's cut: the lab coming up
		}
		if inc.Scope == report.PeeringScope && inc.Link == "primary" && inc.Family == "ipv6" {
			v6 = append(v6, inc)
			continue
		}
		t.Errorf("an IPv6-only cut gave an incident of %s %s %s (%s–%s), want the primary's IPv6 peering's only", inc.Scope, inc.Link, inc.Family, inc.Start, inc.End)
	}
	if len(v6) != 1 {
		t.Fatalf("%d incidents of the primary's IPv6 peering, want 1: %+v", len(v6), v6)
	}
	p := v6[0]
	if p.Start.Before(cut.Add(-time.Second)) || p.Start.After(seenDown) || p.End.Before(restored) || p.End.After(seenUp) || p.Ongoing {
		t.Errorf("the IPv6 outage %s–%s: want it to start after the cut (%s) and by the time it was seen down (%s), and end after the restore (%s) and by the time it was seen up (%s)",
			p.Start, p.End, cut, seenDown, restored, seenUp)
	}
	if p.LinkDown == nil || *p.LinkDown != 0 || p.LinkUp == nil || *p.LinkUp == 0 {
		t.Errorf("within the IPv6 outage the link as a whole was up %v, down %v: want up (degraded), never down", p.LinkUp, p.LinkDown)
	}
	if len(p.Records) == 0 || p.Records[0].Family != "ipv6" || p.Records[0].Evidence == nil || p.Cause == "" {
		t.Errorf("the IPv6 outage has no cause or evidence of its family: %+v", p)
	} else if !failing(p.Records[0].Evidence) && len(p.Records[0].Evidence.Echoes) == 0 {
		t.Errorf("the evidence of the IPv6 outage shows nothing failing and no echoes: %+v", p.Records[0].Evidence)
	}
	// The report dates the outage as the health model did: its IPv6
	// peering's link_state events, recorded in the ledger.
	var down, back time.Time
	for _, e := range c.eventsSince(0) {
		if e.Kind != "link_state" || e.Link != "primary" || e.Family != "ipv6" || e.Time.Before(cut) {
			continue
		}
		t.Logf("event %d: the primary's IPv6 peering %s at %s", e.ID, e.State, e.Time.Format("15:04:05.000"))
		switch {
		case e.State == "down" && down.IsZero():
			down = e.Time
		case e.State != "down" && !down.IsZero() && back.IsZero():
			back = e.Time
		}
	}
	if !p.Start.Equal(down) || !p.End.Equal(back) {
		t.Errorf("the report's IPv6 outage %s–%s, the health model's events %s–%s: want the same instants", p.Start, p.End, down, back)
	}
	// Against fping -6 toward the primary's Amazon IPv6 peer. A silent cut
	// is judged by lost echoes: the model's down comes DownAfter echoes
	// (one per interval, the last lost at its timeout) after fping's last
	// answered send, within that many intervals plus a timeout, fping's
	// period and 25 ms for a reply's arrival on this loaded machine
	// (measured 241-296 ms). The model's up came 362-591 ms after fping's
	// first answered send in six runs, more than its RecoverAfter (3)
	// replies alone explain (about 325 ms); that is the health model's
	// recovery, not analysed here, and the end is held to the report's
	// resolution: within a second, never before fping saw the link back.
	run := fpRes.Longest()
	hc := health.DefaultConfig()
	const arrival = 25 * time.Millisecond
	within := time.Duration(hc.DownAfter)*labPingInterval + labPingInterval + fpRes.Period() + arrival
	startDiff, endDiff := p.Start.Sub(run.Before), p.End.Sub(run.After)
	t.Logf("the IPv6 outage: report %s – %s (%.3f s), fping -6 %s – %s (%.3f s, %d lost): start %+.3f s, end %+.3f s apart",
		p.Start.Format("15:04:05.000"), p.End.Format("15:04:05.000"), time.Duration(p.Duration).Seconds(),
		run.Before.Format("15:04:05.000"), run.After.Format("15:04:05.000"), run.Outage().Seconds(), run.Lost, startDiff.Seconds(), endDiff.Seconds())
	if startDiff < 0 || startDiff > within {
		t.Errorf("the report's IPv6 outage starts %+.3f s from fping's: want within 0 and %s (%d echoes at %s, a timeout, fping's period %s, %s for a reply's arrival)",
			startDiff.Seconds(), within.Round(time.Millisecond), hc.DownAfter, labPingInterval, fpRes.Period().Round(time.Microsecond), arrival)
	}
	if endDiff < 0 || endDiff > time.Second {
		t.Errorf("the report's IPv6 outage ends %+.3f s from fping's: want within 0 and 1 s", endDiff.Seconds())
	}

	rows := map[string]report.Totals{}
	for _, r := range rep.Peerings {
		rows[r.Name] = r
	}
	if v4, v6row := rows["primary/ipv4"], rows["primary/ipv6"]; v4.Family != "ipv4" || v6row.Family != "ipv6" || v6row.Down < p.Down {
		t.Errorf("peering rows %+v: want the primary's IPv4 and IPv6, the IPv6 one down at least %s", rep.Peerings, time.Duration(p.Down))
	}
	if !strings.Contains(string(md), "Link primary: its IPv6 peering down") || !strings.Contains(string(md), "| primary IPv6 |") {
		t.Error("the Markdown report does not name the IPv6 peering's outage and row")
	}
}
