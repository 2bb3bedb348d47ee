package awstest

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

const ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

// ec2Query is a decoded EC2 query request: filters and ID lists.
type ec2Query struct {
	filters    map[string][]string
	ids        []string
	maxResults int
	nextToken  string
}

// parseEC2 decodes Filter.N.Name / Filter.N.Value.M and <idParam>.N, and
// refuses any other parameter, as EC2 refuses unknown ones.
func parseEC2(form map[string][]string, idParam string, filterNames ...string) (ec2Query, *apiError) {
	q := ec2Query{filters: map[string][]string{}}
	names := map[string]string{}
	values := map[string][]string{}
	for k, v := range form {
		switch {
		case k == "Action" || k == "Version":
		case k == "MaxResults":
			n, err := strconv.Atoi(first(v))
			if err != nil || n < 5 || n > 1000 {
				return q, ec2Err("InvalidParameterValue", "MaxResults must be between 5 and 1000")
			}
			q.maxResults = n
		case k == "NextToken":
			q.nextToken = first(v)
		case idParam != "" && strings.HasPrefix(k, idParam+"."):
			q.ids = append(q.ids, first(v))
		case strings.HasPrefix(k, "Filter."):
			rest := strings.TrimPrefix(k, "Filter.")
			n, field, _ := strings.Cut(rest, ".")
			switch {
			case field == "Name":
				names[n] = first(v)
			case strings.HasPrefix(field, "Value."):
				values[n] = append(values[n], first(v))
			default:
				return q, ec2Err("InvalidParameterValue", "bad parameter "+k)
			}
		default:
			return q, ec2Err("UnknownParameter", "The parameter "+k+" is not recognized")
		}
	}
	for n, name := range names {
		if !slices.Contains(filterNames, name) {
			return q, ec2Err("InvalidParameterValue", "The filter '"+name+"' is invalid")
		}
		q.filters[name] = append(q.filters[name], values[n]...)
	}
	return q, nil
}

// match says whether v passes the filter name (absent filters pass).
func (q ec2Query) match(name string, v ...string) bool {
	want, ok := q.filters[name]
	if !ok {
		return true
	}
	for _, x := range v {
		if slices.Contains(want, x) {
			return true
		}
	}
	return false
}

func (q ec2Query) id(v string) bool { return len(q.ids) == 0 || slices.Contains(q.ids, v) }

func ec2Err(code, msg string) *apiError { return &apiError{status: 400, code: code, msg: msg} }

type xmlItemState struct {
	State string `xml:"state"`
}

type xmlVpnGateway struct {
	VpnGatewayID  string `xml:"vpnGatewayId"`
	State         string `xml:"state"`
	Type          string `xml:"type"`
	AmazonSideAsn int64  `xml:"amazonSideAsn,omitempty"`
	Attachments   []struct {
		VpcID string `xml:"vpcId"`
		State string `xml:"state"`
	} `xml:"attachments>item"`
}

type xmlVpc struct {
	VpcID         string `xml:"vpcId"`
	OwnerID       string `xml:"ownerId"`
	State         string `xml:"state"`
	CidrBlock     string `xml:"cidrBlock"`
	CidrBlockSets []struct {
		AssociationID  string       `xml:"associationId"`
		CidrBlock      string       `xml:"cidrBlock"`
		CidrBlockState xmlItemState `xml:"cidrBlockState"`
	} `xml:"cidrBlockAssociationSet>item"`
	Ipv6CidrBlockSets []xmlIpv6Cidr `xml:"ipv6CidrBlockAssociationSet>item"`
}

// xmlIpv6Cidr is an IPv6 CIDR of a VPC (EC2 type
// VpcIpv6CidrBlockAssociation).
type xmlIpv6Cidr struct {
	AssociationID      string       `xml:"associationId"`
	Ipv6CidrBlock      string       `xml:"ipv6CidrBlock"`
	Ipv6CidrBlockState xmlItemState `xml:"ipv6CidrBlockState"`
}

