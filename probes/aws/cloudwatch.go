package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// CloudWatchConfig is the `aws.cloudwatch:` section: AWS's own view of each
// link from the AWS/DX namespace.
type CloudWatchConfig struct {
	// Disabled skips CloudWatch: no cloudwatch:ListMetrics or
	// GetMetricData calls, no CloudWatch checks or capacity checks.
	Disabled bool `yaml:"disabled"`
	// CapacityWindow is how far back the failover capacity checks look
	// for the peak traffic (p95 and max of the 5-minute averages).
	CapacityWindow time.Duration `yaml:"capacity_window"`
}

// Limits of the CloudWatch section.
const (
	DefaultCapacityWindow = 7 * 24 * time.Hour
	// MaxCapacityWindow is how long CloudWatch keeps 5-minute datapoints.
	MaxCapacityWindow = 63 * 24 * time.Hour
	// cwPeriod is the period Direct Connect publishes its metrics at.
	cwPeriod = 5 * time.Minute
	// cwMaxQueries is the GetMetricData limit of queries per call.
	cwMaxQueries = 500
)

// cwMetric is one AWS/DX metric dxwatch reads and the statistic that
// makes a 5-minute datapoint of it.
type cwMetric struct {
	name, stat string
}

// The AWS/DX metrics, each under the one set of dimensions Direct Connect
// publishes it by (User Guide, "Monitor with Amazon CloudWatch",
// https://docs.aws.amazon.com/directconnect/latest/UserGuide/monitoring-cloudwatch.html);
// CloudWatch treats each combination of dimensions as a separate metric and
// answers any other combination with no data. A state is the period's
// Minimum: one down sample in it counts.
var (
	// connMetrics by {ConnectionId}.
	connMetrics = []cwMetric{
		{"ConnectionState", "Minimum"},
		{"ConnectionBpsEgress", "Average"}, {"ConnectionBpsIngress", "Average"},
		{"ConnectionPpsEgress", "Average"}, {"ConnectionPpsIngress", "Average"},
		{"ConnectionErrorCount", "Sum"},
		{"ConnectionEncryptionState", "Minimum"},
	}
	// laneMetrics by {ConnectionId, OpticalLaneNumber}: one series per
	// optical lane, found with ListMetrics.
	laneMetrics = []cwMetric{{"ConnectionLightLevelTx", "Average"}, {"ConnectionLightLevelRx", "Average"}}
	// vifMetrics by {ConnectionId, VirtualInterfaceId}.
	vifMetrics = []cwMetric{{"VirtualInterfaceBpsEgress", "Average"}, {"VirtualInterfaceBpsIngress", "Average"}}
	// familyMetrics by {ConnectionId, IpAddressFamily, VirtualInterfaceId}:
	// one series per address family with a BGP session, found with
	// ListMetrics.
	familyMetrics = []cwMetric{
		{"VirtualInterfaceBgpStatus", "Minimum"},
		{"VirtualInterfaceBgpPrefixesAccepted", "Minimum"}, {"VirtualInterfaceBgpPrefixesAdvertised", "Minimum"},
	}
)

// The dimensions that split a metric into its lanes or families.
const (
	dimLane   = "OpticalLaneNumber"
	dimFamily = "IpAddressFamily"
)

// cwSeries is one metric's datapoints, oldest first, as CloudWatch dated
// them (the start of each period).
type cwSeries struct {
	at   []time.Time
	vals []float64
}

func (s cwSeries) empty() bool { return len(s.vals) == 0 }

// last returns the newest datapoint.
func (s cwSeries) last() (time.Time, float64, bool) {
	if s.empty() {
		return time.Time{}, 0, false
	}
	return s.at[len(s.at)-1], s.vals[len(s.vals)-1], true
}

// since returns the datapoints at or after t.
func (s cwSeries) since(t time.Time) cwSeries {
	i := sort.Search(len(s.at), func(i int) bool { return !s.at[i].Before(t) })
	return cwSeries{at: s.at[i:], vals: s.vals[i:]}
}

// cwData is what one poll read from CloudWatch: per resource (connection
// or VIF ID), per metric name; the metrics published per optical lane or
// per address family also per lane number or family value, as ListMetrics
// named them.
type cwData struct {
	from, to time.Time
	series   map[string]map[string]cwSeries
	parts    map[string]map[string]map[string]cwSeries
	// read is the resources whose GetMetricData succeeded; err holds why
	// the others' could not be read, by account and region.
	read map[string]bool
	err  map[tkey]error
	// listed is the resources whose connection's ListMetrics succeeded:
	// their lanes or families are known.
	listed map[string]bool
}

func (d *cwData) get(resource, metric string) cwSeries {
	if d == nil {
		return cwSeries{}
	}
	return d.series[resource][metric]
}

// partsOf returns a lane or family metric's series by lane number or
// family value.
func (d *cwData) partsOf(resource, metric string) map[string]cwSeries {
	if d == nil {
		return nil
	}
	return d.parts[resource][metric]
}

// cwKey names one series: a resource's metric, and the lane or family
// (empty for a metric with neither).
type cwKey struct{ resource, metric, part string }

