package bgp

import (
	"strings"

	"github.com/dxwatch/dxwatch/probes"
)

// Readiness implements probes.ReadinessReporter: one entry per configured
// BGP peer, ready once its session is established and its initial table
// is in (End-of-RIB), and, with the BMP station on, one per connected
// router, ready once every Direct Connect session it monitors that is up
// has had its initial dump (End-of-RIB in route monitoring), or one saying
// no router is connected.
func (p *Probe) Readiness() []probes.Readiness {
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
				rd.State, rd.Ready, rd.Detail = "established", pv.EndOfRIB, "End-of-RIB"
				if !pv.EndOfRIB {
					rd.Detail = "initial table not in: no End-of-RIB yet"
					if !pc.GracefulRestart {
						rd.Detail += " (some routers, FRR 8 among them, send it only to a peer that offers graceful restart: set graceful_restart: true on the peer)"
					}
				}
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
