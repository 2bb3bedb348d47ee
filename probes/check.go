package probes

import "time"

// CheckStatus is the verdict of one verification check.
type CheckStatus string

// Check verdicts. Skip means the check could not run (no credentials, no
// BGP peer configured); it is never counted as a pass.
const (
	Pass CheckStatus = "pass"
	Warn CheckStatus = "warn"
	Fail CheckStatus = "fail"
	Skip CheckStatus = "skip"
)

// CheckResult is one verification check as `dxwatch verify`, the status
// page and dxwatch_check_ok{check} show it. Name is stable and bounded
// (it becomes a label value): "aws.connection.primary.state",
// "bgp.intent.primary_preferred", "ping.target.app1". Reason says what was
// seen; Fix says exactly what to do (a console step or a CLI command) and is
// empty on a pass. Neither ever contains a secret.
type CheckResult struct {
	Name  string `json:"name"`
	Order int    `json:"order"` // position in the turn-up checklist (Getting Started order); lower first
	Link  string `json:"link,omitempty"`
	// Family is the address family of the peering the check is about
	// (FamilyIPv4, FamilyIPv6) on a dual-stack link; empty when it is
	// about the whole link, or the link has one peering.
	Family string      `json:"family,omitempty"`
	Status CheckStatus `json:"status"`
	Reason string      `json:"reason"`
	Fix    string      `json:"fix,omitempty"`
	// Because names the failing check this one follows from, when a
	// report (dxwatch verify, /api/checks) has traced it to a root cause.
	Because string    `json:"because,omitempty"`
	Time    time.Time `json:"time"`
}

// Checker is implemented by probes that evaluate verification checks. Checks
// returns the latest result of every check the probe evaluates, from its
// cached state (never a network call); before the first round it returns
// nothing.
type Checker interface {
	Checks() []CheckResult
}

// Checklist order: where each family of checks stands in the turn-up order
// of the Direct Connect Getting Started guide.
const (
	OrderConnection  = 100 // connections, acceptance, LOA
	OrderRedundancy  = 200
	OrderVIF         = 300 // virtual interfaces and their BGP peers
	OrderGateway     = 400 // DX gateway, associations, VGW attachment
	OrderPropagation = 500 // route tables
	OrderBGP         = 600 // routes per link, routing intent (from the edge routers)
	OrderPing        = 700
	OrderTrace       = 800
)

// SkippedPart is a part of the turn-up checklist that a configuration
// leaves out of a probe kind: verify lists it as a skipped check named
// Name, saying why and how to include it.
type SkippedPart struct{ Name, Reason, Fix string }

// FixNoTargets is how to give the probes that need VPC targets some.
const FixNoTargets = "add targets: the private addresses of instances in each VPC"
