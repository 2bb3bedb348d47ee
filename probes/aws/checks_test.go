package aws

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/lab/golden"
	"github.com/dxwatch/dxwatch/probes"
)

// want is one expected check verdict; every string in has must appear in
// the check's reason or fix.
type want struct {
	check  string
	status probes.CheckStatus
	has    []string
}

func TestLabScenarioPasses(t *testing.T) {
	_, url := fake(t, awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsHealthy, fixedNow))
	p, logs := testProbe(t, labConfig(), labSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v\nlogs:\n%s", err, logs)
	}
	checks := p.Checks()
	for _, c := range checks {
		if c.Status != probes.Pass {
			t.Errorf("%s: %s: %s (fix: %s)", c.Name, c.Status, c.Reason, c.Fix)
		}
	}
	golden.Check(t, "testdata/lab_checks.golden", []byte(dumpChecks(checks)))
	if logs.String() != "" {
		t.Errorf("a good poll logged:\n%s", logs)
	}
}

func TestChecks(t *testing.T) {
	conn1 := func(sc *awstest.Scenario) *awstest.Connection { return sc.Connection(awstest.LabConnection1) }
	vif1 := func(sc *awstest.Scenario) *awstest.VirtualInterface { return sc.VIF(awstest.LabVIF1) }
	routesOf := func(sc *awstest.Scenario, vif, dir string) (out []*awstest.Route) {
		for i := range sc.Routes {
			if sc.Routes[i].VirtualInterfaceID == vif && sc.Routes[i].RouteDirection == dir {
				out = append(out, &sc.Routes[i])
			}
		}
		return out
	}
	dropRoutes := func(sc *awstest.Scenario, vif, dir string) {
		var keep []awstest.Route
		for _, r := range sc.Routes {
			if r.VirtualInterfaceID != vif || r.RouteDirection != dir {
				keep = append(keep, r)
			}
		}
		sc.Routes = keep
	}
	addAccepted := func(sc *awstest.Scenario, vif string, n int) {
		for i := range n {
			sc.Routes = append(sc.Routes, awstest.Route{
				VirtualInterfaceID: vif, Cidr: fmt.Sprintf("10.%d.%d.0/24", i/256, i%256),
				RouteDirection: "accepted", AddressFamily: "ipv4",
			})
		}
	}
	addAccepted6 := func(sc *awstest.Scenario, vif string, n int) {
		for i := range n {
			sc.Routes = append(sc.Routes, awstest.Route{
				VirtualInterfaceID: vif, Cidr: fmt.Sprintf("2001:db8:%x::/48", i),
				RouteDirection: "accepted", AddressFamily: "ipv6",
			})
		}
	}
	addRoute := func(sc *awstest.Scenario, vif, cidr string) {
		sc.Routes = append(sc.Routes, awstest.Route{VirtualInterfaceID: vif, Cidr: cidr, RouteDirection: "accepted", AddressFamily: "ipv4"})
	}
	tests := []struct {
		name   string
		mutate func(*awstest.Scenario)
		config func(*Config)
		site   func(*probes.Site)
		want   []want
	}{
		{
			name:   "hosted connection awaiting acceptance",
			mutate: func(sc *awstest.Scenario) { conn1(sc).ConnectionState = "ordering"; conn1(sc).PartnerName = "Pureport" },
			want: []want{{"aws.connection.primary.state", probes.Fail, []string{
				"waiting for you to accept", "via Pureport",
				"aws directconnect confirm-connection --connection-id dxcon-lab00001 --region us-east-1",
			}}},
		},
		{
			// API reference: requested stays until the LOA is sent; no
			// LOA-CFA exists yet, so no age and no download.
			name:   "connection requested: no LOA-CFA yet",
			mutate: func(sc *awstest.Scenario) { conn1(sc).ConnectionState = "requested" },
			want: []want{{"aws.connection.primary.state", probes.Warn, []string{
				"is requested: AWS has accepted the order and has not issued the LOA-CFA yet", "72 hours",
			}}},
		},
		{
			name: "LOA issued 12 days ago",
			mutate: func(sc *awstest.Scenario) {
				conn1(sc).ConnectionState = "pending"
				conn1(sc).LoaIssueTime = awstest.At(fixedNow.Add(-12 * 24 * time.Hour))
			},
			want: []want{{"aws.connection.primary.state", probes.Warn, []string{
				"is pending: LOA-CFA issued 2026-01-20, 12 days ago, 78 days left of 90 days",
				"from when the port is up or 90 days after the LOA-CFA was issued",
				"dxwatch loa --connection dxcon-lab00001 --out dxcon-lab00001-loa.pdf",
				"aws directconnect describe-loa --connection-id dxcon-lab00001 --region us-east-1",
				"this re-issues it and restarts its 90 days",
			}}},
		},
		{
			// 80 days and 5 hours ago leaves 9 days 19 hours: not "9 days".
			name: "LOA issued 80 days and some hours ago",
			mutate: func(sc *awstest.Scenario) {
				conn1(sc).ConnectionState = "pending"
				conn1(sc).LoaIssueTime = awstest.At(fixedNow.Add(-(80*24 + 5) * time.Hour))
			},
			want: []want{{"aws.connection.primary.state", probes.Warn, []string{"80 days 5 hours ago, 9 days 19 hours left of 90 days"}}},
		},
		{
			name: "LOA expired",
			mutate: func(sc *awstest.Scenario) {
				conn1(sc).ConnectionState = "pending"
				conn1(sc).LoaIssueTime = awstest.At(fixedNow.Add(-100 * 24 * time.Hour))
			},
			want: []want{{"aws.connection.primary.state", probes.Fail, []string{"expired 10 days ago", "download a fresh one", "whichever comes first"}}},
		},
		{
			// A hosted connection has no LOA-CFA of the customer's.
			name: "hosted connection pending",
			mutate: func(sc *awstest.Scenario) {
				conn1(sc).ConnectionState, conn1(sc).PartnerName = "pending", "Megaport"
			},
			want: []want{{"aws.connection.primary.state", probes.Warn, []string{"is pending: approved and being initialised by AWS and Megaport", "wait for Megaport"}}},
		},
		{
			name:   "LOA without issue time",
			mutate: func(sc *awstest.Scenario) { conn1(sc).ConnectionState = "pending" },
			want: []want{{"aws.connection.primary.state", probes.Warn, []string{
				"is pending: the LOA-CFA has never been downloaded (AWS reports no loaIssueTime)",
				"download the LOA-CFA with dxwatch loa --connection dxcon-lab00001",
			}}},
		},
		{
			name:   "connection down",
			mutate: func(sc *awstest.Scenario) { conn1(sc).ConnectionState = "down" },
			want:   []want{{"aws.connection.primary.state", probes.Fail, []string{"is down", "cross-connect"}}},
		},
		{
			name:   "hosted connection rejected",
			mutate: func(sc *awstest.Scenario) { conn1(sc).ConnectionState = "rejected" },
			want:   []want{{"aws.connection.primary.state", probes.Fail, []string{"rejected", "links[0].connection_id"}}},
		},
		{
			name:   "connection deleted",
			mutate: func(sc *awstest.Scenario) { conn1(sc).ConnectionState = "deleted" },
			want:   []want{{"aws.connection.primary.state", probes.Fail, []string{"is deleted"}}},
		},
		{
			name:   "connection not visible",
			mutate: func(sc *awstest.Scenario) { sc.Connections = sc.Connections[1:] },
			want: []want{{"aws.connection.primary.state", probes.Fail, []string{
				"connection dxcon-lab00001 not found in accounts default (111122223333), regions us-east-1",
			}}},
		},
		{
			name: "bandwidth and location as configured",
			config: func(c *Config) {
				c.Links = []LinkConfig{{Name: "primary", Bandwidth: "10Gbps", Location: "EqDC2"}}
			},
			want: []want{
				{"aws.connection.primary.bandwidth", probes.Fail, []string{"is 1Gbps, the config says 10Gbps"}},
				{"aws.connection.primary.location", probes.Pass, []string{"at EqDC2 as configured"}},
			},
		},
		{
			name: "both connections on one device and location",
			mutate: func(sc *awstest.Scenario) {
				c2 := sc.Connection(awstest.LabConnection2)
				c1 := conn1(sc)
				c2.AwsDeviceV2, c2.AwsLogicalDeviceID, c2.Location = c1.AwsDeviceV2, c1.AwsLogicalDeviceID, c1.Location
			},
			want: []want{
				{"aws.redundancy.devices", probes.Fail, []string{"same AWS device EqDC2-123h49s71dabc", "hasLogicalRedundancy no/no, whether a connection supports a secondary BGP peer in the same address family"}},
				{"aws.redundancy.location", probes.Warn, []string{"both connections are at EqDC2"}},
			},
		},
		{
			name:   "hosted VIF awaiting acceptance",
			mutate: func(sc *awstest.Scenario) { vif1(sc).VirtualInterfaceState = "confirming" },
			want: []want{{"aws.vif.primary.state", probes.Fail, []string{
				"aws directconnect confirm-private-virtual-interface --virtual-interface-id dxvif-lab00001 --direct-connect-gateway-id " + awstest.LabDXGateway + " --region us-east-1",
			}}},
		},
		{
			name: "hosted transit VIF awaiting acceptance",
			mutate: func(sc *awstest.Scenario) {
				vif1(sc).VirtualInterfaceState, vif1(sc).VirtualInterfaceType = "confirming", "transit"
			},
			want: []want{{"aws.vif.primary.state", probes.Fail, []string{"aws directconnect confirm-transit-virtual-interface --virtual-interface-id dxvif-lab00001"}}},
		},
		{
			// Without aws.dx_gateway_id the gateway is the one the other
			// link's VIF is attached to, not a placeholder.
			name: "hosted transit VIF awaiting acceptance, gateway discovered",
			mutate: func(sc *awstest.Scenario) {
				vif1(sc).VirtualInterfaceState, vif1(sc).VirtualInterfaceType, vif1(sc).DirectConnectGatewayID = "confirming", "transit", ""
			},
			config: func(c *Config) { c.DXGatewayID = "" },
			want: []want{{"aws.vif.primary.state", probes.Fail, []string{
				"aws directconnect confirm-transit-virtual-interface --virtual-interface-id dxvif-lab00001 --direct-connect-gateway-id " + awstest.LabDXGateway + " --region us-east-1",
			}}},
		},
		{
			name:   "VIF down",
			mutate: func(sc *awstest.Scenario) { vif1(sc).VirtualInterfaceState = "down" },
			want:   []want{{"aws.vif.primary.state", probes.Fail, []string{"VIF dxvif-lab00001 is down", "VLAN 101", "describe-router-configuration"}}},
		},
		{
			name:   "VIF deleted",
			mutate: func(sc *awstest.Scenario) { vif1(sc).VirtualInterfaceState = "deleted" },
			want:   []want{{"aws.vif.primary.state", probes.Fail, []string{"is deleted"}}},
		},
		{
			name:   "VIF under failover test",
			mutate: func(sc *awstest.Scenario) { vif1(sc).VirtualInterfaceState = "testing" },
			want:   []want{{"aws.vif.primary.state", probes.Warn, []string{"stop-bgp-failover-test"}}},
		},
		{
			name: "VIF VLAN, addresses and ASN differ from the config",
			mutate: func(sc *awstest.Scenario) {
				v := vif1(sc)
				v.Vlan, v.AmazonAddress, v.Asn = 201, "169.254.99.1/30", 65001
			},
			want: []want{{"aws.vif.primary.config", probes.Fail, []string{
				"VLAN is 201, links[0].vlan is 101", "Amazon address is 169.254.99.1/30, links[0] says 169.254.10.1/30",
				"customer ASN is 65001, aws.customer_asn is 65000",
			}}},
		},
		{
			name: "BGP peer down",
			mutate: func(sc *awstest.Scenario) {
				vif1(sc).BgpPeers[0].BgpStatus = "down"
			},
			want: []want{{"aws.vif.primary.bgp", probes.Fail, []string{"BGP down for dxpeer-lab0001", "compare the MD5 key first", "neighbor 169.254.10.1 password", "bgpPeers[?addressFamily=='ipv4'].authKey", "remote-as 64512"}},
				{"aws.vif.primary.bgp.ipv6", probes.Pass, []string{"IPv6 BGP up: dxpeer-lab0061"}}},
		},
		{
			// A dual-stack VIF's IPv6 peering fails on its own: its line
			// names the family, the IPv6 neighbor and that peer's key; the
			// IPv4 line still passes.
			name: "IPv6 BGP peer down",
			mutate: func(sc *awstest.Scenario) {
				vif1(sc).BgpPeers[1].BgpStatus = "down"
			},
			want: []want{
				{"aws.vif.primary.bgp.ipv6", probes.Fail, []string{"IPv6 BGP down for dxpeer-lab0061 (2001:db8:10::2/125 -> 2001:db8:10::1/125, available/down)",
					"compare the MD5 key first", "neighbor 2001:db8:10::1 password", "the VIF's IPv6 peer (each peering has its own)",
					"bgpPeers[?addressFamily=='ipv6'].authKey"}},
				{"aws.vif.primary.bgp", probes.Pass, []string{"IPv4 BGP up: dxpeer-lab0001"}},
			},
		},
		{
			name: "IPv6 peer on other addresses than the config's",
			mutate: func(sc *awstest.Scenario) {
				vif1(sc).BgpPeers[1].AmazonAddress, vif1(sc).BgpPeers[1].CustomerAddress = "2001:db8:99::1/125", "2001:db8:99::2/125"
			},
			want: []want{
				{"aws.vif.primary.config.ipv6", probes.Fail, []string{"Amazon address is 2001:db8:99::1/125, links[0].ipv6 says 2001:db8:10::1/125",
					"customer address is 2001:db8:99::2/125", "correct links[0].ipv6", "delete-bgp-peer --virtual-interface-id dxvif-lab00001 --bgp-peer-id dxpeer-lab0061"}},
				{"aws.vif.primary.config", probes.Pass, nil},
			},
		},
		{
			// A VIF created with its IPv6 peering has the IPv6 addresses on
			// top; the link's first peering (IPv4) is its IPv4 peer.
			name: "dual-stack VIF created IPv6 first",
			mutate: func(sc *awstest.Scenario) {
				v := vif1(sc)
				v.AddressFamily, v.AmazonAddress, v.CustomerAddress = "ipv6", "2001:db8:10::1/125", "2001:db8:10::2/125"
				v.BgpPeers[0].BgpStatus = "down"
			},
			want: []want{
				{"aws.vif.primary.config", probes.Pass, []string{"VLAN 101, ipv4 169.254.10.2/30 -> Amazon 169.254.10.1/30"}},
				{"aws.vif.primary.config.ipv6", probes.Pass, nil},
				{"aws.vif.primary.bgp", probes.Fail, []string{"neighbor 169.254.10.1 password", "customer address 169.254.10.2/30"}},
				{"aws.vif.primary.bgp.ipv6", probes.Pass, nil},
			},
		},
		{
			name: "no IPv6 peer on a dual-stack link's VIF",
			mutate: func(sc *awstest.Scenario) {
				vif1(sc).BgpPeers = vif1(sc).BgpPeers[:1]
			},
			want: []want{
				{"aws.vif.primary.config.ipv6", probes.Fail, []string{"VIF dxvif-lab00001 has no IPv6 BGP peer; links[0].ipv6 names one",
					"create-bgp-peer --virtual-interface-id dxvif-lab00001 --new-bgp-peer addressFamily=ipv6,asn=65000"}},
				{"aws.vif.primary.bgp.ipv6", probes.Skip, []string{"see aws.vif.primary.config.ipv6"}},
				{"aws.vif.primary.bgp", probes.Pass, nil},
			},
		},
		{
			// API reference (BGPPeer): "unknown: The BGP peer status is not
			// available": not a failure.
			name:   "BGP status unknown",
			mutate: func(sc *awstest.Scenario) { vif1(sc).BgpPeers[0].BgpStatus = "unknown" },
			want: []want{{"aws.vif.primary.bgp", probes.Warn, []string{
				"AWS has no IPv4 BGP status for dxpeer-lab0001", "bgpStatus unknown: not available", "nothing to change",
			}}},
		},
		{
			// A 4-byte ASN comes in asnLong with asn 0 (API reference,
			// VirtualInterface).
			name:   "four-byte customer ASN as configured",
			mutate: func(sc *awstest.Scenario) { asn := int64(4200000001); vif1(sc).AsnLong = &asn },
			config: func(c *Config) { c.CustomerASN = 4200000001 },
			want:   []want{{"aws.vif.primary.config", probes.Pass, []string{"ASN 4200000001"}}},
		},
		{
			name:   "four-byte customer ASN differs from the config",
			mutate: func(sc *awstest.Scenario) { asn := int64(4200000001); vif1(sc).AsnLong = &asn },
			want:   []want{{"aws.vif.primary.config", probes.Fail, []string{"customer ASN is 4200000001, aws.customer_asn is 65000"}}},
		},
		{
			name:   "VIF on another DX gateway",
			mutate: func(sc *awstest.Scenario) { vif1(sc).DirectConnectGatewayID = "00000000-0000-4000-8000-000000000000" },
			want:   []want{{"aws.vif.primary.gateway", probes.Fail, []string{"not to DX gateway " + awstest.LabDXGateway}}},
		},
		{
			name:   "no on-prem prefix accepted",
			mutate: func(sc *awstest.Scenario) { dropRoutes(sc, awstest.LabVIF1, "accepted") },
			want: []want{
				{"aws.vif.primary.routes", probes.Fail, []string{"AWS accepted no IPv4 prefix from on-prem", "advertise the on-prem IPv4 prefixes from the edge router to 169.254.10.1"}},
				{"aws.vif.primary.routes.ipv6", probes.Fail, []string{"AWS accepted no IPv6 prefix from on-prem", "advertise the on-prem IPv6 prefixes from the edge router to 2001:db8:10::1"}},
			},
		},
		{
			name: "no on-prem IPv6 prefix accepted",
			mutate: func(sc *awstest.Scenario) {
				sc.Routes = slices.DeleteFunc(sc.Routes, func(r awstest.Route) bool {
					return r.VirtualInterfaceID == awstest.LabVIF1 && r.AddressFamily == "ipv6" && r.RouteDirection == "accepted"
				})
			},
			want: []want{
				{"aws.vif.primary.routes.ipv6", probes.Fail, []string{"AWS accepted no IPv6 prefix from on-prem and advertises 1 (2001:db8:1000::/56)"}},
				{"aws.vif.primary.routes", probes.Pass, nil},
			},
		},
		{
			name:   "close to the route limit",
			mutate: func(sc *awstest.Scenario) { addAccepted(sc, awstest.LabVIF1, 84) },
			want:   []want{{"aws.vif.primary.routes", probes.Warn, []string{"85 IPv4 prefixes accepted, close to the limit of 100 (the default quota per BGP session)"}}},
		},
		{
			name:   "at the route limit",
			mutate: func(sc *awstest.Scenario) { addAccepted(sc, awstest.LabVIF1, 99) },
			want: []want{{"aws.vif.primary.routes", probes.Fail, []string{
				"100 IPv4 prefixes accepted, at the limit of 100 (the default quota per BGP session)",
				"summarise the on-prem IPv4 prefixes on the edge router, or raise the VIF's prefix allocation",
				"aws directconnect update-virtual-interface-attributes --virtual-interface-id dxvif-lab00001 --prefix-pool-allocated-count-ipv4 <routes> --region us-east-1",
			}}},
		},
		{
			// 100 routes each for IPv4 and IPv6 (User Guide, quotas): 70
			// of each is 140 routes and within both.
			name: "routes counted per address family",
			mutate: func(sc *awstest.Scenario) {
				addAccepted(sc, awstest.LabVIF1, 69)
				addAccepted6(sc, awstest.LabVIF1, 70)
			},
			want: []want{
				{"aws.vif.primary.routes", probes.Pass, []string{"AWS accepted 70 IPv4 prefixes"}},
				{"aws.vif.primary.routes.ipv6", probes.Pass, []string{"AWS accepted 71 IPv6 prefixes"}},
			},
		},
		{
			name: "IPv6 at the limit, IPv4 well within",
			mutate: func(sc *awstest.Scenario) {
				addAccepted6(sc, awstest.LabVIF1, 99) // and the lab's on-prem IPv6 prefix
			},
			// Each peering's line counts its own family.
			want: []want{
				{"aws.vif.primary.routes.ipv6", probes.Fail, []string{
					"100 IPv6 prefixes accepted, at the limit of 100", "summarise the on-prem IPv6 prefixes",
					"--prefix-pool-allocated-count-ipv6 <routes>",
				}},
				{"aws.vif.primary.routes", probes.Pass, []string{"AWS accepted 1 IPv4 prefixes"}},
			},
		},
		{
			name: "within a raised prefix allocation",
			mutate: func(sc *awstest.Scenario) {
				n := 300
				vif1(sc).PrefixPoolAllocatedCountIpv4 = &n
				addAccepted(sc, awstest.LabVIF1, 149)
			},
			want: []want{{"aws.vif.primary.routes", probes.Pass, []string{"AWS accepted 150 IPv4 prefixes"}}},
		},
		{
			name: "at a raised prefix allocation",
			mutate: func(sc *awstest.Scenario) {
				n := 150
				vif1(sc).PrefixPoolAllocatedCountIpv4 = &n
				addAccepted(sc, awstest.LabVIF1, 149)
			},
			want: []want{{"aws.vif.primary.routes", probes.Fail, []string{"150 IPv4 prefixes accepted, at the limit of 150 (the VIF's prefix allocation)"}}},
		},
		{
			name:   "VPC CIDR not advertised",
			mutate: func(sc *awstest.Scenario) { dropRoutes(sc, awstest.LabVIF1, "advertised") },
			want:   []want{{"aws.vif.primary.routes", probes.Fail, []string{"AWS does not advertise 198.18.0.0/16"}}},
		},
		{
			name: "secondary not prepended",
			mutate: func(sc *awstest.Scenario) {
				routesOf(sc, awstest.LabVIF2, "accepted")[0].AsPath[0].Path = []int64{lab.OnPremASN}
			},
			want: []want{{"aws.routing.return_path", probes.Fail, []string{"load-balances return traffic to 192.0.2.0/24", "set as-path prepend 65000 65000"}}},
		},
		{
			name: "secondary preferred by community",
			mutate: func(sc *awstest.Scenario) {
				routesOf(sc, awstest.LabVIF2, "accepted")[0].Communities = []string{"7224:7300"}
			},
			want: []want{{"aws.routing.return_path", probes.Fail, []string{"AWS prefers the secondary for return traffic"}}},
		},
		{
			// Connections of different Regions, no community: AWS prefers
			// the one of the VPC's Region (us-east-1), the primary here.
			name: "links in different Regions, primary in the VPC's Region",
			mutate: func(sc *awstest.Scenario) {
				sc.Connection(awstest.LabConnection2).Region, sc.VIF(awstest.LabVIF2).Region = "us-west-2", "us-west-2"
			},
			config: func(c *Config) { c.Regions = []string{awstest.LabRegion, "us-west-2"} },
			want: []want{{"aws.routing.return_path", probes.Pass, []string{
				"AWS prefers the primary for return traffic to 192.0.2.0/24, 2001:db8:100::/64 from the VPCs in us-east-1",
				"AS-path prepending decides only between connections of the same Region",
			}}},
		},
		{
			// The secondary is prepended, but its connection is the one of
			// the VPC's Region: AWS prefers it whatever the AS path.
			name: "links in different Regions, secondary in the VPC's Region",
			mutate: func(sc *awstest.Scenario) {
				sc.Connection(awstest.LabConnection1).Region, sc.VIF(awstest.LabVIF1).Region = "us-west-2", "us-west-2"
			},
			config: func(c *Config) { c.Regions = []string{awstest.LabRegion, "us-west-2"} },
			want: []want{{"aws.routing.return_path", probes.Fail, []string{
				"AWS prefers the secondary for return traffic to 192.0.2.0/24, 2001:db8:100::/64 from the VPCs in us-east-1, whatever the AS path",
				"primary's connection is associated with us-west-2 and secondary's with us-east-1",
				"7224:7300 on primary and 7224:7100 on secondary",
			}}},
		},
		{
			// A local-preference community ranks across Regions.
			name: "links in different Regions, ranked by community",
			mutate: func(sc *awstest.Scenario) {
				sc.Connection(awstest.LabConnection1).Region, sc.VIF(awstest.LabVIF1).Region = "us-west-2", "us-west-2"
				routesOf(sc, awstest.LabVIF1, "accepted")[0].Communities = []string{"7224:7300"}
				routesOf(sc, awstest.LabVIF2, "accepted")[0].Communities = []string{"7224:7100"}
			},
			config: func(c *Config) { c.Regions = []string{awstest.LabRegion, "us-west-2"} },
			want:   []want{{"aws.routing.return_path", probes.Pass, []string{"AWS prefers the primary for return traffic"}}},
		},
		{
			name:   "active/active with a prepend",
			site:   func(s *probes.Site) { s.Routing.Mode = probes.ModeActiveActive },
			want:   []want{{"aws.routing.return_path", probes.Warn, []string{"active/active is configured but AWS prefers one link"}}},
			mutate: func(*awstest.Scenario) {},
		},
		{
			name: "MTU differs between the links",
			mutate: func(sc *awstest.Scenario) {
				vif1(sc).Mtu = 9001
			},
			want: []want{{"aws.vif.mtu", probes.Fail, []string{
				"aws directconnect update-virtual-interface-attributes --virtual-interface-id dxvif-lab00002 --mtu 9001 --region us-east-1",
			}}},
		},
		{
			name: "probe source advertised over its own link only",
			site: func(s *probes.Site) {
				s.Links[1].ProbeSource = netip.MustParseAddr("198.51.100.2")
			},
			mutate: func(sc *awstest.Scenario) {
				addRoute(sc, awstest.LabVIF1, "198.51.100.0/24") // an aggregate over the primary loses to the /32
				addRoute(sc, awstest.LabVIF2, "198.51.100.2/32")
			},
			want: []want{{"aws.vif.secondary.probe_source", probes.Pass, []string{"AWS returns replies to link secondary's probe source 198.51.100.2 over secondary only (its most specific accepted route, 198.51.100.2/32)"}}},
		},
		{
			name: "probe source advertised over both links",
			site: func(s *probes.Site) { s.Links[1].ProbeSource = netip.MustParseAddr("198.51.100.2") },
			mutate: func(sc *awstest.Scenario) {
				addRoute(sc, awstest.LabVIF1, "198.51.100.2/32")
				addRoute(sc, awstest.LabVIF2, "198.51.100.2/32")
			},
			want: []want{{"aws.vif.secondary.probe_source", probes.Fail, []string{
				"over primary and secondary: the replies to the link's pinned echoes may return over primary or secondary",
				"advertise 198.51.100.2/32 from the edge router to AWS over link secondary only",
			}}},
		},
		{
			name:   "probe source not advertised",
			site:   func(s *probes.Site) { s.Links[0].ProbeSource = netip.MustParseAddr("198.51.100.1") },
			mutate: func(*awstest.Scenario) {},
			want: []want{{"aws.vif.primary.probe_source", probes.Fail, []string{
				"no VIF has a route to link primary's probe source 198.51.100.1", "advertise 198.51.100.1/32",
			}}},
		},
		{
			// A dual-stack link's IPv6 peering has its own probe source
			// (links[].ipv6.probe_source), judged on its own line: the
			// on-prem /64 reaches AWS over both links, the /128 over the
			// primary only.
			name: "IPv6 probe source advertised over its own link only",
			site: func(s *probes.Site) { s.Links[0].IPv6.ProbeSource = netip.MustParseAddr("2001:db8:100::51") },
			mutate: func(sc *awstest.Scenario) {
				sc.Routes = append(sc.Routes, awstest.Route{VirtualInterfaceID: awstest.LabVIF1, Cidr: "2001:db8:100::51/128", RouteDirection: "accepted", AddressFamily: "ipv6"})
			},
			want: []want{{"aws.vif.primary.probe_source.ipv6", probes.Pass, []string{
				"AWS returns replies to link primary's probe source 2001:db8:100::51 over primary only (its most specific accepted route, 2001:db8:100::51/128)",
			}}},
		},
		{
			name:   "IPv6 probe source advertised over both links",
			site:   func(s *probes.Site) { s.Links[0].IPv6.ProbeSource = netip.MustParseAddr("2001:db8:100::51") },
			mutate: func(*awstest.Scenario) {},
			want: []want{{"aws.vif.primary.probe_source.ipv6", probes.Fail, []string{
				"its most specific route to link primary's probe source 2001:db8:100::51, 2001:db8:100::/64, over primary and secondary",
				"advertise 2001:db8:100::51/128 from the edge router to AWS over link primary only",
			}}},
		},
		{
			name:   "DX gateway ASN differs",
			mutate: func(sc *awstest.Scenario) { sc.DirectConnectGateways[0].AmazonSideAsn = 64513 },
			want:   []want{{"aws.dxgw.asn", probes.Fail, []string{"Amazon-side ASN 64513, routing.amazon_asn is 64512"}}},
		},
		{
			name:   "DX gateway missing",
			mutate: func(sc *awstest.Scenario) { sc.DirectConnectGateways = nil },
			want:   []want{{"aws.dxgw.state", probes.Fail, []string{"not found in accounts default"}}},
		},
		{
			name:   "DX gateway deleted",
			mutate: func(sc *awstest.Scenario) { sc.DirectConnectGateways[0].DirectConnectGatewayState = "deleted" },
			want:   []want{{"aws.dxgw.state", probes.Fail, []string{"is deleted"}}},
		},
		{
			name: "allowed prefixes do not cover the VPC",
			mutate: func(sc *awstest.Scenario) {
				sc.Associations[0].AllowedPrefixes = []awstest.RouteFilterPrefix{{Cidr: "198.18.0.0/24"}, {Cidr: lab.VPCCIDR6}}
			},
			want: []want{{"aws.dxgw.association." + awstest.LabVGW, probes.Fail, []string{
				"do not cover VPC CIDR 198.18.0.0/16",
				"aws directconnect update-direct-connect-gateway-association --association-id " + awstest.LabAssociation +
					" --add-allowed-prefixes-to-direct-connect-gateway cidr=198.18.0.0/16 --region us-east-1",
			}}},
		},
		{
			// The VPC's IPv6 CIDR (ipv6CidrBlockAssociationSet) must be
			// covered too.
			name: "allowed prefixes do not cover the VPC's IPv6 CIDR",
			mutate: func(sc *awstest.Scenario) {
				sc.Associations[0].AllowedPrefixes = []awstest.RouteFilterPrefix{{Cidr: lab.VPCCIDR}}
			},
			want: []want{{"aws.dxgw.association." + awstest.LabVGW, probes.Fail, []string{
				"allowed prefixes 198.18.0.0/16 of the association with " + awstest.LabVGW + " do not cover VPC CIDR 2001:db8:1000::/56",
				"--add-allowed-prefixes-to-direct-connect-gateway cidr=2001:db8:1000::/56 --region us-east-1",
			}}},
		},
		{
			name: "on-prem IPv6 prefix not propagated to a route table",
			mutate: func(sc *awstest.Scenario) {
				rt := sc.RouteTable(awstest.LabRouteTable2)
				rt.Routes = slices.DeleteFunc(rt.Routes, func(r awstest.EC2Path) bool { return r.DestinationIpv6CidrBlock == lab.OnPremPrefix6 })
			},
			want: []want{{"aws.route_table." + awstest.LabRouteTable2 + ".routes", probes.Warn, []string{
				"route table " + awstest.LabRouteTable2 + " lacks 2001:db8:100::/64, which AWS accepted from on-prem",
			}}},
		},
		{
			name:   "association in progress",
			mutate: func(sc *awstest.Scenario) { sc.Associations[0].AssociationState = "associating" },
			want:   []want{{"aws.dxgw.association." + awstest.LabVGW, probes.Warn, []string{"is associating"}}},
		},
		{
			name:   "no association",
			mutate: func(sc *awstest.Scenario) { sc.Associations = nil },
			want:   []want{{"aws.dxgw.associations", probes.Fail, []string{"create-direct-connect-gateway-association"}}},
		},
		{
			name:   "VGW detached",
			mutate: func(sc *awstest.Scenario) { sc.VPNGateways[0].Attachments[0].State = "detached" },
			want: []want{{"aws.vgw." + awstest.LabVGW + ".attachment", probes.Fail, []string{
				"attached to no VPC", "aws ec2 attach-vpn-gateway --vpn-gateway-id " + awstest.LabVGW,
			}}},
		},
		{
			name:   "propagation disabled on one route table",
			mutate: func(sc *awstest.Scenario) { sc.RouteTable(awstest.LabRouteTable2).PropagatingVgws = nil },
			want: []want{
				{"aws.route_table." + awstest.LabRouteTable2 + ".propagation", probes.Fail, []string{
					"aws ec2 enable-vgw-route-propagation --route-table-id " + awstest.LabRouteTable2 + " --gateway-id " + awstest.LabVGW + " --region us-east-1",
				}},
				{"aws.route_table." + awstest.LabRouteTable1 + ".propagation", probes.Pass, nil},
			},
		},
		{
			name:   "blackhole route",
			mutate: func(sc *awstest.Scenario) { sc.RouteTable(awstest.LabRouteTable1).Routes[1].State = "blackhole" },
			want: []want{{"aws.route_table." + awstest.LabRouteTable1 + ".routes", probes.Fail, []string{
				"route table " + awstest.LabRouteTable1 + ": 192.0.2.0/24 via " + awstest.LabVGW + " is blackhole",
			}}},
		},
		{
			name: "nothing propagated",
			mutate: func(sc *awstest.Scenario) {
				rt := sc.RouteTable(awstest.LabRouteTable1)
				rt.Routes = rt.Routes[:1]
			},
			want: []want{{"aws.route_table." + awstest.LabRouteTable1 + ".routes", probes.Fail, []string{"no active route via"}}},
		},
		{
			name: "discovery from the DX gateway alone",
			site: func(s *probes.Site) {
				for i := range s.Links {
					s.Links[i].ConnectionID, s.Links[i].VIFID = "", ""
				}
			},
			want: []want{
				{"aws.discovery", probes.Pass, []string{
					"link primary: VIF dxvif-lab00001 (discovered) on dxcon-lab00001 (discovered)",
					"link secondary: VIF dxvif-lab00002 (discovered) on dxcon-lab00002 (discovered)",
					"with route tables " + awstest.LabRouteTable1 + ", " + awstest.LabRouteTable2,
				}},
				{"aws.connection.secondary.state", probes.Pass, nil},
				{"aws.route_table." + awstest.LabRouteTable2 + ".propagation", probes.Pass, nil},
			},
		},
		{
			name: "discovery from connection IDs alone",
			config: func(c *Config) {
				c.DXGatewayID = ""
			},
			site: func(s *probes.Site) {
				for i := range s.Links {
					s.Links[i].VIFID = ""
				}
			},
			want: []want{
				{"aws.discovery", probes.Pass, []string{"VIF dxvif-lab00002 (discovered) on dxcon-lab00002", "DX gateway " + awstest.LabDXGateway}},
				{"aws.dxgw.state", probes.Pass, nil},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := awstest.LabScenario()
			if tt.mutate != nil {
				tt.mutate(sc)
			}
			cfg, site := labConfig(), labSite()
			if tt.config != nil {
				tt.config(&cfg)
			}
			if tt.site != nil {
				tt.site(&site)
			}
			_, url := fake(t, sc)
			p, logs := testProbe(t, cfg, site, url)
			if err := p.Poll(context.Background()); err != nil {
				t.Fatalf("Poll: %v\n%s", err, logs)
			}
			checkWants(t, p.Checks(), tt.want)
		})
	}
}

