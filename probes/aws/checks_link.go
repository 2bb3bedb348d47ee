package aws

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"

	"github.com/dxwatch/dxwatch/probes"
)

func (c *checker) connection(lv linkView) {
	name := "aws.connection." + lv.link.Name + ".state"
	order := probes.OrderConnection + 10
	link := lv.link.Name
	if lv.conn == nil {
		if lv.link.ConnectionID == "" {
			if f := c.s.failed("directconnect:DescribeVirtualInterfaces", "directconnect:DescribeConnections"); f != nil {
				c.unread(name, order, link, "the connection of link "+link, f)
				return
			}
			c.add(name, order, link, probes.Skip, "", "no connection_id on links[%d] and no VIF found to discover it from", lv.index)
			return
		}
		c.lookupProblem(name, order, link, "connection "+lv.link.ConnectionID,
			fmt.Sprintf("add the account that owns %s to aws.accounts and its region to aws.regions, or correct links[%d].connection_id", lv.link.ConnectionID, lv.index),
			"directconnect:DescribeConnections")
		return
	}
	cn := lv.conn
	id, region := deref(cn.ConnectionId), deref(cn.Region)
	if region == "" {
		region = cn.key.region
	}
	desc := fmt.Sprintf("%s %s at %s", id, deref(cn.Bandwidth), deref(cn.Location))
	if pn := deref(cn.PartnerName); pn != "" {
		desc += " via " + pn
	}
	switch st := cn.ConnectionState; st {
	case dxtypes.ConnectionStateAvailable:
		c.add(name, order, link, probes.Pass, "", "%s is available", desc)
	case dxtypes.ConnectionStateOrdering:
		// Until it is accepted no traffic can cross it: at turn-up this
		// is the step that blocks everything after it.
		c.add(name, order, link, probes.Fail,
			fmt.Sprintf("accept it in the Direct Connect console (Connections, %s, Accept) or run: %s", id,
				cli(region, "directconnect confirm-connection --connection-id", id)),
			"hosted connection %s is waiting for you to accept it (state ordering)", desc)
	case dxtypes.ConnectionStateRequested:
		// API reference (Connection, connectionState): "requested: The
		// initial state of a standard connection. The connection stays in
		// the requested state until the Letter of Authorization (LOA) is
		// sent to the customer." No LOA-CFA exists yet.
		c.add(name, order, link, probes.Warn,
			"wait for AWS to review the request and issue the LOA-CFA (the connection then becomes pending); if it stays requested for more than 72 hours, open an AWS support case",
			"%s is requested: AWS has accepted the order and has not issued the LOA-CFA yet, so the cross-connect cannot be ordered", desc)
	case dxtypes.ConnectionStatePending:
		// API reference: "pending: The connection has been approved and is
		// being initialized." The LOA-CFA exists; the cross-connect is not
		// up yet. dxwatch never calls DescribeLoa: each call re-issues the
		// LOA-CFA and moves loaIssueTime, the clock this check reads.
		download := fmt.Sprintf("dxwatch loa --connection %s --out %s-loa.pdf (or %s --query loaContent --output text | base64 -d > %s-loa.pdf)",
			id, id, cli(region, "directconnect describe-loa --connection-id", id), id)
		if pn := deref(cn.PartnerName); pn != "" && cn.LoaIssueTime == nil {
			// A hosted connection's cross-connect is the partner's: it
			// has no LOA-CFA of the customer's to download.
			c.add(name, order, link, probes.Warn,
				fmt.Sprintf("wait for %s to finish provisioning the hosted connection; if it stays pending for more than 72 hours, ask %s, then open an AWS support case", pn, pn),
				"hosted connection %s is pending: approved and being initialised by AWS and %s", desc, pn)
			return
		}
		if cn.LoaIssueTime == nil {
			c.add(name, order, link, probes.Warn,
				"download the LOA-CFA with "+download+" and give it to the colocation provider to order the cross-connect; it is valid for 90 days from the download",
				"%s is pending: the LOA-CFA has never been downloaded (AWS reports no loaIssueTime); the cross-connect cannot be ordered without it", desc)
			return
		}
		age := c.now.Sub(*cn.LoaIssueTime)
		left := loaValidity - age
		if left <= 0 {
			c.add(name, order, link, probes.Fail,
				"the LOA-CFA is valid for 90 days: download a fresh one with "+download+" (a download re-issues it; open an AWS support case if it is not renewed) and give it to the colocation provider",
				"%s is pending: LOA-CFA issued %s, %s ago, expired %s ago; the cross-connect is not up, and %s",
				desc, cn.LoaIssueTime.Format(time.DateOnly), dayHours(age), dayHours(-left), billingNote)
			return
		}
		c.add(name, order, link, probes.Warn,
			"give the LOA-CFA to the colocation provider to order the cross-connect before it expires; to get the document again: "+download+" (this re-issues it and restarts its 90 days)",
			"%s is pending: LOA-CFA issued %s, %s ago, %s left of 90 days; the cross-connect is not up yet; %s",
			desc, cn.LoaIssueTime.Format(time.DateOnly), dayHours(age), dayHours(left), billingNote)
	case dxtypes.ConnectionStateDown:
		c.add(name, order, link, probes.Fail,
			"check the cross-connect, the optics and the light levels with the colocation provider (layer 1), and the port's speed and auto-negotiation settings on the router",
			"%s is down: the port has no link", desc)
	case dxtypes.ConnectionStateRejected:
		c.add(name, order, link, probes.Fail,
			fmt.Sprintf("ask %s for a new hosted connection and accept it, then set links[%d].connection_id", orDefault(deref(cn.PartnerName), "the partner"), lv.index),
			"hosted connection %s was rejected", desc)
	case dxtypes.ConnectionStateDeleting, dxtypes.ConnectionStateDeleted:
		c.add(name, order, link, probes.Fail,
			fmt.Sprintf("the connection is gone: order a new one and set links[%d].connection_id", lv.index),
			"%s is %s", desc, st)
	default:
		c.add(name, order, link, probes.Fail, "open an AWS support case: the connection's state is unknown to AWS itself",
			"%s is in state %q", desc, st)
	}

	if lc, ok := c.cfg.link(lv.link.Name); ok {
		if lc.Bandwidth != "" {
			n := "aws.connection." + lv.link.Name + ".bandwidth"
			if got := deref(cn.Bandwidth); !strings.EqualFold(got, lc.Bandwidth) {
				c.add(n, order+1, link, probes.Fail,
					fmt.Sprintf("set aws.links[].bandwidth to %s if that is what was ordered; otherwise order a %s connection (dedicated) or ask the partner to change the hosted connection", got, lc.Bandwidth),
					"%s is %s, the config says %s", id, got, lc.Bandwidth)
			} else {
				c.add(n, order+1, link, probes.Pass, "", "%s is %s as configured", id, got)
			}
		}
		if lc.Location != "" {
			n := "aws.connection." + lv.link.Name + ".location"
			if got := deref(cn.Location); !strings.EqualFold(got, lc.Location) {
				c.add(n, order+2, link, probes.Fail,
					fmt.Sprintf("set aws.links[].location to %s if that is the intended location, otherwise the connection was ordered at the wrong location", got),
					"%s is at %s, the config says %s", id, got, lc.Location)
			} else {
				c.add(n, order+2, link, probes.Pass, "", "%s is at %s as configured", id, got)
			}
		}
	}
}

