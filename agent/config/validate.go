package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
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

// Topology returns the site as the probes and the health model read it:
// its addresses parsed into typed values, once, when the configuration was
// validated (so no parse error is left to drop). Each call returns its own
// copy of the lists.
func (c *Config) Topology() probes.Site {
	s := c.topo
	s.Links = slices.Clone(s.Links)
	s.Targets = slices.Clone(s.Targets)
	s.Routing.ExpectedPrefixes = slices.Clone(s.Routing.ExpectedPrefixes)
	return s
}

// buildTopology builds the site from the configuration's strings. Before
// validation (validate needs the site's names for the sections' checks) an
// address that does not parse is left zero: validation reports it.
func (c *Config) buildTopology() probes.Site {
	s := probes.Site{Name: c.Site, Routing: probes.Routing{
		Mode: c.Routing.Mode, Primary: c.primary(), AmazonASN: c.Routing.AmazonASN,
	}}
	for _, l := range c.Links {
		cust, _ := netip.ParsePrefix(l.CustomerAddress)
		amz, _ := netip.ParsePrefix(l.AmazonAddress)
		src, _ := netip.ParseAddr(l.ProbeSource)
		pinned, _ := netip.ParseAddr(l.PinnedTarget)
		link := probes.Link{
			Name: l.Name, Role: l.Role, ConnectionID: l.ConnectionID, VIFID: l.VIFID,
			CustomerAddress: cust, AmazonAddress: amz, VLAN: l.VLAN, ProbeSource: src, PinnedTarget: pinned,
		}
		if v6 := l.IPv6; v6 != nil {
			link.IPv6 = probes.Peering{Family: probes.FamilyIPv6}
			link.IPv6.CustomerAddress, _ = netip.ParsePrefix(v6.CustomerAddress)
			link.IPv6.AmazonAddress, _ = netip.ParsePrefix(v6.AmazonAddress)
			link.IPv6.ProbeSource, _ = netip.ParseAddr(v6.ProbeSource)
			link.IPv6.PinnedTarget, _ = netip.ParseAddr(v6.PinnedTarget)
		}
		s.Links = append(s.Links, link)
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
	topo := c.buildTopology()
	site := sectionSite(topo)
	ps.Merge("ping", c.Ping.Validate(site))
	ps.Merge("trace", c.Trace.Validate(site))
	if c.Has("bgp") {
		ps.Merge("bgp", c.BGP.Validate(site))
	}
	if c.Has("aws") {
		ps.Merge("aws", c.AWS.Validate(site))
	}
	ps.Merge("health", c.Health.Validate(site))
	ps.Merge("report", c.Report.Validate(topo))
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
		cust, custOK := peerAddress(ps, p+".customer_address", l.CustomerAddress, "169.254.10.1/30")
		amz, amzOK := peerAddress(ps, p+".amazon_address", l.AmazonAddress, "169.254.10.1/30")
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
	for i, l := range c.Links {
		if l.IPv6 != nil {
			c.validateIPv6Peering(ps, i)
		}
	}
	c.validateProbeSources(ps)
	c.validatePinnedTargets(ps)
}

// validateIPv6Peering checks links[i].ipv6, the IPv6 peering of a
// dual-stack link: both addresses IPv6, in one /125, and none of them an
// address of another link's peerings. AWS allocates the /125 ("Add a BGP
// peer to a Direct Connect virtual interface",
// https://docs.aws.amazon.com/directconnect/latest/UserGuide/add-peer-to-vif.html).
func (c *Config) validateIPv6Peering(ps *problem.List, i int) {
	l := c.Links[i]
	p := fmt.Sprintf("links[%d].ipv6", i)
	if first, err := netip.ParsePrefix(l.AmazonAddress); err == nil && first.Addr().Is6() {
		ps.Addf(p, "links[%d]'s peering in customer_address and amazon_address is IPv6 already: a virtual interface has one peering per family; put its IPv4 peering there and the IPv6 one under ipv6, or remove ipv6", i)
		return
	}
	ipv6 := func(key, s, example string) (netip.Prefix, bool) {
		pfx, ok := peerAddress(ps, p+"."+key, s, example)
		if ok && pfx.Addr().Is4() {
			ps.Addf(p+"."+key, "%s is an IPv4 address: ipv6 holds the link's IPv6 peering (the /125 Amazon allocates); the IPv4 peering is links[%d].%s", pfx, i, key)
			return pfx, false
		}
		if ok {
			if path, dup := c.peerAddressOf(pfx.Addr(), i); dup {
				ps.Addf(p+"."+key, "%s is already %s: each link has its own peer addresses", pfx.Addr(), path)
			}
		}
		return pfx, ok
	}
	cust, custOK := ipv6("customer_address", l.IPv6.CustomerAddress, "2001:db8:10::2/125")
	amz, amzOK := ipv6("amazon_address", l.IPv6.AmazonAddress, "2001:db8:10::1/125")
	if custOK && amzOK {
		checkPeerPair(ps, p, cust, amz)
	}
}

// peerAddressOf returns the path of a peer address (customer or Amazon, of
// either family) of another link than links[i] that equals a. A pair of
// links is reported once: by the later one's ipv6 block, or by the ipv6
// block of the earlier one when the later one's own peering has the
// address (whose check knows only the Amazon addresses of the others).
func (c *Config) peerAddressOf(a netip.Addr, i int) (string, bool) {
	for j, o := range c.Links {
		if j == i {
			continue
		}
		keys := o.peeringKeys(j)
		if j > i {
			keys = keys[:1]
		}
		for _, k := range keys {
			for _, kv := range [][2]string{{"customer_address", k.cust}, {"amazon_address", k.amz}} {
				if pfx, err := netip.ParsePrefix(kv[1]); err == nil && pfx.Addr() == a {
					return k.path + "." + kv[0], true
				}
			}
		}
	}
	return "", false
}

// peeringKeys is one peering's keys as written in a link: the link's own
// (path "links[i]") or its ipv6 block (path "links[i].ipv6").
type peeringKeys struct {
	path, cust, amz, src, pinned string
}

// peeringKeys returns the link's peerings as written, the link's own first.
func (l LinkConfig) peeringKeys(i int) []peeringKeys {
	p := fmt.Sprintf("links[%d]", i)
	out := []peeringKeys{{p, l.CustomerAddress, l.AmazonAddress, l.ProbeSource, l.PinnedTarget}}
	if v6 := l.IPv6; v6 != nil {
		out = append(out, peeringKeys{p + ".ipv6", v6.CustomerAddress, v6.AmazonAddress, v6.ProbeSource, v6.PinnedTarget})
	}
	return out
}

// validateProbeSources checks links[].probe_source and
// links[].ipv6.probe_source: an address of the agent's host, one per
// peering and unique across links and families, of the family of its
// peering's Amazon address, and outside every link's peering subnets (the
// edge advertises it to AWS as a /32 or /128 over its link).
func (c *Config) validateProbeSources(ps *problem.List) {
	seen := map[netip.Addr]string{}
	for i, l := range c.Links {
		for _, k := range l.peeringKeys(i) {
			c.validateProbeSource(ps, k, seen)
		}
	}
}

func (c *Config) validateProbeSource(ps *problem.List, k peeringKeys, seen map[netip.Addr]string) {
	if k.src == "" {
		return
	}
	p := k.path + ".probe_source"
	a, bad := hostAddress(k.src)
	switch bad {
	case badPrefix:
		pfx, _ := netip.ParsePrefix(k.src)
		ps.Addf(p, "%s has a prefix length: give the address alone, e.g. %s (the edge advertises it as a host route)", k.src, pfx.Addr())
		return
	case badSyntax:
		ps.Addf(p, "not an IP address: %q, want an address of the agent's host, e.g. 198.51.100.1", k.src)
		return
	case badNotUnicast:
		ps.Addf(p, "%s is not a unicast address the edge can advertise: use an address of the agent's host", k.src)
		return
	}
	if other, dup := seen[a]; dup {
		ps.Addf(p, "%s is already the probe_source of %s: each link needs its own, advertised over that link only", a, other)
	}
	seen[a] = k.path
	if amz, err := netip.ParsePrefix(k.amz); err == nil && amz.Addr().Is4() != a.Is4() {
		ps.Addf(p, "%s and amazon_address %s are of different address families: the echoes to the Amazon address are sent from it", a, amz.Addr())
	}
	if j, pfx, ok := c.peeringSubnetOf(a); ok {
		ps.Addf(p, "%s is inside links[%d]'s peering subnet %s: use an address of the agent's host that the edge advertises as a host route", a, j, pfx)
	}
}

// What is wrong with an address written for one host (hostAddress).
const (
	badNone       = iota
	badSyntax     // not an address
	badPrefix     // an address with a prefix length
	badNotUnicast // a zone, unspecified, loopback or multicast
)

// hostAddress parses an address written for one host (a probe source, a
// pinned target): the one rule both keys are checked by, so that a check
// reading one key about the other (the pinned target's family against its
// probe source's) agrees with that key's own check.
func hostAddress(s string) (netip.Addr, int) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		if _, perr := netip.ParsePrefix(s); perr == nil {
			return netip.Addr{}, badPrefix
		}
		return netip.Addr{}, badSyntax
	case a.Zone() != "" || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast():
		return a, badNotUnicast
	}
	return a, badNone
}

