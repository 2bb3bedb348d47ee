package bgp

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/api"
	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// The options of issue #29 item 4 (a full-table edge), measured beside
// BenchmarkIngest's "full" and "keep_only_relevant" (see README.md, "A
// full-table edge", for the figures):
//
//	edge_filtered: the edge applies the outbound prefix-list of README.md
//	  (simulated by the speaker's export policy: it holds the full table
//	  and sends dxwatch only the VPC prefix and its more-specifics);
//	lean (in BenchmarkIngest): the probe with peers[].session: lean,
//	  dxwatch's receive-only session, which keeps only the relevant paths;
//	lean_replay: the same, fed by a fast in-process sender.
//
// An import policy applied before storage (option a) does not exist in
// GoBGP v4.8.0: the probe already sets a reject-all global import policy,
// so "full" is its figure.

// exportOnly makes the speaker send only prefix and its more-specifics, as
// `ip prefix-list DXWATCH-OUT permit <prefix> le 32` on the edge would.
func exportOnly(t testing.TB, sp *speaker, prefix string) {
	t.Helper()
	ctx := context.Background()
	pfx := netip.MustParsePrefix(prefix)
	if err := sp.s.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: &api.DefinedSet{
		DefinedType: api.DefinedType_DEFINED_TYPE_PREFIX, Name: "dxwatch-out",
		Prefixes: []*api.Prefix{{IpPrefix: prefix, MaskLengthMin: uint32(pfx.Bits()), MaskLengthMax: 32}},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := sp.s.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{Name: "dxwatch-out", Statements: []*api.Statement{{
		Name:       "vpc",
		Conditions: &api.Conditions{PrefixSet: &api.MatchSet{Type: api.MatchSet_TYPE_ANY, Name: "dxwatch-out"}},
		Actions:    &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_ACCEPT},
	}}}}); err != nil {
		t.Fatal(err)
	}
	if err := sp.s.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name: "global", Direction: api.PolicyDirection_POLICY_DIRECTION_EXPORT,
		Policies: []*api.Policy{{Name: "dxwatch-out"}}, DefaultAction: api.RouteAction_ROUTE_ACTION_REJECT,
	}}); err != nil {
		t.Fatal(err)
	}
}

// reportCPU reports the CPU time this process (dxwatch's side: the
// speaker is another process) has spent, beside the load average.
func reportCPU(b *testing.B) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds(), "cpu-s")
	}
	b.Logf("load average %s", loadAvg())
}

// loadAvg is /proc/loadavg's first three fields: the machine is shared,
// so every figure is reported beside it.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// reportRSS reports the convergence time, the RSS and the CPU time this
// process (dxwatch's side only) spent, beside the load average.
func reportRSS(b *testing.B, took time.Duration) {
	b.ReportMetric(took.Seconds(), "s/ingest")
	reportCPU(b)
	b.ReportMetric(procStatus("VmHWM"), "MiB-peak-rss")
	runtime.GC()
	b.ReportMetric(procStatus("VmRSS"), "MiB-rss-after-gc")
}

// ingestOptions are BenchmarkIngest's sub-benchmarks for the options.
// One per process, as BenchmarkIngest's:
//
//	go test -run x -bench 'BenchmarkIngest/edge_filtered$' -benchtime 1x ./probes/bgp
//	go test -run x -bench 'BenchmarkIngest/lean_replay$' -benchtime 1x ./probes/bgp
func ingestOptions(b *testing.B) {
	b.Run("edge_filtered", func(b *testing.B) {
		n := benchPrefixes()
		port := freePort(b)
		startBenchSpeaker(b, port, n, "filter")
		for range b.N {
			runtime.GC()
			cfg := edgeConfig(0, PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Port: port, HoldTime: 240 * time.Second})
			p, err := New("bgp", cfg, probesDeps())
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			start := time.Now()
			go func() { done <- p.Run(ctx) }()
			// Converged: both VPC paths received (all the edge sends; GoBGP
			// sends End-of-RIB only to a peer offering graceful restart).
			for v := p.peerView("edge1"); v.Updates < 2; v = p.peerView("edge1") {
				time.Sleep(20 * time.Millisecond)
				if time.Since(start) > 10*time.Minute {
					b.Fatalf("not converged after 10m: %+v", v)
				}
			}
			took := time.Since(start)
			reportRSS(b, took)
			r := p.Routes()
			b.Logf("converged in %s; table %d prefixes, primary %d, secondary %d", took.Round(time.Millisecond), r.TablePrefixes, r.Links[0].ReceivedPrefixes, r.Links[1].ReceivedPrefixes)
			cancel()
			<-done
		}
	})
	b.Run("lean_replay", benchLeanReplay)
}

