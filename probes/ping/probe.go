package ping

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dxwatch/dxwatch/probes"
)

// Kind is the probe kind, as in the configuration section's name.
const Kind = "ping"

// sockKey says which socket a target's echoes leave by.
type sockKey struct {
	v6     bool
	source netip.Addr
	iface  string
	dscp   int
	ttl    int
}

// packetConn is an ICMP socket: the boundary tests replace with a fake.
type packetConn interface {
	// WriteTo sends one ICMP message to dst.
	WriteTo(msg []byte, dst netip.Addr) error
	// Receive waits for messages and calls handle with each, until the
	// socket is closed (net.ErrClosed) or a read fails.
	Receive(handle handler) error
	// Drain calls handle with every message already queued, without
	// waiting. Once it returns, every message the socket had received when
	// it was called has been handled, by Drain or by Receive.
	Drain(handle handler) error
	// Close closes the socket; a blocked Receive returns net.ErrClosed.
	Close() error
}

// handler judges one ICMP message (without IP header) from src that the
// kernel received at at. A socket calls it for one message at a time.
type handler func(msg []byte, src netip.Addr, at time.Time)

// listenFunc opens the socket of a key. raw says the replies carry the
// identifier id as sent (raw sockets); unprivileged ICMP sockets rewrite it
// and demultiplex by it themselves.
type listenFunc func(k sockKey) (c packetConn, raw bool, id uint16, err error)

// Resolver resolves target names; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// socket is one open ICMP socket, shared by every target of its key.
type socket struct {
	key    sockKey
	conn   packetConn
	raw    bool
	id     uint16
	users  int // targets using it, guarded by Probe.mu
	handle handler
}

// Probe sends echoes to every target and judges each one: a reply, or a
// loss the moment its deadline passes. It implements probes.Probe and
// probes.Checker.
type Probe struct {
	name     string
	deps     probes.Deps
	log      *slog.Logger
	listen   listenFunc
	resolver Resolver
	nonce    uint32

	mu        sync.Mutex
	cfg       Config
	targets   map[string]*target
	order     []*target // configuration order
	socks     map[sockKey]*socket
	running   bool
	readers   sync.WaitGroup
	nextToken uint32
	roundErr  error

	byToken    atomic.Pointer[map[uint32]*target]
	wake       chan struct{} // the scheduler rereads the targets
	resolveNow chan struct{} // resolve names not tried yet

	rtt                  *prometheus.HistogramVec
	sent, received, dups *prometheus.CounterVec
	upDesc, jitterDesc   *prometheus.Desc
}

// New builds the probe for the targets of deps.Site; it opens no socket.
func New(name string, cfg Config, deps probes.Deps) (*Probe, error) {
	if err := cfg.Validate(deps.Site); err != nil {
		return nil, fmt.Errorf("ping probe %s: %w", name, err)
	}
	deps = deps.WithDefaults(Kind, name)
	p := &Probe{
		name:       name,
		deps:       deps,
		log:        deps.Logger,
		listen:     listenICMP,
		resolver:   net.DefaultResolver,
		nonce:      rand.Uint32(),
		targets:    map[string]*target{},
		socks:      map[sockKey]*socket{},
		nextToken:  rand.Uint32(),
		wake:       make(chan struct{}, 1),
		resolveNow: make(chan struct{}, 1),
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "dxwatch_ping_rtt_seconds",
			Help:                            "Round-trip time of echo replies received on time.",
			Buckets:                         []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"target"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dxwatch_ping_sent_total",
			Help: "Echo requests sent, including those the kernel refused (no route) and those to an unresolved name; each is later received or lost.",
		}, []string{"target"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dxwatch_ping_received_total",
			Help: "Echo replies received before their timeout (duplicates and late replies not counted).",
		}, []string{"target"}),
		dups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dxwatch_ping_duplicates_total",
			Help: "Duplicate echo replies.",
		}, []string{"target"}),
		upDesc: prometheus.NewDesc("dxwatch_ping_up",
			"Whether the target answers: 0 before the first reply and after down_after consecutive losses.", []string{"target"}, nil),
		jitterDesc: prometheus.NewDesc("dxwatch_ping_jitter_seconds",
			"Mean absolute difference of consecutive round-trip times over the last jitter_window replies.", []string{"target"}, nil),
	}
	empty := map[uint32]*target{}
	p.byToken.Store(&empty)
	if err := p.apply(cfg, deps.Site); err != nil {
		return nil, err
	}
	return p, nil
}

