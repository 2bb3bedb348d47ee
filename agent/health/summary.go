// A link's state as the summary of its peerings' states: what
// dxwatch_link_up, dxwatch_link_state, the health.link check and the
// availability ledger read. A single-peering link's state is its
// peering's; a dual-stack link's follows the rule below, its reasons
// naming the family.

package health

import (
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// linkSummary is one link of the site and its peerings, one per family.
type linkSummary struct {
	link  probes.Link
	peers []*linkState // the link's peering in each family, in the link's order
	fams  []*family    // the family of each peering
	state State
	since time.Time
	wasUp bool // the last verified verdict (up or degraded), for up()
	sig   uint64
}

// summaryState is the summary rule: when some peering is up or degraded,
// the link is up if every peering with a verdict is up, else degraded
// (some down, or any degraded); with none up or degraded, unverified if
// any peering is (its data plane cannot be told, so the link is not
// declared down on the others alone), else down if any is, else unknown.
// A peering without evidence (unknown) does not change the verdict of the
// others: an IPv6 peering nothing probes leaves the link to the IPv4 one.
func summaryState(peers []*linkState) State {
	var up, down, degraded, unverified int
	for _, p := range peers {
		switch p.state {
		case StateDown:
			down++
		case StateDegraded:
			degraded++
		case StateUp:
			up++
		case StateUnverified:
			unverified++
		}
	}
	switch {
	case up+degraded > 0 && down+degraded > 0:
		return StateDegraded
	case up > 0:
		return StateUp
	case unverified > 0:
		return StateUnverified
	case down > 0:
		return StateDown
	}
	return StateUnknown
}

// why returns the reasons behind the link's summary state at now: a
// single peering's own; for a dual-stack link, those of each peering
// that is not up, each naming its family.
func (s *linkSummary) why(now time.Time) []string {
	if len(s.peers) == 1 {
		return s.fams[0].judgeLink(s.fams[0].linkIdx[s.link.Name], now, s.fams[0].feedDown()).why
	}
	var out []string
	for i, p := range s.peers {
		if p.state == StateUp || (p.state == StateUnknown && s.state != StateUnknown) {
			continue
		}
		f := s.fams[i]
		prefix := probes.FamilyName(f.name) + " peering " + string(p.state) + ": "
		for _, r := range f.judgeLink(f.linkIdx[s.link.Name], now, f.feedDown()).why {
			out = append(out, prefix+r)
		}
	}
	return out
}

// up is the link's dxwatch_link_up: 1 when up or degraded; while it is
// unverified (its echoes' replies return over a failing link), the last
// verified verdict, so that a link nothing shows down does not page.
func (s *linkSummary) up() bool {
	switch s.state {
	case StateUp, StateDegraded:
		return true
	case StateUnverified:
		return s.wasUp
	}
	return false
}

// summarize brings the links' summary states up to date after an
// evaluation, recording a dual-stack link's change of summary as a link
// state event without a family (a single-peering link's change was
// recorded by its family).
func (m *Model) summarize(at, now time.Time) {
	for _, s := range m.summaries {
		st := summaryState(s.peers)
		var sig uint64
		for _, p := range s.peers {
			sig |= p.sig
		}
		s.sig = sig
		if st == s.state {
			continue
		}
		prev := s.state
		if at.Before(s.since) {
			at = s.since
		}
		s.state, s.since = st, at
		if st != StateUnverified {
			s.wasUp = st == StateUp || st == StateDegraded
		}
		if len(s.peers) == 1 {
			continue
		}
		why := []string{}
		if st != StateUp {
			why = append(why, s.why(now)...)
		}
		if st == StateUp {
			why = nil
		}
		m.store(Event{Kind: KindLinkState, Time: at, Link: s.link.Name, State: st, Previous: prev, Reasons: why})
	}
}

// reasonsText joins reasons for a check's line.
func reasonsText(why []string) string { return strings.Join(why, "; ") }
