package aws

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sort"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/directconnect"
	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/dxwatch/dxwatch/probes"
)

// collect runs one poll and returns its snapshot.
func (p *Probe) collect(ctx context.Context, clients []*accountClients) *snapshot {
	s := &snapshot{
		at: p.now(), targets: map[tkey]*apiState{}, idents: map[string]identity{},
		conns: map[string]*connData{}, vifs: map[string]*vifData{},
		vpcs: map[string]*vpcData{}, vpcErr: map[string]error{}, tableErr: map[string]error{},
	}
	home := p.cfg.Regions[0]
	for _, ac := range clients {
		for _, r := range p.cfg.Regions {
			s.targets[tkey{ac.cfg.Name, r}] = &apiState{}
		}
	}

	// 1. Who are we in each account (this also assumes the roles).
	var fns []func()
	var idMu sync.Mutex
	for _, ac := range clients {
		fns = append(fns, func() {
			var out *sts.GetCallerIdentityOutput
			err := p.call(ctx, s, tkey{ac.cfg.Name, home}, "sts:GetCallerIdentity", func(ctx context.Context) error {
				var err error
				out, err = ac.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				return err
			})
			id := identity{err: err}
			if err == nil {
				id.accountID, id.arn = deref(out.Account), deref(out.Arn)
			}
			idMu.Lock()
			s.idents[ac.cfg.Name] = id
			idMu.Unlock()
		})
	}
	parallel(fns)

	// 2. Connections and VIFs in every account and region.
	type regional struct {
		conns []*connData
		vifs  []*vifData
	}
	found := map[tkey]*regional{}
	fns = fns[:0]
	// A failed STS call does not stop these: STS may be down (or
	// throttled) while Direct Connect and EC2 answer.
	for _, ac := range clients {
		for _, r := range p.cfg.Regions {
			k := tkey{ac.cfg.Name, r}
			res := &regional{}
			found[k] = res
			dx := ac.dx[r]
			fns = append(fns, func() {
				p.pages(ctx, s, k, "directconnect:DescribeConnections", func(ctx context.Context, tok *string) (*string, error) {
					out, err := dx.DescribeConnections(ctx, &directconnect.DescribeConnectionsInput{NextToken: tok})
					if err != nil {
						return nil, err
					}
					for _, c := range out.Connections {
						res.conns = append(res.conns, &connData{Connection: c, key: k})
					}
					return out.NextToken, nil
				})
				p.pages(ctx, s, k, "directconnect:DescribeVirtualInterfaces", func(ctx context.Context, tok *string) (*string, error) {
					out, err := dx.DescribeVirtualInterfaces(ctx, &directconnect.DescribeVirtualInterfacesInput{NextToken: tok})
					if err != nil {
						return nil, err
					}
					for _, v := range out.VirtualInterfaces {
						res.vifs = append(res.vifs, &vifData{VirtualInterface: v, key: k})
					}
					return out.NextToken, nil
				})
			})
		}
	}
	parallel(fns)
	for _, ac := range clients {
		for _, r := range p.cfg.Regions {
			if res := found[tkey{ac.cfg.Name, r}]; res != nil {
				s.allConns = append(s.allConns, res.conns...)
				s.allVIFs = append(s.allVIFs, res.vifs...)
			}
		}
	}

	// 3. Match the site's links to what was found.
	s.matchLinks(p.cfg, p.deps.Site)

	// AWS's own metrics of the site's connections and VIFs, meanwhile.
	cwDone := make(chan struct{})
	go func() {
		defer close(cwDone)
		p.collectCloudWatch(ctx, s, clients)
	}()

	// 4. The DX gateway, its associations and attachments.
	s.gwID = p.cfg.DXGatewayID
	if s.gwID == "" {
		for _, lv := range s.links {
			if lv.vif != nil && deref(lv.vif.DirectConnectGatewayId) != "" {
				s.gwID = *lv.vif.DirectConnectGatewayId
				break
			}
		}
	}
	if s.gwID != "" {
		p.collectGateway(ctx, s, clients)
	}

	// 5. Routes on each VIF. A VIF configured by ID but not read (its
	// DescribeVirtualInterfaces failed) is still tried, to learn whether
	// ListVirtualInterfaceRoutes is allowed too. The LOA-CFA is never
	// downloaded here: DescribeLoa re-issues it (see loa.go).
	fns = fns[:0]
	for _, id := range s.vifIDs() {
		v := s.vifs[id]
		ac := clientsFor(clients, v.key.account)
		fns = append(fns, func() { p.collectRoutes(ctx, s, ac.dx[v.key.region], v) })
	}
	if f := s.failed("directconnect:DescribeVirtualInterfaces"); f != nil {
		for _, l := range p.deps.Site.Links {
			if l.VIFID == "" || s.vifs[l.VIFID] != nil {
				continue
			}
			dx := clientsFor(clients, f.key.account).dx[f.key.region]
			fns = append(fns, func() {
				p.tryPermission(ctx, s, f.key, "directconnect:ListVirtualInterfaceRoutes", func(ctx context.Context) error {
					_, err := dx.ListVirtualInterfaceRoutes(ctx, &directconnect.ListVirtualInterfaceRoutesInput{
						VirtualInterfaceId: &l.VIFID, MaxResults: awssdk.Int32(1),
					})
					return err
				})
			})
		}
	}
	parallel(fns)

	// 6. VGWs, their VPCs and route tables.
	p.collectVGWs(ctx, s, clients)

	// 7. Transit gateways, their route tables and the VPCs behind them.
	p.collectTGWs(ctx, s, clients)
	<-cwDone

	// 8. What the failures above kept from being called, for permission.
	p.tryUnreached(ctx, s, clients)
	return s
}

