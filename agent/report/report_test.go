package report

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/history"
	"github.com/dxwatch/dxwatch/probes"
)

var nov = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func at(day, h, m, s int) time.Time { return time.Date(2026, 11, day, h, m, s, 0, time.UTC) }

func site() probes.Site {
	return probes.Site{Name: "dc1", Links: []probes.Link{
		{Name: "primary", Role: probes.RolePrimary, ConnectionID: "dxcon-fgp1a2b3", VIFID: "dxvif-ffq1r2s3", AmazonAddress: netip.MustParsePrefix("169.254.10.1/30")},
		{Name: "secondary", Role: probes.RoleSecondary, ConnectionID: "dxcon-fgs4c5d6", VIFID: "dxvif-ffs4t5u6", AmazonAddress: netip.MustParsePrefix("169.254.20.1/30")},
	}}
}

// simulate plays the daemon of the two-link site() of the tests: it writes
// the given records (start, stop, link changes, drill windows) and, every
// minute while the daemon runs (from a start to a stop, or to a crash: a
// record of kind "crash", not written), a heartbeat with every link's
// state, from the first record to end.
func simulate(end time.Time, evs []history.Record) []history.Record {
	return simulatePeerings(end, nil, evs)
}

// simulatePeerings is simulate for a site whose dual-stack links have the
// peerings keyed by history.PeeringKey in peerings: the start, beat and
// stop records carry their states too, as the daemon writes them, and a
// link record with a family changes its peering's. A record of kind
// "start_old" is the start of a dxwatch that did not record peering
// states: until the next start, no record carries them.
func simulatePeerings(end time.Time, peerings []string, evs []history.Record) []history.Record {
	var out []history.Record
	states, peers := map[string]health.State{}, map[string]health.State{}
	running, old := false, false
	i := 0
	for beat := evs[0].Time.Truncate(time.Minute).Add(time.Minute); !beat.After(end); beat = beat.Add(time.Minute) {
		for ; i < len(evs) && evs[i].Time.Before(beat); i++ {
			r := evs[i]
			switch r.Kind {
			case "crash":
				running = false
				continue
			case "start_old", history.RecStart:
				running, old = true, r.Kind == "start_old"
				r.Kind = history.RecStart
				states = map[string]health.State{"primary": health.StateUnknown, "secondary": health.StateUnknown}
				peers = map[string]health.State{}
				for _, k := range peerings {
					peers[k] = health.StateUnknown
				}
				r.States = copyStates(states)
			case history.RecStop:
				running = false
				r.States = copyStates(states)
			case history.RecLink:
				if r.Family != "" {
					k := history.PeeringKey(r.Link, r.Family)
					r.Previous, peers[k] = peers[k], r.State
				} else {
					r.Previous, states[r.Link] = states[r.Link], r.State
				}
			}
			if (r.Kind == history.RecStart || r.Kind == history.RecStop) && !old && len(peers) > 0 {
				r.PeeringStates = copyStates(peers)
			}
			out = append(out, r)
		}
		if running {
			b := history.Record{Time: beat, Kind: history.RecBeat, States: copyStates(states)}
			if !old && len(peers) > 0 {
				b.PeeringStates = copyStates(peers)
			}
			out = append(out, b)
		}
	}
	return out
}

