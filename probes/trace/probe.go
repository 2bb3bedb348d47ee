package trace

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/expose"
)

// Kind is the probe kind, as the agent's status metrics label it.
const Kind = "trace"

var (
	pathLinkDesc = prometheus.NewDesc("dxwatch_trace_path_link",
		"Whether the latest trace to the target crosses the Direct Connect link (1) or not (0).",
		[]string{"target", "link"}, nil)
	hopsDesc = prometheus.NewDesc("dxwatch_trace_hops",
		"Number of hops of the latest trace to the target (the destination's distance when reached).",
		[]string{"target"}, nil)
	durationDesc = prometheus.NewDesc("dxwatch_trace_duration_seconds",
		"Duration of the latest trace to the target, pacing and ECMP discovery included.",
		[]string{"target"}, nil)
	reachedDesc = prometheus.NewDesc("dxwatch_trace_reached",
		"Whether the latest trace reached the target (1) or not (0).",
		[]string{"target"}, nil)
)

// Probe traces the path to every target and tells which Direct Connect
// link it crosses.
type Probe struct {
	name    string
	cfg     Config
	deps    probes.Deps
	targets []probes.Target
	lim     *limiter
	changes *prometheus.CounterVec

	echoBase uint16
	seqBase  uint32

	wake chan struct{}

	mu      sync.Mutex
	pending map[string]bool
	paths   map[string]*Path
	// refs holds what each target's next trace is compared with: the
	// latest path, its silent hops filled from the path before.
	refs map[string]*Path

	// hints holds each target's previous path per flow, for pacing and
	// the initial window. Only Run's goroutine touches it.
	hints map[string][]flowTrace
}

// New builds the probe. It opens no socket: Run does.
func New(name string, cfg Config, deps probes.Deps) (*Probe, error) {
	deps = deps.WithDefaults(Kind, name)
	if err := cfg.Validate(deps.Site); err != nil {
		return nil, fmt.Errorf("trace probe %s: %w", name, err)
	}
	p := &Probe{
		name: name,
		cfg:  cfg,
		deps: deps,
		lim:  newLimiter(cfg.Pacing),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dxwatch_trace_path_changes_total",
			Help: "Path changes seen by successive traces to the target.",
		}, []string{"target"}),
		echoBase: uint16(rand.N(0xff00)) + 1,
		seqBase:  rand.Uint32() &^ 0xffff,
		wake:     make(chan struct{}, 1),
		pending:  map[string]bool{},
		paths:    map[string]*Path{},
		refs:     map[string]*Path{},
		hints:    map[string][]flowTrace{},
	}
	for _, t := range deps.Site.Targets {
		if cfg.traces(t.Name) {
			p.targets = append(p.targets, t)
			p.changes.WithLabelValues(t.Name)
		}
	}
	return p, nil
}

// Name implements probes.Probe.
func (p *Probe) Name() string { return p.name }

// TraceNow asks for a trace of the target named target as soon as the
// current one ends. It never blocks; requests for one target coalesce, and
// unknown names are ignored. The health model calls it when pings see
// trouble.
func (p *Probe) TraceNow(target string) {
	if !slices.ContainsFunc(p.targets, func(t probes.Target) bool { return t.Name == target }) {
		p.deps.Logger.Debug("trace requested for an unknown target", "target", target)
		return
	}
	p.mu.Lock()
	p.pending[target] = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run traces every target each interval, and on demand, until ctx ends.
func (p *Probe) Run(ctx context.Context) error {
	nw := newNetwork(p.cfg.Method, p.cfg.ECMPFlows, p.deps.Logger)
	defer nw.Close()
	// Open the sockets of the literal targets' families now: a probe that
	// cannot open them cannot work at all.
	for _, t := range p.targets {
		if a, err := netip.ParseAddr(t.Host); err == nil {
			if _, err := nw.family(a.Unmap().Is6()); err != nil {
				return fmt.Errorf("trace probe %s: %w", p.name, err)
			}
		}
	}
	eng := &engine{
		maxTTL:  p.cfg.MaxTTL,
		retries: p.cfg.Retries,
		lim:     p.lim,
		send:    nw.send,
		replies: nw.replies,
		log:     p.deps.Logger,
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
			start := time.Now()
			var errs []error
			for _, t := range p.targets {
				if ctx.Err() != nil {
					return nil
				}
				errs = append(errs, p.traceTarget(ctx, eng, nw, t))
			}
			if ctx.Err() != nil {
				return nil
			}
			p.deps.Status.Done(start, errors.Join(errs...))
			timer.Reset(max(time.Until(start.Add(p.cfg.Interval)), 0))
		case <-p.wake:
			p.mu.Lock()
			pending := p.pending
			p.pending = map[string]bool{}
			p.mu.Unlock()
			for _, t := range p.targets {
				if pending[t.Name] && ctx.Err() == nil {
					_ = p.traceTarget(ctx, eng, nw, t) // recorded in the path's Error
				}
			}
		}
	}
}