// Name returns the probe's name.
func (p *Probe) Name() string { return p.name }

// target is one probed address and its state.
type target struct {
	spec   targetSpec
	token  uint32
	sock   *socket // set while running, under Probe.mu
	isName bool    // spec.host is a DNS name

	mSent, mRecv, mDup prometheus.Counter
	mRTT               prometheus.Observer

	removed atomic.Bool

	mu         sync.Mutex
	addr       netip.Addr
	resolved   bool // a resolution was tried (always true for an address)
	resolveErr error
	sendErr    error
	tr         *tracker

	// owned by the scheduler goroutine
	nextSend  time.Time
	nextEvent time.Time
	heapIdx   int
}

// Update applies a new configuration and site: targets whose settings and
// address did not change keep running, with their counters; the others are
// started or stopped. On error (an invalid configuration or a socket that
// cannot be opened) the previous targets keep running.
func (p *Probe) Update(cfg Config, site probes.Site) error {
	if err := cfg.Validate(site); err != nil {
		return fmt.Errorf("ping probe %s: %w", p.name, err)
	}
	return p.apply(cfg, site)
}

func (p *Probe) apply(cfg Config, site probes.Site) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	specs := targetSpecs(cfg, site)
	next := make(map[string]*target, len(specs))
	order := make([]*target, 0, len(specs))
	var added []*target
	for _, s := range specs {
		t, ok := p.targets[s.name]
		if !ok || t.spec != s {
			t = p.newTarget(s)
			added = append(added, t)
		}
		next[s.name] = t
		order = append(order, t)
	}
	if p.running {
		for i, t := range added {
			if err := p.acquire(t); err != nil {
				for _, u := range added[:i] {
					p.release(u)
				}
				return fmt.Errorf("ping target %s: %w", t.spec.name, err)
			}
		}
	}
	for name, old := range p.targets {
		if next[name] == old {
			continue
		}
		old.removed.Store(true)
		if p.running {
			p.release(old)
		}
		if _, kept := next[name]; !kept {
			p.rtt.DeleteLabelValues(name)
			p.sent.DeleteLabelValues(name)
			p.received.DeleteLabelValues(name)
			p.dups.DeleteLabelValues(name)
		}
	}
	p.cfg, p.targets, p.order = cfg, next, order
	tokens := make(map[uint32]*target, len(order))
	for _, t := range order {
		tokens[t.token] = t
	}
	p.byToken.Store(&tokens)
	if p.running && len(added) > 0 {
		p.log.Info("ping targets updated", "started", len(added), "targets", len(order))
	}
	signal(p.wake)
	signal(p.resolveNow)
	return nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (p *Probe) newTarget(s targetSpec) *target {
	p.nextToken++
	t := &target{
		spec:  s,
		token: p.nextToken,
		mSent: p.sent.WithLabelValues(s.name),
		mRecv: p.received.WithLabelValues(s.name),
		mDup:  p.dups.WithLabelValues(s.name),
		mRTT:  p.rtt.WithLabelValues(s.name),
		tr:    newTracker(s.timeout, s.minTimeout, s.downAfter, s.window, rand.Uint32()),
	}
	if a, err := netip.ParseAddr(s.host); err == nil {
		t.addr, t.resolved = a.Unmap(), true
	} else {
		t.isName = true
	}
	return t
}

