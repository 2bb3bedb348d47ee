package health

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// Reason bits: a link's state changes only when its state or the set of
// rules behind it changes, so that reasons are rendered (and allocate) only
// then, not on every observation.
const (
	sigSessionDown = 1 << iota
	sigSessionSomeDown
	sigPrefixesWithdrawn
	sigPrefixSomeWithdrawn
	sigGrey
	sigDataDown
	sigSomeEchoDown
	sigLoss
	sigRTT
	sigEchoStale
	sigAWS
	sigNoEvidence
	sigUnverified
	sigBGPDisagree
	sigEncryptionDown
)

// sigDown are the rules that take a link down.
const sigDown = sigSessionDown | sigPrefixesWithdrawn | sigGrey | sigDataDown | sigEncryptionDown

// evaluate brings link states, active links and the failover machine up to
// date. at is the time of the observation that prompted it (now on a tick):
// the time recorded for the changes it finds.
func (m *Model) evaluate(at, now time.Time) { m.evaluateFor(at, now, nil, true) }

// evaluateTarget is evaluate after an echo or a trace: of the targets, only
// ts, the one it was about (nil for a link-pinned echo), can have changed,
// unless a link went down or came back, which changes every target's
// candidates. Time-driven changes of the other targets (staleness) wait for
// the next Step, at most Config.Evaluate later, as between observations:
// evaluating every target on every echo made an echo cost O(targets).
func (m *Model) evaluateTarget(at, now time.Time, ts *targetState) { m.evaluateFor(at, now, ts, false) }

