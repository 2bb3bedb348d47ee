package awstest

import (
	"slices"

	"github.com/dxwatch/dxwatch/lab"
)

// IDs of the transit gateway scenario (LabTGWScenario).
const (
	LabTGW            = "tgw-0a1b2c3d4e5f60701"
	LabTGWASN         = 64513
	LabTGWAssociation = "8f7e6d5c-4b3a-4291-8e7d-6c5b4a392817"
	LabTGWAttachDXGW  = "tgw-attach-0d0000000000000a1"
	LabTGWAttachVPC   = "tgw-attach-0d0000000000000b1"
	LabTGWAttachVPC2  = "tgw-attach-0d0000000000000b2"
	LabTGWTableDX     = "tgw-rtb-0e00000000000000d"
	LabTGWTableVPC    = "tgw-rtb-0e00000000000000e"
	LabVPC2           = "vpc-0a1b2c3d4e5f60719"
	LabVPC2CIDR       = "198.19.0.0/16"
	LabVPC2RouteTable = "rtb-0c1d2e3f40516273a"
	LabTGWAllowedCIDR = "198.18.0.0/15"
	LabTGWTransitMTU  = 8500
	// LabMonitoredCIDR holds the lab's per-link monitored addresses
	// (lab.PrimaryProbeSource, lab.SecondaryProbeSource).
	LabMonitoredCIDR  = "198.51.100.0/24"
	labTGWSubnetA     = "subnet-0f00000000000000a"
	labTGWSubnetB     = "subnet-0f00000000000000b"
	labTGWSubnetVPC2A = "subnet-0f00000000000000c"
)

