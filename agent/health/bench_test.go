package health

import (
	"context"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// steady returns the i-th observation of a steady site: two link-pinned
// and two VPC targets pinged every 10 ms, one echo in 50 lost.
func steady(i int) probes.Observation {
	targets := [...]struct{ target, link string }{{"primary-peer", "primary"}, {"secondary-peer", "secondary"}, {"app1", ""}, {"app2", ""}}
	tg := targets[i%len(targets)]
	seq := i/len(targets) + 1
	o := probes.Observation{
		Time: t0.Add(time.Duration(i) * 2500 * time.Microsecond), Probe: "ping", Target: tg.target, Link: tg.link,
		Seq: seq & 0xffff, Event: probes.EchoReply, RTT: 2 * time.Millisecond,
	}
	if seq%50 == 0 {
		o.Event, o.RTT = probes.EchoLost, 0
	}
	return o
}

// BenchmarkObserveProcess measures Observe plus processing, batched as Run
// does: observations per second and allocations per observation.
func BenchmarkObserveProcess(b *testing.B) {
	cfg := DefaultConfig()
	cfg.StaleAfter.Ping = 0 // simulated time runs ahead of the steps
	m := New(cfg, testSite(probes.ModeActivePassive), nil)
	m.Step(t0)
	for i := 0; i < 1000; i++ { // warm up: every state allocated
		m.Observe(steady(i))
	}
	m.Step(t0)
	obs := make([]probes.Observation, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(obs)
		if j == 0 {
			b.StopTimer()
			for k := range obs {
				obs[k] = steady(1000 + i + k)
			}
			b.StartTimer()
		}
		m.Observe(obs[j])
		if j%256 == 255 {
			m.Step(obs[j].Time)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "obs/s")
	if d := m.dropped.Load(); d != 0 {
		b.Fatalf("%d dropped", d)
	}
}

// BenchmarkRun measures what Run processes while one goroutine observes as
// fast as it can: processed observations per second and the share dropped
// (reported, not failed: the producer outruns any consumer).
func BenchmarkRun(b *testing.B) {
	cfg := DefaultConfig()
	cfg.StaleAfter.Ping = 0
	m := New(cfg, testSite(probes.ModeActivePassive), nil, WithClock(func() time.Time { return t0 }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Observe(steady(i))
	}
	for len(m.queue) > 0 {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-done
	m.mu.Lock()
	processed := m.processed
	m.mu.Unlock()
	b.ReportMetric(float64(processed)/b.Elapsed().Seconds(), "processed/s")
	b.ReportMetric(float64(m.dropped.Load())/float64(b.N), "dropped/obs")
}
