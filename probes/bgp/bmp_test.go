package bgp

import (
	"context"
	"encoding/binary"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/api"
	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/packet/bmp"
	"go.uber.org/goleak"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// bmpSite puts the links' Amazon addresses on loopback, so that real
// GoBGP "AWS" speakers can hold them.
func bmpSite() probes.Site {
	s := labsite.Site()
	s.Links[0].AmazonAddress = netip.MustParsePrefix("127.0.1.1/30")
	s.Links[1].AmazonAddress = netip.MustParsePrefix("127.0.2.1/30")
	return s
}

func bmpProbe(t *testing.T, site probes.Site, rec probes.Observer) *Probe {
	t.Helper()
	cfg := DefaultConfig()
	cfg.BMP.ListenAddress = "127.0.0.1:0"
	cfg.BMP.Routers = []string{"127.0.0.1"} // the tests' routers connect from loopback
	p := newTestProbe(t, cfg, site, rec)
	runProbe(t, p)
	eventually(t, 5*time.Second, "bmp listener", func() bool { return p.BMPAddr() != nil })
	return p
}

func (p *Probe) bmpPeer(addr string) (BMPPeerView, bool) {
	for _, r := range p.Routes().BMPRouters {
		for _, bp := range r.Peers {
			if bp.Address == addr {
				return bp, true
			}
		}
	}
	return BMPPeerView{}, false
}

// TestBMPFromGoBGP: an edge router (GoBGP) peers with an "AWS" router on
// the primary link's Amazon address and reports it to the station over
// BMP. The station attributes the routes by monitored peer, and sees the
// DX session go down with its reason.
func TestBMPFromGoBGP(t *testing.T) {
	if raceDetector {
		// The router side here is GoBGP's BMP client, which races with its
		// own FSM (pkg/server/bmp.go:179 serializes a peer's OPEN while the
		// FSM writes it). dxwatch's station is not involved; make test runs
		// this test again without -race.
		t.Skip("GoBGP's BMP client has a data race of its own; make test runs this test without -race")
	}
	// dxwatch runs no GoBGP speaker here (BMP only); the edge speaker's
	// BMP client stops its watcher asynchronously after DeleteBmp.
	noLeaks(t, goleak.IgnoreTopFunction("github.com/eapache/channels.(*InfiniteChannel).infiniteBuffer"))
	rec := &recorder{}
	site := bmpSite()
	p := bmpProbe(t, site, rec)
	debugProbe = p

	awsPort := freePort(t)
	aws := newSpeaker(t, 64512, "127.0.1.1", awsPort)
	aws.addPeer(t, edge1Addr, 65000, passive())
	aws.announce(t, route{prefix: vpcPrefix, nextHop: netip.MustParseAddr("127.0.1.1"), asPath: []uint32{64512}})

	edge := newSpeaker(t, 65000, edge1Addr, -1)
	// PRE: pre-policy Adj-RIB-In. (GoBGP 4.8.0's client races with
	// StopBgp under the race detector when Loc-RIB is monitored: ALL or
	// LOCAL_RIB; post-policy is covered by TestBMPCrafted.)
	bmpReq := &api.AddBmpRequest{
		Address: "127.0.0.1", Port: uint32(p.BMPAddr().Port), Policy: api.AddBmpRequest_MONITORING_POLICY_PRE, SysName: "edge1",
	}
	if err := edge.s.AddBmp(context.Background(), bmpReq); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = edge.s.DeleteBmp(context.Background(), &api.DeleteBmpRequest{Address: bmpReq.Address, Port: bmpReq.Port})
	})
	edge.addPeer(t, "127.0.1.1", 64512, from(edge1Addr), remotePort(awsPort))

	eventually(t, 20*time.Second, "the prefix over primary from BMP", func() bool {
		return p.linkPrefix("primary", vpcPrefix).Present
	})
	bp, ok := p.bmpPeer("127.0.1.1")
	if !ok || !bp.Up || bp.Link != "primary" || bp.ASN != 64512 {
		t.Errorf("monitored peer = %+v, want primary up from AS 64512", bp)
	}
	if lv := p.Routes().Links[0]; lv.Session.Source != "bmp" || lv.Session.Up == nil || !*lv.Session.Up {
		t.Errorf("primary session = %+v, want up from bmp", lv.Session)
	}
	if c := p.check("bgp.dx_session.primary"); c.Status != probes.Pass {
		t.Errorf("bgp.dx_session.primary = %+v", c)
	}
	pv := p.linkPrefix("primary", vpcPrefix).Path
	if pv == nil || !strings.HasPrefix(pv.Source, "127.0.0.1/127.0.1.1") {
		t.Errorf("path = %+v, want from the BMP router's monitored peer", pv)
	}

	// The DX session drops: AWS shuts the neighbor down.
	if err := aws.s.ShutdownPeer(context.Background(), &api.ShutdownPeerRequest{Address: edge1Addr, Communication: "maintenance"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the DX session down over BMP", func() bool {
		bp, _ := p.bmpPeer("127.0.1.1")
		return !bp.Up && bp.Reason != ""
	})
	bp, _ = p.bmpPeer("127.0.1.1")
	if bp.ReasonCode != int(bmp.BMP_PEER_DOWN_REASON_REMOTE_BGP_NOTIFICATION) || !strings.Contains(bp.Reason, "cease") {
		t.Errorf("peer down = %d %q, want a remote notification (cease)", bp.ReasonCode, bp.Reason)
	}
	if p.linkPrefix("primary", vpcPrefix).Present {
		t.Errorf("prefix still present on primary after the DX session went down")
	}
	o, ok := rec.find(func(o probes.Observation) bool { return o.Event == probes.BGPSession && o.Link == "primary" && !o.Up })
	if !ok || o.Peer != "127.0.0.1" || o.Time.IsZero() {
		t.Errorf("session observation = %+v (found %v)", o, ok)
	}
	if c := p.check("bgp.dx_session.primary"); c.Status != probes.Fail || !strings.Contains(c.Reason, "cease") {
		t.Errorf("bgp.dx_session.primary = %+v", c)
	}
}

