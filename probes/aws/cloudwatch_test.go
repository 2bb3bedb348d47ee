package aws

import (
	"context"
	"strings"
	"testing"
	"time"

	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/dxwatch/dxwatch/lab/golden"

	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/probes"
)

// pollMetrics polls a fake of the lab scenario with the CloudWatch series
// of kind and returns the checks by name and the server.
func pollMetrics(t *testing.T, kind awstest.MetricsScenario, site probes.Site) (map[string]probes.CheckResult, *awstest.Server) {
	t.Helper()
	sc := awstest.WithLabMetrics(awstest.LabScenario(), kind, fixedNow)
	srv, url := fake(t, sc)
	p, _ := testProbe(t, labConfig(), site, url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	out := map[string]probes.CheckResult{}
	for _, c := range p.Checks() {
		out[c.Name] = c
	}
	return out, srv
}

func TestCloudWatchOneCallPerAccountAndRegion(t *testing.T) {
	sc := awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsHealthy, fixedNow)
	srv, url := fake(t, sc)
	cfg := labConfig()
	cfg.Regions = []string{awstest.LabRegion, "eu-west-1"} // nothing of the site there
	p, _ := testProbe(t, cfg, labSite(), url)
	for poll := 1; poll <= 3; poll++ {
		if err := p.Poll(context.Background()); err != nil {
			t.Fatalf("Poll %d: %v", poll, err)
		}
		if got := srv.Calls()["cloudwatch:GetMetricData"]; got != poll {
			t.Fatalf("after poll %d: %d GetMetricData calls, want %d (one per account and region holding the site's connections and VIFs)", poll, got, poll)
		}
	}
}

func TestCloudWatchScenarios(t *testing.T) {
	type want struct {
		check  string
		status probes.CheckStatus
		has    []string
	}
	tests := []struct {
		kind awstest.MetricsScenario
		want []want
	}{
		{awstest.MetricsHealthy, []want{
			{"aws.cloudwatch.primary.state", probes.Pass, []string{"ConnectionState is 1 (up) at 11:50Z, 10m0s ago (CloudWatch lags by minutes)"}},
			{"aws.cloudwatch.primary.bgp", probes.Pass, []string{"VirtualInterfaceBgpStatus is 1", "PrefixesAccepted 1, PrefixesAdvertised 1"}},
			{"aws.cloudwatch.primary.errors", probes.Pass, []string{"no MAC-level errors"}},
			{"aws.cloudwatch.primary.optics", probes.Pass, []string{"1000BASE-LX", "AWS receives -6.1 dBm (range -19.0 to -3.0)"}},
			{"aws.cloudwatch.secondary.optics", probes.Pass, nil},
			{"capacity.failover.primary.secondary", probes.Pass, []string{"if primary fails, secondary (1 Gbps) would carry over the last 7 days: egress p95", "connection metrics"}},
		}},
		{awstest.MetricsLightFalling, []want{
			{"aws.cloudwatch.primary.optics", probes.Fail, []string{"AWS receives -20.5 dBm (range -19.0 to -3.0)", "IEEE 802.3"}},
			{"aws.cloudwatch.secondary.optics", probes.Pass, nil},
		}},
		{awstest.MetricsErrorsRising, []want{
			{"aws.cloudwatch.primary.errors", probes.Warn, []string{"(120 in the latest 5 minutes"}},
			{"aws.cloudwatch.secondary.errors", probes.Pass, nil},
		}},
		{awstest.MetricsPeakAboveSecondary, []want{
			{"capacity.failover.primary.secondary", probes.Fail, []string{"secondary (500 Mbps)", "egress p95", "egress p95 816 Mbps (163%), max 842 Mbps (168%)"}},
			{"aws.cloudwatch.secondary.optics", probes.Skip, []string{"hosted connection via Megaport"}},
		}},
		{awstest.MetricsHosted, []want{
			{"aws.cloudwatch.primary.state", probes.Pass, nil},
			{"aws.cloudwatch.primary.errors", probes.Skip, []string{"AWS publishes its error count and light levels to Megaport"}},
			{"aws.cloudwatch.primary.optics", probes.Skip, nil},
			{"capacity.failover.primary.secondary", probes.Pass, []string{"VIF metrics"}},
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			checks, _ := pollMetrics(t, tt.kind, labSite())
			for _, w := range tt.want {
				c, ok := checks[w.check]
				if !ok {
					t.Errorf("no check %s", w.check)
					continue
				}
				if c.Status != w.status {
					t.Errorf("%s: status %s, want %s: %s", w.check, c.Status, w.status, c.Reason)
				}
				for _, h := range w.has {
					if !strings.Contains(c.Reason, h) {
						t.Errorf("%s: reason %q lacks %q", w.check, c.Reason, h)
					}
				}
				if c.Status != probes.Pass && c.Status != probes.Skip && c.Fix == "" {
					t.Errorf("%s: %s without a fix", w.check, c.Status)
				}
			}
		})
	}
}

