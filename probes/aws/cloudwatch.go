package aws

import (
	"context"
	"fmt"
	"sort"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// CloudWatchConfig is the `aws.cloudwatch:` section: AWS's own view of each
// link from the AWS/DX namespace.
type CloudWatchConfig struct {
	// Disabled skips CloudWatch: no cloudwatch:GetMetricData calls, no
	// CloudWatch checks or capacity checks.
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

// The AWS/DX metrics, per connection (dimension ConnectionId) and per VIF
// (dimensions ConnectionId and VirtualInterfaceId). A state is the
// period's Minimum: one down sample in it counts.
var (
	connMetrics = []cwMetric{
		{"ConnectionState", "Minimum"},
		{"ConnectionBpsEgress", "Average"}, {"ConnectionBpsIngress", "Average"},
		{"ConnectionPpsEgress", "Average"}, {"ConnectionPpsIngress", "Average"},
		{"ConnectionErrorCount", "Sum"},
		{"ConnectionLightLevelTx", "Average"}, {"ConnectionLightLevelRx", "Average"},
	}
	vifMetrics = []cwMetric{
		{"VirtualInterfaceBpsEgress", "Average"}, {"VirtualInterfaceBpsIngress", "Average"},
		{"VirtualInterfaceBgpStatus", "Minimum"},
		{"VirtualInterfaceBgpPrefixesAccepted", "Minimum"}, {"VirtualInterfaceBgpPrefixesAdvertised", "Minimum"},
	}
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
// or VIF ID), per metric name.
type cwData struct {
	from, to time.Time
	series   map[string]map[string]cwSeries
	// read is the resources whose GetMetricData succeeded; err holds why
	// the others' could not be read, by account and region.
	read map[string]bool
	err  map[tkey]error
}

func (d *cwData) get(resource, metric string) cwSeries {
	if d == nil {
		return cwSeries{}
	}
	return d.series[resource][metric]
}

// cwResource is a connection or VIF whose metrics are asked for.
type cwResource struct {
	id      string
	dims    []cwtypes.Dimension
	metrics []cwMetric
}

// collectCloudWatch reads the AWS/DX metrics of the site's connections and
// VIFs over the capacity window: one GetMetricData per account and region
// (paged only past 100,800 datapoints or 500 queries), in the account and
// region that owns each resource.
func (p *Probe) collectCloudWatch(ctx context.Context, s *snapshot, clients []*accountClients) {
	if p.cfg.CloudWatch.Disabled {
		return
	}
	to := s.at.Truncate(cwPeriod)
	d := &cwData{from: to.Add(-p.cfg.CloudWatch.CapacityWindow), to: to,
		series: map[string]map[string]cwSeries{}, read: map[string]bool{}, err: map[tkey]error{}}
	s.cw = d
	groups := map[tkey][]cwResource{}
	for _, id := range s.connIDs() {
		c := s.conns[id]
		groups[c.key] = append(groups[c.key], cwResource{id: id, metrics: connMetrics,
			dims: []cwtypes.Dimension{{Name: awssdk.String("ConnectionId"), Value: awssdk.String(id)}}})
	}
	for _, id := range s.vifIDs() {
		v := s.vifs[id]
		if v.VirtualInterfaceId == nil {
			continue // configured but not read: its connection is unknown
		}
		groups[v.key] = append(groups[v.key], cwResource{id: id, metrics: vifMetrics,
			dims: []cwtypes.Dimension{
				{Name: awssdk.String("ConnectionId"), Value: awssdk.String(deref(v.ConnectionId))},
				{Name: awssdk.String("VirtualInterfaceId"), Value: awssdk.String(id)},
			}})
	}
	type result struct {
		series map[string]map[string]cwSeries
		err    error
	}
	var fns []func()
	results := map[tkey]*result{}
	for _, k := range sortedTkeys(groups) {
		ac := clientsFor(clients, k.account)
		if ac == nil {
			continue
		}
		r := &result{series: map[string]map[string]cwSeries{}}
		results[k] = r
		fns = append(fns, func() {
			r.err = p.getMetricData(ctx, s, k, ac.cw[k.region], groups[k], d.from, d.to, r.series)
		})
	}
	parallel(fns)
	for _, k := range sortedTkeys(results) {
		if r := results[k]; r.err != nil {
			d.err[k] = r.err
			continue
		}
		for id, m := range results[k].series {
			d.series[id] = m
			d.read[id] = true
		}
	}
}

// keepUnreadCloudWatch carries over the series of the resources whose
// GetMetricData failed in this poll from the previous one.
func (s *snapshot) keepUnreadCloudWatch(prev *snapshot) {
	if s.cw == nil || prev.cw == nil {
		return
	}
	for id, m := range prev.cw.series {
		if !s.cw.read[id] {
			s.cw.series[id] = m
		}
	}
}

// getMetricData runs the queries of one account and region into res.
// Queries are batched 500 to a call (the API's limit); a site has far
// fewer (8 per connection, 5 per VIF).
func (p *Probe) getMetricData(ctx context.Context, s *snapshot, k tkey, cl *cloudwatch.Client, rs []cwResource, from, to time.Time, res map[string]map[string]cwSeries) error {
	type ref struct{ resource, metric string }
	var queries []cwtypes.MetricDataQuery
	refs := map[string]ref{}
	for i, r := range rs {
		res[r.id] = map[string]cwSeries{}
		for j, m := range r.metrics {
			id := fmt.Sprintf("r%d_m%d", i, j)
			refs[id] = ref{r.id, m.name}
			queries = append(queries, cwtypes.MetricDataQuery{
				Id: awssdk.String(id),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: awssdk.String("AWS/DX"), MetricName: awssdk.String(m.name), Dimensions: r.dims},
					Period: awssdk.Int32(int32(cwPeriod / time.Second)), Stat: awssdk.String(m.stat),
				},
				ReturnData: awssdk.Bool(true),
			})
		}
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
				rf, ok := refs[deref(r.Id)]
				if !ok {
					continue
				}
				ser := res[rf.resource][rf.metric]
				for i := range min(len(r.Timestamps), len(r.Values)) {
					ser.at = append(ser.at, r.Timestamps[i].UTC())
					ser.vals = append(ser.vals, r.Values[i])
				}
				res[rf.resource][rf.metric] = ser
			}
			return out.NextToken, nil
		})
		if err != nil {
			return err
		}
	}
	for _, m := range res {
		for name, ser := range m {
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
			m[name] = sorted
		}
	}
	return nil
}
