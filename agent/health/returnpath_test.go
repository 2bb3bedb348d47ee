package health

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// returnWorld is a site whose Amazon side is one routing domain, as behind
// a Direct Connect gateway: replies to the agent's address return over the
// primary while AWS has a BGP session on it (active/passive), over the
// secondary once the primary's session is down (at bgpDown). The primary's
// data plane dies silently at cut.
func returnWorld(end, cut, bgpDown time.Duration) *world {
	w := defaultWorld(end)
	w.up = func(link string, t time.Duration) bool { return link != "primary" || t < cut }
	w.route = func(_ string, t time.Duration) string {
		if t >= bgpDown {
			return "secondary"
		}
		return "primary"
	}
	w.back = func(t time.Duration) string { return w.route("", t) }
	return w
}

// linkUp reads dxwatch_link_up for link as Collect exports it.
func linkUp(m *Model, link string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.summaries {
		if s.link.Name == link {
			return s.up()
		}
	}
	return false
}

// TestReturnPath checks the verdicts when AWS returns the replies its own
// way (README, "Return path"): the secondary's pinned echoes lost because
// their replies cross the dead primary never take the secondary down, and
// a silent primary cut is one failover from the primary.
func TestReturnPath(t *testing.T) {
	const cut, hold, bfd = 5050, 95050, 5950
	tests := []struct {
		name        string
		world       func() *world
		bgpDown     time.Duration // the primary's DX session goes down (hold timer or BFD)
		sourced     bool
		secondary   []State // the secondary's state changes
		unverified  bool    // the secondary is seen unverified on the way
		outage      time.Duration
		lost        int
		pinnedFirst bool // the secondary's pinned echoes are sent before the primary's
		failoverAt  time.Duration
	}{
		{name: "silent cut, BFD off", bgpDown: ms(hold), secondary: []State{StateUp, StateUnverified, StateUp},
			unverified: true, outage: ms(90000), lost: 900},
		{name: "silent cut, BFD on", bgpDown: ms(bfd), secondary: []State{StateUp, StateUnverified, StateUp},
			unverified: true, outage: ms(900), lost: 9},
		{name: "silent cut, BFD on, secondary's echoes judged first", bgpDown: ms(bfd), pinnedFirst: true,
			secondary: []State{StateUp, StateUnverified, StateUp}, unverified: true, outage: ms(900), lost: 9, failoverAt: ms(5360)},
		{name: "probe sources, BFD off", bgpDown: ms(hold), sourced: true, secondary: []State{StateUp},
			outage: ms(90000), lost: 900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := testSite(probes.ModeActivePassive)
			w := returnWorld(tt.bgpDown+10*time.Second, ms(cut), tt.bgpDown)
			if tt.sourced {
				site.Links[0].ProbeSource = netip.MustParseAddr("198.51.100.1")
				site.Links[1].ProbeSource = netip.MustParseAddr("198.51.100.2")
				w.sourced = map[string]bool{"primary": true, "secondary": true}
			}
			if tt.pinnedFirst {
				w.offsets = map[string]time.Duration{"primary-peer": ms(60), "secondary-peer": ms(5), "app1": ms(10), "app2": ms(20)}
			}
			h := newHarness(t, site, nil)
			obs := merge(w.echoes(), bgpStart("primary"), []probes.Observation{
				traceObs(ms(1000), "app1", false, "primary"),
				traceObs(ms(1000), "app2", false, "primary"),
				session(tt.bgpDown, "primary", "edge1", false, "hold timer expired"),
				prefix(tt.bgpDown, "primary", false),
				bestPathObs(tt.bgpDown, "secondary"),
			})
			var primaryDown time.Duration
			var secReasons []string
			for _, o := range obs {
				h.feed([]probes.Observation{o})
				if l := h.link("primary"); primaryDown == 0 && l.State == StateDown {
					primaryDown = h.now.Sub(t0)
				}
				sec := h.link("secondary")
				if sec.State == StateDown {
					t.Fatalf("secondary down at %v: %q", h.now.Sub(t0), sec.Reasons)
				}
				if sec.State == StateUnverified && secReasons == nil {
					secReasons = sec.Reasons
				}
				if h.now.After(at(ms(1000))) && !linkUp(h.m, "secondary") {
					t.Fatalf("dxwatch_link_up{link=secondary} 0 at %v (state %s)", h.now.Sub(t0), sec.State)
				}
			}
			if limit := ms(cut) + 4*w.interval; primaryDown == 0 || primaryDown > limit {
				t.Errorf("primary down at %v, want by %v", primaryDown, limit)
			}
			if got := linkStates(h.linkEvents("secondary")); !slices.Equal(got, tt.secondary) {
				t.Errorf("secondary states %v, want %v", got, tt.secondary)
			}
			if tt.unverified {
				want := "data plane not verifiable: the replies to its pinned echoes return over primary, which is "
				if len(secReasons) == 0 || !strings.HasPrefix(secReasons[0], want) {
					t.Errorf("unverified reasons %q, want one starting %q", secReasons, want)
				}
			}
			if tt.failoverAt == 0 {
				tt.failoverAt = ms(5400) // the primary's third lost echo
			}
			compareSummaries(t, h.failovers(), []summary{{
				Kind: KindFailover, Direction: DirectionFailover, From: "primary", To: "secondary", Time: tt.failoverAt,
				Outage: tt.outage, Gap: tt.outage + w.interval, Lost: tt.lost, Complete: true,
				Cause: "primary: data plane down, BGP still up (3 echoes to primary-peer lost in a row)",
			}})
			if tt.unverified {
				// The secondary's losses were the return path's: once it is
				// back, its loss ratio does not make it degraded.
				if sec := h.link("secondary"); sec.State != StateUp || sec.Echo[0].LossRatio != 0 {
					t.Errorf("secondary after: %s, loss ratio %v, want up with the return path's losses excused", sec.State, sec.Echo[0].LossRatio)
				}
			}
		})
	}
}

