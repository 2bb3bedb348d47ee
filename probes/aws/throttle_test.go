package aws

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dxwatch/dxwatch/lab/awstest"
)

// throttlingFake serves the lab behind AWS-like rate limits: a burst of 3
// and 20 requests a second per account, region and service, beyond which
// every request is throttled.
func throttlingFake(t testing.TB) (*awstest.Server, string) {
	t.Helper()
	srv, url := fake(t, awstest.LabScenario())
	srv.SetRateLimit(&awstest.RateLimit{Rate: 20, Burst: 3})
	return srv, url
}

// TestThrottledPollCompletes: a poll that meets only throttling (the rate
// limit, a burst on top of it, an EC2 503 with Retry-After)
// completes within the 15 s a verify may take, the throttles counted.
// The SDK's adaptive mode waits for real (0.5 requests a second at worst
// after a throttle on a new client), so this test takes seconds.
func TestThrottledPollCompletes(t *testing.T) {
	t.Parallel()
	srv, url := throttlingFake(t)
	srv.Inject(awstest.Throttle("directconnect:ListVirtualInterfaceRoutes", 2))
	srv.Inject(awstest.Fault{Action: "ec2:DescribeVpcs", Times: 1, Status: 503, Code: "Unavailable", Message: "x", RetryAfter: "1"})
	cfg := labConfig()
	cfg.Timeout = 15 * time.Second
	p, logs := testProbe(t, cfg, labSite(), url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatalf("a throttled poll failed: %v\n%s", err, logs)
	}
	var throttled float64
	for _, a := range []string{"directconnect:ListVirtualInterfaceRoutes"} {
		throttled += testutil.ToFloat64(p.apiCalls.WithLabelValues(a, "throttled"))
	}
	if throttled < 2 {
		t.Errorf("%v throttled attempts counted, want at least the 2 injected", throttled)
	}
}

// BenchmarkVerifyThrottled measures a verify (one poll, with the
// production retry settings: adaptive mode, 8 attempts, backoff up to 4s,
// a 30s budget) against the fake rate-limited per account, region and
// service. ns/op is the time a verify takes; it must stay under 15 s.
func BenchmarkVerifyThrottled(b *testing.B) {
	for _, l := range []awstest.RateLimit{{Rate: 20, Burst: 3}, {Rate: 5, Burst: 2}} {
		b.Run(fmt.Sprintf("%grps-burst%d", l.Rate, l.Burst), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				srv, url := fake(b, awstest.LabScenario())
				srv.SetRateLimit(&l)
				p, logs := testProbe(b, labConfig(), labSite(), url)
				p.maxBackoff = 4 * time.Second
				p.cfg.Timeout = DefaultTimeout
				b.StartTimer()
				if err := p.Poll(context.Background()); err != nil {
					b.Fatalf("a throttled verify failed: %v\n%s", err, logs)
				}
				b.StopTimer()
				var throttled float64
				for _, a := range srv.Actions() {
					throttled += testutil.ToFloat64(p.apiCalls.WithLabelValues(a, "throttled"))
				}
				b.ReportMetric(throttled, "throttled/op")
				b.StartTimer()
			}
		})
	}
}
