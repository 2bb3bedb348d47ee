package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/aws/awstest"
)

// verifyConfig is the lab's site with the AWS checks pointed at the fake
// AWS endpoint. No targets and no link-pinned pings: this unit test runs in
// the host's namespace and sends nothing but loopback HTTP.
const verifyConfig = `site: lab
links:
  - name: primary
    role: primary
    connection_id: dxcon-lab00001
    vif_id: dxvif-lab00001
    customer_address: 169.254.10.2/30
    amazon_address: 169.254.10.1/30
    vlan: 101
  - name: secondary
    role: secondary
    connection_id: dxcon-lab00002
    vif_id: dxvif-lab00002
    customer_address: 169.254.20.2/30
    amazon_address: 169.254.20.1/30
    vlan: 102
routing:
  mode: active_passive
  expected_prefixes: [198.18.0.0/16]
ping:
  link_pinned: false
aws:
  regions: [us-east-1]
  dx_gateway_id: 3d1f2a7c-5b6e-4c8d-9a0b-1c2d3e4f5a6b
`

func TestVerifyAgainstFakeAWS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		brk   func(*awstest.Scenario)
		fails map[string]string // failing check -> a word of its fix
	}{
		{name: "good setup", brk: func(*awstest.Scenario) {}, fails: map[string]string{}},
		{
			name:  "hosted connection not accepted",
			brk:   func(s *awstest.Scenario) { s.Connections[0].ConnectionState = "ordering" },
			fails: map[string]string{"aws.connection.primary.state": "aws directconnect confirm-connection --connection-id dxcon-lab00001"},
		},
		{
			name: "propagation disabled on one route table",
			brk: func(s *awstest.Scenario) {
				for i := range s.RouteTables {
					if s.RouteTables[i].RouteTableID == awstest.LabRouteTable2 {
						s.RouteTables[i].PropagatingVgws = nil
					}
				}
			},
			fails: map[string]string{"aws.route_table." + awstest.LabRouteTable2 + ".propagation": "aws ec2 enable-vgw-route-propagation --route-table-id " + awstest.LabRouteTable2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := awstest.LabScenario()
			tc.brk(sc)
			rep, text := verifyAWS(t, sc, verifyConfig)
			got := map[string]probes.CheckResult{}
			for _, r := range rep.Results {
				if r.Status == probes.Fail {
					got[r.Name] = r
				}
			}
			if len(got) != len(tc.fails) {
				t.Errorf("failing checks %v, want exactly %v\n%s", keys(got), keysS(tc.fails), text.String())
			}
			for name, fix := range tc.fails {
				if r, ok := got[name]; !ok || !strings.Contains(r.Fix, fix) {
					t.Errorf("check %s: %+v, want a failure whose fix says %q", name, r, fix)
				}
			}
			if want := map[bool]int{true: 0, false: 1}[len(tc.fails) == 0]; rep.ExitCode() != want {
				t.Errorf("exit code %d, want %d", rep.ExitCode(), want)
			}
			if len(rep.Results) < 20 {
				t.Errorf("only %d AWS checks ran:\n%s", len(rep.Results), text.String())
			}
			for i := 1; i < len(rep.Results); i++ {
				if rep.Results[i].Order < rep.Results[i-1].Order {
					t.Errorf("results not in checklist order at %s", rep.Results[i].Name)
				}
			}
		})
	}
}

func TestVerifySkipsWhatIsNotConfigured(t *testing.T) {
	f := filepath.Join(t.TempDir(), "dxwatch.yaml")
	cfg := strings.SplitN(verifyConfig, "aws:", 2)[0]
	os.WriteFile(f, []byte(cfg), 0o600)
	a, err := New(Options{ConfigFile: f})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Verify(context.Background(), VerifyOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]bool{}
	for _, r := range rep.Results {
		if r.Status == probes.Skip {
			skipped[r.Name] = true
			if r.Reason == "" {
				t.Errorf("skipped %s without a reason: %+v", r.Name, r)
			}
		}
		if r.Status == probes.Pass && strings.HasPrefix(r.Name, "aws") {
			t.Errorf("an AWS check passed without an aws section: %+v", r)
		}
	}
	for _, want := range []string{"aws", "trace"} {
		if !skipped[want] {
			t.Errorf("%s is not reported as skipped: %v", want, skipped)
		}
	}
	var md bytes.Buffer
	rep.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "| skip | aws |") {
		t.Errorf("markdown output lacks the skipped aws line:\n%s", md.String())
	}
}

func keys(m map[string]probes.CheckResult) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keysS(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
