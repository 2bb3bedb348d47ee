package bgp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/packet/bmp"

	"github.com/dxwatch/dxwatch/lab/golden"
)

// describeBMP renders a BMP stream as the decoder reads it, one line per
// message, routes with their path IDs and next hops: what the golden files
// of the captures hold. A message that does not decode is a line "ERROR".
func describeBMP(stream []byte) (string, int) {
	var b strings.Builder
	errs := 0
	dec := newBMPDecoder()
	dec.onFlip = func(h bmp.BMPPeerHeader, f gobgp.Family, pathIDs bool) {
		fmt.Fprintf(&b, "peer %s type %d %s: decoded with path IDs %v, not as negotiated\n", h.PeerAddress, h.PeerType, f, pathIDs)
	}
	dec.onNoOpen = func(h bmp.BMPPeerHeader, sent, received bool) {
		fmt.Fprintf(&b, "peer %s type %d: peer up with a placeholder for its OPEN: sent %v received %v\n", h.PeerAddress, h.PeerType, sent, received)
	}
	r := bytes.NewReader(stream)
	for {
		buf, err := readBMPFrame(r)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(&b, "ERROR framing: %v\n", err)
				errs++
			}
			return b.String(), errs
		}
		msg, err := dec.decode(buf)
		if err != nil {
			fmt.Fprintf(&b, "ERROR type %d: %v\n", buf[5], err)
			errs++
			continue
		}
		h := msg.PeerHeader
		peer := fmt.Sprintf("peer %s type %d", h.PeerAddress, h.PeerType)
		rib := "adj-rib-in"
		if h.IsAdjRIBOut() {
			rib = "adj-rib-out"
		}
		if h.PeerType == bmp.BMP_PEER_TYPE_LOCAL_RIB {
			rib = "loc-rib"
		}
		policy := "pre-policy"
		if h.IsPostPolicy() {
			policy = "post-policy"
		}
		switch body := msg.Body.(type) {
		case *bmp.BMPInitiation:
			b.WriteString("initiation\n")
		case *bmp.BMPPeerUpNotification:
			e := negotiated(body)
			fmt.Fprintf(&b, "peer up %s as %d: add-path in %v out %v\n", peer, h.PeerAS, addPathFamilies(e.in.negotiated), addPathFamilies(e.out.negotiated))
		case *bmp.BMPPeerDownNotification:
			fmt.Fprintf(&b, "peer down %s: %s\n", peer, peerDownReason(body))
		case *bmp.BMPStatisticsReport:
			fmt.Fprintf(&b, "statistics %s\n", peer)
		case *bmp.BMPTermination:
			b.WriteString("termination\n")
		case *bmp.BMPRouteMonitoring:
			upd := body.BGPUpdate.Body.(*gobgp.BGPUpdate)
			if eor, _ := upd.IsEndOfRib(); eor {
				fmt.Fprintf(&b, "route monitoring %s %s %s: End-of-RIB\n", peer, rib, policy)
				continue
			}
			var routes []string
			for _, n := range upd.WithdrawnRoutes {
				routes = append(routes, fmt.Sprintf("-%s id %d", n.NLRI, n.ID))
			}
			for _, n := range upd.NLRI {
				routes = append(routes, fmt.Sprintf("+%s id %d", n.NLRI, n.ID))
			}
			for _, a := range upd.PathAttributes {
				switch v := a.(type) {
				case *gobgp.PathAttributeMpReachNLRI:
					for _, n := range v.Value {
						routes = append(routes, fmt.Sprintf("+%s id %d", n.NLRI, n.ID))
					}
				case *gobgp.PathAttributeMpUnreachNLRI:
					for _, n := range v.Value {
						routes = append(routes, fmt.Sprintf("-%s id %d", n.NLRI, n.ID))
					}
				}
			}
			a := decodeAttrs(upd.PathAttributes)
			fmt.Fprintf(&b, "route monitoring %s %s %s: %s next hop %s as path %v\n", peer, rib, policy, strings.Join(routes, " "), a.NextHop, a.ASPath)
		default:
			fmt.Fprintf(&b, "type %d %s\n", msg.Header.Type, peer)
		}
	}
}

