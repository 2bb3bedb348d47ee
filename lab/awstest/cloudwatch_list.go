package awstest

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/smithy-go/encoding/cbor"
)

// dxDimensions is the one set of dimension names under which Direct
// Connect publishes each AWS/DX metric (Direct Connect User Guide,
// "Monitor with Amazon CloudWatch",
// https://docs.aws.amazon.com/directconnect/latest/UserGuide/monitoring-cloudwatch.html):
// connection metrics by ConnectionId, light levels per optical lane
// ("There are two dimensions for this metric"), VIF traffic by connection
// and VIF, and the VIF BGP metrics (launched 2026-03-30) per address family
// too. CloudWatch treats each combination of dimensions as a separate
// metric (GetMetricStatistics reference), so a query under any other
// combination finds nothing.
var dxDimensions = map[string][]string{
	"ConnectionState":                       {"ConnectionId"},
	"ConnectionBpsEgress":                   {"ConnectionId"},
	"ConnectionBpsIngress":                  {"ConnectionId"},
	"ConnectionPpsEgress":                   {"ConnectionId"},
	"ConnectionPpsIngress":                  {"ConnectionId"},
	"ConnectionErrorCount":                  {"ConnectionId"},
	"ConnectionCRCErrorCount":               {"ConnectionId"},
	"ConnectionEncryptionState":             {"ConnectionId"},
	"ConnectionDiscardsPpsEgress":           {"ConnectionId"},
	"ConnectionLightLevelTx":                {"ConnectionId", "OpticalLaneNumber"},
	"ConnectionLightLevelRx":                {"ConnectionId", "OpticalLaneNumber"},
	"VirtualInterfaceBpsEgress":             {"ConnectionId", "VirtualInterfaceId"},
	"VirtualInterfaceBpsIngress":            {"ConnectionId", "VirtualInterfaceId"},
	"VirtualInterfacePpsEgress":             {"ConnectionId", "VirtualInterfaceId"},
	"VirtualInterfacePpsIngress":            {"ConnectionId", "VirtualInterfaceId"},
	"VirtualInterfaceBgpStatus":             {"ConnectionId", "IpAddressFamily", "VirtualInterfaceId"},
	"VirtualInterfaceBgpPrefixesAccepted":   {"ConnectionId", "IpAddressFamily", "VirtualInterfaceId"},
	"VirtualInterfaceBgpPrefixesAdvertised": {"ConnectionId", "IpAddressFamily", "VirtualInterfaceId"},
}

// The IpAddressFamily values of the VIF BGP metrics. No AWS page found
// gives them (the User Guide names the dimension only); "IPv4" and "IPv6"
// are a guess. dxwatch takes the values from ListMetrics and compares them
// without regard to case, so it does not depend on the guess.
const (
	FamilyIPv4 = "IPv4"
	FamilyIPv6 = "IPv6"
)

// checkMetrics returns an error naming the first AWS/DX series of the
// scenario published under dimensions AWS does not publish it by: the fake
// refuses to serve such a scenario, so that a test cannot pass on data
// real AWS would never return.
func (sc *Scenario) checkMetrics() error {
	for i, m := range sc.Metrics {
		if m.Namespace != "AWS/DX" {
			continue
		}
		want, ok := dxDimensions[m.MetricName]
		if !ok {
			return fmt.Errorf("scenario metrics[%d]: AWS/DX publishes no metric %q", i, m.MetricName)
		}
		if got := slices.Sorted(maps.Keys(m.Dimensions)); !slices.Equal(got, want) {
			return fmt.Errorf("scenario metrics[%d]: AWS/DX publishes %s by {%s}, not {%s}",
				i, m.MetricName, strings.Join(want, ", "), strings.Join(got, ", "))
		}
	}
	return nil
}

// cwListPage is how many metrics one ListMetrics page holds ("Up to 500
// results are returned for any one call", ListMetrics reference).
const cwListPage = 500

// listMetrics serves ListMetrics: the metrics of the caller's account and
// region matching the namespace, name and dimension filters, each with all
// its dimensions. A dimension filter matches a metric that has that
// dimension (with that value, when given), whatever other dimensions it
// has. The fake lists every series of its scenario: it does not model the
// two weeks after which a metric without data drops out of the list.
func (s *Server) listMetrics(c call, in cbor.Map) ([]byte, *apiError) {
	bad := func(format string, args ...any) ([]byte, *apiError) {
		return nil, &apiError{status: 400, code: "InvalidParameterValue", msg: fmt.Sprintf(format, args...)}
	}
	if ra := asString(in["RecentlyActive"]); ra != "" && ra != "PT3H" {
		return bad("RecentlyActive must be PT3H, not %q", ra)
	}
	ns, name := asString(in["Namespace"]), asString(in["MetricName"])
	type filter struct {
		name, value string
		any         bool
	}
	var filters []filter
	dl, _ := in["Dimensions"].(cbor.List)
	if len(dl) > 10 {
		return bad("Dimensions holds at most 10 filters, not %d", len(dl))
	}
	for i, dv := range dl {
		dm, _ := dv.(cbor.Map)
		f := filter{name: asString(dm["Name"])}
		if f.name == "" {
			return bad("Dimensions[%d].Name is required", i)
		}
		if v, ok := dm["Value"]; ok {
			f.value = asString(v)
		} else {
			f.any = true
		}
		filters = append(filters, f)
	}
	var found []*MetricSeries
	for i := range s.sc.Metrics {
		m := &s.sc.Metrics[i]
		if m.OwnerAccount != c.account || m.Region != c.region ||
			(ns != "" && m.Namespace != ns) || (name != "" && m.MetricName != name) {
			continue
		}
		ok := true
		for _, f := range filters {
			if v, has := m.Dimensions[f.name]; !has || (!f.any && v != f.value) {
				ok = false
			}
		}
		if ok {
			found = append(found, m)
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].MetricName < found[j].MetricName })
	from := 0
	if tok := asString(in["NextToken"]); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n <= 0 || n >= len(found) {
			return nil, &apiError{status: 400, code: "InvalidNextToken", msg: "invalid NextToken " + tok}
		}
		from = n
	}
	to := min(len(found), from+cwListPage)
	list := cbor.List{}
	for _, m := range found[from:to] {
		dims := cbor.List{}
		for _, k := range slices.Sorted(maps.Keys(m.Dimensions)) {
			dims = append(dims, cbor.Map{"Name": cbor.String(k), "Value": cbor.String(m.Dimensions[k])})
		}
		list = append(list, cbor.Map{"Namespace": cbor.String(m.Namespace), "MetricName": cbor.String(m.MetricName), "Dimensions": dims})
	}
	out := cbor.Map{"Metrics": list}
	if to < len(found) {
		out["NextToken"] = cbor.String(strconv.Itoa(to))
	}
	return cbor.Encode(out), nil
}
