package health

import (
	"encoding/json"
	"strconv"
	"time"
)

// State is the fused state of a link.
type State string

// Link states. Unknown means no fresh evidence at all: stale evidence never
// keeps a link up. Unverified means the link's own data plane cannot be
// told: its pinned echoes go unanswered, but their replies return over
// another link that is failing (AWS routes replies to on-prem by its own
// preference), so the losses say nothing about this link.
const (
	StateUnknown    State = "unknown"
	StateUp         State = "up"
	StateDegraded   State = "degraded"
	StateDown       State = "down"
	StateUnverified State = "unverified"
)

// states lists the states in the order of dxwatch_link_state's series.
var states = [...]State{StateUp, StateDegraded, StateDown, StateUnknown, StateUnverified}

// EventKind says what an Event records.
type EventKind string

// Event kinds.
const (
	// KindLinkState: a link changed state. Link, State, Previous, Reasons.
	KindLinkState EventKind = "link_state"
	// KindFailover: the site's active link changed. From, To, Direction,
	// Cause, the outage and the timeline.
	KindFailover EventKind = "failover"
	// KindOutage: traffic to the VPC targets stopped and came back on the
	// same link(s). From == To; the outage and the timeline.
	KindOutage EventKind = "outage"
)

// Directions of a failover.
const (
	DirectionFailover = "failover" // away from the primary, or from a link that carried the traffic
	DirectionFailback = "failback" // back to the primary, or (without one) to more links, losing none
	DirectionChange   = "change"   // neither: the same links (kept for events recorded before)
)

// Duration is a time.Duration that JSON encodes as seconds.
type Duration time.Duration

// MarshalJSON encodes d as a number of seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(d).Seconds(), 'f', -1, 64), nil
}

// UnmarshalJSON decodes a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*d = Duration(s * float64(time.Second))
	return nil
}

// Event is one entry of the model's history: a link state change, a
// failover or an outage. Fields that do not apply to the kind are empty.
type Event struct {
	ID   uint64    `json:"id"`
	Kind EventKind `json:"kind"`
	// Time is when the change happened: the time of the observation that
	// caused it (for a failover, when the active link first left From).
	Time time.Time `json:"time"`

	// Family is the address family the event is about: that of a
	// failover's or outage's traffic, and of a dual-stack link's peering
	// whose state changed. Empty for a link's state as a whole (a
	// dual-stack link's summary, or a link with one peering).
	Family string `json:"family,omitempty"`

	// Link state changes.
	Link     string   `json:"link,omitempty"`
	State    State    `json:"state,omitempty"`
	Previous State    `json:"previous,omitempty"`
	Reasons  []string `json:"reasons,omitempty"`

	// Failovers and outages.
	From      []string `json:"from,omitempty"`
	To        []string `json:"to,omitempty"`
	Direction string   `json:"direction,omitempty"`
	Cause     string   `json:"cause,omitempty"`
	// Started is the first trouble seen: the first lost echo (VPC target or
	// the old link's pinned target) or the old link's first bad evidence.
	Started *time.Time `json:"started,omitempty"`
	// Restored is when the last VPC target answered again.
	Restored *time.Time `json:"restored,omitempty"`
	// Measured is false when no VPC target was pinged: no outage figure.
	Measured bool `json:"measured"`
	// Complete is false when some VPC target had not answered again by
	// restore_timeout (or while the event is in progress).
	Complete bool `json:"complete"`
	// Outage is the longest time without connectivity among the VPC
	// targets: lost echoes × probe interval, that is the reply-to-reply
	// Gap less one interval.
	Outage Duration `json:"outage_seconds"`
	// Gap is the longest span between the last reply before and the first
	// reply after the interruption among the VPC targets.
	Gap      Duration       `json:"gap_seconds"`
	Targets  []TargetOutage `json:"targets,omitempty"`
	Timeline []TimelineStep `json:"timeline,omitempty"`
}

// MarshalJSON leaves the failover fields out of link state changes.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	if e.Kind != KindLinkState {
		return json.Marshal(plain(e))
	}
	return json.Marshal(struct {
		ID       uint64    `json:"id"`
		Kind     EventKind `json:"kind"`
		Time     time.Time `json:"time"`
		Family   string    `json:"family,omitempty"`
		Link     string    `json:"link"`
		State    State     `json:"state"`
		Previous State     `json:"previous"`
		Reasons  []string  `json:"reasons,omitempty"`
	}{e.ID, e.Kind, e.Time, e.Family, e.Link, e.State, e.Previous, e.Reasons})
}

// TargetOutage is the interruption one VPC target saw during a failover.
type TargetOutage struct {
	Target     string     `json:"target"`
	LastReply  *time.Time `json:"last_reply,omitempty"`  // last reply before
	FirstReply *time.Time `json:"first_reply,omitempty"` // first reply after
	Lost       int        `json:"lost"`
	Gap        Duration   `json:"gap_seconds"`
	Outage     Duration   `json:"outage_seconds"`
	Restored   bool       `json:"restored"`
}

// TimelineStep is one entry of a failover's timeline.
type TimelineStep struct {
	Time   time.Time `json:"time"`
	What   string    `json:"what"`
	Link   string    `json:"link,omitempty"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Timeline step names.
const (
	StepFirstLoss       = "first_loss"
	StepLinkState       = "link_state"
	StepSessionDown     = "bgp_session_down"
	StepSessionUp       = "bgp_session_up"
	StepPrefixWithdrawn = "bgp_prefix_withdrawn"
	StepPrefixRestored  = "bgp_prefix_restored"
	StepBestPath        = "bgp_best_path"
	StepPathChange      = "path_change"
	StepActiveChange    = "active_change"
	StepTrafficRestored = "traffic_restored"
	StepAWSCheck        = "aws_check"
)

// maxTimeline bounds a failover's timeline.
const maxTimeline = 32

// notesMax bounds the recent notable observations kept for timelines.
const notesMax = 256

// ring is a bounded history, oldest overwritten first.
type ring[T any] struct {
	buf  []T
	next int
	full bool
}

func newRing[T any](n int) ring[T] { return ring[T]{buf: make([]T, n)} }

func (r *ring[T]) add(v T) {
	r.buf[r.next] = v
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// each calls f from the oldest to the newest entry.
func (r *ring[T]) each(f func(*T)) {
	if r.full {
		for i := r.next; i < len(r.buf); i++ {
			f(&r.buf[i])
		}
	}
	for i := 0; i < r.next; i++ {
		f(&r.buf[i])
	}
}

func (r *ring[T]) len() int {
	if r.full {
		return len(r.buf)
	}
	return r.next
}
