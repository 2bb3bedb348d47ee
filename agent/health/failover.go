package health

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"time"
)

// followActive moves the failover machine after an evaluation: the set of
// links carrying the traffic to most targets, the first one adopted, a
// change of it opening (or retargeting) a failover, and a failover in
// progress closed once its traffic is restored.
func (m *family) followActive(at, now time.Time) {
	cur, known := m.siteActive()
	m.current, m.curKnown = cur, known
	if known {
		switch {
		case !m.known:
			// The first picture is adopted, not reported as a failover.
			if cur != 0 {
				m.stable, m.known = cur, true
			}
		case m.pending == nil:
			if cur != m.stable {
				m.open(cur, at, now)
			}
		case cur != m.pending.to:
			m.retarget(cur, at)
		}
	}
	if m.pending != nil {
		m.tryClose(now)
	}
}

// open starts a failover: the active links left m.stable at at.
func (m *family) open(cur uint64, at, now time.Time) {
	p := &pending{from: m.stable, to: cur, openAt: at, toAt: at, trouble: at}
	left := p.from &^ cur
	for i, l := range m.links {
		if left&(1<<i) == 0 {
			continue
		}
		if (l.state == StateDown || l.state == StateDegraded) && !l.trouble.IsZero() && l.trouble.Before(p.trouble) {
			p.trouble = l.trouble
		}
		for _, e := range l.pinned {
			if e.run > 0 && (p.pinnedLoss.IsZero() || e.runStart.Before(p.pinnedLoss)) {
				p.pinnedLoss, p.pinnedLossWho = e.runStart, e.name
			}
		}
	}
	ws := p.trouble
	for _, ts := range m.targets {
		ts.okAfter = 0
		if e := ts.echo; e != nil && e.gap.open && e.gap.firstLoss.Before(ws) && e.gap.firstLoss.After(at.Add(-m.cfg.RestoreTimeout)) {
			ws = e.gap.firstLoss
		}
	}
	p.windowStart = ws.Add(-m.cfg.Lookback)
	p.cause = m.cause(left, cur, now)
	m.pending = p
	m.note(TimelineStep{Time: at, What: StepActiveChange, Detail: m.label(p.from) + " → " + m.label(cur)})
	m.log.Info("active link changing", "from", m.label(p.from), "to", m.label(cur), "cause", p.cause)
}

func (m *family) retarget(cur uint64, at time.Time) {
	p := m.pending
	m.note(TimelineStep{Time: at, What: StepActiveChange, Detail: m.label(p.to) + " → " + m.label(cur)})
	p.to, p.toAt = cur, at
	for _, ts := range m.targets {
		ts.okAfter = 0
	}
}

func (m *family) cause(left, cur uint64, now time.Time) string {
	for i, l := range m.links {
		if left&(1<<i) != 0 && (l.state == StateDown || l.state == StateDegraded) {
			if why := m.reasons(i, now); len(why) > 0 {
				return l.link.Name + ": " + why[0]
			}
		}
	}
	if cur == 0 {
		return "no link carries the traffic to the VPC targets"
	}
	sources := map[string]int{}
	for _, ts := range m.targets {
		if ts.known && ts.active == cur {
			sources[ts.source]++
		}
	}
	switch {
	case sources["bgp"] >= sources["trace"] && sources["bgp"] >= sources["inferred"]:
		return "BGP best path moved to " + m.label(cur)
	case sources["trace"] >= sources["inferred"]:
		return "traced path now crosses " + m.label(cur)
	}
	return "only " + m.label(cur) + " is up while the VPC targets answer"
}

// tryClose closes the pending failover once traffic flows on the new path:
// every VPC target with fresh echo results answered recover_after times
// after the change, or restore_timeout passed.
func (m *family) tryClose(now time.Time) {
	p := m.pending
	if p.to == 0 {
		return // nothing carries traffic: the outage goes on
	}
	if now.Sub(p.toAt) < m.cfg.RestoreTimeout {
		for _, ts := range m.targets {
			e := ts.echo
			if e == nil || !e.seen || !fresh(e.last(), m.cfg.StaleAfter.Ping, now) {
				continue
			}
			if e.gap.open && e.gap.firstLoss.Before(p.openAt.Add(-m.cfg.RestoreTimeout)) {
				continue // dead long before this failover
			}
			if e.gap.open || ts.okAfter < m.cfg.RecoverAfter {
				return
			}
		}
	}
	ev := m.buildEvent(p, now, true)
	m.pending = nil
	lost := 0
	for _, t := range ev.Targets {
		lost += t.Lost
	}
	if p.from == p.to && lost == 0 {
		m.log.Debug("active link came back with no echo lost, no event", "links", m.label(p.to))
		return
	}
	m.stable = p.to
	m.record(ev)
}

