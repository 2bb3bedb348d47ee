package aws

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

// Config is the `aws:` section: where to look (regions, accounts) and what
// to expect beyond the site's links.
type Config struct {
	// Regions to look in for connections, VIFs, VGWs and VPCs. The first is
	// also where STS and the (global) DX gateway are called.
	Regions []string `yaml:"regions"`
	// Accounts to look in. Empty: one account, "default", with the
	// credentials of the SDK's default chain.
	Accounts []AccountConfig `yaml:"accounts"`
	// DXGatewayID is the Direct Connect gateway the VIFs attach to. With
	// only this set (no connection or VIF IDs on the links) the probe
	// discovers the VIFs, associations, VGWs, VPCs and route tables.
	DXGatewayID string `yaml:"dx_gateway_id"`
	// VirtualGatewayID is the VGW the VIFs attach to directly (without a
	// DX gateway).
	VirtualGatewayID string `yaml:"virtual_gateway_id"`
	// CustomerASN is the on-prem ASN each VIF must use; 0 skips the check.
	CustomerASN uint32 `yaml:"customer_asn"`
	// Links holds per-link expectations on the connection.
	Links []LinkConfig `yaml:"links"`
	// PollInterval between polls of the AWS API (± 10% jitter).
	PollInterval time.Duration `yaml:"poll_interval"`
	// Timeout is the budget of one poll, every call and retry included (an
	// attempt without an answer is abandoned after a third of it, at least
	// 1 s, and retried).
	Timeout time.Duration `yaml:"timeout"`
	// CloudWatch is AWS's own view of the links (AWS/DX metrics) and the
	// failover capacity checks built on it.
	CloudWatch CloudWatchConfig `yaml:"cloudwatch"`
}

// AccountConfig is one AWS account.
type AccountConfig struct {
	// Name labels the account in metrics and check names.
	Name string `yaml:"name"`
	// AccountID is the 12-digit ID; when set, the credentials must belong
	// to it.
	AccountID string `yaml:"account_id"`
	// RoleARN is assumed (sts:AssumeRole) with the default credentials;
	// empty uses the default credentials themselves.
	RoleARN string `yaml:"role_arn"`
	// ExternalIDFile holds the external ID the role's trust policy asks for.
	ExternalIDFile string `yaml:"external_id_file"`
}

// LinkConfig is what the connection of one site link must be.
type LinkConfig struct {
	// Name of the site link.
	Name string `yaml:"name"`
	// Bandwidth as AWS writes it: "1Gbps", "10Gbps", "500Mbps".
	Bandwidth string `yaml:"bandwidth"`
	// Location code as AWS writes it: "EqDC2".
	Location string `yaml:"location"`
}

// Defaults and limits.
const (
	DefaultPollInterval = 5 * time.Minute
	MinPollInterval     = 60 * time.Second
	DefaultTimeout      = 30 * time.Second
	defaultAccount      = "default"
)