func addPathFamilies(m map[gobgp.Family]bool) []string {
	var out []string
	for f, on := range m {
		if on {
			out = append(out, f.String())
		}
	}
	slices.Sort(out)
	return out
}

// TestBMPCaptures decodes BMP streams recorded from the lab's FRR
// (TestLabBMPCapture): every message decodes, among them edge2's Route
// Monitoring of its ADD-PATH iBGP session with edge1, and the routes are
// those of the golden files (-update rewrites them).
func TestBMPCaptures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "bmp", "*.bmp"))
	if len(files) == 0 {
		t.Fatal("no capture under testdata/bmp (go test -run '^TestLabBMPCapture$' -update records them, as root)")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			stream, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, errs := describeBMP(stream)
			if errs > 0 {
				t.Errorf("%d messages do not decode:\n%s", errs, got)
			}
			golden.Check(t, strings.TrimSuffix(f, ".bmp")+".txt", []byte(got))
		})
	}
}

// openAddPath is an OPEN with the ADD-PATH capability for IPv4 unicast in
// mode (none when 0).
func openAddPath(asn uint32, id string, mode gobgp.BGPAddPathMode) *gobgp.BGPMessage {
	caps := []gobgp.ParameterCapabilityInterface{gobgp.NewCapMultiProtocol(gobgp.RF_IPv4_UC), gobgp.NewCapFourOctetASNumber(asn)}
	if mode != 0 {
		caps = append(caps, gobgp.NewCapAddPath([]*gobgp.CapAddPathTuple{gobgp.NewCapAddPathTuple(gobgp.RF_IPv4_UC, mode)}))
	}
	m, _ := gobgp.NewBGPOpenMessage(23456, 90, netip.MustParseAddr(id), []gobgp.OptionParameterInterface{gobgp.NewOptionParameterCapability(caps)})
	return m
}

