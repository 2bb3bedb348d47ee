package aws

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/golden"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/probes"
)

// bigScenario is the lab plus extra resources in the account, so that
// every paginated call needs several pages of size 1.
func bigScenario() *awstest.Scenario {
	sc := awstest.LabScenario()
	sc.PageSize = 1
	for i := range 3 {
		sc.Connections = append(sc.Connections, awstest.Connection{
			OwnerAccount: awstest.LabAccount, ConnectionID: fmt.Sprintf("dxcon-other%03d", i),
			ConnectionState: "available", Region: awstest.LabRegion, Location: "EqDC2", Bandwidth: "1Gbps",
		})
		sc.VirtualInterfaces = append(sc.VirtualInterfaces, awstest.VirtualInterface{
			OwnerAccount: awstest.LabAccount, VirtualInterfaceID: fmt.Sprintf("dxvif-other%03d", i),
			ConnectionID: fmt.Sprintf("dxcon-other%03d", i), VirtualInterfaceType: "private", Vlan: 300 + i,
			Asn: 65010, AmazonAddress: "169.254.99.1/30", CustomerAddress: "169.254.99.2/30",
			AddressFamily: "ipv4", VirtualInterfaceState: "available", Region: awstest.LabRegion,
		})
		sc.RouteTables = append(sc.RouteTables, awstest.RouteTable{
			RouteTableID: fmt.Sprintf("rtb-0ffff%012d", i), VpcID: "vpc-0ffffffffffffffff",
			OwnerAccount: awstest.LabAccount, Region: awstest.LabRegion,
		})
	}
	sc.VPCs = append(sc.VPCs, awstest.VPC{VpcID: awstest.LabVPC, CidrBlock: "198.18.0.0/16", OwnerAccount: "999999999999", Region: awstest.LabRegion})
	for i := range 5 {
		sc.Routes = append(sc.Routes, awstest.Route{VirtualInterfaceID: awstest.LabVIF1, Cidr: fmt.Sprintf("10.0.%d.0/24", i), RouteDirection: "accepted"})
	}
	return sc
}

func TestPagination(t *testing.T) {
	srv, url := fake(t, bigScenario())
	p, logs := testProbe(t, labConfig(), labSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v\n%s", err, logs)
	}
	checks := checksByName(p.Checks())
	for _, name := range []string{"aws.connection.secondary.state", "aws.vif.secondary.bgp", "aws.route_table." + awstest.LabRouteTable2 + ".propagation"} {
		if c := checks[name]; c.Status != probes.Pass {
			t.Errorf("%s: %s %s", name, c.Status, c.Reason)
		}
	}
	if r := checks["aws.vif.primary.routes"].Reason; !strings.Contains(r, "accepted 6 IPv4 prefixes") {
		t.Errorf("routes over several pages: %s", r)
	}
	calls := srv.Calls()
	for _, a := range []string{"directconnect:DescribeConnections", "directconnect:DescribeVirtualInterfaces", "directconnect:ListVirtualInterfaceRoutes"} {
		if calls[a] < 3 {
			t.Errorf("%s called %d times, want several pages", a, calls[a])
		}
	}
}

func TestTransientErrorsRecover(t *testing.T) {
	tests := []struct {
		name   string
		faults []awstest.Fault
		result string // api_calls_total result label counted
	}{
		{"ThrottlingException", []awstest.Fault{awstest.Throttle("directconnect:DescribeConnections", 1)}, "throttled"},
		{"RequestLimitExceeded", []awstest.Fault{awstest.Throttle("ec2:DescribeRouteTables", 1)}, "throttled"},
		{"STS Throttling", []awstest.Fault{awstest.Throttle("sts:GetCallerIdentity", 1)}, "throttled"},
		{"5xx", []awstest.Fault{{Action: "directconnect:DescribeVirtualInterfaces", Times: 2, Status: 500, Code: "DirectConnectServerException", Message: "internal"}}, "server_error"},
		{"EC2 503", []awstest.Fault{{Action: "ec2:DescribeVpcs", Times: 1, Status: 503, Code: "Unavailable", Message: "unavailable"}}, "server_error"},
		// Longer than one attempt may wait (a third of aws.timeout): the
		// attempt is abandoned and retried within the poll.
		{"slow answer", []awstest.Fault{{Action: "ec2:DescribeVpcs", Times: 1, Delay: 3 * time.Second}}, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, url := fake(t, awstest.LabScenario())
			for _, f := range tt.faults {
				srv.Inject(f)
			}
			p, logs := testProbe(t, labConfig(), labSite(), url)
			if err := p.Poll(context.Background()); err != nil {
				t.Fatalf("Poll did not recover: %v\n%s", err, logs)
			}
			f := tt.faults[0]
			if got := testutil.ToFloat64(p.apiCalls.WithLabelValues(f.Action, tt.result)); got != float64(f.Times) {
				t.Errorf("api_calls_total{operation=%q,result=%q} = %v, want %d", f.Action, tt.result, got, f.Times)
			}
			if got := testutil.ToFloat64(p.apiCalls.WithLabelValues(f.Action, "success")); got < 1 {
				t.Errorf("no successful %s after the errors", f.Action)
			}
			if logs.String() != "" {
				t.Errorf("recovered errors were logged:\n%s", logs)
			}
		})
	}
}

