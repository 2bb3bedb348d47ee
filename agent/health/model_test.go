package health

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// summary is the part of a failover event the scenario tests compare.
type summary struct {
	Kind      EventKind
	Direction string
	From, To  string
	Time      time.Duration
	Outage    time.Duration
	Gap       time.Duration
	Lost      int
	Cause     string
	Complete  bool
}

func summarize(e Event) summary {
	s := summary{
		Kind: e.Kind, Direction: e.Direction, From: strings.Join(e.From, "+"), To: strings.Join(e.To, "+"),
		Time: e.Time.Sub(t0), Outage: time.Duration(e.Outage), Gap: time.Duration(e.Gap), Cause: e.Cause, Complete: e.Complete,
	}
	for _, t := range e.Targets {
		s.Lost = max(s.Lost, t.Lost)
	}
	return s
}

func summaries(evs []Event) []summary {
	out := []summary{}
	for _, e := range evs {
		out = append(out, summarize(e))
	}
	return out
}

func compareSummaries(t *testing.T, got []Event, want []summary) {
	t.Helper()
	g := summaries(got)
	if !slices.Equal(g, want) {
		t.Errorf("failover events:\n got  %+v\n want %+v", g, want)
	}
}

func linkStates(evs []Event) []State {
	var out []State
	for _, e := range evs {
		out = append(out, e.State)
	}
	return out
}

// cleanCut is a cut of the primary detected by BFD: the primary's data
// plane stops at 5.05 s, BGP withdraws at 5.95 s and the edge moves the
// traffic to the secondary; the primary comes back at 20.05 s, its session
// at 20.5 s, its prefix at 20.6 s and the best path at 21 s.
func cleanCut() (*world, []probes.Observation) {
	w := defaultWorld(30 * time.Second)
	w.up = func(link string, t time.Duration) bool {
		return link != "primary" || t < ms(5050) || t >= ms(20050)
	}
	w.route = func(_ string, t time.Duration) string {
		if t >= ms(5950) && t < ms(21000) {
			return "secondary"
		}
		return "primary"
	}
	obs := merge(w.echoes(), bgpStart("primary"), []probes.Observation{
		traceObs(ms(1000), "app1", false, "primary"),
		traceObs(ms(1000), "app2", false, "primary"),
		session(ms(5950), "primary", "edge1", false, "BFD down"),
		prefix(ms(5950), "primary", false),
		bestPathObs(ms(5950), "secondary"),
		traceObs(ms(6100), "app1", true, "secondary"), // triggered by the restoration
		traceObs(ms(6110), "app2", true, "secondary"),
		session(ms(20500), "primary", "edge1", true, ""),
		prefix(ms(20600), "primary", true),
		bestPathObs(ms(21000), "primary"),
		traceObs(ms(21500), "app1", true, "primary"),
		traceObs(ms(21500), "app2", true, "primary"),
	})
	return w, obs
}