// TestBMPAddPathDirections: a Route Monitoring is decoded with the ADD-PATH
// its session negotiated, per direction (RFC 7911 4, RFC 7854 4.10: the
// Sent OPEN is the router's, the Received OPEN its peer's). The
// Adj-RIB-In carries path IDs when the router offered receive and the peer
// send; the Adj-RIB-Out (RFC 8671) when the router offered send and the
// peer receive. A router that leaves the path IDs out although they were
// negotiated (FRR 8), or puts them in although they were not, is decoded
// as it sends, and said once.
func TestBMPAddPathDirections(t *testing.T) {
	const (
		none = gobgp.BGPAddPathMode(0)
		rx   = gobgp.BGP_ADD_PATH_RECEIVE
		tx   = gobgp.BGP_ADD_PATH_SEND
		both = gobgp.BGP_ADD_PATH_BOTH
	)
	for _, tc := range []struct {
		name       string
		router     gobgp.BGPAddPathMode // in the Sent OPEN
		peer       gobgp.BGPAddPathMode // in the Received OPEN
		ribOut     bool
		pathIDs    bool // negotiated for the direction
		sends      bool // the router's messages carry path IDs
		wantFlip   bool
		wantFlipTo bool
	}{
		{name: "in, both/both", router: both, peer: both, pathIDs: true, sends: true},
		{name: "in, router receive, peer send", router: rx, peer: tx, pathIDs: true, sends: true},
		{name: "in, router send only, peer receive only", router: tx, peer: rx, pathIDs: false},
		{name: "in, router receive only, peer receive only", router: rx, peer: rx, pathIDs: false},
		{name: "in, router receive, peer none", router: rx, peer: none, pathIDs: false},
		{name: "in, none", router: none, peer: none, pathIDs: false},
		{name: "out, both/both", router: both, peer: both, ribOut: true, pathIDs: true, sends: true},
		{name: "out, router send, peer receive", router: tx, peer: rx, ribOut: true, pathIDs: true, sends: true},
		{name: "out, router receive only, peer send only", router: rx, peer: tx, ribOut: true, pathIDs: false},
		{name: "out, router send only, peer send only", router: tx, peer: tx, ribOut: true, pathIDs: false},
		{name: "in, negotiated, router leaves the IDs out (FRR 8)", router: both, peer: both, pathIDs: true, sends: false, wantFlip: true, wantFlipTo: false},
		{name: "out, negotiated, router leaves the IDs out", router: tx, peer: rx, ribOut: true, pathIDs: true, sends: false, wantFlip: true, wantFlipTo: false},
		{name: "in, not negotiated, router puts IDs in", router: tx, peer: rx, pathIDs: false, sends: true, wantFlip: true, wantFlipTo: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.wantFlip {
				tc.sends = tc.pathIDs
			}
			flags := uint8(0)
			if tc.ribOut {
				flags |= bmp.BMP_PEER_FLAG_ADJ_RIB_TYP
			}
			ph := *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_GLOBAL, flags, 0, netip.MustParseAddr("192.0.2.2"), 65000, netip.MustParseAddr("192.0.2.2"), 0)
			up := bmp.NewBMPPeerUpNotification(ph, netip.MustParseAddr("192.0.2.1"), 179, 40000,
				openAddPath(65000, "192.0.2.1", tc.router), openAddPath(65000, "192.0.2.2", tc.peer))
			upb, err := up.Serialize()
			if err != nil {
				t.Fatal(err)
			}
			var flips []string
			dec := newBMPDecoder()
			dec.onFlip = func(h bmp.BMPPeerHeader, f gobgp.Family, pathIDs bool) {
				flips = append(flips, fmt.Sprintf("%s %v", f, pathIDs))
			}
			if _, err := dec.decode(upb); err != nil {
				t.Fatalf("peer up: %v", err)
			}
			for i, id := range []uint32{7, 8} {
				upd := updateMsg(t, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, id), pnlri("198.19.0.0/24", id)}, []uint32{64512}, "169.254.10.1")
				msg, err := dec.decode(routeMonitoring(t, ph, upd, tc.sends))
				if err != nil {
					t.Fatalf("route monitoring %d: %v", i, err)
				}
				got := msg.Body.(*bmp.BMPRouteMonitoring).BGPUpdate.Body.(*gobgp.BGPUpdate).NLRI
				want := uint32(0)
				if tc.sends {
					want = id
				}
				if len(got) != 2 || got[0].NLRI.String() != vpcPrefix || got[0].ID != want || got[1].NLRI.String() != "198.19.0.0/24" || got[1].ID != want {
					t.Errorf("route monitoring %d: NLRI %v, want %s and 198.19.0.0/24 with path ID %d", i, got, vpcPrefix, want)
				}
			}
			wantFlips := []string(nil)
			if tc.wantFlip {
				wantFlips = []string{fmt.Sprintf("%s %v", gobgp.RF_IPv4_UC, tc.wantFlipTo)}
			}
			if !slices.Equal(flips, wantFlips) {
				t.Errorf("told %v, want %v (once, for the session's first such message)", flips, wantFlips)
			}
			// A new Peer Up starts from what it negotiates again.
			if _, err := dec.decode(upb); err != nil {
				t.Fatal(err)
			}
			if d := dec.direction(ph); len(d.flipped) != 0 && slices.ContainsFunc(d.mentioned, func(f gobgp.Family) bool { return d.flipped[f] }) {
				t.Errorf("after a new peer up, still flipped: %+v", d)
			}
		})
	}
}

