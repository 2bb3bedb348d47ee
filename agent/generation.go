package agent

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/probes"
)

// probeSpec is one probe the configuration asks for. key is everything the
// probe is built from: a probe whose key did not change keeps running across
// a reload.
type probeSpec struct {
	kind, name string
	key        any
	build      func(probes.Deps) (probes.Probe, error)
	// update, when set, applies a changed configuration to a running probe
	// of the same kind and name, which then keeps its unchanged parts (the
	// ping probe keeps the counters of unchanged targets).
	update func(probes.Probe) error
}

// runner is one running probe.
type runner struct {
	spec   probeSpec
	probe  probes.Probe
	status *probes.Rounds
	cancel context.CancelFunc
	done   chan struct{}
}

// generation is everything built from one configuration: its registry, its
// probes and its API handlers. It is replaced whole on reload.
type generation struct {
	cfg     *config.Config
	reg     *prometheus.Registry
	runners []*runner
	reused  map[*runner]bool
	api     map[string]http.Handler
	metrics http.Handler

	// health fuses the probes' observations; one model per generation.
	health       *health.Model
	healthCancel context.CancelFunc
	healthDone   chan struct{}
}

// buildOptions are what a one-shot command (Watch) adds to a generation
// besides its configuration.
type buildOptions struct {
	// extra are probes to run besides those the configuration asks for
	// (the drill's AWS poll when it has no aws section).
	extra []probeSpec
	// onEvent receives every event of a newly built health model (besides
	// the event history, when the agent keeps one); it must not block.
	onEvent func(health.Event)
}

