package bgp

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/expose"
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
	Name    string `json:"name"`
	Address string `json:"address"`
	ASN     uint32 `json:"asn"`
	// Session is what holds the session: "gobgp" or "lean"
	// (peers[].session).
	Session     string     `json:"session"`
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
	// EndOfRIBNegotiated is set when both sides of the established
	// session offered graceful restart: End-of-RIB is then due. Without
	// it, readiness uses the settle rule (no UPDATE for settle_time).
	EndOfRIBNegotiated bool `json:"end_of_rib_negotiated"`
	// LastUpdate is when the session's last UPDATE arrived.
	LastUpdate *time.Time `json:"last_update,omitempty"`
}

// RouterView is one router connected to the BMP station.
type RouterView struct {
	Name           string        `json:"name"`
	Address        string        `json:"address"`
	ConnectedSince time.Time     `json:"connected_since"`
	SysName        string        `json:"sys_name,omitempty"`
	SysDescr       string        `json:"sys_descr,omitempty"`
	Peers          []BMPPeerView `json:"monitored_peers"`
	// Views are the RIBs the router exports over BMP, from the Route
	// Monitoring it sent: adj_rib_in_pre, adj_rib_in_post (RFC 7854),
	// loc_rib (RFC 9069), adj_rib_out_pre, adj_rib_out_post (RFC 8671).
	Views []string `json:"views"`
	// LocRIB is, when the router exports its Loc-RIB over BMP (RFC 9069),
	// the paths it selected for the relevant prefixes.
	LocRIB []LocRIBView `json:"loc_rib,omitempty"`
}

// LocRIBView is one path a BMP router selected.
type LocRIBView struct {
	Prefix      string      `json:"prefix"`
	Link        string      `json:"link,omitempty"`
	NextHop     string      `json:"next_hop,omitempty"`
	ASPath      []uint32    `json:"as_path"`
	Communities []Community `json:"communities,omitempty"`
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
	// Advertised is, for a Direct Connect session whose router exports
	// its Adj-RIB-Out post-policy over BMP (RFC 8671), what the router
	// sends AWS over the link.
	Advertised []AdvertisedView `json:"advertised,omitempty"`
	// AdvertisedDropped counts Adj-RIB-Out paths not kept (over 4096).
	AdvertisedDropped uint64 `json:"advertised_dropped,omitempty"`
	// AdvertisedPrePolicy counts, for a Direct Connect session whose
	// router exports its Adj-RIB-Out pre-policy, the prefixes it would
	// send before its outbound policy (at most 4096 counted).
	AdvertisedPrePolicy int `json:"advertised_pre_policy,omitempty"`
}

// AdvertisedView is one route an edge router sends AWS.
type AdvertisedView struct {
	Prefix      string      `json:"prefix"`
	ASPath      []uint32    `json:"as_path"`
	Prepends    int         `json:"prepends"`
	Communities []Community `json:"communities,omitempty"`
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
			Name: pr.cfg.Name, Address: pr.addr.String(), ASN: pr.cfg.asn(p.cfg.LocalASN), Session: pr.cfg.session(), State: pr.state, Up: pr.up,
			Since: timePtr(pr.since), LastError: pr.lastError(), Flaps: pr.flaps,
			Updates: s.peerStats[i].updates, Withdrawals: s.peerStats[i].withdrawals, EndOfRIB: pr.up && pr.eorSeen,
			EndOfRIBNegotiated: pr.up && pr.eorNegotiated, LastUpdate: timePtr(pr.lastUpdate),
		})
	}
	for _, br := range w.bmp {
		rv := RouterView{Name: br.name, Address: br.addr.String(), ConnectedSince: br.since, SysName: br.sysName, SysDescr: br.sysDescr, Peers: []BMPPeerView{}, Views: br.views.names(), LocRIB: w.locRIBView(br)}
		for _, bp := range br.peers {
			v := BMPPeerView{Address: bp.addr.String(), ASN: bp.asn, Up: bp.up, Since: timePtr(bp.since), Reason: bp.reason, ReasonCode: bp.reasonCode, Updates: bp.updates, Withdrawals: bp.withdrawals, EndOfRIB: bp.up && bp.eor,
				Advertised: advertisedView(bp), AdvertisedDropped: bp.outDropped, AdvertisedPrePolicy: len(bp.outPre)}
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

// Routes returns the latest per-link view.
func (p *Probe) Routes() Routes { return p.view.Load().routes }

// APIPath implements probes.APIHandler.
func (p *Probe) APIPath() string { return "/api/routes" }

// ServeHTTP serves the per-link view as JSON.
func (p *Probe) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	expose.ServeJSON(rw, req, func() any { return p.view.Load().routes })
}
