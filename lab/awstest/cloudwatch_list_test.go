package awstest

import (
	"context"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

func cwClient(url string) *cloudwatch.Client {
	return cloudwatch.New(cloudwatch.Options{
		Region: LabRegion, BaseEndpoint: awssdk.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(LabAccessKey, "secret", ""),
	})
}

func dims(kv ...string) []cwtypes.Dimension {
	var out []cwtypes.Dimension
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, cwtypes.Dimension{Name: awssdk.String(kv[i]), Value: awssdk.String(kv[i+1])})
	}
	return out
}

// TestCloudWatchDimensionSets: the fake answers a query only under the
// dimensions AWS publishes the metric by, and nothing (an empty, Complete
// result, as CloudWatch does) under any other combination.
func TestCloudWatchDimensionSets(t *testing.T) {
	end := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	_, url := Start(t, WithLabMetrics(LabScenario(), MetricsHealthy, end))
	cl := cwClient(url)
	tests := []struct {
		metric string
		dims   []cwtypes.Dimension
		data   bool
	}{
		{"ConnectionState", dims("ConnectionId", LabConnection1), true},
		{"ConnectionLightLevelRx", dims("ConnectionId", LabConnection1, "OpticalLaneNumber", "1"), true},
		{"ConnectionLightLevelRx", dims("ConnectionId", LabConnection1), false},
		{"VirtualInterfaceBpsEgress", dims("ConnectionId", LabConnection1, "VirtualInterfaceId", LabVIF1), true},
		{"VirtualInterfaceBpsEgress", dims("VirtualInterfaceId", LabVIF1), false},
		{"VirtualInterfaceBgpStatus", dims("ConnectionId", LabConnection1, "IpAddressFamily", FamilyIPv4, "VirtualInterfaceId", LabVIF1), true},
		{"VirtualInterfaceBgpStatus", dims("ConnectionId", LabConnection1, "VirtualInterfaceId", LabVIF1), false},
		// The lab's VIFs are dual-stack: a series per family of their peers.
		{"VirtualInterfaceBgpStatus", dims("ConnectionId", LabConnection1, "IpAddressFamily", FamilyIPv6, "VirtualInterfaceId", LabVIF1), true},
		{"VirtualInterfaceBgpStatus", dims("ConnectionId", LabConnection1, "IpAddressFamily", "ipv5", "VirtualInterfaceId", LabVIF1), false},
	}
	for _, tt := range tests {
		var names []string
		for _, d := range tt.dims {
			names = append(names, *d.Name)
		}
		t.Run(tt.metric+" by "+strings.Join(names, ","), func(t *testing.T) {
			start := end.Add(-time.Hour)
			out, err := cl.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
				StartTime: &start, EndTime: &end,
				MetricDataQueries: []cwtypes.MetricDataQuery{{Id: awssdk.String("q"), MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: awssdk.String("AWS/DX"), MetricName: awssdk.String(tt.metric), Dimensions: tt.dims},
					Period: awssdk.Int32(300), Stat: awssdk.String("Average"),
				}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			r := out.MetricDataResults[0]
			if r.StatusCode != cwtypes.StatusCodeComplete {
				t.Errorf("status %s, want Complete", r.StatusCode)
			}
			if got := len(r.Values) > 0; got != tt.data {
				t.Errorf("data %v (%d values), want %v", got, len(r.Values), tt.data)
			}
		})
	}
}

// TestCloudWatchRefusesUndocumentedSeries: a scenario holding a series
// under dimensions AWS does not publish it by is refused, naming it.
func TestCloudWatchRefusesUndocumentedSeries(t *testing.T) {
	end := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	sc := WithLabMetrics(LabScenario(), MetricsHealthy, end)
	sc.Metrics = append(sc.Metrics, Series(LabAccount, LabRegion, "ConnectionLightLevelRx",
		map[string]string{"ConnectionId": LabConnection1}, end.Add(-time.Hour), time.Minute, Const(60, -6)))
	_, url := Start(t, sc)
	_, err := cwClient(url).ListMetrics(context.Background(), &cloudwatch.ListMetricsInput{Namespace: awssdk.String("AWS/DX")})
	if err == nil || !strings.Contains(err.Error(), "AWS/DX publishes ConnectionLightLevelRx by {ConnectionId, OpticalLaneNumber}, not {ConnectionId}") {
		t.Errorf("err %v, want the series named", err)
	}
}

// TestListMetrics: the dimension filter matches metrics that have the
// dimension, whatever others they have; pages follow NextToken.
func TestListMetrics(t *testing.T) {
	end := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	sc := LabScenario()
	sc.Connection(LabConnection1).Bandwidth = "100Gbps"
	_, url := Start(t, WithLabMetrics(sc, MetricsHealthy, end))
	cl := cwClient(url)
	seen := map[string]int{}
	var tok *string
	for range 10 {
		out, err := cl.ListMetrics(context.Background(), &cloudwatch.ListMetricsInput{
			Namespace:  awssdk.String("AWS/DX"),
			Dimensions: []cwtypes.DimensionFilter{{Name: awssdk.String("ConnectionId"), Value: awssdk.String(LabConnection1)}},
			NextToken:  tok,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Metrics {
			var names []string
			for _, d := range m.Dimensions {
				names = append(names, *d.Name)
			}
			seen[*m.MetricName+"{"+strings.Join(names, ",")+"}"]++
		}
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	want := map[string]int{
		"ConnectionState{ConnectionId}":                                                        1,
		"ConnectionLightLevelTx{ConnectionId,OpticalLaneNumber}":                               4,
		"ConnectionLightLevelRx{ConnectionId,OpticalLaneNumber}":                               4,
		"VirtualInterfaceBpsEgress{ConnectionId,VirtualInterfaceId}":                           1,
		"VirtualInterfaceBgpStatus{ConnectionId,IpAddressFamily,VirtualInterfaceId}":           2,
		"VirtualInterfaceBgpPrefixesAccepted{ConnectionId,IpAddressFamily,VirtualInterfaceId}": 2,
	}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("%s listed %d times, want %d (listed: %v)", k, seen[k], n, seen)
		}
	}
	// The primary's 6 connection metrics, 4 lanes of 2, its VIF's 2
	// traffic and 3 BGP metrics for each of its 2 families; nothing of
	// the secondary.
	total := 0
	for _, n := range seen {
		total += n
	}
	if total != 22 {
		t.Errorf("%d metrics listed, want 22: %v", total, seen)
	}
}
