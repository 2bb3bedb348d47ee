package report

import (
	"sort"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/history"
)

// Category is what an instant counts as, for a link or the site.
type Category string

// Categories. Up and Down are observed time; the others are excluded from
// availability and listed apart. Not observed is never counted as up.
const (
	Up          Category = "up"
	Down        Category = "down"
	NotObserved Category = "not_observed"
	Drill       Category = "drill"
	Maintenance Category = "maintenance"
)

// StaleAfter is the longest gap between two records of the daemon's
// ledger over which its link states still hold: two and a half
// heartbeats. A longer gap (the daemon stopped, crashed or could not
// write) is not observed, from the last record on.
const StaleAfter = history.DefaultBeat * 5 / 2

// span is a stretch of time with one category per scope (each link, then
// the site).
type span struct {
	from, to time.Time
	cats     []Category
	whys     []string // why a scope is not observed
}

// categoryOf maps a link's fused state to what it counts as: degraded
// still carries traffic; unknown (no fresh evidence) and unverified (its
// data plane cannot be told) are not observed.
func categoryOf(s health.State) Category {
	switch s {
	case health.StateUp, health.StateDegraded:
		return Up
	case health.StateDown:
		return Down
	}
	return NotObserved
}

// siteCategory: the site is up while a link carries traffic, down only
// while every link is down, and not observed otherwise.
func siteCategory(links []Category) Category {
	all := len(links) > 0
	for _, c := range links {
		if c == Up {
			return Up
		}
		all = all && c == Down
	}
	if all {
		return Down
	}
	return NotObserved
}

// sweep turns the daemon's records into spans covering [from, end), one
// category per scope in the order of keys.
//
// With peerings false the scopes are links (keys are link names), read
// from the records without a family and from States, and the site comes
// last. With peerings true they are the peerings of dual-stack links
// (keys are history.PeeringKey), read from the link records with a
// family and from PeeringStates, and there is no site: a peering is
// not observed until a record gives its state (a ledger written before
// peering states has none). Every record of the daemon shows that it was
// watching, whatever scope it is about.
func sweep(recs []history.Record, keys []string, peerings bool, from, end time.Time) []span {
	idx := make(map[string]int, len(keys))
	for i, k := range keys {
		idx[k] = i
	}
	n := len(keys) // scopes of the spans: keys, then the site
	if !peerings {
		n++
	}
	states := make([]health.State, len(keys))
	alive := false
	var last time.Time
	var out []span
	emit := func(a, b time.Time, observed bool) {
		if a.Before(from) {
			a = from
		}
		if b.After(end) {
			b = end
		}
		if !b.After(a) {
			return
		}
		cats := make([]Category, n)
		whys := make([]string, n)
		for i := range keys {
			cats[i], whys[i] = NotObserved, whyNotRunning
			if observed {
				cats[i], whys[i] = categoryOf(states[i]), whyState(states[i])
			}
		}
		if !peerings {
			cats[len(keys)] = siteCategory(cats[:len(keys)])
			switch {
			case cats[len(keys)] != NotObserved:
			case !observed:
				whys[len(keys)] = whyNotRunning
			default:
				whys[len(keys)] = whySite
			}
		}
		if n := len(out); n > 0 && out[n-1].to.Equal(a) && same(out[n-1].cats, cats) && same(out[n-1].whys, whys) {
			out[n-1].to = b
			return
		}
		out = append(out, span{from: a, to: b, cats: cats, whys: whys})
	}
	// advance covers [last, t) with what held since the last record.
	advance := func(t time.Time) {
		if last.IsZero() {
			emit(from, t, false)
		} else {
			emit(last, t, alive && t.Sub(last) <= StaleAfter)
		}
		last = t
	}
	for _, r := range recs {
		switch r.Kind {
		case history.RecStart, history.RecBeat, history.RecStop, history.RecLink:
		default:
			continue // drill windows are exclusions
		}
		if !end.After(r.Time) {
			break
		}
		advance(r.Time)
		held := r.States
		if peerings {
			held = r.PeeringStates
		}
		switch r.Kind {
		case history.RecStart:
			// A new model starts from unknown; a peering the record
			// holds no state of has none (an older dxwatch wrote it).
			for i := range states {
				states[i] = health.StateUnknown
				if peerings {
					states[i] = ""
				}
			}
			fallthrough
		case history.RecBeat:
			for k, s := range held {
				if i, ok := idx[k]; ok {
					states[i] = s
				}
			}
			alive = true
		case history.RecLink:
			key := r.Link
			if peerings {
				key = history.PeeringKey(r.Link, r.Family)
			}
			if i, ok := idx[key]; ok && peerings == (r.Family != "") {
				states[i] = r.State
			}
			alive = true
		case history.RecStop:
			alive = false
		}
	}
	advance(end)
	return out
}

