package lab

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
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLabOneEdge(t *testing.T) { testLab(t, EdgeOne) }

func TestLabTwoEdge(t *testing.T) { testLab(t, EdgeTwo) }

// TestLabNoBFDAgentMD5 checks the two options: no bfdd anywhere, and the
// agent's sessions only come up with the MD5 key.
func TestLabNoBFDAgentMD5(t *testing.T) {
	l := ForTest(t, Options{Edge: EdgeTwo, NoBFD: true, AgentMD5: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if pids := processesMentioning(filepath.Join(l.Dir(), HostAWS1, "bfdd.conf")); len(pids) > 0 {
		t.Errorf("bfdd runs with NoBFD: %v", pids)
	}
	for _, e := range l.Edges() {
		n, err := l.Neighbor(ctx, e, AgentAddress)
		if err != nil {
			t.Fatal(err)
		}
		if n.MD5 != 1 {
			t.Errorf("%s: agent session without MD5", e)
		}
	}
	checkBGPFeed(ctx, t, l)
}

// testLab checks a lab variant end to end with the routers' own output and
// packets that never leave the lab's namespaces.
func testLab(t *testing.T, edge string) {
	l := ForTest(t, Options{Edge: edge})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("sessions", func(t *testing.T) { checkSessions(ctx, t, l) })

	t.Run("trace primary", func(t *testing.T) { wantPath(ctx, t, l, PrimaryAmazon, SecondaryAmazon) })
	for _, silent := range []bool{false, true} {
		name := "carrier"
		if silent {
			name = "silent"
		}
		t.Run("cut primary "+name, func(t *testing.T) {
			if err := l.Cut(LinkPrimary, silent); err != nil {
				t.Fatal(err)
			}
			waitConverged(ctx, t, l, 10*time.Second)
			wantPath(ctx, t, l, SecondaryAmazon, PrimaryAmazon)
			if err := l.Restore(LinkPrimary); err != nil {
				t.Fatal(err)
			}
			waitConverged(ctx, t, l, 20*time.Second)
			wantPath(ctx, t, l, PrimaryAmazon, SecondaryAmazon)
		})
	}

	t.Run("active_active", func(t *testing.T) {
		// WaitConverged checks the routers' ECMP next hops for the mode.
		for _, m := range []string{ModeActiveActive, ModeActivePassive} {
			if err := l.SetMode(ctx, m); err != nil {
				t.Fatal(err)
			}
			waitConverged(ctx, t, l, 20*time.Second)
		}
		wantPath(ctx, t, l, PrimaryAmazon, SecondaryAmazon)
	})

	t.Run("brownout", func(t *testing.T) {
		if err := l.Brownout(LinkSecondary, 30); err != nil {
			t.Fatal(err)
		}
		lk, _ := l.topo.link(LinkSecondary)
		for _, h := range []string{lk.Edge, lk.AWS} {
			out, err := l.Exec(ctx, h, "nft", "list", "chain", "inet", "dxlab", "link_secondary")
			if err != nil || !strings.Contains(string(out), "numgen random mod 100 < 30") {
				t.Errorf("%s: brownout rule missing: %v\n%s", h, err, out)
			}
		}
		if err := l.Brownout(LinkSecondary, 0); err != nil {
			t.Fatal(err)
		}
		if st := l.LinkStates()[LinkSecondary]; st != stateUp {
			t.Errorf("secondary is %s after the brownout ended", st)
		}
	})

	t.Run("bgp feed", func(t *testing.T) { checkBGPFeed(ctx, t, l) })
	t.Run("bmp feed", func(t *testing.T) { checkBMPFeed(ctx, t, l) })

	t.Run("down", func(t *testing.T) {
		nss, dir := namespaces(l), l.Dir()
		if err := l.Down(); err != nil {
			t.Fatal(err)
		}
		left, _ := os.ReadDir("/run/netns")
		for _, e := range left {
			if slices.Contains(nss, e.Name()) {
				t.Errorf("namespace %s left after Down", e.Name())
			}
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("run dir %s left after Down (%v)", dir, err)
		}
		if pids := processesMentioning(dir); len(pids) > 0 {
			t.Errorf("processes of the lab left after Down: %v", pids)
		}
	})
}

func namespaces(l *Lab) []string {
	var r []string
	for _, h := range l.Hosts() {
		r = append(r, l.Namespace(h))
	}
	return r
}

// processesMentioning returns the live processes whose command line
// contains s (FRR daemons carry the run directory in theirs).
func processesMentioning(s string) []string {
	ents, _ := os.ReadDir("/proc")
	var r []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || zombie(pid) {
			continue
		}
		if cmd := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cmd, s) {
			r = append(r, e.Name()+": "+cmd)
		}
	}
	return r
}

