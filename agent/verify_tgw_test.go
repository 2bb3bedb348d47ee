package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/probes"
)

// verifyTGWConfig is the lab's site on transit VIFs, each link with its
// monitored address: the links are not probed at their Amazon addresses,
// which a transit gateway does not make reachable.
const verifyTGWConfig = `site: lab-tgw
links:
  - name: primary
    role: primary
    customer_address: 169.254.10.2/30
    amazon_address: 169.254.10.1/30
    vlan: 101
    probe_source: 198.51.100.1
    pinned_target: 198.18.0.10
  - name: secondary
    role: secondary
    customer_address: 169.254.20.2/30
    amazon_address: 169.254.20.1/30
    vlan: 102
    probe_source: 198.51.100.2
    pinned_target: 198.18.0.10
routing:
  mode: active_passive
  amazon_asn: 64512
ping:
  link_pinned: false
aws:
  regions: [us-east-1]
  dx_gateway_id: 3d1f2a7c-5b6e-4c8d-9a0b-1c2d3e4f5a6b
  customer_asn: 65000
`

// TestVerifyTransitGatewaySite runs `dxwatch verify` (its AWS part) on a
// Transit Gateway site discovered from the DX gateway alone: healthy, every
// line passes; each break fails exactly one line with its fix.
func TestVerifyTransitGatewaySite(t *testing.T) {
	cases := append([]awstest.Break{{Name: "healthy", Mutate: func(*awstest.Scenario) {}}}, awstest.TGWBreaks()...)
	for _, br := range cases {
		t.Run(br.Name, func(t *testing.T) {
			sc := awstest.LabTGWScenario()
			br.Mutate(sc)
			rep, text := verifyAWS(t, sc, verifyTGWConfig)
			var notPass []string
			for _, r := range rep.Results {
				if r.Status == probes.Fail || r.Status == probes.Warn {
					notPass = append(notPass, r.Name)
				}
				if r.Name == br.Check && (r.Status != probes.Fail || !strings.Contains(r.Fix, br.Fix)) {
					t.Errorf("%s is %s with fix %q, want a failure whose fix says %q", r.Name, r.Status, r.Fix, br.Fix)
				}
			}
			want := []string{}
			if br.Check != "" {
				want = []string{br.Check}
			}
			if strings.Join(notPass, ",") != strings.Join(want, ",") {
				t.Errorf("lines that fail or warn: %v, want exactly %v\n%s", notPass, want, text.String())
			}
			if !strings.Contains(text.String(), "aws.tgw_route_table.") {
				t.Errorf("no transit gateway lines:\n%s", text.String())
			}
		})
	}
}

// verifyAWS runs `dxwatch verify` with config against a fake serving sc,
// with the checks named by prefix (the AWS part when none is given), and
// returns the report and its text.
func verifyAWS(t *testing.T, sc *awstest.Scenario, config string, checks ...string) (VerifyReport, *bytes.Buffer) {
	t.Helper()
	_, url := awstest.Start(t, sc)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": awstest.LabAccessKey, "AWS_SECRET_ACCESS_KEY": awstest.LabSecretKey,
		"AWS_REGION": awstest.LabRegion, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		t.Setenv(k, v)
	}
	f := filepath.Join(t.TempDir(), "dxwatch.yaml")
	if err := os.WriteFile(f, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{ConfigFile: f})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if len(checks) == 0 {
		checks = []string{"aws."}
	}
	rep, err := a.Verify(ctx, VerifyOptions{Checks: checks, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	return rep, &text
}

// TestVerifyTransitGatewayOneFailingLine runs `dxwatch verify` on the
// Transit Gateway site whose edges expect the association's summary, with
// allowed prefixes that miss a VPC: exactly one line fails (the
// association, with the command that adds the prefix); the VIFs' routes
// lines, which miss it as a consequence, warn and name that line.
func TestVerifyTransitGatewayOneFailingLine(t *testing.T) {
	config := strings.Replace(verifyTGWConfig, "  amazon_asn: 64512\n", "  amazon_asn: 64512\n  expected_prefixes: ["+awstest.LabTGWAllowedCIDR+"]\n", 1)
	if config == verifyTGWConfig {
		t.Fatal("the config has no routing.amazon_asn line to add expected_prefixes after")
	}
	br := awstest.TGWBreaks()[0]
	if br.Check != "aws.dxgw.association."+awstest.LabTGW {
		t.Fatalf("TGWBreaks()[0] breaks %s, want the association", br.Check)
	}
	sc := awstest.LabTGWScenario()
	br.Mutate(sc)
	rep, text := verifyAWS(t, sc, config)
	var failing []string
	for _, r := range rep.Results {
		switch {
		case r.Status == probes.Fail:
			failing = append(failing, r.Name)
		case r.Status == probes.Warn && !strings.Contains(r.Reason, "follows from "+br.Check):
			t.Errorf("%s warns without naming %s as its cause: %s", r.Name, br.Check, r.Reason)
		}
		if r.Status != probes.Pass && strings.Contains(r.Fix, "VGW") {
			t.Errorf("%s: a fix about a VGW on a transit gateway site: %s", r.Name, r.Fix)
		}
	}
	if len(failing) != 1 || failing[0] != br.Check {
		t.Errorf("failing lines %v, want exactly [%s]\n%s", failing, br.Check, text)
	}
	for _, want := range []string{"aws.vif.primary.routes", "aws.vif.secondary.routes"} {
		found := false
		for _, r := range rep.Results {
			if r.Name == want {
				found = r.Status == probes.Warn
			}
		}
		if !found {
			t.Errorf("%s is not a warning that follows from %s\n%s", want, br.Check, text)
		}
	}
}