func TestPersistentFailures(t *testing.T) {
	tests := []struct {
		name    string
		fault   awstest.Fault
		deny    string
		result  string
		errHas  string
		check   string // a check that must be skipped, not failed, for lack of data
		fixHas  string
		timeout time.Duration
	}{
		{
			name: "5xx", fault: awstest.Fault{Action: "directconnect:DescribeVirtualInterfaces", Status: 500, Code: "DirectConnectServerException", Message: "boom"},
			result: "server_error", errHas: "DirectConnectServerException", check: "aws.vif.primary.state",
			fixHas: "nothing to change in dxwatch",
		},
		{
			name: "timeout", fault: awstest.Fault{Action: "ec2:DescribeRouteTables", Delay: time.Minute},
			result: "timeout", errHas: "the poll's budget ran out (aws.timeout 200ms)", timeout: 200 * time.Millisecond,
		},
		{
			name: "access denied (EC2)", deny: "ec2:DescribeRouteTables",
			result: "denied", errHas: "UnauthorizedOperation",
			fixHas: "allow ec2:DescribeRouteTables in the IAM policy of arn:aws:iam::111122223333:user/dxwatch",
		},
		{
			name: "access denied (Direct Connect)", deny: "directconnect:DescribeConnections",
			result: "denied", errHas: "AccessDeniedException", check: "aws.connection.primary.state",
			fixHas: "allow directconnect:DescribeConnections",
		},
		{
			name: "malformed JSON", fault: awstest.Fault{Action: "directconnect:DescribeConnections", Body: `{"connections": [{"connectionId": `},
			result: "malformed", errHas: "DescribeConnections", check: "aws.connection.primary.state",
		},
		{
			name: "malformed XML", fault: awstest.Fault{Action: "ec2:DescribeVpnGateways", Body: `<DescribeVpnGatewaysResponse><vpnGatewaySet><item><vpnGatewayId>vgw-1</vpn`},
			result: "malformed", errHas: "DescribeVpnGateways",
		},
		{
			name: "truncated JSON", fault: awstest.Fault{Action: "directconnect:DescribeVirtualInterfaces", Truncate: true},
			result: "malformed", errHas: "DescribeVirtualInterfaces", check: "aws.vif.primary.state",
		},
		{
			name: "truncated XML", fault: awstest.Fault{Action: "ec2:DescribeRouteTables", Truncate: true},
			result: "malformed", errHas: "DescribeRouteTables",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := awstest.LabScenario()
			if tt.deny != "" {
				sc.Accounts[0].Deny = []string{tt.deny}
			}
			srv, url := fake(t, sc)
			if tt.fault.Action != "" {
				srv.Inject(tt.fault)
			}
			cfg := labConfig()
			if tt.timeout > 0 {
				cfg.Timeout = tt.timeout
			}
			p, logs := testProbe(t, cfg, labSite(), url)
			p.maxAttempts = 2
			err := p.Poll(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Poll error %v, want one naming %q", err, tt.errHas)
			}
			action := tt.fault.Action + tt.deny
			if got := testutil.ToFloat64(p.apiCalls.WithLabelValues(action, tt.result)); got < 1 {
				t.Errorf("api_calls_total{operation=%q,result=%q} = %v", action, tt.result, got)
			}
			// One log line per failed call, naming the action.
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], "action="+action) {
				t.Errorf("want one log line naming %s, got:\n%s", action, logs)
			}
			if tt.deny != "" && !strings.Contains(lines[0], "fix=\"allow "+tt.deny) {
				t.Errorf("the log line does not say which action to allow: %s", lines[0])
			}
			checks := checksByName(p.Checks())
			api := checks["aws.api.default.us-east-1"]
			if api.Status != probes.Fail || !strings.Contains(api.Fix, tt.fixHas) {
				t.Errorf("aws.api check: %s %s (fix %s), want fail with fix %q", api.Status, api.Reason, api.Fix, tt.fixHas)
			}
			if tt.check != "" && checks[tt.check].Status != probes.Skip {
				t.Errorf("%s is %s (%s), want skip while its data is missing", tt.check, checks[tt.check].Status, checks[tt.check].Reason)
			}
			// The metrics still collect (the last-success time stays 0).
			if n := testutil.CollectAndCount(p, "dxwatch_aws_last_success_timestamp_seconds"); n != 1 {
				t.Errorf("%d last-success series", n)
			}
			if got := gaugeValue(t, p, "dxwatch_aws_last_success_timestamp_seconds"); got != 0 {
				t.Errorf("last success %v after a failed poll", got)
			}
		})
	}
}