// pair returns the primary and secondary link views (by role, else the
// first two links).
func (c *checker) pair() (prim, sec *linkView) {
	for i := range c.s.links {
		lv := &c.s.links[i]
		switch {
		case lv.link.Role == probes.RolePrimary && prim == nil:
			prim = lv
		case lv.link.Role == probes.RoleSecondary && sec == nil:
			sec = lv
		}
	}
	if (prim == nil || sec == nil) && len(c.s.links) >= 2 {
		return &c.s.links[0], &c.s.links[1]
	}
	return prim, sec
}

func (c *checker) redundancy() {
	prim, sec := c.pair()
	if prim == nil || sec == nil {
		c.add("aws.redundancy.devices", probes.OrderRedundancy, "", probes.Warn,
			"order a second connection on a different AWS device, ideally at a second location (see the AWS Direct Connect Resiliency Toolkit)",
			"only one link is configured: no redundancy")
		return
	}
	if prim.conn == nil || sec.conn == nil {
		c.add("aws.redundancy.devices", probes.OrderRedundancy, "", probes.Skip, "", "the connections of both links are needed")
		return
	}
	a, b := prim.conn, sec.conn
	dev := func(x *connData) string { return deref(x.AwsDeviceV2) }
	logical := func(x *connData) string { return deref(x.AwsLogicalDeviceId) }
	// API reference (Connection): hasLogicalRedundancy "Indicates
	// whether the connection supports a secondary BGP peer in the same
	// address family (IPv4/IPv6)": a property of the port, not a second
	// device.
	lr := fmt.Sprintf("hasLogicalRedundancy %s/%s, whether a connection supports a secondary BGP peer in the same address family", orDefault(string(a.HasLogicalRedundancy), "unknown"), orDefault(string(b.HasLogicalRedundancy), "unknown"))
	switch {
	case dev(a) != "" && dev(a) == dev(b):
		c.add("aws.redundancy.devices", probes.OrderRedundancy, "", probes.Fail,
			"one AWS device failure or maintenance takes both links down: order one of the connections on a different device (ask for it in the order, or use the Resiliency Toolkit which places them apart)",
			"%s and %s terminate on the same AWS device %s (%s)", deref(a.ConnectionId), deref(b.ConnectionId), dev(a), lr)
	case logical(a) != "" && logical(a) == logical(b):
		c.add("aws.redundancy.devices", probes.OrderRedundancy, "", probes.Fail,
			"order one of the connections on a different AWS logical device",
			"%s and %s share the AWS logical device %s (%s)", deref(a.ConnectionId), deref(b.ConnectionId), logical(a), lr)
	default:
		c.add("aws.redundancy.devices", probes.OrderRedundancy, "", probes.Pass, "",
			"%s on %s and %s on %s are on different AWS devices (%s)", deref(a.ConnectionId), dev(a), deref(b.ConnectionId), dev(b), lr)
	}
	if la, lb := deref(a.Location), deref(b.Location); la == lb {
		c.add("aws.redundancy.location", probes.OrderRedundancy+1, "", probes.Warn,
			"for maximum resiliency put the second connection in a different Direct Connect location",
			"both connections are at %s: an outage of that location takes both links down", la)
	} else {
		c.add("aws.redundancy.location", probes.OrderRedundancy+1, "", probes.Pass, "", "connections at %s and %s", la, lb)
	}
}

// gatewayFlag is the --*-gateway-id argument of a confirm command.
func (c *checker) gatewayFlag() string {
	switch {
	case c.cfg.DXGatewayID != "":
		return "--direct-connect-gateway-id " + c.cfg.DXGatewayID
	case c.cfg.VirtualGatewayID != "":
		return "--virtual-gateway-id " + c.cfg.VirtualGatewayID
	case c.s.gwID != "":
		return "--direct-connect-gateway-id " + c.s.gwID
	}
	return "--direct-connect-gateway-id <dx-gateway-id>"
}

