package bgp

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/packet/bmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// TestBMPViewsFromBytes: two routers stream BMP, built with GoBGP's
// pkg/packet/bmp, to the real station over TCP loopback. edge1
// (127.0.0.1) exports its Adj-RIB-In post-policy, its Loc-RIB (peer type
// 3, RFC 9069) and its Direct Connect sessions' Adj-RIB-Out pre- and
// post-policy (the O flag, RFC 8671); edge2 (127.0.0.2) only its Adj-RIB-In
// pre-policy. The station says which views each exports
// (dxwatch_bmp_router_views, /api/routes views), what they hold
// (dxwatch_bmp_loc_rib_paths, dxwatch_bmp_adj_rib_out_paths), and the
// checks name their source: edge1's Loc-RIB and Adj-RIB-Out; edge2 skips
// with the configuration that would export its Loc-RIB.
func TestBMPViewsFromBytes(t *testing.T) {
	noLeaks(t)
	site := labsite.Site()
	cfg := DefaultConfig()
	cfg.BMP.ListenAddress = "127.0.0.1:0"
	cfg.BMP.Routers = []string{"127.0.0.1", "127.0.0.2"}
	p := newTestProbe(t, cfg, site, nil)
	runProbe(t, p)
	eventually(t, 5*time.Second, "bmp listener", func() bool { return p.BMPAddr() != nil })
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", p.BMPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	prim, sec := site.Links[0].AmazonAddress.Addr().String(), site.Links[1].AmazonAddress.Addr().String()
	dx := func(amazon string, flags uint8) bmp.BMPPeerHeader {
		return *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_GLOBAL, flags, 0, netip.MustParseAddr(amazon), 64512, netip.MustParseAddr(amazon), 0)
	}
	loc := *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_LOCAL_RIB, 0, 0, netip.Addr{}, 65000, netip.MustParseAddr("192.0.2.1"), 0)
	const (
		inPost  = bmp.BMP_PEER_FLAG_POST_POLICY
		outPre  = bmp.BMP_PEER_FLAG_ADJ_RIB_TYP
		outPost = bmp.BMP_PEER_FLAG_ADJ_RIB_TYP | bmp.BMP_PEER_FLAG_POST_POLICY
	)
	send := func(c net.Conn, ph bmp.BMPPeerHeader, upd *gobgp.BGPMessage) {
		t.Helper()
		if _, err := c.Write(routeMonitoring(t, ph, upd, false)); err != nil {
			t.Fatal(err)
		}
	}
	announce := func(c net.Conn, ph bmp.BMPPeerHeader, asPath []uint32, nh string, prefixes ...string) {
		t.Helper()
		var ns []gobgp.PathNLRI
		for _, s := range prefixes {
			ns = append(ns, pnlri(s, 0))
		}
		send(c, ph, updateMsg(t, nil, ns, asPath, nh))
	}
	eor := gobgp.NewBGPUpdateMessage(nil, nil, nil)
	const onPrem, lab = "192.0.2.0/24", "198.51.100.0/24"

	e1 := dial("127.0.0.1")
	writeBMP(t, e1, bmp.NewBMPInitiation([]bmp.BMPInfoTLVInterface{bmp.NewBMPInfoTLVString(bmp.BMP_INIT_TLV_TYPE_SYS_NAME, "edge1")}))
	writeBMP(t, e1, bmp.NewBMPPeerUpNotification(loc, netip.IPv4Unspecified(), 0, 0, openMsg(65000, "192.0.2.1", false), openMsg(65000, "192.0.2.1", false)))
	for _, a := range []string{prim, sec} {
		writeBMP(t, e1, bmp.NewBMPPeerUpNotification(dx(a, 0), netip.MustParseAddr("169.254.0.2"), 179, 40000, openMsg(65000, "192.0.2.1", false), openMsg(64512, a, false)))
	}
	// What AWS sends (Adj-RIB-In post-policy): the primary is shorter.
	announce(e1, dx(prim, inPost), []uint32{64512}, prim, vpcPrefix)
	announce(e1, dx(sec, inPost), []uint32{64512, 64512}, sec, vpcPrefix)
	// What edge1 chose, and a prefix of no interest it also holds.
	announce(e1, loc, []uint32{64512}, prim, vpcPrefix)
	announce(e1, loc, []uint32{64999}, prim, "203.0.113.0/24")
	send(e1, loc, eor)
	// What it would send AWS before its outbound policy (two prefixes),
	// and what it sends after: the on-prem prefix, prepended on the
	// secondary.
	for _, a := range []string{prim, sec} {
		announce(e1, dx(a, outPre), []uint32{65000}, "169.254.0.2", onPrem, lab)
		send(e1, dx(a, outPre), eor)
	}
	announce(e1, dx(prim, outPost), []uint32{65000}, "169.254.0.2", onPrem)
	announce(e1, dx(sec, outPost), []uint32{65000, 65000, 65000}, "169.254.0.2", onPrem)
	send(e1, dx(prim, outPost), eor)
	send(e1, dx(sec, outPost), eor)

	e2 := dial("127.0.0.2")
	writeBMP(t, e2, bmp.NewBMPPeerUpNotification(dx(prim, 0), netip.MustParseAddr("169.254.0.6"), 179, 40001, openMsg(65000, "192.0.2.2", false), openMsg(64512, prim, false)))
	announce(e2, dx(prim, 0), []uint32{64512}, prim, vpcPrefix)

	router := func(name string) RouterView {
		for _, r := range p.Routes().BMPRouters {
			if r.Name == name {
				return r
			}
		}
		return RouterView{}
	}
	eventually(t, 10*time.Second, "both routers' views", func() bool {
		r1, r2 := router("127.0.0.1"), router("127.0.0.2")
		bp, _ := p.bmpPeer(sec)
		return len(r1.Views) == 4 && len(r2.Views) == 1 && len(r1.LocRIB) == 1 && len(bp.Advertised) == 1 && bp.AdvertisedPrePolicy == 2
	})
	if v := router("127.0.0.1").Views; !slices.Equal(v, []string{"adj_rib_in_post", "loc_rib", "adj_rib_out_pre", "adj_rib_out_post"}) {
		t.Errorf("edge1 views %v", v)
	}
	if v := router("127.0.0.2").Views; !slices.Equal(v, []string{"adj_rib_in_pre"}) {
		t.Errorf("edge2 views %v", v)
	}
	if r := router("127.0.0.1"); r.SysName != "edge1" || r.LocRIB[0].Prefix != vpcPrefix || r.LocRIB[0].Link != "primary" {
		t.Errorf("edge1: sys name %q, Loc-RIB %+v", r.SysName, r.LocRIB)
	}

	metrics := func(want string) error {
		return testutil.CollectAndCompare(p, strings.NewReader(want), "dxwatch_bmp_router_views", "dxwatch_bmp_loc_rib_paths", "dxwatch_bmp_adj_rib_out_paths")
	}
	const head = `
# HELP dxwatch_bmp_adj_rib_out_paths Prefixes the router's Adj-RIB-Out (RFC 8671) holds for its session with AWS over the link, before (policy=pre) or after (policy=post) its outbound policy; only for a view the router exports (at most 4096 counted).
# TYPE dxwatch_bmp_adj_rib_out_paths gauge
`
	const views = `
# HELP dxwatch_bmp_loc_rib_paths Paths of relevant prefixes in the router's Loc-RIB (RFC 9069) that dxwatch keeps; only for a router that exports its Loc-RIB.
# TYPE dxwatch_bmp_loc_rib_paths gauge
dxwatch_bmp_loc_rib_paths{router="127.0.0.1"} 1
# HELP dxwatch_bmp_router_views Whether the router exports the view over BMP (1) or not (0): adj_rib_in_pre, adj_rib_in_post (RFC 7854), loc_rib (RFC 9069), adj_rib_out_pre, adj_rib_out_post (RFC 8671).
# TYPE dxwatch_bmp_router_views gauge
dxwatch_bmp_router_views{router="127.0.0.1",view="adj_rib_in_post"} 1
dxwatch_bmp_router_views{router="127.0.0.1",view="adj_rib_in_pre"} 0
dxwatch_bmp_router_views{router="127.0.0.1",view="adj_rib_out_post"} 1
dxwatch_bmp_router_views{router="127.0.0.1",view="adj_rib_out_pre"} 1
dxwatch_bmp_router_views{router="127.0.0.1",view="loc_rib"} 1
dxwatch_bmp_router_views{router="127.0.0.2",view="adj_rib_in_post"} 0
dxwatch_bmp_router_views{router="127.0.0.2",view="adj_rib_in_pre"} 1
dxwatch_bmp_router_views{router="127.0.0.2",view="adj_rib_out_post"} 0
dxwatch_bmp_router_views{router="127.0.0.2",view="adj_rib_out_pre"} 0
dxwatch_bmp_router_views{router="127.0.0.2",view="loc_rib"} 0
`
	if err := metrics(head + `dxwatch_bmp_adj_rib_out_paths{link="primary",policy="post",router="127.0.0.1"} 1
dxwatch_bmp_adj_rib_out_paths{link="primary",policy="pre",router="127.0.0.1"} 2
dxwatch_bmp_adj_rib_out_paths{link="secondary",policy="post",router="127.0.0.1"} 1
dxwatch_bmp_adj_rib_out_paths{link="secondary",policy="pre",router="127.0.0.1"} 2
` + views); err != nil {
		t.Error(err)
	}

	// The checks say where they read from.
	if c := p.check("bgp.locrib.127.0.0.1"); c.Status != probes.Pass || !strings.HasPrefix(c.Reason, "from the router's Loc-RIB (BMP): "+vpcPrefix+" over primary") {
		t.Errorf("edge1's Loc-RIB check: %+v", c)
	}
	if c := p.check("bgp.locrib.127.0.0.2"); c.Status != probes.Skip || !strings.Contains(c.Reason, "127.0.0.2 exports no Loc-RIB over BMP (it exports adj_rib_in_pre)") ||
		!strings.Contains(c.Fix, "`bmp monitor ipv4 unicast loc-rib`") {
		t.Errorf("edge2's Loc-RIB check: %+v", c)
	}
	if c := p.check("bgp.intent.return_path"); c.Status != probes.Pass || !strings.HasPrefix(c.Reason, "from the edge routers' Adj-RIB-Out (BMP)") {
		t.Errorf("return path: %+v", c)
	}

	// edge1 withdraws a pre-policy prefix over the secondary and drops
	// the prepend: the counts follow, and the break is caught from its
	// own Adj-RIB-Out.
	send(e1, dx(sec, outPre), updateMsg(t, []gobgp.PathNLRI{pnlri(lab, 0)}, nil, nil, ""))
	announce(e1, dx(sec, outPost), []uint32{65000}, "169.254.0.2", onPrem)
	eventually(t, 10*time.Second, "return path load-balanced", func() bool { return p.check("bgp.intent.return_path").Status == probes.Fail })
	eventually(t, 10*time.Second, "pre-policy count", func() bool {
		bp, _ := p.bmpPeer(sec)
		return bp.AdvertisedPrePolicy == 1
	})
	if err := metrics(head + `dxwatch_bmp_adj_rib_out_paths{link="primary",policy="post",router="127.0.0.1"} 1
dxwatch_bmp_adj_rib_out_paths{link="primary",policy="pre",router="127.0.0.1"} 2
dxwatch_bmp_adj_rib_out_paths{link="secondary",policy="post",router="127.0.0.1"} 1
dxwatch_bmp_adj_rib_out_paths{link="secondary",policy="pre",router="127.0.0.1"} 1
` + views); err != nil {
		t.Error(err)
	}

	// edge1 leaves: edge2 alone exports no Adj-RIB-Out, and the check
	// says so rather than vanishing.
	e1.Close()
	eventually(t, 10*time.Second, "edge1 gone", func() bool { return router("127.0.0.1").Name == "" })
	c := p.check("bgp.intent.return_path")
	if c.Status != probes.Skip || !strings.Contains(c.Reason, "over primary, secondary (127.0.0.2 exports adj_rib_in_pre)") ||
		!strings.Contains(c.Reason, "judged from AWS's side only") || !strings.Contains(c.Fix, "rib-out post-policy") {
		t.Errorf("return path without Adj-RIB-Out: %+v", c)
	}
}
