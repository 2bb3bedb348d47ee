package agent

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/history"
	"github.com/dxwatch/dxwatch/probes"
)

// sessionDown makes the agent's health model see link's DX session go
// down, as the BGP probe would report it. It waits for Run to have
// started the health model: an observation before it is dropped.
func sessionDown(t *testing.T, a *Agent, link string) {
	t.Helper()
	for i := 0; a.observer.target.Load() == nil; i++ {
		if i == 500 {
			t.Fatal("the agent's health model did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.observer.Observe(probes.Observation{Time: time.Now(), Event: probes.BGPSession, Link: link, Peer: "edge1", Up: false, Detail: "test"})
}

// waitEvents polls /api/events until it holds at least n events.
func waitEvents(t *testing.T, c *http.Client, base string, n int) []health.Event {
	t.Helper()
	var evs []health.Event
	for range 200 {
		evs = events(t, c, base)
		if len(evs) >= n {
			return evs
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("/api/events holds %d events, want %d: %+v", len(evs), n, evs)
	return nil
}

func events(t *testing.T, c *http.Client, base string) []health.Event {
	t.Helper()
	code, body := get(t, c, "GET", base+"/api/events")
	if code != 200 {
		t.Fatalf("/api/events answered %d %q", code, body)
	}
	var evs []health.Event
	if err := json.Unmarshal([]byte(body), &evs); err != nil {
		t.Fatalf("/api/events: %v in %q", err, body)
	}
	return evs
}

func linkStates(t *testing.T, c *http.Client, base string) map[string]health.State {
	t.Helper()
	_, body := get(t, c, "GET", base+"/api/status")
	var st health.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/api/status: %v", err)
	}
	m := map[string]health.State{}
	for _, l := range st.Links {
		m[l.Name] = l.State
	}
	return m
}

func eventLinks(evs []health.Event) []string {
	var links []string
	for _, e := range evs {
		links = append(links, e.Link)
	}
	return links
}

func TestReloadKeepsHistory(t *testing.T) {
	a, base, cfgFile := startAgent(t, goodConfig, "")
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	sessionDown(t, a, "primary")
	sessionDown(t, a, "secondary")
	before := waitEvents(t, c, base, 2)
	states := linkStates(t, c, base)
	if states["primary"] != health.StateDown || states["secondary"] != health.StateDown {
		t.Fatalf("link states %v before the reload, want both down", states)
	}

	t.Run("unchanged site", func(t *testing.T) {
		if code, body := get(t, c, "POST", base+"/-/reload"); code != 200 {
			t.Fatalf("reload answered %d %q", code, body)
		}
		if after := events(t, c, base); !slices.EqualFunc(before, after, func(x, y health.Event) bool { return x.ID == y.ID && x.Link == y.Link }) {
			t.Errorf("events after a reload that changed nothing: %+v, want %+v", after, before)
		}
		if got := linkStates(t, c, base); got["primary"] != states["primary"] || got["secondary"] != states["secondary"] {
			t.Errorf("link states after a reload that changed nothing: %v, want %v", got, states)
		}
	})

	t.Run("changed site", func(t *testing.T) {
		// secondary is renamed backup: its events go, primary's stay.
		changed := strings.Replace(goodConfig, "name: secondary", "name: backup", 1)
		if err := os.WriteFile(cfgFile, []byte(changed), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, body := get(t, c, "POST", base+"/-/reload"); code != 200 {
			t.Fatalf("reload answered %d %q", code, body)
		}
		after := events(t, c, base)
		if got := eventLinks(after); !slices.Equal(got, []string{"primary"}) {
			t.Fatalf("events after the site changed are of links %v, want [primary]: %+v", got, after)
		}
		// Event IDs go on: a client polling ?since= misses nothing.
		sessionDown(t, a, "backup")
		evs := waitEvents(t, c, base, 2)
		if last := evs[len(evs)-1]; last.Link != "backup" || last.ID <= before[len(before)-1].ID {
			t.Errorf("new event %+v after the reload: want link backup, an ID above %d", last, before[len(before)-1].ID)
		}
	})
}

func TestHistorySurvivesRestart(t *testing.T) {
	cfgFile := writeConfig(t, goodConfig)
	state := filepath.Join(filepath.Dir(cfgFile), "state")
	opts := Options{ConfigFile: cfgFile, StoragePath: state}
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()

	a, base, stop := runAgent(t, opts)
	sessionDown(t, a, "primary")
	before := waitEvents(t, c, base, 1)
	stop()

	_, base, stop = runAgent(t, opts)
	defer stop()
	after := events(t, c, base)
	if len(after) != len(before) || after[0].ID != before[0].ID || after[0].Link != "primary" || after[0].State != health.StateDown {
		t.Fatalf("events after a restart: %+v, want %+v", after, before)
	}
	if _, m := get(t, c, "GET", base+"/metrics"); !strings.Contains(m, "dxwatch_storage_ok 1") ||
		!strings.Contains(m, "dxwatch_storage_events 1") {
		t.Errorf("metrics after a restart do not show the store working with 1 event read back")
	}
}

func TestHistoryUnwritable(t *testing.T) {
	// A regular file where the directory should be: unusable even for
	// root, which writes into read-only directories.
	cfgFile := writeConfig(t, goodConfig)
	state := filepath.Join(filepath.Dir(cfgFile), "state")
	if err := os.WriteFile(state, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, base := startAgentWith(t, Options{ConfigFile: cfgFile, StoragePath: state})
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	sessionDown(t, a, "primary")
	waitEvents(t, c, base, 1) // the agent runs on, events in memory
	_, m := get(t, c, "GET", base+"/metrics")
	for _, want := range []string{"dxwatch_storage_ok 0", `dxwatch_storage_errors_total{op="open"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestLedgerRecordsRun(t *testing.T) {
	cfgFile := writeConfig(t, goodConfig)
	state := filepath.Join(filepath.Dir(cfgFile), "state")
	opts := Options{ConfigFile: cfgFile, StoragePath: state}
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	from := time.Now().Add(-time.Second)
	for range 2 {
		a, base, stop := runAgent(t, opts)
		sessionDown(t, a, "primary")
		waitEvents(t, c, base, 1)
		stop()
	}
	recs, bad, err := history.ReadLedger(state, from, time.Now().Add(time.Second))
	if err != nil || bad != 0 {
		t.Fatalf("read the ledger: %v (%d skipped)", err, bad)
	}
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, string(r.Kind)+":"+r.Link)
		if r.Kind == history.RecLink && (r.State != health.StateDown || r.Evidence == nil || len(r.Evidence.Reasons) == 0 || !strings.Contains(r.Cause, "BGP session down")) {
			t.Errorf("link record %+v: want down, its cause and an evidence snapshot", r)
		}
		if (r.Kind == history.RecStart || r.Kind == history.RecStop) && len(r.States) != 2 {
			t.Errorf("%s record with states %v: want both links", r.Kind, r.States)
		}
	}
	if got, want := strings.Join(kinds, " "), "start: link:primary stop: start: link:primary stop:"; got != want {
		t.Errorf("ledger of two runs: %s, want %s", got, want)
	}
}

// TestAPIReport: /api/report serves the month so far from the ledger the
// daemon writes, in each format; a bad query is a 400 saying why; an
// agent without a state directory says how to get one.
func TestAPIReport(t *testing.T) {
	cfgFile := writeConfig(t, goodConfig)
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	a, base, stop := runAgent(t, Options{ConfigFile: cfgFile, StoragePath: filepath.Join(filepath.Dir(cfgFile), "state")})
	defer stop()
	sessionDown(t, a, "primary")
	sessionDown(t, a, "secondary")
	waitEvents(t, c, base, 2)

	code, body := get(t, c, "GET", base+"/api/report")
	var rep struct {
		End       time.Time `json:"end"`
		Incidents []struct {
			Scope   string `json:"scope"`
			Link    string `json:"link"`
			Ongoing bool   `json:"ongoing"`
			Cause   string `json:"cause"`
		} `json:"incidents"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &rep) != nil {
		t.Fatalf("/api/report answered %d %q", code, body)
	}
	var got []string
	for _, i := range rep.Incidents {
		if !i.Ongoing || !strings.Contains(i.Cause, "BGP session down") {
			t.Errorf("incident %+v: want ongoing, with the cause dxwatch gave", i)
		}
		got = append(got, i.Scope+":"+i.Link)
	}
	if strings.Join(got, " ") != "link:primary link:secondary site:" {
		t.Errorf("/api/report incidents %v, want both links and the site, ongoing", got)
	}
	if code, body := get(t, c, "GET", base+"/api/report?format=markdown"); code != 200 || !strings.Contains(body, "Site down: no link carried traffic") {
		t.Errorf("/api/report?format=markdown answered %d %q", code, body)
	}
	if code, body := get(t, c, "GET", base+"/api/report?month=2026-13"); code != 400 || !strings.Contains(body, "want a year and month") {
		t.Errorf("/api/report?month=2026-13 answered %d %q, want 400 saying why", code, body)
	}
	if code, _ := get(t, c, "POST", base+"/api/report"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/report answered %d, want 405", code)
	}

	_, base2, _ := startAgent(t, goodConfig, "")
	if code, body := get(t, c, "GET", base2+"/api/report"); code != 404 || !strings.Contains(body, "--storage.path") {
		t.Errorf("/api/report without a ledger answered %d %q, want 404 naming --storage.path", code, body)
	}
}

// TestLedgerRecordsPeerings: on a dual-stack site the start, heartbeat
// and stop records carry each peering's state, and an IPv6-only failure
// is recorded as the IPv6 peering's change, so that a report can rebuild
// each peering's time after a restart.
func TestLedgerRecordsPeerings(t *testing.T) {
	cfg := strings.Replace(goodConfig, twoLinks, `links:
  - name: primary
    role: primary
    customer_address: 169.254.10.2/30
    amazon_address: 169.254.10.1/30
    vlan: 101
    ipv6:
      customer_address: "2001:db8:50::2/125"
      amazon_address: "2001:db8:50::1/125"
  - name: secondary
    role: secondary
    customer_address: 169.254.20.2/30
    amazon_address: 169.254.20.1/30
    vlan: 102
`, 1)
	cfgFile := writeConfig(t, cfg)
	state := filepath.Join(filepath.Dir(cfgFile), "state")
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	from := time.Now().Add(-time.Second)
	a, base, stop := runAgent(t, Options{ConfigFile: cfgFile, StoragePath: state})
	for i := 0; a.observer.target.Load() == nil; i++ {
		if i == 500 {
			t.Fatal("the agent's health model did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.observer.Observe(probes.Observation{Time: time.Now(), Event: probes.BGPSession, Link: "primary", Family: probes.FamilyIPv6, Peer: "edge1", Up: false, Detail: "test"})
	waitEvents(t, c, base, 1)
	stop()
	recs, bad, err := history.ReadLedger(state, from, time.Now().Add(time.Second))
	if err != nil || bad != 0 {
		t.Fatalf("read the ledger: %v (%d skipped)", err, bad)
	}
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, string(r.Kind)+":"+r.Link+":"+r.Family)
		if r.Kind == history.RecStart || r.Kind == history.RecStop {
			keys := slices.Sorted(maps.Keys(r.PeeringStates))
			if len(r.States) != 2 || strings.Join(keys, " ") != "primary/ipv4 primary/ipv6" {
				t.Errorf("%s record with states %v and peering states %v: want both links, and the primary's two peerings only", r.Kind, r.States, r.PeeringStates)
			}
		}
		if r.Kind == history.RecStop && r.PeeringStates["primary/ipv6"] != health.StateDown {
			t.Errorf("stop record's peering states %v: want primary/ipv6 down", r.PeeringStates)
		}
		if r.Kind == history.RecLink && r.Family == probes.FamilyIPv6 && (r.State != health.StateDown || r.Evidence == nil) {
			t.Errorf("IPv6 peering record %+v: want down with its evidence", r)
		}
	}
	if got := strings.Join(kinds, " "); !strings.Contains(got, "link:primary:ipv6") || !strings.HasPrefix(got, "start::") || !strings.HasSuffix(got, "stop::") {
		t.Errorf("ledger of a dual-stack run: %s, want a start, the primary's IPv6 peering going down, a stop", got)
	}
}
