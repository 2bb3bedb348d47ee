package aws

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/dxwatch/dxwatch/probes"
)

func (c *checker) gateway() {
	s := c.s
	if s.gwID == "" {
		return
	}
	if s.gw == nil {
		if errors.Is(s.gwErr, errNotFound) {
			c.add("aws.dxgw.state", probes.OrderGateway, "", probes.Fail,
				"check aws.dx_gateway_id against the Direct Connect console, or add the account that owns the gateway to aws.accounts",
				"DX gateway %s not found in %s", s.gwID, c.where())
			return
		}
		c.unread("aws.dxgw.state", probes.OrderGateway, "", "DX gateway "+s.gwID, c.failureOf(s.gwErr, "directconnect:DescribeDirectConnectGateways"))
		return
	}
	gw := s.gw.gw
	home := s.gw.key.region
	switch st := gw.DirectConnectGatewayState; {
	case s.gw.lookupErr != nil:
		f := c.failureOf(s.gw.lookupErr, "directconnect:DescribeDirectConnectGateways")
		c.unread("aws.dxgw.state", probes.OrderGateway, "", "DX gateway "+s.gwID, f)
		if c.site.Routing.AmazonASN != 0 {
			c.unread("aws.dxgw.asn", probes.OrderGateway+1, "", "the Amazon-side ASN of DX gateway "+s.gwID, f)
		}
	case st == dxtypes.DirectConnectGatewayStateAvailable:
		c.add("aws.dxgw.state", probes.OrderGateway, "", probes.Pass, "", "DX gateway %s (%s) is available", s.gwID, deref(gw.DirectConnectGatewayName))
	case st == dxtypes.DirectConnectGatewayStatePending:
		c.add("aws.dxgw.state", probes.OrderGateway, "", probes.Warn, "wait for AWS to create the gateway", "DX gateway %s is pending", s.gwID)
	default:
		c.add("aws.dxgw.state", probes.OrderGateway, "", probes.Fail,
			"create a DX gateway ("+cli(home, "directconnect create-direct-connect-gateway --direct-connect-gateway-name dxwatch --amazon-side-asn", itoa(int64(c.site.Routing.AmazonASN)))+") and set aws.dx_gateway_id",
			"DX gateway %s is %s %s", s.gwID, st, deref(gw.StateChangeError))
	}
	if want := c.site.Routing.AmazonASN; want != 0 && s.gw.lookupErr == nil {
		got := deref(gw.AmazonSideAsn)
		if got != int64(want) {
			c.add("aws.dxgw.asn", probes.OrderGateway+1, "", probes.Fail,
				fmt.Sprintf("the Amazon-side ASN of a DX gateway cannot be changed: set routing.amazon_asn to %d and the edge routers' remote-as to match, or recreate the gateway with ASN %d", got, want),
				"DX gateway %s has Amazon-side ASN %d, routing.amazon_asn is %d", s.gwID, got, want)
		} else {
			c.add("aws.dxgw.asn", probes.OrderGateway+1, "", probes.Pass, "", "DX gateway %s has Amazon-side ASN %d as configured", s.gwID, got)
		}
	}
	if s.gw.err != nil {
		c.unread("aws.dxgw.associations", probes.OrderGateway+2, "", "the associations of DX gateway "+s.gwID,
			c.failureOf(s.gw.err, "directconnect:DescribeDirectConnectGatewayAssociations"))
		return
	}
	if len(s.gw.assocs) == 0 {
		c.add("aws.dxgw.associations", probes.OrderGateway+2, "", probes.Fail,
			"associate the VPC's virtual private gateway: "+cli(home, "directconnect create-direct-connect-gateway-association --direct-connect-gateway-id", s.gwID,
				"--gateway-id <vgw-id> --add-allowed-prefixes-to-direct-connect-gateway cidr=<vpc-cidr>"),
			"DX gateway %s is associated with no gateway", s.gwID)
		return
	}
	for _, a := range s.gw.assocs {
		c.association(a, home)
	}
}

