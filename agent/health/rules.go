package health

import (
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

// evaluate brings link states, active links and the failover machines of
// every family up to date. at is the time of the observation that
// prompted it (now on a tick): the time recorded for the changes it finds.
func (m *Model) evaluate(at, now time.Time) {
	m.evalAt = now
	for _, f := range m.fams {
		f.evaluateFor(at, now, nil, true)
	}
	m.summarize(at, now)
}

// evaluateFamily is evaluate after evidence about one family only.
func (m *Model) evaluateFamily(f *family, at, now time.Time) {
	m.evalAt = now
	f.evaluateFor(at, now, nil, true)
	m.summarize(at, now)
}

// evaluateTarget is evaluate after an echo or a trace: of the family's
// targets, only ts, the one it was about (nil for a link-pinned echo),
// can have changed, unless a link went down or came back, which changes
// every target's candidates. Time-driven changes of the other targets
// (staleness) wait for the next Step, at most Config.Evaluate later, as
// between observations: evaluating every target on every echo made an
// echo cost O(targets).
func (m *Model) evaluateTarget(f *family, at, now time.Time, ts *targetState) {
	m.evalAt = now
	f.evaluateFor(at, now, ts, false)
	m.summarize(at, now)
}

// evaluateFor evaluates the family with every target (all) or only ts,
// if not nil.
func (m *family) evaluateFor(at, now time.Time, ts *targetState, all bool) {
	feedDown := m.feedDown()
	m.judgeReturnPaths(now, feedDown)
	var down uint64
	for i, l := range m.links {
		v := m.judgeLink(i, now, feedDown)
		if v.state != l.state || v.sig != l.sig {
			m.changeLink(i, v, at, now)
		}
		if v.state == StateDown {
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
	m.followActive(at, now)
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

// judgeLink applies the state rules (README) to link i: each judge reads
// one kind of evidence and adds its findings, and the verdict turns them
// into the link's state, the rules that fired and their reasons. The rules
// are written there once, for the state and its words alike.
func (m *family) judgeLink(i int, now time.Time, feedDown bool) verdict {
	l := m.links[i]
	var f findings
	bgp := m.judgeBGP(l, now, feedDown, &f)
	m.judgeEchoes(l, now, bgp.up(), &f)
	m.judgeAWS(l, now, bgp, &f)
	m.judgeTrace(l, now, &f)
	return f.verdict()
}

// reasons are the reasons behind link i's state at now.
func (m *family) reasons(i int, now time.Time) []string {
	return m.judgeLink(i, now, m.feedDown()).why
}

// changeLink records link i's new state (or only its new set of reasons).
func (m *family) changeLink(i int, v verdict, at, now time.Time) {
	l := m.links[i]
	prev, st := l.state, v.state
	l.sig = v.sig
	if st == prev {
		return
	}
	if at.Before(l.since) {
		at = l.since
	}
	l.state, l.since = st, at
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
	why := v.why
	switch {
	case st == StateUp:
		why = nil
	case why == nil:
		why = []string{}
	}
	m.note(TimelineStep{Time: at, What: StepLinkState, Link: l.link.Name, Detail: joinDetail(string(st), first(why))})
	ev := Event{Kind: KindLinkState, Time: at, Link: l.link.Name, State: st, Previous: prev, Reasons: why}
	if l.dual {
		ev.Family = m.name
	}
	m.record(ev)
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
func (m *family) evalTarget(ts *targetState, now time.Time, feedDown bool) {
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

// setActive records the links carrying the traffic to ts (known when src
// names the evidence), keeping activeCounts, the number of targets per set
// of links that siteActive reads, in step: siteActive runs after every
// observation, and counting the targets each time made it O(targets).
func (m *family) setActive(ts *targetState, active uint64, src string) {
	known := src != ""
	if ts.known != known || ts.active != active {
		if ts.known {
			m.countActive(ts.active, -1)
		}
		if known {
			m.countActive(active, 1)
		}
	}
	ts.active, ts.known, ts.source = active, known, src
}

// countActive adds d to the count of targets whose traffic crosses mask.
func (m *family) countActive(mask uint64, d int) {
	for i := range m.activeCounts {
		if m.activeCounts[i].mask == mask {
			m.activeCounts[i].count += d
			return
		}
	}
	m.activeCounts = append(m.activeCounts, maskCount{mask, d})
}
