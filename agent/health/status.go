package health

import (
	"fmt"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// Status is the whole picture, as /api/status serves it and as the status
// page and `verify` render it.
type Status struct {
	Site string    `json:"site"`
	Mode string    `json:"mode"`
	Time time.Time `json:"time"`
	// Started is when this model began watching the site without a
	// break (kept across reloads that keep the model): its events from
	// then on are complete.
	Started time.Time `json:"started"`
	// Active lists the links carrying the traffic to most VPC targets now,
	// in the site's first address family (IPv4 on a dual-stack site; see
	// Families for each); empty while that is unknown (ActiveKnown false)
	// or while nothing carries it (a failover in progress, both links down).
	Active      []string `json:"active"`
	ActiveKnown bool     `json:"active_known"`
	// Families are the active links and failovers of each address family
	// the links peer in.
	Families []FamilyStatus `json:"families"`
	Links    []LinkStatus   `json:"links"`
	Targets  []TargetStatus `json:"targets"`
	Feeds    []Evidence     `json:"bgp_feeds,omitempty"`
	AWS      []Evidence     `json:"aws,omitempty"` // AWS checks that belong to no link
	// InProgress is the failover under way (the first family's, else
	// another's), as far as it is known.
	InProgress *Event `json:"failover_in_progress,omitempty"`
	// LastFailover is the last finished failover or outage.
	LastFailover *Event               `json:"last_failover,omitempty"`
	Checks       []probes.CheckResult `json:"checks"`
	Dropped      uint64               `json:"observations_dropped"`
}

// FamilyStatus is one address family's traffic: the links carrying it and
// its failovers.
type FamilyStatus struct {
	Family       string   `json:"family"`
	Active       []string `json:"active"`
	ActiveKnown  bool     `json:"active_known"`
	Targets      int      `json:"targets"`
	InProgress   *Event   `json:"failover_in_progress,omitempty"`
	LastFailover *Event   `json:"last_failover,omitempty"`
}

// LinkStatus is one link's fused state and the evidence behind it. A
// dual-stack link's state is the summary of its peerings' (Peerings);
// its evidence and echoes are those of every peering, each naming its
// family.
type LinkStatus struct {
	Name     string          `json:"name"`
	Role     string          `json:"role,omitempty"`
	State    State           `json:"state"`
	Since    time.Time       `json:"since"`
	Reasons  []string        `json:"reasons"`
	Active   bool            `json:"active"`
	Evidence []Evidence      `json:"evidence"`
	Echo     []EchoStatus    `json:"echo,omitempty"`
	Peerings []PeeringStatus `json:"peerings,omitempty"`
}

// PeeringStatus is one peering of a dual-stack link, judged on its
// family's evidence alone.
type PeeringStatus struct {
	Family  string    `json:"family"`
	State   State     `json:"state"`
	Since   time.Time `json:"since"`
	Reasons []string  `json:"reasons"`
	Active  bool      `json:"active"`
}

// Evidence is one piece of yes/no evidence about a link.
type Evidence struct {
	Family string    `json:"family,omitempty"` // the peering's, on a dual-stack link
	Source string    `json:"source"`           // bgp_session, bgp_prefix, aws, trace
	Name   string    `json:"name"`             // the edge router (BGP sessions), prefix, check or target
	OK     bool      `json:"ok"`
	Fresh  bool      `json:"fresh"`
	Detail string    `json:"detail,omitempty"`
	Time   time.Time `json:"time"`
}

// EchoStatus summarises a pinged target's latest results.
type EchoStatus struct {
	Target          string     `json:"target"`
	Fresh           bool       `json:"fresh"`
	LastReply       *time.Time `json:"last_reply,omitempty"`
	LastLoss        *time.Time `json:"last_loss,omitempty"`
	ConsecutiveLost int        `json:"consecutive_lost"`
	Down            bool       `json:"down"`
	Samples         int        `json:"samples"`
	LossRatio       float64    `json:"loss_ratio"`
	MeanRTT         Duration   `json:"mean_rtt_seconds"`
}

// TargetStatus is one VPC target: which links carry its traffic and how
// that is known.
type TargetStatus struct {
	Family string   `json:"family"`
	Name   string   `json:"name"`
	Host   string   `json:"host"`
	Active []string `json:"active"`
	// Source says how Active is known: trace, bgp, inferred (the only link
	// up while the target answers) or "" (unknown).
	Source  string      `json:"source"`
	Prefix  string      `json:"prefix,omitempty"`
	Reached bool        `json:"trace_reached"`
	Echo    *EchoStatus `json:"echo,omitempty"`
}

// Status returns the whole picture as of the last evaluation.
func (m *Model) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.evalAt
	if now.IsZero() {
		now = m.now()
	}
	c := &m.cfg
	first := m.fams[0]
	s := Status{
		Site:        m.site.Name,
		Mode:        m.site.Routing.Mode,
		Time:        now,
		Started:     m.started,
		Active:      first.namesOf(first.activeMask()),
		ActiveKnown: first.curKnown,
		Dropped:     m.dropped.Load(),
	}
	for _, f := range m.fams {
		fs := FamilyStatus{Family: f.name, Active: f.namesOf(f.activeMask()), ActiveKnown: f.curKnown, Targets: len(f.targets)}
		if f.pending != nil {
			ev := f.buildEvent(f.pending, now, false)
			fs.InProgress = &ev
			if s.InProgress == nil {
				s.InProgress = &ev
			}
		}
		if f.last != nil {
			ev := *f.last // its story is in the site's last_failover or events
			ev.Targets, ev.Timeline = nil, nil
			fs.LastFailover = &ev
		}
		s.Families = append(s.Families, fs)
	}
	for _, sum := range m.summaries {
		ls := LinkStatus{
			Name: sum.link.Name, Role: sum.link.Role, State: sum.state, Since: sum.since,
			Reasons: []string{}, Evidence: []Evidence{},
		}
		if sum.state != StateUp {
			ls.Reasons = append(ls.Reasons, sum.why(now)...)
		}
		dual := len(sum.peers) > 1
		for j, l := range sum.peers {
			f := sum.fams[j]
			i := f.linkIdx[sum.link.Name]
			active := f.activeMask()&(1<<i) != 0
			ls.Active = ls.Active || active
			fam := ""
			if dual {
				fam = f.name
				ps := PeeringStatus{Family: f.name, State: l.state, Since: l.since, Reasons: []string{}, Active: active}
				if l.state != StateUp {
					ps.Reasons = append(ps.Reasons, f.judgeLink(i, now, f.feedDown()).why...)
				}
				ls.Peerings = append(ls.Peerings, ps)
			}
			feedDown := f.feedDown()
			add := func(e Evidence) {
				e.Family = fam
				ls.Evidence = append(ls.Evidence, e)
			}
			for _, ev := range l.sessions {
				add(evidence("bgp_session", ev, c.StaleAfter.BGP, now))
			}
			for _, ev := range l.prefixes {
				e := evidence("bgp_prefix", ev, c.StaleAfter.BGP, now)
				e.Fresh = e.Fresh && !feedDown
				add(e)
			}
			for _, ev := range l.aws {
				add(evidence("aws", ev, c.StaleAfter.AWS, now))
			}
			for _, ts := range f.targets {
				if ts.trace&(1<<i) != 0 && !ts.traceAt.IsZero() {
					add(Evidence{Source: "trace", Name: ts.target.Name, OK: true,
						Fresh: fresh(ts.traceAt, c.StaleAfter.Trace, now), Time: ts.traceAt, Detail: "the path crosses the link"})
				}
			}
			for _, e := range l.pinned {
				ls.Echo = append(ls.Echo, m.echoStatus(e, now))
			}
		}
		s.Links = append(s.Links, ls)
	}
	for _, f := range m.fams {
		for _, ts := range f.targets {
			t := TargetStatus{Family: f.name, Name: ts.target.Name, Host: ts.target.Host, Active: f.namesOf(ts.active), Source: ts.source, Reached: ts.reached}
			if ts.best != nil {
				t.Prefix = ts.best.pfx.String()
			}
			if ts.echo != nil {
				es := m.echoStatus(ts.echo, now)
				t.Echo = &es
			}
			s.Targets = append(s.Targets, t)
		}
	}
	for _, ev := range m.feeds {
		s.Feeds = append(s.Feeds, evidence("bgp_session", ev, c.StaleAfter.BGP, now))
	}
	for _, ev := range m.siteAWS {
		s.AWS = append(s.AWS, evidence("aws", ev, c.StaleAfter.AWS, now))
	}
	if m.last != nil {
		ev := *m.last
		s.LastFailover = &ev
	}
	s.Checks = m.checksLocked(now)
	return s
}

