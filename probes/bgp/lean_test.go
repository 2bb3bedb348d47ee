//go:build linux

package bgp

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/api"
	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// rawSpeaker is a BGP speaker written in the test on the wire format: it
// accepts dxwatch's connections, answers its OPEN, sends what the test
// writes and records the type of every message dxwatch sends.
type rawSpeaker struct {
	ln    net.Listener
	port  int
	conns chan net.Conn
	mu    sync.Mutex
	types []uint8
	opens []*gobgp.BGPOpen
	wg    sync.WaitGroup
	// hold is the hold time of the speaker's OPEN; 0 means 90 s.
	hold uint16
}

func newRawSpeaker(t *testing.T) *rawSpeaker {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(edge1Addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	rs := &rawSpeaker{ln: ln, port: ln.Addr().(*net.TCPAddr).Port, conns: make(chan net.Conn, 4)}
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				close(rs.conns)
				return
			}
			rs.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range rs.conns {
			c.Close()
		}
		rs.wg.Wait()
	})
	return rs
}

// rawConn is one session of the raw speaker.
type rawConn struct {
	c      net.Conn
	closed chan struct{}
}

// accept takes dxwatch's next connection, reads its OPEN, sends the
// speaker's (ADD-PATH send, graceful restart with gr) and a KEEPALIVE,
// and records what dxwatch sends until the connection closes.
func (rs *rawSpeaker) accept(t *testing.T, gr bool) *rawConn {
	t.Helper()
	var c net.Conn
	select {
	case c = <-rs.conns:
	case <-time.After(30 * time.Second):
		t.Fatal("dxwatch did not connect")
	}
	t.Cleanup(func() { c.Close() })
	caps := []gobgp.ParameterCapabilityInterface{
		gobgp.NewCapMultiProtocol(gobgp.RF_IPv4_UC),
		gobgp.NewCapFourOctetASNumber(65000),
		gobgp.NewCapAddPath([]*gobgp.CapAddPathTuple{gobgp.NewCapAddPathTuple(gobgp.RF_IPv4_UC, gobgp.BGP_ADD_PATH_SEND)}),
	}
	if gr {
		caps = append(caps, gobgp.NewCapGracefulRestart(false, false, 120, []*gobgp.CapGracefulRestartTuple{gobgp.NewCapGracefulRestartTuple(gobgp.RF_IPv4_UC, false)}))
	}
	hold := rs.hold
	if hold == 0 {
		hold = 90
	}
	open, _ := gobgp.NewBGPOpenMessage(65000, hold, netip.MustParseAddr("10.255.0.2"), []gobgp.OptionParameterInterface{gobgp.NewOptionParameterCapability(caps)})
	rc := &rawConn{c: c, closed: make(chan struct{})}
	first := make(chan struct{})
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		defer close(rc.closed)
		hdr := make([]byte, gobgp.BGP_HEADER_LENGTH)
		for n := 0; ; n++ {
			if _, err := io.ReadFull(c, hdr); err != nil {
				return
			}
			body := make([]byte, int(binary.BigEndian.Uint16(hdr[16:18]))-gobgp.BGP_HEADER_LENGTH)
			if _, err := io.ReadFull(c, body); err != nil {
				return
			}
			rs.mu.Lock()
			rs.types = append(rs.types, hdr[18])
			if m, err := gobgp.ParseBGPMessage(append(slices.Clone(hdr), body...)); err == nil {
				if o, ok := m.Body.(*gobgp.BGPOpen); ok {
					rs.opens = append(rs.opens, o)
				}
			}
			rs.mu.Unlock()
			if n == 0 {
				close(first)
			}
		}
	}()
	select {
	case <-first:
	case <-time.After(30 * time.Second):
		t.Fatal("no OPEN from dxwatch")
	}
	rc.send(t, open)
	rc.send(t, gobgp.NewBGPKeepAliveMessage())
	return rc
}

