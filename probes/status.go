package probes

import (
	"sync"
	"time"

	"github.com/dxwatch/dxwatch/probes/expose"
	"github.com/prometheus/client_golang/prometheus"
)

// Rounds records the rounds of one probe: whether the last one succeeded,
// how long it took and when one last succeeded. The agent exports every
// probe's Rounds through one RoundsCollector and derives /readyz from Ready.
type Rounds struct {
	kind, name string

	mu          sync.Mutex
	rounds      uint64
	lastOK      bool
	lastErr     error
	lastDur     time.Duration
	lastSuccess time.Time
	ready       chan struct{}
}

// NewRounds returns the Rounds of probe name of the given kind.
func NewRounds(kind, name string) *Rounds {
	return &Rounds{kind: kind, name: name, ready: make(chan struct{})}
}

// Done records a finished round that started at start; err is nil on success.
func (s *Rounds) Done(start time.Time, err error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rounds++
	s.lastOK = err == nil
	s.lastErr = err
	s.lastDur = now.Sub(start)
	if err == nil {
		s.lastSuccess = now
	}
	if s.rounds == 1 {
		close(s.ready)
	}
}

// Ready is closed once the probe has completed its first round.
func (s *Rounds) Ready() <-chan struct{} { return s.ready }

// Last returns the error of the last round (nil when it succeeded or none ran).
func (s *Rounds) Last() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// Kind returns the probe's kind.
func (s *Rounds) Kind() string { return s.kind }

// Name returns the probe's name.
func (s *Rounds) Name() string { return s.name }

var (
	statusSuccessDesc = prometheus.NewDesc("dxwatch_probe_success",
		"Whether the probe's last round succeeded (1) or failed (0).", []string{"probe", "kind"}, nil)
	statusDurationDesc = prometheus.NewDesc("dxwatch_probe_duration_seconds",
		"Duration of the probe's last round.", []string{"probe", "kind"}, nil)
	statusLastSuccessDesc = prometheus.NewDesc("dxwatch_probe_last_success_timestamp_seconds",
		"Unix time of the probe's last successful round (0 before the first).", []string{"probe", "kind"}, nil)
)

// RoundsCollector exports a set of Status values as const metrics.
type RoundsCollector []*Rounds

// Describe implements prometheus.Collector.
func (c RoundsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- statusSuccessDesc
	ch <- statusDurationDesc
	ch <- statusLastSuccessDesc
}

// Collect implements prometheus.Collector.
func (c RoundsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c {
		s.mu.Lock()
		ok, dur, last, rounds := s.lastOK, s.lastDur, s.lastSuccess, s.rounds
		s.mu.Unlock()
		if rounds == 0 {
			// No round yet: a 0 success would page for a probe that is
			// simply starting, so only the timestamp is exported.
			ch <- prometheus.MustNewConstMetric(statusLastSuccessDesc, prometheus.GaugeValue, 0, s.name, s.kind)
			continue
		}
		ch <- prometheus.MustNewConstMetric(statusSuccessDesc, prometheus.GaugeValue, expose.Bool(ok), s.name, s.kind)
		ch <- prometheus.MustNewConstMetric(statusDurationDesc, prometheus.GaugeValue, dur.Seconds(), s.name, s.kind)
		var ts float64
		if !last.IsZero() {
			ts = float64(last.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(statusLastSuccessDesc, prometheus.GaugeValue, ts, s.name, s.kind)
	}
}