func TestCleanFailoverAndFailback(t *testing.T) {
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	_, obs := cleanCut()
	h.feed(obs)

	compareSummaries(t, h.failovers(), []summary{
		{Kind: KindFailover, Direction: DirectionFailover, From: "primary", To: "secondary", Time: ms(5400),
			Outage: ms(900), Gap: ms(1000), Lost: 9, Complete: true,
			Cause: "primary: data plane down, BGP still up (3 echoes to primary-peer lost in a row)"},
		{Kind: KindFailover, Direction: DirectionFailback, From: "secondary", To: "primary", Time: ms(21000),
			Complete: true, Cause: "BGP best path moved to primary"},
	})
	if got, want := linkStates(h.linkEvents("primary")), []State{StateUp, StateDown, StateUp}; !slices.Equal(got, want) {
		t.Errorf("primary states %v, want %v", got, want)
	}
	if got, want := linkStates(h.linkEvents("secondary")), []State{StateUp}; !slices.Equal(got, want) {
		t.Errorf("secondary states %v, want %v", got, want)
	}
	fo := h.failovers()
	if len(fo) == 0 {
		t.FailNow()
	}
	ev := fo[0]
	if got, want := ev.Started.Sub(t0), ms(5200); got != want {
		t.Errorf("started at %v, want %v (the first lost echo's deadline)", got, want)
	}
	if got, want := ev.Restored.Sub(t0), ms(6022); got != want {
		t.Errorf("restored at %v, want %v (app2's first reply over the secondary)", got, want)
	}
	var whats []string
	for _, s := range ev.Timeline {
		whats = append(whats, s.What)
	}
	for _, want := range []string{StepFirstLoss, StepLinkState, StepActiveChange, StepSessionDown, StepPrefixWithdrawn, StepBestPath, StepTrafficRestored} {
		if !slices.Contains(whats, want) {
			t.Errorf("timeline %v lacks %s", whats, want)
		}
	}
	st := h.m.Status()
	if !slices.Equal(st.Active, []string{"primary"}) || st.InProgress != nil {
		t.Errorf("after failback: active %v, in progress %v", st.Active, st.InProgress)
	}
}

// TestOutageWithinOneInterval cuts the primary at random times for random
// durations, with different RTTs on the two links, and checks that every
// measured outage is within one probe interval of the real one (cut to
// reroute). The last cases are shorter than two 100 ms intervals, as the
// lab's carrier cuts (about 130 ms): one or two echoes lost, or none.
func TestOutageWithinOneInterval(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 30 {
		cut := ms(3000 + r.IntN(1000))
		heal := cut + ms(200+r.IntN(3000))
		interval := []time.Duration{ms(10), ms(100), ms(1000)}[i%3]
		if i >= 20 {
			heal, interval = cut+ms(20+r.IntN(180)), ms(100)
		}
		t.Run(fmt.Sprintf("cut%v_heal%v_every%v", cut, heal, interval), func(t *testing.T) {
			end := heal + 20*interval + 2*time.Second
			h := newHarness(t, testSite(probes.ModeActivePassive), nil)
			w := defaultWorld(end)
			w.interval = interval
			w.rtt = map[string]time.Duration{"primary": ms(2), "secondary": ms(7)}
			w.offsets = map[string]time.Duration{"primary-peer": 0, "secondary-peer": interval / 7, "app1": interval / 3, "app2": interval / 2}
			w.up = func(link string, t time.Duration) bool { return link != "primary" || t < cut }
			w.route = func(_ string, t time.Duration) string {
				if t >= heal {
					return "secondary"
				}
				return "primary"
			}
			h.feed(merge(w.echoes(), bgpStart("primary"), []probes.Observation{
				session(heal, "primary", "edge1", false, "hold timer expired"),
				bestPathObs(heal, "secondary"),
			}))
			fo := h.failovers()
			if len(fo) != 1 {
				t.Fatalf("%d failover events, want 1: %+v", len(fo), summaries(fo))
			}
			truth := heal - cut
			for _, to := range fo[0].Targets {
				if d := time.Duration(to.Outage) - truth; d > interval || d < -interval {
					t.Errorf("%s: outage %v, real %v: off by %v, more than one interval %v", to.Target, time.Duration(to.Outage), truth, d, interval)
				}
			}
			if !fo[0].Complete {
				t.Errorf("event not complete: %+v", fo[0])
			}
		})
	}
}