func waitConverged(ctx context.Context, t *testing.T, l *Lab, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	if err := l.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("converged in %s", time.Since(start).Round(time.Millisecond))
}

// checkSessions asserts from FRR's JSON that every session is Established
// with MD5 where AWS requires it, AWS's timers, and BFD up with 300 ms x 3.
func checkSessions(ctx context.Context, t *testing.T, l *Lab) {
	for _, s := range l.topo.Sessions {
		n, err := l.Neighbor(ctx, s.Host, s.Peer)
		if err != nil {
			t.Fatal(err)
		}
		if n.State != "Established" {
			t.Errorf("%s: session to %s is %s", s.Host, s.Peer, n.State)
		}
		if s.Over == "" {
			continue
		}
		if n.MD5 != 1 {
			t.Errorf("%s: session to %s over %s without MD5", s.Host, s.Peer, s.Over)
		}
		if n.HoldTimeMsecs != 90000 || n.KeepaliveMsecs != 30000 {
			t.Errorf("%s: session to %s: hold %d ms keepalive %d ms, want AWS's 90000/30000", s.Host, s.Peer, n.HoldTimeMsecs, n.KeepaliveMsecs)
		}
		bfd, err := l.BFDPeers(ctx, s.Host)
		if err != nil {
			t.Fatal(err)
		}
		b, ok := bfd[s.Peer]
		switch {
		case !ok:
			t.Errorf("%s: no BFD session to %s", s.Host, s.Peer)
		case b.Status != "up" || b.DetectMult != 3 || b.RxInterval != 300 || b.TxInterval != 300:
			t.Errorf("%s: BFD to %s: %+v, want up 300 ms x 3", s.Host, s.Peer, b)
		case b.PassiveMode != (s.Host == HostAWS1 || s.Host == HostAWS2):
			t.Errorf("%s: BFD to %s passive=%v, want passive on the AWS side only", s.Host, s.Peer, b.PassiveMode)
		}
	}
}

// trace runs Debian's traceroute inside the agent host and returns the hop
// addresses.
func trace(ctx context.Context, t *testing.T, l *Lab, dst string) []string {
	t.Helper()
	out, err := l.Exec(ctx, HostAgent, "traceroute", "-n", "-q", "1", "-w", "1", "-m", "8", dst)
	if err != nil {
		t.Fatal(err)
	}
	var hops []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] != "traceroute" {
			hops = append(hops, f[1])
		}
	}
	return hops
}

// wantPath asserts that the agent's paths to Instance1 and Instance1v6 cross via and not
// avoid.
func wantPath(ctx context.Context, t *testing.T, l *Lab, via, avoid string) {
	t.Helper()
	// The lab is dual-stack: the IPv6 traffic to the instance takes the
	// same link, named by its Amazon IPv6 address.
	amazon6 := map[string]string{}
	for _, lk := range l.topo.Links {
		amazon6[lk.Amazon] = lk.Amazon6
	}
	for _, x := range []struct{ dst, via, avoid string }{{Instance1, via, avoid}, {Instance1v6, amazon6[via], amazon6[avoid]}} {
		hops := trace(ctx, t, l, x.dst)
		if !slices.Contains(hops, x.via) || slices.Contains(hops, x.avoid) || hops[len(hops)-1] != x.dst {
			t.Fatalf("traceroute to %s: %v, want it through %s (%s link) and not %s", x.dst, hops, x.via, LinkOf(x.via), x.avoid)
		}
		t.Logf("traceroute to %s: %v", x.dst, hops)
	}
}

