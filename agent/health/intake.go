// The model's intake: each kind of observation applied to the evidence it
// updates (apply*), before process evaluates what follows from it
// (rules.go). Nothing here decides a state.

package health

import (
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// process applies one observation and evaluates its consequences at the
// observation's own time.
func (m *Model) process(o probes.Observation, now time.Time) {
	m.processed++
	if o.Time.IsZero() {
		o.Time = now
	}
	var limit time.Duration
	switch o.Event {
	case probes.EchoReply, probes.EchoLost:
		limit = m.cfg.StaleAfter.Ping
	case probes.PathTraced:
		limit = m.cfg.StaleAfter.Trace
	case probes.BGPSession, probes.BGPPrefix, probes.BGPBestPath:
		limit = m.cfg.StaleAfter.BGP
	case probes.AWSCheck:
		limit = m.cfg.StaleAfter.AWS
	default:
		m.ignore("unknown_event")
		return
	}
	if !fresh(o.Time, limit, now) {
		m.ignore("stale")
		return
	}
	switch o.Event {
	case probes.EchoReply, probes.EchoLost:
		f, ok := m.famOfEcho(o)
		if !ok {
			return
		}
		if ts, ok := f.applyEcho(o, now); ok {
			m.evaluateTarget(f, o.Time, now, ts)
		}
	case probes.PathTraced:
		f, ok := m.famOfTarget(o.Target)
		if !ok {
			m.ignore("unknown_target")
			return
		}
		if ts, ok := f.applyTrace(o); ok {
			m.evaluateTarget(f, o.Time, now, ts)
		}
	case probes.BGPSession:
		if o.Link == "" {
			if m.applyFeed(o) {
				m.evaluate(o.Time, now)
			}
			return
		}
		if f := m.famOfLink(o.Link, o.Family); f.applySession(o) {
			m.evaluateFamily(f, o.Time, now)
		}
	case probes.BGPPrefix:
		if f := m.famOfAddr(o.Prefix.Addr()); f.applyPrefix(o) {
			m.evaluateFamily(f, o.Time, now)
		}
	case probes.BGPBestPath:
		if f := m.famOfAddr(o.Prefix.Addr()); f.applyBestPath(o, now) {
			m.evaluateFamily(f, o.Time, now)
		}
	case probes.AWSCheck:
		if m.applyAWS(o) {
			m.evaluate(o.Time, now)
		}
	}
}

// famOfEcho returns the family of an echo result: the pinned link's
// peering's, or the VPC target's.
func (m *Model) famOfEcho(o probes.Observation) (*family, bool) {
	if o.Link != "" {
		return m.famOfLink(o.Link, o.Family), true
	}
	f, ok := m.famOfTarget(o.Target)
	if !ok {
		m.ignore("unknown_target")
	}
	return f, ok
}

func (m *family) linkOf(name string) (int, bool) {
	i, ok := m.linkIdx[name]
	if !ok {
		m.ignore("unknown_link")
	}
	return i, ok
}

// applyEcho applies an echo result and returns the VPC target it is about
// (nil for a link-pinned echo) and whether it changed anything.
func (m *family) applyEcho(o probes.Observation, now time.Time) (*targetState, bool) {
	var e *echoState
	var ts *targetState
	if o.Link != "" {
		li, ok := m.linkOf(o.Link)
		if !ok {
			return nil, false
		}
		e = m.pinned[o.Target]
		if e == nil {
			l := m.links[li]
			if len(l.pinned) >= maxPinnedPerLink {
				m.ignore("too_many")
				return nil, false
			}
			e = newEcho(o.Target, li, -1, m.cfg.Window)
			l.pinned = append(l.pinned, e)
			m.pinned[o.Target] = e
		}
	} else {
		ti, ok := m.targetIdx[o.Target]
		if !ok {
			m.ignore("unknown_target")
			return nil, false
		}
		ts = m.targets[ti]
		if ts.echo == nil {
			ts.echo = newEcho(ts.target.Name, -1, ti, m.cfg.Window)
		}
		e = ts.echo
	}
	p := m.pending
	if o.Event == probes.EchoReply {
		ok, restored := e.reply(o.Time, o.Seq, o.RTT, &m.cfg)
		if !ok {
			m.ignore("out_of_order")
			return nil, false
		}
		if ts != nil {
			if p != nil && o.Time.After(p.toAt) {
				ts.okAfter++
			}
			if restored {
				m.fire(ts, now)
			}
		}
		return ts, true
	}
	ok, first := e.loss(o.Time, o.Count, &m.cfg)
	if !ok {
		m.ignore("out_of_order")
		return nil, false
	}
	if ts != nil {
		if p != nil && o.Time.After(p.toAt) {
			ts.okAfter = 0
		}
		if first {
			m.fire(ts, now)
		}
	}
	return ts, true
}

// applyTrace applies a trace result and returns its target and whether it
// changed anything.
func (m *family) applyTrace(o probes.Observation) (*targetState, bool) {
	ti, ok := m.targetIdx[o.Target]
	if !ok {
		m.ignore("unknown_target")
		return nil, false
	}
	ts := m.targets[ti]
	if o.Time.Before(ts.tracedAt) {
		m.ignore("out_of_order")
		return nil, false
	}
	ts.tracedAt, ts.reached = o.Time, o.Reached
	mask := m.maskOf(o.Links)
	if mask == 0 {
		// No Direct Connect hop seen (rate-limited or filtered hops): the
		// trace says nothing about the link, the last attribution ages.
		return ts, true
	}
	if (ts.trace != 0 && mask != ts.trace) || o.Changed {
		m.note(TimelineStep{Time: o.Time, What: StepPathChange, Target: ts.target.Name, Detail: "via " + m.label(mask)})
	}
	ts.trace, ts.traceAt = mask, o.Time
	for i, l := range m.links {
		if mask&(1<<i) != 0 && o.Time.After(l.traced) {
			l.traced = o.Time
		}
	}
	return ts, true
}

// upsert finds the evidence keyed key in *list, adding it when there is
// room. It returns nil when the list is full.
func upsert(list *[]*boolEv, key string, limit int) *boolEv {
	for _, ev := range *list {
		if ev.key == key {
			return ev
		}
	}
	if len(*list) >= limit {
		return nil
	}
	ev := &boolEv{key: key}
	*list = append(*list, ev)
	return ev
}

// set records o on ev; it reports whether o was applied and whether it
// changed the value.
func (m *Model) set(ev *boolEv, o probes.Observation) (applied, changed bool) {
	if ev == nil {
		m.ignore("too_many")
		return false, false
	}
	if o.Time.Before(ev.at) {
		m.ignore("out_of_order")
		return false, false
	}
	changed = ev.at.IsZero() || ev.up != o.Up
	ev.up, ev.at, ev.detail = o.Up, o.Time, o.Detail
	return true, changed
}

// applyFeed applies a report of the agent's own session with an edge
// router: its route feed, shared by every family.
func (m *Model) applyFeed(o probes.Observation) bool {
	applied, changed := m.set(upsert(&m.feeds, o.Peer, maxSessions), o)
	if changed {
		m.noteAll(sessionStep(o, "", feedSession(o.Peer, o.Up)))
	}
	return applied
}

// applySession applies a report of a link's Direct Connect session of the
// family.
func (m *family) applySession(o probes.Observation) bool {
	li, ok := m.linkOf(o.Link)
	if !ok {
		return false
	}
	l := m.links[li]
	applied, changed := m.set(upsert(&l.sessions, o.Peer, maxSessions), o)
	if changed {
		m.note(sessionStep(o, l.link.Name, dxSession(l, o.Peer)))
	}
	return applied
}

// sessionStep is the timeline step of a session report o: up or down,
// about link (empty for a route feed), the session named by who.
func sessionStep(o probes.Observation, link, who string) TimelineStep {
	st := TimelineStep{Time: o.Time, What: StepSessionDown, Link: link, Detail: joinDetail(who, o.Detail)}
	if o.Up {
		st.What = StepSessionUp
	}
	return st
}

// dxSession names link l's Direct Connect session, held by the edge router
// named router, as an engineer would: by its two ends. dxwatch cannot peer
// with AWS: only the router's BMP feed reports this session.
func dxSession(l *linkState, router string) string {
	aws := "AWS"
	if a := l.link.AmazonAddress.Addr(); a.IsValid() {
		aws += " " + a.String()
	}
	return router + " ↔ " + aws + ", seen by BMP"
}

// feedSession names the agent's own session with an edge router: the feed
// of the routes the router receives over the links.
func feedSession(router string, up bool) string {
	if up {
		return "route feed from " + router + " up"
	}
	return "route feed from " + router + " down"
}

func (m *family) applyPrefix(o probes.Observation) bool {
	li, ok := m.linkOf(o.Link)
	if !ok {
		return false
	}
	pfx := o.Prefix.Masked()
	ev := upsert(&m.links[li].prefixes, pfx.String(), maxPrefixes)
	wasSeen := false
	if ev != nil {
		ev.pfx = pfx
		wasSeen = !ev.at.IsZero()
	}
	applied, changed := m.set(ev, o)
	// The first announcement of a prefix is start-up, not a change.
	if changed && (wasSeen || !o.Up) {
		what := StepPrefixWithdrawn
		if o.Up {
			what = StepPrefixRestored
		}
		m.note(TimelineStep{Time: o.Time, What: what, Link: m.links[li].link.Name, Detail: pfx.String()})
	}
	return applied
}

func (m *family) applyBestPath(o probes.Observation, now time.Time) bool {
	link := -1
	if o.Link != "" {
		li, ok := m.linkOf(o.Link)
		if !ok {
			return false
		}
		link = li
	}
	pfx := o.Prefix.Masked()
	var bp *bestPath
	for _, b := range m.best {
		if b.pfx == pfx {
			bp = b
			break
		}
	}
	if bp == nil {
		if len(m.best) >= maxPrefixes {
			m.ignore("too_many")
			return false
		}
		bp = &bestPath{pfx: pfx, link: -1}
		m.best = append(m.best, bp)
		m.resolveTargetPrefixes()
	}
	if o.Time.Before(bp.at) {
		m.ignore("out_of_order")
		return false
	}
	moved := bp.link != link && !bp.at.IsZero()
	if moved {
		m.note(TimelineStep{Time: o.Time, What: StepBestPath, Link: o.Link, Detail: pfx.String() + " via " + m.label(maskOfIndex(link))})
	}
	bp.link, bp.at = link, o.Time
	if moved {
		// A trace that began before the move says where the traffic went
		// then: ask for one that shows where it goes now.
		for _, ts := range m.targets {
			if ts.best == bp {
				m.fire(ts, now)
			}
		}
	}
	return true
}

// applyAWS applies an AWS check: the site's, a link's (in every family
// the link has a peering in) or one peering's (Family).
func (m *Model) applyAWS(o probes.Observation) bool {
	if o.Link == "" {
		applied, _ := m.set(upsert(&m.siteAWS, o.Check, maxChecks), o)
		return applied
	}
	if o.Family != "" {
		return m.family(o.Family).applyAWS(o)
	}
	applied, known := false, false
	for _, f := range m.fams {
		if _, ok := f.linkIdx[o.Link]; ok {
			known = true
			applied = f.applyAWS(o) || applied
		}
	}
	if !known {
		m.ignore("unknown_link")
	}
	return applied
}

func (m *family) applyAWS(o probes.Observation) bool {
	li, ok := m.linkOf(o.Link)
	if !ok {
		return false
	}
	l := m.links[li]
	applied, changed := m.set(upsert(&l.aws, o.Check, maxChecks), o)
	if changed && !o.Up {
		m.note(TimelineStep{Time: o.Time, What: StepAWSCheck, Link: l.link.Name, Detail: joinDetail(o.Check+" failing", o.Detail)})
	}
	return applied
}

func joinDetail(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

// resolveTargetPrefixes points every target at the most specific known
// prefix covering its address.
func (m *family) resolveTargetPrefixes() {
	for _, ts := range m.targets {
		if !ts.addr.IsValid() {
			continue
		}
		ts.best = nil
		for _, b := range m.best {
			if b.pfx.Contains(ts.addr) && (ts.best == nil || b.pfx.Bits() > ts.best.pfx.Bits()) {
				ts.best = b
			}
		}
	}
}

// fire asks for a trace of ts, at most every triggerSpacing.
func (m *Model) fire(ts *targetState, now time.Time) {
	if m.trigger == nil || (!ts.trigAt.IsZero() && now.Sub(ts.trigAt) < triggerSpacing) {
		return
	}
	ts.trigAt = now
	m.outTrig = append(m.outTrig, ts.target.Name)
}
