package aws

import (
	"context"
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
// judged on its own, a family without series is "not published".
func TestCloudWatchBGPPerFamily(t *testing.T) {
	ipv6Peer := awstest.BGPPeer{BgpPeerID: "dxpeer-lab0006", Asn: 65001, AddressFamily: "ipv6",
		AmazonAddress: "2001:db8:10::1/125", CustomerAddress: "2001:db8:10::2/125", BgpPeerState: "available", BgpStatus: "up"}
	tests := []struct {
		name   string
		mutate func(sc *awstest.Scenario)
		status probes.CheckStatus
		has    []string
		family string // a family exported for the primary VIF
	}{
		{"IPv4 only", nil, probes.Pass, []string{"IPv4: AWS's VirtualInterfaceBgpStatus is 1 (up)", "PrefixesAccepted 1, PrefixesAdvertised 1"}, `family="ipv4"`},
		{"IPv6 peer, IPv6 down", func(sc *awstest.Scenario) {
			s := sc.Series("VirtualInterfaceBgpStatus", map[string]string{"ConnectionId": awstest.LabConnection1, "IpAddressFamily": awstest.FamilyIPv6, "VirtualInterfaceId": awstest.LabVIF1})
			s.Values = awstest.Const(len(s.Values), 0)
		}, probes.Fail, []string{"IPv4: AWS's VirtualInterfaceBgpStatus is 1 (up)", "IPv6: AWS's VirtualInterfaceBgpStatus for " + awstest.LabVIF1 + " is 0 (down)"}, `family="ipv6",vif="` + awstest.LabVIF1 + `"} 0`},
		{"IPv6 peer, nothing published for IPv6", func(sc *awstest.Scenario) {
			var keep []awstest.MetricSeries
			for _, m := range sc.Metrics {
				if m.Dimensions["IpAddressFamily"] != awstest.FamilyIPv6 {
					keep = append(keep, m)
				}
			}
			sc.Metrics = keep
		}, probes.Pass, []string{"IPv4: AWS's VirtualInterfaceBgpStatus is 1 (up)", "IPv6: not published"}, `family="ipv4"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := awstest.LabScenario()
			if tt.mutate != nil {
				v := sc.VIF(awstest.LabVIF1)
				v.BgpPeers = append(v.BgpPeers, ipv6Peer)
			}
			awstest.WithLabMetrics(sc, awstest.MetricsHealthy, fixedNow)
			if tt.mutate != nil {
				tt.mutate(sc)
			}
			checks, p, _ := pollScenario(t, sc, false)
			c := checks["aws.cloudwatch.primary.bgp"]
			if c.Status != tt.status {
				t.Errorf("status %s, want %s: %s", c.Status, tt.status, c.Reason)
			}
			for _, h := range tt.has {
				if !strings.Contains(c.Reason, h) {
					t.Errorf("reason %q lacks %q", c.Reason, h)
				}
			}
			if tt.status == probes.Fail && !strings.Contains(c.Fix, "IPv6 BGP session") {
				t.Errorf("fix %q does not name the IPv6 session", c.Fix)
			}
			got, err := testutil.CollectAndFormat(p, expfmt.TypeTextPlain, "dxwatch_aws_cloudwatch_vif_bgp_up")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), tt.family) {
				t.Errorf("no %s in:\n%s", tt.family, got)
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
