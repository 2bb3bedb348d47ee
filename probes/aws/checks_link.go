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
		// dxwatch never calls DescribeLoa: each call re-issues the LOA-CFA
		// and moves loaIssueTime, the clock this check reads.
		download := fmt.Sprintf("dxwatch loa --connection %s --out %s-loa.pdf (or %s --query loaContent --output text | base64 -d > %s-loa.pdf)",
			id, id, cli(region, "directconnect describe-loa --connection-id", id), id)
		if cn.LoaIssueTime == nil {
			c.add(name, order, link, probes.Warn,
				"download the LOA-CFA with "+download+" and give it to the colocation provider to order the cross-connect; it is valid for 90 days from the download",
				"%s: the LOA-CFA has never been downloaded (AWS reports no loaIssueTime); the cross-connect cannot be ordered without it (state requested)", desc)
			return
		}
		age := c.now.Sub(*cn.LoaIssueTime)
		left := loaValidity - age
		if left <= 0 {
			c.add(name, order, link, probes.Fail,
				"the LOA-CFA is valid for 90 days: download a fresh one with "+download+" (a download re-issues it; open an AWS support case if it is not renewed) and give it to the colocation provider",
				"%s: LOA-CFA issued %s, %d days ago, expired %d days ago; the cross-connect is still pending",
				desc, cn.LoaIssueTime.Format(time.DateOnly), days(age), days(-left))
			return
		}
		c.add(name, order, link, probes.Warn,
			"give the LOA-CFA to the colocation provider to order the cross-connect before it expires; to get the document again: "+download+" (this re-issues it and restarts its 90 days)",
			"%s: LOA-CFA issued %s, %d days ago, %d days left of 90; the cross-connect is pending",
			desc, cn.LoaIssueTime.Format(time.DateOnly), days(age), days(left))
	case dxtypes.ConnectionStatePending:
		c.add(name, order, link, probes.Warn,
			"wait for AWS to finish; if it stays pending for more than 72 hours, check the cross-connect with the colocation provider and open an AWS support case",
			"%s is pending: the cross-connect is done and AWS is provisioning the port", desc)
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
	lr := fmt.Sprintf("hasLogicalRedundancy %s/%s", orDefault(string(a.HasLogicalRedundancy), "unknown"), orDefault(string(b.HasLogicalRedundancy), "unknown"))
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
			cmd = cli(region, "directconnect confirm-transit-virtual-interface --virtual-interface-id", id, "--direct-connect-gateway-id", orDefault(c.cfg.DXGatewayID, "<dx-gateway-id>"))
		case "public":
			cmd = cli(region, "directconnect confirm-public-virtual-interface --virtual-interface-id", id)
		default:
			cmd = cli(region, "directconnect confirm-private-virtual-interface --virtual-interface-id", id, c.gatewayFlag())
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

	// VLAN, addresses, family, ASNs.
	var bad []string
	if lv.link.VLAN != 0 && int(v.Vlan) != lv.link.VLAN {
		bad = append(bad, fmt.Sprintf("VLAN is %d, links[%d].vlan is %d", v.Vlan, lv.index, lv.link.VLAN))
	}
	if lv.link.AmazonAddress.IsValid() && !prefixEqual(deref(v.AmazonAddress), lv.link.AmazonAddress) {
		bad = append(bad, fmt.Sprintf("Amazon address is %s, links[%d] says %s", orDefault(deref(v.AmazonAddress), "none"), lv.index, lv.link.AmazonAddress))
	}
	if lv.link.CustomerAddress.IsValid() && !prefixEqual(deref(v.CustomerAddress), lv.link.CustomerAddress) {
		bad = append(bad, fmt.Sprintf("customer address is %s, links[%d] says %s", orDefault(deref(v.CustomerAddress), "none"), lv.index, lv.link.CustomerAddress))
	}
	if lv.link.AmazonAddress.IsValid() {
		want := dxtypes.AddressFamilyIPv4
		if lv.link.AmazonAddress.Addr().Is6() {
			want = dxtypes.AddressFamilyIPv6
		}
		if v.AddressFamily != "" && v.AddressFamily != want {
			bad = append(bad, fmt.Sprintf("address family is %s, the link's addresses are %s", v.AddressFamily, want))
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
			"VIF %s: VLAN %d, %s %s -> Amazon %s, ASN %d, Amazon ASN %d", id, v.Vlan, v.AddressFamily,
			deref(v.CustomerAddress), deref(v.AmazonAddress), asn, deref(v.AmazonSideAsn))
	}

	if lv.confirming() {
		c.unaccepted(lv)
		return
	}

	// BGP peers as AWS sees them.
	var down, waiting, up []string
	for _, p := range v.BgpPeers {
		d := fmt.Sprintf("%s (%s -> %s, %s/%s)", peerLabel(p), deref(p.CustomerAddress), deref(p.AmazonAddress), p.BgpPeerState, p.BgpStatus)
		switch {
		case p.BgpPeerState == dxtypes.BGPPeerStateAvailable && p.BgpStatus == dxtypes.BGPStatusUp:
			up = append(up, d)
		case p.BgpPeerState == dxtypes.BGPPeerStatePending || p.BgpPeerState == dxtypes.BGPPeerStateVerifying:
			waiting = append(waiting, d)
		default:
			down = append(down, d)
		}
	}
	bgpFix := fmt.Sprintf("check the BGP session on the edge router: neighbor %s remote-as %d on VLAN %d with the VIF's MD5 key, the customer address %s on the sub-interface (%s prints a sample configuration)",
		stripLen(deref(v.AmazonAddress)), deref(v.AmazonSideAsn), v.Vlan, deref(v.CustomerAddress),
		cli(region, "directconnect describe-router-configuration --virtual-interface-id", id))
	if len(bad) == 0 && v.VirtualInterfaceState == dxtypes.VirtualInterfaceStateAvailable {
		// AWS has the VIF up with the VLAN, addresses and ASNs dxwatch
		// expects: what is left to disagree on is the key (or the router's
		// own neighbor statement).
		bgpFix = fmt.Sprintf("the VIF is available with the expected VLAN %d, addresses and ASNs, so compare the MD5 key first: the edge router's `neighbor %s password` must equal the VIF's BGP authentication key (%s); then check that the router's neighbor statement uses remote-as %d and the customer address %s on VLAN %d",
			v.Vlan, stripLen(deref(v.AmazonAddress)),
			cli(region, "directconnect describe-virtual-interfaces --virtual-interface-id", id, "--query 'virtualInterfaces[0].bgpPeers[].authKey' --output text"),
			deref(v.AmazonSideAsn), deref(v.CustomerAddress), v.Vlan)
	}
	switch {
	case len(v.BgpPeers) == 0:
		c.add(pre+"bgp", probes.OrderVIF+2, link, probes.Fail, bgpFix, "VIF %s has no BGP peer", id)
	case len(down) > 0:
		c.add(pre+"bgp", probes.OrderVIF+2, link, probes.Fail, bgpFix, "VIF %s: BGP down for %s", id, strings.Join(down, ", "))
	case len(waiting) > 0:
		c.add(pre+"bgp", probes.OrderVIF+2, link, probes.Warn, "wait for AWS to provision the BGP peer", "VIF %s: BGP peer not ready: %s", id, strings.Join(waiting, ", "))
	default:
		c.add(pre+"bgp", probes.OrderVIF+2, link, probes.Pass, "", "VIF %s: BGP up: %s", id, strings.Join(up, ", "))
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
			"accept the VIF with a gateway: "+cli(region, "directconnect confirm-private-virtual-interface --virtual-interface-id", id, c.gatewayFlag()),
			"VIF %s is attached to no gateway", id)
	default:
		c.add(pre+"gateway", probes.OrderVIF+3, link, probes.Pass, "", "VIF %s is attached to %s", id, orDefault(dxgw, vgw))
	}

	c.vifRoutes(lv)
}

