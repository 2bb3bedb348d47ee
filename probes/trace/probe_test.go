package trace

import (
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/golden"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/dxwatch/dxwatch/probes"
)

func testSite(mode string) probes.Site {
	return probes.Site{
		Name: "lab",
		Links: []probes.Link{
			{Name: "primary", Role: probes.RolePrimary, AmazonAddress: netip.MustParsePrefix("169.254.10.1/30"), CustomerAddress: netip.MustParsePrefix("169.254.10.2/30")},
			{Name: "secondary", Role: probes.RoleSecondary, AmazonAddress: netip.MustParsePrefix("169.254.20.1/30"), CustomerAddress: netip.MustParsePrefix("169.254.20.2/30")},
		},
		Targets: []probes.Target{{Name: "app1", Host: "198.18.0.10"}, {Name: "app2", Host: "198.18.0.11"}},
		Routing: probes.Routing{Mode: mode, Primary: "primary"},
	}
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// tracedPath builds the path a trace over the given hops would record.
func tracedPath(site probes.Site, target string, reached bool, hops ...string) *Path {
	p := &Path{Target: target, Method: MethodUDP, Time: t0, Duration: 3 * time.Millisecond, Reached: reached}
	for _, t := range site.Targets {
		if t.Name == target {
			p.Host = t.Host
			p.Address = netip.MustParseAddr(t.Host)
		}
	}
	for i, h := range hops {
		hop := Hop{TTL: i + 1}
		if h != "*" {
			hop.Address = netip.MustParseAddr(h)
			hop.RTT = time.Duration(i+1) * 100 * time.Microsecond
			hop.Kind, hop.ICMPType = KindTimeExceeded, 11
			if i == len(hops)-1 && reached {
				hop.Kind, hop.ICMPType, hop.ICMPCode = KindUnreachable, 3, 3
			}
		}
		p.Hops = append(p.Hops, hop)
	}
	p.Links = attribute(site, p.Hops)
	p.Result = result(p.Links)
	return p
}

func newTestProbe(t *testing.T, site probes.Site, obs probes.Observer) *Probe {
	t.Helper()
	cfg := DefaultConfig()
	p, err := New("trace", cfg, probes.Deps{Site: site, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	viaPrimary   = []string{"192.0.2.1", "169.254.10.1", "198.18.0.1", "198.18.0.10"}
	viaSecondary = []string{"192.0.2.1", "169.254.20.1", "198.18.0.1", "198.18.0.10"}
)

func TestRecordCountsChanges(t *testing.T) {
	site := testSite(probes.ModeActivePassive)
	var got []probes.Observation
	p := newTestProbe(t, site, probes.ObserverFunc(func(o probes.Observation) { got = append(got, o) }))
	steps := []struct {
		hops    []string
		reached bool
		changed bool
	}{
		{viaPrimary, true, false}, // first trace: nothing to compare with
		{viaPrimary, true, false},
		{[]string{"192.0.2.1", "*", "198.18.0.1", "198.18.0.10"}, true, false}, // a lost reply is no change
		{viaSecondary, true, true},
		{viaSecondary, true, false},
		{viaPrimary, true, true},
		{[]string{"192.0.2.1", "169.254.10.1"}, false, true},
	}
	for i, s := range steps {
		p.record(tracedPath(site, "app1", s.reached, s.hops...), nil)
		o := got[len(got)-1]
		if o.Event != probes.PathTraced || o.Target != "app1" || o.Probe != "trace" || o.Changed != s.changed || o.Reached != s.reached {
			t.Errorf("step %d: observation %+v, want changed %v reached %v", i, o, s.changed, s.reached)
		}
	}
	if n := testutil.ToFloat64(p.changes.WithLabelValues("app1")); n != 3 {
		t.Errorf("changes = %v, want 3", n)
	}
	if o := got[3]; len(o.Links) != 1 || o.Links[0] != "secondary" {
		t.Errorf("links %v", o.Links)
	}
}

func TestChecks(t *testing.T) {
	ap, aa := testSite(probes.ModeActivePassive), testSite(probes.ModeActiveActive)
	both := tracedPath(aa, "app1", true, viaPrimary...)
	both.Links, both.Result = []string{"primary", "secondary"}, "both"
	for _, c := range []struct {
		name   string
		site   probes.Site
		path   *Path
		status probes.CheckStatus
		reason string
		fix    string
	}{
		{"primary in active/passive", ap, tracedPath(ap, "app1", true, viaPrimary...), probes.Pass, "crosses the primary link primary", ""},
		{"secondary in active/passive", ap, tracedPath(ap, "app1", true, viaSecondary...), probes.Warn, "is via secondary, not only the primary", "prepends"},
		{"both in active/passive", ap, both, probes.Warn, "is both", "local preference"},
		{"secondary in active/active", aa, tracedPath(aa, "app1", true, viaSecondary...), probes.Pass, "via secondary (active/active)", ""},
		{"both in active/active", aa, both, probes.Pass, "is both", ""},
		{"no dx hop", ap, tracedPath(ap, "app1", true, "192.0.2.1", "203.0.113.1", "198.18.0.10"), probes.Fail,
			"crosses no Direct Connect link (no hop is a link's Amazon or customer address); hops seen: 192.0.2.1 203.0.113.1 198.18.0.10", "edge router"},
		{"unreachable", ap, tracedPath(ap, "app1", false, "192.0.2.1", "169.254.10.1", "*"), probes.Fail,
			"did not reach 198.18.0.10 (via primary); hops seen: 192.0.2.1 169.254.10.1 *", "security group"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := evaluate(c.site, *c.path)
			if r.Name != "trace.target.app1" || r.Order != probes.OrderTrace || r.Status != c.status {
				t.Errorf("got %+v, want %s", r, c.status)
			}
			if !strings.Contains(r.Reason, c.reason) {
				t.Errorf("reason %q does not say %q", r.Reason, c.reason)
			}
			if (c.fix == "") != (r.Fix == "") || !strings.Contains(r.Fix, c.fix) {
				t.Errorf("fix %q, want one saying %q", r.Fix, c.fix)
			}
		})
	}
}

// metricNames are the metrics the probe exports, as DESIGN.md and the
// dashboards name them.
var metricNames = []string{
	"dxwatch_trace_path_link",
	"dxwatch_trace_path_changes_total",
	"dxwatch_trace_hops",
	"dxwatch_trace_duration_seconds",
	"dxwatch_trace_reached",
}

func TestMetricsAndAPI(t *testing.T) {
	site := testSite(probes.ModeActivePassive)
	p := newTestProbe(t, site, nil)
	if got := p.Checks(); len(got) != 0 {
		t.Errorf("checks before the first trace: %+v", got)
	}
	p.record(tracedPath(site, "app1", true, viaPrimary...), nil)
	p.record(tracedPath(site, "app1", true, viaSecondary...), nil)
	mpls := tracedPath(site, "app2", false, "192.0.2.1", "169.254.10.1", "*")
	mpls.Hops[1].MPLS = []MPLSLabel{{Label: 16005, TTL: 1, Bottom: true}}
	p.record(mpls, nil)

	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(p); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 2*(2+3)+2 {
		t.Errorf("%d series, %v; want 12", n, err)
	}
	exp, err := testutil.CollectAndFormat(p, expfmt.TypeTextPlain, metricNames...)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/metrics.txt", exp)

	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", p.APIPath(), nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %s", p.APIPath(), rec.Code, rec.Header())
	}
	var doc struct {
		Paths []map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || len(doc.Paths) != 2 {
		t.Fatalf("paths JSON: %v %s", err, rec.Body)
	}
	golden.Check(t, "testdata/paths.json", rec.Body.Bytes())
	checks := p.Checks()
	if len(checks) != 2 || checks[0].Status != probes.Warn || checks[1].Status != probes.Fail {
		t.Errorf("checks %+v", checks)
	}
}
