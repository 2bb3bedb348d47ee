package health

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dxwatch/dxwatch/probes"
)

// Option configures a Model.
type Option func(*Model)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(m *Model) { m.now = now } }

// WithTrigger sets f, called with a VPC target's name when its echoes start
// to get lost, when they come back and when a link goes down or up, so that
// the agent can ask the trace probe for an immediate trace. f is called from
// the goroutine processing observations (Run or Step), outside the model's
// lock, and must not block; calls for one target are at least
// triggerSpacing apart.
func WithTrigger(f func(target string)) Option { return func(m *Model) { m.trigger = f } }

// WithEventHook sets f, called with every event once it is recorded, from
// the goroutine processing observations (Run or Step), outside the model's
// lock: f may call Status or Events, and must not block.
func WithEventHook(f func(Event)) Option { return func(m *Model) { m.hook = f } }

// triggerSpacing is the least time between two trace triggers of a target.
const triggerSpacing = 100 * time.Millisecond

// Caps on what observations can make the model remember, so that a
// misbehaving probe cannot grow it without bound.
const (
	maxPinnedPerLink = 16
	maxSessions      = 64
	maxPrefixes      = 1024
	maxChecks        = 256
)

// Model fuses observations into link states, the active link per VPC target
// and failover events. Observe is safe for concurrent use and never blocks;
// Run (or Step, in tests) processes what Observe queued.
type Model struct {
	cfg     Config
	site    probes.Site
	log     *slog.Logger
	now     func() time.Time
	trigger func(string)
	hook    func(Event)

	queue   chan probes.Observation
	dropped atomic.Uint64

	mu       sync.Mutex
	links    []*linkState
	linkIdx  map[string]int // by name and by peer address
	allMask  uint64
	downMask uint64
	// The links AWS returns replies over (returnpath.go): now, those that
	// stopped less than carrierSettle ago, and when the set last changed.
	carriers       uint64
	formerCarriers uint64
	carriersAt     time.Time
	primary        int // index of the primary link, -1 when none
	targets        []*targetState
	targetIdx      map[string]int // by name and by host
	pinned         map[string]*echoState
	feeds          []*boolEv // BGP sessions to the edge routers (no link)
	siteAWS        []*boolEv // AWS checks that belong to no link
	best           []*bestPath
	notes          ring[Step]
	events         ring[Event]
	nextID         uint64
	stable         uint64 // the site's active links once known
	known          bool   // stable is known
	current        uint64 // the site's active links now (while current is known)
	curKnown       bool
	pending        *pending
	last           *Event // the last failover or outage
	failovers      map[[2]string]float64
	hist           prometheus.Histogram
	ignored        map[string]float64
	processed      uint64
	evalAt         time.Time
	started        time.Time // when New ran: the start of the unbroken watch
	scratch        []maskCount
	outEvents      []Event  // for the hook, handed over after unlocking
	outTrig        []string // for the trigger, likewise
}

type linkState struct {
	link    probes.Link
	state   State
	sig     uint64
	since   time.Time
	trouble time.Time // when the current down (or degraded) period began
	// wasUp is the last verified verdict, up or degraded (not down or
	// unknown): dxwatch_link_up keeps it while the link is unverified.
	wasUp bool
	// Evidence, each list in arrival order and bounded.
	sessions []*boolEv // per edge router reporting the DX session
	// sessions6 are the reports of a dual-stack link's IPv6 peering's
	// session, per edge router: dxwatch_peering_up's evidence only, not
	// (yet) the link's verdict's.
	sessions6 []*boolEv
	prefixes  []*boolEv // per prefix
	aws       []*boolEv // per check
	pinned    []*echoState
	traced    time.Time // newest trace crossing the link
}

// boolEv is one piece of yes/no evidence and when it was seen.
type boolEv struct {
	key    string
	pfx    netip.Prefix
	up     bool
	at     time.Time
	detail string
}

type targetState struct {
	target   probes.Target
	addr     netip.Addr // valid when Host is an address
	echo     *echoState
	best     *bestPath // the most specific best path covering addr
	trace    uint64    // links the newest attributed trace crossed
	traceAt  time.Time // when that trace finished
	tracedAt time.Time // newest trace, attributed or not
	reached  bool
	active   uint64
	known    bool
	source   string
	okAfter  int // replies since the pending failover's new path was seen
	trigAt   time.Time
}

