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

	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// verifyConfig is the lab's configuration with the AWS checks pointed at
// the fake AWS endpoint. No targets, no link-pinned pings and no BGP feed:
// this unit test runs in the host's namespace and sends nothing but
// loopback HTTP.
var verifyConfig = labsite.Config(map[string]string{
	"targets": "",
	"bgp":     "",
	"ping":    "link_pinned: false",
	"aws":     "regions: [" + awstest.LabRegion + "]\ndx_gateway_id: " + awstest.LabDXGateway,
})

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
