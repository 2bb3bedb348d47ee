package awstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is the AWS state the fake endpoint serves: a Go model of a
// Direct Connect setup that tests mutate (a connection not yet accepted,
// propagation disabled on one route table, a BGP peer down) before or
// between polls. Direct Connect types carry the JSON member names of the
// Direct Connect API, so that a resource is written to the wire as it is;
// EC2 types are converted to the EC2 XML shapes when served. A scenario file
// (YAML or JSON) uses the same names.
type Scenario struct {
	// Accounts are the callers: each access key ID (the default
	// credentials) belongs to one account.
	Accounts []Account `json:"accounts"`
	// Roles can be assumed with sts:AssumeRole by any known caller.
	Roles []Role `json:"roles,omitempty"`

	Connections           []Connection           `json:"connections,omitempty"`
	VirtualInterfaces     []VirtualInterface     `json:"virtualInterfaces,omitempty"`
	DirectConnectGateways []DirectConnectGateway `json:"directConnectGateways,omitempty"`
	Associations          []Association          `json:"associations,omitempty"`
	Routes                []Route                `json:"routes,omitempty"`
	TestHistory           []TestHistory          `json:"testHistory,omitempty"`

	VPNGateways []VPNGateway `json:"vpnGateways,omitempty"`
	VPCs        []VPC        `json:"vpcs,omitempty"`
	RouteTables []RouteTable `json:"routeTables,omitempty"`

	TransitGateways []TransitGateway `json:"transitGateways,omitempty"`
	TGWAttachments  []TGWAttachment  `json:"transitGatewayAttachments,omitempty"`
	TGWRouteTables  []TGWRouteTable  `json:"transitGatewayRouteTables,omitempty"`

	// Metrics are the CloudWatch time series GetMetricData serves.
	Metrics []MetricSeries `json:"metrics,omitempty"`
	// MetricsPageSize is how many datapoints one GetMetricData page holds
	// at most (0: CloudWatch's 100,800). A small value forces paging.
	MetricsPageSize int `json:"metricsPageSize,omitempty"`

	// PageSize is the page size the fake uses when the caller asks for
	// none (0: everything in one page). A small value forces pagination.
	PageSize int `json:"pageSize,omitempty"`
}

// Account is one AWS account and the access key of its default credentials.
type Account struct {
	AccountID   string `json:"accountId"`
	AccessKeyID string `json:"accessKeyId"`
	// ARN of the caller; default arn:aws:iam::<id>:user/dxwatch.
	ARN string `json:"arn,omitempty"`
	// Deny lists IAM actions ("ec2:DescribeRouteTables") refused with the
	// service's access-denied error for every caller in this account;
	// sts:GetCallerIdentity, which no policy can deny, is always allowed.
	Deny []string `json:"deny,omitempty"`
}

// Role is an IAM role that sts:AssumeRole hands credentials for.
type Role struct {
	ARN        string `json:"arn"`
	AccountID  string `json:"accountId"`
	ExternalID string `json:"externalId,omitempty"`
}

// Time is a timestamp: epoch seconds on the Direct Connect wire, either
// epoch seconds or RFC 3339 in a scenario file.
type Time struct{ time.Time }

// MarshalJSON writes epoch seconds, as the awsJson1_1 protocol does.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1e3, 'f', -1, 64)), nil
}

// UnmarshalJSON reads epoch seconds or an RFC 3339 string.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return fmt.Errorf("timestamp %q: %w", s, err)
		}
		t.Time = v
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %s: %w", b, err)
	}
	t.Time = time.UnixMilli(int64(f * 1e3)).UTC()
	return nil
}

// At returns a *Time for t.
func At(t time.Time) *Time { return &Time{t.UTC()} }

// Connection is a Direct Connect connection (API type Connection).
type Connection struct {
	OwnerAccount         string `json:"ownerAccount"`
	ConnectionID         string `json:"connectionId"`
	ConnectionName       string `json:"connectionName,omitempty"`
	ConnectionState      string `json:"connectionState"`
	Region               string `json:"region"`
	Location             string `json:"location,omitempty"`
	Bandwidth            string `json:"bandwidth,omitempty"`
	Vlan                 int    `json:"vlan,omitempty"`
	PartnerName          string `json:"partnerName,omitempty"`
	ProviderName         string `json:"providerName,omitempty"`
	LoaIssueTime         *Time  `json:"loaIssueTime,omitempty"`
	LagID                string `json:"lagId,omitempty"`
	AwsDevice            string `json:"awsDevice,omitempty"`
	AwsDeviceV2          string `json:"awsDeviceV2,omitempty"`
	AwsLogicalDeviceID   string `json:"awsLogicalDeviceId,omitempty"`
	HasLogicalRedundancy string `json:"hasLogicalRedundancy,omitempty"`
	JumboFrameCapable    *bool  `json:"jumboFrameCapable,omitempty"`
	// MACsec, as the Connection type of the Direct Connect API reference
	// has it: macSecCapable, encryptionMode (no_encrypt, should_encrypt,
	// must_encrypt), portEncryptionStatus ("Encryption Up" or "Encryption
	// Down") and the keys.
	MacSecCapable        *bool       `json:"macSecCapable,omitempty"`
	EncryptionMode       string      `json:"encryptionMode,omitempty"`
	PortEncryptionStatus string      `json:"portEncryptionStatus,omitempty"`
	MacSecKeys           []MacSecKey `json:"macSecKeys,omitempty"`
}

