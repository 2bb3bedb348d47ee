package bgp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/packet/bmp"

	"github.com/dxwatch/dxwatch/lab"
)

// capturedPeerUp returns the first Peer Up of peer in a capture under
// testdata/bmp, as FRR sent it, that match accepts.
func capturedPeerUp(t *testing.T, capture string, peer netip.Addr, match func([]byte) bool) []byte {
	t.Helper()
	stream, err := os.ReadFile(filepath.Join("testdata", "bmp", capture))
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(stream)
	for {
		buf, err := readBMPFrame(r)
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s: no peer up for %s (record it again: go test -run '^TestLabBMPCapture$' -update, as root)", capture, peer)
		}
		if err != nil {
			t.Fatal(err)
		}
		if buf[5] != bmp.BMP_MSG_PEER_UP_NOTIFICATION {
			continue
		}
		var ph bmp.BMPPeerHeader
		if err := ph.DecodeFromBytes(buf[bmp.BMP_HEADER_SIZE:]); err == nil && ph.PeerAddress == peer && match(buf) {
			return buf
		}
	}
}

// withOpens returns a Peer Up with its OPENs replaced: nil keeps one.
func withOpens(t *testing.T, up []byte, sent, recv []byte) []byte {
	t.Helper()
	out := slices.Clone(up[:peerUpOpenAt])
	rest := up[peerUpOpenAt:]
	for _, repl := range [][]byte{sent, recv} {
		n := int(binary.BigEndian.Uint16(rest[16:18]))
		if repl == nil {
			repl = rest[:n]
		}
		out = append(out, repl...)
		rest = rest[n:]
	}
	out = append(out, rest...)
	binary.BigEndian.PutUint32(out[1:5], uint32(len(out)))
	return out
}

