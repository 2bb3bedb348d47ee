package bgp

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
//	lean_observer: a receive-only session of dxwatch's own on GoBGP's
//	  wire-format package, which keeps only the relevant paths (the
//	  prototype below, leanObserver; not wired into the probe).
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
//	go test -run x -bench 'BenchmarkIngest/lean_observer$' -benchtime 1x ./probes/bgp
//	go test -run x -bench 'BenchmarkIngest/lean_observer_replay$' -benchtime 1x ./probes/bgp
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
	b.Run("lean_observer_replay", benchLeanReplay)
	b.Run("lean_observer", func(b *testing.B) {
		n := benchPrefixes()
		port := freePort(b)
		startBenchSpeaker(b, port, n, "vpc")
		for range b.N {
			runtime.GC()
			o := newLeanObserver(probesDeps().Site.Routing.ExpectedPrefixes)
			ctx, cancel := context.WithCancel(context.Background())
			start := time.Now()
			c, err := net.Dial("tcp", net.JoinHostPort(edge1Addr, strconv.Itoa(port)))
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- o.run(ctx, c, 65000, netip.MustParseAddr("192.0.2.10"), 240*time.Second) }()
			for o.received.Load() < uint64(2*n+2) {
				time.Sleep(20 * time.Millisecond)
				select {
				case err := <-done:
					b.Fatalf("session ended: %v", err)
				default:
				}
				if time.Since(start) > 10*time.Minute {
					b.Fatalf("not converged after 10m: %d paths", o.received.Load())
				}
			}
			took := time.Since(start)
			reportRSS(b, took)
			b.Logf("converged in %s: %d paths received, %d kept", took.Round(time.Millisecond), o.received.Load(), o.kept.Load())
			if o.kept.Load() != 2 {
				b.Errorf("kept %d paths, want the VPC prefix's 2", o.kept.Load())
			}
			cancel()
			<-done
		}
	})
}

// benchLeanReplay is lean_observer_replay: the same table, pre-serialized
// (UPDATEs of 400 paths, as a router packs them) and written by an
// in-process sender as fast as the observer reads, so that the time is
// the observer's, not GoBGP's speaker's. The stream (its size is logged)
// counts in the RSS.
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
		o := newLeanObserver(probesDeps().Site.Routing.ExpectedPrefixes)
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- o.run(ctx, c, 65000, netip.MustParseAddr("192.0.2.10"), 240*time.Second) }()
		for !o.eor.Load() {
			time.Sleep(5 * time.Millisecond)
			select {
			case err := <-done:
				b.Fatalf("session ended: %v", err)
			default:
			}
		}
		took := time.Since(start)
		reportRSS(b, took)
		if o.received.Load() != uint64(2*n+2) || o.kept.Load() != 2 {
			b.Errorf("%d paths received, %d kept; want %d and 2", o.received.Load(), o.kept.Load(), 2*n+2)
		}
		cancel()
		<-done
		ln.Close()
	}
}

// leanObserver is the prototype of option (c): a receive-only BGP session
// on GoBGP's wire-format package alone. It sends OPEN, KEEPALIVE and
// NOTIFICATION, never an UPDATE; it decodes UPDATEs (ADD-PATH receive,
// MP-BGP IPv4/IPv6 unicast, 4-byte ASN, End-of-RIB) and keeps only the
// paths of prefixes overlapping the expected ones, discarding the rest on
// receipt. README.md ("A full-table edge") gives what wiring it into the
// probe would take.
type leanObserver struct {
	expected []netip.Prefix
	received atomic.Uint64 // paths announced or withdrawn
	kept     atomic.Int64  // paths held
	eor      atomic.Bool
	paths    map[netip.Prefix][]leanPath // the reader goroutine's
}

type leanPath struct {
	id      uint32
	nextHop netip.Addr
	attrs   []gobgp.PathAttributeInterface
}

func newLeanObserver(expected []netip.Prefix) *leanObserver {
	return &leanObserver{expected: expected, paths: map[netip.Prefix][]leanPath{}}
}

