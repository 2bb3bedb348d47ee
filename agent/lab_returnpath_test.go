package agent_test

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/promtest"
)

// TestLabReturnPath is issue #14's acceptance on the lab, whose Amazon side
// is one routing domain (lab/README.md, "Return routing"): AWS returns the
// replies to the agent's LAN address over the primary, whichever link a
// request crossed. A silent cut of the primary must not take the secondary
// down (its pinned echoes' replies die on the primary), must give one
// failover primary → secondary whose outage agrees with fping's, and must
// page nothing about the secondary in a real Prometheus with the shipped
// rules. Each case brings its own lab up and tears it down.
func TestLabReturnPath(t *testing.T) {
	if err := lab.Available(); err != nil {
		t.Skipf("needs root and the lab: run make test-lab (%v)", err)
	}
	for _, tc := range []struct {
		name   string
		edge   string
		noBFD  bool
		silent bool
	}{
		{name: "one edge/silent cut, BFD off", edge: lab.EdgeOne, noBFD: true, silent: true},
		{name: "one edge/silent cut, BFD on", edge: lab.EdgeOne, silent: true},
		{name: "one edge/carrier cut", edge: lab.EdgeOne},
		{name: "two edges/silent cut, BFD off", edge: lab.EdgeTwo, noBFD: true, silent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, c := labAgentBinary(t, lab.Options{Edge: tc.edge, NoBFD: tc.noBFD}, labConfig)
			prom := labPrometheus(t, l)
			settleBoth(t, c)
			w := watchLinks(t, c)
			fp := startFping(t, l, lab.Instance1)
			cut := time.Now()
			if err := l.Cut(lab.LinkPrimary, tc.silent); err != nil {
				t.Fatal(err)
			}
			down := c.waitFor(10*time.Second, "primary down", c.linkState(lab.LinkPrimary, "down"))
			t.Logf("primary down %s after the cut (status polled every 20 ms)", down.Round(time.Millisecond))
			// BFD off: the edge moves the traffic when the 90 s hold timer
			// expires.
			c.waitFor(150*time.Second, "failover event", func() bool { return len(c.failovers()) == 1 })
			res := fp.stop(t)
			seen := w.stop()
			ev := c.failovers()[0]
			if ev.Direction != "failover" || strings.Join(ev.From, ",") != lab.LinkPrimary || strings.Join(ev.To, ",") != lab.LinkSecondary {
				t.Errorf("event %+v, want a failover primary → secondary", ev)
			}
			t.Logf("secondary states seen: %v; failover dated %s after the cut, outage %.3f s", seen[lab.LinkSecondary], ev.Time.Sub(cut).Round(time.Millisecond), ev.OutageSeconds)
			if slices.Contains(seen[lab.LinkSecondary], "down") {
				t.Errorf("the secondary went down (states %v): its echoes' replies died on the primary, not on it", seen[lab.LinkSecondary])
			}
			if tc.silent && !slices.Contains(seen[lab.LinkSecondary], "unverified") {
				t.Errorf("the secondary never showed unverified during the silent cut (states %v): its pinned echoes' replies crossed the dead primary", seen[lab.LinkSecondary])
			}
			for _, e := range c.events("link_state") {
				if e.Link == lab.LinkSecondary && e.State == "down" {
					t.Errorf("link_state event %+v: the secondary recorded down", e)
				}
			}
			compareOutage(t, ev, res)

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := prom.WaitForAlert(ctx, "DirectConnectLinkDown", "firing", map[string]string{"link": lab.LinkPrimary}); err != nil {
				t.Error(err)
			}
			for _, q := range []string{
				`max_over_time(ALERTS{alertname="DirectConnectAllLinksDown"}[10m])`,
				// Running on the secondary is the truth after a failover
				// (its 30 m hold is capped to 2 s here); nothing else may
				// name the secondary.
				`max_over_time(ALERTS{link="secondary",alertname!="DirectConnectRunningOnSecondary"}[10m])`,
			} {
				got, err := prom.Query(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) > 0 {
					t.Errorf("Prometheus %s: %v, want no such alert, not even pending", q, got)
				}
			}
			if err := l.Restore(lab.LinkPrimary); err != nil {
				t.Fatal(err)
			}
			c.waitFor(60*time.Second, "primary active again", c.active(lab.LinkPrimary))
		})
	}

	// With probe sources each link's pinned echoes return over that link:
	// during the silent primary cut the secondary stays up on its own
	// answered echoes, and a silent cut of the secondary takes it down.
	for _, edge := range []string{lab.EdgeOne, lab.EdgeTwo} {
		t.Run(edge+" edge/probe sources, silent primary cut, BFD off", func(t *testing.T) {
			l, c := labAgentBinary(t, lab.Options{Edge: edge, NoBFD: true, ProbeSources: true}, probeSourceConfig)
			settleBoth(t, c)
			secondaryHoldsThroughPrimaryCut(t, l, c)
		})
	}
	t.Run("one edge/probe sources, secondary cut", func(t *testing.T) {
		l, c := labAgentBinary(t, lab.Options{Edge: lab.EdgeOne, NoBFD: true, ProbeSources: true}, probeSourceConfig)
		settleBoth(t, c)
		if err := l.Cut(lab.LinkSecondary, true); err != nil {
			t.Fatal(err)
		}
		d := c.waitFor(10*time.Second, "secondary down", c.linkState(lab.LinkSecondary, "down"))
		t.Logf("secondary down %s after its silent cut", d.Round(time.Millisecond))
		if st, why := c.status().link(lab.LinkPrimary); st != "up" {
			t.Errorf("primary %s %q, want up", st, why)
		}
		if err := l.Restore(lab.LinkSecondary); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("one edge/secondary cut while the primary carries", func(t *testing.T) {
		l, c := labAgentBinary(t, lab.Options{Edge: lab.EdgeOne, NoBFD: true}, labConfig)
		settleBoth(t, c)
		if err := l.Cut(lab.LinkSecondary, true); err != nil {
			t.Fatal(err)
		}
		// The primary answers echoes sent after the secondary's losses
		// began, so the return path works and the losses are the
		// secondary's own: down (README, agent/health "Return path").
		d := c.waitFor(10*time.Second, "secondary down", c.linkState(lab.LinkSecondary, "down"))
		t.Logf("secondary down %s after its silent cut", d.Round(time.Millisecond))
		time.Sleep(2 * time.Second)
		if st, why := c.status().link(lab.LinkPrimary); st != "up" {
			t.Errorf("primary %s %q, want up", st, why)
		}
		if fo := c.events("failover", "outage"); len(fo) != 0 {
			t.Errorf("events %+v, want no failover or outage", fo)
		}
		if err := l.Restore(lab.LinkSecondary); err != nil {
			t.Fatal(err)
		}
		c.waitFor(30*time.Second, "secondary up again", c.linkState(lab.LinkSecondary, "up"))
	})

	t.Run("one edge/both sessions reset, then a silent primary cut", func(t *testing.T) {
		l, c := labAgentBinary(t, lab.Options{Edge: lab.EdgeOne, NoBFD: true}, labConfig)
		settleBoth(t, c)
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		for _, peer := range []string{lab.PrimaryAmazon, lab.SecondaryAmazon} {
			if _, err := l.Vtysh(ctx, lab.HostEdge1, "clear bgp "+peer); err != nil {
				t.Fatal(err)
			}
		}
		// The lab first: both sessions back and the best path on the
		// primary again, then the agent within a second of it.
		if err := l.WaitConverged(ctx); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		d := c.waitFor(10*time.Second, "primary active after the reset", c.active(lab.LinkPrimary))
		t.Logf("primary active %s after the lab's best path returned to it", d.Round(time.Millisecond))
		if d > time.Second {
			t.Errorf("the agent took %s to follow the best path back to the primary, want ≤ 1 s", d.Round(time.Millisecond))
		}
		// The reset itself cut the traffic while both sessions were down:
		// its outage event closes once the targets answer again.
		c.waitFor(30*time.Second, "the reset's outage closed", func() bool { return len(c.status().InProgress) == 0 })
		before := len(c.events("failover", "outage"))
		for _, e := range c.events("failover", "outage") {
			t.Logf("the reset's own event: %s %v → %v, outage %.3f s", e.Kind, e.From, e.To, e.OutageSeconds)
		}
		time.Sleep(time.Until(back.Add(5 * time.Second)))
		if err := l.Cut(lab.LinkPrimary, true); err != nil {
			t.Fatal(err)
		}
		c.waitFor(10*time.Second, "failover opened", func() bool {
			return !c.active(lab.LinkPrimary)()
		})
		c.waitFor(150*time.Second, "failover event", func() bool { return len(c.events("failover", "outage")) > before })
		ev := c.events("failover", "outage")[before]
		if ev.Kind != "failover" || strings.Join(ev.From, ",") != lab.LinkPrimary || strings.Join(ev.To, ",") != lab.LinkSecondary {
			t.Errorf("event %+v, want a failover primary → secondary", ev)
		}
		if err := l.Restore(lab.LinkPrimary); err != nil {
			t.Fatal(err)
		}
	})
}

// probeSourceConfig is labConfig with each link's probe source
// (lab.Options.ProbeSources), as lab/dxwatch-probe-sources.yaml has them.
var probeSourceConfig = strings.NewReplacer(
	"    vlan: 101\n", "    vlan: 101\n    probe_source: "+lab.PrimaryProbeSource+"\n",
	"    vlan: 102\n", "    vlan: 102\n    probe_source: "+lab.SecondaryProbeSource+"\n",
).Replace(labConfig)

// labPrometheus runs a real Prometheus in the lab's agent host, scraping
// the agent every second with the shipped rules, every `for:` capped at
// 2 s so that a page that should not happen shows within the test.
func labPrometheus(t *testing.T, l *lab.Lab) *promtest.Server {
	t.Helper()
	return promtest.ForTest(t, promtest.Config{
		Targets:   []string{agentListen},
		Labels:    map[string]string{"site": "lab"},
		RuleFiles: []string{"../dashboards/alerts.yaml"},
		MaxFor:    2 * time.Second,
		Command: func(ctx context.Context, argv ...string) *exec.Cmd {
			return l.Command(ctx, lab.HostAgent, argv...)
		},
		DialContext: l.DialContext(lab.HostAgent),
	})
}

// settleBoth waits for the state a cut starts from: the primary active,
// both links up.
func settleBoth(t *testing.T, c *agentClient) {
	t.Helper()
	c.waitFor(60*time.Second, "primary active", c.active(lab.LinkPrimary))
	c.waitFor(30*time.Second, "both links up", func() bool {
		return c.linkState(lab.LinkPrimary, "up")() && c.linkState(lab.LinkSecondary, "up")()
	})
}

// linkWatch polls /api/status every 20 ms and keeps, per link, every state
// it saw, in order, without repeats.
type linkWatch struct {
	mu   sync.Mutex
	seen map[string][]string
	done chan struct{}
	wg   sync.WaitGroup
}

func watchLinks(t *testing.T, c *agentClient) *linkWatch {
	w := &linkWatch{seen: map[string][]string{}, done: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			s := c.status()
			w.mu.Lock()
			for _, l := range s.Links {
				if st := w.seen[l.Name]; len(st) == 0 || st[len(st)-1] != l.State {
					w.seen[l.Name] = append(st, l.State)
				}
			}
			w.mu.Unlock()
			select {
			case <-w.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

func (w *linkWatch) stop() map[string][]string {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][]string{}
	for k, v := range w.seen {
		out[k] = slices.Clone(v)
	}
	return out
}

// compareOutage checks that the failover's measured outage toward i1 is
// within 100 ms (issue #14: dxwatch's 100 ms interval) of fping's, run at
// 10 ms beside it.
func compareOutage(t *testing.T, ev event, fp lab.Fping) {
	t.Helper()
	for _, tg := range ev.Targets {
		if tg.Target != "i1" {
			continue
		}
		got, want := tg.OutageSeconds, fp.Outage().Seconds()
		t.Logf("outage to i1: dxwatch %.3f s (%d lost), fping -p 10 %.3f s (%d lost)", got, tg.Lost, want, fp.Lost())
		if diff := math.Abs(got - want); diff > labPingInterval.Seconds()+fp.Period().Seconds() {
			t.Errorf("dxwatch's outage %.3f s and fping's %.3f s differ by %.3f s, more than %s plus fping's period %s",
				got, want, diff, labPingInterval, fp.Period().Round(time.Microsecond))
		}
		return
	}
	t.Errorf("the failover event has no outage for i1: %s", fmt.Sprint(ev.Targets))
}