// TestBMPPeerUpPlaceholderOpen: FRR 8.4 puts a bare BGP header (marker,
// length 19, type OPEN) in a Peer Up for an OPEN it did not keep. Taken
// from the lab's capture of edge1's IPv6 session with AWS (2001:db8:10::1)
// with FRR's placeholder in place of one or both OPENs, as bgpd's
// bmp_peerstate writes it: GoBGP refuses it with the error the station
// logged on every IPv6 Peer Up ("Not all BGP Open message bytes
// available"); the decoder reads the Peer Up without that OPEN, says so,
// and decodes the session's Route Monitoring. An OPEN header that is not
// FRR's placeholder is still refused, with a message naming what is wrong.
func TestBMPPeerUpPlaceholderOpen(t *testing.T) {
	// As recorded: edge2's Peer Up for its IPv6 session with AWS after
	// the session was cleared from AWS's side (TestLabBMPCapture), with
	// FRR's placeholder for an OPEN (bgpd logged "bmp: missing RX OPEN
	// message for peer 2001:db8:20::1").
	t.Run("recorded", func(t *testing.T) {
		peer := netip.MustParseAddr(lab.SecondaryAmazon6)
		buf := capturedPeerUp(t, "edge2-ipv6-clears.bmp", peer, func(b []byte) bool { return bytes.Contains(b, placeholderOpen) })
		_, err := bmp.ParseBMPMessageWithOptions(buf, func(bmp.BMPPeerHeader) []*gobgp.MarshallingOption { return nil })
		if err == nil || err.Error() != "Not all BGP Open message bytes available" {
			t.Errorf("GoBGP's parser: %v, want the station's logged failure", err)
		}
		dec := newBMPDecoder()
		var told [][2]bool
		dec.onNoOpen = func(h bmp.BMPPeerHeader, sent, received bool) {
			told = append(told, [2]bool{sent, received})
			if h.PeerAddress != peer {
				t.Errorf("told about peer %s, want %s", h.PeerAddress, peer)
			}
		}
		msg, err := dec.decode(buf)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		up := msg.Body.(*bmp.BMPPeerUpNotification)
		if len(told) != 1 || told[0] != [2]bool{up.SentOpenMsg == nil, up.ReceivedOpenMsg == nil} || up.SentOpenMsg != nil && up.ReceivedOpenMsg != nil {
			t.Errorf("sent OPEN %v received OPEN %v, told %v", up.SentOpenMsg, up.ReceivedOpenMsg, told)
		}
		if up.LocalAddress != netip.MustParseAddr(lab.SecondaryCustomer6) || len(up.Info) != 1 {
			t.Errorf("local address %s, information TLVs %+v", up.LocalAddress, up.Info)
		}
	})

	peer := netip.MustParseAddr(lab.PrimaryAmazon6)
	real := capturedPeerUp(t, "edge1.bmp", peer, func([]byte) bool { return true })
	for _, tc := range []struct {
		name           string
		noSent, noRecv bool
	}{
		{name: "both", noSent: true, noRecv: true},
		{name: "sent", noSent: true},
		{name: "received", noRecv: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent, recv []byte
			if tc.noSent {
				sent = placeholderOpen
			}
			if tc.noRecv {
				recv = placeholderOpen
			}
			buf := withOpens(t, real, sent, recv)
			if _, err := bmp.ParseBMPMessageWithOptions(buf, func(bmp.BMPPeerHeader) []*gobgp.MarshallingOption { return nil }); err == nil || !strings.Contains(err.Error(), "Not all BGP Open message bytes available") {
				t.Errorf("GoBGP's parser: %v, want the station's logged failure", err)
			}
			dec := newBMPDecoder()
			var told []string
			dec.onNoOpen = func(h bmp.BMPPeerHeader, s, r bool) {
				told = append(told, h.PeerAddress.String())
				if s != tc.noSent || r != tc.noRecv {
					t.Errorf("told missing sent %v received %v, want %v %v", s, r, tc.noSent, tc.noRecv)
				}
			}
			msg, err := dec.decode(buf)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			up, ok := msg.Body.(*bmp.BMPPeerUpNotification)
			if !ok {
				t.Fatalf("decoded to %T", msg.Body)
			}
			if msg.PeerHeader.PeerAddress != peer || up.LocalAddress != netip.MustParseAddr(lab.PrimaryCustomer6) || up.RemotePort != 179 {
				t.Errorf("peer %s local %s remote port %d, want %s %s 179", msg.PeerHeader.PeerAddress, up.LocalAddress, up.RemotePort, peer, lab.PrimaryCustomer6)
			}
			if (up.SentOpenMsg == nil) != tc.noSent || (up.ReceivedOpenMsg == nil) != tc.noRecv {
				t.Errorf("sent OPEN %v received OPEN %v, want missing %v %v", up.SentOpenMsg, up.ReceivedOpenMsg, tc.noSent, tc.noRecv)
			}
			if len(up.Info) != 1 || up.Info[0].(*bmp.BMPInfoTLVString).Value != "primary-ipv6" {
				t.Errorf("information TLVs %+v, want the description primary-ipv6", up.Info)
			}
			if msg.Header.Length != uint32(len(buf)) {
				t.Errorf("header length %d, want %d", msg.Header.Length, len(buf))
			}
			if !slices.Equal(told, []string{peer.String()}) {
				t.Errorf("told %v, want once about %s", told, peer)
			}
			e := dec.peers[peerKeyOf(msg.PeerHeader)]
			if e == nil || e.in.as2 || e.out.as2 {
				t.Fatalf("encoding %+v, want 4-octet AS numbers", e)
			}
			// The session's Route Monitoring decodes, 4-octet AS path
			// included: with or without path IDs when both OPENs are
			// missing; without only when the OPEN that is there has no
			// ADD-PATH (as FRR's to AWS): ADD-PATH needs both sides.
			for _, pathIDs := range []bool{false, true} {
				upd := updateMsg(t, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, 5)}, []uint32{4200000001, 64512}, lab.PrimaryAmazon)
				m, err := dec.decode(routeMonitoring(t, msg.PeerHeader, upd, pathIDs))
				if pathIDs && !(tc.noSent && tc.noRecv) {
					if err == nil {
						t.Errorf("route monitoring with path IDs decoded although the OPEN there offers no ADD-PATH")
					}
					continue
				}
				if err != nil {
					t.Fatalf("route monitoring, path IDs %v: %v", pathIDs, err)
				}
				u := m.Body.(*bmp.BMPRouteMonitoring).BGPUpdate.Body.(*gobgp.BGPUpdate)
				a := decodeAttrs(u.PathAttributes)
				if want := map[bool]uint32{true: 5, false: 0}[pathIDs]; len(u.NLRI) != 1 || u.NLRI[0].ID != want || !slices.Equal(a.ASPath, []uint32{4200000001, 64512}) {
					t.Errorf("path IDs %v: NLRI %v AS path %v", pathIDs, u.NLRI, a.ASPath)
				}
			}
		})
	}

	t.Run("kept from the last good peer up", func(t *testing.T) {
		dec := newBMPDecoder()
		if _, err := dec.decode(real); err != nil {
			t.Fatal(err)
		}
		before := dec.peers[bmpPeerKey{addr: peer}]
		msg, err := dec.decode(withOpens(t, real, placeholderOpen, placeholderOpen))
		if err != nil {
			t.Fatal(err)
		}
		if dec.peers[peerKeyOf(msg.PeerHeader)] != before {
			t.Errorf("encoding replaced by a guess after a placeholder peer up")
		}
	})

	marker := bytes.Repeat([]byte{0xff}, 16)
	for _, tc := range []struct {
		name, open, want string
	}{
		{"length under a header", string(marker) + "\x00\x12\x01", "sent OPEN: length 18, not within"},
		{"length past the message", string(marker) + "\x10\x00\x01", "sent OPEN: length 4096, not within"},
		{"not an OPEN", string(marker) + "\x00\x13\x02", "sent OPEN: BGP message type 2, not OPEN"},
		{"no marker", strings.Repeat("\x00", 16) + "\x00\x13\x01", "sent OPEN: no BGP marker"},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			dec := newBMPDecoder()
			dec.onNoOpen = func(bmp.BMPPeerHeader, bool, bool) { t.Error("told of a placeholder") }
			msg, err := dec.decode(withOpens(t, real, []byte(tc.open), nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if msg == nil || msg.PeerHeader.PeerAddress != peer {
				t.Errorf("message %+v, want the peer up's header for %s", msg, peer)
			}
		})
	}
}
