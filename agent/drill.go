package agent

import (
	"context"
	"time"

	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/probes"
)

// WatchOptions configure Watch.
type WatchOptions struct {
	// PingInterval replaces the configured ping interval (a drill probes
	// faster than the daemon); zero keeps it.
	PingInterval time.Duration
	// OnEvent receives every event of the health model as it is recorded
	// (health.WithEventHook); it must not block.
	OnEvent func(health.Event)
}

// Watch is the configured probes and a health model running in this
// process, as `dxwatch drill` uses them to measure a failover.
type Watch struct {
	g      *generation
	cancel context.CancelFunc
}

// Watch builds a generation from the current configuration with the
// options applied and starts its probes and health model; Stop ends them.
// Like Verify, it is for one-shot commands: the agent serves nothing
// meanwhile.
func (a *Agent) Watch(ctx context.Context, o WatchOptions) (*Watch, error) {
	cfg := *a.cur.Load().cfg
	if o.PingInterval > 0 {
		cfg.Ping.Interval = o.PingInterval
		if cfg.Ping.Timeout > o.PingInterval {
			cfg.Ping.Timeout = 0 // min(interval, 1s)
		}
	}
	g, err := a.build(&cfg, nil)
	if err != nil {
		return nil, err
	}
	opts := []health.Option{health.WithTrigger(a.traceNow)}
	if o.OnEvent != nil {
		opts = append(opts, health.WithEventHook(o.OnEvent))
	}
	g.health = health.New(cfg.Health, cfg.Topology(), a.logger.With("component", "health"), opts...)
	a.cur.Store(g) // so that the health model's trace requests reach this generation's trace probe
	wctx, cancel := context.WithCancel(ctx)
	g.start(wctx, &a.observer)
	return &Watch{g: g, cancel: cancel}, nil
}

// Status returns the health model's current picture.
func (w *Watch) Status() health.Status { return w.g.health.Status() }

// Events returns the health model's recorded events, oldest first.
func (w *Watch) Events() []health.Event { return w.g.health.Events() }

// Site returns the site being watched.
func (w *Watch) Site() probes.Site { return w.g.cfg.Topology() }

// Config returns the configuration being watched (with the options
// applied).
func (w *Watch) Config() *config.Config { return w.g.cfg }

// Checks returns every probe's latest verification checks.
func (w *Watch) Checks() []probes.CheckResult { return w.g.checks() }

// Stop ends the probes and the health model and waits for them (at most
// ShutdownTimeout).
func (w *Watch) Stop() {
	w.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	w.g.stop(ctx)
}
