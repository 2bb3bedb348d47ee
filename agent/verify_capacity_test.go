package agent

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/probes"
)

// TestVerifyNamesCapacityShortfall is the acceptance of failover capacity:
// `dxwatch verify` against the fake, whose 500 Mbps hosted secondary could
// not carry the primary's 820 Mbps peak, fails the capacity check with its
// numbers and the fix.
func TestVerifyNamesCapacityShortfall(t *testing.T) {
	sc := awstest.WithLabMetrics(awstest.LabScenario(), awstest.MetricsPeakAboveSecondary, time.Now())
	rep, text := verifyAWS(t, sc, verifyConfig, "capacity.", "aws.cloudwatch.")
	var found bool
	for _, r := range rep.Results {
		if r.Name != "capacity.failover.primary.secondary" {
			continue
		}
		found = true
		// The series follow the clock: the exact peak moves a little.
		for _, want := range []string{`secondary \(500 Mbps\)`, `egress p95 8\d\d Mbps \(16\d%\), max 8\d\d Mbps \(1[67]\d%\)`, "last 7 days"} {
			if !regexp.MustCompile(want).MatchString(r.Reason) {
				t.Errorf("reason %q does not match %q", r.Reason, want)
			}
		}
		if r.Status != probes.Fail || !strings.Contains(r.Fix, "LAG") {
			t.Errorf("%s, fix %q: want a failure whose fix names a LAG", r.Status, r.Fix)
		}
	}
	if !found {
		t.Fatalf("no capacity check in:\n%s", text.String())
	}
	if rep.ExitCode() != 1 {
		t.Errorf("exit code %d, want 1", rep.ExitCode())
	}
	t.Logf("verify:\n%s", text.String())
}