// checkBGPFeed peers a throwaway FRR speaker on the agent address with the
// edges and asserts it holds both links' paths to the VPC, next hops
// unchanged, thanks to ADD-PATH.
func checkBGPFeed(ctx context.Context, t *testing.T, l *Lab) {
	if err := l.startSpeaker(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.stopSpeaker(); err != nil {
			t.Error(err)
		}
	}()
	want := []string{PrimaryAmazon, SecondaryAmazon}
	var got []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		ps, err := l.speakerPaths(ctx, VPCCIDR)
		if err != nil {
			continue // not up yet
		}
		got = got[:0]
		for _, p := range ps {
			if !slices.Contains(got, p.NextHop) {
				got = append(got, p.NextHop)
			}
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			t.Logf("agent holds %d paths to %s: %+v", len(ps), VPCCIDR, ps)
			return
		}
	}
	t.Fatalf("agent's paths to %s have next hops %v, want %v", VPCCIDR, got, want)
}

// checkBMPFeed listens as a BMP station on the agent address and asserts
// the edges connect and stream pre- and post-policy route monitoring of
// both links' paths.
func checkBMPFeed(ctx context.Context, t *testing.T, l *Lab) {
	ln, err := l.Listen(HostAgent, "tcp", net.JoinHostPort(AgentAddress, fmt.Sprint(BMPPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type seen struct {
		nextHop netip.Addr
		post    bool
	}
	msgs := make(chan seen, 1024)
	edges := len(l.Edges())
	for range edges {
		c, err := acceptWithin(ln, 15*time.Second)
		if err != nil {
			t.Fatalf("no BMP connection from the edges: %v", err)
		}
		defer c.Close()
		t.Logf("BMP session from %s", c.RemoteAddr())
		go func() {
			for {
				m, err := readBMP(c)
				if err != nil {
					return
				}
				if m.routeMonitoring && m.nextHop.IsValid() {
					msgs <- seen{m.nextHop, m.postPolicy}
				}
			}
		}()
	}
	want := map[seen]bool{}
	for _, nh := range []string{PrimaryAmazon, SecondaryAmazon} {
		for _, post := range []bool{false, true} {
			want[seen{netip.MustParseAddr(nh), post}] = true
		}
	}
	timeout := time.After(15 * time.Second)
	for len(want) > 0 {
		select {
		case m := <-msgs:
			delete(want, m)
		case <-timeout:
			t.Fatalf("BMP route monitoring never carried %v", want)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
}

func acceptWithin(ln net.Listener, d time.Duration) (net.Conn, error) {
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(d))
	return ln.Accept()
}

// bmpMessage is what the test needs from a BMP message (RFC 7854).
type bmpMessage struct {
	routeMonitoring bool
	postPolicy      bool       // per-peer header L flag
	nextHop         netip.Addr // NEXT_HOP of the BGP UPDATE
}

func readBMP(r io.Reader) (bmpMessage, error) {
	var m bmpMessage
	var hdr [6]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return m, err
	}
	if hdr[0] != 3 {
		return m, fmt.Errorf("BMP version %d", hdr[0])
	}
	n := binary.BigEndian.Uint32(hdr[1:5])
	if n < 6 || n > 1<<20 {
		return m, fmt.Errorf("BMP length %d", n)
	}
	body := make([]byte, n-6)
	if _, err := io.ReadFull(r, body); err != nil {
		return m, err
	}
	if hdr[5] != 0 || len(body) < 42+19 { // route monitoring: per-peer header + BGP header
		return m, nil
	}
	m.routeMonitoring = true
	m.postPolicy = body[1]&0x40 != 0
	bgp := body[42:]
	if bgp[18] != 2 { // UPDATE
		return m, nil
	}
	u := bgp[19:]
	if len(u) < 2 {
		return m, nil
	}
	wl := int(binary.BigEndian.Uint16(u))
	if len(u) < 4+wl {
		return m, nil
	}
	al := int(binary.BigEndian.Uint16(u[2+wl:]))
	attrs := u[4+wl:]
	if len(attrs) < al {
		return m, nil
	}
	attrs = attrs[:al]
	for len(attrs) >= 3 {
		flags, typ := attrs[0], attrs[1]
		hl, ln := 3, int(attrs[2])
		if flags&0x10 != 0 {
			if len(attrs) < 4 {
				break
			}
			hl, ln = 4, int(binary.BigEndian.Uint16(attrs[2:]))
		}
		if len(attrs) < hl+ln {
			break
		}
		if typ == 3 && ln == 4 {
			m.nextHop = netip.AddrFrom4([4]byte(attrs[hl : hl+4]))
		}
		attrs = attrs[hl+ln:]
	}
	return m, nil
}

// TestLabReturnPath checks that the Amazon side is one routing domain, as
// behind a Direct Connect gateway: an echo to the secondary's Amazon
// address leaves over the secondary, but in active/passive its reply
// returns over the primary, AWS's preferred path to on-prem; a silent cut
// of the primary (BFD off) loses it; a carrier cut, or a silent one with
// BFD on, brings it back over the secondary once BGP has reconverged; with
// the primary's BGP session down (wrong MD5) aws1 answers an echo over the
// secondary, and with its IPv6 session alone down (wrong-md5-ipv6) the
// IPv4 session and return path stay on the primary; in active/active each
// AWS router answers over its own link.
func TestLabReturnPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"one edge no BFD", Options{Edge: EdgeOne, NoBFD: true}},
		{"two edges BFD", Options{Edge: EdgeTwo}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := ForTest(t, tc.o)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()

			t.Run("active_passive", func(t *testing.T) {
				wantEcho(ctx, t, l, "", SecondaryAmazon, LinkSecondary, LinkPrimary)
				wantEcho(ctx, t, l, "", PrimaryAmazon, LinkPrimary, LinkPrimary)
			})
			t.Run("silent cut primary", func(t *testing.T) {
				if err := l.Cut(LinkPrimary, true); err != nil {
					t.Fatal(err)
				}
				if tc.o.NoBFD {
					// BGP holds on for 90 s: AWS still answers over the primary.
					wantEcho(ctx, t, l, "", SecondaryAmazon, LinkSecondary, "")
				} else {
					waitConverged(ctx, t, l, 10*time.Second)
					wantEcho(ctx, t, l, "", SecondaryAmazon, LinkSecondary, LinkSecondary)
				}
				restorePrimary(ctx, t, l)
			})
			t.Run("carrier cut primary", func(t *testing.T) {
				if err := l.Cut(LinkPrimary, false); err != nil {
					t.Fatal(err)
				}
				waitConverged(ctx, t, l, 10*time.Second)
				wantEcho(ctx, t, l, "", SecondaryAmazon, LinkSecondary, LinkSecondary)
				restorePrimary(ctx, t, l)
				wantEcho(ctx, t, l, "", SecondaryAmazon, LinkSecondary, LinkPrimary)
			})
			t.Run("primary BGP down", func(t *testing.T) {
				// The link carries packets but AWS has no route over it:
				// aws1 answers over the secondary, through the reflector.
				if err := l.Break(ctx, FaultWrongMD5, LinkPrimary); err != nil {
					t.Fatal(err)
				}
				waitConverged(ctx, t, l, 20*time.Second)
				wantEcho(ctx, t, l, "", PrimaryAmazon, LinkPrimary, LinkSecondary)
				if err := l.Mend(ctx, FaultWrongMD5, LinkPrimary); err != nil {
					t.Fatal(err)
				}
				waitConverged(ctx, t, l, 20*time.Second)
				wantEcho(ctx, t, l, "", PrimaryAmazon, LinkPrimary, LinkPrimary)
			})
			t.Run("primary IPv6 BGP down", func(t *testing.T) {
				// wrong-md5-ipv6 keeps the primary's IPv6 session down
				// (WaitConverged expects it, and the IPv6 routes over the
				// secondary) while its IPv4 session and the IPv4 return
				// path stay on the primary.
				if err := l.Break(ctx, FaultWrongMD56, LinkPrimary); err != nil {
					t.Fatal(err)
				}
				waitConverged(ctx, t, l, 20*time.Second)
				sum, err := l.BGPSummary(ctx, HostAWS1)
				if err != nil {
					t.Fatal(err)
				}
				sum6, err := l.BGPSummary6(ctx, HostAWS1)
				if err != nil {
					t.Fatal(err)
				}
				if sum[PrimaryCustomer].State != "Established" || sum6[PrimaryCustomer6].State == "Established" {
					t.Errorf("aws1: IPv4 session %s, IPv6 session %s; want IPv4 Established, IPv6 not", sum[PrimaryCustomer].State, sum6[PrimaryCustomer6].State)
				}
				wantEcho(ctx, t, l, "", PrimaryAmazon, LinkPrimary, LinkPrimary)
				if err := l.Mend(ctx, FaultWrongMD56, LinkPrimary); err != nil {
					t.Fatal(err)
				}
				waitConverged(ctx, t, l, 20*time.Second)
			})
			t.Run("active_active", func(t *testing.T) {
				if err := l.SetMode(ctx, ModeActiveActive); err != nil {
					t.Fatal(err)
				}
				waitConverged(ctx, t, l, 20*time.Second)
				wantEcho(ctx, t, l, "", SecondaryAmazon, LinkSecondary, LinkSecondary)
				wantEcho(ctx, t, l, "", PrimaryAmazon, LinkPrimary, LinkPrimary)
				if err := l.SetMode(ctx, ModeActivePassive); err != nil {
					t.Fatal(err)
				}
				waitConverged(ctx, t, l, 20*time.Second)
				wantEcho(ctx, t, l, "", SecondaryAmazon, LinkSecondary, LinkPrimary)
			})
		})
	}
}

