package statuspage_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/statuspage"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes/bgp"
)

// fakeAgent serves the status page and a scripted sequence of /api/status
// and /api/events documents, taken from the health model's golden files:
// phase 0 the primary carries the traffic, 1 a failover in progress, 2 the
// secondary carries it after failover event 4, 3 back on the primary after
// failback event 6.
type fakeAgent struct {
	t      *testing.T
	phase  atomic.Int32
	pages  atomic.Int32 // GETs of "/"
	mu     sync.Mutex
	polls  int
	status [4]map[string]any
	events []map[string]any
	upTo   [4]float64 // last event id shown in each phase
	page   http.Handler
	report string // served as /api/report, from agent/report/testdata
	routes any    // served as /api/routes when set (else 404: no BGP probe)
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "health", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func newFakeAgent(t *testing.T) *fakeAgent {
	f := &fakeAgent{t: t, page: statuspage.Handler(statuspage.Options{Site: labsite.Site, Checks: labChecks}), report: "report.json"}
	readJSON(t, "events.json", &f.events)
	for i := range f.status {
		readJSON(t, "status.json", &f.status[i])
	}
	delete(f.status[0], "last_failover")
	readJSON(t, "status_in_progress.json", &f.status[1])

	// Phase 2: the state after failover event 4, built from the golden
	// status with the links' roles swapped.
	s := f.status[2]
	s["active"] = []any{"secondary"}
	links := s["links"].([]any)
	p, sec := links[0].(map[string]any), links[1].(map[string]any)
	p["state"], p["active"] = "down", false
	p["reasons"] = []any{"BGP session down (edge1 ↔ AWS 169.254.10.1, seen by BMP: BFD down)", "expected prefix 198.18.0.0/16 withdrawn"}
	for _, e := range p["evidence"].([]any) {
		ev := e.(map[string]any)
		if ev["source"] == "bgp_session" || ev["source"] == "bgp_prefix" {
			ev["ok"] = false
		}
	}
	// The primary is dual-stack: its IPv4 peering down, its IPv6 one up.
	p["peerings"] = []any{
		map[string]any{"family": "ipv4", "state": "down", "reasons": []any{"BGP session down (edge1 ↔ AWS 169.254.10.1, seen by BMP: BFD down)"}, "active": false},
		map[string]any{"family": "ipv6", "state": "up", "reasons": []any{}, "active": true},
	}
	sec["active"] = true
	for _, tg := range s["targets"].([]any) {
		tg.(map[string]any)["active"] = []any{"secondary"}
	}
	for _, e := range f.events {
		if e["id"].(float64) == 4 {
			s["last_failover"] = e
		}
	}
	s["checks"] = f.status[1]["checks"]
	f.upTo = [4]float64{2, 3, 4, 6}
	return f
}

func (f *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ph := f.phase.Load()
	switch r.URL.Path {
	case "/api/status":
		f.mu.Lock()
		f.polls++
		n := f.polls
		doc := map[string]any{}
		for k, v := range f.status[ph] {
			doc[k] = v
		}
		// The agent's clock moves on and the RTT wanders, so the
		// sparklines have something to draw.
		doc["time"] = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second).Format(time.RFC3339Nano)
		for _, tg := range doc["targets"].([]any) {
			if e, ok := tg.(map[string]any)["echo"].(map[string]any); ok {
				e["mean_rtt_seconds"] = 0.002 + 0.0005*float64(n%7)
				if ph == 1 {
					e["loss_ratio"] = 0.1
				}
			}
		}
		b, err := json.Marshal(doc)
		f.mu.Unlock()
		if err != nil {
			f.t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	case "/api/routes":
		f.mu.Lock()
		routes := f.routes
		f.mu.Unlock()
		if routes == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(routes); err != nil {
			f.t.Error(err)
		}
	case "/api/report":
		b, err := os.ReadFile(filepath.Join("..", "report", "testdata", f.report))
		if err != nil {
			f.t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	case "/api/events":
		since, _ := strconv.ParseFloat(r.URL.Query().Get("since"), 64)
		out := []map[string]any{}
		for _, e := range f.events {
			if id := e["id"].(float64); id > since && id <= f.upTo[ph] {
				out = append(out, e)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	default:
		if r.URL.Path == "/" {
			f.pages.Add(1)
		}
		f.page.ServeHTTP(w, r)
	}
}

// What the tests read from the page, for failure messages.
const pageView = `({summary: document.getElementById('summary').textContent,
  conn: document.getElementById('conn').textContent,
  svgActive: [...document.querySelectorAll('svg.site g[data-active=true]')].map(g => g.dataset.link),
  events: [...document.querySelectorAll('#events li[data-event-id]')].map(li => li.dataset.eventId + ' ' + li.dataset.kind)})`

func TestChromiumLiveUpdate(t *testing.T) {
	f := newFakeAgent(t)
	srv := httptest.NewServer(f) // 127.0.0.1
	t.Cleanup(srv.Close)
	b := startBrowser(t, 1280, 900, false)
	b.navigate(srv.URL + "/")

	// Phase 0: the primary carries the traffic.
	b.waitFor(`document.querySelector('svg.site g[data-link=primary][data-active=true]') &&
		document.querySelector('#links [data-link=primary][data-active=true]') &&
		document.getElementById('summary').dataset.active === 'primary' &&
		document.querySelector('.spark.rtt polyline') && document.querySelector('#checks [data-check="aws.connection.primary.state"] .fix') &&
		document.querySelector('#capacity [data-check="capacity.failover.primary.secondary"][data-from=primary][data-to=secondary] [data-direction=egress]')`,
		pageView, 20*time.Second)
	var headroom string
	b.eval(t.Context(), `[...document.querySelectorAll('#capacity [data-direction]')].map(li => li.textContent).join(' | ')`, &headroom)
	if want := "egress p95 816 Mbps (163%), max 842 Mbps (168%) | ingress p95 299 Mbps (60%), max 308 Mbps (62%)"; headroom != want {
		t.Errorf("headroom per direction on the page: %q, want %q", headroom, want)
	}
	// The month so far against the target, from /api/report.
	b.waitFor(`document.querySelector('#month [data-link=secondary]')`, pageView, 20*time.Second)
	var month string
	b.eval(t.Context(), `document.getElementById('month').textContent`, &month)
	for _, want := range []string{"on target", "Site 99.9982 % against a target of 99.9 %", "down 45.0 s in 1 incident", "primary 99.9333 %", "not observed 1h 05m"} {
		if !strings.Contains(month, want) {
			t.Errorf("the month card %q does not show %q", month, want)
		}
	}
	var marker bool
	b.eval(t.Context(), `window.dxwatchMarker = true`, &marker) // gone if the page reloads
	b.screenshot("1-primary-active")

	// Phase 1: a failover in progress shows as a banner.
	f.phase.Store(1)
	b.waitFor(`!document.getElementById('banner').hidden && document.getElementById('banner').textContent.includes('primary → no link')
		&& document.querySelector('svg.site g[data-link=primary][data-state=down]')`, pageView, 20*time.Second)
	b.screenshot("2-failover-in-progress")

	// Phase 2: the secondary carries the traffic; failover event 4 with its
	// measured outage is listed.
	f.phase.Store(2)
	b.waitFor(`document.querySelector('svg.site g[data-link=secondary][data-active=true]') &&
		!document.querySelector('svg.site g[data-link=primary][data-active=true]') &&
		document.querySelector('#links [data-link=secondary][data-active=true]') &&
		document.getElementById('summary').dataset.active === 'secondary' &&
		document.getElementById('banner').hidden &&
		document.querySelector('#events li[data-event-id="4"][data-kind=failover][data-from=primary][data-to=secondary]') &&
		document.querySelector('#links [data-link=primary] .peerings li[data-family=ipv4][data-state=down]') &&
		document.querySelector('#links [data-link=primary] .peerings li[data-family=ipv6][data-state=up] .badge.active')`,
		pageView, 20*time.Second)
	var peerings string
	b.eval(t.Context(), `document.querySelector('#links [data-link=primary] .peerings').textContent`, &peerings)
	if !strings.Contains(peerings, "IPv4 down") || !strings.Contains(peerings, "IPv6 up") {
		t.Errorf("the primary's peerings read %q, want IPv4 down and IPv6 up", peerings)
	}
	dom := b.dom()
	for _, want := range []string{"Failover primary → secondary", "outage 900 ms", "BGP session down (edge1 ↔ AWS 169.254.10.1, seen by BMP: BFD down)", "edge1 ↔ AWS 169.254.10.1, seen by BMP: down",
		"dxcon-lab00002", "dxvif-lab00002", "169.254.20.1", "198.18.0.0/16", "Traffic on secondary (not on the primary)"} {
		if !strings.Contains(dom, want) {
			t.Errorf("after the failover the page does not show %q", want)
		}
	}
	b.screenshot("3-secondary-active")

	// Phase 3: failback; both events are in the timeline, newest first.
	f.phase.Store(3)
	b.waitFor(`document.getElementById('summary').dataset.active === 'primary' &&
		[...document.querySelectorAll('#events li[data-kind=failover]')].map(li => li.dataset.eventId).join() === '6,4'`,
		pageView, 20*time.Second)
	b.screenshot("4-failback")

	if err := b.eval(t.Context(), `window.dxwatchMarker === true`, &marker); err != nil || !marker {
		t.Errorf("the page was reloaded (marker lost, err %v)", err)
	}
	if n := f.pages.Load(); n != 1 {
		t.Errorf("the page was fetched %d times, want 1 (it must update without reloading)", n)
	}
	if errs := b.jsErrors(); len(errs) > 0 {
		t.Errorf("JavaScript errors: %q", errs)
	}
	if bl := b.blockedURLs(); len(bl) > 0 {
		t.Errorf("the page tried to load URLs outside 127.0.0.1: %q", bl)
	}
}

func TestChromiumPhone(t *testing.T) {
	f := newFakeAgent(t)
	f.phase.Store(2)
	f.report = "report-dualstack.json" // the month of a site whose primary is dual-stack
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	b := startBrowser(t, 390, 844, true)
	b.navigate(srv.URL + "/")
	b.waitFor(`document.querySelector('svg.site g[data-link=secondary][data-active=true]') && document.querySelector('#events li[data-event-id="4"]')`,
		pageView, 20*time.Second)
	// The narrow layout stacks the links vertically; nothing is wider than
	// the screen.
	var layout struct {
		ViewBox     string  `json:"viewBox"`
		ScrollWidth float64 `json:"scrollWidth"`
		Width       float64 `json:"width"`
	}
	if err := b.eval(t.Context(), `({viewBox: document.querySelector('svg.site').getAttribute('viewBox'),
		scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth})`, &layout); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(layout.ViewBox, "0 0 400 ") {
		t.Errorf("phone layout: viewBox %q, want the narrow 400-wide diagram", layout.ViewBox)
	}
	if layout.ScrollWidth > layout.Width {
		t.Errorf("the page scrolls sideways on a phone: %v wide in a %v viewport", layout.ScrollWidth, layout.Width)
	}
	// The month card lists the primary's peerings under it.
	b.waitFor(`document.querySelector('#month [data-peering="primary/ipv6"]')`, pageView, 20*time.Second)
	var rows []string
	if err := b.eval(t.Context(), `[...document.querySelectorAll('#month li')].map(li => (li.classList.contains('peering') && getComputedStyle(li).paddingLeft !== '0px' ? '  ' : '') + li.textContent)`, &rows); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(rows, " | "), "primary 99.9922 % · down 3m 20s in 1 · not observed 4m 25s |   primary IPv4 99.9918 % · down 3m 20s in 1 · not observed 36h 04m |   primary IPv6 99.9269 % · down 29m 57s in 3 · not observed 36h 04m | secondary 100 % · down 0 ms in 0 · not observed 4m 25s"; got != want {
		t.Errorf("the month card's rows:\n%s\nwant\n%s", got, want)
	}
	b.screenshot("5-phone-secondary-active")
	if errs := b.jsErrors(); len(errs) > 0 {
		t.Errorf("JavaScript errors: %q", errs)
	}
	if bl := b.blockedURLs(); len(bl) > 0 {
		t.Errorf("the page tried to load URLs outside 127.0.0.1: %q", bl)
	}
}

// bmpRoutes is an /api/routes document, built from the BGP probe's own
// types: edge1 exports its Loc-RIB and its Adj-RIB-Out post-policy (the
// secondary's prepended, tagged 7224:7100), edge2 only its Adj-RIB-In.
func bmpRoutes() bgp.Routes {
	since := time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)
	low := []bgp.Community{{Value: "7224:7100", Name: "AWS local preference low"}}
	return bgp.Routes{
		Time: since.Add(time.Hour),
		Expected: []bgp.PrefixView{{Prefix: "198.18.0.0/16", BestLink: "primary", Paths: []bgp.PathView{}},
			{Prefix: "198.19.0.0/16", Paths: []bgp.PathView{}}},
		BMPRouters: []bgp.RouterView{
			{Name: "edge1", Address: "10.0.0.1", ConnectedSince: since, SysName: "edge1.lab",
				Views:  []string{"adj_rib_in_post", "loc_rib", "adj_rib_out_pre", "adj_rib_out_post"},
				LocRIB: []bgp.LocRIBView{{Prefix: "198.18.0.0/16", Link: "primary", NextHop: "169.254.10.1", ASPath: []uint32{64512}}},
				Peers: []bgp.BMPPeerView{
					{Address: "10.0.0.9", ASN: 65000, Up: true},
					{Address: "169.254.10.1", ASN: 64512, Link: "primary", Up: true,
						Advertised: []bgp.AdvertisedView{{Prefix: "192.0.2.0/24", ASPath: []uint32{65000}}}},
					{Address: "169.254.20.1", ASN: 64512, Link: "secondary", Up: true,
						Advertised: []bgp.AdvertisedView{{Prefix: "192.0.2.0/24", ASPath: []uint32{65000, 65000, 65000}, Prepends: 2, Communities: low}}},
				}},
			{Name: "edge2", Address: "10.0.0.2", ConnectedSince: since, Views: []string{"adj_rib_in_pre", "adj_rib_in_post"},
				Peers: []bgp.BMPPeerView{{Address: "169.254.20.1", ASN: 64512, Link: "secondary", Up: true}}},
		},
	}
}

// TestChromiumBMPRouters: the page shows each BMP router's exported views;
// from edge1's Loc-RIB the path it chose per expected prefix (and that it
// has none for the other), from its Adj-RIB-Out post-policy what it
// advertises to AWS over each link; for edge2 that it exports neither.
// Without /api/routes the section stays hidden.
func TestChromiumBMPRouters(t *testing.T) {
	f := newFakeAgent(t)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	b := startBrowser(t, 1280, 900, false)
	b.navigate(srv.URL + "/")
	b.waitFor(`document.querySelector('#links [data-link=primary]')`, pageView, 20*time.Second)
	var hidden bool
	if err := b.eval(t.Context(), `document.getElementById('routers-card').hidden`, &hidden); err != nil || !hidden {
		t.Errorf("without /api/routes the routers section shows (hidden %v, err %v)", hidden, err)
	}

	f.mu.Lock()
	f.routes = bmpRoutes()
	f.mu.Unlock()
	b.waitFor(`document.querySelector('#routers [data-router=edge2] .no-loc-rib') && document.querySelector('#routers [data-router=edge1] table.adj-rib-out')`, pageView, 20*time.Second)
	rows := func(sel string) string {
		t.Helper()
		var out []string
		if err := b.eval(t.Context(), `[...document.querySelectorAll(`+strconv.Quote(sel)+`)].map(e => (e.dataset.view ? e.dataset.view + '=' + e.dataset.exported + ' ' : '') + [...e.children].map(c => c.textContent).join(' / '))`, &out); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " | ")
	}
	for _, tc := range []struct{ sel, want string }{
		{"#routers [data-router=edge1] li[data-view]", "adj_rib_in_pre=false  | adj_rib_in_post=true  | loc_rib=true  | adj_rib_out_pre=true  | adj_rib_out_post=true "},
		{"#routers [data-router=edge2] li[data-view]", "adj_rib_in_pre=true  | adj_rib_in_post=true  | loc_rib=false  | adj_rib_out_pre=false  | adj_rib_out_post=false "},
		{"#routers [data-router=edge1] table.loc-rib tbody tr", "198.18.0.0/16 / primary / 169.254.10.1 / 64512 / – | 198.19.0.0/16 / not in the router's Loc-RIB: it has no path"},
		{"#routers [data-router=edge1] table.adj-rib-out tbody tr", "primary / 192.0.2.0/24 / 65000 / – | secondary / 192.0.2.0/24 / 65000 65000 65000 (2 prepends) / 7224:7100 (AWS local preference low)"},
	} {
		if got := rows(tc.sel); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.sel, got, tc.want)
		}
	}
	var edge2 string
	if err := b.eval(t.Context(), `document.querySelector('#routers [data-router=edge2]').textContent`, &edge2); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"edge2", "Exports no Loc-RIB: dxwatch infers", "Exports no Adj-RIB-Out post-policy: what it advertises to AWS is read from AWS's side only"} {
		if !strings.Contains(edge2, want) {
			t.Errorf("edge2's card %q does not say %q", edge2, want)
		}
	}
	var head string
	if err := b.eval(t.Context(), `document.querySelector('#routers [data-router=edge1] h3').textContent`, &head); err != nil || head != "edge1 (edge1.lab)" {
		t.Errorf("edge1's heading %q (err %v)", head, err)
	}
	b.screenshot("6-bmp-routers")
	if errs := b.jsErrors(); len(errs) > 0 {
		t.Errorf("JavaScript errors: %q", errs)
	}
	if bl := b.blockedURLs(); len(bl) > 0 {
		t.Errorf("the page tried to load URLs outside 127.0.0.1: %q", bl)
	}
}
