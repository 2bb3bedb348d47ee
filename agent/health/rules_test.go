package health

import (
	"slices"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

func echo(t time.Duration, lost bool, seq int) probes.Observation {
	o := probes.Observation{Time: at(t), Event: probes.EchoReply, Probe: "ping", Target: "primary-peer", Link: "primary", Seq: seq, RTT: ms(2)}
	if lost {
		o.Event, o.RTT, o.Count = probes.EchoLost, 0, 0
	}
	return o
}

func echoes(from time.Duration, pattern string) []probes.Observation {
	var obs []probes.Observation
	for i, c := range pattern {
		obs = append(obs, echo(from+ms(100*i), c == 'x', i+1))
	}
	return obs
}

func awsCheck(t time.Duration, up bool, detail string) probes.Observation {
	return probes.Observation{Time: at(t), Event: probes.AWSCheck, Probe: "aws", Check: "aws.vif.primary.bgp", Link: "primary", Up: up, Detail: detail}
}

func macsecCheck(t time.Duration, up bool, detail string) probes.Observation {
	return probes.Observation{Time: at(t), Event: probes.AWSCheck, Probe: "aws", Check: "aws.connection.primary.macsec", Link: "primary", Up: up, Detail: detail}
}

func cwCheck(t time.Duration, what string, up bool, detail string) probes.Observation {
	return probes.Observation{Time: at(t), Event: probes.AWSCheck, Probe: "aws", Check: "aws.cloudwatch.primary." + what, Link: "primary", Up: up, Detail: detail}
}

// TestLinkRules checks the state rules of the README's table one by one, on
// the primary link.
func TestLinkRules(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		obs     []probes.Observation
		until   time.Duration // advance the clock to this offset before looking
		state   State
		reasons []string
	}{
		{name: "no evidence", state: StateUnknown, reasons: []string{"no fresh evidence"}},
		{name: "BGP session up", obs: []probes.Observation{session(ms(10), "primary", "edge1", true, "")}, state: StateUp, reasons: []string{}},
		{name: "BGP session down", obs: []probes.Observation{session(ms(10), "primary", "edge1", false, "hold timer expired")},
			state: StateDown, reasons: []string{"BGP session down (edge1 ↔ AWS 169.254.10.1, seen by BMP: hold timer expired)"}},
		{name: "expected prefix withdrawn", obs: []probes.Observation{session(ms(10), "primary", "edge1", true, ""), prefix(ms(20), "primary", true), prefix(ms(30), "primary", false)},
			state: StateDown, reasons: []string{"expected prefix 198.18.0.0/16 withdrawn"}},
		{name: "grey failure", obs: append([]probes.Observation{session(ms(10), "primary", "edge1", true, "")}, echoes(ms(100), "...xxx")...),
			state: StateDown, reasons: []string{"data plane down, BGP still up (3 echoes to primary-peer lost in a row)"}},
		{name: "data plane down without BGP evidence", obs: echoes(ms(100), "...xxx"),
			state: StateDown, reasons: []string{"data plane down (3 echoes to primary-peer lost in a row)"}},
		{name: "two lost is not down", obs: echoes(ms(100), "...xx"), state: StateUp, reasons: []string{}},
		{name: "never answered, two lost: not up", obs: echoes(ms(100), "xx"), state: StateUnknown, reasons: []string{"no fresh evidence"}},
		{name: "recovering needs recover_after replies", obs: echoes(ms(100), "...xxx.."),
			state: StateDown, reasons: []string{"data plane down (echoes to primary-peer answered again, 2 of 3 replies needed)"}},
		{name: "recovered: the down period's losses leave the loss ratio", obs: echoes(ms(100), "........xxx..."),
			state: StateUp, reasons: []string{}},
		{name: "recovered, a later loss counts", obs: echoes(ms(100), "........xxx.........x"),
			state: StateDegraded, reasons: []string{"loss 6% over the last 18 echoes to primary-peer (threshold 5%)"}},
		{name: "a short run is not excused", obs: echoes(ms(100), "........xx.........x"),
			state: StateDegraded, reasons: []string{"loss 15% over the last 20 echoes to primary-peer (threshold 5%)"}},
		{name: "loss over threshold", obs: echoes(ms(100), "....x....x....x....x"),
			state: StateDegraded, reasons: []string{"loss 20% over the last 20 echoes to primary-peer (threshold 5%)"}},
		{name: "RTT over threshold", mutate: func(c *Config) { c.RTTThreshold = ms(1) }, obs: echoes(ms(100), "...."),
			state: StateDegraded, reasons: []string{"mean RTT 2ms over the last 4 replies from primary-peer (threshold 1ms)"}},
		{name: "AWS check failing", obs: []probes.Observation{session(ms(10), "primary", "edge1", true, ""), awsCheck(ms(20), false, "AWS reports the BGP peer down")},
			state: StateDegraded, reasons: []string{"AWS check aws.vif.primary.bgp failing: AWS reports the BGP peer down",
				"AWS and the edge disagree on BGP: aws.vif.primary.bgp says down, the edge's session is up (one view is stale, CloudWatch lags by minutes, or the session flaps)"}},
		{name: "CloudWatch says BGP down, edge up: degraded, disagreement named", obs: []probes.Observation{session(ms(10), "primary", "edge1", true, ""),
			cwCheck(ms(20), "bgp", false, "AWS's VirtualInterfaceBgpStatus for dxvif-1 is 0 (down) at 11:50Z, 10m0s ago")},
			state: StateDegraded, reasons: []string{"AWS check aws.cloudwatch.primary.bgp failing: AWS's VirtualInterfaceBgpStatus for dxvif-1 is 0 (down) at 11:50Z, 10m0s ago",
				"AWS and the edge disagree on BGP: aws.cloudwatch.primary.bgp says down, the edge's session is up (one view is stale, CloudWatch lags by minutes, or the session flaps)"}},
		{name: "CloudWatch says BGP up, edge down: down on the edge's evidence, disagreement named", obs: []probes.Observation{session(ms(10), "primary", "edge1", false, "hold timer expired"),
			cwCheck(ms(20), "bgp", true, "")},
			state: StateDown, reasons: []string{"BGP session down (edge1 ↔ AWS 169.254.10.1, seen by BMP: hold timer expired)",
				"AWS and the edge disagree on BGP: aws.cloudwatch.primary.bgp says up, the edge's session is down (one view is stale, CloudWatch lags by minutes, or the session flaps)"}},
		{name: "CloudWatch alone never takes a link down", obs: []probes.Observation{cwCheck(ms(10), "state", false, "ConnectionState 0"), cwCheck(ms(20), "bgp", false, "BgpStatus 0"),
			cwCheck(ms(30), "optics", false, "AWS receives -20.5 dBm")},
			state: StateDegraded, reasons: []string{"AWS check aws.cloudwatch.primary.state failing: ConnectionState 0",
				"AWS check aws.cloudwatch.primary.bgp failing: BgpStatus 0", "AWS check aws.cloudwatch.primary.optics failing: AWS receives -20.5 dBm"}},
		{name: "must_encrypt connection not encrypting: down for traffic though BGP and echoes were up", obs: append([]probes.Observation{session(ms(10), "primary", "edge1", true, ""),
			macsecCheck(ms(50), false, "dxcon-1 encryption mode must_encrypt, port encryption status Encryption Down")}, echoes(ms(100), "....")...),
			state: StateDown, reasons: []string{"down for traffic: AWS check aws.connection.primary.macsec failing: dxcon-1 encryption mode must_encrypt, port encryption status Encryption Down (a must_encrypt connection carries no traffic while it does not encrypt)"}},
		{name: "MACsec as its mode requires: up", obs: append([]probes.Observation{macsecCheck(ms(50), true, "")}, echoes(ms(100), "....")...),
			state: StateUp, reasons: []string{}},
		{name: "CloudWatch errors degrade a link the data plane shows up", obs: append(echoes(ms(100), "...."), cwCheck(ms(50), "errors", false, "1096 MAC-level errors")),
			state: StateDegraded, reasons: []string{"AWS check aws.cloudwatch.primary.errors failing: 1096 MAC-level errors"}},
		{name: "AWS check stale", obs: []probes.Observation{awsCheck(ms(20), true, "")}, until: 11 * time.Minute,
			state: StateUnknown, reasons: []string{"no fresh evidence"}},
		{name: "trace only, fresh", obs: []probes.Observation{traceObs(ms(20), "app1", false, "primary")}, state: StateUp, reasons: []string{}},
		{name: "trace only, stale", obs: []probes.Observation{traceObs(ms(20), "app1", false, "primary")}, until: 3 * time.Minute,
			state: StateUnknown, reasons: []string{"no fresh evidence"}},
		{name: "ping probe silent", obs: echoes(ms(100), "...."), until: 10 * time.Second,
			state: StateDegraded, reasons: []string{"no echo result from primary-peer since 2025-06-01T12:00:00.4Z (stale after 5s)"}},
		{name: "BGP feed down: withdrawals say nothing", obs: append([]probes.Observation{
			session(ms(10), "", "edge1", true, ""), prefix(ms(20), "primary", true),
			session(ms(500), "", "edge1", false, "edge router reset"), prefix(ms(510), "primary", false)}, echoes(ms(100), "......")...),
			state: StateUp, reasons: []string{}},
		{name: "unknown link ignored", obs: []probes.Observation{{Time: at(ms(10)), Event: probes.BGPSession, Peer: "x", Link: "tertiary", Up: false}},
			state: StateUnknown, reasons: []string{"no fresh evidence"}},
		{name: "link named by its Amazon address", obs: []probes.Observation{{Time: at(ms(10)), Event: probes.BGPSession, Peer: "edge1", Link: "169.254.10.1", Up: false}},
			state: StateDown, reasons: []string{"BGP session down (edge1 ↔ AWS 169.254.10.1, seen by BMP)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testSite(probes.ModeActivePassive), tt.mutate)
			h.feed(merge(tt.obs))
			if tt.until > 0 {
				h.advance(at(tt.until))
			}
			l := h.link("primary")
			if l.State != tt.state || !slices.Equal(l.Reasons, tt.reasons) {
				t.Errorf("got %s %q\nwant %s %q", l.State, l.Reasons, tt.state, tt.reasons)
			}
		})
	}
}

