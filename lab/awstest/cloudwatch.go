package awstest

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// MetricSeries is one CloudWatch metric (namespace, name and dimensions)
// in one account and region, as raw one-minute points from Start on: the
// fake aggregates them to the period and statistic a query asks for. A
// metric that AWS does not publish for a resource (light levels of a
// hosted connection, to its owner) is simply absent: CloudWatch answers
// such a query with an empty, Complete result, not an error.
type MetricSeries struct {
	OwnerAccount string            `json:"ownerAccount"`
	Region       string            `json:"region"`
	Namespace    string            `json:"namespace"`
	MetricName   string            `json:"metricName"`
	Dimensions   map[string]string `json:"dimensions"`
	Start        Time              `json:"start"`
	// StepSeconds between Values (default and minimum 60).
	StepSeconds int       `json:"stepSeconds,omitempty"`
	Values      []float64 `json:"values"`
}

// cwMaxDatapoints is how many datapoints one GetMetricData page returns at
// most; more are paged with NextToken, as CloudWatch does (its limit is
// 100,800 per call).
const cwMaxDatapoints = 100800

// cwQuery is the part of a MetricDataQuery the fake serves.
type cwQuery struct {
	id, namespace, name, stat string
	dims                      map[string]string
	period                    int
	returnData                bool
}

// cloudWatch serves the rpcv2Cbor protocol the SDK speaks to CloudWatch
// (POST /service/GraniteServiceVersion20100801/operation/GetMetricData or
// ListMetrics, CBOR request and response bodies). A scenario holding an
// AWS/DX series under dimensions AWS does not publish it by is refused
// with a 500 naming the series.
func (s *Server) cloudWatch(c call) ([]byte, *apiError) {
	if c.op != "GetMetricData" && c.op != "ListMetrics" {
		return nil, &apiError{status: 400, code: "UnknownOperationException", msg: "unknown operation " + c.op}
	}
	if err := s.sc.checkMetrics(); err != nil {
		return nil, &apiError{status: 500, code: "InternalServiceError", msg: "awstest: " + err.Error()}
	}
	v, err := cbor.Decode(c.body)
	if err != nil {
		return nil, &apiError{status: 400, code: "SerializationException", msg: err.Error()}
	}
	in, ok := v.(cbor.Map)
	if !ok {
		return nil, &apiError{status: 400, code: "SerializationException", msg: "request body is not a CBOR map"}
	}
	if c.op == "ListMetrics" {
		return s.listMetrics(c, in)
	}
	bad := func(format string, args ...any) ([]byte, *apiError) {
		return nil, &apiError{status: 400, code: "InvalidParameterValue", msg: fmt.Sprintf(format, args...)}
	}
	start, err1 := cbor.AsTime(in["StartTime"])
	end, err2 := cbor.AsTime(in["EndTime"])
	if err1 != nil || err2 != nil {
		return nil, &apiError{status: 400, code: "MissingParameter", msg: "StartTime and EndTime are required"}
	}
	if !start.Before(end) {
		return bad("The parameter StartTime must be less than the parameter EndTime.")
	}
	ql, _ := in["MetricDataQueries"].(cbor.List)
	if len(ql) == 0 || len(ql) > 500 {
		return bad("MetricDataQueries must hold 1 to 500 queries, not %d", len(ql))
	}
	var qs []cwQuery
	for i, qv := range ql {
		qm, _ := qv.(cbor.Map)
		q := cwQuery{returnData: true}
		q.id = asString(qm["Id"])
		if q.id == "" || q.id[0] < 'a' || q.id[0] > 'z' {
			return bad("MetricDataQueries[%d].Id %q must start with a lowercase letter", i, q.id)
		}
		if b, ok := qm["ReturnData"].(cbor.Bool); ok {
			q.returnData = bool(b)
		}
		ms, ok := qm["MetricStat"].(cbor.Map)
		if !ok {
			return bad("MetricDataQueries[%d]: the fake serves MetricStat queries only", i)
		}
		m, _ := ms["Metric"].(cbor.Map)
		q.namespace, q.name, q.stat = asString(m["Namespace"]), asString(m["MetricName"]), asString(ms["Stat"])
		p, err := cbor.AsInt64(ms["Period"])
		if err != nil || p < 1 || (p >= 60 && p%60 != 0) {
			return bad("MetricDataQueries[%d].MetricStat.Period must be 1, 5, 10, 30 or a multiple of 60", i)
		}
		q.period = int(p)
		q.dims = map[string]string{}
		dl, _ := m["Dimensions"].(cbor.List)
		for _, dv := range dl {
			dm, _ := dv.(cbor.Map)
			q.dims[asString(dm["Name"])] = asString(dm["Value"])
		}
		if !slices.Contains([]string{"Average", "Minimum", "Maximum", "Sum", "SampleCount"}, q.stat) {
			return bad("MetricDataQueries[%d].MetricStat.Stat %q: the fake serves Average, Minimum, Maximum, Sum and SampleCount", i, q.stat)
		}
		qs = append(qs, q)
	}
	ascending := asString(in["ScanBy"]) == "TimestampAscending"

	// Pages: the token is the index of the first query not yet returned.
	from := 0
	if tok := asString(in["NextToken"]); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n >= len(qs) {
			return nil, &apiError{status: 400, code: "InvalidNextToken", msg: "invalid NextToken " + tok}
		}
		from = n
	}
	var results cbor.List
	points, next := 0, ""
	limit := cwMaxDatapoints
	if s.sc.MetricsPageSize > 0 {
		limit = s.sc.MetricsPageSize
	}
	for i := from; i < len(qs); i++ {
		q := qs[i]
		if !q.returnData {
			continue
		}
		ts, vals := s.sc.aggregate(c.account, c.region, q, start, end)
		if points > 0 && points+len(ts) > limit {
			next = strconv.Itoa(i)
			break
		}
		points += len(ts)
		if !ascending {
			slices.Reverse(ts)
			slices.Reverse(vals)
		}
		tl, vl := make(cbor.List, len(ts)), make(cbor.List, len(vals))
		for j := range ts {
			tl[j] = &cbor.Tag{ID: 1, Value: cbor.Float64(float64(ts[j].UnixMilli()) / 1e3)}
			vl[j] = cbor.Float64(vals[j])
		}
		results = append(results, cbor.Map{
			"Id": cbor.String(q.id), "Label": cbor.String(q.name),
			"Timestamps": tl, "Values": vl, "StatusCode": cbor.String("Complete"),
		})
	}
	out := cbor.Map{"MetricDataResults": results, "Messages": cbor.List{}}
	if next != "" {
		out["NextToken"] = cbor.String(next)
	}
	return cbor.Encode(out), nil
}

