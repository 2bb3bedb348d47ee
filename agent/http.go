package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/dxwatch/dxwatch/agent/statuspage"
	"github.com/dxwatch/dxwatch/probes"
)

// Handler returns the agent's HTTP handler: /metrics, /healthz, /readyz,
// POST /-/reload and the probes' /api/ views, all served from the current
// generation.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		a.cur.Load().metrics.ServeHTTP(w, r)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if waiting := a.cur.Load().notReady(); len(waiting) > 0 {
			http.Error(w, "waiting for a first round of: "+strings.Join(waiting, ", "), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "reload with POST", http.StatusMethodNotAllowed)
			return
		}
		if err := a.Reload(); err != nil {
			http.Error(w, "reload failed, the previous configuration keeps running:\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "reloaded")
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		g := a.cur.Load()
		h, ok := g.api[r.URL.Path]
		if !ok {
			paths := make([]string, 0, len(g.api))
			for p := range g.api {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			http.Error(w, fmt.Sprintf("no such API; this agent serves: %s", strings.Join(paths, " ")), http.StatusNotFound)
			return
		}
		h.ServeHTTP(w, r)
	})
	// The status page, and the two API views it adds: the configured site
	// and every probe's checks.
	sp := statuspage.Handler(statuspage.Options{
		Site: func() probes.Site { return a.cur.Load().cfg.Topology() },
		Checks: func() []probes.CheckResult {
			g := a.cur.Load()
			return explain(g.checks(), linkNames(g.cfg.Topology()))
		},
		Version: a.opts.Version,
	})
	mux.Handle("/", sp)
	mux.Handle(statuspage.SitePath, sp)
	mux.Handle(statuspage.ChecksPath, sp)
	return mux
}

// slogPrinter adapts a slog.Logger to promhttp's error log.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.l.Log(context.Background(), slog.LevelError, "metrics scrape error", "err", fmt.Sprint(v...))
}