func clientsFor(clients []*accountClients, name string) *accountClients {
	for _, ac := range clients {
		if ac.cfg.Name == name {
			return ac
		}
	}
	return nil
}

// accountByID returns the configured account whose credentials belong to
// the AWS account id.
func (s *snapshot) accountByID(id string) (string, bool) {
	for _, name := range sortedKeys(s.idents) {
		if i := s.idents[name]; i.err == nil && i.accountID == id {
			return name, true
		}
	}
	return "", false
}

// unverifiedAccount returns the configured account that is probably the
// AWS account id when STS could not say: the one whose account_id is id,
// else the only account whose identity is unknown.
func (p *Probe) unverifiedAccount(s *snapshot, id string) (string, bool) {
	var unknown []string
	for _, a := range p.cfg.accounts() {
		if s.idents[a.Name].err == nil {
			continue
		}
		if a.AccountID == id {
			return a.Name, true
		}
		if a.AccountID == "" {
			unknown = append(unknown, a.Name)
		}
	}
	if len(unknown) == 1 {
		return unknown[0], true
	}
	return "", false
}

// matchLinks finds each site link's connection and VIF: by the configured
// IDs, else by discovery (VIFs on the DX gateway, the VGW or the link's
// connection, matched by peer addresses, then by VLAN).
func (s *snapshot) matchLinks(cfg Config, site probes.Site) {
	connByID := map[string]*connData{}
	for _, c := range s.allConns {
		connByID[deref(c.ConnectionId)] = c
	}
	for i, l := range site.Links {
		lv := linkView{link: l, index: i}
		if l.VIFID != "" {
			for _, v := range s.allVIFs {
				if deref(v.VirtualInterfaceId) == l.VIFID {
					lv.vif = v
				}
			}
		} else {
			var cands []*vifData
			for _, v := range s.allVIFs {
				if (cfg.DXGatewayID != "" && deref(v.DirectConnectGatewayId) == cfg.DXGatewayID) ||
					(cfg.VirtualGatewayID != "" && deref(v.VirtualGatewayId) == cfg.VirtualGatewayID) ||
					(l.ConnectionID != "" && deref(v.ConnectionId) == l.ConnectionID) ||
					awaitingGateway(v, l) {
					cands = append(cands, v)
				}
			}
			for _, v := range cands {
				if addrEqual(deref(v.AmazonAddress), l.AmazonAddress) && addrEqual(deref(v.CustomerAddress), l.CustomerAddress) {
					lv.vif = v
					break
				}
			}
			if lv.vif == nil && l.VLAN != 0 {
				for _, v := range cands {
					if int(v.Vlan) == l.VLAN {
						lv.vif = v
						break
					}
				}
			}
			lv.discoveredVIF = lv.vif != nil
		}
		connID := l.ConnectionID
		if connID == "" && lv.vif != nil {
			connID = deref(lv.vif.ConnectionId)
			lv.discoveredConn = connID != ""
		}
		lv.conn = connByID[connID]
		if lv.conn != nil {
			s.conns[connID] = lv.conn
		}
		if lv.vif != nil {
			s.vifs[deref(lv.vif.VirtualInterfaceId)] = lv.vif
		}
		s.links = append(s.links, lv)
	}
}