var addPathOpt = &gobgp.MarshallingOption{AddPath: map[gobgp.Family]gobgp.BGPAddPathMode{gobgp.RF_IPv4_UC: gobgp.BGP_ADD_PATH_SEND}}

func (rc *rawConn) send(t *testing.T, m *gobgp.BGPMessage) {
	t.Helper()
	b, err := m.Serialize(addPathOpt)
	if err != nil {
		t.Fatal(err)
	}
	rc.write(t, b)
}

func (rc *rawConn) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := rc.c.Write(b); err != nil {
		t.Fatal(err)
	}
}

func (rs *rawSpeaker) sent() ([]uint8, []*gobgp.BGPOpen) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.types), slices.Clone(rs.opens)
}

func leanPeer(port int) PeerConfig {
	return PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Port: port, Session: SessionLean}
}

func fastRetry(t *testing.T) {
	old := leanRetryMin
	leanRetryMin = 100 * time.Millisecond
	t.Cleanup(func() { leanRetryMin = old })
}

// TestLeanSession runs the lean session against the raw speaker: the
// session comes up with ADD-PATH and graceful restart, keeps the VPC
// prefix's two paths (one per link) and drops the other prefix, is ready
// on End-of-RIB, follows a withdrawal, treats a malformed UPDATE as a
// withdrawal without dropping the session, answers a broken message with
// NOTIFICATION and reconnects, and never sends an UPDATE.
func TestLeanSession(t *testing.T) {
	noLeaks(t)
	fastRetry(t)
	rs := newRawSpeaker(t)
	rec := &recorder{}
	pc := leanPeer(rs.port)
	pc.GracefulRestart = true
	p := newTestProbe(t, edgeConfig(0, pc), labsite.Site(), rec)
	runProbe(t, p)
	rc := rs.accept(t, true)

	prim := pnlri(vpcPrefix, 1)
	sec := pnlri(vpcPrefix, 2)
	rc.send(t, updateMsg(t, nil, []gobgp.PathNLRI{prim}, []uint32{64512}, primaryAmazon.String()))
	rc.send(t, updateMsg(t, nil, []gobgp.PathNLRI{sec, pnlri("10.9.0.0/16", 1)}, []uint32{64512, 64512}, secondaryAmazon.String()))
	rc.send(t, gobgp.NewEndOfRib(gobgp.RF_IPv4_UC))

	eventually(t, 20*time.Second, "both paths and End-of-RIB", func() bool {
		return p.linkPrefix("primary", vpcPrefix).Present && p.linkPrefix("secondary", vpcPrefix).Present && p.peerView("edge1").EndOfRIB
	})
	pv := p.peerView("edge1")
	if !pv.Up || !pv.EndOfRIBNegotiated || pv.Updates != 3 || pv.Session != SessionLean {
		t.Errorf("peer = %+v, want up, End-of-RIB negotiated, 3 paths counted", pv)
	}
	if r := p.Routes(); r.TablePrefixes != 1 || r.Links[1].Updates != 2 {
		t.Errorf("table %d prefixes (want only the VPC prefix), secondary updates %d (want 2: the dropped path counts)", r.TablePrefixes, r.Links[1].Updates)
	}
	if !p.linkPrefix("primary", vpcPrefix).Best {
		t.Error("primary is not the best path (shorter AS_PATH)")
	}
	if rd := p.Readiness(); len(rd) != 1 || !rd[0].Ready || rd[0].Detail != "End-of-RIB" {
		t.Errorf("readiness = %+v, want ready on End-of-RIB", rd)
	}
	if _, ok := rec.find(func(o probes.Observation) bool { return o.Event == probes.BGPSession && o.Up }); !ok {
		t.Error("no session up observation")
	}
	if _, opens := rs.sent(); len(opens) != 1 || !hasGR(capsOf(opens[0])) || !hasAddPathReceive(capsOf(opens[0])) {
		t.Errorf("dxwatch's OPEN %+v: want graceful restart and ADD-PATH receive", opens)
	}

	t.Run("withdraw", func(t *testing.T) {
		rc.send(t, updateMsg(t, []gobgp.PathNLRI{prim}, nil, nil, ""))
		eventually(t, 10*time.Second, "primary withdrawn", func() bool {
			return !p.linkPrefix("primary", vpcPrefix).Present && p.linkPrefix("secondary", vpcPrefix).Best
		})
		if _, ok := rec.find(func(o probes.Observation) bool {
			return o.Event == probes.BGPPrefix && o.Link == "primary" && !o.Up
		}); !ok {
			t.Error("no prefix down observation for primary")
		}
	})

	t.Run("malformed update treated as withdraw", func(t *testing.T) {
		rc.send(t, updateMsg(t, nil, []gobgp.PathNLRI{prim}, []uint32{64512}, primaryAmazon.String()))
		eventually(t, 10*time.Second, "primary back", func() bool { return p.linkPrefix("primary", vpcPrefix).Present })
		b, _ := updateMsg(t, nil, []gobgp.PathNLRI{prim}, []uint32{64512}, primaryAmazon.String()).Serialize(addPathOpt)
		origin := []byte{0x40, uint8(gobgp.BGP_ATTR_TYPE_ORIGIN), 1, 0} // transitive, length 1, IGP
		i := bytes.Index(b, origin)
		if i < 0 {
			t.Fatal("no ORIGIN attribute in the UPDATE")
		}
		b[i+3] = 7 // no such origin: RFC 7606 §7.1, treat-as-withdraw
		rc.write(t, b)
		eventually(t, 10*time.Second, "primary withdrawn by the malformed update", func() bool {
			return !p.linkPrefix("primary", vpcPrefix).Present
		})
		if pv := p.peerView("edge1"); !pv.Up || pv.Flaps != 0 {
			t.Errorf("after a malformed update the session is %+v, want still up", pv)
		}
	})

	rcs := make(chan *rawConn, 1)
	t.Run("broken message resets and reconnects", func(t *testing.T) {
		bad := make([]byte, gobgp.BGP_HEADER_LENGTH) // marker not all ones
		binary.BigEndian.PutUint16(bad[16:18], gobgp.BGP_HEADER_LENGTH)
		bad[18] = gobgp.BGP_MSG_KEEPALIVE
		rc.write(t, bad)
		select {
		case <-rc.closed:
		case <-time.After(20 * time.Second):
			t.Fatal("dxwatch did not close the session")
		}
		if types, _ := rs.sent(); types[len(types)-1] != gobgp.BGP_MSG_NOTIFICATION {
			t.Errorf("dxwatch's last message is type %d, want NOTIFICATION", types[len(types)-1])
		}
		eventually(t, 10*time.Second, "session down observed", func() bool {
			_, ok := rec.find(func(o probes.Observation) bool { return o.Event == probes.BGPSession && !o.Up })
			return ok
		})
		// Graceful restart: the secondary path stays (stale) until the
		// new session's End-of-RIB; the new session resends only the
		// primary.
		if !p.linkPrefix("secondary", vpcPrefix).Present {
			t.Error("the secondary path went with the session despite graceful restart")
		}
		rc2 := rs.accept(t, true)
		rcs <- rc2
		rc2.send(t, updateMsg(t, nil, []gobgp.PathNLRI{prim}, []uint32{64512}, primaryAmazon.String()))
		rc2.send(t, gobgp.NewEndOfRib(gobgp.RF_IPv4_UC))
		eventually(t, 20*time.Second, "new session: primary, and the stale secondary gone at End-of-RIB", func() bool {
			return p.peerView("edge1").Up && p.linkPrefix("primary", vpcPrefix).Present && !p.linkPrefix("secondary", vpcPrefix).Present
		})
		if pv := p.peerView("edge1"); pv.Flaps != 1 || !strings.Contains(pv.LastError, "malformed message") {
			t.Errorf("after the reset: %+v, want one flap and the reason", pv)
		}
	})

	t.Run("new session without graceful restart drops the stale paths", func(t *testing.T) {
		rc2 := <-rcs
		rc2.c.Close()
		eventually(t, 10*time.Second, "session down", func() bool { return p.peerView("edge1").Flaps == 2 })
		if !p.linkPrefix("primary", vpcPrefix).Present {
			t.Fatal("the primary path went with the session despite graceful restart")
		}
		rs.accept(t, false)
		eventually(t, 20*time.Second, "new session without graceful restart, the stale primary gone", func() bool {
			return p.peerView("edge1").Up && !p.linkPrefix("primary", vpcPrefix).Present
		})
	})

	types, _ := rs.sent()
	for _, ty := range types {
		if ty != gobgp.BGP_MSG_OPEN && ty != gobgp.BGP_MSG_KEEPALIVE && ty != gobgp.BGP_MSG_NOTIFICATION {
			t.Errorf("dxwatch sent message type %d: it must send only OPEN, KEEPALIVE and NOTIFICATION", ty)
		}
	}
}

