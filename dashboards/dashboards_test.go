package dashboards

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

var (
	update     = flag.Bool("update", false, "rewrite testdata/metrics.golden from the running agent at -metrics-url")
	metricsURL = flag.String("metrics-url", "http://127.0.0.1:9479/metrics", "the /metrics of a running dxwatch, read by -update")
)

const (
	goldenFile    = "testdata/metrics.golden"
	runbookFile   = "../docs/runbook.md"
	runbookPrefix = "https://github.com/dxwatch/dxwatch/blob/main/docs/runbook.md#"
)

// targetLabels are the labels Prometheus adds to every series of a dxwatch
// target: instance and job always, site through the deployment's target
// labels (docs/deployment.md).
var targetLabels = []string{"instance", "job", "site"}

// metricSet maps every queryable metric name to the labels it carries.
type metricSet map[string]map[string]bool

func (m metricSet) add(name string, lbls ...string) {
	if m[name] == nil {
		m[name] = map[string]bool{}
	}
	for _, l := range append(lbls, targetLabels...) {
		m[name][l] = true
	}
}

// loadGolden reads the exposition in testdata/metrics.golden and returns
// every name a query can use: counters and gauges as exposed, histograms as
// name_bucket (with le), name_sum, name_count and the bare name (native
// histograms), summaries as name, name_sum, name_count. Prometheus's own
// per-target series (up, scrape_*) are added.
func loadGolden(t *testing.T) metricSet {
	t.Helper()
	data, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	fams, err := parseExposition(data)
	if err != nil {
		t.Fatalf("%s: %v", goldenFile, err)
	}
	ms := metricSet{}
	for name, fam := range fams {
		var lbls []string
		for _, m := range fam.GetMetric() {
			for _, lp := range m.GetLabel() {
				lbls = append(lbls, lp.GetName())
			}
		}
		switch fam.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			ms.add(name, lbls...)
			ms.add(name+"_bucket", append(lbls, "le")...)
			ms.add(name+"_sum", lbls...)
			ms.add(name+"_count", lbls...)
		case dto.MetricType_SUMMARY:
			ms.add(name, append(lbls, "quantile")...)
			ms.add(name+"_sum", lbls...)
			ms.add(name+"_count", lbls...)
		case dto.MetricType_COUNTER:
			ms.add(name, lbls...)
			if !strings.HasSuffix(name, "_total") { // OpenMetrics-style TYPE line
				ms.add(name+"_total", lbls...)
			}
		default:
			ms.add(name, lbls...)
		}
	}
	for _, n := range []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"} {
		ms.add(n)
	}
	return ms
}

func parseExposition(data []byte) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	return p.TextToMetricFamilies(bytes.NewReader(data))
}