// vifRoutes checks the routes AWS accepted on and advertised over the VIF.
func (c *checker) vifRoutes(lv linkView) {
	v, link := lv.vif, lv.link.Name
	name := "aws.vif." + link + ".routes"
	id := deref(v.VirtualInterfaceId)
	if !v.routesDone {
		c.add(name, probes.OrderVIF+4, link, probes.Skip, "", "routes of VIF %s could not be listed: %v", id, v.routesErr)
		return
	}
	accepted := routeCIDRs(v.accepted)
	advertised := routeCIDRs(v.advertised)
	want := c.site.Routing.ExpectedPrefixes
	if len(want) == 0 {
		// The VPC CIDRs are what AWS must advertise: all of them must
		// have been read.
		if f := c.s.failed("ec2:DescribeVpnGateways", "ec2:DescribeVpcs"); f != nil {
			c.unread(name, probes.OrderVIF+4, link, "the VPC CIDRs that VIF "+id+" must advertise", f)
			return
		}
		for _, d := range c.s.vpcs {
			want = append(want, d.cidrs...)
		}
	}
	var missing []string
	for _, p := range want {
		if !slices.Contains(advertised, p.String()) {
			missing = append(missing, p.String())
		}
	}
	summary := fmt.Sprintf("AWS accepted %d prefixes from on-prem (%s) and advertises %d (%s)",
		len(accepted), strings.Join(head(accepted, 5), ", "), len(advertised), strings.Join(head(advertised, 5), ", "))
	limited := deref(v.VirtualInterfaceType) != "public"
	switch {
	case len(accepted) == 0:
		c.add(name, probes.OrderVIF+4, link, probes.Fail,
			fmt.Sprintf("advertise the on-prem prefixes from the edge router to %s (network statements or redistribution, and the outbound route-map)", stripLen(deref(v.AmazonAddress))),
			"VIF %s: AWS accepted no prefix from on-prem and advertises %d (%s)", id, len(advertised), strings.Join(head(advertised, 5), ", "))
	case limited && len(accepted) >= routeLimit:
		c.add(name, probes.OrderVIF+4, link, probes.Fail,
			"summarise the on-prem prefixes: AWS accepts at most 100 on a private or transit VIF and drops the session above it",
			"VIF %s: %d prefixes accepted, the limit is %d; %s", id, len(accepted), routeLimit, summary)
	case len(missing) > 0:
		c.add(name, probes.OrderVIF+4, link, probes.Fail,
			"check that the DX gateway association's allowed prefixes include "+strings.Join(missing, ", ")+" and that the gateway is associated with the VPC's VGW",
			"VIF %s: AWS does not advertise %s; %s", id, strings.Join(missing, ", "), summary)
	case limited && len(accepted) >= routeLimit*8/10:
		c.add(name, probes.OrderVIF+4, link, probes.Warn,
			"summarise the on-prem prefixes before reaching the limit of 100: above it AWS drops the BGP session",
			"VIF %s: %d prefixes accepted, close to the limit of %d; %s", id, len(accepted), routeLimit, summary)
	default:
		c.add(name, probes.OrderVIF+4, link, probes.Pass, "", "VIF %s: %s", id, summary)
	}
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

// pref is how AWS ranks a route it accepted for return traffic: the
// local-preference community first (7224:7300 high, 7224:7200 medium,
// 7224:7100 low; none is treated as medium), then the shorter AS path.
type pref struct {
	local  int
	asPath int
}

func routePref(r dxtypes.Route) pref {
	p := pref{local: 2}
	for _, cm := range r.Communities {
		switch cm {
		case "7224:7100":
			p.local = 1
		case "7224:7200":
			p.local = 2
		case "7224:7300":
			p.local = 3
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
func (c *checker) probeSources() {
	for _, lv := range c.s.links {
		src := lv.link.ProbeSource
		if !src.IsValid() {
			continue
		}
		link := lv.link.Name
		name := "aws.vif." + link + ".probe_source"
		order := probes.OrderVIF + 12
		if lv.confirming() {
			c.add(name, order, link, probes.Skip, "", "VIF %s is not accepted yet (see aws.vif.%s.state)", deref(lv.vif.VirtualInterfaceId), link)
			continue
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
			c.add(name, order, link, probes.Skip, "", "the accepted routes of every VIF are needed to tell which link AWS returns replies to probe source %s over", src)
		case best < 0:
			c.add(name, order, link, probes.Fail, advertise,
				"no VIF has a route to link %s's probe source %s among the routes AWS accepted: the replies to its pinned echoes have no way back", link, src)
		case len(on) > 1 || on[0] != link:
			c.add(name, order, link, probes.Fail, advertise,
				"AWS accepted its most specific route to link %s's probe source %s, %s, over %s: the replies to the link's pinned echoes may return over %s, so they do not show link %s on its own",
				link, src, bestCIDR, strings.Join(on, " and "), strings.Join(on, " or "), link)
		default:
			c.add(name, order, link, probes.Pass, "",
				"AWS returns replies to link %s's probe source %s over %s only (its most specific accepted route, %s)", link, src, link, bestCIDR)
		}
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
	var preferP, preferS, equal []string
	for _, r := range prim.vif.accepted {
		cidr := deref(r.Cidr)
		s, ok := secRoutes[cidr]
		if !ok {
			continue
		}
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