// aggregate returns the query's datapoints in [start, end), oldest first:
// periods aligned to the epoch, as CloudWatch aligns them, each with the
// statistic of the raw points it holds; periods without points are left
// out.
func (sc *Scenario) aggregate(account, region string, q cwQuery, start, end time.Time) ([]time.Time, []float64) {
	var ser *MetricSeries
	for i := range sc.Metrics {
		m := &sc.Metrics[i]
		if m.OwnerAccount == account && m.Region == region && m.Namespace == q.namespace &&
			m.MetricName == q.name && mapsEqual(m.Dimensions, q.dims) {
			ser = m
		}
	}
	if ser == nil {
		return nil, nil
	}
	step := time.Duration(max(ser.StepSeconds, 60)) * time.Second
	period := time.Duration(q.period) * time.Second
	buckets := map[int64][]float64{}
	for i, v := range ser.Values {
		t := ser.Start.Add(time.Duration(i) * step)
		if t.Before(start) || !t.Before(end) {
			continue
		}
		b := t.Truncate(period).Unix()
		buckets[b] = append(buckets[b], v)
	}
	keys := make([]int64, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	ts := make([]time.Time, len(keys))
	vals := make([]float64, len(keys))
	for i, k := range keys {
		ts[i] = time.Unix(k, 0).UTC()
		vals[i] = statistic(q.stat, buckets[k])
	}
	return ts, vals
}

func statistic(stat string, vs []float64) float64 {
	switch stat {
	case "Minimum":
		return slices.Min(vs)
	case "Maximum":
		return slices.Max(vs)
	case "SampleCount":
		return float64(len(vs))
	}
	sum := 0.0
	for _, v := range vs {
		sum += v
	}
	if stat == "Sum" {
		return sum
	}
	return sum / float64(len(vs))
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func asString(v cbor.Value) string {
	s, _ := v.(cbor.String)
	return string(s)
}

// Series returns a MetricSeries in namespace AWS/DX with one point every
// step from start.
func Series(account, region, metric string, dims map[string]string, start time.Time, step time.Duration, values []float64) MetricSeries {
	return MetricSeries{OwnerAccount: account, Region: region, Namespace: "AWS/DX", MetricName: metric,
		Dimensions: dims, Start: Time{start.UTC()}, StepSeconds: int(step / time.Second), Values: values}
}

// Const returns n copies of v.
func Const(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Diurnal returns n values, one every step from start, that swing between
// low and high once a day (peaking at 14:00 UTC), with a deterministic
// ripple: the shape of office traffic over a link.
func Diurnal(n int, start time.Time, step time.Duration, low, high float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		t := start.Add(time.Duration(i) * step)
		h := float64(t.Hour()) + float64(t.Minute())/60
		x := (1 + math.Cos((h-14)/24*2*math.Pi)) / 2 // 1 at 14:00, 0 at 02:00
		ripple := 0.03 * math.Sin(float64(i)*0.7)
		out[i] = max(0, low+(high-low)*x*(1+ripple))
	}
	return out
}

// Ramp returns n values going linearly from a to b.
func Ramp(n int, a, b float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = a + (b-a)*float64(i)/float64(max(n-1, 1))
	}
	return out
}