// direction says which way the active links moved from one set to
// another: back to the primary, or (without a primary) to more links and
// away from none, is a failback, which restores the site's intended state
// and pages nobody; traffic leaving a link it was on is a failover.
func (m *family) direction(from, to uint64) string {
	if m.primary >= 0 {
		p := uint64(1) << m.primary
		switch {
		case from&p != 0 && to&p == 0:
			return DirectionFailover
		case to&p != 0 && from&p == 0:
			return DirectionFailback
		}
	}
	switch lost, gained := from&^to, to&^from; {
	case lost != 0:
		return DirectionFailover
	case gained != 0:
		return DirectionFailback
	}
	return DirectionChange
}

// buildEvent describes the pending failover p as of now.
func (m *family) buildEvent(p *pending, now time.Time, final bool) Event {
	ev := Event{Kind: KindFailover, Family: m.name, Time: p.openAt, From: m.namesOf(p.from), To: m.namesOf(p.to), Cause: p.cause}
	if p.from == p.to {
		ev.Kind = KindOutage
	} else {
		ev.Direction = m.direction(p.from, p.to)
	}
	started := p.trouble
	firstLoss, firstWho := p.pinnedLoss, p.pinnedLossWho
	var restored time.Time
	complete := final
	for _, ts := range m.targets {
		e := ts.echo
		if e == nil || !e.seen {
			continue
		}
		ev.Measured = true
		to := TargetOutage{Target: ts.target.Name, Restored: true}
		var lastBefore, firstAfter time.Time
		found := false
		e.gapsSince(p.windowStart, now, func(g gap) {
			found = true
			to.Lost += g.lost
			to.Outage += Duration(g.outage())
			if !g.start.IsZero() && (lastBefore.IsZero() || g.start.Before(lastBefore)) {
				lastBefore = g.start
			}
			if g.open || g.end.IsZero() {
				to.Restored = false
			} else if g.end.After(firstAfter) {
				firstAfter = g.end
			}
			if firstLoss.IsZero() || g.firstLoss.Before(firstLoss) {
				firstLoss, firstWho = g.firstLoss, ts.target.Name
			}
		})
		if !found {
			continue
		}
		if !lastBefore.IsZero() {
			to.LastReply = ptr(lastBefore)
		}
		if to.Restored {
			to.FirstReply = ptr(firstAfter)
			if firstAfter.After(restored) {
				restored = firstAfter
			}
			if !lastBefore.IsZero() {
				to.Gap = Duration(firstAfter.Sub(lastBefore))
			}
		} else {
			complete = false
		}
		ev.Outage = max(ev.Outage, to.Outage)
		ev.Gap = max(ev.Gap, to.Gap)
		ev.Targets = append(ev.Targets, to)
	}
	if !firstLoss.IsZero() && firstLoss.Before(started) {
		started = firstLoss
	}
	ev.Started = ptr(started)
	if !restored.IsZero() {
		ev.Restored = ptr(restored)
	}
	ev.Complete = complete
	ev.Timeline = m.timeline(p, started, firstLoss, firstWho, restored, now)
	return ev
}

func ptr[T any](v T) *T { return &v }

// timeline assembles the steps of a failover from the notes taken since its
// window opened: the first of each kind of step per link, every active-link
// change, and the first loss and restoration measured.
func (m *family) timeline(p *pending, started, firstLoss time.Time, firstWho string, restored, now time.Time) []TimelineStep {
	from := p.windowStart
	if started.Before(from) {
		from = started
	}
	var steps []TimelineStep
	if !firstLoss.IsZero() {
		s := TimelineStep{Time: firstLoss, What: StepFirstLoss, Target: firstWho}
		if e, ok := m.pinned[firstWho]; ok && e.link >= 0 {
			s.Target, s.Link = "", m.links[e.link].link.Name
			s.Detail = "echo to " + firstWho
		}
		steps = append(steps, s)
	}
	seen := map[string]bool{}
	m.notes.each(func(n *TimelineStep) {
		if n.Time.Before(from) || n.Time.After(now) {
			return
		}
		key := n.What + "|" + n.Link + "|" + n.Target
		if n.What == StepLinkState || n.What == StepActiveChange {
			key += "|" + n.Detail
		}
		if !seen[key] {
			seen[key] = true
			steps = append(steps, *n)
		}
	})
	if !restored.IsZero() {
		steps = append(steps, TimelineStep{Time: restored, What: StepTrafficRestored, Detail: "every VPC target answers again"})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Time.Before(steps[j].Time) })
	if len(steps) > maxTimeline {
		// Keep the start and the end of a long story.
		steps = append(steps[:maxTimeline/2], steps[len(steps)-maxTimeline/2:]...)
	}
	return steps
}

