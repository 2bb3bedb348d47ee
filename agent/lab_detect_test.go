package agent_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
)

// BenchmarkLabDetection is issue #8's side-by-side: how long after a cut of
// the primary link dxwatch (the dxwatch binary, labConfig's 100 ms probing)
// declares the link down and dates its failover, next to the routers' own
// detection on the same lab: edge1's BFD session to aws1 (300 ms × 3), its
// BGP session (carrier loss, BFD, or the 90 s hold timer) and its route to
// the VPC CIDR moving to the secondary. Every figure is in milliseconds
// from the moment before lab.Cut; each cut's figures are logged, their
// means reported (and the worst of dxwatch's). A polled figure is an upper
// bound, logged with its lower one: a vtysh call costs some 50 ms of CPU,
// so on a busy machine the routers' polls come far apart; dxwatch's events
// carry their own times. One lab per case, torn down at its end. Root and
// FRR: make bench-lab.
func BenchmarkLabDetection(b *testing.B) {
	if err := lab.Available(); err != nil {
		b.Skipf("needs root and the lab: run make bench-lab (%v)", err)
	}
	for _, tc := range []struct {
		name    string
		silent  bool // packets dropped, carrier up
		noBFD   bool
		sources bool // per-link probe sources (issue #14)
		fast    bool // 20 ms pinned probing
	}{
		{name: "carrier"},
		{name: "silent/bfd", silent: true},
		{name: "silent/nobfd", silent: true, noBFD: true},
		{name: "silent/nobfd/probe-sources", silent: true, noBFD: true, sources: true},
		{name: "silent/bfd/probe-sources/20ms", silent: true, sources: true, fast: true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := labConfig
			if tc.sources {
				cfg = probeSourceConfig
			}
			if tc.fast {
				cfg = fastPing(cfg)
			}
			l, c := labAgentBinary(b, lab.Options{Edge: lab.EdgeOne, NoBFD: tc.noBFD, ProbeSources: tc.sources}, cfg)
			settle(b, l, c)
			var runs []detection
			for b.Loop() {
				d := measureCut(b, l, c, tc.silent, !tc.noBFD)
				b.Logf("cut %d: %s", len(runs)+1, d)
				runs = append(runs, d)
				if err := l.Restore(lab.LinkPrimary); err != nil {
					b.Fatal(err)
				}
				settle(b, l, c)
				c.waitFor(60*time.Second, "failback event", func() bool {
					return slices.ContainsFunc(c.eventsSince(d.lastEvent), func(e event) bool {
						return e.Kind == "failover" && e.Direction == "failback"
					})
				})
			}
			b.ReportMetric(0, "ns/op") // the time of a whole cut-and-restore cycle says nothing
			falseDown := 0
			for _, d := range runs {
				falseDown += d.falseDown
			}
			b.ReportMetric(float64(falseDown), "secondary-false-downs")
			for i, f := range runs[0].figures() {
				var sum, worst time.Duration
				for _, d := range runs {
					v := d.figures()[i].d
					sum += v
					worst = max(worst, v)
				}
				b.ReportMetric(ms(sum/time.Duration(len(runs))), f.unit)
				if strings.HasPrefix(f.unit, "dxwatch-") {
					b.ReportMetric(ms(worst), strings.TrimSuffix(f.unit, "-ms")+"-max-ms")
				}
			}
		})
	}
}

// settle waits until the routers agree with the lab's state and dxwatch
// sees the primary up and active and the secondary up: the state a cut
// starts from.
func settle(tb testing.TB, l *lab.Lab, c *agentClient) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	if err := l.WaitConverged(ctx); err != nil {
		tb.Fatalf("the lab did not converge within 150 s: %v", err)
	}
	c.waitFor(60*time.Second, "primary up and active, secondary up", func() bool {
		s := c.status()
		p, _ := s.link(lab.LinkPrimary)
		sec, _ := s.link(lab.LinkSecondary)
		return p == "up" && sec == "up" && len(s.Active) == 1 && s.Active[0] == lab.LinkPrimary
	})
}

// detection is what one cut of the primary took to be noticed, each figure
// from the moment before lab.Cut. A polled figure is the end of the first
// poll that saw the change; after is the start of the poll before it, so
// the change happened between after and the figure.
type detection struct {
	cut       time.Duration // lab.Cut's own duration
	linkDown  watched       // dxwatch_link_up{link="primary"} 0 on /metrics
	downEvent time.Duration // dxwatch's link_state event (primary down): its own time
	failover  time.Duration // dxwatch's failover event: its own time (the active link left the primary)
	firstLoss time.Duration // the failover's start: its first lost echo's deadline, or first bad evidence
	bfdDown   watched       // edge1's BFD session to aws1 not up; zero without BFD
	bgpDown   watched       // edge1's BGP session to aws1 not Established
	reroute   watched       // edge1's route to the VPC CIDR via the secondary only
	bfd       bool
	lastEvent int // the newest dxwatch event before the cut
	// falseDown counts the secondary's link_state events to down between
	// the cut and the failover: verdicts against the healthy link.
	falseDown int
}