type bestPath struct {
	pfx  netip.Prefix
	link int // -1: no path left
	at   time.Time
}

type pending struct {
	from, to      uint64
	openAt, toAt  time.Time
	trouble       time.Time
	windowStart   time.Time
	cause         string
	pinnedLoss    time.Time
	pinnedLossWho string
}

type maskCount struct {
	mask  uint64
	count int
}

// New returns a model of site. It starts nothing: call Run.
func New(cfg Config, site probes.Site, logger *slog.Logger, opts ...Option) *Model {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Model{
		cfg:       cfg,
		site:      site,
		log:       logger,
		now:       time.Now,
		queue:     make(chan probes.Observation, max(cfg.QueueSize, 1)),
		linkIdx:   map[string]int{},
		primary:   -1,
		targetIdx: map[string]int{},
		pinned:    map[string]*echoState{},
		notes:     newRing[Step](notesMax),
		events:    newRing[Event](max(cfg.EventsMax, 1)),
		failovers: map[[2]string]float64{},
		ignored:   map[string]float64{},
		hist: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:                            "dxwatch_failover_duration_seconds",
			Help:                            "Measured traffic outage of each failover of the site's active link (lost echoes × probe interval, the longest among the VPC targets).",
			Buckets:                         []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 90, 120},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}),
	}
	for _, o := range opts {
		o(m)
	}
	m.started = m.now()
	for i, l := range site.Links {
		if i >= maxLinks {
			break
		}
		m.links = append(m.links, &linkState{link: l, state: StateUnknown})
		m.allMask |= 1 << i
		m.linkIdx[l.Name] = i
		for _, p := range []netip.Prefix{l.AmazonAddress, l.CustomerAddress} {
			if p.IsValid() {
				m.linkIdx[p.Addr().String()] = i
				m.linkIdx[p.String()] = i
			}
		}
		if l.Name == site.Routing.Primary || (site.Routing.Primary == "" && l.Role == probes.RolePrimary && m.primary < 0) {
			m.primary = i
		}
	}
	for i, t := range site.Targets {
		ts := &targetState{target: t}
		if a, err := netip.ParseAddr(t.Host); err == nil {
			ts.addr = a.Unmap()
		}
		m.targets = append(m.targets, ts)
		if t.Host != "" {
			m.targetIdx[t.Host] = i
		}
		m.targetIdx[t.Name] = i
	}
	for _, p := range site.Routing.ExpectedPrefixes {
		m.best = append(m.best, &bestPath{pfx: p.Masked(), link: -1})
	}
	m.resolveTargetPrefixes()
	for i := range m.links {
		for j := range m.links {
			if i != j {
				m.failovers[[2]string{m.links[i].link.Name, m.links[j].link.Name}] = 0
			}
		}
	}
	return m
}

// Observe queues o for processing. It never blocks: when the queue is full
// the observation is dropped and counted.
func (m *Model) Observe(o probes.Observation) {
	select {
	case m.queue <- o:
	default:
		m.dropped.Add(1)
	}
}

// Run processes observations and re-evaluates staleness every
// cfg.Evaluate until ctx is done, then returns nil.
func (m *Model) Run(ctx context.Context) error {
	tick := time.NewTicker(max(m.cfg.Evaluate, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case o := <-m.queue:
			m.mu.Lock()
			now := m.now()
			m.process(o, now)
			m.drainLocked(now)
			m.unlockAndNotify()
		case <-tick.C:
			m.Step(m.now())
		}
	}
}

// Step processes every queued observation, then evaluates the model at now
// (staleness, timeouts). Run calls it on its ticker; tests call it with
// their own clock.
func (m *Model) Step(now time.Time) {
	m.mu.Lock()
	m.drainLocked(now)
	m.evaluate(now, now)
	m.unlockAndNotify()
}

