package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"sort"
	"strings"

	"github.com/dxwatch/dxwatch/agent/statuspage"
	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/expose"
)

// Handler returns the agent's HTTP handler: /metrics, /healthz, /readyz,
// POST /-/reload and the probes' /api/ views, all served from the current
// generation. As Prometheus does it: every endpoint but /-/reload answers
// GET and HEAD only, /-/reload POST only and only when the lifecycle API is
// enabled; another method gets 405 with an Allow header.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", readOnly(func(w http.ResponseWriter, r *http.Request) {
		a.cur.Load().metrics.ServeHTTP(w, r)
	}))
	mux.Handle("/healthz", readOnly(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	mux.Handle("/readyz", readOnly(func(w http.ResponseWriter, r *http.Request) {
		if waiting := a.cur.Load().notReady(); len(waiting) > 0 {
			http.Error(w, "waiting for a first round of: "+strings.Join(waiting, ", "), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	}))
	mux.HandleFunc("/-/reload", a.serveReload)
	if a.opts.EnablePprof {
		// Go's profiler, for a CPU or heap profile of a running daemon
		// (go tool pprof http://host:9479/debug/pprof/profile); off by
		// default, as in Prometheus: a profile shows the daemon's insides.
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("/api/", readOnly(func(w http.ResponseWriter, r *http.Request) {
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
	}))
	// The status page, and the two API views it adds: the configured site
	// and every probe's checks.
	sp := readOnly(statuspage.Handler(statuspage.Options{
		Site: func() probes.Site { return a.cur.Load().cfg.Topology() },
		Checks: func() []probes.CheckResult {
			g := a.cur.Load()
			return explain(g.checks(), linkNames(g.cfg.Topology()))
		},
		Version: a.opts.Version,
	}).ServeHTTP)
	mux.Handle(ReportPath, readOnly(a.serveReport))
	mux.Handle("/", sp)
	mux.Handle(statuspage.SitePath, sp)
	mux.Handle(statuspage.ChecksPath, sp)
	return mux
}

// ReportPath serves the month on record (agent/report).
const ReportPath = "/api/report"

// serveReload is POST /-/reload. Without --web.enable-lifecycle anyone who
// reaches the port could make the agent re-read its file at will, so it is
// refused, as Prometheus refuses it; SIGHUP reloads in any case.
func (a *Agent) serveReload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		notAllowed(w, http.MethodPost, "reload with POST")
		return
	}
	if !a.opts.EnableLifecycle {
		http.Error(w, "Lifecycle API is not enabled: start dxwatch with --web.enable-lifecycle to reload over HTTP, or send it SIGHUP (systemctl reload dxwatch)", http.StatusForbidden)
		return
	}
	if err := a.Reload(); err != nil {
		http.Error(w, "reload failed, the previous configuration keeps running:\n"+err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "reloaded")
}

// readOnly serves h to GET and HEAD, and 405 to any other method.
func readOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if expose.ReadOnly(w, r) {
			h(w, r)
		}
	})
}

// notAllowed answers 405 with the Allow header RFC 9110 asks for.
func notAllowed(w http.ResponseWriter, allow, msg string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed: "+msg, http.StatusMethodNotAllowed)
}

// slogPrinter adapts a slog.Logger to promhttp's error log.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.l.Log(context.Background(), slog.LevelError, "metrics scrape error", "err", fmt.Sprint(v...))
}
