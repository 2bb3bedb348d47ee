package report

import (
	"fmt"

	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

// DefaultTargetPercent is the site's availability target when the
// configuration names none: 99.9 %, the "High" resiliency of AWS's Direct
// Connect Resiliency Toolkit (two connections at one location); "Maximum"
// (two connections at each of two locations) is 99.99 %.
// https://docs.aws.amazon.com/directconnect/latest/UserGuide/resiliency_toolkit.html
const DefaultTargetPercent = 99.9

// Config is the `report:` section of the configuration.
type Config struct {
	// TargetPercent is the site's availability target, in percent
	// (default 99.9; 99.99 for a Maximum resiliency site).
	TargetPercent float64 `yaml:"target_percent"`
	// Maintenance lists the windows the operator declares: their time is
	// excluded from availability and listed apart.
	Maintenance []MaintenanceWindow `yaml:"maintenance"`
}

// MaintenanceWindow is one declared maintenance window.
type MaintenanceWindow struct {
	// From is when the window begins (RFC 3339: 2026-11-14T02:00:00Z).
	From Timestamp `yaml:"from"`
	// To is when it ends, after From.
	To Timestamp `yaml:"to"`
	// Links are the links under maintenance; empty means the whole site
	// (every link and the site).
	Links []string `yaml:"links"`
	// Reason says why, as the report prints it (a change ticket).
	Reason string `yaml:"reason"`
}

// DefaultConfig returns the defaults of the `report:` section.
func DefaultConfig() Config { return Config{TargetPercent: DefaultTargetPercent} }

// Validate checks c against site's links; every problem is reported.
func (c Config) Validate(site probes.Site) error {
	var ps problem.List
	if !(c.TargetPercent > 0 && c.TargetPercent < 100) {
		ps.Addf("target_percent", "%v is out of range, want a percentage above 0 and below 100, such as 99.9 (AWS Resiliency Toolkit High) or 99.99 (Maximum)", c.TargetPercent)
	}
	for i, m := range c.Maintenance {
		path := fmt.Sprintf("maintenance[%d]", i)
		switch {
		case m.From.IsZero() || m.To.IsZero():
			ps.Addf(path, "from and to are both needed, as RFC 3339 times such as 2026-11-14T02:00:00Z")
		case !m.To.After(m.From.Time):
			ps.Addf(path+".to", "%s is not after from (%s)", m.To.UTC().Format(time.RFC3339), m.From.UTC().Format(time.RFC3339))
		}
		if m.Reason == "" {
			ps.Addf(path+".reason", "missing: say why (a change ticket), the report prints it")
		}
		for j, l := range m.Links {
			if _, ok := site.Link(l); !ok {
				ps.Addf(fmt.Sprintf("%s.links[%d]", path, j), "no link named %q in links", l)
			}
		}
	}
	return ps.Err()
}

// Timestamp is a time in the configuration, written in RFC 3339
// (2026-11-15T02:00:00Z).
type Timestamp struct{ time.Time }

// UnmarshalYAML reads an RFC 3339 time. A value that is not one is a
// yaml.TypeError naming its line, so that the configuration's loader
// reports it with its path, among the file's other problems.
func (t *Timestamp) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if v, err := time.Parse(time.RFC3339Nano, n.Value); err == nil {
			t.Time = v
			return nil
		}
	}
	v := n.Value
	if len(v) > 7 {
		v = v[:7] + "..."
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s `%s` into report.Timestamp", n.Line, n.ShortTag(), v)}}
}
