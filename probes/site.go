package probes

import "net/netip"

// Link roles.
const (
	RolePrimary   = "primary"
	RoleSecondary = "secondary"
)

// Routing modes.
const (
	ModeActivePassive = "active_passive"
	ModeActiveActive  = "active_active"
)

// Address families of a peering, as the family label and the config's keys
// name them.
const (
	FamilyIPv4 = "ipv4"
	FamilyIPv6 = "ipv6"
)

// FamilyName is a family as an engineer writes it: "IPv4", "IPv6" (any
// other value as it is).
func FamilyName(family string) string {
	switch family {
	case FamilyIPv4:
		return "IPv4"
	case FamilyIPv6:
		return "IPv6"
	}
	return family
}

// Peering is one BGP peering of a link's virtual interface: one address
// family, with its own session, addresses and monitored address. A VIF has
// at most one per family.
type Peering struct {
	Family          string // FamilyIPv4 or FamilyIPv6
	CustomerAddress netip.Prefix
	AmazonAddress   netip.Prefix
	// ProbeSource and PinnedTarget, when valid, are as Link's, for the
	// pinned echoes of this family.
	ProbeSource  netip.Addr
	PinnedTarget netip.Addr
}

// Link is one Direct Connect link as the configuration describes it: a
// connection, a virtual interface on it, and the BGP peer addresses of the
// two ends. A link is identified in evidence by its addresses: a route whose
// next hop is AmazonAddress, a traceroute hop equal to AmazonAddress or
// CustomerAddress, or a BMP peer equal to AmazonAddress.
type Link struct {
	Name            string
	Role            string // RolePrimary or RoleSecondary
	ConnectionID    string // dxcon-… or a hosted connection's ID
	VIFID           string // dxvif-…
	CustomerAddress netip.Prefix
	AmazonAddress   netip.Prefix
	VLAN            int
	// ProbeSource, when valid, is an address on the agent's host that the
	// edge router advertises as a /32 (/128) over this link only: pinned
	// echoes to this link's Amazon peer are sent from it so that their
	// replies return over this link.
	ProbeSource netip.Addr
	// PinnedTarget, when valid, is where the link's pinned echoes go in
	// place of AmazonAddress, from ProbeSource: on a Transit Gateway site
	// the peer /30 of a transit VIF is not reachable from on-prem, so a
	// VPC address is probed instead, and the edge routes traffic from
	// ProbeSource over this link (policy routing by source) so that the
	// echoes cross it both ways.
	PinnedTarget netip.Addr
	// IPv6 is the IPv6 peering of a dual-stack link, beside the IPv4 one
	// above; its Family is empty on a single-family link (an IPv6-only link
	// has its peering above). The fields above are the link's first
	// peering, which every probe reads today.
	IPv6 Peering
}

// Peerings returns the link's peerings: the one of CustomerAddress and
// AmazonAddress first, then the IPv6 one of a dual-stack link.
func (l Link) Peerings() []Peering {
	first := Peering{Family: FamilyIPv4, CustomerAddress: l.CustomerAddress, AmazonAddress: l.AmazonAddress,
		ProbeSource: l.ProbeSource, PinnedTarget: l.PinnedTarget}
	if l.AmazonAddress.Addr().Is6() {
		first.Family = FamilyIPv6
	}
	if l.IPv6.Family == "" {
		return []Peering{first}
	}
	return []Peering{first, l.IPv6}
}

// OfPeering returns the link as seen by one of its peerings: p's
// addresses, probe source and pinned target in the link's own fields,
// and no second peering. Whatever reads a link's addresses reads p's.
func (l Link) OfPeering(p Peering) Link {
	l.CustomerAddress, l.AmazonAddress = p.CustomerAddress, p.AmazonAddress
	l.ProbeSource, l.PinnedTarget = p.ProbeSource, p.PinnedTarget
	l.IPv6 = Peering{}
	return l
}

// Peering returns the link's peering of family (FamilyIPv4 or FamilyIPv6).
func (l Link) Peering(family string) (Peering, bool) {
	for _, p := range l.Peerings() {
		if p.Family == family {
			return p, true
		}
	}
	return Peering{}, false
}

// Target is a VPC instance that dxwatch probes end to end.
type Target struct {
	Name  string
	Host  string // an IP address or a DNS name, resolved by the probe
	VPCID string
}

// Routing is the routing intent the engineer configured.
type Routing struct {
	Mode             string // ModeActivePassive or ModeActiveActive
	Primary          string // link name of the primary in active/passive mode
	ExpectedPrefixes []netip.Prefix
	AmazonASN        uint32
}

// Site is the validated topology shared by all probes.
type Site struct {
	Name    string
	Links   []Link
	Targets []Target
	Routing Routing
}

// LinkByAddress returns the link whose Amazon or customer peer address is a.
func (s Site) LinkByAddress(a netip.Addr) (Link, bool) {
	a = a.Unmap()
	for _, l := range s.Links {
		if l.AmazonAddress.Addr() == a || l.CustomerAddress.Addr() == a {
			return l, true
		}
	}
	return Link{}, false
}

// LinkByAmazonAddress returns the link whose Amazon peer address is a: the
// next hop of routes learned over that link.
func (s Site) LinkByAmazonAddress(a netip.Addr) (Link, bool) {
	a = a.Unmap()
	for _, l := range s.Links {
		if l.AmazonAddress.Addr() == a {
			return l, true
		}
	}
	return Link{}, false
}

// PeeringByAddress returns the link and its peering, of either family,
// whose Amazon or customer peer address is a.
func (s Site) PeeringByAddress(a netip.Addr) (Link, Peering, bool) {
	a = a.Unmap()
	for _, l := range s.Links {
		for _, p := range l.Peerings() {
			if p.AmazonAddress.Addr() == a || p.CustomerAddress.Addr() == a {
				return l, p, true
			}
		}
	}
	return Link{}, Peering{}, false
}

// Link returns the link named name.
func (s Site) Link(name string) (Link, bool) {
	for _, l := range s.Links {
		if l.Name == name {
			return l, true
		}
	}
	return Link{}, false
}
