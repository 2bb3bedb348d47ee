package drill_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/drill"
	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/history"
	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/lab/syncbuf"
	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/aws"
)

var t0 = time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)

// healthy is both links up, the primary active, the prefix on both.
func healthy() health.Status {
	link := func(name, peer string, active bool) health.LinkStatus {
		return health.LinkStatus{Name: name, State: health.StateUp, Active: active, Reasons: []string{}, Evidence: []health.Evidence{
			{Source: "bgp_session", Name: peer, OK: true, Fresh: true},
			{Source: "bgp_prefix", Name: "198.18.0.0/16", OK: true, Fresh: true},
		}}
	}
	p, s := link("primary", "169.254.10.1", true), link("secondary", "169.254.20.1", false)
	p.Echo = []health.EchoStatus{{Target: "primary", Fresh: true, Samples: 20}}
	s.Echo = []health.EchoStatus{{Target: "secondary", Fresh: true, Samples: 20, LossRatio: 0.05}}
	return health.Status{Site: "lab", Mode: probes.ModeActivePassive, Time: t0, Active: []string{"primary"}, ActiveKnown: true,
		Links:   []health.LinkStatus{p, s},
		Targets: []health.TargetStatus{{Name: "i1", Host: "198.18.0.10", Active: []string{"primary"}, Source: "bgp", Echo: &health.EchoStatus{Target: "i1", Fresh: true, Samples: 20}}},
		Feeds:   []health.Evidence{{Source: "bgp_session", Name: "192.0.2.1", OK: true, Fresh: true}}}
}

// ipv6Off makes the status a dual-stack one whose primary's IPv6 peering is
// down and whose IPv6 traffic crosses the secondary, and sets the drill's
// family.
func ipv6Off(family string) func(*drill.Evidence, *drill.Options) {
	return func(p *drill.Evidence, o *drill.Options) {
		o.Family = family
		st := &p.Status
		st.Families = []health.FamilyStatus{
			{Family: probes.FamilyIPv4, Active: []string{"primary"}, ActiveKnown: true, Targets: 1},
			{Family: probes.FamilyIPv6, Active: []string{"secondary"}, ActiveKnown: true, Targets: 1},
		}
		st.Links[0].State = health.StateDegraded
		st.Links[0].Reasons = []string{"IPv6 peering down: BGP session down"}
		st.Links[0].Peerings = []health.PeeringStatus{
			{Family: probes.FamilyIPv4, State: health.StateUp, Reasons: []string{}, Active: true},
			{Family: probes.FamilyIPv6, State: health.StateDown, Reasons: []string{"BGP session down"}},
		}
		st.Links[1].Peerings = []health.PeeringStatus{
			{Family: probes.FamilyIPv4, State: health.StateUp, Reasons: []string{}},
			{Family: probes.FamilyIPv6, State: health.StateUp, Reasons: []string{}, Active: true},
		}
	}
}

// ready is every configured source ready: the BGP session to edge1 with
// its table in, the BMP router's dump done, the first AWS poll.
func ready() []probes.Readiness {
	return []probes.Readiness{
		{Kind: "bgp", Name: "edge1", Ready: true, State: "established", Detail: "End-of-RIB", Since: t0.Add(-12300 * time.Millisecond)},
		{Kind: "bmp", Name: "edge1", Ready: true, State: "connected", Detail: "initial dump done", Since: t0.Add(-time.Minute)},
		{Kind: "aws", Name: "aws", Ready: true, State: "polled"},
	}
}

// picture is a healthy site watched for an hour.
func picture() drill.Evidence {
	return drill.Evidence{Status: healthy(), Events: []health.Event{}, Sources: ready(), Watched: time.Hour}
}

type nopMethod struct{}

func (nopMethod) Name() string                                { return "nop" }
func (nopMethod) Fail(ctx context.Context) (string, error)    { return "", nil }
func (nopMethod) Restore(ctx context.Context) (string, error) { return "", nil }

type nopAWS struct{ nopMethod }

func (nopAWS) Name() string { return "aws" }