func TestGreyFailure(t *testing.T) {
	// The primary's data plane dies silently at 5.05 s; without BFD the
	// session holds until the 90 s hold timer expires.
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	w := defaultWorld(100 * time.Second)
	const cut, hold = 5050, 95050
	w.up = func(link string, t time.Duration) bool { return link != "primary" || t < ms(cut) }
	w.route = func(_ string, t time.Duration) string {
		if t >= ms(hold) {
			return "secondary"
		}
		return "primary"
	}
	obs := merge(w.echoes(), bgpStart("primary"), []probes.Observation{
		traceObs(ms(1000), "app1", false, "primary"),
		traceObs(ms(1000), "app2", false, "primary"),
		traceObs(ms(5500), "app1", true), // triggered: no Direct Connect hop answers
		session(ms(hold), "primary", "edge1", false, "hold timer expired"),
		prefix(ms(hold), "primary", false),
		bestPathObs(ms(hold), "secondary"),
	})
	var downAt time.Duration
	var reasons []string
	for _, o := range obs {
		h.feed([]probes.Observation{o})
		if downAt == 0 {
			if l := h.link("primary"); l.State == StateDown {
				downAt, reasons = h.now.Sub(t0), l.Reasons
			}
		}
	}
	// The first echo sent after the cut leaves at 5.1 s; three lost echoes
	// later (deadline of the third at 5.4 s) the link is down.
	if limit := ms(cut) + 4*w.interval; downAt == 0 || downAt > limit {
		t.Fatalf("primary down at %v, want by %v (three probe intervals after the first lost echo)", downAt, limit)
	}
	if want := "data plane down, BGP still up (3 echoes to primary-peer lost in a row)"; !slices.Contains(reasons, want) {
		t.Errorf("reasons %q lack %q", reasons, want)
	}
	if !slices.Contains(h.trig, "app1") || !slices.Contains(h.trig, "app2") {
		t.Errorf("no trace triggered for the VPC targets: %v", h.trig)
	}
	fo := h.failovers()
	compareSummaries(t, fo, []summary{{
		Kind: KindFailover, Direction: DirectionFailover, From: "primary", To: "secondary", Time: ms(5400),
		Outage: ms(90000), Gap: ms(90100), Lost: 900, Complete: true,
		Cause: "primary: data plane down, BGP still up (3 echoes to primary-peer lost in a row)",
	}})
}

func TestFlappingEvidence(t *testing.T) {
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	w := defaultWorld(20 * time.Second)
	// From 5 s to 15 s the primary's pinned echoes flap: two lost, one
	// answered, never down_after in a row. The VPC targets are unaffected.
	w.up = func(link string, t time.Duration) bool {
		return link != "primary" || t < ms(5000) || t >= ms(15000) || (t/ms(100))%3 == 2
	}
	var obs []probes.Observation
	for _, o := range w.echoes() {
		if o.Link != "" {
			obs = append(obs, o)
		}
	}
	w.up = func(string, time.Duration) bool { return true }
	for _, o := range w.echoes() {
		if o.Link == "" {
			obs = append(obs, o)
		}
	}
	// The best path flaps to the secondary and back within 40 ms, three
	// times, without the traffic moving.
	flaps := []probes.Observation{}
	for i := range 3 {
		base := ms(7000 + 1000*i)
		flaps = append(flaps, bestPathObs(base, "secondary"), bestPathObs(base+ms(40), "primary"))
	}
	h.feed(merge(obs, bgpStart("primary"), flaps))

	if fo := h.failovers(); len(fo) != 0 {
		t.Errorf("flapping evidence made %d failover events: %+v", len(fo), summaries(fo))
	}
	got := linkStates(h.linkEvents("primary"))
	if want := []State{StateUp, StateDegraded, StateUp}; !slices.Equal(got, want) {
		t.Errorf("primary states %v, want %v (degraded once, never down)", got, want)
	}
}

