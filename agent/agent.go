// The dxwatch daemon: an Agent loads the configuration, builds a generation
// from it (probes, health model, registry, API; generation.go), serves it
// over HTTP (http.go) and swaps in a new one on reload. Package doc: doc.go.

package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/agent/history"
	"github.com/dxwatch/dxwatch/probes"
)

// ShutdownTimeout bounds how long Run waits for the HTTP server and the
// probes to stop once its context is done.
const ShutdownTimeout = 5 * time.Second

// Options configure an Agent.
type Options struct {
	ConfigFile string
	Logger     *slog.Logger
	// ListenAddresses are the HTTP listen addresses (":9479").
	ListenAddresses []string
	// WebConfigFile is an exporter-toolkit web configuration (TLS, basic
	// auth); empty serves plain HTTP.
	WebConfigFile string
	Version       string
	Revision      string
	// StoragePath is the state directory where the health model's events
	// are kept across restarts (package history); empty keeps them in
	// memory only. StorageMaxBytes and StorageMaxAge bound it (zero: the
	// history package's defaults).
	StoragePath     string
	StorageMaxBytes int64
	StorageMaxAge   time.Duration

	// EnableLifecycle serves POST /-/reload (--web.enable-lifecycle); off,
	// the endpoint answers 403, as Prometheus's does, and SIGHUP reloads.
	EnableLifecycle bool
	// EnablePprof serves Go's profiler under /debug/pprof/
	// (--web.enable-pprof); off, those paths are not served.
	EnablePprof bool
}

// Agent is the dxwatch daemon.
type Agent struct {
	opts   Options
	logger *slog.Logger

	base       *prometheus.Registry // agent-wide: build info, reload, Go runtime
	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge

	reloadMu sync.Mutex // serializes reloads
	cur      atomic.Pointer[generation]
	runCtx   context.Context

	observer forwardObserver
	history  *history.Store  // nil without Options.StoragePath
	ledger   *history.Ledger // nil without Options.StoragePath
	// ledgerBeat is the heartbeat interval of the ledger (tests shorten it).
	ledgerBeat time.Duration
	addrs      []net.Addr
	addrsSet   chan struct{}
}

// New loads the configuration and builds the first generation. It opens no
// socket: Run does.
func New(opts Options) (*Agent, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(opts.ListenAddresses) == 0 {
		opts.ListenAddresses = []string{":9479"}
	}
	a := &Agent{opts: opts, logger: opts.Logger, addrsSet: make(chan struct{})}
	a.base = prometheus.NewRegistry()
	a.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "dxwatch_config_last_reload_successful",
		Help: "Whether the last configuration load or reload succeeded (1) or not (0).",
	})
	a.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "dxwatch_config_last_reload_success_timestamp_seconds",
		Help: "Unix time of the last successful configuration load or reload.",
	})
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "dxwatch_build_info",
		Help: "dxwatch build information; always 1.",
	}, []string{"version", "revision", "goversion"})
	buildInfo.WithLabelValues(opts.Version, opts.Revision, runtime.Version()).Set(1)
	a.base.MustRegister(a.reloadOK, a.reloadTime, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	cfg, err := config.Load(opts.ConfigFile)
	if err != nil {
		return nil, err
	}
	if opts.StoragePath != "" {
		a.history = history.Open(opts.StoragePath, history.Options{MaxBytes: opts.StorageMaxBytes, MaxAge: opts.StorageMaxAge},
			a.logger.With("component", "history"))
		a.base.MustRegister(a.history)
		a.ledger = a.history.Ledger(history.LedgerOptions{}, a.logger.With("component", "ledger"))
		a.ledgerBeat = history.DefaultBeat
	}
	g, err := a.build(cfg, nil, buildOptions{})
	if err != nil {
		a.closeHistory()
		return nil, err
	}
	if a.history != nil {
		n := g.health.Restore(a.history.Events())
		a.logger.Info("event history read back", "dir", opts.StoragePath, "events", n)
	}
	a.cur.Store(g)
	a.reloadOK.Set(1)
	a.reloadTime.SetToCurrentTime()
	return a, nil
}

