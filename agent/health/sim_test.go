package health

import (
	"fmt"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// t0 is the simulated start; every scenario time is an offset from it.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func testSite(mode string) probes.Site {
	return probes.Site{
		Name: "dc1",
		Links: []probes.Link{
			{Name: "primary", Role: probes.RolePrimary, ConnectionID: "dxcon-aaaa1111", VIFID: "dxvif-aaaa1111",
				CustomerAddress: netip.MustParsePrefix("169.254.10.2/30"), AmazonAddress: netip.MustParsePrefix("169.254.10.1/30"), VLAN: 101},
			{Name: "secondary", Role: probes.RoleSecondary, ConnectionID: "dxcon-bbbb2222", VIFID: "dxvif-bbbb2222",
				CustomerAddress: netip.MustParsePrefix("169.254.20.2/30"), AmazonAddress: netip.MustParsePrefix("169.254.20.1/30"), VLAN: 102},
		},
		Targets: []probes.Target{
			{Name: "app1", Host: "198.18.0.10", VPCID: "vpc-0123"},
			{Name: "app2", Host: "198.18.0.11", VPCID: "vpc-0123"},
		},
		Routing: probes.Routing{
			Mode: mode, Primary: "primary", AmazonASN: 64512,
			ExpectedPrefixes: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16")},
		},
	}
}

// harness drives a Model with a simulated clock: each observation is
// processed at its own time (or at a later "arrival" time).
type harness struct {
	t      *testing.T
	m      *Model
	now    time.Time
	events []Event
	trig   []string
}

func newHarness(t *testing.T, site probes.Site, mutate func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(site); err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &harness{t: t, now: t0}
	h.m = New(cfg, site, nil,
		WithClock(func() time.Time { return h.now }),
		WithEventHook(func(e Event) { h.events = append(h.events, e) }),
		WithTrigger(func(target string) { h.trig = append(h.trig, target) }))
	return h
}

// feed processes obs in order, each when it happens. Between observations
// the model is stepped every 100 ms so that staleness and timeouts run as
// under Run.
func (h *harness) feed(obs []probes.Observation) {
	h.t.Helper()
	for _, o := range obs {
		h.advance(o.Time)
		h.m.Observe(o)
		h.m.Step(h.now)
	}
}

// advance moves the clock to t, stepping the model every 100 ms.
func (h *harness) advance(t time.Time) {
	for h.now.Add(100 * time.Millisecond).Before(t) {
		h.now = h.now.Add(100 * time.Millisecond)
		h.m.Step(h.now)
	}
	if t.After(h.now) {
		h.now = t
		h.m.Step(h.now)
	}
}

func (h *harness) failovers() []Event {
	var out []Event
	for _, e := range h.events {
		if e.Kind != KindLinkState {
			out = append(out, e)
		}
	}
	return out
}

func (h *harness) linkEvents(link string) []Event {
	var out []Event
	for _, e := range h.events {
		if e.Kind == KindLinkState && e.Link == link {
			out = append(out, e)
		}
	}
	return out
}

func (h *harness) link(name string) LinkStatus {
	h.t.Helper()
	for _, l := range h.m.Status().Links {
		if l.Name == name {
			return l
		}
	}
	h.t.Fatalf("no link %q", name)
	return LinkStatus{}
}

// world generates the echo results of a simulated site: every interval
// each link-pinned target and each VPC target is pinged; a ping is answered
// when the link it crosses forwards at the send time, else its loss is
// reported at its deadline (one interval later).
type world struct {
	interval time.Duration
	end      time.Duration
	rtt      map[string]time.Duration // per link
	// up says whether a link's data plane forwards at t.
	up func(link string, t time.Duration) bool
	// route says which link carries the traffic to a VPC target at t.
	route func(target string, t time.Duration) string
	// pinnedStop stops a link-pinned target's probing at that time (0: never).
	pinnedStop map[string]time.Duration
	vpc        []string
	offsets    map[string]time.Duration // send phase per target
	// back, when set, says which link AWS returns replies to the agent's
	// own address over at t (its preference across all VIFs): the reply
	// to a VPC target's echo, and to a pinned echo of a link without a
	// probe source, crosses that link, not the request's.
	back func(t time.Duration) string
	// sourced lists the links with a probe source: their pinned echoes'
	// replies return over the link itself.
	sourced map[string]bool
}

func defaultWorld(end time.Duration) *world {
	return &world{
		interval: 100 * time.Millisecond,
		end:      end,
		rtt:      map[string]time.Duration{"primary": 2 * time.Millisecond, "secondary": 2 * time.Millisecond},
		up:       func(string, time.Duration) bool { return true },
		route:    func(string, time.Duration) string { return "primary" },
		vpc:      []string{"app1", "app2"},
		offsets:  map[string]time.Duration{"primary-peer": 0, "secondary-peer": ms(5), "app1": ms(10), "app2": ms(20)},
	}
}

