package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/history"
	"github.com/dxwatch/dxwatch/probes"
)

// Input is what a report is built from.
type Input struct {
	Site        probes.Site
	DXGatewayID string // from the aws section, when configured
	Config      Config
	// From and To bound the range, To excluded.
	From, To time.Time
	// Now is when the report is made: time after it is not reported (the
	// month so far). Zero means To.
	Now time.Time
	// Records are the ledger's records (history.ReadLedger), in time order.
	Records []history.Record
	// Skipped counts ledger lines that did not decode.
	Skipped int
}

// Report is the month (or range) on record.
type Report struct {
	Site string    `json:"site"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// End is where the report stops: To, or the time it was made when
	// that is earlier (the month so far).
	End           time.Time `json:"end"`
	TargetPercent float64   `json:"target_percent"`
	DXGatewayID   string    `json:"dx_gateway_id,omitempty"`
	SiteTotals    Totals    `json:"site_availability"`
	Links         []Totals  `json:"links"`
	// Peerings are the rows of each dual-stack link's peerings (IPv4 and
	// IPv6), judged each on its own; absent on a single-family site.
	Peerings     []Totals    `json:"peerings,omitempty"`
	Incidents    []Incident  `json:"incidents"`
	Exclusions   []Exclusion `json:"exclusions"`
	SkippedLines int         `json:"ledger_lines_skipped"`
	Notes        []string    `json:"notes,omitempty"`
}

// Totals is one scope's (a link's, a peering's or the site's) time per
// category and its availability.
type Totals struct {
	// Name is the link's, SiteScope, or a peering's "link/family" (as the
	// ledger's history.PeeringKey), with Link and Family set.
	Name         string `json:"name"`
	Link         string `json:"link,omitempty"`
	Family       string `json:"family,omitempty"`
	ConnectionID string `json:"connection_id,omitempty"`
	VIFID        string `json:"vif_id,omitempty"`
	// Seconds per category, exact to the nanosecond.
	Up          Seconds `json:"up_seconds"`
	Down        Seconds `json:"down_seconds"`
	NotObserved Seconds `json:"not_observed_seconds"`
	Drill       Seconds `json:"drill_seconds"`
	Maintenance Seconds `json:"maintenance_seconds"`
	// Percent is up / (up + down): availability over the observed time
	// that is not excluded; nil when nothing was observed.
	Percent *float64 `json:"availability_percent"`
	// LowerBound is up / (up + down + not observed): availability if every
	// second not observed had been down.
	LowerBound *float64 `json:"availability_lower_bound_percent"`
	// Met says whether Percent reaches the target (the site only).
	Met *bool `json:"target_met,omitempty"`
	// Allowed is the downtime the target allows over up + down + not
	// observed (the site only).
	Allowed   *Seconds `json:"downtime_allowed_seconds,omitempty"`
	Incidents int      `json:"incidents"`
}

// Seconds is a duration that JSON encodes as seconds.
type Seconds = health.Duration

// Incident is one window in which a link or the site was down.
type Incident struct {
	// Scope is LinkScope, PeeringScope or SiteScope; Link names the link
	// (empty for the site), Family the peering's address family
	// (probes.FamilyIPv4, FamilyIPv6) of a peering's incident: one address
	// family of a dual-stack link down while its link as a whole was not.
	Scope  string    `json:"scope"`
	Link   string    `json:"link,omitempty"`
	Family string    `json:"family,omitempty"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Duration is End − Start; Down the time seen down within it;
	// NotObserved the time within it dxwatch did not see (a restart in
	// the middle of the outage).
	Duration    Seconds `json:"duration_seconds"`
	Down        Seconds `json:"down_seconds"`
	NotObserved Seconds `json:"not_observed_seconds"`
	// Ongoing: still down when the report ends.
	Ongoing bool `json:"ongoing"`
	// LinkUp and LinkDown, of a peering's incident: how long its link as
	// a whole was up (on its other peering: degraded) and down within it.
	LinkUp   *Seconds `json:"link_up_seconds,omitempty"`
	LinkDown *Seconds `json:"link_down_seconds,omitempty"`
	// Resources are the Direct Connect resources involved.
	ConnectionIDs []string `json:"connection_ids,omitempty"`
	VIFIDs        []string `json:"vif_ids,omitempty"`
	DXGatewayID   string   `json:"dx_gateway_id,omitempty"`
	// Cause is the cause dxwatch gave when the link went down.
	Cause string `json:"cause"`
	// Side is where the evidence points: SideEdge, SideDX or
	// SideUndetermined; SideWhy says why.
	Side    string `json:"side"`
	SideWhy string `json:"side_why"`
	// Records are the down transitions recorded within the incident
	// (more than one after a restart mid-outage), each with its evidence.
	Records []Transition `json:"records"`
}

