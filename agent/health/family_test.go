package health

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dxwatch/dxwatch/probes"
)

var vpcPrefix6 = netip.MustParsePrefix("2001:db8:1000::/56")

// dualSite is testSite with an IPv6 peering on both links, two IPv6 VPC
// targets and the VPC's IPv6 prefix.
func dualSite(mode string) probes.Site {
	s := testSite(mode)
	s.Links[0].IPv6 = probes.Peering{Family: probes.FamilyIPv6,
		CustomerAddress: netip.MustParsePrefix("2001:db8:10::2/125"), AmazonAddress: netip.MustParsePrefix("2001:db8:10::1/125")}
	s.Links[1].IPv6 = probes.Peering{Family: probes.FamilyIPv6,
		CustomerAddress: netip.MustParsePrefix("2001:db8:20::2/125"), AmazonAddress: netip.MustParsePrefix("2001:db8:20::1/125")}
	s.Targets = append(s.Targets,
		probes.Target{Name: "app1-v6", Host: "2001:db8:1000::10", VPCID: "vpc-0123"},
		probes.Target{Name: "app2-v6", Host: "2001:db8:1000::11", VPCID: "vpc-0123"})
	s.Routing.ExpectedPrefixes = append(s.Routing.ExpectedPrefixes, vpcPrefix6)
	return s
}

// v6 turns a world's echoes into the IPv6 family's: the pinned targets
// are the links' Amazon IPv6 addresses, the VPC targets the -v6 ones.
func v6(obs []probes.Observation) []probes.Observation {
	for i := range obs {
		o := &obs[i]
		if o.Link != "" {
			o.Target, o.Family = o.Link+"-amazon6", probes.FamilyIPv6
		}
	}
	return obs
}

func v6World(end time.Duration) *world {
	w := defaultWorld(end)
	w.vpc = []string{"app1-v6", "app2-v6"}
	w.offsets = map[string]time.Duration{"primary-peer": ms(2), "secondary-peer": ms(7), "app1-v6": ms(12), "app2-v6": ms(22)}
	return w
}

// bgpStart6 is the IPv6 family's start-up: each link's IPv6 session up
// (BMP), the VPC's IPv6 prefix on both links, its best path on best.
func bgpStart6(best string) []probes.Observation {
	return []probes.Observation{
		{Time: at(ms(61)), Event: probes.BGPSession, Probe: "bgp", Peer: "edge1", Link: "primary", Family: probes.FamilyIPv6, Up: true},
		{Time: at(ms(61)), Event: probes.BGPSession, Probe: "bgp", Peer: "edge1", Link: "secondary", Family: probes.FamilyIPv6, Up: true},
		{Time: at(ms(71)), Event: probes.BGPPrefix, Probe: "bgp", Link: "primary", Prefix: vpcPrefix6, Up: true},
		{Time: at(ms(71)), Event: probes.BGPPrefix, Probe: "bgp", Link: "secondary", Prefix: vpcPrefix6, Up: true},
		{Time: at(ms(81)), Event: probes.BGPBestPath, Probe: "bgp", Prefix: vpcPrefix6, Link: best},
	}
}

