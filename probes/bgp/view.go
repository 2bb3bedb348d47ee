package bgp

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// Routes is the per-link routing table served as JSON at /api/routes.
type Routes struct {
	Time             time.Time    `json:"time"`
	Peers            []PeerView   `json:"peers"`
	BMPRouters       []RouterView `json:"bmp_routers"`
	Links            []LinkView   `json:"links"`
	Expected         []PrefixView `json:"expected_prefixes"`
	MoreSpecifics    []PathView   `json:"unexpected_more_specifics"`
	PrefixesNoLink   int          `json:"prefixes_over_no_link"`
	TablePrefixes    int          `json:"table_prefixes"`
	KeepOnlyRelevant bool         `json:"keep_only_relevant"`
	EventsDropped    uint64       `json:"events_dropped"`
	Resyncs          uint64       `json:"resyncs"`
	BMPDecodeErrors  uint64       `json:"bmp_decode_errors"`
}

// PeerView is one BGP session with an edge router.
type PeerView struct {
	Name        string     `json:"name"`
	Address     string     `json:"address"`
	ASN         uint32     `json:"asn"`
	State       string     `json:"state"`
	Up          bool       `json:"up"`
	Since       *time.Time `json:"since,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	Flaps       uint64     `json:"flaps"`
	Updates     uint64     `json:"updates"`
	Withdrawals uint64     `json:"withdrawals"`
	// EndOfRIB is set once the established session's initial table is
	// in: the router sent End-of-RIB (RFC 4724).
	EndOfRIB bool `json:"end_of_rib"`
}

// RouterView is one router connected to the BMP station.
type RouterView struct {
	Name           string        `json:"name"`
	Address        string        `json:"address"`
	ConnectedSince time.Time     `json:"connected_since"`
	SysName        string        `json:"sys_name,omitempty"`
	SysDescr       string        `json:"sys_descr,omitempty"`
	Peers          []BMPPeerView `json:"monitored_peers"`
}

// BMPPeerView is one session a BMP router monitors.
type BMPPeerView struct {
	Address     string     `json:"address"`
	ASN         uint32     `json:"asn"`
	Link        string     `json:"link,omitempty"`
	Up          bool       `json:"up"`
	Since       *time.Time `json:"since,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	ReasonCode  int        `json:"reason_code,omitempty"`
	Updates     uint64     `json:"updates"`
	Withdrawals uint64     `json:"withdrawals"`
	// EndOfRIB is set once the router's initial dump of the session's
	// routes is done: an End-of-RIB in its route monitoring (RFC 7854 5).
	EndOfRIB bool `json:"end_of_rib"`
}

// LinkView is what the routing shows of one Direct Connect link.
type LinkView struct {
	Name             string           `json:"name"`
	Role             string           `json:"role"`
	AmazonAddress    string           `json:"amazon_address"`
	Session          SessionView      `json:"session"`
	ReceivedPrefixes int              `json:"received_prefixes"`
	Updates          uint64           `json:"updates"`
	Withdrawals      uint64           `json:"withdrawals"`
	LastUpdate       *time.Time       `json:"last_update,omitempty"`
	LastWithdrawal   *time.Time       `json:"last_withdrawal,omitempty"`
	Expected         []LinkPrefixView `json:"expected_prefixes"`
}

