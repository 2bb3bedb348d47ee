package awstest

import (
	"slices"
	"strconv"
	"time"
)

// MetricsScenario names a shape of the lab's CloudWatch time series.
type MetricsScenario string

// The CloudWatch scenarios of the lab.
const (
	// MetricsHealthy: both links up, optics mid-range, no errors; the
	// primary peaks at 400 Mbps egress, the secondary idles.
	MetricsHealthy MetricsScenario = "healthy"
	// MetricsLightFalling: the primary's receive level at AWS falls over
	// the last 6 hours from -6.1 to -20.5 dBm, below 1000BASE-LX's -19.
	MetricsLightFalling MetricsScenario = "light-falling"
	// MetricsErrorsRising: the primary's error count rises over the last
	// 2 hours from 0 to 120 per 5 minutes.
	MetricsErrorsRising MetricsScenario = "errors-rising"
	// MetricsPeakAboveSecondary: the secondary is a 500 Mbps hosted
	// connection (via Megaport) while the primary peaks at 820 Mbps
	// egress.
	MetricsPeakAboveSecondary MetricsScenario = "peak-above-secondary"
	// MetricsHosted: both connections are hosted (via Megaport): their
	// owner gets ConnectionState and the VIF metrics only.
	MetricsHosted MetricsScenario = "hosted"
)

// MetricsScenarios lists every scenario.
var MetricsScenarios = []MetricsScenario{MetricsHealthy, MetricsLightFalling, MetricsErrorsRising, MetricsPeakAboveSecondary, MetricsHosted}

// labMetricsSpan is how much history the lab's series hold: the default
// capacity window (7 days) and an hour more.
const labMetricsSpan = 7*24*time.Hour + time.Hour

// ParseMetricsScenario returns the scenario named s.
func ParseMetricsScenario(s string) (MetricsScenario, bool) {
	for _, k := range MetricsScenarios {
		if string(k) == s {
			return k, true
		}
	}
	return "", false
}

