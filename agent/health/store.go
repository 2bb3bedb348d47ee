package health

import "strings"

// Restore puts events recorded earlier into the model's history, oldest
// first: those a previous run stored on disk, or those of the model a
// reload replaces. Events naming a link the model's site does not have are
// left out. The model's next event continues the restored IDs, so that a
// client polling /api/events?since=<id> misses nothing. The last failover
// or outage among them becomes the status's last failover. Restore counts
// nothing: dxwatch_failovers_total and the outage histogram describe this
// process. It returns how many events it kept.
func (m *Model) Restore(evs []Event) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := 0
	for _, ev := range evs {
		if ev.ID > m.nextID {
			m.nextID = ev.ID
		}
		if !m.knowsLinks(ev) {
			continue
		}
		m.events.add(ev)
		if ev.Kind != KindLinkState {
			last := ev
			m.last = &last
			m.family(ev.Family).last = &last // before families: the first
		}
		kept++
	}
	return kept
}

// Inherit takes over the history of old, the model of the configuration a
// reload replaces when the site changed: the events of the links that
// still exist (Restore), the event IDs and the failover counts between
// links that still exist. The links' states start again from unknown: the
// evidence behind them was about another site.
func (m *Model) Inherit(old *Model) {
	evs := old.Events()
	old.mu.Lock()
	next := old.nextID
	counts := map[string]map[[2]string]float64{}
	for _, f := range old.fams {
		counts[f.name] = make(map[[2]string]float64, len(f.failovers))
		for k, n := range f.failovers {
			counts[f.name][k] = n
		}
	}
	old.mu.Unlock()

	m.Restore(evs)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID = max(m.nextID, next)
	for _, f := range m.fams {
		for k, n := range counts[f.name] {
			if f.knowsLabel(k[0]) && f.knowsLabel(k[1]) {
				f.failovers[k] = n
			}
		}
	}
}

// knowsLinks reports whether every link ev names is one of the model's.
func (m *Model) knowsLinks(ev Event) bool {
	if ev.Link != "" && !m.knowsLink(ev.Link) {
		return false
	}
	for _, names := range [][]string{ev.From, ev.To} {
		for _, n := range names {
			if !m.knowsLink(n) {
				return false
			}
		}
	}
	return true
}

func (m *Model) knowsLink(name string) bool {
	_, ok := m.site.Link(name)
	return ok
}

// knowsLabel reports whether label (links joined by '+', or "none", as
// dxwatch_failovers_total names them) names only links of the model.
func (m *family) knowsLabel(label string) bool {
	if label == "none" {
		return true
	}
	for n := range strings.SplitSeq(label, "+") {
		if _, ok := m.linkIdx[n]; !ok {
			return false
		}
	}
	return true
}