// Transition is one recorded change of a link (or of one of its
// peerings: Family) to down.
type Transition struct {
	Time     time.Time         `json:"time"`
	Link     string            `json:"link"`
	Family   string            `json:"family,omitempty"`
	Cause    string            `json:"cause"`
	Evidence *history.Evidence `json:"evidence,omitempty"`
}

// Sides the evidence can point to.
const (
	SideEdge         = "on-prem edge"
	SideDX           = "Direct Connect link or AWS"
	SideUndetermined = "undetermined"
)

// Exclusion is time left out of availability, listed apart.
type Exclusion struct {
	Kind     Category  `json:"kind"`
	Scope    string    `json:"scope"` // "site", a link's name or a peering's "link/family"
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Duration Seconds   `json:"duration_seconds"`
	Reason   string    `json:"reason"`
}

// SiteScope names the site in Exclusion.Scope and Incident.Scope;
// LinkScope and PeeringScope are the Incident.Scope of a link's and a
// peering's incidents.
const (
	SiteScope    = "site"
	LinkScope    = "link"
	PeeringScope = "peering"
)

// Build makes the report of in.
func Build(in Input) (*Report, error) {
	if !in.To.After(in.From) {
		return nil, fmt.Errorf("report: the range ends (%s) before it starts (%s)", in.To.UTC().Format(time.RFC3339), in.From.UTC().Format(time.RFC3339))
	}
	if in.Config.TargetPercent == 0 {
		in.Config.TargetPercent = DefaultTargetPercent
	}
	end := in.To
	if !in.Now.IsZero() && in.Now.Before(end) {
		end = in.Now
	}
	if end.Before(in.From) {
		end = in.From
	}
	r := &Report{Site: in.Site.Name, From: in.From.UTC(), To: in.To.UTC(), End: end.UTC(), TargetPercent: in.Config.TargetPercent,
		DXGatewayID: in.DXGatewayID, Incidents: []Incident{}, Exclusions: []Exclusion{}, SkippedLines: in.Skipped}
	if in.Skipped > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d line(s) of the ledger did not decode (a torn write at power loss) and were skipped; the time they covered reads as not observed", in.Skipped))
	}
	var names []string
	for _, l := range in.Site.Links {
		names = append(names, l.Name)
	}
	spans := sweep(in.Records, names, false, in.From, end)
	wins := drillWindows(in.Records)
	for _, m := range in.Config.Maintenance {
		wins = append(wins, window{kind: Maintenance, from: m.From.Time, to: m.To.Time, links: m.Links, reason: m.Reason})
	}
	linkExcl := map[Exclusion]bool{} // the links' exclusions (unscoped)
	linkPieces := map[string][]piece{}
	for scope := 0; scope <= len(names); scope++ {
		t := Totals{Name: SiteScope}
		links := in.Site.Links
		if scope < len(names) {
			l := in.Site.Links[scope]
			t = Totals{Name: l.Name, ConnectionID: l.ConnectionID, VIFID: l.VIFID}
			links = links[scope : scope+1]
		}
		pieces := paint(spans, scope, names, wins)
		linkPieces[t.Name] = pieces
		for _, e := range r.tally(&t, pieces) {
			r.Exclusions = append(r.Exclusions, e)
			linkExcl[unscoped(e, t.Name)] = true
		}
		incs := incidents(pieces)
		t.Incidents = len(incs)
		if scope == len(names) {
			if t.Percent != nil {
				t.Met = ptr(*t.Percent >= in.Config.TargetPercent)
			}
			t.Allowed = ptr(Seconds(float64(t.Up+t.Down+t.NotObserved) * (100 - in.Config.TargetPercent) / 100))
			r.SiteTotals = t
		} else {
			r.Links = append(r.Links, t)
		}
		for _, inc := range incs {
			inc.Scope = t.Name
			r.Incidents = append(r.Incidents, r.describe(inc, links, "", in))
		}
	}
	r.peerings(in, end, wins, linkExcl, linkPieces)
	sortIncidents(r.Incidents)
	sort.SliceStable(r.Exclusions, func(i, j int) bool {
		a, b := r.Exclusions[i], r.Exclusions[j]
		if !a.From.Equal(b.From) {
			return a.From.Before(b.From)
		}
		return a.Scope == SiteScope && b.Scope != SiteScope
	})
	return r, nil
}

