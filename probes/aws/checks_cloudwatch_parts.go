package aws

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"

	"github.com/dxwatch/dxwatch/probes"
)

// The checks of the AWS/DX metrics that CloudWatch publishes per part of a
// resource: the light levels per optical lane ({ConnectionId,
// OpticalLaneNumber}) and the VIF BGP metrics per address family
// ({ConnectionId, IpAddressFamily, VirtualInterfaceId}), Direct Connect
// User Guide, "Monitor with Amazon CloudWatch".

// freshest says whether a series' newest datapoint says something about now,
// and if not, why.
func (c *checker) freshest(ser cwSeries, metric, what string) (time.Time, float64, string) {
	at, v, ok := ser.last()
	switch {
	case !ok:
		return at, v, fmt.Sprintf("CloudWatch has no %s datapoint for %s since %s", metric, what, c.s.cw.from.Format(time.RFC3339))
	case c.now.Sub(at) > cwFresh:
		return at, v, fmt.Sprintf("the newest %s datapoint for %s is from %s, older than %s", metric, what, at.Format(time.RFC3339), cwFresh)
	}
	return at, v, ""
}

// cwListFailed returns the failure that kept the lanes or families from
// being listed or read, if any.
func (c *checker) cwListFailed() *failure {
	return c.s.failed("cloudwatch:ListMetrics", "cloudwatch:GetMetricData")
}

// laneJudgement is one side of one optical lane, judged.
type laneJudgement struct {
	lane, what string
	v, lo, hi  float64
	at         time.Time
	status     probes.CheckStatus
}

// margin is how far the level is inside its range (negative: outside).
func (j laneJudgement) margin() float64 { return min(j.v-j.lo, j.hi-j.v) }

func (j laneJudgement) String() string {
	return fmt.Sprintf("%s %.1f dBm (range %.1f to %.1f)", j.what, j.v, j.lo, j.hi)
}

