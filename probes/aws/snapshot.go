package aws

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"

	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/dxwatch/dxwatch/probes"
)

// tkey is one account (by configured name) in one region.
type tkey struct{ account, region string }

func (k tkey) String() string { return k.account + "/" + k.region }

// failure is one API call that failed after its retries.
type failure struct {
	key      tkey
	action   string // IAM action; sts:AssumeRole when the role could not be assumed
	kind     errKind
	attempts int
	elapsed  time.Duration
	err      error
	// last is the last attempt's error: when the budget ran out, it says
	// why the attempts before failed.
	last error
}

// apiState is the calls made in one account and region during a poll, and
// those that failed.
type apiState struct {
	calls    int
	failures []failure
	// tried holds the actions called in this account and region, so that
	// the ones never reached can be tried for permission (permissions.go).
	tried map[string]bool
}

func (t *apiState) ok() bool { return len(t.failures) == 0 }

type identity struct {
	accountID, arn string
	err            error
}

type connData struct {
	dxtypes.Connection
	key tkey
}

type vifData struct {
	dxtypes.VirtualInterface
	key                  tkey
	accepted, advertised []dxtypes.Route
	routesErr            error
	routesDone           bool
}

type gatewayData struct {
	gw          dxtypes.DirectConnectGateway
	key         tkey
	assocs      []dxtypes.DirectConnectGatewayAssociation
	attachments []dxtypes.DirectConnectGatewayAttachment
	err         error // associations or attachments could not be read
	lookupErr   error // the gateway itself could not be read (gw is empty)
}

type vgwData struct {
	id, owner, region string
	key               tkey
	visible           bool // its owner account is configured
	gw                *ec2types.VpnGateway
	err               error
	vpcs              []string
}

type vpcData struct {
	id, vgw string
	key     tkey
	cidrs   []netip.Prefix
}

type tableData struct {
	id, vpc, vgw string
	key          tkey
	rt           ec2types.RouteTable
}

// propagates says whether the table propagates routes from its VGW.
func (t *tableData) propagates() bool {
	return slices.ContainsFunc(t.rt.PropagatingVgws, func(g ec2types.PropagatingVgw) bool { return deref(g.GatewayId) == t.vgw })
}

type vgwRoute struct {
	dest   string
	active bool
	origin ec2types.RouteOrigin
}

// vgwRoutes returns the table's routes whose target is its VGW.
func (t *tableData) vgwRoutes() []vgwRoute {
	var out []vgwRoute
	for _, r := range t.rt.Routes {
		if deref(r.GatewayId) != t.vgw {
			continue
		}
		dest := deref(r.DestinationCidrBlock)
		if dest == "" {
			dest = deref(r.DestinationIpv6CidrBlock)
		}
		out = append(out, vgwRoute{dest: dest, active: r.State == ec2types.RouteStateActive, origin: r.Origin})
	}
	return out
}

// linkView is one site link with the AWS objects found for it.
type linkView struct {
	link           probes.Link
	index          int
	conn           *connData
	vif            *vifData
	discoveredVIF  bool
	discoveredConn bool
}

// snapshot is everything one poll found; it is never modified once stored.
type snapshot struct {
	at time.Time

	mu       sync.Mutex
	targets  map[tkey]*apiState
	failures []failure

	idents   map[string]identity // by account name
	allConns []*connData
	allVIFs  []*vifData
	conns    map[string]*connData // the site's connections
	vifs     map[string]*vifData  // the site's VIFs
	links    []linkView

	gwID  string // configured or discovered
	gw    *gatewayData
	gwErr error

	vgws   []*vgwData
	tgws   []*tgwData
	vpcs   map[string]*vpcData
	tables []*tableData
	// vpcErr and tableErr are why the VPCs, or the route tables, of a
	// VPC could not be read.
	vpcErr, tableErr map[string]error

	cw *cwData // nil when CloudWatch is disabled
}

func (s *snapshot) err() error {
	if len(s.failures) == 0 {
		return nil
	}
	keys := map[tkey]bool{}
	for _, f := range s.failures {
		keys[f.key] = true
	}
	f := s.failures[0]
	reason, _ := f.describe("")
	return fmt.Errorf("%d failed calls in %d account/regions, first in %s: %s: %w", len(s.failures), len(keys), f.key, reason, f.err)
}

// keepUnread adds to a snapshot whose poll failed in part the resources
// of the previous one it lacks, so that their series keep their last
// known values; a resource leaves the metrics only when a complete poll no
// longer finds it.
func (s *snapshot) keepUnread(prev *snapshot) {
	for id, c := range prev.conns {
		if s.conns[id] == nil {
			s.conns[id] = c
		}
	}
	for id, v := range prev.vifs {
		if s.vifs[id] == nil {
			s.vifs[id] = v
		}
	}
	for _, t := range prev.tables {
		if !slices.ContainsFunc(s.tables, func(x *tableData) bool { return x.id == t.id }) {
			s.tables = append(s.tables, t)
		}
	}
	sort.Slice(s.tables, func(i, j int) bool { return s.tables[i].id < s.tables[j].id })
	s.keepUnreadCloudWatch(prev)
}

func (s *snapshot) connIDs() []string { return sortedKeys(s.conns) }
func (s *snapshot) vifIDs() []string  { return sortedKeys(s.vifs) }

// loaExpiry returns when the LOA-CFA of a pending connection expires (a
// requested one has none yet).
func (s *snapshot) loaExpiry(id string) (time.Time, bool) {
	c := s.conns[id]
	if c == nil || c.ConnectionState != dxtypes.ConnectionStatePending || c.LoaIssueTime == nil {
		return time.Time{}, false
	}
	return c.LoaIssueTime.Add(loaValidity), true
}

// loaValidity is how long an LOA-CFA stays valid.
const loaValidity = 90 * 24 * time.Hour

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
