package aws

import (
	"context"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/directconnect"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// placeholderRouteTable stands for a transit gateway route table that is
// not known when a call needing one is tried for permission only: an EC2
// dry run checks the permission, not the resource.
const placeholderRouteTable = "tgw-rtb-00000000000000000"

// permissionTry is one call made only to learn whether it is allowed.
type permissionTry struct {
	action string
	fn     func(ctx context.Context) error
}

// tryUnreached makes, once per poll, the calls an earlier failure kept the
// poll from making, so that one poll names every denied action across
// every service (issue #26: with everything denied, the EC2 and
// CloudWatch calls were never tried). A call is tried only when what
// decides whether it is needed could not be read:
//   - the DX gateway, its associations or the VIFs unread: the gateway
//     behind them (a VGW and its VPCs, or a transit gateway) is unknown, so
//     every EC2 action is tried with DryRun (EC2 answers DryRunOperation
//     when allowed, UnauthorizedOperation when not: EC2 API reference,
//     DryRun), and the DX gateway reads when no gateway ID is known;
//   - the connections or VIFs unread: their CloudWatch metrics are
//     unknown, so GetMetricData is tried with a query for one metric
//     (CloudWatch has no dry run; the query reads at most one series), and
//     ListMetrics with the connection's filter.
//
// Only denials are recorded (tryPermission); each try counts as a call.
// The accounts and regions are tried in parallel, the calls of one in
// order.
func (p *Probe) tryUnreached(ctx context.Context, s *snapshot, clients []*accountClients) {
	home := p.cfg.Regions[0]
	var fns []func()
	for _, ac := range clients {
		gatewayUnknown := false
		for _, r := range p.cfg.Regions {
			if p.failedIn(s, tkey{ac.cfg.Name, r}, "directconnect:DescribeVirtualInterfaces",
				"directconnect:DescribeDirectConnectGateways", "directconnect:DescribeDirectConnectGatewayAssociations") {
				gatewayUnknown = true
			}
		}
		for _, r := range p.cfg.Regions {
			k := tkey{ac.cfg.Name, r}
			var tries []permissionTry
			if gatewayUnknown {
				tries = append(tries, ec2Tries(ac.ec2[r])...)
				if r == home && s.gwID == "" {
					tries = append(tries, gatewayTries(ac.dx[r])...)
				}
			}
			if !p.cfg.CloudWatch.Disabled && p.failedIn(s, k, "directconnect:DescribeConnections", "directconnect:DescribeVirtualInterfaces") {
				tries = append(tries, p.cloudWatchTries(ac.cw[r], s.at)...)
			}
			// One after the other within an account and region, so that
			// the denied actions are named in the same order every poll.
			fns = append(fns, func() {
				for _, t := range tries {
					if !s.triedIn(k, t.action) {
						p.tryPermission(ctx, s, k, t.action, t.fn)
					}
				}
			})
		}
	}
	parallel(fns)
}

// failedIn says whether one of the actions failed in the account and
// region.
func (p *Probe) failedIn(s *snapshot, k tkey, actions ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.targets[k]
	if t == nil {
		return false
	}
	for _, f := range t.failures {
		for _, a := range actions {
			if f.action == a {
				return true
			}
		}
	}
	return false
}

// triedIn says whether the action was called in the account and region.
func (s *snapshot) triedIn(k tkey, action string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.targets[k]
	return t != nil && t.tried[action]
}

func ec2Tries(cl *ec2.Client) []permissionTry {
	dry := awssdk.Bool(true)
	rtb := awssdk.String(placeholderRouteTable)
	return []permissionTry{
		{"ec2:DescribeVpnGateways", func(ctx context.Context) error {
			_, err := cl.DescribeVpnGateways(ctx, &ec2.DescribeVpnGatewaysInput{DryRun: dry})
			return err
		}},
		{"ec2:DescribeVpcs", func(ctx context.Context) error {
			_, err := cl.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: dry})
			return err
		}},
		{"ec2:DescribeRouteTables", func(ctx context.Context) error {
			_, err := cl.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{DryRun: dry})
			return err
		}},
		{"ec2:DescribeTransitGateways", func(ctx context.Context) error {
			_, err := cl.DescribeTransitGateways(ctx, &ec2.DescribeTransitGatewaysInput{DryRun: dry})
			return err
		}},
		{"ec2:DescribeTransitGatewayAttachments", func(ctx context.Context) error {
			_, err := cl.DescribeTransitGatewayAttachments(ctx, &ec2.DescribeTransitGatewayAttachmentsInput{DryRun: dry})
			return err
		}},
		{"ec2:DescribeTransitGatewayVpcAttachments", func(ctx context.Context) error {
			_, err := cl.DescribeTransitGatewayVpcAttachments(ctx, &ec2.DescribeTransitGatewayVpcAttachmentsInput{DryRun: dry})
			return err
		}},
		{"ec2:GetTransitGatewayRouteTablePropagations", func(ctx context.Context) error {
			_, err := cl.GetTransitGatewayRouteTablePropagations(ctx, &ec2.GetTransitGatewayRouteTablePropagationsInput{DryRun: dry, TransitGatewayRouteTableId: rtb})
			return err
		}},
		{"ec2:SearchTransitGatewayRoutes", func(ctx context.Context) error {
			_, err := cl.SearchTransitGatewayRoutes(ctx, &ec2.SearchTransitGatewayRoutesInput{
				DryRun: dry, TransitGatewayRouteTableId: rtb,
				Filters: []ec2types.Filter{{Name: awssdk.String("state"), Values: []string{"active"}}},
			})
			return err
		}},
	}
}

