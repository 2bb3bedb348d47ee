package ping

import (
	"github.com/dxwatch/dxwatch/probes/expose"
	"github.com/prometheus/client_golang/prometheus"
)

// Describe sends the descriptors of every metric the probe exports.
func (p *Probe) Describe(ch chan<- *prometheus.Desc) {
	p.rtt.Describe(ch)
	p.sent.Describe(ch)
	p.received.Describe(ch)
	p.dups.Describe(ch)
	ch <- p.upDesc
	ch <- p.jitterDesc
}

// Collect sends the counters and histograms, and up and jitter built from
// each target's state. Every target has every series from the start.
func (p *Probe) Collect(ch chan<- prometheus.Metric) {
	p.rtt.Collect(ch)
	p.sent.Collect(ch)
	p.received.Collect(ch)
	p.dups.Collect(ch)
	for _, t := range p.snapshot() {
		t.mu.Lock()
		up, jitter := t.tr.up, t.tr.jitter.value()
		t.mu.Unlock()
		ch <- prometheus.MustNewConstMetric(p.upDesc, prometheus.GaugeValue, expose.Bool(up), t.spec.name)
		ch <- prometheus.MustNewConstMetric(p.jitterDesc, prometheus.GaugeValue, jitter.Seconds(), t.spec.name)
	}
}
