package ping

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
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

// phase spreads the targets over an interval, the same for a name every
// time, so that 1,000 targets at 1 s do not send in one burst.
func phase(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// schedule sends every echo and judges every deadline, from one goroutine
// and one timer for all targets: the next target due is at the top of a
// heap ordered by its next event (a send or a deadline).
func (p *Probe) schedule(ctx context.Context) {
	h := &targetHeap{}
	in := map[*target]bool{}
	reread := func(now time.Time) {
		current := p.snapshot()
		seen := make(map[*target]bool, len(current))
		for _, t := range current {
			seen[t] = true
			if !in[t] {
				t.nextSend = now.Add(phase(t.spec.name, t.spec.interval))
				t.nextEvent = t.nextSend
				heap.Push(h, t)
				in[t] = true
			}
		}
		for t := range in {
			if !seen[t] {
				heap.Remove(h, t.heapIdx)
				delete(in, t)
			}
		}
	}
	reread(time.Now())
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	buf := make([]byte, 8+MaxSize)
	var lost []loss
	for {
		now := time.Now()
		for h.Len() > 0 && !(*h)[0].nextEvent.After(now) {
			t := (*h)[0]
			lost = p.step(t, now, buf, lost[:0])
			heap.Fix(h, 0)
		}
		wait := time.Hour
		if h.Len() > 0 {
			wait = time.Until((*h)[0].nextEvent)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-p.wake:
			reread(time.Now())
		}
	}
}

// step judges t's expired echoes and sends its next echo when due.
func (p *Probe) step(t *target, now time.Time, buf []byte, lost []loss) []loss {
	s := t.spec
	t.mu.Lock()
	d, pending := t.tr.nextDeadline()
	t.mu.Unlock()
	if pending && !now.Before(d) && t.sock != nil {
		// An echo is due to be judged lost: first handle the replies the
		// socket holds, which the reader may not have got to (a busy
		// host), so that one that arrived in time is not taken for a loss.
		if err := t.sock.conn.Drain(t.sock.handle); err != nil && !errors.Is(err, net.ErrClosed) {
			p.log.Debug("icmp read", "err", err)
		}
	}
	t.mu.Lock()
	lost = t.tr.expire(now, lost)
	send := false
	var seq uint32
	addr, resolveErr := t.addr, t.resolveErr
	if !now.Before(t.nextSend) {
		due := t.nextSend
		t.nextSend = due.Add(s.interval)
		if !t.nextSend.After(now) {
			// Fell behind (a stalled process): skip, never burst.
			due, t.nextSend = now, now.Add(s.interval)
		}
		if t.resolved { // a name waits for its first resolution
			seq, lost = t.tr.send(due, now, lost)
			send = true
		}
	}
	t.nextEvent = t.nextSend
	if d, ok := t.tr.nextDeadline(); ok && d.Before(t.nextEvent) {
		t.nextEvent = d
	}
	t.mu.Unlock()

	p.emitLosses(t, lost)
	if !send {
		return lost
	}
	t.mSent.Inc()
	var err error
	switch {
	case !addr.IsValid():
		err = fmt.Errorf("resolve %s: %w", s.host, resolveErr)
	case t.sock == nil:
		return lost
	default:
		msg := buf[:8+s.size]
		clear(msg[8+headerLen:])
		marshalEcho(msg, addr.Is6(), echo{id: t.sock.id, nonce: p.nonce, token: t.token, seq: seq})
		err = t.sock.conn.WriteTo(msg, addr)
	}
	p.sendResult(t, seq, addr, err)
	return lost
}

// sendResult records the outcome of a send: an echo that could not be sent
// is lost at its deadline like any other.
func (p *Probe) sendResult(t *target, seq uint32, addr netip.Addr, err error) {
	t.mu.Lock()
	prev := t.sendErr
	t.sendErr = err
	t.mu.Unlock()
	switch {
	case err == nil && prev != nil:
		p.log.Info("sending echoes works again", "target", t.spec.name, "address", addr)
	case err != nil:
		if t.removed.Load() {
			return
		}
		if prev == nil || prev.Error() != err.Error() {
			p.log.Warn("cannot send echo", "target", t.spec.name, "address", addr, "err", err)
		}
		if !isRouteError(err) {
			p.roundError(err)
		}
	default:
		if p.log.Enabled(context.Background(), slog.LevelDebug) {
			p.log.Debug("echo sent", "target", t.spec.name, "address", addr, "seq", seq)
		}
	}
}

func (p *Probe) roundError(err error) {
	p.mu.Lock()
	if p.roundErr == nil {
		p.roundErr = err
	}
	p.mu.Unlock()
}

func (p *Probe) emitLosses(t *target, lost []loss) {
	for _, l := range lost {
		p.deps.Observer.Observe(probes.Observation{
			Time: l.deadline, Event: probes.EchoLost, Probe: p.name,
			Target: t.spec.name, Link: t.spec.link, Seq: int(l.seq), Count: l.count,
		})
		if l.count == t.spec.downAfter {
			p.log.Info("ping target down", "target", t.spec.name, "link", t.spec.link, "lost", l.count)
		} else if p.log.Enabled(context.Background(), slog.LevelDebug) {
			p.log.Debug("echo lost", "target", t.spec.name, "seq", l.seq, "consecutive", l.count)
		}
	}
}

// read receives the replies of one socket until it is closed.
func (p *Probe) read(s *socket) {
	failures := 0
	var last time.Time
	for {
		err := s.conn.Receive(s.handle)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		// Transient errors (ICMP errors queued on the socket): keep
		// reading, but never spin on a persistent one.
		if time.Since(last) > time.Second {
			failures = 0
		}
		last = time.Now()
		failures++
		p.log.Debug("icmp read", "err", err)
		if failures > 10 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// handle judges one ICMP message that arrived at now.
func (p *Probe) handle(s *socket, msg []byte, src netip.Addr, now time.Time, lost []loss) []loss {
	e, ok := parseEchoReply(msg, s.key.v6)
	if !ok || e.nonce != p.nonce || (s.raw && e.id != s.id) || e.icmpSeq != uint16(e.seq) {
		return lost
	}
	t := (*p.byToken.Load())[e.token]
	if t == nil {
		return lost
	}
	t.mu.Lock()
	if src != t.addr.WithZone("") {
		t.mu.Unlock()
		p.log.Debug("echo reply from another address", "target", t.spec.name, "from", src)
		return lost
	}
	wasDown := t.tr.known && !t.tr.up && t.tr.consecutive >= t.spec.downAfter
	downSince := t.tr.downSince
	kind, rtt, lost := t.tr.reply(e.seq, now, lost)
	t.mu.Unlock()

	p.emitLosses(t, lost)
	switch kind {
	case replyOnTime:
		t.mRecv.Inc()
		t.mRTT.Observe(rtt.Seconds())
		p.deps.Observer.Observe(probes.Observation{
			Time: now, Event: probes.EchoReply, Probe: p.name,
			Target: t.spec.name, Link: t.spec.link, Seq: int(e.seq), RTT: rtt,
		})
		if wasDown {
			p.log.Info("ping target up", "target", t.spec.name, "link", t.spec.link, "down_for", now.Sub(downSince).Round(time.Millisecond))
		}
	case replyDuplicate:
		t.mDup.Inc()
		p.log.Debug("duplicate echo reply", "target", t.spec.name, "seq", e.seq)
	case replyLate:
		p.log.Debug("late echo reply", "target", t.spec.name, "seq", e.seq, "rtt", rtt)
	}
	return lost
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

// resolve resolves the names of the targets: only those never tried when
// fresh is set. A failed resolution keeps the previous address, so that a
// DNS hiccup does not look like loss.
func (p *Probe) resolve(ctx context.Context, fresh bool) {
	for _, t := range p.snapshot() {
		if !t.isName || t.removed.Load() {
			continue
		}
		t.mu.Lock()
		tried := t.resolved
		t.mu.Unlock()
		if fresh && tried {
			continue
		}
		a, err := lookup(ctx, p.resolver, t.spec.host, t.spec.source)
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		old := t.addr
		t.resolved, t.resolveErr = true, err
		if err == nil {
			t.addr = a
		}
		t.mu.Unlock()
		switch {
		case err != nil:
			p.log.Warn("cannot resolve ping target", "target", t.spec.name, "host", t.spec.host, "err", err)
			p.roundError(err)
		case a != old:
			p.log.Info("ping target resolved", "target", t.spec.name, "host", t.spec.host, "address", a)
		}
	}
}

// lookup resolves host to one address, of the source's family when a
// source is set.
func lookup(ctx context.Context, r Resolver, host string, source netip.Addr) (netip.Addr, error) {
	network := "ip"
	if source.IsValid() {
		network = "ip4"
		if source.Is6() {
			network = "ip6"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %s: no %s address", host, network)
	}
	return addrs[0].Unmap(), nil
}

// ResolveTargets resolves the site's target names as the probe will, for
// `dxwatch check-config`. Its problems have paths from the configuration's
// root ("targets[2].address"), since the targets live in the site: merge
// them with an empty prefix. Addresses need no resolution; a name that
// resolves to no address of the source's family is a problem too.
func ResolveTargets(ctx context.Context, cfg Config, site probes.Site, r Resolver) error {
	if r == nil {
		r = net.DefaultResolver
	}
	var ps probes.Problems
	for i, t := range site.Targets {
		if _, err := netip.ParseAddr(t.Host); err == nil {
			continue
		}
		s, _ := cfg.settingsFor(t.Name)
		if _, err := lookup(ctx, r, t.Host, s.source); err != nil {
			ps.Addf(fmt.Sprintf("targets[%d].address", i), "%v: use an address or a name the agent's resolver knows", err)
		}
	}
	return ps.Err()
}

// targetHeap orders targets by their next event.
type targetHeap []*target

func (h targetHeap) Len() int           { return len(h) }
func (h targetHeap) Less(i, j int) bool { return h[i].nextEvent.Before(h[j].nextEvent) }
func (h targetHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *targetHeap) Push(x any) {
	t := x.(*target)
	t.heapIdx = len(*h)
	*h = append(*h, t)
}
func (h *targetHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}
