package ping

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// read receives the replies of one socket until it is closed.
func (p *Probe) read(s *socket) {
	failures := 0
	var last time.Time
	for {
		err := s.conn.Receive(s.handle)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		// Transient errors (ICMP errors queued on the socket): keep
		// reading, but never spin on a persistent one.
		if time.Since(last) > time.Second {
			failures = 0
		}
		last = time.Now()
		failures++
		p.log.Debug("icmp read", "err", err)
		if failures > 10 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// handle judges one ICMP message that arrived at now.
func (p *Probe) handle(s *socket, msg []byte, src netip.Addr, now time.Time, lost []loss) []loss {
	e, ok := parseEchoReply(msg, s.key.v6)
	if !ok || e.nonce != p.nonce || (s.raw && e.id != s.id) || e.icmpSeq != uint16(e.seq) {
		return lost
	}
	t := (*p.byToken.Load())[e.token]
	if t == nil {
		return lost
	}
	t.mu.Lock()
	if src != t.addr.WithZone("") {
		t.mu.Unlock()
		p.log.Debug("echo reply from another address", "target", t.spec.name, "from", src)
		return lost
	}
	wasDown := t.tr.known && !t.tr.up && t.tr.consecutive >= t.spec.downAfter
	downSince := t.tr.downSince
	kind, rtt, lost := t.tr.reply(e.seq, now, lost)
	t.mu.Unlock()

	p.emitLosses(t, lost)
	switch kind {
	case replyOnTime:
		t.mRecv.Inc()
		t.mRTT.Observe(rtt.Seconds())
		p.deps.Observer.Observe(probes.Observation{
			Time: now, Event: probes.EchoReply, Probe: p.name,
			Target: t.spec.name, Link: t.spec.link, Family: t.spec.family, Seq: int(e.seq), RTT: rtt,
		})
		if wasDown {
			p.log.Info("ping target up", "target", t.spec.name, "link", t.spec.link, "down_for", now.Sub(downSince).Round(time.Millisecond))
		}
	case replyDuplicate:
		t.mDup.Inc()
		p.log.Debug("duplicate echo reply", "target", t.spec.name, "seq", e.seq)
	case replyLate:
		p.log.Debug("late echo reply", "target", t.spec.name, "seq", e.seq, "rtt", rtt)
	}
	return lost
}
