package ping

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// envStop names the file whose creation tells TestLabPingChild to stop;
// envProbeSources, set, gives the links the lab's probe sources.
const (
	envStop         = "DXWATCH_PING_STOP"
	envProbeSources = "DXWATCH_PING_PROBE_SOURCES"
)

// labSite is the lab's site (labsite.Site) with one VPC instance as
// target by both its addresses, i1 and i1-v6 (ICMPv6), and with
// lab/dxwatch-probe-sources.yaml's probe sources if probeSources.
func labSite(probeSources bool) probes.Site {
	s := labsite.Site()
	s.Targets = slices.DeleteFunc(s.Targets, func(t probes.Target) bool { return t.Name != lab.HostInst1 && t.Name != labsite.Inst1v6 })
	if probeSources {
		s = labsite.WithProbeSources(s)
	}
	return s
}

// labEvents collects what the child reports.
type labEvents struct {
	mu      sync.Mutex
	obs     []probes.Observation
	metrics map[string]float64
}

func (e *labEvents) find(f func(probes.Observation) bool) []probes.Observation {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []probes.Observation
	for _, o := range e.obs {
		if f(o) {
			out = append(out, o)
		}
	}
	return out
}

// TestLabPing runs the probe inside the lab's agent host: the VPC instance
// and both Amazon peer addresses answer; during a silent cut of the primary
// link the primary's Amazon peer reports consecutive losses while the VPC
// target answers again once BFD has moved the traffic to the secondary;
// the counters match the replies and losses reported. Without probe
// sources the secondary's Amazon peer loses echoes too until BFD acts (AWS
// returns its replies over the primary); with them it loses none.
func TestLabPing(t *testing.T) {
	for _, probeSources := range []bool{false, true} {
		t.Run(fmt.Sprintf("probe sources %v", probeSources), func(t *testing.T) { testLabPing(t, probeSources) })
	}
}

