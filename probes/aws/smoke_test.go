package aws

import (
	"context"
	"testing"

	"github.com/dxwatch/dxwatch/probes/aws/awstest"
)

func TestSmoke(t *testing.T) {
	srv, url := fake(t, awstest.LabScenario())
	p, logs := testProbe(t, labConfig(), labSite(), url)
	err := p.Poll(context.Background())
	t.Logf("err=%v\n%s\nlogs:\n%s\ncalls %v", err, dumpChecks(p.Checks()), logs, srv.Calls())
}