// bmpConn dials the station.
func bmpConn(t *testing.T, p *Probe) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.BMPAddr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func writeBMP(t *testing.T, c net.Conn, msgs ...*bmp.BMPMessage) {
	t.Helper()
	for _, m := range msgs {
		b, err := m.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
}

func openMsg(asn uint32, id string, addPath bool) *gobgp.BGPMessage {
	caps := []gobgp.ParameterCapabilityInterface{
		gobgp.NewCapMultiProtocol(gobgp.RF_IPv4_UC),
		gobgp.NewCapFourOctetASNumber(asn),
	}
	if addPath {
		caps = append(caps, gobgp.NewCapAddPath([]*gobgp.CapAddPathTuple{gobgp.NewCapAddPathTuple(gobgp.RF_IPv4_UC, gobgp.BGP_ADD_PATH_BOTH)}))
	}
	m, _ := gobgp.NewBGPOpenMessage(23456, 90, netip.MustParseAddr(id), []gobgp.OptionParameterInterface{gobgp.NewOptionParameterCapability(caps)})
	return m
}

func updateMsg(t testing.TB, withdraw []gobgp.PathNLRI, nlri []gobgp.PathNLRI, asPath []uint32, nh string) *gobgp.BGPMessage {
	t.Helper()
	var attrs []gobgp.PathAttributeInterface
	if len(nlri) > 0 {
		n, _ := gobgp.NewPathAttributeNextHop(netip.MustParseAddr(nh))
		attrs = []gobgp.PathAttributeInterface{
			gobgp.NewPathAttributeOrigin(0),
			gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAs4PathParam(gobgp.BGP_ASPATH_ATTR_TYPE_SEQ, asPath)}),
			n,
		}
	}
	return gobgp.NewBGPUpdateMessage(withdraw, attrs, nlri)
}

func pnlri(prefix string, id uint32) gobgp.PathNLRI {
	n, _ := gobgp.NewIPAddrPrefix(netip.MustParsePrefix(prefix))
	return gobgp.PathNLRI{NLRI: n, ID: id}
}