// awaitingGateway says whether v is a hosted VIF not yet accepted, which
// has no gateway until it is, with the link's peer addresses: discovery
// from the gateway alone finds it by those.
func awaitingGateway(v *vifData, l probes.Link) bool {
	return v.VirtualInterfaceState == dxtypes.VirtualInterfaceStateConfirming &&
		deref(v.DirectConnectGatewayId) == "" && deref(v.VirtualGatewayId) == "" &&
		addrEqual(deref(v.AmazonAddress), l.AmazonAddress) && addrEqual(deref(v.CustomerAddress), l.CustomerAddress)
}

func addrEqual(aws string, want netip.Prefix) bool {
	if !want.IsValid() || aws == "" {
		return false
	}
	got, err := netip.ParsePrefix(aws)
	if err != nil {
		a, err := netip.ParseAddr(aws)
		return err == nil && a == want.Addr()
	}
	return got.Addr() == want.Addr()
}

// collectGateway finds the DX gateway in the accounts (it is global: it is
// looked up in each account's first region) and reads its associations and
// VIF attachments. When the gateway could not be read, its associations and
// attachments are still read with its ID from the first account that
// failed: they may be allowed, and are needed either way.
func (p *Probe) collectGateway(ctx context.Context, s *snapshot, clients []*accountClients) {
	home := p.cfg.Regions[0]
	var failed *accountClients
	var lookupErr error
	for _, ac := range clients {
		k := tkey{ac.cfg.Name, home}
		dx := ac.dx[home]
		var gw *dxtypes.DirectConnectGateway
		err := p.pages(ctx, s, k, "directconnect:DescribeDirectConnectGateways", func(ctx context.Context, tok *string) (*string, error) {
			out, err := dx.DescribeDirectConnectGateways(ctx, &directconnect.DescribeDirectConnectGatewaysInput{
				DirectConnectGatewayId: &s.gwID, NextToken: tok,
			})
			if err != nil {
				return nil, err
			}
			for i := range out.DirectConnectGateways {
				if deref(out.DirectConnectGateways[i].DirectConnectGatewayId) == s.gwID {
					gw = &out.DirectConnectGateways[i]
				}
			}
			return out.NextToken, nil
		})
		if err != nil {
			if failed == nil {
				failed, lookupErr = ac, err
			}
			continue
		}
		if gw == nil {
			continue
		}
		p.collectGatewayLinks(ctx, s, ac, &gatewayData{gw: *gw, key: k})
		return
	}
	if failed == nil {
		s.gwErr = errNotFound
		return
	}
	s.gwErr = lookupErr
	p.collectGatewayLinks(ctx, s, failed, &gatewayData{key: tkey{failed.cfg.Name, home}, lookupErr: lookupErr})
}

