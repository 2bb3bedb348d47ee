package ping

import (
	"net/netip"
	"sort"
	"time"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

// Limits of the configuration.
const (
	MinInterval = 10 * time.Millisecond
	// MinSize is the smallest echo payload: dxwatch's 16-byte header that
	// carries the target and sequence number.
	MinSize = headerLen
	// MaxSize keeps an echo within one IPv4 datagram.
	MaxSize = 65000
	// DefaultMinTimeout is the default floor of the adaptive timeout (see
	// README.md for the reasoning): far above a Direct Connect peer's RTT
	// and its ICMP jitter, yet short enough that three consecutive losses
	// at 100 ms probing are judged within 350 ms of a cut.
	DefaultMinTimeout = 25 * time.Millisecond
)

// Config is the `ping:` section of the configuration.
type Config struct {
	// Interval between echoes to each target (default 1s, minimum 10ms).
	Interval time.Duration `yaml:"interval"`
	// Timeout after which an unanswered echo counts as lost. Zero means
	// min(interval, 1s); it may not exceed the interval.
	Timeout time.Duration `yaml:"timeout"`
	// MinTimeout is the floor of the adaptive timeout: once a target has
	// answered a few echoes, each echo's timeout is SRTT + 4·RTTVAR of its
	// replies (RFC 6298), between MinTimeout and Timeout. Zero means
	// min(DefaultMinTimeout, timeout); equal to the timeout turns
	// adaptivity off.
	MinTimeout time.Duration `yaml:"min_timeout"`
	// Size of the echo payload in bytes, as ping -s (default 56).
	Size int `yaml:"size"`
	// DSCP of the echoes (0-63), so that they follow the same queues as the
	// traffic they stand for. In IPv6 it sets the traffic class.
	DSCP int `yaml:"dscp"`
	// TTL (IPv6 hop limit) of the echoes (default 64).
	TTL int `yaml:"ttl"`
	// Source address of the echoes; empty lets the kernel choose.
	Source string `yaml:"source"`
	// Interface the echoes leave by; empty follows the routing table.
	Interface string `yaml:"interface"`
	// DownAfter consecutive losses mark a target down (default 3).
	DownAfter int `yaml:"down_after"`
	// JitterWindow is the number of replies the jitter is averaged over
	// (default 10).
	JitterWindow int `yaml:"jitter_window"`
	// LinkPinned also probes each link's Amazon peer address, as target
	// "<link>-amazon" (default true).
	LinkPinned bool `yaml:"link_pinned"`
	// ResolveInterval is how often target names are resolved again
	// (default 1m).
	ResolveInterval time.Duration `yaml:"resolve_interval"`
	// Targets overrides settings per target, keyed by target name
	// (a site target's name or "<link>-amazon").
	Targets map[string]Override `yaml:"targets"`
}

// Override holds per-target settings; unset fields inherit the section's.
type Override struct {
	// Interval overrides the section's interval for the target.
	Interval *time.Duration `yaml:"interval"`
	// Timeout overrides the section's timeout for the target.
	Timeout *time.Duration `yaml:"timeout"`
	// MinTimeout overrides the section's min_timeout for the target.
	MinTimeout *time.Duration `yaml:"min_timeout"`
	// Size overrides the section's size for the target.
	Size *int `yaml:"size"`
	// DSCP overrides the section's dscp for the target.
	DSCP *int `yaml:"dscp"`
	// TTL overrides the section's ttl for the target.
	TTL *int `yaml:"ttl"`
	// Source overrides the section's source for the target (e.g. an IPv6
	// source for an IPv6 target).
	Source *string `yaml:"source"`
	// Interface overrides the section's interface for the target.
	Interface *string `yaml:"interface"`
	// DownAfter overrides the section's down_after for the target.
	DownAfter *int `yaml:"down_after"`
}

// DefaultConfig returns the section with every default set.
func DefaultConfig() Config {
	return Config{
		Interval:        time.Second,
		Size:            56,
		TTL:             64,
		DownAfter:       3,
		JitterWindow:    10,
		LinkPinned:      true,
		ResolveInterval: time.Minute,
	}
}

// settings are the effective settings of one target.
type settings struct {
	interval   time.Duration
	timeout    time.Duration
	minTimeout time.Duration
	size       int
	dscp       int
	ttl        int
	source     netip.Addr
	iface      string
	downAfter  int
}

// targetSpec is one target as the configuration and the site define it.
// Two equal specs describe the same probing: Update keeps such a target
// running.
type targetSpec struct {
	name string
	host string // IP literal or DNS name
	link string // set for a link-pinned target
	// family is probes.FamilyIPv6 for the pinned target of a dual-stack
	// link's IPv6 peering, "" for the link's first peering (and VPC
	// targets).
	family string
	// probeSource says source is the link's probe_source: the pinned
	// target's echoes leave from it so that AWS returns their replies over
	// that link.
	probeSource bool
	settings
	window int // jitter window
}

// targetSpecs lists the targets of cfg on site: the site's targets, then
// each link's Amazon address when link_pinned, sent from the link's probe
// source when it has one (in place of any configured source). It assumes a
// valid cfg.
func targetSpecs(cfg Config, site probes.Site) []targetSpec {
	var specs []targetSpec
	add := func(name, host, link, family string, probeSource netip.Addr) {
		s := targetSpec{name: name, host: host, link: link, family: family, window: cfg.JitterWindow}
		s.settings, _ = cfg.settingsFor(name)
		if probeSource.IsValid() {
			s.source, s.probeSource = probeSource.Unmap(), true
		}
		specs = append(specs, s)
	}
	for _, t := range site.Targets {
		add(t.Name, t.Host, "", "", netip.Addr{})
	}
	if cfg.LinkPinned {
		for _, l := range site.Links {
			if name, host := linkTarget(l); host.IsValid() {
				add(name, host.String(), l.Name, "", l.ProbeSource)
			}
			if name, host, ok := linkTarget6(l); ok {
				add(name, host.String(), l.Name, probes.FamilyIPv6, l.IPv6.ProbeSource)
			}
		}
	}
	return specs
}

// linkTarget6 returns the name and address of the pinned target of a
// dual-stack link's IPv6 peering: its Amazon IPv6 address
// ("<link>-amazon6"), or its IPv6 pinned_target ("<link>-pinned6"); ok is
// false for a single-family link.
func linkTarget6(l probes.Link) (string, netip.Addr, bool) {
	switch {
	case l.IPv6.Family == "":
		return "", netip.Addr{}, false
	case l.IPv6.PinnedTarget.IsValid():
		return l.Name + "-pinned6", l.IPv6.PinnedTarget, true
	}
	return l.Name + "-amazon6", l.IPv6.AmazonAddress.Addr(), l.IPv6.AmazonAddress.IsValid()
}

// linkTarget returns the name and address of a link's pinned target: its
// Amazon peer address ("<link>-amazon"), or its pinned_target
// ("<link>-pinned") where the peer /30 is not reachable (a transit VIF).
func linkTarget(l probes.Link) (string, netip.Addr) {
	if l.PinnedTarget.IsValid() {
		return l.Name + "-pinned", l.PinnedTarget
	}
	return amazonTarget(l.Name), l.AmazonAddress.Addr()
}

// amazonTarget is the target name of a link's Amazon peer address.
func amazonTarget(link string) string { return link + "-amazon" }

// settingsFor returns the effective settings of target name, and the
// problems of its override (paths relative to the section).
func (c Config) settingsFor(name string) (settings, problem.List) {
	var ps problem.List
	s := settings{
		interval: c.Interval, timeout: c.Timeout, minTimeout: c.MinTimeout, size: c.Size, dscp: c.DSCP,
		ttl: c.TTL, iface: c.Interface, downAfter: c.DownAfter,
	}
	src := c.Source
	srcPath := "source"
	timeoutPath := "timeout"
	minPath := "min_timeout"
	o, ok := c.Targets[name]
	pre := "targets." + name + "."
	if ok {
		if o.Interval != nil {
			s.interval = *o.Interval
			checkInterval(&ps, pre+"interval", s.interval)
		}
		if o.Timeout != nil {
			s.timeout = *o.Timeout
			timeoutPath = pre + "timeout"
		} else if o.Interval != nil {
			timeoutPath = pre + "interval"
		}
		if o.MinTimeout != nil {
			s.minTimeout = *o.MinTimeout
			minPath = pre + "min_timeout"
		}
		if o.Size != nil {
			s.size = *o.Size
			checkSize(&ps, pre+"size", s.size)
		}
		if o.DSCP != nil {
			s.dscp = *o.DSCP
			checkDSCP(&ps, pre+"dscp", s.dscp)
		}
		if o.TTL != nil {
			s.ttl = *o.TTL
			checkTTL(&ps, pre+"ttl", s.ttl)
		}
		if o.Source != nil {
			src, srcPath = *o.Source, pre+"source"
		}
		if o.Interface != nil {
			s.iface = *o.Interface
		}
		if o.DownAfter != nil {
			s.downAfter = *o.DownAfter
			checkDownAfter(&ps, pre+"down_after", s.downAfter)
		}
	}
	if s.timeout == 0 {
		s.timeout = min(s.interval, time.Second)
	} else if s.timeout < 0 {
		ps.Addf(timeoutPath, "timeout %v is negative: use a positive duration such as 500ms, or 0 for min(interval, 1s)", s.timeout)
	} else if s.interval >= MinInterval && s.timeout > s.interval {
		ps.Addf(timeoutPath, "timeout %v is above the interval %v: an echo must be judged before the next one is sent, lower the timeout or raise the interval", s.timeout, s.interval)
	}
	switch {
	case s.minTimeout == 0:
		s.minTimeout = min(DefaultMinTimeout, s.timeout)
	case s.minTimeout < 0:
		ps.Addf(minPath, "min_timeout %v is negative: use a positive duration such as 25ms, or 0 for min(%v, timeout)", s.minTimeout, DefaultMinTimeout)
	case s.timeout > 0 && s.minTimeout > s.timeout:
		// Blame the key that was set here: the target's own min_timeout,
		// else the target's timeout (or interval) that went below the
		// section's min_timeout.
		path := minPath
		if minPath == "min_timeout" && timeoutPath != "timeout" {
			path = timeoutPath
		}
		ps.Addf(path, "min_timeout %v is above the timeout %v: it is the floor of the adaptive timeout, whose cap is the timeout; lower min_timeout (equal to the timeout turns adaptivity off) or raise the timeout", s.minTimeout, s.timeout)
	}
	if src != "" {
		a, err := netip.ParseAddr(src)
		switch {
		case err != nil:
			ps.Addf(srcPath, "not an IP address: %q", src)
		case a.Zone() != "":
			ps.Addf(srcPath, "%q has a zone: set interface instead", src)
		default:
			s.source = a.Unmap()
		}
	}
	return s, ps
}

// Validate reports every problem of the section as problem.List with
// paths relative to the section. Targets are checked on site: overrides must
// name a target, and a source address must be of each literal target's
// family. Names are not resolved here (that needs the network): see
// ResolveTargets.
func (c Config) Validate(site probes.Site) error {
	var ps problem.List
	checkInterval(&ps, "interval", c.Interval)
	checkSize(&ps, "size", c.Size)
	checkDSCP(&ps, "dscp", c.DSCP)
	checkTTL(&ps, "ttl", c.TTL)
	checkDownAfter(&ps, "down_after", c.DownAfter)
	if c.JitterWindow < 2 || c.JitterWindow > 1000 {
		ps.Addf("jitter_window", "%d is outside 2-1000: the jitter is averaged over that many replies", c.JitterWindow)
	}
	if c.ResolveInterval < time.Second {
		ps.Addf("resolve_interval", "resolve_interval %v is below the minimum 1s", c.ResolveInterval)
	}
	// The section's own timeout and source, checked once.
	_, own := c.settingsFor("")
	ps = append(ps, own...)

	names := map[string]bool{}
	for _, t := range site.Targets {
		names[t.Name] = true
	}
	if c.LinkPinned {
		for _, l := range site.Links {
			n, _ := linkTarget(l)
			pinned := []string{n}
			if n6, _, ok := linkTarget6(l); ok {
				pinned = append(pinned, n6)
			}
			for _, n := range pinned {
				if names[n] {
					ps.Addf("link_pinned", "target name %q is both a site target and link %s's pinned target: rename the site target", n, l.Name)
				}
				names[n] = true
			}
		}
	}
	overridden := make([]string, 0, len(c.Targets))
	for n := range c.Targets {
		overridden = append(overridden, n)
	}
	sort.Strings(overridden)
	for _, n := range overridden {
		if !names[n] {
			known := make([]string, 0, len(names))
			for k := range names {
				known = append(known, k)
			}
			sort.Strings(known)
			ps.Addf("targets."+n, "no target is named %q: targets are %v", n, known)
			continue
		}
		_, tps := c.settingsFor(n)
		for _, p := range tps {
			if p.Path == "timeout" || p.Path == "min_timeout" || p.Path == "source" {
				continue // reported once above
			}
			ps = append(ps, p)
		}
	}
	for _, spec := range targetSpecs(c, site) {
		a, err := netip.ParseAddr(spec.host)
		if err != nil || !spec.source.IsValid() || spec.probeSource {
			continue // a link's probe source is checked with the link
		}
		a = a.Unmap()
		if a.Is4() != spec.source.Is4() {
			path := "source"
			if o, ok := c.Targets[spec.name]; ok && o.Source != nil {
				path = "targets." + spec.name + ".source"
			}
			ps.Addf(path, "source %s is %s but target %s has the %s address %s: set targets.%s.source to an %s address",
				spec.source, family(spec.source), spec.name, family(a), a, spec.name, family(a))
		}
	}
	return ps.Err()
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

func checkInterval(ps *problem.List, path string, d time.Duration) {
	if d < MinInterval {
		ps.Addf(path, "interval %v is below the minimum %v", d, MinInterval)
	}
}

func checkSize(ps *problem.List, path string, n int) {
	if n < MinSize || n > MaxSize {
		ps.Addf(path, "size %d is outside %d-%d bytes", n, MinSize, MaxSize)
	}
}

func checkDSCP(ps *problem.List, path string, n int) {
	if n < 0 || n > 63 {
		ps.Addf(path, "dscp %d is outside 0-63 (46 is EF, 0 best effort)", n)
	}
}

func checkTTL(ps *problem.List, path string, n int) {
	if n < 1 || n > 255 {
		ps.Addf(path, "ttl %d is outside 1-255", n)
	}
}

func checkDownAfter(ps *problem.List, path string, n int) {
	if n < 1 {
		ps.Addf(path, "down_after %d is below 1: it counts consecutive lost echoes", n)
	}
}
