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

// Link returns the link named name.
func (s Site) Link(name string) (Link, bool) {
	for _, l := range s.Links {
		if l.Name == name {
			return l, true
		}
	}
	return Link{}, false
}