func restorePrimary(ctx context.Context, t *testing.T, l *Lab) {
	t.Helper()
	if err := l.Restore(LinkPrimary); err != nil {
		t.Fatal(err)
	}
	waitConverged(ctx, t, l, 20*time.Second)
}

// wantEcho sends five echoes from the agent host (from src, "" for its LAN
// address) to dst and asserts they all left over link out and all came
// back over link back, or, with back "", that none was answered.
func wantEcho(ctx context.Context, t *testing.T, l *Lab, src, dst, out, back string) {
	t.Helper()
	const n = 5
	if src == "" {
		src = AgentAddress
	}
	p, err := l.Echo(ctx, src, dst, n)
	if err != nil {
		t.Fatal(err)
	}
	wantAnswered, wantBack := n, []string{back}
	if back == "" {
		wantAnswered, wantBack = 0, nil
	}
	if p.Sent != n || p.Answered != wantAnswered || p.Out[out] != n || !slices.Equal(p.OutLinks(), []string{out}) ||
		(back != "" && p.Back[back] != n) || !slices.Equal(p.BackLinks(), wantBack) {
		t.Fatalf("echo %s -> %s: %+v; want %d answered, all out over %s and back over %q", src, dst, p, wantAnswered, out, back)
	}
	t.Logf("echo %s -> %s: %d/%d answered, out over %v, back over %v", src, dst, p.Answered, p.Sent, p.OutLinks(), p.BackLinks())
}