// Why a scope is not observed, as the report says it.
const (
	whyNotRunning = "dxwatch was not watching: stopped, crashed, or its ledger has no record for more than 150 s"
	whyUnknown    = "dxwatch had no verdict: no fresh evidence about the link (state unknown), as after a start"
	whyUnverified = "dxwatch could not tell: the link's echoes' replies return over another link that was failing (state unverified)"
	whySite       = "no link was seen up, and not every link was seen down"
	whyNoState    = "the ledger holds no state of it: it was written by a dxwatch that did not yet record each peering's state, or before the peering was configured"
)

func whyState(s health.State) string {
	switch categoryOf(s) {
	case Up, Down:
		return ""
	}
	switch s {
	case health.StateUnverified:
		return whyUnverified
	case "":
		return whyNoState
	}
	return whyUnknown
}

func same[T comparable](a, b []T) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// window is an exclusion window: a drill or a declared maintenance.
type window struct {
	kind     Category
	from, to time.Time
	links    []string // empty: the whole site
	reason   string
}

// covers says whether w covers scope, the link links[scope] (or one of
// its peerings) or, at len(links), the site.
func (w window) covers(scope int, links []string) bool {
	if len(w.links) == 0 {
		return true
	}
	if scope == len(links) { // the site: only site-wide windows
		return false
	}
	for _, l := range w.links {
		if l == links[scope] {
			return true
		}
	}
	return false
}

// drillWindows pairs the drill records into windows: a start without its
// end lasts until its Until (or StaleAfter when it has none).
func drillWindows(recs []history.Record) []window {
	ends := map[string]time.Time{}
	for _, r := range recs {
		if r.Kind == history.RecDrillEnd {
			ends[r.ID] = r.Time
		}
	}
	var out []window
	for _, r := range recs {
		if r.Kind != history.RecDrillStart {
			continue
		}
		w := window{kind: Drill, from: r.Time, reason: "dxwatch drill " + r.ID}
		switch e, ok := ends[r.ID]; {
		case ok:
			w.to = e
		case r.Until != nil:
			w.to = *r.Until
			w.reason += " (no end recorded: counted until the latest it could end)"
		default:
			w.to = r.Time.Add(StaleAfter)
		}
		if w.to.After(w.from) {
			out = append(out, w)
		}
	}
	return out
}

// piece is a stretch of one scope's time in one category.
type piece struct {
	from, to time.Time
	cat      Category
	reason   string // of the exclusion window
}

// paint lays the exclusion windows over one scope's spans: maintenance
// over drills over what the ledger says.
func paint(spans []span, scope int, links []string, wins []window) []piece {
	var cuts []time.Time
	for _, w := range wins {
		if w.covers(scope, links) {
			cuts = append(cuts, w.from, w.to)
		}
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].Before(cuts[j]) })
	var out []piece
	add := func(p piece) {
		if n := len(out); n > 0 && out[n-1].to.Equal(p.from) && out[n-1].cat == p.cat && out[n-1].reason == p.reason {
			out[n-1].to = p.to
			return
		}
		out = append(out, p)
	}
	for _, s := range spans {
		a := s.from
		for a.Before(s.to) {
			b := s.to
			for _, c := range cuts {
				if c.After(a) && c.Before(b) {
					b = c
					break
				}
			}
			p := piece{from: a, to: b, cat: s.cats[scope], reason: s.whys[scope]}
			for _, k := range []Category{Drill, Maintenance} {
				for _, w := range wins {
					if w.kind == k && w.covers(scope, links) && !w.from.After(a) && w.to.After(a) {
						p.cat, p.reason = k, w.reason
					}
				}
			}
			add(p)
			a = b
		}
	}
	return out
}