// routeMonitoring serializes the UPDATE with ADD-PATH when addPath is set
// (the encoding the monitored session negotiated).
func routeMonitoring(t testing.TB, ph bmp.BMPPeerHeader, upd *gobgp.BGPMessage, addPath bool) []byte {
	t.Helper()
	var opts []*gobgp.MarshallingOption
	if addPath {
		opts = append(opts, &gobgp.MarshallingOption{AddPath: map[gobgp.Family]gobgp.BGPAddPathMode{gobgp.RF_IPv4_UC: gobgp.BGP_ADD_PATH_SEND}})
	}
	payload, err := upd.Serialize(opts...)
	if err != nil {
		t.Fatal(err)
	}
	m := bmp.NewBMPRouteMonitoring(ph, nil)
	m.Body.(*bmp.BMPRouteMonitoring).BGPUpdatePayload = payload
	b, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBMPCrafted feeds the station hand-made RFC 7854 messages: an ADD-PATH
// session with two paths, a withdrawal, pre- and post-policy, a peer down
// with a NOTIFICATION; then bad input.
func TestBMPCrafted(t *testing.T) {
	noLeaks(t)
	rec := &recorder{}
	site := labsite.Site()
	p := bmpProbe(t, site, rec)
	debugProbe = p
	c := bmpConn(t, p)

	ts := float64(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Unix())
	ph := func(peer string, post bool) bmp.BMPPeerHeader {
		flags := uint8(0)
		if post {
			flags |= bmp.BMP_PEER_FLAG_POST_POLICY
		}
		return *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_GLOBAL, flags, 0, netip.MustParseAddr(peer), 64512, netip.MustParseAddr("10.0.0.1"), ts)
	}
	prim := ph("169.254.10.1", false)
	up := bmp.NewBMPPeerUpNotification(prim, netip.MustParseAddr("169.254.10.2"), 179, 40000, openMsg(65000, "192.0.2.1", true), openMsg(64512, "10.0.0.1", true))
	writeBMP(t, c, bmp.NewBMPInitiation([]bmp.BMPInfoTLVInterface{bmp.NewBMPInfoTLVString(bmp.BMP_INIT_TLV_TYPE_SYS_NAME, "edge1")}), up)
	sent := time.Now()
	if _, err := c.Write(routeMonitoring(t, prim, updateMsg(t, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, 7), pnlri("198.18.5.0/24", 8)}, []uint32{64512, 64512}, "169.254.10.1"), true)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "crafted routes", func() bool { return p.linkPrefix("primary", vpcPrefix).Present })
	pv := p.linkPrefix("primary", vpcPrefix).Path
	// Dated by arrival, not by the header's (2025) timestamp: routers
	// fill that with a fixed time (bmp.go).
	if pv.PathID != 7 || pv.Prepends != 1 || pv.Since.Before(sent) {
		t.Errorf("path = %+v, want path id 7, 1 prepend, dated at arrival (after %s)", pv, sent)
	}
	if c := p.check("bgp.intent.no_more_specifics"); c.Status != probes.Warn || !strings.Contains(c.Reason, "198.18.5.0/24 over primary") {
		t.Errorf("more-specific check = %+v", c)
	}
	if r := p.Routes(); len(r.BMPRouters) != 1 || r.BMPRouters[0].SysName != "edge1" {
		t.Errorf("routers = %+v", r.BMPRouters)
	}
	// The router's initial dump of the Direct Connect session ends with
	// End-of-RIB (RFC 7854 5): only then is the station ready. The
	// router's session with this agent (no link) is not waited for.
	other := ph("192.0.2.10", false)
	writeBMP(t, c, bmp.NewBMPPeerUpNotification(other, netip.MustParseAddr("192.0.2.1"), 179, 40001, openMsg(65000, "192.0.2.1", false), openMsg(65000, "192.0.2.10", false)))
	eventually(t, 10*time.Second, "the other session up", func() bool { bp, _ := p.bmpPeer("192.0.2.10"); return bp.Up })
	bmpReady := func() probes.Readiness {
		rs := p.Readiness()
		if len(rs) != 1 || rs[0].Kind != "bmp" {
			t.Fatalf("readiness %+v, want the BMP router's", rs)
		}
		return rs[0]
	}
	if rd := bmpReady(); rd.Ready || !strings.Contains(rd.Detail, "no End-of-RIB) for 169.254.10.1") || strings.Contains(rd.Detail, "192.0.2.10") {
		t.Errorf("before End-of-RIB: %+v", rd)
	}
	if _, err := c.Write(routeMonitoring(t, prim, gobgp.NewEndOfRib(gobgp.RF_IPv4_UC), true)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "End-of-RIB", func() bool { return bmpReady().Ready })
	if bp, _ := p.bmpPeer("169.254.10.1"); !bp.EndOfRIB || !p.linkPrefix("primary", vpcPrefix).Present {
		t.Errorf("after End-of-RIB: %+v, prefix present %v", bp, p.linkPrefix("primary", vpcPrefix).Present)
	}

	// Withdraw the more-specific; a malformed Route Monitoring (framing
	// intact) is skipped without losing the stream.
	if _, err := c.Write(routeMonitoring(t, prim, updateMsg(t, []gobgp.PathNLRI{pnlri("198.18.5.0/24", 8)}, nil, nil, ""), true)); err != nil {
		t.Fatal(err)
	}
	bad := routeMonitoring(t, prim, updateMsg(t, nil, []gobgp.PathNLRI{pnlri("10.0.0.0/8", 1)}, []uint32{64512}, "169.254.10.1"), true)
	bad[len(bad)-8] = 0xff // an NLRI length beyond the message
	bad[bmp.BMP_HEADER_SIZE+bmp.BMP_PEER_HEADER_SIZE+18] = 0xff
	if _, err := c.Write(bad); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "withdrawal", func() bool { return p.check("bgp.intent.no_more_specifics").Status == probes.Pass })

	// Peer down with a NOTIFICATION from the remote (AWS) side.
	writeBMP(t, c, bmp.NewBMPPeerDownNotification(prim, bmp.BMP_PEER_DOWN_REASON_REMOTE_BGP_NOTIFICATION,
		gobgp.NewBGPNotificationMessage(gobgp.BGP_ERROR_HOLD_TIMER_EXPIRED, 0, nil), nil))
	eventually(t, 10*time.Second, "peer down", func() bool {
		bp, _ := p.bmpPeer("169.254.10.1")
		return !bp.Up && strings.Contains(bp.Reason, "hold timer expired")
	})
	if p.linkPrefix("primary", vpcPrefix).Present {
		t.Error("routes of a down peer still present")
	}

	t.Run("garbage", func(t *testing.T) {
		before := p.Routes().BMPDecodeErrors
		g := bmpConn(t, p)
		if _, err := g.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		// The station closes a stream it cannot frame.
		_ = g.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := g.Read(make([]byte, 1)); err == nil {
			t.Error("station kept a garbage stream open")
		}
		eventually(t, 5*time.Second, "decode error counted", func() bool { return p.Routes().BMPDecodeErrors > before })
		// A too-long length is refused the same way.
		h := bmpConn(t, p)
		if _, err := h.Write([]byte{3, 0xff, 0xff, 0xff, 0xff, 0}); err != nil {
			t.Fatal(err)
		}
		_ = h.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := h.Read(make([]byte, 1)); err == nil {
			t.Error("station kept a stream with a 4 GB message open")
		}
		// And the station still works.
		writeBMP(t, c, up)
		if _, err := c.Write(routeMonitoring(t, prim, updateMsg(t, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, 7)}, []uint32{64512}, "169.254.10.1"), true)); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "station alive", func() bool { return p.linkPrefix("primary", vpcPrefix).Present })
		// The session is new: its End-of-RIB is still to come.
		if bp, _ := p.bmpPeer("169.254.10.1"); bp.EndOfRIB || p.Readiness()[0].Ready {
			t.Errorf("the new session inherits the old one's End-of-RIB: %+v", bp)
		}
	})

	t.Run("router disconnects", func(t *testing.T) {
		c.Close()
		eventually(t, 10*time.Second, "routes of a closed connection gone", func() bool {
			return !p.linkPrefix("primary", vpcPrefix).Present && len(p.Routes().BMPRouters) == 0
		})
	})
}

