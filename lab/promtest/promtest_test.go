package promtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// exporter is a tiny /metrics on 127.0.0.1 whose primary link can be cut
// and restored.
type exporter struct {
	primaryUp atomic.Bool
}

func (e *exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up := 0
	if e.primaryUp.Load() {
		up = 1
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, `# HELP dxwatch_link_up Fused health of a link.
# TYPE dxwatch_link_up gauge
dxwatch_link_up{link="primary"} %d
dxwatch_link_up{link="secondary"} 1
# HELP dxwatch_failovers_total Active-link changes.
# TYPE dxwatch_failovers_total counter
dxwatch_failovers_total{from="primary",to="secondary"} 1
`, up)
}

// TestAlertsFireAndResolve runs the real Prometheus with the shipped rules
// (hold times capped at 1 s) against the exporter: with the primary down,
// DirectConnectLinkDown and DirectConnectFailover fire with the site label;
// after the restore DirectConnectLinkDown resolves.
func TestAlertsFireAndResolve(t *testing.T) {
	exp := &exporter{}
	srv := httptest.NewServer(exp) // listens on 127.0.0.1
	t.Cleanup(srv.Close)

	p := ForTest(t, Config{
		Targets:   []string{strings.TrimPrefix(srv.URL, "http://")},
		Labels:    map[string]string{"site": "lab"},
		RuleFiles: []string{"../../dashboards/alerts.yaml"},
		MaxFor:    time.Second,
		Lifetime:  2 * time.Minute,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	if _, err := p.WaitForQuery(ctx, `up{job="dxwatch",site="lab"} == 1`); err != nil {
		t.Fatal(err)
	}
	a, err := p.WaitForAlert(ctx, "DirectConnectLinkDown", "firing", map[string]string{"link": "primary", "site": "lab"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.Annotations["summary"], "Direct Connect link primary is down at lab"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if _, err := p.WaitForAlert(ctx, "DirectConnectFailover", "firing", map[string]string{"from": "primary", "to": "secondary", "site": "lab"}); err != nil {
		t.Fatal(err)
	}
	as, err := p.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := FindAlert(as, "DirectConnectLinkDown", "", map[string]string{"link": "secondary"}); ok {
		t.Errorf("the secondary, up, has a link-down alert: %s", summary(as))
	}

	exp.primaryUp.Store(true)
	if err := p.WaitForNoAlert(ctx, "DirectConnectLinkDown", map[string]string{"link": "primary"}); err != nil {
		t.Fatal(err)
	}

	p.Stop()
	select {
	case <-p.Done():
	default:
		t.Error("Stop returned with prometheus still running")
	}
}

func TestStartWithoutBinary(t *testing.T) {
	_, err := Start(context.Background(), Config{Binary: "/nonexistent/prometheus"})
	if err == nil {
		t.Fatal("Start with a missing binary succeeded")
	}
}

func TestCapFor(t *testing.T) {
	in := []byte(`groups:
  - name: g
    rules:
      - alert: Long
        expr: up == 0
        for: 30m
      - alert: Short
        expr: up == 0
        for: 500ms
      - alert: None
        expr: up == 0
`)
	out, err := CapFor(in, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				For   string `yaml:"for"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(out, &rf); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rf.Groups[0].Rules {
		got[r.Alert] = r.For
	}
	want := map[string]string{"Long": "1s", "Short": "500ms", "None": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: for %q, want %q", k, got[k], v)
		}
	}
	if _, err := CapFor([]byte("groups: [{rules: [{alert: X, for: soon}]}]"), time.Second); err == nil {
		t.Error("a bad duration was accepted")
	}
}
