package aws

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/probes"
)

// pollScenario polls a fake of sc and returns the checks by name and the
// probe.
func pollScenario(t *testing.T, sc *awstest.Scenario, wantErr bool) (map[string]probes.CheckResult, *Probe, *awstest.Server) {
	t.Helper()
	srv, url := fake(t, sc)
	p, logs := testProbe(t, labConfig(), labSite(), url)
	if err := p.Poll(context.Background()); (err != nil) != wantErr {
		t.Fatalf("Poll: %v\n%s", err, logs)
	}
	out := map[string]probes.CheckResult{}
	for _, c := range p.Checks() {
		out[c.Name] = c
	}
	return out, p, srv
}

// TestCloudWatchOpticsPerLane: the fake publishes the light levels only
// per {ConnectionId, OpticalLaneNumber}, as AWS does; every lane is judged
// and the worst named.
func TestCloudWatchOpticsPerLane(t *testing.T) {
	tests := []struct {
		name, bandwidth string
		rxLane3         float64 // 0: as the lab has it
		status          probes.CheckStatus
		has             []string
		lanes           int
	}{
		{"1G one lane", "1Gbps", 0, probes.Pass, []string{"1000BASE-LX", "lane 1: AWS transmits -5.2 dBm (range -11.0 to -3.0); AWS receives -6.1 dBm (range -19.0 to -3.0)"}, 1},
		{"10G one lane", "10Gbps", 0, probes.Pass, []string{"10GBASE-LR", "lane 1: AWS transmits -5.2 dBm (range -8.2 to 0.5); AWS receives -6.1 dBm (range -14.4 to 0.5)"}, 1},
		{"100G four lanes in range", "100Gbps", 0, probes.Pass, []string{"100GBASE-LR4", "4 lanes", "AWS receives by lane: 1 -6.1, 2 -6.1, 3 -6.1, 4 -6.1 dBm"}, 4},
		{"100G lane 3 below range", "100Gbps", -12.3, probes.Fail, []string{"4 lanes, worst lane 3: AWS receives -12.3 dBm (range -10.6 to 4.5)", "AWS receives by lane: 1 -6.1, 2 -6.1, 3 -12.3, 4 -6.1 dBm"}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := awstest.LabScenario()
			sc.Connection(awstest.LabConnection1).Bandwidth = tt.bandwidth
			awstest.WithLabMetrics(sc, awstest.MetricsHealthy, fixedNow)
			if tt.rxLane3 != 0 {
				s := sc.Series("ConnectionLightLevelRx", map[string]string{"ConnectionId": awstest.LabConnection1, "OpticalLaneNumber": "3"})
				if s == nil {
					t.Fatal("the fake has no lane 3 of a 100 Gbps port")
				}
				s.Values = awstest.Const(len(s.Values), tt.rxLane3)
			}
			checks, p, srv := pollScenario(t, sc, false)
			c := checks["aws.cloudwatch.primary.optics"]
			if c.Status != tt.status {
				t.Errorf("status %s, want %s: %s", c.Status, tt.status, c.Reason)
			}
			for _, h := range tt.has {
				if !strings.Contains(c.Reason, h) {
					t.Errorf("reason %q lacks %q", c.Reason, h)
				}
			}
			if tt.status == probes.Fail && !strings.Contains(c.Fix, "lane 3") {
				t.Errorf("fix %q does not name lane 3", c.Fix)
			}
			if got := srv.Calls()["cloudwatch:ListMetrics"]; got != 2 {
				t.Errorf("%d ListMetrics calls, want 2 (one per connection)", got)
			}
			got, err := testutil.CollectAndFormat(p, expfmt.TypeTextPlain, "dxwatch_aws_cloudwatch_light_level_dbm")
			if err != nil {
				t.Fatal(err)
			}
			n := strings.Count(string(got), `dxwatch_aws_cloudwatch_light_level_dbm{connection="`+awstest.LabConnection1+`",direction="ingress",lane=`)
			if n != tt.lanes {
				t.Errorf("%d ingress light level series of the primary, want %d:\n%s", n, tt.lanes, got)
			}
			if tt.rxLane3 != 0 && !strings.Contains(string(got), `{connection="`+awstest.LabConnection1+`",direction="ingress",lane="3"} -12.3`) {
				t.Errorf("lane 3's level not exported:\n%s", got)
			}
		})
	}
}