// collectGatewayLinks reads the associations and VIF attachments of the
// DX gateway.
func (p *Probe) collectGatewayLinks(ctx context.Context, s *snapshot, ac *accountClients, gd *gatewayData) {
	k := gd.key
	dx := ac.dx[k.region]
	s.gw = gd
	gd.err = errors.Join(
		p.pages(ctx, s, k, "directconnect:DescribeDirectConnectGatewayAssociations", func(ctx context.Context, tok *string) (*string, error) {
			out, err := dx.DescribeDirectConnectGatewayAssociations(ctx, &directconnect.DescribeDirectConnectGatewayAssociationsInput{
				DirectConnectGatewayId: &s.gwID, NextToken: tok,
			})
			if err != nil {
				return nil, err
			}
			gd.assocs = append(gd.assocs, out.DirectConnectGatewayAssociations...)
			return out.NextToken, nil
		}),
		p.pages(ctx, s, k, "directconnect:DescribeDirectConnectGatewayAttachments", func(ctx context.Context, tok *string) (*string, error) {
			out, err := dx.DescribeDirectConnectGatewayAttachments(ctx, &directconnect.DescribeDirectConnectGatewayAttachmentsInput{
				DirectConnectGatewayId: &s.gwID, NextToken: tok,
			})
			if err != nil {
				return nil, err
			}
			gd.attachments = append(gd.attachments, out.DirectConnectGatewayAttachments...)
			return out.NextToken, nil
		}),
	)
}

// collectRoutes lists the routes AWS accepted from and advertised to
// on-prem over the VIF.
func (p *Probe) collectRoutes(ctx context.Context, s *snapshot, dx *directconnect.Client, v *vifData) {
	id := deref(v.VirtualInterfaceId)
	for _, dir := range []dxtypes.RouteDirection{dxtypes.RouteDirectionAccepted, dxtypes.RouteDirectionAdvertised} {
		var routes []dxtypes.Route
		err := p.pages(ctx, s, v.key, "directconnect:ListVirtualInterfaceRoutes", func(ctx context.Context, tok *string) (*string, error) {
			out, err := dx.ListVirtualInterfaceRoutes(ctx, &directconnect.ListVirtualInterfaceRoutesInput{
				VirtualInterfaceId: &id, NextToken: tok, MaxResults: awssdk.Int32(100),
				Filters: &dxtypes.RouteFilters{RouteDirection: dir},
			})
			if err != nil {
				return nil, err
			}
			routes = append(routes, out.Routes...)
			return out.NextToken, nil
		})
		if err != nil {
			v.routesErr = err
			return
		}
		if dir == dxtypes.RouteDirectionAccepted {
			v.accepted = routes
		} else {
			v.advertised = routes
		}
	}
	v.routesDone = true
}

