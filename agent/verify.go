package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// VerifyOptions configure a one-shot verification run.
type VerifyOptions struct {
	// Checks selects checks by name prefix ("aws.", "bgp.intent"); empty
	// selects all.
	Checks []string
	// MinDuration is how long the probes run at least, so that pings and
	// traces have evidence; Timeout is how long verify waits at most for
	// every probe's first round.
	MinDuration, Timeout time.Duration
	// Progress receives one line per step while verify runs; may be nil.
	Progress io.Writer
}

// VerifyReport is the outcome of `dxwatch verify`.
type VerifyReport struct {
	Site     string               `json:"site"`
	Started  time.Time            `json:"started"`
	Finished time.Time            `json:"finished"`
	Results  []probes.CheckResult `json:"results"`
	Summary  map[string]int       `json:"summary"`
}

// Verify runs every configured probe once, in this process, until each has
// completed a first round (and at least MinDuration), then returns every
// check in the order of the Direct Connect turn-up checklist. Parts that are
// not configured appear as skipped, with why.
func (a *Agent) Verify(ctx context.Context, opts VerifyOptions) (VerifyReport, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	g := a.cur.Load()
	rep := VerifyReport{Site: g.cfg.Site, Started: time.Now()}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.start(runCtx, &a.observer)
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer scancel()
		cancel()
		g.stop(sctx)
	}()

	fmt.Fprintf(progress, "verifying site %s: %d probes\n", g.cfg.Site, len(g.runners))
	deadline := time.NewTimer(opts.Timeout)
	defer deadline.Stop()
	minDone := time.After(opts.MinDuration)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := ""
wait:
	for {
		waiting := g.notReady()
		if len(waiting) == 0 && minDone == nil {
			break
		}
		if msg := strings.Join(waiting, ", "); msg != last && msg != "" {
			fmt.Fprintf(progress, "  waiting for a first round of: %s\n", msg)
			last = msg
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-deadline.C:
			fmt.Fprintf(progress, "  gave up waiting after %s for: %s\n", opts.Timeout, strings.Join(waiting, ", "))
			break wait
		case <-minDone:
			minDone = nil
		case <-tick.C:
		}
	}

	results := append(g.checks(), skippedParts(g.cfg)...)
	for _, r := range g.runners {
		// A probe that could not work at all is a failure of its part.
		if err := r.status.Last(); err != nil && !hasChecks(results, r.spec.kind) {
			results = append(results, probes.CheckResult{
				Name: r.spec.kind + ".probe", Order: kindOrder(r.spec.kind), Status: probes.Fail,
				Reason: err.Error(), Time: time.Now(),
			})
		}
	}
	// Select first: a check's root cause must be among what is reported.
	rep.finish(explain(selectChecks(results, opts.Checks), linkNames(g.cfg.Topology())))
	return rep, nil
}

// finish sets the report's results in checklist order, its summary and
// its end time.
func (r *VerifyReport) finish(results []probes.CheckResult) {
	r.Results = results
	sort.SliceStable(r.Results, func(i, j int) bool {
		if r.Results[i].Order != r.Results[j].Order {
			return r.Results[i].Order < r.Results[j].Order
		}
		return r.Results[i].Name < r.Results[j].Name
	})
	r.Summary = map[string]int{}
	for _, c := range r.Results {
		r.Summary[string(c.Status)]++
	}
	r.Finished = time.Now()
}

func hasChecks(rs []probes.CheckResult, kind string) bool {
	for _, r := range rs {
		if strings.HasPrefix(r.Name, kind+".") {
			return true
		}
	}
	return false
}

func selectChecks(rs []probes.CheckResult, prefixes []string) []probes.CheckResult {
	if len(prefixes) == 0 {
		return rs
	}
	var out []probes.CheckResult
	for _, r := range rs {
		for _, p := range prefixes {
			if strings.HasPrefix(r.Name, p) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// ExitCode is verify's exit code: 0 when nothing failed, 1 when a check
// failed. (2, could not run, is the caller's.)
func (r VerifyReport) ExitCode() int {
	if r.Summary[string(probes.Fail)] > 0 {
		return 1
	}
	return 0
}

// WriteText writes the report for a terminal: one line per check, the fix
// indented below a failure or warning.
func (r VerifyReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "dxwatch verify: site %s\n\n", r.Site)
	for _, c := range r.Results {
		fmt.Fprintf(w, "%-4s  %-40s %s\n", strings.ToUpper(string(c.Status)), c.Name, c.Reason)
		// A check that follows from another says so in its reason; its
		// fix is the other's.
		if c.Fix != "" && c.Status != probes.Pass && c.Because == "" {
			fmt.Fprintf(w, "      fix: %s\n", c.Fix)
		}
	}
	_, err := fmt.Fprintf(w, "\n%d pass, %d warn, %d fail, %d skipped (%s)\n",
		r.Summary["pass"], r.Summary["warn"], r.Summary["fail"], r.Summary["skip"], r.Finished.Sub(r.Started).Round(time.Millisecond))
	return err
}

// WriteJSON writes the report as one JSON document.
func (r VerifyReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the report as a Markdown table, for a change ticket.
func (r VerifyReport) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "## dxwatch verify: site %s\n\n| result | check | reason | fix |\n|---|---|---|---|\n", r.Site)
	esc := strings.NewReplacer("|", `\|`, "\n", " ")
	for _, c := range r.Results {
		fix := ""
		if c.Status != probes.Pass && c.Fix != "" {
			fix = "`" + esc.Replace(c.Fix) + "`"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", c.Status, c.Name, esc.Replace(c.Reason), fix)
	}
	_, err := fmt.Fprintf(w, "\n%d pass, %d warn, %d fail, %d skipped\n", r.Summary["pass"], r.Summary["warn"], r.Summary["fail"], r.Summary["skip"])
	return err
}
