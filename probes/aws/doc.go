// Package aws checks the AWS side of the Direct Connect links through the
// AWS API: connections (state, hosted-connection acceptance, LOA-CFA age),
// their redundancy, virtual interfaces (state, VLAN, addresses, ASNs, BGP
// peers as AWS sees them, gateway, MTU), the routes AWS accepted from and
// advertised to on-prem on each VIF (ListVirtualInterfaceRoutes) and the
// return-path preference they imply, the Direct Connect gateway and its
// associations, the virtual private gateways and the route propagation on
// every route table of the VPCs behind them. With only a DX gateway ID (or
// connection IDs) it discovers the rest. Polls have no side effect: they
// never call DescribeLoa, which re-issues the LOA-CFA; DownloadLOA does,
// for `dxwatch loa` only.
//
// It is the only package that imports the aws-sdk-go-v2 service clients
// (directconnect, ec2, sts). Credentials come from the SDK's default chain,
// optionally exchanged per account with sts:AssumeRole; calls use adaptive
// retry, are paginated and bounded, and run every poll_interval (at least
// 60s, ±10% jitter). Results are cached: checks and const metrics are built
// from the last poll, never by calling AWS from Collect; what a failed poll
// could not read keeps its last known value. One failing account, region
// or service does not stop the others; each failed call is counted in
// dxwatch_aws_api_calls_total and logged once, sorted by kind (credentials,
// denied naming the IAM action, AWS API unavailable).
//
// # Privileges
//
// No local privilege. In AWS, the read-only actions of
// deploy/iam-policy.json, exactly:
//
//	directconnect:DescribeConnections
//	directconnect:DescribeDirectConnectGatewayAssociations
//	directconnect:DescribeDirectConnectGatewayAttachments
//	directconnect:DescribeDirectConnectGateways
//	directconnect:DescribeVirtualInterfaces
//	directconnect:ListVirtualInterfaceRoutes
//	ec2:DescribeRouteTables
//	ec2:DescribeTransitGatewayAttachments
//	ec2:DescribeTransitGatewayVpcAttachments
//	ec2:DescribeTransitGateways
//	ec2:DescribeVpcs
//	ec2:DescribeVpnGateways
//	ec2:GetTransitGatewayRouteTablePropagations
//	ec2:SearchTransitGatewayRoutes
//	cloudwatch:GetMetricData
//	cloudwatch:ListMetrics
//	sts:GetCallerIdentity
//	sts:AssumeRole (only with accounts[].role_arn)
//
// The BGP failover test API (StartBgpFailoverTest, StopBgpFailoverTest,
// ListVirtualInterfaceTestHistory, for `dxwatch drill`) also needs the
// DrillActions, and `dxwatch loa` directconnect:DescribeLoa, which the
// read-only policy does not grant.
//
// Package lab/awstest is a fake AWS endpoint speaking the same wire formats,
// for tests and the demo (lab/cmd/dxwatch-fakeaws).
package aws