// TestMetricsGolden checks the golden exposition, and with -update rewrites
// it from a running agent's /metrics.
func TestMetricsGolden(t *testing.T) {
	if *update {
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Get(*metricsURL)
		if err != nil {
			t.Fatalf("fetch the agent's metrics for -update: %v", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("fetch %s: status %d, %v", *metricsURL, resp.StatusCode, err)
		}
		if _, err := parseExposition(body); err != nil {
			t.Fatalf("%s is not a text exposition: %v", *metricsURL, err)
		}
		if err := os.WriteFile(goldenFile, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ms := loadGolden(t)
	var n int
	for name := range ms {
		if strings.HasPrefix(name, "dxwatch_") {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("%s has no dxwatch_ metric", goldenFile)
	}
}

// varRef matches Grafana template variable references: ${name},
// ${name:format}, $name and [[name]].
var varRef = regexp.MustCompile(`\$\{(\w+)(?::[\w]+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// builtinVars are Grafana's own variables and what they become in a query.
var builtinVars = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "1m",
	"__range":         "6h",
	"__range_s":       "21600",
	"__range_ms":      "21600000",
	"__interval_ms":   "60000",
}

// substitute replaces template variables with values that parse in the
// same position: durations for Grafana's built-ins, a label value for the
// dashboard's variables. It reports references to undefined variables.
func substitute(expr string, defined map[string]bool) (string, []string) {
	var unknown []string
	out := varRef.ReplaceAllStringFunc(expr, func(s string) string {
		m := varRef.FindStringSubmatch(s)
		name := m[1] + m[2] + m[3]
		if strings.Trim(name, "0123456789") == "" {
			return s // a capture reference in label_replace's replacement
		}
		if v, ok := builtinVars[name]; ok {
			return v
		}
		if !defined[name] {
			unknown = append(unknown, name)
		}
		return "x"
	})
	return out, unknown
}

// hardCoded matches a selector on instance with a literal value.
var hardCoded = regexp.MustCompile(`\binstance\s*(=|!=|=~|!~)\s*"[^$"]`)

var promqlParser = parser.NewParser(parser.Options{})

// checkExpr parses a PromQL expression after variable substitution and
// checks every selector against the golden metrics. It returns the problems.
func checkExpr(expr string, defined map[string]bool, ms metricSet) []string {
	var problems []string
	if strings.TrimSpace(expr) == "" {
		return []string{"empty expression"}
	}
	if hardCoded.MatchString(expr) {
		problems = append(problems, "hard-coded instance in "+expr)
	}
	sub, unknown := substitute(expr, defined)
	for _, u := range unknown {
		problems = append(problems, fmt.Sprintf("undefined variable $%s", u))
	}
	e, err := promqlParser.ParseExpr(sub)
	if err != nil {
		return append(problems, fmt.Sprintf("does not parse: %v\n\t%s", err, sub))
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			problems = append(problems, fmt.Sprintf("selector %s has no metric name", vs))
			return nil
		}
		known, ok := ms[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("metric %s is not in %s", name, goldenFile))
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name != model.MetricNameLabel && !known[m.Name] {
				problems = append(problems, fmt.Sprintf("%s has no label %q", name, m.Name))
			}
		}
		return nil
	})
	return problems
}

// The parts of Grafana's JSON model the tests look at.
type (
	dashboard struct {
		UID           string `json:"uid"`
		Title         string `json:"title"`
		SchemaVersion int    `json:"schemaVersion"`
		Templating    struct {
			List []variable `json:"list"`
		} `json:"templating"`
		Annotations struct {
			List []annotation `json:"list"`
		} `json:"annotations"`
		Panels []panel `json:"panels"`
	}
	variable struct {
		Name       string          `json:"name"`
		Type       string          `json:"type"`
		Query      json.RawMessage `json:"query"`
		Datasource *datasourceRef  `json:"datasource"`
	}
	annotation struct {
		Name       string         `json:"name"`
		BuiltIn    int            `json:"builtIn"`
		Expr       string         `json:"expr"`
		Datasource *datasourceRef `json:"datasource"`
	}
	panel struct {
		ID         int            `json:"id"`
		Type       string         `json:"type"`
		Title      string         `json:"title"`
		Datasource *datasourceRef `json:"datasource"`
		GridPos    *struct {
			H, W, X, Y int
		} `json:"gridPos"`
		Targets []struct {
			Expr       string         `json:"expr"`
			RefID      string         `json:"refId"`
			Datasource *datasourceRef `json:"datasource"`
		} `json:"targets"`
		FieldConfig struct {
			Defaults struct {
				Unit string `json:"unit"`
			} `json:"defaults"`
		} `json:"fieldConfig"`
		Panels []panel `json:"panels"`
	}
	datasourceRef struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	}
)

// variableQuery returns the PromQL inside a query variable's definition:
// label_values(expr, label) or query_result(expr); "" for queries without
// an expression (label_values(label), label_names()).
func variableQuery(raw json.RawMessage) (string, error) {
	var q string
	if err := json.Unmarshal(raw, &q); err != nil {
		var obj struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return "", fmt.Errorf("query is neither a string nor an object: %s", raw)
		}
		q = obj.Query
	}
	q = strings.TrimSpace(q)
	switch {
	case strings.HasPrefix(q, "label_values(") && strings.HasSuffix(q, ")"):
		inner := q[len("label_values(") : len(q)-1]
		i := strings.LastIndex(inner, ",")
		if i < 0 {
			return "", nil
		}
		return strings.TrimSpace(inner[:i]), nil
	case strings.HasPrefix(q, "query_result(") && strings.HasSuffix(q, ")"):
		return q[len("query_result(") : len(q)-1], nil
	}
	return "", fmt.Errorf("unsupported variable query %q", q)
}

func dashboardFiles(t *testing.T) []string {
	t.Helper()
	files, err := fs.Glob(FS, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("want the overview and link dashboards embedded, got %v", files)
	}
	return files
}

func TestDashboards(t *testing.T) {
	ms := loadGolden(t)
	// The series rules.yaml records can be queried too.
	for _, g := range loadRuleFile(t, RecordingRules).Groups {
		for _, r := range g.Rules {
			if strings.HasPrefix(r.Record, "link:") {
				ms.add(r.Record, "link")
			} else {
				ms.add(r.Record)
			}
		}
	}
	uids := map[string]string{}
	for _, file := range dashboardFiles(t) {
		t.Run(file, func(t *testing.T) {
			data, err := FS.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			var d dashboard
			if err := dec.Decode(&d); err != nil {
				t.Fatalf("not a JSON dashboard: %v", err)
			}
			if !regexp.MustCompile(`^dxwatch-[a-z0-9-]{1,32}$`).MatchString(d.UID) {
				t.Errorf("uid %q: want a stable dxwatch-… uid of at most 40 characters", d.UID)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("uid %q also used by %s", d.UID, other)
			}
			uids[d.UID] = file
			if d.Title == "" {
				t.Error("dashboard has no title")
			}
			if d.SchemaVersion < 38 {
				t.Errorf("schemaVersion %d: want a Grafana 10+ model (38 or later)", d.SchemaVersion)
			}

			defined := map[string]bool{}
			for _, v := range d.Templating.List {
				defined[v.Name] = true
			}
			for _, want := range []string{"datasource", "site", "link", "target"} {
				if !defined[want] {
					t.Errorf("no template variable %q", want)
				}
			}
			for _, v := range d.Templating.List {
				switch v.Type {
				case "datasource":
					var q string
					if err := json.Unmarshal(v.Query, &q); err != nil || q != "prometheus" {
						t.Errorf("variable %s: want a prometheus datasource variable, query %s", v.Name, v.Query)
					}
				case "query":
					checkDatasource(t, "variable "+v.Name, v.Datasource)
					expr, err := variableQuery(v.Query)
					if err != nil {
						t.Errorf("variable %s: %v", v.Name, err)
						continue
					}
					if expr != "" {
						for _, p := range checkExpr(expr, defined, ms) {
							t.Errorf("variable %s: %s", v.Name, p)
						}
					}
				default:
					t.Errorf("variable %s: unexpected type %q", v.Name, v.Type)
				}
			}
			for _, a := range d.Annotations.List {
				if a.BuiltIn == 1 {
					continue
				}
				checkDatasource(t, "annotation "+a.Name, a.Datasource)
				for _, p := range checkExpr(a.Expr, defined, ms) {
					t.Errorf("annotation %s: %s", a.Name, p)
				}
			}

			ids := map[int]bool{}
			var walk func([]panel)
			walk = func(ps []panel) {
				for _, p := range ps {
					where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
					if ids[p.ID] {
						t.Errorf("%s: duplicate id", where)
					}
					ids[p.ID] = true
					if p.Title == "" {
						t.Errorf("%s: no title", where)
					}
					if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
						t.Errorf("%s: bad gridPos %+v", where, p.GridPos)
					}
					if p.Type == "row" {
						walk(p.Panels)
						continue
					}
					if p.FieldConfig.Defaults.Unit == "" {
						t.Errorf("%s: no unit (fieldConfig.defaults.unit)", where)
					}
					checkDatasource(t, where, p.Datasource)
					if len(p.Targets) == 0 {
						t.Errorf("%s: no query", where)
					}
					for _, tg := range p.Targets {
						checkDatasource(t, where+" query "+tg.RefID, tg.Datasource)
						for _, prob := range checkExpr(tg.Expr, defined, ms) {
							t.Errorf("%s query %s: %s", where, tg.RefID, prob)
						}
					}
				}
			}
			walk(d.Panels)
		})
	}
}

// TestDashboardsPerFamily checks that each dashboard shows the peerings of
// dual-stack links (issue #27): some query reads dxwatch_peering_state, and
// every aggregation over dxwatch_failovers_total keeps the family label, so
// an IPv6-only failover shows as IPv6.
func TestDashboardsPerFamily(t *testing.T) {
	for _, file := range dashboardFiles(t) {
		t.Run(file, func(t *testing.T) {
			data, err := FS.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var d dashboard
			if err := json.Unmarshal(data, &d); err != nil {
				t.Fatal(err)
			}
			defined := map[string]bool{}
			for _, v := range d.Templating.List {
				defined[v.Name] = true
			}
			peerings, failovers := 0, 0
			var walk func([]panel)
			walk = func(ps []panel) {
				for _, p := range ps {
					walk(p.Panels)
					for _, tg := range p.Targets {
						sub, _ := substitute(tg.Expr, defined)
						e, err := promqlParser.ParseExpr(sub)
						if err != nil {
							continue // TestDashboards reports it
						}
						parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
							switch n := n.(type) {
							case *parser.VectorSelector:
								if n.Name == "dxwatch_peering_state" {
									peerings++
								}
							case *parser.AggregateExpr:
								if !selects(n.Expr, "dxwatch_failovers_total") {
									return nil
								}
								failovers++
								if n.Without || !slices.Contains(n.Grouping, "family") {
									t.Errorf("panel %d %q: %s does not keep the family label", p.ID, p.Title, n)
								}
							}
							return nil
						})
					}
				}
			}
			walk(d.Panels)
			if peerings == 0 {
				t.Error("no panel shows dxwatch_peering_state (the peerings per family)")
			}
			if failovers == 0 {
				t.Error("no panel aggregates dxwatch_failovers_total")
			}
		})
	}
}

// selects reports whether the expression reads the metric.
func selects(e parser.Expr, metric string) bool {
	found := false
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name == metric {
			found = true
		}
		return nil
	})
	return found
}

func checkDatasource(t *testing.T, where string, ds *datasourceRef) {
	t.Helper()
	if ds == nil || ds.UID != "${datasource}" {
		t.Errorf("%s: datasource %+v, want uid ${datasource}", where, ds)
	}
}

// ruleFile is the Prometheus rule file format, as far as the tests need it.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) ruleFile { return loadRuleFile(t, AlertRules) }

func loadRuleFile(t *testing.T, name string) ruleFile {
	t.Helper()
	data, err := FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rf
}

// TestRecordingRules checks rules.yaml: recording rules only, named
// level:metric:operations, each expression over metrics dxwatch exports,
// and each rule tested in rules_test.yaml.
func TestRecordingRules(t *testing.T) {
	ms := loadGolden(t)
	tests, err := os.ReadFile("rules_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range loadRuleFile(t, RecordingRules).Groups {
		for _, r := range g.Rules {
			n++
			if r.Record == "" {
				t.Errorf("group %s: alert %q: this file holds recording rules only (alerts go to %s)", g.Name, r.Alert, AlertRules)
				continue
			}
			if !regexp.MustCompile(`^[a-z_]+:dxwatch_[a-z0-9_]+:[a-z0-9_]+$`).MatchString(r.Record) {
				t.Errorf("record %q: want level:dxwatch_metric:operations", r.Record)
			}
			for _, p := range checkExpr(r.Expr, nil, ms) {
				t.Errorf("record %s: %s", r.Record, p)
			}
			if !strings.Contains(string(tests), "expr: round("+r.Record+",") && !strings.Contains(string(tests), "expr: "+r.Record+"\n") {
				t.Errorf("record %s has no promql_expr_test in rules_test.yaml", r.Record)
			}
		}
	}
	if n == 0 {
		t.Fatal("no recording rules")
	}
}

// githubAnchors returns the anchors GitHub generates for the Markdown
// headings of a file.
func githubAnchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	drop := regexp.MustCompile(`[^\p{L}\p{N}\- _]`)
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		a := strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")
		anchors[a] = true
	}
	return anchors
}

func TestAlertRules(t *testing.T) {
	ms := loadGolden(t)
	anchors := githubAnchors(t, runbookFile)
	seen := map[string]bool{}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: recording rule %q: this file holds alerts only", g.Name, r.Record)
				continue
			}
			t.Run(r.Alert, func(t *testing.T) {
				if seen[r.Alert] {
					t.Errorf("alert defined twice")
				}
				seen[r.Alert] = true
				for _, p := range checkExpr(r.Expr, nil, ms) {
					t.Error(p)
				}
				if r.For != "" {
					if _, err := model.ParseDuration(r.For); err != nil {
						t.Errorf("for %q: %v", r.For, err)
					}
				}
				if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
					t.Errorf("severity %q, want critical (pages), warning (working hours) or info (the record)", s)
				}
				for _, k := range []string{"summary", "description", "runbook_url"} {
					if r.Annotations[k] == "" {
						t.Errorf("no %s annotation", k)
					}
				}
				if !strings.Contains(r.Annotations["summary"], "$labels.site") {
					t.Errorf("summary does not name the site: %q", r.Annotations["summary"])
				}
				want := runbookPrefix + strings.ToLower(r.Alert)
				if r.Annotations["runbook_url"] != want {
					t.Errorf("runbook_url %q, want %q", r.Annotations["runbook_url"], want)
				}
				if !anchors[strings.ToLower(r.Alert)] {
					t.Errorf("%s has no section %q", runbookFile, r.Alert)
				}
			})
		}
	}
	if len(seen) == 0 {
		t.Fatal("no alert rules")
	}
}

// TestAlertRulesCovered checks that alerts_test.yaml has, for every alert,
// a case where it fires and one where it must not.
func TestAlertRulesCovered(t *testing.T) {
	data, err := os.ReadFile("alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tf struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(data, &tf); err != nil {
		t.Fatal(err)
	}
	fires, silent := map[string]int{}, map[string]int{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname]++
			} else {
				silent[a.Alertname]++
			}
		}
	}
	var names []string
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
		}
	}
	for _, n := range names {
		if fires[n] == 0 || silent[n] == 0 {
			t.Errorf("%s: %d firing and %d silent cases in alerts_test.yaml, want at least one of each", n, fires[n], silent[n])
		}
	}
	for n := range fires {
		if !slices.Contains(names, n) {
			t.Errorf("alerts_test.yaml tests %s, which alerts.yaml does not define", n)
		}
	}
}

// dualStackCases are the alerts_test.yaml cases of issue #27's acceptance:
// each must check every alert of alerts.yaml at each of its evaluation
// times, so that an alert firing where it should not (one naming IPv4 in
// an IPv6-only outage) fails promtool. ipv4Free marks the cases in which no
// expected alert may name IPv4.
var dualStackCases = []struct {
	name     string
	ipv4Free bool
}{
	{"IPv6-only outage on the primary fires the IPv6 alerts and none naming IPv4", true},
	{"a carrier cut of the primary fails both families over, one failover alert per family", false},
}

// TestDualStackCasesCheckEveryAlert keeps the dual-stack cases of
// alerts_test.yaml complete: every alert is checked at every evaluation
// time of the case (a new alert must say what it does in an IPv6-only
// outage and a carrier cut), and in the IPv6-only outage no expected alert
// carries family="ipv4" or names IPv4 in its annotations.
func TestDualStackCasesCheckEveryAlert(t *testing.T) {
	data, err := os.ReadFile("alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type (
		expAlert struct {
			ExpLabels      map[string]string `yaml:"exp_labels"`
			ExpAnnotations map[string]string `yaml:"exp_annotations"`
		}
		ruleTest struct {
			Name          string `yaml:"name"`
			AlertRuleTest []struct {
				EvalTime  string     `yaml:"eval_time"`
				Alertname string     `yaml:"alertname"`
				ExpAlerts []expAlert `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		}
	)
	var tf struct {
		Tests []ruleTest `yaml:"tests"`
	}
	if err := yaml.Unmarshal(data, &tf); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
		}
	}
	for _, dc := range dualStackCases {
		t.Run(dc.name, func(t *testing.T) {
			i := slices.IndexFunc(tf.Tests, func(tc ruleTest) bool { return tc.Name == dc.name })
			if i < 0 {
				t.Fatalf("alerts_test.yaml has no case %q", dc.name)
			}
			checked := map[string]map[string]bool{} // eval time -> alerts checked
			fired := 0
			for _, a := range tf.Tests[i].AlertRuleTest {
				if checked[a.EvalTime] == nil {
					checked[a.EvalTime] = map[string]bool{}
				}
				checked[a.EvalTime][a.Alertname] = true
				for _, e := range a.ExpAlerts {
					fired++
					if !dc.ipv4Free {
						continue
					}
					if e.ExpLabels["family"] == "ipv4" {
						t.Errorf("%s at %s: expected alert with family=ipv4 in an IPv6-only outage", a.Alertname, a.EvalTime)
					}
					for k, v := range e.ExpAnnotations {
						if strings.Contains(v, "IPv4") {
							t.Errorf("%s at %s: annotation %s names IPv4 in an IPv6-only outage: %q", a.Alertname, a.EvalTime, k, v)
						}
					}
				}
			}
			if len(checked) == 0 || fired == 0 {
				t.Fatalf("case checks %d evaluation times and expects %d alerts, want both above 0", len(checked), fired)
			}
			for at, got := range checked {
				for _, n := range names {
					if !got[n] {
						t.Errorf("at %s: %s is not checked (add it with exp_alerts: [] if it must stay quiet)", at, n)
					}
				}
			}
		})
	}
}