// tally adds up one scope's pieces into t (its seconds per category,
// availability and lower bound) and returns its excluded time.
func (r *Report) tally(t *Totals, pieces []piece) []Exclusion {
	var excl []Exclusion
	for _, p := range pieces {
		d := Seconds(p.to.Sub(p.from))
		switch p.cat {
		case Up:
			t.Up += d
		case Down:
			t.Down += d
		case NotObserved:
			t.NotObserved += d
		case Drill:
			t.Drill += d
		case Maintenance:
			t.Maintenance += d
		}
		if p.cat != Up && p.cat != Down {
			excl = append(excl, Exclusion{Kind: p.cat, Scope: t.Name, From: p.from.UTC(), To: p.to.UTC(), Duration: d, Reason: exclusionReason(p)})
		}
	}
	if obs := t.Up + t.Down; obs > 0 {
		t.Percent = ptr(100 * float64(t.Up) / float64(obs))
		t.LowerBound = ptr(100 * float64(t.Up) / float64(obs+t.NotObserved))
	}
	return excl
}

// peerings adds the rows of each dual-stack link's peerings, from the
// link records with a family and the records' peering states, by the
// same timeline as the links'. A peering's excluded time is listed
// where it differs from its link's. Its incidents are listed when the
// peering was down for a second or more while its link as a whole was
// not (the report's resolution): when both peerings went down together
// (a carrier cut), the link's incident says it once. The site's
// availability stays the links'.
func (r *Report) peerings(in Input, end time.Time, wins []window, linkExcl map[Exclusion]bool, linkPieces map[string][]piece) {
	var keys, owners []string
	var links []probes.Link
	var families []string
	for _, l := range in.Site.Links {
		ps := l.Peerings()
		if len(ps) < 2 {
			continue
		}
		for _, p := range ps {
			keys = append(keys, history.PeeringKey(l.Name, p.Family))
			owners, links, families = append(owners, l.Name), append(links, l), append(families, p.Family)
		}
	}
	if len(keys) == 0 {
		return
	}
	spans := sweep(in.Records, keys, true, in.From, end)
	for scope, key := range keys {
		l := links[scope]
		t := Totals{Name: key, Link: l.Name, Family: families[scope], ConnectionID: l.ConnectionID, VIFID: l.VIFID}
		pieces := paint(spans, scope, owners, wins)
		for _, e := range r.tally(&t, pieces) {
			if !linkExcl[unscoped(e, l.Name)] {
				r.Exclusions = append(r.Exclusions, e)
			}
		}
		incs := incidents(pieces)
		t.Incidents = len(incs)
		r.Peerings = append(r.Peerings, t)
		for _, inc := range incs {
			inc.LinkUp, inc.LinkDown = ptr(within(linkPieces[l.Name], Up, inc)), ptr(within(linkPieces[l.Name], Down, inc))
			if inc.Down-*inc.LinkDown < Seconds(time.Second) {
				continue // the link's incident tells it
			}
			inc.Scope = PeeringScope
			r.Incidents = append(r.Incidents, r.describe(inc, links[scope:scope+1], families[scope], in))
		}
	}
}

// within returns the time of pieces in category cat within inc.
func within(pieces []piece, cat Category, inc Incident) Seconds {
	var d Seconds
	for _, p := range pieces {
		a, b := p.from, p.to
		if a.Before(inc.Start) {
			a = inc.Start
		}
		if b.After(inc.End) {
			b = inc.End
		}
		if p.cat == cat && b.After(a) {
			d += Seconds(b.Sub(a))
		}
	}
	return d
}

// unscoped keys an exclusion of a link, or of one of its peerings, by
// its link: a peering's exclusion that is its link's is listed once.
func unscoped(e Exclusion, link string) Exclusion {
	e.Scope = link
	return e
}

