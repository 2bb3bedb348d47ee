package bgp

import (
	"cmp"
	"fmt"
	"maps"
	"math/bits"
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
	for _, r := range w.bmpRoutersByName() {
		name := "bgp.locrib." + r.name
		if r.views&viewLocRIB == 0 {
			add(name, "", probes.Skip, fmt.Sprintf("%s exports no Loc-RIB over BMP (it exports %s): dxwatch infers the router's best path from the paths it receives", r.name, viewList(r.views)), locRIBFix)
			continue
		}
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
		default:
			add(name, "", probes.Skip, fmt.Sprintf("%s's Loc-RIB (BMP) holds none of the expected prefixes yet: nothing to compare with what dxwatch infers", r.name), "")
		}
	}
}

// locRIBFix is how to make a router export its Loc-RIB over BMP.
// FRR: doc/user/bmp.rst ("bmp monitor AFI SAFI <pre-policy|post-policy|loc-rib>"),
// added by FRRouting/frr pull request 11800; Debian 12's FRR 8.4.4 lacks
// it (its bgpd_bmp.so has no "loc-rib" command).
// Junos: route-monitoring { loc-rib; } under [edit routing-options bmp]
// (https://www.juniper.net/documentation/us/en/software/junos/cli-reference/topics/ref/statement/route-monitoring-edit-routing-options-bmp.html).
// IOS XR: Cisco's IOS XR data model lists route monitoring type local-rib
// for "bmp server all" (https://netascode.cisco.com/docs/data_models/iosxr/device/bmp_server).
const locRIBFix = "to compare dxwatch's inference with the router's own choice, have the router export its Loc-RIB (RFC 9069): " +
	"FRR newer than 8.4, in its bmp targets: `bmp monitor ipv4 unicast loc-rib` (and `ipv6`); " +
	"Junos: `set routing-options bmp station <name> route-monitoring loc-rib`; " +
	"IOS XR: route monitoring `local-rib` under `bmp server all` (Cisco's IOS XR data model)"

// adjRIBOutFix is how to make a router export its Adj-RIB-Out
// post-policy over BMP. Junos: route-monitoring { rib-out { post-policy; } }
// (same page as locRIBFix). FRR's docs (doc/user/bmp.rst) offer no
// Adj-RIB-Out: it is FRRouting/frr pull request 18719 ("Bmp ribout"),
// open. IOS XR's data model above lists none either.
const adjRIBOutFix = "to read what the edge really advertises to AWS, have it export its Adj-RIB-Out post-policy (RFC 8671): " +
	"Junos: `set routing-options bmp station <name> route-monitoring rib-out post-policy`; " +
	"FRR and IOS XR document no Adj-RIB-Out export (FRR's `bmp monitor` offers pre-policy, post-policy and loc-rib)"

// bmpRoutersByName returns one connection per BMP router, sorted by name:
// of two connections of a router (a BMP restart), the one exporting more
// views, else the newer.
func (w *worker) bmpRoutersByName() []*bmpRouter {
	by := map[string]*bmpRouter{}
	for _, r := range w.bmp {
		o, ok := by[r.name]
		if !ok || bits.OnesCount8(uint8(r.views)) > bits.OnesCount8(uint8(o.views)) ||
			bits.OnesCount8(uint8(r.views)) == bits.OnesCount8(uint8(o.views)) && r.conn > o.conn {
			by[r.name] = r
		}
	}
	out := slices.Collect(maps.Values(by))
	slices.SortFunc(out, func(a, b *bmpRouter) int { return cmp.Compare(a.name, b.name) })
	return out
}

// viewList says which views a router exports, for a check's reason.
func viewList(v bmpView) string {
	if v == 0 {
		return "no route monitoring yet"
	}
	return strings.Join(v.names(), ", ")
}

func orNoLink(l string) string {
	if l == "" {
		return "no path"
	}
	return l
}