// watched is a polled figure: seen is when a poll saw the change, after
// when the poll before it started.
type watched struct{ seen, after time.Duration }

// figure is a detection time with its unit for b.ReportMetric.
type figure struct {
	unit string
	d    time.Duration
}

// figures lists d's times in reporting order; the same for every cut of a
// case.
func (d detection) figures() []figure {
	fs := []figure{
		{"cut-ms", d.cut},
		{"dxwatch-link-down-ms", d.linkDown.seen},
		{"dxwatch-down-event-ms", d.downEvent},
		{"dxwatch-event-ms", d.failover},
		{"dxwatch-first-loss-ms", d.firstLoss},
	}
	if d.bfd {
		fs = append(fs, figure{"bfd-down-ms", d.bfdDown.seen})
	}
	return append(fs, figure{"bgp-session-down-ms", d.bgpDown.seen}, figure{"edge-reroute-ms", d.reroute.seen})
}

// fastPing sets cfg's ping interval, and so its timeout, to 20 ms.
func fastPing(cfg string) string {
	return strings.Replace(cfg, "ping:\n  interval: 100ms\n  timeout: 100ms\n", "ping:\n  interval: 20ms\n  timeout: 20ms\n", 1)
}

func (d detection) String() string {
	w := func(x watched) string {
		return fmt.Sprintf("%.0f ms (after %.0f)", ms(x.seen), ms(x.after))
	}
	s := fmt.Sprintf("the cut took %.0f ms; dxwatch: link_up 0 at %s, link_state event dated %.0f ms, failover event dated %.0f ms (its first trouble %.0f ms); edge1: ",
		ms(d.cut), w(d.linkDown), ms(d.downEvent), ms(d.failover), ms(d.firstLoss))
	if d.bfd {
		s += "BFD down " + w(d.bfdDown) + ", "
	}
	return s + "BGP session down " + w(d.bgpDown) + ", route to " + lab.VPCCIDR + " via the secondary " + w(d.reroute)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

var primaryUpRE = regexp.MustCompile(`(?m)^dxwatch_link_up\{link="primary"\} (\S+)$`)

// measureCut cuts the primary (silently or not) and watches, at once,
// dxwatch's /metrics (every 10 ms) and events, and edge1's view through
// vtysh (every 50 ms), each until it shows the cut or its bound passes.
func measureCut(b *testing.B, l *lab.Lab, c *agentClient, silent, bfd bool) detection {
	b.Helper()
	d := detection{bfd: bfd}
	for _, e := range c.eventsSince(0) {
		d.lastEvent = max(d.lastEvent, e.ID)
	}
	// /metrics 100 times a second: uncompressed, so that the polling costs
	// the agent as little as it can.
	metrics := &agentClient{t: b, http: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: l.DialContext(lab.HostAgent), DisableCompression: true}}}
	defer metrics.http.CloseIdleConnections()
	events := &agentClient{t: b, http: c.http}

	checks := []check{{what: `dxwatch_link_up{link="primary"} 0`, every: 10 * time.Millisecond, bound: 10 * time.Second, into: &d.linkDown, cond: func(context.Context) (bool, error) {
		code, body := metrics.get("/metrics")
		if code != http.StatusOK {
			return false, fmt.Errorf("GET /metrics: %d %v", code, metrics.lastErr)
		}
		m := primaryUpRE.FindSubmatch(body)
		if m == nil {
			return false, errors.New(`no dxwatch_link_up{link="primary"} in /metrics`)
		}
		return string(m[1]) == "0", nil
	}}}
	// The events carry their own times: polling them slowly costs no
	// precision. The failover is recorded once traffic flows again, after
	// BGP's hold timer when BFD is off.
	var down, failover event
	seen := d.lastEvent
	checks = append(checks, check{what: "dxwatch's link_state and failover events", every: 100 * time.Millisecond, bound: 150 * time.Second, cond: func(context.Context) (bool, error) {
		for _, e := range events.eventsSince(seen) {
			seen = max(seen, e.ID)
			switch {
			case e.Kind == "link_state" && e.Link == lab.LinkPrimary && e.State == "down" && down.ID == 0:
				down = e
			case e.Kind == "failover" && e.Direction == "failover" && failover.ID == 0:
				failover = e
			case e.Kind == "link_state" && e.Link == lab.LinkSecondary && e.State == "down" && failover.ID == 0:
				d.falseDown++
			}
		}
		return down.ID != 0 && failover.ID != 0, nil
	}})
	if bfd {
		checks = append(checks, edge1PeerDown("BFD", 10*time.Second, &d.bfdDown, l.BFDPeers, func(p lab.BFDPeer) bool { return p.Status != "up" }))
	}
	// Without BFD a silent cut is BGP's hold timer: 90 s after the last
	// keepalive, which came up to 30 s before the cut.
	checks = append(checks, edge1PeerDown("BGP", 150*time.Second, &d.bgpDown, l.BGPSummary, func(p lab.BGPPeer) bool { return p.State != "Established" }),
		check{what: "edge1's route to " + lab.VPCCIDR + " via " + lab.SecondaryAmazon + " only", every: 50 * time.Millisecond, bound: 150 * time.Second, into: &d.reroute, cond: func(ctx context.Context) (bool, error) {
			r, ok, err := l.RouteTo(ctx, lab.HostEdge1, lab.VPCCIDR)
			if err != nil || !ok {
				return false, err
			}
			return slices.Contains(r.NextHops, lab.SecondaryAmazon) && !slices.Contains(r.NextHops, lab.PrimaryAmazon), nil
		}})

	t0 := time.Now()
	if err := l.Cut(lab.LinkPrimary, silent); err != nil {
		b.Fatal(err)
	}
	d.cut = time.Since(t0)
	var wg sync.WaitGroup
	errs := make([]error, len(checks))
	for i, c := range checks {
		wg.Go(func() { errs[i] = c.poll(t0) })
	}
	wg.Wait()
	d.downEvent, d.failover, d.firstLoss = down.Time.Sub(t0), failover.Time.Sub(t0), failover.Started.Sub(t0)
	if err := errors.Join(errs...); err != nil {
		b.Fatalf("after the cut of the primary (silent %t, BFD %t):\n%v\nso far: %s", silent, bfd, err, d)
	}
	return d
}

