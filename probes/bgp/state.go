package bgp

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"

	"github.com/dxwatch/dxwatch/probes"
)

type srcKind uint8

const (
	srcBGP srcKind = iota
	srcBMPPre
	srcBMPPost
)

func (k srcKind) String() string {
	switch k {
	case srcBMPPre:
		return "bmp_pre_policy"
	case srcBMPPost:
		return "bmp_post_policy"
	}
	return "bgp"
}

// source is one feed of paths: a BGP peer (an edge router), or one BMP
// monitored peer (a Direct Connect session on an edge router), pre- or
// post-policy.
type source struct {
	kind   srcKind
	name   string     // peer name, or the BMP router's name
	addr   netip.Addr // peer address, or the monitored peer's address
	link   int        // BMP: the monitored peer's link, -1 when none
	active bool
}

func (s *source) label() string {
	if s.kind == srcBGP {
		return s.name
	}
	return fmt.Sprintf("%s/%s (%s)", s.name, s.addr, s.kind)
}

// relPath is a path of a relevant prefix, with its attributes.
type relPath struct {
	src   uint16
	id    uint32
	link  int
	attrs pathAttrs
	stale bool
	since time.Time
}

type linkStats struct {
	updates, withdrawals       uint64
	lastUpdate, lastWithdrawal time.Time
}

type srcStats struct {
	updates, withdrawals uint64
}

// state is the route view, owned by the worker goroutine.
type state struct {
	site     probes.Site
	localASN uint32
	keepOnly bool
	// bgpFeed is set when BGP peers are configured: the best path then
	// comes from their paths only. BMP's may arrive first, and (FRR)
	// carry no local preference, which would make the best link flap at
	// startup.
	bgpFeed bool
	// quiet withdraws without counting (a resync or a closed BMP
	// connection: no route really changed on the link).
	quiet bool

	tab     table
	rel     map[netip.Prefix][]*relPath
	sources []*source // by source ID; nil when free
	// peerStats counts updates per BGP peer (index = peer).
	peerStats []srcStats
	linkCount []int // distinct prefixes per link
	other     int   // prefixes with a path over no link
	stats     []linkStats

	// Last evaluation, to report changes as observations.
	present      [][]bool // [expected][link]
	presentSince [][]time.Time
	best         []int // [expected]: link, -1 other, -2 none
	bestSince    []time.Time
}

func newState(site probes.Site, localASN uint32, keepOnly bool) *state {
	n := len(site.Routing.ExpectedPrefixes)
	s := &state{
		site:      site,
		localASN:  localASN,
		keepOnly:  keepOnly,
		tab:       newTable(),
		rel:       map[netip.Prefix][]*relPath{},
		linkCount: make([]int, len(site.Links)),
		stats:     make([]linkStats, len(site.Links)),
		best:      make([]int, n),
		bestSince: make([]time.Time, n),
	}
	for i := range n {
		s.present = append(s.present, make([]bool, len(site.Links)))
		s.presentSince = append(s.presentSince, make([]time.Time, len(site.Links)))
		s.best[i] = -2
	}
	return s
}

func (s *state) addSource(src *source) uint16 {
	for i, x := range s.sources {
		if x == nil {
			s.sources[i] = src
			return uint16(i)
		}
	}
	s.sources = append(s.sources, src)
	return uint16(len(s.sources) - 1)
}

// linkOf returns the link whose first peering has Amazon address a, or
// -1: the link of a BMP-monitored session (a dual-stack link's IPv6
// session is ipv6PeeringOf's).
func (s *state) linkOf(a netip.Addr) int {
	for i, l := range s.site.Links {
		if l.AmazonAddress.Addr() == a {
			return i
		}
	}
	return -1
}

// nextHopLink returns the link of a route with next hop nh, or -1: the
// link one of whose peerings has Amazon address nh. An IPv6 route learned
// over a dual-stack link's IPv6 peering has that peering's Amazon address
// as next hop (global, as the edge passes it on unchanged), an IPv4 route
// the IPv4 peering's.
func (s *state) nextHopLink(nh netip.Addr) int {
	// Called for every path of a full table: no Peerings() slice here.
	nh = nh.Unmap()
	for i, l := range s.site.Links {
		if l.AmazonAddress.Addr() == nh || (l.IPv6.Family != "" && l.IPv6.AmazonAddress.Addr() == nh) {
			return i
		}
	}
	return -1
}

// ipv6PeeringOf returns the link whose IPv6 peering (on a dual-stack
// link) has Amazon address a, or -1. Its session is evidence about that
// peering only: its routes are not attributed to the link (linkOf).
func (s *state) ipv6PeeringOf(a netip.Addr) int {
	for i, l := range s.site.Links {
		if l.IPv6.Family != "" && l.IPv6.AmazonAddress.Addr() == a {
			return i
		}
	}
	return -1
}

