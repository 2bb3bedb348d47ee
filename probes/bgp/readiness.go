package bgp

import (
	"fmt"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// Readiness implements probes.ReadinessReporter: one entry per configured
// BGP peer, ready once its session is established and its initial table
// is in, and, with the BMP station on, one per connected router, ready
// once every Direct Connect session it monitors that is up has had its
// initial dump (End-of-RIB in route monitoring), or one saying no router
// is connected.
//
// A BGP session's initial table is in when the router sent End-of-RIB
// (RFC 4724). When End-of-RIB was not negotiated (graceful restart not
// offered by both sides: FRR then sends none), the settle rule stands in
// for it: the session has been established, and has brought no UPDATE,
// for the peer's settle_time. A session still receiving its table keeps
// bringing UPDATEs and is not ready. With graceful restart negotiated,
// only End-of-RIB makes the session ready.
func (p *Probe) Readiness() []probes.Readiness {
	return p.readiness(time.Now())
}

func (p *Probe) readiness(now time.Time) []probes.Readiness {
	r := p.view.Load().routes
	var out []probes.Readiness
	for _, pc := range p.cfg.Peers {
		rd := probes.Readiness{Kind: "bgp", Name: pc.Name, State: "not started"}
		for _, pv := range r.Peers {
			if pv.Name != pc.Name {
				continue
			}
			rd.State, rd.Detail = "session "+pv.State, pv.LastError
			if pv.Since != nil {
				rd.Since = *pv.Since
			}
			if pv.Up {
				rd.State = "established"
				rd.Ready, rd.Detail = peerTableIn(pc, pv, now)
			}
		}
		out = append(out, rd)
	}
	if p.cfg.BMP.ListenAddress == "" {
		return out
	}
	if len(r.BMPRouters) == 0 {
		return append(out, probes.Readiness{Kind: "bmp", Name: p.cfg.BMP.ListenAddress, State: "no router connected"})
	}
	for _, rv := range r.BMPRouters {
		rd := probes.Readiness{Kind: "bmp", Name: rv.Name, State: "connected", Since: rv.ConnectedSince, Ready: true, Detail: "initial dump done"}
		var pending []string
		for _, bp := range rv.Peers {
			// Only the Direct Connect sessions: the router's others (its
			// session with this agent, FRR's pseudo-peer 0.0.0.0 for its
			// own routes) tell nothing about the links.
			if bp.Link != "" && bp.Up && !bp.EndOfRIB {
				pending = append(pending, bp.Address)
			}
		}
		if len(pending) > 0 {
			rd.Ready, rd.Detail = false, "initial dump not done (no End-of-RIB) for "+strings.Join(pending, ", ")
		}
		out = append(out, rd)
	}
	return out
}

// peerTableIn applies the readiness rule to an established session: its
// End-of-RIB, or, when End-of-RIB was not negotiated, the settle rule.
// The detail names the rule that decided.
func peerTableIn(pc PeerConfig, pv PeerView, now time.Time) (bool, string) {
	if pv.EndOfRIB {
		return true, "End-of-RIB"
	}
	if pv.EndOfRIBNegotiated {
		return false, "initial table not in: no End-of-RIB yet (graceful restart negotiated: End-of-RIB is due)"
	}
	settle := pc.settleTime()
	last := time.Time{}
	if pv.Since != nil {
		last = *pv.Since
	}
	if pv.LastUpdate != nil && pv.LastUpdate.After(last) {
		last = *pv.LastUpdate
	}
	quiet := now.Sub(last)
	if !last.IsZero() && quiet >= settle {
		return true, fmt.Sprintf("settled: no UPDATE for %s (settle rule, End-of-RIB not negotiated)", quiet.Round(100*time.Millisecond))
	}
	// The detail stays the same while the session waits: the drill's
	// warm-up prints a line per change.
	d := fmt.Sprintf("initial table may still be arriving: no End-of-RIB yet, none negotiated; settle rule: ready after %s without an UPDATE", settle)
	if !pc.GracefulRestart {
		d += "; graceful_restart: true on the peer makes routers such as FRR 8 send End-of-RIB"
	}
	return false, d
}