func checkWants(t *testing.T, checks []probes.CheckResult, wants []want) {
	t.Helper()
	byName := checksByName(checks)
	for _, w := range wants {
		c, ok := byName[w.check]
		if !ok {
			t.Errorf("no check %s; checks:\n%s", w.check, dumpChecks(checks))
			continue
		}
		if c.Status != w.status {
			t.Errorf("%s is %s, want %s: %s (fix: %s)", w.check, c.Status, w.status, c.Reason, c.Fix)
		}
		for _, h := range w.has {
			if !strings.Contains(c.Reason+"\n"+c.Fix, h) {
				t.Errorf("%s lacks %q:\nreason: %s\nfix: %s", w.check, h, c.Reason, c.Fix)
			}
		}
		if c.Status == probes.Pass && c.Fix != "" {
			t.Errorf("%s passes with a fix: %s", w.check, c.Fix)
		}
		if c.Status == probes.Fail && c.Fix == "" {
			t.Errorf("%s fails without a fix", w.check)
		}
	}
}

// TestBGPStatusUnknownIsNotDown: a BGP peer whose status AWS reports as
// unknown ("not available", API reference BGPPeer) exports no
// dxwatch_aws_vif_bgp_up sample, as a 0 would page DirectConnectVIFBGPDown;
// the other peer's sample stays.
func TestBGPStatusUnknownIsNotDown(t *testing.T) {
	sc := awstest.LabScenario()
	sc.VIF(awstest.LabVIF1).BgpPeers[0].BgpStatus = "unknown"
	_, url := fake(t, sc)
	p, logs := testProbe(t, labConfig(), labSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v\n%s", err, logs)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(p)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var peers []string
	for _, mf := range mfs {
		if mf.GetName() != "dxwatch_aws_vif_bgp_up" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "peer" {
					peers = append(peers, l.GetValue())
				}
			}
		}
	}
	slices.Sort(peers)
	if want := []string{awstest.LabPeer2, awstest.LabPeer1v6, awstest.LabPeer2v6}; !slices.Equal(peers, want) {
		t.Errorf("dxwatch_aws_vif_bgp_up has samples for peers %v, want %v (%s's status is unknown)", peers, want, awstest.LabPeer1)
	}
}

