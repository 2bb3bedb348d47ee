package drill

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/probes"
)

// Report is the outcome of a drill.
type Report struct {
	Site      string       `json:"site"`
	Method    string       `json:"method"`
	Family    string       `json:"family"` // the peerings failed over: ipv4, ipv6 or both
	Primary   string       `json:"primary"`
	Secondary string       `json:"secondary"`
	Started   time.Time    `json:"started"`
	Finished  time.Time    `json:"finished"`
	DryRun    bool         `json:"dry_run"`
	Refused   bool         `json:"refused"`
	Aborted   string       `json:"aborted,omitempty"`
	PreChecks []PreCheck   `json:"pre_checks"`
	Failover  *Phase       `json:"failover,omitempty"`
	Failback  *Phase       `json:"failback,omitempty"`
	History   []TestRecord `json:"test_history,omitempty"`
	Errors    []string     `json:"errors,omitempty"`
}

// Phase is one half of the drill: the action and what the health model
// saw after it.
type Phase struct {
	Action       string    `json:"action"`
	ActionAt     time.Time `json:"action_at"`
	ActionDetail string    `json:"action_detail,omitempty"`
	// DetectedAt is the first sign of the change the health model
	// recorded: the primary leaving "up" (failover) or the failover
	// event's start; DetectSeconds is its delay after the action.
	DetectedAt    *time.Time `json:"detected_at,omitempty"`
	DetectSeconds *float64   `json:"detect_seconds,omitempty"`
	// Event is the health model's failover event for this phase.
	Event         *health.Event         `json:"event,omitempty"`
	OutageSeconds *float64              `json:"outage_seconds,omitempty"`
	GapSeconds    *float64              `json:"gap_seconds,omitempty"`
	Targets       []health.TargetOutage `json:"targets,omitempty"`
	// Steps are the path, BGP and state changes, with their offset from
	// the action.
	Steps []Step `json:"steps,omitempty"`
}