// Run starts the probes and the HTTP server and works until ctx is done;
// then it stops both within ShutdownTimeout and returns. It returns an error
// when a listen address cannot be opened or the web configuration is bad.
func (a *Agent) Run(ctx context.Context) error {
	if a.opts.WebConfigFile != "" {
		if err := web.Validate(a.opts.WebConfigFile); err != nil {
			return fmt.Errorf("web configuration %s: %w", a.opts.WebConfigFile, err)
		}
	}
	var listeners []net.Listener
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
	}
	for _, addr := range a.opts.ListenAddresses {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		listeners = append(listeners, l)
		a.addrs = append(a.addrs, l.Addr())
	}
	close(a.addrsSet)

	a.runCtx = ctx
	a.reloadMu.Lock()
	a.startLedger()
	a.cur.Load().start(ctx, &a.observer)
	a.reloadMu.Unlock()
	ledgerCtx, ledgerStop := context.WithCancel(ctx)
	ledgerDone := make(chan struct{})
	go func() { defer close(ledgerDone); a.runLedger(ledgerCtx, a.ledgerBeat) }()

	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &a.opts.ListenAddresses, WebSystemdSocket: &systemd, WebConfigFile: &a.opts.WebConfigFile}
	serveErr := make(chan error, 1)
	go func() { serveErr <- web.ServeMultiple(listeners, srv, flags, a.logger) }()
	a.logger.Info("dxwatch running", "listen", a.opts.ListenAddresses, "config", a.opts.ConfigFile)

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		srv.Close()
	}
	closeAll()
	a.reloadMu.Lock()
	a.cur.Load().stop(sctx)
	a.reloadMu.Unlock()
	ledgerStop()
	<-ledgerDone
	a.closeHistory()
	a.logger.Info("dxwatch stopped")
	return err
}

func (a *Agent) closeHistory() {
	if a.ledger != nil {
		if err := a.ledger.Close(); err != nil {
			a.logger.Warn("close the availability ledger", "err", err)
		}
	}
	if a.history == nil {
		return
	}
	if err := a.history.Close(); err != nil {
		a.logger.Warn("close the event history", "err", err)
	}
}

// Addrs returns the addresses the HTTP server listens on, once Run opened
// them (it blocks until then or until ctx is done).
func (a *Agent) Addrs(ctx context.Context) []net.Addr {
	select {
	case <-a.addrsSet:
		return a.addrs
	case <-ctx.Done():
		return nil
	}
}

// Reload loads the configuration file again and, when it is good, replaces
// the running generation. A bad file leaves the old generation running and
// its error is returned.
func (a *Agent) Reload() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	err := a.reload()
	if err != nil {
		a.reloadOK.Set(0)
		a.logger.Error("configuration reload failed; the previous configuration keeps running", "config", a.opts.ConfigFile, "err", err)
		return err
	}
	a.reloadOK.Set(1)
	a.reloadTime.SetToCurrentTime()
	a.logger.Info("configuration reloaded", "config", a.opts.ConfigFile)
	return nil
}

func (a *Agent) reload() error {
	cfg, err := config.Load(a.opts.ConfigFile)
	if err != nil {
		return err
	}
	old := a.cur.Load()
	g, err := a.build(cfg, old, buildOptions{})
	if err != nil {
		return err
	}
	if a.runCtx == nil { // not running yet: nothing to stop or start
		a.cur.Store(g)
		return nil
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if g.health == old.health {
		old.healthCancel = nil // the new generation runs the model on
	}
	old.stop(sctx, g.kept()...)
	g.start(a.runCtx, &a.observer)
	a.cur.Store(g)
	if g.health != old.health && a.ledger != nil {
		// A new model starts its links from unknown.
		r := ledgerRecord(time.Now(), history.RecStart, g.health.Status())
		r.Note = "configuration reloaded"
		a.ledger.Write(r)
	}
	return nil
}

// Observe forwards an observation to the current generation's health model.
// Probes hold the agent's observer, not a generation's, so that a probe kept
// across a reload reports to the new model.
type forwardObserver struct {
	target atomic.Pointer[probes.Observer]
}

func (f *forwardObserver) Observe(o probes.Observation) {
	if t := f.target.Load(); t != nil {
		(*t).Observe(o)
	}
}

// traceNow asks the current generation's trace probe for an immediate trace
// of target; the health model calls it when pings see trouble. It never
// blocks.
func (a *Agent) traceNow(target string) {
	g := a.cur.Load()
	if g == nil {
		return
	}
	for _, r := range g.runners {
		if t, ok := r.probe.(interface{ TraceNow(string) }); ok {
			t.TraceNow(target)
		}
	}
}