// confirmVIF is the command that accepts a hosted VIF of the type: a
// transit VIF is accepted onto a DX gateway with
// confirm-transit-virtual-interface (API reference,
// ConfirmTransitVirtualInterface: directConnectGatewayId is required), a
// private one onto a DX gateway or a VGW with
// confirm-private-virtual-interface.
func (c *checker) confirmVIF(region, typ, id string) string {
	if typ == "transit" {
		return cli(region, "directconnect confirm-transit-virtual-interface --virtual-interface-id", id,
			"--direct-connect-gateway-id", orDefault(c.cfg.DXGatewayID, orDefault(c.s.gwID, "<dx-gateway-id>")))
	}
	return cli(region, "directconnect confirm-private-virtual-interface --virtual-interface-id", id, c.gatewayFlag())
}

func (c *checker) vif(lv linkView) {
	link := lv.link.Name
	pre := "aws.vif." + link + "."
	if lv.vif == nil {
		switch {
		case lv.link.VIFID != "":
			c.lookupProblem(pre+"state", probes.OrderVIF, link, "VIF "+lv.link.VIFID,
				fmt.Sprintf("add the account that owns %s to aws.accounts and its region to aws.regions, or correct links[%d].vif_id", lv.link.VIFID, lv.index),
				"directconnect:DescribeVirtualInterfaces")
		default:
			c.lookupProblem(pre+"state", probes.OrderVIF, link,
				fmt.Sprintf("a VIF for link %s (VLAN %d, Amazon address %s)", link, lv.link.VLAN, lv.link.AmazonAddress),
				fmt.Sprintf("create the VIF on the link's connection with VLAN %d, or set links[%d].vif_id", lv.link.VLAN, lv.index),
				"directconnect:DescribeVirtualInterfaces", "directconnect:DescribeDirectConnectGateways")
		}
		return
	}
	v := lv.vif
	id := deref(v.VirtualInterfaceId)
	region := orDefault(deref(v.Region), v.key.region)
	typ := deref(v.VirtualInterfaceType)

	// State.
	switch st := v.VirtualInterfaceState; st {
	case dxtypes.VirtualInterfaceStateAvailable:
		c.add(pre+"state", probes.OrderVIF, link, probes.Pass, "", "%s VIF %s is available", typ, id)
	case dxtypes.VirtualInterfaceStateConfirming:
		var cmd string
		switch typ {
		case "transit":
			cmd = c.confirmVIF(region, typ, id)
		case "public":
			cmd = cli(region, "directconnect confirm-public-virtual-interface --virtual-interface-id", id)
		default:
			cmd = c.confirmVIF(region, typ, id)
		}
		c.add(pre+"state", probes.OrderVIF, link, probes.Fail,
			"accept it in the Direct Connect console (Virtual interfaces, "+id+", Accept) or run: "+cmd,
			"hosted %s VIF %s is waiting for you to accept it (state confirming)", typ, id)
	case dxtypes.VirtualInterfaceStateVerifying, dxtypes.VirtualInterfaceStatePending:
		c.add(pre+"state", probes.OrderVIF, link, probes.Warn,
			"wait for AWS; a public VIF stays verifying until AWS has verified the ownership of its prefixes",
			"VIF %s is %s", id, st)
	case dxtypes.VirtualInterfaceStateTesting:
		c.add(pre+"state", probes.OrderVIF, link, probes.Warn,
			"a BGP failover test is running: wait for it to end or stop it with "+cli(region, "directconnect stop-bgp-failover-test --virtual-interface-id", id),
			"VIF %s is testing: its BGP sessions are held down", id)
	case dxtypes.VirtualInterfaceStateDown:
		c.add(pre+"state", probes.OrderVIF, link, probes.Fail,
			fmt.Sprintf("check VLAN %d on the router's sub-interface, the peer addresses and the BGP session (%s prints a sample router configuration)", v.Vlan,
				cli(region, "directconnect describe-router-configuration --virtual-interface-id", id)),
			"VIF %s is down", id)
	case dxtypes.VirtualInterfaceStateDeleting, dxtypes.VirtualInterfaceStateDeleted, dxtypes.VirtualInterfaceStateRejected:
		c.add(pre+"state", probes.OrderVIF, link, probes.Fail,
			fmt.Sprintf("create a new VIF (or ask the partner for a new hosted VIF) and set links[%d].vif_id", lv.index),
			"VIF %s is %s", id, st)
	default:
		c.add(pre+"state", probes.OrderVIF, link, probes.Fail, "open an AWS support case", "VIF %s is in state %q", id, st)
	}

	// VLAN, addresses, family, ASNs. The first peering's addresses are
	// the VIF's own, or, on a dual-stack link whose VIF was created with
	// its IPv6 peering, its IPv4 peer's.
	pgs := peeringsOf(lv)
	amazon, customer := pgs[0].addresses(v)
	family := v.AddressFamily
	if pgs[0].fromPeer(v) {
		family = dxtypes.AddressFamily(pgs[0].family)
	}
	var bad []string
	if lv.link.VLAN != 0 && int(v.Vlan) != lv.link.VLAN {
		bad = append(bad, fmt.Sprintf("VLAN is %d, links[%d].vlan is %d", v.Vlan, lv.index, lv.link.VLAN))
	}
	if lv.link.AmazonAddress.IsValid() && !prefixEqual(amazon, lv.link.AmazonAddress) {
		bad = append(bad, fmt.Sprintf("Amazon address is %s, links[%d] says %s", orDefault(amazon, "none"), lv.index, lv.link.AmazonAddress))
	}
	if lv.link.CustomerAddress.IsValid() && !prefixEqual(customer, lv.link.CustomerAddress) {
		bad = append(bad, fmt.Sprintf("customer address is %s, links[%d] says %s", orDefault(customer, "none"), lv.index, lv.link.CustomerAddress))
	}
	if lv.link.AmazonAddress.IsValid() {
		want := dxtypes.AddressFamilyIPv4
		if lv.link.AmazonAddress.Addr().Is6() {
			want = dxtypes.AddressFamilyIPv6
		}
		if family != "" && family != want {
			bad = append(bad, fmt.Sprintf("address family is %s, the link's addresses are %s", family, want))
		}
	}
	asn := int64(v.Asn)
	if v.AsnLong != nil && *v.AsnLong != 0 {
		asn = *v.AsnLong
	}
	if c.cfg.CustomerASN != 0 && asn != int64(c.cfg.CustomerASN) {
		bad = append(bad, fmt.Sprintf("customer ASN is %d, aws.customer_asn is %d", asn, c.cfg.CustomerASN))
	}
	if want := c.site.Routing.AmazonASN; want != 0 && v.AmazonSideAsn != nil && *v.AmazonSideAsn != int64(want) {
		bad = append(bad, fmt.Sprintf("Amazon-side ASN is %d, routing.amazon_asn is %d", *v.AmazonSideAsn, want))
	}
	if len(bad) > 0 {
		c.add(pre+"config", probes.OrderVIF+1, link, probes.Fail,
			fmt.Sprintf("the VLAN, peer addresses and ASNs of a VIF cannot be changed: correct links[%d] (and the router) to match AWS, or recreate the VIF with the configured values", lv.index),
			"VIF %s: %s", id, strings.Join(bad, "; "))
	} else {
		c.add(pre+"config", probes.OrderVIF+1, link, probes.Pass, "",
			"VIF %s: VLAN %d, %s %s -> Amazon %s, ASN %d, Amazon ASN %d", id, v.Vlan, family,
			customer, amazon, asn, deref(v.AmazonSideAsn))
	}

	for _, pg := range pgs[1:] {
		c.peeringConfig(lv, pg)
	}

	if lv.confirming() {
		c.unaccepted(lv)
		return
	}

	// BGP peers as AWS sees them, per peering.
	for _, pg := range pgs {
		c.bgpPeering(lv, pg, len(bad) == 0)
	}

	// Attached to the configured gateway.
	dxgw, vgw := deref(v.DirectConnectGatewayId), deref(v.VirtualGatewayId)
	switch {
	case c.cfg.DXGatewayID != "" && dxgw != c.cfg.DXGatewayID:
		c.add(pre+"gateway", probes.OrderVIF+3, link, probes.Fail,
			fmt.Sprintf("a VIF cannot move to another gateway: recreate it attached to DX gateway %s, or set aws.dx_gateway_id to %s", c.cfg.DXGatewayID, orDefault(dxgw, "its gateway")),
			"VIF %s is attached to %s, not to DX gateway %s", id, orDefault(dxgw+vgw, "no gateway"), c.cfg.DXGatewayID)
	case c.cfg.VirtualGatewayID != "" && vgw != c.cfg.VirtualGatewayID:
		c.add(pre+"gateway", probes.OrderVIF+3, link, probes.Fail,
			fmt.Sprintf("a VIF cannot move to another gateway: recreate it attached to %s, or set aws.virtual_gateway_id to %s", c.cfg.VirtualGatewayID, orDefault(vgw, "its gateway")),
			"VIF %s is attached to %s, not to %s", id, orDefault(dxgw+vgw, "no gateway"), c.cfg.VirtualGatewayID)
	case dxgw == "" && vgw == "" && typ != "public":
		c.add(pre+"gateway", probes.OrderVIF+3, link, probes.Fail,
			"accept the VIF with a gateway: "+c.confirmVIF(region, typ, id),
			"VIF %s is attached to no gateway", id)
	default:
		c.add(pre+"gateway", probes.OrderVIF+3, link, probes.Pass, "", "VIF %s is attached to %s", id, orDefault(dxgw, vgw))
	}

	for _, pg := range pgs {
		c.vifRoutes(lv, pg)
	}
}

