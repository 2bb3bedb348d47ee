package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent"
	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// TestLabVerify runs `dxwatch verify` in the lab's agent host, with the
// lab's own configuration (lab/dxwatch.yaml) plus an aws section pointed at
// the fake AWS endpoint, whose BGP view follows the lab's AWS routers. A good
// setup passes every check; each broken piece of the turn-up checklist fails
// exactly one line, with its fix, and what follows from it is reported as
// following from it.
func TestLabVerify(t *testing.T) {
	if lab.InChild() {
		t.Skip("inside a lab child")
	}
	bin := buildDxwatch(t)
	l := lab.ForTest(t, lab.Options{})

	// The fake AWS endpoint, on the agent host's loopback.
	srv, env := awstest.StartInLab(t, l)

	cfg := labsite.Config(map[string]string{"aws": "regions: [" + awstest.LabRegion + "]\ndx_gateway_id: " + awstest.LabDXGateway})
	cfgFile := filepath.Join(l.Dir(), "dxwatch-verify.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	verify := func(t *testing.T, args ...string) (agent.VerifyReport, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := awstest.SyncFromLab(ctx, l, srv); err != nil {
			t.Fatal(err)
		}
		rep, code, stderr := runVerify(ctx, t, l, bin, env, append([]string{"--config", cfgFile}, args...)...)
		if code == 2 {
			t.Fatalf("dxwatch verify could not run:\n%s", stderr)
		}
		return rep, code
	}
	converge := func(t *testing.T) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := l.WaitConverged(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fault := func(t *testing.T, name, target string) {
		t.Helper()
		if err := l.Break(context.Background(), name, target); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := l.Mend(context.Background(), name, target); err != nil {
				t.Error(err)
			}
			converge(t)
		})
		converge(t)
	}
	aws := func(brk, mend func(*awstest.Scenario)) func(*testing.T) {
		return func(t *testing.T) {
			srv.Update(brk)
			t.Cleanup(func() { srv.Update(mend) })
		}
	}

	for _, tc := range []struct {
		name  string
		brk   func(*testing.T)
		fail  string   // the one failing check, "" for none
		fix   string   // a part of its fix
		after []string // checks that must say they follow from it
	}{
		{name: "good setup", brk: func(*testing.T) {}},
		{
			name: "hosted connection not accepted",
			brk: aws(func(s *awstest.Scenario) { s.Connection(awstest.LabConnection1).ConnectionState = "ordering" },
				func(s *awstest.Scenario) { s.Connection(awstest.LabConnection1).ConnectionState = "available" }),
			fail: "aws.connection.primary.state", fix: "aws directconnect confirm-connection --connection-id " + awstest.LabConnection1,
		},
		{
			name: "propagation disabled on one route table",
			brk: aws(func(s *awstest.Scenario) { s.RouteTable(awstest.LabRouteTable2).PropagatingVgws = nil },
				func(s *awstest.Scenario) {
					s.RouteTable(awstest.LabRouteTable2).PropagatingVgws = []string{awstest.LabVGW}
				}),
			fail: "aws.route_table." + awstest.LabRouteTable2 + ".propagation",
			fix:  "aws ec2 enable-vgw-route-propagation --route-table-id " + awstest.LabRouteTable2,
		},
		{
			name: "secondary not prepended",
			brk:  func(t *testing.T) { fault(t, lab.FaultNoPrepend, "") },
			fail: "aws.routing.return_path", fix: "set as-path prepend 65000 65000",
		},
		{
			name: "ping blocked",
			brk:  func(t *testing.T) { fault(t, lab.FaultPingBlocked, lab.HostInst1) },
			fail: "ping.target.i1", fix: "only ICMP echo is dropped",
		},
		{
			name: "MD5 wrong",
			brk:  func(t *testing.T) { fault(t, lab.FaultWrongMD5, lab.LinkPrimary) },
			fail: "aws.vif.primary.bgp", fix: "compare the MD5 key first",
			// ping.link.primary is not among them: with the session down,
			// AWS returns the Amazon peer's replies over the secondary (one
			// routing domain behind the gateway), so the pinned echoes are
			// answered and the link's request path shows working.
			after: []string{"bgp.dx_session.primary", "bgp.prefix.primary", "trace.target.i1", "health.link.primary", "health.active"},
		},
		{
			// The primary's IPv6 peering has its own key: wrong there, its
			// session stays down while IPv4 is up. One line fails, naming
			// IPv6; what AWS then accepts in IPv6 over the primary follows
			// from it.
			name: "IPv6 MD5 wrong",
			brk:  func(t *testing.T) { fault(t, lab.FaultWrongMD56, lab.LinkPrimary) },
			fail: "aws.vif.primary.bgp.ipv6", fix: "neighbor " + lab.PrimaryAmazon6 + " password",
			after: []string{"aws.vif.primary.routes.ipv6"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.brk(t)
			rep, code := verify(t)
			var text bytes.Buffer
			rep.WriteText(&text)
			var fails []string
			got := map[string]probes.CheckResult{}
			for _, r := range rep.Results {
				got[r.Name] = r
				if r.Status == probes.Fail {
					fails = append(fails, r.Name)
				}
				if r.Status == probes.Skip && (tc.fail == "" && !labFRRSkip(r) || r.Reason == "") {
					t.Errorf("%s skipped: %q", r.Name, r.Reason)
				}
			}
			if len(rep.Results) < 40 {
				t.Errorf("only %d checks ran", len(rep.Results))
			}
			switch {
			case tc.fail == "":
				if len(fails) > 0 || rep.Summary["warn"] > 0 || code != 0 {
					t.Errorf("a good setup: exit %d, failing %v, %d warnings, want exit 0, every check passing\n%s", code, fails, rep.Summary["warn"], text.String())
				}
			default:
				if !slices.Equal(fails, []string{tc.fail}) || code != 1 {
					t.Errorf("exit %d, failing %v, want exit 1 and exactly [%s]\n%s", code, fails, tc.fail, text.String())
				}
				if r := got[tc.fail]; !strings.Contains(r.Fix, tc.fix) {
					t.Errorf("%s: fix %q, want it to say %q", tc.fail, r.Fix, tc.fix)
				}
				if r := got[tc.fail]; strings.HasSuffix(tc.fail, ".ipv6") && (r.Family != probes.FamilyIPv6 || !strings.Contains(r.Reason, "IPv6")) {
					t.Errorf("%s: family %q, reason %q: want the IPv6 peering named", tc.fail, r.Family, r.Reason)
				}
			}
			for _, name := range tc.after {
				if r := got[name]; r.Because != tc.fail {
					t.Errorf("%s: %s %q, want it to follow from %s", name, r.Status, r.Reason, tc.fail)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("dxwatch verify:\n%s", text.String())
			}
			// With only the edge's view selected, the session check is
			// the root: a cause that is not reported explains nothing.
			if tc.name == "MD5 wrong" {
				rep, code := verify(t, "--checks", "bgp.")
				i := slices.IndexFunc(rep.Results, func(r probes.CheckResult) bool { return r.Name == "bgp.dx_session.primary" })
				if i < 0 || rep.Results[i].Status != probes.Fail || rep.Results[i].Because != "" || code != 1 {
					t.Errorf("verify --checks bgp.: exit %d, results %+v; want bgp.dx_session.primary failing on its own, exit 1", code, rep.Results)
				}
			}
		})
	}
}