func TestCloudWatchActiveActiveChecksBothWays(t *testing.T) {
	site := labSite()
	site.Routing.Mode, site.Routing.Primary = probes.ModeActiveActive, ""
	checks, _ := pollMetrics(t, awstest.MetricsPeakAboveSecondary, site)
	for _, name := range []string{"capacity.failover.primary.secondary", "capacity.failover.secondary.primary"} {
		c, ok := checks[name]
		if !ok {
			t.Fatalf("no check %s", name)
		}
		if !strings.Contains(c.Reason, "(both links' traffic)") {
			t.Errorf("%s: %q does not say it counts both links", name, c.Reason)
		}
	}
	// The 1 Gbps primary already peaks at 842 Mbps (84%) of its own.
	if c := checks["capacity.failover.secondary.primary"]; c.Status != probes.Warn || !strings.Contains(c.Reason, "max 842 Mbps (84%)") {
		t.Errorf("losing the secondary: %s %q, want warn at 84%%", c.Status, c.Reason)
	}
	if st := checks["capacity.failover.primary.secondary"].Status; st != probes.Fail {
		t.Errorf("losing the primary: %s, want fail (500 Mbps secondary)", st)
	}
}

func TestCloudWatchDeniedIsNamed(t *testing.T) {
	sc := awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsHealthy, fixedNow)
	sc.Accounts[0].Deny = []string{"cloudwatch:GetMetricData"}
	_, url := fake(t, sc)
	p, _ := testProbe(t, labConfig(), labSite(), url)
	if err := p.Poll(context.Background()); err == nil {
		t.Fatal("Poll succeeded with GetMetricData denied")
	}
	checks := map[string]probes.CheckResult{}
	for _, c := range p.Checks() {
		checks[c.Name] = c
	}
	api := checks["aws.api.default."+awstest.LabRegion]
	if api.Status != probes.Fail || !strings.Contains(api.Reason, "access denied to cloudwatch:GetMetricData") {
		t.Errorf("aws.api: %s %q", api.Status, api.Reason)
	}
	for _, name := range []string{"aws.cloudwatch.primary.state", "capacity.failover.primary.secondary"} {
		c := checks[name]
		if c.Status != probes.Skip || !strings.Contains(c.Fix, "cloudwatch:GetMetricData") {
			t.Errorf("%s: %s %q fix %q, want a skip naming the denied action", name, c.Status, c.Reason, c.Fix)
		}
	}
}