// DefaultConfig returns the defaults the agent decodes the YAML onto.
func DefaultConfig() Config {
	return Config{PollInterval: DefaultPollInterval, Timeout: DefaultTimeout,
		CloudWatch: CloudWatchConfig{CapacityWindow: DefaultCapacityWindow}}
}

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	accountRE = regexp.MustCompile(`^\d{12}$`)
	roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$`)
	// The API types a DX gateway ID as a plain string; real ones are
	// UUIDs, the AWS examples' 5f294f92-bafb-4011-916d-9b0bexample is not.
	dxgwRE      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	dxgwLooseRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)
	vgwRE       = regexp.MustCompile(`^vgw-[0-9a-f]{8,17}$`)
	bandwidthRE = regexp.MustCompile(`^\d+(Mbps|Gbps)$`)
)

// Validate reports every problem of the section at once, with paths
// relative to it.
func (c Config) Validate(site probes.Site) error {
	var ps problem.List
	if len(c.Regions) == 0 {
		ps.Addf("regions", "at least one region is required, e.g. [us-east-1]")
	}
	for i, r := range c.Regions {
		path := fmt.Sprintf("regions[%d]", i)
		switch {
		case !regionRE.MatchString(r):
			ps.Addf(path, "not an AWS region: %q (e.g. us-east-1)", r)
		case slices.Index(c.Regions, r) < i:
			ps.Addf(path, "region %q is listed twice", r)
		}
	}
	names := problem.NewNames("accounts", "account", "network")
	for i, a := range c.Accounts {
		path := fmt.Sprintf("accounts[%d]", i)
		names.Check(&ps, path+".name", i, a.Name)
		if a.AccountID != "" && !accountRE.MatchString(a.AccountID) {
			ps.Addf(path+".account_id", "not a 12-digit AWS account ID: %q", a.AccountID)
		}
		if a.RoleARN != "" {
			m := roleARNRE.FindStringSubmatch(a.RoleARN)
			switch {
			case m == nil:
				ps.Addf(path+".role_arn", "not an IAM role ARN: %q (arn:aws:iam::123456789012:role/dxwatch)", a.RoleARN)
			case a.AccountID != "" && m[1] != a.AccountID:
				ps.Addf(path+".role_arn", "role %s is in account %s, account_id says %s", a.RoleARN, m[1], a.AccountID)
			}
		}
		if a.ExternalIDFile != "" && a.RoleARN == "" {
			ps.Addf(path+".external_id_file", "an external ID is only used with role_arn: set role_arn or remove external_id_file")
		}
	}
	if c.DXGatewayID != "" && !dxgwLooseRE.MatchString(c.DXGatewayID) {
		ps.Addf("dx_gateway_id", "not a Direct Connect gateway ID: %q (letters, digits and '-', such as 5f294f92-bafb-4011-916d-9b0bec5ac8fb)", c.DXGatewayID)
	}
	if c.VirtualGatewayID != "" && !vgwRE.MatchString(c.VirtualGatewayID) {
		ps.Addf("virtual_gateway_id", "not a virtual private gateway ID: %q (vgw-0123456789abcdef0)", c.VirtualGatewayID)
	}
	if c.DXGatewayID != "" && c.VirtualGatewayID != "" {
		ps.Addf("virtual_gateway_id", "set dx_gateway_id or virtual_gateway_id, not both: a VIF attaches to one of them")
	}
	findable := c.DXGatewayID != "" || c.VirtualGatewayID != ""
	for _, l := range site.Links {
		findable = findable || l.ConnectionID != "" || l.VIFID != ""
	}
	if !findable {
		ps.Addf("dx_gateway_id", "nothing to look for: set dx_gateway_id (or virtual_gateway_id), or a connection or VIF ID on the links")
	}
	for i, l := range c.Links {
		path := fmt.Sprintf("links[%d]", i)
		if _, ok := site.Link(l.Name); !ok {
			ps.Addf(path+".name", "no site link named %q", l.Name)
		}
		if l.Bandwidth != "" && !bandwidthRE.MatchString(l.Bandwidth) {
			ps.Addf(path+".bandwidth", "not a bandwidth as AWS writes it: %q (1Gbps, 10Gbps, 500Mbps)", l.Bandwidth)
		}
	}
	switch {
	case c.PollInterval < MinPollInterval:
		ps.Addf("poll_interval", "poll_interval %s is below the minimum %s", c.PollInterval, MinPollInterval)
	}
	switch {
	case c.Timeout <= 0:
		ps.Addf("timeout", "timeout must be positive, e.g. 30s")
	case c.Timeout > c.PollInterval && c.PollInterval >= MinPollInterval:
		ps.Addf("timeout", "timeout %s is longer than poll_interval %s", c.Timeout, c.PollInterval)
	}
	if w := c.CloudWatch.CapacityWindow; !c.CloudWatch.Disabled && (w < time.Hour || w > MaxCapacityWindow) {
		ps.Addf("cloudwatch.capacity_window", "%s is outside 1h to %s (CloudWatch keeps 5-minute datapoints for 63 days)", w, MaxCapacityWindow)
	}
	return ps.Err()
}

// Warnings returns what is accepted but unusual, with paths relative to
// the section: an ID AWS would take that does not look like the ones it
// issues.
func (c Config) Warnings() []string {
	var w []string
	if c.DXGatewayID != "" && dxgwLooseRE.MatchString(c.DXGatewayID) && !dxgwRE.MatchString(c.DXGatewayID) {
		w = append(w, fmt.Sprintf("dx_gateway_id: %q is not a UUID like the IDs Direct Connect issues (5f294f92-bafb-4011-916d-9b0bec5ac8fb); it is used as is", c.DXGatewayID))
	}
	return w
}

// accounts returns the configured accounts, or the default one.
func (c Config) accounts() []AccountConfig {
	if len(c.Accounts) == 0 {
		return []AccountConfig{{Name: defaultAccount}}
	}
	return c.Accounts
}

func (c Config) link(name string) (LinkConfig, bool) {
	for _, l := range c.Links {
		if l.Name == name {
			return l, true
		}
	}
	return LinkConfig{}, false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
