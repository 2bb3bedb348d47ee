package agent

import (
	"time"

	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/ping"
)

// probeSpecs lists the probes cfg asks for. The probe kinds are listed here,
// and only here, besides their configuration sections in config.Config.
func probeSpecs(cfg *config.Config) []probeSpec {
	site := cfg.Topology()
	var specs []probeSpec
	if len(site.Targets) > 0 || (cfg.Ping.LinkPinned && len(site.Links) > 0) {
		c := cfg.Ping
		specs = append(specs, probeSpec{
			kind: "ping", name: "ping", key: []any{c, site},
			build:  func(d probes.Deps) (probes.Probe, error) { return ping.New("ping", c, d) },
			update: func(p probes.Probe) error { return p.(*ping.Probe).Update(c, site) },
		})
	}
	return specs
}

// skippedParts returns a skipped check for every part of the checklist the
// configuration leaves out, saying why and how to include it.
func skippedParts(cfg *config.Config) []probes.CheckResult {
	var out []probes.CheckResult
	skip := func(kind, reason, fix string) {
		out = append(out, probes.CheckResult{Name: kind, Order: kindOrder(kind), Status: probes.Skip, Reason: reason, Fix: fix, Time: time.Now()})
	}
	if len(cfg.Targets) == 0 {
		skip("ping.targets", "no VPC targets configured: only the links' Amazon addresses are pinged", "add targets: the private addresses of instances in each VPC")
	}
	return out
}

// kindOrder places a probe kind's checks in the turn-up checklist.
func kindOrder(kind string) int {
	switch kind {
	case "aws":
		return probes.OrderConnection
	case "bgp":
		return probes.OrderBGP
	case "ping":
		return probes.OrderPing
	case "trace":
		return probes.OrderTrace
	}
	return 900
}