// vifRoutes checks the routes AWS accepted on and advertised over the VIF
// in the peering's family (every family on a single-family link).
func (c *checker) vifRoutes(lv linkView, pg peering) {
	v, link := lv.vif, lv.link.Name
	name := "aws.vif." + link + ".routes" + pg.suffix
	id := deref(v.VirtualInterfaceId)
	add := func(name string, order int, link string, st probes.CheckStatus, fix, format string, args ...any) {
		c.addPeering(pg, name, order, link, st, fix, format, args...)
	}
	if !v.routesDone {
		add(name, probes.OrderVIF+4, link, probes.Skip, "", "routes of VIF %s could not be listed: %v", id, v.routesErr)
		return
	}
	accepted := pg.only(routeCIDRs(v.accepted))
	advertised := pg.only(routeCIDRs(v.advertised))
	want := pg.onlyPrefixes(c.site.Routing.ExpectedPrefixes)
	if len(want) == 0 {
		// The VPC CIDRs are what AWS must advertise: all of them must
		// have been read.
		if f := c.s.failed("ec2:DescribeVpnGateways", "ec2:DescribeVpcs"); f != nil {
			c.unread(name, probes.OrderVIF+4, link, "the VPC CIDRs that VIF "+id+" must advertise", f)
			return
		}
		for _, d := range c.s.vpcs {
			want = append(want, pg.onlyPrefixes(d.cidrs)...)
		}
	}
	var missing []string
	for _, p := range want {
		if !slices.Contains(advertised, p.String()) {
			missing = append(missing, p.String())
		}
	}
	summary := fmt.Sprintf("AWS accepted %d %sprefixes from on-prem (%s) and advertises %d (%s)",
		len(accepted), pg.word(), orDefault(strings.Join(head(accepted, 5), ", "), "none"), len(advertised), orDefault(strings.Join(head(advertised, 5), ", "), "none"))
	limited := deref(v.VirtualInterfaceType) != "public"
	over, near := c.routeQuota(lv, pg)
	switch {
	case len(accepted) == 0:
		add(name, probes.OrderVIF+4, link, probes.Fail,
			fmt.Sprintf("advertise the on-prem %sprefixes from the edge router to %s (network statements or redistribution, and the outbound route-map)", pg.word(), pg.amazonAddr(v)),
			"VIF %s: AWS accepted no %sprefix from on-prem and advertises %d (%s)", id, pg.word(), len(advertised), orDefault(strings.Join(head(advertised, 5), ", "), "none"))
	case limited && len(over) > 0:
		add(name, probes.OrderVIF+4, link, probes.Fail, quotaFix(over, true),
			"VIF %s: %s; %s", id, quotaText(over, "at"), summary)
	case len(missing) > 0:
		st, fix, cause := c.notAdvertised(lv, missing)
		add(name, probes.OrderVIF+4, link, st, fix,
			"VIF %s: AWS does not advertise %s%s; %s", id, strings.Join(missing, ", "), cause, summary)
	case limited && len(near) > 0:
		add(name, probes.OrderVIF+4, link, probes.Warn, quotaFix(near, false),
			"VIF %s: %s; %s", id, quotaText(near, "close to"), summary)
	default:
		add(name, probes.OrderVIF+4, link, probes.Pass, "", "VIF %s: %s", id, summary)
	}
}

