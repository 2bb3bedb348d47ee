package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/history"
	"github.com/dxwatch/dxwatch/lab/golden"
	"github.com/dxwatch/dxwatch/probes"
)

// dualStackSite is site() with an IPv6 peering on the primary's VIF; the
// secondary stays IPv4 only.
func dualStackSite() probes.Site {
	s := site()
	s.Links[0].IPv6 = probes.Peering{Family: probes.FamilyIPv6,
		CustomerAddress: netip.MustParsePrefix("2001:db8:50::2/125"), AmazonAddress: netip.MustParsePrefix("2001:db8:50::1/125")}
	return s
}

func peering(t time.Time, name, family string, st health.State, cause string, facts ...health.Evidence) history.Record {
	r := link(t, name, st, cause, facts...)
	r.Family = family
	if st == health.StateDown && family == probes.FamilyIPv6 {
		r.Evidence.Echoes = []history.Echo{{Target: "2001:db8:50::1", Kind: history.EchoAmazonPeer, Sent: 20, Lost: 5, ConsecutiveLost: 5},
			{Target: "app1-v6", Kind: history.EchoVPCTarget, Sent: 20, Lost: 4, ConsecutiveLost: 4}}
	}
	return r
}

const (
	half     = 500 * time.Millisecond
	v4       = probes.FamilyIPv4
	v6       = probes.FamilyIPv6
	degraded = health.StateDegraded
)

// dualStackMonth is November 2026 on a site whose primary is dual-stack:
// the ledger's first day and a half written by a dxwatch that did not
// record peering states, an IPv6-only outage of 1062 s while the link was
// only degraded, a carrier cut of both families (200 s), an IPv6 outage
// inside the primary's maintenance, and one across a crash.
func dualStackMonth() Input {
	v6Cause := "IPv6 peering: BGP session down (edge1 ↔ AWS 2001:db8:50::1, seen by BMP: remote system closed the session with a notification: cease)"
	evs := []history.Record{
		{Time: nov, Kind: "start_old"},
		link(at(1, 0, 0, 10), "primary", up, ""),
		link(at(1, 0, 0, 10), "secondary", up, ""),
		// The upgrade: from now on the ledger holds the peerings' states.
		{Time: at(2, 12, 0, 0), Kind: history.RecStop},
		{Time: at(2, 12, 1, 0), Kind: history.RecStart},
		link(at(2, 12, 1, 10), "primary", up, ""),
		link(at(2, 12, 1, 10), "secondary", up, ""),
		peering(at(2, 12, 1, 10), "primary", v4, up, ""),
		peering(at(2, 12, 1, 10), "primary", v6, up, ""),
		// 1. The primary's IPv6 session is closed by AWS; IPv4 carries on.
		// (The link's summary is recorded first here: a link record with a
		// family must not change the link's own state.)
		link(at(5, 9, 0, 0), "primary", degraded, "IPv6 peering down"),
		peering(at(5, 9, 0, 0), "primary", v6, down, v6Cause,
			health.Evidence{Family: v6, Source: "bgp_session", Name: "edge1", Detail: "remote system closed the session with a notification: cease", Fresh: true},
			health.Evidence{Family: v6, Source: "aws", Name: "aws.vif.primary.bgp.ipv6", Detail: "bgpPeerState available, bgpStatus down", Fresh: true},
			health.Evidence{Family: v4, Source: "bgp_session", Name: "edge1", OK: true, Detail: "established", Fresh: true}),
		peering(at(5, 9, 17, 42), "primary", v6, up, ""),
		link(at(5, 9, 17, 42), "primary", up, ""),
		// 2. A carrier cut: both families, the link down as a whole once
		// its IPv6 peering follows, half a second after the IPv4 one.
		peering(at(12, 14, 0, 0), "primary", v4, down, "IPv4 peering: data plane down"),
		peering(at(12, 14, 0, 0).Add(half), "primary", v6, down, "IPv6 peering: data plane down"),
		link(at(12, 14, 0, 0).Add(half), "primary", down, "data plane down (5 echoes to 169.254.10.1 lost in a row)",
			health.Evidence{Source: "aws", Name: "aws.connection.primary.state", Detail: "connection dxcon-fgp1a2b3 is down", Fresh: true}),
		peering(at(12, 14, 3, 20), "primary", v4, up, ""),
		peering(at(12, 14, 3, 20), "primary", v6, up, ""),
		link(at(12, 14, 3, 20), "primary", up, ""),
		// 3. IPv6 down inside the primary's declared maintenance.
		peering(at(20, 1, 10, 0), "primary", v6, down, "IPv6 peering: data plane down"),
		link(at(20, 1, 10, 0), "primary", degraded, "IPv6 peering down"),
		peering(at(20, 1, 20, 0), "primary", v6, up, ""),
		link(at(20, 1, 20, 0), "primary", up, ""),
		// 4. IPv6 down, dxwatch crashes and restarts: one IPv6 incident.
		peering(at(25, 8, 0, 0), "primary", v6, down, "IPv6 peering: data plane down (5 echoes to 2001:db8:50::1 lost in a row)"),
		link(at(25, 8, 0, 0), "primary", degraded, "IPv6 peering down"),
		{Time: at(25, 8, 3, 30), Kind: "crash"},
		{Time: at(25, 8, 6, 0), Kind: history.RecStart},
		link(at(25, 8, 6, 5), "secondary", up, ""),
		peering(at(25, 8, 6, 5), "primary", v4, up, ""),
		peering(at(25, 8, 6, 5), "primary", v6, down, "IPv6 peering: data plane down (5 echoes to 2001:db8:50::1 lost in a row)"),
		link(at(25, 8, 6, 5), "primary", degraded, "IPv6 peering down"),
		peering(at(25, 8, 12, 0), "primary", v6, up, ""),
		link(at(25, 8, 12, 0), "primary", up, ""),
	}
	return Input{
		Site: dualStackSite(), DXGatewayID: "5f294f92-bafb-4011-916d-9b0bec5ac8fb",
		Config: Config{TargetPercent: 99.9, Maintenance: []MaintenanceWindow{{From: Timestamp{at(20, 1, 0, 0)}, To: Timestamp{at(20, 2, 0, 0)},
			Links: []string{"primary"}, Reason: "CHG-1207 IPv6 prefix list change on edge1"}}},
		From: nov, To: nov.AddDate(0, 1, 0),
		Records: simulatePeerings(nov.AddDate(0, 1, 0).Add(5*time.Minute), []string{"primary/ipv4", "primary/ipv6"}, evs),
	}
}

