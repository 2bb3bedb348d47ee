// The judges of a link: one per kind of evidence (BGP, echoes, AWS,
// traces), each adding what it finds to the link's findings, and the
// verdict that turns the findings into the link's state. judgeLink (rules.go)
// runs them in this order, which is the order of the reasons.

package health

import (
	"fmt"
	"time"
)

// findings are what the judges found about one link: the rules that fired
// (sig), their reasons in the judges' order, and whether any fresh
// evidence says the link works.
type findings struct {
	sig      uint64
	positive bool
	why      []string
}

// add records that the rules in sig fired, with the reason for them.
func (f *findings) add(sig uint64, format string, args ...any) {
	f.sig |= sig
	f.why = append(f.why, fmt.Sprintf(format, args...))
}

// verdict is a link's state with the rules and reasons behind it.
type verdict struct {
	state State
	sig   uint64
	why   []string
}

// verdict turns the findings into the link's state: down when a rule that
// takes a link down fired, degraded for any other rule but unverified
// alone, up when something fresh says it works, unknown otherwise.
func (f *findings) verdict() verdict {
	switch {
	case f.sig&sigDown != 0:
		return verdict{StateDown, f.sig, f.why}
	case f.sig&^sigUnverified != 0:
		return verdict{StateDegraded, f.sig, f.why}
	case f.sig != 0:
		return verdict{StateUnverified, f.sig, f.why}
	case f.positive:
		return verdict{StateUp, f.sig, f.why}
	}
	return verdict{StateUnknown, f.sig | sigNoEvidence, append(f.why, "no fresh evidence")}
}

// bgpCount is what judgeBGP counted of a link's Direct Connect sessions
// (as the edge routers report them) and expected prefixes: the other
// judges weigh their evidence against it.
type bgpCount struct {
	sessionsUp, sessionsDown int
	prefixesUp               int
}

// up says whether BGP says the link works: a session up or an expected
// prefix received over it.
func (b bgpCount) up() bool { return b.sessionsUp > 0 || b.prefixesUp > 0 }

// judgeBGP judges the link's sessions and expected prefixes. While every
// feed session is down, the prefixes the feed reported say nothing.
func (m *family) judgeBGP(l *linkState, now time.Time, feedDown bool, f *findings) bgpCount {
	c := &m.cfg
	var b bgpCount
	var firstDown *boolEv
	for _, s := range l.sessions {
		if !fresh(s.at, c.StaleAfter.BGP, now) {
			continue
		}
		if s.up {
			b.sessionsUp++
		} else if b.sessionsDown++; firstDown == nil {
			firstDown = s
		}
	}
	if b.sessionsDown > 0 {
		sig := uint64(sigSessionSomeDown)
		if b.sessionsUp == 0 {
			sig = sigSessionDown
		}
		f.add(sig, "BGP session down (%s)", joinDetail(dxSession(l, firstDown.key), firstDown.detail))
	}

	var down int
	var firstW *boolEv
	if !feedDown {
		for _, p := range l.prefixes {
			if !fresh(p.at, c.StaleAfter.BGP, now) {
				continue
			}
			if p.up {
				b.prefixesUp++
			} else if down++; firstW == nil {
				firstW = p
			}
		}
	}
	if down > 0 {
		sig := uint64(sigPrefixSomeWithdrawn)
		if b.prefixesUp == 0 {
			sig = sigPrefixesWithdrawn
		}
		switch {
		case b.prefixesUp == 0 && down > 1:
			f.add(sig, "all %d expected prefixes withdrawn", down)
		case down > 1:
			f.add(sig, "expected prefix %s and %d more withdrawn", firstW.key, down-1)
		default:
			f.add(sig, "expected prefix %s withdrawn", firstW.key)
		}
	}
	f.positive = f.positive || b.up()
	return b
}

// judgeEchoes judges the link's pinned echoes: loss, RTT, a data plane
// down (grey when BGP still says up), echoes lost on the way back over
// another link (unverified), or none fresh.
func (m *family) judgeEchoes(l *linkState, now time.Time, bgpUp bool, f *findings) {
	c := &m.cfg
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
			f.positive, answered = true, true
		}
		if e.lossy {
			f.add(sigLoss, "loss %.0f%% over the last %d echoes to %s (threshold %.0f%%)", 100*e.lossRatio(), e.wn-e.wexcused, e.name, 100*c.LossThreshold)
		}
		if e.slow {
			f.add(sigRTT, "mean RTT %s over the last %d replies from %s (threshold %s)", e.meanRTT().Round(time.Microsecond), e.wreplies, e.name, c.RTTThreshold)
		}
	}
	if nDown > 0 {
		lost := fmt.Sprintf("echoes to %s answered again, %d of %d replies needed", worst.name, worst.okRun, c.RecoverAfter)
		if worst.run > 0 {
			lost = fmt.Sprintf("%d echoes to %s lost in a row", worst.run, worst.name)
		}
		switch {
		case nDown < nFresh:
			f.add(sigSomeEchoDown, "%s", lost)
		case bgpUp:
			f.add(sigGrey, "data plane down, BGP still up (%s)", lost)
		default:
			f.add(sigDataDown, "data plane down (%s)", lost)
		}
	}
	if unver != nil && nDown == 0 && !answered {
		f.add(sigUnverified, "%s", m.unverifiedReason(unver))
	}
	if stale != nil && nFresh == 0 && unver == nil {
		f.add(sigEchoStale, "no echo result from %s since %s (stale after %s)", stale.name, stale.last().UTC().Format(time.RFC3339Nano), c.StaleAfter.Ping)
	}
}

// judgeAWS judges AWS's checks of the link, and AWS's view of the BGP
// session against the edge's own.
func (m *family) judgeAWS(l *linkState, now time.Time, bgp bgpCount, f *findings) {
	c := &m.cfg
	for _, a := range l.aws {
		if !fresh(a.at, c.StaleAfter.AWS, now) {
			continue
		}
		switch {
		case !a.up && isAWSEncryptionCheck(a.key):
			f.add(sigEncryptionDown, "down for traffic: AWS check %s (a must_encrypt connection carries no traffic while it does not encrypt)", joinDetail(a.key+" failing", a.detail))
		case !a.up:
			f.add(sigAWS, "AWS check %s", joinDetail(a.key+" failing", a.detail))
		}
		// AWS's view of the BGP session (its API, or CloudWatch minutes
		// late) against the edge's own: a disagreement means one view is
		// stale or the session flaps. It never takes the link down alone.
		if edgeUp := bgp.sessionsUp > 0; isAWSBGPCheck(a.key) && bgp.sessionsUp+bgp.sessionsDown > 0 && a.up != edgeUp {
			f.add(sigBGPDisagree, "%s", bgpDisagreement(a, edgeUp))
		}
		f.positive = f.positive || a.up
	}
}

// judgeTrace: a fresh trace crossing the link says it carries traffic.
func (m *family) judgeTrace(l *linkState, now time.Time, f *findings) {
	if !l.traced.IsZero() && fresh(l.traced, m.cfg.StaleAfter.Trace, now) {
		f.positive = true
	}
}