func (s *state) relevant(p netip.Prefix) bool {
	for _, e := range s.site.Routing.ExpectedPrefixes {
		if p.Overlaps(e) {
			return true
		}
	}
	return false
}

func (s *state) recount(before, after uint64) {
	if before == after {
		return
	}
	for i := range s.linkCount {
		b, a := before&linkBit(i) != 0, after&linkBit(i) != 0
		switch {
		case a && !b:
			s.linkCount[i]++
		case b && !a:
			s.linkCount[i]--
		}
	}
	b, a := before&(1<<63) != 0, after&(1<<63) != 0
	switch {
	case a && !b:
		s.other++
	case b && !a:
		s.other--
	}
}

// counted counts n paths announced over link (-1: none) at t.
func (s *state) counted(link int, n uint64, t time.Time) {
	if link >= 0 {
		st := &s.stats[link]
		st.updates += n
		st.lastUpdate = t
	}
}

// announce records path (src, p, id) over link; attrs are decoded only for
// a relevant prefix. It reports whether a relevant prefix changed.
func (s *state) announce(src uint16, p netip.Prefix, id uint32, link int, attrs []gobgp.PathAttributeInterface, stale bool, t time.Time) bool {
	s.counted(link, 1, t)
	rel := s.relevant(p)
	if s.keepOnly && !rel {
		return false
	}
	k := keyOf(p)
	before := s.tab.linkMask(k)
	s.tab.set(k, ref{id: id, src: src, link: int8(link), stale: stale})
	s.recount(before, s.tab.linkMask(k))
	if !rel {
		return false
	}
	rp := &relPath{src: src, id: id, link: link, attrs: decodeAttrs(attrs), stale: stale, since: t}
	paths := s.rel[p]
	for i, x := range paths {
		if x.src == src && x.id == id {
			if x.link == link && !x.stale && !stale && equalAttrs(&x.attrs, &rp.attrs) {
				return false // a refresh: keep its age
			}
			paths[i] = rp
			return true
		}
	}
	s.rel[p] = append(paths, rp)
	return true
}

func equalAttrs(a, b *pathAttrs) bool {
	return a.NextHop == b.NextHop && slices.Equal(a.ASPath, b.ASPath) &&
		a.LocalPref == b.LocalPref && a.HasLocalPref == b.HasLocalPref &&
		a.MED == b.MED && a.HasMED == b.HasMED && a.Origin == b.Origin &&
		slices.Equal(a.Communities, b.Communities)
}

// withdraw removes path (src, p, id); it reports whether a relevant prefix
// changed.
func (s *state) withdraw(src uint16, p netip.Prefix, id uint32, t time.Time) bool {
	k := keyOf(p)
	before := s.tab.linkMask(k)
	old, had := s.tab.del(k, src, id)
	if !had {
		return false
	}
	s.recount(before, s.tab.linkMask(k))
	if old.link >= 0 && !s.quiet {
		st := &s.stats[old.link]
		st.withdrawals++
		st.lastWithdrawal = t
	}
	paths, ok := s.rel[p]
	if !ok {
		return false
	}
	for i, x := range paths {
		if x.src == src && x.id == id {
			paths = slices.Delete(paths, i, i+1)
			if len(paths) == 0 {
				delete(s.rel, p)
			} else {
				s.rel[p] = paths
			}
			return true
		}
	}
	return false
}

// dropSource withdraws every path of src (a BMP peer down, a closed BMP
// connection, a resync). It returns the number of paths withdrawn.
func (s *state) dropSource(src uint16, t time.Time, onlyStale bool) (int, bool) {
	var match func(ref) bool
	if onlyStale {
		match = func(r ref) bool { return r.stale }
	}
	changed := false
	krs := s.tab.pathsOf(src, match)
	for _, kr := range krs {
		if s.withdraw(src, kr.k.prefix(), kr.r.id, t) {
			changed = true
		}
	}
	return len(krs), changed
}

// markStale marks every path of src stale (graceful restart: the router
// is restarting and its paths are kept).
func (s *state) markStale(src uint16) bool {
	for _, kr := range s.tab.pathsOf(src, nil) {
		kr.r.stale = true
		s.tab.set(kr.k, kr.r)
	}
	changed := false
	for _, paths := range s.rel {
		for _, x := range paths {
			if x.src == src && !x.stale {
				x.stale = true
				changed = true
			}
		}
	}
	return changed
}

// pool returns the paths of the most specific relevant prefix covering e
// (e itself first), from the best feed: BGP peering when configured, else
// BMP post-policy, else BMP pre-policy.
func (s *state) pool(e netip.Prefix) (netip.Prefix, []*relPath) {
	var match netip.Prefix
	for p := range s.rel {
		if p.Bits() <= e.Bits() && p.Contains(e.Addr()) && (!match.IsValid() || p.Bits() > match.Bits()) {
			match = p
		}
	}
	if !match.IsValid() {
		return match, nil
	}
	return match, s.feedPaths(s.rel[match])
}

