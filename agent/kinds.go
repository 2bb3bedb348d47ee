package agent

import "github.com/dxwatch/dxwatch/agent/config"

// probeSpecs lists the probes cfg asks for. The probe kinds are listed here,
// and only here, besides their configuration sections in config.Config.
func probeSpecs(cfg *config.Config) []probeSpec {
	var specs []probeSpec
	_ = cfg
	return specs
}