// TestLabProbeSources checks Options.ProbeSources: each link's AWS router
// receives only that link's probe source /32, so echoes from it return over
// that link; during a silent primary cut (BFD off, BGP still up) echoes
// from the secondary's probe source to the secondary's Amazon address are
// answered, while those from the primary's probe source, and the agent's
// LAN address's to the secondary (AWS answers it over the primary), are not.
func TestLabProbeSources(t *testing.T) {
	for _, edge := range []string{EdgeOne, EdgeTwo} {
		t.Run(edge, func(t *testing.T) {
			l := ForTest(t, Options{Edge: edge, NoBFD: true, ProbeSources: true})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			t.Run("advertised over its own link only", func(t *testing.T) {
				for _, lk := range l.topo.Links {
					rs, err := l.PeerRoutes(ctx, lk.AWS, lk.Customer, false)
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, r := range rs {
						got = append(got, r.Prefix)
					}
					if want := []string{OnPremPrefix, lk.ProbeSource + "/32"}; !slices.Equal(got, want) {
						t.Errorf("%s received %v over the %s link, want %v", lk.AWS, got, lk.Name, want)
					}
				}
			})
			t.Run("replies over the source's link", func(t *testing.T) {
				wantEcho(ctx, t, l, PrimaryProbeSource, PrimaryAmazon, LinkPrimary, LinkPrimary)
				wantEcho(ctx, t, l, SecondaryProbeSource, SecondaryAmazon, LinkSecondary, LinkSecondary)
				wantEcho(ctx, t, l, AgentAddress, SecondaryAmazon, LinkSecondary, LinkPrimary)
			})
			t.Run("silent cut primary", func(t *testing.T) {
				if err := l.Cut(LinkPrimary, true); err != nil {
					t.Fatal(err)
				}
				wantEcho(ctx, t, l, SecondaryProbeSource, SecondaryAmazon, LinkSecondary, LinkSecondary)
				wantEcho(ctx, t, l, PrimaryProbeSource, PrimaryAmazon, LinkPrimary, "")
				wantEcho(ctx, t, l, AgentAddress, SecondaryAmazon, LinkSecondary, "")
				restorePrimary(ctx, t, l)
			})
		})
	}
}

