package health

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dxwatch/dxwatch/probes"
)

func TestMetrics(t *testing.T) {
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)

	// Before any evidence every series exists: links unknown, no failover.
	want := `
# HELP dxwatch_failovers_total Changes of the active link(s) of an address family's traffic; from and to name the links joined by '+', or none; direction is failover (traffic left a link it was on: pages) or failback (back to the primary, or to more links); family is ipv4 or ipv6.
# TYPE dxwatch_failovers_total counter
dxwatch_failovers_total{direction="failover",family="ipv4",from="primary",to="secondary"} 0
dxwatch_failovers_total{direction="failback",family="ipv4",from="secondary",to="primary"} 0
# HELP dxwatch_link_active 1 while the traffic to the VPC targets of some address family crosses the link.
# TYPE dxwatch_link_active gauge
dxwatch_link_active{link="primary"} 0
dxwatch_link_active{link="secondary"} 0
# HELP dxwatch_link_up Fused health of the link: 1 when up or degraded, 0 when down or without fresh evidence; while unverified, the last verified verdict.
# TYPE dxwatch_link_up gauge
dxwatch_link_up{link="primary"} 0
dxwatch_link_up{link="secondary"} 0
`
	if err := testutil.CollectAndCompare(h.m, strings.NewReader(want), "dxwatch_link_up", "dxwatch_link_active", "dxwatch_failovers_total"); err != nil {
		t.Errorf("at start: %v", err)
	}

	_, obs := cleanCut()
	h.feed(obs)
	want = `
# HELP dxwatch_failover_duration_seconds Measured traffic outage of each failover of the active link of an address family (lost echoes × probe interval, the longest among the family's VPC targets).
# TYPE dxwatch_failover_duration_seconds histogram
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="0.01"} 1
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="0.025"} 1
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="0.05"} 1
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="0.1"} 1
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="0.25"} 1
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="0.5"} 1
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="1"} 2
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="2.5"} 2
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="5"} 2
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="10"} 2
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="30"} 2
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="60"} 2
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="90"} 2
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="120"} 2
dxwatch_failover_duration_seconds_bucket{family="ipv4",le="+Inf"} 2
dxwatch_failover_duration_seconds_sum{family="ipv4"} 0.9
dxwatch_failover_duration_seconds_count{family="ipv4"} 2
# HELP dxwatch_failovers_total Changes of the active link(s) of an address family's traffic; from and to name the links joined by '+', or none; direction is failover (traffic left a link it was on: pages) or failback (back to the primary, or to more links); family is ipv4 or ipv6.
# TYPE dxwatch_failovers_total counter
dxwatch_failovers_total{direction="failover",family="ipv4",from="primary",to="secondary"} 1
dxwatch_failovers_total{direction="failback",family="ipv4",from="secondary",to="primary"} 1
# HELP dxwatch_health_observations_dropped_total Observations dropped because the health model's queue was full.
# TYPE dxwatch_health_observations_dropped_total counter
dxwatch_health_observations_dropped_total 0
# HELP dxwatch_link_active 1 while the traffic to the VPC targets of some address family crosses the link.
# TYPE dxwatch_link_active gauge
dxwatch_link_active{link="primary"} 1
dxwatch_link_active{link="secondary"} 0
# HELP dxwatch_link_state 1 for the link's current state (up, degraded, down, unknown, unverified).
# TYPE dxwatch_link_state gauge
dxwatch_link_state{link="primary",state="degraded"} 0
dxwatch_link_state{link="primary",state="down"} 0
dxwatch_link_state{link="primary",state="unknown"} 0
dxwatch_link_state{link="primary",state="unverified"} 0
dxwatch_link_state{link="primary",state="up"} 1
dxwatch_link_state{link="secondary",state="degraded"} 0
dxwatch_link_state{link="secondary",state="down"} 0
dxwatch_link_state{link="secondary",state="unknown"} 0
dxwatch_link_state{link="secondary",state="unverified"} 0
dxwatch_link_state{link="secondary",state="up"} 1
# HELP dxwatch_link_up Fused health of the link: 1 when up or degraded, 0 when down or without fresh evidence; while unverified, the last verified verdict.
# TYPE dxwatch_link_up gauge
dxwatch_link_up{link="primary"} 1
dxwatch_link_up{link="secondary"} 1
`
	if err := testutil.CollectAndCompare(h.m, strings.NewReader(want),
		"dxwatch_link_up", "dxwatch_link_active", "dxwatch_link_state", "dxwatch_failovers_total",
		"dxwatch_failover_duration_seconds", "dxwatch_health_observations_dropped_total"); err != nil {
		t.Errorf("after failover and failback: %v", err)
	}

	problems, err := testutil.CollectAndLint(h.m)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}

	// The agent registers the model as a checked collector: Describe must
	// cover every metric Collect sends.
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(h.m); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("pedantic gather: %v", err)
	}
}

