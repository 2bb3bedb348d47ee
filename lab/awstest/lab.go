package awstest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
)

// IDs of the lab scenario.
const (
	LabAccount     = "111122223333"
	LabAccessKey   = "AKIALAB0000000000001"
	LabSecretKey   = "lab-secret-key-not-a-secret"
	LabRegion      = "us-east-1"
	LabConnection1 = "dxcon-lab00001"
	LabConnection2 = "dxcon-lab00002"
	LabVIF1        = "dxvif-lab00001"
	LabVIF2        = "dxvif-lab00002"
	LabDXGateway   = "3d1f2a7c-5b6e-4c8d-9a0b-1c2d3e4f5a6b"
	LabAssociation = "7e6d5c4b-3a29-4180-8f7e-6d5c4b3a2918"
	LabVGW         = "vgw-0d1c0e5f6a7b8c901"
	LabVPC         = "vpc-0a1b2c3d4e5f60718"
	LabRouteTable1 = "rtb-0c1d2e3f405162738"
	LabRouteTable2 = "rtb-0c1d2e3f405162739"
	LabOnPremCIDR  = "192.0.2.0/24"
	// The BGP peers of the lab's dual-stack VIFs: each VIF's IPv4 peering
	// and its IPv6 one (lab.PrimaryCustomer6 and the other addresses of
	// lab/addresses.go).
	LabPeer1   = "dxpeer-lab0001"
	LabPeer1v6 = "dxpeer-lab0061"
	LabPeer2   = "dxpeer-lab0002"
	LabPeer2v6 = "dxpeer-lab0062"
)

// labInstalledAt is when the lab's connections and routes came up.
var labInstalledAt = mustTime("2026-01-05T10:00:00Z")

