package drill

import (
	"context"
	"fmt"
	"time"

	"github.com/dxwatch/dxwatch/probes/aws"
)

// FailoverTestAPI is the part of the AWS probe a drill uses
// (*aws.Probe implements it).
type FailoverTestAPI interface {
	StartBgpFailoverTest(ctx context.Context, vif string, peers []string, duration time.Duration) (aws.FailoverTest, error)
	StopBgpFailoverTest(ctx context.Context, vif string) (aws.FailoverTest, error)
	ListVirtualInterfaceTestHistory(ctx context.Context, vif string) ([]aws.FailoverTest, error)
}

// AWSMethod fails the primary over with Direct Connect's BGP failover
// test: StartBgpFailoverTest brings the primary VIF's BGP sessions down for
// Duration (Direct Connect ends the test by itself then, should dxwatch
// die), StopBgpFailoverTest brings them back.
type AWSMethod struct {
	API FailoverTestAPI
	// VIF is the primary link's virtual interface.
	VIF string
	// Peers are the BGP peer IDs to bring down; empty: all of the VIF's.
	Peers []string
	// Duration bounds the test on AWS's side (whole minutes, 1m to 72h):
	// the drill's hold plus its timeouts, rounded up.
	Duration time.Duration
}

// Name implements Method.
func (m *AWSMethod) Name() string { return "aws" }

// Fail implements Method.
func (m *AWSMethod) Fail(ctx context.Context) (string, error) {
	t, err := m.API.StartBgpFailoverTest(ctx, m.VIF, m.Peers, m.Duration)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("StartBgpFailoverTest %s: test %s, %s, at most %s", m.VIF, t.TestID, t.Status, t.Duration), nil
}

// Restore implements Method.
func (m *AWSMethod) Restore(ctx context.Context) (string, error) {
	t, err := m.API.StopBgpFailoverTest(ctx, m.VIF)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("StopBgpFailoverTest %s: test %s, %s", m.VIF, t.TestID, t.Status), nil
}

// History implements Historian.
func (m *AWSMethod) History(ctx context.Context) ([]TestRecord, error) {
	ts, err := m.API.ListVirtualInterfaceTestHistory(ctx, m.VIF)
	if err != nil {
		return nil, err
	}
	out := make([]TestRecord, 0, len(ts))
	for _, t := range ts {
		out = append(out, TestRecord{TestID: t.TestID, VIF: t.VIF, Peers: t.Peers, Status: t.Status,
			Duration: t.Duration.Seconds(), Start: t.Start, End: t.End})
	}
	return out, nil
}

// FailoverTestDuration is the AWS test duration for a drill: hold plus both
// timeouts, in whole minutes, so that AWS ends the test even if dxwatch
// cannot.
func FailoverTestDuration(o Options) time.Duration {
	o.defaults()
	d := o.Hold + 2*o.Timeout
	if r := d % time.Minute; r != 0 {
		d += time.Minute - r
	}
	return min(max(d, time.Minute), aws.MaxFailoverTest)
}