func copyStates(m map[string]health.State) map[string]health.State {
	c := make(map[string]health.State, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func link(t time.Time, name string, st health.State, cause string, facts ...health.Evidence) history.Record {
	r := history.Record{Time: t, Kind: history.RecLink, Link: name, State: st, Cause: cause}
	if st == health.StateDown {
		r.Evidence = &history.Evidence{Reasons: []string{cause}, Facts: facts,
			Echoes: []history.Echo{{Target: amazonPeer[name], Kind: history.EchoAmazonPeer, Sent: 20, Lost: 5, ConsecutiveLost: 5},
				{Target: "app1", Kind: history.EchoVPCTarget, Sent: 20, Lost: 3, ConsecutiveLost: 3}}}
	}
	return r
}

var amazonPeer = map[string]string{"primary": "169.254.10.1", "secondary": "169.254.20.1"}

const (
	up   = health.StateUp
	down = health.StateDown
)

// month is November 2026 as the tests and the golden report know it.
func month() Input {
	evs := []history.Record{
		{Time: nov, Kind: history.RecStart},
		link(at(1, 0, 0, 10), "primary", up, ""),
		link(at(1, 0, 0, 10), "secondary", up, ""),
		// 1. The primary's data plane fails; AWS reports the connection down.
		link(at(3, 10, 0, 0), "primary", down, "data plane down (5 echoes to 169.254.10.1 lost in a row)",
			health.Evidence{Source: "aws", Name: "aws.connection.primary.state", Detail: "connection dxcon-fgp1a2b3 is down", Fresh: true},
			health.Evidence{Source: "bgp_session", Name: "edge1", Detail: "hold timer expired", Fresh: true}),
		link(at(3, 10, 12, 30), "primary", up, ""),
		// 2. A drill: the primary is down inside its window.
		{Time: at(10, 14, 0, 0), Kind: history.RecDrillStart, ID: "d1"},
		link(at(10, 14, 1, 0), "primary", down, "BGP session down (edge1 ↔ AWS 169.254.10.1, seen by BMP: remote system closed the session with a notification: cease)"),
		link(at(10, 14, 2, 0), "primary", up, ""),
		{Time: at(10, 14, 5, 0), Kind: history.RecDrillEnd, ID: "d1"},
		// 3. Declared maintenance (Input.Config): both links down.
		link(at(15, 2, 30, 0), "primary", down, "data plane down"),
		link(at(15, 2, 30, 0), "secondary", down, "data plane down"),
		link(at(15, 3, 0, 0), "primary", up, ""),
		link(at(15, 3, 0, 0), "secondary", up, ""),
		// 4. dxwatch stopped for an hour.
		{Time: at(20, 12, 0, 0), Kind: history.RecStop},
		{Time: at(20, 13, 0, 0), Kind: history.RecStart},
		link(at(20, 13, 0, 5), "primary", up, ""),
		link(at(20, 13, 0, 5), "secondary", up, ""),
		// 5. The edge shuts the primary's session; dxwatch crashes and
		// restarts in the middle: one incident.
		link(at(25, 8, 0, 0), "primary", down, "BGP session down (edge1 ↔ AWS 169.254.10.1, seen by BMP: stopped by an operator (ManualStop))",
			health.Evidence{Source: "bgp_session", Name: "edge1", Detail: "stopped by an operator (ManualStop)", Fresh: true}),
		{Time: at(25, 8, 5, 30), Kind: "crash"},
		{Time: at(25, 8, 10, 0), Kind: history.RecStart},
		link(at(25, 8, 10, 15), "secondary", up, ""),
		link(at(25, 8, 10, 20), "primary", down, "BGP session down (edge1 ↔ AWS 169.254.10.1, seen by BMP: stopped by an operator (ManualStop))"),
		link(at(25, 8, 20, 0), "primary", up, ""),
		// 6. A silent cut of both links: the site is down 45 s.
		link(at(28, 20, 0, 0), "primary", down, "data plane down (3 echoes to 169.254.10.1 lost in a row)"),
		link(at(28, 20, 0, 5), "secondary", down, "data plane down (3 echoes to 169.254.20.1 lost in a row)"),
		link(at(28, 20, 0, 50), "secondary", up, ""),
		link(at(28, 20, 1, 30), "primary", up, ""),
	}
	return Input{
		Site: site(), DXGatewayID: "5f294f92-bafb-4011-916d-9b0bec5ac8fb",
		Config: Config{TargetPercent: 99.9, Maintenance: []MaintenanceWindow{{From: Timestamp{at(15, 2, 0, 0)}, To: Timestamp{at(15, 4, 0, 0)}, Reason: "CHG-1142 edge router software upgrade"}}},
		From:   nov, To: nov.AddDate(0, 1, 0),
		Records: simulate(nov.AddDate(0, 1, 0).Add(5*time.Minute), evs),
	}
}

func secs(d Seconds) float64 { return time.Duration(d).Seconds() }

func TestSimulatedMonth(t *testing.T) {
	r, err := Build(month())
	if err != nil {
		t.Fatal(err)
	}
	total := 30 * 86400.0
	for _, tc := range []struct {
		got                                 Totals
		up, down, notObserved, drill, maint float64
		incidents                           int
	}{
		{r.Links[0], total - 3935 - 300 - 7200 - 1720, 1720, 3935, 300, 7200, 3},
		{r.Links[1], total - 3930 - 300 - 7200 - 45, 45, 3930, 300, 7200, 1},
		{r.SiteTotals, total - 3930 - 300 - 7200 - 45, 45, 3930, 300, 7200, 1},
	} {
		g := tc.got
		if secs(g.Up) != tc.up || secs(g.Down) != tc.down || secs(g.NotObserved) != tc.notObserved || secs(g.Drill) != tc.drill ||
			secs(g.Maintenance) != tc.maint || g.Incidents != tc.incidents {
			t.Errorf("%s: up %v down %v not observed %v drill %v maintenance %v, %d incidents; want %v %v %v %v %v, %d",
				g.Name, secs(g.Up), secs(g.Down), secs(g.NotObserved), secs(g.Drill), secs(g.Maintenance), g.Incidents,
				tc.up, tc.down, tc.notObserved, tc.drill, tc.maint, tc.incidents)
		}
		if want := 100 * tc.up / (tc.up + tc.down); g.Percent == nil || math.Abs(*g.Percent-want) > 1e-12 {
			t.Errorf("%s: availability %v, want %v", g.Name, g.Percent, want)
		}
	}
	if s := r.SiteTotals; s.Met == nil || !*s.Met || s.Allowed == nil || math.Abs(secs(*s.Allowed)-(total-300-7200)*0.001) > 1e-6 {
		t.Errorf("site target: met %v, allowed %v; want met, %v s allowed", s.Met, s.Allowed, (total-300-7200)*0.001)
	}

	type want struct {
		scope, link       string
		start, end        time.Time
		down, notObserved float64
		side              string
	}
	wants := []want{
		{"link", "primary", at(3, 10, 0, 0), at(3, 10, 12, 30), 750, 0, SideDX},
		{"link", "primary", at(25, 8, 0, 0), at(25, 8, 20, 0), 880, 320, SideEdge},
		{"link", "primary", at(28, 20, 0, 0), at(28, 20, 1, 30), 90, 0, SideUndetermined},
		{"link", "secondary", at(28, 20, 0, 5), at(28, 20, 0, 50), 45, 0, SideUndetermined},
		{"site", "", at(28, 20, 0, 5), at(28, 20, 0, 50), 45, 0, SideUndetermined},
	}
	if len(r.Incidents) != len(wants) {
		t.Fatalf("%d incidents, want %d: %+v", len(r.Incidents), len(wants), r.Incidents)
	}
	for i, w := range wants {
		g := r.Incidents[i]
		if g.Scope != w.scope || g.Link != w.link || !g.Start.Equal(w.start) || !g.End.Equal(w.end) || secs(g.Down) != w.down ||
			secs(g.NotObserved) != w.notObserved || g.Side != w.side || g.Ongoing {
			t.Errorf("incident %d: %s %s %s–%s down %v not observed %v side %q ongoing %v; want %+v",
				i, g.Scope, g.Link, g.Start, g.End, secs(g.Down), secs(g.NotObserved), g.Side, g.Ongoing, w)
		}
		if len(g.Records) == 0 || g.Cause == "" {
			t.Errorf("incident %d has no recorded cause or evidence", i)
		}
	}
	// The restart mid-outage: both down records, one incident.
	if n := len(r.Incidents[1].Records); n != 2 {
		t.Errorf("incident across the restart holds %d down records, want 2", n)
	}
	if r.Incidents[0].ConnectionIDs[0] != "dxcon-fgp1a2b3" || r.Incidents[0].VIFIDs[0] != "dxvif-ffq1r2s3" || r.Incidents[0].DXGatewayID == "" {
		t.Errorf("incident resources %v %v %q", r.Incidents[0].ConnectionIDs, r.Incidents[0].VIFIDs, r.Incidents[0].DXGatewayID)
	}
	if s := r.Incidents[4]; len(s.ConnectionIDs) != 2 {
		t.Errorf("site incident names connections %v, want both", s.ConnectionIDs)
	}
}

func TestMonthSoFarAndOngoing(t *testing.T) {
	in := month()
	in.Now = at(28, 20, 0, 30) // inside the double cut
	r, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	last := r.Incidents[len(r.Incidents)-1]
	if !r.End.Equal(in.Now) || last.Scope != SiteScope || !last.Ongoing || secs(last.Down) != 25 {
		t.Errorf("month so far: end %s, last incident %+v; want it to end now with the site down 25 s, ongoing", r.End, last)
	}
	want := float64(in.Now.Sub(nov) / time.Second)
	if s := r.SiteTotals; secs(s.Up+s.Down+s.NotObserved+s.Drill+s.Maintenance) != want {
		t.Errorf("site categories add up to %v s, want %v", secs(s.Up+s.Down+s.NotObserved+s.Drill+s.Maintenance), want)
	}
}

func TestNothingRecorded(t *testing.T) {
	r, err := Build(Input{Site: site(), From: nov, To: nov.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if s := r.SiteTotals; secs(s.NotObserved) != 30*86400 || s.Up != 0 || s.Percent != nil || s.Met != nil {
		t.Errorf("a month without records: %+v, want all of it not observed and no availability", s)
	}
	if _, err := Build(Input{Site: site(), From: nov, To: nov}); err == nil {
		t.Error("an empty range is not an error")
	}
}
