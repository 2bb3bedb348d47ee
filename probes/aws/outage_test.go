package aws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/probes"
)

// TestNoDescribeLoa proves that neither the daemon's polls (Run) nor a
// verify (one Poll) call DescribeLoa, which re-issues the LOA-CFA and
// moves the loaIssueTime the check reads: the days left stay what AWS
// says from poll to poll.
func TestNoDescribeLoa(t *testing.T) {
	for _, issued := range []bool{true, false} {
		name := map[bool]string{true: "issued 80 days ago", false: "never downloaded"}[issued]
		t.Run(name, func(t *testing.T) {
			sc := awstest.LabScenario()
			sc.Connection(awstest.LabConnection1).ConnectionState = "pending"
			has := "the LOA-CFA has never been downloaded"
			if issued {
				sc.Connection(awstest.LabConnection1).LoaIssueTime = awstest.At(fixedNow.Add(-80 * 24 * time.Hour))
				has = "80 days ago, 10 days left of 90 days"
			}
			srv, url := fake(t, sc)

			// verify: one poll.
			p, logs := testProbe(t, labConfig(), labSite(), url)
			if err := p.Poll(context.Background()); err != nil {
				t.Fatalf("Poll: %v\n%s", err, logs)
			}
			checkWants(t, p.Checks(), []want{{"aws.connection.primary.state", probes.Warn, []string{has}}})

			// run: polls until three have been made.
			p, _ = testProbe(t, labConfig(), labSite(), url)
			p.cfg.PollInterval = time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- p.Run(ctx) }()
			for srv.Calls()["directconnect:DescribeConnections"] < 4 {
				time.Sleep(time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			checkWants(t, p.Checks(), []want{{"aws.connection.primary.state", probes.Warn, []string{has}}})
			if n := srv.Calls()["directconnect:DescribeLoa"]; n != 0 {
				t.Errorf("DescribeLoa was called %d times by polls", n)
			}
		})
	}
}

// TestDownloadLOA: the explicit download calls DescribeLoa, which (as in
// AWS) restarts the LOA's clock; the next poll reports the new issue time.
func TestDownloadLOA(t *testing.T) {
	sc := awstest.LabScenario()
	c1 := sc.Connection(awstest.LabConnection1)
	c1.ConnectionState = "pending"
	c1.LoaIssueTime = awstest.At(fixedNow.Add(-80 * 24 * time.Hour))
	srv, url := fake(t, sc)
	p, _ := testProbe(t, labConfig(), labSite(), url)
	loa, err := p.DownloadLOA(context.Background(), awstest.LabConnection1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(loa.Content), "%PDF") || loa.ContentType != "application/pdf" || !loa.Previous.Equal(fixedNow.Add(-80*24*time.Hour)) {
		t.Errorf("LOA %q %s previous %s", loa.Content, loa.ContentType, loa.Previous)
	}
	if n := srv.Calls()["directconnect:DescribeLoa"]; n != 1 {
		t.Errorf("DescribeLoa called %d times, want 1", n)
	}
	// As in AWS, the download re-issued the LOA: a new loaIssueTime.
	var issued time.Time
	srv.Update(func(sc *awstest.Scenario) { issued = sc.Connection(awstest.LabConnection1).LoaIssueTime.Time })
	if !issued.After(loa.Previous) {
		t.Errorf("loaIssueTime %s after the download, was %s: the fake does not model the re-issue", issued, loa.Previous)
	}
	if _, err := p.DownloadLOA(context.Background(), awstest.LabConnection2); err == nil || !strings.Contains(err.Error(), "the connection is available") {
		t.Errorf("LOA of an available connection: %v", err)
	}
	if _, err := p.DownloadLOA(context.Background(), "dxcon-nothere"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("LOA of an unknown connection: %v", err)
	}
	// A requested connection has no LOA-CFA yet (API reference: it stays
	// requested "until the Letter of Authorization (LOA) is sent").
	srv.Update(func(sc *awstest.Scenario) { sc.Connection(awstest.LabConnection1).ConnectionState = "requested" })
	if _, err := p.DownloadLOA(context.Background(), awstest.LabConnection1); err == nil || !strings.Contains(err.Error(), "the connection is requested; AWS issues the LOA-CFA once it has approved the order (state pending)") {
		t.Errorf("LOA of a requested connection: %v", err)
	}
}

// poll runs one poll at the given time.
func pollAt(t *testing.T, p *Probe, at time.Time) error {
	t.Helper()
	p.now = func() time.Time { return at }
	return p.Poll(context.Background())
}

// awsSeries is every aws series but the API call counters, as text.
func awsSeries(t *testing.T, p *Probe) string {
	t.Helper()
	b, err := testutil.CollectAndFormat(p, expfmt.TypeTextPlain, "dxwatch_aws_connection_state", "dxwatch_aws_vif_state",
		"dxwatch_aws_vif_bgp_up", "dxwatch_aws_route_propagation_enabled", "dxwatch_aws_route_active", "dxwatch_aws_loa_expiry_timestamp_seconds")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exported returns what the agent exports as dxwatch_check_ok: every check
// but the skipped ones, by name.
func exported(cs []probes.CheckResult) map[string]probes.CheckResult {
	m := map[string]probes.CheckResult{}
	for _, c := range cs {
		if c.Status != probes.Skip {
			m[c.Name] = c
		}
	}
	return m
}

// TestOutageKeepsSeries polls as the daemon does while the fake goes
// healthy -> failing -> healthy: during the outage every aws series and
// every dxwatch_check_ok series keeps its last value (the checks marked
// as last known), and the last-success time stays put so the data is seen
// to be stale; after it, everything is fresh again.
func TestOutageKeepsSeries(t *testing.T) {
	outages := map[string][]awstest.Fault{
		"503 everywhere": {{Status: 503, Code: "ServiceUnavailable", Message: "down", RetryAfter: "1"}},
		"EC2 and STS down": {
			{Action: "sts:GetCallerIdentity", Status: 500, Code: "InternalFailure", Message: "x"},
			{Action: "ec2:DescribeVpnGateways", Status: 503, Code: "Unavailable", Message: "x"},
		},
		"route tables denied": nil,
	}
	for name, faults := range outages {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, url := fake(t, awstest.LabScenario())
			p, _ := testProbe(t, labConfig(), labSite(), url)
			p.maxAttempts = 2
			t1 := fixedNow
			if err := pollAt(t, p, t1); err != nil {
				t.Fatal(err)
			}
			series1, checks1 := awsSeries(t, p), exported(p.Checks())
			if !strings.Contains(series1, "dxwatch_aws_vif_bgp_up") || len(checks1) < 20 {
				t.Fatalf("healthy poll: %d checks, series:\n%s", len(checks1), series1)
			}

			for _, f := range faults {
				srv.Inject(f)
			}
			if faults == nil {
				srv.Update(func(sc *awstest.Scenario) { sc.Accounts[0].Deny = []string{"ec2:DescribeRouteTables"} })
			}
			t2 := t1.Add(5 * time.Minute)
			if err := pollAt(t, p, t2); err == nil {
				t.Fatal("the poll during the outage succeeded")
			}
			if got := awsSeries(t, p); got != series1 {
				t.Errorf("series changed during the outage:\nbefore:\n%s\nduring:\n%s", series1, got)
			}
			checks2 := exported(p.Checks())
			for n, c1 := range checks1 {
				c2, ok := checks2[n]
				switch {
				case strings.HasPrefix(n, "aws.api."):
					continue
				case !ok:
					t.Errorf("dxwatch_check_ok{check=%q} vanished during the outage", n)
				case c2.Status != c1.Status:
					t.Errorf("%s went %s -> %s during the outage: %s", n, c1.Status, c2.Status, c2.Reason)
				}
			}
			if api := checks2["aws.api.default.us-east-1"]; api.Status != probes.Fail {
				t.Errorf("aws.api during the outage: %s %s", api.Status, api.Reason)
			}
			if c := checks2["aws.vif.primary.bgp"]; faults != nil && !strings.Contains(c.Reason, "[last known: not read since "+t1.Format(time.RFC3339)+"]") &&
				name != "EC2 and STS down" {
				t.Errorf("aws.vif.primary.bgp is not marked as last known: %s", c.Reason)
			}
			if got := gaugeValue(t, p, "dxwatch_aws_last_success_timestamp_seconds"); got != float64(t1.Unix()) {
				t.Errorf("last success %v during the outage, want %d (the healthy poll)", got, t1.Unix())
			}

			srv.ClearFaults()
			srv.Update(func(sc *awstest.Scenario) { sc.Accounts[0].Deny = nil })
			t3 := t2.Add(5 * time.Minute)
			if err := pollAt(t, p, t3); err != nil {
				t.Fatal(err)
			}
			if got := gaugeValue(t, p, "dxwatch_aws_last_success_timestamp_seconds"); got != float64(t3.Unix()) {
				t.Errorf("last success %v after the outage, want %d", got, t3.Unix())
			}
			for _, c := range p.Checks() {
				if strings.Contains(c.Reason, lastKnown) {
					t.Errorf("%s still marked last known after a healthy poll: %s", c.Name, c.Reason)
				}
			}
			if got := awsSeries(t, p); got != series1 {
				t.Errorf("series after the outage differ from before:\n%s", got)
			}
		})
	}
}

// TestCompletePollDropsGone: a resource that a complete poll no longer
// finds leaves the metrics (only a failed poll keeps what it could not
// read).
func TestCompletePollDropsGone(t *testing.T) {
	srv, url := fake(t, awstest.LabScenario())
	p, _ := testProbe(t, labConfig(), labSite(), url)
	if err := pollAt(t, p, fixedNow); err != nil {
		t.Fatal(err)
	}
	srv.Update(func(sc *awstest.Scenario) {
		sc.RouteTables = sc.RouteTables[:1]
	})
	if err := pollAt(t, p, fixedNow.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if s := awsSeries(t, p); strings.Contains(s, awstest.LabRouteTable2) {
		t.Errorf("deleted route table still exported:\n%s", s)
	}
}
