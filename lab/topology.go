package lab

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Edge variants.
const (
	EdgeOne = "one" // one edge router (edge1) with both links
	EdgeTwo = "two" // edge1 holds the primary link, edge2 the secondary, iBGP between them
)

// link is one Direct Connect link: a veth pair between an edge router and
// an AWS router. The interfaces are named after the VIF's VLAN (vlan101 at
// both ends) but carry no 802.1Q tag: the lab's kernels may lack 8021q.
type link struct {
	Name     string // LinkPrimary or LinkSecondary
	Edge     string // host of the customer end
	EdgeIf   string // interface in the edge namespace
	AWS      string // host of the Amazon end
	AWSIf    string
	VLAN     int
	Customer string
	Amazon   string
	Net      string
	MD5      string
	Transit  string // the AWS router's transit address toward the VPC router
	// The link's IPv6 peering: addresses in its /125, the key of its own
	// BGP session, and the AWS router's IPv6 transit address.
	Customer6 string
	Amazon6   string
	Net6      string
	MD56      string
	Transit6  string
	// ProbeSource is the agent host's address advertised over this link
	// only (Options.ProbeSources), or "".
	ProbeSource string
}

// peering is one BGP session of a link, as the routers' configs name it;
// MapName is the link's (TO-PRIMARY).
type peering struct{ Customer, Amazon, Desc, MD5, MapName string }

// Peerings returns the link's IPv4 and IPv6 peerings, in that order.
func (l link) Peerings() []peering {
	return []peering{{l.Customer, l.Amazon, l.Name, l.MD5, l.MapName()}, {l.Customer6, l.Amazon6, l.Name + "-ipv6", l.MD56, l.MapName()}}
}

// MapName is the link's name in the edge's route-map and prefix-list
// names (TO-PRIMARY, PROBE-SOURCE-SECONDARY).
func (l link) MapName() string { return strings.ToUpper(l.Name) }

// session is a BGP session the lab expects, seen from host toward peer.
type session struct {
	Host string
	Peer string
	// Over names the link the session rides on: cut with it. Empty for
	// sessions that never cross a Direct Connect link.
	Over string
	// Routes says when the host must have received routes on the session:
	// "always", "never", or a link name (routes flow while that link is up).
	Routes string
	BFD    bool
	// IPv6 marks a session of the IPv6 family (IPv6 peer addresses, IPv6
	// unicast only): a fault on one family's session leaves the other's.
	IPv6 bool
}

// veth is a veth pair between two lab hosts.
type veth struct {
	A, AIf, B, BIf string
}

// host is one network namespace of the lab.
type host struct {
	Name   string
	Router bool     // runs FRR (zebra, bgpd, and bfdd unless NoBFD)
	Setup  []string // `ip -batch` lines run inside the namespace once the veths exist
}

// topology is the whole lab for one variant, before any of it exists.
type topology struct {
	Edge         string
	NoBFD        bool
	AgentMD5     bool
	ProbeSources bool
	// TransitGateway: see Options.TransitGateway.
	TransitGateway bool
	Hosts          []host
	Veths          []veth
	Links          []link
	Sessions       []session
}

// edges returns the edge router hosts of the variant.
func (t *topology) edges() []string {
	if t.Edge == EdgeTwo {
		return []string{HostEdge1, HostEdge2}
	}
	return []string{HostEdge1}
}

// link returns the link named name.
func (t *topology) link(name string) (link, bool) {
	for _, l := range t.Links {
		if l.Name == name {
			return l, true
		}
	}
	return link{}, false
}

// routers returns the hosts that run FRR.
func (t *topology) routers() []string {
	var r []string
	for _, h := range t.Hosts {
		if h.Router {
			r = append(r, h.Name)
		}
	}
	return r
}