func (s *state) feedPaths(paths []*relPath) []*relPath {
	kinds := []srcKind{srcBMPPost, srcBMPPre}
	if s.bgpFeed {
		kinds = []srcKind{srcBGP}
	}
	for _, kind := range kinds {
		var out []*relPath
		for _, x := range paths {
			if src := s.sources[x.src]; src != nil && src.kind == kind {
				out = append(out, x)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// bestOf returns the preferred path of paths (nil when empty), tie-broken
// by source and path ID so that the choice is stable.
func (s *state) bestOf(paths []*relPath) *relPath {
	var best *relPath
	for _, x := range paths {
		if best == nil {
			best = x
			continue
		}
		c, _ := compare(&x.attrs, &best.attrs, s.localASN)
		if c < 0 || c == 0 && (x.src < best.src || x.src == best.src && x.id < best.id) {
			best = x
		}
	}
	return best
}

func (s *state) bestOnLink(paths []*relPath, link int) *relPath {
	var on []*relPath
	for _, x := range paths {
		if x.link == link {
			on = append(on, x)
		}
	}
	return s.bestOf(on)
}

// evaluate compares presence and best link of every expected prefix with
// the last evaluation and returns the changes as observations at time t.
func (s *state) evaluate(t time.Time, probe string) []probes.Observation {
	var obs []probes.Observation
	for i, e := range s.site.Routing.ExpectedPrefixes {
		for l, link := range s.site.Links {
			now := false
			for _, x := range s.rel[e] {
				if x.link == l {
					now = true
					break
				}
			}
			if now != s.present[i][l] {
				s.present[i][l] = now
				s.presentSince[i][l] = t
				obs = append(obs, probes.Observation{Time: t, Event: probes.BGPPrefix, Probe: probe, Link: link.Name, Prefix: e, Up: now})
			}
		}
		best := -2
		if _, paths := s.pool(e); len(paths) > 0 {
			best = s.bestOf(paths).link
		}
		if best != s.best[i] {
			first := s.best[i] == -2 && s.bestSince[i].IsZero()
			s.best[i] = best
			s.bestSince[i] = t
			if !first || best != -2 {
				obs = append(obs, probes.Observation{Time: t, Event: probes.BGPBestPath, Probe: probe, Prefix: e, Link: s.linkName(best)})
			}
		}
	}
	return obs
}

func (s *state) linkName(l int) string {
	if l >= 0 && l < len(s.site.Links) {
		return s.site.Links[l].Name
	}
	if l == -1 {
		return "other"
	}
	return ""
}

// pathView renders one path for the API.
func (s *state) pathView(p netip.Prefix, x *relPath) PathView {
	v := PathView{
		Prefix:      p.String(),
		Link:        s.linkName(x.link),
		PathID:      x.id,
		ASPath:      x.attrs.ASPath,
		Prepends:    x.attrs.Prepends,
		Origin:      originName(x.attrs.Origin),
		Communities: communities(x.attrs.Communities),
		Stale:       x.stale,
		Since:       x.since,
	}
	if src := s.sources[x.src]; src != nil {
		v.Source = src.label()
	}
	if x.attrs.NextHop.IsValid() {
		v.NextHop = x.attrs.NextHop.String()
	}
	if x.attrs.HasLocalPref {
		lp := x.attrs.LocalPref
		v.LocalPref = &lp
	}
	if x.attrs.HasMED {
		med := x.attrs.MED
		v.MED = &med
	}
	if v.ASPath == nil {
		v.ASPath = []uint32{}
	}
	return v
}

func sortPaths(ps []*relPath) {
	slices.SortFunc(ps, func(a, b *relPath) int {
		return cmp.Or(cmp.Compare(a.link, b.link), cmp.Compare(a.src, b.src), cmp.Compare(a.id, b.id))
	})
}

// moreSpecifics lists the relevant prefixes strictly inside an expected
// prefix that are not themselves expected.
func (s *state) moreSpecifics() []PathView {
	var out []PathView
	for p, paths := range s.rel {
		if slices.Contains(s.site.Routing.ExpectedPrefixes, p) {
			continue
		}
		inside := false
		for _, e := range s.site.Routing.ExpectedPrefixes {
			if p.Bits() > e.Bits() && e.Contains(p.Addr()) {
				inside = true
				break
			}
		}
		if !inside {
			continue
		}
		paths = slices.Clone(paths)
		sortPaths(paths)
		for _, x := range paths {
			out = append(out, s.pathView(p, x))
		}
	}
	slices.SortFunc(out, func(a, b PathView) int {
		return cmp.Or(strings.Compare(a.Prefix, b.Prefix), strings.Compare(a.Link, b.Link), strings.Compare(a.Source, b.Source))
	})
	return out
}
