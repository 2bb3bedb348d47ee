package ping

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeSite has one target per behaviour of the fake network, and one link.
func fakeSite() probes.Site {
	return probes.Site{
		Links: []probes.Link{{Name: "primary", Role: probes.RolePrimary, AmazonAddress: netip.MustParsePrefix("169.254.10.1/30")}},
		Targets: []probes.Target{
			{Name: "up", Host: "10.0.0.1"},
			{Name: "silent", Host: "10.0.0.2"},
			{Name: "dup", Host: "10.0.0.3"},
			{Name: "noroute", Host: "10.0.0.4"},
			{Name: "v6", Host: "2001:db8::1"},
			{Name: "late", Host: "10.0.0.5"},
		},
	}
}

func fastConfig() Config {
	cfg := DefaultConfig()
	cfg.Interval = 50 * time.Millisecond
	return cfg
}

func newFakeProbe(t *testing.T, raw bool, site probes.Site) (*Probe, *fakeNet, *recorder) {
	t.Helper()
	rec := &recorder{}
	p, err := New("ping", fastConfig(), probes.Deps{Site: site, Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	fn := newFakeNet(raw)
	p.listen = fn.listen
	return p, fn, rec
}

func TestProbe(t *testing.T) {
	for _, raw := range []bool{true, false} {
		t.Run(fmt.Sprintf("raw=%v", raw), func(t *testing.T) {
			p, fn, rec := newFakeProbe(t, raw, fakeSite())
			fn.set("10.0.0.2", 0)
			fn.set("10.0.0.3", 2)
			fn.sendErr[netip.MustParseAddr("10.0.0.4")] = fmt.Errorf("sendto: %w", syscall.ENETUNREACH)
			fn.hold[netip.MustParseAddr("10.0.0.5")] = true

			before := metrics(t, p)
			for _, target := range []string{"up", "silent", "dup", "noroute", "v6", "late", "primary-amazon"} {
				for _, m := range []string{"dxwatch_ping_sent_total", "dxwatch_ping_received_total", "dxwatch_ping_duplicates_total", "dxwatch_ping_rtt_seconds", "dxwatch_ping_up", "dxwatch_ping_jitter_seconds"} {
					key := m + "{" + target + "}"
					if v, ok := before[key]; !ok || v != 0 {
						t.Errorf("before Run: %s = %v, %v; want a 0 series", key, v, ok)
					}
				}
			}
			if got := p.Checks(); len(got) != 0 {
				t.Errorf("Checks before any echo = %v, want none", got)
			}

			stop := startProbe(t, p)
			waitFor(t, "replies and losses", func() bool {
				return len(rec.of("up", probes.EchoReply)) >= 5 &&
					len(rec.of("v6", probes.EchoReply)) >= 5 &&
					len(rec.of("primary-amazon", probes.EchoReply)) >= 5 &&
					len(rec.of("silent", probes.EchoLost)) >= 4 &&
					len(rec.of("noroute", probes.EchoLost)) >= 4 &&
					len(rec.of("late", probes.EchoLost)) >= 4 &&
					len(rec.of("dup", probes.EchoReply)) >= 5
			})
			fn.release() // the held replies are now late
			waitFor(t, "the late replies to be read", func() bool {
				return len(rec.of("late", probes.EchoLost)) >= 6
			})
			stop()

			m := metrics(t, p)
			for _, target := range []string{"up", "silent", "dup", "noroute", "v6", "late", "primary-amazon"} {
				replies, losses := rec.of(target, probes.EchoReply), rec.of(target, probes.EchoLost)
				sent, recv := m["dxwatch_ping_sent_total{"+target+"}"], m["dxwatch_ping_received_total{"+target+"}"]
				if recv != float64(len(replies)) || m["dxwatch_ping_rtt_seconds{"+target+"}"] != recv {
					t.Errorf("%s: received_total %v, rtt count %v, %d reply observations", target, recv, m["dxwatch_ping_rtt_seconds{"+target+"}"], len(replies))
				}
				// Echoes in flight when Run stopped are neither received nor lost.
				if inFlight := sent - recv - float64(len(losses)); inFlight < 0 || inFlight > 2 {
					t.Errorf("%s: sent %v, received %v, lost %d", target, sent, recv, len(losses))
				}
				for i, o := range losses {
					if o.Count < 1 || (i > 0 && o.Seq != losses[i-1].Seq+1 && o.Count != 1) || (i > 0 && !o.Time.After(losses[i-1].Time)) {
						t.Errorf("%s: loss %d out of order: %+v after %+v", target, i, o, losses[i-1])
					}
				}
				for _, o := range replies {
					if o.RTT <= 0 || o.Probe != "ping" {
						t.Errorf("%s: reply %+v", target, o)
					}
				}
			}
			for target, want := range map[string]float64{"up": 1, "silent": 0, "dup": 1, "noroute": 0, "v6": 1, "primary-amazon": 1} {
				if got := m["dxwatch_ping_up{"+target+"}"]; got != want {
					t.Errorf("dxwatch_ping_up{%s} = %v, want %v", target, got, want)
				}
			}
			if d := m["dxwatch_ping_duplicates_total{dup}"]; d == 0 || d < m["dxwatch_ping_received_total{dup}"]-1 {
				t.Errorf("duplicates_total{dup} = %v for %v received", d, m["dxwatch_ping_received_total{dup}"])
			}
			if d := m["dxwatch_ping_duplicates_total{up}"]; d != 0 {
				t.Errorf("duplicates_total{up} = %v", d)
			}
			// Only the echoes still in flight at the release are on time.
			if r := m["dxwatch_ping_received_total{late}"]; r > 2 {
				t.Errorf("late replies counted as received: %v", r)
			}
			silent := rec.of("silent", probes.EchoLost)
			for i, o := range silent {
				if o.Count != i+1 || o.Link != "" {
					t.Errorf("silent loss %d: %+v", i, o)
				}
			}
			if l := rec.of("primary-amazon", probes.EchoReply)[0]; l.Link != "primary" {
				t.Errorf("link-pinned reply has link %q", l.Link)
			}

			checks := map[string]probes.CheckResult{}
			for _, c := range p.Checks() {
				checks[c.Name] = c
				if c.Order != probes.OrderPing {
					t.Errorf("%s: order %d", c.Name, c.Order)
				}
			}
			for name, want := range map[string]probes.CheckStatus{
				"ping.target.up": probes.Pass, "ping.target.silent": probes.Fail, "ping.target.noroute": probes.Fail,
				"ping.link.primary": probes.Pass, "ping.target.v6": probes.Pass,
			} {
				// A starved test host may judge an echo lost: warn, not fail.
				if c := checks[name]; c.Status != want && !(want == probes.Pass && c.Status == probes.Warn) {
					t.Errorf("%s: %s (%s), want %s", name, c.Status, c.Reason, want)
				}
			}
			if c := checks["ping.target.silent"]; !strings.Contains(c.Fix, "security group") || !strings.Contains(c.Reason, "consecutive echoes lost since") {
				t.Errorf("silent: reason %q fix %q", c.Reason, c.Fix)
			}
			if c := checks["ping.target.noroute"]; !strings.Contains(c.Fix, "no route") || !strings.Contains(c.Reason, "network is unreachable") {
				t.Errorf("noroute: reason %q fix %q", c.Reason, c.Fix)
			}
			if c := checks["ping.link.primary"]; c.Link != "primary" {
				t.Errorf("link check: %+v", c)
			}
			if _, ok := checks["ping.target.primary-amazon"]; ok {
				t.Errorf("link-pinned target has a target check too")
			}
			if opens, closes := fn.counts(); opens != 2 || closes != 2 {
				t.Errorf("sockets opened %d closed %d, want 2 and 2 (one per family)", opens, closes)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	site := probes.Site{Targets: []probes.Target{{Name: "a", Host: "10.0.0.1"}, {Name: "b", Host: "10.0.0.2"}}}
	p, fn, rec := newFakeProbe(t, true, site)
	startProbe(t, p)
	waitFor(t, "a and b to answer", func() bool {
		return len(rec.of("a", probes.EchoReply)) >= 3 && len(rec.of("b", probes.EchoReply)) >= 3
	})
	a := p.targets["a"]

	cfg := fastConfig()
	cfg.Targets = map[string]Override{"c": {DSCP: new(46)}}
	site.Targets = []probes.Target{{Name: "a", Host: "10.0.0.1"}, {Name: "c", Host: "10.0.0.3"}}
	if err := p.Update(cfg, site); err != nil {
		t.Fatal(err)
	}
	before := metrics(t, p)["dxwatch_ping_sent_total{a}"]
	waitFor(t, "c to answer", func() bool { return len(rec.of("c", probes.EchoReply)) >= 3 })
	m := metrics(t, p)
	if p.targets["a"] != a {
		t.Errorf("unchanged target a was restarted")
	}
	if m["dxwatch_ping_sent_total{a}"] < before || before < 3 {
		t.Errorf("a's sent_total went from %v to %v: counters must survive an update", before, m["dxwatch_ping_sent_total{a}"])
	}
	if _, ok := m["dxwatch_ping_sent_total{b}"]; ok {
		t.Errorf("removed target b still exported")
	}
	if opens, closes := fn.counts(); opens != 2 || closes != 0 {
		t.Errorf("after adding a DSCP 46 target: %d sockets opened, %d closed; want 2, 0", opens, closes)
	}

	// Invalid: rejected, the running targets stay.
	bad := fastConfig()
	bad.Interval = time.Millisecond
	if err := p.Update(bad, site); err == nil || !strings.Contains(err.Error(), "interval 1ms is below the minimum 10ms") {
		t.Errorf("Update with a bad interval = %v", err)
	}
	// c's socket closes when c goes.
	site.Targets = site.Targets[:1]
	if err := p.Update(fastConfig(), site); err != nil {
		t.Fatal(err)
	}
	if opens, closes := fn.counts(); opens != 2 || closes != 1 {
		t.Errorf("after removing c: %d sockets opened, %d closed; want 2, 1", opens, closes)
	}
	n := len(rec.of("a", probes.EchoReply))
	waitFor(t, "a to keep answering", func() bool { return len(rec.of("a", probes.EchoReply)) >= n+3 })
}

func TestRunListenError(t *testing.T) {
	p, err := New("ping", fastConfig(), probes.Deps{Site: fakeSite()})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	p.listen = func(k sockKey) (packetConn, bool, uint16, error) {
		calls++
		if calls == 2 {
			return nil, false, 0, errors.New("open icmp socket: denied")
		}
		return newFakeNet(true).listen(k)
	}
	err = p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "open icmp socket: denied") {
		t.Fatalf("Run = %v, want the socket error", err)
	}
}

func TestNewInvalid(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DSCP = 70
	_, err := New("ping", cfg, probes.Deps{Site: fakeSite()})
	var ps problem.List
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Path != "dscp" {
		t.Errorf("New = %v, want one problem at dscp", err)
	}
}

func TestStatusRounds(t *testing.T) {
	site := probes.Site{Targets: []probes.Target{{Name: "a", Host: "10.0.0.1"}, {Name: "b", Host: "10.0.0.2"}}}
	status := probes.NewRounds(Kind, "ping")
	p, err := New("ping", fastConfig(), probes.Deps{Site: site, Status: status})
	if err != nil {
		t.Fatal(err)
	}
	fn := newFakeNet(true)
	fn.sendErr[netip.MustParseAddr("10.0.0.2")] = errors.New("sendto: operation not permitted")
	p.listen = fn.listen
	startProbe(t, p)
	select {
	case <-status.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("no status round")
	}
	// A send error other than "no route" fails the round; losses do not.
	if err := status.Last(); err == nil || !strings.Contains(err.Error(), "operation not permitted") {
		t.Errorf("round error = %v, want the send error", err)
	}
}

// TestReplyReadAfterDeadline starves the reader (the fake socket's Receive
// reads nothing) once the target's timeout has adapted to the 5 ms floor:
// every reply then waits in the socket past its echo's deadline, and is
// still judged by when it arrived. The scheduler reads the socket before
// judging a deadline, so none is lost, and their RTTs are the arrival's,
// not the read's.
func TestReplyReadAfterDeadline(t *testing.T) {
	site := probes.Site{Targets: []probes.Target{{Name: "up", Host: "10.0.0.1"}}}
	cfg := DefaultConfig()
	cfg.Interval = 20 * time.Millisecond
	cfg.MinTimeout = 5 * time.Millisecond
	rec := &recorder{}
	p, err := New("ping", cfg, probes.Deps{Site: site, Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	fn := newFakeNet(true)
	p.listen = fn.listen
	stop := startProbe(t, p)
	waitFor(t, "the timeout to adapt", func() bool { return len(rec.of("up", probes.EchoReply)) > warmup })
	p.targets["up"].mu.Lock()
	rto := p.targets["up"].tr.rto()
	p.targets["up"].mu.Unlock()
	if rto != cfg.MinTimeout {
		t.Fatalf("rto %v, want the floor %v", rto, cfg.MinTimeout)
	}
	fn.stall(true)
	before := len(rec.of("up", probes.EchoReply))
	waitFor(t, "10 replies read by the scheduler", func() bool { return len(rec.of("up", probes.EchoReply)) >= before+10 })
	stop()
	if lost := rec.of("up", probes.EchoLost); len(lost) > 0 {
		t.Errorf("%d echoes judged lost, first %+v: replies queued before their deadline must count", len(lost), lost[0])
	}
	for _, o := range rec.of("up", probes.EchoReply)[before:] {
		if o.RTT >= cfg.MinTimeout {
			t.Errorf("seq %d: RTT %v, the time it was read rather than when it arrived", o.Seq, o.RTT)
		}
	}
}

// TestFixForProbeSource: a link's Amazon peer that does not answer echoes
// sent from the link's probe source gets the probe source's fix (the /32
// advertised over that link only), not the generic link fix.
func TestFixForProbeSource(t *testing.T) {
	s := targetSpec{name: "secondary-amazon", host: "169.254.20.1", link: "secondary", probeSource: true}
	s.source = netip.MustParseAddr("198.51.100.2")
	fix := fixFor(s, nil)
	for _, want := range []string{"probe source 198.51.100.2", "routes 198.51.100.2/32 to dxwatch's host", "over link secondary only"} {
		if !strings.Contains(fix, want) {
			t.Errorf("fix %q lacks %q", fix, want)
		}
	}
	s.probeSource = false
	if fix := fixFor(s, nil); strings.Contains(fix, "probe source") {
		t.Errorf("without a probe source the fix names one: %q", fix)
	}
}

// TestFixForNoRoute: no route to a link's Amazon peer is about the route
// to the peer /30, not about the VPC prefix.
func TestFixForNoRoute(t *testing.T) {
	err := fmt.Errorf("sendto: %w", syscall.ENETUNREACH)
	link := fixFor(targetSpec{name: "primary-amazon", host: "169.254.10.1", link: "primary"}, err)
	if !strings.Contains(link, "no route to 169.254.10.1, link primary's Amazon peer address") || strings.Contains(link, "VPC prefix") {
		t.Errorf("link fix %q", link)
	}
	vpc := fixFor(targetSpec{name: "i1", host: "198.18.0.10"}, err)
	if !strings.Contains(vpc, "VPC prefix over BGP") {
		t.Errorf("VPC target fix %q", vpc)
	}
}
