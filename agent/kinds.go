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

// kind describes one probe kind to the agent: each kind's package says
// where its checks stand in the checklist (Order), whether a site asks for
// its probe (Wanted) and what verify says of the parts left out (Skipped);
// this list wires them to the configuration's sections, in the style of
// node_exporter's registerCollector.
type kind struct {
	// name is the kind, its configuration section and its probe's name.
	name string
	// order places the kind's checks in the turn-up checklist.
	order int
	// spec returns the probe cfg asks for, if it asks for one.
	spec func(cfg *config.Config, site probes.Site) (probeSpec, bool)
	// skipped returns the checklist parts cfg leaves out of this kind.
	skipped func(cfg *config.Config, site probes.Site) []probes.SkippedPart
}

// kinds lists every probe kind, in the order their probes start.
var kinds = []kind{
	{
		name: ping.Kind, order: ping.Order,
		spec: func(cfg *config.Config, site probes.Site) (probeSpec, bool) {
			c := cfg.Ping
			return probeSpec{
				kind: ping.Kind, name: ping.Kind, key: []any{c, site},
				build:  func(d probes.Deps) (probes.Probe, error) { return ping.New(ping.Kind, c, d) },
				update: func(p probes.Probe) error { return p.(*ping.Probe).Update(c, site) },
			}, ping.Wanted(c, site)
		},
		skipped: func(_ *config.Config, site probes.Site) []probes.SkippedPart { return ping.Skipped(site) },
	},
	{
		name: trace.Kind, order: trace.Order,
		spec: func(cfg *config.Config, site probes.Site) (probeSpec, bool) {
			c := cfg.Trace
			return probeSpec{
				kind: trace.Kind, name: trace.Kind, key: []any{c, site},
				build: func(d probes.Deps) (probes.Probe, error) { return trace.New(trace.Kind, c, d) },
			}, trace.Wanted(c, site)
		},
		skipped: func(_ *config.Config, site probes.Site) []probes.SkippedPart { return trace.Skipped(site) },
	},
	{
		name: bgp.Kind, order: bgp.Order,
		spec: func(cfg *config.Config, site probes.Site) (probeSpec, bool) {
			c := cfg.BGP
			return probeSpec{
				kind: bgp.Kind, name: bgp.Kind, key: []any{c, site},
				build: func(d probes.Deps) (probes.Probe, error) { return bgp.New(bgp.Kind, c, d) },
			}, bgp.Wanted(c, cfg.Has(bgp.Kind))
		},
		skipped: func(cfg *config.Config, _ probes.Site) []probes.SkippedPart { return bgp.Skipped(cfg.BGP) },
	},
	{
		name: aws.Kind, order: aws.Order,
		spec: func(cfg *config.Config, site probes.Site) (probeSpec, bool) {
			return awsSpec(cfg.AWS, site), cfg.Has(aws.Kind)
		},
		skipped: func(cfg *config.Config, _ probes.Site) []probes.SkippedPart { return aws.Skipped(cfg.Has(aws.Kind)) },
	},
}

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
		kind: aws.Kind, name: aws.Kind, key: []any{c, site},
		build: func(d probes.Deps) (probes.Probe, error) { return aws.New(aws.Kind, c, d) },
	}
}

// skippedParts returns a skipped check for every part of the checklist the
// configuration leaves out, saying why and how to include it.
func skippedParts(cfg *config.Config) []probes.CheckResult {
	site := cfg.Topology()
	var out []probes.CheckResult
	for _, k := range kinds {
		for _, p := range k.skipped(cfg, site) {
			out = append(out, probes.CheckResult{Name: p.Name, Order: k.order, Status: probes.Skip, Reason: p.Reason, Fix: p.Fix, Time: time.Now()})
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
