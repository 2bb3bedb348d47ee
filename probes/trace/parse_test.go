package trace

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

func TestProbeChecksums(t *testing.T) {
	for _, proto := range []int{protoUDP, protoICMP, protoTCP} {
		for _, v6 := range []bool{false, true} {
			f := testFlow(proto, v6)
			var cks []uint16
			for _, id := range []uint16{1, 2, 0x7fff, 0xfffe} {
				p := appendProbe(nil, f, id)
				if !checksumOK(p, f.src, f.dst, f.proto) {
					t.Errorf("proto %d v6 %v id %d: invalid checksum", f.proto, v6, id)
				}
				cks = append(cks, binary.BigEndian.Uint16(p[checksumOffset(f.proto):]))
				switch f.proto {
				case protoUDP:
					if cks[len(cks)-1] != id {
						t.Errorf("udp checksum %#x, want the probe id %#x", cks[len(cks)-1], id)
					}
				case protoICMP, protoICMPv6:
					if cks[len(cks)-1] != f.cksum {
						t.Errorf("icmp checksum %#x, want the flow's constant %#x", cks[len(cks)-1], f.cksum)
					}
				}
				// The flow identifiers (first 4 bytes but the ICMP
				// checksum) never change.
				if f.proto != protoICMP && f.proto != protoICMPv6 {
					if got := binary.BigEndian.Uint32(p[0:4]); got != uint32(f.srcPort)<<16|uint32(f.dstPort) {
						t.Errorf("ports %#x", got)
					}
				}
			}
		}
	}
}

func checksumOffset(proto int) int {
	switch proto {
	case protoUDP:
		return 6
	case protoTCP:
		return 16
	}
	return 2
}

