package trace

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/dxwatch/dxwatch/probes"
)

// dualStackSite is testSite with an IPv6 peering on each link, as a
// dual-stack virtual interface has (the lab's addresses).
func dualStackSite() probes.Site {
	s := testSite(probes.ModeActivePassive)
	for i, amz := range []string{"2001:db8:10::1", "2001:db8:20::1"} {
		a := netip.MustParseAddr(amz)
		s.Links[i].IPv6 = probes.Peering{Family: probes.FamilyIPv6,
			AmazonAddress: netip.PrefixFrom(a, 125), CustomerAddress: netip.PrefixFrom(a.Next(), 125)}
	}
	return s
}

// TestAttributeIPv6 traces an IPv6 target through the engine, each hop
// answering with a real ICMPv6 Time Exceeded (the destination with a port
// unreachable) through the real parser, and names the link crossed by its
// IPv6 peering's Amazon address: the hop after the edge is that address,
// which is no address of the link's first (IPv4) peering.
func TestAttributeIPv6(t *testing.T) {
	site := dualStackSite()
	for _, tc := range []struct{ link, amazon string }{
		{"primary", "2001:db8:10::1"},
		{"secondary", "2001:db8:20::1"},
		{"primary", "2001:db8:10::2"}, // the customer end answering
	} {
		t.Run(tc.amazon, func(t *testing.T) {
			path := []netip.Addr{edge6, netip.MustParseAddr(tc.amazon), vpc6, dst6}
			sim := newSim(t, path...)
			ft := traceOnce(t, sim.engine(fastPacing), testFlow(protoUDP, true), nil)
			if !ft.reached || !slices.Equal(addrs(ft.hops), path) {
				t.Fatalf("trace: reached %v hops %v, want %v", ft.reached, addrs(ft.hops), path)
			}
			if ft.hops[1].Kind != KindTimeExceeded {
				t.Errorf("hop 2: kind %v, want time exceeded", ft.hops[1].Kind)
			}
			links := attribute(site, ft.hops)
			if !slices.Equal(links, []string{tc.link}) || ft.hops[1].Link != tc.link || result(links) != "via "+tc.link {
				t.Errorf("links %v, hop 2 link %q, result %q; want via %s", links, ft.hops[1].Link, result(links), tc.link)
			}
			for i, h := range ft.hops {
				if i != 1 && h.Link != "" {
					t.Errorf("hop %d (%s) named link %q", i+1, h.Address, h.Link)
				}
			}
		})
	}
	// An IPv4 trace still names its link by the IPv4 peering.
	hops := []Hop{{TTL: 1, Address: edge4}, {TTL: 2, Address: netip.MustParseAddr("169.254.20.1")}}
	if links := attribute(site, hops); !slices.Equal(links, []string{"secondary"}) {
		t.Errorf("IPv4 hop 169.254.20.1: links %v, want [secondary]", links)
	}
}
