package bgp

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/osrg/gobgp/v4/api"

	"github.com/dxwatch/dxwatch/probes"
)

// A full-table edge (README.md, "A full-table edge"): GoBGP stores every
// path a peer sends in its Adj-RIB-In before any import policy, about
// 0.6 KB each, keep_only_relevant or not. A site needs its VPC prefixes,
// tens to a few hundred; a peer that sends more than tableWarnPaths is
// sending its Internet table, and the fix is on the edge: the outbound
// prefix-list towards dxwatch. dxwatch warns (check and log); it never
// tears the session down (GoBGP's max-prefix would).
var (
	tableWarnPaths    uint64 = 10_000
	tableSizeInterval        = 30 * time.Second // Adj-RIB-In counts walk the table
)

// tableSizes is the worker's record of the paths each BGP peer has sent
// (GoBGP's Adj-RIB-In count), polled every tableSizeInterval.
type tableSizes struct {
	at     time.Time
	paths  []uint64 // by peer; 0 while down
	known  []bool
	warned []bool // logged once per session
}

// pollTableSizes reads each established peer's table size, at most
// every tableSizeInterval: GoBGP's Adj-RIB-In count, or a lean session's
// paths announced minus withdrawn.
func (w *worker) pollTableSizes(now time.Time) {
	ts := &w.size
	if now.Sub(ts.at) < tableSizeInterval {
		return
	}
	ts.at = now
	if len(ts.paths) != len(w.peers) {
		ts.paths, ts.known, ts.warned = make([]uint64, len(w.peers)), make([]bool, len(w.peers)), make([]bool, len(w.peers))
	}
	for i, pr := range w.peers {
		switch {
		case !pr.up:
			ts.paths[i], ts.known[i], ts.warned[i] = 0, false, false
		case pr.cfg.lean():
			w.tableSize(i, pr.leanPaths)
		}
	}
	if w.bgp == nil {
		return
	}
	_ = w.bgp.ListPeer(w.ctx, &api.ListPeerRequest{}, func(ap *api.Peer) {
		if ap.State == nil || ap.State.SessionState != api.PeerState_SESSION_STATE_ESTABLISHED {
			return
		}
		a, err := netip.ParseAddr(ap.State.NeighborAddress)
		if err != nil {
			return
		}
		i := w.peerByAddr(a)
		if i < 0 {
			return
		}
		var n uint64
		for _, as := range ap.AfiSafis {
			if as.State != nil {
				n += as.State.Received
			}
		}
		w.tableSize(i, n)
	})
}

// tableSize records peer i's table size n and warns once per session
// above tableWarnPaths.
func (w *worker) tableSize(i int, n uint64) {
	ts := &w.size
	if ts.paths[i] != n || !ts.known[i] {
		w.dirty = true
	}
	ts.paths[i], ts.known[i] = n, true
	if n > tableWarnPaths && !ts.warned[i] {
		ts.warned[i] = true
		w.p.log.Warn("bgp peer sends far more paths than the site's VPC prefixes need: apply the outbound prefix-list towards dxwatch on the edge router (probes/bgp README, 'A full-table edge')",
			"peer", w.peers[i].cfg.Name, "paths", n, "warn_above", tableWarnPaths)
	}
}

// tableChecks adds bgp.table_size.<peer> for each established peer whose
// size is known: Warn above tableWarnPaths.
func (w *worker) tableChecks(add func(name, link string, st probes.CheckStatus, reason, fix string)) {
	ts := &w.size
	for i, pr := range w.peers {
		if i >= len(ts.known) || !ts.known[i] || !pr.up {
			continue
		}
		name := "bgp.table_size." + pr.cfg.Name
		n := ts.paths[i]
		if n <= tableWarnPaths {
			add(name, "", probes.Pass, fmt.Sprintf("%s sends %d paths (warned above %d)", pr.cfg.Name, n, tableWarnPaths), "")
			continue
		}
		cost := "dxwatch's BGP speaker (GoBGP) stores every path it receives before any filter, about 0.6 KB each (a full table over ADD-PATH, 2M paths: about 1.2 GB), keep_only_relevant or not; session: lean on the peer stores only the expected prefixes' paths"
		if pr.cfg.lean() {
			cost = "dxwatch's lean session stores only the expected prefixes' paths, but decodes every path at each session start"
		}
		add(name, "", probes.Warn,
			fmt.Sprintf("%s sends %d paths, far more than the site's %d expected prefixes need: %s", pr.cfg.Name, n, len(w.s.site.Routing.ExpectedPrefixes), cost),
			fmt.Sprintf("on %s, apply an outbound prefix-list to its neighbor dxwatch permitting only the expected VPC prefixes and their more-specifics (probes/bgp README, 'A full-table edge')", pr.cfg.Name))
	}
}