func TestOutOfOrder(t *testing.T) {
	_, inOrder := cleanCut()
	ref := newHarness(t, testSite(probes.ModeActivePassive), nil)
	ref.feed(inOrder)
	want := summaries(ref.failovers())

	// Observations of different probes arrive up to 80 ms late and so
	// out of order; each probe's own stay in order.
	r := rand.New(rand.NewPCG(3, 4))
	type arrival struct {
		o  probes.Observation
		at time.Time
	}
	var arr []arrival
	lastPer := map[string]time.Time{}
	for _, o := range inOrder {
		a := o.Time.Add(time.Duration(r.IntN(80)) * time.Millisecond)
		key := o.Probe + o.Target + o.Link
		if a.Before(lastPer[key]) {
			a = lastPer[key]
		}
		lastPer[key] = a
		arr = append(arr, arrival{o, a})
	}
	slices.SortStableFunc(arr, func(a, b arrival) int { return a.at.Compare(b.at) })
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	for _, a := range arr {
		h.advance(a.at)
		h.m.Observe(a.o)
		h.m.Step(h.now)
	}
	got := summaries(h.failovers())
	if !slices.Equal(got, want) {
		t.Errorf("out of order:\n got  %+v\n want %+v", got, want)
	}

	// A BGP session report older than the one already applied is ignored.
	h2 := newHarness(t, testSite(probes.ModeActivePassive), nil)
	h2.feed([]probes.Observation{session(ms(100), "primary", "edge1", true, "")})
	h2.feed([]probes.Observation{session(ms(200), "primary", "edge1", false, "late and old")})
	h2.m.Observe(session(ms(150), "primary", "edge1", true, "older"))
	h2.m.Step(h2.now)
	if l := h2.link("primary"); l.State != StateDown {
		t.Errorf("an older session-up overrode a newer session-down: %s %v", l.State, l.Reasons)
	}
	if n := h2.m.ignored["out_of_order"]; n != 1 {
		t.Errorf("ignored out_of_order = %v, want 1", n)
	}
}

func TestStaleEvidence(t *testing.T) {
	t.Run("ping probe stops", func(t *testing.T) {
		h := newHarness(t, testSite(probes.ModeActivePassive), nil)
		w := defaultWorld(20 * time.Second)
		w.pinnedStop = map[string]time.Duration{"primary-peer": ms(10000)}
		h.feed(merge(w.echoes(), bgpStart("primary")))
		l := h.link("primary")
		if l.State != StateDegraded || len(l.Reasons) != 1 || !strings.HasPrefix(l.Reasons[0], "no echo result from primary-peer since ") {
			t.Errorf("primary %s %q, want degraded: no echo result", l.State, l.Reasons)
		}
	})
	t.Run("no fresh evidence at all", func(t *testing.T) {
		h := newHarness(t, testSite(probes.ModeActivePassive), nil)
		w := defaultWorld(3 * time.Second)
		w.vpc = nil
		h.feed(merge(w.echoes(), []probes.Observation{traceObs(ms(1000), "app1", false, "primary")}))
		if l := h.link("primary"); l.State != StateUp {
			t.Fatalf("primary %s before staleness", l.State)
		}
		h.advance(at(3*time.Minute + 10*time.Second))
		// The trace no longer counts; the silent ping probe degrades it.
		l := h.link("primary")
		if want := []string{"no echo result from primary-peer since 2025-06-01T12:00:02.902Z (stale after 5s)"}; l.State != StateDegraded || !slices.Equal(l.Reasons, want) {
			t.Errorf("primary %s %q after every source went stale, want degraded %q", l.State, l.Reasons, want)
		}
		if l := h.link("secondary"); l.State == StateUp {
			t.Errorf("secondary up on stale evidence: %q", l.Reasons)
		}
	})
	t.Run("observation stale on arrival", func(t *testing.T) {
		h := newHarness(t, testSite(probes.ModeActivePassive), nil)
		h.advance(at(time.Minute))
		h.m.Observe(probes.Observation{Time: at(time.Second), Event: probes.EchoReply, Target: "primary-peer", Link: "primary", Seq: 1})
		h.m.Step(h.now)
		if l := h.link("primary"); l.State != StateUnknown {
			t.Errorf("a reply 59 s old made the link %s", l.State)
		}
		if n := h.m.ignored["stale"]; n != 1 {
			t.Errorf("ignored stale = %v, want 1", n)
		}
	})
}

