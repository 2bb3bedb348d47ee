package agent

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/agent/report"
)

// ReportOptions are what `dxwatch report` asks for.
type ReportOptions struct {
	// ConfigFile names the site, its links' IDs, the DX gateway, the
	// target and the maintenance windows.
	ConfigFile string
	// StoragePath is the daemon's state directory, holding the ledger.
	StoragePath string
	// Month (2026-11), or From and To; none: the current month so far.
	Month, From, To string
	// Now replaces time.Now, for tests.
	Now time.Time
}

// MonthReport builds the report of a month or range from the ledger in the
// state directory, as the daemon wrote it; no daemon needs to run.
func MonthReport(o ReportOptions) (*report.Report, error) {
	cfg, err := config.Load(o.ConfigFile)
	if err != nil {
		return nil, err
	}
	if o.StoragePath == "" {
		return nil, fmt.Errorf("report: no state directory: give --storage.path, the daemon's (default /var/lib/dxwatch)")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return buildReport(cfg, o.StoragePath, o.Month, o.From, o.To, o.Now)
}

func buildReport(cfg *config.Config, dir, month, from, to string, now time.Time) (*report.Report, error) {
	f, t, err := report.ParseRange(month, from, to, now)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return report.FromStore(dir, report.Input{Site: cfg.Topology(), DXGatewayID: cfg.AWS.DXGatewayID, Config: cfg.Report, From: f, To: t, Now: now})
}

// serveReport is /api/report: the report of ?month=2026-11 or
// ?from=…&to=… (default: this month so far) in ?format=json (default),
// markdown or csv, from the ledger this daemon writes.
func (a *Agent) serveReport(w http.ResponseWriter, r *http.Request) {
	if a.ledger == nil {
		http.Error(w, "this agent keeps no availability ledger: start it with --storage.path (default /var/lib/dxwatch)", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	rep, err := buildReport(a.cur.Load().cfg, a.opts.StoragePath, q.Get("month"), q.Get("from"), q.Get("to"), time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var b bytes.Buffer
	if err := rep.Write(&b, format); err != nil {
		http.Error(w, "report: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctype := map[string]string{"json": "application/json", "csv": "text/csv; charset=utf-8"}[format]
	if ctype == "" {
		ctype = "text/markdown; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}
