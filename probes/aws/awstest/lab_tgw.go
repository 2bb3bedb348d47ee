package awstest

import "github.com/dxwatch/dxwatch/lab"

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
func LabTGWScenario() *Scenario {
	sc := LabScenario()
	for i := range sc.VirtualInterfaces {
		v := &sc.VirtualInterfaces[i]
		v.VirtualInterfaceType, v.Mtu = "transit", LabTGWTransitMTU
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