func TestBothLinksDown(t *testing.T) {
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	w := defaultWorld(40 * time.Second)
	// The primary dies at 5.05 s, the secondary at 5.55 s (BFD and all);
	// the secondary comes back at 30.05 s.
	w.up = func(link string, t time.Duration) bool {
		switch link {
		case "primary":
			return t < ms(5050)
		default:
			return t < ms(5550) || t >= ms(30050)
		}
	}
	w.route = func(_ string, t time.Duration) string {
		switch {
		case t < ms(5950):
			return "primary"
		case t < ms(6450):
			return "secondary"
		case t < ms(30500):
			return ""
		}
		return "secondary"
	}
	h.feed(merge(w.echoes(), bgpStart("primary"), []probes.Observation{
		session(ms(5950), "primary", "edge1", false, "BFD down"),
		prefix(ms(5950), "primary", false),
		bestPathObs(ms(5950), "secondary"),
		session(ms(6450), "secondary", "edge1", false, "BFD down"),
		prefix(ms(6450), "secondary", false),
		bestPathObs(ms(6450), ""),
		session(ms(30300), "secondary", "edge1", true, ""),
		prefix(ms(30300), "secondary", true),
		bestPathObs(ms(30400), "secondary"),
	}))
	// Mid-outage picture, replayed: both down, nothing active, failover in
	// progress with no new link.
	mid := newHarness(t, testSite(probes.ModeActivePassive), nil)
	var upTo []probes.Observation
	for _, o := range merge(w.echoes(), bgpStart("primary"), []probes.Observation{
		session(ms(5950), "primary", "edge1", false, "BFD down"),
		session(ms(6450), "secondary", "edge1", false, "BFD down"),
		bestPathObs(ms(5950), "secondary"), bestPathObs(ms(6450), ""),
	}) {
		if o.Time.Before(at(20 * time.Second)) {
			upTo = append(upTo, o)
		}
	}
	mid.feed(upTo)
	st := mid.m.Status()
	if st.Links[0].State != StateDown || st.Links[1].State != StateDown {
		t.Errorf("mid-outage states %s %s, want both down", st.Links[0].State, st.Links[1].State)
	}
	if st.InProgress == nil || len(st.InProgress.To) != 0 || st.InProgress.Complete {
		t.Errorf("mid-outage in progress %+v, want an open failover to no link", st.InProgress)
	}
	if len(mid.failovers()) != 0 {
		t.Errorf("events before traffic came back: %+v", summaries(mid.failovers()))
	}

	fo := h.failovers()
	if len(fo) != 1 {
		t.Fatalf("%d events, want 1: %+v", len(fo), summaries(fo))
	}
	s := summarize(fo[0])
	if s.From != "primary" || s.To != "secondary" || s.Direction != DirectionFailover || !s.Complete {
		t.Errorf("event %+v", s)
	}
	// app1 last answered at 5.012 s and again at 30.512 s (first send over
	// the restored secondary once routed).
	if s.Gap != ms(25500) || s.Lost != 254 {
		t.Errorf("gap %v lost %d, want 25.5s and 254", s.Gap, s.Lost)
	}
}

