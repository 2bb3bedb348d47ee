package trace

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Crafting of the packets routers send back, shared by the parser tests,
// the engine's simulated network and the fuzz seeds.

// ipHeader returns an IPv4 or IPv6 header (no options) for a packet of
// payloadLen bytes with the given protocol and TTL left.
func ipHeader(src, dst netip.Addr, proto, ttl, payloadLen int) []byte {
	if src.Is4() {
		h := make([]byte, ipv4.HeaderLen)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:4], uint16(ipv4.HeaderLen+payloadLen))
		binary.BigEndian.PutUint16(h[4:6], 0x1234)
		h[6] = 0x40 // DF
		h[8], h[9] = byte(ttl), byte(proto)
		s, d := src.As4(), dst.As4()
		copy(h[12:16], s[:])
		copy(h[16:20], d[:])
		binary.BigEndian.PutUint16(h[10:12], ^fold(sum16(h)))
		return h
	}
	h := make([]byte, ipv6.HeaderLen)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:6], uint16(payloadLen))
	h[6], h[7] = byte(proto), byte(ttl)
	s, d := src.As16(), dst.As16()
	copy(h[8:24], s[:])
	copy(h[24:40], d[:])
	return h
}

// quote returns the probe p of flow f as a router quotes it: the IP header
// with ttl left and the first n bytes of p (all of it when n < 0).
func quote(f flow, p []byte, ttl, n int) []byte {
	q := ipHeader(f.src, f.dst, f.proto, ttl, len(p))
	if n < 0 || n > len(p) {
		n = len(p)
	}
	return append(q, p[:n]...)
}

// icmpError returns the ICMP message of type typ and code quoting q, with
// an MPLS label stack extension when labels are given (RFC 4950).
func icmpError(t testing.TB, v6 bool, typ icmp.Type, code int, q []byte, labels ...icmp.MPLSLabel) []byte {
	t.Helper()
	var exts []icmp.Extension
	if len(labels) > 0 {
		exts = []icmp.Extension{&icmp.MPLSLabelStack{Class: 1, Type: 1, Labels: labels}}
	}
	var body icmp.MessageBody
	switch typ {
	case ipv4.ICMPTypeTimeExceeded, ipv6.ICMPTypeTimeExceeded:
		body = &icmp.TimeExceeded{Data: q, Extensions: exts}
	case ipv6.ICMPTypePacketTooBig:
		body = &icmp.PacketTooBig{MTU: 1280, Data: q}
	default:
		body = &icmp.DstUnreach{Data: q, Extensions: exts}
	}
	b, err := (&icmp.Message{Type: typ, Code: code, Body: body}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// echoReply returns the echo reply the destination sends for probe id.
func echoReply(t testing.TB, f flow, id uint16) []byte {
	t.Helper()
	var typ icmp.Type = ipv4.ICMPTypeEchoReply
	if f.dst.Is6() {
		typ = ipv6.ICMPTypeEchoReply
	}
	b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: int(f.echoID), Seq: int(id), Data: magic[:]}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tcpReply returns the segment the destination answers a SYN with.
func tcpReply(f flow, id uint16, flags byte) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:2], f.dstPort)
	binary.BigEndian.PutUint16(b[2:4], f.srcPort)
	binary.BigEndian.PutUint32(b[4:8], 0xabcdef01)
	binary.BigEndian.PutUint32(b[8:12], f.seqBase|uint32(id)+1)
	b[12], b[13] = 5<<4, flags
	return b
}

func timeExceeded(v6 bool) icmp.Type {
	if v6 {
		return ipv6.ICMPTypeTimeExceeded
	}
	return ipv4.ICMPTypeTimeExceeded
}

// portUnreachable returns the type and code of the destination's answer to
// a UDP probe.
func portUnreachable(v6 bool) (icmp.Type, int) {
	if v6 {
		return ipv6.ICMPTypeDestinationUnreachable, 4
	}
	return ipv4.ICMPTypeDestinationUnreachable, 3
}

var (
	src4 = netip.MustParseAddr("192.0.2.10")
	dst4 = netip.MustParseAddr("198.18.0.10")
	hop4 = netip.MustParseAddr("169.254.10.1")
	src6 = netip.MustParseAddr("2001:db8::10")
	dst6 = netip.MustParseAddr("2001:db8:18::10")
	hop6 = netip.MustParseAddr("2001:db8:a9fe::1")
)

func testFlow(proto int, v6 bool) flow {
	f := flow{proto: proto, src: src4, dst: dst4, srcPort: 40001, dstPort: 33434, echoID: 0x4242, cksum: 0x5a5a, seqBase: 0x77770000}
	if v6 {
		f.src, f.dst = src6, dst6
		if proto == protoICMP {
			f.proto = protoICMPv6
		}
	}
	if proto == protoTCP {
		f.dstPort = 443
	}
	return f
}