// Step is one change seen during a phase.
type Step struct {
	Offset float64   `json:"offset_seconds"`
	Time   time.Time `json:"time"`
	What   string    `json:"what"`
	Link   string    `json:"link,omitempty"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// observe records a link state change seen during the phase.
func (p *Phase) observe(e health.Event, primary string) {
	if e.Kind != health.KindLinkState {
		return
	}
	detail := string(e.Previous) + " → " + string(e.State)
	if len(e.Reasons) > 0 {
		detail += ": " + strings.Join(e.Reasons, "; ")
	}
	p.Steps = append(p.Steps, Step{Time: e.Time, What: "link_state", Link: e.Link, Detail: detail})
	if p.Action == "fail" && e.Link == primary && e.State != health.StateUp && p.DetectedAt == nil {
		p.detected(e.Time)
	}
}

func (p *Phase) detected(t time.Time) {
	p.DetectedAt = &t
	d := t.Sub(p.ActionAt).Seconds()
	p.DetectSeconds = &d
}

// fill takes the figures and the timeline from the phase's event.
func (p *Phase) fill() {
	e := p.Event
	if e.Measured {
		o, g := time.Duration(e.Outage).Seconds(), time.Duration(e.Gap).Seconds()
		p.OutageSeconds, p.GapSeconds = &o, &g
	}
	p.Targets = e.Targets
	first := e.Time
	if e.Started != nil && e.Started.Before(first) {
		first = *e.Started
	}
	if p.DetectedAt == nil || first.Before(*p.DetectedAt) {
		p.detected(first)
	}
	for _, s := range e.Timeline {
		if s.What == "link_state" && slices.ContainsFunc(p.Steps, func(x Step) bool { return x.What == "link_state" && x.Link == s.Link && x.Time.Equal(s.Time) }) {
			continue
		}
		p.Steps = append(p.Steps, Step{Time: s.Time, What: s.What, Link: s.Link, Target: s.Target, Detail: s.Detail})
	}
	slices.SortStableFunc(p.Steps, func(a, b Step) int { return a.Time.Compare(b.Time) })
	for i := range p.Steps {
		p.Steps[i].Offset = p.Steps[i].Time.Sub(p.ActionAt).Seconds()
	}
}

func (p *Phase) summary() string {
	if p.Event == nil {
		return "no event"
	}
	s := strings.Join(p.Event.From, "+") + " → " + orNone(p.Event.To)
	if p.DetectSeconds != nil {
		s += fmt.Sprintf(", detected %s after the action", secs(*p.DetectSeconds))
	}
	if p.OutageSeconds != nil {
		s += fmt.Sprintf(", outage %s (reply gap %s)", secs(*p.OutageSeconds), secs(*p.GapSeconds))
	}
	return s
}

// familyText names the peerings a drill fails over, as its report and
// progress say it.
func familyText(f string) string {
	switch f {
	case probes.FamilyIPv4:
		return "IPv4 peering only"
	case probes.FamilyIPv6:
		return "IPv6 peering only"
	}
	return "every peering"
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, "+")
}

func secs(s float64) string { return fmt.Sprintf("%.3fs", s) }

func (r *Report) finish() *Report {
	r.Finished = time.Now()
	return r
}

// ExitCode is the drill's exit code: 0 done (or dry run passed), 1 refused,
// aborted or failed.
func (r *Report) ExitCode() int {
	if r.Refused || r.Aborted != "" || len(r.Errors) > 0 {
		return 1
	}
	return 0
}

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "dxwatch drill: site %s, method %s, %s, primary %s, secondary %s\n\n", r.Site, r.Method, familyText(r.Family), r.Primary, r.Secondary)
	fmt.Fprintln(w, "pre-checks:")
	for _, c := range r.PreChecks {
		fmt.Fprintf(w, "  %-4s  %-28s %s\n", strings.ToUpper(string(c.Status)), c.Name, c.Reason)
		if len(c.Evidence) > 0 {
			fmt.Fprintf(w, "        evidence: %s\n", strings.Join(c.Evidence, ", "))
		}
		if c.Fix != "" && (c.Refuses || c.Status == probes.Fail) {
			fmt.Fprintf(w, "        fix: %s\n", c.Fix)
		}
	}
	switch {
	case r.Refused:
		fmt.Fprintln(w, "\nREFUSED: nothing was failed over")
	case r.DryRun:
		fmt.Fprintln(w, "\ndry run: every pre-check passed; nothing was failed over")
	}
	for _, ph := range []struct {
		name string
		p    *Phase
	}{{"failover", r.Failover}, {"failback", r.Failback}} {
		if ph.p == nil {
			continue
		}
		p := ph.p
		fmt.Fprintf(w, "\n%s: %s at %s", ph.name, p.Action, p.ActionAt.Format("15:04:05.000"))
		if p.ActionDetail != "" {
			fmt.Fprintf(w, " (%s)", p.ActionDetail)
		}
		fmt.Fprintln(w)
		if p.DetectSeconds != nil {
			fmt.Fprintf(w, "  time to detect: %s\n", secs(*p.DetectSeconds))
		}
		if p.Event == nil {
			fmt.Fprintln(w, "  no failover event seen")
		} else {
			fmt.Fprintf(w, "  %s → %s, cause: %s\n", strings.Join(p.Event.From, "+"), orNone(p.Event.To), p.Event.Cause)
		}
		if p.OutageSeconds != nil {
			fmt.Fprintf(w, "  outage: %s (reply gap %s)\n", secs(*p.OutageSeconds), secs(*p.GapSeconds))
		}
		for _, t := range p.Targets {
			fmt.Fprintf(w, "    %-16s outage %s  gap %s  lost %d  restored %v\n", t.Target, secs(time.Duration(t.Outage).Seconds()), secs(time.Duration(t.Gap).Seconds()), t.Lost, t.Restored)
		}
		for _, s := range p.Steps {
			fmt.Fprintf(w, "    %+8.3fs  %-22s %s\n", s.Offset, s.What, stepDetail(s))
		}
	}
	if len(r.History) > 0 {
		fmt.Fprintln(w, "\nprovider test history:")
		for _, h := range r.History {
			fmt.Fprintf(w, "  %s  %s  %s  %s  %s\n", h.TestID, h.VIF, h.Status, h.Start.Format(time.RFC3339), fmtEnd(h.End))
		}
	}
	if r.Aborted != "" {
		fmt.Fprintf(w, "\nABORTED: %s (the primary was restored)\n", r.Aborted)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	return nil
}

func fmtEnd(t time.Time) string {
	if t.IsZero() {
		return "running"
	}
	return t.Format(time.RFC3339)
}

func stepDetail(s Step) string {
	var parts []string
	for _, p := range []string{s.Link, s.Target} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	out := strings.Join(parts, " ")
	if out != "" && s.Detail != "" {
		out += ": "
	}
	return out + s.Detail
}

// WriteMarkdown writes the report for a change ticket.
func (r *Report) WriteMarkdown(w io.Writer) error {
	esc := strings.NewReplacer("|", `\|`, "\n", " ")
	fmt.Fprintf(w, "## dxwatch drill: site %s\n\nMethod %s, %s, primary %s, secondary %s, %s to %s.\n\n",
		r.Site, r.Method, familyText(r.Family), r.Primary, r.Secondary, r.Started.Format(time.RFC3339), r.Finished.Format(time.RFC3339))
	fmt.Fprint(w, "### Pre-checks\n\n| result | check | reason | evidence |\n|---|---|---|---|\n")
	for _, c := range r.PreChecks {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", c.Status, c.Name, esc.Replace(c.Reason), esc.Replace(strings.Join(c.Evidence, ", ")))
	}
	if r.Refused {
		fmt.Fprint(w, "\n**Refused**: nothing was failed over.\n")
	}
	if r.Failover != nil || r.Failback != nil {
		fmt.Fprint(w, "\n### Results\n\n| phase | action at | detected after | outage | reply gap | from → to |\n|---|---|---|---|---|---|\n")
		for _, ph := range []struct {
			name string
			p    *Phase
		}{{"failover", r.Failover}, {"failback", r.Failback}} {
			p := ph.p
			if p == nil {
				continue
			}
			det, out, gap, ft := "–", "–", "–", "not seen"
			if p.DetectSeconds != nil {
				det = secs(*p.DetectSeconds)
			}
			if p.OutageSeconds != nil {
				out, gap = secs(*p.OutageSeconds), secs(*p.GapSeconds)
			}
			if p.Event != nil {
				ft = strings.Join(p.Event.From, "+") + " → " + orNone(p.Event.To)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", ph.name, p.ActionAt.Format("15:04:05.000"), det, out, gap, ft)
		}
		for _, ph := range []struct {
			name string
			p    *Phase
		}{{"Failover", r.Failover}, {"Failback", r.Failback}} {
			if ph.p == nil || len(ph.p.Steps) == 0 {
				continue
			}
			fmt.Fprintf(w, "\n#### %s timeline\n\n| after | what | detail |\n|---|---|---|\n", ph.name)
			for _, s := range ph.p.Steps {
				fmt.Fprintf(w, "| %+.3fs | %s | %s |\n", s.Offset, s.What, esc.Replace(stepDetail(s)))
			}
		}
	}
	if len(r.History) > 0 {
		fmt.Fprint(w, "\n### Provider test history\n\n| test | VIF | status | start | end |\n|---|---|---|---|---|\n")
		for _, h := range r.History {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", h.TestID, h.VIF, h.Status, h.Start.Format(time.RFC3339), fmtEnd(h.End))
		}
	}
	if r.Aborted != "" {
		fmt.Fprintf(w, "\n**Aborted**: %s (the primary was restored).\n", esc.Replace(r.Aborted))
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "\n**Error**: %s\n", esc.Replace(e))
	}
	return nil
}
