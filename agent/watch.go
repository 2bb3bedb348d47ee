package agent

import (
	"context"
	"time"

	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/aws"
)

// WatchOptions configure Watch.
type WatchOptions struct {
	// PingInterval replaces the configured ping interval (a drill probes
	// faster than the daemon); zero keeps it.
	PingInterval time.Duration
	// OnEvent receives every event of the health model as it is recorded
	// (health.WithEventHook); it must not block.
	OnEvent func(health.Event)
	// AWS, when set and the configuration has no aws section, is polled
	// as that section would be (the drill's --aws.region), so that AWS's
	// view of the links is evidence too.
	AWS *aws.Config
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
	bo := buildOptions{onEvent: o.OnEvent}
	if o.AWS != nil && !cfg.Has("aws") {
		bo.extra = append(bo.extra, awsSpec(*o.AWS, cfg.Topology()))
	}
	g, err := a.build(&cfg, nil, bo)
	if err != nil {
		return nil, err
	}
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

// Sources returns the readiness of every source of evidence the probes
// were configured with: what the probes that can tell report
// (probes.ReadinessReporter: the BGP sessions and BMP routers), and for
// the others whether their first round is done and succeeded.
func (w *Watch) Sources() []probes.Readiness {
	var out []probes.Readiness
	for _, r := range w.g.runners {
		if rr, ok := r.probe.(probes.ReadinessReporter); ok {
			out = append(out, rr.Readiness()...)
			continue
		}
		rd := probes.Readiness{Kind: r.spec.kind, Name: r.spec.name, State: "no round done yet"}
		select {
		case <-r.status.Ready():
			rd.Ready, rd.State = true, "polled"
			if err := r.status.Last(); err != nil {
				rd.Ready, rd.State, rd.Detail = false, "last round failed", err.Error()
			}
		default:
		}
		out = append(out, rd)
	}
	return out
}

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
