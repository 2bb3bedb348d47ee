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

// maxAdvertised bounds the Adj-RIB-Out paths kept per monitored session:
// what an edge router advertises to AWS over a private or transit VIF is
// a handful of on-prem prefixes (AWS accepts at most 100 on a private VIF).
const maxAdvertised = 4096

// eachNLRI calls f for every prefix an UPDATE withdraws, then every one it
// announces (IPv4 and IPv6 unicast, in the body and in MP_(UN)REACH_NLRI).
func eachNLRI(upd *gobgp.BGPUpdate, f func(pfx netip.Prefix, id uint32, withdraw bool)) {
	each := func(ns []gobgp.PathNLRI, withdraw bool) {
		for _, n := range ns {
			if p, ok := n.NLRI.(*gobgp.IPAddrPrefix); ok {
				f(p.Prefix, n.ID, withdraw)
			}
		}
	}
	each(upd.WithdrawnRoutes, true)
	for _, a := range upd.PathAttributes {
		if v, ok := a.(*gobgp.PathAttributeMpUnreachNLRI); ok {
			each(v.Value, true)
		}
	}
	each(upd.NLRI, false)
	for _, a := range upd.PathAttributes {
		if v, ok := a.(*gobgp.PathAttributeMpReachNLRI); ok {
			each(v.Value, false)
		}
	}
}

// bmpAdvertised applies a Route Monitoring of a Direct Connect session's
// Adj-RIB-Out post-policy (RFC 8671): what the edge router really sends
// AWS over the link, after its outbound policy.
func (w *worker) bmpAdvertised(bp *bmpPeer, upd *gobgp.BGPUpdate) {
	if eor, _ := upd.IsEndOfRib(); eor {
		bp.outEOR = true
		return
	}
	if bp.out == nil {
		bp.out = map[netip.Prefix]pathAttrs{}
	}
	eachNLRI(upd, func(pfx netip.Prefix, _ uint32, withdraw bool) {
		_, had := bp.out[pfx]
		switch {
		case withdraw:
			delete(bp.out, pfx)
		case had || len(bp.out) < maxAdvertised:
			bp.out[pfx] = decodeAttrs(upd.PathAttributes)
		default:
			bp.outDropped++
		}
	})
}

// bmpAdvertisedPre applies a Route Monitoring of a Direct Connect
// session's Adj-RIB-Out pre-policy (RFC 8671): the prefixes the router
// would send before its outbound policy. Only counted: AWS receives the
// post-policy routes.
func bmpAdvertisedPre(bp *bmpPeer, upd *gobgp.BGPUpdate) {
	if eor, _ := upd.IsEndOfRib(); eor {
		return
	}
	if bp.outPre == nil {
		bp.outPre = map[netip.Prefix]struct{}{}
	}
	eachNLRI(upd, func(pfx netip.Prefix, _ uint32, withdraw bool) {
		_, had := bp.outPre[pfx]
		switch {
		case withdraw:
			delete(bp.outPre, pfx)
		case had || len(bp.outPre) < maxAdvertised:
			bp.outPre[pfx] = struct{}{}
		}
	})
}

// advertisedView lists a session's Adj-RIB-Out post-policy, by prefix.
func advertisedView(bp *bmpPeer) []AdvertisedView {
	var out []AdvertisedView
	for p, a := range bp.out {
		v := AdvertisedView{Prefix: p.String(), ASPath: a.ASPath, Prepends: a.Prepends, Communities: communities(a.Communities)}
		if v.ASPath == nil {
			v.ASPath = []uint32{}
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b AdvertisedView) int { return cmp.Compare(a.Prefix, b.Prefix) })
	return out
}

// AWS's ranking of the routes a VIF receives from the customer, for the
// traffic it sends back: the local-preference communities first (7224:7300
// high, 7224:7200 medium, 7224:7100 low; none is medium), then the shorter
// AS_PATH. "Routing policies and BGP communities", private virtual
// interface routing policies:
// https://docs.aws.amazon.com/directconnect/latest/UserGuide/routing-and-bgp.html
func awsReturnPref(a *pathAttrs) (local, asPath int) {
	local = 2
	for _, c := range a.Communities {
		switch c {
		case 7224<<16 | 7100:
			local = 1
		case 7224<<16 | 7200:
			local = 2
		case 7224<<16 | 7300:
			local = 3
		}
	}
	return local, a.ASPathLen
}

