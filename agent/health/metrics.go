package health

import (
	"sort"

	"github.com/dxwatch/dxwatch/probes/expose"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	linkUpDesc = prometheus.NewDesc("dxwatch_link_up",
		"Fused health of the link: 1 when up or degraded, 0 when down or without fresh evidence; while unverified, the last verified verdict.", []string{"link"}, nil)
	siteUpDesc = prometheus.NewDesc("dxwatch_site_up",
		"1 while some link is up or degraded (a link carries traffic), 0 while every link is down; no sample while neither is known (links unknown or unverified), so that time not observed is not averaged in. The series of the site's availability (agent/report).", nil, nil)
	linkActiveDesc = prometheus.NewDesc("dxwatch_link_active",
		"1 while the traffic to the VPC targets of some address family crosses the link.", []string{"link"}, nil)
	peeringStateDesc = prometheus.NewDesc("dxwatch_peering_state",
		"1 for the current state (up, degraded, down, unknown, unverified) of the link's peering of the family, judged on that family's evidence alone; dxwatch_link_state is their summary.", []string{"link", "family", "state"}, nil)
	peeringActiveDesc = prometheus.NewDesc("dxwatch_peering_active",
		"1 while the traffic of the family to its VPC targets crosses the link.", []string{"link", "family"}, nil)
	peeringUpDesc = prometheus.NewDesc("dxwatch_peering_up",
		"The BGP session of the link's peering of the family as the edge router(s) report it over BMP: 1 when a fresh report says up, 0 when every fresh one says down; absent without one.", []string{"link", "family"}, nil)
	linkStateDesc = prometheus.NewDesc("dxwatch_link_state",
		"1 for the link's current state (up, degraded, down, unknown, unverified).", []string{"link", "state"}, nil)
	failoversDesc = prometheus.NewDesc("dxwatch_failovers_total",
		"Changes of the active link(s) of an address family's traffic; from and to name the links joined by '+', or none; direction is failover (traffic left a link it was on: pages) or failback (back to the primary, or to more links); family is ipv4 or ipv6.", []string{"from", "to", "direction", "family"}, nil)
	droppedDesc = prometheus.NewDesc("dxwatch_health_observations_dropped_total",
		"Observations dropped because the health model's queue was full.", nil, nil)
	ignoredDesc = prometheus.NewDesc("dxwatch_health_observations_ignored_total",
		"Observations the health model ignored, by reason (stale, out_of_order, unknown_link, unknown_target, unknown_event, too_many).", []string{"reason"}, nil)
)

// ignoreReasons are exported from the start, so that rate() sees the first.
var ignoreReasons = []string{"stale", "out_of_order", "unknown_link", "unknown_target", "unknown_event", "too_many"}

// Describe implements prometheus.Collector.
func (m *Model) Describe(ch chan<- *prometheus.Desc) {
	ch <- linkUpDesc
	ch <- siteUpDesc
	ch <- linkActiveDesc
	ch <- peeringUpDesc
	ch <- peeringStateDesc
	ch <- peeringActiveDesc
	ch <- linkStateDesc
	ch <- failoversDesc
	ch <- droppedDesc
	ch <- ignoredDesc
	m.hist.Describe(ch)
}

// Collect implements prometheus.Collector: const metrics from a snapshot
// taken under the lock, plus the outage histogram.
func (m *Model) Collect(ch chan<- prometheus.Metric) {
	type linkSnap struct {
		name   string
		state  State
		up     bool
		active bool
	}
	type pair struct {
		from, to, dir, family string
		n                     float64
	}
	type peering struct {
		link, family  string
		state         State
		active        bool
		session, seen bool // the BMP session's report, when seen
	}
	m.mu.Lock()
	links := make([]linkSnap, len(m.summaries))
	var peerings []peering
	now := m.now()
	for i, s := range m.summaries {
		links[i] = linkSnap{s.link.Name, s.state, s.up(), false}
		for j, l := range s.peers {
			f := s.fams[j]
			p := peering{link: s.link.Name, family: f.name, state: l.state, active: f.activeMask()&(1<<f.linkIdx[s.link.Name]) != 0}
			links[i].active = links[i].active || p.active
			if up, down := m.count(l.sessions, now); up+down > 0 {
				p.session, p.seen = up > 0, true
			}
			peerings = append(peerings, p)
		}
	}
	var pairs []pair
	for _, f := range m.fams {
		for k, n := range f.failovers {
			pairs = append(pairs, pair{k[0], k[1], f.direction(f.labelMask(k[0]), f.labelMask(k[1])), f.name, n})
		}
	}
	ignored := make(map[string]float64, len(m.ignored))
	for k, n := range m.ignored {
		ignored[k] = n
	}
	m.mu.Unlock()

	if up, known := siteUp(links, func(l linkSnap) State { return l.state }); known {
		ch <- prometheus.MustNewConstMetric(siteUpDesc, prometheus.GaugeValue, expose.Bool(up))
	}
	for _, l := range links {
		ch <- prometheus.MustNewConstMetric(linkUpDesc, prometheus.GaugeValue, expose.Bool(l.up), l.name)
		ch <- prometheus.MustNewConstMetric(linkActiveDesc, prometheus.GaugeValue, expose.Bool(l.active), l.name)
		for _, s := range states {
			ch <- prometheus.MustNewConstMetric(linkStateDesc, prometheus.GaugeValue, expose.Bool(l.state == s), l.name, string(s))
		}
	}
	for _, p := range peerings {
		if p.seen {
			ch <- prometheus.MustNewConstMetric(peeringUpDesc, prometheus.GaugeValue, expose.Bool(p.session), p.link, p.family)
		}
		ch <- prometheus.MustNewConstMetric(peeringActiveDesc, prometheus.GaugeValue, expose.Bool(p.active), p.link, p.family)
		for _, s := range states {
			ch <- prometheus.MustNewConstMetric(peeringStateDesc, prometheus.GaugeValue, expose.Bool(p.state == s), p.link, p.family, string(s))
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		a, b := pairs[i], pairs[j]
		if a.family != b.family {
			return a.family < b.family
		}
		if a.from != b.from {
			return a.from < b.from
		}
		return a.to < b.to
	})
	for _, p := range pairs {
		ch <- prometheus.MustNewConstMetric(failoversDesc, prometheus.CounterValue, p.n, p.from, p.to, p.dir, p.family)
	}
	ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(m.dropped.Load()))
	for _, r := range ignoreReasons {
		ch <- prometheus.MustNewConstMetric(ignoredDesc, prometheus.CounterValue, ignored[r], r)
	}
	m.hist.Collect(ch)
}

// siteUp is dxwatch_site_up, as the availability report counts the site:
// up while some link is up or degraded, down while every link is down,
// not known otherwise.
func siteUp[L any](links []L, state func(L) State) (up, known bool) {
	all := len(links) > 0
	for _, l := range links {
		switch state(l) {
		case StateUp, StateDegraded:
			return true, true
		case StateDown:
		default:
			all = false
		}
	}
	return false, all
}