// TestLabTransitGateway checks Options.TransitGateway with probe sources:
// the AWS routers refuse echoes from on-prem to their peer /30 (a transit
// VIF's is not reachable through a transit gateway) while BGP runs; each
// link's monitored address reaches the VPC over its own link both ways; a
// silent primary cut (BFD off, BGP still up) takes the primary's monitored
// address's echoes and leaves the secondary's answered over the secondary.
func TestLabTransitGateway(t *testing.T) {
	l := ForTest(t, Options{NoBFD: true, ProbeSources: true, TransitGateway: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("peer /30 refused from on-prem", func(t *testing.T) {
		wantEcho(ctx, t, l, PrimaryProbeSource, PrimaryAmazon, LinkPrimary, "")
		wantEcho(ctx, t, l, SecondaryProbeSource, SecondaryAmazon, LinkSecondary, "")
		wantEcho(ctx, t, l, AgentAddress, PrimaryAmazon, LinkPrimary, "")
		// The edge, on the /30, still reaches it.
		if out, err := l.Exec(ctx, HostEdge1, "ping", "-c", "2", "-i", "0.2", "-W", "1", PrimaryAmazon); err != nil {
			t.Errorf("the edge cannot ping %s over the link: %v\n%s", PrimaryAmazon, err, out)
		}
	})
	t.Run("monitored addresses over their own link", func(t *testing.T) {
		wantEcho(ctx, t, l, PrimaryProbeSource, Instance1, LinkPrimary, LinkPrimary)
		wantEcho(ctx, t, l, SecondaryProbeSource, Instance1, LinkSecondary, LinkSecondary)
	})
	t.Run("silent cut primary", func(t *testing.T) {
		if err := l.Cut(LinkPrimary, true); err != nil {
			t.Fatal(err)
		}
		wantEcho(ctx, t, l, SecondaryProbeSource, Instance1, LinkSecondary, LinkSecondary)
		wantEcho(ctx, t, l, PrimaryProbeSource, Instance1, LinkPrimary, "")
		restorePrimary(ctx, t, l)
		wantEcho(ctx, t, l, PrimaryProbeSource, Instance1, LinkPrimary, LinkPrimary)
	})
}
