package aws

import (
	"fmt"
	"net/netip"
	"strings"

	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"

	"github.com/dxwatch/dxwatch/probes"
)

// A virtual interface has a BGP peering per address family, each its own
// session with its own addresses, key, bgpPeerState and bgpStatus, listed
// in bgpPeers[] (API reference, VirtualInterface and BGPPeer:
// https://docs.aws.amazon.com/directconnect/latest/APIReference/API_VirtualInterface.html,
// https://docs.aws.amazon.com/directconnect/latest/APIReference/API_BGPPeer.html);
// the VIF's own addressFamily, amazonAddress and customerAddress are those
// of the peering it was created with. "A virtual interface can support a
// single IPv4 BGP peering session and a single IPv6 BGP peering session",
// and for IPv6 "Amazon automatically allocates you a /125 IPv6 CIDR"
// (Direct Connect User Guide, "Add a BGP peer",
// https://docs.aws.amazon.com/directconnect/latest/UserGuide/add-peer-to-vif.html);
// CreateBGPPeer takes an IPv6 peer without addresses (API reference,
// CreateBGPPeer: "you cannot specify custom IPv6 addresses").
//
// On a dual-stack link (links[].ipv6) each peering is judged on its own
// lines: the first peering's keep the names of a single-family link's
// (aws.vif.<link>.bgp, .routes), the IPv6 peering's add ".ipv6"
// (aws.vif.<link>.config.ipv6, .bgp.ipv6, .routes.ipv6), and their results
// carry the peering's family, so that the health model counts them against
// that peering only.

// peering is one BGP peering of a link as its checks judge it.
type peering struct {
	family string // probes.FamilyIPv4 or probes.FamilyIPv6
	// suffix is appended to the names of the peering's lines: "" for the
	// link's first peering, ".ipv6" for a dual-stack link's IPv6 one.
	suffix string
	// obsFamily is the Family of the peering's results: the family on a
	// dual-stack link, "" on a single-family link (its one peering is the
	// whole link).
	obsFamily string
	want      probes.Peering
	// where names the configuration of the peering: "links[0]" or
	// "links[0].ipv6".
	where string
	// all says every peer of the VIF is judged on this line, whatever its
	// family (a single-family link: as before dual-stack links existed).
	all bool
}

// peeringsOf returns the link's peerings, the first one first.
func peeringsOf(lv linkView) []peering {
	ps := lv.link.Peerings()
	where := fmt.Sprintf("links[%d]", lv.index)
	if len(ps) == 1 {
		return []peering{{family: ps[0].Family, want: ps[0], where: where, all: true}}
	}
	out := []peering{{family: ps[0].Family, obsFamily: ps[0].Family, want: ps[0], where: where}}
	for _, p := range ps[1:] {
		out = append(out, peering{family: p.Family, suffix: "." + p.Family, obsFamily: p.Family, want: p, where: where + "." + p.Family})
	}
	return out
}

// word is the family as a reason names it on a dual-stack link's lines
// ("IPv6 "), "" on a single-family link's.
func (pg peering) word() string {
	if pg.all {
		return ""
	}
	return familyName(pg.family) + " "
}

// peerFamily is the family of an AWS BGP peer: its addressFamily, else its
// Amazon address's.
func peerFamily(p dxtypes.BGPPeer) string {
	switch p.AddressFamily {
	case dxtypes.AddressFamilyIPv4:
		return probes.FamilyIPv4
	case dxtypes.AddressFamilyIPv6:
		return probes.FamilyIPv6
	}
	if a, err := netip.ParsePrefix(deref(p.AmazonAddress)); err == nil && a.Addr().Is6() {
		return probes.FamilyIPv6
	}
	return probes.FamilyIPv4
}

// peers returns the VIF's BGP peers this peering's line judges.
func (pg peering) peers(v *vifData) []dxtypes.BGPPeer {
	if pg.all {
		return v.BgpPeers
	}
	var out []dxtypes.BGPPeer
	for _, p := range v.BgpPeers {
		if peerFamily(p) == pg.family {
			out = append(out, p)
		}
	}
	return out
}

// fromPeer says the peering's addresses are its BGP peer's rather than
// the VIF's own: a further peering's always, and the first peering's of a
// dual-stack link whose VIF was created with the other family (its
// top-level addressFamily is not the peering's).
func (pg peering) fromPeer(v *vifData) bool {
	if pg.suffix != "" {
		return true
	}
	return !pg.all && v.AddressFamily != "" && string(v.AddressFamily) != pg.family && len(pg.peers(v)) > 0
}

// addresses are the peering's Amazon and customer addresses (with their
// prefix length) as AWS has them: the VIF's own for the first peering, as
// a rule, else its BGP peer's; the configured ones when AWS has no peer of
// the family.
func (pg peering) addresses(v *vifData) (amazon, customer string) {
	switch ps := pg.peers(v); {
	case !pg.fromPeer(v):
		return deref(v.AmazonAddress), deref(v.CustomerAddress)
	case len(ps) > 0:
		return deref(ps[0].AmazonAddress), deref(ps[0].CustomerAddress)
	}
	return pg.want.AmazonAddress.String(), pg.want.CustomerAddress.String()
}