// key returns the socket key of t: its family is its address's when known,
// else its source's, else IPv4.
func (t *target) key() sockKey {
	v6 := t.spec.source.IsValid() && t.spec.source.Is6()
	if !t.isName {
		v6 = t.addr.Is6()
	}
	return sockKey{v6: v6, source: t.spec.source, iface: t.spec.iface, dscp: t.spec.dscp, ttl: t.spec.ttl}
}

// acquire opens (or shares) the socket of t. Called with p.mu held.
func (p *Probe) acquire(t *target) error {
	k := t.key()
	s, ok := p.socks[k]
	if !ok {
		c, raw, id, err := p.listen(k)
		if err != nil {
			if t.spec.probeSource && isAddrNotAvailable(err) {
				return fmt.Errorf("probe_source %s of link %s is not an address of this host: "+
					"add the address to the agent host and have the edge advertise it over link %s only: %w",
					k.source, t.spec.link, t.spec.link, err)
			}
			return err
		}
		s = &socket{key: k, conn: c, raw: raw, id: id}
		var lost []loss // the socket calls handle for one message at a time
		s.handle = func(msg []byte, src netip.Addr, at time.Time) {
			lost = p.handle(s, msg, src, at, lost[:0])
		}
		p.socks[k] = s
		mode := "unprivileged"
		if raw {
			mode = "raw"
		}
		p.log.Debug("icmp socket open", "mode", mode, "ipv6", k.v6, "source", k.source, "interface", k.iface)
		p.readers.Add(1)
		go func() {
			defer p.readers.Done()
			p.read(s)
		}()
	}
	s.users++
	t.sock = s
	return nil
}

// release stops t using its socket, closing it when t was the last user.
// Called with p.mu held.
func (p *Probe) release(t *target) {
	s := t.sock
	if s == nil {
		return
	}
	s.users--
	if s.users == 0 {
		s.conn.Close()
		delete(p.socks, s.key)
	}
}

// Run opens the sockets and probes until ctx is done. It fails only when a
// socket cannot be opened, for example without permission for ICMP.
func (p *Probe) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		return errors.New("ping: probe already running")
	}
	for i, t := range p.order {
		if err := p.acquire(t); err != nil {
			for _, u := range p.order[:i] {
				p.release(u)
			}
			p.mu.Unlock()
			p.readers.Wait()
			return fmt.Errorf("ping target %s: %w", t.spec.name, err)
		}
	}
	p.running = true
	p.mu.Unlock()
	p.log.Info("ping probe started", "targets", len(p.snapshot()))

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.schedule(ctx) }()
	go func() { defer wg.Done(); p.housekeep(ctx) }()
	wg.Wait()

	p.mu.Lock()
	p.running = false
	for _, s := range p.socks {
		s.conn.Close()
	}
	clear(p.socks)
	for _, t := range p.targets {
		t.sock = nil
	}
	p.mu.Unlock()
	p.readers.Wait()
	return nil
}

// snapshot returns the current targets in configuration order.
func (p *Probe) snapshot() []*target {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.order
}

// housekeep resolves names and closes a status round every period.
func (p *Probe) housekeep(ctx context.Context) {
	p.resolve(ctx, true)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start, lastResolve := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.resolveNow:
			p.resolve(ctx, true)
		case now := <-tick.C:
			p.mu.Lock()
			period := max(time.Second, p.maxInterval())
			every := p.cfg.ResolveInterval
			p.mu.Unlock()
			if now.Sub(lastResolve) >= every {
				p.resolve(ctx, false)
				lastResolve = now
			}
			if now.Sub(start) >= period {
				p.mu.Lock()
				err := p.roundErr
				p.roundErr = nil
				p.mu.Unlock()
				p.deps.Status.Done(start, err)
				start = now
			}
		}
	}
}

// maxInterval is the longest target interval. Called with p.mu held.
func (p *Probe) maxInterval() time.Duration {
	var d time.Duration
	for _, t := range p.order {
		d = max(d, t.spec.interval)
	}
	return d
}
