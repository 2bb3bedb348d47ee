package awstest

import (
	"encoding/xml"
	"net/url"
	"strings"
)

// TransitGateway is an EC2 transit gateway (EC2 type TransitGateway).
type TransitGateway struct {
	TransitGatewayID string `json:"transitGatewayId"`
	State            string `json:"state"` // pending | available | modifying | deleting | deleted
	AmazonSideAsn    int64  `json:"amazonSideAsn"`
	OwnerAccount     string `json:"ownerAccount"`
	Region           string `json:"region"`
}

// TGWAttachment is an attachment of a transit gateway (EC2 types
// TransitGatewayAttachment and, for a VPC, TransitGatewayVpcAttachment).
// It lives in its transit gateway's account and region; the owner of its
// resource sees it too.
type TGWAttachment struct {
	TransitGatewayAttachmentID string `json:"transitGatewayAttachmentId"`
	TransitGatewayID           string `json:"transitGatewayId"`
	// ResourceType is vpc | vpn | direct-connect-gateway | connect |
	// peering | tgw-peering.
	ResourceType  string `json:"resourceType"`
	ResourceID    string `json:"resourceId"`
	ResourceOwner string `json:"resourceOwnerId"`
	State         string `json:"state"` // pendingAcceptance | pending | available | ...
	// RouteTableID is the transit gateway route table the attachment is
	// associated with (empty: none).
	RouteTableID string   `json:"transitGatewayRouteTableId,omitempty"`
	SubnetIDs    []string `json:"subnetIds,omitempty"` // VPC attachments
}

// TGWRouteTable is a transit gateway route table with its propagations and
// routes.
type TGWRouteTable struct {
	TransitGatewayRouteTableID string `json:"transitGatewayRouteTableId"`
	TransitGatewayID           string `json:"transitGatewayId"`
	// Propagations are the attachments whose routes propagate into the
	// table (state enabled).
	Propagations []string   `json:"propagations,omitempty"`
	Routes       []TGWRoute `json:"routes,omitempty"`
}

// TGWRoute is a route in a transit gateway route table (EC2 type
// TransitGatewayRoute).
type TGWRoute struct {
	DestinationCidrBlock string `json:"destinationCidrBlock"`
	AttachmentID         string `json:"transitGatewayAttachmentId,omitempty"` // empty for a blackhole route
	Type                 string `json:"type"`                                 // static | propagated
	State                string `json:"state"`                                // active | blackhole
}

// TransitGateway returns the transit gateway with the given ID, or nil.
func (sc *Scenario) TransitGateway(id string) *TransitGateway {
	for i := range sc.TransitGateways {
		if sc.TransitGateways[i].TransitGatewayID == id {
			return &sc.TransitGateways[i]
		}
	}
	return nil
}

// TGWRouteTable returns the transit gateway route table with the given ID,
// or nil.
func (sc *Scenario) TGWRouteTable(id string) *TGWRouteTable {
	for i := range sc.TGWRouteTables {
		if sc.TGWRouteTables[i].TransitGatewayRouteTableID == id {
			return &sc.TGWRouteTables[i]
		}
	}
	return nil
}

// Association returns the DX gateway association with the given ID, or nil.
func (sc *Scenario) Association(id string) *Association {
	for i := range sc.Associations {
		if sc.Associations[i].AssociationID == id {
			return &sc.Associations[i]
		}
	}
	return nil
}

type xmlTransitGateway struct {
	TransitGatewayID string `xml:"transitGatewayId"`
	OwnerID          string `xml:"ownerId"`
	State            string `xml:"state"`
	Options          struct {
		AmazonSideAsn int64 `xml:"amazonSideAsn"`
	} `xml:"options"`
}

type xmlTGWAttachment struct {
	TransitGatewayAttachmentID string `xml:"transitGatewayAttachmentId"`
	TransitGatewayID           string `xml:"transitGatewayId"`
	TransitGatewayOwnerID      string `xml:"transitGatewayOwnerId"`
	ResourceOwnerID            string `xml:"resourceOwnerId"`
	ResourceType               string `xml:"resourceType"`
	ResourceID                 string `xml:"resourceId"`
	State                      string `xml:"state"`
	Association                *struct {
		TransitGatewayRouteTableID string `xml:"transitGatewayRouteTableId"`
		State                      string `xml:"state"`
	} `xml:"association,omitempty"`
}

type xmlTGWVpcAttachment struct {
	TransitGatewayAttachmentID string   `xml:"transitGatewayAttachmentId"`
	TransitGatewayID           string   `xml:"transitGatewayId"`
	VpcID                      string   `xml:"vpcId"`
	VpcOwnerID                 string   `xml:"vpcOwnerId"`
	State                      string   `xml:"state"`
	SubnetIDs                  []string `xml:"subnetIds>item"`
}