// newTopology lays out the lab variant o asks for.
func newTopology(o Options) (*topology, error) {
	edge, noBFD := o.Edge, o.NoBFD
	if edge == "" {
		edge = EdgeOne
	}
	if edge != EdgeOne && edge != EdgeTwo {
		return nil, fmt.Errorf("edge variant %q: want %q or %q", edge, EdgeOne, EdgeTwo)
	}
	t := &topology{Edge: edge, NoBFD: noBFD, AgentMD5: o.AgentMD5, ProbeSources: o.ProbeSources, TransitGateway: o.TransitGateway}
	secondaryEdge := HostEdge1
	if edge == EdgeTwo {
		secondaryEdge = HostEdge2
	}
	t.Links = []link{
		{Name: LinkPrimary, Edge: HostEdge1, EdgeIf: "vlan101", AWS: HostAWS1, AWSIf: "vlan101", VLAN: PrimaryVLAN,
			Customer: PrimaryCustomer, Amazon: PrimaryAmazon, Net: PrimaryNet, MD5: PrimaryMD5, Transit: AWS1Transit,
			Customer6: PrimaryCustomer6, Amazon6: PrimaryAmazon6, Net6: PrimaryNet6, MD56: PrimaryMD56, Transit6: AWS1Transit6},
		{Name: LinkSecondary, Edge: secondaryEdge, EdgeIf: "vlan102", AWS: HostAWS2, AWSIf: "vlan102", VLAN: SecondaryVLAN,
			Customer: SecondaryCustomer, Amazon: SecondaryAmazon, Net: SecondaryNet, MD5: SecondaryMD5, Transit: AWS2Transit,
			Customer6: SecondaryCustomer6, Amazon6: SecondaryAmazon6, Net6: SecondaryNet6, MD56: SecondaryMD56, Transit6: AWS2Transit6},
	}
	if o.ProbeSources {
		t.Links[0].ProbeSource, t.Links[1].ProbeSource = PrimaryProbeSource, SecondaryProbeSource
	}

	setup := map[string][]string{}
	add := func(h string, lines ...string) { setup[h] = append(setup[h], lines...) }
	for _, h := range []string{HostAgent, HostEdge1, HostEdge2, HostAWS1, HostAWS2, HostVPC, HostInst1, HostInst2} {
		add(h, "link set lo up")
	}

	// On-prem LAN: a bridge in edge1 with the agent (and edge2) as ports.
	// IPv6 addresses skip duplicate address detection (nodad): they are
	// usable at once, as the IPv4 ones.
	add(HostEdge1, "link add lan type bridge", "link set lan up", "addr add "+Edge1LAN+"/24 dev lan",
		"addr add "+Edge1LAN6+"/64 dev lan nodad")
	t.Veths = append(t.Veths, veth{HostEdge1, "agent", HostAgent, "eth0"})
	add(HostEdge1, "link set agent master lan", "link set agent up")
	add(HostAgent, "link set eth0 up", "addr add "+AgentAddress+"/24 dev eth0", "route add default via "+Edge1LAN,
		"addr add "+AgentAddress6+"/64 dev eth0 nodad", "route add ::/0 via "+Edge1LAN6)
	if edge == EdgeTwo {
		t.Veths = append(t.Veths, veth{HostEdge1, "edge2", HostEdge2, "lan"})
		add(HostEdge1, "link set edge2 master lan", "link set edge2 up")
		add(HostEdge2, "link set lan up", "addr add "+Edge2LAN+"/24 dev lan", "addr add "+Edge2LAN6+"/64 dev lan nodad")
		// Each edge resolves the other's Amazon /30 and /125 (the next hop
		// of the routes it learns over iBGP, next hop unchanged) across the
		// LAN.
		add(HostEdge1, "route add "+SecondaryNet+" via "+Edge2LAN, "route add "+SecondaryNet6+" via "+Edge2LAN6)
		add(HostEdge2, "route add "+PrimaryNet+" via "+Edge1LAN, "route add "+PrimaryNet6+" via "+Edge1LAN6)
	}

	// Probe sources: extra /32s of the agent host, each routed to it by the
	// edge of its link (which advertises it over that link only).
	for _, l := range t.Links {
		if l.ProbeSource != "" {
			add(HostAgent, "addr add "+l.ProbeSource+"/32 dev eth0")
			add(l.Edge, "route add "+l.ProbeSource+"/32 via "+AgentAddress)
		}
	}

	// The Direct Connect links.
	for _, l := range t.Links {
		t.Veths = append(t.Veths, veth{l.Edge, l.EdgeIf, l.AWS, l.AWSIf})
		for _, end := range []struct{ h, ifc, addr, addr6 string }{{l.Edge, l.EdgeIf, l.Customer, l.Customer6}, {l.AWS, l.AWSIf, l.Amazon, l.Amazon6}} {
			add(end.h, "addr add "+end.addr+"/30 dev "+end.ifc, "addr add "+end.addr6+"/125 dev "+end.ifc+" nodad", "link set "+end.ifc+" up")
		}
	}

	// Transit Gateway site: each edge sends traffic from a link's probe
	// source to the VPC over that link (its own link's Amazon address, or
	// the link's edge across the LAN), in table 100+VLAN.
	if o.TransitGateway {
		lanAddr := map[string]string{HostEdge1: Edge1LAN, HostEdge2: Edge2LAN}
		for _, l := range t.Links {
			if l.ProbeSource == "" {
				continue
			}
			table := strconv.Itoa(100 + l.VLAN)
			for _, e := range t.edges() {
				via := l.Amazon
				if e != l.Edge {
					via = lanAddr[l.Edge]
				}
				add(e, "rule add from "+l.ProbeSource+" lookup "+table, "route add "+VPCCIDR+" via "+via+" table "+table)
			}
		}
	}

	// AWS side: each AWS router reaches the VPC router over a transit /30,
	// and the other AWS router's transit /30 (the next hop of the on-prem
	// paths the VPC router reflects from it) through the VPC router.
	for _, x := range []struct{ aws, net, awsAddr, vpcAddr, vpcIf, otherNet, awsAddr6, vpcAddr6, otherNet6 string }{
		{HostAWS1, TransitNet1, AWS1Transit, VPCTransit1, "aws1", TransitNet2, AWS1Transit6, VPCTransit1v6, TransitNet2v6},
		{HostAWS2, TransitNet2, AWS2Transit, VPCTransit2, "aws2", TransitNet1, AWS2Transit6, VPCTransit2v6, TransitNet1v6},
	} {
		t.Veths = append(t.Veths, veth{x.aws, "vpc", HostVPC, x.vpcIf})
		add(x.aws, "link set vpc up", "addr add "+x.awsAddr+"/30 dev vpc", "route add "+VPCCIDR+" via "+x.vpcAddr,
			"route add "+x.otherNet+" via "+x.vpcAddr,
			"addr add "+x.awsAddr6+"/126 dev vpc nodad", "route add "+VPCCIDR6+" via "+x.vpcAddr6,
			"route add "+x.otherNet6+" via "+x.vpcAddr6)
		add(HostVPC, "link set "+x.vpcIf+" up", "addr add "+x.vpcAddr+"/30 dev "+x.vpcIf,
			"addr add "+x.vpcAddr6+"/126 dev "+x.vpcIf+" nodad")
	}
	add(HostVPC, "link add lan type bridge", "link set lan up", "addr add "+VPCRouter+"/24 dev lan",
		"addr add "+VPCRouter6+"/64 dev lan nodad")
	for _, x := range []struct{ h, addr, addr6 string }{{HostInst1, Instance1, Instance1v6}, {HostInst2, Instance2, Instance2v6}} {
		t.Veths = append(t.Veths, veth{HostVPC, x.h, x.h, "eth0"})
		add(HostVPC, "link set "+x.h+" master lan", "link set "+x.h+" up")
		add(x.h, "link set eth0 up", "addr add "+x.addr+"/24 dev eth0", "route add default via "+VPCRouter,
			"addr add "+x.addr6+"/64 dev eth0 nodad", "route add ::/0 via "+VPCRouter6)
	}

	order := []string{HostAgent, HostEdge1}
	if edge == EdgeTwo {
		order = append(order, HostEdge2)
	}
	order = append(order, HostAWS1, HostAWS2, HostVPC, HostInst1, HostInst2)
	for _, h := range order {
		router := h != HostAgent && h != HostInst1 && h != HostInst2
		t.Hosts = append(t.Hosts, host{Name: h, Router: router, Setup: setup[h]})
	}

	// Sessions the lab expects (the agent's sessions are not among them:
	// they come up only when a speaker runs on the agent host).
	bfd := !noBFD
	for _, l := range t.Links {
		t.Sessions = append(t.Sessions,
			session{Host: l.Edge, Peer: l.Amazon, Over: l.Name, Routes: l.Name, BFD: bfd},
			session{Host: l.AWS, Peer: l.Customer, Over: l.Name, Routes: l.Name, BFD: bfd},
			session{Host: l.Edge, Peer: l.Amazon6, Over: l.Name, Routes: l.Name, BFD: bfd, IPv6: true},
			session{Host: l.AWS, Peer: l.Customer6, Over: l.Name, Routes: l.Name, BFD: bfd, IPv6: true})
	}
	t.Sessions = append(t.Sessions,
		session{Host: HostAWS1, Peer: VPCTransit1, Routes: "never"},
		session{Host: HostAWS2, Peer: VPCTransit2, Routes: "never"},
		// An AWS router passes on only its best path: in active/passive
		// aws2's is the one aws1 learned over the primary, so aws2 sends
		// the VPC router nothing while the primary is up. The next-hop
		// checks of WaitConverged cover what the VPC router holds.
		session{Host: HostVPC, Peer: AWS1Transit, Routes: LinkPrimary},
		session{Host: HostVPC, Peer: AWS2Transit, Routes: "never"},
		session{Host: HostAWS1, Peer: VPCTransit1v6, Routes: "never", IPv6: true},
		session{Host: HostAWS2, Peer: VPCTransit2v6, Routes: "never", IPv6: true},
		session{Host: HostVPC, Peer: AWS1Transit6, Routes: LinkPrimary, IPv6: true},
		session{Host: HostVPC, Peer: AWS2Transit6, Routes: "never", IPv6: true})
	if edge == EdgeTwo {
		t.Sessions = append(t.Sessions,
			session{Host: HostEdge1, Peer: Edge2LAN, Routes: "always"},
			session{Host: HostEdge2, Peer: Edge1LAN, Routes: "always"},
			session{Host: HostEdge1, Peer: Edge2LAN6, Routes: "always", IPv6: true},
			session{Host: HostEdge2, Peer: Edge1LAN6, Routes: "always", IPv6: true})
	}
	return t, nil
}

