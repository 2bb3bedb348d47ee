package bgp

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"

	"github.com/dxwatch/dxwatch/probes"
)

// bmpLocRIB applies a Route Monitoring of the router's Loc-RIB (RFC 9069):
// the paths it selected. Only relevant prefixes are kept (a full-table
// edge's Loc-RIB is a million routes).
func (w *worker) bmpLocRIB(r *bmpRouter, upd *gobgp.BGPUpdate) {
	if r.locRIB == nil {
		r.locRIB = map[netip.Prefix]pathAttrs{}
	}
	eachNLRI(upd, func(pfx netip.Prefix, _ uint32, withdraw bool) {
		switch {
		case withdraw:
			delete(r.locRIB, pfx)
		case w.s.relevant(pfx):
			r.locRIB[pfx] = decodeAttrs(upd.PathAttributes)
		}
	})
}

// locRIBView lists a router's Loc-RIB paths of relevant prefixes, with
// the link each one's next hop is.
func (w *worker) locRIBView(r *bmpRouter) []LocRIBView {
	var out []LocRIBView
	for p, a := range r.locRIB {
		v := LocRIBView{Prefix: p.String(), Link: w.s.linkName(w.s.nextHopLink(a.NextHop)), ASPath: a.ASPath, Communities: communities(a.Communities)}
		if a.NextHop.IsValid() {
			v.NextHop = a.NextHop.String()
		}
		if v.ASPath == nil {
			v.ASPath = []uint32{}
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b LocRIBView) int { return cmp.Or(cmp.Compare(a.Prefix, b.Prefix), cmp.Compare(a.Link, b.Link)) })
	return out
}

// locRIBCheck compares, for each router that exports its Loc-RIB, the link
// it selected for each expected prefix with the best link dxwatch infers
// from the paths it receives: they differ when the inference misses what
// the router's policy does (a weight, a route-map dxwatch does not see).
// It adds nothing for a router without a Loc-RIB feed.
func (w *worker) locRIBCheck(add func(name, link string, st probes.CheckStatus, reason, fix string)) {
	s := w.s
	var routers []*bmpRouter
	for _, r := range w.bmp {
		if r.locRIB != nil {
			routers = append(routers, r)
		}
	}
	slices.SortFunc(routers, func(a, b *bmpRouter) int { return cmp.Compare(a.name, b.name) })
	for _, r := range routers {
		name := "bgp.locrib." + r.name
		var differ, agree []string
		for i, e := range s.site.Routing.ExpectedPrefixes {
			a, ok := r.locRIB[e]
			if !ok {
				continue
			}
			chosen, inferred := s.linkName(s.nextHopLink(a.NextHop)), s.linkName(s.best[i])
			if chosen == inferred {
				agree = append(agree, fmt.Sprintf("%s over %s", e, chosen))
			} else {
				differ = append(differ, fmt.Sprintf("%s: %s selected %s (next hop %s), dxwatch infers %s", e, r.name, chosen, a.NextHop, orNoLink(inferred)))
			}
		}
		switch {
		case len(differ) > 0:
			add(name, "", probes.Warn, "from the router's Loc-RIB (BMP): "+strings.Join(differ, "; "),
				"the router's decision uses something dxwatch does not receive (a weight, an inbound route-map on another session, a path hidden by ADD-PATH off): compare `show bgp ipv4 unicast <prefix>` on the router with /api/routes")
		case len(agree) > 0:
			add(name, "", probes.Pass, "from the router's Loc-RIB (BMP): "+strings.Join(agree, ", ")+", as dxwatch infers", "")
		}
	}
}

func orNoLink(l string) string {
	if l == "" {
		return "no path"
	}
	return l
}