// familyQuota is the routes AWS accepted in one address family on a VIF
// against what the VIF may take.
type familyQuota struct {
	family   string // "IPv4" or "IPv6"
	flag     string // the update-virtual-interface-attributes option
	accepted int
	limit    int
	// allocated says the limit is the VIF's own prefix allocation, not
	// the default quota.
	allocated bool
	raise     string // the command that raises the allocation
}

// routeQuota counts the accepted routes per address family against the
// VIF's allocation (prefixPoolAllocatedCountIpv4/Ipv6 on the VIF, API
// reference VirtualInterface), else the default quota of 100 routes per
// family per BGP session (Direct Connect User Guide, quotas,
// https://docs.aws.amazon.com/directconnect/latest/UserGuide/limits.html:
// "If you advertise more than 100 routes each for IPv4 and IPv6 over the
// BGP session, the BGP session will go into an idle state"). It returns
// the families at or above their limit (one more route drops the session)
// and those at 80% of it or more.
//
// On a dual-stack link each peering's line counts its own family only.
func (c *checker) routeQuota(lv linkView, pg peering) (over, near []familyQuota) {
	v := lv.vif
	region := orDefault(deref(v.Region), v.key.region)
	counts := map[string]int{}
	for _, cidr := range routeCIDRs(v.accepted) {
		fam := "IPv4"
		if p, err := netip.ParsePrefix(cidr); err == nil && p.Addr().Is6() {
			fam = "IPv6"
		}
		counts[fam]++
	}
	for _, fq := range []familyQuota{
		{family: "IPv4", flag: "--prefix-pool-allocated-count-ipv4"},
		{family: "IPv6", flag: "--prefix-pool-allocated-count-ipv6"},
	} {
		if pg.suffix != "" || pg.obsFamily != "" {
			if !strings.EqualFold(fq.family, pg.family) {
				continue
			}
		}
		alloc := v.PrefixPoolAllocatedCountIpv4
		if fq.family == "IPv6" {
			alloc = v.PrefixPoolAllocatedCountIpv6
		}
		fq.accepted, fq.limit = counts[fq.family], routeLimit
		if alloc != nil && *alloc > 0 {
			fq.limit, fq.allocated = int(*alloc), true
		}
		fq.raise = cli(region, "directconnect update-virtual-interface-attributes --virtual-interface-id", deref(v.VirtualInterfaceId), fq.flag, "<routes>")
		switch {
		case fq.accepted >= fq.limit:
			over = append(over, fq)
		case fq.accepted >= fq.limit*8/10:
			near = append(near, fq)
		}
	}
	return over, near
}

// quotaText says how the families stand against their limits.
func quotaText(fs []familyQuota, how string) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		whose := "the default quota per BGP session"
		if f.allocated {
			whose = "the VIF's prefix allocation"
		}
		h := how
		if f.accepted > f.limit {
			h = "above"
		}
		parts[i] = fmt.Sprintf("%d %s prefixes accepted, %s the limit of %d (%s)", f.accepted, f.family, h, f.limit, whose)
	}
	return strings.Join(parts, "; ")
}

// quotaFix offers both ways out: fewer routes, or a larger allocation.
func quotaFix(fs []familyQuota, over bool) string {
	var fams, raises []string
	for _, f := range fs {
		fams = append(fams, f.family)
		raises = append(raises, f.raise)
	}
	when := "before reaching the limit: above it AWS drops the BGP session"
	if over {
		when = "AWS drops the BGP session above the limit"
	}
	return fmt.Sprintf("summarise the on-prem %s prefixes on the edge router, or raise the VIF's prefix allocation from the connection's unallocated prefix pool (prefixPoolUnallocatedCount in describe-connections): %s; %s",
		strings.Join(fams, " and "), strings.Join(raises, "; "), when)
}