func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found: apt-get install prometheus")
	}
	for _, args := range [][]string{
		{"check", "rules", AlertRules},
		{"test", "rules", "alerts_test.yaml"},
		{"check", "rules", RecordingRules},
		{"test", "rules", "rules_test.yaml"},
	} {
		t.Run(strings.Join(args[:2], "_"), func(t *testing.T) {
			out, err := exec.Command(promtool, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

func TestEmbeddedFiles(t *testing.T) {
	var got []string
	err := fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got = append(got, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{
		AlertRules, RecordingRules, LinkDashboard, OverviewDashboard,
		"provisioning/dashboards/dxwatch.yaml",
		"provisioning/datasources/prometheus.yaml",
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("embedded files %v, want %v", got, want)
	}
	// Every embedded file is the one in the source tree.
	for _, f := range got {
		disk, err := os.ReadFile(filepath.FromSlash(f))
		if err != nil {
			t.Fatal(err)
		}
		emb, _ := FS.ReadFile(f)
		if !bytes.Equal(disk, emb) {
			t.Errorf("%s: embedded copy differs", f)
		}
	}
}

func TestProvisioning(t *testing.T) {
	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Folder  string `yaml:"folder"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	decodeEmbedded(t, "provisioning/dashboards/dxwatch.yaml", &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 || dp.Providers[0].Type != "file" || !filepath.IsAbs(dp.Providers[0].Options.Path) {
		t.Errorf("dashboard provider: %+v", dp)
	}
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, URL, Access string
			UID                     string `yaml:"uid"`
		} `yaml:"datasources"`
	}
	decodeEmbedded(t, "provisioning/datasources/prometheus.yaml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL == "" {
		t.Errorf("datasource: %+v", ds)
	}
}

func decodeEmbedded(t *testing.T, name string, v any) {
	t.Helper()
	data, err := FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestCheckExpr keeps the checker itself honest: it must catch what it is
// there to catch.
func TestCheckExpr(t *testing.T) {
	ms := metricSet{}
	ms.add("dxwatch_link_up", "link")
	ms.add("dxwatch_ping_rtt_seconds_bucket", "target", "le")
	defined := map[string]bool{"site": true, "link": true}
	tests := []struct {
		name, expr string
		want       string // substring of the first problem; "" for none
	}{
		{"ok", `dxwatch_link_up{site=~"$site", link=~"${link}"}`, ""},
		{"rate interval", `histogram_quantile(0.9, sum by (le) (rate(dxwatch_ping_rtt_seconds_bucket[$__rate_interval])))`, ""},
		{"range subquery", `max_over_time(dxwatch_link_up[$__range:1m])`, ""},
		{"unknown metric", `dxwatch_link_upp`, "not in"},
		{"unknown label", `dxwatch_link_up{peer="x"}`, `no label "peer"`},
		{"undefined variable", `dxwatch_link_up{link="$lnk"}`, "undefined variable $lnk"},
		{"label_replace capture", `label_replace(dxwatch_link_up, "l", "$1", "link", "(.+)")`, ""},
		{"hard-coded instance", `dxwatch_link_up{instance="10.0.0.1:9479"}`, "hard-coded instance"},
		{"syntax", `sum(dxwatch_link_up`, "does not parse"},
		{"no name", `{link="a"}`, "no metric name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := checkExpr(tc.expr, defined, ms)
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("problems %q, want none", got)
			case tc.want != "" && (len(got) == 0 || !strings.Contains(got[0], tc.want)):
				t.Errorf("problems %q, want one containing %q", got, tc.want)
			}
		})
	}
}

// TestDocsNameRealAlerts keeps the documentation in step with the rules:
// every alert name the runbook and the deployment guide mention exists,
// and every YAML example in the deployment guide parses.
func TestDocsNameRealAlerts(t *testing.T) {
	defined := map[string]bool{}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			defined[r.Alert] = true
		}
	}
	name := regexp.MustCompile(`\b(?:DirectConnect|DXWatch)[A-Za-z]+\b`)
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	for _, doc := range []string{runbookFile, "../docs/deployment.md"} {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range name.FindAllString(string(data), -1) {
			if !defined[n] {
				t.Errorf("%s mentions %s, which alerts.yaml does not define", doc, n)
			}
		}
		for i, m := range block.FindAllSubmatch(data, -1) {
			var v any
			if err := yaml.Unmarshal(m[1], &v); err != nil {
				t.Errorf("%s: YAML example %d: %v", doc, i+1, err)
			}
		}
	}
}