// MacSecKey is a MACsec secret key of a connection (API type MacSecKey):
// its state is associating, associated, disassociating or disassociated.
type MacSecKey struct {
	Ckn       string `json:"ckn,omitempty"`
	SecretARN string `json:"secretARN,omitempty"`
	StartOn   string `json:"startOn,omitempty"`
	State     string `json:"state,omitempty"`
}

// BGPPeer is one BGP peer of a virtual interface (API type BGPPeer,
// https://docs.aws.amazon.com/directconnect/latest/APIReference/API_BGPPeer.html):
// one per address family of a dual-stack VIF (addressFamily ipv4 or ipv6,
// each with its own addresses, bgpPeerState and bgpStatus), a second one in
// the same family where the connection supports logical redundancy. The
// fake serves no authKey: dxwatch never reads it.
type BGPPeer struct {
	BgpPeerID          string `json:"bgpPeerId"`
	Asn                int    `json:"asn"`
	AddressFamily      string `json:"addressFamily"`
	AmazonAddress      string `json:"amazonAddress"`
	CustomerAddress    string `json:"customerAddress"`
	BgpPeerState       string `json:"bgpPeerState"`
	BgpStatus          string `json:"bgpStatus"`
	AwsDeviceV2        string `json:"awsDeviceV2,omitempty"`
	AwsLogicalDeviceID string `json:"awsLogicalDeviceId,omitempty"`
}

// RouteFilterPrefix is a CIDR (API type RouteFilterPrefix).
type RouteFilterPrefix struct {
	Cidr string `json:"cidr"`
}

// VirtualInterface is a Direct Connect virtual interface (API type
// VirtualInterface,
// https://docs.aws.amazon.com/directconnect/latest/APIReference/API_VirtualInterface.html).
// Its top-level addressFamily, amazonAddress and customerAddress are those
// of the peering the VIF was created with; BgpPeers lists every peering,
// the IPv6 one of a dual-stack VIF included. Its attachment to a DX gateway is derived from
// DirectConnectGatewayID. Asn and AsnLong are the customer ASN as the API
// sends them: a 2-byte ASN in both, a 4-byte one in asnLong with asn 0 (API
// reference, VirtualInterface); set either, the fake fills the other.
type VirtualInterface struct {
	OwnerAccount           string              `json:"ownerAccount"`
	VirtualInterfaceID     string              `json:"virtualInterfaceId"`
	Location               string              `json:"location,omitempty"`
	ConnectionID           string              `json:"connectionId"`
	VirtualInterfaceType   string              `json:"virtualInterfaceType"`
	VirtualInterfaceName   string              `json:"virtualInterfaceName,omitempty"`
	Vlan                   int                 `json:"vlan"`
	Asn                    int                 `json:"asn"`
	AsnLong                *int64              `json:"asnLong,omitempty"`
	AmazonSideAsn          int64               `json:"amazonSideAsn,omitempty"`
	AmazonAddress          string              `json:"amazonAddress"`
	CustomerAddress        string              `json:"customerAddress"`
	AddressFamily          string              `json:"addressFamily"`
	VirtualInterfaceState  string              `json:"virtualInterfaceState"`
	Mtu                    int                 `json:"mtu,omitempty"`
	JumboFrameCapable      *bool               `json:"jumboFrameCapable,omitempty"`
	VirtualGatewayID       string              `json:"virtualGatewayId,omitempty"`
	DirectConnectGatewayID string              `json:"directConnectGatewayId,omitempty"`
	RouteFilterPrefixes    []RouteFilterPrefix `json:"routeFilterPrefixes,omitempty"`
	BgpPeers               []BGPPeer           `json:"bgpPeers,omitempty"`
	Region                 string              `json:"region"`
	AwsDeviceV2            string              `json:"awsDeviceV2,omitempty"`
	AwsLogicalDeviceID     string              `json:"awsLogicalDeviceId,omitempty"`

	// PrefixPoolAllocatedCountIpv4/Ipv6 are the inbound route prefixes
	// allocated to a private or transit VIF (API reference,
	// VirtualInterface; not applicable to public VIFs). Unset, the VIF
	// has no allocation of its own and the default quota applies.
	PrefixPoolAllocatedCountIpv4 *int `json:"prefixPoolAllocatedCountIpv4,omitempty"`
	PrefixPoolAllocatedCountIpv6 *int `json:"prefixPoolAllocatedCountIpv6,omitempty"`
}

