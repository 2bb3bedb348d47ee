package aws

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The CloudWatch families carry the newest datapoint of each AWS/DX metric
// as a plain gauge; its CloudWatch time (the start of its 5-minute period,
// minutes behind the scrape) is in dxwatch_aws_cloudwatch_sample_timestamp_seconds.
// Exposition timestamps would date them too, but Prometheus would then
// find no sample within its 5-minute lookback and the alerts would see
// nothing.
var (
	cwConnUpDesc = prometheus.NewDesc("dxwatch_aws_cloudwatch_connection_up",
		"AWS's CloudWatch ConnectionState of a connection, newest datapoint (minimum over its 5 minutes): 1 up, 0 down.", []string{"connection"}, nil)
	cwEncryptionUpDesc = prometheus.NewDesc("dxwatch_aws_cloudwatch_connection_encryption_up",
		"AWS's CloudWatch ConnectionEncryptionState of a MACsec connection, newest datapoint (minimum over its 5 minutes): 1 encryption up, 0 down.", []string{"connection"}, nil)
	cwBGPUpDesc = prometheus.NewDesc("dxwatch_aws_cloudwatch_vif_bgp_up",
		"AWS's CloudWatch VirtualInterfaceBgpStatus of a VIF's BGP session in one address family (ipv4, ipv6), newest datapoint (minimum over its 5 minutes): 1 up, 0 down.", []string{"vif", "family"}, nil)
	cwPrefixesDesc = prometheus.NewDesc("dxwatch_aws_cloudwatch_vif_bgp_prefixes",
		"Prefixes AWS accepted from on-prem, or advertised to it, over a VIF in one address family (VirtualInterfaceBgpPrefixesAccepted/Advertised), newest datapoint.", []string{"vif", "family", "direction"}, nil)
	cwBytesDesc = prometheus.NewDesc("dxwatch_aws_cloudwatch_bytes_per_second",
		"Traffic of a connection or VIF as AWS measures it (Connection/VirtualInterfaceBps* / 8: base unit bytes), newest 5-minute average; direction egress leaves AWS, ingress arrives at AWS.", []string{"resource", "direction"}, nil)
	cwPacketsDesc = prometheus.NewDesc("dxwatch_aws_cloudwatch_packets_per_second",
		"Packet rate of a connection as AWS measures it (ConnectionPps*), newest 5-minute average.", []string{"connection", "direction"}, nil)
	cwErrorsDesc = prometheus.NewDesc("dxwatch_aws_cloudwatch_connection_errors",
		"MAC-level errors AWS counted on a connection in the newest 5-minute period (ConnectionErrorCount, Sum).", []string{"connection"}, nil)
	cwLightDesc = prometheus.NewDesc("dxwatch_aws_cloudwatch_light_level_dbm",
		"Optical power at AWS's port of a dedicated connection per optical lane (ConnectionLightLevelTx: egress, Rx: ingress; lane is AWS's OpticalLaneNumber), dBm, newest 5-minute average.", []string{"connection", "direction", "lane"}, nil)
	cwSampleDesc = prometheus.NewDesc("dxwatch_aws_cloudwatch_sample_timestamp_seconds",
		"CloudWatch time (start of the 5-minute period) of the newest datapoint of each AWS/DX metric exported; CloudWatch lags by minutes.", []string{"resource", "metric"}, nil)
	headroomDesc = prometheus.NewDesc("dxwatch_failover_headroom_ratio",
		"Traffic the backup link `to` would carry if `from` failed (both links' traffic, p95 or max of the 5-minute averages over aws.cloudwatch.capacity_window) as a fraction of to's bandwidth: above 1 the backup cannot carry it.", []string{"from", "to", "direction", "statistic"}, nil)
	bandwidthDesc = prometheus.NewDesc("dxwatch_aws_connection_bandwidth_bytes_per_second",
		"Bandwidth of a connection as AWS reports it (1Gbps = 1.25e8 bytes/s).", []string{"connection"}, nil)
)

