package aws

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

// TestIAMPolicyIsExact runs polls that reach every API operation the probe
// uses (an assumed role, a pending connection's LOA, discovery, VGWs,
// VPCs and route tables) and proves that deploy/iam-policy.json allows
// exactly the actions the fake server saw: nothing missing, nothing extra.
func TestIAMPolicyIsExact(t *testing.T) {
	sc := awstest.LabScenario()
	sc.Roles = []awstest.Role{{ARN: "arn:aws:iam::" + awstest.LabAccount + ":role/dxwatch", AccountID: awstest.LabAccount}}
	sc.Connection(awstest.LabConnection1).ConnectionState = "pending"
	srv, url := fake(t, sc)
	cfg := labConfig()
	cfg.Accounts = []AccountConfig{{Name: "lab", RoleARN: "arn:aws:iam::" + awstest.LabAccount + ":role/dxwatch"}}
	// The VGW given directly (no owner or region known) exercises the
	// VGW search too.
	cfg.DXGatewayID, cfg.VirtualGatewayID = "", awstest.LabVGW
	p, logs := testProbe(t, cfg, labSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v\n%s", err, logs)
	}
	// With the DX gateway discovered from the VIFs.
	cfg = labConfig()
	p, _ = testProbe(t, cfg, labSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A transit gateway site, served by the same fake.
	srv.Update(func(s *awstest.Scenario) { *s = *awstest.LabTGWScenario() })
	p, _ = testProbe(t, cfg, tgwSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	policy, err := policyActions()
	if err != nil {
		t.Fatal(err)
	}
	seen := srv.Actions()
	if !slices.Equal(seen, policy) {
		t.Errorf("the poll called:\n  %s\ndeploy/iam-policy.json allows:\n  %s", strings.Join(seen, "\n  "), strings.Join(policy, "\n  "))
	}
	for _, a := range append(slices.Clone(DrillActions), loaActions...) {
		if slices.Contains(policy, a) {
			t.Errorf("the read-only policy allows %s, which has side effects", a)
		}
	}
}

func TestDrill(t *testing.T) {
	const partner = "444455556666"
	sc := awstest.LabScenario()
	// A partner account owns the connection of a hosted VIF owned by the
	// lab account: the partner sees the VIF but must not test it.
	sc.Accounts = append(sc.Accounts, awstest.Account{AccountID: partner, AccessKeyID: "AKIAPARTNER000000001"})
	sc.Connection(awstest.LabConnection2).OwnerAccount = partner
	srv, url := fake(t, sc)
	ctx := context.Background()

	p, _ := testProbe(t, labConfig(), labSite(), url)
	if _, err := p.StartBgpFailoverTest(ctx, awstest.LabVIF1, nil, 90*time.Second); err == nil {
		t.Error("a test of 90s started: durations are whole minutes")
	}
	run, err := p.StartBgpFailoverTest(ctx, awstest.LabVIF1, []string{"dxpeer-lab0001"}, 5*time.Minute)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if run.Status != "in_progress" || run.VIF != awstest.LabVIF1 || run.Duration != 5*time.Minute || run.TestID == "" || run.Start.IsZero() {
		t.Errorf("started %+v", run)
	}
	// The poll sees the test.
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	checkWants(t, p.Checks(), []want{
		{"aws.vif.primary.state", probes.Warn, []string{"testing"}},
		{"aws.vif.primary.bgp", probes.Fail, []string{"BGP down for dxpeer-lab0001"}},
	})
	stopped, err := p.StopBgpFailoverTest(ctx, awstest.LabVIF1)
	if err != nil {
		t.Fatalf("stop: %v", err)
	}
	if stopped.Status != "completed" || stopped.End.IsZero() || stopped.TestID != run.TestID {
		t.Errorf("stopped %+v", stopped)
	}
	hist, err := p.ListVirtualInterfaceTestHistory(ctx, awstest.LabVIF1)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	if len(hist) != 1 || hist[0].TestID != run.TestID || hist[0].Status != "completed" {
		t.Errorf("history %+v", hist)
	}

	// The partner's credentials see the hosted VIF but do not own it.
	pp, _ := testProbe(t, labConfig(), labSite(), url, "AKIAPARTNER000000001")
	before := srv.Calls()["directconnect:StartBgpFailoverTest"]
	_, err = pp.StartBgpFailoverTest(ctx, awstest.LabVIF2, nil, time.Minute)
	if !errors.Is(err, ErrNotOwner) || !strings.Contains(err.Error(), "belongs to account "+awstest.LabAccount) {
		t.Errorf("partner start: %v, want ErrNotOwner", err)
	}
	if srv.Calls()["directconnect:StartBgpFailoverTest"] != before {
		t.Error("StartBgpFailoverTest was called for a VIF the caller does not own")
	}
	if _, err := pp.StartBgpFailoverTest(ctx, "dxvif-nothere", nil, time.Minute); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown VIF: %v", err)
	}

	// Denied: the error names the action to allow.
	srv.Update(func(sc *awstest.Scenario) { sc.Accounts[0].Deny = []string{"directconnect:StartBgpFailoverTest"} })
	_, err = p.StartBgpFailoverTest(ctx, awstest.LabVIF1, nil, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "allow directconnect:StartBgpFailoverTest") {
		t.Errorf("denied start: %v", err)
	}
}

// TestEndpointFromEnvironment builds the probe the way the agent does (the
// SDK's default chain) and points it at the fake with the standard
// AWS_ENDPOINT_URL_* variables, as `dxwatch verify` against
// dxwatch-fakeaws does.
func TestEndpointFromEnvironment(t *testing.T) {
	_, url := fake(t, awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsHealthy, time.Now()))
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":               awstest.LabAccessKey,
		"AWS_SECRET_ACCESS_KEY":           awstest.LabSecretKey,
		"AWS_SESSION_TOKEN":               "",
		"AWS_PROFILE":                     "",
		"AWS_CONFIG_FILE":                 filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":     filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":       "true",
		"AWS_ENDPOINT_URL":                "",
		"AWS_ENDPOINT_URL_DIRECT_CONNECT": url,
		"AWS_ENDPOINT_URL_EC2":            url,
		"AWS_ENDPOINT_URL_STS":            url,
		"AWS_ENDPOINT_URL_CLOUDWATCH":     url,
	} {
		t.Setenv(k, v)
	}
	p, err := New("aws", labConfig(), probes.Deps{Site: labSite()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.transport.CloseIdleConnections)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	for _, c := range p.Checks() {
		if c.Status != probes.Pass {
			t.Errorf("%s: %s %s", c.Name, c.Status, c.Reason)
		}
	}
}

