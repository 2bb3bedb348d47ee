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

// kind describes one probe kind: the agent knows the kinds through this
// list alone (besides their configuration sections in config.Config), in
// the style of node_exporter's registerCollector.
type kind struct {
	// name is the kind, its configuration section and its probe's name.
	name string
	// order places the kind's checks in the turn-up checklist.
	order int
	// spec returns the probe cfg asks for, if it asks for one.
	spec func(cfg *config.Config, site probes.Site) (probeSpec, bool)
	// skipped returns the checklist parts cfg leaves out of this kind, each
	// a check named name (or name.part) saying why and how to include it.
	skipped func(cfg *config.Config) []skippedPart
}

// skippedPart is one part of the checklist a configuration leaves out.
type skippedPart struct{ name, reason, fix string }

// kinds lists every probe kind, in the order their probes start.
var kinds = []kind{
	{
		name: ping.Kind, order: probes.OrderPing,
		spec: func(cfg *config.Config, site probes.Site) (probeSpec, bool) {
			if len(site.Targets) == 0 && (!cfg.Ping.LinkPinned || len(site.Links) == 0) {
				return probeSpec{}, false
			}
			c := cfg.Ping
			return probeSpec{
				kind: ping.Kind, name: ping.Kind, key: []any{c, site},
				build:  func(d probes.Deps) (probes.Probe, error) { return ping.New(ping.Kind, c, d) },
				update: func(p probes.Probe) error { return p.(*ping.Probe).Update(c, site) },
			}, true
		},
		skipped: func(cfg *config.Config) []skippedPart {
			if len(cfg.Targets) > 0 {
				return nil
			}
			return []skippedPart{{"ping.targets", "no VPC targets configured: only the links' Amazon addresses are pinged", noTargetsFix}}
		},
	},
	{
		name: "trace", order: probes.OrderTrace,
		spec: func(cfg *config.Config, site probes.Site) (probeSpec, bool) {
			if len(site.Targets) == 0 || cfg.Trace.Interval <= 0 {
				return probeSpec{}, false
			}
			c := cfg.Trace
			return probeSpec{
				kind: "trace", name: "trace", key: []any{c, site},
				build: func(d probes.Deps) (probes.Probe, error) { return trace.New("trace", c, d) },
			}, true
		},
		skipped: func(cfg *config.Config) []skippedPart {
			if len(cfg.Targets) > 0 {
				return nil
			}
			return []skippedPart{{"trace", "no VPC targets configured: nothing to trace", noTargetsFix}}
		},
	},
	{
		name: "bgp", order: probes.OrderBGP,
		spec: func(cfg *config.Config, site probes.Site) (probeSpec, bool) {
			if !cfg.Has("bgp") || (len(cfg.BGP.Peers) == 0 && cfg.BGP.BMP.ListenAddress == "") {
				return probeSpec{}, false
			}
			c := cfg.BGP
			return probeSpec{
				kind: "bgp", name: "bgp", key: []any{c, site},
				build: func(d probes.Deps) (probes.Probe, error) { return bgp.New("bgp", c, d) },
			}, true
		},
		skipped: func(cfg *config.Config) []skippedPart {
			if len(cfg.BGP.Peers) > 0 || cfg.BGP.BMP.ListenAddress != "" {
				return nil
			}
			return []skippedPart{{"bgp", "no BGP peers and no BMP station configured: the routes received over each link and the routing intent were not checked",
				"add a bgp section peering with the edge router(s) (docs/configuration.md); dxwatch never advertises a route"}}
		},
	},
	{
		name: "aws", order: probes.OrderConnection,
		spec: func(cfg *config.Config, site probes.Site) (probeSpec, bool) {
			return awsSpec(cfg.AWS, site), cfg.Has("aws")
		},
		skipped: func(cfg *config.Config) []skippedPart {
			if cfg.Has("aws") {
				return nil
			}
			return []skippedPart{{"aws", "no aws section: connections, virtual interfaces, gateways and route propagation were not checked",
				"add an aws section with the regions and the Direct Connect gateway ID (docs/configuration.md), and read-only credentials (deploy/iam-policy.json)"}}
		},
	},
}

const noTargetsFix = "add targets: the private addresses of instances in each VPC"

// probeSpecs lists the probes cfg asks for.
func probeSpecs(cfg *config.Config) []probeSpec {
	site := cfg.Topology()
	var specs []probeSpec
	for _, k := range kinds {
		if s, ok := k.spec(cfg, site); ok {
			specs = append(specs, s)
		}
	}
	return specs
}

// awsSpec is the AWS probe for c; the drill uses it to poll AWS when the
// configuration has no aws section.
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
	for _, k := range kinds {
		for _, p := range k.skipped(cfg) {
			out = append(out, probes.CheckResult{Name: p.name, Order: k.order, Status: probes.Skip, Reason: p.reason, Fix: p.fix, Time: time.Now()})
		}
	}
	return out
}

// kindOrder places a probe kind's checks in the turn-up checklist.
func kindOrder(name string) int {
	for _, k := range kinds {
		if k.name == name {
			return k.order
		}
	}
	return 900
}