func TestPreChecks(t *testing.T) {
	notReady := func(kind, name, state, detail string) func(*drill.Evidence, *drill.Options) {
		return func(p *drill.Evidence, o *drill.Options) {
			for i := range p.Sources {
				if p.Sources[i].Kind == kind && p.Sources[i].Name == name {
					p.Sources[i] = probes.Readiness{Kind: kind, Name: name, State: state, Detail: detail}
				}
			}
		}
	}
	noFeed := func(p *drill.Evidence, o *drill.Options) {
		p.Status.Feeds = nil
		for i := range p.Status.Links {
			p.Status.Links[i].Evidence = nil
		}
		p.Sources = slices.DeleteFunc(p.Sources, func(r probes.Readiness) bool { return r.Kind == "bgp" || r.Kind == "bmp" })
	}
	tests := []struct {
		name    string
		edit    func(*drill.Evidence, *drill.Options)
		refused []string // names of the checks that refuse the drill
		reason  string   // in each refusing check's reason
	}{
		{"all good", nil, nil, ""},
		{"not confirmed", func(p *drill.Evidence, o *drill.Options) { o.Yes = false }, []string{drill.CheckConfirmed}, "--yes"},
		{"dry run", func(p *drill.Evidence, o *drill.Options) { o.Yes, o.DryRun = false, true }, nil, ""},
		{"no method", func(p *drill.Evidence, o *drill.Options) { o.Method = nil }, []string{drill.CheckMethod}, "no way"},
		{"secondary down", func(p *drill.Evidence, o *drill.Options) {
			p.Status.Links[1].State, p.Status.Links[1].Reasons = health.StateDown, []string{"BGP session down (edge1 ↔ AWS 169.254.20.1, seen by BMP: hold timer expired)"}
		}, []string{drill.CheckLinksUp}, "secondary is down: BGP session down"},
		{"primary degraded", func(p *drill.Evidence, o *drill.Options) {
			p.Status.Links[0].State = health.StateDegraded
		}, []string{drill.CheckLinksUp}, "primary is degraded"},
		// --family: the secondary must carry that family's expected
		// prefixes; the lab's are IPv4 only.
		{"--family ipv4", func(p *drill.Evidence, o *drill.Options) { o.Family = probes.FamilyIPv4 }, nil, ""},
		{"--family ipv6 without an IPv6 expected prefix", func(p *drill.Evidence, o *drill.Options) { o.Family = probes.FamilyIPv6 },
			[]string{drill.CheckSecondaryPrefixes}, "no IPv6 expected prefix configured (--family ipv6)"},
		{"--family ipv6 without an IPv6 expected prefix, allowed", func(p *drill.Evidence, o *drill.Options) {
			o.Family, o.AllowUnconfirmedSecondary = probes.FamilyIPv6, true
		}, nil, ""},
		{"--family ipv4, the secondary lacks the IPv4 prefix", func(p *drill.Evidence, o *drill.Options) {
			o.Family = probes.FamilyIPv4
			p.Status.Links[1].Evidence[1].OK = false
		}, []string{drill.CheckSecondaryPrefixes}, "does not carry 198.18.0.0/16"},
		{"secondary lacks the prefix", func(p *drill.Evidence, o *drill.Options) {
			p.Status.Links[1].Evidence[1].OK = false
		}, []string{drill.CheckSecondaryPrefixes}, "does not carry 198.18.0.0/16"},
		// The case: the feed is configured but not up yet. Every
		// check that reads it refuses, naming the peer and why.
		{"BGP session not established", notReady("bgp", "edge1", "session active", "connect: connection refused"),
			[]string{drill.CheckLinksUp, drill.CheckPrimaryActive, drill.CheckSecondaryPrefixes}, "bgp edge1 (session active: connect: connection refused)"},
		{"BGP table not in", notReady("bgp", "edge1", "established", "initial table not in: no End-of-RIB yet"),
			[]string{drill.CheckLinksUp, drill.CheckPrimaryActive, drill.CheckSecondaryPrefixes}, "bgp edge1 (established: initial table not in: no End-of-RIB yet)"},
		{"BMP dump not done", notReady("bmp", "edge1", "connected", "initial dump not done (no End-of-RIB) for 169.254.20.1"),
			[]string{drill.CheckLinksUp, drill.CheckPrimaryActive, drill.CheckSecondaryPrefixes}, "bmp edge1 (connected: initial dump not done"},
		{"no BMP router", func(p *drill.Evidence, o *drill.Options) {
			p.Sources[1] = probes.Readiness{Kind: "bmp", Name: "192.0.2.10:11019", State: "no router connected"}
		}, []string{drill.CheckLinksUp, drill.CheckPrimaryActive, drill.CheckSecondaryPrefixes}, "bmp 192.0.2.10:11019 (no router connected)"},
		{"no BGP feed configured", noFeed, []string{drill.CheckSecondaryPrefixes}, "no BGP feed configured"},
		{"no BGP feed configured, allowed", func(p *drill.Evidence, o *drill.Options) {
			noFeed(p, o)
			o.AllowUnconfirmedSecondary = true
		}, nil, ""},
		{"AWS not polled, method aws", func(p *drill.Evidence, o *drill.Options) {
			o.Method = nopAWS{}
			notReady("aws", "aws", "no round done yet", "")(p, o)
		}, []string{drill.CheckLinksUp}, "aws (no round done yet)"},
		{"AWS failing, method aws", func(p *drill.Evidence, o *drill.Options) {
			o.Method = nopAWS{}
			notReady("aws", "aws", "last round failed", "describe connections in us-east-1: access denied")(p, o)
		}, []string{drill.CheckLinksUp}, "aws (last round failed: describe connections"},
		{"AWS probe absent, method aws", func(p *drill.Evidence, o *drill.Options) {
			o.Method = nopAWS{}
			p.Sources = p.Sources[:2]
		}, []string{drill.CheckLinksUp}, "aws (not polled: no AWS poll runs in the drill)"},
		{"AWS not polled, method exec", notReady("aws", "aws", "no round done yet", ""), nil, ""},
		{"no fresh echo on the secondary", func(p *drill.Evidence, o *drill.Options) {
			p.Status.Links[1].Echo[0].Fresh = false
		}, []string{drill.CheckLinksUp, drill.CheckPrimaryActive}, "ping secondary (no fresh echo yet)"},
		{"watched less than --quiet", func(p *drill.Evidence, o *drill.Options) { p.Watched = 20 * time.Second },
			[]string{drill.CheckQuiet}, "the links have been watched for 20s, not the 30m0s of --quiet"},
		{"the daemon's record covers --quiet", func(p *drill.Evidence, o *drill.Options) {
			p.Watched = 20 * time.Second
			p.Past = &drill.DaemonRecord{Source: "dxwatch at http://localhost:9479", Since: t0.Add(-2 * time.Hour)}
		}, nil, ""},
		{"the daemon's record has a recent failover", func(p *drill.Evidence, o *drill.Options) {
			p.Watched = 20 * time.Second
			p.Past = &drill.DaemonRecord{Source: "dxwatch at http://localhost:9479", Since: t0.Add(-2 * time.Hour), Events: []health.Event{
				{ID: 3, Kind: health.KindFailover, Time: t0.Add(-12 * time.Minute), From: []string{"primary"}, To: []string{"secondary"}},
			}}
		}, []string{drill.CheckQuiet}, "12m0s ago, within 30m0s"},
		{"the daemon restarted recently", func(p *drill.Evidence, o *drill.Options) {
			p.Watched = 20 * time.Second
			p.Past = &drill.DaemonRecord{Source: "dxwatch at http://localhost:9479", Since: t0.Add(-5 * time.Minute)}
		}, []string{drill.CheckQuiet}, "the links have been watched for 5m0s, not the 30m0s of --quiet"},
		{"watched as long as --quiet", func(p *drill.Evidence, o *drill.Options) { p.Watched, o.Quiet = 20*time.Second, new(20*time.Second) }, nil, ""},
		// --quiet 0s is taken as typed, not as the 30m default: a
		// failover 10 minutes ago and 20s watched refuse nothing.
		{"--quiet 0s", func(p *drill.Evidence, o *drill.Options) {
			p.Watched, o.Quiet = 20*time.Second, new(time.Duration(0))
			p.Events = append(p.Events, health.Event{ID: 7, Kind: health.KindFailover, Time: t0.Add(-10 * time.Minute), From: []string{"primary"}, To: []string{"secondary"}})
		}, nil, ""},
		{"--quiet unset is 30m", func(p *drill.Evidence, o *drill.Options) { p.Watched, o.Quiet = 20*time.Second, nil },
			[]string{drill.CheckQuiet}, "not the 30m0s of --quiet"},
		// A BGP session without End-of-RIB negotiated, ready by the
		// settle rule: the evidence names the rule.
		{"BGP settled without End-of-RIB", func(p *drill.Evidence, o *drill.Options) {
			p.Sources[0] = probes.Readiness{Kind: "bgp", Name: "edge1", State: "established", Ready: true, Since: t0.Add(-time.Minute),
				Detail: "settled: no UPDATE for 10s (settle rule, End-of-RIB not negotiated)"}
		}, nil, ""},
		{"recent failover", func(p *drill.Evidence, o *drill.Options) {
			p.Events = append(p.Events, health.Event{ID: 7, Kind: health.KindFailover, Time: t0.Add(-10 * time.Minute), From: []string{"primary"}, To: []string{"secondary"}})
		}, []string{drill.CheckQuiet}, "10m0s ago, within 30m0s"},
		{"old failover", func(p *drill.Evidence, o *drill.Options) {
			p.Events = append(p.Events, health.Event{ID: 7, Kind: health.KindFailover, Time: t0.Add(-2 * time.Hour), From: []string{"primary"}, To: []string{"secondary"}})
		}, nil, ""},
		{"secondary active", func(p *drill.Evidence, o *drill.Options) {
			p.Status.Active = []string{"secondary"}
		}, []string{drill.CheckPrimaryActive}, "not the primary primary alone"},
		{"active unknown", func(p *drill.Evidence, o *drill.Options) {
			p.Status.ActiveKnown, p.Status.Active = false, nil
		}, []string{drill.CheckPrimaryActive}, "not known"},
		{"failover in progress", func(p *drill.Evidence, o *drill.Options) {
			p.Status.InProgress = &health.Event{Kind: health.KindFailover}
		}, []string{drill.CheckPrimaryActive}, "in progress"},
		// A dual-stack site whose IPv6 traffic left the primary (its IPv6
		// peering down): a drill of both families or of IPv6 refuses,
		// one of IPv4 alone may start.
		{"IPv6 off the primary, both families", ipv6Off(drill.FamilyBoth), []string{drill.CheckLinksUp, drill.CheckPrimaryActive}, ""},
		// (and the lab's site expects no IPv6 prefix for the secondary to carry)
		{"IPv6 off the primary, --family ipv6", ipv6Off(probes.FamilyIPv6), []string{drill.CheckLinksUp, drill.CheckPrimaryActive, drill.CheckSecondaryPrefixes}, "IPv6"},
		{"IPv6 off the primary, --family ipv4", ipv6Off(probes.FamilyIPv4), nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pic := picture()
			o := drill.Options{Method: nopMethod{}, Yes: true}
			if tc.edit != nil {
				tc.edit(&pic, &o)
			}
			var refused []string
			for _, c := range drill.PreChecks(labsite.Site(), pic, t0, o) {
				if c.Status == probes.Pass && c.Refuses || c.Status == probes.Fail && !c.Refuses {
					t.Errorf("%s: %s but refuses %v", c.Name, c.Status, c.Refuses)
				}
				if c.Refuses {
					refused = append(refused, c.Name)
					if tc.reason != "" && !strings.Contains(c.Reason, tc.reason) {
						t.Errorf("%s: reason %q lacks %q", c.Name, c.Reason, tc.reason)
					}
					if c.Fix == "" {
						t.Errorf("%s refuses without a fix", c.Name)
					}
				}
			}
			if strings.Join(refused, ",") != strings.Join(tc.refused, ",") {
				t.Errorf("refusing checks %v, want %v", refused, tc.refused)
			}
		})
	}
}