// unlockAndNotify releases the lock, then calls the hook and the trigger
// with what processing produced, so that they may call the model.
func (m *Model) unlockAndNotify() {
	evs, trig := m.outEvents, m.outTrig
	m.outEvents, m.outTrig = nil, nil
	m.mu.Unlock()
	for _, ev := range evs {
		m.hook(ev)
	}
	for _, t := range trig {
		m.trigger(t)
	}
}

func (m *Model) drainLocked(now time.Time) {
	for n := len(m.queue); n > 0; n-- {
		select {
		case o := <-m.queue:
			m.process(o, now)
		default:
			return
		}
	}
}

func (m *Model) ignore(reason string) { m.ignored[reason]++ }

func fresh(at time.Time, limit time.Duration, now time.Time) bool {
	return limit == 0 || now.Sub(at) <= limit
}

// process applies one observation and evaluates its consequences at the
// observation's own time.
func (m *Model) process(o probes.Observation, now time.Time) {
	m.processed++
	if o.Time.IsZero() {
		o.Time = now
	}
	var limit time.Duration
	switch o.Event {
	case probes.EchoReply, probes.EchoLost:
		limit = m.cfg.StaleAfter.Ping
	case probes.PathTraced:
		limit = m.cfg.StaleAfter.Trace
	case probes.BGPSession, probes.BGPPrefix, probes.BGPBestPath:
		limit = m.cfg.StaleAfter.BGP
	case probes.AWSCheck:
		limit = m.cfg.StaleAfter.AWS
	default:
		m.ignore("unknown_event")
		return
	}
	if !fresh(o.Time, limit, now) {
		m.ignore("stale")
		return
	}
	var ok bool
	switch o.Event {
	case probes.EchoReply, probes.EchoLost:
		ok = m.applyEcho(o, now)
	case probes.PathTraced:
		ok = m.applyTrace(o)
	case probes.BGPSession:
		ok = m.applySession(o)
	case probes.BGPPrefix:
		ok = m.applyPrefix(o)
	case probes.BGPBestPath:
		ok = m.applyBestPath(o, now)
	case probes.AWSCheck:
		ok = m.applyAWS(o)
	}
	if ok {
		m.evaluate(o.Time, now)
	}
}

func (m *Model) linkOf(name string) (int, bool) {
	i, ok := m.linkIdx[name]
	if !ok {
		m.ignore("unknown_link")
	}
	return i, ok
}

func (m *Model) applyEcho(o probes.Observation, now time.Time) bool {
	if o.Family != "" {
		// A dual-stack link's IPv6 peering's pinned echoes: the link's
		// verdict is its first peering's, and the IPv6 one has no return
		// path reasoning yet (its replies' way back is not judged), so
		// they are the ping probe's evidence only.
		return false
	}
	var e *echoState
	var ts *targetState
	if o.Link != "" {
		li, ok := m.linkOf(o.Link)
		if !ok {
			return false
		}
		e = m.pinned[o.Target]
		if e == nil {
			l := m.links[li]
			if len(l.pinned) >= maxPinnedPerLink {
				m.ignore("too_many")
				return false
			}
			e = newEcho(o.Target, li, -1, m.cfg.Window)
			l.pinned = append(l.pinned, e)
			m.pinned[o.Target] = e
		}
	} else {
		ti, ok := m.targetIdx[o.Target]
		if !ok {
			m.ignore("unknown_target")
			return false
		}
		ts = m.targets[ti]
		if ts.echo == nil {
			ts.echo = newEcho(ts.target.Name, -1, ti, m.cfg.Window)
		}
		e = ts.echo
	}
	p := m.pending
	if o.Event == probes.EchoReply {
		ok, restored := e.reply(o.Time, o.Seq, o.RTT, &m.cfg)
		if !ok {
			m.ignore("out_of_order")
			return false
		}
		if ts != nil {
			if p != nil && o.Time.After(p.toAt) {
				ts.okAfter++
			}
			if restored {
				m.fire(ts, now)
			}
		}
		return true
	}
	ok, first := e.loss(o.Time, o.Count, &m.cfg)
	if !ok {
		m.ignore("out_of_order")
		return false
	}
	if ts != nil {
		if p != nil && o.Time.After(p.toAt) {
			ts.okAfter = 0
		}
		if first {
			m.fire(ts, now)
		}
	}
	return true
}

