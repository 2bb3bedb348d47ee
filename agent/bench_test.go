package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// daemonConfig is the configuration a new user starts with, at n loopback
// targets: two links, the targets, 1 s pings, everything else at its
// defaults (traces every 30 s); no BGP, no AWS. Link-pinned echoes are off:
// the links' Amazon addresses are not on this machine, and no benchmark
// packet may leave it.
func daemonConfig(n int) string {
	var b strings.Builder
	b.WriteString("site: bench\n" + twoLinks + `routing:
  mode: active_passive
  primary: primary
ping:
  interval: 1s
  link_pinned: false
targets:
`)
	for i := range n {
		fmt.Fprintf(&b, "  - name: t%d\n    address: 127.0.%d.%d\n", i, 1+i/250, 1+i%250)
	}
	return b.String()
}

// BenchmarkDaemonLoopback runs the whole agent (probes, health model,
// registry, HTTP server on 127.0.0.1) over real ICMP to loopback targets
// and reports its CPU as a percentage of one core (user+system from
// getrusage, the kernel's echo replies included) and its RSS; compare
// with probes/ping's BenchmarkLoopback, the ping engine alone. Each
// iteration is one second: -benchtime 10x for ten.
func BenchmarkDaemonLoopback(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			if os.Geteuid() != 0 {
				b.Skip("needs root for ICMP: run make bench as root")
			}
			f := filepath.Join(b.TempDir(), "dxwatch.yaml")
			if err := os.WriteFile(f, []byte(daemonConfig(n)), 0o600); err != nil {
				b.Fatal(err)
			}
			a, err := New(Options{ConfigFile: f, ListenAddresses: []string{"127.0.0.1:0"}})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx) }()
			// Every target started, and the first traces sent (a round
			// starts at once, then every 30 s).
			time.Sleep(2 * time.Second)
			var r0, r1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
			start := time.Now()
			b.ResetTimer()
			for range b.N {
				time.Sleep(time.Second)
			}
			b.StopTimer()
			wall := time.Since(start)
			syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
			cpu := syscall.TimevalToNsec(r1.Utime) - syscall.TimevalToNsec(r0.Utime) +
				syscall.TimevalToNsec(r1.Stime) - syscall.TimevalToNsec(r0.Stime)
			b.ReportMetric(100*float64(cpu)/float64(wall.Nanoseconds()), "cpu%")
			b.ReportMetric(rssMB(b), "rss-MB")
			// A model that cannot keep up drops observations (its queue
			// is bounded): the figure must stay 0.
			b.ReportMetric(dropped(b, a), "dropped")
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// dropped reads dxwatch_health_observations_dropped_total.
func dropped(b *testing.B, a *Agent) float64 {
	mfs, err := a.cur.Load().reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "dxwatch_health_observations_dropped_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	b.Fatal("no dxwatch_health_observations_dropped_total")
	return 0
}

func rssMB(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