var cwDescs = []*prometheus.Desc{cwConnUpDesc, cwEncryptionUpDesc, cwBGPUpDesc, cwPrefixesDesc, cwBytesDesc, cwPacketsDesc,
	cwErrorsDesc, cwLightDesc, cwSampleDesc, headroomDesc, bandwidthDesc}

// collectCloudWatch sends the CloudWatch and capacity series of a snapshot.
func (p *Probe) collectCloudWatchMetrics(ch chan<- prometheus.Metric, snap *snapshot) {
	for _, id := range snap.connIDs() {
		if bw, ok := parseBandwidth(deref(snap.conns[id].Bandwidth)); ok {
			ch <- prometheus.MustNewConstMetric(bandwidthDesc, prometheus.GaugeValue, bw/8, id)
		}
	}
	if snap.cw == nil {
		return
	}
	send := func(id, metric string, desc *prometheus.Desc, labels ...string) {
		at, v, ok := snap.cw.get(id, metric).last()
		if !ok {
			return
		}
		if desc == cwBytesDesc {
			v /= 8
		}
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
		ch <- prometheus.MustNewConstMetric(cwSampleDesc, prometheus.GaugeValue, float64(at.Unix()), id, metric)
	}
	// sendParts sends a lane or family metric's series, one per part, and
	// the time of the newest of them once.
	sendParts := func(id, metric string, desc *prometheus.Desc, labels func(part string) []string) {
		var newest time.Time
		for _, part := range slices.Sorted(maps.Keys(snap.cw.partsOf(id, metric))) {
			at, v, ok := snap.cw.partsOf(id, metric)[part].last()
			if !ok {
				continue
			}
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels(part)...)
			if at.After(newest) {
				newest = at
			}
		}
		if !newest.IsZero() {
			ch <- prometheus.MustNewConstMetric(cwSampleDesc, prometheus.GaugeValue, float64(newest.Unix()), id, metric)
		}
	}
	for _, id := range snap.connIDs() {
		send(id, "ConnectionState", cwConnUpDesc, id)
		send(id, "ConnectionEncryptionState", cwEncryptionUpDesc, id)
		send(id, "ConnectionErrorCount", cwErrorsDesc, id)
		for _, dir := range []string{"Egress", "Ingress"} {
			d := lower(dir)
			send(id, "ConnectionBps"+dir, cwBytesDesc, id, d)
			send(id, "ConnectionPps"+dir, cwPacketsDesc, id, d)
		}
		sendParts(id, "ConnectionLightLevelTx", cwLightDesc, func(lane string) []string { return []string{id, "egress", lane} })
		sendParts(id, "ConnectionLightLevelRx", cwLightDesc, func(lane string) []string { return []string{id, "ingress", lane} })
	}
	for _, id := range snap.vifIDs() {
		sendParts(id, "VirtualInterfaceBgpStatus", cwBGPUpDesc, func(f string) []string { return []string{id, familyLabel(f)} })
		sendParts(id, "VirtualInterfaceBgpPrefixesAccepted", cwPrefixesDesc, func(f string) []string { return []string{id, familyLabel(f), "accepted"} })
		sendParts(id, "VirtualInterfaceBgpPrefixesAdvertised", cwPrefixesDesc, func(f string) []string { return []string{id, familyLabel(f), "advertised"} })
		send(id, "VirtualInterfaceBpsEgress", cwBytesDesc, id, "egress")
		send(id, "VirtualInterfaceBpsIngress", cwBytesDesc, id, "ingress")
	}
	hs, _ := snap.headrooms(p.deps.Site)
	for _, h := range hs {
		for _, stat := range []string{"p95", "max"} {
			ch <- prometheus.MustNewConstMetric(headroomDesc, prometheus.GaugeValue, h.ratio(stat), h.from, h.to, h.direction, stat)
		}
	}
}

func lower(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}