type xmlTGWPropagation struct {
	TransitGatewayAttachmentID string `xml:"transitGatewayAttachmentId"`
	ResourceID                 string `xml:"resourceId"`
	ResourceType               string `xml:"resourceType"`
	State                      string `xml:"state"`
}

type xmlTGWRoute struct {
	DestinationCidrBlock string `xml:"destinationCidrBlock"`
	Attachments          []struct {
		ResourceID                 string `xml:"resourceId"`
		TransitGatewayAttachmentID string `xml:"transitGatewayAttachmentId"`
		ResourceType               string `xml:"resourceType"`
	} `xml:"transitGatewayAttachments>item"`
	Type  string `xml:"type"`
	State string `xml:"state"`
}

// ec2TGW serves the transit gateway operations of EC2; ok is false for
// any other operation.
func (s *Server) ec2TGW(c call, reqID string) (out []byte, apiErr *apiError, ok bool) {
	sc := s.sc
	tgwOf := sc.TransitGateway
	// The transit gateway's owner sees it in its region.
	ownTGW := func(id string) bool {
		g := tgwOf(id)
		return g != nil && g.OwnerAccount == c.account && g.Region == c.region
	}
	attachment := func(id string) *TGWAttachment {
		for i := range sc.TGWAttachments {
			if sc.TGWAttachments[i].TransitGatewayAttachmentID == id {
				return &sc.TGWAttachments[i]
			}
		}
		return nil
	}
	switch c.op {
	case "DescribeTransitGateways":
		q, err := parseEC2(c.form, "TransitGatewayIds", "transit-gateway-id", "state", "owner-id")
		if err != nil {
			return nil, err, true
		}
		var items []xmlTransitGateway
		for _, g := range sc.TransitGateways {
			if !ownTGW(g.TransitGatewayID) || !q.id(g.TransitGatewayID) || !q.match("transit-gateway-id", g.TransitGatewayID) ||
				!q.match("state", g.State) || !q.match("owner-id", g.OwnerAccount) {
				continue
			}
			x := xmlTransitGateway{TransitGatewayID: g.TransitGatewayID, OwnerID: g.OwnerAccount, State: g.State}
			x.Options.AmazonSideAsn = g.AmazonSideAsn
			items = append(items, x)
		}
		if len(q.ids) > 0 && len(items) < len(q.ids) {
			return nil, ec2Err("InvalidTransitGatewayID.NotFound", "Transit Gateway "+strings.Join(q.ids, ",")+" was deleted or does not exist."), true
		}
		return tgwPage(sc, q, reqID, "DescribeTransitGatewaysResponse", "transitGatewaySet", items)
	case "DescribeTransitGatewayAttachments", "DescribeTransitGatewayVpcAttachments":
		q, err := parseEC2(c.form, "TransitGatewayAttachmentIds", "transit-gateway-id", "resource-type", "resource-id", "state", "transit-gateway-attachment-id", "vpc-id")
		if err != nil {
			return nil, err, true
		}
		vpcOnly := c.op == "DescribeTransitGatewayVpcAttachments"
		var atts []xmlTGWAttachment
		var vpcs []xmlTGWVpcAttachment
		for _, a := range sc.TGWAttachments {
			g := tgwOf(a.TransitGatewayID)
			if g == nil || g.Region != c.region || (g.OwnerAccount != c.account && a.ResourceOwner != c.account) ||
				!q.id(a.TransitGatewayAttachmentID) || !q.match("transit-gateway-id", a.TransitGatewayID) ||
				!q.match("transit-gateway-attachment-id", a.TransitGatewayAttachmentID) ||
				!q.match("resource-type", a.ResourceType) || !q.match("resource-id", a.ResourceID) || !q.match("state", a.State) {
				continue
			}
			if vpcOnly {
				if a.ResourceType != "vpc" || !q.match("vpc-id", a.ResourceID) {
					continue
				}
				vpcs = append(vpcs, xmlTGWVpcAttachment{
					TransitGatewayAttachmentID: a.TransitGatewayAttachmentID, TransitGatewayID: a.TransitGatewayID,
					VpcID: a.ResourceID, VpcOwnerID: a.ResourceOwner, State: a.State, SubnetIDs: a.SubnetIDs,
				})
				continue
			}
			x := xmlTGWAttachment{
				TransitGatewayAttachmentID: a.TransitGatewayAttachmentID, TransitGatewayID: a.TransitGatewayID,
				TransitGatewayOwnerID: g.OwnerAccount, ResourceOwnerID: a.ResourceOwner,
				ResourceType: a.ResourceType, ResourceID: a.ResourceID, State: a.State,
			}
			if a.RouteTableID != "" {
				x.Association = &struct {
					TransitGatewayRouteTableID string `xml:"transitGatewayRouteTableId"`
					State                      string `xml:"state"`
				}{a.RouteTableID, "associated"}
			}
			atts = append(atts, x)
		}
		if vpcOnly {
			return tgwPage(sc, q, reqID, "DescribeTransitGatewayVpcAttachmentsResponse", "transitGatewayVpcAttachments", vpcs)
		}
		return tgwPage(sc, q, reqID, "DescribeTransitGatewayAttachmentsResponse", "transitGatewayAttachments", atts)
	case "GetTransitGatewayRouteTablePropagations", "SearchTransitGatewayRoutes":
		form, rtb := withoutParam(c.form, "TransitGatewayRouteTableId")
		filters := []string{"resource-id", "resource-type", "transit-gateway-attachment-id"}
		if c.op == "SearchTransitGatewayRoutes" {
			filters = []string{"state", "type", "route-search.exact-match", "attachment.resource-type", "attachment.transit-gateway-attachment-id"}
		}
		q, err := parseEC2(form, "", filters...)
		if err != nil {
			return nil, err, true
		}
		if rtb == "" {
			return nil, ec2Err("MissingParameter", "The request must contain the parameter TransitGatewayRouteTableId"), true
		}
		t := sc.TGWRouteTable(rtb)
		if t == nil || !ownTGW(t.TransitGatewayID) {
			return nil, ec2Err("InvalidRouteTableID.NotFound", "Transit Gateway Route Table "+rtb+" was deleted or does not exist."), true
		}
		if c.op == "GetTransitGatewayRouteTablePropagations" {
			var items []xmlTGWPropagation
			for _, id := range t.Propagations {
				a := attachment(id)
				if a == nil || !q.match("transit-gateway-attachment-id", id) || !q.match("resource-id", a.ResourceID) || !q.match("resource-type", a.ResourceType) {
					continue
				}
				items = append(items, xmlTGWPropagation{TransitGatewayAttachmentID: id, ResourceID: a.ResourceID, ResourceType: a.ResourceType, State: "enabled"})
			}
			return tgwPage(sc, q, reqID, "GetTransitGatewayRouteTablePropagationsResponse", "transitGatewayRouteTablePropagations", items)
		}
		if len(q.filters) == 0 {
			// The API requires at least one filter.
			return nil, ec2Err("MissingParameter", "The request must contain the parameter Filters"), true
		}
		var items []xmlTGWRoute
		for _, r := range t.Routes {
			if !q.match("state", r.State) || !q.match("type", r.Type) || !q.match("route-search.exact-match", r.DestinationCidrBlock) {
				continue
			}
			x := xmlTGWRoute{DestinationCidrBlock: r.DestinationCidrBlock, Type: r.Type, State: r.State}
			if a := attachment(r.AttachmentID); a != nil {
				x.Attachments = append(x.Attachments, struct {
					ResourceID                 string `xml:"resourceId"`
					TransitGatewayAttachmentID string `xml:"transitGatewayAttachmentId"`
					ResourceType               string `xml:"resourceType"`
				}{a.ResourceID, a.TransitGatewayAttachmentID, a.ResourceType})
			}
			items = append(items, x)
		}
		// No pages: at most MaxResults (default 1000) routes, and a flag
		// saying more exist.
		limit := 1000
		if q.maxResults > 0 {
			limit = q.maxResults
		}
		more := len(items) > limit
		if more {
			items = items[:limit]
		}
		b, apiErr := marshalXML(struct {
			XMLName   xml.Name      `xml:"SearchTransitGatewayRoutesResponse"`
			NS        string        `xml:"xmlns,attr"`
			RequestID string        `xml:"requestId"`
			Items     []xmlTGWRoute `xml:"routeSet>item"`
			More      bool          `xml:"additionalRoutesAvailable"`
		}{NS: ec2NS, RequestID: reqID, Items: items, More: more})
		return b, apiErr, true
	}
	return nil, nil, false
}

// tgwPage writes one page of items under <list><item>… with the
// operation's response element and a nextToken when more pages follow.
func tgwPage[T any](sc *Scenario, q ec2Query, reqID, response, list string, items []T) ([]byte, *apiError, bool) {
	pg, next, err := page(items, q.nextToken, pageSize(sc.PageSize, q.maxResults))
	if err != nil {
		return nil, err, true
	}
	type itemList struct {
		XMLName xml.Name
		Items   []T `xml:"item"`
	}
	b, apiErr := marshalXML(struct {
		XMLName   xml.Name
		NS        string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		List      itemList `xml:""`
		NextToken string   `xml:"nextToken,omitempty"`
	}{XMLName: xml.Name{Local: response}, NS: ec2NS, RequestID: reqID, List: itemList{XMLName: xml.Name{Local: list}, Items: pg}, NextToken: next})
	return b, apiErr, true
}

// withoutParam returns the form without the key, and the key's value.
func withoutParam(form url.Values, key string) (url.Values, string) {
	out := url.Values{}
	for k, v := range form {
		if k != key {
			out[k] = v
		}
	}
	return out, first(form[key])
}