// amazonAddr is the peering's Amazon address without its prefix length:
// the edge router's neighbor.
func (pg peering) amazonAddr(v *vifData) string {
	a, _ := pg.addresses(v)
	return stripLen(a)
}

// only keeps the CIDRs of the peering's family.
func (pg peering) only(cidrs []string) []string {
	if pg.all {
		return cidrs
	}
	var out []string
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && (p.Addr().Is6() == (pg.family == probes.FamilyIPv6)) {
			out = append(out, c)
		}
	}
	return out
}

func (pg peering) onlyPrefixes(ps []netip.Prefix) []netip.Prefix {
	if pg.all {
		return ps
	}
	var out []netip.Prefix
	for _, p := range ps {
		if p.Addr().Is6() == (pg.family == probes.FamilyIPv6) {
			out = append(out, p)
		}
	}
	return out
}

// addPeering adds a check about one peering: its result carries the
// peering's family (none on a single-family link).
func (c *checker) addPeering(pg peering, name string, order int, link string, st probes.CheckStatus, fix, format string, args ...any) {
	c.add(name, order, link, st, fix, format, args...)
	c.out[len(c.out)-1].Family = pg.obsFamily
}

// peeringConfig checks a dual-stack link's further peering (IPv6) against
// the configuration: AWS has a peer of the family, with the configured
// addresses. The first peering is the VIF's own addresses (aws.vif.<link>.config).
func (c *checker) peeringConfig(lv linkView, pg peering) {
	v, link := lv.vif, lv.link.Name
	id := deref(v.VirtualInterfaceId)
	region := orDefault(deref(v.Region), v.key.region)
	name := "aws.vif." + link + ".config" + pg.suffix
	fam := familyName(pg.family)
	ps := pg.peers(v)
	if len(ps) == 0 {
		asn := int64(v.Asn)
		if v.AsnLong != nil && *v.AsnLong != 0 {
			asn = *v.AsnLong
		}
		c.addPeering(pg, name, probes.OrderVIF+1, link, probes.Fail,
			fmt.Sprintf("add the %s peering to the VIF (Amazon allocates its /125): %s, then configure the edge router's neighbor on the addresses it gets and set %s to them; or remove %s if the link has no %s peering",
				fam, cli(region, "directconnect create-bgp-peer --virtual-interface-id", id, fmt.Sprintf("--new-bgp-peer addressFamily=%s,asn=%d", pg.family, asn)), pg.where, pg.where, fam),
			"VIF %s has no %s BGP peer; %s names one (%s -> Amazon %s)", id, fam, pg.where, pg.want.CustomerAddress, pg.want.AmazonAddress)
		return
	}
	var bad, seen []string
	for _, p := range ps {
		seen = append(seen, fmt.Sprintf("%s %s -> Amazon %s", peerLabel(p), deref(p.CustomerAddress), deref(p.AmazonAddress)))
	}
	p := ps[0]
	if pg.want.AmazonAddress.IsValid() && !prefixEqual(deref(p.AmazonAddress), pg.want.AmazonAddress) {
		bad = append(bad, fmt.Sprintf("Amazon address is %s, %s says %s", orDefault(deref(p.AmazonAddress), "none"), pg.where, pg.want.AmazonAddress))
	}
	if pg.want.CustomerAddress.IsValid() && !prefixEqual(deref(p.CustomerAddress), pg.want.CustomerAddress) {
		bad = append(bad, fmt.Sprintf("customer address is %s, %s says %s", orDefault(deref(p.CustomerAddress), "none"), pg.where, pg.want.CustomerAddress))
	}
	if len(bad) > 0 {
		c.addPeering(pg, name, probes.OrderVIF+1, link, probes.Fail,
			fmt.Sprintf("a BGP peer's addresses cannot be changed: correct %s (and the edge router) to match AWS, or delete the %s peer (%s) and create it again",
				pg.where, fam, cli(region, "directconnect delete-bgp-peer --virtual-interface-id", id, "--bgp-peer-id", deref(p.BgpPeerId))),
			"VIF %s, %s peer %s: %s", id, fam, peerLabel(p), strings.Join(bad, "; "))
		return
	}
	c.addPeering(pg, name, probes.OrderVIF+1, link, probes.Pass, "", "VIF %s: %s peer %s", id, fam, strings.Join(seen, ", "))
}