// activeMask returns the links carrying traffic now, 0 when unknown.
func (m *family) activeMask() uint64 {
	if !m.curKnown {
		return 0
	}
	return m.current
}

func evidence(source string, ev *boolEv, limit time.Duration, now time.Time) Evidence {
	return Evidence{Source: source, Name: ev.key, OK: ev.up, Fresh: fresh(ev.at, limit, now), Detail: ev.detail, Time: ev.at}
}

func (m *Model) echoStatus(e *echoState, now time.Time) EchoStatus {
	s := EchoStatus{
		Target: e.name, Fresh: e.seen && fresh(e.last(), m.cfg.StaleAfter.Ping, now),
		ConsecutiveLost: e.run, Down: e.down, Samples: e.wn - e.wexcused, LossRatio: e.lossRatio(), MeanRTT: Duration(e.meanRTT()),
	}
	if !e.lastReply.IsZero() {
		s.LastReply = ptr(e.lastReply)
	}
	if !e.lastLoss.IsZero() {
		s.LastLoss = ptr(e.lastLoss)
	}
	return s
}

// Events returns the recorded events, oldest first.
func (m *Model) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	evs := make([]Event, 0, m.events.len())
	m.events.each(func(e *Event) { evs = append(evs, *e) })
	return evs
}

// orderHealth places the health model's checks after the probes' in the
// turn-up checklist.
const orderHealth = probes.OrderTrace + 100