func resolve(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %s: no address", host)
	}
	return addrs[0].Unmap(), nil
}

// mdaFlows is the number of flows that must all take the paths seen so far
// (k of them, index k-1) to rule out one more at 95 % confidence
// (Augustin et al., Multipath Detection Algorithm).
var mdaFlows = []int{6, 11, 16, 21, 27, 33, 38, 44, 51, 57, 63, 70, 76, 83, 90, 96}

func (p *Probe) flow(nw *network, dst, src netip.Addr, i int) (flow, error) {
	f := flow{src: src, dst: dst, seqBase: p.seqBase}
	switch p.cfg.Method {
	case MethodUDP, MethodTCP:
		port, err := nw.port(dst.Is6(), i)
		if err != nil {
			return flow{}, err
		}
		f.proto, f.srcPort, f.dstPort = protoUDP, port, uint16(p.cfg.port()+i)
		if p.cfg.Method == MethodTCP {
			f.proto, f.dstPort = protoTCP, uint16(p.cfg.port())
		}
	default:
		f.proto = protoICMP
		if dst.Is6() {
			f.proto = protoICMPv6
		}
		f.echoID = p.echoBase + uint16(i)
		f.cksum = 0x5a5a + uint16(i)*0x0101
	}
	if dst.Is6() {
		f.label = flowLabel(p.echoBase, i)
	}
	return f, nil
}

// traceTarget traces t (and its ECMP flows), records the path, updates the
// counters and reports a PathTraced observation. It returns the error that
// kept the trace from running, if any.
func (p *Probe) traceTarget(ctx context.Context, eng *engine, nw *network, t probes.Target) error {
	start := time.Now()
	path := &Path{Target: t.Name, Host: t.Host, Method: p.cfg.Method, Time: start}
	err := p.runTrace(ctx, eng, nw, t, path)
	if ctx.Err() != nil {
		return nil // shutting down: the half-done trace is no evidence
	}
	path.Duration = time.Since(start)
	p.record(path, err)
	return err
}

// record stores path as the target's latest, counts a change and reports
// the PathTraced observation.
func (p *Probe) record(path *Path, err error) {
	if err != nil {
		path.Error = err.Error()
		p.deps.Logger.Warn("trace failed", "target", path.Target, "err", err)
	}
	p.mu.Lock()
	prev := p.paths[path.Target]
	ref := p.refs[path.Target]
	path.Changed = changed(ref, path)
	if prev != nil {
		path.Changes = prev.Changes
	}
	if path.Changed {
		p.refs[path.Target] = path
	} else {
		p.refs[path.Target] = fill(ref, path)
	}
	if path.Changed {
		path.Changes++
		p.changes.WithLabelValues(path.Target).Inc()
	}
	p.paths[path.Target] = path
	p.mu.Unlock()
	if path.Changed {
		p.deps.Logger.Info("path changed", "target", path.Target, "from", prev.Result, "to", path.Result,
			"hops", hopsSeen(path.Hops))
	}
	p.deps.Logger.Debug("traced", "target", path.Target, "result", path.Result, "reached", path.Reached,
		"hops", hopsSeen(path.Hops), "duration", path.Duration, "probes", path.probes, "deepest_ttl", path.deepest)
	p.deps.Observer.Observe(probes.Observation{
		// Dated by when its probes left, not when the answer came back:
		// the trace tells where the traffic went then, and a BGP best-path
		// change after that voids it (agent/health README, "Active link").
		Time:    path.Time,
		Event:   probes.PathTraced,
		Probe:   p.name,
		Target:  path.Target,
		Links:   slices.Clone(path.Links),
		Changed: path.Changed,
		Reached: path.Reached,
		Detail:  path.Result,
	})
}