func (w *world) echoes() []probes.Observation {
	var obs []probes.Observation
	ping := func(target, link string, pinned bool) {
		seq := 0
		for s := w.offsets[target]; s < w.end; s += w.interval {
			if stop := w.pinnedStop[target]; pinned && stop > 0 && s >= stop {
				return
			}
			seq++
			via := link
			if !pinned {
				via = w.route(target, s)
			}
			o := probes.Observation{Probe: "ping", Target: target, Seq: seq}
			if pinned {
				o.Link = link
			}
			ret := via
			if w.back != nil && !w.sourced[link] {
				ret = w.back(s)
			}
			if via != "" && w.up(via, s) && w.up(ret, s) {
				o.Event, o.Time, o.RTT = probes.EchoReply, at(s+w.rtt[via]), w.rtt[via]
			} else {
				o.Event, o.Time = probes.EchoLost, at(s+w.interval)
			}
			obs = append(obs, o)
		}
	}
	ping("primary-peer", "primary", true)
	ping("secondary-peer", "secondary", true)
	for _, t := range w.vpc {
		ping(t, "", false)
	}
	return obs
}

// merge sorts observations by time, keeping the order of equal times.
func merge(lists ...[]probes.Observation) []probes.Observation {
	var all []probes.Observation
	for _, l := range lists {
		all = append(all, l...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all
}

var vpcPrefix = netip.MustParsePrefix("198.18.0.0/16")

// bgpStart is what the BGP feed reports at start-up: sessions up, the VPC
// prefix on both links, the best path on link best.
func bgpStart(best string) []probes.Observation {
	return []probes.Observation{
		{Time: at(ms(50)), Event: probes.BGPSession, Probe: "bgp", Peer: "edge1", Up: true},
		{Time: at(ms(60)), Event: probes.BGPSession, Probe: "bgp", Peer: "edge1", Link: "primary", Up: true},
		{Time: at(ms(60)), Event: probes.BGPSession, Probe: "bgp", Peer: "edge1", Link: "secondary", Up: true},
		{Time: at(ms(70)), Event: probes.BGPPrefix, Probe: "bgp", Link: "primary", Prefix: vpcPrefix, Up: true},
		{Time: at(ms(70)), Event: probes.BGPPrefix, Probe: "bgp", Link: "secondary", Prefix: vpcPrefix, Up: true},
		{Time: at(ms(80)), Event: probes.BGPBestPath, Probe: "bgp", Prefix: vpcPrefix, Link: best},
	}
}

func session(t time.Duration, link, peer string, up bool, detail string) probes.Observation {
	return probes.Observation{Time: at(t), Event: probes.BGPSession, Probe: "bgp", Peer: peer, Link: link, Up: up, Detail: detail}
}

func prefix(t time.Duration, link string, up bool) probes.Observation {
	return probes.Observation{Time: at(t), Event: probes.BGPPrefix, Probe: "bgp", Link: link, Prefix: vpcPrefix, Up: up}
}

func bestPathObs(t time.Duration, link string) probes.Observation {
	return probes.Observation{Time: at(t), Event: probes.BGPBestPath, Probe: "bgp", Prefix: vpcPrefix, Link: link}
}

func traceObs(t time.Duration, target string, changed bool, links ...string) probes.Observation {
	return probes.Observation{Time: at(t), Event: probes.PathTraced, Probe: "trace", Target: target, Links: links, Changed: changed, Reached: len(links) > 0}
}

// feedAsRun processes obs as Run does: each observation on its own, the
// model stepped only by its ticker (every 100 ms), so that the targeted
// evaluation after an echo or a trace (evaluateTarget) is what the other
// targets get between steps. It checks after each observation that the
// count of targets per set of active links (setActive) matches a recount.
func (h *harness) feedAsRun(obs []probes.Observation) {
	h.t.Helper()
	for _, o := range obs {
		h.advance(o.Time)
		h.m.mu.Lock()
		h.m.process(o, h.now)
		h.m.unlockAndNotify()
		h.checkActiveCounts()
	}
}

func (h *harness) checkActiveCounts() {
	h.t.Helper()
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	for _, f := range h.m.fams {
		want := map[uint64]int{}
		for _, ts := range f.targets {
			if ts.known {
				want[ts.active]++
			}
		}
		got := map[uint64]int{}
		for _, c := range f.activeCounts {
			if c.count != 0 {
				got[c.mask] = c.count
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			h.t.Fatalf("at %v: %s targets per active set %v, recounted %v", h.now.Sub(t0), f.name, got, want)
		}
	}
}