// LabTGWScenario returns a healthy Transit Gateway site on the lab's two
// connections: a transit VIF on each (VLAN 101 and 102, MTU 8500) attached
// to the DX gateway (Amazon ASN 64512), the gateway associated with a
// transit gateway (Amazon ASN 64513) with the allowed prefix 198.18.0.0/15,
// which summarises the two VPCs attached to the transit gateway
// (198.18.0.0/16 and 198.19.0.0/16). The DX gateway attachment is
// associated with one transit gateway route table, into which both VPC
// attachments propagate; the VPC attachments use another, into which the
// DX gateway attachment propagates the on-prem prefix; each VPC route
// table sends the on-prem prefix and the monitored addresses (each link's
// probe source, a /32 accepted over that link only) to the transit gateway
// with a static route (propagation does not apply to transit gateways).
//
// The transit gateway site is IPv4 only: the fake models no IPv6 in
// transit gateway route tables, so the VIFs' IPv6 peers, the IPv6 routes
// and the VPC's IPv6 CIDR of LabScenario are left out.
func LabTGWScenario() *Scenario {
	sc := LabScenario()
	for i := range sc.VirtualInterfaces {
		v := &sc.VirtualInterfaces[i]
		v.VirtualInterfaceType, v.Mtu = "transit", LabTGWTransitMTU
		v.BgpPeers = slices.DeleteFunc(v.BgpPeers, func(p BGPPeer) bool { return p.AddressFamily == "ipv6" })
	}
	sc.Routes = slices.DeleteFunc(sc.Routes, func(r Route) bool { return r.AddressFamily == "ipv6" })
	for i := range sc.VPCs {
		sc.VPCs[i].Ipv6Cidrs = nil
	}
	for i := range sc.Routes {
		if sc.Routes[i].RouteDirection == "advertised" {
			// On a transit VIF AWS advertises the association's allowed
			// prefixes, not the VPC CIDRs.
			sc.Routes[i].Cidr = LabTGWAllowedCIDR
		}
	}
	// Each link's monitored address (the lab's probe source) is
	// advertised over that link only.
	for _, ps := range []struct{ vif, addr string }{{LabVIF1, lab.PrimaryProbeSource}, {LabVIF2, lab.SecondaryProbeSource}} {
		sc.Routes = append(sc.Routes, Route{VirtualInterfaceID: ps.vif, Cidr: ps.addr + "/32", AddressFamily: "ipv4", RouteDirection: "accepted",
			AsPath: []AsPathSegment{{Path: []int64{lab.OnPremASN}, PathType: "seq"}}, RouteInstalledAt: At(labInstalledAt)})
	}
	sc.Associations = []Association{{
		DirectConnectGatewayID: LabDXGateway, DirectConnectGatewayOwnerAccount: LabAccount,
		AssociationState: "associated", AssociationID: LabTGWAssociation,
		AssociatedGateway: AssociatedGateway{ID: LabTGW, Type: "transitGateway", OwnerAccount: LabAccount, Region: LabRegion},
		AllowedPrefixes:   []RouteFilterPrefix{{Cidr: LabTGWAllowedCIDR}},
	}}
	sc.VPNGateways = nil
	sc.VPCs = append(sc.VPCs, VPC{VpcID: LabVPC2, State: "available", CidrBlock: LabVPC2CIDR, OwnerAccount: LabAccount, Region: LabRegion})
	table := func(id, vpc, cidr string, main bool) RouteTable {
		return RouteTable{
			RouteTableID: id, VpcID: vpc, Main: main, OwnerAccount: LabAccount, Region: LabRegion,
			Routes: []EC2Path{
				{DestinationCidrBlock: cidr, GatewayID: "local", State: "active", Origin: "CreateRouteTable"},
				{DestinationCidrBlock: LabOnPremCIDR, TransitGatewayID: LabTGW, State: "active", Origin: "CreateRoute"},
				{DestinationCidrBlock: LabMonitoredCIDR, TransitGatewayID: LabTGW, State: "active", Origin: "CreateRoute"},
			},
		}
	}
	sc.RouteTables = []RouteTable{
		table(LabRouteTable1, LabVPC, lab.VPCCIDR, true),
		table(LabRouteTable2, LabVPC, lab.VPCCIDR, false),
		table(LabVPC2RouteTable, LabVPC2, LabVPC2CIDR, true),
	}
	sc.TransitGateways = []TransitGateway{{
		TransitGatewayID: LabTGW, State: "available", AmazonSideAsn: LabTGWASN, OwnerAccount: LabAccount, Region: LabRegion,
	}}
	sc.TGWAttachments = []TGWAttachment{
		{TransitGatewayAttachmentID: LabTGWAttachDXGW, TransitGatewayID: LabTGW, ResourceType: "direct-connect-gateway",
			ResourceID: LabDXGateway, ResourceOwner: LabAccount, State: "available", RouteTableID: LabTGWTableDX},
		{TransitGatewayAttachmentID: LabTGWAttachVPC, TransitGatewayID: LabTGW, ResourceType: "vpc",
			ResourceID: LabVPC, ResourceOwner: LabAccount, State: "available", RouteTableID: LabTGWTableVPC,
			SubnetIDs: []string{labTGWSubnetA, labTGWSubnetB}},
		{TransitGatewayAttachmentID: LabTGWAttachVPC2, TransitGatewayID: LabTGW, ResourceType: "vpc",
			ResourceID: LabVPC2, ResourceOwner: LabAccount, State: "available", RouteTableID: LabTGWTableVPC,
			SubnetIDs: []string{labTGWSubnetVPC2A}},
	}
	sc.TGWRouteTables = []TGWRouteTable{
		{TransitGatewayRouteTableID: LabTGWTableDX, TransitGatewayID: LabTGW,
			Propagations: []string{LabTGWAttachVPC, LabTGWAttachVPC2},
			Routes: []TGWRoute{
				{DestinationCidrBlock: lab.VPCCIDR, AttachmentID: LabTGWAttachVPC, Type: "propagated", State: "active"},
				{DestinationCidrBlock: LabVPC2CIDR, AttachmentID: LabTGWAttachVPC2, Type: "propagated", State: "active"},
			}},
		{TransitGatewayRouteTableID: LabTGWTableVPC, TransitGatewayID: LabTGW,
			Propagations: []string{LabTGWAttachDXGW},
			Routes: []TGWRoute{
				{DestinationCidrBlock: LabOnPremCIDR, AttachmentID: LabTGWAttachDXGW, Type: "propagated", State: "active"},
				{DestinationCidrBlock: lab.PrimaryProbeSource + "/32", AttachmentID: LabTGWAttachDXGW, Type: "propagated", State: "active"},
				{DestinationCidrBlock: lab.SecondaryProbeSource + "/32", AttachmentID: LabTGWAttachDXGW, Type: "propagated", State: "active"},
			}},
	}
	return sc
}

// Break is one fault of a healthy scenario and the single check line it
// must fail, with the fix that line must give.
type Break struct {
	Name   string
	Mutate func(*Scenario)
	// Check is the one failing line; Fix is (part of) its fix.
	Check, Fix string
}

