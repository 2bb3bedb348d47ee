package probes

import "time"

// Readiness says whether one configured source of evidence has given its
// first complete picture: a BGP session established with its initial table
// in (End-of-RIB), a BMP router's initial dump done, a first AWS poll. A
// source that is not ready is not evidence of anything yet: what was not
// received may still be on its way.
type Readiness struct {
	Kind string `json:"kind"` // bgp, bmp, aws, ping, trace
	Name string `json:"name"` // the peer, router, target or probe
	// Ready is set once the source's first complete picture is in.
	Ready bool `json:"ready"`
	// State is the source's state in a word or two ("established",
	// "active", "polled"), stable while it lasts.
	State string `json:"state"`
	// Detail says what completes it or why it is not ready ("End-of-RIB",
	// "no End-of-RIB yet", the last error); stable while it lasts.
	Detail string `json:"detail,omitempty"`
	// Since is when the source entered State; zero when unknown.
	Since time.Time `json:"since,omitzero"`
}

// ReadinessReporter is implemented by probes that can say, per configured
// source, whether its first complete picture is in.
type ReadinessReporter interface {
	Readiness() []Readiness
}
