package trace

import (
	"fmt"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

// Probe methods.
const (
	MethodUDP  = "udp"
	MethodICMP = "icmp"
	MethodTCP  = "tcp"
)

// Default ports per method: the classic traceroute UDP base port, and HTTPS
// for TCP SYN probes because security groups usually let it through.
const (
	DefaultUDPPort = 33434
	DefaultTCPPort = 443
)

// Limits that keep a misconfiguration from flooding the path.
const (
	minInterval = time.Second
	minTimeout  = 10 * time.Millisecond
	maxTTLLimit = 64
	maxFlows    = 64
	maxRetries  = 5
)

// Config is the `trace:` section of the configuration.
type Config struct {
	// Interval between two rounds (every target traced once).
	Interval time.Duration `yaml:"interval"`
	// Method is the probe protocol: udp, icmp or tcp.
	Method string `yaml:"method"`
	// MaxTTL is the highest TTL (hop limit) probed.
	MaxTTL int `yaml:"max_ttl"`
	// Port is the destination port: the UDP base port (ECMP flow n uses
	// port+n) or the TCP port. 0 picks the method's default (33434 for udp,
	// 443 for tcp); icmp ignores it.
	Port int `yaml:"port"`
	// Timeout bounds one trace of one target, pacing included.
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how many times hops that did not answer are probed again.
	Retries int `yaml:"retries"`
	// ECMPFlows is the most flows (flow identifiers) used to discover
	// equal-cost paths; 0 turns discovery off. About 6 flows rule out a
	// second path at 95 % confidence (MDA); tracing stops early when the
	// paths seen so far are confirmed with that confidence.
	ECMPFlows int `yaml:"ecmp_flows"`
	// Targets limits tracing to these site targets (by name); empty traces
	// every target of the site.
	Targets []string `yaml:"targets"`
	// Pacing mirrors the routers' ICMP rate limit so that traces never
	// spend tokens a router does not have.
	Pacing Pacing `yaml:"pacing"`
}

// Pacing describes the ICMP error rate limit assumed at every router, per
// source address: Burst errors at once, then one per Interval (Linux:
// burst 6, icmp_ratelimit 1s). Interval 0 turns pacing off.
type Pacing struct {
	// Burst is the number of ICMP errors a router sends at once per source
	// (Linux: 6).
	Burst int `yaml:"burst"`
	// Interval is the time a router takes to earn one more error (Linux
	// icmp_ratelimit: 1s); 0 turns pacing off.
	Interval time.Duration `yaml:"interval"`
}

// DefaultConfig returns the defaults the agent decodes the YAML section onto.
func DefaultConfig() Config {
	return Config{
		Interval:  30 * time.Second,
		Method:    MethodUDP,
		MaxTTL:    16,
		Timeout:   3 * time.Second,
		Retries:   2,
		ECMPFlows: 0,
		Pacing:    Pacing{Burst: 6, Interval: time.Second},
	}
}

// port returns the configured port or the method's default.
func (c Config) port() int {
	if c.Port != 0 {
		return c.Port
	}
	if c.Method == MethodTCP {
		return DefaultTCPPort
	}
	return DefaultUDPPort
}

// Validate reports every problem of the section at once, with paths
// relative to the section.
func (c Config) Validate(site probes.Site) error {
	var ps problem.List
	if c.Interval < minInterval {
		ps.Addf("interval", "interval %s is below the minimum %s", c.Interval, minInterval)
	}
	switch c.Method {
	case MethodUDP, MethodICMP, MethodTCP:
	default:
		ps.Addf("method", "unknown method %q: use udp, icmp or tcp", c.Method)
	}
	if c.MaxTTL < 1 || c.MaxTTL > maxTTLLimit {
		ps.Addf("max_ttl", "max_ttl %d is outside 1..%d", c.MaxTTL, maxTTLLimit)
	}
	if c.Port < 0 || c.Port > 65535 {
		ps.Addf("port", "port %d is outside 1..65535 (0 picks the method's default)", c.Port)
	} else if c.Method == MethodUDP && c.port()+max(c.ECMPFlows-1, 0) > 65535 {
		ps.Addf("port", "port %d plus %d ECMP flows passes 65535: lower the port", c.port(), c.ECMPFlows)
	}
	if c.Timeout < minTimeout {
		ps.Addf("timeout", "timeout %s is below the minimum %s", c.Timeout, minTimeout)
	} else if c.Interval >= minInterval && c.Timeout > c.Interval {
		ps.Addf("timeout", "timeout %s is longer than the interval %s: lower it or raise the interval", c.Timeout, c.Interval)
	}
	if c.Retries < 0 || c.Retries > maxRetries {
		ps.Addf("retries", "retries %d is outside 0..%d", c.Retries, maxRetries)
	}
	if c.ECMPFlows < 0 || c.ECMPFlows == 1 || c.ECMPFlows > maxFlows {
		ps.Addf("ecmp_flows", "ecmp_flows %d must be 0 (off) or 2..%d (6 rules out a second path at 95%%)", c.ECMPFlows, maxFlows)
	}
	if c.Pacing.Burst < 1 {
		ps.Addf("pacing.burst", "burst %d must be at least 1 (Linux routers allow 6)", c.Pacing.Burst)
	}
	if c.Pacing.Interval < 0 {
		ps.Addf("pacing.interval", "interval %s is negative: use 0 to turn pacing off", c.Pacing.Interval)
	}
	seen := map[string]bool{}
	for i, name := range c.Targets {
		path := fmt.Sprintf("targets[%d]", i)
		switch {
		case seen[name]:
			ps.Addf(path, "target %q is listed twice", name)
		case !hasTarget(site, name):
			ps.Addf(path, "unknown target %q: the site's targets are %s", name, targetNames(site))
		}
		seen[name] = true
	}
	return ps.Err()
}

// traces tells whether the target named name is traced.
func (c Config) traces(name string) bool {
	if len(c.Targets) == 0 {
		return true
	}
	for _, n := range c.Targets {
		if n == name {
			return true
		}
	}
	return false
}

func hasTarget(site probes.Site, name string) bool {
	for _, t := range site.Targets {
		if t.Name == name {
			return true
		}
	}
	return false
}

func targetNames(site probes.Site) string {
	if len(site.Targets) == 0 {
		return "none"
	}
	names := make([]string, len(site.Targets))
	for i, t := range site.Targets {
		names[i] = fmt.Sprintf("%q", t.Name)
	}
	return strings.Join(names, ", ")
}
