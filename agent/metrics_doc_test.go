package agent

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/lab/golden"
	"github.com/dxwatch/dxwatch/lab/readme"
	"github.com/dxwatch/dxwatch/probes"
)

// fullConfig is verifyConfig (the lab's site, AWS against the fake AWS on
// 127.0.0.1) with every other probe section added: ping and trace of a
// loopback target, and the BGP feed from an edge on 127.0.0.1 (a closed
// port: the session stays down, its series exist) with a BMP station on
// 127.0.0.1. Nothing leaves loopback.
var fullConfig = strings.Replace(verifyConfig, "\nrouting:", "\ntargets:\n  - name: loopback\n    address: 127.0.0.1\nrouting:", 1) + `trace:
  interval: 1s
  timeout: 1s
  method: icmp
bgp:
  local_asn: 65000
  router_id: 127.0.0.1
  peers:
    - name: edge1
      address: 127.0.0.1
      port: 1
  bmp:
    listen_address: 127.0.0.1:0
`

// startFullAgent runs an agent with fullConfig (every probe section) and the
// event history on disk, the AWS section served by the fake AWS, and waits
// (bounded) until every probe has finished a first round.
func startFullAgent(t *testing.T) (*Agent, string) {
	t.Helper()
	_, url := awstest.Start(t, awstest.LabScenario())
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": awstest.LabAccessKey, "AWS_SECRET_ACCESS_KEY": awstest.LabSecretKey,
		"AWS_REGION": awstest.LabRegion, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "dxwatch.yaml")
	if err := os.WriteFile(cfgFile, []byte(fullConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	a, base := startAgentWith(t, Options{ConfigFile: cfgFile, StoragePath: filepath.Join(dir, "state")})
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := get(t, c, "GET", base+"/readyz")
		if code == http.StatusOK {
			return a, base
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent not ready after 60 s: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// family is one metric family as its collector describes it.
type family struct {
	name, help string
	labels     []string
	part       string // the part of dxwatch that exports it: a section of docs/metrics.md
}

// descRE parses prometheus.Desc.String().
var descRE = regexp.MustCompile(`^Desc\{fqName: ("(?:[^"\\]|\\.)*"), help: ("(?:[^"\\]|\\.)*"), unit: "(?:[^"\\]|\\.)*", constLabels: \{([^}]*)\}, variableLabels: \{([^}]*)\}\}$`)

// describe returns every dxwatch_ family a's current generation and base
// registry can export, from the collectors' Describe (families that appear
// only after an event included), each with the part that exports it.
func describe(t *testing.T, a *Agent) map[string]family {
	t.Helper()
	out := map[string]family{}
	add := func(part string, c prometheus.Collector) {
		ch := make(chan *prometheus.Desc)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			m := descRE.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("cannot parse %s", d)
			}
			name, _ := strconv.Unquote(m[1])
			help, _ := strconv.Unquote(m[2])
			if !strings.HasPrefix(name, "dxwatch_") {
				continue
			}
			f := family{name: name, help: help, part: part}
			if m[4] != "" {
				f.labels = strings.Split(m[4], ",")
			}
			if o, dup := out[name]; dup && o.part != part {
				t.Errorf("%s is described by %s and by %s", name, o.part, part)
			}
			out[name] = f
		}
	}
	g := a.cur.Load()
	// The agent's own families live in the base registry, which is a
	// Gatherer and not a Collector: they are described by what it gathers
	// (they exist from the start), the history's by its collector.
	mfs, err := a.base.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "dxwatch_") && !strings.HasPrefix(mf.GetName(), "dxwatch_storage_") {
			f := family{name: mf.GetName(), help: mf.GetHelp(), part: "agent"}
			for _, lp := range mf.GetMetric()[0].GetLabel() {
				f.labels = append(f.labels, lp.GetName())
			}
			out[f.name] = f
		}
	}
	if a.history != nil {
		add("history", a.history)
	}
	var statuses probes.RoundsCollector
	for _, r := range g.runners {
		statuses = append(statuses, r.status)
		add(r.spec.kind, r.probe)
	}
	for _, c := range []prometheus.Collector{statuses, checkCollector{g}, siteCollector(g.cfg.Topology()), targetCollector(g.cfg.Report.TargetPercent)} {
		add("agent", c)
	}
	add("health", g.health)
	return out
}

// documentedRE finds the metrics a table row of docs/metrics.md documents.
var documentedRE = regexp.MustCompile("(?m)^\\| `(dxwatch_[a-z0-9_]+)")

