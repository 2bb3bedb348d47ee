package bgp

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/packet/bmp"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// TestBMPAdjRIBOut: an edge router that exports its Direct Connect
// sessions' Adj-RIB-Out post-policy over BMP (RFC 8671) shows what it
// advertises to AWS over each link, and bgp.intent.return_path ranks it as
// AWS does. The secondary prepended: AWS prefers the primary. The prepend
// dropped (the lab's no-prepend fault): AWS load-balances, caught from the
// router's own Adj-RIB-Out. A 7224:7100 community on the secondary instead:
// the primary again. Pre-policy Adj-RIB-Out and the Adj-RIB-In are not
// what AWS receives and change nothing; the session going down clears it.
func TestBMPAdjRIBOut(t *testing.T) {
	noLeaks(t)
	site := labsite.Site()
	p := bmpProbe(t, site, nil)
	c := bmpConn(t, p)
	const onPrem = "192.0.2.0/24"
	ph := func(amazon string, flags uint8) bmp.BMPPeerHeader {
		return *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_GLOBAL, flags, 0, netip.MustParseAddr(amazon), 64512, netip.MustParseAddr(amazon), 0)
	}
	const outPost = bmp.BMP_PEER_FLAG_ADJ_RIB_TYP | bmp.BMP_PEER_FLAG_POST_POLICY
	prim, sec := site.Links[0].AmazonAddress.Addr().String(), site.Links[1].AmazonAddress.Addr().String()
	for _, a := range []string{prim, sec} {
		writeBMP(t, c, bmp.NewBMPPeerUpNotification(ph(a, 0), netip.MustParseAddr("169.254.0.2"), 179, 40000, openMsg(65000, "192.0.2.1", false), openMsg(64512, a, false)))
	}
	advertise := func(amazon string, flags uint8, asPath []uint32, comms ...uint32) {
		t.Helper()
		upd := updateMsg(t, nil, []gobgp.PathNLRI{pnlri(onPrem, 0)}, asPath, "169.254.0.2")
		if len(comms) > 0 {
			u := upd.Body.(*gobgp.BGPUpdate)
			u.PathAttributes = append(u.PathAttributes, gobgp.NewPathAttributeCommunities(comms))
		}
		if _, err := c.Write(routeMonitoring(t, ph(amazon, flags), upd, false)); err != nil {
			t.Fatal(err)
		}
	}
	check := func() probes.CheckResult { return p.check("bgp.intent.return_path") }

	// Only one link's Adj-RIB-Out: nothing to compare; the check skips,
	// naming the link without it and what the router exports.
	advertise(prim, outPost, []uint32{65000})
	eventually(t, 10*time.Second, "the primary's Adj-RIB-Out", func() bool {
		bp, _ := p.bmpPeer(prim)
		return len(bp.Advertised) == 1
	})
	if c := check(); c.Status != probes.Skip || !strings.Contains(c.Reason, "Adj-RIB-Out post-policy of the session with AWS over secondary (") ||
		!strings.Contains(c.Reason, "exports adj_rib_out_post") || !strings.Contains(c.Fix, "route-monitoring rib-out post-policy") {
		t.Errorf("one link's Adj-RIB-Out only: %+v", c)
	}
	if bp, _ := p.bmpPeer(prim); bp.Advertised[0].Prefix != onPrem || len(bp.Advertised[0].ASPath) != 1 || bp.Updates != 0 {
		t.Errorf("primary advertises %+v (updates %d): want %s with AS_PATH [65000], not counted as received", bp.Advertised, bp.Updates, onPrem)
	}

	advertise(sec, outPost, []uint32{65000, 65000, 65000})
	eventually(t, 10*time.Second, "return path: primary preferred", func() bool { return check().Status == probes.Pass })
	if c := check(); !strings.Contains(c.Reason, "AWS prefers the primary primary for the return traffic to "+onPrem) {
		t.Errorf("prepended secondary: %+v", c)
	}

	// The no-prepend break: the secondary's prepend is gone.
	advertise(sec, outPost, []uint32{65000})
	eventually(t, 10*time.Second, "return path: load-balanced", func() bool { return check().Status == probes.Fail })
	if c := check(); !strings.Contains(c.Reason, "advertised alike over primary") || !strings.Contains(c.Fix, "prepend") {
		t.Errorf("no prepend: %+v", c)
	}
	// Pre-policy Adj-RIB-Out and Adj-RIB-In are not what AWS receives.
	advertise(sec, bmp.BMP_PEER_FLAG_ADJ_RIB_TYP, []uint32{65000, 65000, 65000, 65000})
	advertise(sec, bmp.BMP_PEER_FLAG_POST_POLICY, []uint32{65000, 65000, 65000, 65000})
	time.Sleep(200 * time.Millisecond)
	if c := check(); c.Status != probes.Fail {
		t.Errorf("after pre-policy Adj-RIB-Out and Adj-RIB-In: %+v", c)
	}

	// Low local preference community on the secondary instead.
	advertise(sec, outPost, []uint32{65000}, 7224<<16|7100)
	eventually(t, 10*time.Second, "return path: primary preferred by community", func() bool { return check().Status == probes.Pass })
	// A better community on the secondary beats the primary.
	advertise(sec, outPost, []uint32{65000}, 7224<<16|7300)
	eventually(t, 10*time.Second, "return path: secondary preferred", func() bool {
		return check().Status == probes.Fail && strings.Contains(check().Reason, "AWS prefers secondary")
	})

	// The secondary's session down: its Adj-RIB-Out is gone, the check
	// skips.
	writeBMP(t, c, bmp.NewBMPPeerDownNotification(ph(sec, 0), bmp.BMP_PEER_DOWN_REASON_REMOTE_NO_NOTIFICATION, nil, nil))
	eventually(t, 10*time.Second, "skip without the secondary's Adj-RIB-Out", func() bool {
		return check().Status == probes.Skip && strings.Contains(check().Reason, "over secondary (")
	})
	if bp, _ := p.bmpPeer(sec); len(bp.Advertised) != 0 {
		t.Errorf("secondary down still advertises %+v", bp.Advertised)
	}
}

