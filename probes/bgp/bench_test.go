package bgp

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/packet/bmp"
)

// benchPrefixes is the table size (DXWATCH_BENCH_PREFIXES overrides).
func benchPrefixes() int {
	if n, err := strconv.Atoi(os.Getenv("DXWATCH_BENCH_PREFIXES")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// nthPrefix is the i-th /24 from 1.0.0.0 (1M of them end at 16.255.255.0,
// far from the VPC prefix).
func nthPrefix(i int) netip.Prefix {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], 1<<24+uint32(i)<<8)
	return netip.PrefixFrom(netip.AddrFrom4(a), 24)
}

// TestBenchSpeakerChild is BenchmarkIngest's edge router: a GoBGP speaker in
// its own process, so that the benchmark's RSS is dxwatch's alone. It
// sends, over ADD-PATH, two paths (one per link) for each of n prefixes;
// with "vpc" also for the VPC prefix, and with "filter" (the edge's
// outbound prefix-list, README.md "A full-table edge") it holds them all
// but sends only the VPC prefix and its more-specifics.
func TestBenchSpeakerChild(t *testing.T) {
	spec := os.Getenv("DXWATCH_BENCH_SPEAKER")
	if spec == "" {
		t.Skip("started by BenchmarkIngest")
	}
	f := strings.Split(spec, ",")
	port, _ := strconv.Atoi(f[0])
	n, _ := strconv.Atoi(f[1])
	mode := ""
	if len(f) > 2 {
		mode = f[2]
	}
	sp := newSpeaker(t, 65000, edge1Addr, port)
	if mode == "filter" {
		exportOnly(t, sp, vpcPrefix)
	}
	// GoBGP takes long to prepare a full table for a new session: a
	// short hold time would expire before the first UPDATE.
	sp.addPeer(t, dxAddr, 65000, passive(), sendPaths(2), holdTime(240))
	origin := gobgp.NewPathAttributeOrigin(0)
	nh1, _ := gobgp.NewPathAttributeNextHop(primaryAmazon)
	nh2, _ := gobgp.NewPathAttributeNextHop(secondaryAmazon)
	as1 := gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAs4PathParam(gobgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{64512, 3356})})
	as2 := gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAs4PathParam(gobgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{64512, 64512, 3356})})
	a1 := []gobgp.PathAttributeInterface{origin, as1, nh1}
	a2 := []gobgp.PathAttributeInterface{origin, as2, nh2}
	const batch = 20000
	first := 0
	if mode != "" {
		first = -1 // the VPC prefix
	}
	for i := first; i < n; i += batch {
		var paths []*apiutil.Path
		for j := i; j < min(i+batch, n); j++ {
			p := netip.MustParsePrefix(vpcPrefix)
			if j >= 0 {
				p = nthPrefix(j)
			}
			nlri, _ := gobgp.NewIPAddrPrefix(p)
			paths = append(paths,
				&apiutil.Path{Family: gobgp.RF_IPv4_UC, Nlri: nlri, Attrs: a1, RemoteID: 1},
				&apiutil.Path{Family: gobgp.RF_IPv4_UC, Nlri: nlri, Attrs: a2, RemoteID: 2})
		}
		if _, err := sp.s.AddPath(apiutil.AddPathRequest{Paths: paths}); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark is done
}

// procStatus returns a /proc/self/status field in MiB.
func procStatus(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// startBenchSpeaker starts TestBenchSpeakerChild; mode is "", "vpc" or
// "filter".
func startBenchSpeaker(b *testing.B, port, n int, mode string) {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^TestBenchSpeakerChild$", "-test.count", "1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("DXWATCH_BENCH_SPEAKER=%d,%d,%s", port, n, mode))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	t0 := time.Now()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if sc.Text() == "READY" {
			b.Logf("speaker loaded %d prefixes x 2 paths in %s", n, time.Since(t0).Round(time.Millisecond))
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return
		}
	}
	b.Fatal("speaker exited before READY")
}

// BenchmarkIngest feeds dxwatch a full table (1M IPv4 prefixes, two paths
// each over ADD-PATH) from a GoBGP speaker in another process and reports
// the ingestion time and dxwatch's RSS. Run one sub-benchmark per process,
// since the peak RSS (VmHWM) is the process's:
//
//	go test -run x -bench 'BenchmarkIngest/full$' -benchtime 1x ./probes/bgp
//	go test -run x -bench 'BenchmarkIngest/keep_only_relevant$' -benchtime 1x ./probes/bgp
//	go test -run x -bench 'BenchmarkIngest/lean$' -benchtime 1x ./probes/bgp
//
// Then the options for a full-table edge (ingestOptions): edge_filtered,
// lean_replay. The figures at 1M, with the load
// average of each run, are in README.md, "A full-table edge".
func BenchmarkIngest(b *testing.B) {
	for _, name := range []string{"full", "keep_only_relevant", "lean"} {
		b.Run(name, func(b *testing.B) {
			n := benchPrefixes()
			port := freePort(b)
			// The lean session is measured with the VPC prefix in the
			// table too (its two paths are all it keeps).
			mode, want := "", uint64(2*n)
			if name == "lean" {
				mode, want = "vpc", uint64(2*n+2)
			}
			startBenchSpeaker(b, port, n, mode)
			for range b.N {
				runtime.GC()
				base := procStatus("VmRSS")
				cfg := edgeConfig(0, PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Port: port, HoldTime: 240 * time.Second})
				cfg.KeepOnlyRelevant = name == "keep_only_relevant"
				if name == "lean" {
					cfg.Peers[0].Session = SessionLean
				}
				p, err := New("bgp", cfg, probesDeps())
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				start := time.Now()
				go func() { done <- p.Run(ctx) }()
				for p.peerView("edge1").Updates < want {
					time.Sleep(20 * time.Millisecond)
					if time.Since(start) > 10*time.Minute {
						b.Fatalf("not ingested after 10m: %+v", p.peerView("edge1"))
					}
				}
				took := time.Since(start)
				r := p.Routes()
				b.ReportMetric(took.Seconds(), "s/ingest")
				reportCPU(b)
				b.ReportMetric(procStatus("VmHWM"), "MiB-peak-rss")
				runtime.GC()
				b.ReportMetric(procStatus("VmRSS"), "MiB-rss-after-gc")
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap-inuse")
				b.Logf("%d paths in %s; table %d prefixes, primary %d, secondary %d; RSS before %.0f MiB; events dropped %d, resyncs %d", 2*n, took.Round(time.Millisecond), r.TablePrefixes, r.Links[0].ReceivedPrefixes, r.Links[1].ReceivedPrefixes, base, p.dropped.Load(), p.resyncs.Load())
				// The table size is polled every 30s: wait for the
				// warning a full table is due.
				c := p.check("bgp.table_size.edge1")
				for t0 := time.Now(); c.Status != probes.Warn && time.Since(t0) < 2*tableSizeInterval; c = p.check("bgp.table_size.edge1") {
					time.Sleep(time.Second)
				}
				b.Logf("%s: %s: %s", c.Name, c.Status, c.Reason)
				cancel()
				<-done
			}
		})
	}
	ingestOptions(b)
}