// TestCloudWatchBGPPerFamily: the fake publishes the VIF BGP metrics only
// per {ConnectionId, IpAddressFamily, VirtualInterfaceId}; each family is
// judged on its own, a family without series is "not published". On the
// lab's dual-stack links each peering has its own line, carrying its
// family (aws.cloudwatch.primary.bgp for IPv4, .bgp.ipv6); a
// single-family link's one line judges every family the VIF has.
func TestCloudWatchBGPPerFamily(t *testing.T) {
	ipv6Down := func(sc *awstest.Scenario) {
		s := sc.Series("VirtualInterfaceBgpStatus", map[string]string{"ConnectionId": awstest.LabConnection1, "IpAddressFamily": awstest.FamilyIPv6, "VirtualInterfaceId": awstest.LabVIF1})
		s.Values = awstest.Const(len(s.Values), 0)
	}
	type line struct {
		status probes.CheckStatus
		family string
		has    []string
	}
	tests := []struct {
		name        string
		mutate      func(sc *awstest.Scenario)
		singleStack bool
		want        map[string]line
		exported    string // a family exported for the primary VIF
	}{
		{"dual-stack, both up", nil, false, map[string]line{
			"aws.cloudwatch.primary.bgp":      {probes.Pass, probes.FamilyIPv4, []string{"IPv4: AWS's VirtualInterfaceBgpStatus is 1 (up)", "PrefixesAccepted 1, PrefixesAdvertised 1"}},
			"aws.cloudwatch.primary.bgp.ipv6": {probes.Pass, probes.FamilyIPv6, []string{"IPv6: AWS's VirtualInterfaceBgpStatus is 1 (up)"}},
		}, `family="ipv6",vif="` + awstest.LabVIF1 + `"} 1`},
		{"dual-stack, IPv6 down", ipv6Down, false, map[string]line{
			"aws.cloudwatch.primary.bgp":      {probes.Pass, probes.FamilyIPv4, []string{"IPv4: AWS's VirtualInterfaceBgpStatus is 1 (up)"}},
			"aws.cloudwatch.primary.bgp.ipv6": {probes.Fail, probes.FamilyIPv6, []string{"IPv6: AWS's VirtualInterfaceBgpStatus for " + awstest.LabVIF1 + " is 0 (down)", "IPv6 BGP session"}},
		}, `family="ipv6",vif="` + awstest.LabVIF1 + `"} 0`},
		{"dual-stack, nothing published for IPv6", func(sc *awstest.Scenario) {
			sc.Metrics = slices.DeleteFunc(sc.Metrics, func(m awstest.MetricSeries) bool { return m.Dimensions["IpAddressFamily"] == awstest.FamilyIPv6 })
		}, false, map[string]line{
			"aws.cloudwatch.primary.bgp":      {probes.Pass, probes.FamilyIPv4, []string{"IPv4: AWS's VirtualInterfaceBgpStatus is 1 (up)"}},
			"aws.cloudwatch.primary.bgp.ipv6": {probes.Skip, probes.FamilyIPv6, []string{"IPv6: not published"}},
		}, `family="ipv4"`},
		{"single-family link, its VIF's IPv6 down", ipv6Down, true, map[string]line{
			"aws.cloudwatch.primary.bgp": {probes.Fail, "", []string{"IPv4: AWS's VirtualInterfaceBgpStatus is 1 (up)", "IPv6: AWS's VirtualInterfaceBgpStatus for " + awstest.LabVIF1 + " is 0 (down)", "IPv6 BGP session"}},
		}, `family="ipv6",vif="` + awstest.LabVIF1 + `"} 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsHealthy, fixedNow)
			if tt.mutate != nil {
				tt.mutate(sc)
			}
			site := labSite()
			if tt.singleStack {
				site.Links[0].IPv6, site.Links[1].IPv6 = probes.Peering{}, probes.Peering{}
			}
			_, url := fake(t, sc)
			p, logs := testProbe(t, labConfig(), site, url)
			if err := p.Poll(context.Background()); err != nil {
				t.Fatalf("Poll: %v\n%s", err, logs)
			}
			checks := checksByName(p.Checks())
			if _, ok := checks["aws.cloudwatch.primary.bgp.ipv6"]; tt.singleStack && ok {
				t.Error("a single-family link has an IPv6 line")
			}
			for name, w := range tt.want {
				c := checks[name]
				if c.Status != w.status || c.Family != w.family {
					t.Errorf("%s: status %s family %q, want %s %q: %s", name, c.Status, c.Family, w.status, w.family, c.Reason)
				}
				for _, h := range w.has {
					if !strings.Contains(c.Reason+"\n"+c.Fix, h) {
						t.Errorf("%s: reason %q (fix %q) lacks %q", name, c.Reason, c.Fix, h)
					}
				}
			}
			got, err := testutil.CollectAndFormat(p, expfmt.TypeTextPlain, "dxwatch_aws_cloudwatch_vif_bgp_up")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), tt.exported) {
				t.Errorf("no %s in:\n%s", tt.exported, got)
			}
		})
	}
}

// TestCloudWatchListMetricsDenied: without cloudwatch:ListMetrics the
// lanes and families cannot be found; the checks say so, and name the
// action, instead of passing or failing.
func TestCloudWatchListMetricsDenied(t *testing.T) {
	sc := awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsHealthy, fixedNow)
	sc.Accounts[0].Deny = []string{"cloudwatch:ListMetrics"}
	checks, _, _ := pollScenario(t, sc, true)
	for _, name := range []string{"aws.cloudwatch.primary.optics", "aws.cloudwatch.primary.bgp"} {
		c := checks[name]
		if c.Status != probes.Skip || !strings.Contains(c.Reason, "cloudwatch:ListMetrics") {
			t.Errorf("%s: %s %q, want a skip naming cloudwatch:ListMetrics", name, c.Status, c.Reason)
		}
	}
	if c := checks["aws.cloudwatch.primary.state"]; c.Status != probes.Pass {
		t.Errorf("aws.cloudwatch.primary.state: %s %q: the fixed series are read without ListMetrics", c.Status, c.Reason)
	}
}

// TestCloudWatchLanesKeptWhenListMetricsFails: a poll whose ListMetrics
// fails keeps the lanes' and families' series at their last known values,
// as every aws series is kept through a failed poll.
func TestCloudWatchLanesKeptWhenListMetricsFails(t *testing.T) {
	srv, url := fake(t, awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsHealthy, fixedNow))
	p, logs := testProbe(t, labConfig(), labSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v\n%s", err, logs)
	}
	srv.Update(func(sc *awstest.Scenario) { sc.Accounts[0].Deny = []string{"cloudwatch:ListMetrics"} })
	if err := p.Poll(context.Background()); err == nil {
		t.Fatal("the poll with ListMetrics denied did not fail")
	}
	got, err := testutil.CollectAndFormat(p, expfmt.TypeTextPlain, "dxwatch_aws_cloudwatch_light_level_dbm", "dxwatch_aws_cloudwatch_vif_bgp_up")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`dxwatch_aws_cloudwatch_light_level_dbm{connection="` + awstest.LabConnection1 + `",direction="ingress",lane="1"} -6.1`,
		`dxwatch_aws_cloudwatch_vif_bgp_up{family="ipv4",vif="` + awstest.LabVIF1 + `"} 1`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("no %s after the failed poll:\n%s", want, got)
		}
	}
}