// LabScenario returns a healthy Direct Connect setup matching the lab
// (lab/addresses.go): two dedicated 1 Gbps connections on different devices
// at two locations, a dual-stack private VIF on each (VLAN 101 and 102,
// customer ASN 65000; an IPv4 BGP peer on the /30 and an IPv6 one on the
// /125, the VIF's top-level addresses those of the IPv4 peering it was
// created with) attached to a DX gateway with Amazon ASN 64512, the gateway
// associated with a VGW attached to the VPC 198.18.0.0/16 and
// 2001:db8:1000::/56 (both allowed prefixes), and both of the VPC's route
// tables propagating the on-prem prefixes of both families from the VGW.
func LabScenario() *Scenario {
	yes := true
	installed := At(labInstalledAt)
	conn := func(id, name, loc, dev, logical string) Connection {
		return Connection{
			OwnerAccount: LabAccount, ConnectionID: id, ConnectionName: name,
			ConnectionState: "available", Region: LabRegion, Location: loc,
			Bandwidth: "1Gbps", AwsDevice: dev, AwsDeviceV2: dev, AwsLogicalDeviceID: logical,
			HasLogicalRedundancy: "no", JumboFrameCapable: &yes,
		}
	}
	type peering struct{ id, family, customer, amazon string }
	vif := func(id, conn, loc string, vlan int, dev string, peerings ...peering) VirtualInterface {
		var peers []BGPPeer
		for _, p := range peerings {
			peers = append(peers, BGPPeer{
				BgpPeerID: p.id, Asn: lab.OnPremASN, AddressFamily: p.family,
				AmazonAddress: p.amazon, CustomerAddress: p.customer,
				BgpPeerState: "available", BgpStatus: "up",
				AwsDeviceV2: dev, AwsLogicalDeviceID: dev,
			})
		}
		first := peerings[0]
		return VirtualInterface{
			OwnerAccount: LabAccount, VirtualInterfaceID: id, Location: loc,
			ConnectionID: conn, VirtualInterfaceType: "private",
			VirtualInterfaceName: fmt.Sprintf("dxwatch-lab-vlan%d", vlan),
			Vlan:                 vlan, Asn: lab.OnPremASN, AmazonSideAsn: lab.AmazonASN,
			AmazonAddress: first.amazon, CustomerAddress: first.customer, AddressFamily: first.family,
			VirtualInterfaceState: "available", Mtu: 1500, JumboFrameCapable: &yes,
			DirectConnectGatewayID: LabDXGateway, Region: LabRegion,
			AwsDeviceV2: dev, AwsLogicalDeviceID: dev,
			BgpPeers: peers,
		}
	}
	routes := func(vif string, prepend bool) []Route {
		path := []int64{lab.OnPremASN}
		if prepend {
			path = []int64{lab.OnPremASN, lab.OnPremASN, lab.OnPremASN}
		}
		return []Route{
			{VirtualInterfaceID: vif, Cidr: LabOnPremCIDR, AddressFamily: "ipv4", RouteDirection: "accepted",
				AsPath: []AsPathSegment{{Path: path, PathType: "seq"}}, RouteInstalledAt: installed},
			{VirtualInterfaceID: vif, Cidr: lab.VPCCIDR, AddressFamily: "ipv4", RouteDirection: "advertised",
				AsPath: []AsPathSegment{{Path: []int64{lab.AmazonASN}, PathType: "seq"}}, RouteInstalledAt: installed},
			{VirtualInterfaceID: vif, Cidr: lab.OnPremPrefix6, AddressFamily: "ipv6", RouteDirection: "accepted",
				AsPath: []AsPathSegment{{Path: path, PathType: "seq"}}, RouteInstalledAt: installed},
			{VirtualInterfaceID: vif, Cidr: lab.VPCCIDR6, AddressFamily: "ipv6", RouteDirection: "advertised",
				AsPath: []AsPathSegment{{Path: []int64{lab.AmazonASN}, PathType: "seq"}}, RouteInstalledAt: installed},
		}
	}
	table := func(id string, main bool) RouteTable {
		return RouteTable{
			RouteTableID: id, VpcID: LabVPC, Main: main, PropagatingVgws: []string{LabVGW},
			OwnerAccount: LabAccount, Region: LabRegion,
			Routes: []EC2Path{
				{DestinationCidrBlock: lab.VPCCIDR, GatewayID: "local", State: "active", Origin: "CreateRouteTable"},
				{DestinationCidrBlock: LabOnPremCIDR, GatewayID: LabVGW, State: "active", Origin: "EnableVgwRoutePropagation"},
				{DestinationIpv6CidrBlock: lab.VPCCIDR6, GatewayID: "local", State: "active", Origin: "CreateRouteTable"},
				{DestinationIpv6CidrBlock: lab.OnPremPrefix6, GatewayID: LabVGW, State: "active", Origin: "EnableVgwRoutePropagation"},
			},
		}
	}
	sc := &Scenario{
		Accounts: []Account{{AccountID: LabAccount, AccessKeyID: LabAccessKey}},
		Connections: []Connection{
			conn(LabConnection1, "dxwatch-lab-primary", "EqDC2", "EqDC2-123h49s71dabc", "EqDC2-123h49s71dabc"),
			conn(LabConnection2, "dxwatch-lab-secondary", "EqDC6", "EqDC6-2bo6hk5ds42lq", "EqDC6-2bo6hk5ds42lq"),
		},
		VirtualInterfaces: []VirtualInterface{
			vif(LabVIF1, LabConnection1, "EqDC2", lab.PrimaryVLAN, "EqDC2-123h49s71dabc",
				peering{LabPeer1, "ipv4", lab.PrimaryCustomer + "/30", lab.PrimaryAmazon + "/30"},
				peering{LabPeer1v6, "ipv6", lab.PrimaryCustomer6 + "/125", lab.PrimaryAmazon6 + "/125"}),
			vif(LabVIF2, LabConnection2, "EqDC6", lab.SecondaryVLAN, "EqDC6-2bo6hk5ds42lq",
				peering{LabPeer2, "ipv4", lab.SecondaryCustomer + "/30", lab.SecondaryAmazon + "/30"},
				peering{LabPeer2v6, "ipv6", lab.SecondaryCustomer6 + "/125", lab.SecondaryAmazon6 + "/125"}),
		},
		DirectConnectGateways: []DirectConnectGateway{{
			DirectConnectGatewayID: LabDXGateway, DirectConnectGatewayName: "dxwatch-lab",
			AmazonSideAsn: lab.AmazonASN, OwnerAccount: LabAccount, DirectConnectGatewayState: "available",
		}},
		Associations: []Association{{
			DirectConnectGatewayID: LabDXGateway, DirectConnectGatewayOwnerAccount: LabAccount,
			AssociationState: "associated", AssociationID: LabAssociation,
			AssociatedGateway: AssociatedGateway{ID: LabVGW, Type: "virtualPrivateGateway", OwnerAccount: LabAccount, Region: LabRegion},
			AllowedPrefixes:   []RouteFilterPrefix{{Cidr: lab.VPCCIDR}, {Cidr: lab.VPCCIDR6}},
			VirtualGatewayID:  LabVGW, VirtualGatewayRegion: LabRegion, VirtualGatewayOwnerAccount: LabAccount,
		}},
		Routes: append(routes(LabVIF1, false), routes(LabVIF2, true)...),
		VPNGateways: []VPNGateway{{
			VpnGatewayID: LabVGW, State: "available", Type: "ipsec.1", AmazonSideAsn: lab.AmazonASN,
			Attachments:  []VPCAttachment{{VpcID: LabVPC, State: "attached"}},
			OwnerAccount: LabAccount, Region: LabRegion,
		}},
		VPCs: []VPC{{VpcID: LabVPC, State: "available", CidrBlock: lab.VPCCIDR, Ipv6Cidrs: []string{lab.VPCCIDR6},
			OwnerAccount: LabAccount, Region: LabRegion}},
		RouteTables: []RouteTable{table(LabRouteTable1, true), table(LabRouteTable2, false)},
	}
	return sc
}

