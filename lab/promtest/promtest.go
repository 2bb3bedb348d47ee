// Package promtest runs a real Prometheus (Debian's /usr/bin/prometheus)
// for tests: it scrapes the given targets with the given alert rules loaded,
// keeps its data in a temporary directory, lives at most a bounded time, and
// answers questions about alerts through Prometheus's HTTP API
// (/api/v1/alerts, /api/v1/query).
//
// The lab end-to-end test uses it to see the failover and link-down alerts
// fire after a cut and resolve after the restore. It needs no privilege; to
// scrape an agent inside a lab namespace, run Prometheus there through
// Config.Command and reach its API through Config.DialContext:
//
//	p := promtest.ForTest(t, promtest.Config{
//		Targets:   []string{"127.0.0.1:9479"},        // the agent, in the agent host's namespace
//		Labels:    map[string]string{"site": "lab"},
//		RuleFiles: []string{"../dashboards/alerts.yaml"},
//		MaxFor:    2 * time.Second,                   // alerts fire in seconds
//		Command: func(ctx context.Context, argv ...string) *exec.Cmd {
//			return l.Command(ctx, lab.HostAgent, argv...)
//		},
//		DialContext: l.DialContext(lab.HostAgent),
//	})
//	l.Cut("primary", false)
//	p.WaitForAlert(ctx, "DirectConnectLinkDown", "firing", map[string]string{"link": "primary"})
//	p.WaitForAlert(ctx, "DirectConnectFailover", "firing", map[string]string{"from": "primary"})
//	l.Restore("primary")
//	p.WaitForNoAlert(ctx, "DirectConnectLinkDown", map[string]string{"link": "primary"})
package promtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/syncbuf"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// DefaultBinary is the Prometheus server Debian's prometheus package installs.
const DefaultBinary = "/usr/bin/prometheus"

// Config says what Prometheus scrapes and evaluates. Zero values take the
// defaults in brackets.
type Config struct {
	// Binary is the Prometheus server [DefaultBinary, else "prometheus" in $PATH].
	Binary string
	// Targets are host:port scrape targets, e.g. an agent's 127.0.0.1:9479.
	Targets []string
	// Labels are added to every target, as a deployment adds site
	// (e.g. {"site": "lab"}).
	Labels map[string]string
	// JobName is the scrape job's name ["dxwatch", as the rules expect].
	JobName string
	// MetricsPath is scraped on every target ["/metrics"].
	MetricsPath string
	// RuleFiles are rule files to load, e.g. dashboards/alerts.yaml.
	RuleFiles []string
	// Rules are more rule files given by content, keyed by file name.
	Rules map[string][]byte
	// Alertmanagers are host:port addresses Prometheus sends its alerts
	// to (see StartAlertmanager) [none].
	Alertmanagers []string
	// MaxFor, when positive, caps every rule's `for:` hold time so a test
	// sees an alert fire in seconds instead of minutes.
	MaxFor time.Duration
	// ScrapeInterval and EvalInterval [1s each].
	ScrapeInterval, EvalInterval time.Duration
	// Lifetime bounds how long Prometheus runs; it is stopped after it
	// even if Stop is never called [10m].
	Lifetime time.Duration
	// ListenAddress for Prometheus's web server [127.0.0.1 and a free port].
	ListenAddress string
	// Command builds the process from an argv, e.g. to run Prometheus in a
	// lab namespace: func(ctx, argv...) { return l.Command(ctx, host, argv...) }
	// [exec.CommandContext].
	Command func(ctx context.Context, argv ...string) *exec.Cmd
	// DialContext dials Prometheus's API, e.g. into a lab namespace
	// [net.Dialer].
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Output receives Prometheus's log [discarded].
	Output io.Writer
}

// Server is a running Prometheus.
type Server struct {
	// URL is the base URL of the web API, e.g. http://127.0.0.1:41234.
	URL string

	dir    string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set when done is closed
	client *http.Client
	once   sync.Once
}