// TestSecondaryCutWhilePrimaryCarries: the secondary's own data plane dies
// while the primary carries the traffic and its replies: the primary
// answers echoes sent after the secondary's losses began, so the losses are
// the secondary's own, with or without probe sources. No failover.
func TestSecondaryCutWhilePrimaryCarries(t *testing.T) {
	for _, sourced := range []bool{false, true} {
		name := "no probe sources"
		if sourced {
			name = "probe sources"
		}
		t.Run(name, func(t *testing.T) {
			site := testSite(probes.ModeActivePassive)
			w := defaultWorld(15 * time.Second)
			w.back = func(time.Duration) string { return "primary" }
			if sourced {
				site.Links[1].ProbeSource = netip.MustParseAddr("198.51.100.2")
				w.sourced = map[string]bool{"secondary": true}
			}
			w.up = func(link string, t time.Duration) bool { return link != "secondary" || t < ms(5050) }
			h := newHarness(t, site, nil)
			h.feed(merge(w.echoes(), bgpStart("primary"), []probes.Observation{
				traceObs(ms(1000), "app1", false, "primary"),
				traceObs(ms(1000), "app2", false, "primary"),
			}))
			if got, want := linkStates(h.linkEvents("secondary")), []State{StateUp, StateDown}; !slices.Equal(got, want) {
				t.Errorf("secondary states %v, want %v", got, want)
			}
			if got := linkStates(h.linkEvents("primary")); !slices.Equal(got, []State{StateUp}) {
				t.Errorf("primary states %v, want [up]", got)
			}
			if fo := h.failovers(); len(fo) != 0 {
				t.Errorf("failover events %+v, want none", summaries(fo))
			}
		})
	}
}

// TestActiveActiveReturnPath: in active/active AWS may return a reply over
// either link. When the secondary's replies come back over the secondary
// (it answers), the primary's losses are its own; when they come back over
// the dead primary too, neither link's echoes can tell which one failed,
// and both are unverified except the one whose losses are attributable.
func TestActiveActiveReturnPath(t *testing.T) {
	site := testSite(probes.ModeActiveActive)
	w := defaultWorld(15 * time.Second)
	w.back = nil // each link's replies return over it (the lab's active/active)
	w.up = func(link string, t time.Duration) bool { return link != "primary" || t < ms(5050) }
	w.route = func(target string, t time.Duration) string {
		if target == "app1" && t < ms(5950) {
			return "primary"
		}
		return "secondary"
	}
	h := newHarness(t, site, nil)
	h.feed(merge(w.echoes(), bgpStart("primary"), []probes.Observation{
		traceObs(ms(1000), "app1", false, "primary", "secondary"),
	}))
	if got, want := linkStates(h.linkEvents("primary")), []State{StateUp, StateDown}; !slices.Equal(got, want) {
		t.Errorf("primary states %v, want %v", got, want)
	}
	if got := linkStates(h.linkEvents("secondary")); !slices.Equal(got, []State{StateUp}) {
		t.Errorf("secondary states %v, want [up]", got)
	}
}