// DirectConnectGateway is a DX gateway (API type DirectConnectGateway).
type DirectConnectGateway struct {
	DirectConnectGatewayID    string `json:"directConnectGatewayId"`
	DirectConnectGatewayName  string `json:"directConnectGatewayName,omitempty"`
	AmazonSideAsn             int64  `json:"amazonSideAsn"`
	OwnerAccount              string `json:"ownerAccount"`
	DirectConnectGatewayState string `json:"directConnectGatewayState"`
	StateChangeError          string `json:"stateChangeError,omitempty"`
}

// AssociatedGateway is the gateway side of an association.
type AssociatedGateway struct {
	ID           string `json:"id"`
	Type         string `json:"type"` // virtualPrivateGateway | transitGateway
	OwnerAccount string `json:"ownerAccount"`
	Region       string `json:"region"`
}

// Association is a DX gateway association (API type
// DirectConnectGatewayAssociation).
type Association struct {
	DirectConnectGatewayID           string              `json:"directConnectGatewayId"`
	DirectConnectGatewayOwnerAccount string              `json:"directConnectGatewayOwnerAccount"`
	AssociationState                 string              `json:"associationState"`
	StateChangeError                 string              `json:"stateChangeError,omitempty"`
	AssociatedGateway                AssociatedGateway   `json:"associatedGateway"`
	AssociationID                    string              `json:"associationId"`
	AllowedPrefixes                  []RouteFilterPrefix `json:"allowedPrefixesToDirectConnectGateway,omitempty"`
	VirtualGatewayID                 string              `json:"virtualGatewayId,omitempty"`
	VirtualGatewayRegion             string              `json:"virtualGatewayRegion,omitempty"`
	VirtualGatewayOwnerAccount       string              `json:"virtualGatewayOwnerAccount,omitempty"`
}

// AsPathSegment is one segment of a route's AS path.
type AsPathSegment struct {
	Path     []int64 `json:"path"`
	PathType string  `json:"pathType"` // seq | set
}

// Route is a route on a virtual interface (API type Route), as
// ListVirtualInterfaceRoutes returns it. VirtualInterfaceID says which VIF
// it belongs to in the scenario and is not sent.
type Route struct {
	VirtualInterfaceID string          `json:"virtualInterfaceId,omitempty"`
	Cidr               string          `json:"cidr"`
	AddressFamily      string          `json:"addressFamily,omitempty"`
	RouteDirection     string          `json:"routeDirection"` // accepted | advertised
	AsPath             []AsPathSegment `json:"asPath,omitempty"`
	Communities        []string        `json:"communities,omitempty"`
	AwsLogicalDeviceID string          `json:"awsLogicalDeviceId,omitempty"`
	RouteInstalledAt   *Time           `json:"routeInstalledAt,omitempty"`
}

// TestHistory is one BGP failover test (API type VirtualInterfaceTestHistory).
type TestHistory struct {
	TestID                string   `json:"testId"`
	VirtualInterfaceID    string   `json:"virtualInterfaceId"`
	BgpPeers              []string `json:"bgpPeers,omitempty"`
	Status                string   `json:"status"`
	OwnerAccount          string   `json:"ownerAccount"`
	TestDurationInMinutes int      `json:"testDurationInMinutes"`
	StartTime             *Time    `json:"startTime,omitempty"`
	EndTime               *Time    `json:"endTime,omitempty"`
}

// VPNGateway is a virtual private gateway (EC2 type VpnGateway).
type VPNGateway struct {
	VpnGatewayID  string          `json:"vpnGatewayId"`
	State         string          `json:"state"`
	Type          string          `json:"type,omitempty"`
	AmazonSideAsn int64           `json:"amazonSideAsn,omitempty"`
	Attachments   []VPCAttachment `json:"attachments,omitempty"`
	OwnerAccount  string          `json:"ownerAccount"`
	Region        string          `json:"region"`
}

// VPCAttachment attaches a VGW to a VPC.
type VPCAttachment struct {
	VpcID string `json:"vpcId"`
	State string `json:"state"` // attaching | attached | detaching | detached
}

// VPC is an EC2 VPC with its primary and secondary IPv4 CIDRs and its
// IPv6 CIDRs (served in ipv6CidrBlockAssociationSet, EC2 type Vpc).
type VPC struct {
	VpcID        string   `json:"vpcId"`
	State        string   `json:"state"`
	CidrBlock    string   `json:"cidrBlock"`
	MoreCidrs    []string `json:"moreCidrBlocks,omitempty"`
	Ipv6Cidrs    []string `json:"ipv6CidrBlocks,omitempty"`
	OwnerAccount string   `json:"ownerAccount"`
	Region       string   `json:"region"`
}