// runVerify runs `dxwatch verify --output json args...` in the lab's agent
// host with env (nil: this process's) and returns its report (empty when
// it could not run, exit code 2), its exit code and its stderr.
func runVerify(ctx context.Context, t *testing.T, l *lab.Lab, bin string, env []string, args ...string) (agent.VerifyReport, int, string) {
	t.Helper()
	stdout, code, stderr := lab.Run(ctx, t, l, lab.HostAgent, env, append([]string{bin, "verify", "--output", "json"}, args...)...)
	var rep agent.VerifyReport
	if code != 2 {
		if err := json.Unmarshal(stdout, &rep); err != nil {
			t.Fatalf("dxwatch verify exited %d with no JSON report: %v\nstdout: %s\nstderr: %s", code, err, stdout, stderr)
		}
	}
	return rep, code, stderr
}

// buildDxwatch builds the dxwatch binary, without the race detector, as it
// runs in production.
func buildDxwatch(t testing.TB) string {
	t.Helper()
	lab.Need(t) // before the build: a skipped lab test costs nothing
	bin := filepath.Join(t.TempDir(), "dxwatch")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/dxwatch").CombinedOutput(); err != nil {
		t.Fatalf("build dxwatch: %v\n%s", err, out)
	}
	return bin
}

// labFRRSkip tells the skips a healthy lab has: the lab's FRR 8.4 exports
// neither its Loc-RIB nor its Adj-RIB-Out over BMP, and the checks that
// would read them say so.
func labFRRSkip(r probes.CheckResult) bool {
	switch {
	case strings.HasPrefix(r.Name, "bgp.locrib."):
		return strings.Contains(r.Reason, "exports no Loc-RIB over BMP")
	case r.Name == "bgp.intent.return_path":
		return strings.Contains(r.Reason, "no BMP router exports the Adj-RIB-Out post-policy")
	}
	return false
}