// TestDirection: only traffic leaving a link it was on is a failover (it
// pages); back to the primary, or without a primary to more links, is a
// failback, whichever way the site is run.
func TestDirection(t *testing.T) {
	noPrimary := testSite(probes.ModeActiveActive)
	noPrimary.Routing.Primary = ""
	for i := range noPrimary.Links {
		noPrimary.Links[i].Role = ""
	}
	for _, tc := range []struct {
		site     probes.Site
		from, to string
		want     string
	}{
		{testSite(probes.ModeActivePassive), "primary", "secondary", DirectionFailover},
		{testSite(probes.ModeActivePassive), "secondary", "primary", DirectionFailback},
		{testSite(probes.ModeActivePassive), "primary", "none", DirectionFailover},
		{testSite(probes.ModeActivePassive), "secondary", "none", DirectionFailover},
		{testSite(probes.ModeActivePassive), "none", "primary", DirectionFailback},
		{testSite(probes.ModeActivePassive), "none", "secondary", DirectionFailback},
		{testSite(probes.ModeActiveActive), "primary+secondary", "secondary", DirectionFailover},
		{testSite(probes.ModeActiveActive), "primary+secondary", "primary", DirectionFailover},
		{testSite(probes.ModeActiveActive), "secondary", "primary+secondary", DirectionFailback},
		{testSite(probes.ModeActiveActive), "primary", "primary+secondary", DirectionFailback},
		{noPrimary, "primary+secondary", "secondary", DirectionFailover},
		{noPrimary, "secondary", "primary+secondary", DirectionFailback},
		{noPrimary, "primary", "secondary", DirectionFailover},
	} {
		m := New(DefaultConfig(), tc.site, nil)
		if got := m.fams[0].direction(m.fams[0].labelMask(tc.from), m.fams[0].labelMask(tc.to)); got != tc.want {
			t.Errorf("%s site, %s -> %s: %q, want %q", tc.site.Routing.Mode, tc.from, tc.to, got, tc.want)
		}
	}
}

func TestSiteUp(t *testing.T) {
	for _, tc := range []struct {
		states    []State
		up, known bool
	}{
		{[]State{StateUp, StateDown}, true, true},
		{[]State{StateDegraded, StateUnknown}, true, true},
		{[]State{StateDown, StateDown}, false, true},
		{[]State{StateDown, StateUnverified}, false, false},
		{[]State{StateUnknown, StateUnknown}, false, false},
		{nil, false, false},
	} {
		up, known := siteUp(tc.states, func(s State) State { return s })
		if up != tc.up || known != tc.known {
			t.Errorf("links %v: site up %v known %v, want %v %v", tc.states, up, known, tc.up, tc.known)
		}
	}
	// No sample while nothing is known: time not observed is not averaged in.
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	if n := testutil.CollectAndCount(h.m, "dxwatch_site_up"); n != 0 {
		t.Errorf("dxwatch_site_up has %d samples before any evidence, want none", n)
	}
	_, obs := cleanCut()
	h.feed(obs)
	if err := testutil.CollectAndCompare(h.m, strings.NewReader(`
# HELP dxwatch_site_up 1 while some link is up or degraded (a link carries traffic), 0 while every link is down; no sample while neither is known (links unknown or unverified), so that time not observed is not averaged in. The series of the site's availability (agent/report).
# TYPE dxwatch_site_up gauge
dxwatch_site_up 1
`), "dxwatch_site_up"); err != nil {
		t.Error(err)
	}
}

// dualStack is testSite with an IPv6 peering on the primary.
func dualStack(mode string) probes.Site {
	s := testSite(mode)
	s.Links[0].IPv6 = probes.Peering{Family: probes.FamilyIPv6,
		CustomerAddress: netip.MustParsePrefix("2001:db8:10::2/125"), AmazonAddress: netip.MustParsePrefix("2001:db8:10::1/125")}
	return s
}

// TestPeeringUp: dxwatch_peering_up{link,family} follows each peering's
// own BGP session as BMP reports it: the primary's IPv6 session down
// leaves its IPv4 one up, a link without an IPv6 peering has no IPv6
// series, and no series exists before a report.
func TestPeeringUp(t *testing.T) {
	h := newHarness(t, dualStack(probes.ModeActivePassive), nil)
	if n := testutil.CollectAndCount(h.m, "dxwatch_peering_up"); n != 0 {
		t.Errorf("%d dxwatch_peering_up series before any BMP report, want none", n)
	}
	v6 := session(ms(70), "primary", "edge1", false, "Hold Timer Expired")
	v6.Family = probes.FamilyIPv6
	h.feed(merge(bgpStart("primary"), bgpStart("secondary"), []probes.Observation{v6}))
	want := `
# HELP dxwatch_peering_up The BGP session of the link's peering of the family as the edge router(s) report it over BMP: 1 when a fresh report says up, 0 when every fresh one says down; absent without one.
# TYPE dxwatch_peering_up gauge
dxwatch_peering_up{family="ipv4",link="primary"} 1
dxwatch_peering_up{family="ipv4",link="secondary"} 1
dxwatch_peering_up{family="ipv6",link="primary"} 0
`
	if err := testutil.CollectAndCompare(h.m, strings.NewReader(want), "dxwatch_peering_up"); err != nil {
		t.Error(err)
	}
}