// TestMetricsDocumented runs the agent with every probe section and checks
// docs/metrics.md both ways: every family the agent exports or describes is
// documented, every documented family is one the agent describes, and the
// scrape exports nothing the collectors do not describe.
func TestMetricsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	a, base := startFullAgent(t)
	described := describe(t, a)
	for _, part := range []string{"agent", "health", "history", "ping", "trace", "bgp", "aws"} {
		if !slices.ContainsFunc(mapValues(described), func(f family) bool { return f.part == part }) {
			t.Errorf("no family described by %s: is its section missing from the test's configuration?", part)
		}
	}
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	_, body := get(t, c, "GET", base+"/metrics")
	exported := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" && strings.HasPrefix(f[2], "dxwatch_") {
			exported[f[2]] = true
			if _, ok := described[f[2]]; !ok {
				t.Errorf("%s is exported but no collector describes it", f[2])
			}
		}
	}
	documented := map[string]bool{}
	for _, m := range documentedRE.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	for name := range described {
		if !documented[name] {
			t.Errorf("%s is exported (described by %s) but not in docs/metrics.md", name, described[name].part)
		}
	}
	for name := range documented {
		if _, ok := described[name]; !ok {
			t.Errorf("%s is in docs/metrics.md but the agent does not export it", name)
		}
	}
	t.Logf("%d families described, %d exported after the first round, %d documented", len(described), len(exported), len(documented))
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// metricsParts are the sections of docs/metrics.md: the part of dxwatch
// that exports the families (describe's part), its title and the package
// whose README's "## Metrics" section adds the notes below the table.
var metricsParts = []struct{ part, title, dir string }{
	{"agent", "Agent", ""},
	{"health", "Link health, active link, failovers", "agent/health"},
	{"ping", "Ping", "probes/ping"},
	{"trace", "Traceroute", "probes/trace"},
	{"bgp", "BGP and BMP", "probes/bgp"},
	{"aws", "AWS", "probes/aws"},
	{"history", "Event history on disk", "agent/history"},
}

const metricsDocHead = `# Metrics

<!-- Generated by: go test ./agent -run '^TestMetricsDoc$' -update (do not edit by hand) -->

Every metric dxwatch exports, by the part that exports it. Names start with
` + "`dxwatch_`" + `, use base units (seconds; ratios 0–1; 0/1 booleans) and bounded
labels only (link, target, peer and prefix names from the configuration, AWS
resource IDs, states): never hop addresses, AS paths or free text.
Deployments add ` + "`site`" + ` (and ` + "`instance`, `job`" + `) as target labels
([deployment](deployment.md)); the dashboards and alert rules use them. The
type of each family is in the ` + "`# TYPE`" + ` line of ` + "`/metrics`" + `.

This file is generated from the code: each table from the collectors' own
descriptions (name, labels and help, as ` + "`/metrics`" + ` shows them), the notes
below it from the package README's "Metrics" section. After changing a
metric or those notes, run
` + "`go test ./agent -run '^TestMetricsDoc$' -update`" + ` and commit the result.
`

// renderMetricsDoc renders docs/metrics.md from the described families and
// the package READMEs under root.
func renderMetricsDoc(t *testing.T, described map[string]family, root string) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString(metricsDocHead)
	for _, p := range metricsParts {
		var fams []family
		for _, f := range described {
			if f.part == p.part {
				fams = append(fams, f)
			}
		}
		if len(fams) == 0 {
			t.Errorf("no family of %s described", p.part)
			continue
		}
		slices.SortFunc(fams, func(a, b family) int { return strings.Compare(a.name, b.name) })
		fmt.Fprintf(&b, "\n## %s\n\n", p.title)
		if p.dir != "" {
			fmt.Fprintf(&b, "More on each in [%[1]s/README.md](../%[1]s/README.md).\n\n", p.dir)
		}
		b.WriteString("| metric | labels | meaning |\n|---|---|---|\n")
		for _, f := range fams {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.name, strings.Join(f.labels, ", "), strings.ReplaceAll(f.help, "|", "\\|"))
		}
		if p.part == "agent" {
			b.WriteString("\nPlus the Go runtime and process metrics (`go_*`, `process_*`).\n")
		}
		if p.dir != "" {
			notes, err := readme.Notes(filepath.Join(root, p.dir, "README.md"), "Metrics")
			if err != nil {
				t.Fatal(err)
			}
			if notes != "" {
				b.WriteString("\n" + notes + "\n")
			}
		}
	}
	return []byte(b.String())
}

// TestMetricsDoc renders docs/metrics.md from the agent's collectors (every
// probe section configured) and compares it with the file; -update
// rewrites it.
func TestMetricsDoc(t *testing.T) {
	a, _ := startFullAgent(t)
	golden.Check(t, "../docs/metrics.md", renderMetricsDoc(t, describe(t, a), ".."))
}