func (c *checker) association(a dxtypes.DirectConnectGatewayAssociation, home string) {
	ag := deref(a.AssociatedGateway)
	gid := orDefault(deref(ag.Id), deref(a.VirtualGatewayId))
	name := "aws.dxgw.association." + gid
	assoc := deref(a.AssociationId)
	var allowed []netip.Prefix
	for _, p := range a.AllowedPrefixesToDirectConnectGateway {
		if pfx, err := netip.ParsePrefix(deref(p.Cidr)); err == nil {
			allowed = append(allowed, pfx.Masked())
		}
	}
	switch st := a.AssociationState; st {
	case dxtypes.DirectConnectGatewayAssociationStateAssociated:
	case dxtypes.DirectConnectGatewayAssociationStateAssociating, dxtypes.DirectConnectGatewayAssociationStateUpdating:
		c.add(name, probes.OrderGateway+2, "", probes.Warn, "wait for AWS to finish the association", "association %s with %s is %s", assoc, gid, st)
		return
	default:
		c.add(name, probes.OrderGateway+2, "", probes.Fail,
			"associate it again: "+cli(home, "directconnect create-direct-connect-gateway-association --direct-connect-gateway-id", c.s.gwID, "--gateway-id", gid),
			"association %s with %s is %s %s", assoc, gid, st, deref(a.StateChangeError))
		return
	}
	// Allowed prefixes must cover every CIDR of the VPC behind the gateway.
	var cidrs []netip.Prefix
	known := false
	for _, g := range c.s.vgws {
		if g.id != gid {
			continue
		}
		if f := c.s.failed("sts:GetCallerIdentity", "sts:AssumeRole"); !g.visible && f != nil {
			c.unread(name, probes.OrderGateway+2, "", "the owner of VGW "+gid, f)
			return
		}
		if g.err != nil && !errors.Is(g.err, errNotFound) && ag.Type != dxtypes.GatewayTypeTransitGateway {
			c.unread(name, probes.OrderGateway+2, "", "VGW "+gid+" (needed for its VPC's CIDRs)", c.failureOf(g.err, "ec2:DescribeVpnGateways"))
			return
		}
		for _, v := range g.vpcs {
			if err := c.s.vpcErr[v]; err != nil {
				c.unread(name, probes.OrderGateway+2, "", "VPC "+v+" (needed for its CIDRs)", c.failureOf(err, "ec2:DescribeVpcs"))
				return
			}
			if d := c.s.vpcs[v]; d != nil {
				cidrs = append(cidrs, d.cidrs...)
				known = true
			}
		}
	}
	if ag.Type == dxtypes.GatewayTypeTransitGateway {
		c.tgwAssociation(name, gid, assoc, home, allowed)
		return
	}
	if !known {
		c.add(name, probes.OrderGateway+2, "", probes.Warn,
			fmt.Sprintf("add account %s (the VGW's owner) to aws.accounts and region %s to aws.regions so that the VPC CIDRs can be checked", deref(ag.OwnerAccount), deref(ag.Region)),
			"associated with %s, allowed prefixes %s; the VPC behind it is not visible", gid, joinPrefixes(allowed))
		return
	}
	var uncovered []string
	for _, cidr := range cidrs {
		if !slices.ContainsFunc(allowed, func(p netip.Prefix) bool { return p.Bits() <= cidr.Bits() && p.Contains(cidr.Addr()) }) {
			uncovered = append(uncovered, cidr.String())
		}
	}
	if len(uncovered) > 0 {
		args := make([]string, len(uncovered))
		for i, u := range uncovered {
			args[i] = "cidr=" + u
		}
		c.add(name, probes.OrderGateway+2, "", probes.Fail,
			cli(home, "directconnect update-direct-connect-gateway-association --association-id", assoc, "--add-allowed-prefixes-to-direct-connect-gateway", strings.Join(args, " ")),
			"allowed prefixes %s of the association with %s do not cover VPC CIDR %s: AWS does not advertise it on-prem", joinPrefixes(allowed), gid, strings.Join(uncovered, ", "))
		return
	}
	c.add(name, probes.OrderGateway+2, "", probes.Pass, "", "associated with %s; allowed prefixes %s cover the VPC CIDRs %s", gid, joinPrefixes(allowed), joinPrefixes(cidrs))
}

