package agent

import (
	"time"

	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/aws"
	"github.com/dxwatch/dxwatch/probes/bgp"
	"github.com/dxwatch/dxwatch/probes/ping"
	"github.com/dxwatch/dxwatch/probes/trace"
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
	if len(site.Targets) > 0 && cfg.Trace.Interval > 0 {
		c := cfg.Trace
		specs = append(specs, probeSpec{
			kind: "trace", name: "trace", key: []any{c, site},
			build: func(d probes.Deps) (probes.Probe, error) { return trace.New("trace", c, d) },
		})
	}
	if cfg.Has("bgp") && (len(cfg.BGP.Peers) > 0 || cfg.BGP.BMP.ListenAddress != "") {
		c := cfg.BGP
		specs = append(specs, probeSpec{
			kind: "bgp", name: "bgp", key: []any{c, site},
			build: func(d probes.Deps) (probes.Probe, error) { return bgp.New("bgp", c, d) },
		})
	}
	if cfg.Has("aws") {
		specs = append(specs, awsSpec(cfg.AWS, site))
	}
	return specs
}

func awsSpec(c aws.Config, site probes.Site) probeSpec {
	return probeSpec{
		kind: "aws", name: "aws", key: []any{c, site},
		build: func(d probes.Deps) (probes.Probe, error) { return aws.New("aws", c, d) },
	}
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
		skip("trace", "no VPC targets configured: nothing to trace", "add targets: the private addresses of instances in each VPC")
	}
	if len(cfg.BGP.Peers) == 0 && cfg.BGP.BMP.ListenAddress == "" {
		skip("bgp", "no BGP peers and no BMP station configured: the routes received over each link and the routing intent were not checked",
			"add a bgp section peering with the edge router(s) (docs/configuration.md); dxwatch never advertises a route")
	}
	if !cfg.Has("aws") {
		skip("aws", "no aws section: connections, virtual interfaces, gateways and route propagation were not checked",
			"add an aws section with the regions and the Direct Connect gateway ID (docs/configuration.md), and read-only credentials (deploy/iam-policy.json)")
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
