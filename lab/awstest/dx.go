package awstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// dxRequest holds every request member of the Direct Connect operations the
// fake serves; unknown members are refused, as a typo would be.
type dxRequest struct {
	ConnectionID           string `json:"connectionId"`
	VirtualInterfaceID     string `json:"virtualInterfaceId"`
	DirectConnectGatewayID string `json:"directConnectGatewayId"`
	VirtualGatewayID       string `json:"virtualGatewayId"`
	AssociatedGatewayID    string `json:"associatedGatewayId"`
	AssociationID          string `json:"associationId"`
	MaxResults             int    `json:"maxResults"`
	NextToken              string `json:"nextToken"`
	LoaContentType         string `json:"loaContentType"`
	ProviderName           string `json:"providerName"`
	Filters                *struct {
		RouteDirection string   `json:"routeDirection"`
		AddressFamily  string   `json:"addressFamily"`
		Cidrs          []string `json:"cidrs"`
		AsPath         []int64  `json:"asPath"`
		Communities    []string `json:"communities"`
	} `json:"filters"`
	BgpPeers              []string `json:"bgpPeers"`
	TestDurationInMinutes *int     `json:"testDurationInMinutes"`
	TestID                string   `json:"testId"`
	Status                string   `json:"status"`
}

// attachment is the API type DirectConnectGatewayAttachment.
type attachment struct {
	DirectConnectGatewayID       string `json:"directConnectGatewayId"`
	VirtualInterfaceID           string `json:"virtualInterfaceId"`
	VirtualInterfaceRegion       string `json:"virtualInterfaceRegion"`
	VirtualInterfaceOwnerAccount string `json:"virtualInterfaceOwnerAccount"`
	AttachmentState              string `json:"attachmentState"`
	AttachmentType               string `json:"attachmentType"`
}