// TestSessionWording pins how a BGP session reads in a link's reasons and
// in the timeline: a link's Direct Connect session, which an edge router
// reports over BMP, by its two ends; the agent's own session with the
// router as the router's route feed.
func TestSessionWording(t *testing.T) {
	const closed = "local system closed the session, notification sent: hold timer expired"
	tests := []struct {
		name    string
		obs     []probes.Observation
		reasons []string
		steps   []TimelineStep
	}{
		{
			name:    "DX session seen by BMP",
			obs:     []probes.Observation{session(ms(10), "primary", "edge1", true, ""), session(ms(20), "primary", "edge1", false, closed)},
			reasons: []string{"BGP session down (edge1 ↔ AWS 169.254.10.1, seen by BMP: " + closed + ")"},
			steps: []TimelineStep{
				{Time: at(ms(10)), What: StepSessionUp, Link: "primary", Detail: "edge1 ↔ AWS 169.254.10.1, seen by BMP"},
				{Time: at(ms(20)), What: StepSessionDown, Link: "primary", Detail: "edge1 ↔ AWS 169.254.10.1, seen by BMP: " + closed},
			},
		},
		{
			name:    "route feed from the edge router",
			obs:     []probes.Observation{session(ms(10), "", "edge1", true, ""), session(ms(20), "", "edge1", false, "idle (hold timer expired)")},
			reasons: []string{"no fresh evidence"},
			steps: []TimelineStep{
				{Time: at(ms(10)), What: StepSessionUp, Detail: "route feed from edge1 up"},
				{Time: at(ms(20)), What: StepSessionDown, Detail: "route feed from edge1 down: idle (hold timer expired)"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testSite(probes.ModeActivePassive), nil)
			h.feed(tt.obs)
			if got := h.link("primary").Reasons; !slices.Equal(got, tt.reasons) {
				t.Errorf("reasons %q\nwant %q", got, tt.reasons)
			}
			var steps []TimelineStep
			h.m.mu.Lock()
			h.m.fams[0].notes.each(func(s *TimelineStep) {
				if s.What == StepSessionUp || s.What == StepSessionDown {
					steps = append(steps, *s)
				}
			})
			h.m.mu.Unlock()
			if !slices.Equal(steps, tt.steps) {
				t.Errorf("steps %+v\nwant %+v", steps, tt.steps)
			}
		})
	}
}
