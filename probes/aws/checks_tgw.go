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

// The transit gateway lines come after the DX gateway's and before the VPC
// route tables'.
const (
	orderTGW        = probes.OrderGateway + 4
	orderTGWTables  = probes.OrderPropagation + 2
	orderTGWVPCRTs  = probes.OrderPropagation + 3
	orderMonitoring = probes.OrderVIF + 13
)

// confirming says whether the link's VIF is a hosted VIF not yet accepted:
// it has no BGP session, no routes and no gateway until it is.
func (lv linkView) confirming() bool {
	return lv.vif != nil && lv.vif.VirtualInterfaceState == dxtypes.VirtualInterfaceStateConfirming
}

// transit says whether the link's VIF is a transit VIF.
func (lv linkView) transit() bool {
	return lv.vif != nil && deref(lv.vif.VirtualInterfaceType) == "transit"
}

// unaccepted adds the skips of a VIF that is waiting for acceptance.
func (c *checker) unaccepted(lv linkView) {
	pre := "aws.vif." + lv.link.Name + "."
	skip := func(pg peering, n string, order int) {
		c.addPeering(pg, pre+n+pg.suffix, order, lv.link.Name, probes.Skip, "",
			"VIF %s is not accepted yet (see %sstate): AWS starts its BGP session and attaches it to the gateway on acceptance", deref(lv.vif.VirtualInterfaceId), pre)
	}
	pgs := peeringsOf(lv)
	for _, pg := range pgs {
		skip(pg, "bgp", probes.OrderVIF+2)
	}
	skip(peering{all: true}, "gateway", probes.OrderVIF+3)
	for _, pg := range pgs {
		skip(pg, "routes", probes.OrderVIF+4)
	}
}