// TGWBreaks are the faults of a Transit Gateway site that each break
// exactly one line of LabTGWScenario's checks, as AWS would show them.
func TGWBreaks() []Break {
	const region = " --region " + LabRegion
	return []Break{
		{
			Name: "allowed prefixes do not cover a VPC",
			Mutate: func(sc *Scenario) {
				sc.Association(LabTGWAssociation).AllowedPrefixes = []RouteFilterPrefix{{Cidr: lab.VPCCIDR}}
				// AWS advertises what the association allows.
				for i := range sc.Routes {
					if sc.Routes[i].RouteDirection == "advertised" {
						sc.Routes[i].Cidr = lab.VPCCIDR
					}
				}
			},
			Check: "aws.dxgw.association." + LabTGW,
			Fix: "aws directconnect update-direct-connect-gateway-association --association-id " + LabTGWAssociation +
				" --add-allowed-prefixes-to-direct-connect-gateway cidr=" + LabVPC2CIDR + region,
		},
		{
			Name: "DX gateway attachment not propagated into the VPC attachments' route table",
			Mutate: func(sc *Scenario) {
				rt := sc.TGWRouteTable(LabTGWTableVPC)
				// Without the propagation its routes are gone too.
				rt.Propagations, rt.Routes = nil, nil
			},
			Check: "aws.tgw_route_table." + LabTGWTableVPC + ".propagation",
			Fix: "aws ec2 enable-transit-gateway-route-table-propagation --transit-gateway-route-table-id " + LabTGWTableVPC +
				" --transit-gateway-attachment-id " + LabTGWAttachDXGW + region,
		},
		{
			Name: "VPC route table without the on-prem route to the transit gateway",
			Mutate: func(sc *Scenario) {
				rt := sc.RouteTable(LabVPC2RouteTable)
				rt.Routes = slices.DeleteFunc(rt.Routes, func(r EC2Path) bool { return r.DestinationCidrBlock == LabOnPremCIDR })
			},
			Check: "aws.route_table." + LabVPC2RouteTable + ".routes",
			Fix: "aws ec2 create-route --route-table-id " + LabVPC2RouteTable + " --destination-cidr-block " + LabOnPremCIDR +
				" --transit-gateway-id " + LabTGW + region,
		},
		{
			Name: "blackhole in the transit gateway route table",
			Mutate: func(sc *Scenario) {
				rt := sc.TGWRouteTable(LabTGWTableVPC)
				rt.Routes = append(rt.Routes, TGWRoute{DestinationCidrBlock: "192.0.2.128/25", Type: "static", State: "blackhole"})
			},
			Check: "aws.tgw_route_table." + LabTGWTableVPC + ".routes",
			Fix:   "aws ec2 delete-transit-gateway-route --transit-gateway-route-table-id " + LabTGWTableVPC + " --destination-cidr-block 192.0.2.128/25" + region,
		},
		{
			Name: "hosted transit VIF not accepted",
			Mutate: func(sc *Scenario) {
				// As AWS shows a hosted VIF before acceptance: no gateway,
				// its BGP peer pending and down, no routes.
				v := sc.VIF(LabVIF2)
				v.VirtualInterfaceState, v.DirectConnectGatewayID = "confirming", ""
				v.BgpPeers[0].BgpPeerState, v.BgpPeers[0].BgpStatus = "pending", "down"
				sc.Routes = slices.DeleteFunc(sc.Routes, func(r Route) bool { return r.VirtualInterfaceID == LabVIF2 })
				rt := sc.TGWRouteTable(LabTGWTableVPC)
				rt.Routes = slices.DeleteFunc(rt.Routes, func(r TGWRoute) bool { return r.DestinationCidrBlock == lab.SecondaryProbeSource+"/32" })
			},
			Check: "aws.vif.secondary.state",
			Fix: "aws directconnect confirm-transit-virtual-interface --virtual-interface-id " + LabVIF2 +
				" --direct-connect-gateway-id " + LabDXGateway + region,
		},
		{
			Name:   "unequal MTU",
			Mutate: func(sc *Scenario) { sc.VIF(LabVIF2).Mtu = 1500 },
			Check:  "aws.vif.mtu",
			Fix:    "aws directconnect update-virtual-interface-attributes --virtual-interface-id " + LabVIF2 + " --mtu 8500" + region,
		},
	}
}
