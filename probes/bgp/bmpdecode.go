package bgp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/packet/bmp"
)

// errNotBMP is a stream whose framing is not BMP v3: it is closed.
var errNotBMP = errors.New("not a BMP v3 stream")

// readBMPFrame reads one BMP message (RFC 7854 4.1), header included.
func readBMPFrame(r io.Reader) ([]byte, error) {
	hdr := make([]byte, bmp.BMP_HEADER_SIZE)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:5])
	if hdr[0] != bmp.BMP_VERSION || n < bmp.BMP_HEADER_SIZE || n > maxBMPMessage {
		return nil, fmt.Errorf("%w (version %d, length %d): closing", errNotBMP, hdr[0], n)
	}
	buf := make([]byte, n)
	copy(buf, hdr)
	if _, err := io.ReadFull(r, buf[bmp.BMP_HEADER_SIZE:]); err != nil {
		return nil, fmt.Errorf("read bmp message: %w", err)
	}
	return buf, nil
}

// bmpPeerKey identifies a monitored peer within one BMP stream: its peer
// type, distinguisher and address (RFC 7854 4.2; RFC 9069 for Loc-RIB,
// whose address is zero).
type bmpPeerKey struct {
	typ  uint8
	dist uint64
	addr netip.Addr
}

func peerKeyOf(h bmp.BMPPeerHeader) bmpPeerKey {
	return bmpPeerKey{typ: h.PeerType, dist: h.PeerDistinguisher, addr: h.PeerAddress}
}

// bmpEncoding is how a monitored session's UPDATEs are encoded, from the
// two OPENs of its Peer Up: in for its Adj-RIB-In (what the peer sent the
// router), out for its Adj-RIB-Out (RFC 8671: what the router sent the
// peer).
type bmpEncoding struct {
	in, out bmpDirection
}

// bmpDirection is the encoding of one direction of a session: the ADD-PATH
// families the OPENs negotiated, and those whose use the router's messages
// showed to differ (flipped).
type bmpDirection struct {
	as2        bool
	negotiated map[gobgp.Family]bool
	// mentioned are the families either OPEN has an ADD-PATH capability
	// for: the only ones whose encoding can be in doubt.
	mentioned []gobgp.Family
	flipped   map[gobgp.Family]bool
}

// options returns the marshalling options of the direction, with the
// families of flip toggled on top of those flipped already.
func (d *bmpDirection) options(flip gobgp.Family, doFlip bool) []*gobgp.MarshallingOption {
	o := &gobgp.MarshallingOption{AddPath: map[gobgp.Family]gobgp.BGPAddPathMode{}, Use2ByteAS: d.as2}
	for _, f := range d.mentioned {
		on := d.negotiated[f] != d.flipped[f]
		if doFlip && f == flip {
			on = !on
		}
		if on {
			o.AddPath[f] = gobgp.BGP_ADD_PATH_RECEIVE
		}
	}
	return []*gobgp.MarshallingOption{o}
}

// bmpDecoder decodes one BMP stream's messages, each Route Monitoring with
// the capabilities its session negotiated (RFC 7854 4.10): ADD-PATH per
// AFI/SAFI and direction (RFC 7911), and 4-octet AS numbers.
//
// Some routers do not follow their session's ADD-PATH in Route Monitoring:
// FRR 8 never includes the path ID (its doc/user/bmp.rst: "the add-path
// ID is never included in route monitoring messages"). A Route Monitoring
// that does not decode as negotiated is decoded again with the ADD-PATH of
// one family of the session toggled; when that decodes, the session's
// messages of that family and direction are read so from then on, until
// its next Peer Up, and onFlip is told once.
//
// A Peer Up may stand a bare BGP header in for an OPEN the router did not
// keep (FRR: see placeholderOpen). Such a Peer Up decodes without that
// OPEN; onNoOpen is told. The session's encoding is then its last good Peer
// Up's on this stream, else what the OPEN that is there says, the rest
// learnt from its messages as above.
type bmpDecoder struct {
	peers    map[bmpPeerKey]*bmpEncoding
	onFlip   func(h bmp.BMPPeerHeader, f gobgp.Family, pathIDs bool)
	onNoOpen func(h bmp.BMPPeerHeader, sent, received bool)
}

func newBMPDecoder() *bmpDecoder {
	return &bmpDecoder{peers: map[bmpPeerKey]*bmpEncoding{}}
}

// direction returns the encoding of the messages with header h: their
// session's, per direction; nil before the session's Peer Up.
func (d *bmpDecoder) direction(h bmp.BMPPeerHeader) *bmpDirection {
	e, ok := d.peers[peerKeyOf(h)]
	switch {
	case !ok:
		return nil
	case h.IsAdjRIBOut():
		return &e.out
	}
	return &e.in
}