// TestPreCheckEvidence: each check that reads evidence says which, with
// its state.
func TestPreCheckEvidence(t *testing.T) {
	want := map[string][]string{
		drill.CheckLinksUp:           {"ping primary 20/20", "ping secondary 19/20", "ping i1 20/20", "bgp edge1 (established 12.3s, End-of-RIB)", "bmp edge1 (connected 1m0s, initial dump done)", "aws (polled)"},
		drill.CheckPrimaryActive:     {"target i1 via primary (bgp)", "bgp edge1 (established 12.3s, End-of-RIB)"},
		drill.CheckSecondaryPrefixes: {"bgp edge1 (established 12.3s, End-of-RIB)", "198.18.0.0/16 over secondary"},
		drill.CheckQuiet:             {"health events over the 1h0m0s watched"},
	}
	cs := drill.PreChecks(labsite.Site(), picture(), t0, drill.Options{Method: nopAWS{}, Yes: true})
	for _, c := range cs {
		ev := strings.Join(c.Evidence, ", ")
		for _, w := range want[c.Name] {
			if !strings.Contains(ev, w) {
				t.Errorf("%s: evidence %q lacks %q", c.Name, ev, w)
			}
		}
	}
	rep := &drill.Report{PreChecks: cs}
	var text, js bytes.Buffer
	rep.WriteText(&text)
	rep.WriteJSON(&js)
	for name, out := range map[string]string{"text": text.String(), "json": js.String()} {
		if !strings.Contains(out, "bgp edge1 (established 12.3s, End-of-RIB)") || !strings.Contains(out, "ping primary 20/20") {
			t.Errorf("%s report lacks the evidence:\n%s", name, out)
		}
	}
}