// SessionView is the link's BGP session with AWS as far as it is known:
// from BMP, or "unknown" without it.
type SessionView struct {
	Source string     `json:"source"` // "bmp" or "unknown"
	Router string     `json:"router,omitempty"`
	Up     *bool      `json:"up,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
	Reason string     `json:"reason,omitempty"`
}

// LinkPrefixView is one expected prefix on one link.
type LinkPrefixView struct {
	Prefix  string     `json:"prefix"`
	Present bool       `json:"present"`
	Since   *time.Time `json:"since,omitempty"`
	Best    bool       `json:"best"`
	Path    *PathView  `json:"path,omitempty"`
}

// PrefixView is one expected prefix: its best link and every path.
type PrefixView struct {
	Prefix    string     `json:"prefix"`
	BestLink  string     `json:"best_link"`
	BestSince *time.Time `json:"best_since,omitempty"`
	Matched   string     `json:"matched,omitempty"` // the covering prefix routing uses when the prefix itself is absent
	Paths     []PathView `json:"paths"`
}

// PathView is one path.
type PathView struct {
	Prefix      string      `json:"prefix"`
	Link        string      `json:"link"`
	Source      string      `json:"source"`
	PathID      uint32      `json:"path_id"`
	NextHop     string      `json:"next_hop,omitempty"`
	ASPath      []uint32    `json:"as_path"`
	Prepends    int         `json:"prepends"`
	LocalPref   *uint32     `json:"local_pref,omitempty"`
	MED         *uint32     `json:"med,omitempty"`
	Origin      string      `json:"origin"`
	Communities []Community `json:"communities,omitempty"`
	Stale       bool        `json:"stale,omitempty"`
	Since       time.Time   `json:"since"`
}

// view is an immutable snapshot for Collect, Checks and the API.
type view struct {
	routes Routes
	checks []probes.CheckResult
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// publish builds a snapshot of the worker's state.
func (w *worker) publish(now time.Time) {
	s, p := w.s, w.p
	r := Routes{
		Time:             now,
		Peers:            []PeerView{},
		BMPRouters:       []RouterView{},
		Links:            []LinkView{},
		Expected:         []PrefixView{},
		MoreSpecifics:    s.moreSpecifics(),
		PrefixesNoLink:   s.other,
		TablePrefixes:    s.tab.len(),
		KeepOnlyRelevant: s.keepOnly,
		EventsDropped:    p.dropped.Load(),
		Resyncs:          p.resyncs.Load(),
		BMPDecodeErrors:  p.bmpErrors.Load(),
	}
	if r.MoreSpecifics == nil {
		r.MoreSpecifics = []PathView{}
	}
	for i, pr := range w.peers {
		r.Peers = append(r.Peers, PeerView{
			Name: pr.cfg.Name, Address: pr.addr.String(), ASN: pr.cfg.asn(p.cfg.LocalASN), State: pr.state, Up: pr.up,
			Since: timePtr(pr.since), LastError: pr.reason, Flaps: pr.flaps,
			Updates: s.peerStats[i].updates, Withdrawals: s.peerStats[i].withdrawals, EndOfRIB: pr.up && pr.eorSeen,
		})
	}
	for _, br := range w.bmp {
		rv := RouterView{Name: br.name, Address: br.addr.String(), ConnectedSince: br.since, SysName: br.sysName, SysDescr: br.sysDescr, Peers: []BMPPeerView{}}
		for _, bp := range br.peers {
			v := BMPPeerView{Address: bp.addr.String(), ASN: bp.asn, Up: bp.up, Since: timePtr(bp.since), Reason: bp.reason, ReasonCode: bp.reasonCode, Updates: bp.updates, Withdrawals: bp.withdrawals, EndOfRIB: bp.up && bp.eor}
			if bp.link >= 0 {
				v.Link = s.linkName(bp.link)
			}
			rv.Peers = append(rv.Peers, v)
		}
		slices.SortFunc(rv.Peers, func(a, b BMPPeerView) int { return strings.Compare(a.Address, b.Address) })
		r.BMPRouters = append(r.BMPRouters, rv)
	}
	slices.SortFunc(r.BMPRouters, func(a, b RouterView) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), a.ConnectedSince.Compare(b.ConnectedSince))
	})

	expected := s.site.Routing.ExpectedPrefixes
	for l, link := range s.site.Links {
		lv := LinkView{
			Name: link.Name, Role: link.Role, AmazonAddress: link.AmazonAddress.Addr().String(),
			Session:          w.linkSession(l),
			ReceivedPrefixes: s.linkCount[l],
			Updates:          s.stats[l].updates, Withdrawals: s.stats[l].withdrawals,
			LastUpdate: timePtr(s.stats[l].lastUpdate), LastWithdrawal: timePtr(s.stats[l].lastWithdrawal),
			Expected: []LinkPrefixView{},
		}
		for i, e := range expected {
			lp := LinkPrefixView{Prefix: e.String(), Present: s.present[i][l], Since: timePtr(s.presentSince[i][l]), Best: s.best[i] == l}
			if x := s.bestOnLink(s.feedPaths(s.rel[e]), l); x != nil {
				pv := s.pathView(e, x)
				lp.Path = &pv
			} else if x := s.bestOnLink(s.rel[e], l); x != nil {
				pv := s.pathView(e, x)
				lp.Path = &pv
			}
			lv.Expected = append(lv.Expected, lp)
		}
		r.Links = append(r.Links, lv)
	}
	for i, e := range expected {
		pv := PrefixView{Prefix: e.String(), BestLink: s.linkName(s.best[i]), BestSince: timePtr(s.bestSince[i]), Paths: []PathView{}}
		match, _ := s.pool(e)
		if match.IsValid() && match != e {
			pv.Matched = match.String()
		}
		if match.IsValid() {
			paths := slices.Clone(s.rel[match])
			sortPaths(paths)
			for _, x := range paths {
				pv.Paths = append(pv.Paths, s.pathView(match, x))
			}
		}
		r.Expected = append(r.Expected, pv)
	}
	p.view.Store(&view{routes: r, checks: w.checks(now)})
}

// linkSession is the link's DX session state as BMP reports it.
func (w *worker) linkSession(l int) SessionView {
	var conns []uint64
	for c := range w.bmp {
		conns = append(conns, c)
	}
	// The newest connection that knows the session speaks for it.
	slices.Sort(conns)
	slices.Reverse(conns)
	for _, c := range conns {
		r := w.bmp[c]
		for _, bp := range r.peers {
			if bp.link == l && bp.known {
				up := bp.up
				return SessionView{Source: "bmp", Router: r.name, Up: &up, Since: timePtr(bp.since), Reason: bp.reason}
			}
		}
	}
	return SessionView{Source: "unknown"}
}

// feedUp reports whether any routing feed is working: a BGP session
// established or a BMP router connected.
func (w *worker) feedUp() bool {
	for _, pr := range w.peers {
		if pr.up {
			return true
		}
	}
	return len(w.bmp) > 0
}

// agentURLHint is where `dxwatch verify --agent` finds a daemon on the
// same host, with the default listen address.
const agentURLHint = "http://localhost:9479"

// sessionFix is the fix of an edge session that is not established. The
// router's configuration is one cause; the other is that another speaker
// with dxwatch's address already holds the session (a router keeps one
// session per neighbour address): the dxwatch daemon, when this is
// `dxwatch verify` run on its host, or a second agent.
func sessionFix(c Config, pc PeerConfig) string {
	mode := fmt.Sprintf("dxwatch connects to %s port %d", pc.Address, pc.port())
	if pc.Passive {
		mode = fmt.Sprintf("the router connects to dxwatch's port %d", c.ListenPort)
	}
	return fmt.Sprintf("on %s, configure a neighbor for dxwatch (router id %s) with remote-as %d and the same MD5 key (if any), and check that %s; `show bgp neighbors` on the router says why the session is down. "+
		"If the router shows that neighbor established, another BGP speaker with this address holds the session (the router accepts one per address): "+
		"the dxwatch daemon, if this is `dxwatch verify` on its host; then read the daemon's checks with `dxwatch verify --agent %s`",
		pc.Name, c.RouterID, c.LocalASN, mode, agentURLHint)
}

// checks evaluates the verification checks from the current state.
func (w *worker) checks(now time.Time) []probes.CheckResult {
	s, p := w.s, w.p
	var out []probes.CheckResult
	add := func(name, link string, st probes.CheckStatus, reason, fix string) {
		if st == probes.Pass {
			fix = ""
		}
		out = append(out, probes.CheckResult{Name: name, Order: probes.OrderBGP, Link: link, Status: st, Reason: reason, Fix: fix, Time: now})
	}
	for _, pr := range w.peers {
		name := "bgp.session." + pr.cfg.Name
		switch {
		case pr.up:
			add(name, "", probes.Pass, fmt.Sprintf("session with %s (%s) established since %s", pr.cfg.Name, pr.addr, pr.since.UTC().Format(time.RFC3339)), "")
		default:
			st := probes.Fail
			reason := fmt.Sprintf("session with %s (%s) is %s", pr.cfg.Name, pr.addr, pr.state)
			if !pr.everUp && now.Sub(p.started) < connectGrace {
				st = probes.Warn
				reason += " (still connecting)"
			}
			if pr.reason != "" {
				reason += "; last error: " + pr.reason
			}
			add(name, "", st, reason, sessionFix(p.cfg, pr.cfg))
		}
	}
	// The Direct Connect sessions themselves, from BMP.
	for l, link := range s.site.Links {
		sv := w.linkSession(l)
		if sv.Source != "bmp" {
			continue
		}
		if *sv.Up {
			add("bgp.dx_session."+link.Name, link.Name, probes.Pass, fmt.Sprintf("BMP from %s: the session with AWS (%s) is up", sv.Router, link.AmazonAddress.Addr()), "")
		} else {
			add("bgp.dx_session."+link.Name, link.Name, probes.Fail, fmt.Sprintf("BMP from %s: the session with AWS (%s) is down: %s", sv.Router, link.AmazonAddress.Addr(), sv.Reason),
				fmt.Sprintf("check the %s link: the connection and virtual interface state in the Direct Connect console, the VLAN %d and the BGP MD5 key and ASN on %s", link.Name, link.VLAN, sv.Router))
		}
	}
	expected := s.site.Routing.ExpectedPrefixes
	if len(expected) == 0 {
		return out
	}
	feed := w.feedUp()
	noFeed := "no routing feed yet: no BGP session established and no BMP router connected"
	for l, link := range s.site.Links {
		name := "bgp.prefix." + link.Name
		if !feed {
			add(name, link.Name, probes.Skip, noFeed, "")
			continue
		}
		var missing []string
		for i, e := range expected {
			if !s.present[i][l] {
				missing = append(missing, e.String())
			}
		}
		if len(missing) == 0 {
			add(name, link.Name, probes.Pass, fmt.Sprintf("every expected prefix arrives over %s (next hop %s)", link.Name, link.AmazonAddress.Addr()), "")
		} else {
			add(name, link.Name, probes.Fail, fmt.Sprintf("%s not received over %s (next hop %s)", strings.Join(missing, ", "), link.Name, link.AmazonAddress.Addr()),
				fmt.Sprintf("check that the %s virtual interface's BGP session is up and that AWS advertises these prefixes: the VGW route propagation or the DX gateway association's allowed prefixes; then the edge router's inbound filter towards %s, and that it sends these paths to dxwatch (ADD-PATH, next hop unchanged)", link.Name, link.AmazonAddress.Addr()))
		}
	}
	w.intentChecks(add, feed, noFeed)
	return out
}

func (w *worker) intentChecks(add func(name, link string, st probes.CheckStatus, reason, fix string), feed bool, noFeed string) {
	s := w.s
	r := s.site.Routing
	expected := r.ExpectedPrefixes
	primary := -1
	for i, l := range s.site.Links {
		if r.Mode == probes.ModeActivePassive && l.Name == r.Primary {
			primary = i
		}
	}
	switch r.Mode {
	case probes.ModeActivePassive:
		const name = "bgp.intent.primary_preferred"
		fix := fmt.Sprintf("make %s preferred: set a higher local preference on the routes learned from the %s link's AWS neighbor (route-map in), or AS_PATH-prepend on the other link's; AWS's own choice towards you is set with the 7224:7100/7200/7300 communities or prepends on what you advertise", r.Primary, r.Primary)
		if !feed {
			add(name, "", probes.Skip, noFeed, "")
			break
		}
		if primary < 0 {
			add(name, "", probes.Skip, fmt.Sprintf("primary link %q is not among the links", r.Primary), "")
			break
		}
		var bad []string
		for _, e := range expected {
			_, pool := s.pool(e)
			pb := s.bestOnLink(pool, primary)
			if pb == nil {
				bad = append(bad, fmt.Sprintf("%s: no path over %s", e, r.Primary))
				continue
			}
			for l := range s.site.Links {
				if l == primary {
					continue
				}
				ob := s.bestOnLink(pool, l)
				if ob == nil {
					continue
				}
				c, why := compare(&pb.attrs, &ob.attrs, s.localASN)
				switch {
				case c == 0:
					bad = append(bad, fmt.Sprintf("%s: %s and %s are equally preferred (local preference %d, AS_PATH length %d): a tie-break decides", e, r.Primary, s.linkName(l), pb.attrs.effectiveLocalPref(), pb.attrs.ASPathLen))
				case c > 0:
					bad = append(bad, fmt.Sprintf("%s: %s is preferred over %s by %s", e, s.linkName(l), r.Primary, why))
				}
			}
		}
		if len(bad) == 0 {
			add(name, "", probes.Pass, fmt.Sprintf("%s is strictly preferred for every expected prefix", r.Primary), "")
		} else {
			add(name, "", probes.Fail, strings.Join(bad, "; "), fix)
		}
	case probes.ModeActiveActive:
		const name = "bgp.intent.links_equal"
		if !feed {
			add(name, "", probes.Skip, noFeed, "")
			break
		}
		var bad []string
		for _, e := range expected {
			_, pool := s.pool(e)
			var bests []*relPath
			var links []int
			for l := range s.site.Links {
				if b := s.bestOnLink(pool, l); b != nil {
					bests = append(bests, b)
					links = append(links, l)
				}
			}
			for j := 1; j < len(bests); j++ {
				if c, why := compare(&bests[0].attrs, &bests[j].attrs, s.localASN); c != 0 {
					winner := links[0]
					if c > 0 {
						winner = links[j]
					}
					bad = append(bad, fmt.Sprintf("%s: %s is preferred by %s", e, s.linkName(winner), why))
				}
			}
		}
		if len(bad) == 0 {
			add(name, "", probes.Pass, "the links are equally preferred for every expected prefix received over several links", "")
		} else {
			add(name, "", probes.Fail, strings.Join(bad, "; "), "for active/active, give both links' routes the same local preference and AS_PATH length on the edge router, and enable multipath (maximum-paths 2)")
		}
	}

	{
		const name = "bgp.intent.no_more_specifics"
		if !feed {
			add(name, "", probes.Skip, noFeed, "")
		} else if ms := s.moreSpecifics(); len(ms) == 0 {
			add(name, "", probes.Pass, "no prefix more specific than an expected one is received", "")
		} else {
			var list []string
			seen := map[string]bool{}
			for _, m := range ms {
				k := m.Prefix + " over " + cmp.Or(m.Link, "no link")
				if !seen[k] {
					seen[k] = true
					list = append(list, k)
				}
			}
			if len(list) > 10 {
				list = append(list[:10], fmt.Sprintf("and %d more", len(list)-10))
			}
			add(name, "", probes.Warn, "unexpected more-specifics steer part of the VPC traffic: "+strings.Join(list, ", "),
				"if they are intended, add them to routing.expected_prefixes; otherwise find who advertises them (a VPC or transit gateway route, the DX gateway association's allowed prefixes) and remove them")
		}
	}

	if r.AmazonASN != 0 {
		const name = "bgp.intent.amazon_asn"
		var bad []string
		seen := 0
		for _, e := range expected {
			for _, x := range s.rel[e] {
				if x.link < 0 {
					continue
				}
				seen++
				if as := x.attrs.neighborAS(s.localASN); as != r.AmazonASN {
					bad = append(bad, fmt.Sprintf("%s over %s comes from AS %d", e, s.linkName(x.link), as))
				}
			}
		}
		slices.Sort(bad)
		bad = slices.Compact(bad)
		switch {
		case seen == 0:
			add(name, "", probes.Skip, "no expected prefix received over a link yet", "")
		case len(bad) == 0:
			add(name, "", probes.Pass, fmt.Sprintf("every path over a link comes from AS %d", r.AmazonASN), "")
		default:
			add(name, "", probes.Fail, fmt.Sprintf("%s, not the configured Amazon ASN %d", strings.Join(bad, "; "), r.AmazonASN),
				"set routing.amazon_asn to the virtual interface's Amazon side ASN (Direct Connect console, Virtual interfaces, the VIF's 'Amazon side ASN'; for a DX gateway, its ASN), or fix the edge router if it rewrites the AS_PATH")
		}
	}
}

// Checks implements probes.Checker.
func (p *Probe) Checks() []probes.CheckResult {
	return slices.Clone(p.view.Load().checks)
}

// Routes returns the latest per-link view.
func (p *Probe) Routes() Routes { return p.view.Load().routes }

// APIPath implements probes.APIHandler.
func (p *Probe) APIPath() string { return "/api/routes" }

// ServeHTTP serves the per-link view as JSON.
func (p *Probe) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(rw)
	enc.SetIndent("", "  ")
	_ = enc.Encode(p.view.Load().routes)
}
