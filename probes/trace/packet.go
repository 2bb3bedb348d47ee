package trace

import (
	"encoding/binary"
	"net/netip"
)

// magic starts every probe payload so that a packet capture shows whose
// probe it is.
var magic = [8]byte{'d', 'x', 'w', 'a', 't', 'c', 'h', 0}

// Sizes of the probes. The payload is the magic and one 16-bit word that is
// tuned so the checksum takes the value wanted (Paris traceroute).
const (
	udpHeaderLen  = 8
	icmpHeaderLen = 8
	tcpHeaderLen  = 24 // 20 + MSS option
	payloadLen    = len(magic) + 2
	udpProbeLen   = udpHeaderLen + payloadLen
	icmpProbeLen  = icmpHeaderLen + payloadLen
)

// flow is the set of fields that a load balancer hashes: constant for every
// probe of one flow, so that all TTLs of a trace follow one path.
type flow struct {
	proto    int // protoUDP, protoTCP, protoICMP or protoICMPv6
	src, dst netip.Addr
	srcPort  uint16 // UDP/TCP
	dstPort  uint16 // UDP/TCP
	echoID   uint16 // ICMP
	cksum    uint16 // ICMP: the constant checksum of every probe of the flow
	seqBase  uint32 // TCP: high bits of the sequence number
	// label is the IPv6 flow label of every probe of the flow (0 for
	// IPv4): load balancers that hash the flow label (RFC 6438; Linux's
	// fib_multipath_hash_policy 0) see one flow per flow, as those that
	// hash the ports do.
	label uint32
}

// flowLabel returns the IPv6 flow label of flow i of a probe whose flows
// are numbered from seed: never 0 (no label), distinct for the maxFlows
// flows of one probe, the same for every probe of the flow.
func flowLabel(seed uint16, i int) uint32 {
	return 1<<19 | uint32(seed&0x7ff)<<8 | uint32(i&0xff)
}

// appendIPv6Header appends the IPv6 header of a probe of flow f carrying
// payloadLen bytes with hop limit ttl: the probes are sent with
// IPV6_HDRINCL so that the flow label is the flow's, not the kernel's
// (which hashes the addresses and next header only, the same for every
// flow).
func appendIPv6Header(b []byte, f flow, ttl, payloadLen int) []byte {
	var h [40]byte
	binary.BigEndian.PutUint32(h[0:4], 6<<28|f.label&0xfffff)
	binary.BigEndian.PutUint16(h[4:6], uint16(payloadLen))
	h[6], h[7] = byte(f.proto), byte(ttl)
	s, d := f.src.As16(), f.dst.As16()
	copy(h[8:24], s[:])
	copy(h[24:40], d[:])
	return append(b, h[:]...)
}

// appendProbe appends the transport header and payload of probe id of flow
// f to b. The probe identifier sits in a field that load balancers do not
// hash and that every router quotes (it is within the first 8 bytes): the
// UDP checksum, the ICMP sequence number (with the checksum held constant)
// or the TCP sequence number.
func appendProbe(b []byte, f flow, id uint16) []byte {
	switch f.proto {
	case protoUDP:
		return appendUDP(b, f, id)
	case protoTCP:
		return appendTCP(b, f, id)
	default:
		return appendEcho(b, f, id)
	}
}

func appendUDP(b []byte, f flow, id uint16) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, f.srcPort)
	b = binary.BigEndian.AppendUint16(b, f.dstPort)
	b = binary.BigEndian.AppendUint16(b, uint16(udpProbeLen))
	b = append(b, 0, 0) // checksum, set below
	b = append(b, magic[:]...)
	b = append(b, 0, 0) // tweak
	p := b[start:]
	s := pseudoSum(f.src, f.dst, protoUDP, len(p)) + sum16(p)
	putTweak(p[len(p)-2:], s, id)
	binary.BigEndian.PutUint16(p[6:8], id)
	return b
}

func appendEcho(b []byte, f flow, id uint16) []byte {
	start := len(b)
	typ := icmpEchoRequest(f.proto)
	b = append(b, typ, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, f.echoID)
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, magic[:]...)
	b = append(b, 0, 0)
	p := b[start:]
	s := sum16(p)
	if f.proto == protoICMPv6 {
		s += pseudoSum(f.src, f.dst, protoICMPv6, len(p))
	}
	putTweak(p[len(p)-2:], s, f.cksum)
	binary.BigEndian.PutUint16(p[2:4], f.cksum)
	return b
}

func appendTCP(b []byte, f flow, id uint16) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, f.srcPort)
	b = binary.BigEndian.AppendUint16(b, f.dstPort)
	b = binary.BigEndian.AppendUint32(b, f.seqBase|uint32(id))
	b = binary.BigEndian.AppendUint32(b, 0)    // ack
	b = append(b, (tcpHeaderLen/4)<<4, tcpSYN) // data offset, flags
	b = binary.BigEndian.AppendUint16(b, 64240)
	b = append(b, 0, 0, 0, 0)       // checksum, urgent pointer
	b = append(b, 2, 4, 0x05, 0xb4) // MSS 1460, as a real SYN carries
	p := b[start:]
	c := ^fold(pseudoSum(f.src, f.dst, protoTCP, len(p)) + sum16(p))
	binary.BigEndian.PutUint16(p[16:18], c)
	return b
}

// putTweak sets the 16-bit word w (whose current value is 0 and whose
// packet sums to s without it) so that the packet's checksum becomes want.
// want must not be 0 or 0xffff.
func putTweak(w []byte, s uint32, want uint16) {
	binary.BigEndian.PutUint16(w, fold(uint32(^want)+uint32(^fold(s))))
}

// sum16 returns the 32-bit sum of b as big-endian 16-bit words, an odd
// last byte padded with zero.
func sum16(b []byte) uint32 {
	var s uint32
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// pseudoSum returns the sum of the IPv4 or IPv6 pseudo-header.
func pseudoSum(src, dst netip.Addr, proto, length int) uint32 {
	s := uint32(proto) + uint32(length)
	if src.Is4() {
		a, b := src.As4(), dst.As4()
		return s + sum16(a[:]) + sum16(b[:])
	}
	a, b := src.As16(), dst.As16()
	return s + sum16(a[:]) + sum16(b[:])
}

// fold folds a 32-bit sum into 16 bits with end-around carry.
func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// checksumOK tells whether the packet p (transport header and payload)
// carries a valid checksum for the pseudo-header of src, dst and proto.
func checksumOK(p []byte, src, dst netip.Addr, proto int) bool {
	s := sum16(p)
	if proto != protoICMP {
		s += pseudoSum(src, dst, proto, len(p))
	}
	return fold(s) == 0xffff
}
