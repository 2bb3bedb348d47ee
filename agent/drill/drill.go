package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/probes"
)

// Watcher is the health picture the drill reads: the agent's Watch.
type Watcher interface {
	Status() health.Status
	Events() []health.Event
	// Sources is the readiness of every configured source of evidence.
	Sources() []probes.Readiness
}

// Method fails the primary link over and back.
type Method interface {
	// Name says how ("aws", "exec").
	Name() string
	// Fail takes the primary out of service; the returned text says what
	// was done, for the report.
	Fail(ctx context.Context) (string, error)
	// Restore puts it back. It is called once after a successful Fail,
	// also when the drill aborts or ctx ends.
	Restore(ctx context.Context) (string, error)
}

// Historian is a Method that can list the provider's record of the tests
// (AWS: ListVirtualInterfaceTestHistory).
type Historian interface {
	History(ctx context.Context) ([]TestRecord, error)
}

// TestRecord is one failover test as the provider recorded it.
type TestRecord struct {
	TestID   string    `json:"test_id"`
	VIF      string    `json:"vif"`
	Peers    []string  `json:"peers,omitempty"`
	Status   string    `json:"status"`
	Duration float64   `json:"duration_seconds"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end,omitzero"`
}

// FamilyBoth is Options.Family's default: the primary's every peering is
// failed over, as a cut of the link would.
const FamilyBoth = "both"

// Options configure a drill.
type Options struct {
	Method Method
	// Family is the address family whose peering is failed over and
	// measured: probes.FamilyIPv4, probes.FamilyIPv6 (both links need a
	// peering of it), or FamilyBoth (the default, "" too).
	Family string
	// Yes confirms the drill; without it (or DryRun) it is refused.
	Yes bool
	// DryRun runs the pre-checks only.
	DryRun bool
	// AllowUnconfirmedSecondary lets the drill go on when nothing can
	// confirm that the secondary carries the expected prefixes (no BGP
	// feed configured); without it that refuses the drill.
	AllowUnconfirmedSecondary bool
	// Quiet refuses the drill when a failover happened this recently.
	// nil means the default 30m; a zero is taken as given: recent
	// failovers are not checked (--quiet 0s).
	Quiet *time.Duration
	// Hold is how long the traffic stays on the secondary before the
	// failback (default 1m).
	Hold time.Duration
	// Timeout bounds the wait for each of the failover and the failback
	// (default 3m).
	Timeout time.Duration
	// Warmup bounds the wait for every configured source to be ready
	// (each BGP session established with its initial table in, each BMP
	// router's initial dump done, the first AWS poll with the aws method,
	// an echo on every pinged link and target) and for every link's state
	// and the active link to be known, before the pre-checks (default
	// 30s).
	Warmup time.Duration
	// AbortAfter aborts (fails back at once) when, after the failover, no
	// link carries the traffic or the secondary is down for this long
	// (default 10s).
	AbortAfter time.Duration
	// Progress receives one line per step; may be nil.
	Progress io.Writer
	// Poll is how often the health picture is read (default 50ms).
	Poll time.Duration
	// Past is the running daemon's record (--agent), read by the
	// no-recent-failover pre-check; nil: only what the drill watched.
	Past *DaemonRecord
}

// DefaultQuiet is Options.Quiet's default.
const DefaultQuiet = 30 * time.Minute

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Quiet == nil || *o.Quiet < 0 {
		o.Quiet = new(DefaultQuiet)
	}
	def(&o.Hold, time.Minute)
	def(&o.Timeout, 3*time.Minute)
	def(&o.Warmup, 30*time.Second)
	def(&o.AbortAfter, 10*time.Second)
	def(&o.Poll, 50*time.Millisecond)
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Family == "" {
		o.Family = FamilyBoth
	}
}

// ofFamily says whether a failover event belongs to the drill's family: any
// with FamilyBoth; else one of that family, or one that names none (a
// health model that does not tell families apart).
func (o Options) ofFamily(e health.Event) bool {
	return o.Family == FamilyBoth || e.Family == "" || e.Family == o.Family
}

// ErrRefused is returned when a pre-check fails.
var ErrRefused = errors.New("drill refused")

// ErrAborted is returned when the drill stopped early and failed back.
var ErrAborted = errors.New("drill aborted")

// Recorder collects the health model's events as they are recorded; its
// Hook goes to agent.WatchOptions.OnEvent (health.WithEventHook). It never
// blocks.
type Recorder struct {
	mu     sync.Mutex
	events []health.Event
}

