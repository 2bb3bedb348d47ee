package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

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

// Error is a configuration that could not be loaded: every problem found,
// each with its path and line.
type Error struct {
	File     string
	Problems probes.Problems
}

// Error lists the problems, one per line, after the file name.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem", e.File, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Load reads, decodes and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates data, naming file in errors.
func Parse(file string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{File: file, Problems: syntaxProblems(err)}
	}
	idx := indexLines(&root)

	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var ps probes.Problems
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &Error{File: file, Problems: syntaxProblems(err)}
		}
		for _, msg := range te.Errors {
			path, line, text := idx.decodeProblem(msg)
			ps = append(ps, probes.Problem{Path: path, Line: line, Msg: text})
		}
	}
	cfg.present = map[string]bool{}
	for p := range idx.byPath {
		if !strings.ContainsAny(p, ".[") {
			cfg.present[p] = true
		}
	}
	if len(ps) == 0 {
		ps = cfg.validate()
		for i := range ps {
			if ps[i].Line == 0 {
				ps[i].Line = idx.line(ps[i].Path)
			}
		}
	}
	if len(ps) > 0 {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
		return nil, &Error{File: file, Problems: ps}
	}
	return &cfg, nil
}

func syntaxProblems(err error) probes.Problems {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	if line > 0 {
		msg = fmt.Sprintf("line %d: not valid YAML: %s", line, msg)
	} else {
		msg = "not valid YAML: " + msg
	}
	return probes.Problems{{Msg: msg}}
}

// ResolveNames resolves the targets given as DNS names, as check-config
// does: a name that does not resolve is a problem at its path. Load does not
// resolve, so that a reload never waits on DNS; the probes re-resolve.
func (c *Config) ResolveNames(ctx context.Context, file string) error {
	var ps probes.Problems
	ps.Merge("", ping.ResolveTargets(ctx, c.Ping, c.Topology(), nil))
	if len(ps) > 0 {
		return &Error{File: file, Problems: ps}
	}
	return nil
}
