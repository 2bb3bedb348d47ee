package aws

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/probes"
)

// TestErrorKinds injects each class of error and checks the message and
// the fix: credentials advice only for authentication errors, "AWS API
// unavailable" naming the operation, the attempts and the time for
// outages, and an STS failure never stopping the Direct Connect and EC2
// calls.
func TestErrorKinds(t *testing.T) {
	const (
		acct = "aws.account.default"
		api  = "aws.api.default.us-east-1"
	)
	tests := []struct {
		name    string
		faults  []awstest.Fault
		timeout time.Duration
		want    []want
		// the class counted in dxwatch_aws_api_calls_total for the
		// first fault's action
		result string
	}{
		{
			name:   "InvalidClientTokenId on STS",
			faults: []awstest.Fault{{Action: "sts:GetCallerIdentity", Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}},
			result: "auth",
			want: []want{
				{acct, probes.Fail, []string{"credentials do not work: InvalidClientTokenId", "AWS_ACCESS_KEY_ID", "may be deleted or inactive"}},
				{api, probes.Fail, []string{"the credentials do not work (sts:GetCallerIdentity: InvalidClientTokenId)"}},
			},
		},
		{
			name:   "SignatureDoesNotMatch on STS",
			faults: []awstest.Fault{{Action: "sts:GetCallerIdentity", Status: 403, Code: "SignatureDoesNotMatch", Message: "signature"}},
			result: "auth",
			want:   []want{{acct, probes.Fail, []string{"SignatureDoesNotMatch", "secret access key does not match the access key ID"}}},
		},
		{
			name:   "ExpiredToken on STS",
			faults: []awstest.Fault{{Action: "sts:GetCallerIdentity", Status: 403, Code: "ExpiredToken", Message: "expired"}},
			result: "auth",
			want:   []want{{acct, probes.Fail, []string{"ExpiredToken", "session credentials expired"}}},
		},
		{
			name:   "AccessDenied on STS",
			faults: []awstest.Fault{{Action: "sts:GetCallerIdentity", Status: 403, Code: "AccessDenied", Message: "denied"}},
			result: "auth",
			want:   []want{{acct, probes.Fail, []string{"credentials do not work: AccessDenied", "default chain"}}},
		},
		{
			name:   "UnrecognizedClientException on Direct Connect",
			faults: []awstest.Fault{{Action: "directconnect:DescribeConnections", Code: "UnrecognizedClientException", Message: "invalid token"}},
			result: "auth",
			want: []want{
				{api, probes.Fail, []string{"the credentials do not work (directconnect:DescribeConnections: UnrecognizedClientException)", "default chain"}},
				{"aws.connection.primary.state", probes.Skip, []string{"credentials do not work", "aws.account.default"}},
			},
		},
		{
			name:   "STS 503 with Retry-After",
			faults: []awstest.Fault{{Action: "sts:GetCallerIdentity", Status: 503, Code: "ServiceUnavailable", Message: "busy", RetryAfter: "1"}},
			result: "server_error",
			want: []want{
				{acct, probes.Skip, []string{"AWS API unavailable: sts:GetCallerIdentity failed after 2 attempts in", "HTTP 503 (ServiceUnavailable)"}},
				{api, probes.Fail, []string{"AWS API unavailable: sts:GetCallerIdentity failed after 2 attempts"}},
				// The other services were called regardless.
				{"aws.connection.primary.state", probes.Pass, nil},
				{"aws.route_table." + awstest.LabRouteTable1 + ".routes", probes.Pass, nil},
			},
		},
		{
			name:   "Direct Connect 500",
			faults: []awstest.Fault{{Action: "directconnect:DescribeVirtualInterfaces", Status: 500, Code: "DirectConnectServerException", Message: "boom"}},
			result: "server_error",
			want: []want{
				{api, probes.Fail, []string{"AWS API unavailable: directconnect:DescribeVirtualInterfaces failed after 2 attempts in", "HTTP 500 (DirectConnectServerException)"}},
				{"aws.vif.primary.state", probes.Skip, []string{"VIF dxvif-lab00001 could not be read in default/us-east-1: AWS API unavailable"}},
			},
		},
		{
			name:   "throttled past the retries",
			faults: []awstest.Fault{awstest.Throttle("ec2:DescribeRouteTables", 0)},
			result: "throttled",
			want: []want{
				{api, probes.Fail, []string{"AWS API unavailable: ec2:DescribeRouteTables failed after 2 attempts", "throttled (RequestLimitExceeded)"}},
				{"aws.vpc." + awstest.LabVPC + ".route_tables", probes.Skip, []string{"AWS API unavailable: ec2:DescribeRouteTables"}},
			},
		},
		{
			name:   "malformed JSON",
			faults: []awstest.Fault{{Action: "directconnect:DescribeConnections", Body: `{"connections": [{"connectionId": `}},
			result: "malformed",
			want:   []want{{api, probes.Fail, []string{"AWS API unavailable: directconnect:DescribeConnections failed after 1 attempt", "could not be read (malformed or cut short)"}}},
		},
		{
			name:   "malformed XML",
			faults: []awstest.Fault{{Action: "ec2:DescribeVpcs", Body: `<DescribeVpcsResponse><vpcSet><item><vpcId>vpc-1</vp`}},
			result: "malformed",
			want: []want{
				{api, probes.Fail, []string{"AWS API unavailable: ec2:DescribeVpcs failed after 1 attempt"}},
				{"aws.dxgw.association." + awstest.LabVGW, probes.Skip, []string{"VPC " + awstest.LabVPC + " (needed for its CIDRs) could not be read"}},
			},
		},
		{
			name:    "slow answer",
			faults:  []awstest.Fault{{Action: "ec2:DescribeRouteTables", Delay: time.Minute}},
			timeout: 300 * time.Millisecond,
			result:  "timeout",
			want:    []want{{api, probes.Fail, []string{"AWS API unavailable: ec2:DescribeRouteTables failed after 1 attempt in", "the poll's budget (aws.timeout) ran out"}}},
		},
		{
			name: "mixed: a denial and an outage",
			faults: []awstest.Fault{
				{Action: "directconnect:DescribeDirectConnectGateways", Status: 403, Code: "AccessDeniedException", Message: "denied"},
				{Action: "ec2:DescribeVpnGateways", Status: 503, Code: "Unavailable", Message: "x"},
			},
			result: "denied",
			want: []want{{api, probes.Fail, []string{
				"access denied to directconnect:DescribeDirectConnectGateways",
				"AWS API unavailable: ec2:DescribeVpnGateways failed after 2 attempts",
				"allow directconnect:DescribeDirectConnectGateways in the IAM policy of arn:aws:iam::111122223333:user/dxwatch",
				"nothing to change in dxwatch",
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, url := fake(t, awstest.LabScenario())
			for _, f := range tt.faults {
				srv.Inject(f)
			}
			cfg := labConfig()
			if tt.timeout > 0 {
				cfg.Timeout = tt.timeout
			}
			p, logs := testProbe(t, cfg, labSite(), url)
			p.maxAttempts = 2
			if err := p.Poll(context.Background()); err == nil {
				t.Fatal("Poll succeeded")
			}
			checkWants(t, p.Checks(), tt.want)
			action := tt.faults[0].Action
			if got := testutil.ToFloat64(p.apiCalls.WithLabelValues(action, tt.result)); got < 1 {
				t.Errorf("api_calls_total{operation=%q,result=%q} = %v", action, tt.result, got)
			}
			c := checksByName(p.Checks())[api]
			if kind := classify(p.snap.failures[0].err); kind != kindAuth {
				for _, text := range []string{c.Reason, c.Fix, logs.String()} {
					if strings.Contains(strings.ToLower(text), "credential") {
						t.Errorf("credentials advice for a %s failure: %s", tt.result, text)
					}
				}
			}
		})
	}
}

// TestDenialsComplete denies several actions, some of which the probe
// cannot make for lack of the others' answers: every one is tried, all are
// named in one line, every check that needed them is skipped naming the
// action to allow, and discovery does not pass.
func TestDenialsComplete(t *testing.T) {
	tests := []struct {
		name string
		deny []string
		want []want
	}{
		{
			name: "route tables",
			deny: []string{"ec2:DescribeRouteTables"},
			want: []want{
				{"aws.vpc." + awstest.LabVPC + ".route_tables", probes.Skip, []string{"access denied to ec2:DescribeRouteTables", "allow ec2:DescribeRouteTables in the IAM policy of arn:aws:iam::111122223333:user/dxwatch"}},
				{"aws.discovery", probes.Skip, []string{"incomplete: ec2:DescribeRouteTables in default/us-east-1 could not be read", "route tables unread"}},
			},
		},
		{
			name: "everything behind the gateway",
			deny: []string{"directconnect:DescribeDirectConnectGateways", "ec2:DescribeVpnGateways", "ec2:DescribeVpcs", "ec2:DescribeRouteTables",
				"directconnect:DescribeVirtualInterfaces", "directconnect:ListVirtualInterfaceRoutes"},
			want: []want{
				{"aws.api.default.us-east-1", probes.Fail, []string{"access denied to directconnect:DescribeVirtualInterfaces, directconnect:DescribeDirectConnectGateways, "}},
				{"aws.dxgw.state", probes.Skip, []string{"access denied to directconnect:DescribeDirectConnectGateways", "allow directconnect:DescribeDirectConnectGateways"}},
				{"aws.vif.primary.state", probes.Skip, []string{"access denied to directconnect:DescribeVirtualInterfaces", "allow directconnect:DescribeVirtualInterfaces"}},
				{"aws.discovery", probes.Skip, []string{"incomplete"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := awstest.LabScenario()
			sc.Accounts[0].Deny = tt.deny
			_, url := fake(t, sc)
			p, _ := testProbe(t, labConfig(), labSite(), url)
			if err := p.Poll(context.Background()); err == nil {
				t.Fatal("Poll succeeded")
			}
			checkWants(t, p.Checks(), tt.want)
			api := checksByName(p.Checks())["aws.api.default.us-east-1"]
			for _, a := range tt.deny {
				if !strings.Contains(api.Reason, a) || !strings.Contains(api.Fix, a) {
					t.Errorf("aws.api does not name the denied %s: %s (fix: %s)", a, api.Reason, api.Fix)
				}
			}
			if strings.Count(api.Fix, "allow ") != 1 {
				t.Errorf("the denied actions are not in one line: %s", api.Fix)
			}
		})
	}
}

// TestEverythingDenied denies every action of deploy/iam-policy.json: every
// call of every service is still tried (the EC2 and CloudWatch ones too,
// though nothing was read to make them with), the count of failed calls
// is out of the calls made, and every denied action is named, once, in
// one line. sts:GetCallerIdentity needs no permission (STS API reference)
// and sts:AssumeRole is not called without a role.
func TestEverythingDenied(t *testing.T) {
	actions, err := policyActions()
	if err != nil {
		t.Fatal(err)
	}
	sc := awstest.LabScenario()
	sc.Accounts[0].Deny = actions
	_, url := fake(t, sc)
	p, _ := testProbe(t, labConfig(), labSite(), url)
	if err := p.Poll(context.Background()); err == nil {
		t.Fatal("Poll succeeded")
	}
	api := checksByName(p.Checks())["aws.api.default.us-east-1"]
	if api.Status != probes.Fail {
		t.Fatalf("aws.api is %s: %s", api.Status, api.Reason)
	}
	var failed, calls int
	if _, err := fmt.Sscanf(api.Reason, "%d of %d calls failed", &failed, &calls); err != nil {
		t.Fatalf("aws.api does not count the calls: %s", api.Reason)
	}
	if failed > calls || failed == 0 {
		t.Errorf("%d of %d calls failed: %s", failed, calls, api.Reason)
	}
	for _, a := range actions {
		if strings.HasPrefix(a, "sts:") {
			continue
		}
		if strings.Count(api.Reason, a+",")+strings.Count(api.Reason, a+";")+boolCount(strings.HasSuffix(api.Reason, a)) != 1 {
			t.Errorf("aws.api does not name the denied %s once: %s", a, api.Reason)
		}
		if !strings.Contains(api.Fix, a) {
			t.Errorf("the fix does not allow %s: %s", a, api.Fix)
		}
	}
	if strings.Count(api.Fix, "allow ") != 1 {
		t.Errorf("the denied actions are not in one line: %s", api.Fix)
	}
}

func boolCount(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDiscoveryHint: when nothing is found, the fix asks only for settings
// that are not there; with them all set it says to check them instead.
func TestDiscoveryHint(t *testing.T) {
	tests := []struct {
		name     string
		gateway  bool // aws.dx_gateway_id set
		ids      bool // connection_id and vif_id on every link
		has, not []string
	}{
		{"gateway and IDs set", true, true, []string{"check the configured IDs"}, []string{"set aws.dx_gateway_id", "links[0]"}},
		{"IDs set", false, true, []string{"check the configured IDs"}, []string{"set aws.dx_gateway_id", "links[0]"}},
		{"gateway set", true, false, []string{"check the configured IDs"}, []string{"set aws.dx_gateway_id"}},
		{"VIF IDs missing", false, false, []string{"set aws.dx_gateway_id, or links[0].vif_id, links[1].vif_id"}, []string{"connection_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := awstest.LabScenario()
			sc.VirtualInterfaces, sc.Connections = nil, nil
			_, url := fake(t, sc)
			cfg, site := labConfig(), labSite()
			if !tt.gateway {
				cfg.DXGatewayID = ""
			}
			if !tt.ids {
				for i := range site.Links {
					site.Links[i].VIFID = ""
				}
			}
			p, _ := testProbe(t, cfg, site, url)
			p.Poll(context.Background())
			d := checksByName(p.Checks())["aws.discovery"]
			if d.Status != probes.Warn {
				t.Fatalf("aws.discovery %s: %s", d.Status, d.Reason)
			}
			for _, h := range tt.has {
				if !strings.Contains(d.Fix, h) {
					t.Errorf("fix lacks %q: %s", h, d.Fix)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(d.Fix, n) {
					t.Errorf("fix asks for %q, which is set: %s", n, d.Fix)
				}
			}
		})
	}
}

// TestSTSDownNoAccountHint: with STS down, the owner of a VGW cannot be
// matched to a configured account; the checks say so instead of asking to
// add an account that is there.
func TestSTSDownNoAccountHint(t *testing.T) {
	srv, url := fake(t, awstest.LabScenario())
	srv.Inject(awstest.Fault{Action: "sts:GetCallerIdentity", Status: 503, Code: "ServiceUnavailable", Message: "x"})
	cfg := labConfig()
	cfg.Accounts = []AccountConfig{{Name: "network"}, {Name: "shared"}}
	p, _ := testProbe(t, cfg, labSite(), url)
	p.maxAttempts = 1
	p.Poll(context.Background())
	for _, name := range []string{"aws.vgw." + awstest.LabVGW + ".attachment", "aws.dxgw.association." + awstest.LabVGW} {
		c := checksByName(p.Checks())[name]
		if c.Status != probes.Skip || strings.Contains(c.Reason+c.Fix, "aws.accounts") || !strings.Contains(c.Reason, "AWS API unavailable: sts:GetCallerIdentity") {
			t.Errorf("%s: %s %s (fix: %s)", name, c.Status, c.Reason, c.Fix)
		}
	}
}

// TestUnreachableEndpoint: nothing listens at the endpoint; every call is
// "AWS API unavailable ... could not be reached" with the socket's words,
// never a credentials problem, and the fix is the host's path to the
// endpoints, not waiting.
func TestUnreachableEndpoint(t *testing.T) {
	p, _ := testProbe(t, labConfig(), labSite(), "http://127.0.0.1:1")
	p.maxAttempts = 1
	if err := p.Poll(context.Background()); err == nil {
		t.Fatal("Poll succeeded")
	}
	checkWants(t, p.Checks(), []want{
		{"aws.account.default", probes.Skip, []string{"AWS API unavailable: sts:GetCallerIdentity failed after 1 attempt", "the endpoint could not be reached (dial: connect: connection refused)"}},
		{"aws.api.default.us-east-1", probes.Fail, []string{"AWS API unreachable: ", "directconnect:DescribeConnections failed after 1 attempt", "the endpoint could not be reached"}},
	})
	if c := checksByName(p.Checks())["aws.api.default.us-east-1"]; !strings.Contains(c.Fix, "dxwatch's host cannot reach the AWS API endpoints of us-east-1") || strings.Contains(c.Fix, "nothing to change") {
		t.Errorf("aws.api fix %q: want the path to the endpoints", c.Fix)
	}
	for _, c := range p.Checks() {
		if strings.Contains(strings.ToLower(c.Reason+c.Fix), "credential") {
			t.Errorf("%s gives credentials advice: %s (fix: %s)", c.Name, c.Reason, c.Fix)
		}
	}
	if got := testutil.ToFloat64(p.apiCalls.WithLabelValues("directconnect:DescribeConnections", "unreachable")); got != 1 {
		t.Errorf("unreachable attempts %v", got)
	}
}