// cut6 is cleanCut in the IPv6 family: the primary's IPv6 data plane
// stops at 5.05 s, its IPv6 session goes down at 5.95 s with the prefix,
// the best path moves, and all of it comes back from 20.05 s.
func cut6() []probes.Observation {
	w := v6World(30 * time.Second)
	w.up = func(link string, t time.Duration) bool { return link != "primary" || t < ms(5050) || t >= ms(20050) }
	w.route = func(_ string, t time.Duration) string {
		if t >= ms(5950) && t < ms(21000) {
			return "secondary"
		}
		return "primary"
	}
	s6 := func(t time.Duration, up bool, detail string) probes.Observation {
		o := session(t, "primary", "edge1", up, detail)
		o.Family = probes.FamilyIPv6
		return o
	}
	p6 := func(t time.Duration, up bool) probes.Observation {
		return probes.Observation{Time: at(t), Event: probes.BGPPrefix, Probe: "bgp", Link: "primary", Prefix: vpcPrefix6, Up: up}
	}
	b6 := func(t time.Duration, link string) probes.Observation {
		return probes.Observation{Time: at(t), Event: probes.BGPBestPath, Probe: "bgp", Prefix: vpcPrefix6, Link: link}
	}
	return merge(v6(w.echoes()), bgpStart6("primary"), []probes.Observation{
		traceObs(ms(1001), "app1-v6", false, "primary"),
		traceObs(ms(1001), "app2-v6", false, "primary"),
		s6(ms(5950), false, "BFD down"), p6(ms(5950), false), b6(ms(5950), "secondary"),
		traceObs(ms(6100), "app1-v6", true, "secondary"),
		traceObs(ms(6110), "app2-v6", true, "secondary"),
		s6(ms(20500), true, ""), p6(ms(20600), true), b6(ms(21000), "primary"),
		traceObs(ms(21500), "app1-v6", true, "primary"),
		traceObs(ms(21500), "app2-v6", true, "primary"),
	})
}

// healthy4 is the IPv4 family untouched for 30 s.
func healthy4() []probes.Observation {
	w := defaultWorld(30 * time.Second)
	return merge(w.echoes(), bgpStart("primary"), []probes.Observation{
		traceObs(ms(1000), "app1", false, "primary"),
		traceObs(ms(1000), "app2", false, "primary"),
	})
}

func ofKind(evs []Event, kinds ...EventKind) []Event {
	var out []Event
	for _, e := range evs {
		if slices.Contains(kinds, e.Kind) {
			out = append(out, e)
		}
	}
	return out
}

// TestIPv6OnlyCut: a cut of the primary's IPv6 peering alone (its data
// plane, then its session and prefix) is one IPv6 failover and one IPv6
// failback, measured on the IPv6 targets, with no IPv4 event: the
// primary's IPv4 peering stays up throughout, the link as a whole is
// degraded with a reason naming IPv6, and dxwatch_link_up stays 1.
func TestIPv6OnlyCut(t *testing.T) {
	h := newHarness(t, dualSite(probes.ModeActivePassive), nil)
	h.feed(merge(healthy4(), cut6()))

	fo := ofKind(h.events, KindFailover, KindOutage)
	compareSummaries(t, fo, []summary{
		{Kind: KindFailover, Direction: DirectionFailover, From: "primary", To: "secondary", Time: ms(5402), Outage: ms(900), Gap: ms(1000), Lost: 9,
			Cause: "primary: data plane down, BGP still up (3 echoes to primary-amazon6 lost in a row)", Complete: true},
		{Kind: KindFailover, Direction: DirectionFailback, From: "secondary", To: "primary", Time: ms(21000), Complete: true,
			Cause: "BGP best path moved to primary"},
	})
	for _, e := range fo {
		if e.Family != probes.FamilyIPv6 {
			t.Errorf("failover %d is of family %q, want ipv6", e.ID, e.Family)
		}
		for _, to := range e.Targets {
			if !strings.HasSuffix(to.Target, "-v6") {
				t.Errorf("the IPv6 failover measured IPv4 target %s", to.Target)
			}
		}
	}
	for _, e := range h.events {
		if e.Kind == KindLinkState && e.Family == probes.FamilyIPv4 && e.State != StateUp {
			t.Errorf("IPv4 peering event: %+v", e)
		}
		if e.Kind == KindLinkState && e.Family == "" && e.State == StateDown {
			t.Errorf("the link as a whole went down on an IPv6-only cut: %+v", e)
		}
	}
	var degraded *Event
	for _, e := range h.linkEvents("primary") {
		if e.Family == "" && e.State == StateDegraded {
			degraded = &e
			break
		}
	}
	switch {
	case degraded == nil:
		t.Errorf("the primary was never degraded as a whole; its events: %+v", h.linkEvents("primary"))
	case !strings.HasPrefix(first(degraded.Reasons), "IPv6 peering down: "):
		t.Errorf("the primary's reason names no family: %q", degraded.Reasons)
	}
	if err := testutil.CollectAndCompare(h.m, strings.NewReader(`
# HELP dxwatch_failovers_total Changes of the active link(s) of an address family's traffic; from and to name the links joined by '+', or none; direction is failover (traffic left a link it was on: pages) or failback (back to the primary, or to more links); family is ipv4 or ipv6.
# TYPE dxwatch_failovers_total counter
dxwatch_failovers_total{direction="failback",family="ipv4",from="secondary",to="primary"} 0
dxwatch_failovers_total{direction="failover",family="ipv4",from="primary",to="secondary"} 0
dxwatch_failovers_total{direction="failback",family="ipv6",from="secondary",to="primary"} 1
dxwatch_failovers_total{direction="failover",family="ipv6",from="primary",to="secondary"} 1
`), "dxwatch_failovers_total"); err != nil {
		t.Error(err)
	}
}