func (c *checker) mtu() {
	prim, sec := c.pair()
	if prim == nil || sec == nil || prim.vif == nil || sec.vif == nil {
		return
	}
	a, b := prim.vif, sec.vif
	ma, mb := deref(a.Mtu), deref(b.Mtu)
	if ma == mb {
		c.add("aws.vif.mtu", probes.OrderVIF+10, "", probes.Pass, "", "both VIFs use MTU %d", ma)
		return
	}
	// Bring the smaller up when its connection allows jumbo frames, else
	// the larger down.
	low, high, lowM, highM := a, b, ma, mb
	if ma > mb {
		low, high, lowM, highM = b, a, mb, ma
	}
	fix := cli(orDefault(deref(low.Region), low.key.region), "directconnect update-virtual-interface-attributes --virtual-interface-id",
		deref(low.VirtualInterfaceId), "--mtu", itoa(int64(highM)))
	if !deref(low.JumboFrameCapable) {
		fix = cli(orDefault(deref(high.Region), high.key.region), "directconnect update-virtual-interface-attributes --virtual-interface-id",
			deref(high.VirtualInterfaceId), "--mtu", itoa(int64(lowM)))
	}
	c.add("aws.vif.mtu", probes.OrderVIF+10, "", probes.Fail, "make both VIFs use the same MTU (the router's sub-interfaces too): "+fix,
		"VIF %s uses MTU %d and VIF %s MTU %d: a failover changes the path MTU and large packets are dropped",
		deref(a.VirtualInterfaceId), ma, deref(b.VirtualInterfaceId), mb)
}

// pref is how AWS ranks a route it accepted for return traffic between
// connections associated with the same Region: the local-preference
// community first (7224:7300 high, 7224:7200 medium, 7224:7100 low; a route
// without one is ranked here with the medium ones), then the shorter AS
// path. Between connections of different Regions, without a community,
// the Region decides, not the AS path (regionPreference).
type pref struct {
	local  int
	asPath int
	// community says a local-preference community is set: without one,
	// AWS ranks connections of different Regions by Region, not by AS
	// path (regionPreference).
	community bool
}

func routePref(r dxtypes.Route) pref {
	p := pref{local: 2}
	for _, cm := range r.Communities {
		switch cm {
		case "7224:7100":
			p.local, p.community = 1, true
		case "7224:7200":
			p.local, p.community = 2, true
		case "7224:7300":
			p.local, p.community = 3, true
		}
	}
	for _, seg := range r.AsPath {
		if seg.PathType == dxtypes.AsPathTypeSet {
			p.asPath++
		} else {
			p.asPath += len(seg.Path)
		}
	}
	return p
}

func (p pref) better(q pref) int {
	if p.local != q.local {
		return p.local - q.local
	}
	return q.asPath - p.asPath
}

// probeSources checks, for each link with a probe source, that AWS
// returns replies to it over that link: the most specific route covering
// the address among all VIFs' accepted routes is on this link's VIF only
// (docs/probe-sources.md). Otherwise the pinned echoes' replies may return
// over another link and the link's own data plane is not what they show.
//
// Each peering with a probe source is checked on its own line: a dual-stack
// link's IPv6 one (links[].ipv6.probe_source) on aws.vif.<link>.probe_source.ipv6.
func (c *checker) probeSources() {
	for _, lv := range c.s.links {
		for _, pg := range peeringsOf(lv) {
			if pg.want.ProbeSource.IsValid() {
				c.probeSource(lv, pg)
			}
		}
	}
}

func (c *checker) probeSource(lv linkView, pg peering) {
	src := pg.want.ProbeSource
	link := lv.link.Name
	name := "aws.vif." + link + ".probe_source" + pg.suffix
	order := probes.OrderVIF + 12
	add := func(name string, order int, link string, st probes.CheckStatus, fix, format string, args ...any) {
		c.addPeering(pg, name, order, link, st, fix, format, args...)
	}
	if lv.confirming() {
		add(name, order, link, probes.Skip, "", "VIF %s is not accepted yet (see aws.vif.%s.state)", deref(lv.vif.VirtualInterfaceId), link)
		return
	}
	best, on := -1, []string{}
	var bestCIDR string
	complete := true
	for _, other := range c.s.links {
		if other.vif == nil || !other.vif.routesDone {
			complete = false
			continue
		}
		for _, cidr := range routeCIDRs(other.vif.accepted) {
			p, err := netip.ParsePrefix(cidr)
			if err != nil || !p.Contains(src) {
				continue
			}
			switch {
			case p.Bits() > best:
				best, bestCIDR, on = p.Bits(), cidr, []string{other.link.Name}
			case p.Bits() == best && !slices.Contains(on, other.link.Name):
				on = append(on, other.link.Name)
			}
		}
	}
	host := "/32"
	if src.Is6() {
		host = "/128"
	}
	advertise := fmt.Sprintf("advertise %s%s from the edge router to AWS over link %s only (a network statement or static route to dxwatch's host, and an outbound prefix-list that sends it to %s's Amazon neighbor and not to the others': docs/probe-sources.md)",
		src, host, link, link)
	switch {
	case !complete:
		add(name, order, link, probes.Skip, "", "the accepted routes of every VIF are needed to tell which link AWS returns replies to probe source %s over", src)
	case best < 0:
		add(name, order, link, probes.Fail, advertise,
			"no VIF has a route to link %s's probe source %s among the routes AWS accepted: the replies to its pinned echoes have no way back", link, src)
	case len(on) > 1 || on[0] != link:
		add(name, order, link, probes.Fail, advertise,
			"AWS accepted its most specific route to link %s's probe source %s, %s, over %s: the replies to the link's pinned echoes may return over %s, so they do not show link %s on its own",
			link, src, bestCIDR, strings.Join(on, " and "), strings.Join(on, " or "), link)
	default:
		add(name, order, link, probes.Pass, "",
			"AWS returns replies to link %s's probe source %s over %s only (its most specific accepted route, %s)", link, src, link, bestCIDR)
	}
}