// onPrem returns the prefixes AWS accepted from on-prem over any VIF.
func (c *checker) onPrem() []string {
	var out []string
	for _, id := range c.s.vifIDs() {
		for _, p := range routeCIDRs(c.s.vifs[id].accepted) {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// monitoredAddresses explains, for each link on a transit VIF, how its
// data plane is probed: the peer /30 of a transit VIF is not reachable
// through a transit gateway, so only a monitored address per link (the
// link's probe source) gives a per-link signal.
func (c *checker) monitoredAddresses() {
	for _, lv := range c.s.links {
		if !lv.transit() {
			continue
		}
		link := lv.link.Name
		name := "aws.vif." + link + ".monitored_address"
		peer := stripLen(deref(lv.vif.AmazonAddress))
		src, dst := lv.link.ProbeSource, lv.link.PinnedTarget
		switch {
		case src.IsValid() && dst.IsValid():
			c.add(name, orderMonitoring, link, probes.Pass, "",
				"link %s is probed from its monitored address %s (advertised over %s only: see aws.vif.%s.probe_source) to %s; the Amazon peer address %s is not probed, as the peer /30 of a transit VIF is not reachable through a transit gateway",
				link, src, link, link, dst, peer)
		case src.IsValid():
			c.add(name, orderMonitoring, link, probes.Warn,
				fmt.Sprintf("set links[%d].pinned_target to a VPC address (an instance that answers pings) and have the edge route traffic from %s over link %s (policy routing by source: docs/probe-sources.md)", lv.index, src, link),
				"VIF %s is a transit VIF: its Amazon peer address %s, where link %s's pinned echoes go, is not reachable through the transit gateway",
				deref(lv.vif.VirtualInterfaceId), peer, link)
		default:
			c.add(name, orderMonitoring, link, probes.Warn,
				fmt.Sprintf("give link %s a monitored address: an address on dxwatch's host that the edge router advertises to AWS over this link only and routes over it by source, set as links[%d].probe_source, with a VPC address as links[%d].pinned_target (docs/probe-sources.md)", link, lv.index, lv.index),
				"VIF %s is a transit VIF: its Amazon peer address %s is not reachable through the transit gateway, so pinned echoes to it say nothing, and link %s has no monitored address (probe_source) to probe it by",
				deref(lv.vif.VirtualInterfaceId), peer, link)
		}
	}
}

// tgwAssociation checks a DX gateway association with a transit gateway:
// its allowed prefixes are what AWS advertises to on-prem, so they must
// cover every VPC CIDR behind the transit gateway and include the
// summaries the edges expect.
func (c *checker) tgwAssociation(name, gid, assoc, home string, allowed []netip.Prefix) {
	t := c.tgw(gid)
	covered := func(p netip.Prefix) bool {
		return slices.ContainsFunc(allowed, func(a netip.Prefix) bool { return a.Bits() <= p.Bits() && a.Contains(p.Addr()) })
	}
	var cidrs []netip.Prefix
	var unknown []string
	if t != nil && t.visible && t.vpcAttErr == nil {
		for _, a := range t.vpcAtts {
			vpc := deref(a.VpcId)
			if a.State != ec2types.TransitGatewayAttachmentStateAvailable {
				continue
			}
			got := c.vpcCIDRs(t, vpc)
			if len(got) == 0 {
				unknown = append(unknown, vpc)
			}
			cidrs = append(cidrs, got...)
		}
	}
	var uncovered, notAllowed []string
	for _, p := range cidrs {
		if !covered(p) {
			uncovered = append(uncovered, p.String())
		}
	}
	for _, p := range c.site.Routing.ExpectedPrefixes {
		if !slices.Contains(allowed, p.Masked()) {
			notAllowed = append(notAllowed, p.String())
		}
	}
	if len(uncovered)+len(notAllowed) > 0 {
		// An expected summary to add covers the VPC CIDRs within it:
		// adding those too would only repeat it.
		var add []string
		for _, u := range uncovered {
			up := netip.MustParsePrefix(u)
			if !slices.ContainsFunc(notAllowed, func(n string) bool {
				np, err := netip.ParsePrefix(n)
				return err == nil && np.Bits() <= up.Bits() && np.Contains(up.Addr())
			}) {
				add = append(add, u)
			}
		}
		add = append(add, notAllowed...)
		args := make([]string, len(add))
		for i, u := range add {
			args[i] = "cidr=" + u
		}
		var why []string
		if len(uncovered) > 0 {
			why = append(why, fmt.Sprintf("do not cover VPC CIDR %s behind transit gateway %s: AWS does not advertise it on-prem", strings.Join(uncovered, ", "), gid))
		}
		if len(notAllowed) > 0 {
			why = append(why, fmt.Sprintf("lack %s, which routing.expected_prefixes says the edges expect: on a transit gateway association the allowed prefixes are exactly what AWS advertises", strings.Join(notAllowed, ", ")))
		}
		c.add(name, probes.OrderGateway+2, "", probes.Fail,
			"add them (or a summary covering them) to the allowed prefixes: "+cli(home, "directconnect update-direct-connect-gateway-association --association-id", assoc, "--add-allowed-prefixes-to-direct-connect-gateway", strings.Join(args, " ")),
			"allowed prefixes %s of the association with transit gateway %s %s", joinPrefixes(allowed), gid, strings.Join(why, "; "))
		return
	}
	switch {
	case t == nil || !t.visible || t.vpcAttErr != nil:
		c.add(name, probes.OrderGateway+2, "", probes.Skip, "",
			"associated with transit gateway %s, allowed prefixes %s (advertised to on-prem); the VPCs behind it are not known (see aws.tgw.%s)", gid, joinPrefixes(allowed), gid)
	case len(unknown) > 0:
		c.add(name, probes.OrderGateway+2, "", probes.Warn,
			fmt.Sprintf("add the accounts that own %s to aws.accounts (with a role_arn) so that their CIDRs can be checked", strings.Join(unknown, ", ")),
			"associated with transit gateway %s, allowed prefixes %s cover %s; the CIDRs of %s are not known", gid, joinPrefixes(allowed), joinPrefixes(cidrs), strings.Join(unknown, ", "))
	default:
		c.add(name, probes.OrderGateway+2, "", probes.Pass, "",
			"associated with transit gateway %s; allowed prefixes %s (advertised to on-prem) cover the VPC CIDRs %s behind it", gid, joinPrefixes(allowed), joinPrefixes(cidrs))
	}
}

// vpcCIDRs returns the CIDRs of a VPC behind the transit gateway: read
// from the VPC when its owner is configured, else the routes its
// attachment propagates into the DX gateway attachment's route table.
func (c *checker) vpcCIDRs(t *tgwData, vpc string) []netip.Prefix {
	if d := t.vpcs[vpc]; d != nil {
		return d.cidrs
	}
	var out []netip.Prefix
	dx := t.dxAttachment(c.s.gwID)
	if dx == nil || t.tables[attachmentTable(*dx)] == nil {
		return nil
	}
	for _, r := range t.tables[attachmentTable(*dx)].routes {
		for _, a := range r.TransitGatewayAttachments {
			if deref(a.ResourceId) != vpc {
				continue
			}
			if p, err := netip.ParsePrefix(deref(r.DestinationCidrBlock)); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

func (c *checker) tgw(id string) *tgwData {
	for _, t := range c.s.tgws {
		if t.id == id {
			return t
		}
	}
	return nil
}

// roleFix asks for an account with a role: the owner of a part that
// cannot be read otherwise.
func roleFix(account, what string) string {
	return fmt.Sprintf("add account %s, the owner of %s, to aws.accounts with a read-only role: {name: <name>, account_id: %q, role_arn: \"arn:aws:iam::%s:role/dxwatch\"} (the role carries deploy/iam-policy.json and trusts dxwatch's identity)",
		account, what, account, account)
}

// tgws checks each transit gateway the DX gateway is associated with.
func (c *checker) tgws() {
	for _, t := range c.s.tgws {
		c.tgwLines(t)
	}
}

func (c *checker) tgwLines(t *tgwData) {
	pre := "aws.tgw." + t.id
	switch {
	case !t.visible && c.s.failed("sts:GetCallerIdentity", "sts:AssumeRole") != nil:
		c.unread(pre, orderTGW, "", fmt.Sprintf("transit gateway %s (owner %s)", t.id, t.owner), c.s.failed("sts:GetCallerIdentity", "sts:AssumeRole"))
		return
	case !t.visible:
		if _, ok := c.s.accountByID(t.owner); ok {
			c.add(pre, orderTGW, "", probes.Skip, fmt.Sprintf("add %s to aws.regions", t.region),
				"transit gateway %s is in region %s, which is not in aws.regions: its attachments, route tables and VPCs are not checked", t.id, t.region)
			return
		}
		fix := roleFix(t.owner, "transit gateway "+t.id)
		if !slices.Contains(c.cfg.Regions, t.region) {
			fix += ", and " + t.region + " to aws.regions"
		}
		c.add(pre, orderTGW, "", probes.Skip, fix,
			"transit gateway %s is in account %s (shared with the DX gateway's account through the association or AWS RAM), which is not in aws.accounts: its attachments, route tables and VPCs are not checked", t.id, t.owner)
		return
	case errors.Is(t.err, errNotFound):
		c.lookupProblem(pre, orderTGW, "", "transit gateway "+t.id, "check the DX gateway association (aws.dxgw.association."+t.id+")", "ec2:DescribeTransitGateways")
	case t.err != nil:
		c.unread(pre, orderTGW, "", "transit gateway "+t.id, c.failureOf(t.err, "ec2:DescribeTransitGateways"))
	case t.tgw.State == ec2types.TransitGatewayStateAvailable:
		c.add(pre, orderTGW, "", probes.Pass, "", "transit gateway %s (account %s, %s) is available", t.id, t.owner, t.region)
	case t.tgw.State == ec2types.TransitGatewayStatePending || t.tgw.State == ec2types.TransitGatewayStateModifying:
		c.add(pre, orderTGW, "", probes.Warn, "wait for AWS to finish", "transit gateway %s is %s", t.id, t.tgw.State)
	default:
		c.add(pre, orderTGW, "", probes.Fail, "associate the DX gateway with an available transit gateway", "transit gateway %s is %s", t.id, t.tgw.State)
	}
	if t.tgw != nil && t.tgw.Options != nil && c.s.gw != nil && c.s.gw.lookupErr == nil {
		tgwASN, dxASN := deref(t.tgw.Options.AmazonSideAsn), deref(c.s.gw.gw.AmazonSideAsn)
		if tgwASN == dxASN {
			c.add(pre+".asn", orderTGW, "", probes.Fail,
				fmt.Sprintf("give the transit gateway an Amazon-side ASN other than the DX gateway's: %s (or recreate the DX gateway with another ASN)",
					cli(t.region, "ec2 modify-transit-gateway --transit-gateway-id", t.id, "--options AmazonSideAsn=<asn other than "+itoa(dxASN)+">")),
				"transit gateway %s and DX gateway %s share the Amazon-side ASN %d: AWS requires them to differ", t.id, c.s.gwID, tgwASN)
		} else {
			c.add(pre+".asn", orderTGW, "", probes.Pass, "", "transit gateway %s has Amazon-side ASN %d, DX gateway %s %d", t.id, tgwASN, c.s.gwID, dxASN)
		}
	}

	// The DX gateway's attachment and its route table.
	var dx *ec2types.TransitGatewayAttachment
	switch {
	case t.attErr != nil:
		c.unread(pre+".dxgw_attachment", orderTGW+1, "", "the attachments of transit gateway "+t.id, c.failureOf(t.attErr, "ec2:DescribeTransitGatewayAttachments"))
	case t.dxAttachment(c.s.gwID) == nil:
		c.add(pre+".dxgw_attachment", orderTGW+1, "", probes.Fail,
			"the DX gateway association creates the attachment: check aws.dxgw.association."+t.id+", or associate again with "+cli(t.region, "directconnect create-direct-connect-gateway-association --direct-connect-gateway-id", c.s.gwID, "--gateway-id", t.id),
			"transit gateway %s has no attachment of DX gateway %s (type direct-connect-gateway)", t.id, c.s.gwID)
	default:
		dx = t.dxAttachment(c.s.gwID)
		att := deref(dx.TransitGatewayAttachmentId)
		switch rtb := attachmentTable(*dx); {
		case dx.State != ec2types.TransitGatewayAttachmentStateAvailable:
			c.add(pre+".dxgw_attachment", orderTGW+1, "", probes.Fail, "check the DX gateway association (aws.dxgw.association."+t.id+"); a pending attachment becomes available on its own",
				"attachment %s of DX gateway %s is %s", att, c.s.gwID, dx.State)
		case rtb == "":
			c.add(pre+".dxgw_attachment", orderTGW+1, "", probes.Fail,
				cli(t.region, "ec2 associate-transit-gateway-route-table --transit-gateway-route-table-id <tgw-rtb-id> --transit-gateway-attachment-id", att),
				"attachment %s of DX gateway %s is associated with no transit gateway route table: traffic from on-prem is dropped at the transit gateway", att, c.s.gwID)
		default:
			c.add(pre+".dxgw_attachment", orderTGW+1, "", probes.Pass, "", "attachment %s of DX gateway %s is available, associated with route table %s", att, c.s.gwID, rtb)
		}
	}

	// The VPC attachments.
	if t.vpcAttErr != nil {
		c.unread(pre+".vpcs", orderTGW+2, "", "the VPC attachments of transit gateway "+t.id, c.failureOf(t.vpcAttErr, "ec2:DescribeTransitGatewayVpcAttachments"))
	} else if len(t.vpcAtts) == 0 {
		c.add(pre+".vpcs", orderTGW+2, "", probes.Fail,
			cli(t.region, "ec2 create-transit-gateway-vpc-attachment --transit-gateway-id", t.id, "--vpc-id <vpc-id> --subnet-ids <one subnet per availability zone>"),
			"no VPC is attached to transit gateway %s", t.id)
	}
	for _, a := range t.vpcAtts {
		c.vpcAttachment(t, a)
	}

	c.tgwTables(t, dx)
	c.tgwVPCRouteTables(t)
}

func (c *checker) vpcAttachment(t *tgwData, a ec2types.TransitGatewayVpcAttachment) {
	vpc, att := deref(a.VpcId), deref(a.TransitGatewayAttachmentId)
	name := "aws.tgw." + t.id + ".vpc." + vpc
	var rtb string
	for _, g := range t.attachments {
		if deref(g.TransitGatewayAttachmentId) == att {
			rtb = attachmentTable(g)
		}
	}
	subnets := orDefault(strings.Join(a.SubnetIds, ", "), "none")
	switch a.State {
	case ec2types.TransitGatewayAttachmentStateAvailable:
	case ec2types.TransitGatewayAttachmentStatePendingAcceptance:
		c.add(name, orderTGW+2, "", probes.Fail,
			"the transit gateway's owner accepts it: "+cli(t.region, "ec2 accept-transit-gateway-vpc-attachment --transit-gateway-attachment-id", att),
			"attachment %s of %s (account %s) is waiting for acceptance", att, vpc, deref(a.VpcOwnerId))
		return
	case ec2types.TransitGatewayAttachmentStatePending, ec2types.TransitGatewayAttachmentStateModifying:
		c.add(name, orderTGW+2, "", probes.Warn, "wait for AWS to finish", "attachment %s of %s is %s", att, vpc, a.State)
		return
	default:
		c.add(name, orderTGW+2, "", probes.Fail,
			cli(t.region, "ec2 create-transit-gateway-vpc-attachment --transit-gateway-id", t.id, "--vpc-id", vpc, "--subnet-ids <one subnet per availability zone>"),
			"attachment %s of %s is %s", att, vpc, a.State)
		return
	}
	if rtb == "" && t.attErr == nil {
		c.add(name, orderTGW+2, "", probes.Fail,
			cli(t.region, "ec2 associate-transit-gateway-route-table --transit-gateway-route-table-id <tgw-rtb-id> --transit-gateway-attachment-id", att),
			"attachment %s of %s (subnets %s) is associated with no transit gateway route table: its traffic to on-prem is dropped", att, vpc, subnets)
		return
	}
	c.add(name, orderTGW+2, "", probes.Pass, "", "attachment %s of %s (account %s) is available in subnets %s, associated with route table %s",
		att, vpc, deref(a.VpcOwnerId), subnets, orDefault(rtb, "unknown"))
}

// tgwTables checks the transit gateway route tables: the ones the VPC
// attachments use must have the DX gateway attachment propagating into
// them and the on-prem prefixes active; the DX gateway attachment's must
// have the VPC CIDRs; none may have blackhole routes.
func (c *checker) tgwTables(t *tgwData, dx *ec2types.TransitGatewayAttachment) {
	if dx == nil {
		return
	}
	dxAtt, dxTable := deref(dx.TransitGatewayAttachmentId), attachmentTable(*dx)
	vpcTables := map[string][]string{} // table -> VPC attachments using it
	vpcAttOf := map[string]string{}    // VPC -> its attachment
	for _, g := range t.attachments {
		if g.ResourceType == ec2types.TransitGatewayAttachmentResourceTypeVpc && g.State == ec2types.TransitGatewayAttachmentStateAvailable {
			vpcAttOf[deref(g.ResourceId)] = deref(g.TransitGatewayAttachmentId)
			if rtb := attachmentTable(g); rtb != "" {
				vpcTables[rtb] = append(vpcTables[rtb], deref(g.ResourceId))
			}
		}
	}
	onPrem := c.onPrem()
	for _, id := range sortedKeys(t.tables) {
		tt := t.tables[id]
		pre := "aws.tgw_route_table." + id + "."
		forVPCs := len(vpcTables[id]) > 0
		if forVPCs {
			switch {
			case tt.propsErr != nil:
				c.unread(pre+"propagation", orderTGWTables, "", "the propagations of "+id, c.failureOf(tt.propsErr, "ec2:GetTransitGatewayRouteTablePropagations"))
			case !slices.ContainsFunc(tt.props, func(p ec2types.TransitGatewayRouteTablePropagation) bool {
				return deref(p.TransitGatewayAttachmentId) == dxAtt && p.State == ec2types.TransitGatewayPropagationStateEnabled
			}):
				c.add(pre+"propagation", orderTGWTables, "", probes.Fail,
					cli(t.region, "ec2 enable-transit-gateway-route-table-propagation --transit-gateway-route-table-id", id, "--transit-gateway-attachment-id", dxAtt),
					"DX gateway attachment %s does not propagate into route table %s, which %s use: the on-prem prefixes are not installed for them", dxAtt, id, strings.Join(vpcTables[id], ", "))
				c.add(pre+"routes", orderTGWTables+1, "", probes.Skip, "", "the DX gateway attachment does not propagate into %s", id)
				continue
			default:
				c.add(pre+"propagation", orderTGWTables, "", probes.Pass, "", "DX gateway attachment %s propagates into route table %s (used by %s)", dxAtt, id, strings.Join(vpcTables[id], ", "))
			}
		}
		if tt.routesErr != nil {
			c.unread(pre+"routes", orderTGWTables+1, "", "the routes of "+id, c.failureOf(tt.routesErr, "ec2:SearchTransitGatewayRoutes"))
			continue
		}
		var active, blackhole []string
		via := map[string]string{} // destination -> attachment of its active route
		for _, r := range tt.routes {
			dest := deref(r.DestinationCidrBlock)
			switch r.State {
			case ec2types.TransitGatewayRouteStateBlackhole:
				blackhole = append(blackhole, fmt.Sprintf("%s (%s)", dest, r.Type))
			case ec2types.TransitGatewayRouteStateActive:
				active = append(active, dest)
				for _, a := range r.TransitGatewayAttachments {
					via[dest] = deref(a.TransitGatewayAttachmentId)
				}
			}
		}
		coveredVia := func(p netip.Prefix, att string) bool {
			for dest, a := range via {
				d, err := netip.ParsePrefix(dest)
				if err == nil && a == att && d.Bits() <= p.Bits() && d.Contains(p.Addr()) {
					return true
				}
			}
			return false
		}
		var missing []string
		var fixes []string
		if forVPCs {
			for _, s := range onPrem {
				if p, err := netip.ParsePrefix(s); err == nil && !coveredVia(p, dxAtt) {
					missing = append(missing, s+" (on-prem)")
				}
			}
			if len(missing) > 0 {
				fixes = append(fixes, "check BGP on the transit VIFs (aws.vif.*.bgp): the on-prem prefixes come from the DX gateway attachment")
			}
		}
		if id == dxTable {
			for _, vpc := range sortedKeys(vpcAttOf) {
				for _, p := range c.vpcCIDRs(t, vpc) {
					if !coveredVia(p, vpcAttOf[vpc]) {
						missing = append(missing, p.String()+" ("+vpc+")")
						fixes = append(fixes, cli(t.region, "ec2 enable-transit-gateway-route-table-propagation --transit-gateway-route-table-id", id, "--transit-gateway-attachment-id", vpcAttOf[vpc]))
					}
				}
			}
		}
		used := []string{}
		if forVPCs {
			used = append(used, "VPC attachments "+strings.Join(vpcTables[id], ", "))
		}
		if id == dxTable {
			used = append(used, "DX gateway attachment "+dxAtt)
		}
		switch {
		case len(blackhole) > 0:
			c.add(pre+"routes", orderTGWTables+1, "", probes.Fail,
				fmt.Sprintf("traffic to a blackhole route is dropped: delete the static blackhole route (%s), or restore the attachment a propagated route came from",
					cli(t.region, "ec2 delete-transit-gateway-route --transit-gateway-route-table-id", id, "--destination-cidr-block", stripType(blackhole[0]))),
				"route table %s (used by %s) has blackhole routes: %s", id, strings.Join(used, " and "), strings.Join(blackhole, ", "))
		case len(missing) > 0:
			c.add(pre+"routes", orderTGWTables+1, "", probes.Fail, strings.Join(fixes, "; "),
				"route table %s (used by %s) has no active route to %s", id, strings.Join(used, " and "), strings.Join(missing, ", "))
		default:
			reason := fmt.Sprintf("route table %s (used by %s): %s active", id, strings.Join(used, " and "), strings.Join(head(active, 6), ", "))
			if tt.truncated {
				reason += " (more than 1000 routes: only the first were checked)"
			}
			c.add(pre+"routes", orderTGWTables+1, "", probes.Pass, "", "%s", reason)
		}
	}
}

func stripType(s string) string {
	d, _, _ := strings.Cut(s, " ")
	return d
}

// tgwVPCRouteTables checks that every route table of each VPC behind the
// transit gateway sends the on-prem prefixes to it: a static route, as
// route propagation does not apply to transit gateways.
func (c *checker) tgwVPCRouteTables(t *tgwData) {
	for _, vpc := range sortedKeys(t.hidden) {
		c.add("aws.vpc."+vpc+".route_tables", orderTGWVPCRTs, "", probes.Skip, roleFix(t.vpcOwner[vpc], vpc),
			"%s (attached to transit gateway %s) is in account %s, which is not in aws.accounts: its route tables are not checked", vpc, t.id, t.vpcOwner[vpc])
	}
	for _, vpc := range sortedKeys(t.rtErr) {
		c.unread("aws.vpc."+vpc+".route_tables", orderTGWVPCRTs, "", "the route tables of "+vpc, c.failureOf(t.rtErr[vpc], "ec2:DescribeRouteTables"))
	}
	onPrem := c.onPrem()
	for _, rt := range t.vpcRTs {
		name := "aws.route_table." + rt.id + ".routes"
		region := rt.key.region
		var missing, blackhole []string
		for _, s := range onPrem {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				continue
			}
			// The most specific route covering the prefix decides.
			best, bestBits := (*ec2types.Route)(nil), -1
			for i, r := range rt.rt.Routes {
				d, err := netip.ParsePrefix(deref(r.DestinationCidrBlock))
				if err == nil && d.Bits() <= p.Bits() && d.Contains(p.Addr()) && d.Bits() > bestBits {
					best, bestBits = &rt.rt.Routes[i], d.Bits()
				}
			}
			switch {
			case best == nil || deref(best.TransitGatewayId) != t.id:
				missing = append(missing, s)
			case best.State != ec2types.RouteStateActive:
				blackhole = append(blackhole, s)
			}
		}
		switch {
		case len(missing) > 0:
			fixes := make([]string, len(missing))
			for i, m := range missing {
				fixes[i] = cli(region, "ec2 create-route --route-table-id", rt.id, "--destination-cidr-block", m, "--transit-gateway-id", t.id)
			}
			c.add(name, orderTGWVPCRTs, "", probes.Fail,
				"add a static route to the transit gateway (route propagation does not apply to transit gateways): "+strings.Join(fixes, "; "),
				"route table %s of %s does not send %s to transit gateway %s: subnets using it cannot reach on-prem", rt.id, rt.vpc, strings.Join(missing, ", "), t.id)
		case len(blackhole) > 0:
			c.add(name, orderTGWVPCRTs, "", probes.Fail,
				fmt.Sprintf("the route's target is gone: replace it with %s", cli(region, "ec2 replace-route --route-table-id", rt.id, "--destination-cidr-block", blackhole[0], "--transit-gateway-id", t.id)),
				"route table %s of %s: the route to %s via %s is blackhole", rt.id, rt.vpc, strings.Join(blackhole, ", "), t.id)
		case len(onPrem) == 0:
			c.add(name, orderTGWVPCRTs, "", probes.Skip, "", "no on-prem prefix is known (AWS accepted none over the VIFs) to check route table %s against", rt.id)
		default:
			c.add(name, orderTGWVPCRTs, "", probes.Pass, "", "route table %s of %s sends %s to transit gateway %s", rt.id, rt.vpc, strings.Join(head(onPrem, 5), ", "), t.id)
		}
	}
}