// BenchmarkIngestBMP feeds the BMP station the same table (two monitored
// DX sessions, 1M prefixes each) with keep_only_relevant: here dxwatch, not
// GoBGP, decides what is stored.
func BenchmarkIngestBMP(b *testing.B) {
	n := benchPrefixes()
	// Pre-serialize the stream: 2 peer ups, then UPDATEs of 500 NLRI.
	var stream []byte
	ts := float64(time.Now().Unix())
	for li, peer := range []netip.Addr{primaryAmazon, secondaryAmazon} {
		ph := *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_GLOBAL, 0, 0, peer, 64512, peer, ts)
		up, _ := bmp.NewBMPPeerUpNotification(ph, netip.MustParseAddr("169.254.0.2"), 179, 40000, openMsg(65000, "192.0.2.1", false), openMsg(64512, peer.String(), false)).Serialize()
		stream = append(stream, up...)
		asPath := []uint32{64512, 3356}
		if li == 1 {
			asPath = []uint32{64512, 64512, 3356}
		}
		for i := 0; i < n; i += 500 {
			var nlri []gobgp.PathNLRI
			for j := i; j < min(i+500, n); j++ {
				p, _ := gobgp.NewIPAddrPrefix(nthPrefix(j))
				nlri = append(nlri, gobgp.PathNLRI{NLRI: p})
			}
			if i == 0 {
				p, _ := gobgp.NewIPAddrPrefix(netip.MustParsePrefix(vpcPrefix))
				nlri = append(nlri, gobgp.PathNLRI{NLRI: p})
			}
			stream = append(stream, routeMonitoring(b, ph, updateMsg(b, nil, nlri, asPath, peer.String()), false)...)
		}
	}
	b.Logf("BMP stream: %.0f MiB", float64(len(stream))/(1<<20))
	for range b.N {
		runtime.GC()
		cfg := DefaultConfig()
		cfg.BMP.ListenAddress = "127.0.0.1:0"
		cfg.BMP.Routers = []string{"127.0.0.1"} // the tests' routers connect from loopback
		cfg.KeepOnlyRelevant = true
		p, err := New("bgp", cfg, probesDeps())
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		for p.BMPAddr() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		start := time.Now()
		c, err := net.Dial("tcp", p.BMPAddr().String())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(stream); err != nil {
			b.Fatal(err)
		}
		for {
			r := p.Routes()
			if len(r.BMPRouters) == 1 && len(r.BMPRouters[0].Peers) == 2 && r.BMPRouters[0].Peers[0].Updates+r.BMPRouters[0].Peers[1].Updates >= uint64(2*n+2) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(start)
		b.ReportMetric(took.Seconds(), "s/ingest")
		b.ReportMetric(procStatus("VmHWM"), "MiB-peak-rss")
		runtime.GC()
		b.ReportMetric(procStatus("VmRSS"), "MiB-rss-after-gc")
		c.Close()
		cancel()
		<-done
	}
}

// BenchmarkPeerResets is the longer run of TestPeerResets: a peer that
// resets as fast as dxwatch lets it, for about a minute (DXWATCH_BENCH_RESETS
// resets, default 12, ~5s each), then checks that no goroutine is left.
func BenchmarkPeerResets(b *testing.B) {
	n := 12
	if v, err := strconv.Atoi(os.Getenv("DXWATCH_BENCH_RESETS")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		before := runtime.NumGoroutine()
		func() {
			port := freePort(b)
			cfg := edgeConfig(0, PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Passive: true, HoldTime: 9 * time.Second})
			cfg.ListenPort = port
			p, err := New("bgp", cfg, probesDeps())
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			start := time.Now()
			resets(b, p, port, n)
			b.ReportMetric(time.Since(start).Seconds()/float64(n), "s/reset")
			cancel()
			<-done
		}()
		time.Sleep(500 * time.Millisecond)
		if after := runtime.NumGoroutine(); after > before {
			b.Errorf("goroutines: %d before, %d after", before, after)
		}
	}
}