// collectVGWs reads the VGWs behind the gateway (its associations, the
// configured VGW, VIFs attached to a VGW), the VPCs they are attached to
// and those VPCs' route tables.
func (p *Probe) collectVGWs(ctx context.Context, s *snapshot, clients []*accountClients) {
	seen := map[string]*vgwData{}
	add := func(id, owner, region string) {
		if id == "" || seen[id] != nil {
			return
		}
		g := &vgwData{id: id, owner: owner, region: region}
		seen[id] = g
		s.vgws = append(s.vgws, g)
	}
	if s.gw != nil {
		for _, a := range s.gw.assocs {
			if ag := a.AssociatedGateway; ag != nil && ag.Type == dxtypes.GatewayTypeVirtualPrivateGateway {
				add(deref(ag.Id), deref(ag.OwnerAccount), deref(ag.Region))
			} else if deref(a.VirtualGatewayId) != "" {
				// Older associations name only the VGW: search for it.
				add(*a.VirtualGatewayId, "", "")
			}
		}
	}
	for _, lv := range s.links {
		if lv.vif != nil && deref(lv.vif.VirtualGatewayId) != "" {
			add(*lv.vif.VirtualGatewayId, deref(lv.vif.OwnerAccount), lv.vif.key.region)
		}
	}
	if p.cfg.VirtualGatewayID != "" && seen[p.cfg.VirtualGatewayID] == nil {
		// Owner and region unknown: the first account whose home region
		// has it. Regions are tried in order.
		add(p.cfg.VirtualGatewayID, "", "")
	}

	groups := map[tkey][]*vgwData{}
	for _, g := range s.vgws {
		switch {
		case g.owner != "" && g.region != "":
			name, ok := s.accountByID(g.owner)
			if !ok {
				name, ok = p.unverifiedAccount(s, g.owner)
			}
			if !ok {
				continue // not visible: say so in the checks
			}
			g.key, g.visible = tkey{name, g.region}, true
		default:
			// Look for it in every target, first hit wins.
			g.visible = true
			for _, ac := range clients {
				for _, r := range p.cfg.Regions {
					k := tkey{ac.cfg.Name, r}
					var n int
					if err := p.call(ctx, s, k, "ec2:DescribeVpnGateways", func(ctx context.Context) error {
						out, err := ac.ec2[r].DescribeVpnGateways(ctx, &ec2.DescribeVpnGatewaysInput{VpnGatewayIds: []string{g.id}})
						if err == nil {
							n = len(out.VpnGateways)
						}
						return err
					}); err == nil && n > 0 && g.key == (tkey{}) {
						g.key = k
					}
				}
			}
			if g.key == (tkey{}) {
				g.err = errNotFound
				continue
			}
		}
		groups[g.key] = append(groups[g.key], g)
	}

	var fns []func()
	var mu sync.Mutex
	for _, k := range sortedTkeys(groups) {
		gs := groups[k]
		ac := clientsFor(clients, k.account)
		cl := ac.ec2[k.region]
		fns = append(fns, func() {
			ids := make([]string, len(gs))
			for i, g := range gs {
				ids[i] = g.id
			}
			var gws []ec2types.VpnGateway
			err := p.call(ctx, s, k, "ec2:DescribeVpnGateways", func(ctx context.Context) error {
				out, err := cl.DescribeVpnGateways(ctx, &ec2.DescribeVpnGatewaysInput{
					Filters: []ec2types.Filter{{Name: awssdk.String("vpn-gateway-id"), Values: ids}},
				})
				if err == nil {
					gws = out.VpnGateways
				}
				return err
			})
			vpcVGW := map[string]string{}
			for _, g := range gs {
				g.err = err
				if err != nil {
					continue
				}
				i := slices.IndexFunc(gws, func(x ec2types.VpnGateway) bool { return deref(x.VpnGatewayId) == g.id })
				if i < 0 {
					g.err = errNotFound
					continue
				}
				g.gw = &gws[i]
				for _, a := range g.gw.VpcAttachments {
					if a.State == ec2types.AttachmentStatusAttached || a.State == ec2types.AttachmentStatusAttaching {
						g.vpcs = append(g.vpcs, deref(a.VpcId))
						vpcVGW[deref(a.VpcId)] = g.id
					}
				}
			}
			if err != nil {
				// The VPCs are unknown: ask whether their reads would be
				// allowed, so that one poll names every denied action.
				for action, fn := range map[string]func(ctx context.Context) error{
					"ec2:DescribeVpcs": func(ctx context.Context) error {
						_, err := cl.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: awssdk.Bool(true)})
						return err
					},
					"ec2:DescribeRouteTables": func(ctx context.Context) error {
						_, err := cl.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{DryRun: awssdk.Bool(true)})
						return err
					},
				} {
					p.tryPermission(ctx, s, k, action, fn)
				}
			}
			if len(vpcVGW) == 0 {
				return
			}
			vpcIDs := sortedKeys(vpcVGW)
			r := p.readVPCs(ctx, s, k, cl, vpcIDs, vpcVGW)
			mu.Lock()
			r.store(vpcIDs, s.vpcs, s.vpcErr, s.tableErr, &s.tables)
			mu.Unlock()
		})
	}
	parallel(fns)
	sort.Slice(s.tables, func(i, j int) bool { return s.tables[i].id < s.tables[j].id })
}

