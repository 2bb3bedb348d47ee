package agent_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
)

// peerings is what /api/status says of each link's peerings and of each
// family's traffic.
type peerings struct {
	Families []struct {
		Family string   `json:"family"`
		Active []string `json:"active"`
	} `json:"families"`
	Links []struct {
		Name     string `json:"name"`
		State    string `json:"state"`
		Peerings []struct {
			Family string `json:"family"`
			State  string `json:"state"`
		} `json:"peerings"`
	} `json:"links"`
}

func (c *agentClient) peerings() peerings {
	var p peerings
	if code, b := c.get("/api/status"); code == 200 {
		json.Unmarshal(b, &p)
	}
	return p
}

// peering returns the state of link's peering of family.
func (p peerings) peering(link, family string) string {
	for _, l := range p.Links {
		for _, ps := range l.Peerings {
			if l.Name == link && ps.Family == family {
				return ps.State
			}
		}
	}
	return ""
}

// familyActive says whether family's traffic crosses link alone.
func (c *agentClient) familyActive(family, link string) func() bool {
	return func() bool {
		for _, f := range c.peerings().Families {
			if f.Family == family {
				return len(f.Active) == 1 && f.Active[0] == link
			}
		}
		return false
	}
}

// TestLabIPv6OnlyCut drops every IPv6 packet on the primary, in both
// directions, carrier and IPv4 untouched (an IPv6 ACL or prefix list
// gone wrong): the primary's IPv6 peering goes down while its IPv4 one
// stays up, the IPv6 traffic fails over to the secondary as one IPv6
// failover whose outage agrees with fping -6's toward the same instance,
// the link as a whole is degraded, not down, and nothing about IPv4
// changes: no IPv4 event, no alert naming IPv4 or the link down.
func TestLabIPv6OnlyCut(t *testing.T) {
	l, c := labAgentBinary(t, lab.Options{Edge: lab.EdgeOne}, labConfig)
	prom := labPrometheus(t, l)
	c.waitFor(60*time.Second, "IPv4 traffic on the primary", c.familyActive("ipv4", "primary"))
	c.waitFor(60*time.Second, "IPv6 traffic on the primary", c.familyActive("ipv6", "primary"))
	c.waitFor(30*time.Second, "both peerings of both links up", func() bool {
		p := c.peerings()
		for _, link := range []string{"primary", "secondary"} {
			if p.peering(link, "ipv4") != "up" || p.peering(link, "ipv6") != "up" {
				return false
			}
		}
		return true
	})
	before := c.eventsSince(0)
	last := 0
	if len(before) > 0 {
		last = before[len(before)-1].ID
	}

	fp6 := startFping(t, l, lab.Instance1v6)
	cut := time.Now()
	if err := l.CutFamily("primary", "ipv6"); err != nil {
		t.Fatal(err)
	}
	d := c.waitFor(10*time.Second, "the primary's IPv6 peering down", func() bool { return c.peerings().peering("primary", "ipv6") == "down" })
	t.Logf("IPv6-only silent cut: the primary's IPv6 peering down %s after the cut (polled every 20 ms)", d.Round(time.Millisecond))
	c.waitFor(30*time.Second, "IPv6 traffic on the secondary", c.familyActive("ipv6", "secondary"))
	c.waitFor(30*time.Second, "one IPv6 failover", func() bool { return len(c.familyFailovers("ipv6")) == 1 })
	p := c.peerings()
	if st := p.peering("primary", "ipv4"); st != "up" {
		t.Errorf("the primary's IPv4 peering is %s during an IPv6-only cut, want up", st)
	}
	if st, reasons := c.status().link("primary"); st != "degraded" || !strings.Contains(strings.Join(reasons, ";"), "IPv6 peering down") {
		t.Errorf("the primary is %s (%q), want degraded with a reason naming its IPv6 peering", st, reasons)
	}
	ev := c.familyFailovers("ipv6")[0]
	if ev.Time.Before(cut) {
		t.Errorf("the IPv6 failover is dated %s, before the cut at %s", ev.Time, cut)
	}
	if ev.Direction != "failover" || strings.Join(ev.From, ",") != "primary" || strings.Join(ev.To, ",") != "secondary" {
		t.Errorf("IPv6 event = %+v, want a failover from primary to secondary", ev)
	}
	fp := fp6.stop(t)
	t.Logf("fping -l -D -p 10 toward %s: %s", lab.Instance1v6, fp)
	found := false
	for _, tg := range ev.Targets {
		if tg.Target != "i1-v6" {
			continue
		}
		found = true
		fpOutage := fp.Outage().Seconds()
		t.Logf("outage to i1-v6: dxwatch %.3f s (%d lost), fping -6 %.3f s (%d lost)", tg.OutageSeconds, tg.Lost, fpOutage, fp.Lost())
		if diff, within := math.Abs(tg.OutageSeconds-fpOutage), labPingInterval+fp.Period(); diff > within.Seconds() {
			t.Errorf("dxwatch's IPv6 outage %.3f s and fping's %.3f s differ by %.3f s, more than dxwatch's interval plus fping's period (%s)",
				tg.OutageSeconds, fpOutage, diff, within)
		}
	}
	if !found {
		t.Errorf("the IPv6 failover has no outage for i1-v6: %+v", ev.Targets)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := prom.WaitForAlert(ctx, "DirectConnectFailover", "firing", map[string]string{"family": "ipv6"}); err != nil {
		t.Error(err)
	}
	alerts, err := prom.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if a.Labels["family"] == "ipv4" || a.Labels["alertname"] == "DirectConnectLinkDown" {
			t.Errorf("alert %s %v is %s on an IPv6-only cut", a.Labels["alertname"], a.Labels, a.State)
		}
	}
	for _, e := range c.eventsSince(last) {
		if e.Family == "ipv4" || (e.Kind == "link_state" && e.Link == "primary" && e.Family == "" && e.State == "down") {
			t.Errorf("event on an IPv6-only cut: %+v", e)
		}
	}

	if err := l.Restore("primary"); err != nil {
		t.Fatal(err)
	}
	c.waitFor(60*time.Second, "IPv6 traffic back on the primary", c.familyActive("ipv6", "primary"))
	c.waitFor(30*time.Second, "the IPv6 failback", func() bool { return len(c.familyFailovers("ipv6")) == 2 })
	if n := len(c.failovers()); n != 0 {
		t.Errorf("%d IPv4 failovers on an IPv6-only cut, want none", n)
	}
}