// TestLeanStaleExpiry: with graceful restart, a lean peer's paths are
// kept stale after its session drops, and withdrawn when it has not come
// back within the restart time.
func TestLeanStaleExpiry(t *testing.T) {
	noLeaks(t)
	fastRetry(t)
	old := leanRestartTime
	leanRestartTime = time.Second
	t.Cleanup(func() { leanRestartTime = old })
	rs := newRawSpeaker(t)
	pc := leanPeer(rs.port)
	pc.GracefulRestart = true
	p := newTestProbe(t, edgeConfig(0, pc), labsite.Site(), nil)
	runProbe(t, p)
	rc := rs.accept(t, true)
	rc.send(t, updateMsg(t, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, 1)}, []uint32{64512}, primaryAmazon.String()))
	rc.send(t, gobgp.NewEndOfRib(gobgp.RF_IPv4_UC))
	eventually(t, 20*time.Second, "primary", func() bool { return p.linkPrefix("primary", vpcPrefix).Present })
	rc.c.Close() // the router restarts, and does not answer the reconnections
	eventually(t, 10*time.Second, "session down", func() bool { return p.peerView("edge1").Flaps == 1 })
	if lp := p.linkPrefix("primary", vpcPrefix); !lp.Present {
		t.Fatalf("primary gone at once despite graceful restart: %+v", lp)
	}
	eventually(t, 20*time.Second, "the stale primary withdrawn after the restart time", func() bool {
		return !p.linkPrefix("primary", vpcPrefix).Present
	})
}

