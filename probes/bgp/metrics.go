package bgp

import (
	"strings"

	"github.com/dxwatch/dxwatch/probes/expose"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	sessionUpDesc = prometheus.NewDesc("dxwatch_bgp_session_up",
		"Whether the BGP session with the edge router is established (1) or not (0).", []string{"peer"}, nil)
	sessionFlapsDesc = prometheus.NewDesc("dxwatch_bgp_session_flaps_total",
		"Times the BGP session with the edge router left the established state.", []string{"peer"}, nil)
	prefixPresentDesc = prometheus.NewDesc("dxwatch_bgp_prefix_present",
		"Whether the expected prefix is received over the link (1) or not (0).", []string{"link", "prefix"}, nil)
	receivedPrefixesDesc = prometheus.NewDesc("dxwatch_bgp_received_prefixes",
		"Prefixes received over the link (kept prefixes only with keep_only_relevant).", []string{"link"}, nil)
	prependsDesc = prometheus.NewDesc("dxwatch_bgp_as_path_prepends",
		"AS_PATH prepends (repeated ASNs) of the link's best path for the expected prefix.", []string{"link", "prefix"}, nil)
	bestLinkDesc = prometheus.NewDesc("dxwatch_bgp_best_link",
		"1 for the link of the best path for the expected prefix, 0 for the others.", []string{"prefix", "link"}, nil)
	updatesDesc = prometheus.NewDesc("dxwatch_bgp_updates_total",
		"Paths announced (kind=update) and withdrawn (kind=withdraw) by the edge router.", []string{"peer", "kind"}, nil)
	linkUpdatesDesc = prometheus.NewDesc("dxwatch_bgp_link_updates_total",
		"Paths announced (kind=update) and withdrawn (kind=withdraw) over the link, from every feed.", []string{"link", "kind"}, nil)
	linkLastUpdateDesc = prometheus.NewDesc("dxwatch_bgp_link_last_update_timestamp_seconds",
		"Unix time of the last path announced (kind=update) or withdrawn (kind=withdraw) over the link.", []string{"link", "kind"}, nil)
	intentOKDesc = prometheus.NewDesc("dxwatch_bgp_intent_ok",
		"Whether the observed routing matches the configured intent for the check (1) or not (0).", []string{"check"}, nil)
	droppedDesc = prometheus.NewDesc("dxwatch_bgp_events_dropped_total",
		"GoBGP events dropped because the worker's bounded queue was full (each triggers a resync).", nil, nil)
	resyncsDesc = prometheus.NewDesc("dxwatch_bgp_resyncs_total",
		"Times a peer's routes were rebuilt from GoBGP's Adj-RIB-In after dropped events.", nil, nil)
	bmpPeerUpDesc = prometheus.NewDesc("dxwatch_bmp_peer_up",
		"Whether the Direct Connect BGP session of the link, as the router reports over BMP, is up (1) or down (0).", []string{"router", "link"}, nil)
	bmpRoutersDesc = prometheus.NewDesc("dxwatch_bmp_routers_connected",
		"Routers connected to the BMP station.", nil, nil)
	bmpErrorsDesc = prometheus.NewDesc("dxwatch_bmp_decode_errors_total",
		"BMP messages or streams the station could not decode.", nil, nil)
	bmpViewsDesc = prometheus.NewDesc("dxwatch_bmp_router_views",
		"Whether the router exports the view over BMP (1) or not (0): adj_rib_in_pre, adj_rib_in_post (RFC 7854), loc_rib (RFC 9069), adj_rib_out_pre, adj_rib_out_post (RFC 8671).", []string{"router", "view"}, nil)
	bmpLocRIBPathsDesc = prometheus.NewDesc("dxwatch_bmp_loc_rib_paths",
		"Paths of relevant prefixes in the router's Loc-RIB (RFC 9069) that dxwatch keeps; only for a router that exports its Loc-RIB.", []string{"router"}, nil)
	bmpAdjRIBOutPathsDesc = prometheus.NewDesc("dxwatch_bmp_adj_rib_out_paths",
		"Prefixes the router's Adj-RIB-Out (RFC 8671) holds for its session with AWS over the link, before (policy=pre) or after (policy=post) its outbound policy; only for a view the router exports (at most 4096 counted).", []string{"router", "link", "policy"}, nil)
	bmpRefusedDesc = prometheus.NewDesc("dxwatch_bmp_connections_refused_total",
		"Connections to the BMP station refused because their source is not in bgp.bmp.routers (by default the BGP peers' addresses).", nil, nil)
)

// Describe implements prometheus.Collector.
func (p *Probe) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sessionUpDesc, sessionFlapsDesc, prefixPresentDesc, receivedPrefixesDesc, prependsDesc,
		bestLinkDesc, updatesDesc, linkUpdatesDesc, linkLastUpdateDesc, intentOKDesc, droppedDesc, resyncsDesc,
		bmpPeerUpDesc, bmpRoutersDesc, bmpErrorsDesc, bmpRefusedDesc, bmpViewsDesc, bmpLocRIBPathsDesc, bmpAdjRIBOutPathsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector from the latest snapshot.
