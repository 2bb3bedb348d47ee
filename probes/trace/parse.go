package trace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// IANA protocol numbers used in probes and quotes.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// ReplyKind classifies a reply.
type ReplyKind int

// Reply kinds. TimeExceeded comes from a router on the path; Unreachable
// from a router or (port unreachable, administratively prohibited) from the
// destination; EchoReply and TCP come from the destination itself.
const (
	KindOther ReplyKind = iota
	KindTimeExceeded
	KindUnreachable
	KindPacketTooBig
	KindParamProblem
	KindEchoReply
	KindTCP
)

// String returns the kind as shown in /api/paths.
func (k ReplyKind) String() string {
	switch k {
	case KindTimeExceeded:
		return "time_exceeded"
	case KindUnreachable:
		return "unreachable"
	case KindPacketTooBig:
		return "packet_too_big"
	case KindParamProblem:
		return "parameter_problem"
	case KindEchoReply:
		return "echo_reply"
	case KindTCP:
		return "tcp"
	}
	return "other"
}

// MPLSLabel is one entry of the label stack a router quoted (RFC 4950).
type MPLSLabel struct {
	Label  int  `json:"label"`
	TC     int  `json:"tc"`
	Bottom bool `json:"s"`
	TTL    int  `json:"ttl"`
}

// reply is a parsed packet that may answer a probe. For an ICMP error the
// probe fields come from the quoted packet; for a direct answer (echo reply,
// TCP SYN-ACK or RST) they are turned around so that Src and SrcPort are
// always the prober's side.
type reply struct {
	From      netip.Addr // who sent the reply
	Kind      ReplyKind
	Type      int // ICMP type (0 for TCP)
	Code      int // ICMP code; TCP flags for KindTCP
	Proto     int // protocol of the probe: protoUDP, protoTCP, protoICMP, protoICMPv6
	Src, Dst  netip.Addr
	SrcPort   uint16 // UDP/TCP source port of the probe
	DstPort   uint16 // UDP/TCP destination port of the probe
	EchoID    uint16 // ICMP echo identifier of the probe
	ID        uint32 // probe identifier: UDP checksum, ICMP sequence, TCP sequence
	QuotedTTL int    // TTL (hop limit) left in the quoted header, 0 when unknown
	MPLS      []MPLSLabel
}

// Parse errors. They are expected for traffic that is not ours and are only
// counted, never logged above Debug.
var (
	errShort    = errors.New("packet too short")
	errNotProbe = errors.New("not a reply to a probe")
)

// parseReply parses an ICMP or ICMPv6 message b (without the outer IP
// header, as a raw socket returns it) that arrived from from. The family is
// from's. It never panics and never reads outside b.
func parseReply(b []byte, from netip.Addr) (reply, error) {
	from = from.Unmap()
	proto := protoICMPv6
	if from.Is4() {
		proto = protoICMP
	}
	if len(b) < 8 {
		return reply{}, errShort
	}
	m, err := icmp.ParseMessage(proto, b)
	if err != nil {
		return reply{}, fmt.Errorf("parse icmp: %w", err)
	}
	r := reply{From: from, Code: m.Code}
	var data []byte
	var exts []icmp.Extension
	switch typ := m.Type.(type) {
	case ipv4.ICMPType:
		r.Type = int(typ)
		switch typ {
		case ipv4.ICMPTypeTimeExceeded:
			r.Kind = KindTimeExceeded
		case ipv4.ICMPTypeDestinationUnreachable:
			r.Kind = KindUnreachable
		case ipv4.ICMPTypeParameterProblem:
			r.Kind = KindParamProblem
		case ipv4.ICMPTypeEchoReply:
			r.Kind = KindEchoReply
		}
	case ipv6.ICMPType:
		r.Type = int(typ)
		switch typ {
		case ipv6.ICMPTypeTimeExceeded:
			r.Kind = KindTimeExceeded
		case ipv6.ICMPTypeDestinationUnreachable:
			r.Kind = KindUnreachable
		case ipv6.ICMPTypePacketTooBig:
			r.Kind = KindPacketTooBig
		case ipv6.ICMPTypeParameterProblem:
			r.Kind = KindParamProblem
		case ipv6.ICMPTypeEchoReply:
			r.Kind = KindEchoReply
		}
	}
	switch body := m.Body.(type) {
	case *icmp.TimeExceeded:
		data, exts = body.Data, body.Extensions
	case *icmp.DstUnreach:
		data, exts = body.Data, body.Extensions
	case *icmp.ParamProb:
		data, exts = body.Data, body.Extensions
	case *icmp.PacketTooBig:
		data = body.Data
	case *icmp.Echo:
		if r.Kind != KindEchoReply {
			return reply{}, errNotProbe
		}
		r.Proto = proto
		r.Dst = from
		r.EchoID = uint16(body.ID)
		r.ID = uint32(uint16(body.Seq))
		return r, nil
	default:
		return reply{}, errNotProbe
	}
	if r.Kind == KindOther || r.Kind == KindEchoReply {
		return reply{}, errNotProbe
	}
	if err := parseQuote(&r, data); err != nil {
		return reply{}, err
	}
	for _, e := range exts {
		if ls, ok := e.(*icmp.MPLSLabelStack); ok {
			for _, l := range ls.Labels {
				r.MPLS = append(r.MPLS, MPLSLabel{Label: l.Label, TC: l.TC, Bottom: l.S, TTL: l.TTL})
			}
		}
	}
	return r, nil
}

