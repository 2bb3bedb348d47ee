package config

import (
	"context"
	"fmt"
	"strings"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/report"
	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/aws"
	"github.com/dxwatch/dxwatch/probes/bgp"
	"github.com/dxwatch/dxwatch/probes/ping"
	"github.com/dxwatch/dxwatch/probes/problem"
	"github.com/dxwatch/dxwatch/probes/trace"
)

// Config is the whole dxwatch configuration file. The probe kinds are
// listed here, once: each section's type comes from the probe's package.
type Config struct {
	// Site is the site's name (required): letters, digits, -, _ and ".".
	// Deployments also put it on every series as a target label.
	Site string `yaml:"site"`
	// Links are the Direct Connect links (required, one to eight; two for
	// redundancy).
	Links []LinkConfig `yaml:"links"`
	// Targets are the VPC instances probed end to end.
	Targets []TargetConfig `yaml:"targets"`
	// Routing is the routing intent dxwatch checks the observed routing
	// against.
	Routing RoutingConfig `yaml:"routing"`

	// The probe kinds, one section each.

	// Ping is the ICMP echo probe of the targets and of each link's Amazon
	// address.
	Ping ping.Config `yaml:"ping"`
	// Trace is the traceroute probe that tells which link the traffic to
	// the targets crosses.
	Trace trace.Config `yaml:"trace"`
	// BGP is the BGP feed from the edge router(s) and the BMP station; the
	// bgp probe runs only when the section has peers or a BMP station.
	BGP bgp.Config `yaml:"bgp"`
	// AWS is the poll of the Direct Connect and EC2 APIs; the aws probe runs
	// only when the file has the section.
	AWS aws.Config `yaml:"aws"`

	// Health tunes the engine that fuses the evidence into link state.
	Health health.Config `yaml:"health"`

	// Report sets the site's availability target and the declared
	// maintenance windows of `dxwatch report` and /api/report.
	Report report.Config `yaml:"report"`

	// present records which optional sections the file has, so that a
	// probe kind runs only when configured.
	present map[string]bool
	// topo is the site with its addresses parsed, built once when the
	// configuration is valid (Topology).
	topo probes.Site
}

// LinkConfig describes one Direct Connect link.
//
// Rules checked: the two peer addresses are of the same family, in the same
// subnet (a /30 or /31, or /29, for IPv4; the /125 Amazon allocates for
// IPv6), not the network or broadcast address of a /30; each link's Amazon
// address is unique. A `probe_source` is a unicast address, unique across
// links, of the family of the link's Amazon address, and outside every
// link's peering subnet.
//
// A dual-stack link (a virtual interface with an IPv4 and an IPv6 BGP
// peering) keeps its IPv4 peering in `customer_address` and
// `amazon_address` and adds its IPv6 peering under `ipv6:`, with the same
// rules for its own family: both addresses IPv6 in one /125, none of them
// an address of another link, its `probe_source` and `pinned_target` IPv6.
// A single-family link, IPv4 or IPv6, has no `ipv6:`. A virtual interface
// has at most one peering per family (AWS: "Add a BGP peer to a Direct
// Connect virtual interface"), hence a key per family rather than a list.
type LinkConfig struct {
	// Name is unique (required) and becomes the link label (primary,
	// secondary).
	Name string `yaml:"name"`
	// Role is `primary` or `secondary` (required); in active_passive mode
	// exactly one link is primary.
	Role string `yaml:"role"`
	// ConnectionID is the connection (dxcon-…, or dxlag-… for a LAG); for
	// a hosted connection, the ID in your account. Needed for the AWS
	// checks.
	ConnectionID string `yaml:"connection_id"`
	// VIFID is the virtual interface on it (dxvif-…). Needed for the AWS
	// checks.
	VIFID string `yaml:"vif_id"`
	// CustomerAddress is your router's BGP peer address in CIDR form
	// (required; "your router peer IP", Pureport's "Pureport IP"), e.g.
	// 169.254.10.2/30.
	CustomerAddress string `yaml:"customer_address"`
	// AmazonAddress is Amazon's BGP peer address in CIDR form (required;
	// "Amazon router peer IP", Pureport's "Remote IP"). Routes whose next
	// hop is this address, and traceroute hops equal to it, belong to this
	// link.
	AmazonAddress string `yaml:"amazon_address"`
	// VLAN is the VIF's VLAN, 1-4094 (required), unique per connection.
	VLAN int `yaml:"vlan"`
	// ProbeSource is an IP address (no prefix length) on the agent's host
	// that the edge router advertises as a /32 (/128) over this link only:
	// the link's pinned echoes to its Amazon address are sent from it, so
	// AWS returns their replies over this link and the link is observed on
	// its own even while another link fails. See probe-sources.md for the
	// edge configuration.
	ProbeSource string `yaml:"probe_source"`
	// PinnedTarget is where the link's pinned echoes go instead of its
	// Amazon address (a VPC address, for a Transit Gateway site, where the
	// peer /30 is not reachable from on-prem); it needs probe_source.
	// Optional.
	PinnedTarget string `yaml:"pinned_target"`
	// IPv6 is the link's IPv6 peering on a dual-stack virtual interface,
	// beside the IPv4 peering of customer_address and amazon_address.
	// Optional; an IPv6-only link puts its peering in customer_address and
	// amazon_address instead.
	IPv6 *PeeringConfig `yaml:"ipv6"`
}