// fire asks for a trace of ts, at most every triggerSpacing.
func (m *Model) fire(ts *targetState, now time.Time) {
	if m.trigger == nil || (!ts.trigAt.IsZero() && now.Sub(ts.trigAt) < triggerSpacing) {
		return
	}
	ts.trigAt = now
	m.outTrig = append(m.outTrig, ts.target.Name)
}

func (m *Model) maskOf(names []string) uint64 {
	var mask uint64
	for _, n := range names {
		if i, ok := m.linkIdx[n]; ok {
			mask |= 1 << i
		}
	}
	return mask
}

func (m *Model) namesOf(mask uint64) []string {
	names := []string{}
	for i, l := range m.links {
		if mask&(1<<i) != 0 {
			names = append(names, l.link.Name)
		}
	}
	return names
}

// labelMask is the inverse of label.
func (m *Model) labelMask(label string) uint64 {
	if label == "none" {
		return 0
	}
	return m.maskOf(strings.Split(label, "+"))
}

func (m *Model) label(mask uint64) string {
	if mask == 0 {
		return "none"
	}
	s := ""
	for i, l := range m.links {
		if mask&(1<<i) != 0 {
			if s != "" {
				s += "+"
			}
			s += l.link.Name
		}
	}
	return s
}

func (m *Model) applyTrace(o probes.Observation) bool {
	ti, ok := m.targetIdx[o.Target]
	if !ok {
		m.ignore("unknown_target")
		return false
	}
	ts := m.targets[ti]
	if o.Time.Before(ts.tracedAt) {
		m.ignore("out_of_order")
		return false
	}
	ts.tracedAt, ts.reached = o.Time, o.Reached
	mask := m.maskOf(o.Links)
	if mask == 0 {
		// No Direct Connect hop seen (rate-limited or filtered hops): the
		// trace says nothing about the link, the last attribution ages.
		return true
	}
	if (ts.trace != 0 && mask != ts.trace) || o.Changed {
		m.note(Step{Time: o.Time, What: StepPathChange, Target: ts.target.Name, Detail: "via " + m.label(mask)})
	}
	ts.trace, ts.traceAt = mask, o.Time
	for i, l := range m.links {
		if mask&(1<<i) != 0 && o.Time.After(l.traced) {
			l.traced = o.Time
		}
	}
	return true
}

// upsert finds the evidence keyed key in *list, adding it when there is
// room. It returns nil when the list is full.
func upsert(list *[]*boolEv, key string, limit int) *boolEv {
	for _, ev := range *list {
		if ev.key == key {
			return ev
		}
	}
	if len(*list) >= limit {
		return nil
	}
	ev := &boolEv{key: key}
	*list = append(*list, ev)
	return ev
}

// set records o on ev; it reports whether o was applied and whether it
// changed the value.
func (m *Model) set(ev *boolEv, o probes.Observation) (applied, changed bool) {
	if ev == nil {
		m.ignore("too_many")
		return false, false
	}
	if o.Time.Before(ev.at) {
		m.ignore("out_of_order")
		return false, false
	}
	changed = ev.at.IsZero() || ev.up != o.Up
	ev.up, ev.at, ev.detail = o.Up, o.Time, o.Detail
	return true, changed
}

func (m *Model) applySession(o probes.Observation) bool {
	list := &m.feeds
	var l *linkState
	if o.Link != "" {
		li, ok := m.linkOf(o.Link)
		if !ok {
			return false
		}
		l = m.links[li]
		list = &l.sessions
		if o.Family == probes.FamilyIPv6 {
			applied, _ := m.set(upsert(&l.sessions6, o.Peer, maxSessions), o)
			return applied
		}
	}
	ev := upsert(list, o.Peer, maxSessions)
	applied, changed := m.set(ev, o)
	if changed {
		st := Step{Time: o.Time, What: StepSessionDown}
		if o.Up {
			st.What = StepSessionUp
		}
		if l != nil {
			st.Link, st.Detail = l.link.Name, joinDetail(dxSession(l, o.Peer), o.Detail)
		} else {
			st.Detail = joinDetail(feedSession(o.Peer, o.Up), o.Detail)
		}
		m.note(st)
	}
	return applied
}

