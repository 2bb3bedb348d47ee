package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// seenActions collects every action any fake server of this test binary
// was asked for: TestMain checks that the policy grants each of them.
var seenActions sync.Map

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 {
		allowed, err := policyActions()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		allowed = append(allowed, DrillActions...)
		allowed = append(allowed, loaActions...)
		seenActions.Range(func(k, _ any) bool {
			if !slices.Contains(allowed, k.(string)) {
				fmt.Fprintf(os.Stderr, "FAIL: the code called %s, which deploy/iam-policy.json does not allow\n", k)
				code = 1
			}
			return true
		})
	}
	os.Exit(code)
}

// fixedNow is the clock of every test probe.
var fixedNow = time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)

// labSite is the site of the lab, as the agent would hand it to the probe.
func labSite() probes.Site { return labsite.Site() }

func labConfig() Config {
	c := DefaultConfig()
	c.Regions = []string{awstest.LabRegion}
	c.DXGatewayID = awstest.LabDXGateway
	c.CustomerASN = lab.OnPremASN
	c.Timeout = 5 * time.Second
	return c
}

// fake starts the fake AWS endpoint serving sc and records its actions.
func fake(t testing.TB, sc *awstest.Scenario) (*awstest.Server, string) {
	t.Helper()
	srv, url := awstest.Start(t, sc)
	srv.OnCall = func(a string) { seenActions.Store(a, true) }
	return srv, url
}

// testProbe builds a probe whose SDK clients talk to url with the lab's
// static credentials (or accessKey when given), a fixed clock and
// millisecond backoffs. Its log goes to the returned buffer.
func testProbe(t testing.TB, cfg Config, site probes.Site, url string, accessKey ...string) (*Probe, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	p, err := New("aws", cfg, probes.Deps{Site: site, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	key := awstest.LabAccessKey
	if len(accessKey) > 0 {
		key = accessKey[0]
	}
	p.loadConfig = func(ctx context.Context, region string) (awssdk.Config, error) {
		return awssdk.Config{
			Region:       region,
			Credentials:  credentials.NewStaticCredentialsProvider(key, awstest.LabSecretKey, ""),
			BaseEndpoint: awssdk.String(url),
		}, nil
	}
	p.now = func() time.Time { return fixedNow }
	p.maxBackoff = time.Millisecond
	t.Cleanup(p.transport.CloseIdleConnections)
	return p, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// checksByName indexes checks.
func checksByName(cs []probes.CheckResult) map[string]probes.CheckResult {
	m := map[string]probes.CheckResult{}
	for _, c := range cs {
		m[c.Name] = c
	}
	return m
}

func dumpChecks(cs []probes.CheckResult) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%-50s %-4s %s", c.Name, c.Status, c.Reason)
		if c.Fix != "" {
			fmt.Fprintf(&b, "\n%50s fix: %s", "", c.Fix)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// policyActions reads the actions deploy/iam-policy.json allows.
func policyActions() ([]string, error) {
	b, err := os.ReadFile("../../deploy/iam-policy.json")
	if err != nil {
		return nil, err
	}
	var pol struct {
		Version   string
		Statement []struct {
			Sid      string
			Effect   string
			Action   []string
			Resource any
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pol); err != nil {
		return nil, fmt.Errorf("deploy/iam-policy.json: %w", err)
	}
	set := map[string]bool{}
	for _, s := range pol.Statement {
		if s.Effect != "Allow" {
			return nil, fmt.Errorf("deploy/iam-policy.json: statement %s is not Allow", s.Sid)
		}
		for _, a := range s.Action {
			set[a] = true
		}
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// lintMetrics runs Prometheus's metric lint over what p exports; only the
// families named in baseUnitExempt may break the base-unit rule.
func lintMetrics(t *testing.T, p *Probe, baseUnitExempt ...string) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(p)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		if slices.Contains(baseUnitExempt, pr.Metric) && strings.Contains(pr.Text, "base unit") {
			continue
		}
		t.Errorf("lint: %s: %s", pr.Metric, pr.Text)
	}
}
