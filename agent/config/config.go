package config

import (
	"context"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/aws"
	"github.com/dxwatch/dxwatch/probes/bgp"
	"github.com/dxwatch/dxwatch/probes/ping"
	"github.com/dxwatch/dxwatch/probes/trace"
)

// Config is the whole dxwatch configuration file. The probe kinds are
// listed here, once: each section's type comes from the probe's package.
type Config struct {
	Site    string         `yaml:"site"`
	Links   []LinkConfig   `yaml:"links"`
	Targets []TargetConfig `yaml:"targets"`
	Routing RoutingConfig  `yaml:"routing"`

	// The probe kinds, one section each.
	Ping  ping.Config  `yaml:"ping"`
	Trace trace.Config `yaml:"trace"`
	BGP   bgp.Config   `yaml:"bgp"`
	AWS   aws.Config   `yaml:"aws"`

	// Health tunes the engine that fuses the evidence into link state.
	Health health.Config `yaml:"health"`

	// present records which optional sections the file has, so that a
	// probe kind runs only when configured.
	present map[string]bool
}

// LinkConfig describes one Direct Connect link.
type LinkConfig struct {
	Name            string `yaml:"name"`
	Role            string `yaml:"role"`
	ConnectionID    string `yaml:"connection_id"`
	VIFID           string `yaml:"vif_id"`
	CustomerAddress string `yaml:"customer_address"`
	AmazonAddress   string `yaml:"amazon_address"`
	VLAN            int    `yaml:"vlan"`
	// ProbeSource is an address on the agent's host that the edge router
	// advertises as a /32 (/128) over this link only: the link's pinned
	// echoes are sent from it so that AWS returns their replies over this
	// link. Optional.
	ProbeSource string `yaml:"probe_source"`
	// PinnedTarget is where the link's pinned echoes go instead of its
	// Amazon address (a VPC address, for a Transit Gateway site, where the
	// peer /30 is not reachable from on-prem); it needs ProbeSource.
	// Optional.
	PinnedTarget string `yaml:"pinned_target"`
}

// TargetConfig describes one VPC instance probed end to end.
type TargetConfig struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
	VPCID   string `yaml:"vpc_id"`
}

// RoutingConfig is the routing intent.
type RoutingConfig struct {
	Mode             string   `yaml:"mode"`
	Primary          string   `yaml:"primary"`
	ExpectedPrefixes []string `yaml:"expected_prefixes"`
	AmazonASN        uint32   `yaml:"amazon_asn"`
}

// Default returns the configuration with every default set.
func Default() Config {
	return Config{
		Routing: RoutingConfig{Mode: probes.ModeActivePassive, AmazonASN: 64512},
		Ping:    ping.DefaultConfig(),
		Trace:   trace.DefaultConfig(),
		BGP:     bgp.DefaultConfig(),
		AWS:     aws.DefaultConfig(),
		Health:  health.DefaultConfig(),
	}
}

// Has reports whether the file has the top-level section name ("aws").
func (c *Config) Has(section string) bool { return c.present[section] }

// Check loads the file at path as Load does, then checks what it names on
// this host, as check-config does: the targets given as DNS names resolve,
// and the BGP peers' MD5 keys read (the file exists, is readable and not
// empty, the variable is set, the key is at most 80 bytes) with the very
// function the BGP probe reads them with when run starts, so that
// check-config and run agree. Each problem is at its path and line; none
// holds a key. Load does neither, so that a reload never waits on DNS (the
// probes re-resolve); the keys are read when the BGP probe is built.
func Check(ctx context.Context, path string) error {
	c, idx, err := load(path)
	if err != nil {
		return err
	}
	var ps probes.Problems
	ps.Merge("", ping.ResolveTargets(ctx, c.Ping, c.Topology(), nil))
	if c.Has("bgp") {
		_, err := c.BGP.ReadKeys()
		ps.Merge("bgp", err)
	}
	return idx.problems(path, ps)
}