func TestParseReply(t *testing.T) {
	labels := []icmp.MPLSLabel{{Label: 16005, TC: 0, S: false, TTL: 1}, {Label: 24001, TC: 5, S: true, TTL: 1}}
	type tc struct {
		name    string
		from    netip.Addr
		msg     []byte
		want    reply
		wantErr error
	}
	var cases []tc
	for _, v6 := range []bool{false, true} {
		fam, hop := "v4", hop4
		if v6 {
			fam, hop = "v6", hop6
		}
		udp := testFlow(protoUDP, v6)
		pu := appendProbe(nil, udp, 0x0102)
		unreachT, unreachC := portUnreachable(v6)
		base := reply{From: hop, Kind: KindTimeExceeded, Proto: protoUDP,
			Src: udp.src, Dst: udp.dst, SrcPort: udp.srcPort, DstPort: udp.dstPort, ID: 0x0102, QuotedTTL: 1}
		base.Type = icmpTypeOf(timeExceeded(v6))
		withMPLS := base
		withMPLS.MPLS = []MPLSLabel{{Label: 16005, TTL: 1}, {Label: 24001, TC: 5, Bottom: true, TTL: 1}}
		unreach := base
		unreach.From, unreach.Kind, unreach.Type, unreach.Code = udp.dst, KindUnreachable, icmpTypeOf(unreachT), unreachC
		cases = append(cases,
			tc{name: fam + "/time exceeded udp", from: hop, msg: icmpError(t, v6, timeExceeded(v6), 0, quote(udp, pu, 1, -1)), want: base},
			tc{name: fam + "/quote truncated to 8 bytes", from: hop, msg: icmpError(t, v6, timeExceeded(v6), 0, quote(udp, pu, 1, 8)), want: base},
			tc{name: fam + "/quote shorter than 8 bytes", from: hop, msg: icmpError(t, v6, timeExceeded(v6), 0, quote(udp, pu, 1, 7)), wantErr: errShort},
			tc{name: fam + "/mpls extension", from: hop, msg: icmpError(t, v6, timeExceeded(v6), 0, quote(udp, pu, 1, -1), labels...), want: withMPLS},
			tc{name: fam + "/port unreachable", from: udp.dst, msg: icmpError(t, v6, unreachT, unreachC, quote(udp, pu, 1, -1)), want: unreach},
		)
		echo := testFlow(protoICMP, v6)
		pe := appendProbe(nil, echo, 7)
		cases = append(cases,
			tc{name: fam + "/time exceeded echo", from: hop, msg: icmpError(t, v6, timeExceeded(v6), 0, quote(echo, pe, 1, 8)),
				want: reply{From: hop, Kind: KindTimeExceeded, Type: base.Type, Proto: echo.proto, Src: echo.src, Dst: echo.dst, EchoID: echo.echoID, ID: 7, QuotedTTL: 1}},
			tc{name: fam + "/echo reply", from: echo.dst, msg: echoReply(t, echo, 7),
				want: reply{From: echo.dst, Kind: KindEchoReply, Type: icmpTypeOf(echoReplyType(v6)), Proto: echo.proto, Dst: echo.dst, EchoID: echo.echoID, ID: 7}},
		)
		tcp := testFlow(protoTCP, v6)
		pt := appendProbe(nil, tcp, 9)
		cases = append(cases,
			tc{name: fam + "/time exceeded tcp", from: hop, msg: icmpError(t, v6, timeExceeded(v6), 0, quote(tcp, pt, 1, 8)),
				want: reply{From: hop, Kind: KindTimeExceeded, Type: base.Type, Proto: protoTCP, Src: tcp.src, Dst: tcp.dst, SrcPort: tcp.srcPort, DstPort: 443, ID: tcp.seqBase | 9, QuotedTTL: 1}},
		)
		// An echo request is somebody pinging us, not a reply.
		req, _ := (&icmp.Message{Type: echoRequestType(v6), Body: &icmp.Echo{ID: 1, Seq: 1}}).Marshal(nil)
		cases = append(cases, tc{name: fam + "/echo request", from: hop, msg: req, wantErr: errNotProbe})
		// A quoted echo reply (or any ICMP but an echo request) is not a probe.
		qr := quote(echo, echoReply(t, echo, 7), 1, -1)
		cases = append(cases, tc{name: fam + "/quoted echo reply", from: hop, msg: icmpError(t, v6, timeExceeded(v6), 0, qr), wantErr: errNotProbe})
	}
	// IPv4 quote with options: the transport header starts after them.
	udp := testFlow(protoUDP, false)
	pu := appendProbe(nil, udp, 0x0304)
	q := quote(udp, pu, 2, -1)
	withOpts := append(append([]byte{}, q[:20]...), 1, 1, 1, 0) // NOP NOP NOP EOL
	withOpts = append(withOpts, q[20:]...)
	withOpts[0] = 0x46
	cases = append(cases, tc{name: "v4/quote with ip options", from: hop4, msg: icmpError(t, false, ipv4.ICMPTypeTimeExceeded, 0, withOpts),
		want: reply{From: hop4, Kind: KindTimeExceeded, Type: 11, Proto: protoUDP, Src: src4, Dst: dst4, SrcPort: udp.srcPort, DstPort: udp.dstPort, ID: 0x0304, QuotedTTL: 2}})
	frag := append([]byte{}, q...)
	binary.BigEndian.PutUint16(frag[6:8], 0x0010)
	cases = append(cases, tc{name: "v4/quoted fragment", from: hop4, msg: icmpError(t, false, ipv4.ICMPTypeTimeExceeded, 0, frag), wantErr: errNotProbe})
	// IPv6 quote behind a hop-by-hop options header.
	u6 := testFlow(protoUDP, true)
	p6 := appendProbe(nil, u6, 0x0506)
	q6 := quote(u6, p6, 1, 8)
	hbh := append(append([]byte{}, q6[:40]...), protoUDP, 0, 1, 4, 0, 0, 0, 0) // next UDP, len 0, PadN
	hbh = append(hbh, q6[40:]...)
	hbh[6] = 0
	cases = append(cases, tc{name: "v6/quote with hop-by-hop header", from: hop6, msg: icmpError(t, true, ipv6.ICMPTypeTimeExceeded, 0, hbh),
		want: reply{From: hop6, Kind: KindTimeExceeded, Type: 3, Proto: protoUDP, Src: src6, Dst: dst6, SrcPort: u6.srcPort, DstPort: u6.dstPort, ID: 0x0506, QuotedTTL: 1}})
	cases = append(cases, tc{name: "v6/packet too big", from: hop6, msg: icmpError(t, true, ipv6.ICMPTypePacketTooBig, 0, q6),
		want: reply{From: hop6, Kind: KindPacketTooBig, Type: 2, Proto: protoUDP, Src: src6, Dst: dst6, SrcPort: u6.srcPort, DstPort: u6.dstPort, ID: 0x0506, QuotedTTL: 1}})
	cases = append(cases, tc{name: "short", from: hop4, msg: []byte{11, 0, 0, 0}, wantErr: errShort})
	// A v4-mapped source is the IPv4 family.
	cases = append(cases, tc{name: "v4-mapped source", from: netip.AddrFrom16(hop4.As16()), msg: icmpError(t, false, ipv4.ICMPTypeTimeExceeded, 0, quote(udp, pu, 2, 8)),
		want: reply{From: hop4, Kind: KindTimeExceeded, Type: 11, Proto: protoUDP, Src: src4, Dst: dst4, SrcPort: udp.srcPort, DstPort: udp.dstPort, ID: 0x0304, QuotedTTL: 2}})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseReply(c.msg, c.from)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if !equalReply(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func equalReply(a, b reply) bool {
	return reflect.DeepEqual(a, b)
}

func icmpTypeOf(t icmp.Type) int {
	switch t := t.(type) {
	case ipv4.ICMPType:
		return int(t)
	case ipv6.ICMPType:
		return int(t)
	}
	return -1
}

func echoReplyType(v6 bool) icmp.Type {
	if v6 {
		return ipv6.ICMPTypeEchoReply
	}
	return ipv4.ICMPTypeEchoReply
}

func echoRequestType(v6 bool) icmp.Type {
	if v6 {
		return ipv6.ICMPTypeEchoRequest
	}
	return ipv4.ICMPTypeEcho
}

func TestParseTCPReply(t *testing.T) {
	f := testFlow(protoTCP, false)
	for _, c := range []struct {
		name  string
		flags byte
		ok    bool
	}{
		{"syn-ack", tcpSYN | tcpACK, true},
		{"rst-ack", tcpRST | tcpACK, true},
		{"bare syn", tcpSYN, false},
		{"ack", tcpACK, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := parseTCPReply(tcpReply(f, 5, c.flags), dst4)
			if !c.ok {
				if !errors.Is(err, errNotProbe) {
					t.Fatalf("err = %v, want errNotProbe", err)
				}
				return
			}
			want := reply{From: dst4, Kind: KindTCP, Code: int(c.flags), Proto: protoTCP, Dst: dst4, SrcPort: f.srcPort, DstPort: f.dstPort, ID: f.seqBase | 5}
			if err != nil || r.From != want.From || r.ID != want.ID || r.SrcPort != want.SrcPort || r.DstPort != want.DstPort || r.Kind != KindTCP {
				t.Errorf("got %+v, %v; want %+v", r, err, want)
			}
		})
	}
	if _, err := parseTCPReply(make([]byte, 19), dst4); !errors.Is(err, errShort) {
		t.Errorf("short segment: err = %v", err)
	}
}