func (c *checker) returnPath() {
	const name = "aws.routing.return_path"
	mode := c.site.Routing.Mode
	prim, sec := c.pair()
	if mode == "" || prim == nil || sec == nil {
		return
	}
	if c.site.Routing.Primary != "" {
		for i := range c.s.links {
			lv := &c.s.links[i]
			if lv.link.Name == c.site.Routing.Primary && lv != prim {
				prim, sec = lv, prim
			}
		}
	}
	if prim.confirming() || sec.confirming() {
		c.add(name, probes.OrderVIF+11, "", probes.Skip, "", "the VIFs of both links must be accepted first (see aws.vif.*.state)")
		return
	}
	if prim.vif == nil || sec.vif == nil || !prim.vif.routesDone || !sec.vif.routesDone {
		c.add(name, probes.OrderVIF+11, "", probes.Skip, "", "the accepted routes of both VIFs are needed")
		return
	}
	secRoutes := map[string]dxtypes.Route{}
	for _, r := range sec.vif.accepted {
		secRoutes[deref(r.Cidr)] = r
	}
	var preferP, preferS, equal, shared []string
	community := false
	for _, r := range prim.vif.accepted {
		cidr := deref(r.Cidr)
		s, ok := secRoutes[cidr]
		if !ok {
			continue
		}
		shared = append(shared, cidr)
		community = community || routePref(r).community || routePref(s).community
		switch d := routePref(r).better(routePref(s)); {
		case d > 0:
			preferP = append(preferP, cidr)
		case d < 0:
			preferS = append(preferS, cidr)
		default:
			equal = append(equal, cidr)
		}
	}
	if len(preferP)+len(preferS)+len(equal) == 0 {
		c.add(name, probes.OrderVIF+11, "", probes.Warn,
			"advertise the same on-prem prefixes on both links so that either can carry return traffic",
			"no on-prem prefix is accepted on both %s and %s", prim.link.Name, sec.link.Name)
		return
	}
	pn, sn := prim.link.Name, sec.link.Name
	if ra, rb := linkRegion(*prim), linkRegion(*sec); ra != rb && !community {
		c.regionPreference(name, mode, prim, sec, ra, rb, shared)
		return
	}
	prepend := fmt.Sprintf("on the edge router of %s, prepend the on-prem ASN to the routes sent to AWS (route-map: set as-path prepend %d %d), or tag the routes on %s with community 7224:7300 and on %s with 7224:7100",
		sn, max(c.cfg.CustomerASN, 65000), max(c.cfg.CustomerASN, 65000), pn, sn)
	switch mode {
	case probes.ModeActivePassive:
		switch {
		case len(preferS) > 0:
			c.add(name, probes.OrderVIF+11, "", probes.Fail, prepend,
				"AWS prefers %s for return traffic to %s", role(sn, "secondary"), strings.Join(head(preferS, 5), ", "))
		case len(equal) > 0:
			c.add(name, probes.OrderVIF+11, "", probes.Fail, prepend,
				"AWS load-balances return traffic to %s over both links (same local preference and AS path length): return traffic does not follow %s",
				strings.Join(head(equal, 5), ", "), role(pn, "primary"))
		default:
			c.add(name, probes.OrderVIF+11, "", probes.Pass, "", "AWS prefers %s for return traffic to %s", role(pn, "primary"), strings.Join(head(preferP, 5), ", "))
		}
	default:
		if len(preferP)+len(preferS) > 0 {
			c.add(name, probes.OrderVIF+11, "", probes.Warn,
				"for active/active, advertise the prefixes on both links with the same AS path and no 7224:7x00 community",
				"active/active is configured but AWS prefers one link for %s", strings.Join(head(append(preferP, preferS...), 5), ", "))
			return
		}
		c.add(name, probes.OrderVIF+11, "", probes.Pass, "", "AWS balances return traffic to %s over both links", strings.Join(head(equal, 5), ", "))
	}
}

// notAdvertised judges prefixes AWS should advertise over a VIF and does
// not. When the DX gateway association's allowed prefixes leave them out,
// the association's line fails for it and names the fix; this line then
// warns and points there, so one broken piece is one failing line. Else it
// fails, with a fix that fits the gateway: a transit gateway association
// advertises its allowed prefixes as they are, a VGW association only the
// VPC's CIDR, and only when an allowed prefix is the same or wider
// (Direct Connect User Guide, "Allowed prefixes interactions",
// https://docs.aws.amazon.com/directconnect/latest/UserGuide/allowed-to-prefixes.html).
func (c *checker) notAdvertised(lv linkView, missing []string) (probes.CheckStatus, string, string) {
	var causes []string
	explained := true
	transit := lv.transit()
	for _, m := range missing {
		p, err := netip.ParsePrefix(m)
		if err != nil {
			explained = false
			continue
		}
		cause := c.associationLeavingOut(p)
		if cause == "" {
			explained = false
		} else if !slices.Contains(causes, cause) {
			causes = append(causes, cause)
		}
	}
	if c.s.gw != nil {
		for _, a := range c.s.gw.assocs {
			if ag := a.AssociatedGateway; ag != nil && ag.Type == dxtypes.GatewayTypeTransitGateway {
				transit = true
			}
		}
	}
	if explained && len(causes) > 0 {
		return probes.Warn,
			"fix " + strings.Join(causes, " and ") + " first: this follows from it",
			" (follows from " + strings.Join(causes, " and ") + ", whose allowed prefixes leave it out)"
	}
	if transit {
		return probes.Fail,
			"on a transit gateway association AWS advertises the allowed prefixes as they are: check that the association's allowed prefixes include " + strings.Join(missing, ", ") +
				" and that it is associated (aws.dxgw.association.*), and that the VIF's BGP session is up (aws.vif." + lv.link.Name + ".bgp)",
			""
	}
	if c.cfg.VirtualGatewayID != "" && c.s.gwID == "" {
		return probes.Fail,
			"check that VGW " + c.cfg.VirtualGatewayID + " is attached to the VPC whose CIDR " + strings.Join(missing, ", ") + " is (aws.vgw.*)",
			""
	}
	return probes.Fail,
		"check that the DX gateway association's allowed prefixes include " + strings.Join(missing, ", ") + " and that the gateway is associated with the VPC's VGW",
		""
}