// expectedNextHops6 is expectedNextHops for the IPv6 routes (edges toward
// the VPC's IPv6 CIDR, the Amazon side toward the on-prem IPv6 prefix):
// the same choice, named by the links' IPv6 addresses.
func (t *topology) expectedNextHops6(h, mode string, down map[string]bool) []string {
	v4 := t.expectedNextHops(h, mode, down)
	to6 := map[string]string{}
	for _, l := range t.Links {
		to6[l.Amazon], to6[l.Customer], to6[l.Transit] = l.Amazon6, l.Customer6, l.Transit6
	}
	out := make([]string, 0, len(v4))
	for _, a := range v4 {
		out = append(out, to6[a])
	}
	slices.Sort(out)
	return out
}

// expectedNextHops returns, for a router, the next hops its selected route
// must use (edges: toward the VPC CIDR, among the links' Amazon addresses;
// the VPC router: toward on-prem, among the AWS routers' transit addresses;
// an AWS router: toward on-prem, among the links' customer addresses and
// the AWS routers' transit addresses) given the routing mode and which links
// are down.
func (t *topology) expectedNextHops(h, mode string, down map[string]bool) []string {
	var up []link
	for _, l := range t.Links {
		if !down[l.Name] {
			up = append(up, l)
		}
	}
	pick := func(ls []link, f func(link) string) []string {
		var r []string
		for _, l := range ls {
			r = append(r, f(l))
		}
		slices.Sort(r)
		return r
	}
	active := up
	if mode != ModeActiveActive && len(up) > 1 {
		active = up[:1] // the primary, first in t.Links
	}
	if h == HostVPC {
		return pick(active, func(l link) string { return l.Transit })
	}
	if h == HostAWS1 || h == HostAWS2 {
		// Its own eBGP path when that is among the preferred ones (eBGP
		// wins over an equal iBGP path), else the preferred AWS router's
		// path, reflected by the VPC router.
		for _, l := range up {
			if l.AWS == h && (mode == ModeActiveActive || slices.ContainsFunc(active, func(a link) bool { return a.Name == l.Name })) {
				return []string{l.Customer}
			}
		}
		return pick(active, func(l link) string { return l.Transit })
	}
	if mode == ModeActiveActive {
		// An edge prefers its own eBGP paths over iBGP ones.
		var own []link
		for _, l := range up {
			if l.Edge == h {
				own = append(own, l)
			}
		}
		if len(own) > 0 {
			active = own
		}
	}
	return pick(active, func(l link) string { return l.Amazon })
}