func TestHeadroomArithmetic(t *testing.T) {
	at := func(n int) []time.Time {
		out := make([]time.Time, n)
		for i := range out {
			out[i] = fixedNow.Add(time.Duration(i) * cwPeriod)
		}
		return out
	}
	// 1..100 Mbps on the primary, a steady 10 Mbps on the secondary.
	var up, steady []float64
	for i := 1; i <= 100; i++ {
		up = append(up, float64(i)*1e6)
		steady = append(steady, 10e6)
	}
	if got := percentile(up, 0.95); got != 95e6 {
		t.Errorf("p95 of 1..100 Mbps = %v, want 95e6 (nearest rank)", got)
	}
	if got := percentile([]float64{3, 1, 2}, 1); got != 3 {
		t.Errorf("p100 = %v, want 3", got)
	}
	sum := sumAligned(cwSeries{at(100), up}, cwSeries{at(100)[50:], steady[50:]})
	if sum.vals[49] != 50e6 || sum.vals[50] != 61e6 || len(sum.vals) != 100 {
		t.Errorf("aligned sum: [49]=%v [50]=%v len %d, want 50e6, 61e6, 100", sum.vals[49], sum.vals[50], len(sum.vals))
	}
	for _, tt := range []struct {
		bw      string
		want    float64
		wantErr bool
	}{{"1Gbps", 1e9, false}, {"500Mbps", 5e8, false}, {"10Gbps", 1e10, false}, {"50Mbps", 5e7, false}, {"1.5Gbps", 1.5e9, false}, {"fast", 0, true}, {"0Mbps", 0, true}} {
		got, ok := parseBandwidth(tt.bw)
		if ok == tt.wantErr || got != tt.want {
			t.Errorf("parseBandwidth(%q) = %v, %v", tt.bw, got, ok)
		}
	}
	for _, tt := range []struct {
		p95, max float64
		want     probes.CheckStatus
	}{
		{0.5, 0.9, probes.Pass},
		{0.8, 1.0, probes.Pass},  // at the thresholds, not above
		{0.81, 0.9, probes.Warn}, // sustained above 80%
		{0.5, 1.01, probes.Warn}, // peaks above the bandwidth
		{1.01, 1.5, probes.Fail}, // sustained above the bandwidth
	} {
		h := headroom{p95: tt.p95 * 5e8, max: tt.max * 5e8, bandwidth: 5e8}
		if got := h.status(); got != tt.want {
			t.Errorf("p95 %.2f max %.2f of the bandwidth: %s, want %s", tt.p95, tt.max, got, tt.want)
		}
	}
	for v, want := range map[float64]string{820e6: "820 Mbps", 1e9: "1 Gbps", 1.25e9: "1.25 Gbps", 64e3: "64 kbps"} {
		if got := bps(v); got != want {
			t.Errorf("bps(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestHeadroomBothDirectionsInBits(t *testing.T) {
	ts := []time.Time{fixedNow, fixedNow.Add(cwPeriod), fixedNow.Add(2 * cwPeriod)}
	s := &snapshot{cw: &cwData{series: map[string]map[string]cwSeries{
		awstest.LabConnection1: {
			"ConnectionBpsEgress":  {ts, []float64{100e6, 300e6, 200e6}},
			"ConnectionBpsIngress": {ts, []float64{50e6, 60e6, 70e6}},
		},
		awstest.LabVIF2: { // the secondary is hosted: its VIF's metrics
			"VirtualInterfaceBpsEgress":  {ts, []float64{1e6, 1e6, 1e6}},
			"VirtualInterfaceBpsIngress": {ts, []float64{2e6, 2e6, 2e6}},
		},
	}}}
	site := labSite()
	conn := func(id, bw string) *connData {
		return &connData{Connection: dxtypes.Connection{ConnectionId: &id, Bandwidth: &bw}}
	}
	vif2 := awstest.LabVIF2
	s.links = []linkView{
		{link: site.Links[0], conn: conn(awstest.LabConnection1, "1Gbps")},
		{link: site.Links[1], conn: conn(awstest.LabConnection2, "500Mbps"),
			vif: &vifData{VirtualInterface: dxtypes.VirtualInterface{VirtualInterfaceId: &vif2}}},
	}
	hs, missing := s.headrooms(labSite())
	if len(missing) != 0 || len(hs) != 2 {
		t.Fatalf("headrooms %+v, missing %v", hs, missing)
	}
	for _, h := range hs {
		// Three samples: the nearest-rank p95 is the largest, as the max.
		want := map[string]float64{"egress": 301e6, "ingress": 72e6}[h.direction]
		if h.from != "primary" || h.to != "secondary" || h.bandwidth != 5e8 || h.p95 != want || h.max != want || h.source != "connection" {
			t.Errorf("%s: %+v, want p95 = max = %v bits/s of 5e8", h.direction, h, want)
		}
	}
	if r := hs[0].ratio("max"); r != 301e6/5e8 {
		t.Errorf("egress max ratio %v", r)
	}
}

func TestCloudWatchMetrics(t *testing.T) {
	sc := awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsPeakAboveSecondary, fixedNow)
	_, url := fake(t, sc)
	p, _ := testProbe(t, labConfig(), labSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	// dBm is the unit optics are specified in; no base unit fits.
	lintMetrics(t, p, "dxwatch_aws_cloudwatch_light_level_dbm")
	got, err := testutil.CollectAndFormat(p, expfmt.TypeTextPlain,
		"dxwatch_aws_cloudwatch_connection_up", "dxwatch_aws_cloudwatch_vif_bgp_up", "dxwatch_aws_cloudwatch_vif_bgp_prefixes",
		"dxwatch_aws_cloudwatch_bytes_per_second", "dxwatch_aws_cloudwatch_packets_per_second", "dxwatch_aws_cloudwatch_connection_errors",
		"dxwatch_aws_cloudwatch_light_level_dbm", "dxwatch_aws_cloudwatch_sample_timestamp_seconds",
		"dxwatch_failover_headroom_ratio", "dxwatch_aws_connection_bandwidth_bytes_per_second")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/metrics_cloudwatch.golden", got)
	// The hosted secondary's owner gets no light levels: no series, not 0.
	if strings.Contains(string(got), `dxwatch_aws_cloudwatch_light_level_dbm{connection="`+awstest.LabConnection2) {
		t.Error("light level exported for the hosted secondary")
	}
	if !strings.Contains(string(got), `dxwatch_failover_headroom_ratio{direction="egress",from="primary",statistic="max",to="secondary"} 1.68`) {
		t.Error("no egress max headroom ratio of 1.68… for primary onto the 500 Mbps secondary")
	}
}

func TestCloudWatchConfig(t *testing.T) {
	for _, tt := range []struct {
		window   time.Duration
		disabled bool
		want     string
	}{
		{DefaultCapacityWindow, false, ""},
		{time.Hour, false, ""},
		{MaxCapacityWindow, false, ""},
		{30 * time.Minute, false, "cloudwatch.capacity_window: 30m0s is outside 1h to 1512h0m0s"},
		{MaxCapacityWindow + time.Hour, false, "cloudwatch.capacity_window: 1513h0m0s is outside"},
		{0, true, ""}, // not read when disabled
	} {
		cfg := labConfig()
		cfg.CloudWatch = CloudWatchConfig{CapacityWindow: tt.window, Disabled: tt.disabled}
		err := cfg.Validate(labSite())
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("window %s disabled %v: %v, want %q", tt.window, tt.disabled, err, tt.want)
		}
	}
	if DefaultConfig().CloudWatch.CapacityWindow != 7*24*time.Hour {
		t.Error("the default capacity window is not 7 days")
	}
}

func TestCloudWatchDisabled(t *testing.T) {
	sc := awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsHealthy, fixedNow)
	srv, url := fake(t, sc)
	cfg := labConfig()
	cfg.CloudWatch.Disabled = true
	p, _ := testProbe(t, cfg, labSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls()["cloudwatch:GetMetricData"]; n != 0 {
		t.Errorf("%d GetMetricData calls with cloudwatch.disabled", n)
	}
	for _, c := range p.Checks() {
		if strings.HasPrefix(c.Name, "aws.cloudwatch.") || strings.HasPrefix(c.Name, "capacity.") {
			t.Errorf("check %s with cloudwatch.disabled", c.Name)
		}
	}
}

// TestCloudWatchPaged reads the same series through GetMetricData pages
// of at most 3,000 datapoints: the checks say the same as in one page.
func TestCloudWatchPaged(t *testing.T) {
	reasons := func(pageSize int) (map[string]string, int) {
		sc := awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsPeakAboveSecondary, fixedNow)
		sc.MetricsPageSize = pageSize
		srv, url := fake(t, sc)
		p, _ := testProbe(t, labConfig(), labSite(), url)
		if err := p.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range p.Checks() {
			if strings.HasPrefix(c.Name, "aws.cloudwatch.") || strings.HasPrefix(c.Name, "capacity.") {
				out[c.Name] = string(c.Status) + " " + c.Reason
			}
		}
		return out, srv.Calls()["cloudwatch:GetMetricData"]
	}
	one, n1 := reasons(0)
	paged, n2 := reasons(3000)
	if n1 != 1 || n2 < 5 {
		t.Errorf("%d and %d requests, want 1 unpaged and several paged", n1, n2)
	}
	// 4 per link (state, errors, optics, bgp), the IPv6 peering's bgp
	// line of each dual-stack link, and capacity.
	if len(one) != 11 {
		t.Errorf("%d CloudWatch checks, want 11", len(one))
	}
	for name, r := range one {
		if paged[name] != r {
			t.Errorf("%s paged: %q\nunpaged: %q", name, paged[name], r)
		}
	}
}

// TestCloudWatchObservations: the CloudWatch checks reach the health model
// as AWS checks of their link (which only degrade it), the capacity check
// as a site check.
func TestCloudWatchObservations(t *testing.T) {
	got := map[string]probes.Observation{}
	for _, o := range pollObserved(t, awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsLightFalling, fixedNow)) {
		got[o.Check] = o
	}
	if o := got["aws.cloudwatch.primary.optics"]; o.Event != probes.AWSCheck || o.Link != "primary" || o.Up || !strings.Contains(o.Detail, "-20.5 dBm") {
		t.Errorf("optics observation %+v", o)
	}
	if o := got["aws.cloudwatch.primary.bgp"]; o.Link != "primary" || !o.Up {
		t.Errorf("bgp observation %+v", o)
	}
	if o, ok := got["capacity.failover.primary.secondary"]; !ok || o.Link != "" || !o.Up {
		t.Errorf("capacity observation %+v (present %v), want a passing site check", o, ok)
	}
}