// record stores an event of the family: a failover or outage (named by
// the family, counted, measured) or a link's peering's state change.
func (m *family) record(ev Event) {
	if ev.Kind != KindLinkState {
		ev.Family = m.name
		if ev.Kind == KindFailover {
			m.failovers[[2]string{m.label(m.maskOf(ev.From)), m.label(m.maskOf(ev.To))}]++
			if ev.Measured {
				m.hist.Observe(time.Duration(ev.Outage).Seconds())
			}
		}
	}
	ev = m.store(ev)
	if ev.Kind != KindLinkState {
		m.last = &ev
	}
}

// store gives ev its ID, keeps it, logs it as one line and hands it to the
// hook; it returns ev with its ID.
func (m *Model) store(ev Event) Event {
	m.nextID++
	ev.ID = m.nextID
	m.events.add(ev)
	switch ev.Kind {
	case KindLinkState:
		level := slog.LevelInfo
		if ev.State == StateDown {
			level = slog.LevelWarn
		}
		args := []any{"event_id", ev.ID, "link", ev.Link}
		if ev.Family != "" {
			args = append(args, "family", ev.Family)
		}
		args = append(args, "state", string(ev.State), "previous", string(ev.Previous), "reasons", ev.Reasons, "time", ev.Time)
		m.log.Log(context.Background(), level, "link state changed", args...)
	default:
		m.last = &ev
		args := []any{"event_id", ev.ID, "kind", string(ev.Kind), "family", ev.Family, "from", strings.Join(ev.From, "+"), "to", strings.Join(ev.To, "+"),
			"direction", ev.Direction, "cause", ev.Cause, "time", ev.Time, "measured", ev.Measured, "complete", ev.Complete,
			"outage_seconds", time.Duration(ev.Outage).Seconds(), "gap_seconds", time.Duration(ev.Gap).Seconds()}
		if ev.Started != nil {
			args = append(args, "started", *ev.Started)
		}
		if ev.Restored != nil {
			args = append(args, "restored", *ev.Restored)
		}
		m.log.Warn(string(ev.Kind), args...)
	}
	if m.hook != nil {
		m.outEvents = append(m.outEvents, ev)
	}
	return ev
}

// siteActive returns the set of links carrying the traffic to most VPC
// targets, and whether any target's path is known.
func (m *family) siteActive() (uint64, bool) {
	counts := m.scratch[:0]
	for _, c := range m.activeCounts {
		if c.count > 0 {
			counts = append(counts, c)
		}
	}
	m.scratch = counts
	if len(counts) == 0 {
		return 0, false
	}
	best := counts[0]
	for _, c := range counts[1:] {
		switch {
		case c.count > best.count:
			best = c
		case c.count < best.count:
		case c.mask == m.stable && m.known:
			best = c
		case best.mask == m.stable && m.known:
		case c.mask < best.mask:
			best = c
		}
	}
	return best.mask, true
}

func (m *family) maskOf(names []string) uint64 {
	var mask uint64
	for _, n := range names {
		if i, ok := m.linkIdx[n]; ok {
			mask |= 1 << i
		}
	}
	return mask
}

func (m *family) namesOf(mask uint64) []string {
	names := []string{}
	for i, l := range m.links {
		if mask&(1<<i) != 0 {
			names = append(names, l.link.Name)
		}
	}
	return names
}

// labelMask is the inverse of label.
func (m *family) labelMask(label string) uint64 {
	if label == "none" {
		return 0
	}
	return m.maskOf(strings.Split(label, "+"))
}

func (m *family) label(mask uint64) string {
	if mask == 0 {
		return "none"
	}
	s := ""
	for i, l := range m.links {
		if mask&(1<<i) != 0 {
			if s != "" {
				s += "+"
			}
			s += l.link.Name
		}
	}
	return s
}

func maskOfIndex(i int) uint64 {
	if i < 0 {
		return 0
	}
	return 1 << i
}
