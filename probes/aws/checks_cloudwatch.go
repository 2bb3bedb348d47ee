package aws

import (
	"fmt"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// cwFresh is how old the newest CloudWatch datapoint may be to say
// something about now: Direct Connect publishes every 5 minutes and the
// datapoints arrive minutes after their period.
const cwFresh = 30 * time.Minute

// optic is the power range of one optic type, in dBm: what the IEEE 802.3
// clause of the optic AWS uses for a port speed allows at the transmitter
// (average launch power) and the receiver (average receive power, from
// the sensitivity to the overload).
type optic struct {
	name          string
	source        string
	lanes         int
	txMin, txMax  float64
	rxMin, rxMax  float64
	marginWarnDBm float64
}

// optics by connection bandwidth: Direct Connect dedicated ports are
// 1000BASE-LX (1 Gbps, one lane), 10GBASE-LR (10 Gbps, one lane) and
// 100GBASE-LR4 (100 Gbps, four lanes); CloudWatch publishes the light
// levels per lane. A 400 Gbps port (eight lanes) has no range here yet.
var optics = map[string]optic{
	"1Gbps":   {name: "1000BASE-LX", source: "IEEE 802.3 Tables 38-7 and 38-8", lanes: 1, txMin: -11, txMax: -3, rxMin: -19, rxMax: -3, marginWarnDBm: 2},
	"10Gbps":  {name: "10GBASE-LR", source: "IEEE 802.3 Tables 52-12 and 52-13", lanes: 1, txMin: -8.2, txMax: 0.5, rxMin: -14.4, rxMax: 0.5, marginWarnDBm: 2},
	"100Gbps": {name: "100GBASE-LR4", source: "IEEE 802.3 Tables 88-7 and 88-8 (per lane)", lanes: 4, txMin: -4.3, txMax: 4.5, rxMin: -10.6, rxMax: 4.5, marginWarnDBm: 2},
}

// cloudWatch adds the checks of AWS's own metrics of each link:
// aws.cloudwatch.<link>.state (ConnectionState), .bgp
// (VirtualInterfaceBgpStatus per address family), .errors
// (ConnectionErrorCount) and .optics (ConnectionLightLevelTx/Rx per
// optical lane). They lag: each names the time of the datapoint it judged.
func (c *checker) cloudWatch(lv linkView) {
	if c.cfg.CloudWatch.Disabled || c.s.cw == nil {
		return
	}
	link := lv.link.Name
	base := "aws.cloudwatch." + link
	order := probes.OrderConnection + 40
	unread := func(name, what string) bool {
		if f := c.s.failed("cloudwatch:GetMetricData"); f != nil {
			c.unread(name, order, link, what, f)
			return true
		}
		return false
	}
	if lv.conn == nil {
		for _, n := range []string{".state", ".errors", ".optics"} {
			c.add(base+n, order, link, probes.Skip, "", "the connection of %s is not known (not found or not read): see aws.connection.%s.state", link, link)
		}
	} else {
		id := deref(lv.conn.ConnectionId)
		hosted := deref(lv.conn.PartnerName)
		c.cwState(base+".state", order, link, id, "ConnectionState", "connection "+id, unread)
		if hosted != "" {
			why := fmt.Sprintf("%s is a hosted connection via %s: AWS publishes its error count and light levels to %s, who owns the port, not to you", id, hosted, hosted)
			fix := "ask " + hosted + " for the port's errors and light levels"
			c.add(base+".errors", order, link, probes.Skip, fix, "%s", why)
			c.add(base+".optics", order, link, probes.Skip, fix, "%s", why)
		} else {
			c.cwErrors(base+".errors", order, link, id, unread)
			c.cwOptics(base+".optics", order, link, id, deref(lv.conn.Bandwidth))
		}
	}
	if lv.vif == nil {
		c.add(base+".bgp", order, link, probes.Skip, "", "the VIF of %s is not known (not found or not read): see aws.vif.%s.state", link, link)
		return
	}
	// Per peering on a dual-stack link (aws.cloudwatch.<link>.bgp.ipv6
	// beside the first peering's line), each carrying its family.
	for _, pg := range peeringsOf(lv) {
		n := len(c.out)
		c.cwBGP(base+".bgp"+pg.suffix, order, link, lv.vif, pg)
		for i := n; i < len(c.out); i++ {
			c.out[i].Family = pg.obsFamily
		}
	}
}

// latest returns the newest datapoint of a metric if it is fresh.
func (c *checker) latest(resource, metric string) (time.Time, float64, string) {
	return c.freshest(c.s.cw.get(resource, metric), metric, resource)
}

// ago says when a datapoint was, and that CloudWatch lags.
func (c *checker) ago(at time.Time) string {
	return fmt.Sprintf("at %s, %s ago (CloudWatch lags by minutes)", at.Format("15:04Z"), c.now.Sub(at).Round(time.Minute))
}

func (c *checker) cwState(name string, order int, link, resource, metric, what string, unread func(string, string) bool) {
	at, v, stale := c.latest(resource, metric)
	if stale != "" {
		if !unread(name, metric+" of "+resource) {
			c.add(name, order, link, probes.Skip, "", "%s", stale)
		}
		return
	}
	if v >= 1 {
		c.add(name, order, link, probes.Pass, "", "AWS's %s is 1 (up) %s", metric, c.ago(at))
		return
	}
	c.add(name, order, link, probes.Fail, cwDownFix(what),
		"AWS's %s for %s is 0 (down) %s", metric, resource, c.ago(at))
}

func cwDownFix(what string) string {
	return "AWS saw " + what + " down: compare with the edge router's view (a session up on the edge while AWS says down means one view is stale or the session flaps); if both agree, check the cross-connect and the router"
}

func (c *checker) cwErrors(name string, order int, link, id string, unread func(string, string) bool) {
	ser := c.s.cw.get(id, "ConnectionErrorCount")
	at, _, stale := c.latest(id, "ConnectionErrorCount")
	if stale != "" {
		if !unread(name, "ConnectionErrorCount of "+id) {
			c.add(name, order, link, probes.Skip, "", "%s", stale)
		}
		return
	}
	sum := func(s cwSeries) float64 {
		t := 0.0
		for _, v := range s.vals {
			t += v
		}
		return t
	}
	lastHour := ser.since(at.Add(-time.Hour + cwPeriod))
	hourBefore := sum(ser.since(at.Add(-2*time.Hour+cwPeriod))) - sum(lastHour)
	n := sum(lastHour)
	if n == 0 {
		c.add(name, order, link, probes.Pass, "", "no MAC-level errors on %s in the hour up to the datapoint %s", id, c.ago(at))
		return
	}
	_, latest, _ := ser.last()
	c.add(name, order, link, probes.Warn,
		"errors on the port usually mean a dirty or damaged fibre or a failing optic: check the cross-connect's light levels and clean or replace the patch; open an AWS support case if the errors are on AWS's receive side",
		"%.0f MAC-level errors on %s in the last hour (%.0f in the latest 5 minutes, %s), %.0f in the hour before", n, id, latest, c.ago(at), hourBefore)
}
