package trace

import (
	"net/netip"
	"testing"

	"golang.org/x/net/ipv6"
)

// TestIPv6FlowLabels: every flow of a probe has a flow label of its own,
// never 0, the same for each of its probes whatever the TTL, and the IPv6
// header the probes go out behind carries it with the hop limit, the
// next header and the addresses of the flow.
func TestIPv6FlowLabels(t *testing.T) {
	seen := map[uint32]int{}
	for i := range maxFlows {
		l := flowLabel(0x3131, i)
		if l == 0 || l > 0xfffff {
			t.Fatalf("flow %d: label %#x, want 1..0xfffff", i, l)
		}
		if j, dup := seen[l]; dup {
			t.Fatalf("flows %d and %d share label %#x", j, i, l)
		}
		seen[l] = i
	}
	for _, proto := range []int{protoUDP, protoICMP, protoTCP} {
		f := testFlow(proto, true)
		f.label = flowLabel(0x3131, 5)
		p := appendProbe(nil, f, 7)
		for _, ttl := range []int{1, 2, 30} {
			b := append(appendIPv6Header(nil, f, ttl, len(p)), p...)
			h, err := ipv6.ParseHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			src, _ := netip.AddrFromSlice(h.Src)
			dst, _ := netip.AddrFromSlice(h.Dst)
			if h.Version != 6 || h.FlowLabel != int(f.label) || h.HopLimit != ttl || h.NextHeader != f.proto ||
				h.PayloadLen != len(p) || src != f.src || dst != f.dst || h.TrafficClass != 0 {
				t.Errorf("%s ttl %d: header %+v, want label %#x from %s to %s", protoName(f.proto), ttl, h, f.label, f.src, f.dst)
			}
			if !checksumOK(b[ipv6.HeaderLen:], f.src, f.dst, f.proto) {
				t.Errorf("%s ttl %d: the probe behind the header has a bad checksum", protoName(f.proto), ttl)
			}
		}
	}
}