// peeringSubnetOf returns the first link whose peering subnet holds a.
func (c *Config) peeringSubnetOf(a netip.Addr) (int, netip.Prefix, bool) {
	for j, o := range c.Links {
		for _, k := range o.peeringKeys(j) {
			for _, s := range []string{k.cust, k.amz} {
				if pfx, err := netip.ParsePrefix(s); err == nil && pfx.Masked().Contains(a) {
					return j, pfx.Masked(), true
				}
			}
		}
	}
	return 0, netip.Prefix{}, false
}

// peerAddress parses a BGP peer address that must be in CIDR form.
func peerAddress(ps *problem.List, path, s, example string) (netip.Prefix, bool) {
	if s == "" {
		ps.Addf(path, "missing: the peer address in CIDR form, e.g. %s", example)
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
			ps.Addf(path, "not an IP address in CIDR form: %q, want e.g. %s", s, example)
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
		subnet := "/30 or /31"
		if cust.Addr().Is6() {
			subnet = "/125"
		}
		ps.Addf(p+".amazon_address", "%s and customer_address %s are not in the same subnet: the two BGP peer addresses share one %s", amz, cust, subnet)
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
	} else if cust.Bits() != 125 {
		// https://docs.aws.amazon.com/directconnect/latest/UserGuide/add-peer-to-vif.html
		ps.Addf(p+".customer_address", "/%d is not a peering subnet: Amazon allocates a /125 for IPv6 peer addresses (the VIF's IPv6 peering in the console)", cust.Bits())
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