// Checks implements probes.Checker: one check per link ("health.link.<name>")
// and one for the active link against the routing intent ("health.active").
func (m *Model) Checks() []probes.CheckResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.evalAt
	if now.IsZero() {
		now = m.now()
	}
	return m.checksLocked(now)
}

func (m *Model) checksLocked(now time.Time) []probes.CheckResult {
	out := []probes.CheckResult{}
	for _, sum := range m.summaries {
		r := probes.CheckResult{Name: "health.link." + sum.link.Name, Order: orderHealth, Link: sum.link.Name, Time: now}
		r.Reason = reasonsText(sum.why(now))
		switch sum.state {
		case StateUp:
			r.Status, r.Reason = probes.Pass, "link up"
		case StateDegraded:
			r.Status, r.Fix = probes.Warn, linkFix(sum.sig)
		case StateDown:
			r.Status, r.Fix = probes.Fail, linkFix(sum.sig)
		case StateUnverified:
			r.Status, r.Fix = probes.Warn, linkFix(sum.sig)
		default:
			r.Status = probes.Skip
			r.Reason = "no fresh evidence about the link yet: no probe has reported on it"
		}
		out = append(out, r)
	}
	for i, f := range m.fams {
		if i > 0 && len(f.targets) == 0 {
			continue // no VPC target of the family: nothing to say
		}
		r := f.activeCheck()
		r.Time = now
		if i > 0 {
			r.Name += "." + f.name
		}
		out = append(out, r)
	}
	return out
}