func (s *Server) directConnect(c call) ([]byte, *apiError) {
	var req dxRequest
	if len(bytes.TrimSpace(c.body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(c.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return nil, &apiError{status: 400, code: "SerializationException", msg: err.Error()}
		}
	}
	size := s.sc.PageSize
	if req.MaxResults > 0 && (size == 0 || req.MaxResults < size) {
		size = req.MaxResults
	}
	sc := s.sc
	visible := func(owner, region string) bool { return owner == c.account && region == c.region }
	var out any
	switch c.op {
	case "DescribeConnections":
		var items []Connection
		for _, x := range sc.Connections {
			if visible(x.OwnerAccount, x.Region) && (req.ConnectionID == "" || req.ConnectionID == x.ConnectionID) {
				items = append(items, x)
			}
		}
		pg, next, err := page(items, req.NextToken, size)
		if err != nil {
			return nil, err
		}
		out = map[string]any{"connections": nonNil(pg), "nextToken": omit(next)}
	case "DescribeLoa":
		x := sc.Connection(req.ConnectionID)
		if x == nil || !visible(x.OwnerAccount, x.Region) {
			return nil, clientErr("Connection %s not found", req.ConnectionID)
		}
		// A requested connection has no LOA-CFA yet: it "stays in the
		// requested state until the Letter of Authorization (LOA) is sent"
		// (API reference, Connection); pending means approved, LOA issued.
		if x.ConnectionState != "pending" {
			return nil, clientErr("LOA is not available for connection %s in state %s", x.ConnectionID, x.ConnectionState)
		}
		// The API reference defines loaIssueTime as "the time of the most
		// recent call to DescribeLoa for this connection": each call
		// re-issues the document and restarts its clock.
		x.LoaIssueTime = At(s.now())
		out = map[string]any{
			"loaContent":     []byte("%PDF-1.4\n% fake LOA-CFA for " + x.ConnectionID + "\n"),
			"loaContentType": "application/pdf",
		}
	case "DescribeVirtualInterfaces":
		var items []VirtualInterface
		for _, x := range sc.VirtualInterfaces {
			// The owner sees its VIFs; the owner of the connection (the
			// partner of a hosted VIF) sees the VIFs on it too.
			conn := sc.Connection(x.ConnectionID)
			if (visible(x.OwnerAccount, x.Region) || (conn != nil && visible(conn.OwnerAccount, x.Region))) &&
				(req.ConnectionID == "" || req.ConnectionID == x.ConnectionID) &&
				(req.VirtualInterfaceID == "" || req.VirtualInterfaceID == x.VirtualInterfaceID) {
				items = append(items, wireVIF(x))
			}
		}
		pg, next, err := page(items, req.NextToken, size)
		if err != nil {
			return nil, err
		}
		out = map[string]any{"virtualInterfaces": nonNil(pg), "nextToken": omit(next)}
	case "DescribeDirectConnectGateways":
		var items []DirectConnectGateway
		for _, x := range sc.DirectConnectGateways {
			if x.OwnerAccount == c.account && (req.DirectConnectGatewayID == "" || req.DirectConnectGatewayID == x.DirectConnectGatewayID) {
				items = append(items, x)
			}
		}
		pg, next, err := page(items, req.NextToken, size)
		if err != nil {
			return nil, err
		}
		out = map[string]any{"directConnectGateways": nonNil(pg), "nextToken": omit(next)}
	case "DescribeDirectConnectGatewayAssociations":
		var items []Association
		for _, x := range sc.Associations {
			if (x.DirectConnectGatewayOwnerAccount == c.account || x.AssociatedGateway.OwnerAccount == c.account) &&
				(req.DirectConnectGatewayID == "" || req.DirectConnectGatewayID == x.DirectConnectGatewayID) &&
				(req.AssociatedGatewayID == "" || req.AssociatedGatewayID == x.AssociatedGateway.ID) &&
				(req.VirtualGatewayID == "" || req.VirtualGatewayID == x.VirtualGatewayID) &&
				(req.AssociationID == "" || req.AssociationID == x.AssociationID) {
				items = append(items, x)
			}
		}
		pg, next, err := page(items, req.NextToken, size)
		if err != nil {
			return nil, err
		}
		out = map[string]any{"directConnectGatewayAssociations": nonNil(pg), "nextToken": omit(next)}
	case "DescribeDirectConnectGatewayAttachments":
		var items []attachment
		for _, v := range sc.VirtualInterfaces {
			if v.DirectConnectGatewayID == "" ||
				(req.DirectConnectGatewayID != "" && req.DirectConnectGatewayID != v.DirectConnectGatewayID) ||
				(req.VirtualInterfaceID != "" && req.VirtualInterfaceID != v.VirtualInterfaceID) {
				continue
			}
			gw := slices.IndexFunc(sc.DirectConnectGateways, func(g DirectConnectGateway) bool {
				return g.DirectConnectGatewayID == v.DirectConnectGatewayID
			})
			if gw < 0 || (sc.DirectConnectGateways[gw].OwnerAccount != c.account && v.OwnerAccount != c.account) {
				continue
			}
			state := "attached"
			switch v.VirtualInterfaceState {
			case "confirming", "verifying", "pending":
				state = "attaching"
			case "deleting":
				state = "detaching"
			case "deleted", "rejected":
				state = "detached"
			}
			typ := "PrivateVirtualInterface"
			if v.VirtualInterfaceType == "transit" {
				typ = "TransitVirtualInterface"
			}
			items = append(items, attachment{
				DirectConnectGatewayID: v.DirectConnectGatewayID, VirtualInterfaceID: v.VirtualInterfaceID,
				VirtualInterfaceRegion: v.Region, VirtualInterfaceOwnerAccount: v.OwnerAccount,
				AttachmentState: state, AttachmentType: typ,
			})
		}
		pg, next, err := page(items, req.NextToken, size)
		if err != nil {
			return nil, err
		}
		out = map[string]any{"directConnectGatewayAttachments": nonNil(pg), "nextToken": omit(next)}
	case "ListVirtualInterfaceRoutes":
		v := sc.VIF(req.VirtualInterfaceID)
		if v == nil || !visible(v.OwnerAccount, v.Region) {
			return nil, clientErr("Virtual interface %s not found", req.VirtualInterfaceID)
		}
		var items []Route
		for _, r := range sc.Routes {
			if r.VirtualInterfaceID != v.VirtualInterfaceID {
				continue
			}
			if f := req.Filters; f != nil && ((f.RouteDirection != "" && f.RouteDirection != r.RouteDirection) ||
				(f.AddressFamily != "" && f.AddressFamily != r.AddressFamily) ||
				(len(f.Cidrs) > 0 && !slices.Contains(f.Cidrs, r.Cidr))) {
				continue
			}
			r.VirtualInterfaceID = "" // not a member of the API's Route
			items = append(items, r)
		}
		if size == 0 || size > 100 {
			size = 100 // the API's page limit
		}
		pg, next, err := page(items, req.NextToken, size)
		if err != nil {
			return nil, err
		}
		out = map[string]any{"virtualInterfaceId": v.VirtualInterfaceID, "routes": nonNil(pg), "nextToken": omit(next)}
	case "StartBgpFailoverTest":
		v := sc.VIF(req.VirtualInterfaceID)
		if v == nil || !visible(v.OwnerAccount, v.Region) {
			return nil, clientErr("Virtual interface %s not found", req.VirtualInterfaceID)
		}
		if v.VirtualInterfaceState == "testing" {
			return nil, clientErr("A BGP failover test is already running on %s", v.VirtualInterfaceID)
		}
		minutes := 180
		if req.TestDurationInMinutes != nil {
			minutes = *req.TestDurationInMinutes
		}
		if minutes < 1 || minutes > 4320 {
			return nil, clientErr("testDurationInMinutes must be between 1 and 4320")
		}
		peers := req.BgpPeers
		if len(peers) == 0 {
			for _, p := range v.BgpPeers {
				peers = append(peers, p.BgpPeerID)
			}
		}
		// bgpPeers names the peers to hold down (a dual-stack VIF's
		// IPv6 one alone, say); an ID that is not one of the VIF's is a
		// DirectConnectClientException, the API reference's error for
		// parameters that are not valid (StartBgpFailoverTest, Errors; the
		// message is the fake's own: AWS documents none). Every ID is
		// checked before any peer is touched.
		for _, id := range peers {
			if !slices.ContainsFunc(v.BgpPeers, func(p BGPPeer) bool { return p.BgpPeerID == id }) {
				return nil, clientErr("BGP peer %s not found on %s", id, v.VirtualInterfaceID)
			}
		}
		for _, id := range peers {
			i := slices.IndexFunc(v.BgpPeers, func(p BGPPeer) bool { return p.BgpPeerID == id })
			v.BgpPeers[i].BgpStatus = "down"
		}
		v.VirtualInterfaceState = "testing"
		s.nextID++
		th := TestHistory{
			TestID: "dxtest-" + strconv.Itoa(s.nextID), VirtualInterfaceID: v.VirtualInterfaceID,
			BgpPeers: peers, Status: "in_progress", OwnerAccount: c.account,
			TestDurationInMinutes: minutes, StartTime: At(s.now()),
		}
		sc.TestHistory = append(sc.TestHistory, th)
		out = map[string]any{"virtualInterfaceTest": th}
	case "StopBgpFailoverTest":
		v := sc.VIF(req.VirtualInterfaceID)
		if v == nil || !visible(v.OwnerAccount, v.Region) {
			return nil, clientErr("Virtual interface %s not found", req.VirtualInterfaceID)
		}
		i := slices.IndexFunc(sc.TestHistory, func(t TestHistory) bool {
			return t.VirtualInterfaceID == v.VirtualInterfaceID && t.Status == "in_progress"
		})
		if i < 0 {
			return nil, clientErr("No BGP failover test is running on %s", v.VirtualInterfaceID)
		}
		th := &sc.TestHistory[i]
		th.Status, th.EndTime = "completed", At(s.now())
		// The peers the test held down come back.
		for j := range v.BgpPeers {
			if slices.Contains(th.BgpPeers, v.BgpPeers[j].BgpPeerID) {
				v.BgpPeers[j].BgpStatus = "up"
			}
		}
		v.VirtualInterfaceState = "available"
		out = map[string]any{"virtualInterfaceTest": *th}
	case "ListVirtualInterfaceTestHistory":
		var items []TestHistory
		for _, t := range sc.TestHistory {
			if t.OwnerAccount == c.account &&
				(req.VirtualInterfaceID == "" || req.VirtualInterfaceID == t.VirtualInterfaceID) &&
				(req.TestID == "" || req.TestID == t.TestID) &&
				(req.Status == "" || req.Status == t.Status) {
				items = append(items, t)
			}
		}
		pg, next, err := page(items, req.NextToken, size)
		if err != nil {
			return nil, err
		}
		out = map[string]any{"virtualInterfaceTestHistory": nonNil(pg), "nextToken": omit(next)}
	default:
		return nil, &apiError{status: 400, code: "UnknownOperationException", msg: fmt.Sprintf("the fake does not serve %s", c.op)}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, &apiError{status: 500, code: "DirectConnectServerException", msg: err.Error()}
	}
	return b, nil
}

// wireVIF is a VIF as the API sends it: the customer ASN in asnLong
// always, and in asn only when it fits (a 4-byte ASN leaves asn 0: API
// reference, VirtualInterface); a public VIF has no prefix allocation.
func wireVIF(x VirtualInterface) VirtualInterface {
	asn := int64(x.Asn)
	if x.AsnLong != nil {
		asn = *x.AsnLong
	}
	x.AsnLong, x.Asn = &asn, 0
	if asn <= math.MaxInt32-1 {
		x.Asn = int(asn)
	}
	if x.VirtualInterfaceType == "public" {
		x.PrefixPoolAllocatedCountIpv4, x.PrefixPoolAllocatedCountIpv6 = nil, nil
	}
	return x
}

// omit makes an empty next token absent (null), as AWS sends it.
func omit(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
