package trace

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dxwatch/dxwatch/probes"
)

func isRoot() bool { return os.Geteuid() == 0 }

// needRoot skips a test that opens raw sockets.
func needRoot(t *testing.T) {
	t.Helper()
	if !isRoot() {
		t.Skip("needs root for raw sockets: run make test-lab (or go test as root)")
	}
}

// runProbe runs p until the first trace of every target and returns the
// observations; Run is stopped and checked for leaks at cleanup.
func runProbe(t *testing.T, p *Probe, want int, obs chan probes.Observation) []probes.Observation {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	var got []probes.Observation
	timeout := time.After(20 * time.Second)
	for len(got) < want {
		select {
		case o := <-obs:
			got = append(got, o)
		case err := <-done:
			t.Fatalf("Run ended early: %v", err)
		case <-timeout:
			t.Fatalf("got %d of %d observations", len(got), want)
		}
	}
	return got
}

func TestLoopbackTrace(t *testing.T) {
	needRoot(t)
	defer goleak.VerifyNone(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcpPort := ln.Addr().(*net.TCPAddr).Port

	hosts := []string{"127.0.0.1"}
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
		c.Close()
		hosts = append(hosts, "::1")
	}
	for _, method := range []string{MethodUDP, MethodICMP, MethodTCP} {
		for _, host := range hosts {
			t.Run(method+"/"+host, func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.Method = method
				cfg.Timeout = 2 * time.Second
				cfg.Interval = time.Hour
				if method == MethodTCP {
					cfg.Port = tcpPort
					if host == "::1" {
						ln6, err := net.Listen("tcp", "[::1]:0")
						if err != nil {
							t.Skip("no IPv6 loopback listener")
						}
						t.Cleanup(func() { ln6.Close() })
						cfg.Port = ln6.Addr().(*net.TCPAddr).Port
					}
				}
				obs := make(chan probes.Observation, 16)
				site := probes.Site{Targets: []probes.Target{{Name: "lo", Host: host}}}
				p, err := New("t", cfg, probes.Deps{Site: site, Observer: probes.ObserverFunc(func(o probes.Observation) { obs <- o })})
				if err != nil {
					t.Fatal(err)
				}
				got := runProbe(t, p, 1, obs)
				if o := got[0]; o.Event != probes.PathTraced || !o.Reached || o.Target != "lo" || o.Changed {
					t.Errorf("observation = %+v, want a reached, unchanged PathTraced for lo", o)
				}
				paths := p.Paths()
				if len(paths) != 1 {
					t.Fatalf("paths = %+v", paths)
				}
				path := paths[0]
				want := netip.MustParseAddr(host)
				if path.Error != "" || !path.Reached || len(path.Hops) != 1 || path.Hops[0].Address != want || path.Result != "unknown" {
					t.Errorf("path = %+v, want reached in 1 hop from %s", path, host)
				}
				if path.Hops[0].RTT <= 0 {
					t.Errorf("hop RTT %v", path.Hops[0].RTT)
				}
				t.Logf("%s %s: %d hops in %v, kind %s type %d code %d", method, host, len(path.Hops), path.Duration,
					path.Hops[0].Kind, path.Hops[0].ICMPType, path.Hops[0].ICMPCode)
			})
		}
	}
}