// vpcRead is what readVPCs found for some VPCs of one account and region.
type vpcRead struct {
	vpcs          []*vpcData
	tables        []*tableData
	vpcErr, rtErr error
}

// readVPCs reads the CIDRs and route tables of VPCs in one account and
// region; vgwOf names each VPC's VGW (none behind a transit gateway). The
// route tables are read even when the VPCs could not be: their filter
// needs only the VPC IDs.
func (p *Probe) readVPCs(ctx context.Context, s *snapshot, k tkey, cl *ec2.Client, ids []string, vgwOf map[string]string) vpcRead {
	var r vpcRead
	byVPC := []ec2types.Filter{{Name: awssdk.String("vpc-id"), Values: ids}}
	r.vpcErr = p.pages(ctx, s, k, "ec2:DescribeVpcs", func(ctx context.Context, tok *string) (*string, error) {
		out, err := cl.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: byVPC, NextToken: tok})
		if err != nil {
			return nil, err
		}
		for _, v := range out.Vpcs {
			r.vpcs = append(r.vpcs, newVPCData(v, vgwOf[deref(v.VpcId)], k))
		}
		return out.NextToken, nil
	})
	r.rtErr = p.pages(ctx, s, k, "ec2:DescribeRouteTables", func(ctx context.Context, tok *string) (*string, error) {
		out, err := cl.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: byVPC, NextToken: tok, MaxResults: awssdk.Int32(100)})
		if err != nil {
			return nil, err
		}
		for _, rt := range out.RouteTables {
			vpc := deref(rt.VpcId)
			r.tables = append(r.tables, &tableData{id: deref(rt.RouteTableId), vpc: vpc, vgw: vgwOf[vpc], key: k, rt: rt})
		}
		return out.NextToken, nil
	})
	return r
}

// store files the read under the VPC IDs it was for.
func (r vpcRead) store(ids []string, vpcs map[string]*vpcData, vpcErr, rtErr map[string]error, tables *[]*tableData) {
	for _, v := range r.vpcs {
		vpcs[v.id] = v
	}
	for _, id := range ids {
		if r.vpcErr != nil {
			vpcErr[id] = r.vpcErr
		}
		if r.rtErr != nil {
			rtErr[id] = r.rtErr
		}
	}
	if r.rtErr == nil {
		*tables = append(*tables, r.tables...)
	}
}

func sortedTkeys[V any](m map[tkey]V) []tkey {
	keys := make([]tkey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

// newVPCData keeps a VPC's associated CIDRs: IPv4 (cidrBlockAssociationSet)
// and IPv6 (ipv6CidrBlockAssociationSet, EC2 API reference, Vpc), each of
// which the gateway's allowed prefixes must cover.
func newVPCData(v ec2types.Vpc, vgw string, k tkey) *vpcData {
	d := &vpcData{id: deref(v.VpcId), vgw: vgw, key: k}
	for _, a := range v.CidrBlockAssociationSet {
		if a.CidrBlockState != nil && a.CidrBlockState.State != ec2types.VpcCidrBlockStateCodeAssociated {
			continue
		}
		if pfx, err := netip.ParsePrefix(deref(a.CidrBlock)); err == nil {
			d.cidrs = append(d.cidrs, pfx)
		}
	}
	if len(d.cidrs) == 0 {
		if pfx, err := netip.ParsePrefix(deref(v.CidrBlock)); err == nil {
			d.cidrs = append(d.cidrs, pfx)
		}
	}
	for _, a := range v.Ipv6CidrBlockAssociationSet {
		if a.Ipv6CidrBlockState != nil && a.Ipv6CidrBlockState.State != ec2types.VpcCidrBlockStateCodeAssociated {
			continue
		}
		if pfx, err := netip.ParsePrefix(deref(a.Ipv6CidrBlock)); err == nil {
			d.cidrs = append(d.cidrs, pfx)
		}
	}
	return d
}