// associationLeavingOut names the line of the DX gateway association whose
// allowed prefixes leave p out, as that line judges it (association,
// tgwAssociation), or "".
func (c *checker) associationLeavingOut(p netip.Prefix) string {
	if c.s.gw == nil {
		return ""
	}
	for _, a := range c.s.gw.assocs {
		if a.AssociationState != dxtypes.DirectConnectGatewayAssociationStateAssociated {
			continue
		}
		ag := deref(a.AssociatedGateway)
		gid := orDefault(deref(ag.Id), deref(a.VirtualGatewayId))
		var allowed []netip.Prefix
		for _, ap := range a.AllowedPrefixesToDirectConnectGateway {
			if pfx, err := netip.ParsePrefix(deref(ap.Cidr)); err == nil {
				allowed = append(allowed, pfx.Masked())
			}
		}
		covered := slices.ContainsFunc(allowed, func(x netip.Prefix) bool { return x.Bits() <= p.Bits() && x.Contains(p.Addr()) })
		if ag.Type == dxtypes.GatewayTypeTransitGateway {
			// The association's line fails for an expected prefix that is
			// not one of the allowed prefixes, and for a VPC CIDR they do
			// not cover.
			if !slices.Contains(allowed, p.Masked()) && (slices.Contains(c.site.Routing.ExpectedPrefixes, p) || !covered) {
				return "aws.dxgw.association." + gid
			}
			continue
		}
		if covered {
			continue
		}
		// A VGW association's line fails for a CIDR of its VPC that the
		// allowed prefixes do not cover.
		for _, g := range c.s.vgws {
			if g.id != gid {
				continue
			}
			for _, v := range g.vpcs {
				if d := c.s.vpcs[v]; d != nil && slices.ContainsFunc(d.cidrs, func(x netip.Prefix) bool { return x.Bits() <= p.Bits() && x.Contains(p.Addr()) }) {
					return "aws.dxgw.association." + gid
				}
			}
		}
	}
	return ""
}

// linkRegion is the Region the link's connection is associated with.
func linkRegion(lv linkView) string {
	if lv.conn != nil {
		return orDefault(deref(lv.conn.Region), lv.conn.key.region)
	}
	return orDefault(deref(lv.vif.Region), lv.vif.key.region)
}

// vpcRegions are the Regions of the gateways behind the DX gateway (or of
// the VGW): where the return traffic comes from.
func (c *checker) vpcRegions() []string {
	var out []string
	add := func(r string) {
		if r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if c.s.gw != nil {
		for _, a := range c.s.gw.assocs {
			if ag := a.AssociatedGateway; ag != nil && a.AssociationState == dxtypes.DirectConnectGatewayAssociationStateAssociated {
				add(deref(ag.Region))
			}
		}
	}
	for _, g := range c.s.vgws {
		add(orDefault(g.region, g.key.region))
	}
	for _, t := range c.s.tgws {
		add(t.region)
	}
	slices.Sort(out)
	return out
}

// regionPreference judges the return path when the two links' connections
// are associated with different Regions and no local-preference community
// is set: AWS then prefers the Direct Connect location nearer to the
// Region the traffic comes from, and AS_PATH (prepending) decides only
// between connections associated with the same Region (Direct Connect
// User Guide, "Routing policies and BGP communities", private and transit
// virtual interface routing policies,
// https://docs.aws.amazon.com/directconnect/latest/UserGuide/routing-and-bgp.html:
// "AS_PATH prepending does not work if the Direct Connect connection is in
// a different AWS Region than the VPC"). Only the local-preference
// communities rank across Regions.
func (c *checker) regionPreference(name, mode string, prim, sec *linkView, ra, rb string, shared []string) {
	pn, sn := prim.link.Name, sec.link.Name
	prefixes := strings.Join(head(shared, 5), ", ")
	regions := c.vpcRegions()
	why := fmt.Sprintf("%s's connection is associated with %s and %s's with %s, and the routes carry no local-preference community (7224:7100/7200/7300): AWS prefers the location nearer to the Region the traffic comes from; AS-path prepending decides only between connections of the same Region",
		pn, ra, sn, rb)
	communities := fmt.Sprintf("tag the routes sent to AWS with local-preference communities, the only preference that counts across Regions: 7224:7300 on %s and 7224:7100 on %s (route-map: set community 7224:7300 additive)", pn, sn)
	var preferred *linkView
	if len(regions) == 1 {
		switch regions[0] {
		case ra:
			preferred = prim
		case rb:
			preferred = sec
		}
	}
	order := probes.OrderVIF + 11
	switch {
	case preferred == nil:
		where := "the VPCs' Region is not known"
		if len(regions) > 0 {
			where = "the VPCs are in " + strings.Join(regions, ", ")
		}
		c.add(name, order, "", probes.Warn, communities,
			"which link AWS prefers for return traffic to %s depends on distance, not on the AS path: %s; %s", prefixes, why, where)
	case mode == probes.ModeActivePassive && preferred == prim:
		c.add(name, order, "", probes.Pass, "",
			"AWS prefers %s for return traffic to %s from the VPCs in %s: %s", role(pn, "primary"), prefixes, regions[0], why)
	case mode == probes.ModeActivePassive:
		c.add(name, order, "", probes.Fail, communities,
			"AWS prefers %s for return traffic to %s from the VPCs in %s, whatever the AS path: %s", role(sn, "secondary"), prefixes, regions[0], why)
	default:
		c.add(name, order, "", probes.Warn,
			fmt.Sprintf("links in different Regions are not balanced: accept that %s carries the return traffic (and make it the primary: routing.mode active_passive with routing.primary %s)", preferred.link.Name, preferred.link.Name),
			"active/active is configured but AWS prefers %s for return traffic to %s from the VPCs in %s: %s", preferred.link.Name, prefixes, regions[0], why)
	}
}
