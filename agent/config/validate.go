package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

var (
	connRE  = regexp.MustCompile(`^(dxcon|dxlag)-[0-9a-z]{8,17}$`)
	vifRE   = regexp.MustCompile(`^dxvif-[0-9a-z]{8,17}$`)
	vpcRE   = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	hostRE  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)
	maxLink = 8
)

// Topology returns the validated topology the probes share. It is only valid on
// a Config returned by Load or Parse.
func (c *Config) Topology() probes.Site {
	s := probes.Site{Name: c.Site, Routing: probes.Routing{
		Mode: c.Routing.Mode, Primary: c.primary(), AmazonASN: c.Routing.AmazonASN,
	}}
	for _, l := range c.Links {
		cust, _ := netip.ParsePrefix(l.CustomerAddress)
		amz, _ := netip.ParsePrefix(l.AmazonAddress)
		src, _ := netip.ParseAddr(l.ProbeSource)
		pinned, _ := netip.ParseAddr(l.PinnedTarget)
		s.Links = append(s.Links, probes.Link{
			Name: l.Name, Role: l.Role, ConnectionID: l.ConnectionID, VIFID: l.VIFID,
			CustomerAddress: cust, AmazonAddress: amz, VLAN: l.VLAN, ProbeSource: src, PinnedTarget: pinned,
		})
	}
	for _, t := range c.Targets {
		s.Targets = append(s.Targets, probes.Target{Name: t.Name, Host: t.Address, VPCID: t.VPCID})
	}
	for _, p := range c.Routing.ExpectedPrefixes {
		pfx, _ := netip.ParsePrefix(p)
		s.Routing.ExpectedPrefixes = append(s.Routing.ExpectedPrefixes, pfx.Masked())
	}
	return s
}

// primary is the link the routing intent prefers: routing.primary, or the
// link whose role is primary.
func (c *Config) primary() string {
	if c.Routing.Primary != "" {
		return c.Routing.Primary
	}
	for _, l := range c.Links {
		if l.Role == probes.RolePrimary {
			return l.Name
		}
	}
	return ""
}

func (c *Config) validate() problem.List {
	var ps problem.List
	switch {
	case c.Site == "":
		ps.Addf("site", "missing: name the site, e.g. site: dc1 (it labels every alert)")
	case !problem.ValidName(c.Site):
		ps.Addf("site", "%q is not a valid name: %s", c.Site, problem.NameRule)
	}
	c.validateLinks(&ps)
	c.validateTargets(&ps)
	c.validateRouting(&ps)
	site := sectionSite(c.Topology())
	ps.Merge("ping", c.Ping.Validate(site))
	ps.Merge("trace", c.Trace.Validate(site))
	if c.Has("bgp") {
		ps.Merge("bgp", c.BGP.Validate(site))
	}
	if c.Has("aws") {
		ps.Merge("aws", c.AWS.Validate(site))
	}
	ps.Merge("health", c.Health.Validate(site))
	ps.Merge("report", c.Report.Validate(c.Topology()))
	return ps
}

func (c *Config) validateLinks(ps *problem.List) {
	if len(c.Links) == 0 {
		ps.Addf("links", "missing: describe at least one Direct Connect link (two for redundancy)")
		return
	}
	if len(c.Links) > maxLink {
		ps.Addf("links", "%d links: at most %d are supported per agent", len(c.Links), maxLink)
	}
	names := problem.NewNames("links", "link", "primary")
	amazon := map[netip.Addr]int{}
	vlans := map[string]int{} // connection/vlan -> link index
	for i, l := range c.Links {
		p := fmt.Sprintf("links[%d]", i)
		names.Check(ps, p+".name", i, l.Name)
		if l.Role != probes.RolePrimary && l.Role != probes.RoleSecondary {
			ps.Addf(p+".role", "%q is not a role: want primary or secondary", l.Role)
		}
		if l.ConnectionID != "" && !connRE.MatchString(l.ConnectionID) {
			ps.Addf(p+".connection_id", "%q is not a Direct Connect connection ID: want dxcon-… or dxlag-…", l.ConnectionID)
		}
		if l.VIFID != "" && !vifRE.MatchString(l.VIFID) {
			ps.Addf(p+".vif_id", "%q is not a virtual interface ID: want dxvif-…", l.VIFID)
		}
		if l.VLAN < 1 || l.VLAN > 4094 {
			ps.Addf(p+".vlan", "%d is out of range: a VLAN is 1 to 4094", l.VLAN)
		} else if l.ConnectionID != "" {
			key := fmt.Sprintf("%s/%d", l.ConnectionID, l.VLAN)
			if j, dup := vlans[key]; dup {
				ps.Addf(p+".vlan", "VLAN %d is already used by links[%d] on connection %s: a VLAN is unique per connection", l.VLAN, j, l.ConnectionID)
			}
			vlans[key] = i
		}
		cust, custOK := peerAddress(ps, p+".customer_address", l.CustomerAddress)
		amz, amzOK := peerAddress(ps, p+".amazon_address", l.AmazonAddress)
		if custOK && amzOK {
			checkPeerPair(ps, p, cust, amz)
		}
		if amzOK {
			if j, dup := amazon[amz.Addr()]; dup {
				ps.Addf(p+".amazon_address", "%s is already the Amazon address of links[%d]: each link has its own peer addresses", amz.Addr(), j)
			}
			amazon[amz.Addr()] = i
		}
	}
	c.validateProbeSources(ps)
	c.validatePinnedTargets(ps)
}

