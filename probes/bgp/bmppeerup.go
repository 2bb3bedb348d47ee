package bgp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/packet/bmp"
)

// placeholderOpen is what FRR (8.4, and later versions) puts in a Peer Up
// in place of an OPEN it did not keep for the session: a BGP header alone,
// marker, length 19, type OPEN, no body (bgpd/bgp_bmp.c, bmp_peerstate,
// "dummy_open", logged by bgpd as "bmp: missing TX/RX OPEN message for
// peer"). RFC 7854 4.10 asks for the full OPEN, and an OPEN is at least 29
// bytes (RFC 4271 4.2): GoBGP refuses it ("Not all BGP Open message bytes
// available"). The Peer Up is otherwise well formed, and says which session
// came up; only that OPEN's capabilities are unknown.
var placeholderOpen = append(bytes.Repeat([]byte{0xff}, 16), 0x00, 0x13, gobgp.BGP_MSG_OPEN)

// minimalOpen stands in for a placeholder while GoBGP parses the rest of
// the Peer Up: version 4, the header's length 29, no capability. It is
// dropped from the result.
var minimalOpen = append(append(bytes.Repeat([]byte{0xff}, 16), 0x00, 29, gobgp.BGP_MSG_OPEN), 4, 0, 0, 0, 0, 0, 0, 0, 0, 0)

// peerUpOpenAt is where a Peer Up's Sent OPEN begins (RFC 7854 4.10):
// after the common and per-peer headers, the 16-byte local address and the
// two ports.
const peerUpOpenAt = bmp.BMP_HEADER_SIZE + bmp.BMP_PEER_HEADER_SIZE + 16 + 2 + 2

// peerUpPlaceholders reports which OPENs of a Peer Up are placeholders
// (placeholderOpen): none for any other message. The OPENs' headers are
// checked (marker, length within the message, type), and a bad one is an
// error naming the OPEN and what is wrong with it.
func peerUpPlaceholders(buf []byte) (noSent, noRecv bool, err error) {
	if len(buf) < bmp.BMP_HEADER_SIZE || buf[5] != bmp.BMP_MSG_PEER_UP_NOTIFICATION || int(binary.BigEndian.Uint32(buf[1:5])) != len(buf) {
		// Not a Peer Up, or not one framed by readBMPFrame: GoBGP says.
		return false, false, nil
	}
	if len(buf) < peerUpOpenAt {
		return false, false, fmt.Errorf("bmp peer up: %d bytes, shorter than its headers, local address and ports (%d)", len(buf), peerUpOpenAt)
	}
	rest := buf[peerUpOpenAt:]
	var missing [2]bool
	for i, which := range []string{"sent", "received"} {
		if len(rest) < gobgp.BGP_HEADER_LENGTH {
			return false, false, fmt.Errorf("bmp peer up: %s OPEN: %d bytes left, shorter than a BGP header", which, len(rest))
		}
		if !bytes.Equal(rest[:16], placeholderOpen[:16]) {
			return false, false, fmt.Errorf("bmp peer up: %s OPEN: no BGP marker (% x)", which, rest[:16])
		}
		n := int(binary.BigEndian.Uint16(rest[16:18]))
		if n < gobgp.BGP_HEADER_LENGTH || n > len(rest) {
			return false, false, fmt.Errorf("bmp peer up: %s OPEN: length %d, not within the %d bytes left", which, n, len(rest))
		}
		if rest[18] != gobgp.BGP_MSG_OPEN {
			return false, false, fmt.Errorf("bmp peer up: %s OPEN: BGP message type %d, not OPEN", which, rest[18])
		}
		missing[i] = n == gobgp.BGP_HEADER_LENGTH
		rest = rest[n:]
	}
	return missing[0], missing[1], nil
}

// decodePlaceholderPeerUp decodes a Peer Up with a placeholder for one or
// both OPENs: the placeholders are left out (nil) of the result. The
// session's encoding is kept from its last good Peer Up on this stream,
// else taken from the OPEN that is there (guessedEncoding).
func (d *bmpDecoder) decodePlaceholderPeerUp(buf []byte, noSent, noRecv bool) (*bmp.BMPMessage, error) {
	patched := make([]byte, 0, len(buf)+2*len(minimalOpen))
	patched = append(patched, buf[:peerUpOpenAt]...)
	rest := buf[peerUpOpenAt:]
	for _, missing := range []bool{noSent, noRecv} {
		n := int(binary.BigEndian.Uint16(rest[16:18]))
		if missing {
			patched = append(patched, minimalOpen...)
		} else {
			patched = append(patched, rest[:n]...)
		}
		rest = rest[n:]
	}
	patched = append(patched, rest...)
	binary.BigEndian.PutUint32(patched[1:5], uint32(len(patched)))
	msg, err := bmp.ParseBMPMessageWithOptions(patched, func(bmp.BMPPeerHeader) []*gobgp.MarshallingOption { return nil })
	if err != nil {
		return peerUpHeaderOnly(buf), err
	}
	msg.Header.Length = uint32(len(buf))
	up := msg.Body.(*bmp.BMPPeerUpNotification)
	if noSent {
		up.SentOpenMsg = nil
	}
	if noRecv {
		up.ReceivedOpenMsg = nil
	}
	key := peerKeyOf(msg.PeerHeader)
	if _, ok := d.peers[key]; !ok {
		e := guessedEncoding(up)
		d.peers[key] = &e
	}
	if d.onNoOpen != nil {
		d.onNoOpen(msg.PeerHeader, noSent, noRecv)
	}
	return msg, nil
}

// guessedEncoding is the encoding of a session whose Peer Up lacks one or
// both OPENs. 4-octet AS numbers unless the OPEN that is there does not
// offer them (a session is 2-octet when either side is). ADD-PATH is taken
// as not negotiated, and the families that could carry it are those the
// OPEN that is there has an ADD-PATH capability for, or IPv4 and IPv6
// unicast when both OPENs are missing: a Route Monitoring that does not
// decode without path IDs is then decoded with them (bmpDecoder.decode),
// which is how the session is read until its next Peer Up.
func guessedEncoding(up *bmp.BMPPeerUpNotification) bmpEncoding {
	known := up.SentOpenMsg
	if known == nil {
		known = up.ReceivedOpenMsg
	}
	ap, as4 := openCaps(known)
	var mentioned []gobgp.Family
	for f := range ap {
		mentioned = append(mentioned, f)
	}
	if known == nil {
		mentioned = []gobgp.Family{gobgp.RF_IPv4_UC, gobgp.RF_IPv6_UC}
	}
	slices.Sort(mentioned)
	as2 := known != nil && !as4
	return bmpEncoding{
		in:  bmpDirection{as2: as2, negotiated: map[gobgp.Family]bool{}, mentioned: mentioned},
		out: bmpDirection{as2: as2, negotiated: map[gobgp.Family]bool{}, mentioned: mentioned},
	}
}