// fakeWatch stands for the agent's probes and health model: the test's
// simulated method changes it as a real failover would.
type fakeWatch struct {
	mu  sync.Mutex
	st  health.Status
	evs []health.Event
	src []probes.Readiness
}

// watching returns a fakeWatch of a healthy site with every source ready.
func watching() *fakeWatch { return &fakeWatch{st: healthy(), src: ready()} }

func (w *fakeWatch) Status() health.Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

func (w *fakeWatch) Events() []health.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]health.Event(nil), w.evs...)
}

func (w *fakeWatch) Sources() []probes.Readiness {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.src)
}

func (w *fakeWatch) set(f func(*health.Status)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&w.st)
}

// simulated wraps a real method and plays what the health model would
// report after it: the failover (or, with secondaryDies, the secondary
// going down) and the failback.
type simulated struct {
	drill.Method
	w             *fakeWatch
	rec           *drill.Recorder
	secondaryDies bool
	fails, stops  int
}

func (s *simulated) Fail(ctx context.Context) (string, error) {
	d, err := s.Method.Fail(ctx)
	if err != nil {
		return d, err
	}
	s.fails++
	now := time.Now()
	if s.secondaryDies {
		s.w.set(func(st *health.Status) {
			st.Links[1].State, st.Links[1].Reasons = health.StateDown, []string{"data plane down"}
		})
		return d, nil
	}
	s.w.set(func(st *health.Status) {
		st.Links[0].State, st.Links[0].Active, st.Links[1].Active, st.Active = health.StateDown, false, true, []string{"secondary"}
	})
	s.rec.Hook(health.Event{ID: 10, Kind: health.KindLinkState, Time: now.Add(300 * time.Millisecond), Link: "primary", Previous: health.StateUp, State: health.StateDown, Reasons: []string{"BGP session down (edge1 ↔ AWS 169.254.10.1, seen by BMP: BGP failover test)"}})
	start, restored := now.Add(200*time.Millisecond), now.Add(1100*time.Millisecond)
	s.rec.Hook(health.Event{ID: 11, Kind: health.KindFailover, Time: now.Add(300 * time.Millisecond), From: []string{"primary"}, To: []string{"secondary"},
		Direction: health.DirectionFailover, Cause: "primary: BGP session down", Started: &start, Restored: &restored, Measured: true, Complete: true,
		Outage: health.Duration(800 * time.Millisecond), Gap: health.Duration(900 * time.Millisecond),
		Targets:  []health.TargetOutage{{Target: "i1", Lost: 8, Outage: health.Duration(800 * time.Millisecond), Gap: health.Duration(900 * time.Millisecond), Restored: true}},
		Timeline: []health.TimelineStep{{Time: now.Add(300 * time.Millisecond), What: "bgp_session_down", Link: "primary", Detail: "edge1 ↔ AWS 169.254.10.1, seen by BMP"}, {Time: now.Add(400 * time.Millisecond), What: "bgp_best_path", Link: "secondary", Detail: "198.18.0.0/16 via secondary"}}})
	return d, nil
}

func (s *simulated) Restore(ctx context.Context) (string, error) {
	d, err := s.Method.Restore(ctx)
	s.stops++
	now := time.Now()
	s.w.set(func(st *health.Status) { st.Links[0].State, st.Active = health.StateUp, []string{"primary"} })
	s.rec.Hook(health.Event{ID: 12, Kind: health.KindFailover, Time: now.Add(2 * time.Second), From: []string{"secondary"}, To: []string{"primary"},
		Direction: health.DirectionFailback, Cause: "BGP best path moved to primary", Measured: true, Complete: true})
	return d, err
}

// History passes through to the wrapped method.
func (s *simulated) History(ctx context.Context) ([]drill.TestRecord, error) {
	if h, ok := s.Method.(drill.Historian); ok {
		return h.History(ctx)
	}
	return nil, nil
}