// TestBMPLocRIB: a router that exports its Loc-RIB over BMP (RFC 9069)
// shows the path it selected for each relevant prefix, with its link, and
// bgp.locrib.<router> compares that with the best link dxwatch infers from
// the paths it receives: agreeing, then (the router selecting the
// secondary, by a policy dxwatch does not see) a warning naming both.
// Irrelevant prefixes are not kept.
func TestBMPLocRIB(t *testing.T) {
	noLeaks(t)
	site := labsite.Site()
	p := bmpProbe(t, site, nil)
	c := bmpConn(t, p)
	prim, sec := site.Links[0].AmazonAddress.Addr().String(), site.Links[1].AmazonAddress.Addr().String()
	dx := func(amazon string) bmp.BMPPeerHeader {
		return *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_GLOBAL, bmp.BMP_PEER_FLAG_POST_POLICY, 0, netip.MustParseAddr(amazon), 64512, netip.MustParseAddr(amazon), 0)
	}
	loc := *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_LOCAL_RIB, 0, 0, netip.Addr{}, 65000, netip.MustParseAddr("192.0.2.1"), 0)
	writeBMP(t, c, bmp.NewBMPPeerUpNotification(loc, netip.IPv4Unspecified(), 0, 0, openMsg(65000, "192.0.2.1", false), openMsg(65000, "192.0.2.1", false)))
	for _, a := range []string{prim, sec} {
		writeBMP(t, c, bmp.NewBMPPeerUpNotification(dx(a), netip.MustParseAddr("169.254.0.2"), 179, 40000, openMsg(65000, "192.0.2.1", false), openMsg(64512, a, false)))
	}
	send := func(ph bmp.BMPPeerHeader, prefix string, asPath []uint32, nh string) {
		t.Helper()
		if _, err := c.Write(routeMonitoring(t, ph, updateMsg(t, nil, []gobgp.PathNLRI{pnlri(prefix, 0)}, asPath, nh), false)); err != nil {
			t.Fatal(err)
		}
	}
	// The paths dxwatch receives: the primary's AS_PATH is shorter.
	send(dx(prim), vpcPrefix, []uint32{64512}, prim)
	send(dx(sec), vpcPrefix, []uint32{64512, 64512}, sec)
	// The router selected the primary's too; and a prefix of no interest.
	send(loc, vpcPrefix, []uint32{64512}, prim)
	send(loc, "203.0.113.0/24", []uint32{64999}, prim)
	router := func() RouterView {
		if r := p.Routes().BMPRouters; len(r) == 1 {
			return r[0]
		}
		return RouterView{}
	}
	// The router is named by its address (the test's loopback).
	check := func() probes.CheckResult { return p.check("bgp.locrib." + router().Name) }
	eventually(t, 10*time.Second, "Loc-RIB agreeing", func() bool { return check().Status == probes.Pass })
	if lr := router().LocRIB; len(lr) != 1 || lr[0].Prefix != vpcPrefix || lr[0].Link != "primary" || lr[0].NextHop != prim {
		t.Errorf("Loc-RIB view %+v: want %s over primary only", lr, vpcPrefix)
	}
	// The router selects the secondary: dxwatch's inference disagrees.
	send(loc, vpcPrefix, []uint32{64512, 64512}, sec)
	eventually(t, 10*time.Second, "Loc-RIB disagreeing", func() bool { return check().Status == probes.Warn })
	if c := check(); !strings.Contains(c.Reason, "selected secondary (next hop "+sec+"), dxwatch infers primary") {
		t.Errorf("disagreement: %+v", c)
	}
	// The Loc-RIB instance goes down: no Loc-RIB; the check skips,
	// saying so and how to export it.
	writeBMP(t, c, bmp.NewBMPPeerDownNotification(loc, bmp.BMP_PEER_DOWN_REASON_PEER_DE_CONFIGURED, nil, nil))
	eventually(t, 10*time.Second, "Loc-RIB check skipped", func() bool { return check().Status == probes.Skip })
	if c := check(); !strings.Contains(c.Reason, "exports no Loc-RIB over BMP (it exports adj_rib_in_post)") ||
		!strings.Contains(c.Fix, "bmp monitor ipv4 unicast loc-rib") || !strings.Contains(c.Fix, "route-monitoring loc-rib") {
		t.Errorf("without a Loc-RIB: %+v", c)
	}
	if v := router().Views; len(v) != 1 || v[0] != "adj_rib_in_post" {
		t.Errorf("views after the Loc-RIB's Peer Down: %v", v)
	}
}