// Hook records e.
func (r *Recorder) Hook(e health.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// take returns the events recorded since the last call.
func (r *Recorder) take() []health.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// Run runs a drill: waits for fresh evidence, runs the pre-checks (refusing
// with ErrRefused when one fails), fails the primary over with o.Method,
// measures the failover from the health model's events, holds, fails back,
// measures the failback, and records the provider's test history. On
// abort or when ctx ends after the failover started it restores the
// primary before returning.
func Run(ctx context.Context, site probes.Site, w Watcher, rec *Recorder, o Options) (*Report, error) {
	o.defaults()
	rep := &Report{Site: site.Name, Started: time.Now(), DryRun: o.DryRun, Family: o.Family}
	if o.Method != nil {
		rep.Method = o.Method.Name()
	}
	primary, secondary := roles(site)
	rep.Primary, rep.Secondary = primary, secondary
	logf := func(format string, args ...any) { fmt.Fprintf(o.Progress, format+"\n", args...) }

	logf("drill on site %s: waiting up to %s for every configured source of evidence", site.Name, o.Warmup)
	pic, err := warmUp(ctx, w, o, logf)
	if err != nil {
		return rep.finish(), err
	}
	rep.PreChecks = PreChecks(site, pic, time.Now(), o)
	for _, c := range rep.PreChecks {
		logf("  %-4s %s: %s", strings.ToUpper(string(c.Status)), c.Name, c.Reason)
	}
	if failed := failedChecks(rep.PreChecks); len(failed) > 0 {
		rep.Refused = true
		return rep.finish(), fmt.Errorf("%w: %s", ErrRefused, strings.Join(failed, "; "))
	}
	if o.DryRun {
		logf("dry run: every pre-check passed; nothing was failed over")
		return rep.finish(), nil
	}

	rec.take() // what happened before is not part of the drill
	restored := false
	restore := func(why string) {
		if restored {
			return
		}
		restored = true
		rctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		logf("restoring the primary (%s)", why)
		at := time.Now()
		detail, err := o.Method.Restore(rctx)
		if rep.Failback == nil {
			rep.Failback = &Phase{Action: "restore", ActionAt: at, ActionDetail: detail}
		}
		if err != nil {
			rep.Errors = append(rep.Errors, "restore: "+err.Error())
		}
	}

	// Failover.
	logf("failing over the primary %s (%s) with %s", primary, familyText(o.Family), o.Method.Name())
	rep.Failover = &Phase{Action: "fail", ActionAt: time.Now()}
	detail, err := o.Method.Fail(ctx)
	rep.Failover.ActionDetail = detail
	if err != nil {
		rep.Errors = append(rep.Errors, "fail: "+err.Error())
		// A failed start may still have taken effect (a timeout after AWS
		// accepted it): restore to be safe.
		restore("the failover could not be started")
		return rep.finish(), fmt.Errorf("fail over %s: %w", primary, err)
	}
	if err := watchPhase(ctx, w, rec, rep.Failover, o, func(e health.Event) bool {
		return e.Kind == health.KindFailover && o.ofFamily(e) && slices.Contains(e.From, primary) && !slices.Contains(e.To, primary)
	}, primary, secondary, true); err != nil {
		rep.Aborted = err.Error()
		restore(err.Error())
		if rep.Failback != nil {
			_ = watchPhase(context.Background(), w, rec, rep.Failback, Options{Timeout: o.Timeout, Poll: o.Poll, AbortAfter: o.AbortAfter},
				func(e health.Event) bool {
					return e.Kind == health.KindFailover && o.ofFamily(e) && slices.Contains(e.To, primary)
				}, primary, secondary, false)
		}
		return rep.finish(), fmt.Errorf("%w: %v", ErrAborted, err)
	}
	logf("failover seen: %s", rep.Failover.summary())

	// Hold on the secondary, watching that it keeps carrying the traffic.
	logf("holding on %s for %s", secondary, o.Hold)
	if err := hold(ctx, w, o, secondary); err != nil {
		rep.Aborted = err.Error()
		logf("aborting: %v", err)
	}

	// Failback.
	rep.Failback = &Phase{Action: "restore", ActionAt: time.Now()}
	restored = true
	rctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	detail, err = o.Method.Restore(rctx)
	cancel()
	rep.Failback.ActionDetail = detail
	if err != nil {
		rep.Errors = append(rep.Errors, "restore: "+err.Error())
	}
	logf("failing back to %s", primary)
	wctx := ctx
	if ctx.Err() != nil {
		wctx = context.Background() // measure the failback of an interrupted drill too
	}
	if err := watchPhase(wctx, w, rec, rep.Failback, o, func(e health.Event) bool {
		return e.Kind == health.KindFailover && o.ofFamily(e) && slices.Contains(e.To, primary)
	}, primary, secondary, false); err != nil {
		rep.Errors = append(rep.Errors, "failback: "+err.Error())
	} else {
		logf("failback seen: %s", rep.Failback.summary())
	}

	if h, ok := o.Method.(Historian); ok {
		hctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		rep.History, err = h.History(hctx)
		cancel()
		if err != nil {
			rep.Errors = append(rep.Errors, "history: "+err.Error())
		}
	}
	rep.finish()
	switch {
	case rep.Aborted != "":
		return rep, fmt.Errorf("%w: %s", ErrAborted, rep.Aborted)
	case len(rep.Errors) > 0:
		return rep, errors.New(strings.Join(rep.Errors, "; "))
	}
	return rep, ctx.Err()
}

// watchPhase reads events until want matches one (the phase's failover
// event), filling ph. During the failover (failing true) it aborts when the
// secondary is down or nothing carries the traffic for AbortAfter.
func watchPhase(ctx context.Context, w Watcher, rec *Recorder, ph *Phase, o Options, want func(health.Event) bool, primary, secondary string, failing bool) error {
	deadline := time.NewTimer(o.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(o.Poll)
	defer tick.Stop()
	var blackSince time.Time
	for {
		for _, e := range rec.take() {
			ph.observe(e, primary)
			if want(e) {
				ev := e
				ph.Event = &ev
				ph.fill()
				return nil
			}
		}
		if failing {
			st := w.Status()
			if l := linkStatus(st, secondary); l != nil && l.State == health.StateDown {
				return fmt.Errorf("the secondary %s is down: %s", secondary, strings.Join(l.Reasons, "; "))
			}
			if st.ActiveKnown && len(st.Active) == 0 {
				if blackSince.IsZero() {
					blackSince = time.Now()
				} else if time.Since(blackSince) > o.AbortAfter {
					return fmt.Errorf("no link has carried the traffic for %s", o.AbortAfter)
				}
			} else {
				blackSince = time.Time{}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted: %w", ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("no %s seen within %s", map[bool]string{true: "failover", false: "failback"}[failing], o.Timeout)
		case <-tick.C:
		}
	}
}

// hold waits o.Hold while the secondary carries the traffic.
func hold(ctx context.Context, w Watcher, o Options, secondary string) error {
	end := time.Now().Add(o.Hold)
	var badSince time.Time
	for time.Now().Before(end) {
		st := w.Status()
		l := linkStatus(st, secondary)
		bad := l != nil && l.State == health.StateDown || st.ActiveKnown && len(st.Active) == 0
		switch {
		case !bad:
			badSince = time.Time{}
		case badSince.IsZero():
			badSince = time.Now()
		case time.Since(badSince) > o.AbortAfter:
			return fmt.Errorf("the secondary %s stopped carrying the traffic", secondary)
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return fmt.Errorf("interrupted: %w", err)
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func roles(site probes.Site) (primary, secondary string) {
	primary = site.Routing.Primary
	for _, l := range site.Links {
		if primary == "" && l.Role == probes.RolePrimary {
			primary = l.Name
		}
	}
	for _, l := range site.Links {
		if l.Name != primary && (secondary == "" || l.Role == probes.RoleSecondary) {
			secondary = l.Name
		}
	}
	return primary, secondary
}

func linkStatus(st health.Status, name string) *health.LinkStatus {
	for i := range st.Links {
		if st.Links[i].Name == name {
			return &st.Links[i]
		}
	}
	return nil
}

// warmUp waits, at most o.Warmup, until nothing is waited for (waitingFor)
// and that has held for a few polls, so that what the sources delivered
// has reached the health model. It prints what it still waits for, one
// line per change, and returns the picture the pre-checks read.
func warmUp(ctx context.Context, w Watcher, o Options, logf func(string, ...any)) (Evidence, error) {
	start := time.Now()
	end := start.Add(o.Warmup)
	picture := func() Evidence {
		return Evidence{Status: w.Status(), Events: w.Events(), Sources: w.Sources(), Watched: time.Since(start), Past: o.Past}
	}
	last, settled := "", 0
	for {
		pic := picture()
		waiting := waitingFor(pic, o, time.Now())
		if line := strings.Join(waiting, ", "); line != last {
			if line != "" {
				logf("waiting for: %s", line)
			} else if last != "" {
				logf("every source is ready")
			}
			last = line
		}
		if len(waiting) == 0 {
			settled++
		} else {
			settled = 0
		}
		if settled > 4 || time.Now().After(end) {
			if len(waiting) > 0 {
				logf("warm-up over after %s, still waiting for: %s", o.Warmup, last)
			}
			return pic, nil
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return pic, err
		}
	}
}

func failedChecks(cs []PreCheck) []string {
	var out []string
	for _, c := range cs {
		if c.Refuses {
			out = append(out, c.Name+": "+c.Reason)
		}
	}
	return out
}