// TestBMPPeerUpWithTruncatedOpen: FRR 8.4 sometimes sends a Peer Up whose
// OPEN messages are cut short (seen in the lab after link flaps). The
// session it names must still come up, or the link would stay down here.
func TestBMPPeerUpWithTruncatedOpen(t *testing.T) {
	noLeaks(t)
	p := bmpProbe(t, labsite.Site(), &recorder{})
	c := bmpConn(t, p)
	ph := *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_GLOBAL, 0, 0, netip.MustParseAddr("169.254.10.1"), 64512, netip.MustParseAddr("10.0.0.1"), 0)
	up := bmp.NewBMPPeerUpNotification(ph, netip.MustParseAddr("169.254.10.2"), 179, 40000, openMsg(65000, "192.0.2.1", true), openMsg(64512, "10.0.0.1", true))
	writeBMP(t, c, bmp.NewBMPInitiation([]bmp.BMPInfoTLVInterface{bmp.NewBMPInfoTLVString(bmp.BMP_INIT_TLV_TYPE_SYS_NAME, "edge1")}), up)
	eventually(t, 10*time.Second, "first peer up", func() bool { bp, ok := p.bmpPeer("169.254.10.1"); return ok && bp.Up })

	down := bmp.NewBMPPeerDownNotification(ph, bmp.BMP_PEER_DOWN_REASON_LOCAL_NO_NOTIFICATION, nil, []byte{0, 18})
	writeBMP(t, c, down)
	eventually(t, 10*time.Second, "peer down", func() bool { bp, ok := p.bmpPeer("169.254.10.1"); return ok && !bp.Up })

	// The same Peer Up, its received OPEN cut by 10 bytes: the framing
	// (the common header's length) stays right, the body does not decode.
	b, err := up.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	b = b[:len(b)-10]
	binary.BigEndian.PutUint32(b[1:5], uint32(len(b)))
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "peer up again from a Peer Up with a truncated OPEN", func() bool {
		bp, ok := p.bmpPeer("169.254.10.1")
		return ok && bp.Up
	})
	if got := p.bmpErrors.Load(); got != 1 {
		t.Errorf("bmp decode errors = %d, want the one truncated message counted", got)
	}
}

