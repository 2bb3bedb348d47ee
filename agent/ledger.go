package agent

import (
	"context"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/history"
)

// The availability ledger (agent/history, "The availability ledger"): the
// daemon writes a start record, a heartbeat every history.DefaultBeat with
// every link's state (and each dual-stack link's peerings' states), each link state change (with an evidence snapshot
// when the link goes down) and a stop record. `dxwatch report` and
// /api/report read it back.

// ledgerRecord returns a start, beat or stop record of st: every link's
// state and, for the dual-stack links, each peering's (keyed by
// history.PeeringKey; nil on a single-family site), so that a report can
// rebuild each peering's time after a restart.
func ledgerRecord(t time.Time, kind history.RecordKind, st health.Status) history.Record {
	r := history.Record{Time: t, Kind: kind, States: make(map[string]health.State, len(st.Links))}
	for _, l := range st.Links {
		r.States[l.Name] = l.State
		for _, p := range l.Peerings {
			if r.PeeringStates == nil {
				r.PeeringStates = map[string]health.State{}
			}
			r.PeeringStates[history.PeeringKey(l.Name, p.Family)] = p.State
		}
	}
	return r
}

// ledgerHook returns the event hook part that records link state changes;
// model returns the health model the events come from (set once it is
// built), for the evidence snapshot.
func (a *Agent) ledgerHook(model func() *health.Model) func(health.Event) {
	if a.ledger == nil {
		return nil
	}
	return func(e health.Event) {
		if e.Kind != health.KindLinkState {
			return
		}
		r := history.Record{Time: e.Time, Kind: history.RecLink, Link: e.Link, Family: e.Family, State: e.State, Previous: e.Previous,
			Cause: strings.Join(e.Reasons, "; ")}
		if e.State == health.StateDown {
			if m := model(); m != nil {
				r.Evidence = history.Snapshot(m.Status(), e.Link)
			}
		}
		a.ledger.Write(r)
	}
}

// startLedger writes the start record: before the probes start, so that
// it precedes every change they cause.
func (a *Agent) startLedger() {
	if a.ledger != nil {
		a.ledger.Write(ledgerRecord(time.Now(), history.RecStart, a.cur.Load().health.Status()))
	}
}

// runLedger writes a heartbeat every beat until ctx is done, then the stop
// record.
func (a *Agent) runLedger(ctx context.Context, beat time.Duration) {
	if a.ledger == nil {
		return
	}
	t := time.NewTicker(beat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			a.ledger.Write(ledgerRecord(time.Now(), history.RecStop, a.cur.Load().health.Status()))
			return
		case now := <-t.C:
			a.ledger.Write(ledgerRecord(now, history.RecBeat, a.cur.Load().health.Status()))
		}
	}
}