// BenchmarkLabFamilyDetection is the detection of a silent cut of one
// address family of the primary (Lab.CutFamily: that family's packets
// dropped both ways, carrier and the other family untouched), IPv4 beside
// IPv6, in one dual-stack lab with BFD per family and labConfig's 100 ms
// probing: how long after the cut dxwatch dates the primary's peering of
// that family down and its failover, from the events' own times, and the
// failover's measured outage. The other family's events during the cut
// are counted (want 0). Root and FRR: make bench-lab.
func BenchmarkLabFamilyDetection(b *testing.B) {
	if err := lab.Available(); err != nil {
		b.Skipf("needs root and the lab: run make bench-lab (%v)", err)
	}
	l, c := labAgentBinary(b, lab.Options{Edge: lab.EdgeOne}, labConfig)
	for _, fam := range []string{"ipv4", "ipv6"} {
		other := map[string]string{"ipv4": "ipv6", "ipv6": "ipv4"}[fam]
		b.Run(fam, func(b *testing.B) {
			var down, failover, outage time.Duration
			n, stray := 0, 0
			for b.Loop() {
				settle(b, l, c)
				c.waitFor(60*time.Second, "IPv6 traffic on the primary", c.familyActive("ipv6", lab.LinkPrimary))
				last := 0
				for _, e := range c.eventsSince(0) {
					last = max(last, e.ID)
				}
				t0 := time.Now()
				if err := l.CutFamily(lab.LinkPrimary, fam); err != nil {
					b.Fatal(err)
				}
				var dn, fo event
				c.waitFor(60*time.Second, fam+" peering down and its failover", func() bool {
					for _, e := range c.eventsSince(last) {
						switch {
						case e.Kind == "link_state" && e.Link == lab.LinkPrimary && e.Family == fam && e.State == "down" && dn.ID == 0:
							dn = e
						case e.Kind == "failover" && e.Family == fam && e.Direction == "failover" && fo.ID == 0:
							fo = e
						}
					}
					return dn.ID != 0 && fo.ID != 0 && fo.Complete
				})
				for _, e := range c.eventsSince(last) {
					if e.Family == other {
						stray++
						b.Logf("%s event during an %s cut: %+v", other, fam, e)
					}
				}
				b.Logf("%s cut %d: peering down %s, failover %s after the cut, outage %.3f s", fam, n+1,
					dn.Time.Sub(t0).Round(time.Millisecond), fo.Time.Sub(t0).Round(time.Millisecond), fo.OutageSeconds)
				down += dn.Time.Sub(t0)
				failover += fo.Time.Sub(t0)
				outage += time.Duration(fo.OutageSeconds * float64(time.Second))
				n++
				if err := l.Restore(lab.LinkPrimary); err != nil {
					b.Fatal(err)
				}
				c.waitFor(60*time.Second, fam+" failback", func() bool {
					for _, e := range c.eventsSince(fo.ID) {
						if e.Kind == "failover" && e.Family == fam && e.Direction == "failback" {
							return true
						}
					}
					return false
				})
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(ms(down/time.Duration(n)), "dxwatch-peering-down-ms")
			b.ReportMetric(ms(failover/time.Duration(n)), "dxwatch-failover-ms")
			b.ReportMetric(ms(outage/time.Duration(n)), "outage-ms")
			b.ReportMetric(float64(stray), "other-family-events")
		})
	}
}