func (c *checker) vgws() {
	for _, g := range c.s.vgws {
		name := "aws.vgw." + g.id + ".attachment"
		region := orDefault(g.region, g.key.region)
		switch {
		case !g.visible && c.s.failed("sts:GetCallerIdentity", "sts:AssumeRole") != nil:
			// Which configured account is the owner is unknown while STS
			// does not answer: do not ask to add an account.
			c.unread(name, probes.OrderGateway+3, "", fmt.Sprintf("VGW %s (owner %s)", g.id, g.owner), c.s.failed("sts:GetCallerIdentity", "sts:AssumeRole"))
			continue
		case !g.visible:
			c.add(name, probes.OrderGateway+3, "", probes.Skip, "",
				"VGW %s is in account %s, which is not in aws.accounts (add it to check the VPC and its route tables)", g.id, g.owner)
			continue
		case errors.Is(g.err, errNotFound):
			c.lookupProblem(name, probes.OrderGateway+3, "", "VGW "+g.id, "check the gateway association or aws.virtual_gateway_id", "ec2:DescribeVpnGateways")
			continue
		case g.err != nil:
			c.unread(name, probes.OrderGateway+3, "", "VGW "+g.id, c.failureOf(g.err, "ec2:DescribeVpnGateways"))
			continue
		}
		var attached, attaching []string
		for _, a := range g.gw.VpcAttachments {
			switch a.State {
			case ec2types.AttachmentStatusAttached:
				attached = append(attached, deref(a.VpcId))
			case ec2types.AttachmentStatusAttaching:
				attaching = append(attaching, deref(a.VpcId))
			}
		}
		switch {
		case len(attached) > 0:
			c.add(name, probes.OrderGateway+3, "", probes.Pass, "", "VGW %s is attached to %s", g.id, strings.Join(attached, ", "))
		case len(attaching) > 0:
			c.add(name, probes.OrderGateway+3, "", probes.Warn, "wait for the attachment to complete", "VGW %s is attaching to %s", g.id, strings.Join(attaching, ", "))
		default:
			c.add(name, probes.OrderGateway+3, "", probes.Fail,
				cli(region, "ec2 attach-vpn-gateway --vpn-gateway-id", g.id, "--vpc-id <vpc-id>"),
				"VGW %s (%s) is attached to no VPC", g.id, g.gw.State)
		}
	}
}

func (c *checker) tables() {
	// On-prem prefixes AWS accepted over any VIF: each should be in every
	// route table.
	onPrem := c.onPrem()
	for _, vpc := range sortedKeys(c.s.tableErr) {
		c.unread("aws.vpc."+vpc+".route_tables", probes.OrderPropagation, "", "the route tables of "+vpc,
			c.failureOf(c.s.tableErr[vpc], "ec2:DescribeRouteTables"))
	}
	for _, t := range c.s.tables {
		region := t.key.region
		pre := "aws.route_table." + t.id + "."
		if !t.propagates() {
			c.add(pre+"propagation", probes.OrderPropagation, "", probes.Fail,
				cli(region, "ec2 enable-vgw-route-propagation --route-table-id", t.id, "--gateway-id", t.vgw),
				"route table %s of %s does not propagate routes from %s: subnets using it cannot reach on-prem", t.id, t.vpc, t.vgw)
			c.add(pre+"routes", probes.OrderPropagation+1, "", probes.Skip, "", "route propagation is disabled on %s", t.id)
			continue
		}
		c.add(pre+"propagation", probes.OrderPropagation, "", probes.Pass, "", "route table %s of %s propagates routes from %s", t.id, t.vpc, t.vgw)

		var active, blackhole, static []string
		for _, r := range t.vgwRoutes() {
			switch {
			case !r.active:
				blackhole = append(blackhole, r.dest)
			case r.origin == ec2types.RouteOriginEnableVgwRoutePropagation:
				active = append(active, r.dest)
			default:
				static = append(static, r.dest)
			}
		}
		var missing []string
		for _, p := range onPrem {
			if !slices.Contains(active, p) && !slices.Contains(static, p) {
				missing = append(missing, p)
			}
		}
		switch {
		case len(blackhole) > 0:
			c.add(pre+"routes", probes.OrderPropagation+1, "", probes.Fail,
				fmt.Sprintf("the VGW no longer has a path for %s: check BGP on both VIFs (aws.vif.*.bgp) and the on-prem advertisement; a static route stays blackhole until removed: %s",
					strings.Join(blackhole, ", "), cli(region, "ec2 delete-route --route-table-id", t.id, "--destination-cidr-block", blackhole[0])),
				"route table %s: %s via %s is blackhole", t.id, strings.Join(blackhole, ", "), t.vgw)
		case len(active) == 0 && len(static) == 0:
			c.add(pre+"routes", probes.OrderPropagation+1, "", probes.Fail,
				"no on-prem prefix reaches the VGW: check BGP on the VIFs (aws.vif.*.bgp) and that the edge routers advertise the on-prem prefixes",
				"route table %s has no active route via %s", t.id, t.vgw)
		case len(missing) > 0:
			c.add(pre+"routes", probes.OrderPropagation+1, "", probes.Warn,
				"check the DX gateway association's allowed prefixes and the VGW; propagated routes can take a minute to appear",
				"route table %s lacks %s, which AWS accepted from on-prem; active: %s", t.id, strings.Join(missing, ", "), strings.Join(active, ", "))
		default:
			reason := fmt.Sprintf("route table %s: %s active via %s (EnableVgwRoutePropagation)", t.id, strings.Join(head(active, 5), ", "), t.vgw)
			if len(static) > 0 {
				reason += "; static: " + strings.Join(static, ", ")
			}
			c.add(pre+"routes", probes.OrderPropagation+1, "", probes.Pass, "", "%s", reason)
		}
	}
}
