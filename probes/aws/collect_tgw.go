package aws

import (
	"context"
	"slices"
	"sort"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// tgwData is a transit gateway associated with the DX gateway, with what
// was read of it: its attachments, the route tables they use and the VPCs
// behind it.
type tgwData struct {
	id, owner, region string
	key               tkey
	visible           bool // its owner account is configured
	tgw               *ec2types.TransitGateway
	err               error // DescribeTransitGateways
	attachments       []ec2types.TransitGatewayAttachment
	attErr            error
	vpcAtts           []ec2types.TransitGatewayVpcAttachment
	vpcAttErr         error
	tables            map[string]*tgwTable // by ID: the tables the DX gateway and VPC attachments are associated with

	vpcs     map[string]*vpcData
	vpcOwner map[string]string // VPC ID -> owning AWS account
	hidden   map[string]bool   // VPCs whose owner account is not configured
	vpcErr   map[string]error  // why a VPC's CIDRs could not be read
	rtErr    map[string]error  // why a VPC's route tables could not be read
	vpcRTs   []*tableData      // route tables of the VPCs (vgw is empty)
}

// tgwTable is one transit gateway route table.
type tgwTable struct {
	id        string
	props     []ec2types.TransitGatewayRouteTablePropagation
	propsErr  error
	routes    []ec2types.TransitGatewayRoute
	routesErr error
	truncated bool // more routes than one search returns
}

// dxAttachment returns the transit gateway's attachment of the DX gateway.
func (t *tgwData) dxAttachment(gwID string) *ec2types.TransitGatewayAttachment {
	for i, a := range t.attachments {
		if a.ResourceType == ec2types.TransitGatewayAttachmentResourceTypeDirectConnectGateway && deref(a.ResourceId) == gwID {
			return &t.attachments[i]
		}
	}
	return nil
}

// attachmentTable returns the route table an attachment is associated
// with, or "".
func attachmentTable(a ec2types.TransitGatewayAttachment) string {
	if a.Association == nil || a.Association.State != ec2types.TransitGatewayAssociationStateAssociated {
		return ""
	}
	return deref(a.Association.TransitGatewayRouteTableId)
}

// collectTGWs reads the transit gateways the DX gateway is associated
// with: each in its owner's account and region, then the VPCs behind it in
// theirs.
func (p *Probe) collectTGWs(ctx context.Context, s *snapshot, clients []*accountClients) {
	if s.gw == nil {
		return
	}
	for _, a := range s.gw.assocs {
		ag := a.AssociatedGateway
		if ag == nil || ag.Type != dxtypes.GatewayTypeTransitGateway || deref(ag.Id) == "" {
			continue
		}
		t := &tgwData{
			id: *ag.Id, owner: deref(ag.OwnerAccount), region: deref(ag.Region), tables: map[string]*tgwTable{},
			vpcs: map[string]*vpcData{}, vpcOwner: map[string]string{}, hidden: map[string]bool{},
			vpcErr: map[string]error{}, rtErr: map[string]error{},
		}
		s.tgws = append(s.tgws, t)
		name, ok := p.accountOf(s, t.owner)
		if !ok || !slices.Contains(p.cfg.Regions, t.region) {
			continue
		}
		t.key, t.visible = tkey{name, t.region}, true
		p.collectTGW(ctx, s, clientsFor(clients, name).ec2[t.region], t)
		p.collectTGWVPCs(ctx, s, clients, t)
	}
}

// accountOf returns the configured account of an AWS account ID.
func (p *Probe) accountOf(s *snapshot, id string) (string, bool) {
	if name, ok := s.accountByID(id); ok {
		return name, true
	}
	return p.unverifiedAccount(s, id)
}

func (p *Probe) collectTGW(ctx context.Context, s *snapshot, cl *ec2.Client, t *tgwData) {
	k := t.key
	byTGW := []ec2types.Filter{{Name: awssdk.String("transit-gateway-id"), Values: []string{t.id}}}
	t.err = p.call(ctx, s, k, "ec2:DescribeTransitGateways", func(ctx context.Context) error {
		out, err := cl.DescribeTransitGateways(ctx, &ec2.DescribeTransitGatewaysInput{TransitGatewayIds: []string{t.id}})
		if err != nil {
			return err
		}
		for i := range out.TransitGateways {
			if deref(out.TransitGateways[i].TransitGatewayId) == t.id {
				t.tgw = &out.TransitGateways[i]
			}
		}
		return nil
	})
	if t.err == nil && t.tgw == nil {
		t.err = errNotFound
	}
	t.attErr = p.pages(ctx, s, k, "ec2:DescribeTransitGatewayAttachments", func(ctx context.Context, tok *string) (*string, error) {
		out, err := cl.DescribeTransitGatewayAttachments(ctx, &ec2.DescribeTransitGatewayAttachmentsInput{Filters: byTGW, NextToken: tok})
		if err != nil {
			return nil, err
		}
		t.attachments = append(t.attachments, out.TransitGatewayAttachments...)
		return out.NextToken, nil
	})
	t.vpcAttErr = p.pages(ctx, s, k, "ec2:DescribeTransitGatewayVpcAttachments", func(ctx context.Context, tok *string) (*string, error) {
		out, err := cl.DescribeTransitGatewayVpcAttachments(ctx, &ec2.DescribeTransitGatewayVpcAttachmentsInput{Filters: byTGW, NextToken: tok})
		if err != nil {
			return nil, err
		}
		t.vpcAtts = append(t.vpcAtts, out.TransitGatewayVpcAttachments...)
		return out.NextToken, nil
	})
	sort.Slice(t.vpcAtts, func(i, j int) bool { return deref(t.vpcAtts[i].VpcId) < deref(t.vpcAtts[j].VpcId) })

	// The route tables that matter: the DX gateway attachment's and the
	// VPC attachments'.
	var ids []string
	for _, a := range t.attachments {
		dx := a.ResourceType == ec2types.TransitGatewayAttachmentResourceTypeDirectConnectGateway && deref(a.ResourceId) == s.gwID
		if id := attachmentTable(a); id != "" && (dx || a.ResourceType == ec2types.TransitGatewayAttachmentResourceTypeVpc) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var fns []func()
	for _, id := range ids {
		tt := &tgwTable{id: id}
		t.tables[id] = tt
		fns = append(fns, func() {
			tt.propsErr = p.pages(ctx, s, k, "ec2:GetTransitGatewayRouteTablePropagations", func(ctx context.Context, tok *string) (*string, error) {
				out, err := cl.GetTransitGatewayRouteTablePropagations(ctx, &ec2.GetTransitGatewayRouteTablePropagationsInput{
					TransitGatewayRouteTableId: &tt.id, NextToken: tok,
				})
				if err != nil {
					return nil, err
				}
				tt.props = append(tt.props, out.TransitGatewayRouteTablePropagations...)
				return out.NextToken, nil
			})
			tt.routesErr = p.call(ctx, s, k, "ec2:SearchTransitGatewayRoutes", func(ctx context.Context) error {
				// The search needs a filter: every route that forwards or
				// drops (pending and deleting ones do neither).
				out, err := cl.SearchTransitGatewayRoutes(ctx, &ec2.SearchTransitGatewayRoutesInput{
					TransitGatewayRouteTableId: &tt.id, MaxResults: awssdk.Int32(1000),
					Filters: []ec2types.Filter{{Name: awssdk.String("state"), Values: []string{"active", "blackhole"}}},
				})
				if err != nil {
					return err
				}
				tt.routes, tt.truncated = out.Routes, deref(out.AdditionalRoutesAvailable)
				return nil
			})
		})
	}
	parallel(fns)
}

// collectTGWVPCs reads the CIDRs and route tables of the VPCs attached to
// the transit gateway, in their owners' accounts (the transit gateway's
// region).
func (p *Probe) collectTGWVPCs(ctx context.Context, s *snapshot, clients []*accountClients, t *tgwData) {
	byAccount := map[string][]string{}
	for _, a := range t.vpcAtts {
		vpc, owner := deref(a.VpcId), deref(a.VpcOwnerId)
		if a.State != ec2types.TransitGatewayAttachmentStateAvailable || vpc == "" {
			continue
		}
		t.vpcOwner[vpc] = owner
		name, ok := p.accountOf(s, owner)
		if !ok {
			t.hidden[vpc] = true
			continue
		}
		byAccount[name] = append(byAccount[name], vpc)
	}
	for _, name := range sortedKeys(byAccount) {
		k := tkey{name, t.region}
		cl := clientsFor(clients, name).ec2[t.region]
		ids := byAccount[name]
		p.readVPCs(ctx, s, k, cl, ids, nil).store(ids, t.vpcs, t.vpcErr, t.rtErr, &t.vpcRTs)
	}
	sort.Slice(t.vpcRTs, func(i, j int) bool { return t.vpcRTs[i].id < t.vpcRTs[j].id })
}
