package trace

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// Hop is one TTL of a path. A hop that did not answer has no Address.
type Hop struct {
	TTL      int
	Address  netip.Addr
	RTT      time.Duration
	Kind     ReplyKind
	ICMPType int
	ICMPCode int
	MPLS     []MPLSLabel
	// Link is the Direct Connect link whose Amazon or customer address
	// this hop is, "" for any other hop.
	Link string
}

// MarshalJSON writes the hop with the RTT in seconds and a missing hop's
// address as "*".
func (h Hop) MarshalJSON() ([]byte, error) {
	type hop struct {
		TTL      int         `json:"ttl"`
		Address  string      `json:"address"`
		RTT      float64     `json:"rtt_seconds,omitempty"`
		Reply    string      `json:"reply,omitempty"`
		ICMPType *int        `json:"icmp_type,omitempty"`
		ICMPCode *int        `json:"icmp_code,omitempty"`
		MPLS     []MPLSLabel `json:"mpls,omitempty"`
		Link     string      `json:"link,omitempty"`
	}
	j := hop{TTL: h.TTL, Address: "*", MPLS: h.MPLS, Link: h.Link}
	if h.Address.IsValid() {
		j.Address = h.Address.String()
		j.RTT = h.RTT.Seconds()
		j.Reply = h.Kind.String()
		if h.Kind != KindTCP {
			j.ICMPType, j.ICMPCode = &h.ICMPType, &h.ICMPCode
		}
	}
	return json.Marshal(j)
}

// FlowPath is one distinct path found by ECMP discovery and the flows
// (0 = the main flow) that took it.
type FlowPath struct {
	Flows   []int    `json:"flows"`
	Reached bool     `json:"reached"`
	Hops    []Hop    `json:"hops"`
	Links   []string `json:"links"`
}

// Path is the latest trace of one target.
type Path struct {
	Target   string        `json:"target"`
	Host     string        `json:"host"`
	Address  netip.Addr    `json:"address"`
	Method   string        `json:"method"`
	Time     time.Time     `json:"time"`
	Duration time.Duration `json:"-"`
	Reached  bool          `json:"reached"`
	// Hops is the main flow's path, TTL 1 first.
	Hops []Hop `json:"hops"`
	// Links are the Direct Connect links crossed by any flow, sorted.
	Links []string `json:"links"`
	// Result is "via <link>", "both" (more than one link) or "unknown"
	// (no Direct Connect hop seen).
	Result string `json:"result"`
	// Changed says the path differs from the previous trace's.
	Changed bool `json:"changed"`
	// Changes counts path changes of this target since the probe started.
	Changes uint64 `json:"changes"`
	// Flows holds the distinct paths found by ECMP discovery (empty when
	// it is off).
	Flows []FlowPath `json:"flows,omitempty"`
	// Error says why the trace could not run; the other fields are then
	// those of a trace that saw nothing.
	Error string `json:"error,omitempty"`

	// probes and deepest are what the trace cost: the probes sent (ECMP
	// flows included) and the highest TTL any of them carried. The debug
	// log and the lab test read them.
	probes, deepest int
}

// MarshalJSON adds the duration in seconds.
func (p Path) MarshalJSON() ([]byte, error) {
	type path Path
	return json.Marshal(struct {
		path
		Duration float64 `json:"duration_seconds"`
	}{path(p), p.Duration.Seconds()})
}

// attribute sets each hop's Link and returns the sorted links crossed. A
// hop names a link by a peer address of any of its peerings: a trace of an
// IPv6 target meets the Amazon (or customer) address of the link's IPv6
// peering, a trace of an IPv4 target that of its IPv4 peering.
func attribute(site probes.Site, hops []Hop) []string {
	var links []string
	for i := range hops {
		if !hops[i].Address.IsValid() {
			continue
		}
		if l, _, ok := site.PeeringByAddress(hops[i].Address); ok {
			hops[i].Link = l.Name
			if !slices.Contains(links, l.Name) {
				links = append(links, l.Name)
			}
		}
	}
	slices.Sort(links)
	return links
}

// result names the links crossed the way the status page and checks say it.
func result(links []string) string {
	switch len(links) {
	case 0:
		return "unknown"
	case 1:
		return "via " + links[0]
	}
	return "both"
}

// signature identifies a path by its hop addresses, "*" for silent hops.
func signature(hops []Hop, reached bool) string {
	var b strings.Builder
	for _, h := range hops {
		if h.Address.IsValid() {
			b.WriteString(h.Address.String())
		} else {
			b.WriteByte('*')
		}
		b.WriteByte(' ')
	}
	if !reached {
		b.WriteString("unreached")
	}
	return b.String()
}

// changed tells whether cur differs from prev in a way that a lost reply
// cannot explain: another hop at a TTL where both traces have one, another
// distance to a destination both reached, reaching or not, or other links
// when neither trace has a silent hop (a silent Direct Connect hop drops its
// link from the set without the path changing).
func changed(prev, cur *Path) bool {
	if prev == nil {
		return false
	}
	if prev.Reached != cur.Reached || (prev.Reached && len(prev.Hops) != len(cur.Hops)) {
		return true
	}
	for i := 0; i < len(prev.Hops) && i < len(cur.Hops); i++ {
		a, b := prev.Hops[i].Address, cur.Hops[i].Address
		if a.IsValid() && b.IsValid() && a != b {
			return true
		}
	}
	return !slices.Equal(prev.Links, cur.Links) && !silent(prev) && !silent(cur)
}

// silent tells whether some hop of p's flows did not answer.
func silent(p *Path) bool {
	has := func(hops []Hop) bool {
		return slices.ContainsFunc(hops, func(h Hop) bool { return !h.Address.IsValid() })
	}
	if has(p.Hops) {
		return true
	}
	for _, f := range p.Flows {
		if has(f.Hops) {
			return true
		}
	}
	return false
}

// fill returns cur with its silent hops filled from ref (a path cur did not
// change from), for comparing the next trace with: a reply lost in this
// trace must not hide a change in the next.
func fill(ref, cur *Path) *Path {
	if ref == nil || !silent(cur) {
		return cur
	}
	out := *cur
	out.Hops = slices.Clone(cur.Hops)
	out.Links = slices.Clone(cur.Links)
	for i := range out.Hops {
		if !out.Hops[i].Address.IsValid() && i < len(ref.Hops) {
			out.Hops[i] = ref.Hops[i]
			if l := out.Hops[i].Link; l != "" && !slices.Contains(out.Links, l) {
				out.Links = append(out.Links, l)
			}
		}
	}
	slices.Sort(out.Links)
	return &out
}

// hopsSeen lists the hop addresses for a check's reason.
func hopsSeen(hops []Hop) string {
	if len(hops) == 0 {
		return "none"
	}
	parts := make([]string, len(hops))
	for i, h := range hops {
		parts[i] = "*"
		if h.Address.IsValid() {
			parts[i] = h.Address.String()
		}
	}
	return strings.Join(parts, " ")
}