// Alert is one entry of /api/v1/alerts.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"` // "pending" or "firing"
	ActiveAt    time.Time         `json:"activeAt"`
	Value       string            `json:"value"`
}

// Sample is one element of an instant vector from /api/v1/query.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// ErrNoBinary is returned by Start when the Prometheus server is not installed.
var ErrNoBinary = errors.New("prometheus not found: apt-get install prometheus")

// Start writes the configuration, starts Prometheus and waits until it is
// ready. The caller must Stop it; it also stops on its own after Lifetime
// or when ctx ends.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	bin, err := binary(cfg.Binary)
	if err != nil {
		return nil, err
	}
	cfg = withDefaults(cfg)
	dir, err := os.MkdirTemp("", "promtest-")
	if err != nil {
		return nil, fmt.Errorf("prometheus data directory: %w", err)
	}
	s := &Server{dir: dir, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()

	configFile, err := writeConfig(dir, cfg)
	if err != nil {
		return nil, err
	}
	addr := cfg.ListenAddress
	if addr == "" {
		if addr, err = freeAddress(); err != nil {
			return nil, err
		}
	}
	s.URL = "http://" + addr
	s.client = &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{DialContext: cfg.DialContext, DisableKeepAlives: true},
	}

	runCtx, cancel := context.WithTimeout(context.Background(), cfg.Lifetime)
	s.cancel = cancel
	argv := []string{bin,
		"--config.file=" + configFile,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--log.level=info",
	}
	if cfg.Command != nil {
		s.cmd = cfg.Command(runCtx, argv...)
	} else {
		s.cmd = exec.CommandContext(runCtx, argv[0], argv[1:]...)
	}
	s.cmd.Stdout, s.cmd.Stderr = cfg.Output, cfg.Output
	s.cmd.Cancel = func() error { return s.cmd.Process.Signal(syscall.SIGTERM) }
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		cancel()
		close(s.done)
		return nil, fmt.Errorf("start prometheus: %w", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// ForTest starts Prometheus for the test and stops it at cleanup. It skips
// the test when Prometheus is not installed, and logs Prometheus's output
// when the test fails.
func ForTest(t testing.TB, cfg Config) *Server {
	t.Helper()
	_, err := binary(cfg.Binary)
	return forTest(t, "prometheus", err, &cfg.Output, func(ctx context.Context) (*Server, error) { return Start(ctx, cfg) })
}

// forTest starts a server for the test and stops it at cleanup: it skips
// the test when missing (the binary is not installed), and logs the
// server's output (into *out unless set) when the test fails.
func forTest[S interface{ Stop() }](t testing.TB, what string, missing error, out *io.Writer, start func(context.Context) (S, error)) S {
	t.Helper()
	if missing != nil {
		t.Skip(missing.Error())
	}
	var log syncbuf.Buffer
	if *out == nil {
		*out = &log
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := start(ctx)
	if err != nil {
		t.Fatalf("%v\n%s log:\n%s", err, what, log.String())
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() && log.Len() > 0 {
			t.Logf("%s log:\n%s", what, log.String())
		}
	})
	return s
}

// Stop stops Prometheus (SIGTERM, then SIGKILL after 5 s) and removes its
// directory. It is safe to call more than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
		os.RemoveAll(s.dir)
	})
}

// Done is closed when the Prometheus process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

