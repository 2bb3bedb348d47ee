package ping

import "encoding/binary"

// The payload of every echo starts with dxwatch's header, so that a reply
// names its target and sequence number whatever the kernel did to the ICMP
// identifier (unprivileged ICMP sockets rewrite it) and however far the
// 16-bit ICMP sequence number has wrapped:
//
//	magic "dxw\x01" | nonce (per probe run) | token (per target) | seq (32 bits)
//
// The rest of the payload is zero padding up to the configured size.
const headerLen = 16

var magic = [4]byte{'d', 'x', 'w', 1}

// ICMP types of echo request and reply.
const (
	icmp4EchoRequest = 8
	icmp4EchoReply   = 0
	icmp6EchoRequest = 128
	icmp6EchoReply   = 129
)

// echo is the dxwatch header of an echo request or reply.
type echo struct {
	id      uint16 // ICMP identifier
	icmpSeq uint16 // ICMP sequence number: the low 16 bits of seq
	nonce   uint32
	token   uint32
	seq     uint32
}

// marshalEcho writes an echo request for e into b, which must be 8 bytes
// longer than the payload size; the padding in b must be zero. The IPv4
// checksum is computed here; for ICMPv6 the kernel computes it.
func marshalEcho(b []byte, v6 bool, e echo) {
	if v6 {
		b[0] = icmp6EchoRequest
	} else {
		b[0] = icmp4EchoRequest
	}
	b[1] = 0
	b[2], b[3] = 0, 0
	binary.BigEndian.PutUint16(b[4:], e.id)
	binary.BigEndian.PutUint16(b[6:], uint16(e.seq))
	copy(b[8:], magic[:])
	binary.BigEndian.PutUint32(b[12:], e.nonce)
	binary.BigEndian.PutUint32(b[16:], e.token)
	binary.BigEndian.PutUint32(b[20:], e.seq)
	if !v6 {
		binary.BigEndian.PutUint16(b[2:], checksum(b))
	}
}

// parseEchoReply returns the dxwatch header of the echo reply in b (an ICMP
// message without IP header), or false when b is anything else.
func parseEchoReply(b []byte, v6 bool) (echo, bool) {
	want := byte(icmp4EchoReply)
	if v6 {
		want = icmp6EchoReply
	}
	if len(b) < 8+headerLen || b[0] != want || b[1] != 0 || [4]byte(b[8:12]) != magic {
		return echo{}, false
	}
	return echo{
		id:      binary.BigEndian.Uint16(b[4:]),
		icmpSeq: binary.BigEndian.Uint16(b[6:]),
		nonce:   binary.BigEndian.Uint32(b[12:]),
		token:   binary.BigEndian.Uint32(b[16:]),
		seq:     binary.BigEndian.Uint32(b[20:]),
	}, true
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var sum uint32
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