// advertisedOn returns the Adj-RIB-Out post-policy of link l's Direct
// Connect session from the first BMP router that exports it, with the
// router's name; nil when none does.
func (w *worker) advertisedOn(l int) (map[netip.Prefix]pathAttrs, string) {
	for _, r := range w.bmp {
		for _, bp := range r.peers {
			if bp.link == l && bp.up && (bp.outEOR || len(bp.out) > 0) {
				return bp.out, r.name
			}
		}
	}
	return nil, ""
}

// returnPathCheck reads what the edge routers advertise to AWS over each
// link, from their Adj-RIB-Out post-policy over BMP, and ranks it as AWS
// does: in active/passive, AWS must prefer the primary for every prefix
// advertised over both. When a BMP router is connected but the
// Adj-RIB-Out of a link's session is missing, it skips, saying which
// views the routers export; without BMP it adds nothing.
func (w *worker) returnPathCheck(add func(name, link string, st probes.CheckStatus, reason, fix string)) {
	const name = "bgp.intent.return_path"
	r := w.s.site.Routing
	if r.Mode != probes.ModeActivePassive {
		return
	}
	primary := -1
	for i, l := range w.s.site.Links {
		if l.Name == r.Primary {
			primary = i
		}
	}
	if primary < 0 {
		return
	}
	pOut, pRouter := w.advertisedOn(primary)
	var bad, good, without []string
	if pOut == nil {
		without = append(without, r.Primary)
	}
	fix := ""
	for l, link := range w.s.site.Links {
		if l == primary {
			continue
		}
		sOut, sRouter := w.advertisedOn(l)
		if sOut == nil {
			without = append(without, link.Name)
			continue
		}
		if pOut == nil {
			continue
		}
		var prefixes []netip.Prefix
		for p := range pOut {
			if _, ok := sOut[p]; ok {
				prefixes = append(prefixes, p)
			}
		}
		slices.SortFunc(prefixes, func(a, b netip.Prefix) int { return cmp.Compare(a.String(), b.String()) })
		for _, p := range prefixes {
			pa, sa := pOut[p], sOut[p]
			pl, plen := awsReturnPref(&pa)
			sl, slen := awsReturnPref(&sa)
			switch {
			case pl > sl || pl == sl && plen < slen:
				good = append(good, p.String())
			case pl == sl && plen == slen:
				bad = append(bad, fmt.Sprintf("%s is advertised alike over %s (%s, AS_PATH %v) and %s (%s, AS_PATH %v): AWS load-balances the return traffic",
					p, r.Primary, pRouter, pa.ASPath, link.Name, sRouter, sa.ASPath))
			default:
				bad = append(bad, fmt.Sprintf("%s: AWS prefers %s (%s, AS_PATH %v) over the primary %s (%s, AS_PATH %v) for the return traffic",
					p, link.Name, sRouter, sa.ASPath, r.Primary, pRouter, pa.ASPath))
			}
		}
		fix = fmt.Sprintf("on %s, prepend the on-prem ASN to the routes sent to AWS over %s (route-map out: set as-path prepend), or tag them with 7224:7100 and those over %s with 7224:7300", sRouter, link.Name, r.Primary)
	}
	switch {
	case len(bad) > 0:
		add(name, "", probes.Fail, "from the edge routers' Adj-RIB-Out (BMP): "+strings.Join(bad, "; "), fix)
	case len(good) == 0 && len(without) > 0 && len(w.bmp) > 0:
		// A router speaks BMP but what the edge sends AWS over a link is
		// not in it: say so, and how to get it.
		var exports []string
		for _, br := range w.bmpRoutersByName() {
			exports = append(exports, fmt.Sprintf("%s exports %s", br.name, viewList(br.views)))
		}
		add(name, "", probes.Skip, fmt.Sprintf("no BMP router exports the Adj-RIB-Out post-policy of the session with AWS over %s (%s): what the edge advertises to AWS is judged from AWS's side only (aws.routing.return_path)",
			strings.Join(without, ", "), strings.Join(exports, "; ")), adjRIBOutFix)
	case len(good) > 0:
		add(name, "", probes.Pass, fmt.Sprintf("from the edge routers' Adj-RIB-Out (BMP): AWS prefers the primary %s for the return traffic to %s", r.Primary, strings.Join(good, ", ")), "")
	}
}