// cwOptics judges every optical lane's transmit and receive level against
// the range of the port's optic, and names the worst lane.
func (c *checker) cwOptics(name string, order int, link, id, bandwidth string) {
	o, ok := optics[bandwidth]
	if !ok {
		c.add(name, order, link, probes.Skip, "", "no optic range known for a %s port", orDefault(bandwidth, "port of unknown speed"))
		return
	}
	lanes := map[string]bool{}
	for _, m := range laneMetrics {
		for lane := range c.s.cw.partsOf(id, m.name) {
			lanes[lane] = true
		}
	}
	if len(lanes) == 0 {
		if f := c.cwListFailed(); f != nil {
			c.unread(name, order, link, "the light levels of "+id, f)
			return
		}
		c.add(name, order, link, probes.Skip, "", "CloudWatch lists no ConnectionLightLevelTx/Rx series for %s (published per ConnectionId and OpticalLaneNumber)", id)
		return
	}
	byNumber := make([]string, 0, len(lanes))
	for l := range lanes {
		byNumber = append(byNumber, l)
	}
	slices.SortFunc(byNumber, compareLanes)

	var judged []laneJudgement
	var stale []string
	for _, lane := range byNumber {
		for _, side := range []struct {
			metric, what string
			lo, hi       float64
		}{
			{"ConnectionLightLevelTx", "AWS transmits", o.txMin, o.txMax},
			{"ConnectionLightLevelRx", "AWS receives", o.rxMin, o.rxMax},
		} {
			at, v, why := c.freshest(c.s.cw.partsOf(id, side.metric)[lane], side.metric, id+" lane "+lane)
			if why != "" {
				stale = append(stale, why)
				continue
			}
			j := laneJudgement{lane: lane, what: side.what, v: v, lo: side.lo, hi: side.hi, at: at, status: probes.Pass}
			switch {
			case v < side.lo || v > side.hi:
				j.status = probes.Fail
			case v < side.lo+o.marginWarnDBm || v > side.hi-o.marginWarnDBm:
				j.status = probes.Warn
			}
			judged = append(judged, j)
		}
	}
	if len(judged) == 0 {
		if f := c.cwListFailed(); f != nil {
			c.unread(name, order, link, "the light levels of "+id, f)
			return
		}
		c.add(name, order, link, probes.Skip, "", "%s", stale[0])
		return
	}
	worst := judged[0]
	for _, j := range judged[1:] {
		if rank(j.status) > rank(worst.status) || (j.status == worst.status && j.margin() < worst.margin()) {
			worst = j
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, %s)", id, o.name, o.source)
	if len(byNumber) == 1 {
		fmt.Fprintf(&b, ", lane %s:", byNumber[0])
		for _, j := range judged {
			fmt.Fprintf(&b, " %s;", j)
		}
		fmt.Fprintf(&b, " %s", c.ago(worst.at))
	} else {
		fmt.Fprintf(&b, ", %d lanes, worst lane %s: %s %s", len(byNumber), worst.lane, worst, c.ago(worst.at))
		for _, side := range []string{"AWS transmits", "AWS receives"} {
			var vs []string
			for _, j := range judged {
				if j.what == side {
					vs = append(vs, fmt.Sprintf("%s %.1f", j.lane, j.v))
				}
			}
			fmt.Fprintf(&b, "; %s by lane: %s dBm", side, strings.Join(vs, ", "))
		}
	}
	if len(byNumber) < o.lanes {
		fmt.Fprintf(&b, "; CloudWatch lists %d of the %d lanes of a %s", len(byNumber), o.lanes, o.name)
	}
	if len(stale) > 0 {
		fmt.Fprintf(&b, "; not judged: %s", strings.Join(stale, "; "))
	}
	fix := ""
	if worst.status != probes.Pass {
		fix = fmt.Sprintf("lane %s is the worst: a low receive level is a dirty connector, a tight bend or a failing optic on the path towards that side: clean and inspect the cross-connect and your optic; a high one needs an attenuator", worst.lane)
	}
	c.add(name, order, link, worst.status, fix, "%s", b.String())
}

// compareLanes orders lane numbers numerically, anything else after them
// as text.
func compareLanes(a, b string) int {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	switch {
	case errA == nil && errB == nil:
		return x - y
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// rank orders statuses by severity.
func rank(s probes.CheckStatus) int {
	switch s {
	case probes.Fail:
		return 3
	case probes.Warn:
		return 2
	case probes.Pass:
		return 1
	}
	return 0
}

// familyName is an IpAddressFamily value as a person writes it; no AWS
// page found gives the values, so they are compared without regard to
// case.
func familyName(v string) string {
	switch {
	case strings.EqualFold(v, "ipv4"):
		return "IPv4"
	case strings.EqualFold(v, "ipv6"):
		return "IPv6"
	}
	return v
}

// familyLabel is the value of the metrics' family label: the Direct
// Connect API's spelling (ipv4, ipv6).
func familyLabel(v string) string { return strings.ToLower(familyName(v)) }

// cwBGP judges AWS's BGP status of a VIF per address family: each family
// the VIF has a peer in, or CloudWatch lists, on its own. A family without
// series is "not published" (no peering in it, or not yet), never a
// failure. On a dual-stack link each peering's line judges its own family
// (pg); a single-family link's line judges every family.
func (c *checker) cwBGP(name string, order int, link string, v *vifData, pg peering) {
	vid := deref(v.VirtualInterfaceId)
	status := c.s.cw.partsOf(vid, "VirtualInterfaceBgpStatus")
	fams := map[string]string{} // display name -> value as listed
	for val := range status {
		fams[familyName(val)] = val
	}
	for _, p := range v.BgpPeers {
		f := "IPv4"
		if p.AddressFamily == dxtypes.AddressFamilyIPv6 {
			f = "IPv6"
		}
		if _, ok := fams[f]; !ok {
			fams[f] = ""
		}
	}
	if !pg.all {
		for f := range fams {
			if f != familyName(pg.family) {
				delete(fams, f)
			}
		}
	}
	if len(status) == 0 {
		if f := c.cwListFailed(); f != nil {
			c.unread(name, order, link, "VirtualInterfaceBgpStatus of "+vid, f)
			return
		}
	}
	if len(fams) == 0 {
		c.add(name, order, link, probes.Skip, "", "VIF %s has no BGP peer, and CloudWatch lists no VirtualInterfaceBgpStatus series for it (published per ConnectionId, IpAddressFamily and VirtualInterfaceId)", vid)
		return
	}
	names := make([]string, 0, len(fams))
	for f := range fams {
		names = append(names, f)
	}
	slices.Sort(names)
	st := probes.Skip
	var parts, down []string
	for _, f := range names {
		val := fams[f]
		if val == "" {
			parts = append(parts, fmt.Sprintf("%s: not published (CloudWatch lists no VirtualInterfaceBgpStatus for %s in %s)", f, vid, f))
			continue
		}
		at, up, why := c.freshest(status[val], "VirtualInterfaceBgpStatus", vid+" "+f)
		if why != "" {
			parts = append(parts, f+": "+why)
			continue
		}
		extra := ""
		for _, m := range []string{"VirtualInterfaceBgpPrefixesAccepted", "VirtualInterfaceBgpPrefixesAdvertised"} {
			if _, n, s := c.freshest(c.s.cw.partsOf(vid, m)[val], m, vid); s == "" {
				extra += fmt.Sprintf(", %s %.0f", m[len("VirtualInterfaceBgp"):], n)
			}
		}
		if up >= 1 {
			if st == probes.Skip {
				st = probes.Pass
			}
			parts = append(parts, fmt.Sprintf("%s: AWS's VirtualInterfaceBgpStatus is 1 (up) %s%s", f, c.ago(at), extra))
			continue
		}
		st = probes.Fail
		down = append(down, f)
		parts = append(parts, fmt.Sprintf("%s: AWS's VirtualInterfaceBgpStatus for %s is 0 (down) %s%s", f, vid, c.ago(at), extra))
	}
	fix := ""
	if st == probes.Fail {
		fix = cwDownFix("the " + strings.Join(down, " and ") + " BGP session of VIF " + vid)
	}
	c.add(name, order, link, st, fix, "%s", strings.Join(parts, "; "))
}