// TestLeanHoldTimer: a router that goes silent gets NOTIFICATION 4 (hold
// timer expired) once the negotiated hold time passes, and the session is
// down with that reason; dxwatch's KEEPALIVEs kept coming meanwhile.
func TestLeanHoldTimer(t *testing.T) {
	noLeaks(t)
	rs := newRawSpeaker(t)
	rs.hold = 3
	pc := leanPeer(rs.port)
	pc.HoldTime = 30 * time.Second // the router's 3 s wins
	p := newTestProbe(t, edgeConfig(0, pc), labsite.Site(), nil)
	runProbe(t, p)
	rc := rs.accept(t, false)
	select {
	case <-rc.closed:
	case <-time.After(30 * time.Second):
		t.Fatal("dxwatch did not end the silent session")
	}
	types, _ := rs.sent()
	if n := len(types); n < 3 || types[n-1] != gobgp.BGP_MSG_NOTIFICATION || types[n-2] != gobgp.BGP_MSG_KEEPALIVE {
		t.Errorf("dxwatch sent %v, want OPEN, KEEPALIVEs, then NOTIFICATION", types)
	}
	eventually(t, 10*time.Second, "session down with hold timer expired", func() bool {
		return p.peerView("edge1").Flaps == 1 && p.peerView("edge1").LastError == errHoldTimer.Error()
	})
}