func TestSimulatedMonthDualStack(t *testing.T) {
	r, err := Build(dualStackMonth())
	if err != nil {
		t.Fatal(err)
	}
	total := 30 * 86400.0
	// Not observed: the links 10 s at the start, 70 s over the upgrade and
	// 185 s over the crash; the peerings, all of the ledger before the
	// upgrade (no state recorded) and the crash.
	const oldLedger = 86400 + 43200 + 70
	if len(r.Peerings) != 2 {
		t.Fatalf("%d peering rows, want the primary's two (the secondary is IPv4 only): %+v", len(r.Peerings), r.Peerings)
	}
	for _, tc := range []struct {
		got                                 Totals
		name                                string
		up, down, notObserved, drill, maint float64
		incidents                           int
	}{
		{r.Links[0], "primary", total - 265 - 3600 - 199.5, 199.5, 265, 0, 3600, 1},
		{r.Peerings[0], "primary/ipv4", total - oldLedger - 185 - 3600 - 200, 200, oldLedger + 185, 0, 3600, 1},
		{r.Peerings[1], "primary/ipv6", total - oldLedger - 185 - 3600 - 1796.5, 1062 + 199.5 + 535, oldLedger + 185, 0, 3600, 3},
		{r.Links[1], "secondary", total - 265, 0, 265, 0, 0, 0},
		{r.SiteTotals, SiteScope, total - 265, 0, 265, 0, 0, 0},
	} {
		g := tc.got
		if g.Name != tc.name || secs(g.Up) != tc.up || secs(g.Down) != tc.down || secs(g.NotObserved) != tc.notObserved || secs(g.Drill) != tc.drill ||
			secs(g.Maintenance) != tc.maint || g.Incidents != tc.incidents {
			t.Errorf("%s: up %v down %v not observed %v drill %v maintenance %v, %d incidents; want %s: %v %v %v %v %v, %d",
				g.Name, secs(g.Up), secs(g.Down), secs(g.NotObserved), secs(g.Drill), secs(g.Maintenance), g.Incidents,
				tc.name, tc.up, tc.down, tc.notObserved, tc.drill, tc.maint, tc.incidents)
		}
		if want := 100 * tc.up / (tc.up + tc.down); g.Percent == nil || math.Abs(*g.Percent-want) > 1e-12 {
			t.Errorf("%s: availability %v, want %v", g.Name, g.Percent, want)
		}
		if want := 100 * tc.up / (tc.up + tc.down + tc.notObserved); g.LowerBound == nil || math.Abs(*g.LowerBound-want) > 1e-12 {
			t.Errorf("%s: lower bound %v, want %v", g.Name, g.LowerBound, want)
		}
	}
	if p := r.Peerings[1]; p.Link != "primary" || p.Family != v6 || p.VIFID != "dxvif-ffq1r2s3" {
		t.Errorf("IPv6 row names link %q family %q VIF %q", p.Link, p.Family, p.VIFID)
	}

	// The carrier cut is the link's incident; its peerings' outages, down
	// less than a second while the link was not, are not listed again.
	type want struct {
		scope, link, family string
		start, end          time.Time
		down, notObserved   float64
		side                string
		records             int
	}
	wants := []want{
		{PeeringScope, "primary", v6, at(5, 9, 0, 0), at(5, 9, 17, 42), 1062, 0, SideDX, 1},
		{LinkScope, "primary", "", at(12, 14, 0, 0).Add(half), at(12, 14, 3, 20), 199.5, 0, SideDX, 1},
		{PeeringScope, "primary", v6, at(25, 8, 0, 0), at(25, 8, 12, 0), 535, 185, SideUndetermined, 2},
	}
	if len(r.Incidents) != len(wants) {
		t.Fatalf("%d incidents, want %d: %+v", len(r.Incidents), len(wants), r.Incidents)
	}
	for i, w := range wants {
		g := r.Incidents[i]
		if g.Scope != w.scope || g.Link != w.link || g.Family != w.family || !g.Start.Equal(w.start) || !g.End.Equal(w.end) || secs(g.Down) != w.down ||
			secs(g.NotObserved) != w.notObserved || g.Side != w.side || len(g.Records) != w.records || g.Ongoing {
			t.Errorf("incident %d: %s %s %s %s–%s down %v not observed %v side %q, %d records; want %+v",
				i, g.Scope, g.Link, g.Family, g.Start, g.End, secs(g.Down), secs(g.NotObserved), g.Side, len(g.Records), w)
		}
		for _, tr := range g.Records {
			if tr.Family != w.family || tr.Evidence == nil {
				t.Errorf("incident %d: record of family %q, evidence %v; want family %q with its evidence", i, tr.Family, tr.Evidence, w.family)
			}
		}
	}
	// Within the IPv6-only outages the link as a whole carried traffic.
	for i, want := range []float64{1062, 535} {
		g := r.Incidents[2*i]
		if g.LinkUp == nil || g.LinkDown == nil || secs(*g.LinkUp) != want || *g.LinkDown != 0 {
			t.Errorf("IPv6 incident %d: link up %v down %v within it, want up %v s, down 0", 2*i, g.LinkUp, g.LinkDown, want)
		}
	}
	if g := r.Incidents[1]; g.LinkUp != nil || g.LinkDown != nil {
		t.Errorf("the link's own incident carries link up/down %v %v", g.LinkUp, g.LinkDown)
	}
	if c := r.Incidents[0].Cause; !strings.Contains(c, "2001:db8:50::1") || !strings.Contains(r.Incidents[0].SideWhy, "closed primary's IPv6 BGP session") {
		t.Errorf("IPv6 incident: cause %q, side %q: want the IPv6 peer's record, naming the family", c, r.Incidents[0].SideWhy)
	}
	// Excluded time: a peering's own (no state recorded before the
	// upgrade) is listed; what it shares with its link is listed once.
	var peeringExcl []string
	for _, e := range r.Exclusions {
		if strings.Contains(e.Scope, "/") {
			if !strings.HasPrefix(e.Reason, "the ledger holds no state of it") {
				t.Errorf("%s not observed for %q, want: no state recorded", e.Scope, e.Reason)
			}
			peeringExcl = append(peeringExcl, e.Scope+" "+string(e.Kind)+" "+e.From.Format(stamp)+" "+e.To.Format(stamp))
		}
	}
	if got, want := strings.Join(peeringExcl, "; "), "primary/ipv4 not_observed 2026-11-01 00:00:00Z 2026-11-02 12:00:00Z; primary/ipv6 not_observed 2026-11-01 00:00:00Z 2026-11-02 12:00:00Z"; got != want {
		t.Errorf("peering exclusions: %s; want %s", got, want)
	}
}