// evaluateFor is evaluate with every target (all) or only ts, if not nil.
func (m *Model) evaluateFor(at, now time.Time, ts *targetState, all bool) {
	m.evalAt = now
	feedDown := m.feedDown()
	m.judgeReturnPaths(now, feedDown)
	var down uint64
	for i, l := range m.links {
		st, sig := m.evalLink(i, now, feedDown, nil)
		if st != l.state || sig != l.sig {
			m.changeLink(i, st, sig, at, now, feedDown)
		}
		if st == StateDown {
			down |= 1 << i
		}
	}
	if down != m.downMask {
		all = true
	}
	m.downMask = down
	switch {
	case all:
		for _, ts := range m.targets {
			m.evalTarget(ts, now, feedDown)
		}
	case ts != nil:
		m.evalTarget(ts, now, feedDown)
	}
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

// feedDown says whether every BGP feed session to the edge routers is down:
// then the prefixes and best paths the feed reported say nothing about the
// links (GoBGP drops a dead peer's routes).
func (m *Model) feedDown() bool {
	if len(m.feeds) == 0 {
		return false
	}
	for _, f := range m.feeds {
		if f.up {
			return false
		}
	}
	return true
}

// evalLink applies the state rules (README) to link i. With why set it
// appends the reasons behind the state.
func (m *Model) evalLink(i int, now time.Time, feedDown bool, why *[]string) (State, uint64) {
	l := m.links[i]
	c := &m.cfg
	var sig uint64
	positive := false
	say := func(format string, args ...any) {
		*why = append(*why, fmt.Sprintf(format, args...))
	}

	var sUp, sDown int
	var firstDown *boolEv
	for _, s := range l.sessions {
		if !fresh(s.at, c.StaleAfter.BGP, now) {
			continue
		}
		if s.up {
			sUp++
		} else if sDown++; firstDown == nil {
			firstDown = s
		}
	}
	if sDown > 0 {
		if sUp == 0 {
			sig |= sigSessionDown
		} else {
			sig |= sigSessionSomeDown
		}
		if why != nil {
			say("BGP session down (%s)", joinDetail(dxSession(l, firstDown.key), firstDown.detail))
		}
	}

	var pUp, pDown int
	var firstW *boolEv
	if !feedDown {
		for _, p := range l.prefixes {
			if !fresh(p.at, c.StaleAfter.BGP, now) {
				continue
			}
			if p.up {
				pUp++
			} else if pDown++; firstW == nil {
				firstW = p
			}
		}
	}
	if pDown > 0 {
		if pUp == 0 {
			sig |= sigPrefixesWithdrawn
		} else {
			sig |= sigPrefixSomeWithdrawn
		}
		if why != nil {
			switch {
			case pUp == 0 && pDown > 1:
				say("all %d expected prefixes withdrawn", pDown)
			case pDown > 1:
				say("expected prefix %s and %d more withdrawn", firstW.key, pDown-1)
			default:
				say("expected prefix %s withdrawn", firstW.key)
			}
		}
	}
	bgpUp := sUp > 0 || pUp > 0
	positive = positive || bgpUp

	var nFresh, nDown int
	var worst, stale, unver *echoState
	answered := false
	for _, e := range l.pinned {
		if !e.seen {
			continue
		}
		if !fresh(e.last(), c.StaleAfter.Ping, now) {
			stale = e
			continue
		}
		switch {
		case e.blame == blameReturn:
			// Lost on the way back over another link: nothing about this one.
			if unver == nil || e.run > unver.run {
				unver = e
			}
			continue
		case e.blame == blameUnknown && e.down:
			// Held until the links the replies return over have answered
			// (or failed) since the run began: one probe interval.
			continue
		}
		nFresh++
		if e.down {
			nDown++
			if worst == nil || e.run > worst.run {
				worst = e
			}
			continue
		}
		// A target that has never answered is no evidence of up: its first
		// losses, fewer than down_after, say nothing yet.
		if e.run == 0 || (!e.lastReply.IsZero() && fresh(e.lastReply, c.StaleAfter.Ping, now)) {
			positive, answered = true, true
		}
		if e.lossy {
			sig |= sigLoss
			if why != nil {
				say("loss %.0f%% over the last %d echoes to %s (threshold %.0f%%)", 100*e.lossRatio(), e.wn-e.wexcused, e.name, 100*c.LossThreshold)
			}
		}
		if e.slow {
			sig |= sigRTT
			if why != nil {
				say("mean RTT %s over the last %d replies from %s (threshold %s)", e.meanRTT().Round(time.Microsecond), e.wreplies, e.name, c.RTTThreshold)
			}
		}
	}
	if nDown > 0 {
		lost := "recovering"
		if worst.run > 0 {
			lost = fmt.Sprintf("%d echoes to %s lost in a row", worst.run, worst.name)
		} else if why != nil {
			lost = fmt.Sprintf("echoes to %s answered again, %d of %d replies needed", worst.name, worst.okRun, c.RecoverAfter)
		}
		switch {
		case nDown < nFresh:
			sig |= sigSomeEchoDown
			if why != nil {
				say("%s", lost)
			}
		case bgpUp:
			sig |= sigGrey
			if why != nil {
				say("data plane down, BGP still up (%s)", lost)
			}
		default:
			sig |= sigDataDown
			if why != nil {
				say("data plane down (%s)", lost)
			}
		}
	}
	if unver != nil && nDown == 0 && !answered {
		sig |= sigUnverified
		if why != nil {
			say("%s", m.unverifiedReason(unver))
		}
	}
	if stale != nil && nFresh == 0 && unver == nil {
		sig |= sigEchoStale
		if why != nil {
			say("no echo result from %s since %s (stale after %s)", stale.name, stale.last().UTC().Format(time.RFC3339Nano), c.StaleAfter.Ping)
		}
	}

	for _, a := range l.aws {
		if !fresh(a.at, c.StaleAfter.AWS, now) {
			continue
		}
		switch {
		case !a.up && isAWSEncryptionCheck(a.key):
			sig |= sigEncryptionDown
			if why != nil {
				say("down for traffic: AWS check %s (a must_encrypt connection carries no traffic while it does not encrypt)", joinDetail(a.key+" failing", a.detail))
			}
		case !a.up:
			sig |= sigAWS
			if why != nil {
				say("AWS check %s", joinDetail(a.key+" failing", a.detail))
			}
		}
		// AWS's view of the BGP session (its API, or CloudWatch minutes
		// late) against the edge's own: a disagreement means one view is
		// stale or the session flaps. It never takes the link down alone.
		if isAWSBGPCheck(a.key) && sUp+sDown > 0 && a.up != (sUp > 0) {
			sig |= sigBGPDisagree
			if why != nil {
				say("%s", bgpDisagreement(a, sUp > 0))
			}
		}
		positive = positive || a.up
	}
	if !l.traced.IsZero() && fresh(l.traced, c.StaleAfter.Trace, now) {
		positive = true
	}

	switch {
	case sig&sigDown != 0:
		return StateDown, sig
	case sig&^sigUnverified != 0:
		return StateDegraded, sig
	case sig != 0:
		return StateUnverified, sig
	case positive:
		return StateUp, sig
	}
	if why != nil {
		say("no fresh evidence")
	}
	return StateUnknown, sig | sigNoEvidence
}

func (m *Model) reasons(i int, now time.Time) []string {
	why := []string{}
	m.evalLink(i, now, m.feedDown(), &why)
	return why
}

// changeLink records link i's new state (or only its new set of reasons).
func (m *Model) changeLink(i int, st State, sig uint64, at, now time.Time, feedDown bool) {
	l := m.links[i]
	prev := l.state
	l.sig = sig
	if st == prev {
		return
	}
	if at.Before(l.since) {
		at = l.since
	}
	l.state, l.since = st, at
	if st != StateUnverified {
		l.wasUp = st == StateUp || st == StateDegraded
	}
	switch {
	case st == StateDown:
		// The trouble began with the first loss of the run that took the
		// data plane down, or now.
		t := at
		for _, e := range l.pinned {
			if e.down && e.run > 0 && e.runStart.Before(t) {
				t = e.runStart
			}
		}
		l.trouble = t
	case st == StateDegraded && prev != StateDown:
		l.trouble = at
	case st == StateUp:
		l.trouble = time.Time{}
	}
	why := []string{}
	m.evalLink(i, now, feedDown, &why)
	if st == StateUp {
		why = nil
	}
	m.note(TimelineStep{Time: at, What: StepLinkState, Link: l.link.Name, Detail: joinDetail(string(st), first(why))})
	m.record(Event{Kind: KindLinkState, Time: at, Link: l.link.Name, State: st, Previous: prev, Reasons: why})
	if st == StateDown || prev == StateDown {
		for _, ts := range m.targets {
			m.fire(ts, now)
		}
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// evalTarget decides which links carry the traffic to one VPC target.
func (m *Model) evalTarget(ts *targetState, now time.Time, feedDown bool) {
	c := &m.cfg
	var base uint64
	src := ""
	traceFresh := ts.trace != 0 && fresh(ts.traceAt, c.StaleAfter.Trace, now)
	bp := ts.best
	if bp != nil && (feedDown || bp.at.IsZero() || !fresh(bp.at, c.StaleAfter.BGP, now)) {
		bp = nil
	}
	var withdrawn, present uint64
	if ts.best != nil && !feedDown {
		for i, l := range m.links {
			for _, p := range l.prefixes {
				if p.pfx == ts.best.pfx && fresh(p.at, c.StaleAfter.BGP, now) {
					if p.up {
						present |= 1 << i
					} else {
						withdrawn |= 1 << i
					}
				}
			}
		}
	}
	if m.site.Routing.Mode == probes.ModeActiveActive {
		// Multipath: the trace's ECMP discovery shows every link in use;
		// without it, every link that carries the prefix is in use.
		switch {
		case traceFresh:
			base, src = ts.trace, "trace"
		case bp != nil:
			base, src = present|maskOfIndex(bp.link), "bgp"
		}
	} else {
		// One best path: the newer of the trace and the BGP best path wins.
		switch {
		case traceFresh && (bp == nil || !ts.traceAt.Before(bp.at)):
			base, src = ts.trace, "trace"
		case bp != nil:
			base, src = maskOfIndex(bp.link), "bgp"
		}
	}
	base &^= m.downMask | withdrawn
	if base == 0 && ts.echo != nil && ts.echo.answering() && fresh(ts.echo.last(), c.StaleAfter.Ping, now) {
		// The target answers while the evidence points at links that are
		// down: the traffic must cross the one link left.
		if cand := m.allMask &^ (m.downMask | withdrawn); bits.OnesCount64(cand) == 1 {
			base, src = cand, "inferred"
		}
	}
	m.setActive(ts, base, src)
}