func gaugeValue(t *testing.T, c prometheus.Collector, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestAccountsAndRegions polls two accounts (one through AssumeRole with
// an external ID) in two regions while one region of one account fails:
// the others are still polled and their checks evaluated.
func TestAccountsAndRegions(t *testing.T) {
	const partner = "444455556666"
	sc := awstest.LabScenario()
	sc.Accounts = append(sc.Accounts, awstest.Account{AccountID: partner, AccessKeyID: "AKIAPARTNER000000001"})
	sc.Roles = []awstest.Role{{ARN: "arn:aws:iam::" + partner + ":role/dxwatch-read", AccountID: partner, ExternalID: "ext-123"}}
	// The secondary connection and VIF live in the partner account, in
	// eu-west-1.
	c2, v2 := sc.Connection(awstest.LabConnection2), sc.VIF(awstest.LabVIF2)
	c2.OwnerAccount, c2.Region = partner, "eu-west-1"
	v2.OwnerAccount, v2.Region = partner, "eu-west-1"
	srv, url := fake(t, sc)
	// us-west-2 of the lab account is broken.
	srv.Inject(awstest.Fault{Account: awstest.LabAccount, Region: "us-west-2", Status: 500, Code: "InternalFailure", Message: "region down"})

	dir := t.TempDir()
	extFile := filepath.Join(dir, "external-id")
	if err := os.WriteFile(extFile, []byte("ext-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := labConfig()
	cfg.Regions = []string{"us-east-1", "eu-west-1", "us-west-2"}
	cfg.Accounts = []AccountConfig{
		{Name: "network", AccountID: awstest.LabAccount},
		{Name: "partner", AccountID: partner, RoleARN: "arn:aws:iam::" + partner + ":role/dxwatch-read", ExternalIDFile: extFile},
	}
	p, logs := testProbe(t, cfg, labSite(), url)
	p.maxAttempts = 1
	err := p.Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "network/us-west-2") {
		t.Fatalf("Poll error %v, want the us-west-2 failure", err)
	}
	checkWants(t, p.Checks(), []want{
		{"aws.account.partner", probes.Pass, []string{"assumed-role/dxwatch-read/dxwatch", partner}},
		{"aws.api.network.us-west-2", probes.Fail, []string{"InternalFailure"}},
		{"aws.api.partner.eu-west-1", probes.Pass, nil},
		{"aws.api.network.us-east-1", probes.Pass, nil},
		{"aws.vif.primary.bgp", probes.Pass, nil},
	})
	checks := checksByName(p.Checks())
	// Found in the partner account, but a failed region may hide things:
	// checks that depend on "not found" skip; found ones evaluate.
	if c := checks["aws.vif.secondary.bgp"]; c.Status != probes.Pass {
		t.Errorf("secondary VIF in the partner account: %s %s", c.Status, c.Reason)
	}
	if c := checks["aws.connection.secondary.state"]; c.Status != probes.Pass {
		t.Errorf("secondary connection in the partner account: %s %s\n%s", c.Status, c.Reason, logs)
	}
	if n := strings.Count(logs.String(), "aws api call failed"); n != 2 {
		t.Errorf("%d failure log lines, want one per failed call (2):\n%s", n, logs)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(p)
	ts := func(account, region string) float64 {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() != "dxwatch_aws_last_success_timestamp_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				l := map[string]string{}
				for _, lp := range m.GetLabel() {
					l[lp.GetName()] = lp.GetValue()
				}
				if l["account"] == account && l["region"] == region {
					return m.GetGauge().GetValue()
				}
			}
		}
		return -1
	}
	if got := ts("partner", "eu-west-1"); got != float64(fixedNow.Unix()) {
		t.Errorf("last success partner/eu-west-1 = %v", got)
	}
	if got := ts("network", "us-west-2"); got != 0 {
		t.Errorf("last success network/us-west-2 = %v, want 0", got)
	}
	if got := testutil.ToFloat64(p.apiCalls.WithLabelValues("sts:AssumeRole", "success")); got != 1 {
		t.Errorf("AssumeRole calls %v, want 1 (credentials cached)", got)
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	_, url := fake(t, awstest.LabScenario())
	cfg := labConfig()
	cfg.Accounts = []AccountConfig{{Name: "prod", RoleARN: "arn:aws:iam::777788889999:role/dxwatch"}}
	p, logs := testProbe(t, cfg, labSite(), url)
	p.maxAttempts = 1
	if err := p.Poll(context.Background()); err == nil {
		t.Fatal("Poll succeeded without a role to assume")
	}
	checkWants(t, p.Checks(), []want{
		{"aws.account.prod", probes.Fail, []string{"allow sts:AssumeRole on arn:aws:iam::777788889999:role/dxwatch"}},
		{"aws.connection.primary.state", probes.Skip, nil},
	})
	if !strings.Contains(logs.String(), "action=sts:AssumeRole") {
		t.Errorf("the log does not name sts:AssumeRole:\n%s", logs)
	}
}

func TestAccountMismatch(t *testing.T) {
	_, url := fake(t, awstest.LabScenario())
	cfg := labConfig()
	cfg.Accounts = []AccountConfig{{Name: "prod", AccountID: "123456789012"}}
	p, _ := testProbe(t, cfg, labSite(), url)
	p.Poll(context.Background())
	checkWants(t, p.Checks(), []want{{"aws.account.prod", probes.Fail, []string{"accounts[0].account_id is 123456789012", "111122223333"}}})
}

// TestCollectCallsNoAPI scrapes many times and proves no API call follows.
func TestCollectCallsNoAPI(t *testing.T) {
	srv, url := fake(t, awstest.LabScenario())
	p, _ := testProbe(t, labConfig(), labSite(), url)
	// Before the first poll: only the last-success series.
	if n := testutil.CollectAndCount(p); n != 1 {
		t.Errorf("%d series before the first poll, want 1", n)
	}
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := srv.Calls()
	for range 5 {
		testutil.CollectAndCount(p)
		p.Checks()
	}
	if after := srv.Calls(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("scraping called the API: %v -> %v", before, after)
	}
}

func TestMetrics(t *testing.T) {
	sc := awstest.LabScenario()
	c1 := sc.Connection(awstest.LabConnection1)
	c1.ConnectionState = "pending"
	c1.LoaIssueTime = awstest.At(fixedNow.Add(-30 * 24 * time.Hour))
	sc.VIF(awstest.LabVIF2).BgpPeers[0].BgpStatus = "down"
	sc.RouteTable(awstest.LabRouteTable2).PropagatingVgws = nil
	sc.RouteTable(awstest.LabRouteTable1).Routes[1].State = "blackhole"
	_, url := fake(t, sc)
	p, _ := testProbe(t, labConfig(), labSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	names := []string{
		"dxwatch_aws_connection_state", "dxwatch_aws_vif_state", "dxwatch_aws_vif_bgp_up",
		"dxwatch_aws_route_propagation_enabled", "dxwatch_aws_route_active", "dxwatch_aws_loa_expiry_timestamp_seconds",
		"dxwatch_aws_last_success_timestamp_seconds",
	}
	var b strings.Builder
	// The issue fixes this name; days are what an engineer reads off an LOA.
	lintMetrics(t, p, "dxwatch_aws_loa_expiry_timestamp_seconds")
	got, err := testutil.CollectAndFormat(p, expfmt.TypeTextPlain, names...)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(got)
	golden.Check(t, "testdata/metrics.golden", []byte(b.String()))
	if err := testutil.CollectAndCompare(p, strings.NewReader(b.String()), names...); err != nil {
		t.Error(err)
	}
	// api_calls_total counts each call of the poll once.
	if got := testutil.ToFloat64(p.apiCalls.WithLabelValues("directconnect:ListVirtualInterfaceRoutes", "success")); got != 4 {
		t.Errorf("ListVirtualInterfaceRoutes counted %v times, want 4 (2 VIFs x 2 directions)", got)
	}
}

// pollObserved polls a fake serving sc once and returns what the probe
// reported to the health model.
func pollObserved(t *testing.T, sc *awstest.Scenario) []probes.Observation {
	t.Helper()
	_, url := fake(t, sc)
	var obs []probes.Observation
	p, _ := testProbe(t, labConfig(), labSite(), url)
	p.deps.Observer = probes.ObserverFunc(func(o probes.Observation) { obs = append(obs, o) })
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return obs
}

func TestObservations(t *testing.T) {
	sc := awstest.LabScenario()
	sc.VIF(awstest.LabVIF2).BgpPeers[0].BgpStatus = "down"
	obs := pollObserved(t, sc)
	var found bool
	for _, o := range obs {
		if o.Event != probes.AWSCheck || o.Probe != "aws" {
			t.Errorf("observation %+v", o)
		}
		if o.Check == "aws.vif.secondary.bgp" {
			found = true
			if o.Up || o.Link != "secondary" || !strings.Contains(o.Detail, "BGP down") {
				t.Errorf("secondary BGP observation %+v", o)
			}
		}
		if o.Check == "aws.dxgw.state" && o.Link != "" {
			t.Errorf("a gateway check carries link %q", o.Link)
		}
	}
	if !found {
		t.Error("no observation of aws.vif.secondary.bgp")
	}
}