// bgpPeering judges the BGP peers of one peering as AWS sees them
// (bgpPeerState and bgpStatus, API reference BGPPeer). configOK says the
// VIF's VLAN, addresses and ASNs are as configured, so that a session
// down points at the key first.
func (c *checker) bgpPeering(lv linkView, pg peering, configOK bool) {
	v, link := lv.vif, lv.link.Name
	id := deref(v.VirtualInterfaceId)
	region := orDefault(deref(v.Region), v.key.region)
	name := "aws.vif." + link + ".bgp" + pg.suffix
	add := func(st probes.CheckStatus, fix, format string, args ...any) {
		c.addPeering(pg, name, probes.OrderVIF+2, link, st, fix, format, args...)
	}
	peers := pg.peers(v)
	if pg.suffix != "" {
		if len(peers) == 0 {
			add(probes.Skip, "", "VIF %s has no %s BGP peer (see aws.vif.%s.config%s)", id, familyName(pg.family), link, pg.suffix)
			return
		}
		// The addresses of the further peering are its own line's.
		configOK = configOK && prefixEqual(deref(peers[0].AmazonAddress), pg.want.AmazonAddress) &&
			prefixEqual(deref(peers[0].CustomerAddress), pg.want.CustomerAddress)
	}
	var down, waiting, unknown, up []string
	for _, p := range peers {
		d := fmt.Sprintf("%s (%s -> %s, %s/%s)", peerLabel(p), deref(p.CustomerAddress), deref(p.AmazonAddress), p.BgpPeerState, p.BgpStatus)
		switch {
		case p.BgpPeerState == dxtypes.BGPPeerStateAvailable && p.BgpStatus == dxtypes.BGPStatusUp:
			up = append(up, d)
		case p.BgpPeerState == dxtypes.BGPPeerStatePending || p.BgpPeerState == dxtypes.BGPPeerStateVerifying:
			waiting = append(waiting, d)
		case p.BgpPeerState == dxtypes.BGPPeerStateAvailable && (p.BgpStatus == dxtypes.BGPStatusUnknown || p.BgpStatus == ""):
			// API reference (BGPPeer, bgpStatus): "unknown: The BGP peer
			// status is not available." Nothing is known to be wrong.
			unknown = append(unknown, d)
		default:
			down = append(down, d)
		}
	}
	amazon, customer := pg.addresses(v)
	amazon = stripLen(amazon)
	key := "the VIF's MD5 key"
	query := "--query 'virtualInterfaces[0].bgpPeers[].authKey' --output text"
	if !pg.all {
		key = "the " + familyName(pg.family) + " peer's MD5 key"
		query = fmt.Sprintf("--query \"virtualInterfaces[0].bgpPeers[?addressFamily=='%s'].authKey\" --output text", pg.family)
	}
	fix := fmt.Sprintf("check the BGP session on the edge router: neighbor %s remote-as %d on VLAN %d with %s, the customer address %s on the sub-interface (%s prints a sample configuration)",
		amazon, deref(v.AmazonSideAsn), v.Vlan, key, customer,
		cli(region, "directconnect describe-router-configuration --virtual-interface-id", id))
	if configOK && v.VirtualInterfaceState == dxtypes.VirtualInterfaceStateAvailable {
		// AWS has the VIF up with the VLAN, addresses and ASNs dxwatch
		// expects: what is left to disagree on is the key (or the router's
		// own neighbor statement).
		whose := "the VIF's BGP authentication key"
		if !pg.all {
			whose = "the BGP authentication key of the VIF's " + familyName(pg.family) + " peer (each peering has its own)"
		}
		fix = fmt.Sprintf("the VIF is available with the expected VLAN %d, addresses and ASNs, so compare the MD5 key first: the edge router's `neighbor %s password` must equal %s (%s); then check that the router's neighbor statement uses remote-as %d and the customer address %s on VLAN %d",
			v.Vlan, amazon, whose,
			cli(region, "directconnect describe-virtual-interfaces --virtual-interface-id", id, query),
			deref(v.AmazonSideAsn), customer, v.Vlan)
	}
	w := pg.word()
	switch {
	case len(peers) == 0 && pg.all:
		add(probes.Fail, fix, "VIF %s has no BGP peer", id)
	case len(peers) == 0:
		add(probes.Fail, fix, "VIF %s has no %sBGP peer", id, w)
	case len(down) > 0:
		add(probes.Fail, fix, "VIF %s: %sBGP down for %s", id, w, strings.Join(down, ", "))
	case len(waiting) > 0:
		add(probes.Warn, "wait for AWS to provision the BGP peer", "VIF %s: %sBGP peer not ready: %s", id, w, strings.Join(waiting, ", "))
	case len(unknown) > 0:
		add(probes.Warn,
			"nothing to change: AWS reports the status as not available; the session's state on the edge router (the bgp checks) says whether it is up, and the next poll reads AWS's view again",
			"VIF %s: AWS has no %sBGP status for %s (bgpStatus unknown: not available)", id, w, strings.Join(unknown, ", "))
	default:
		add(probes.Pass, "", "VIF %s: %sBGP up: %s", id, w, strings.Join(up, ", "))
	}
}