// awsAPI returns the real AWS probe talking to a fake AWS endpoint with
// the given access key.
func awsAPI(t *testing.T, url, accessKey string) *aws.Probe {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL_DIRECT_CONNECT", url)
	t.Setenv("AWS_ENDPOINT_URL_EC2", url)
	t.Setenv("AWS_ENDPOINT_URL_STS", url)
	t.Setenv("AWS_ACCESS_KEY_ID", accessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awstest.LabSecretKey)
	t.Setenv("AWS_REGION", awstest.LabRegion)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	cfg := aws.DefaultConfig()
	cfg.Regions = []string{awstest.LabRegion}
	cfg.DXGatewayID = awstest.LabDXGateway
	cfg.Timeout = 5 * time.Second
	p, err := aws.New("aws", cfg, probes.Deps{Site: labsite.Site(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const partnerKey = "AKIAPARTNER000000001"

func fakeAWS(t *testing.T) (*awstest.Server, string) {
	sc := awstest.LabScenario()
	// A partner account owns the secondary's connection (a hosted VIF):
	// it sees the VIF but may not test it.
	sc.Accounts = append(sc.Accounts, awstest.Account{AccountID: "444455556666", AccessKeyID: partnerKey})
	sc.Connection(awstest.LabConnection2).OwnerAccount = "444455556666"
	return awstest.Start(t, sc)
}

func opts(m drill.Method) drill.Options {
	return drill.Options{Method: m, Yes: true, Hold: 100 * time.Millisecond, Timeout: 5 * time.Second, Poll: 5 * time.Millisecond, AbortAfter: time.Second,
		Quiet: new(time.Millisecond)}
}

func TestDrillAWS(t *testing.T) {
	srv, url := fakeAWS(t)
	w := watching()
	rec := &drill.Recorder{}
	m := &drill.AWSMethod{API: awsAPI(t, url, awstest.LabAccessKey), VIF: awstest.LabVIF1, Duration: drill.FailoverTestDuration(opts(nil))}
	sim := &simulated{Method: m, w: w, rec: rec}
	rep, err := drill.Run(context.Background(), labsite.Site(), w, rec, opts(sim))
	if err != nil {
		t.Fatalf("drill: %v", err)
	}
	calls := srv.Calls()
	for _, a := range aws.DrillActions {
		if calls[a] != 1 {
			t.Errorf("%s called %d times, want 1 (calls %v)", a, calls[a], calls)
		}
	}
	if d := drill.FailoverTestDuration(drill.Options{}); d != 7*time.Minute {
		t.Errorf("AWS test duration %s, want hold+2×timeout rounded up to minutes: 7m", d)
	}
	f := rep.Failover
	if f == nil || f.Event == nil || f.Event.ID != 11 || f.OutageSeconds == nil || *f.OutageSeconds != 0.8 || len(f.Targets) != 1 {
		t.Fatalf("failover phase: %+v", f)
	}
	if f.DetectSeconds == nil || *f.DetectSeconds <= 0 || *f.DetectSeconds > 1 {
		t.Errorf("time to detect %v, want the simulated 0.2 s after the action", f.DetectSeconds)
	}
	if !strings.Contains(f.ActionDetail, "StartBgpFailoverTest "+awstest.LabVIF1) || !strings.Contains(f.ActionDetail, "in_progress") {
		t.Errorf("failover action detail %q", f.ActionDetail)
	}
	whats := []string{}
	for _, s := range f.Steps {
		whats = append(whats, s.What)
	}
	if strings.Join(whats, ",") != "link_state,bgp_session_down,bgp_best_path" {
		t.Errorf("failover steps %v", whats)
	}
	if rep.Failback == nil || rep.Failback.Event == nil || rep.Failback.Event.ID != 12 {
		t.Errorf("failback phase: %+v", rep.Failback)
	}
	if len(rep.History) != 1 || rep.History[0].Status != "completed" || rep.History[0].VIF != awstest.LabVIF1 || rep.History[0].End.IsZero() {
		t.Errorf("test history %+v", rep.History)
	}
	if rep.ExitCode() != 0 {
		t.Errorf("exit code %d", rep.ExitCode())
	}

	// Every output format carries the figures.
	for name, write := range map[string]func(*bytes.Buffer) error{
		"text":     func(b *bytes.Buffer) error { return rep.WriteText(b) },
		"markdown": func(b *bytes.Buffer) error { return rep.WriteMarkdown(b) },
		"json":     func(b *bytes.Buffer) error { return rep.WriteJSON(b) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"0.8", "dxtest-1", "bgp_best_path"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s output lacks %q:\n%s", name, want, b.String())
			}
		}
		if name == "json" && !json.Valid(b.Bytes()) {
			t.Errorf("invalid JSON")
		}
	}
}

func TestDrillAWSNotOwner(t *testing.T) {
	srv, url := fakeAWS(t)
	w := watching()
	rec := &drill.Recorder{}
	// The partner's credentials see the hosted VIF but do not own it.
	m := &drill.AWSMethod{API: awsAPI(t, url, partnerKey), VIF: awstest.LabVIF2, Duration: time.Minute}
	rep, err := drill.Run(context.Background(), labsite.Site(), w, rec, opts(m))
	if err == nil || !errors.Is(err, aws.ErrNotOwner) {
		t.Fatalf("drill with the partner's credentials: %v, want ErrNotOwner", err)
	}
	if n := srv.Calls()["directconnect:StartBgpFailoverTest"]; n != 0 {
		t.Errorf("StartBgpFailoverTest called %d times", n)
	}
	if rep.ExitCode() == 0 {
		t.Error("exit code 0")
	}
}

func TestDrillAbortStops(t *testing.T) {
	srv, url := fakeAWS(t)
	w := watching()
	rec := &drill.Recorder{}
	m := &drill.AWSMethod{API: awsAPI(t, url, awstest.LabAccessKey), VIF: awstest.LabVIF1, Duration: time.Minute}
	sim := &simulated{Method: m, w: w, rec: rec, secondaryDies: true}
	rep, err := drill.Run(context.Background(), labsite.Site(), w, rec, opts(sim))
	if !errors.Is(err, drill.ErrAborted) || !strings.Contains(rep.Aborted, "secondary secondary is down") {
		t.Fatalf("drill: %v (aborted %q), want an abort because the secondary is down", err, rep.Aborted)
	}
	if c := srv.Calls(); c["directconnect:StartBgpFailoverTest"] != 1 || c["directconnect:StopBgpFailoverTest"] != 1 {
		t.Errorf("calls %v: want one start and one stop", c)
	}
	hist, err := m.History(context.Background())
	if err != nil || len(hist) != 1 || hist[0].Status != "completed" {
		t.Errorf("history after the abort: %+v, %v", hist, err)
	}
}

func TestDrillInterruptStops(t *testing.T) {
	srv, url := fakeAWS(t)
	w := watching()
	rec := &drill.Recorder{}
	m := &drill.AWSMethod{API: awsAPI(t, url, awstest.LabAccessKey), VIF: awstest.LabVIF1, Duration: time.Minute}
	sim := &simulated{Method: m, w: w, rec: rec}
	ctx, cancel := context.WithCancel(context.Background())
	o := opts(sim)
	o.Hold = time.Minute
	go func() { // Ctrl-C while holding on the secondary
		for srv.Calls()["directconnect:StartBgpFailoverTest"] == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	rep, err := drill.Run(ctx, labsite.Site(), w, rec, o)
	if err == nil {
		t.Error("an interrupted drill returned no error")
	}
	if c := srv.Calls(); c["directconnect:StopBgpFailoverTest"] != 1 {
		t.Errorf("calls %v: want the test stopped on interrupt", c)
	}
	if rep.Failback == nil || rep.Failback.Event == nil {
		t.Errorf("the failback of an interrupted drill is not measured: %+v", rep.Failback)
	}
}

func TestDrillRefused(t *testing.T) {
	srv, url := fakeAWS(t)
	st := healthy()
	st.Links[1].State = health.StateDown
	w := &fakeWatch{st: st, src: ready()}
	m := &drill.AWSMethod{API: awsAPI(t, url, awstest.LabAccessKey), VIF: awstest.LabVIF1, Duration: time.Minute}
	o := opts(m)
	o.Warmup = 10 * time.Millisecond
	rep, err := drill.Run(context.Background(), labsite.Site(), w, &drill.Recorder{}, o)
	if !errors.Is(err, drill.ErrRefused) || !rep.Refused || !strings.Contains(err.Error(), "secondary is down") {
		t.Fatalf("drill with the secondary down: %v", err)
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("a refused drill called AWS: %v", srv.Calls())
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	if !strings.Contains(b.String(), "REFUSED") {
		t.Errorf("text report:\n%s", b.String())
	}
}

// TestDrillWaitsForFeed: the case. The BGP session to the edge is
// configured but not up when the pings answer: the warm-up says what it
// waits for and goes on only once the session is established with its
// table in.
func TestDrillWaitsForFeed(t *testing.T) {
	srv, url := fakeAWS(t)
	w := watching()
	w.src[0] = probes.Readiness{Kind: "bgp", Name: "edge1", State: "session active", Detail: "connect: connection refused"}
	rec := &drill.Recorder{}
	m := &drill.AWSMethod{API: awsAPI(t, url, awstest.LabAccessKey), VIF: awstest.LabVIF1, Duration: time.Minute}
	var progress syncbuf.Buffer
	o := opts(&simulated{Method: m, w: w, rec: rec})
	o.Warmup, o.Progress = time.Minute, &progress
	go func() {
		for !strings.Contains(progress.String(), "waiting for: bgp edge1 (session active: connect: connection refused)") {
			time.Sleep(5 * time.Millisecond)
		}
		w.mu.Lock()
		w.src[0] = probes.Readiness{Kind: "bgp", Name: "edge1", State: "established", Ready: true}
		w.src[0].Detail, w.src[0].Since = "initial table not in: no End-of-RIB yet", time.Now()
		w.src[0].Ready = false
		w.mu.Unlock()
		for !strings.Contains(progress.String(), "no End-of-RIB yet") {
			time.Sleep(5 * time.Millisecond)
		}
		if n := srv.Calls()["directconnect:StartBgpFailoverTest"]; n != 0 {
			t.Errorf("StartBgpFailoverTest called before the session's table was in")
		}
		w.mu.Lock()
		w.src[0].Ready, w.src[0].Detail = true, "End-of-RIB"
		w.mu.Unlock()
	}()
	rep, err := drill.Run(context.Background(), labsite.Site(), w, rec, o)
	if err != nil {
		t.Fatalf("drill: %v\n%s", err, progress.String())
	}
	if n := srv.Calls()["directconnect:StartBgpFailoverTest"]; n != 1 {
		t.Errorf("StartBgpFailoverTest called %d times, want 1", n)
	}
	if !strings.Contains(progress.String(), "every source is ready") {
		t.Errorf("progress:\n%s", progress.String())
	}
	for _, c := range rep.PreChecks {
		if c.Name == drill.CheckSecondaryPrefixes && (c.Status != probes.Pass || !strings.Contains(strings.Join(c.Evidence, ", "), "bgp edge1 (established")) {
			t.Errorf("%s: %s %q, evidence %v", c.Name, c.Status, c.Reason, c.Evidence)
		}
	}
}

// TestDrillRefusedFeedDown: a configured BGP session that does not come up
// within the warm-up refuses the drill, naming the peer and why, and AWS is
// not called at all (not even to look the VIF up).
func TestDrillRefusedFeedDown(t *testing.T) {
	for _, dry := range []bool{false, true} {
		t.Run(map[bool]string{false: "yes", true: "dry run"}[dry], func(t *testing.T) {
			srv, url := fakeAWS(t)
			w := watching()
			w.src[0] = probes.Readiness{Kind: "bgp", Name: "edge1", State: "session active", Detail: "connect: connection refused"}
			m := &drill.AWSMethod{API: awsAPI(t, url, awstest.LabAccessKey), VIF: awstest.LabVIF1, Duration: time.Minute}
			var progress syncbuf.Buffer
			o := opts(m)
			o.Yes, o.DryRun = !dry, dry
			o.Warmup, o.Progress = 50*time.Millisecond, &progress
			rep, err := drill.Run(context.Background(), labsite.Site(), w, &drill.Recorder{}, o)
			if !errors.Is(err, drill.ErrRefused) || !rep.Refused {
				t.Fatalf("drill with the feed down: %v", err)
			}
			if !strings.Contains(err.Error(), drill.CheckSecondaryPrefixes+": cannot be evaluated: not ready: bgp edge1 (session active: connect: connection refused)") {
				t.Errorf("refusal %q does not name the peer and why", err)
			}
			if !strings.Contains(progress.String(), "still waiting for: bgp edge1 (session active: connect: connection refused)") {
				t.Errorf("progress:\n%s", progress.String())
			}
			if c := srv.Calls(); len(c) != 0 {
				t.Errorf("a refused drill called AWS: %v", c)
			}
		})
	}
}

// TestDrillRefusedNoFeed: without any BGP feed the secondary's prefixes
// cannot be confirmed: skipped, and the drill refuses unless the caller
// accepts that with AllowUnconfirmedSecondary.
func TestDrillRefusedNoFeed(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(map[bool]string{false: "refused", true: "allowed"}[allow], func(t *testing.T) {
			w := watching()
			w.src = w.src[2:] // the AWS probe only
			for i := range w.st.Links {
				w.st.Links[i].Evidence = nil
			}
			rec := &drill.Recorder{}
			o := opts(&simulated{Method: nopMethod{}, w: w, rec: rec})
			o.AllowUnconfirmedSecondary = allow
			rep, err := drill.Run(context.Background(), labsite.Site(), w, rec, o)
			var sp drill.PreCheck
			for _, c := range rep.PreChecks {
				if c.Name == drill.CheckSecondaryPrefixes {
					sp = c
				}
			}
			if sp.Status != probes.Skip || sp.Refuses == allow {
				t.Errorf("%s: %s, refuses %v", sp.Name, sp.Status, sp.Refuses)
			}
			if allow != (err == nil) || !allow && !errors.Is(err, drill.ErrRefused) {
				t.Errorf("drill without a feed, allowed %v: %v", allow, err)
			}
			var b bytes.Buffer
			rep.WriteText(&b)
			if !allow && !strings.Contains(b.String(), "--allow-unconfirmed-secondary") {
				t.Errorf("text report does not say how to accept it:\n%s", b.String())
			}
		})
	}
}

func TestRecordWindow(t *testing.T) {
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	dir := t.TempDir()
	// A dry run cuts nothing: no window.
	drill.RecordWindow(dir, drill.Options{DryRun: true, Yes: true}, now, nil)()
	end := drill.RecordWindow(dir, drill.Options{Yes: true, Hold: time.Minute, Timeout: time.Minute, Warmup: 30 * time.Second}, now, nil)
	at = at.Add(90 * time.Second)
	end()
	recs, _, err := history.ReadLedger(dir, at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Kind != history.RecDrillStart || recs[1].Kind != history.RecDrillEnd || recs[0].ID != recs[1].ID ||
		recs[0].Until == nil || !recs[0].Until.Equal(at.Add(-90*time.Second).Add(30*time.Second+2*time.Minute+time.Minute+time.Minute)) {
		t.Errorf("drill window records %+v: want one start (until warm-up + 2 timeouts + hold + 1m) and its end", recs)
	}
}

// peerWatch wraps a method and, right after its Fail, reads which BGP
// peers of the primary VIF the fake AWS holds down.
type peerWatch struct {
	drill.Method
	srv  *awstest.Server
	down []string
}

func (p *peerWatch) Fail(ctx context.Context) (string, error) {
	d, err := p.Method.Fail(ctx)
	p.srv.Update(func(sc *awstest.Scenario) {
		for _, bp := range sc.VIF(awstest.LabVIF1).BgpPeers {
			if bp.BgpStatus == "down" {
				p.down = append(p.down, bp.BgpPeerID)
			}
		}
	})
	return d, err
}

// History passes through to the wrapped method.
func (p *peerWatch) History(ctx context.Context) ([]drill.TestRecord, error) {
	return p.Method.(drill.Historian).History(ctx)
}

// TestDrillAWSFamily: --family passes the BGP peer IDs of that family of
// the primary's dual-stack VIF to StartBgpFailoverTest, so that AWS holds
// down that peering only (both: every peer, as before); the fake records
// which peers the test took down, and the report names the family.
func TestDrillAWSFamily(t *testing.T) {
	for _, tc := range []struct {
		family string
		peers  []string // held down, as the test history records them
		detail string
	}{
		{probes.FamilyIPv6, []string{awstest.LabPeer1v6}, "BGP peers " + awstest.LabPeer1v6 + " (ipv6)"},
		{probes.FamilyIPv4, []string{awstest.LabPeer1}, "BGP peers " + awstest.LabPeer1 + " (ipv4)"},
		{drill.FamilyBoth, []string{awstest.LabPeer1, awstest.LabPeer1v6}, "BGP peers " + awstest.LabPeer1 + ", " + awstest.LabPeer1v6},
	} {
		t.Run(tc.family, func(t *testing.T) {
			srv, url := fakeAWS(t)
			// The site expects the VPC's IPv6 prefix too, which the
			// secondary carries.
			site := labsite.Site()
			site.Routing.ExpectedPrefixes = append(site.Routing.ExpectedPrefixes, netip.MustParsePrefix(lab.VPCCIDR6))
			w := watching()
			w.set(func(st *health.Status) {
				st.Links[1].Evidence = append(st.Links[1].Evidence, health.Evidence{Source: "bgp_prefix", Name: lab.VPCCIDR6, OK: true, Fresh: true})
			})
			rec := &drill.Recorder{}
			m := &drill.AWSMethod{API: awsAPI(t, url, awstest.LabAccessKey), VIF: awstest.LabVIF1, Family: tc.family, Duration: time.Minute}
			pw := &peerWatch{Method: m, srv: srv}
			o := opts(&simulated{Method: pw, w: w, rec: rec})
			o.Family = tc.family
			rep, err := drill.Run(context.Background(), site, w, rec, o)
			if err != nil {
				t.Fatalf("drill: %v", err)
			}
			slices.Sort(pw.down)
			if !slices.Equal(pw.down, tc.peers) {
				t.Errorf("peers held down during the test %v, want %v", pw.down, tc.peers)
			}
			if len(rep.History) != 1 || !slices.Equal(rep.History[0].Peers, tc.peers) {
				t.Errorf("test history %+v, want one test of peers %v", rep.History, tc.peers)
			}
			if rep.Family != tc.family || !strings.Contains(rep.Failover.ActionDetail, tc.detail) {
				t.Errorf("report family %q, action %q; want %q and %q", rep.Family, rep.Failover.ActionDetail, tc.family, tc.detail)
			}
			srv.Update(func(sc *awstest.Scenario) {
				for _, bp := range sc.VIF(awstest.LabVIF1).BgpPeers {
					if bp.BgpStatus != "up" {
						t.Errorf("after the drill, peer %s is %s", bp.BgpPeerID, bp.BgpStatus)
					}
				}
			})
			var b bytes.Buffer
			rep.WriteText(&b)
			if want := map[string]string{probes.FamilyIPv6: "IPv6 peering only", probes.FamilyIPv4: "IPv4 peering only", drill.FamilyBoth: "every peering"}[tc.family]; !strings.Contains(b.String(), want) {
				t.Errorf("text report does not say %q:\n%s", want, b.String())
			}
		})
	}
}

// TestDrillFamilySingleStack: --family ipv6 on a site whose primary has no
// IPv6 peering is refused before AWS is called, naming the link and the
// fix.
func TestDrillFamilySingleStack(t *testing.T) {
	srv, url := fakeAWS(t)
	site := labsite.Site()
	site.Links[0].IPv6 = probes.Peering{}
	m := &drill.AWSMethod{API: awsAPI(t, url, awstest.LabAccessKey), VIF: awstest.LabVIF1, Family: probes.FamilyIPv6, Duration: time.Minute}
	o := opts(m)
	o.Family, o.Warmup = probes.FamilyIPv6, 10*time.Millisecond
	rep, err := drill.Run(context.Background(), site, watching(), &drill.Recorder{}, o)
	if !errors.Is(err, drill.ErrRefused) || !rep.Refused {
		t.Fatalf("drill --family ipv6 of a single-family primary: %v, want refused", err)
	}
	i := slices.IndexFunc(rep.PreChecks, func(c drill.PreCheck) bool { return c.Name == drill.CheckFamily })
	if i < 0 {
		t.Fatalf("no %s pre-check: %+v", drill.CheckFamily, rep.PreChecks)
	}
	c := rep.PreChecks[i]
	for _, want := range []string{"link primary (the primary) has no IPv6 peering"} {
		if c.Status != probes.Fail || !c.Refuses || !strings.Contains(c.Reason, want) {
			t.Errorf("%s: %s %q, want a refusing failure saying %q", c.Name, c.Status, c.Reason, want)
		}
	}
	if !strings.Contains(c.Fix, "--family ipv4 or both") || !strings.Contains(c.Fix, "links[].ipv6") {
		t.Errorf("fix %q", c.Fix)
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("a refused drill called AWS: %v", srv.Calls())
	}
}

// TestDrillAWSFamilyNoPeer: a VIF without a peer of the family (the
// configuration says dual-stack, AWS has no IPv6 peer) fails the start with
// the VIF's peers named, and AWS is asked to hold nothing down.
func TestDrillAWSFamilyNoPeer(t *testing.T) {
	srv, url := fakeAWS(t)
	srv.Update(func(sc *awstest.Scenario) { v := sc.VIF(awstest.LabVIF1); v.BgpPeers = v.BgpPeers[:1] })
	m := &drill.AWSMethod{API: awsAPI(t, url, awstest.LabAccessKey), VIF: awstest.LabVIF1, Family: probes.FamilyIPv6, Duration: time.Minute}
	_, err := m.Fail(context.Background())
	if err == nil || !strings.Contains(err.Error(), "VIF "+awstest.LabVIF1+" has no ipv6 BGP peer (its peers: "+awstest.LabPeer1+" (ipv4))") {
		t.Errorf("err %v", err)
	}
	if n := srv.Calls()["directconnect:StartBgpFailoverTest"]; n != 0 {
		t.Errorf("StartBgpFailoverTest called %d times", n)
	}
}

// TestSecondaryPrefixesPerFamily: on a site expecting a VPC prefix of each
// family, --family ipv6 needs the IPv6 one on the secondary and not the
// IPv4 one, and the other way round.
func TestSecondaryPrefixesPerFamily(t *testing.T) {
	site := labsite.Site()
	site.Routing.ExpectedPrefixes = append(site.Routing.ExpectedPrefixes, netip.MustParsePrefix(lab.VPCCIDR6))
	pic := picture()
	// The secondary carries the IPv6 prefix only.
	pic.Status.Links[1].Evidence[1].OK = false
	pic.Status.Links[1].Evidence = append(pic.Status.Links[1].Evidence, health.Evidence{Source: "bgp_prefix", Name: lab.VPCCIDR6, OK: true, Fresh: true})
	for family, want := range map[string]string{
		probes.FamilyIPv6: "pass the secondary secondary carries every expected prefix",
		probes.FamilyIPv4: "fail the secondary secondary does not carry 198.18.0.0/16",
		drill.FamilyBoth:  "fail the secondary secondary does not carry 198.18.0.0/16",
	} {
		o := drill.Options{Method: nopMethod{}, Yes: true, Family: family}
		for _, c := range drill.PreChecks(site, pic, t0, o) {
			if got := string(c.Status) + " " + c.Reason; c.Name == drill.CheckSecondaryPrefixes && got != want {
				t.Errorf("--family %s: %s %q, want %q", family, c.Name, got, want)
			}
		}
	}
}
