package bgp

import (
	"sync"
	"time"

	"github.com/osrg/gobgp/v4/pkg/apiutil"
)

// The worker's side of the lean sessions: what they queue goes through
// the same handling as GoBGP's events (handle, paths, setPeerState); these
// are the few things GoBGP does itself for its own peers and a lean
// session leaves to the worker.

// startLean starts a session for each peer of session lean; they end with
// the worker's context.
func (w *worker) startLean(wg *sync.WaitGroup) {
	for i, pc := range w.p.cfg.Peers {
		if !pc.lean() {
			continue
		}
		s := w.p.newLeanSession(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(w.ctx)
		}()
	}
}

// leanState applies a lean session's state change. When a session ends,
// its paths go (GoBGP withdraws them itself), or, with graceful_restart,
// stay stale (setPeerState) until End-of-RIB or leanRestartTime.
func (w *worker) leanState(i int, se *sessionEvent, t time.Time) {
	pr := w.peers[i]
	wasUp := pr.up
	if se.state == "established" {
		pr.eorNegotiated = se.eorNegotiated
	}
	w.setPeerState(i, se.state, se.reason, t)
	if pr.up && !wasUp && pr.cfg.GracefulRestart && !se.eorNegotiated {
		// The router no longer offers graceful restart: no End-of-RIB
		// will end the restart, and its stale paths go now (RFC 4724
		// §4.2).
		if _, changed := w.s.dropSource(pr.src, t, true); changed {
			w.touched(t)
		}
	}
	if wasUp && !pr.up {
		pr.leanPaths = 0
		if !pr.cfg.GracefulRestart {
			if _, changed := w.s.dropSource(pr.src, t, false); changed {
				w.touched(t)
			}
		}
	}
}

// leanCounted counts a lean batch: the paths queued (paths) and those
// dropped on receipt (c), for the peer's and links' update counters and
// the table size.
func (w *worker) leanCounted(i int, paths []*apiutil.Path, c *leanCounts, t time.Time) {
	pr, st := w.peers[i], &w.s.peerStats[i]
	var in, out uint64
	for _, path := range paths {
		if path.Withdrawal {
			out++
		} else {
			in++
		}
	}
	for _, d := range c.dropped {
		st.updates += d.n
		w.s.counted(w.s.linkOf(d.nextHop), d.n, t)
		in += d.n
	}
	st.withdrawals += c.withdrawn
	out += c.withdrawn
	pr.leanPaths += in
	pr.leanPaths -= min(out, pr.leanPaths)
}

// expireStale drops the stale paths of a lean peer with graceful_restart
// that has not come back within leanRestartTime, as GoBGP's helper does
// when the restart time runs out.
func (w *worker) expireStale(now time.Time) {
	for _, pr := range w.peers {
		if !pr.cfg.lean() || !pr.cfg.GracefulRestart || pr.up || pr.since.IsZero() || now.Sub(pr.since) < leanRestartTime {
			continue
		}
		if n, changed := w.s.dropSource(pr.src, now, true); n > 0 {
			w.p.log.Warn("bgp peer did not come back within the graceful restart time: its stale paths are withdrawn", "peer", pr.cfg.Name, "paths", n)
			if changed {
				w.touched(now)
			}
			w.dirty = true
		}
	}
}