// SyncFromLab makes the BGP side of s's scenario follow the running lab,
// as AWS's API follows its own routers: each lab VIF's BGP peers' status,
// per family (up while the AWS router's session of that family with the
// edge is Established), and the routes each peering accepts from on-prem
// and advertises to it, with their AS paths, are read from the lab's aws1
// and aws2. Connections, gateways and route tables stay as the scenario
// says. Call it before each read that should see the lab as it is now (a
// `dxwatch verify`, say).
func SyncFromLab(ctx context.Context, l *lab.Lab, s *Server) error {
	type side struct {
		vif, host, customer, family string
		sessionUp                   bool
		accepted, adverts           []lab.PeerRoute
	}
	sides := []*side{
		{vif: LabVIF1, host: lab.HostAWS1, customer: lab.PrimaryCustomer, family: "ipv4"},
		{vif: LabVIF1, host: lab.HostAWS1, customer: lab.PrimaryCustomer6, family: "ipv6"},
		{vif: LabVIF2, host: lab.HostAWS2, customer: lab.SecondaryCustomer, family: "ipv4"},
		{vif: LabVIF2, host: lab.HostAWS2, customer: lab.SecondaryCustomer6, family: "ipv6"},
	}
	for _, sd := range sides {
		summary := l.BGPSummary
		if sd.family == "ipv6" {
			summary = l.BGPSummary6
		}
		sum, err := summary(ctx, sd.host)
		if err != nil {
			return err
		}
		sd.sessionUp = sum[sd.customer].State == "Established"
		if !sd.sessionUp {
			continue
		}
		if sd.accepted, err = l.PeerRoutes(ctx, sd.host, sd.customer, false); err != nil {
			return err
		}
		if sd.adverts, err = l.PeerRoutes(ctx, sd.host, sd.customer, true); err != nil {
			return err
		}
	}
	s.Update(func(sc *Scenario) {
		installed := At(labInstalledAt)
		route := func(sd *side, dir string, r lab.PeerRoute, path []int64) Route {
			for _, a := range r.ASPath {
				path = append(path, int64(a))
			}
			return Route{VirtualInterfaceID: sd.vif, Cidr: r.Prefix, AddressFamily: sd.family, RouteDirection: dir,
				AsPath: []AsPathSegment{{Path: path, PathType: "seq"}}, RouteInstalledAt: installed}
		}
		for _, sd := range sides {
			status := "down"
			if sd.sessionUp {
				status = "up"
			}
			if v := sc.VIF(sd.vif); v != nil {
				for i := range v.BgpPeers {
					if v.BgpPeers[i].AddressFamily == sd.family {
						v.BgpPeers[i].BgpStatus = status
					}
				}
			}
			sc.Routes = slices.DeleteFunc(sc.Routes, func(r Route) bool {
				return r.VirtualInterfaceID == sd.vif && r.AddressFamily == sd.family
			})
			for _, r := range sd.accepted {
				sc.Routes = append(sc.Routes, route(sd, "accepted", r, nil))
			}
			for _, r := range sd.adverts {
				// AWS puts its own ASN first on what it advertises.
				sc.Routes = append(sc.Routes, route(sd, "advertised", r, []int64{lab.AmazonASN}))
			}
		}
	})
	return nil
}

// StartInLab serves a fake of the lab scenario, with healthy CloudWatch
// series, on the lab agent host's loopback until the test ends, and returns it with the environment that
// points a dxwatch run in that host at it (no shared AWS config or
// credential files).
func StartInLab(t testing.TB, l *lab.Lab) (*Server, []string) {
	t.Helper()
	// CloudWatch's healthy series up to now: lab runs are minutes long,
	// well within the 30 minutes a datapoint is judged fresh.
	srv := New(WithLabMetrics(LabScenario(), MetricsHealthy, time.Now()))
	ln, err := l.Listen(lab.HostAgent, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	env := append(os.Environ(), LabScenario().Env("http://"+ln.Addr().String(), LabRegion)...)
	return srv, append(env, "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
}
