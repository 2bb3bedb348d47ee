package health

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// A link-pinned echo goes to a link's Amazon peer address, so its request
// crosses that link. Its reply does not have to: AWS routes every reply to
// on-prem by its own preference across all the virtual interfaces on a
// Direct Connect gateway (in active/passive, over the primary), unless the
// echo was sent from the link's probe source, an address the edge
// advertises over that link only. So a lost pinned echo counts against its
// own link only when its reply is known to come back over it (README,
// "Return path"):
//
//   - the link has a probe source, or it is the only link AWS returns
//     replies over: the losses are the link's (blameLink);
//   - another link the replies may return over is failing too (its own
//     pinned echoes are being lost, or it has no fresh evidence at all):
//     the losses say nothing about this link (blameReturn), and the link
//     is unverified rather than down;
//   - every other link the replies may return over answered echoes sent
//     after this run began: the return path works, the losses are the
//     link's (blameLink);
//   - otherwise their evidence is not in yet (one probe interval at most):
//     the run counts for nothing yet (blameUnknown).

// carrierSettle is how long a link that stopped carrying the replies (its
// BGP went down) may still be carrying them: AWS withdraws and moves the
// return path in its own time, and replies sent meanwhile still take the
// old way.
const carrierSettle = 5 * time.Second

// judgeReturnPaths sets the blame of every pinned target's loss run.
func (m *family) judgeReturnPaths(now time.Time, feedDown bool) {
	carriers := m.replyCarriers(now, feedDown)
	if carriers != m.carriers {
		m.formerCarriers |= m.carriers &^ carriers
		m.carriers, m.carriersAt = carriers, now
	}
	settled := now.Sub(m.carriersAt) > carrierSettle
	if settled {
		m.formerCarriers = 0
	}
	possible := carriers | m.formerCarriers
	for i, l := range m.links {
		for _, e := range l.pinned {
			if e.run == 0 && !e.down {
				e.blame, e.via = blameNone, 0
				continue
			}
			if e.blame == blameReturn && e.run > 0 && e.via&possible == 0 && e.lastLoss.After(m.carriersAt.Add(carrierSettle)) {
				// The links the replies crossed no longer carry them and
				// AWS has had time to move them, yet the echoes go on being
				// lost: now the losses are the link's own.
				e.blame = blameUnknown
			}
			if e.blame == blameReturn || e.blame == blameLink {
				continue // decided for this run, until it has recovered
			}
			others := possible &^ (1 << i)
			switch {
			case l.link.ProbeSource.IsValid() || others == 0:
				e.blame = blameLink
			case m.carriersFailing(others, now):
				e.blame, e.via = blameReturn, others
			case m.carriersAnswered(others, e.runStart, now):
				e.blame = blameLink
			default:
				e.blame = blameUnknown
			}
		}
	}
}

// replyCarriers returns the links AWS may return replies to the agent's
// own (LAN) address over. Active/active: every link whose BGP is not
// known down (AWS spreads flows over them). Active/passive: the primary
// while its BGP is not known down, else the other such links.
func (m *family) replyCarriers(now time.Time, feedDown bool) uint64 {
	var alive uint64
	for i := range m.links {
		if !m.bgpDown(i, now, feedDown) {
			alive |= 1 << i
		}
	}
	if m.site.Routing.Mode != probes.ModeActiveActive && m.primary >= 0 {
		if p := uint64(1) << m.primary; alive&p != 0 {
			return p
		}
	}
	return alive
}

// bgpDown says whether link i's BGP is known down: every fresh Direct
// Connect session report says down, or every fresh expected prefix on it
// is withdrawn. AWS then no longer routes anything over the link.
func (m *family) bgpDown(i int, now time.Time, feedDown bool) bool {
	l := m.links[i]
	up, down := m.count(l.sessions, now)
	if down > 0 && up == 0 {
		return true
	}
	if feedDown || up > 0 {
		return false
	}
	up, down = m.count(l.prefixes, now)
	return down > 0 && up == 0
}

// count returns how many fresh pieces of BGP evidence in list say up and
// how many say down.
func (m *Model) count(list []*boolEv, now time.Time) (up, down int) {
	for _, ev := range list {
		if fresh(ev.at, m.cfg.StaleAfter.BGP, now) {
			if ev.up {
				up++
			} else {
				down++
			}
		}
	}
	return up, down
}

// carriersFailing says whether some link in mask is failing as a return
// path: a fresh pinned target of it is losing echoes, or it has no fresh
// pinned results at all (nothing can show that it carries replies).
func (m *family) carriersFailing(mask uint64, now time.Time) bool {
	for i, l := range m.links {
		if mask&(1<<i) == 0 {
			continue
		}
		seen := false
		for _, e := range l.pinned {
			if !e.seen || !fresh(e.last(), m.cfg.StaleAfter.Ping, now) {
				continue
			}
			seen = true
			if e.run > 0 || (e.down && e.blame != blameReturn) {
				return true
			}
		}
		if !seen && !m.vpcAnswersFor(mask) {
			return true
		}
	}
	return false
}

// carriersAnswered says whether every link in mask carried a reply to an
// echo sent after since: one of its fresh pinned targets answered it, or,
// when mask is a single link, a VPC target did (its replies to the agent's
// address return by the same preference).
func (m *family) carriersAnswered(mask uint64, since, now time.Time) bool {
	single := bits.OnesCount64(mask) == 1
	for i, l := range m.links {
		if mask&(1<<i) == 0 {
			continue
		}
		ok := false
		for _, e := range l.pinned {
			if e.answering() && e.lastSent.After(since) && fresh(e.last(), m.cfg.StaleAfter.Ping, now) {
				ok = true
				break
			}
		}
		if !ok && single {
			for _, ts := range m.targets {
				if e := ts.echo; e != nil && e.answering() && e.lastSent.After(since) && fresh(e.last(), m.cfg.StaleAfter.Ping, now) {
					ok = true
					break
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// vpcAnswersFor says whether a VPC target's echoes are being answered, so
// that the single link in mask is known to carry replies although it has
// no pinned target of its own.
func (m *family) vpcAnswersFor(mask uint64) bool {
	if bits.OnesCount64(mask) != 1 {
		return false
	}
	for _, ts := range m.targets {
		if e := ts.echo; e != nil && e.answering() {
			return true
		}
	}
	return false
}

// unverifiedReason says why e's losses do not count against its link.
func (m *family) unverifiedReason(e *echoState) string {
	var failing []string
	how := "losing echoes too"
	for i, l := range m.links {
		if e.via&(1<<i) == 0 {
			continue
		}
		failing = append(failing, l.link.Name)
		if l.state == StateDown {
			how = "down"
		}
	}
	over := m.label(e.via)
	if len(failing) > 1 {
		how = "failing"
	}
	lost := fmt.Sprintf("%d echoes to %s lost in a row", e.run, e.name)
	if e.run == 0 {
		lost = fmt.Sprintf("echoes to %s answered again", e.name)
	}
	return fmt.Sprintf("data plane not verifiable: the replies to its pinned echoes return over %s, which is %s (%s); a probe source on this link (links[].probe_source) would show its own data plane", over, how, lost)
}
