package probes

import (
	"net/netip"
	"time"
)

// ObservationKind says what an Observation reports.
type ObservationKind int

// The events probes report. Each names the Observation fields it sets.
const (
	// EchoReply: an echo reply arrived. Target, Link (set for a link-pinned
	// target: the link's Amazon address), Family (FamilyIPv6 for the
	// pinned target of a dual-stack link's IPv6 peering, else empty), Seq,
	// RTT.
	EchoReply ObservationKind = iota + 1
	// EchoLost: an echo passed its deadline unanswered. Target, Link,
	// Family, Seq; Count is the number of consecutive losses so far.
	EchoLost
	// PathTraced: a trace finished; Time is when its first probe was
	// sent, since the path is where the traffic went then. Target, Links (the links the path
	// crosses, sorted; empty when no Direct Connect hop was seen), Changed
	// (the path differs from the previous trace), Reached.
	PathTraced
	// BGPSession: a BGP session changed state. Without Link, the agent's
	// own session with an edge router (its route feed), Peer naming the
	// router. With Link, that link's Direct Connect session as an edge
	// router reports it over BMP, Peer naming the router (the other end is
	// the link's Amazon address); with Family too (FamilyIPv6), the
	// session of a dual-stack link's IPv6 peering. Up, Detail (why it is
	// down; empty when up).
	BGPSession
	// BGPPrefix: an expected prefix appeared on or left a link. Link,
	// Prefix, Up (present).
	BGPPrefix
	// BGPBestPath: the best path for an expected prefix moved. Prefix, Link
	// (the link of the new best path, "" when no path is left).
	BGPBestPath
	// AWSCheck: a check on AWS state was evaluated. Check, Link (when the
	// check belongs to one link), Family (when it is about one peering of
	// a dual-stack link: CheckResult.Family; empty when about the whole
	// link), Up (passed), Detail (reason).
	AWSCheck
)

// String returns the event's name as used in logs and JSON.
func (e ObservationKind) String() string {
	switch e {
	case EchoReply:
		return "echo_reply"
	case EchoLost:
		return "echo_lost"
	case PathTraced:
		return "path_traced"
	case BGPSession:
		return "bgp_session"
	case BGPPrefix:
		return "bgp_prefix"
	case BGPBestPath:
		return "bgp_best_path"
	case AWSCheck:
		return "aws_check"
	}
	return "unknown"
}

// Observation is one timestamped piece of evidence. Time is when the probe
// saw it happen (a reply's arrival, a deadline's passing, GoBGP's or BMP's
// timestamp), not when the health model receives it.
type Observation struct {
	Time    time.Time
	Event   ObservationKind
	Probe   string // the probe's name
	Target  string
	Link    string
	Family  string // a peering's address family, where the event is about one
	Links   []string
	Peer    string
	Prefix  netip.Prefix
	Check   string
	Up      bool
	Changed bool
	Reached bool
	Seq     int
	Count   int
	RTT     time.Duration
	Detail  string
}

// Observer receives observations. Observe must not block: an implementation
// queues or drops, and says so in its own metrics.
type Observer interface {
	Observe(Observation)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Observation)

// Observe calls f(o).
func (f ObserverFunc) Observe(o Observation) { f(o) }

// Discard is an Observer that drops every observation.
var Discard Observer = ObserverFunc(func(Observation) {})