// FuzzBMPDecode feeds the station's framing and decoder arbitrary streams,
// seeded with the lab's captures and crafted ADD-PATH messages: it must
// never panic, and a message it returns without an error has a body. (The
// decoder never reads past a frame: readBMPFrame bounds it.)
func FuzzBMPDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "bmp", "*.bmp"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ph := *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_GLOBAL, 0, 0, netip.MustParseAddr("192.0.2.2"), 65000, netip.MustParseAddr("192.0.2.2"), 0)
	up, _ := bmp.NewBMPPeerUpNotification(ph, netip.MustParseAddr("192.0.2.1"), 179, 40000,
		openAddPath(65000, "192.0.2.1", gobgp.BGP_ADD_PATH_BOTH), openAddPath(65000, "192.0.2.2", gobgp.BGP_ADD_PATH_BOTH)).Serialize()
	upd := updateMsg(f, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, 7)}, []uint32{64512}, "169.254.10.1")
	f.Add(append(slices.Clone(up), routeMonitoring(f, ph, upd, true)...))
	f.Add(append(slices.Clone(up), routeMonitoring(f, ph, upd, false)...))
	// FRR's Peer Up with a bare header for each OPEN (placeholderOpen).
	noOpens := append(slices.Clone(up[:peerUpOpenAt]), placeholderOpen...)
	noOpens = append(noOpens, placeholderOpen...)
	binary.BigEndian.PutUint32(noOpens[1:5], uint32(len(noOpens)))
	f.Add(append(noOpens, routeMonitoring(f, ph, upd, true)...))
	f.Fuzz(func(t *testing.T, stream []byte) {
		dec := newBMPDecoder()
		r := bytes.NewReader(stream)
		for range 1000 {
			buf, err := readBMPFrame(r)
			if err != nil {
				return
			}
			msg, err := dec.decode(buf)
			if err == nil && (msg == nil || msg.Body == nil) {
				t.Fatalf("decoded without an error to %+v", msg)
			}
		}
	})
}

// TestBMPDecoderPerPeer: sessions are told apart by peer type,
// distinguisher and address (RFC 7854 4.2), not by address alone: two
// sessions with the same address in different instances, one with
// ADD-PATH and one without, each decode as their own negotiated, with no
// fallback.
func TestBMPDecoderPerPeer(t *testing.T) {
	addr, id := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.2")
	global := *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_GLOBAL, 0, 0, addr, 65000, id, 0)
	vrf := *bmp.NewBMPPeerHeader(bmp.BMP_PEER_TYPE_LOCAL, 0, 7, addr, 65000, id, 0)
	dec := newBMPDecoder()
	dec.onFlip = func(h bmp.BMPPeerHeader, f gobgp.Family, pathIDs bool) {
		t.Errorf("fell back for peer type %d distinguisher %d: %s path IDs %v", h.PeerType, h.PeerDistinguisher, f, pathIDs)
	}
	for _, s := range []struct {
		ph   bmp.BMPPeerHeader
		mode gobgp.BGPAddPathMode
	}{{global, gobgp.BGP_ADD_PATH_BOTH}, {vrf, 0}} {
		b, err := bmp.NewBMPPeerUpNotification(s.ph, netip.MustParseAddr("192.0.2.1"), 179, 40000,
			openAddPath(65000, "192.0.2.1", s.mode), openAddPath(65000, "192.0.2.2", s.mode)).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dec.decode(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		ph      bmp.BMPPeerHeader
		pathIDs bool
	}{{global, true}, {vrf, false}, {global, true}} {
		upd := updateMsg(t, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, 9)}, []uint32{64512}, "169.254.10.1")
		msg, err := dec.decode(routeMonitoring(t, c.ph, upd, c.pathIDs))
		if err != nil {
			t.Fatalf("peer type %d: %v", c.ph.PeerType, err)
		}
		n := msg.Body.(*bmp.BMPRouteMonitoring).BGPUpdate.Body.(*gobgp.BGPUpdate).NLRI
		if want := map[bool]uint32{true: 9, false: 0}[c.pathIDs]; len(n) != 1 || n[0].ID != want {
			t.Errorf("peer type %d: NLRI %v, want path ID %d", c.ph.PeerType, n, want)
		}
	}
}