func TestActiveActive(t *testing.T) {
	h := newHarness(t, testSite(probes.ModeActiveActive), nil)
	w := defaultWorld(20 * time.Second)
	// ECMP: app1 hashes onto the primary, app2 onto the secondary; the
	// primary is cut at 5.05 s and BFD withdraws it at 5.95 s.
	w.up = func(link string, t time.Duration) bool { return link != "primary" || t < ms(5050) }
	w.route = func(target string, t time.Duration) string {
		if target == "app1" && t < ms(5950) {
			return "primary"
		}
		return "secondary"
	}
	var before []probes.Observation
	for _, o := range merge(w.echoes(), bgpStart("primary"), []probes.Observation{
		traceObs(ms(1000), "app1", false, "primary", "secondary"),
		traceObs(ms(1000), "app2", false, "primary", "secondary"),
	}) {
		if o.Time.Before(at(5 * time.Second)) {
			before = append(before, o)
		}
	}
	h.feed(before)
	st := h.m.Status()
	if !slices.Equal(st.Active, []string{"primary", "secondary"}) || !st.Links[0].Active || !st.Links[1].Active {
		t.Fatalf("active/active: site active %v", st.Active)
	}

	h = newHarness(t, testSite(probes.ModeActiveActive), nil)
	h.feed(merge(w.echoes(), bgpStart("primary"), []probes.Observation{
		traceObs(ms(1000), "app1", false, "primary", "secondary"),
		traceObs(ms(1000), "app2", false, "primary", "secondary"),
		session(ms(5950), "primary", "edge1", false, "BFD down"),
		prefix(ms(5950), "primary", false),
		bestPathObs(ms(5950), "secondary"),
		traceObs(ms(6200), "app1", true, "secondary"),
		traceObs(ms(6200), "app2", true, "secondary"),
	}))
	compareSummaries(t, h.failovers(), []summary{{
		Kind: KindFailover, Direction: DirectionFailover, From: "primary+secondary", To: "secondary", Time: ms(5400),
		Outage: ms(900), Gap: ms(1000), Lost: 9, Complete: true,
		Cause: "primary: data plane down, BGP still up (3 echoes to primary-peer lost in a row)",
	}})
	fo := h.failovers()
	if len(fo) == 1 && (len(fo[0].Targets) != 1 || fo[0].Targets[0].Target != "app1") {
		t.Errorf("targets %+v, want only app1 interrupted", fo[0].Targets)
	}
}

func TestEventRingBound(t *testing.T) {
	h := newHarness(t, testSite(probes.ModeActivePassive), func(c *Config) { c.EventsMax = 5 })
	var obs []probes.Observation
	for i := range 20 {
		obs = append(obs, session(ms(100*i+100), "primary", "edge1", i%2 == 0, ""))
	}
	h.feed(obs)
	evs := h.m.Events()
	if len(evs) != 5 {
		t.Fatalf("%d events kept, want 5", len(evs))
	}
	if len(h.events) != 20 {
		t.Errorf("hook saw %d events, want 20", len(h.events))
	}
	for i, e := range evs {
		if want := uint64(16 + i); e.ID != want {
			t.Errorf("event %d has id %d, want %d (newest last)", i, e.ID, want)
		}
	}
}

func TestQueueOverflow(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueueSize = 16
	m := New(cfg, testSite(probes.ModeActivePassive), nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			m.Observe(probes.Observation{Time: at(ms(i)), Event: probes.EchoReply, Target: "app1", Seq: i + 1})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Observe blocked on a full queue")
	}
	if got := m.Status().Dropped; got != 84 {
		t.Errorf("dropped %d, want 84", got)
	}
	m.Step(at(time.Second))
	if st := m.Status(); st.Targets[0].Echo == nil || st.Targets[0].Echo.Samples != 16 {
		t.Errorf("after draining: %+v", st.Targets[0].Echo)
	}
}

func TestTrigger(t *testing.T) {
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	h.feed([]probes.Observation{
		{Time: at(ms(10)), Event: probes.EchoReply, Target: "app1", Seq: 1},
		{Time: at(ms(110)), Event: probes.EchoLost, Target: "app1", Seq: 2},
		{Time: at(ms(210)), Event: probes.EchoLost, Target: "app1", Seq: 3},
		{Time: at(ms(310)), Event: probes.EchoLost, Target: "app1", Seq: 4},
		{Time: at(ms(312)), Event: probes.EchoReply, Target: "app1", Seq: 5},
	})
	if want := []string{"app1", "app1"}; !slices.Equal(h.trig, want) {
		t.Errorf("triggers %v, want %v (first loss, then restoration)", h.trig, want)
	}
}

