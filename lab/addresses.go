package lab

// The lab's address plan. Every address lives only inside the lab's network
// namespaces: Direct Connect peer links in 169.254.0.0/16, the VPC in
// 198.18.0.0/15, on-prem in 192.0.2.0/24 and 198.51.100.0/24, and every
// IPv6 address in the documentation prefix 2001:db8::/32. Tests and configs
// refer to these names rather than repeating the literals.
const (
	// ASNs.
	AmazonASN = 64512 // both "AWS" routers, as real AWS by default
	OnPremASN = 65000 // the edge router(s) and the agent (iBGP)

	// Primary link: on-prem edge (customer) <-> aws1 (Amazon), VLAN 101.
	PrimaryCustomer = "169.254.10.2"
	PrimaryAmazon   = "169.254.10.1"
	PrimaryNet      = "169.254.10.0/30"
	PrimaryVLAN     = 101
	PrimaryMD5      = "dx-primary-md5"

	// Secondary link: on-prem edge (customer) <-> aws2 (Amazon), VLAN 102.
	SecondaryCustomer = "169.254.20.2"
	SecondaryAmazon   = "169.254.20.1"
	SecondaryNet      = "169.254.20.0/30"
	SecondaryVLAN     = 102
	SecondaryMD5      = "dx-secondary-md5"

	// The VPC: CIDR advertised by both AWS routers, one subnet with two
	// instances behind the VPC router.
	VPCCIDR   = "198.18.0.0/16"
	VPCRouter = "198.18.0.1"
	Instance1 = "198.18.0.10"
	Instance2 = "198.18.0.11"

	// On-prem LAN: edge routers and the agent host.
	OnPremLAN    = "192.0.2.0/24"
	Edge1LAN     = "192.0.2.1" // the only edge in the one-edge variant; the agent's default gateway
	Edge2LAN     = "192.0.2.2" // second edge router in the two-edge variant
	AgentAddress = "192.0.2.10"
	AgentMD5     = "dx-agent-md5" // optional MD5 on the edge<->agent sessions

	// Per-link probe sources (Options.ProbeSources): on-prem addresses of the
	// agent host, each routed to it by the edges and advertised to AWS as a
	// /32 over its own link only, so that AWS returns replies to it over
	// that link (dxwatch's links[].probe_source).
	OnPremProbeNet       = "198.51.100.0/24"
	PrimaryProbeSource   = "198.51.100.1"
	SecondaryProbeSource = "198.51.100.2"
	BMPPort              = 11019 // the agent's BMP station port
	AgentBGPPort         = 179   // edge routers listen for the agent on 179

	// Host names (each a namespace named <prefix>-<host>).
	HostAgent = "agent"
	HostEdge1 = "edge1"
	HostEdge2 = "edge2"
	HostAWS1  = "aws1"
	HostAWS2  = "aws2"
	HostVPC   = "vpc"
	HostInst1 = "i1"
	HostInst2 = "i2"

	// Inside the "AWS" region: each AWS router reaches the VPC router over
	// its own transit /30 in 198.19.0.0/16 (iBGP, ASN 64512).
	TransitNet1  = "198.19.1.0/30"
	AWS1Transit  = "198.19.1.1" // aws1's end
	VPCTransit1  = "198.19.1.2" // the VPC router's end toward aws1
	TransitNet2  = "198.19.2.0/30"
	AWS2Transit  = "198.19.2.1"
	VPCTransit2  = "198.19.2.2"
	VPCSubnet    = "198.18.0.0/24" // the instances' LAN behind the VPC router
	OnPremPrefix = OnPremLAN       // what the edge routers advertise to AWS

	// IPv6: the lab is dual-stack. Each link's VIF also has an IPv6
	// peering, in the /125 Amazon allocates (documentation addresses,
	// 2001:db8::/32), with its own MD5 key and BFD session; the VPC has an
	// IPv6 CIDR and the instances an IPv6 address each; on-prem has an
	// IPv6 LAN, the prefix the edges advertise to AWS.
	PrimaryCustomer6   = "2001:db8:10::2"
	PrimaryAmazon6     = "2001:db8:10::1"
	PrimaryNet6        = "2001:db8:10::/125"
	PrimaryMD56        = "dx-primary-md5-v6"
	SecondaryCustomer6 = "2001:db8:20::2"
	SecondaryAmazon6   = "2001:db8:20::1"
	SecondaryNet6      = "2001:db8:20::/125"
	SecondaryMD56      = "dx-secondary-md5-v6"
	VPCCIDR6           = "2001:db8:1000::/56"
	VPCSubnet6         = "2001:db8:1000::/64"
	VPCRouter6         = "2001:db8:1000::1"
	Instance1v6        = "2001:db8:1000::10"
	Instance2v6        = "2001:db8:1000::11"
	OnPremLAN6         = "2001:db8:100::/64"
	Edge1LAN6          = "2001:db8:100::1"
	Edge2LAN6          = "2001:db8:100::2"
	AgentAddress6      = "2001:db8:100::10"
	OnPremPrefix6      = OnPremLAN6
	TransitNet1v6      = "2001:db8:f1::/126"
	AWS1Transit6       = "2001:db8:f1::1"
	VPCTransit1v6      = "2001:db8:f1::2"
	TransitNet2v6      = "2001:db8:f2::/126"
	AWS2Transit6       = "2001:db8:f2::1"
	VPCTransit2v6      = "2001:db8:f2::2"

	// Link names as Cut, Restore, Flap and Brownout take them.
	LinkPrimary   = "primary"
	LinkSecondary = "secondary"
)