// TestIPv6OnlyCutMidway reads the model in the middle of the IPv6 cut:
// the primary's IPv6 peering down, its IPv4 one up, the link degraded but
// up, IPv4 traffic on the primary and IPv6 traffic on the secondary.
func TestIPv6OnlyCutMidway(t *testing.T) {
	h := newHarness(t, dualSite(probes.ModeActivePassive), nil)
	var upTo []probes.Observation
	for _, o := range merge(healthy4(), cut6()) {
		if o.Time.Before(at(ms(12000))) {
			upTo = append(upTo, o)
		}
	}
	h.feed(upTo)
	p := h.link("primary")
	if p.State != StateDegraded || len(p.Peerings) != 2 {
		t.Fatalf("primary %s with %d peerings, want degraded with 2", p.State, len(p.Peerings))
	}
	if p.Peerings[0].State != StateUp || p.Peerings[1].State != StateDown {
		t.Errorf("peerings %s %s / %s %s, want ipv4 up, ipv6 down", p.Peerings[0].Family, p.Peerings[0].State, p.Peerings[1].Family, p.Peerings[1].State)
	}
	st := h.m.Status()
	if got := st.Families; len(got) != 2 || strings.Join(got[0].Active, "+") != "primary" || strings.Join(got[1].Active, "+") != "secondary" {
		t.Errorf("families %+v, want IPv4 on primary and IPv6 on secondary", got)
	}
	if err := testutil.CollectAndCompare(h.m, strings.NewReader(`
# HELP dxwatch_link_up Fused health of the link: 1 when up or degraded, 0 when down or without fresh evidence; while unverified, the last verified verdict.
# TYPE dxwatch_link_up gauge
dxwatch_link_up{link="primary"} 1
dxwatch_link_up{link="secondary"} 1
# HELP dxwatch_peering_active 1 while the traffic of the family to its VPC targets crosses the link.
# TYPE dxwatch_peering_active gauge
dxwatch_peering_active{family="ipv4",link="primary"} 1
dxwatch_peering_active{family="ipv4",link="secondary"} 0
dxwatch_peering_active{family="ipv6",link="primary"} 0
dxwatch_peering_active{family="ipv6",link="secondary"} 1
`), "dxwatch_link_up", "dxwatch_peering_active"); err != nil {
		t.Error(err)
	}
	var down []string
	for _, c := range st.Checks {
		if c.Status == probes.Fail {
			down = append(down, c.Name)
		}
	}
	if len(down) != 0 {
		t.Errorf("failing checks %v on an IPv6-only cut, want none (the link is degraded, its IPv4 traffic flows)", down)
	}
}

// TestCarrierCutBothFamilies: a cut of the primary's carrier takes both
// peerings down: one failover per family, the link down as a whole.
func TestCarrierCutBothFamilies(t *testing.T) {
	_, obs4 := cleanCut()
	h := newHarness(t, dualSite(probes.ModeActivePassive), nil)
	h.feed(merge(obs4, cut6()))
	var fams []string
	for _, e := range ofKind(h.events, KindFailover) {
		if e.Direction == DirectionFailover {
			fams = append(fams, e.Family)
		}
	}
	if slices.Sort(fams); !slices.Equal(fams, []string{probes.FamilyIPv4, probes.FamilyIPv6}) {
		t.Errorf("failovers of families %v, want one IPv4 and one IPv6", fams)
	}
	var whole []State
	for _, e := range h.linkEvents("primary") {
		if e.Family == "" {
			whole = append(whole, e.State)
		}
	}
	if !slices.Contains(whole, StateDown) {
		t.Errorf("the primary as a whole went %v, never down, on a carrier cut", whole)
	}
}

