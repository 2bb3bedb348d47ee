package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/directconnect"
	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// DrillActions are the IAM actions the failover-test API below needs on top
// of deploy/iam-policy.json (which is read-only and does not grant them).
var DrillActions = []string{
	"directconnect:StartBgpFailoverTest",
	"directconnect:StopBgpFailoverTest",
	"directconnect:ListVirtualInterfaceTestHistory",
}

// FailoverTest is one BGP failover test of a virtual interface, as Direct
// Connect records it.
type FailoverTest struct {
	TestID       string
	VIF          string
	Peers        []string // BGP peer IDs held down
	Status       string   // in_progress, completed, failed
	OwnerAccount string
	Duration     time.Duration
	Start, End   time.Time // End is zero while the test runs
}

// ErrNotOwner is returned when the VIF belongs to another account than the
// credentials that found it (a hosted VIF seen from the partner's account):
// only the VIF's owner may test it.
var ErrNotOwner = errors.New("the virtual interface is owned by another account")

// MaxFailoverTest is the longest test Direct Connect allows.
const MaxFailoverTest = 72 * time.Hour

// BGPPeer is one BGP peering of a virtual interface, as the failover test
// names it (API reference, BGPPeer: bgpPeerId, addressFamily).
type BGPPeer struct {
	ID     string
	Family string // ipv4 or ipv6 (probes.FamilyIPv4, probes.FamilyIPv6)
	State  string // bgpPeerState
	Status string // bgpStatus
}

// VIFPeers returns the VIF's BGP peers (DescribeVirtualInterfaces), after
// checking that the caller owns the VIF: the IDs StartBgpFailoverTest
// takes to hold down one family's sessions only.
func (p *Probe) VIFPeers(ctx context.Context, vif string) ([]BGPPeer, error) {
	_, v, err := p.ownedVIF(ctx, vif)
	if err != nil {
		return nil, fmt.Errorf("bgp peers of %s: %w", vif, err)
	}
	var out []BGPPeer
	for _, bp := range v.BgpPeers {
		out = append(out, BGPPeer{ID: deref(bp.BgpPeerId), Family: peerFamily(bp), State: string(bp.BgpPeerState), Status: string(bp.BgpStatus)})
	}
	return out, nil
}

// StartBgpFailoverTest brings down the BGP sessions of the VIF's peers (all
// when peers is empty) for duration (whole minutes, 1 minute to 72 hours),
// after checking that the caller owns the VIF. An ID that is not one of
// the VIF's peers is refused by AWS (a DirectConnectClientException, "one
// or more parameters are not valid": API reference, StartBgpFailoverTest,
// https://docs.aws.amazon.com/directconnect/latest/APIReference/API_StartBgpFailoverTest.html).
func (p *Probe) StartBgpFailoverTest(ctx context.Context, vif string, peers []string, duration time.Duration) (FailoverTest, error) {
	if duration < time.Minute || duration > MaxFailoverTest || duration%time.Minute != 0 {
		return FailoverTest{}, fmt.Errorf("start bgp failover test on %s: duration %s: use whole minutes from 1m to 72h", vif, duration)
	}
	dx, _, err := p.ownedVIF(ctx, vif)
	if err != nil {
		return FailoverTest{}, fmt.Errorf("start bgp failover test on %s: %w", vif, err)
	}
	minutes := int32(duration / time.Minute)
	out, err := dx.StartBgpFailoverTest(ctx, &directconnect.StartBgpFailoverTestInput{
		VirtualInterfaceId: &vif, BgpPeers: peers, TestDurationInMinutes: &minutes,
	})
	if err != nil {
		return FailoverTest{}, fmt.Errorf("start bgp failover test on %s: %w", vif, withDenied(err, "directconnect:StartBgpFailoverTest"))
	}
	return failoverTest(out.VirtualInterfaceTest), nil
}

// StopBgpFailoverTest ends the running failover test of the VIF and
// restores its BGP sessions.
func (p *Probe) StopBgpFailoverTest(ctx context.Context, vif string) (FailoverTest, error) {
	dx, _, err := p.ownedVIF(ctx, vif)
	if err != nil {
		return FailoverTest{}, fmt.Errorf("stop bgp failover test on %s: %w", vif, err)
	}
	out, err := dx.StopBgpFailoverTest(ctx, &directconnect.StopBgpFailoverTestInput{VirtualInterfaceId: &vif})
	if err != nil {
		return FailoverTest{}, fmt.Errorf("stop bgp failover test on %s: %w", vif, withDenied(err, "directconnect:StopBgpFailoverTest"))
	}
	return failoverTest(out.VirtualInterfaceTest), nil
}