// TestTraceOutrankedByNewerBestPath: both DX sessions reset together; BGP
// moves the best path to the secondary and back to the primary within
// 50 ms. A trace that began in between ("via secondary") but reports later
// must not make the secondary active, and a silent primary cut 5 s later is
// a failover from the primary.
func TestTraceOutrankedByNewerBestPath(t *testing.T) {
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	w := returnWorld(25*time.Second, ms(15050), ms(16000))
	all := merge(w.echoes(), bgpStart("primary"), []probes.Observation{
		traceObs(ms(1000), "app1", false, "primary"),
		traceObs(ms(1000), "app2", false, "primary"),
		bestPathObs(ms(10000), "secondary"),
		bestPathObs(ms(10050), "primary"),
		session(ms(16000), "primary", "edge1", false, "BFD down"),
		prefix(ms(16000), "primary", false),
		bestPathObs(ms(16000), "secondary"),
	})
	late := []probes.Observation{
		traceObs(ms(10020), "app1", true, "secondary"), // began at 10.02 s, reported at 10.6 s
		traceObs(ms(10030), "app2", true, "secondary"),
	}
	for _, o := range all {
		if o.Time.After(at(ms(10600))) && late != nil {
			for _, l := range late {
				h.m.Observe(l)
			}
			h.m.Step(h.now)
			late = nil
			if st := h.m.Status(); !slices.Equal(st.Active, []string{"primary"}) {
				t.Fatalf("active %v after the late trace, want [primary]: the best path moved back after the trace began", st.Active)
			}
		}
		h.feed([]probes.Observation{o})
	}
	fo := h.failovers()
	if len(fo) != 1 || fo[0].Kind != KindFailover || !slices.Equal(fo[0].From, []string{"primary"}) || !slices.Equal(fo[0].To, []string{"secondary"}) {
		t.Fatalf("events %+v, want one failover primary → secondary", summaries(fo))
	}
}

// TestBestPathChangeTriggersTrace: a move of the best path asks for a
// fresh trace of the targets it covers.
func TestBestPathChangeTriggersTrace(t *testing.T) {
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	h.feed(bgpStart("primary"))
	h.trig = nil
	h.feed([]probes.Observation{bestPathObs(ms(1000), "secondary")})
	if !slices.Contains(h.trig, "app1") || !slices.Contains(h.trig, "app2") {
		t.Errorf("triggered %v, want app1 and app2", h.trig)
	}
}

// TestReturnPathSettles: the primary's session goes down (BFD) 900 ms after
// a silent cut, but AWS moves the replies to the secondary only 300 ms
// later: probing every 20 ms, the secondary's echoes lost in between are
// the return path's (the primary may still carry replies for
// carrierSettle), not the secondary's. When the secondary is dead too, its
// losses become its own once AWS has had carrierSettle to move the
// replies.
func TestReturnPathSettles(t *testing.T) {
	const cut, bfd, moved = 5050, 5950, 6250
	for _, tt := range []struct {
		name          string
		secondaryDies bool
		want          []State
	}{
		{name: "AWS moves the replies late", want: []State{StateUp, StateUnverified, StateUp}},
		{name: "the secondary is dead too", secondaryDies: true, want: []State{StateUp, StateUnverified, StateDown}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := returnWorld(20*time.Second, ms(cut), ms(bfd))
			w.interval = ms(20)
			w.offsets = map[string]time.Duration{"primary-peer": 0, "secondary-peer": ms(3), "app1": ms(7), "app2": ms(11)}
			w.back = func(t time.Duration) string {
				if t >= ms(moved) {
					return "secondary"
				}
				return "primary"
			}
			if tt.secondaryDies {
				w.up = func(link string, t time.Duration) bool { return t < ms(cut) || (link == "secondary" && t < ms(bfd)) }
			}
			h := newHarness(t, testSite(probes.ModeActivePassive), nil)
			var downAt time.Duration
			for _, o := range merge(w.echoes(), bgpStart("primary"), []probes.Observation{
				traceObs(ms(1000), "app1", false, "primary"),
				traceObs(ms(1000), "app2", false, "primary"),
				session(ms(bfd), "primary", "edge1", false, "BFD down"),
				prefix(ms(bfd), "primary", false),
				bestPathObs(ms(bfd), "secondary"),
			}) {
				h.feed([]probes.Observation{o})
				if downAt == 0 && h.link("secondary").State == StateDown {
					downAt = h.now.Sub(t0)
				}
			}
			if got := linkStates(h.linkEvents("secondary")); !slices.Equal(got, tt.want) {
				t.Errorf("secondary states %v, want %v", got, tt.want)
			}
			if tt.secondaryDies && downAt < ms(bfd)+carrierSettle {
				t.Errorf("the dead secondary went down at %v, before AWS had %v to move the replies (from %v)", downAt, carrierSettle, ms(bfd))
			}
		})
	}
}