// TestSummaryState is the summary rule of a dual-stack link.
func TestSummaryState(t *testing.T) {
	for _, tc := range []struct {
		peers []State
		want  State
	}{
		{[]State{StateUp, StateUp}, StateUp},
		{[]State{StateUp, StateDown}, StateDegraded},
		{[]State{StateDown, StateDown}, StateDown},
		{[]State{StateDown, StateUnknown}, StateDown},
		{[]State{StateUp, StateUnknown}, StateUp},
		{[]State{StateDegraded, StateUp}, StateDegraded},
		{[]State{StateUnverified, StateUp}, StateUp},
		{[]State{StateUnverified, StateUnknown}, StateUnverified},
		{[]State{StateDown, StateUnverified}, StateUnverified},
		{[]State{StateDegraded, StateUnknown}, StateDegraded},
		{[]State{StateDegraded, StateDown}, StateDegraded},
		{[]State{StateUnknown, StateUnknown}, StateUnknown},
	} {
		var peers []*linkState
		for _, s := range tc.peers {
			peers = append(peers, &linkState{state: s})
		}
		if got := summaryState(peers); got != tc.want {
			t.Errorf("peerings %v: %s, want %s", tc.peers, got, tc.want)
		}
	}
}

// TestAWSChecksPerFamily: an AWS check about one peering (Family) counts
// against that family only; one about the link (no Family) against both.
func TestAWSChecksPerFamily(t *testing.T) {
	h := newHarness(t, dualSite(probes.ModeActivePassive), nil)
	h.feed(merge(healthy4()[:40], []probes.Observation{
		{Time: at(ms(500)), Event: probes.AWSCheck, Probe: "aws", Check: "aws.vif.primary.ipv6", Link: "primary", Family: probes.FamilyIPv6, Up: false, Detail: "bgpPeerState down"},
	}))
	p := h.link("primary")
	if len(p.Peerings) != 2 || !strings.Contains(strings.Join(p.Peerings[1].Reasons, ";"), "aws.vif.primary.ipv6") || strings.Contains(strings.Join(p.Peerings[0].Reasons, ";"), "aws.vif") {
		t.Errorf("an IPv6 peering's AWS check: peerings %+v", p.Peerings)
	}
	h.feed([]probes.Observation{
		{Time: at(ms(600)), Event: probes.AWSCheck, Probe: "aws", Check: "aws.connection.primary", Link: "primary", Up: false, Detail: "down"},
	})
	p = h.link("primary")
	for _, ps := range p.Peerings {
		if !strings.Contains(strings.Join(ps.Reasons, ";"), "aws.connection.primary") {
			t.Errorf("a link's AWS check does not count against its %s peering: %q", ps.Family, ps.Reasons)
		}
	}
}

// TestLinkByAddressPerFamily: an observation naming a link by a peer
// address goes to that address's family: the primary's IPv6 session
// reported by its Amazon IPv6 address takes its IPv6 peering down, not
// its IPv4 one.
func TestLinkByAddressPerFamily(t *testing.T) {
	h := newHarness(t, dualSite(probes.ModeActivePassive), nil)
	h.feed(merge(bgpStart("primary"), bgpStart6("primary"), []probes.Observation{
		{Time: at(ms(500)), Event: probes.BGPSession, Probe: "bgp", Peer: "edge1", Link: "2001:db8:10::1", Up: false, Detail: "hold timer expired"},
	}))
	p := h.link("primary")
	if len(p.Peerings) != 2 || p.Peerings[0].State != StateUp || p.Peerings[1].State != StateDown {
		t.Errorf("the primary's peerings %+v, want IPv4 up and IPv6 down", p.Peerings)
	}
}