// parseQuote fills r's probe fields from the quoted datagram q: an IPv4 or
// IPv6 header and at least the first 8 bytes of its payload (RFC 792).
func parseQuote(r *reply, q []byte) error {
	if len(q) < 1 {
		return errShort
	}
	var l4 []byte
	switch q[0] >> 4 {
	case 4:
		if len(q) < ipv4.HeaderLen {
			return errShort
		}
		ihl := int(q[0]&0x0f) * 4
		if ihl < ipv4.HeaderLen || len(q) < ihl+8 {
			return errShort
		}
		if binary.BigEndian.Uint16(q[6:8])&0x1fff != 0 {
			return fmt.Errorf("quoted fragment: %w", errNotProbe)
		}
		r.QuotedTTL = int(q[8])
		r.Proto = int(q[9])
		r.Src = netip.AddrFrom4([4]byte(q[12:16]))
		r.Dst = netip.AddrFrom4([4]byte(q[16:20]))
		l4 = q[ihl:]
	case 6:
		if len(q) < ipv6.HeaderLen {
			return errShort
		}
		r.QuotedTTL = int(q[7])
		r.Src = netip.AddrFrom16([16]byte(q[8:24]))
		r.Dst = netip.AddrFrom16([16]byte(q[24:40]))
		next, off := int(q[6]), ipv6.HeaderLen
		// Skip the extension headers a probe could carry (RFC 8200).
		for hops := 0; ; hops++ {
			if hops > 8 {
				return fmt.Errorf("too many extension headers: %w", errNotProbe)
			}
			if next == 0 || next == 43 || next == 60 {
				if len(q) < off+2 {
					return errShort
				}
				next, off = int(q[off]), off+8+int(q[off+1])*8
				continue
			}
			if next == 44 { // fragment
				if len(q) < off+8 {
					return errShort
				}
				if binary.BigEndian.Uint16(q[off+2:off+4])&0xfff8 != 0 {
					return fmt.Errorf("quoted fragment: %w", errNotProbe)
				}
				next, off = int(q[off]), off+8
				continue
			}
			break
		}
		if len(q) < off+8 {
			return errShort
		}
		r.Proto = next
		l4 = q[off:]
	default:
		return fmt.Errorf("quoted ip version %d: %w", q[0]>>4, errNotProbe)
	}
	switch r.Proto {
	case protoUDP:
		r.SrcPort = binary.BigEndian.Uint16(l4[0:2])
		r.DstPort = binary.BigEndian.Uint16(l4[2:4])
		r.ID = uint32(binary.BigEndian.Uint16(l4[6:8]))
	case protoTCP:
		r.SrcPort = binary.BigEndian.Uint16(l4[0:2])
		r.DstPort = binary.BigEndian.Uint16(l4[2:4])
		r.ID = binary.BigEndian.Uint32(l4[4:8])
	case protoICMP, protoICMPv6:
		if (r.Proto == protoICMP) != r.Src.Is4() {
			return fmt.Errorf("quoted icmp of the wrong family: %w", errNotProbe)
		}
		if l4[0] != icmpEchoRequest(r.Proto) || l4[1] != 0 {
			return fmt.Errorf("quoted icmp type %d: %w", l4[0], errNotProbe)
		}
		r.EchoID = binary.BigEndian.Uint16(l4[4:6])
		r.ID = uint32(binary.BigEndian.Uint16(l4[6:8]))
	default:
		return fmt.Errorf("quoted protocol %d: %w", r.Proto, errNotProbe)
	}
	return nil
}

func icmpEchoRequest(proto int) byte {
	if proto == protoICMP {
		return byte(ipv4.ICMPTypeEcho)
	}
	return byte(ipv6.ICMPTypeEchoRequest)
}

// TCP flags.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// parseTCPReply parses a TCP segment b (without IP header) from from that
// may answer a SYN probe: a SYN-ACK or a RST. The probe's identifier is the
// acknowledged sequence number minus one.
func parseTCPReply(b []byte, from netip.Addr) (reply, error) {
	if len(b) < 20 {
		return reply{}, errShort
	}
	flags := b[13]
	synAck := flags&(tcpSYN|tcpACK) == tcpSYN|tcpACK
	rst := flags&tcpRST != 0 && flags&tcpACK != 0
	if !synAck && !rst {
		return reply{}, errNotProbe
	}
	return reply{
		From:    from.Unmap(),
		Kind:    KindTCP,
		Code:    int(flags),
		Proto:   protoTCP,
		Dst:     from.Unmap(),
		SrcPort: binary.BigEndian.Uint16(b[2:4]),
		DstPort: binary.BigEndian.Uint16(b[0:2]),
		ID:      binary.BigEndian.Uint32(b[8:12]) - 1,
	}, nil
}