func (p *Probe) runTrace(ctx context.Context, eng *engine, nw *network, t probes.Target, path *Path) error {
	path.Result = result(nil)
	dst, err := resolve(ctx, t.Host)
	if err != nil {
		return err
	}
	path.Address = dst
	src, err := source(dst)
	if err != nil {
		return err
	}
	flows := 1
	if p.cfg.ECMPFlows > 0 {
		flows = p.cfg.ECMPFlows
	}
	hints := p.hints[t.Name]
	var traces []flowTrace
	distinct := map[string]int{} // signature → index in path.Flows
	for i := 0; i < flows; i++ {
		if i > 0 && i >= mdaFlows[min(len(distinct), len(mdaFlows))-1] {
			break // the paths seen are confirmed with 95 % confidence
		}
		f, err := p.flow(nw, dst, src, i)
		if err != nil {
			return err
		}
		var hint flowTrace
		if i < len(hints) {
			hint = hints[i]
		} else if i > 0 {
			hint = traces[0] // same routers and distance, likely
		}
		ft, err := eng.trace(ctx, f, hint.hops, hint.reached, time.Now().Add(p.cfg.Timeout))
		ft.hops = slices.Clone(ft.hops)
		traces = append(traces, ft)
		path.probes += ft.sent
		path.deepest = max(path.deepest, ft.deepest)
		if err != nil {
			p.hints[t.Name] = nil
			return err
		}
		links := attribute(p.deps.Site, ft.hops)
		if i == 0 {
			path.Hops, path.Reached = ft.hops, ft.reached
		}
		if p.cfg.ECMPFlows > 0 {
			sig := signature(ft.hops, ft.reached)
			if j, ok := distinct[sig]; ok {
				path.Flows[j].Flows = append(path.Flows[j].Flows, i)
			} else {
				distinct[sig] = len(path.Flows)
				path.Flows = append(path.Flows, FlowPath{Flows: []int{i}, Reached: ft.reached, Hops: ft.hops, Links: links})
			}
		}
		for _, l := range links {
			if !slices.Contains(path.Links, l) {
				path.Links = append(path.Links, l)
			}
		}
	}
	slices.Sort(path.Links)
	path.Result = result(path.Links)
	p.hints[t.Name] = traces
	return nil
}

// Describe implements prometheus.Collector.
func (p *Probe) Describe(ch chan<- *prometheus.Desc) {
	ch <- pathLinkDesc
	ch <- hopsDesc
	ch <- durationDesc
	ch <- reachedDesc
	p.changes.Describe(ch)
}

// Collect implements prometheus.Collector: the latest path of every target
// traced so far, and the change counters.
func (p *Probe) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.targets {
		path := p.paths[t.Name]
		if path == nil {
			continue
		}
		for _, l := range p.deps.Site.Links {
			ch <- prometheus.MustNewConstMetric(pathLinkDesc, prometheus.GaugeValue,
				expose.Bool(slices.Contains(path.Links, l.Name)), t.Name, l.Name)
		}
		ch <- prometheus.MustNewConstMetric(hopsDesc, prometheus.GaugeValue, float64(len(path.Hops)), t.Name)
		ch <- prometheus.MustNewConstMetric(durationDesc, prometheus.GaugeValue, path.Duration.Seconds(), t.Name)
		ch <- prometheus.MustNewConstMetric(reachedDesc, prometheus.GaugeValue, expose.Bool(path.Reached), t.Name)
	}
	p.changes.Collect(ch)
}

// Paths returns a copy of the latest path of every target traced so far, in
// the site's target order.
func (p *Probe) Paths() []Path {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []Path{}
	for _, t := range p.targets {
		if path := p.paths[t.Name]; path != nil {
			out = append(out, *path)
		}
	}
	return out
}

// APIPath implements probes.APIHandler.
func (p *Probe) APIPath() string { return "/api/paths" }

// ServeHTTP implements probes.APIHandler: the latest paths as JSON.
func (p *Probe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	expose.ServeJSON(w, r, func() any {
		return struct {
			Probe string `json:"probe"`
			Paths []Path `json:"paths"`
		}{p.name, p.Paths()}
	})
}

var (
	_ probes.Probe      = (*Probe)(nil)
	_ probes.APIHandler = (*Probe)(nil)
	_ probes.Checker    = (*Probe)(nil)
)