// validateProbeSources checks links[].probe_source: an address of the
// agent's host, one per link, of the family of the link's Amazon address,
// and outside every link's peering subnet (the edge advertises it to AWS as
// a /32 or /128 over its link).
func (c *Config) validateProbeSources(ps *problem.List) {
	seen := map[netip.Addr]int{}
	for i, l := range c.Links {
		if l.ProbeSource == "" {
			continue
		}
		p := fmt.Sprintf("links[%d].probe_source", i)
		a, err := netip.ParseAddr(l.ProbeSource)
		if err != nil {
			if pfx, perr := netip.ParsePrefix(l.ProbeSource); perr == nil {
				ps.Addf(p, "%s has a prefix length: give the address alone, e.g. %s (the edge advertises it as a host route)", l.ProbeSource, pfx.Addr())
			} else {
				ps.Addf(p, "not an IP address: %q, want an address of the agent's host, e.g. 198.51.100.1", l.ProbeSource)
			}
			continue
		}
		if a.Zone() != "" || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() {
			ps.Addf(p, "%s is not a unicast address the edge can advertise: use an address of the agent's host", l.ProbeSource)
			continue
		}
		if j, dup := seen[a]; dup {
			ps.Addf(p, "%s is already the probe_source of links[%d]: each link needs its own, advertised over that link only", a, j)
		}
		seen[a] = i
		if amz, err := netip.ParsePrefix(l.AmazonAddress); err == nil && amz.Addr().Is4() != a.Is4() {
			ps.Addf(p, "%s and amazon_address %s are of different address families: the echoes to the Amazon address are sent from it", a, amz.Addr())
		}
		if j, pfx, ok := c.peeringSubnetOf(a); ok {
			ps.Addf(p, "%s is inside links[%d]'s peering subnet %s: use an address of the agent's host that the edge advertises as a host route", a, j, pfx)
		}
	}
}

// peeringSubnetOf returns the first link whose peering subnet holds a.
func (c *Config) peeringSubnetOf(a netip.Addr) (int, netip.Prefix, bool) {
	for j, o := range c.Links {
		for _, s := range []string{o.CustomerAddress, o.AmazonAddress} {
			if pfx, err := netip.ParsePrefix(s); err == nil && pfx.Masked().Contains(a) {
				return j, pfx.Masked(), true
			}
		}
	}
	return 0, netip.Prefix{}, false
}

// peerAddress parses a BGP peer address that must be in CIDR form.
func peerAddress(ps *problem.List, path, s string) (netip.Prefix, bool) {
	if s == "" {
		ps.Addf(path, "missing: the peer address in CIDR form, e.g. 169.254.10.1/30")
		return netip.Prefix{}, false
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			bits := 30
			if a.Is6() {
				bits = 125
			}
			ps.Addf(path, "%s is not in CIDR form, want e.g. %s/%d", s, s, bits)
		} else {
			ps.Addf(path, "not an IP address in CIDR form: %q, want e.g. 169.254.10.1/30", s)
		}
		return netip.Prefix{}, false
	}
	return pfx, true
}

// checkPeerPair applies the rules AWS applies to a VIF's two peer addresses.
func checkPeerPair(ps *problem.List, p string, cust, amz netip.Prefix) {
	if cust.Addr().Is4() != amz.Addr().Is4() {
		ps.Addf(p+".amazon_address", "%s and customer_address %s are of different address families", amz, cust)
		return
	}
	if cust.Addr() == amz.Addr() {
		ps.Addf(p+".amazon_address", "%s is the same address as customer_address", amz.Addr())
		return
	}
	if cust.Bits() != amz.Bits() || cust.Masked() != amz.Masked() {
		ps.Addf(p+".amazon_address", "%s and customer_address %s are not in the same subnet: the two BGP peer addresses share one /30 or /31", amz, cust)
		return
	}
	if cust.Addr().Is4() {
		if cust.Bits() < 29 || cust.Bits() > 31 {
			ps.Addf(p+".customer_address", "/%d is not a peering subnet: AWS uses /30 or /31 (or /29) for IPv4 peer addresses", cust.Bits())
			return
		}
		if cust.Bits() <= 30 {
			for _, a := range []netip.Prefix{cust, amz} {
				if a.Addr() == a.Masked().Addr() || isBroadcast(a) {
					ps.Addf(p+".customer_address", "%s is the network or broadcast address of its /%d", a.Addr(), a.Bits())
				}
			}
		}
	} else if cust.Bits() < 64 || cust.Bits() > 127 {
		ps.Addf(p+".customer_address", "/%d is not a peering subnet: AWS uses /125 for IPv6 peer addresses", cust.Bits())
	}
}