// PeeringConfig is the IPv6 BGP peering of a dual-stack link: its own BGP
// session, addresses and monitored address, judged on its own.
type PeeringConfig struct {
	// CustomerAddress is your router's IPv6 BGP peer address in CIDR form
	// (required), in the /125 Amazon allocated, e.g. 2001:db8:10::2/125.
	CustomerAddress string `yaml:"customer_address"`
	// AmazonAddress is Amazon's IPv6 BGP peer address in CIDR form
	// (required), in the same /125. Routes whose next hop is this address,
	// and IPv6 traceroute hops equal to it, belong to this link.
	AmazonAddress string `yaml:"amazon_address"`
	// ProbeSource is an IPv6 address (no prefix length) on the agent's host
	// that the edge router advertises as a /128 over this link only: the
	// link's pinned ICMPv6 echoes are sent from it. Optional, as the IPv4
	// probe_source.
	ProbeSource string `yaml:"probe_source"`
	// PinnedTarget is where the link's pinned ICMPv6 echoes go instead of
	// its Amazon IPv6 address (a VPC IPv6 address); it needs probe_source.
	// Optional.
	PinnedTarget string `yaml:"pinned_target"`
}

// TargetConfig describes one VPC instance probed end to end.
type TargetConfig struct {
	// Name is unique (required) and becomes the target label.
	Name string `yaml:"name"`
	// Address is a VPC instance's private address, an IP address or a DNS
	// name (required); names are resolved again while running.
	Address string `yaml:"address"`
	// VPCID is the VPC (vpc-…), used by the AWS checks to find its route
	// tables.
	VPCID string `yaml:"vpc_id"`
}

// RoutingConfig is the routing intent.
type RoutingConfig struct {
	// Mode is `active_passive` or `active_active`. Active/passive: all traffic
	// on the primary, the secondary a backup (AS_PATH prepend or 7224:7x00
	// local-preference communities). Active/active: both links carry
	// traffic (BGP multipath, AWS's default).
	Mode string `yaml:"mode"`
	// Primary is the name of the link that must be preferred in
	// active/passive mode; empty means the link with role primary.
	Primary string `yaml:"primary"`
	// ExpectedPrefixes are the VPC prefixes (CIDR) that must arrive over
	// every link.
	ExpectedPrefixes []string `yaml:"expected_prefixes"`
	// AmazonASN is the Amazon side ASN of the Direct Connect / virtual
	// private gateway (64512-65534 or 4200000000-4294967294).
	AmazonASN uint32 `yaml:"amazon_asn"`
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
		Report:  report.DefaultConfig(),
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
func Check(ctx context.Context, path string) (warnings []string, err error) {
	c, idx, err := load(path)
	if err != nil {
		return nil, err
	}
	var ps problem.List
	ps.Merge("", ping.ResolveTargets(ctx, c.Ping, c.Topology(), nil))
	if c.Has("bgp") {
		_, err := c.BGP.ReadKeys()
		ps.Merge("bgp", err)
	}
	if err := idx.problems(path, ps); err != nil {
		return nil, err
	}
	for _, w := range c.Warnings() {
		if key, _, ok := strings.Cut(w, ":"); ok {
			if line := idx.line(key); line > 0 {
				w = fmt.Sprintf("%s (line %d):%s", key, line, strings.TrimPrefix(w, key+":"))
			}
		}
		warnings = append(warnings, w)
	}
	return warnings, nil
}

// Warnings returns what the file asks for that is accepted but unusual,
// each with its path: an ID AWS would take that does not look like the ones
// it issues. The daemon logs them; check-config prints them.
func (c *Config) Warnings() []string {
	var out []string
	if c.Has("aws") {
		for _, w := range c.AWS.Warnings() {
			out = append(out, "aws."+w)
		}
	}
	return out
}
