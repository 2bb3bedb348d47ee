package agent

import (
	"time"

	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/probes"
)

// probeSpecs lists the probes cfg asks for. The probe kinds are listed here,
// and only here, besides their configuration sections in config.Config.
func probeSpecs(cfg *config.Config) []probeSpec {
	var specs []probeSpec
	_ = cfg
	return specs
}

// skippedParts returns a skipped check for every part of the checklist the
// configuration leaves out, saying why and how to include it.
func skippedParts(cfg *config.Config) []probes.CheckResult {
	var out []probes.CheckResult
	skip := func(kind, reason, fix string) {
		out = append(out, probes.CheckResult{Name: kind, Order: kindOrder(kind), Status: probes.Skip, Reason: reason, Fix: fix, Time: time.Now()})
	}
	_ = cfg
	_ = skip
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
