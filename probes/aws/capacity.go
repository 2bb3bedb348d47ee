package aws

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// Thresholds of the failover capacity check, as fractions of the backup's
// bandwidth.
const (
	capacityWarn = 0.8
	capacityFail = 1.0
)

// Directions of traffic, as AWS names them from its side of the link:
// egress leaves AWS towards on-prem, ingress arrives at AWS from on-prem.
var directions = []string{"egress", "ingress"}

// parseBandwidth returns a bandwidth as AWS writes it ("1Gbps",
// "500Mbps") in bits per second.
func parseBandwidth(s string) (float64, bool) {
	for suffix, mult := range map[string]float64{"Gbps": 1e9, "Mbps": 1e6} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v <= 0 {
				return 0, false
			}
			return v * mult, true
		}
	}
	return 0, false
}

// percentile returns the q-quantile (0 < q <= 1) of vs by the nearest-rank
// method: the smallest value with at least q of the values at or below it.
func percentile(vs []float64, q float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	rank := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(rank, len(s)-1))]
}

// sumAligned adds series that share timestamps; a timestamp missing from
// one of them counts it as 0 (no traffic reported).
func sumAligned(ss ...cwSeries) cwSeries {
	total := map[time.Time]float64{}
	for _, s := range ss {
		for i, t := range s.at {
			total[t] += s.vals[i]
		}
	}
	var out cwSeries
	for t := range total {
		out.at = append(out.at, t)
	}
	slices.SortFunc(out.at, func(a, b time.Time) int { return a.Compare(b) })
	for _, t := range out.at {
		out.vals = append(out.vals, total[t])
	}
	return out
}

// headroom is what the backup `to` would carry in one direction if `from`
// failed: its own traffic plus from's, at p95 and max of the 5-minute
// averages over the window, against its bandwidth (all in bits/s).
type headroom struct {
	from, to, direction string
	p95, max, bandwidth float64
	samples             int
	source              string // "connection" or "VIF": which metrics were read
}

func (h headroom) ratio(stat string) float64 {
	if stat == "max" {
		return h.max / h.bandwidth
	}
	return h.p95 / h.bandwidth
}

// status judges the headroom: fail when the p95 load exceeds the backup's
// bandwidth (the failover would congest most of the time), warn when it
// exceeds 80% of it or when the max exceeds it (congestion at peaks).
func (h headroom) status() probes.CheckStatus {
	switch p, m := h.ratio("p95"), h.ratio("max"); {
	case p > capacityFail:
		return probes.Fail
	case p > capacityWarn || m > capacityFail:
		return probes.Warn
	}
	return probes.Pass
}

// linkTraffic returns a link's traffic in one direction and where it comes
// from: the connection's metrics, else (a hosted connection's owner does
// not get them) the VIF's.
func (s *snapshot) linkTraffic(lv linkView, direction string) (cwSeries, string) {
	metric := "Bps" + strings.ToUpper(direction[:1]) + direction[1:]
	if lv.conn != nil {
		if ser := s.cw.get(deref(lv.conn.ConnectionId), "Connection"+metric); !ser.empty() {
			return ser, "connection"
		}
	}
	if lv.vif != nil {
		if ser := s.cw.get(deref(lv.vif.VirtualInterfaceId), "VirtualInterface"+metric); !ser.empty() {
			return ser, "VIF"
		}
	}
	return cwSeries{}, ""
}

// failoverPairs returns the (from, to) link pairs to check: the primary
// onto each other link in active/passive, every link onto every other in
// active/active.
func failoverPairs(site probes.Site, links []linkView) [][2]linkView {
	var out [][2]linkView
	for _, from := range links {
		if site.Routing.Mode != probes.ModeActiveActive && from.link.Name != site.Routing.Primary {
			continue
		}
		for _, to := range links {
			if to.link.Name != from.link.Name {
				out = append(out, [2]linkView{from, to})
			}
		}
	}
	return out
}