// dxSession names link l's Direct Connect session, held by the edge router
// named router, as an engineer would: by its two ends. dxwatch cannot peer
// with AWS: only the router's BMP feed reports this session.
func dxSession(l *linkState, router string) string {
	aws := "AWS"
	if a := l.link.AmazonAddress.Addr(); a.IsValid() {
		aws += " " + a.String()
	}
	return router + " ↔ " + aws + ", seen by BMP"
}

// feedSession names the agent's own session with an edge router: the feed
// of the routes the router receives over the links.
func feedSession(router string, up bool) string {
	if up {
		return "route feed from " + router + " up"
	}
	return "route feed from " + router + " down"
}

func (m *Model) applyPrefix(o probes.Observation) bool {
	li, ok := m.linkOf(o.Link)
	if !ok {
		return false
	}
	pfx := o.Prefix.Masked()
	ev := upsert(&m.links[li].prefixes, pfx.String(), maxPrefixes)
	wasSeen := false
	if ev != nil {
		ev.pfx = pfx
		wasSeen = !ev.at.IsZero()
	}
	applied, changed := m.set(ev, o)
	// The first announcement of a prefix is start-up, not a change.
	if changed && (wasSeen || !o.Up) {
		what := StepPrefixWithdrawn
		if o.Up {
			what = StepPrefixRestored
		}
		m.note(Step{Time: o.Time, What: what, Link: m.links[li].link.Name, Detail: pfx.String()})
	}
	return applied
}

func (m *Model) applyBestPath(o probes.Observation, now time.Time) bool {
	link := -1
	if o.Link != "" {
		li, ok := m.linkOf(o.Link)
		if !ok {
			return false
		}
		link = li
	}
	pfx := o.Prefix.Masked()
	var bp *bestPath
	for _, b := range m.best {
		if b.pfx == pfx {
			bp = b
			break
		}
	}
	if bp == nil {
		if len(m.best) >= maxPrefixes {
			m.ignore("too_many")
			return false
		}
		bp = &bestPath{pfx: pfx, link: -1}
		m.best = append(m.best, bp)
		m.resolveTargetPrefixes()
	}
	if o.Time.Before(bp.at) {
		m.ignore("out_of_order")
		return false
	}
	moved := bp.link != link && !bp.at.IsZero()
	if moved {
		m.note(Step{Time: o.Time, What: StepBestPath, Link: o.Link, Detail: pfx.String() + " via " + m.label(maskOfIndex(link))})
	}
	bp.link, bp.at = link, o.Time
	if moved {
		// A trace that began before the move says where the traffic went
		// then: ask for one that shows where it goes now.
		for _, ts := range m.targets {
			if ts.best == bp {
				m.fire(ts, now)
			}
		}
	}
	return true
}

func maskOfIndex(i int) uint64 {
	if i < 0 {
		return 0
	}
	return 1 << i
}

func (m *Model) applyAWS(o probes.Observation) bool {
	list := &m.siteAWS
	link := ""
	if o.Link != "" {
		li, ok := m.linkOf(o.Link)
		if !ok {
			return false
		}
		list, link = &m.links[li].aws, m.links[li].link.Name
	}
	ev := upsert(list, o.Check, maxChecks)
	applied, changed := m.set(ev, o)
	if changed && !o.Up {
		m.note(Step{Time: o.Time, What: StepAWSCheck, Link: link, Detail: joinDetail(o.Check+" failing", o.Detail)})
	}
	return applied
}

func joinDetail(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

// resolveTargetPrefixes points every target at the most specific known
// prefix covering its address.
func (m *Model) resolveTargetPrefixes() {
	for _, ts := range m.targets {
		if !ts.addr.IsValid() {
			continue
		}
		ts.best = nil
		for _, b := range m.best {
			if b.pfx.Contains(ts.addr) && (ts.best == nil || b.pfx.Bits() > ts.best.pfx.Bits()) {
				ts.best = b
			}
		}
	}
}

func (m *Model) note(s Step) { m.notes.add(s) }