// ListVirtualInterfaceTestHistory returns the VIF's failover tests.
func (p *Probe) ListVirtualInterfaceTestHistory(ctx context.Context, vif string) ([]FailoverTest, error) {
	dx, _, err := p.ownedVIF(ctx, vif)
	if err != nil {
		return nil, fmt.Errorf("list failover tests of %s: %w", vif, err)
	}
	var tests []FailoverTest
	var token *string
	for range maxPages {
		out, err := dx.ListVirtualInterfaceTestHistory(ctx, &directconnect.ListVirtualInterfaceTestHistoryInput{
			VirtualInterfaceId: &vif, NextToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list failover tests of %s: %w", vif, withDenied(err, "directconnect:ListVirtualInterfaceTestHistory"))
		}
		for i := range out.VirtualInterfaceTestHistory {
			tests = append(tests, failoverTest(&out.VirtualInterfaceTestHistory[i]))
		}
		if deref(out.NextToken) == "" {
			return tests, nil
		}
		token = out.NextToken
	}
	return tests, fmt.Errorf("list failover tests of %s: more than %d pages", vif, maxPages)
}

// ownedVIF finds the account and region where the VIF is visible and
// returns that Direct Connect client and the VIF when the account owns it.
func (p *Probe) ownedVIF(ctx context.Context, vif string) (*directconnect.Client, *dxtypes.VirtualInterface, error) {
	clients, err := p.accountClients(ctx)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, ac := range clients {
		for _, r := range p.cfg.Regions {
			cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
			out, err := ac.dx[r].DescribeVirtualInterfaces(cctx, &directconnect.DescribeVirtualInterfacesInput{VirtualInterfaceId: &vif})
			cancel()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: %w", ac.cfg.Name, r, withDenied(err, "directconnect:DescribeVirtualInterfaces")))
				continue
			}
			var found *dxtypes.VirtualInterface
			for i := range out.VirtualInterfaces {
				if deref(out.VirtualInterfaces[i].VirtualInterfaceId) == vif {
					found = &out.VirtualInterfaces[i]
				}
			}
			if found == nil {
				continue
			}
			cctx, cancel = context.WithTimeout(ctx, p.cfg.Timeout)
			id, err := ac.sts.GetCallerIdentity(cctx, &sts.GetCallerIdentityInput{})
			cancel()
			if err != nil {
				return nil, nil, fmt.Errorf("who owns the credentials of account %s: %w", ac.cfg.Name, err)
			}
			if owner := deref(found.OwnerAccount); owner != deref(id.Account) {
				return nil, nil, fmt.Errorf("%w: %s belongs to account %s, the credentials of %s are %s in account %s: run the test with the VIF owner's credentials",
					ErrNotOwner, vif, owner, ac.cfg.Name, deref(id.Arn), deref(id.Account))
			}
			return ac.dx[r], found, nil
		}
	}
	return nil, nil, fmt.Errorf("VIF not found in %d account/regions: %w", len(clients)*len(p.cfg.Regions), errors.Join(append(errs, errNotFound)...))
}

// withDenied adds the denied IAM action to an access-denied error.
func withDenied(err error, action string) error {
	switch classify(err) {
	case kindDenied:
		return fmt.Errorf("access denied: allow %s for these credentials: %w", action, err)
	case kindAuth:
		if assumeRoleFailed(err) {
			return fmt.Errorf("access denied: allow sts:AssumeRole for these credentials: %w", err)
		}
	}
	return err
}

func failoverTest(t *dxtypes.VirtualInterfaceTestHistory) FailoverTest {
	if t == nil {
		return FailoverTest{}
	}
	return FailoverTest{
		TestID: deref(t.TestId), VIF: deref(t.VirtualInterfaceId), Peers: t.BgpPeers,
		Status: deref(t.Status), OwnerAccount: deref(t.OwnerAccount),
		Duration: time.Duration(deref(t.TestDurationInMinutes)) * time.Minute,
		Start:    deref(t.StartTime), End: deref(t.EndTime),
	}
}
