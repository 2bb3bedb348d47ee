package trace

import (
	"testing"

	"golang.org/x/net/icmp"
)

// FuzzParseReply feeds arbitrary bytes to the reply parsers: they must never
// panic, and what they accept must be a consistent reply.
func FuzzParseReply(f *testing.F) {
	labels := []icmp.MPLSLabel{{Label: 16005, TTL: 1, S: true}}
	for _, v6 := range []bool{false, true} {
		for _, proto := range []int{protoUDP, protoICMP, protoTCP} {
			fl := testFlow(proto, v6)
			p := appendProbe(nil, fl, 3)
			f.Add(icmpError(f, v6, timeExceeded(v6), 0, quote(fl, p, 1, -1)), v6)
			f.Add(icmpError(f, v6, timeExceeded(v6), 0, quote(fl, p, 1, 8), labels...), v6)
			ut, uc := portUnreachable(v6)
			f.Add(icmpError(f, v6, ut, uc, quote(fl, p, 1, 8)), v6)
		}
		f.Add(echoReply(f, testFlow(protoICMP, v6), 3), v6)
	}
	f.Add(tcpReply(testFlow(protoTCP, false), 3, tcpRST|tcpACK), false)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		from := hop4
		if v6 {
			from = hop6
		}
		if r, err := parseReply(b, from); err == nil {
			if r.Kind == KindOther || r.From != from {
				t.Fatalf("accepted reply %+v", r)
			}
			if r.Kind != KindEchoReply && (!r.Src.IsValid() || !r.Dst.IsValid() || r.Src.Is4() != r.Dst.Is4()) {
				t.Fatalf("quote addresses %v %v", r.Src, r.Dst)
			}
			if r.Proto != protoUDP && r.Proto != protoTCP && r.Proto != protoICMP && r.Proto != protoICMPv6 {
				t.Fatalf("proto %d", r.Proto)
			}
		}
		if r, err := parseTCPReply(b, from); err == nil && r.Kind != KindTCP {
			t.Fatalf("tcp reply %+v", r)
		}
	})
}