func capsOf(o *gobgp.BGPOpen) []gobgp.ParameterCapabilityInterface {
	var out []gobgp.ParameterCapabilityInterface
	for _, p := range o.OptParams {
		if pc, ok := p.(*gobgp.OptionParameterCapability); ok {
			out = append(out, pc.Capability...)
		}
	}
	return out
}

func hasAddPathReceive(caps []gobgp.ParameterCapabilityInterface) bool {
	for _, c := range caps {
		if ap, ok := c.(*gobgp.CapAddPath); ok {
			for _, t := range ap.Tuples {
				if t.Family == gobgp.RF_IPv4_UC && t.Mode&gobgp.BGP_ADD_PATH_RECEIVE != 0 {
					return true
				}
			}
		}
	}
	return false
}

// TestLeanGoBGPSpeaker runs the lean session against a real GoBGP speaker
// on loopback with TCP MD5 and ADD-PATH: the same routes as with the
// GoBGP session, nothing in the speaker's Adj-RIB-In from dxwatch, a reset
// by the speaker seen with its Cease and followed by a reconnect; a peer
// with the wrong key never comes up.
func TestLeanGoBGPSpeaker(t *testing.T) {
	noLeaks(t)
	fastRetry(t)
	const key = "dx-agent-md5"
	keyFile := filepath.Join(t.TempDir(), "edge1.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port, portBad := freePort(t), freePort(t)
	edge := newSpeaker(t, 65000, edge1Addr, port)
	edge.addPeer(t, dxAddr, 65000, passive(), sendPaths(2), withKey(key))
	edge.announce(t, primaryPath, secondaryPath,
		route{prefix: "10.9.0.0/16", id: 1, nextHop: primaryAmazon, asPath: []uint32{64512, 7224}})
	bad := newSpeaker(t, 65000, edge2Addr, portBad)
	bad.addPeer(t, dxAddr, 65000, passive(), withKey("not-the-key"))

	pc := leanPeer(port)
	pc.MD5KeyFile = keyFile
	pcBad := PeerConfig{Name: "edge2", Address: edge2Addr, ASN: 65000, Port: portBad, Session: SessionLean, MD5KeyFile: keyFile}
	rec := &recorder{}
	p := newTestProbe(t, edgeConfig(0, pc, pcBad), ipv4Site(), rec)
	runProbe(t, p)

	eventually(t, 30*time.Second, "both paths", func() bool {
		return p.linkPrefix("primary", vpcPrefix).Present && p.linkPrefix("secondary", vpcPrefix).Present
	})
	prim := p.linkPrefix("primary", vpcPrefix)
	if !prim.Best || prim.Path == nil || prim.Path.LocalPref == nil || *prim.Path.LocalPref != 200 || len(prim.Path.Communities) != 1 {
		t.Errorf("primary = %+v", prim)
	}
	if r := p.Routes(); r.TablePrefixes != 1 {
		t.Errorf("table %d prefixes, want only the VPC prefix", r.TablePrefixes)
	}
	for _, name := range []string{"bgp.session.edge1", "bgp.prefix.primary", "bgp.prefix.secondary", "bgp.intent.primary_preferred"} {
		if c := p.check(name); c.Status != probes.Pass {
			t.Errorf("check %s = %s (%s), want pass", name, c.Status, c.Reason)
		}
	}
	if got := edge.adjIn(t, dxAddr); len(got) != 0 {
		t.Errorf("the speaker received %v from dxwatch, want nothing", got)
	}
	if pv := p.peerView("edge2"); pv.Up {
		t.Errorf("edge2 with the wrong MD5 key is up: %+v", pv)
	}

	if err := edge.s.ResetPeer(context.Background(), &api.ResetPeerRequest{Address: dxAddr, Communication: "test reset"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "session down observed", func() bool {
		_, ok := rec.find(func(o probes.Observation) bool { return o.Event == probes.BGPSession && o.Peer == "edge1" && !o.Up })
		return ok
	})
	eventually(t, 30*time.Second, "session and paths back", func() bool {
		return p.peerView("edge1").Up && p.linkPrefix("primary", vpcPrefix).Present && p.linkPrefix("secondary", vpcPrefix).Present
	})
	// GoBGP sends its Cease and closes at once: the Cease may be lost to
	// the connection's reset, so the reason is either.
	if pv := p.peerView("edge1"); pv.Flaps != 1 || pv.LastError == "" {
		t.Errorf("after the reset: %+v, want a flap and the reason", pv)
	}
	if pv := p.peerView("edge2"); pv.Up || pv.Flaps != 0 {
		t.Errorf("edge2 with the wrong MD5 key: %+v, want never up", pv)
	}
	if c := p.check("bgp.session.edge2"); c.Status == probes.Pass {
		t.Errorf("bgp.session.edge2 = %+v, want not pass", c)
	}
}

// FuzzLeanUpdate feeds UPDATE bodies to the lean session's decoding and
// RFC 7606 handling: whatever the router sends, no panic, and a message
// the session survives yields only IPv4/IPv6 unicast paths.
func FuzzLeanUpdate(f *testing.F) {
	for _, m := range []*gobgp.BGPMessage{
		updateMsg(f, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, 1)}, []uint32{64512}, primaryAmazon.String()),
		updateMsg(f, []gobgp.PathNLRI{pnlri(vpcPrefix, 2)}, nil, nil, ""),
		gobgp.NewEndOfRib(gobgp.RF_IPv6_UC),
	} {
		b, err := m.Serialize(addPathOpt)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[gobgp.BGP_HEADER_LENGTH:], true)
	}
	s := &leanSession{expected: []netip.Prefix{netip.MustParsePrefix(vpcPrefix)}, log: slog.New(slog.DiscardHandler)}
	neg := leanNeg{
		opt:      &gobgp.MarshallingOption{AddPath: map[gobgp.Family]gobgp.BGPAddPathMode{gobgp.RF_IPv4_UC: gobgp.BGP_ADD_PATH_RECEIVE}},
		families: map[gobgp.Family]gobgp.BGPAddPathMode{gobgp.RF_IPv4_UC: gobgp.BGP_ADD_PATH_RECEIVE, gobgp.RF_IPv6_UC: gobgp.BGP_ADD_PATH_NONE},
	}
	f.Fuzz(func(t *testing.T, body []byte, addPath bool) {
		if len(body) > gobgp.BGP_MAX_MESSAGE_LENGTH-gobgp.BGP_HEADER_LENGTH {
			return
		}
		n := neg
		if !addPath {
			n.opt = &gobgp.MarshallingOption{}
		}
		h := &gobgp.BGPHeader{Len: uint16(len(body) + gobgp.BGP_HEADER_LENGTH), Type: gobgp.BGP_MSG_UPDATE}
		m, err := decodeBody(h, body, n.opt)
		if m == nil {
			return
		}
		u, ok := m.Body.(*gobgp.BGPUpdate)
		if !ok {
			t.Fatalf("an UPDATE decoded as %T", m.Body)
		}
		w := &leanWriter{c: discardConn{}}
		b := &leanBatch{}
		if !s.update(w, u, err, n, b) {
			return
		}
		for _, p := range b.paths {
			if _, ok := nlriPrefix(p.Nlri); !ok {
				t.Errorf("queued a path that is not unicast: %T", p.Nlri)
			}
		}
	})
}