func TestConcurrentUse(t *testing.T) {
	var m *Model
	hooked := make(chan struct{})
	var once sync.Once
	// The hook may call back into the model: it runs outside the lock.
	m = New(DefaultConfig(), testSite(probes.ModeActivePassive), nil, WithEventHook(func(Event) {
		_ = m.Status()
		once.Do(func() { close(hooked) })
	}))
	ctx, cancel := contextWithCancel(t)
	runDone := make(chan error, 1)
	go func() { runDone <- m.Run(ctx) }()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				o := probes.Observation{Time: time.Now(), Event: probes.EchoReply, Target: "primary-peer", Link: "primary", Seq: i}
				if g%2 == 1 {
					o.Event, o.Target, o.Link = probes.EchoLost, "app1", ""
				}
				m.Observe(o)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			_ = m.Status()
			_ = m.Events()
			_ = m.Checks()
		}
	}()
	wg.Wait()
	// On a loaded machine the queue may have dropped the observations that
	// would have changed a state: go on feeding replies, boundedly, until an
	// event reaches the hook.
	deadline := time.After(time.Minute)
	for seq := 0; ; seq++ {
		select {
		case <-hooked:
		case <-deadline:
			t.Fatal("no event reached the hook")
		case <-time.After(10 * time.Millisecond):
			m.Observe(probes.Observation{Time: time.Now(), Event: probes.EchoReply, Target: "primary-peer", Link: "primary", Seq: 10000 + seq})
			continue
		}
		break
	}
	cancel()
	if err := <-runDone; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestRestoreTimeout(t *testing.T) {
	// app2 never answers again after the cut (its instance died with it):
	// the failover closes at restore_timeout, incomplete.
	h := newHarness(t, testSite(probes.ModeActivePassive), func(c *Config) { c.RestoreTimeout = 10 * time.Second })
	w, _ := cleanCut()
	w.end = 20 * time.Second
	route := w.route
	w.route = func(target string, t time.Duration) string {
		if target == "app2" && t >= ms(5050) {
			return ""
		}
		return route(target, t)
	}
	h.feed(merge(w.echoes(), bgpStart("primary"), []probes.Observation{
		session(ms(5950), "primary", "edge1", false, "BFD down"),
		bestPathObs(ms(5950), "secondary"),
	}))
	fo := h.failovers()
	if len(fo) != 1 {
		t.Fatalf("%d events, want 1: %+v", len(fo), summaries(fo))
	}
	ev := fo[0]
	if ev.Complete || len(ev.Targets) != 2 || !ev.Targets[0].Restored || ev.Targets[1].Restored {
		t.Errorf("event %+v, want app1 restored, app2 not, incomplete", ev.Targets)
	}
	if got := ev.ID; h.m.Status().LastFailover.ID != got {
		t.Errorf("last failover %d, want %d", h.m.Status().LastFailover.ID, got)
	}
}