func isBroadcast(p netip.Prefix) bool {
	b := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	return (uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))&host == host
}

func (c *Config) validateTargets(ps *problem.List) {
	names := problem.NewNames("targets", "target", "app1")
	for i, t := range c.Targets {
		p := fmt.Sprintf("targets[%d]", i)
		names.Check(ps, p+".name", i, t.Name)
		switch {
		case t.Address == "":
			ps.Addf(p+".address", "missing: the VPC instance's private IP address or DNS name")
		case net.ParseIP(t.Address) == nil && !hostRE.MatchString(t.Address):
			ps.Addf(p+".address", "not an IP address or DNS name: %q", t.Address)
		}
		if t.VPCID != "" && !vpcRE.MatchString(t.VPCID) {
			ps.Addf(p+".vpc_id", "%q is not a VPC ID: want vpc-…", t.VPCID)
		}
	}
}

func (c *Config) validateRouting(ps *problem.List) {
	r := c.Routing
	switch r.Mode {
	case probes.ModeActivePassive:
		var primaries []string
		for _, l := range c.Links {
			if l.Role == probes.RolePrimary {
				primaries = append(primaries, l.Name)
			}
		}
		if len(c.Links) > 0 && len(primaries) != 1 {
			ps.Addf("links", "%d links have role primary (%s): active_passive needs exactly one", len(primaries), strings.Join(primaries, ", "))
		}
		if r.Primary != "" {
			if l, ok := c.link(r.Primary); !ok {
				ps.Addf("routing.primary", "%q is not the name of a link", r.Primary)
			} else if l.Role != probes.RolePrimary {
				ps.Addf("routing.primary", "link %q has role %s: the preferred link must have role primary", r.Primary, l.Role)
			}
		}
	case probes.ModeActiveActive:
		if r.Primary != "" {
			ps.Addf("routing.primary", "set with mode active_active: both links carry traffic, remove primary or use mode active_passive")
		}
	default:
		ps.Addf("routing.mode", "%q is not a mode: want active_passive or active_active", r.Mode)
	}
	seen := map[netip.Prefix]int{}
	for i, s := range r.ExpectedPrefixes {
		p := fmt.Sprintf("routing.expected_prefixes[%d]", i)
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			ps.Addf(p, "not a prefix in CIDR form: %q, want e.g. 10.0.0.0/16", s)
			continue
		}
		if pfx != pfx.Masked() {
			ps.Addf(p, "%s has host bits set: did you mean %s?", pfx, pfx.Masked())
			continue
		}
		if j, dup := seen[pfx]; dup {
			ps.Addf(p, "%s is listed twice (also at [%d])", pfx, j)
		}
		seen[pfx] = i
	}
	if !privateASN(r.AmazonASN) {
		ps.Addf("routing.amazon_asn", "%d is not a private ASN: the Amazon side of a Direct Connect or virtual private gateway uses 64512-65534 or 4200000000-4294967294 (default 64512)", r.AmazonASN)
	}
}

// privateASN reports whether asn is in the private ranges AWS accepts for
// the Amazon side of a gateway (RFC 6996).
func privateASN(asn uint32) bool {
	return (asn >= 64512 && asn <= 65534) || (asn >= 4200000000 && asn <= 4294967294)
}

func (c *Config) link(name string) (LinkConfig, bool) {
	for _, l := range c.Links {
		if l.Name == name {
			return l, true
		}
	}
	return LinkConfig{}, false
}

// sectionSite is the site the probe sections are validated against: links
// and targets whose names repeat an earlier one are left out, as they are
// reported already, so that a duplicate is not reported again by a section.
func sectionSite(s probes.Site) probes.Site {
	seen := map[string]bool{}
	links := s.Links[:0:0]
	for _, l := range s.Links {
		if !seen[l.Name] {
			links = append(links, l)
		}
		seen[l.Name] = true
	}
	seenT := map[string]bool{}
	targets := s.Targets[:0:0]
	for _, t := range s.Targets {
		if !seenT[t.Name] {
			targets = append(targets, t)
		}
		seenT[t.Name] = true
	}
	s.Links, s.Targets = links, targets
	return s
}
