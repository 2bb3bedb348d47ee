package health

import (
	"context"
	"log/slog"
	"net/netip"
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
//
// The model judges each address family on its own (family.go): a family
// holds the links' peerings of that family, the VPC targets of that
// family, and its own active links and failover machine, so that an
// IPv6-only failover is an IPv6 failover. A link's state is the summary
// of its peerings' (summary.go).
type Model struct {
	cfg     Config
	site    probes.Site
	log     *slog.Logger
	now     func() time.Time
	trigger func(string)
	hook    func(Event)

	queue   chan probes.Observation
	dropped atomic.Uint64

	mu        sync.Mutex
	fams      []*family // in the order of the links' peerings
	summaries []*linkSummary
	feeds     []*boolEv // BGP sessions to the edge routers (no link)
	siteAWS   []*boolEv // AWS checks that belong to no link
	events    ring[Event]
	nextID    uint64
	last      *Event // the last failover or outage of any family
	hist      *prometheus.HistogramVec
	ignored   map[string]float64
	processed uint64
	evalAt    time.Time
	started   time.Time // when New ran: the start of the unbroken watch
	outEvents []Event   // for the hook, handed over after unlocking
	outTrig   []string  // for the trigger, likewise
}

// family is the model of one address family's traffic. It embeds the
// Model for what the families share (configuration, clock, the route
// feeds, the history); its own fields are its links' peerings, targets,
// evidence and failover machine.
type family struct {
	*Model
	name     string // probes.FamilyIPv4 or probes.FamilyIPv6
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
	best           []*bestPath
	notes          ring[TimelineStep]
	stable         uint64 // the family's active links once known
	known          bool   // stable is known
	current        uint64 // the family's active links now (while current is known)
	curKnown       bool
	pending        *pending
	last           *Event // the family's last failover or outage
	failovers      map[[2]string]float64
	hist           prometheus.Observer
	scratch        []maskCount
	activeCounts   []maskCount // targets per set of active links (setActive)
}

type linkState struct {
	link    probes.Link
	state   State
	sig     uint64
	since   time.Time
	trouble time.Time // when the current down (or degraded) period began
	// dual says that the link has a peering in another family too: its
	// events name the family, and the link's state is their summary.
	dual bool
	// Evidence, each list in arrival order and bounded.
	sessions []*boolEv // per edge router reporting the DX session
	prefixes []*boolEv // per prefix
	aws      []*boolEv // per check
	pinned   []*echoState
	traced   time.Time // newest trace crossing the link
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
		cfg:     cfg,
		site:    site,
		log:     logger,
		now:     time.Now,
		queue:   make(chan probes.Observation, max(cfg.QueueSize, 1)),
		events:  newRing[Event](max(cfg.EventsMax, 1)),
		ignored: map[string]float64{},
		hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "dxwatch_failover_duration_seconds",
			Help:                            "Measured traffic outage of each failover of the active link of an address family (lost echoes × probe interval, the longest among the family's VPC targets).",
			Buckets:                         []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 90, 120},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"family"}),
	}
	for _, o := range opts {
		o(m)
	}
	m.started = m.now()
	m.buildFamilies()
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

func (m *family) note(s TimelineStep) { m.notes.add(s) }

// noteAll notes s in every family: a step that concerns them all (the
// route feed).
func (m *Model) noteAll(s TimelineStep) {
	for _, f := range m.fams {
		f.note(s)
	}
}