func (s *Server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		resp, err := s.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("prometheus exited before it was ready: %v", s.err)
		case <-ctx.Done():
			return fmt.Errorf("prometheus not ready at %s: %w (last: %v)", s.URL, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// api GETs a Prometheus API path and decodes the data field into v.
func (s *Server) api(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("prometheus api %s: %w", path, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("prometheus api %s: status %d: %w", path, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("prometheus api %s: %s", path, body.Error)
	}
	return json.Unmarshal(body.Data, v)
}

// Alerts returns the pending and firing alerts.
func (s *Server) Alerts(ctx context.Context) ([]Alert, error) {
	var data struct {
		Alerts []Alert `json:"alerts"`
	}
	if err := s.api(ctx, "/api/v1/alerts", &data); err != nil {
		return nil, err
	}
	return data.Alerts, nil
}

// Query evaluates an instant query and returns the vector.
func (s *Server) Query(ctx context.Context, expr string) ([]Sample, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := s.api(ctx, "/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s, want vector", expr, data.ResultType)
	}
	out := make([]Sample, 0, len(data.Result))
	for _, r := range data.Result {
		str, _ := r.Value[1].(string)
		var v float64
		if _, err := fmt.Sscan(str, &v); err != nil {
			return nil, fmt.Errorf("query %q: value %v: %w", expr, r.Value[1], err)
		}
		out = append(out, Sample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// FindAlert returns the first alert named name in state (any state when
// state is "") whose labels include match.
func FindAlert(alerts []Alert, name, state string, match map[string]string) (Alert, bool) {
	for _, a := range alerts {
		if a.Labels["alertname"] != name || (state != "" && a.State != state) {
			continue
		}
		ok := true
		for k, v := range match {
			if a.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return a, true
		}
	}
	return Alert{}, false
}

// WaitForAlert polls /api/v1/alerts until an alert named name in state
// ("firing", "pending", or "" for either) with the labels in match shows,
// or ctx ends.
func (s *Server) WaitForAlert(ctx context.Context, name, state string, match map[string]string) (Alert, error) {
	var last []Alert
	err := s.poll(ctx, func() (bool, error) {
		as, err := s.Alerts(ctx)
		if err != nil {
			return false, err
		}
		last = as
		_, ok := FindAlert(as, name, state, match)
		return ok, nil
	})
	if err != nil {
		return Alert{}, fmt.Errorf("wait for %s %s %v: %w; alerts now: %s", state, name, match, err, summary(last))
	}
	a, _ := FindAlert(last, name, state, match)
	return a, nil
}

// WaitForNoAlert polls until no alert named name with the labels in match
// is pending or firing (a resolved alert leaves /api/v1/alerts), or ctx ends.
func (s *Server) WaitForNoAlert(ctx context.Context, name string, match map[string]string) error {
	var last []Alert
	err := s.poll(ctx, func() (bool, error) {
		as, err := s.Alerts(ctx)
		if err != nil {
			return false, err
		}
		last = as
		_, ok := FindAlert(as, name, "", match)
		return !ok, nil
	})
	if err != nil {
		return fmt.Errorf("wait for %s %v to resolve: %w; alerts now: %s", name, match, err, summary(last))
	}
	return nil
}

// WaitForQuery polls until the instant query returns at least one sample.
func (s *Server) WaitForQuery(ctx context.Context, expr string) ([]Sample, error) {
	var got []Sample
	err := s.poll(ctx, func() (bool, error) {
		var err error
		got, err = s.Query(ctx, expr)
		return len(got) > 0, err
	})
	if err != nil {
		return nil, fmt.Errorf("wait for %q: %w", expr, err)
	}
	return got, nil
}

// poll calls f every 250 ms until it reports done, Prometheus exits, or ctx
// ends; errors from f are retried and the last one is returned.
func (s *Server) poll(ctx context.Context, f func() (bool, error)) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		done, err := f()
		if done {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-s.done:
			return fmt.Errorf("prometheus exited: %v", s.err)
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func summary(as []Alert) string {
	if len(as) == 0 {
		return "none"
	}
	var parts []string
	for _, a := range as {
		var kv []string
		for k, v := range a.Labels {
			if k != "alertname" {
				kv = append(kv, k+"="+v)
			}
		}
		sort.Strings(kv)
		parts = append(parts, fmt.Sprintf("%s(%s){%s}", a.Labels["alertname"], a.State, strings.Join(kv, ",")))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func binary(b string) (string, error) {
	if b != "" {
		return exec.LookPath(b)
	}
	if _, err := os.Stat(DefaultBinary); err == nil {
		return DefaultBinary, nil
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p, nil
	}
	return "", ErrNoBinary
}

func withDefaults(cfg Config) Config {
	if cfg.JobName == "" {
		cfg.JobName = "dxwatch"
	}
	if cfg.MetricsPath == "" {
		cfg.MetricsPath = "/metrics"
	}
	if cfg.ScrapeInterval <= 0 {
		cfg.ScrapeInterval = time.Second
	}
	if cfg.EvalInterval <= 0 {
		cfg.EvalInterval = time.Second
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 10 * time.Minute
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	return cfg
}

// promConfig is the part of Prometheus's configuration file promtest writes.
type promConfig struct {
	Global struct {
		ScrapeInterval     model.Duration `yaml:"scrape_interval"`
		ScrapeTimeout      model.Duration `yaml:"scrape_timeout"`
		EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string        `yaml:"rule_files,omitempty"`
	ScrapeConfigs []scrapeConfig  `yaml:"scrape_configs"`
	Alerting      *alertingConfig `yaml:"alerting,omitempty"`
}

type alertingConfig struct {
	Alertmanagers []amTargets `yaml:"alertmanagers"`
}

type amTargets struct {
	StaticConfigs []staticConfig `yaml:"static_configs"`
}

type scrapeConfig struct {
	JobName       string         `yaml:"job_name"`
	MetricsPath   string         `yaml:"metrics_path"`
	StaticConfigs []staticConfig `yaml:"static_configs,omitempty"`
}

type staticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

// writeConfig writes prometheus.yml and the rule files (with `for:` capped
// at MaxFor) into dir and returns the configuration file's path.
func writeConfig(dir string, cfg Config) (string, error) {
	rulesDir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		return "", err
	}
	var pc promConfig
	pc.Global.ScrapeInterval = model.Duration(cfg.ScrapeInterval)
	pc.Global.ScrapeTimeout = model.Duration(cfg.ScrapeInterval)
	pc.Global.EvaluationInterval = model.Duration(cfg.EvalInterval)

	rules := map[string][]byte{}
	for _, f := range cfg.RuleFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("rule file: %w", err)
		}
		rules[fmt.Sprintf("%02d-%s", len(rules), filepath.Base(f))] = data
	}
	for name, data := range cfg.Rules {
		rules[fmt.Sprintf("%02d-%s", len(rules), filepath.Base(name))] = data
	}
	for name, data := range rules {
		if cfg.MaxFor > 0 {
			var err error
			if data, err = CapFor(data, cfg.MaxFor); err != nil {
				return "", fmt.Errorf("rule file %s: %w", name, err)
			}
		}
		p := filepath.Join(rulesDir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", err
		}
		pc.RuleFiles = append(pc.RuleFiles, p)
	}
	sort.Strings(pc.RuleFiles)

	sc := scrapeConfig{JobName: cfg.JobName, MetricsPath: cfg.MetricsPath}
	if len(cfg.Targets) > 0 {
		sc.StaticConfigs = []staticConfig{{Targets: cfg.Targets, Labels: cfg.Labels}}
	}
	pc.ScrapeConfigs = []scrapeConfig{sc}
	if len(cfg.Alertmanagers) > 0 {
		pc.Alerting = &alertingConfig{Alertmanagers: []amTargets{{StaticConfigs: []staticConfig{{Targets: cfg.Alertmanagers}}}}}
	}

	data, err := yaml.Marshal(&pc)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "prometheus.yml")
	return p, os.WriteFile(p, data, 0o644)
}

// CapFor returns a rule file with every `for:` longer than max set to max,
// everything else unchanged.
func CapFor(rules []byte, max time.Duration) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(rules, &root); err != nil {
		return nil, err
	}
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "for" && v.Kind == yaml.ScalarNode {
					d, err := model.ParseDuration(v.Value)
					if err != nil {
						return fmt.Errorf("line %d: for %q: %w", v.Line, v.Value, err)
					}
					if time.Duration(d) > max {
						v.Value = model.Duration(max).String()
					}
				}
			}
		}
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(&root); err != nil {
		return nil, err
	}
	return yaml.Marshal(&root)
}

// freeAddress returns 127.0.0.1 with a port that was free a moment ago.
func freeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port for prometheus: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
