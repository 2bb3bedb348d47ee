package health

import (
	"time"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

// Config is the `health:` section of the configuration: how evidence turns
// into link states and when a failover counts as finished.
type Config struct {
	// DownAfter is the number of consecutive lost echoes to a link-pinned
	// target (one per probe interval) after which that link's data plane
	// counts as down.
	DownAfter int `yaml:"down_after"`
	// RecoverAfter is the number of consecutive echo replies after which a
	// data plane that was down counts as up again, and that every VPC
	// target must answer over the new path before a failover is closed.
	RecoverAfter int `yaml:"recover_after"`
	// LossThreshold is the loss ratio (0-1] over the last Window echoes to a
	// link-pinned target above which the link is degraded. It clears below
	// half the threshold.
	LossThreshold float64 `yaml:"loss_threshold"`
	// RTTThreshold is the mean round-trip time over the window above which
	// the link is degraded; it clears below 90 % of it. 0 turns it off.
	RTTThreshold time.Duration `yaml:"rtt_threshold"`
	// Window is the number of echoes per link-pinned target over which loss
	// and RTT are judged.
	Window int `yaml:"window"`
	// StaleAfter says, per source, how old evidence may be and still count.
	StaleAfter StaleAfter `yaml:"stale_after"`
	// RestoreTimeout closes a failover whose new path carries traffic but
	// some VPC target has not answered again; those targets are reported
	// as not restored.
	RestoreTimeout time.Duration `yaml:"restore_timeout"`
	// Lookback widens the window in which gaps in the VPC targets' replies
	// count towards a failover's outage, before the first trouble seen.
	Lookback time.Duration `yaml:"lookback"`
	// EventsMax bounds the events kept for /api/events.
	EventsMax int `yaml:"events_max"`
	// QueueSize bounds the observations waiting to be processed; beyond it
	// observations are dropped and counted.
	QueueSize int `yaml:"queue_size"`
	// Evaluate is how often the model re-evaluates staleness and timeouts
	// when no observation arrives.
	Evaluate time.Duration `yaml:"evaluate"`
}

// StaleAfter is the freshness limit per source of evidence. 0 means the
// source's evidence never goes stale: right for BGP, whose feed reports
// changes only and whose state holds until the next change.
type StaleAfter struct {
	// Ping is how old the latest echo result may be.
	Ping time.Duration `yaml:"ping"`
	// Trace is how old the latest trace may be.
	Trace time.Duration `yaml:"trace"`
	// BGP is how old the BGP feed's state may be; 0, the default: never
	// stale, the feed reports changes only.
	BGP time.Duration `yaml:"bgp"`
	// AWS is how old the latest AWS poll may be.
	AWS time.Duration `yaml:"aws"`
}

// DefaultConfig returns the defaults the agent decodes the YAML on top of.
func DefaultConfig() Config {
	return Config{
		DownAfter:     3,
		RecoverAfter:  3,
		LossThreshold: 0.05,
		Window:        50,
		StaleAfter: StaleAfter{
			Ping:  5 * time.Second,
			Trace: 2 * time.Minute,
			AWS:   10 * time.Minute,
		},
		RestoreTimeout: 5 * time.Minute,
		Lookback:       time.Second,
		EventsMax:      500,
		QueueSize:      4096,
		Evaluate:       100 * time.Millisecond,
	}
}

// maxLinks is the most links a site may have: link sets are bit masks.
const maxLinks = 64

// Validate reports every problem of the section at once, with paths
// relative to it.
func (c Config) Validate(site probes.Site) error {
	var ps problem.List
	if c.DownAfter < 1 || c.DownAfter > 1000 {
		ps.Addf("down_after", "%d is out of range, want 1 to 1000 lost echoes", c.DownAfter)
	}
	if c.RecoverAfter < 1 || c.RecoverAfter > 1000 {
		ps.Addf("recover_after", "%d is out of range, want 1 to 1000 echo replies", c.RecoverAfter)
	}
	if !(c.LossThreshold > 0 && c.LossThreshold <= 1) {
		ps.Addf("loss_threshold", "%g is out of range, want a ratio above 0 and at most 1 (0.05 is 5 %%)", c.LossThreshold)
	}
	if c.RTTThreshold < 0 {
		ps.Addf("rtt_threshold", "%s is negative, want 0 (off) or a duration such as 50ms", c.RTTThreshold)
	}
	if c.Window < 1 || c.Window > 10000 {
		ps.Addf("window", "%d is out of range, want 1 to 10000 echoes", c.Window)
	}
	for _, s := range []struct {
		path string
		d    time.Duration
	}{
		{"stale_after.ping", c.StaleAfter.Ping},
		{"stale_after.trace", c.StaleAfter.Trace},
		{"stale_after.bgp", c.StaleAfter.BGP},
		{"stale_after.aws", c.StaleAfter.AWS},
	} {
		if s.d < 0 {
			ps.Addf(s.path, "%s is negative, want 0 (never stale) or a duration", s.d)
		}
	}
	if c.StaleAfter.Ping > 0 && c.StaleAfter.Ping < 100*time.Millisecond {
		ps.Addf("stale_after.ping", "%s is below the minimum 100ms", c.StaleAfter.Ping)
	}
	if c.RestoreTimeout < time.Second {
		ps.Addf("restore_timeout", "%s is below the minimum 1s", c.RestoreTimeout)
	}
	if c.Lookback < 0 || c.Lookback > time.Minute {
		ps.Addf("lookback", "%s is out of range, want 0 to 1m", c.Lookback)
	}
	if c.EventsMax < 1 || c.EventsMax > 100000 {
		ps.Addf("events_max", "%d is out of range, want 1 to 100000", c.EventsMax)
	}
	if c.QueueSize < 16 || c.QueueSize > 1<<20 {
		ps.Addf("queue_size", "%d is out of range, want 16 to 1048576", c.QueueSize)
	}
	if c.Evaluate < 10*time.Millisecond || c.Evaluate > 10*time.Second {
		ps.Addf("evaluate", "%s is out of range, want 10ms to 10s", c.Evaluate)
	}
	if len(site.Links) > maxLinks {
		// Reported here because only the health model has the limit; the
		// path is the section's, the fix is the site's.
		ps.Addf("", "the site has %d links, the health model handles at most %d", len(site.Links), maxLinks)
	}
	return ps.Err()
}