// build constructs a generation from cfg, taking over the runners of old
// whose configuration is unchanged. It starts nothing. The generation owns
// its health model: built here once (or taken over from old), it is the
// one registered, mounted on the API and started.
func (a *Agent) build(cfg *config.Config, old *generation, o buildOptions) (*generation, error) {
	g := &generation{
		cfg:    cfg,
		reg:    prometheus.NewRegistry(),
		reused: map[*runner]bool{},
		api:    map[string]http.Handler{},
	}
	site := cfg.Topology()
	switch {
	case o.onEvent == nil && old != nil && old.cfg.Health == cfg.Health && reflect.DeepEqual(old.cfg.Topology(), site):
		// Nothing the model is built from changed: it runs on, with its
		// link states, evidence and events.
		g.health = old.health
		g.healthCancel, g.healthDone = old.healthCancel, old.healthDone
	default:
		opts := []health.Option{health.WithTrigger(a.traceNow)}
		// The model is set before it runs (start), so before any event.
		var model *health.Model
		if hook := a.eventHook(joinHooks(o.onEvent, a.ledgerHook(func() *health.Model { return model }))); hook != nil {
			opts = append(opts, health.WithEventHook(hook))
		}
		g.health = health.New(cfg.Health, site, a.logger.With("component", "health"), opts...)
		model = g.health
		if old != nil {
			g.health.Inherit(old.health)
		}
	}
	for _, h := range g.health.APIHandlers() {
		g.api[h.APIPath()] = h
	}
	for _, spec := range append(probeSpecs(cfg), o.extra...) {
		// A probe of the same kind and name keeps running: as it is when
		// its key is unchanged, or updated in place when its kind can.
		if r := old.find(spec.kind, spec.name); r != nil {
			keep := reflect.DeepEqual(r.spec.key, spec.key)
			if !keep && spec.update != nil {
				// Applied before the swap: a failure leaves the probe as it
				// was and the reload is refused.
				if err := spec.update(r.probe); err != nil {
					return nil, fmt.Errorf("update %s probe %q: %w", spec.kind, spec.name, err)
				}
				r.spec, keep = spec, true
			}
			if keep {
				g.runners = append(g.runners, r)
				g.reused[r] = true
				continue
			}
		}
		status := probes.NewRounds(spec.kind, spec.name)
		p, err := spec.build(probes.Deps{
			Logger:   a.logger.With("probe", spec.name, "kind", spec.kind),
			Site:     site,
			Observer: &a.observer,
			Status:   status,
		})
		if err != nil {
			return nil, fmt.Errorf("build %s probe %q: %w", spec.kind, spec.name, err)
		}
		g.runners = append(g.runners, &runner{spec: spec, probe: p, status: status})
	}

	var statuses probes.RoundsCollector
	for _, r := range g.runners {
		statuses = append(statuses, r.status)
		if err := g.reg.Register(r.probe); err != nil {
			return nil, fmt.Errorf("register metrics of %s probe %q: %w", r.spec.kind, r.spec.name, err)
		}
		if h, ok := r.probe.(probes.APIHandler); ok {
			g.api[h.APIPath()] = h
		}
	}
	g.reg.MustRegister(statuses, checkCollector{g}, siteCollector(site), targetCollector(cfg.Report.TargetPercent), g.health)
	g.metrics = promhttp.HandlerFor(prometheus.Gatherers{a.base, g.reg}, promhttp.HandlerOpts{
		ErrorLog:          slogPrinter{a.logger},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
	return g, nil
}

// eventHook returns the health model's event hook: the event history (when
// the agent keeps one), then also, when set, f.
func (a *Agent) eventHook(f func(health.Event)) func(health.Event) {
	switch {
	case a.history == nil:
		return f
	case f == nil:
		return a.history.Append
	}
	return func(e health.Event) {
		a.history.Append(e)
		f(e)
	}
}

// joinHooks calls f then g; either may be nil.
func joinHooks(f, g func(health.Event)) func(health.Event) {
	switch {
	case f == nil:
		return g
	case g == nil:
		return f
	}
	return func(e health.Event) { f(e); g(e) }
}

// find returns the runner of g of the given kind and name, or nil.
func (g *generation) find(kind, name string) *runner {
	if g == nil {
		return nil
	}
	for _, r := range g.runners {
		if r.spec.kind == kind && r.spec.name == name {
			return r
		}
	}
	return nil
}

// kept returns the runners this generation took over from the previous one.
func (g *generation) kept() []*runner {
	var rs []*runner
	for r := range g.reused {
		rs = append(rs, r)
	}
	return rs
}

// start runs the health model and every probe that is not already running,
// and points the probes' observations at this generation's model.
func (g *generation) start(ctx context.Context, obs *forwardObserver) {
	if g.healthCancel == nil { // else taken over, running
		hctx, hcancel := context.WithCancel(ctx)
		g.healthCancel, g.healthDone = hcancel, make(chan struct{})
		go func() {
			defer close(g.healthDone)
			g.health.Run(hctx)
		}()
	}
	if obs != nil {
		var o probes.Observer = g.health
		obs.target.Store(&o)
	}
	for _, r := range g.runners {
		if g.reused[r] {
			continue
		}
		rctx, cancel := context.WithCancel(ctx)
		r.cancel, r.done = cancel, make(chan struct{})
		go func() {
			defer close(r.done)
			start := time.Now()
			if err := r.probe.Run(rctx); err != nil {
				// The probe cannot work at all: show it, keep the others.
				r.status.Done(start, err)
			}
		}()
	}
}

// stop cancels every probe except those in keep and waits for them until
// ctx is done.
func (g *generation) stop(ctx context.Context, keep ...*runner) {
	kept := map[*runner]bool{}
	for _, r := range keep {
		kept[r] = true
	}
	var wait []*runner
	for _, r := range g.runners {
		if kept[r] || r.cancel == nil {
			continue
		}
		r.cancel()
		wait = append(wait, r)
	}
	if g.healthCancel != nil {
		g.healthCancel()
		g.healthCancel = nil // so that start runs it again
		wait = append(wait, &runner{done: g.healthDone})
	}
	for _, r := range wait {
		select {
		case <-r.done:
		case <-ctx.Done():
			return
		}
	}
}

// notReady lists the probes that have not completed a first round.
func (g *generation) notReady() []string {
	var names []string
	for _, r := range g.runners {
		select {
		case <-r.status.Ready():
		default:
			names = append(names, r.spec.kind+"/"+r.spec.name)
		}
	}
	return names
}

// checks returns the latest verification checks of every probe.
func (g *generation) checks() []probes.CheckResult {
	all := g.health.Checks()
	for _, r := range g.runners {
		if c, ok := r.probe.(probes.Checker); ok {
			all = append(all, c.Checks()...)
		}
	}
	return all
}

var checkOKDesc = prometheus.NewDesc("dxwatch_check_ok",
	"Whether a verification check passes (1; a warning also counts) or fails (0). Skipped checks are not exported.",
	[]string{"check"}, nil)

// checkCollector exports dxwatch_check_ok from the probes' cached checks.
type checkCollector struct{ g *generation }

func (c checkCollector) Describe(ch chan<- *prometheus.Desc) { ch <- checkOKDesc }

func (c checkCollector) Collect(ch chan<- prometheus.Metric) {
	seen := map[string]bool{}
	for _, r := range c.g.checks() {
		if r.Status == probes.Skip || seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		v := 0.0
		if r.Status == probes.Pass || r.Status == probes.Warn {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(checkOKDesc, prometheus.GaugeValue, v, r.Name)
	}
}

var linkInfoDesc = prometheus.NewDesc("dxwatch_link_info",
	"A configured Direct Connect link: its role and AWS IDs; always 1. Join on link to tell a failover from a failback.",
	[]string{"link", "role", "connection", "vif"}, nil)

// siteCollector exports the configured topology as info metrics.
type siteCollector probes.Site

func (c siteCollector) Describe(ch chan<- *prometheus.Desc) { ch <- linkInfoDesc }

func (c siteCollector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.Links {
		ch <- prometheus.MustNewConstMetric(linkInfoDesc, prometheus.GaugeValue, 1, l.Name, l.Role, l.ConnectionID, l.VIFID)
	}
}

var siteTargetDesc = prometheus.NewDesc("dxwatch_site_availability_target_ratio",
	"The site's availability target (report.target_percent / 100): the recording rules and the burn-rate alert compare dxwatch_site_up with it.", nil, nil)

// targetCollector exports the configured availability target.
type targetCollector float64

func (c targetCollector) Describe(ch chan<- *prometheus.Desc) { ch <- siteTargetDesc }

func (c targetCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(siteTargetDesc, prometheus.GaugeValue, float64(c)/100)
}