// cwQuery is one series to read.
type cwQuery struct {
	key  cwKey
	stat string
	dims []cwtypes.Dimension
}

// cwGroup is what one account and region holds of the site: its
// connections and VIFs (VIF ID to its connection ID).
type cwGroup struct {
	conns []string
	vifs  map[string]string
}

// collectCloudWatch reads the AWS/DX metrics of the site's connections and
// VIFs over the capacity window, in the account and region that owns each
// resource: per connection one ListMetrics (filtered by its ConnectionId)
// to find its optical lanes and its VIFs' BGP address families, then one
// GetMetricData per account and region (paged only past 100,800
// datapoints or 500 queries) with every series under exactly the
// dimensions AWS publishes it by.
func (p *Probe) collectCloudWatch(ctx context.Context, s *snapshot, clients []*accountClients) {
	if p.cfg.CloudWatch.Disabled {
		return
	}
	to := s.at.Truncate(cwPeriod)
	d := &cwData{from: to.Add(-p.cfg.CloudWatch.CapacityWindow), to: to,
		series: map[string]map[string]cwSeries{}, parts: map[string]map[string]map[string]cwSeries{},
		read: map[string]bool{}, err: map[tkey]error{}, listed: map[string]bool{}}
	s.cw = d
	groups := map[tkey]*cwGroup{}
	group := func(k tkey) *cwGroup {
		if groups[k] == nil {
			groups[k] = &cwGroup{vifs: map[string]string{}}
		}
		return groups[k]
	}
	for _, id := range s.connIDs() {
		g := group(s.conns[id].key)
		g.conns = append(g.conns, id)
	}
	for _, id := range s.vifIDs() {
		v := s.vifs[id]
		if v.VirtualInterfaceId == nil {
			continue // configured but not read: its connection is unknown
		}
		group(v.key).vifs[id] = deref(v.ConnectionId)
	}
	type result struct {
		series map[cwKey]cwSeries
		listed []string
		err    error
	}
	var fns []func()
	results := map[tkey]*result{}
	for _, k := range sortedTkeys(groups) {
		ac := clientsFor(clients, k.account)
		if ac == nil {
			continue
		}
		r := &result{series: map[cwKey]cwSeries{}}
		results[k] = r
		fns = append(fns, func() {
			qs, listed := p.cwQueries(ctx, s, k, ac.cw[k.region], groups[k])
			r.listed = listed
			r.err = p.getMetricData(ctx, s, k, ac.cw[k.region], qs, d.from, d.to, r.series)
		})
	}
	parallel(fns)
	for _, k := range sortedTkeys(results) {
		r := results[k]
		for _, id := range r.listed {
			d.listed[id] = true
		}
		if r.err != nil {
			d.err[k] = r.err
			continue
		}
		for key, ser := range r.series {
			d.read[key.resource] = true
			if key.part == "" {
				if d.series[key.resource] == nil {
					d.series[key.resource] = map[string]cwSeries{}
				}
				d.series[key.resource][key.metric] = ser
				continue
			}
			if d.parts[key.resource] == nil {
				d.parts[key.resource] = map[string]map[string]cwSeries{}
			}
			if d.parts[key.resource][key.metric] == nil {
				d.parts[key.resource][key.metric] = map[string]cwSeries{}
			}
			d.parts[key.resource][key.metric][key.part] = ser
		}
	}
}