func gatewayTries(dx *directconnect.Client) []permissionTry {
	return []permissionTry{
		{"directconnect:DescribeDirectConnectGateways", func(ctx context.Context) error {
			_, err := dx.DescribeDirectConnectGateways(ctx, &directconnect.DescribeDirectConnectGatewaysInput{MaxResults: awssdk.Int32(1)})
			return err
		}},
		{"directconnect:DescribeDirectConnectGatewayAssociations", func(ctx context.Context) error {
			_, err := dx.DescribeDirectConnectGatewayAssociations(ctx, &directconnect.DescribeDirectConnectGatewayAssociationsInput{MaxResults: awssdk.Int32(1)})
			return err
		}},
		{"directconnect:DescribeDirectConnectGatewayAttachments", func(ctx context.Context) error {
			_, err := dx.DescribeDirectConnectGatewayAttachments(ctx, &directconnect.DescribeDirectConnectGatewayAttachmentsInput{MaxResults: awssdk.Int32(1)})
			return err
		}},
	}
}

// cloudWatchTries reads one datapoint of one AWS/DX metric of a connection
// of the site (or of none: the answer is empty either way) and lists its
// metrics, as the poll does to find the optical lanes and the BGP address
// families.
func (p *Probe) cloudWatchTries(cl *cloudwatch.Client, now time.Time) []permissionTry {
	conn := "dxcon-00000000"
	for _, l := range p.deps.Site.Links {
		if l.ConnectionID != "" {
			conn = l.ConnectionID
			break
		}
	}
	to := now.Truncate(cwPeriod)
	from := to.Add(-cwPeriod)
	return []permissionTry{{"cloudwatch:GetMetricData", func(ctx context.Context) error {
		_, err := cl.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			StartTime: &from, EndTime: &to, MaxDatapoints: awssdk.Int32(1),
			MetricDataQueries: []cwtypes.MetricDataQuery{{
				Id: awssdk.String("permission"),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: awssdk.String("AWS/DX"), MetricName: awssdk.String("ConnectionState"),
						Dimensions: []cwtypes.Dimension{{Name: awssdk.String("ConnectionId"), Value: awssdk.String(conn)}}},
					Period: awssdk.Int32(int32(cwPeriod / time.Second)), Stat: awssdk.String("Minimum"),
				},
				ReturnData: awssdk.Bool(true),
			}},
		})
		return err
	}}, {"cloudwatch:ListMetrics", func(ctx context.Context) error {
		_, err := cl.ListMetrics(ctx, &cloudwatch.ListMetricsInput{
			Namespace:  awssdk.String("AWS/DX"),
			Dimensions: []cwtypes.DimensionFilter{{Name: awssdk.String("ConnectionId"), Value: awssdk.String(conn)}},
		})
		return err
	}}}
}