// decode decodes one framed message. A Peer Up records its session's
// encoding for the messages that follow. On an error, the message is nil
// unless it is a Peer Up whose OPENs do not decode: then it has the
// per-peer header only (the session is up; its encoding is kept from its
// last good Peer Up).
func (d *bmpDecoder) decode(buf []byte) (*bmp.BMPMessage, error) {
	var dir *bmpDirection
	current := func(h bmp.BMPPeerHeader) []*gobgp.MarshallingOption {
		if dir = d.direction(h); dir == nil {
			return nil
		}
		return dir.options(gobgp.Family(0), false)
	}
	if noSent, noRecv, err := peerUpPlaceholders(buf); err != nil {
		return peerUpHeaderOnly(buf), err
	} else if noSent || noRecv {
		return d.decodePlaceholderPeerUp(buf, noSent, noRecv)
	}
	msg, err := bmp.ParseBMPMessageWithOptions(buf, current)
	if err != nil && dir != nil && len(buf) > 5 && buf[5] == bmp.BMP_MSG_ROUTE_MONITORING {
		for _, f := range dir.mentioned {
			alt, aerr := bmp.ParseBMPMessageWithOptions(buf, func(bmp.BMPPeerHeader) []*gobgp.MarshallingOption { return dir.options(f, true) })
			if aerr != nil {
				continue
			}
			if dir.flipped == nil {
				dir.flipped = map[gobgp.Family]bool{}
			}
			dir.flipped[f] = !dir.flipped[f]
			if d.onFlip != nil {
				d.onFlip(alt.PeerHeader, f, dir.negotiated[f] != dir.flipped[f])
			}
			msg, err = alt, nil
			break
		}
	}
	if err != nil {
		return peerUpHeaderOnly(buf), err
	}
	if up, ok := msg.Body.(*bmp.BMPPeerUpNotification); ok && up.SentOpenMsg != nil && up.ReceivedOpenMsg != nil {
		e := negotiated(up)
		d.peers[peerKeyOf(msg.PeerHeader)] = &e
	}
	return msg, nil
}

// openCaps returns an OPEN's ADD-PATH modes per family and whether it
// offers 4-octet AS numbers.
func openCaps(m *gobgp.BGPMessage) (map[gobgp.Family]gobgp.BGPAddPathMode, bool) {
	ap := map[gobgp.Family]gobgp.BGPAddPathMode{}
	as4 := false
	if m == nil {
		return ap, false
	}
	open, ok := m.Body.(*gobgp.BGPOpen)
	if !ok {
		return ap, false
	}
	for _, op := range open.OptParams {
		pc, ok := op.(*gobgp.OptionParameterCapability)
		if !ok {
			continue
		}
		for _, c := range pc.Capability {
			switch v := c.(type) {
			case *gobgp.CapAddPath:
				for _, t := range v.Tuples {
					ap[t.Family] |= t.Mode
				}
			case *gobgp.CapFourOctetASNumber:
				as4 = true
			}
		}
	}
	return ap, as4
}

// negotiated derives a monitored session's UPDATE encoding from its Peer
// Up. The Sent OPEN is the router's to its peer, the Received OPEN the
// peer's to the router (RFC 7854 4.10). Path IDs travel from a side that
// offered to send them to one that offered to receive them (RFC 7911 4):
// the Adj-RIB-In carries them when the peer offered send and the router
// receive, the Adj-RIB-Out when the router offered send and the peer
// receive.
func negotiated(up *bmp.BMPPeerUpNotification) bmpEncoding {
	sent, sent4 := openCaps(up.SentOpenMsg)
	recv, recv4 := openCaps(up.ReceivedOpenMsg)
	as2 := !(sent4 && recv4)
	e := bmpEncoding{
		in:  bmpDirection{as2: as2, negotiated: map[gobgp.Family]bool{}},
		out: bmpDirection{as2: as2, negotiated: map[gobgp.Family]bool{}},
	}
	var mentioned []gobgp.Family
	for f := range sent {
		mentioned = append(mentioned, f)
	}
	for f := range recv {
		if _, ok := sent[f]; !ok {
			mentioned = append(mentioned, f)
		}
	}
	slices.Sort(mentioned)
	e.in.mentioned, e.out.mentioned = mentioned, mentioned
	for _, f := range mentioned {
		e.in.negotiated[f] = sent[f]&gobgp.BGP_ADD_PATH_RECEIVE != 0 && recv[f]&gobgp.BGP_ADD_PATH_SEND != 0
		e.out.negotiated[f] = sent[f]&gobgp.BGP_ADD_PATH_SEND != 0 && recv[f]&gobgp.BGP_ADD_PATH_RECEIVE != 0
	}
	return e
}

// peerUpHeaderOnly returns a Peer Up notification with only its per-peer
// header when buf is a Peer Up whose body does not decode, else nil.
// Skipping it would leave the session down here for good: its per-peer
// header says which session came up, which is what counts. (FRR's bare
// OPEN headers are not this case: see placeholderOpen.)
func peerUpHeaderOnly(buf []byte) *bmp.BMPMessage {
	if len(buf) < bmp.BMP_HEADER_SIZE+bmp.BMP_PEER_HEADER_SIZE || buf[5] != bmp.BMP_MSG_PEER_UP_NOTIFICATION {
		return nil
	}
	var ph bmp.BMPPeerHeader
	if err := ph.DecodeFromBytes(buf[bmp.BMP_HEADER_SIZE:]); err != nil {
		return nil
	}
	return &bmp.BMPMessage{
		Header:     bmp.BMPHeader{Version: buf[0], Length: uint32(len(buf)), Type: bmp.BMP_MSG_PEER_UP_NOTIFICATION},
		PeerHeader: ph,
		Body:       &bmp.BMPPeerUpNotification{},
	}
}
