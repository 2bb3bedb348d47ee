package aws

import (
	"context"
	"strings"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/dxwatch/dxwatch/probes/expose"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	connectionStateDesc = prometheus.NewDesc("dxwatch_aws_connection_state",
		"Direct Connect connection state: 1 for the current state, 0 for the others.", []string{"connection", "state"}, nil)
	vifStateDesc = prometheus.NewDesc("dxwatch_aws_vif_state",
		"Virtual interface state: 1 for the current state, 0 for the others.", []string{"vif", "state"}, nil)
	vifBGPUpDesc = prometheus.NewDesc("dxwatch_aws_vif_bgp_up",
		"AWS's view of a VIF's BGP peer: 1 when bgpStatus is up, 0 when down; absent while AWS reports it unknown (not available).", []string{"vif", "peer"}, nil)
	propagationDesc = prometheus.NewDesc("dxwatch_aws_route_propagation_enabled",
		"1 when the route table propagates routes from the virtual private gateway.", []string{"route_table", "gateway"}, nil)
	routeActiveDesc = prometheus.NewDesc("dxwatch_aws_route_active",
		"Route to the virtual private gateway in a VPC route table: 1 active, 0 blackhole.", []string{"route_table", "destination"}, nil)
	loaExpiryDesc = prometheus.NewDesc("dxwatch_aws_loa_expiry_timestamp_seconds",
		"Unix time at which the LOA-CFA of a pending connection expires (90 days after issue); (this - time()) / 86400 is the days left.", []string{"connection"}, nil)
	lastSuccessDesc = prometheus.NewDesc("dxwatch_aws_last_success_timestamp_seconds",
		"Unix time of the last poll in which every call in the account and region succeeded (0 before the first).", []string{"account", "region"}, nil)
)

// Describe implements prometheus.Collector.
func (p *Probe) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{connectionStateDesc, vifStateDesc, vifBGPUpDesc, propagationDesc,
		routeActiveDesc, loaExpiryDesc, lastSuccessDesc} {
		ch <- d
	}
	for _, d := range cwDescs {
		ch <- d
	}
	for _, d := range macsecDescs {
		ch <- d
	}
	p.apiCalls.Describe(ch)
}

// Collect implements prometheus.Collector from the cached snapshot; it
// never calls the AWS API.
func (p *Probe) Collect(ch chan<- prometheus.Metric) {
	p.apiCalls.Collect(ch)
	p.mu.Lock()
	snap := p.snap
	last := make(map[tkey]float64, len(p.lastSuccess))
	for k, t := range p.lastSuccess {
		last[k] = float64(t.UnixNano()) / 1e9
	}
	p.mu.Unlock()

	for _, a := range p.cfg.accounts() {
		for _, r := range p.cfg.Regions {
			ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, last[tkey{a.Name, r}], a.Name, r)
		}
	}
	if snap == nil {
		return
	}
	for _, id := range snap.connIDs() {
		c := snap.conns[id]
		for _, s := range dxtypes.ConnectionState("").Values() {
			ch <- prometheus.MustNewConstMetric(connectionStateDesc, prometheus.GaugeValue, expose.Bool(c.ConnectionState == s), id, string(s))
		}
		if exp, ok := snap.loaExpiry(id); ok {
			ch <- prometheus.MustNewConstMetric(loaExpiryDesc, prometheus.GaugeValue, float64(exp.UnixNano())/1e9, id)
		}
	}
	for _, id := range snap.vifIDs() {
		v := snap.vifs[id]
		for _, s := range dxtypes.VirtualInterfaceState("").Values() {
			ch <- prometheus.MustNewConstMetric(vifStateDesc, prometheus.GaugeValue, expose.Bool(v.VirtualInterfaceState == s), id, string(s))
		}
		for _, peer := range v.BgpPeers {
			if peer.BgpStatus != dxtypes.BGPStatusUp && peer.BgpStatus != dxtypes.BGPStatusDown {
				// "unknown: The BGP peer status is not available" (API
				// reference, BGPPeer): no value rather than a 0 that pages.
				continue
			}
			ch <- prometheus.MustNewConstMetric(vifBGPUpDesc, prometheus.GaugeValue,
				expose.Bool(peer.BgpStatus == dxtypes.BGPStatusUp), id, peerLabel(peer))
		}
	}
	for _, t := range snap.tables {
		ch <- prometheus.MustNewConstMetric(propagationDesc, prometheus.GaugeValue, expose.Bool(t.propagates()), t.id, t.vgw)
		seen := map[string]bool{}
		for _, r := range t.vgwRoutes() {
			if seen[r.dest] {
				continue
			}
			seen[r.dest] = true
			ch <- prometheus.MustNewConstMetric(routeActiveDesc, prometheus.GaugeValue, expose.Bool(r.active), t.id, r.dest)
		}
	}
	collectMACsecMetrics(ch, snap)
	p.collectCloudWatchMetrics(ch, snap)
}

func peerLabel(p dxtypes.BGPPeer) string {
	if p.BgpPeerId != nil && *p.BgpPeerId != "" {
		return *p.BgpPeerId
	}
	return deref(p.CustomerAddress)
}

// serviceActions maps the SDK's service IDs to IAM service prefixes.
var serviceActions = map[string]string{"Direct Connect": "directconnect", "EC2": "ec2", "STS": "sts", "CloudWatch": "cloudwatch"}

// iamAction returns the IAM action of the operation in ctx:
// "directconnect:DescribeConnections".
func iamAction(ctx context.Context) string {
	svc := awsmiddleware.GetServiceID(ctx)
	if p, ok := serviceActions[svc]; ok {
		svc = p
	}
	return strings.ToLower(svc) + ":" + awsmiddleware.GetOperationName(ctx)
}

// countCalls is an SDK API option: it counts every attempt (retries
// included) by IAM action and result class.
func (p *Probe) countCalls(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("dxwatchCountCalls",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleFinalize(ctx, in)
			action := iamAction(ctx)
			class := resultClass(err)
			if class == "denied" && strings.HasPrefix(action, "sts:") {
				class = "auth" // as in resultClass, which sees the operation only once wrapped
			}
			p.apiCalls.WithLabelValues(action, class).Inc()
			if ac, ok := ctx.Value(attemptsKey{}).(*attemptCounter); ok && ac.action == action {
				ac.attempted(err)
			}
			return out, md, err
		}), "Retry", middleware.After)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