func TestRunStopsCleanly(t *testing.T) {
	_, url := fake(t, awstest.LabScenario())
	// The fake's own goroutines are not the probe's.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p, _ := testProbe(t, labConfig(), labSite(), url)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	select {
	case <-p.deps.Status.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("no poll finished")
	}
	if err := p.deps.Status.Last(); err != nil {
		t.Errorf("first round: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v", err)
	}
}

func TestJitter(t *testing.T) {
	p := &Probe{cfg: Config{PollInterval: 5 * time.Minute}}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := p.jitter()
		if d < 270*time.Second || d > 330*time.Second {
			t.Fatalf("jitter %s outside 5m ±10%%", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct intervals: %v", len(seen), slices.Collect(maps.Keys(seen))[:5])
	}
}

func TestValidate(t *testing.T) {
	site := labSite()
	extFile := filepath.Join(t.TempDir(), "ext")
	os.WriteFile(extFile, []byte("x"), 0o600)
	tests := []struct {
		name   string
		mutate func(*Config, *probes.Site)
		want   string // the exact Problems text
	}{
		{"valid", func(*Config, *probes.Site) {}, ""},
		{"no region", func(c *Config, _ *probes.Site) { c.Regions = nil }, "regions: at least one region is required, e.g. [us-east-1]"},
		{"bad and duplicate regions", func(c *Config, _ *probes.Site) { c.Regions = []string{"us-east-1", "useast", "us-east-1"} },
			"regions[1]: not an AWS region: \"useast\" (e.g. us-east-1)\nregions[2]: region \"us-east-1\" is listed twice"},
		{"accounts", func(c *Config, _ *probes.Site) {
			c.Accounts = []AccountConfig{
				{Name: "", AccountID: "12345"},
				{Name: "a b", RoleARN: "arn:aws:iam::123456789012:user/x"},
				{Name: "p", AccountID: "111111111111", RoleARN: "arn:aws:iam::222222222222:role/dxwatch"},
				{Name: "p", ExternalIDFile: extFile},
			}
		}, strings.Join([]string{
			"accounts[0].name: missing: name the account (it labels metrics and alerts), e.g. network",
			"accounts[0].account_id: not a 12-digit AWS account ID: \"12345\"",
			"accounts[1].name: \"a b\" is not a valid name: use letters, digits, '-', '_' or '.' (at most 63)",
			"accounts[1].role_arn: not an IAM role ARN: \"arn:aws:iam::123456789012:user/x\" (arn:aws:iam::123456789012:role/dxwatch)",
			"accounts[2].role_arn: role arn:aws:iam::222222222222:role/dxwatch is in account 222222222222, account_id says 111111111111",
			"accounts[3].name: \"p\" is already the name of accounts[2]: account names must be unique",
			"accounts[3].external_id_file: an external ID is only used with role_arn: set role_arn or remove external_id_file",
		}, "\n")},
		{"AWS example gateway ID", func(c *Config, _ *probes.Site) { c.DXGatewayID = "5f294f92-bafb-4011-916d-9b0bexample" }, ""},
		{"gateways", func(c *Config, _ *probes.Site) { c.DXGatewayID, c.VirtualGatewayID = "dxgw 1", "vgw-xyz" }, strings.Join([]string{
			"dx_gateway_id: not a Direct Connect gateway ID: \"dxgw 1\" (letters, digits and '-', such as 5f294f92-bafb-4011-916d-9b0bec5ac8fb)",
			"virtual_gateway_id: not a virtual private gateway ID: \"vgw-xyz\" (vgw-0123456789abcdef0)",
			"virtual_gateway_id: set dx_gateway_id or virtual_gateway_id, not both: a VIF attaches to one of them",
		}, "\n")},
		{"nothing to find", func(c *Config, s *probes.Site) {
			c.DXGatewayID = ""
			for i := range s.Links {
				s.Links[i].ConnectionID, s.Links[i].VIFID = "", ""
			}
		}, "dx_gateway_id: nothing to look for: set dx_gateway_id (or virtual_gateway_id), or a connection or VIF ID on the links"},
		{"links", func(c *Config, _ *probes.Site) {
			c.Links = []LinkConfig{{Name: "tertiary", Bandwidth: "1G"}}
		}, "links[0].name: no site link named \"tertiary\"\nlinks[0].bandwidth: not a bandwidth as AWS writes it: \"1G\" (1Gbps, 10Gbps, 500Mbps)"},
		{"poll interval", func(c *Config, _ *probes.Site) { c.PollInterval = 30 * time.Second }, "poll_interval: poll_interval 30s is below the minimum 1m0s"},
		{"timeout", func(c *Config, _ *probes.Site) { c.Timeout = 10 * time.Minute }, "timeout: timeout 10m0s is longer than poll_interval 5m0s"},
		{"zero timeout", func(c *Config, _ *probes.Site) { c.Timeout = 0 }, "timeout: timeout must be positive, e.g. 30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, s := labConfig(), site
			s.Links = slices.Clone(site.Links)
			tt.mutate(&cfg, &s)
			err := cfg.Validate(s)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate:\n%s\nwant:\n%s", got, tt.want)
			}
			if err != nil {
				var ps problem.List
				if !errors.As(err, &ps) {
					t.Errorf("Validate returned %T, want problem.List", err)
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	for id, want := range map[string]string{
		awstest.LabDXGateway:                   "",
		"5f294f92-bafb-4011-916d-9b0bexample":  `dx_gateway_id: "5f294f92-bafb-4011-916d-9b0bexample" is not a UUID like the IDs Direct Connect issues`,
		"5F294F92-BAFB-4011-916D-9B0BEC5AC8FB": "is not a UUID",
	} {
		cfg := labConfig()
		cfg.DXGatewayID = id
		got := strings.Join(cfg.Warnings(), "\n")
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("Warnings for %s: %q, want %q", id, got, want)
		}
	}
	// New logs them.
	cfg := labConfig()
	cfg.DXGatewayID = "5f294f92-bafb-4011-916d-9b0bexample"
	_, logs := testProbe(t, cfg, labSite(), "http://127.0.0.1:1")
	if !strings.Contains(logs.String(), "is not a UUID") {
		t.Errorf("New did not log the warning: %s", logs)
	}
}

func TestNewReadsExternalID(t *testing.T) {
	cfg := labConfig()
	cfg.Accounts = []AccountConfig{{Name: "x", RoleARN: "arn:aws:iam::123456789012:role/dxwatch", ExternalIDFile: filepath.Join(t.TempDir(), "missing")}}
	if _, err := New("aws", cfg, probes.Deps{Site: labSite()}); err == nil || !strings.Contains(err.Error(), "accounts[0].external_id_file") {
		t.Errorf("New with a missing external ID file: %v", err)
	}
	cfg.Regions = nil
	if _, err := New("aws", cfg, probes.Deps{Site: labSite()}); err == nil {
		t.Error("New accepted an invalid config")
	}
}

// BenchmarkPoll measures one full poll cycle against the fake endpoint
// (real SDK clients, HTTP on loopback, JSON and XML decoding, checks).
func BenchmarkPoll(b *testing.B) {
	_, url := fake(b, awstest.LabScenario())
	p, _ := testProbe(b, labConfig(), labSite(), url)
	ctx := context.Background()
	if err := p.Poll(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Poll(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate measures the checks alone, from a cached snapshot.
func BenchmarkEvaluate(b *testing.B) {
	_, url := fake(b, awstest.LabScenario())
	p, _ := testProbe(b, labConfig(), labSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		evaluate(p.cfg, p.deps.Site, p.snap, fixedNow)
	}
}