// cwQueries returns the series to read for one account and region: the
// fixed ones of each connection and VIF, and the optical lanes and BGP
// address families ListMetrics names for each connection, and the
// connections and VIFs whose connection it listed. When ListMetrics fails
// (its failure is recorded), the fixed series are still read.
func (p *Probe) cwQueries(ctx context.Context, s *snapshot, k tkey, cl *cloudwatch.Client, g *cwGroup) ([]cwQuery, []string) {
	dim := func(name, value string) cwtypes.Dimension {
		return cwtypes.Dimension{Name: awssdk.String(name), Value: awssdk.String(value)}
	}
	var qs []cwQuery
	conns := map[string]bool{}
	for _, id := range g.conns {
		conns[id] = true
		for _, m := range connMetrics {
			qs = append(qs, cwQuery{cwKey{id, m.name, ""}, m.stat, []cwtypes.Dimension{dim("ConnectionId", id)}})
		}
	}
	vifIDs := make([]string, 0, len(g.vifs))
	for id := range g.vifs {
		vifIDs = append(vifIDs, id)
	}
	sort.Strings(vifIDs)
	for _, id := range vifIDs {
		conns[g.vifs[id]] = true
		for _, m := range vifMetrics {
			qs = append(qs, cwQuery{cwKey{id, m.name, ""}, m.stat,
				[]cwtypes.Dimension{dim("ConnectionId", g.vifs[id]), dim("VirtualInterfaceId", id)}})
		}
	}
	stats := map[string]string{}
	for _, m := range append(slices.Clone(laneMetrics), familyMetrics...) {
		stats[m.name] = m.stat
	}
	var done []string
	for _, conn := range slices.Sorted(maps.Keys(conns)) {
		if conn == "" {
			continue
		}
		var listed []cwtypes.Metric
		err := p.pages(ctx, s, k, "cloudwatch:ListMetrics", func(ctx context.Context, tok *string) (*string, error) {
			out, err := cl.ListMetrics(ctx, &cloudwatch.ListMetricsInput{
				Namespace:  awssdk.String("AWS/DX"),
				Dimensions: []cwtypes.DimensionFilter{{Name: awssdk.String("ConnectionId"), Value: awssdk.String(conn)}},
				NextToken:  tok,
			})
			if err != nil {
				return nil, err
			}
			listed = append(listed, out.Metrics...)
			return out.NextToken, nil
		})
		if err != nil {
			continue
		}
		if slices.Contains(g.conns, conn) {
			done = append(done, conn)
		}
		for _, id := range vifIDs {
			if g.vifs[id] == conn {
				done = append(done, id)
			}
		}
		for _, m := range listed {
			name := deref(m.MetricName)
			stat, ok := stats[name]
			if !ok {
				continue
			}
			dims := map[string]string{}
			for _, d := range m.Dimensions {
				dims[deref(d.Name)] = deref(d.Value)
			}
			if dims["ConnectionId"] != conn {
				continue
			}
			switch {
			case len(dims) == 2 && dims[dimLane] != "" && slices.Contains(g.conns, conn) &&
				slices.ContainsFunc(laneMetrics, func(l cwMetric) bool { return l.name == name }):
				qs = append(qs, cwQuery{cwKey{conn, name, dims[dimLane]}, stat, m.Dimensions})
			case len(dims) == 3 && dims[dimFamily] != "" && g.vifs[dims["VirtualInterfaceId"]] == conn &&
				slices.ContainsFunc(familyMetrics, func(l cwMetric) bool { return l.name == name }):
				qs = append(qs, cwQuery{cwKey{dims["VirtualInterfaceId"], name, dims[dimFamily]}, stat, m.Dimensions})
			}
		}
	}
	return qs, done
}

// keepUnreadCloudWatch carries over the series of the resources whose
// GetMetricData failed in this poll from the previous one, and the lanes
// and families of those whose ListMetrics failed.
func (s *snapshot) keepUnreadCloudWatch(prev *snapshot) {
	if s.cw == nil || prev.cw == nil {
		return
	}
	for id, m := range prev.cw.series {
		if !s.cw.read[id] {
			s.cw.series[id] = m
		}
	}
	for id, m := range prev.cw.parts {
		if !s.cw.read[id] || !s.cw.listed[id] {
			s.cw.parts[id] = m
		}
	}
}

// getMetricData runs the queries of one account and region into res.
// Queries are batched 500 to a call (the API's limit); a site has far
// fewer (7 per connection and 2 per optical lane, 2 per VIF and 3 per
// address family).
func (p *Probe) getMetricData(ctx context.Context, s *snapshot, k tkey, cl *cloudwatch.Client, qs []cwQuery, from, to time.Time, res map[cwKey]cwSeries) error {
	var queries []cwtypes.MetricDataQuery
	refs := map[string]cwKey{}
	for i, q := range qs {
		id := fmt.Sprintf("q%d", i)
		refs[id] = q.key
		res[q.key] = cwSeries{}
		queries = append(queries, cwtypes.MetricDataQuery{
			Id: awssdk.String(id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: awssdk.String("AWS/DX"), MetricName: awssdk.String(q.key.metric), Dimensions: q.dims},
				Period: awssdk.Int32(int32(cwPeriod / time.Second)), Stat: awssdk.String(q.stat),
			},
			ReturnData: awssdk.Bool(true),
		})
	}
	for len(queries) > 0 {
		batch := queries[:min(len(queries), cwMaxQueries)]
		queries = queries[len(batch):]
		err := p.pages(ctx, s, k, "cloudwatch:GetMetricData", func(ctx context.Context, tok *string) (*string, error) {
			out, err := cl.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
				MetricDataQueries: batch, StartTime: &from, EndTime: &to, NextToken: tok,
				ScanBy: cwtypes.ScanByTimestampAscending,
			})
			if err != nil {
				return nil, err
			}
			for _, r := range out.MetricDataResults {
				key, ok := refs[deref(r.Id)]
				if !ok {
					continue
				}
				ser := res[key]
				for i := range min(len(r.Timestamps), len(r.Values)) {
					ser.at = append(ser.at, r.Timestamps[i].UTC())
					ser.vals = append(ser.vals, r.Values[i])
				}
				res[key] = ser
			}
			return out.NextToken, nil
		})
		if err != nil {
			return err
		}
	}
	for key, ser := range res {
		// Pages may split a series; keep it oldest first.
		idx := make([]int, len(ser.at))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return ser.at[idx[a]].Before(ser.at[idx[b]]) })
		sorted := cwSeries{at: make([]time.Time, len(idx)), vals: make([]float64, len(idx))}
		for i, j := range idx {
			sorted.at[i], sorted.vals[i] = ser.at[j], ser.vals[j]
		}
		res[key] = sorted
	}
	return nil
}