func TestFlapStorm(t *testing.T) {
	// 20 cuts of the primary, each detected by BFD and restored: exactly
	// one failover and one failback per cycle, each with its outage.
	const cycles, period = 20, 10 * time.Second
	inCut := func(t time.Duration) bool {
		p := t % period
		return t >= period && p >= ms(1050) && p < ms(4050)
	}
	onSecondary := func(t time.Duration) bool {
		p := t % period
		return t >= period && p >= ms(1950) && p < ms(5000)
	}
	w := defaultWorld(period * (cycles + 1))
	w.up = func(link string, t time.Duration) bool { return link != "primary" || !inCut(t) }
	w.route = func(_ string, t time.Duration) string {
		if onSecondary(t) {
			return "secondary"
		}
		return "primary"
	}
	var bgp []probes.Observation
	for c := 1; c <= cycles; c++ {
		base := time.Duration(c) * period
		bgp = append(bgp,
			session(base+ms(1950), "primary", "edge1", false, "BFD down"),
			prefix(base+ms(1950), "primary", false),
			bestPathObs(base+ms(1950), "secondary"),
			session(base+ms(4500), "primary", "edge1", true, ""),
			prefix(base+ms(4600), "primary", true),
			bestPathObs(base+ms(5000), "primary"))
	}
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	h.feed(merge(w.echoes(), bgpStart("primary"), bgp))
	fo := h.failovers()
	if len(fo) != 2*cycles {
		t.Fatalf("%d events, want %d", len(fo), 2*cycles)
	}
	for i, e := range fo {
		s := summarize(e)
		want := summary{Kind: KindFailover, Direction: DirectionFailover, From: "primary", To: "secondary",
			Outage: ms(900), Gap: ms(1000), Lost: 9, Complete: true, Time: time.Duration(i/2+1)*period + ms(1400),
			Cause: "primary: data plane down, BGP still up (3 echoes to primary-peer lost in a row)"}
		if i%2 == 1 {
			want = summary{Kind: KindFailover, Direction: DirectionFailback, From: "secondary", To: "primary",
				Complete: true, Time: time.Duration(i/2+1)*period + ms(5000), Cause: "BGP best path moved to primary"}
		}
		if s != want {
			t.Errorf("event %d: %+v\nwant %+v", i, s, want)
		}
	}
	if n := h.m.fams[0].notes.len(); n > notesMax {
		t.Errorf("%d notes kept", n)
	}
}

// TestTargetedEvaluation: an echo or a trace re-evaluates only its own
// target (evaluateTarget), the others at the next step. Fed as Run feeds
// the model (steps only every 100 ms), a clean cut and a grey failure give
// the same failover events and link states as with a full evaluation
// after every observation, and the count of targets per set of active
// links stays equal to a recount throughout.
func TestTargetedEvaluation(t *testing.T) {
	grey := func() []probes.Observation {
		w := defaultWorld(40 * time.Second)
		w.up = func(link string, t time.Duration) bool { return link != "primary" || t < ms(5050) }
		w.route = func(_ string, t time.Duration) string {
			if t >= ms(30050) {
				return "secondary"
			}
			return "primary"
		}
		return merge(w.echoes(), bgpStart("primary"), []probes.Observation{
			traceObs(ms(1000), "app1", false, "primary"),
			traceObs(ms(1000), "app2", false, "primary"),
			traceObs(ms(5500), "app1", true),
			session(ms(30050), "primary", "edge1", false, "hold timer expired"),
			prefix(ms(30050), "primary", false),
			bestPathObs(ms(30050), "secondary"),
			traceObs(ms(30200), "app1", true, "secondary"),
			traceObs(ms(30210), "app2", true, "secondary"),
		})
	}
	for name, obs := range map[string][]probes.Observation{
		"clean cut": func() []probes.Observation { _, o := cleanCut(); return o }(),
		"grey":      grey(),
	} {
		t.Run(name, func(t *testing.T) {
			full := newHarness(t, testSite(probes.ModeActivePassive), nil)
			full.feed(obs)
			asRun := newHarness(t, testSite(probes.ModeActivePassive), nil)
			asRun.feedAsRun(obs)
			if len(full.failovers()) == 0 {
				t.Fatal("the scenario has no failover")
			}
			if g, w := summaries(asRun.failovers()), summaries(full.failovers()); !slices.Equal(g, w) {
				t.Errorf("failovers as Run feeds them:\n %+v\nwith a full evaluation after each observation:\n %+v", g, w)
			}
			for _, l := range []string{"primary", "secondary"} {
				if g, w := linkStates(asRun.linkEvents(l)), linkStates(full.linkEvents(l)); !slices.Equal(g, w) {
					t.Errorf("%s states %v, with a full evaluation %v", l, g, w)
				}
			}
		})
	}
}
