package probes

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// Probe is one running source of evidence. The agent constructs it with the
// kind's New(name, cfg, deps), registers it as a prometheus.Collector in the
// generation's registry, and calls Run in its own goroutine.
//
// Run works until ctx is done, then closes every socket and goroutine it
// opened and returns nil. It returns an error only when the probe cannot work
// at all (for example no ICMP socket can be opened); the agent then logs it
// once and keeps the other probes running. Failures of single rounds are not
// returned: they are recorded with Deps.Status.Done and shown as metrics.
type Probe interface {
	prometheus.Collector
	// Name is the probe's name, unique within a configuration generation.
	Name() string
	// Run probes until ctx is done.
	Run(ctx context.Context) error
}

// APIHandler is implemented by probes that serve a JSON view under /api/.
// APIPath returns the path, such as "/api/paths"; the agent mounts the
// handler there for the probe's generation.
type APIHandler interface {
	http.Handler
	APIPath() string
}

// Deps is what the agent hands every probe at construction.
type Deps struct {
	// Logger is the probe's logger, already carrying probe=<name>.
	Logger *slog.Logger
	// Site is the configured site: links, targets and routing intent.
	Site Site
	// Observer receives the probe's observations. It never blocks and is
	// never nil (Discard when nobody listens).
	Observer Observer
	// Status records the probe's rounds; the agent exports it and derives
	// readiness from it. Never nil.
	Status *Rounds
}

// WithDefaults returns d with a discarding logger, observer and a fresh
// Status where they are unset, so that tests can pass a partial Deps.
func (d Deps) WithDefaults(kind, name string) Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Observer == nil {
		d.Observer = Discard
	}
	if d.Status == nil {
		d.Status = NewRounds(kind, name)
	}
	return d
}