// benchLeanReplay is lean_replay: the probe with a lean session (the
// product's), fed the same table pre-serialized (UPDATEs of 400 paths, as
// a router packs them) by an in-process sender as fast as the session
// reads, so that the time is dxwatch's, not GoBGP's speaker's. The stream
// (its size is logged) counts in the RSS. Converged: End-of-RIB handled.
func benchLeanReplay(b *testing.B) {
	n := benchPrefixes()
	open, _ := openMsg(65000, "10.255.0.2", true).Serialize()
	ka, _ := gobgp.NewBGPKeepAliveMessage().Serialize()
	stream := append(open, ka...)
	opt := &gobgp.MarshallingOption{AddPath: map[gobgp.Family]gobgp.BGPAddPathMode{gobgp.RF_IPv4_UC: gobgp.BGP_ADD_PATH_SEND}}
	for li, nh := range []netip.Addr{primaryAmazon, secondaryAmazon} {
		asPath := []uint32{64512, 3356}
		if li == 1 {
			asPath = []uint32{64512, 64512, 3356}
		}
		for i := -1; i < n; i += 400 {
			var nlri []gobgp.PathNLRI
			for j := i; j < min(i+400, n); j++ {
				p := netip.MustParsePrefix(vpcPrefix)
				if j >= 0 {
					p = nthPrefix(j)
				}
				x, _ := gobgp.NewIPAddrPrefix(p)
				nlri = append(nlri, gobgp.PathNLRI{NLRI: x, ID: uint32(li + 1)})
			}
			u, err := updateMsg(b, nil, nlri, asPath, nh.String()).Serialize(opt)
			if err != nil {
				b.Fatal(err)
			}
			stream = append(stream, u...)
		}
	}
	eor, _ := gobgp.NewEndOfRib(gobgp.RF_IPv4_UC).Serialize()
	stream = append(stream, eor...)
	b.Logf("stream: %.0f MiB", float64(len(stream))/(1<<20))
	for range b.N {
		runtime.GC()
		ln, err := net.Listen("tcp", net.JoinHostPort(edge1Addr, "0"))
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			closed := make(chan struct{})
			go func() { // the observer's OPEN and KEEPALIVEs, until it closes
				defer close(closed)
				_, _ = io.Copy(io.Discard, c)
			}()
			_, _ = c.Write(stream)
			<-closed
		}()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		pn, _ := strconv.Atoi(port)
		cfg := edgeConfig(0, PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Port: pn, HoldTime: 240 * time.Second, Session: SessionLean})
		p, err := New("bgp", cfg, probesDeps())
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- p.Run(ctx) }()
		for !p.peerView("edge1").EndOfRIB {
			time.Sleep(5 * time.Millisecond)
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("not converged after 10m: %+v", p.peerView("edge1"))
			}
		}
		took := time.Since(start)
		reportRSS(b, took)
		pv, r := p.peerView("edge1"), p.Routes()
		b.Logf("converged in %s: %d paths received; table %d prefixes", took.Round(time.Millisecond), pv.Updates, r.TablePrefixes)
		if pv.Updates != uint64(2*n+2) || r.TablePrefixes != 1 {
			b.Errorf("%d paths received, %d prefixes kept; want %d and 1", pv.Updates, r.TablePrefixes, 2*n+2)
		}
		cancel()
		<-done
		ln.Close()
	}
}
