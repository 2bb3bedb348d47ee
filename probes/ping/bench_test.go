package ping

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	probing "github.com/prometheus-community/pro-bing"

	"github.com/dxwatch/dxwatch/probes"
)

// timedObserver stamps each observation with the wall time it arrived.
type timedObserver chan timedObservation

type timedObservation struct {
	o  probes.Observation
	at time.Time
}

func (c timedObserver) Observe(o probes.Observation) {
	select {
	case c <- timedObservation{o, time.Now()}:
	default:
	}
}

// BenchmarkLossDetection measures, per interval, how long after a target
// stops answering its first loss is reported (the goal: within interval +
// timeout + 5 ms), and how late after its deadline a loss is reported.
// The network is the fake one: this measures the probe's own scheduling.
func BenchmarkLossDetection(b *testing.B) {
	for _, interval := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond} {
		b.Run(interval.String(), func(b *testing.B) {
			obs := make(timedObserver, 1024)
			cfg := DefaultConfig()
			cfg.Interval = interval
			site := probes.Site{Targets: []probes.Target{{Name: "t", Host: "10.0.0.1"}}}
			p, err := New("ping", cfg, probes.Deps{Site: site, Observer: obs})
			if err != nil {
				b.Fatal(err)
			}
			fn := newFakeNet(true)
			p.listen = fn.listen
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); p.Run(ctx) }()
			defer func() { cancel(); <-done }()

			var worst, total, worstLag time.Duration
			b.ResetTimer()
			for range b.N {
				fn.set("10.0.0.1", 1)
				for o := range obs {
					if o.o.Event == probes.EchoReply {
						break
					}
				}
				time.Sleep(time.Duration(rand.Int64N(int64(interval))))
				fn.set("10.0.0.1", 0)
				cut := time.Now()
				for o := range obs {
					// A loss whose deadline came before the cut was an echo
					// cut in flight: it counts from its own deadline.
					if o.o.Event != probes.EchoLost || o.o.Time.Before(cut) {
						continue
					}
					d := o.at.Sub(cut)
					total += d
					worst = max(worst, d)
					worstLag = max(worstLag, o.at.Sub(o.o.Time))
					break
				}
			}
			b.StopTimer()
			bound := interval + min(interval, time.Second) + 5*time.Millisecond
			b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "mean-ms")
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(bound.Microseconds())/1000, "bound-ms")
			b.ReportMetric(float64(worstLag.Microseconds())/1000, "max-lag-ms")
			if worst > bound {
				b.Errorf("worst loss detection %v exceeds interval + timeout + 5ms = %v", worst, bound)
			}
		})
	}
}

// loopbackSite has n targets on distinct 127.0.x.y addresses.
func loopbackSite(n int) probes.Site {
	var s probes.Site
	for i := range n {
		s.Targets = append(s.Targets, probes.Target{
			Name: fmt.Sprintf("t%d", i),
			Host: netip.AddrFrom4([4]byte{127, 0, byte(1 + i/250), byte(1 + i%250)}).String(),
		})
	}
	return s
}

var loads = []struct {
	name     string
	targets  int
	interval time.Duration
}{
	{"50x100pps", 50, 10 * time.Millisecond},
	{"1000x1pps", 1000, time.Second},
}

// BenchmarkLoopback runs the probe over real ICMP on loopback at the two
// loads of the issue and reports CPU (percent of one core, user+system
// from getrusage, the kernel's loopback echo replies included) and RSS.
// Each iteration is one second: use -benchtime 10x for ten seconds.
func BenchmarkLoopback(b *testing.B) {
	for _, load := range loads {
		b.Run(load.name, func(b *testing.B) {
			benchNeedICMP(b)
			cfg := DefaultConfig()
			cfg.Interval = load.interval
			obs := &countObserver{}
			p, err := New("ping", cfg, probes.Deps{Site: loopbackSite(load.targets), Observer: obs})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); p.Run(ctx) }()
			time.Sleep(load.interval + 500*time.Millisecond) // every target started
			sent0 := sumCounter(p, "sent")
			measure(b, func() {
				for range b.N {
					time.Sleep(time.Second)
				}
			})
			sent := sumCounter(p, "sent") - sent0
			cancel()
			<-done
			b.ReportMetric(sent/float64(b.N), "echoes/s")
			b.ReportMetric(float64(obs.lost.Load()), "lost")
			b.ReportMetric(sumCounter(p, "late"), "late")
		})
	}
}

// BenchmarkProBing runs the same loads with one pro-bing Pinger per
// target (its socket-per-target design), for comparison.
func BenchmarkProBing(b *testing.B) {
	for _, load := range loads {
		b.Run(load.name, func(b *testing.B) {
			benchNeedICMP(b)
			var pingers []*probing.Pinger
			for _, t := range loopbackSite(load.targets).Targets {
				pg := probing.New(t.Host)
				pg.Interval = load.interval
				pg.RecordRtts, pg.RecordTTLs = false, false
				pg.SetPrivileged(os.Geteuid() == 0)
				pg.SetLogger(probing.NoopLogger{})
				if err := pg.Resolve(); err != nil {
					b.Fatal(err)
				}
				pingers = append(pingers, pg)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for _, pg := range pingers {
				wg.Add(1)
				go func() { defer wg.Done(); pg.RunWithContext(ctx) }()
			}
			time.Sleep(load.interval + 500*time.Millisecond)
			var sent0 int
			for _, pg := range pingers {
				sent0 += pg.Statistics().PacketsSent
			}
			measure(b, func() {
				for range b.N {
					time.Sleep(time.Second)
				}
			})
			var sent, recv int
			for _, pg := range pingers {
				st := pg.Statistics()
				sent, recv = sent+st.PacketsSent, recv+st.PacketsRecv
			}
			cancel()
			wg.Wait()
			b.ReportMetric(float64(sent-sent0)/float64(b.N), "echoes/s")
			b.ReportMetric(float64(sent-recv), "unanswered")
		})
	}
}

func benchNeedICMP(b *testing.B) {
	b.Helper()
	c, _, _, err := listenICMP(sockKey{ttl: 64})
	if err != nil {
		b.Skipf("needs root or net.ipv4.ping_group_range (%v): run make test-lab", err)
	}
	c.Close()
}

// measure runs f and reports the process's CPU over it as a percentage of
// one core, and its resident memory after it.
func measure(b *testing.B, f func()) {
	b.Helper()
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	start := time.Now()
	b.ResetTimer()
	f()
	b.StopTimer()
	wall := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(syscall.TimevalToNsec(r1.Utime) - syscall.TimevalToNsec(r0.Utime) +
		syscall.TimevalToNsec(r1.Stime) - syscall.TimevalToNsec(r0.Stime))
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu%")
	b.ReportMetric(procStatusMB(b, "VmRSS"), "rss-MB")
}

func procStatusMB(b *testing.B, field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func sumCounter(p *Probe, which string) float64 {
	var sum float64
	for _, t := range p.snapshot() {
		t.mu.Lock()
		switch which {
		case "sent":
			sum += float64(t.tr.sent)
		case "received":
			sum += float64(t.tr.received)
		case "late":
			sum += float64(t.tr.late)
		}
		t.mu.Unlock()
	}
	return sum
}

// countObserver counts losses without keeping observations.
type countObserver struct{ lost atomicCounter }

func (c *countObserver) Observe(o probes.Observation) {
	if o.Event == probes.EchoLost {
		c.lost.Add(1)
	}
}

type atomicCounter = atomic.Int64