func (p *Probe) Collect(ch chan<- prometheus.Metric) {
	v := p.view.Load()
	r := v.routes
	gauge := func(d *prometheus.Desc, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, val, labels...)
	}
	counter := func(d *prometheus.Desc, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, val, labels...)
	}
	for _, pv := range r.Peers {
		gauge(sessionUpDesc, expose.Bool(pv.Up), pv.Name)
		counter(sessionFlapsDesc, float64(pv.Flaps), pv.Name)
		counter(updatesDesc, float64(pv.Updates), pv.Name, "update")
		counter(updatesDesc, float64(pv.Withdrawals), pv.Name, "withdraw")
	}
	for _, lv := range r.Links {
		gauge(receivedPrefixesDesc, float64(lv.ReceivedPrefixes), lv.Name)
		counter(linkUpdatesDesc, float64(lv.Updates), lv.Name, "update")
		counter(linkUpdatesDesc, float64(lv.Withdrawals), lv.Name, "withdraw")
		if lv.LastUpdate != nil {
			gauge(linkLastUpdateDesc, float64(lv.LastUpdate.UnixNano())/1e9, lv.Name, "update")
		}
		if lv.LastWithdrawal != nil {
			gauge(linkLastUpdateDesc, float64(lv.LastWithdrawal.UnixNano())/1e9, lv.Name, "withdraw")
		}
		for _, e := range lv.Expected {
			gauge(prefixPresentDesc, expose.Bool(e.Present), lv.Name, e.Prefix)
			gauge(bestLinkDesc, expose.Bool(e.Best), e.Prefix, lv.Name)
			if e.Path != nil {
				gauge(prependsDesc, float64(e.Path.Prepends), lv.Name, e.Prefix)
			}
		}
	}
	for _, c := range v.checks {
		if !strings.HasPrefix(c.Name, "bgp.intent.") || c.Status == "skip" {
			continue
		}
		gauge(intentOKDesc, expose.Bool(c.Status == "pass"), c.Name)
	}
	counter(droppedDesc, float64(p.dropped.Load()))
	counter(resyncsDesc, float64(p.resyncs.Load()))
	counter(bmpErrorsDesc, float64(p.bmpErrors.Load()))
	counter(bmpRefusedDesc, float64(p.bmpRefused.Load()))
	gauge(bmpRoutersDesc, float64(len(r.BMPRouters)))
	// A router may hold two connections for a moment (a BMP restart):
	// one series per router and link, up when any connection says so.
	type rl struct{ router, link string }
	bmpUp := map[rl]bool{}
	for _, rv := range r.BMPRouters {
		for _, bp := range rv.Peers {
			if bp.Link != "" {
				k := rl{rv.Name, bp.Link}
				bmpUp[k] = bmpUp[k] || bp.Up
			}
		}
	}
	for k, up := range bmpUp {
		gauge(bmpPeerUpDesc, expose.Bool(up), k.router, k.link)
	}
	collectBMPViews(r.BMPRouters, gauge)
}

// collectBMPViews exports what each BMP router exports and holds. A router
// with two connections for a moment (a BMP restart) is one series: a view
// is exported when any connection exports it, with the larger count.
func collectBMPViews(routers []RouterView, gauge func(d *prometheus.Desc, val float64, labels ...string)) {
	type view struct{ router, view string }
	type out struct{ router, link, policy string }
	views, locRIB, adjOut := map[view]bool{}, map[string]int{}, map[out]int{}
	for _, rv := range routers {
		exports := map[string]bool{}
		for _, v := range rv.Views {
			exports[v] = true
		}
		for _, v := range bmpViewNames {
			k := view{rv.Name, v}
			views[k] = views[k] || exports[v]
		}
		if exports["loc_rib"] {
			locRIB[rv.Name] = max(locRIB[rv.Name], len(rv.LocRIB))
		}
		for _, bp := range rv.Peers {
			if bp.Link == "" {
				continue
			}
			if exports["adj_rib_out_pre"] {
				k := out{rv.Name, bp.Link, "pre"}
				adjOut[k] = max(adjOut[k], bp.AdvertisedPrePolicy)
			}
			if exports["adj_rib_out_post"] {
				k := out{rv.Name, bp.Link, "post"}
				adjOut[k] = max(adjOut[k], len(bp.Advertised))
			}
		}
	}
	for k, on := range views {
		gauge(bmpViewsDesc, expose.Bool(on), k.router, k.view)
	}
	for r, n := range locRIB {
		gauge(bmpLocRIBPathsDesc, float64(n), r)
	}
	for k, n := range adjOut {
		gauge(bmpAdjRIBOutPathsDesc, float64(n), k.router, k.link, k.policy)
	}
}
