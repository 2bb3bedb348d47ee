package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/directconnect"
	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"
)

// loaActions are the IAM actions DownloadLOA needs on top of
// deploy/iam-policy.json, which leaves DescribeLoa out on purpose: each
// call re-issues the LOA-CFA.
var loaActions = []string{"directconnect:DescribeLoa"}

// billingNote is when AWS starts billing a dedicated port that is not up
// yet: port-hours start when the connection is available or 90 days after
// the LOA-CFA was issued, whichever comes first. (Stated in issue #26; the
// Direct Connect pricing page that says so was not found through the
// documentation search, so the rule is quoted from there, not verified.)
const billingNote = "AWS bills port-hours from when the port is up or 90 days after the LOA-CFA was issued, whichever comes first"

// LOA is a downloaded LOA-CFA.
type LOA struct {
	Connection  string
	ContentType string
	Content     []byte
	// Previous is the connection's loaIssueTime before this download
	// (zero when it had never been downloaded): the download replaced it.
	Previous time.Time
}

// DownloadLOA downloads the LOA-CFA of a connection with DescribeLoa. It is
// an explicit act, never part of a poll: the API reference defines a
// connection's loaIssueTime as "the time of the most recent call to
// DescribeLoa", so every download re-issues the document and restarts its
// 90 days. The connection is looked for in every configured account and
// region.
func (p *Probe) DownloadLOA(ctx context.Context, connection string) (LOA, error) {
	clients, err := p.accountClients(ctx)
	if err != nil {
		return LOA{}, err
	}
	var errs []error
	for _, ac := range clients {
		for _, r := range p.cfg.Regions {
			dx := ac.dx[r]
			out, err := dx.DescribeConnections(ctx, &directconnect.DescribeConnectionsInput{ConnectionId: &connection})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: %w", ac.cfg.Name, r, withDenied(err, "directconnect:DescribeConnections")))
				continue
			}
			if len(out.Connections) == 0 {
				continue
			}
			c := out.Connections[0]
			if c.ConnectionState != dxtypes.ConnectionStatePending {
				return LOA{}, fmt.Errorf("download the LOA-CFA of %s: the connection is %s; AWS issues the LOA-CFA once it has approved the order (state pending) and until the port is up", connection, c.ConnectionState)
			}
			loa, err := dx.DescribeLoa(ctx, &directconnect.DescribeLoaInput{ConnectionId: &connection, LoaContentType: dxtypes.LoaContentTypePdf})
			if err != nil {
				return LOA{}, fmt.Errorf("download the LOA-CFA of %s in %s/%s: %w", connection, ac.cfg.Name, r, withDenied(err, "directconnect:DescribeLoa"))
			}
			return LOA{Connection: connection, ContentType: string(loa.LoaContentType), Content: loa.LoaContent, Previous: deref(c.LoaIssueTime)}, nil
		}
	}
	if len(errs) > 0 {
		return LOA{}, fmt.Errorf("download the LOA-CFA of %s: %w", connection, errors.Join(errs...))
	}
	return LOA{}, fmt.Errorf("download the LOA-CFA of %s: %w in accounts/regions %v", connection, errNotFound, p.cfg.Regions)
}
