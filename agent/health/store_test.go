package health

import (
	"testing"

	"github.com/dxwatch/dxwatch/probes"
)

// TestInherit: a reload that changed the site hands the new model the
// events, IDs and failover counts of the links that still exist.
func TestInherit(t *testing.T) {
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	_, obs := cleanCut()
	h.feed(obs)
	old := h.m.Events()
	if len(h.failovers()) != 2 {
		t.Fatalf("%d failovers, want 2", len(h.failovers()))
	}
	lastID := old[len(old)-1].ID

	t.Run("same links", func(t *testing.T) {
		site := testSite(probes.ModeActivePassive)
		site.Targets = site.Targets[:1] // a changed site, the same links
		m := New(DefaultConfig(), site, nil)
		m.Inherit(h.m)
		if got := m.Events(); len(got) != len(old) {
			t.Errorf("%d events inherited, want %d", len(got), len(old))
		}
		if lf := m.Status().LastFailover; lf == nil || lf.ID != h.failovers()[1].ID {
			t.Errorf("last failover %+v, want event %d", lf, h.failovers()[1].ID)
		}
		if got := failovers(m, "primary", "secondary"); got != 1 {
			t.Errorf("failovers primary→secondary %v, want 1", got)
		}
	})

	t.Run("secondary renamed", func(t *testing.T) {
		site := testSite(probes.ModeActivePassive)
		site.Links[1].Name = "backup"
		m := New(DefaultConfig(), site, nil)
		m.Inherit(h.m)
		for _, e := range m.Events() {
			if e.Kind != KindLinkState || e.Link != "primary" {
				t.Errorf("inherited %s event of %s/%v→%v: a link that no longer exists", e.Kind, e.Link, e.From, e.To)
			}
		}
		if len(m.Events()) != len(h.linkEvents("primary")) {
			t.Errorf("%d events inherited, want primary's %d", len(m.Events()), len(h.linkEvents("primary")))
		}
		if m.Status().LastFailover != nil {
			t.Error("a failover to a link that no longer exists is the last failover")
		}
		// IDs go on from the old model's, not from the kept events'.
		m.mu.Lock()
		m.store(Event{Kind: KindLinkState, Link: "backup", State: StateUp})
		m.mu.Unlock()
		evs := m.Events()
		if id := evs[len(evs)-1].ID; id != lastID+1 {
			t.Errorf("next event ID %d, want %d", id, lastID+1)
		}
	})
}

// failovers returns dxwatch_failovers_total{from,to} of m's first family.
func failovers(m *Model, from, to string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fams[0].failovers[[2]string{from, to}]
}