// edge1PeerDown checks, through peers (a lab query by router), that edge1's
// session of the kind to aws1 over the primary is down.
func edge1PeerDown[P any](kind string, bound time.Duration, into *watched, peers func(context.Context, string) (map[string]P, error), down func(P) bool) check {
	return check{what: "edge1's " + kind + " session to " + lab.PrimaryAmazon + " down", every: 50 * time.Millisecond, bound: bound, into: into, cond: func(ctx context.Context) (bool, error) {
		ps, err := peers(ctx, lab.HostEdge1)
		if err != nil {
			return false, err
		}
		p, ok := ps[lab.PrimaryAmazon]
		if !ok {
			return false, fmt.Errorf("edge1 has no %s peer %s", kind, lab.PrimaryAmazon)
		}
		return down(p), nil
	}}
}

// check is a condition polled after a cut until it holds.
type check struct {
	what  string
	every time.Duration
	bound time.Duration // after the cut
	into  *watched      // where poll stores when it held; nil: nowhere
	cond  func(context.Context) (bool, error)
}

// poll calls c.cond every c.every until it holds, and stores when in
// c.into; an error once c.bound has passed since the cut.
func (c check) poll(cut time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), cut.Add(c.bound))
	defer cancel()
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	after := cut // start of the latest poll that did not see the change
	var last error
	for {
		start := time.Now()
		ok, err := c.cond(ctx)
		if ok {
			if c.into != nil {
				*c.into = watched{seen: time.Since(cut), after: after.Sub(cut)}
			}
			return nil
		}
		after = start
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not within %s of the cut (last error: %v)", c.what, c.bound, last)
		case <-tick.C:
		}
	}
}

// BenchmarkLabSoak is issue #14's soak: the agent probing every 20 ms with
// probe sources while stress-ng saturates both cores, for DXWATCH_SOAK
// (default 10m). It reports every link_state event to down or unverified
// in that time (there is no fault: each is a false verdict) and the
// agent's dropped observations. Root, FRR and stress-ng: make bench-lab.
func BenchmarkLabSoak(b *testing.B) {
	if err := lab.Available(); err != nil {
		b.Skipf("needs root and the lab: run make bench-lab (%v)", err)
	}
	stress, err := exec.LookPath("stress-ng")
	if err != nil {
		b.Skipf("stress-ng: %v (apt-get install stress-ng; make bench-lab installs it)", err)
	}
	soak := 10 * time.Minute
	if v, err := time.ParseDuration(os.Getenv("DXWATCH_SOAK")); err == nil && v > 0 {
		soak = v
	}
	l, c := labAgentBinary(b, lab.Options{Edge: lab.EdgeOne, ProbeSources: true}, fastPing(probeSourceConfig))
	settle(b, l, c)
	start := 0
	for _, e := range c.eventsSince(0) {
		start = max(start, e.ID)
	}
	for b.Loop() {
		// CPU load only, in the host's namespace: stress-ng sends nothing.
		cmd := exec.Command(stress, "--cpu", "2", "--timeout", strconv.Itoa(int(soak.Seconds()))+"s", "--quiet")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("stress-ng: %v: %s", err, out)
		}
	}
	bad := 0
	for _, e := range c.eventsSince(start) {
		if e.Kind == "link_state" && (e.State == "down" || e.State == "unverified") {
			bad++
			b.Logf("false verdict under load: %+v", e)
		}
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(bad), "false-verdicts")
	b.ReportMetric(soak.Seconds(), "soak-s")
}