// headrooms computes the failover headroom of every pair and direction
// with data; a pair it cannot compute is returned in missing with why.
func (s *snapshot) headrooms(site probes.Site) (out []headroom, missing map[[2]string]string) {
	missing = map[[2]string]string{}
	for _, pr := range failoverPairs(site, s.links) {
		from, to := pr[0], pr[1]
		key := [2]string{from.link.Name, to.link.Name}
		if to.conn == nil || deref(to.conn.Bandwidth) == "" {
			missing[key] = fmt.Sprintf("the bandwidth of %s is unknown (its connection was not read)", to.link.Name)
			continue
		}
		bw, ok := parseBandwidth(deref(to.conn.Bandwidth))
		if !ok {
			missing[key] = fmt.Sprintf("the bandwidth of %s, %q, is not one dxwatch reads", to.link.Name, deref(to.conn.Bandwidth))
			continue
		}
		for _, dir := range directions {
			fs, src := s.linkTraffic(from, dir)
			ts, _ := s.linkTraffic(to, dir)
			if fs.empty() {
				missing[key] = fmt.Sprintf("CloudWatch has no %s traffic of %s in the window", dir, from.link.Name)
				continue
			}
			load := sumAligned(fs, ts)
			out = append(out, headroom{from: from.link.Name, to: to.link.Name, direction: dir,
				p95: percentile(load.vals, 0.95), max: slices.Max(load.vals), bandwidth: bw,
				samples: len(load.vals), source: src})
		}
	}
	return out, missing
}

// capacity adds a check capacity.failover.<from>.<to> per failover pair:
// can the backup carry the traffic when the other link fails?
func (c *checker) capacity() {
	if c.cfg.CloudWatch.Disabled || c.s.cw == nil {
		return
	}
	hs, missing := c.s.headrooms(c.site)
	window := c.cfg.CloudWatch.CapacityWindow
	for _, pr := range failoverPairs(c.site, c.s.links) {
		from, to := pr[0].link.Name, pr[1].link.Name
		name := "capacity.failover." + from + "." + to
		order := probes.OrderRedundancy + 50
		var mine []headroom
		for _, h := range hs {
			if h.from == from && h.to == to {
				mine = append(mine, h)
			}
		}
		if len(mine) == 0 {
			c.capacityUnknown(name, order, pr[0], missing[[2]string{from, to}])
			continue
		}
		worst := probes.Pass
		var parts []string
		for _, h := range mine {
			worst = worseOf(worst, h.status())
			parts = append(parts, fmt.Sprintf("%s p95 %s (%.0f%%), max %s (%.0f%%)",
				h.direction, bps(h.p95), 100*h.ratio("p95"), bps(h.max), 100*h.ratio("max")))
		}
		h := mine[0]
		what := fmt.Sprintf("if %s fails, %s (%s) would carry over the last %s: %s", from, to, bps(h.bandwidth), span(window), strings.Join(parts, "; "))
		if c.site.Routing.Mode == probes.ModeActiveActive {
			what += " (both links' traffic)"
		}
		what += fmt.Sprintf(" [5-minute averages from CloudWatch %s metrics, %d samples]", h.source, h.samples)
		fix := ""
		if worst != probes.Pass {
			fix = fmt.Sprintf("give %s the capacity of %s: a larger hosted connection or dedicated port, or a LAG; or mark the traffic that must survive a failover with QoS (DSCP) on the edge so the rest is dropped first", to, from)
		}
		c.add(name, order, "", worst, fix, "%s", what)
	}
}

// capacityUnknown skips a capacity check, saying why.
func (c *checker) capacityUnknown(name string, order int, from linkView, why string) {
	if f := c.s.failed("cloudwatch:GetMetricData"); f != nil {
		c.unread(name, order, "", "the traffic of "+from.link.Name, f)
		return
	}
	c.add(name, order, "", probes.Skip, "", "%s", orDefault(why, "no CloudWatch data"))
}

func worseOf(a, b probes.CheckStatus) probes.CheckStatus {
	rank := map[probes.CheckStatus]int{probes.Pass: 0, probes.Skip: 0, probes.Warn: 1, probes.Fail: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// bps formats bits per second as a network engineer writes them.
func bps(v float64) string {
	switch {
	case v >= 1e9:
		return strconv.FormatFloat(math.Round(v/1e7)/100, 'f', -1, 64) + " Gbps"
	case v >= 1e6:
		return fmt.Sprintf("%.0f Mbps", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f kbps", v/1e3)
	}
	return fmt.Sprintf("%.0f bps", v)
}

// span writes a window in days when it is whole days.
func span(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", days(d))
	}
	return d.String()
}
