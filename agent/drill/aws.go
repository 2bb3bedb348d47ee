package drill

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/probes/aws"
)

// FailoverTestAPI is the part of the AWS probe a drill uses
// (*aws.Probe implements it).
type FailoverTestAPI interface {
	StartBgpFailoverTest(ctx context.Context, vif string, peers []string, duration time.Duration) (aws.FailoverTest, error)
	StopBgpFailoverTest(ctx context.Context, vif string) (aws.FailoverTest, error)
	ListVirtualInterfaceTestHistory(ctx context.Context, vif string) ([]aws.FailoverTest, error)
	// VIFPeers lists the VIF's BGP peers with their families.
	VIFPeers(ctx context.Context, vif string) ([]aws.BGPPeer, error)
}

// AWSMethod fails the primary over with Direct Connect's BGP failover
// test: StartBgpFailoverTest brings the primary VIF's BGP sessions down for
// Duration (Direct Connect ends the test by itself then, should dxwatch
// die), StopBgpFailoverTest brings them back.
type AWSMethod struct {
	API FailoverTestAPI
	// VIF is the primary link's virtual interface.
	VIF string
	// Peers are the BGP peer IDs to bring down; empty: those of Family.
	Peers []string
	// Family, when FamilyIPv4 or FamilyIPv6, holds down only the VIF's
	// peers of that family (a dual-stack VIF's IPv6 peering alone, say):
	// their IDs are read from the VIF and passed as StartBgpFailoverTest's
	// bgpPeers. Empty or FamilyBoth: every peer of the VIF.
	Family string
	// Duration bounds the test on AWS's side (whole minutes, 1m to 72h):
	// the drill's hold plus its timeouts, rounded up.
	Duration time.Duration
}

// Name implements Method.
func (m *AWSMethod) Name() string { return "aws" }

// Fail implements Method.
func (m *AWSMethod) Fail(ctx context.Context) (string, error) {
	peers := m.Peers
	if len(peers) == 0 && m.Family != "" && m.Family != FamilyBoth {
		all, err := m.API.VIFPeers(ctx, m.VIF)
		if err != nil {
			return "", err
		}
		var have []string
		for _, p := range all {
			if p.Family == m.Family {
				peers = append(peers, p.ID)
			}
			have = append(have, p.ID+" ("+p.Family+")")
		}
		if len(peers) == 0 {
			return "", fmt.Errorf("VIF %s has no %s BGP peer (its peers: %s): drill it with --family of a peering it has, or add the %s peering to the VIF",
				m.VIF, m.Family, orNone(have), m.Family)
		}
	}
	t, err := m.API.StartBgpFailoverTest(ctx, m.VIF, peers, m.Duration)
	if err != nil {
		return "", err
	}
	which := "every BGP peer"
	if len(t.Peers) > 0 {
		which = "BGP peers " + strings.Join(t.Peers, ", ")
	}
	if m.Family != "" && m.Family != FamilyBoth {
		which += " (" + m.Family + ")"
	}
	return fmt.Sprintf("StartBgpFailoverTest %s, %s: test %s, %s, at most %s", m.VIF, which, t.TestID, t.Status, t.Duration), nil
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