// TestSingleFamilyReportUnchanged: a single-family site's report has no
// peering rows and no family anywhere, whatever the ledger holds about
// peerings of links the configuration does not make dual-stack.
func TestSingleFamilyReportUnchanged(t *testing.T) {
	in := dualStackMonth()
	in.Site = site()
	r, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var j bytes.Buffer
	if err := r.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	if r.Peerings != nil || strings.Contains(j.String(), `"family"`) || strings.Contains(j.String(), `"peerings"`) {
		t.Errorf("a single-family site's report has peering rows or families: %d rows", len(r.Peerings))
	}
	if len(r.Incidents) != 1 || r.Incidents[0].Scope != LinkScope {
		t.Errorf("a single-family site's incidents: %+v, want the primary's carrier cut only", r.Incidents)
	}
}

func TestDualStackGoldens(t *testing.T) {
	r, err := Build(dualStackMonth())
	if err != nil {
		t.Fatal(err)
	}
	var md, j, c bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/report-dualstack.md", md.Bytes())
	if err := r.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	// The status page's tests serve this file as /api/report too.
	golden.Check(t, "testdata/report-dualstack.json", j.Bytes())
	var back struct {
		Peerings []struct {
			Name   string  `json:"name"`
			Family string  `json:"family"`
			Down   float64 `json:"down_seconds"`
		} `json:"peerings"`
	}
	if err := json.Unmarshal(j.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Peerings) != 2 || back.Peerings[1].Name != "primary/ipv6" || back.Peerings[1].Family != v6 || back.Peerings[1].Down != 1796.5 {
		t.Errorf("JSON peerings: %+v, want the IPv6 row down 1796.5 s", back.Peerings)
	}
	if err := r.WriteCSV(&c); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := len(CSVHeader) - 1
	if len(rows) != 4 || rows[0][last] != "family" || strings.Join(rows[1][:6], ",") != "dc1,peering,primary,2026-11-05T09:00:00Z,2026-11-05T09:17:42Z,1062" ||
		rows[1][last] != v6 || rows[2][last] != "" {
		t.Errorf("CSV: %v", rows)
	}
}

// TestAttributePeering: a peering's incident reads the facts of its own
// family and the link's, not the other family's.
func TestAttributePeering(t *testing.T) {
	ev := &history.Evidence{Facts: []health.Evidence{
		{Family: v4, Source: "bgp_session", Name: "edge1", Detail: "stopped by an operator (ManualStop)"},
		{Family: v6, Source: "bgp_session", Name: "edge1", Detail: "remote system closed the session with a notification: cease"},
	}}
	if side, why := attribute([]Transition{{Link: "primary", Family: v6, Evidence: ev}}); side != SideDX || !strings.Contains(why, "closed primary's IPv6 BGP session") {
		t.Errorf("IPv6 peering's side %q (%s), want %q from its own session", side, why, SideDX)
	}
	if side, _ := attribute([]Transition{{Link: "primary", Evidence: ev}}); side != SideUndetermined {
		t.Errorf("the link as a whole: side %q, want %q (both ways)", side, SideUndetermined)
	}
}