func ptr[T any](v T) *T { return &v }

func exclusionReason(p piece) string {
	switch p.cat {
	case Maintenance:
		return "declared maintenance: " + p.reason
	}
	return p.reason
}

// incidents finds the down windows among one scope's pieces: a down
// stretch, continued across time not observed when it is down again on
// the other side (a restart in the middle of an outage stays one
// incident); anything else ends it.
func incidents(pieces []piece) []Incident {
	var out []Incident
	var cur *Incident
	var gap Seconds // not observed since the last down piece
	for _, p := range pieces {
		d := Seconds(p.to.Sub(p.from))
		switch {
		case p.cat == Down && cur == nil:
			out = append(out, Incident{Start: p.from.UTC()})
			cur = &out[len(out)-1]
			cur.End, cur.Down, gap = p.to.UTC(), d, 0
		case p.cat == Down:
			cur.End = p.to.UTC()
			cur.Down += d
			cur.NotObserved += gap
			gap = 0
		case p.cat == NotObserved && cur != nil:
			gap += d
		default:
			cur = nil
		}
	}
	for i := range out {
		out[i].Duration = Seconds(out[i].End.Sub(out[i].Start))
	}
	return out
}

// describe fills in an incident of links (one link, or every link for
// the site; family names the peering of a peering's incident): its
// resources, its cause and evidence from the ledger, and the side the
// evidence points to. inc.Scope is the site's name or a link's; it
// becomes SiteScope, LinkScope or PeeringScope.
func (r *Report) describe(inc Incident, links []probes.Link, family string, in Input) Incident {
	inc.Ongoing = !inc.End.Before(r.End)
	inc.DXGatewayID = in.DXGatewayID
	switch {
	case inc.Scope == PeeringScope:
		inc.Link, inc.Family = links[0].Name, family
	case inc.Scope != SiteScope:
		inc.Scope, inc.Link = LinkScope, links[0].Name
	}
	for _, l := range links {
		if l.ConnectionID != "" {
			inc.ConnectionIDs = append(inc.ConnectionIDs, l.ConnectionID)
		}
		if l.VIFID != "" {
			inc.VIFIDs = append(inc.VIFIDs, l.VIFID)
		}
		inc.Records = append(inc.Records, downRecords(in.Records, l.Name, family, inc.Start, inc.End)...)
	}
	var causes []string
	for _, t := range inc.Records {
		c := t.Cause
		if inc.Scope == SiteScope {
			c = t.Link + ": " + c
		}
		if !contains(causes, c) {
			causes = append(causes, c)
		}
	}
	inc.Cause = strings.Join(causes, "; ")
	if inc.Cause == "" {
		inc.Cause = "not recorded (the ledger holds no change to down for it: it began before the ledger's first record)"
	}
	inc.Side, inc.SideWhy = attribute(inc.Records)
	return inc
}

// downRecords returns the changes of link (of its peering of family, when
// set) to down that began the incident [start, end): the last one at or
// before start (it may precede the range) and those within.
func downRecords(recs []history.Record, link, family string, start, end time.Time) []Transition {
	var out []Transition
	var before *history.Record // the link's last change at or before start
	for i := range recs {
		rc := &recs[i]
		if rc.Kind != history.RecLink || rc.Link != link || rc.Family != family {
			continue
		}
		switch {
		case !rc.Time.After(start):
			before = rc
		case rc.Time.Before(end) && rc.State == health.StateDown:
			out = append(out, Transition{Time: rc.Time.UTC(), Link: link, Family: family, Cause: rc.Cause, Evidence: rc.Evidence})
		}
	}
	if before != nil && before.State == health.StateDown {
		out = append([]Transition{{Time: before.Time.UTC(), Link: link, Family: family, Cause: before.Cause, Evidence: before.Evidence}}, out...)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// sortIncidents orders incidents by start, a site's after the links' that
// start with it, a peering's between.
func sortIncidents(incs []Incident) {
	rank := map[string]int{LinkScope: 0, PeeringScope: 1, SiteScope: 2}
	sort.SliceStable(incs, func(i, j int) bool {
		a, b := incs[i], incs[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return rank[a.Scope] < rank[b.Scope]
	})
}