// TestIPv6PeerDownFailsOneLine: on the lab's dual-stack site, a VIF whose
// IPv6 BGP peer is down fails exactly its IPv6 peer line, and the
// observations of the per-peering lines carry their family (the health
// model counts them against that peering only), the whole-VIF lines none.
func TestIPv6PeerDownFailsOneLine(t *testing.T) {
	sc := awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsHealthy, fixedNow)
	v := sc.VIF(awstest.LabVIF1)
	for i := range v.BgpPeers {
		if v.BgpPeers[i].BgpPeerID == awstest.LabPeer1v6 {
			v.BgpPeers[i].BgpStatus = "down"
		}
	}
	obs := map[string]probes.Observation{}
	for _, o := range pollObserved(t, sc) {
		obs[o.Check] = o
	}
	var fails []string
	for name, o := range obs {
		if !o.Up {
			fails = append(fails, name)
		}
	}
	if !slices.Equal(fails, []string{"aws.vif.primary.bgp.ipv6"}) {
		t.Errorf("failing %v, want exactly [aws.vif.primary.bgp.ipv6]", fails)
	}
	for name, want := range map[string]string{
		"aws.vif.primary.bgp.ipv6":        probes.FamilyIPv6,
		"aws.vif.primary.bgp":             probes.FamilyIPv4,
		"aws.vif.primary.routes":          probes.FamilyIPv4,
		"aws.vif.primary.routes.ipv6":     probes.FamilyIPv6,
		"aws.vif.primary.config.ipv6":     probes.FamilyIPv6,
		"aws.cloudwatch.primary.bgp.ipv6": probes.FamilyIPv6,
		"aws.vif.primary.state":           "",
		"aws.vif.primary.config":          "",
		"aws.connection.primary.state":    "",
	} {
		o, ok := obs[name]
		if !ok || o.Family != want || o.Link != "primary" {
			t.Errorf("%s: observed %v, link %q family %q, want link primary family %q", name, ok, o.Link, o.Family, want)
		}
	}
	if o := obs["aws.vif.primary.bgp.ipv6"]; !strings.Contains(o.Detail, "IPv6 BGP down for "+awstest.LabPeer1v6) {
		t.Errorf("IPv6 peer line: %q", o.Detail)
	}
}