// activeCheck is the health.active check of the family: its active link
// against the routing intent.
func (m *family) activeCheck() probes.CheckResult {
	r := probes.CheckResult{Name: "health.active", Order: orderHealth + 1}
	active := m.label(m.current)
	traffic := "the traffic"
	if len(m.fams) > 1 {
		traffic = "the " + probes.FamilyName(m.name) + " traffic"
	}
	switch {
	case !m.curKnown:
		r.Status, r.Reason = probes.Skip, "which link carries "+traffic+" is not known: no fresh trace, BGP best path or echo result for the VPC targets"
	case m.current == 0:
		r.Status, r.Reason = probes.Fail, "no link carries "+traffic+" to the VPC targets"
		r.Fix = "check both links' state above; the VPC targets are unreachable over Direct Connect"
	case m.site.Routing.Mode == probes.ModeActiveActive:
		up := m.allMask &^ m.downMask
		if m.current == up {
			r.Status, r.Reason = probes.Pass, "traffic crosses "+active+" (active/active)"
		} else {
			r.Status, r.Reason = probes.Warn, fmt.Sprintf("traffic crosses %s only, while %s are up (active/active)", active, m.label(up))
			r.Fix = "check that the edge router uses BGP multipath (maximum-paths) over both links and that both links carry the same AS_PATH length"
		}
	case m.primary >= 0:
		p := m.links[m.primary].link.Name
		if m.current == 1<<m.primary {
			r.Status, r.Reason = probes.Pass, "traffic crosses the primary link "+p
		} else {
			r.Status, r.Reason = probes.Warn, fmt.Sprintf("traffic crosses %s, not the primary link %s", active, p)
			r.Fix = "if the primary is up, check the routing intent: the secondary should be prepended (AS_PATH) or tagged with a lower local-preference community (7224:7100)"
		}
	default:
		r.Status, r.Reason = probes.Pass, "traffic crosses "+active
	}
	if len(m.fams) > 1 && r.Status != probes.Skip && m.name != probes.FamilyIPv4 {
		r.Reason = probes.FamilyName(m.name) + ": " + r.Reason
	}
	return r
}

func linkFix(sig uint64) string {
	switch {
	case sig&sigEncryptionDown != 0:
		return "MACsec is down on a must_encrypt connection: see the aws.connection.<link>.macsec check (the key associated with the connection and the router's CKN/CAK), or set the connection's encryption mode to should_encrypt to carry traffic unencrypted meanwhile"
	case sig&sigGrey != 0:
		return "the link drops traffic while its BGP session stays up: check the cross-connect and the provider; enable BFD on the edge router's Direct Connect neighbors so BGP fails over in about a second instead of the hold time"
	case sig&(sigSessionDown|sigSessionSomeDown) != 0:
		return "check the BGP session on the edge router (show bgp neighbor): VLAN, peer addresses, MD5 key and the AWS console's BGP status for the virtual interface"
	case sig&(sigPrefixesWithdrawn|sigPrefixSomeWithdrawn) != 0:
		return "check the routes the virtual interface receives: DX gateway associations and the allowed prefixes, and the edge router's inbound policy"
	case sig&sigDataDown != 0:
		return "the link's Amazon peer does not answer: check the physical link, the VLAN and the edge router's interface"
	case sig&(sigLoss|sigRTT|sigSomeEchoDown) != 0:
		return "check the link for errors and congestion (interface counters, the provider's status)"
	case sig&sigUnverified != 0:
		return "give each link a probe source (links[].probe_source: an address on dxwatch's host that the edge advertises over that link only, docs/probe-sources.md) so that each link's echoes return over it; until then the link's state follows once the link carrying the replies is back or BGP moves them"
	case sig&sigEchoStale != 0:
		return "the ping probe stopped reporting: check dxwatch's logs and dxwatch_probe_success"
	case sig&sigAWS != 0:
		return "see the AWS checks for the exact step"
	}
	return ""
}