func testLabPing(t *testing.T, probeSources bool) {
	l := lab.ForTest(t, lab.Options{Edge: "one", ProbeSources: probeSources})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := l.WaitConverged(ctx); err != nil {
		t.Fatalf("lab not converged: %v", err)
	}
	stop := filepath.Join(t.TempDir(), "stop")
	env := []string{envStop + "=" + stop}
	if probeSources {
		env = append(env, envProbeSources+"=1")
	}
	c := lab.StartChild(t, l, lab.HostAgent, "TestLabPingChild", env...)

	ev := &labEvents{}
	done := make(chan error, 1)
	go func() {
		for {
			line, err := c.Line(ctx)
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				done <- err
				return
			}
			if js, ok := strings.CutPrefix(line, "OBS "); ok {
				var o probes.Observation
				if err := json.Unmarshal([]byte(js), &o); err != nil {
					done <- fmt.Errorf("child line %q: %w", line, err)
					return
				}
				ev.mu.Lock()
				ev.obs = append(ev.obs, o)
				ev.mu.Unlock()
			} else if js, ok := strings.CutPrefix(line, "METRICS "); ok {
				m := map[string]float64{}
				if err := json.Unmarshal([]byte(js), &m); err != nil {
					done <- fmt.Errorf("child line %q: %w", line, err)
					return
				}
				ev.mu.Lock()
				ev.metrics = m
				ev.mu.Unlock()
			}
		}
	}()
	replies := func(target string, after time.Time) int {
		return len(ev.find(func(o probes.Observation) bool {
			return o.Target == target && o.Event == probes.EchoReply && o.Time.After(after)
		}))
	}

	// The lab is dual-stack: each link's IPv6 peering is pinged at its
	// Amazon IPv6 address too (ICMPv6), reported with its family.
	waitFor(t, "replies from i1 and both Amazon peers, in both families", func() bool {
		return replies("i1", time.Time{}) >= 5 && replies(labsite.Inst1v6, time.Time{}) >= 5 && replies("primary-amazon", time.Time{}) >= 5 && replies("secondary-amazon", time.Time{}) >= 5 &&
			replies("primary-amazon6", time.Time{}) >= 5 && replies("secondary-amazon6", time.Time{}) >= 5
	})
	for _, o := range ev.find(func(o probes.Observation) bool { return strings.HasSuffix(o.Target, "-amazon6") }) {
		if o.Family != probes.FamilyIPv6 || o.Link != strings.TrimSuffix(o.Target, "-amazon6") {
			t.Fatalf("%s: family %q link %q, want ipv6 on its link", o.Target, o.Family, o.Link)
		}
	}
	if bad := ev.find(func(o probes.Observation) bool { return strings.HasSuffix(o.Target, "-amazon") && o.Family != "" }); len(bad) > 0 {
		t.Fatalf("an IPv4 pinned echo carries family %q", bad[0].Family)
	}
	// A VPC target's echoes are about no link: neither family's.
	if bad := ev.find(func(o probes.Observation) bool {
		return o.Target == labsite.Inst1v6 && (o.Link != "" || o.Family != "")
	}); len(bad) > 0 {
		t.Fatalf("%s: link %q family %q, want neither", labsite.Inst1v6, bad[0].Link, bad[0].Family)
	}

	if err := l.Cut(lab.LinkPrimary, true); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	t.Cleanup(func() { l.Restore(lab.LinkPrimary) })
	var down probes.Observation
	waitFor(t, "primary-amazon down and i1, i1-v6 answering again", func() bool {
		lost := ev.find(func(o probes.Observation) bool {
			return o.Target == "primary-amazon" && o.Event == probes.EchoLost && o.Time.After(cut) && o.Count >= 3
		})
		if len(lost) == 0 {
			return false
		}
		down = lost[0]
		return replies("i1", down.Time) >= 3 && replies(labsite.Inst1v6, down.Time) >= 3
	})
	if down.Link != lab.LinkPrimary {
		t.Errorf("primary-amazon loss has link %q", down.Link)
	}
	i1Lost := ev.find(func(o probes.Observation) bool {
		return o.Target == "i1" && o.Event == probes.EchoLost && o.Time.After(cut)
	})
	t.Logf("after the silent cut: primary-amazon down (3 losses) at +%v; i1 lost %d echoes and answers again", down.Time.Sub(cut).Round(time.Millisecond), len(i1Lost))
	if n := replies("secondary-amazon", cut); n == 0 {
		t.Errorf("secondary-amazon stopped answering during the primary's cut")
	}
	secLost := ev.find(func(o probes.Observation) bool {
		return o.Target == "secondary-amazon" && o.Event == probes.EchoLost && o.Time.After(cut)
	})
	t.Logf("secondary-amazon lost %d echoes after the cut", len(secLost))
	switch {
	case probeSources && len(secLost) > 0:
		t.Errorf("secondary-amazon lost %d echoes from its probe source during the primary's cut: %+v", len(secLost), secLost[0])
	case !probeSources && len(secLost) == 0:
		t.Errorf("secondary-amazon lost no echo during the primary's cut: its replies should have returned over the primary until BFD acted")
	}
	// Replies in flight at the cut may land just after it; none later, in
	// either family: the cut takes the link, both its peerings.
	for _, target := range []string{"primary-amazon", "primary-amazon6"} {
		if late := replies(target, cut.Add(500*time.Millisecond)); late > 0 {
			t.Errorf("%s answered %d times through a silent cut", target, late)
		}
	}
	if lost6 := ev.find(func(o probes.Observation) bool {
		return o.Target == "primary-amazon6" && o.Event == probes.EchoLost && o.Time.After(cut) && o.Count >= 3
	}); len(lost6) == 0 {
		t.Errorf("primary-amazon6 reported no 3 consecutive losses during the silent cut")
	}

	if err := l.Restore(lab.LinkPrimary); err != nil {
		t.Fatal(err)
	}
	restored := time.Now()
	waitFor(t, "primary-amazon and primary-amazon6 to answer after the restore", func() bool {
		return replies("primary-amazon", restored) >= 3 && replies("primary-amazon6", restored) >= 3
	})

	if err := os.WriteFile(stop, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	ev.mu.Lock()
	m := ev.metrics
	ev.mu.Unlock()
	if m == nil {
		t.Fatal("child printed no metrics")
	}
	for _, target := range []string{"i1", labsite.Inst1v6, "primary-amazon", "secondary-amazon", "primary-amazon6", "secondary-amazon6"} {
		nReplies := float64(len(ev.find(func(o probes.Observation) bool { return o.Target == target && o.Event == probes.EchoReply })))
		nLost := float64(len(ev.find(func(o probes.Observation) bool { return o.Target == target && o.Event == probes.EchoLost })))
		sent, recv := m["dxwatch_ping_sent_total{"+target+"}"], m["dxwatch_ping_received_total{"+target+"}"]
		if recv != nReplies || sent-recv-nLost < 0 || sent-recv-nLost > 2 {
			t.Errorf("%s: sent %v, received %v; child reported %v replies and %v losses", target, sent, recv, nReplies, nLost)
		}
		t.Logf("%s: sent %v, received %v, lost %v", target, sent, recv, nLost)
	}
}

// TestLabPingChild is TestLabPing's probe, run inside the lab's agent host:
// it prints every observation, then the metrics when told to stop.
func TestLabPingChild(t *testing.T) {
	if !lab.InChild() {
		t.Skip("runs only inside the lab's agent host, started by TestLabPing")
	}
	var mu sync.Mutex
	print := func(prefix string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		fmt.Printf("%s %s\n", prefix, b)
		mu.Unlock()
	}
	cfg := DefaultConfig()
	cfg.Interval = 100 * time.Millisecond
	p, err := New("ping", cfg, probes.Deps{
		Site:     labSite(os.Getenv(envProbeSources) != ""),
		Observer: probes.ObserverFunc(func(o probes.Observation) { print("OBS", o) }),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(os.Getenv(envStop)); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	print("METRICS", metrics(t, p))
}