// WithLabMetrics gives sc (a LabScenario) CloudWatch series shaped as kind,
// one point every 5 minutes up to end, and changes its connections as the
// scenario needs (hosted, 500 Mbps). It returns sc.
func WithLabMetrics(sc *Scenario, kind MetricsScenario, end time.Time) *Scenario {
	const step = 5 * time.Minute
	end = end.Truncate(step)
	// The newest point is 10 minutes old: CloudWatch publishes late.
	start := end.Add(-labMetricsSpan - step)
	n := int(labMetricsSpan / step)
	tail := func(values []float64, last []float64) []float64 {
		copy(values[len(values)-len(last):], last)
		return values
	}
	type link struct {
		conn, vif           string
		egressHi, ingressHi float64
		hosted              bool
	}
	links := []link{
		{LabConnection1, LabVIF1, 400e6, 150e6, kind == MetricsHosted},
		{LabConnection2, LabVIF2, 0.2e6, 0.2e6, kind == MetricsHosted || kind == MetricsPeakAboveSecondary},
	}
	if c := sc.Connection(LabConnection2); c != nil && kind == MetricsPeakAboveSecondary {
		links[0].egressHi, links[0].ingressHi = 820e6, 300e6
		c.Bandwidth, c.PartnerName, c.AwsDevice = "500Mbps", "Megaport", ""
	}
	for _, id := range []string{LabConnection1, LabConnection2} {
		if c := sc.Connection(id); c != nil && kind == MetricsHosted {
			c.PartnerName = "Megaport"
		}
	}
	sc.Metrics = nil
	for i, l := range links {
		add := func(dims map[string]string, metric string, values []float64) {
			sc.Metrics = append(sc.Metrics, Series(LabAccount, LabRegion, metric, dims, start, step, values))
		}
		egress := Diurnal(n, start, step, l.egressHi/8, l.egressHi)
		ingress := Diurnal(n, start, step, l.ingressHi/8, l.ingressHi)
		conn := map[string]string{"ConnectionId": l.conn}
		add(conn, "ConnectionState", Const(n, 1))
		if !l.hosted {
			add(conn, "ConnectionBpsEgress", egress)
			add(conn, "ConnectionBpsIngress", ingress)
			add(conn, "ConnectionPpsEgress", scale(egress, 1.0/8/700))
			add(conn, "ConnectionPpsIngress", scale(ingress, 1.0/8/700))
			errs := Const(n, 0)
			rx := Const(n, -6.1)
			if i == 0 && kind == MetricsErrorsRising {
				errs = tail(errs, Ramp(int(2*time.Hour/step), 0, 120))
			}
			if i == 0 && kind == MetricsLightFalling {
				rx = tail(rx, Ramp(int(6*time.Hour/step), -6.1, -20.5))
			}
			add(conn, "ConnectionErrorCount", errs)
			// One series per optical lane; the fault of a scenario is on
			// lane 1.
			bw := ""
			if c := sc.Connection(l.conn); c != nil {
				bw = c.Bandwidth
			}
			tx := -5.2 // mid-range for 1000BASE-LX and 10GBASE-LR
			if OpticalLanes(bw) > 1 {
				tx = 0.8 // and for 100GBASE-LR4's lanes
			}
			for lane := 1; lane <= OpticalLanes(bw); lane++ {
				ln := map[string]string{"ConnectionId": l.conn, "OpticalLaneNumber": strconv.Itoa(lane)}
				add(ln, "ConnectionLightLevelTx", Const(n, tx))
				if lane == 1 {
					add(ln, "ConnectionLightLevelRx", rx)
				} else {
					add(ln, "ConnectionLightLevelRx", Const(n, -6.1))
				}
			}
		}
		if c := sc.Connection(l.conn); c != nil && c.MacSecCapable != nil && *c.MacSecCapable && c.EncryptionMode != "" && c.EncryptionMode != "no_encrypt" {
			add(conn, "ConnectionEncryptionState", Const(n, boolValue(c.PortEncryptionStatus == "Encryption Up")))
		}
		vif := map[string]string{"ConnectionId": l.conn, "VirtualInterfaceId": l.vif}
		add(vif, "VirtualInterfaceBpsEgress", egress)
		add(vif, "VirtualInterfaceBpsIngress", ingress)
		// The BGP metrics per address family of the VIF's peers.
		for _, fam := range vifFamilies(sc.VIF(l.vif)) {
			bgp := map[string]string{"ConnectionId": l.conn, "IpAddressFamily": fam, "VirtualInterfaceId": l.vif}
			add(bgp, "VirtualInterfaceBgpStatus", Const(n, 1))
			add(bgp, "VirtualInterfaceBgpPrefixesAccepted", Const(n, 1))
			add(bgp, "VirtualInterfaceBgpPrefixesAdvertised", Const(n, 1))
		}
	}
	return sc
}

// OpticalLanes is how many optical lanes a dedicated port of the bandwidth
// has, each with its own ConnectionLightLevelTx/Rx series: one at 1 and
// 10 Gbps (1000BASE-LX, 10GBASE-LR), four at 100 Gbps (100GBASE-LR4),
// eight at 400 Gbps (400GBASE-LR8). AWS numbers them in the
// OpticalLaneNumber dimension; the fake numbers them from 1 (no AWS page
// found gives the values).
func OpticalLanes(bandwidth string) int {
	switch bandwidth {
	case "100Gbps":
		return 4
	case "400Gbps":
		return 8
	}
	return 1
}

// vifFamilies returns the IpAddressFamily values of a VIF's BGP peers, in
// the order of the peers, each once.
func vifFamilies(v *VirtualInterface) []string {
	var out []string
	if v == nil {
		return []string{FamilyIPv4}
	}
	for _, p := range v.BgpPeers {
		f := FamilyIPv4
		if p.AddressFamily == "ipv6" {
			f = FamilyIPv6
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Series returns the scenario's series of the metric under exactly dims,
// or nil.
func (sc *Scenario) Series(metric string, dims map[string]string) *MetricSeries {
	for i := range sc.Metrics {
		if m := &sc.Metrics[i]; m.MetricName == metric && mapsEqual(m.Dimensions, dims) {
			return m
		}
	}
	return nil
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func scale(vs []float64, f float64) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = v * f
	}
	return out
}