// xmlRoute is one route of a route table (EC2 type Route).
type xmlRoute struct {
	DestinationCidrBlock     string `xml:"destinationCidrBlock,omitempty"`
	DestinationIpv6CidrBlock string `xml:"destinationIpv6CidrBlock,omitempty"`
	GatewayID                string `xml:"gatewayId,omitempty"`
	TransitGatewayID         string `xml:"transitGatewayId,omitempty"`
	State                    string `xml:"state"`
	Origin                   string `xml:"origin"`
}

type xmlRouteTable struct {
	RouteTableID string     `xml:"routeTableId"`
	VpcID        string     `xml:"vpcId"`
	OwnerID      string     `xml:"ownerId"`
	Routes       []xmlRoute `xml:"routeSet>item"`
	Associations []struct {
		RouteTableAssociationID string       `xml:"routeTableAssociationId"`
		RouteTableID            string       `xml:"routeTableId"`
		Main                    bool         `xml:"main"`
		AssociationState        xmlItemState `xml:"associationState"`
	} `xml:"associationSet>item"`
	PropagatingVgws []struct {
		GatewayID string `xml:"gatewayId"`
	} `xml:"propagatingVgwSet>item"`
}

func (s *Server) ec2(c call) ([]byte, *apiError) {
	sc := s.sc
	visible := func(owner, region string) bool { return owner == c.account && region == c.region }
	reqID := fmt.Sprintf("fake-%d", time.Now().UnixNano())
	if first(c.form["DryRun"]) == "true" {
		// Permission was checked before (Scenario Deny): EC2 answers a
		// permitted dry run with this error, HTTP 412.
		return nil, &apiError{status: 412, code: "DryRunOperation", msg: "Request would have succeeded, but DryRun flag is set."}
	}
	var out any
	switch c.op {
	case "DescribeVpnGateways":
		q, err := parseEC2(c.form, "VpnGatewayId", "vpn-gateway-id", "attachment.vpc-id", "state")
		if err != nil {
			return nil, err
		}
		var items []xmlVpnGateway
		for _, g := range sc.VPNGateways {
			vpcs := make([]string, 0, len(g.Attachments))
			for _, a := range g.Attachments {
				vpcs = append(vpcs, a.VpcID)
			}
			if !visible(g.OwnerAccount, g.Region) || !q.id(g.VpnGatewayID) || !q.match("vpn-gateway-id", g.VpnGatewayID) ||
				!q.match("attachment.vpc-id", vpcs...) || !q.match("state", g.State) {
				continue
			}
			x := xmlVpnGateway{VpnGatewayID: g.VpnGatewayID, State: g.State, Type: g.Type, AmazonSideAsn: g.AmazonSideAsn}
			for _, a := range g.Attachments {
				x.Attachments = append(x.Attachments, struct {
					VpcID string `xml:"vpcId"`
					State string `xml:"state"`
				}{a.VpcID, a.State})
			}
			items = append(items, x)
		}
		out = struct {
			XMLName   xml.Name        `xml:"DescribeVpnGatewaysResponse"`
			NS        string          `xml:"xmlns,attr"`
			RequestID string          `xml:"requestId"`
			Items     []xmlVpnGateway `xml:"vpnGatewaySet>item"`
		}{NS: ec2NS, RequestID: reqID, Items: items}
	case "DescribeVpcs":
		q, err := parseEC2(c.form, "VpcId", "vpc-id")
		if err != nil {
			return nil, err
		}
		var items []xmlVpc
		for _, v := range sc.VPCs {
			if !visible(v.OwnerAccount, v.Region) || !q.id(v.VpcID) || !q.match("vpc-id", v.VpcID) {
				continue
			}
			x := xmlVpc{VpcID: v.VpcID, OwnerID: v.OwnerAccount, State: v.State, CidrBlock: v.CidrBlock}
			for i, cidr := range append([]string{v.CidrBlock}, v.MoreCidrs...) {
				x.CidrBlockSets = append(x.CidrBlockSets, struct {
					AssociationID  string       `xml:"associationId"`
					CidrBlock      string       `xml:"cidrBlock"`
					CidrBlockState xmlItemState `xml:"cidrBlockState"`
				}{fmt.Sprintf("vpc-cidr-assoc-%s-%d", v.VpcID, i), cidr, xmlItemState{"associated"}})
			}
			for i, cidr := range v.Ipv6Cidrs {
				x.Ipv6CidrBlockSets = append(x.Ipv6CidrBlockSets, xmlIpv6Cidr{fmt.Sprintf("vpc-cidr-assoc-%s-6-%d", v.VpcID, i), cidr, xmlItemState{"associated"}})
			}
			items = append(items, x)
		}
		pg, next, err := page(items, q.nextToken, pageSize(sc.PageSize, q.maxResults))
		if err != nil {
			return nil, err
		}
		out = struct {
			XMLName   xml.Name `xml:"DescribeVpcsResponse"`
			NS        string   `xml:"xmlns,attr"`
			RequestID string   `xml:"requestId"`
			Items     []xmlVpc `xml:"vpcSet>item"`
			NextToken string   `xml:"nextToken,omitempty"`
		}{NS: ec2NS, RequestID: reqID, Items: pg, NextToken: next}
	case "DescribeRouteTables":
		q, err := parseEC2(c.form, "RouteTableId", "vpc-id", "route-table-id")
		if err != nil {
			return nil, err
		}
		if q.maxResults > 100 {
			return nil, ec2Err("InvalidParameterValue", "MaxResults must be between 5 and 100")
		}
		var items []xmlRouteTable
		for _, t := range sc.RouteTables {
			if !visible(t.OwnerAccount, t.Region) || !q.id(t.RouteTableID) || !q.match("vpc-id", t.VpcID) ||
				!q.match("route-table-id", t.RouteTableID) {
				continue
			}
			x := xmlRouteTable{RouteTableID: t.RouteTableID, VpcID: t.VpcID, OwnerID: t.OwnerAccount}
			for _, r := range t.Routes {
				x.Routes = append(x.Routes, xmlRoute(r))
			}
			if t.Main {
				x.Associations = append(x.Associations, struct {
					RouteTableAssociationID string       `xml:"routeTableAssociationId"`
					RouteTableID            string       `xml:"routeTableId"`
					Main                    bool         `xml:"main"`
					AssociationState        xmlItemState `xml:"associationState"`
				}{"rtbassoc-" + t.RouteTableID, t.RouteTableID, true, xmlItemState{"associated"}})
			}
			for _, g := range t.PropagatingVgws {
				x.PropagatingVgws = append(x.PropagatingVgws, struct {
					GatewayID string `xml:"gatewayId"`
				}{g})
			}
			items = append(items, x)
		}
		pg, next, err := page(items, q.nextToken, pageSize(sc.PageSize, q.maxResults))
		if err != nil {
			return nil, err
		}
		out = struct {
			XMLName   xml.Name        `xml:"DescribeRouteTablesResponse"`
			NS        string          `xml:"xmlns,attr"`
			RequestID string          `xml:"requestId"`
			Items     []xmlRouteTable `xml:"routeTableSet>item"`
			NextToken string          `xml:"nextToken,omitempty"`
		}{NS: ec2NS, RequestID: reqID, Items: pg, NextToken: next}
	default:
		if b, err, ok := s.ec2TGW(c, reqID); ok {
			return b, err
		}
		return nil, ec2Err("InvalidAction", fmt.Sprintf("The action %s is not valid for this web service (fake).", c.op))
	}
	return marshalXML(out)
}

func pageSize(def, asked int) int {
	if asked > 0 && (def == 0 || asked < def) {
		return asked
	}
	return def
}

func marshalXML(v any) ([]byte, *apiError) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, &apiError{status: 500, code: "InternalError", msg: err.Error()}
	}
	return append([]byte(xml.Header), b...), nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
