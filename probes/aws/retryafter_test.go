package aws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/dxwatch/dxwatch/lab/awstest"
)

// TestRetryAfterHonoured: the SDK's retryer ignores a 503's Retry-After;
// the probe's retryer waits at least that long before the next attempt,
// and gives up at once when AWS asks for more than the poll's budget. The
// 503 comes from the fake over the wire to the real EC2 client; the delay
// is the one the client's own retryer computes for it (no clock is read).
func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		budget     time.Duration
		atLeast    time.Duration
		errHas     string
	}{
		{name: "seconds", retryAfter: "7", budget: 30 * time.Second, atLeast: 7 * time.Second},
		{name: "beyond the budget", retryAfter: "120", budget: 30 * time.Second, errHas: "beyond the poll's budget (aws.timeout 30s)"},
		{name: "none", budget: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, url := fake(t, awstest.LabScenario())
			srv.Inject(awstest.Fault{Action: "ec2:DescribeVpcs", Status: 503, Code: "Unavailable", Message: "busy", RetryAfter: tt.retryAfter})
			cfg := labConfig()
			cfg.Timeout = tt.budget
			p, _ := testProbe(t, cfg, labSite(), url)
			p.maxAttempts = 1 // the 503 itself, not retried here
			clients, err := p.accountClients(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			ac := clients[0]
			_, callErr := ac.ec2[awstest.LabRegion].DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
			if callErr == nil {
				t.Fatal("the injected 503 did not fail the call")
			}
			d, err := ac.aws.Retryer().RetryDelay(1, callErr)
			switch {
			case tt.errHas != "":
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("delay %s, error %v; want an error saying %q", d, err, tt.errHas)
				}
			case err != nil:
				t.Errorf("RetryDelay: %v", err)
			case tt.atLeast > 0 && d < tt.atLeast:
				t.Errorf("the retry waits %s, less than Retry-After %s", d, tt.atLeast)
			case tt.atLeast == 0 && d > p.maxBackoff:
				t.Errorf("without Retry-After the retry waits %s, more than the backoff's %s", d, p.maxBackoff)
			}
		})
	}
}