// logRecorder keeps the probe's log records for the test to read. The
// attributes a logger adds with With are not kept: the test reads the
// records' own.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

// levels returns the level of each record with message msg, by its peer.
func (l *logRecorder) levels(msg string) map[string]slog.Level {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]slog.Level{}
	for _, r := range l.recs {
		if !strings.HasPrefix(r.Message, msg) {
			continue
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "peer" {
				out[a.Value.String()] = r.Level
			}
			return true
		})
	}
	return out
}

// TestBMPSessionOutsideLinks: the edge router also reports its iBGP
// session with the agent (192.0.2.10), which closes on every restart of
// dxwatch. Its loss is logged at Info and is no evidence for the health
// model; the DX session's loss stays a warning and an observation.
func TestBMPSessionOutsideLinks(t *testing.T) {
	noLeaks(t)
	logs := &logRecorder{}
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.BMP.ListenAddress = "127.0.0.1:0"
	cfg.BMP.Routers = []string{"127.0.0.1"} // the tests' routers connect from loopback
	p, err := New("bgp", cfg, probes.Deps{Site: labsite.Site(), Observer: rec, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	runProbe(t, p)
	eventually(t, 5*time.Second, "bmp listener", func() bool { return p.BMPAddr() != nil })
	c := bmpConn(t, p)

	ph := func(peer string, asn uint32) bmp.BMPPeerHeader {
		return *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_GLOBAL, 0, 0, netip.MustParseAddr(peer), asn, netip.MustParseAddr("10.0.0.1"), 0)
	}
	// The lab's links are dual-stack: the primary's IPv6 peering is a
	// session of its own, at the Amazon IPv6 address.
	agent, prim, prim6 := ph("192.0.2.10", 65000), ph("169.254.10.1", 64512), ph(lab.PrimaryAmazon6, 64512)
	writeBMP(t, c, bmp.NewBMPInitiation([]bmp.BMPInfoTLVInterface{bmp.NewBMPInfoTLVString(bmp.BMP_INIT_TLV_TYPE_SYS_NAME, "edge1")}),
		bmp.NewBMPPeerUpNotification(agent, netip.MustParseAddr("192.0.2.1"), 179, 40001, openMsg(65000, "192.0.2.1", true), openMsg(65000, "192.0.2.10", true)),
		bmp.NewBMPPeerUpNotification(prim, netip.MustParseAddr("169.254.10.2"), 179, 40000, openMsg(65000, "192.0.2.1", true), openMsg(64512, "10.0.0.1", true)),
		bmp.NewBMPPeerUpNotification(prim6, netip.MustParseAddr(lab.PrimaryCustomer6), 179, 40002, openMsg(65000, "192.0.2.1", true), openMsg(64512, "10.0.0.1", true)),
		bmp.NewBMPPeerDownNotification(agent, bmp.BMP_PEER_DOWN_REASON_REMOTE_NO_NOTIFICATION, nil, nil),
		bmp.NewBMPPeerDownNotification(prim6, bmp.BMP_PEER_DOWN_REASON_LOCAL_BGP_NOTIFICATION,
			gobgp.NewBGPNotificationMessage(gobgp.BGP_ERROR_HOLD_TIMER_EXPIRED, 0, nil), nil),
		bmp.NewBMPPeerDownNotification(prim, bmp.BMP_PEER_DOWN_REASON_LOCAL_BGP_NOTIFICATION,
			gobgp.NewBGPNotificationMessage(gobgp.BGP_ERROR_HOLD_TIMER_EXPIRED, 0, nil), nil))
	eventually(t, 10*time.Second, "the three sessions down", func() bool {
		a, aok := p.bmpPeer("192.0.2.10")
		b, bok := p.bmpPeer("169.254.10.1")
		c, cok := p.bmpPeer(lab.PrimaryAmazon6)
		return aok && bok && cok && !a.Up && !b.Up && !c.Up
	})

	got := logs.levels("bmp: monitored session down")
	if want := map[string]slog.Level{"192.0.2.10": slog.LevelInfo, "169.254.10.1": slog.LevelWarn, lab.PrimaryAmazon6: slog.LevelWarn}; !maps.Equal(got, want) {
		t.Errorf("session down logged at %v, want %v", got, want)
	}
	if o, ok := rec.find(func(o probes.Observation) bool { return o.Event == probes.BGPSession && o.Link == "" }); ok {
		t.Errorf("observation for a session that is no link's: %+v", o)
	}
	if _, ok := rec.find(func(o probes.Observation) bool {
		return o.Event == probes.BGPSession && o.Link == "primary" && o.Family == "" && !o.Up
	}); !ok {
		t.Error("no observation of the primary's DX session going down")
	}
	if _, ok := rec.find(func(o probes.Observation) bool {
		return o.Event == probes.BGPSession && o.Link == "primary" && o.Family == probes.FamilyIPv6 && !o.Up && strings.Contains(o.Detail, "hold timer")
	}); !ok {
		t.Error("no observation of the primary's IPv6 peering's session going down, with its family")
	}
}

// TestPeerDownReason pins how a BMP Peer Down reads: the cause in words,
// the FSM event only as a detail.
func TestPeerDownReason(t *testing.T) {
	fsm := func(ev uint16) *bmp.BMPPeerDownNotification {
		return &bmp.BMPPeerDownNotification{Reason: bmp.BMP_PEER_DOWN_REASON_LOCAL_NO_NOTIFICATION, Data: []byte{byte(ev >> 8), byte(ev)}}
	}
	for _, tt := range []struct {
		in   *bmp.BMPPeerDownNotification
		want string
	}{
		{fsm(10), "the edge router closed the session without a notification: hold timer expired (BGP FSM event 10)"},
		{fsm(18), "the edge router closed the session without a notification: TCP connection failed or was reset (BGP FSM event 18)"},
		{fsm(0), "the edge router closed the session without a notification: the router gave no cause over BMP (BFD down, an interface down or a configuration change: see its log, e.g. show bgp neighbor … last reset)"},
		{fsm(99), "the edge router closed the session without a notification (BGP FSM event 99)"},
		{&bmp.BMPPeerDownNotification{Reason: bmp.BMP_PEER_DOWN_REASON_REMOTE_NO_NOTIFICATION}, "remote system closed the session without a notification (TCP closed or reset)"},
	} {
		if got := peerDownReason(tt.in); got != tt.want {
			t.Errorf("peerDownReason = %q\nwant %q", got, tt.want)
		}
	}
}