// RouteTable is an EC2 route table.
type RouteTable struct {
	RouteTableID    string    `json:"routeTableId"`
	VpcID           string    `json:"vpcId"`
	Main            bool      `json:"main,omitempty"`
	PropagatingVgws []string  `json:"propagatingVgws,omitempty"`
	Routes          []EC2Path `json:"routes,omitempty"`
	OwnerAccount    string    `json:"ownerAccount"`
	Region          string    `json:"region"`
}

// EC2Path is one route in a route table: an IPv4 destination in
// DestinationCidrBlock or an IPv6 one in DestinationIpv6CidrBlock (EC2 type
// Route).
type EC2Path struct {
	DestinationCidrBlock     string `json:"destinationCidrBlock,omitempty"`
	DestinationIpv6CidrBlock string `json:"destinationIpv6CidrBlock,omitempty"`
	GatewayID                string `json:"gatewayId,omitempty"`
	TransitGatewayID         string `json:"transitGatewayId,omitempty"`
	State                    string `json:"state"`  // active | blackhole
	Origin                   string `json:"origin"` // CreateRouteTable | CreateRoute | EnableVgwRoutePropagation
}

// Clone returns a deep copy of sc (through its JSON form).
func (sc *Scenario) Clone() *Scenario {
	b, err := json.Marshal(sc)
	if err != nil {
		panic(err) // every field marshals
	}
	var c Scenario
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return &c
}

// Connection returns the connection with the given ID, or nil.
func (sc *Scenario) Connection(id string) *Connection {
	for i := range sc.Connections {
		if sc.Connections[i].ConnectionID == id {
			return &sc.Connections[i]
		}
	}
	return nil
}

// VIF returns the virtual interface with the given ID, or nil.
func (sc *Scenario) VIF(id string) *VirtualInterface {
	for i := range sc.VirtualInterfaces {
		if sc.VirtualInterfaces[i].VirtualInterfaceID == id {
			return &sc.VirtualInterfaces[i]
		}
	}
	return nil
}

// RouteTable returns the route table with the given ID, or nil.
func (sc *Scenario) RouteTable(id string) *RouteTable {
	for i := range sc.RouteTables {
		if sc.RouteTables[i].RouteTableID == id {
			return &sc.RouteTables[i]
		}
	}
	return nil
}

// Account returns the account with the given ID, or nil.
func (sc *Scenario) Account(id string) *Account {
	for i := range sc.Accounts {
		if sc.Accounts[i].AccountID == id {
			return &sc.Accounts[i]
		}
	}
	return nil
}

// LoadScenario reads a scenario from a YAML or JSON file (chosen by the
// extension; JSON is valid YAML, so anything else is read as YAML). Unknown
// keys are errors.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return ParseScenario(b, filepath.Ext(path) == ".json")
}

// ParseScenario decodes a scenario from YAML (or JSON when isJSON).
func ParseScenario(b []byte, isJSON bool) (*Scenario, error) {
	if !isJSON {
		// YAML keys are the JSON member names: decode into a generic tree
		// and re-encode it as JSON, so one set of tags serves both.
		var tree any
		if err := yaml.Unmarshal(b, &tree); err != nil {
			return nil, fmt.Errorf("parse scenario: %w", err)
		}
		var err error
		if b, err = json.Marshal(tree); err != nil {
			return nil, fmt.Errorf("parse scenario: %w", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("parse scenario: %w", err)
	}
	if len(sc.Accounts) == 0 {
		return nil, fmt.Errorf("parse scenario: no accounts: add one with accountId and accessKeyId")
	}
	return &sc, nil
}

// YAML returns the scenario as a YAML document that LoadScenario reads
// back.
func (sc *Scenario) YAML() ([]byte, error) {
	b, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := yaml.Unmarshal(b, &tree); err != nil {
		return nil, err
	}
	return yaml.Marshal(tree)
}

// Env returns the environment that points the AWS SDKs and CLI at a fake
// served on url, with the credentials of the scenario's first account.
func (sc *Scenario) Env(url, region string) []string {
	key := ""
	if len(sc.Accounts) > 0 {
		key = sc.Accounts[0].AccessKeyID
	}
	return []string{
		"AWS_ENDPOINT_URL_DIRECT_CONNECT=" + url,
		"AWS_ENDPOINT_URL_EC2=" + url,
		"AWS_ENDPOINT_URL_STS=" + url,
		"AWS_ENDPOINT_URL_CLOUDWATCH=" + url,
		"AWS_ACCESS_KEY_ID=" + key,
		"AWS_SECRET_ACCESS_KEY=" + LabSecretKey,
		"AWS_REGION=" + region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}