// run holds the session on c until ctx ends, the peer closes it or the
// hold timer expires.
func (o *leanObserver) run(ctx context.Context, c net.Conn, asn uint32, id netip.Addr, hold time.Duration) error {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	var wmu sync.Mutex
	send := func(m *gobgp.BGPMessage) error {
		data, err := m.Serialize()
		if err != nil {
			return err
		}
		wmu.Lock()
		defer wmu.Unlock()
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Write(data)
		return err
	}
	myAS := uint16(asn)
	if asn > 0xffff {
		myAS = gobgp.AS_TRANS
	}
	caps := []gobgp.ParameterCapabilityInterface{
		gobgp.NewCapMultiProtocol(gobgp.RF_IPv4_UC),
		gobgp.NewCapMultiProtocol(gobgp.RF_IPv6_UC),
		gobgp.NewCapFourOctetASNumber(asn),
		gobgp.NewCapAddPath([]*gobgp.CapAddPathTuple{
			gobgp.NewCapAddPathTuple(gobgp.RF_IPv4_UC, gobgp.BGP_ADD_PATH_RECEIVE),
			gobgp.NewCapAddPathTuple(gobgp.RF_IPv6_UC, gobgp.BGP_ADD_PATH_RECEIVE),
		}),
	}
	open, err := gobgp.NewBGPOpenMessage(myAS, uint16(hold/time.Second), id, []gobgp.OptionParameterInterface{gobgp.NewOptionParameterCapability(caps)})
	if err != nil {
		return err
	}
	if err := send(open); err != nil {
		return err
	}
	r := bufio.NewReaderSize(c, 64<<10)
	buf := make([]byte, 65535)
	// read reads one message into buf, within the hold time (0: none).
	read := func(deadline time.Duration) error {
		if deadline > 0 {
			_ = c.SetReadDeadline(time.Now().Add(deadline))
		}
		if _, err := io.ReadFull(r, buf[:gobgp.BGP_HEADER_LENGTH]); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint16(buf[16:18]))
		if n < gobgp.BGP_HEADER_LENGTH {
			return fmt.Errorf("bad message length %d", n)
		}
		_, err := io.ReadFull(r, buf[gobgp.BGP_HEADER_LENGTH:n])
		return err
	}
	// The peer's OPEN: what it sends decides how its UPDATEs are decoded.
	if err := read(4 * time.Minute); err != nil {
		return err
	}
	m, err := gobgp.ParseBGPMessage(buf)
	if err != nil {
		return err
	}
	po, ok := m.Body.(*gobgp.BGPOpen)
	if !ok {
		return fmt.Errorf("expected OPEN, got message type %d", m.Header.Type)
	}
	opt := &gobgp.MarshallingOption{AddPath: map[gobgp.Family]gobgp.BGPAddPathMode{}, Use2ByteAS: true}
	for _, p := range po.OptParams {
		pc, ok := p.(*gobgp.OptionParameterCapability)
		if !ok {
			continue
		}
		for _, cp := range pc.Capability {
			switch cp := cp.(type) {
			case *gobgp.CapFourOctetASNumber:
				opt.Use2ByteAS = false
			case *gobgp.CapAddPath:
				for _, t := range cp.Tuples {
					if t.Mode&gobgp.BGP_ADD_PATH_SEND != 0 && (t.Family == gobgp.RF_IPv4_UC || t.Family == gobgp.RF_IPv6_UC) {
						opt.AddPath[t.Family] = gobgp.BGP_ADD_PATH_RECEIVE
					}
				}
			}
		}
	}
	negotiated := min(hold, time.Duration(po.HoldTime)*time.Second)
	if err := send(gobgp.NewBGPKeepAliveMessage()); err != nil {
		return err
	}
	if negotiated > 0 {
		t := time.NewTicker(negotiated / 3)
		quit := make(chan struct{})
		defer func() { t.Stop(); close(quit) }()
		go func() {
			for {
				select {
				case <-quit:
					return
				case <-t.C:
					if send(gobgp.NewBGPKeepAliveMessage()) != nil {
						return
					}
				}
			}
		}()
	}
	for {
		if err := read(negotiated); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_ = send(gobgp.NewBGPNotificationMessage(gobgp.BGP_ERROR_HOLD_TIMER_EXPIRED, 0, nil))
				return fmt.Errorf("hold timer expired")
			}
			return err
		}
		m, err := gobgp.ParseBGPMessage(buf, opt)
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		switch body := m.Body.(type) {
		case *gobgp.BGPUpdate:
			o.update(body)
		case *gobgp.BGPNotification:
			return fmt.Errorf("notification from peer: code %d subcode %d", body.ErrorCode, body.ErrorSubcode)
		case *gobgp.BGPOpen:
			return errors.New("second OPEN")
		}
	}
}

func (o *leanObserver) relevant(p netip.Prefix) bool {
	for _, e := range o.expected {
		if p.Overlaps(e) {
			return true
		}
	}
	return false
}

func nlriPrefix(n gobgp.NLRI) (netip.Prefix, bool) {
	if n, ok := n.(*gobgp.IPAddrPrefix); ok { // IPv4 and IPv6
		return n.Prefix, true
	}
	return netip.Prefix{}, false
}

func (o *leanObserver) update(u *gobgp.BGPUpdate) {
	if eor, _ := u.IsEndOfRib(); eor {
		o.eor.Store(true)
		return
	}
	for _, w := range u.WithdrawnRoutes {
		o.withdraw(w)
	}
	var nh netip.Addr
	var reach []gobgp.PathNLRI
	for _, a := range u.PathAttributes {
		switch a := a.(type) {
		case *gobgp.PathAttributeNextHop:
			nh = a.Value
		case *gobgp.PathAttributeMpReachNLRI:
			reach = a.Value
			if len(u.NLRI) == 0 {
				nh = a.Nexthop
			}
		case *gobgp.PathAttributeMpUnreachNLRI:
			for _, w := range a.Value {
				o.withdraw(w)
			}
		}
	}
	var attrs []gobgp.PathAttributeInterface // without the MP_REACH NLRI
	for _, list := range [][]gobgp.PathNLRI{u.NLRI, reach} {
		for _, n := range list {
			o.received.Add(1)
			p, ok := nlriPrefix(n.NLRI)
			if !ok || !o.relevant(p) {
				continue // discarded on receipt
			}
			if attrs == nil {
				for _, a := range u.PathAttributes {
					if _, mp := a.(*gobgp.PathAttributeMpReachNLRI); !mp {
						attrs = append(attrs, a)
					}
				}
			}
			lp := leanPath{id: n.ID, nextHop: nh, attrs: attrs}
			ps := o.paths[p]
			replaced := false
			for i := range ps {
				if ps[i].id == n.ID {
					ps[i], replaced = lp, true
				}
			}
			if !replaced {
				o.paths[p] = append(ps, lp)
				o.kept.Add(1)
			}
		}
	}
}

func (o *leanObserver) withdraw(n gobgp.PathNLRI) {
	o.received.Add(1)
	p, ok := nlriPrefix(n.NLRI)
	if !ok {
		return
	}
	ps := o.paths[p]
	for i := range ps {
		if ps[i].id == n.ID {
			o.paths[p] = append(ps[:i], ps[i+1:]...)
			if len(o.paths[p]) == 0 {
				delete(o.paths, p)
			}
			o.kept.Add(-1)
			return
		}
	}
}