// discardConn is a net.Conn that takes every write (the fuzz target's
// NOTIFICATIONs).
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error)      { return len(b), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

// TestLeanUpdateMP: IPv6 paths in MP_REACH_NLRI are read with its next
// hop, those of no expected prefix are counted by next hop and dropped,
// and an MP_UNREACH_NLRI withdraws.
func TestLeanUpdateMP(t *testing.T) {
	s := &leanSession{expected: []netip.Prefix{netip.MustParsePrefix("2001:db8:100::/48")}, log: slog.New(slog.DiscardHandler), addr: netip.MustParseAddr(edge1Addr)}
	neg := leanNeg{
		opt:      &gobgp.MarshallingOption{AddPath: map[gobgp.Family]gobgp.BGPAddPathMode{gobgp.RF_IPv6_UC: gobgp.BGP_ADD_PATH_RECEIVE}},
		families: map[gobgp.Family]gobgp.BGPAddPathMode{gobgp.RF_IPv4_UC: gobgp.BGP_ADD_PATH_NONE, gobgp.RF_IPv6_UC: gobgp.BGP_ADD_PATH_RECEIVE},
	}
	nh := netip.MustParseAddr("2001:db8:1::1")
	v6 := func(p string, id uint32) gobgp.PathNLRI {
		n, _ := gobgp.NewIPAddrPrefix(netip.MustParsePrefix(p))
		return gobgp.PathNLRI{NLRI: n, ID: id}
	}
	reach, err := gobgp.NewPathAttributeMpReachNLRI(gobgp.RF_IPv6_UC, []gobgp.PathNLRI{v6("2001:db8:100::/48", 1), v6("2001:db8:100:1::/64", 2), v6("2001:db8:200::/48", 1)}, nh)
	if err != nil {
		t.Fatal(err)
	}
	unreach, _ := gobgp.NewPathAttributeMpUnreachNLRI(gobgp.RF_IPv6_UC, []gobgp.PathNLRI{v6("2001:db8:100::/48", 3), v6("2001:db8:300::/48", 1)})
	attrs := []gobgp.PathAttributeInterface{
		gobgp.NewPathAttributeOrigin(0),
		gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAs4PathParam(gobgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{64512})}),
		gobgp.NewPathAttributeLocalPref(100),
		reach,
	}
	w := &leanWriter{c: discardConn{}}
	var got []string
	for _, m := range []*gobgp.BGPMessage{gobgp.NewBGPUpdateMessage(nil, attrs, nil), gobgp.NewBGPUpdateMessage(nil, []gobgp.PathAttributeInterface{unreach}, nil)} {
		b, err := m.Serialize(&gobgp.MarshallingOption{AddPath: map[gobgp.Family]gobgp.BGPAddPathMode{gobgp.RF_IPv6_UC: gobgp.BGP_ADD_PATH_SEND}})
		if err != nil {
			t.Fatal(err)
		}
		h := &gobgp.BGPHeader{Len: uint16(len(b)), Type: gobgp.BGP_MSG_UPDATE}
		dm, derr := decodeBody(h, b[gobgp.BGP_HEADER_LENGTH:], neg.opt)
		if derr != nil {
			t.Fatal(derr)
		}
		batch := &leanBatch{}
		if !s.update(w, dm.Body.(*gobgp.BGPUpdate), nil, neg, batch) {
			t.Fatal("update refused")
		}
		for _, p := range batch.paths {
			pfx, _ := nlriPrefix(p.Nlri)
			got = append(got, fmt.Sprintf("%s id %d withdrawn %v next hop %s", pfx, p.RemoteID, p.Withdrawal, nextHop(p.Attrs)))
		}
		for _, d := range batch.counts.dropped {
			got = append(got, fmt.Sprintf("dropped %d via %s", d.n, d.nextHop))
		}
		if batch.counts.withdrawn > 0 {
			got = append(got, fmt.Sprintf("withdrawn %d not kept", batch.counts.withdrawn))
		}
	}
	want := []string{
		"2001:db8:100::/48 id 1 withdrawn false next hop 2001:db8:1::1",
		"2001:db8:100:1::/64 id 2 withdrawn false next hop 2001:db8:1::1",
		"dropped 1 via 2001:db8:1::1",
		"2001:db8:100::/48 id 3 withdrawn true next hop invalid IP",
		"withdrawn 1 not kept",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
