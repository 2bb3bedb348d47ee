package trace

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// minGrace is the least time to wait for replies of hops below the
// destination once the destination has answered; routers answer from their
// control plane, which can lag the forwarding of the later probes.
const minGrace = 50 * time.Millisecond

// firstWindow is how many TTLs a trace without a previous path sends at
// once: enough for a typical on-premises-to-VPC path in one round trip,
// while every probe past the destination spends one of the destination's
// rate-limit tokens. extendStep is how many TTLs are added when the path
// turns out longer.
const (
	firstWindow = 8
	extendStep  = 4
)

// timedReply is a parsed reply with its arrival time.
type timedReply struct {
	Reply
	at time.Time
}

// sendFunc sends the transport packet p of flow f with the given TTL and
// returns when it left.
type sendFunc func(f flow, ttl int, p []byte) (time.Time, error)

// engine runs traces one at a time: one flow of one target per call.
type engine struct {
	maxTTL  int
	retries int
	lim     *limiter
	send    sendFunc
	replies <-chan timedReply
	log     *slog.Logger

	nextID uint16
	buf    []byte
}

// flowTrace is the outcome of tracing one flow.
type flowTrace struct {
	hops    []Hop
	reached bool
	sent    int
}

type inflight struct {
	ttl      int
	at       time.Time
	charged  netip.Addr
	answered bool
}

type session struct {
	f           flow
	hint        []Hop
	hintReached bool
	sent        map[uint32]*inflight
	hops        []Hop // index ttl-1
	reached     int   // lowest TTL the destination answered, 0 before
	terminal    int   // lowest TTL a router answered with unreachable, 0 before
	highest     int   // highest TTL answered
	maxRTT      time.Duration
	lastSend    time.Time
}

// stop is the TTL where the path ends, 0 while unknown.
func (s *session) stop() int {
	switch {
	case s.reached > 0 && s.terminal > 0:
		return min(s.reached, s.terminal)
	case s.reached > 0:
		return s.reached
	}
	return s.terminal
}

// complete tells whether the path ends and every hop before its end
// answered.
func (s *session) complete() bool {
	end := s.stop()
	if end == 0 {
		return false
	}
	for ttl := 1; ttl < end; ttl++ {
		if !s.hops[ttl-1].Address.IsValid() {
			return false
		}
	}
	return true
}

// missing returns the TTLs worth probing again.
func (s *session) missing(horizon int) []int {
	limit := s.stop() - 1
	if limit < 0 {
		limit = min(horizon, s.highest+2)
	}
	var ttls []int
	for ttl := 1; ttl <= limit; ttl++ {
		if !s.hops[ttl-1].Address.IsValid() {
			ttls = append(ttls, ttl)
		}
	}
	return ttls
}

// expected returns the address expected to answer the probe with ttl, from
// the previous trace, when its answer costs a rate-limit token.
func (s *session) expected(ttl int) netip.Addr {
	if s.hint == nil {
		return netip.Addr{}
	}
	if ttl <= len(s.hint) {
		h := s.hint[ttl-1]
		if h.Kind == KindEchoReply || h.Kind == KindTCP {
			return netip.Addr{}
		}
		return h.Address
	}
	if s.hintReached && s.f.proto == protoUDP {
		return s.f.dst // port unreachable is rate-limited too
	}
	return netip.Addr{}
}

func (s *session) match(r *timedReply) *inflight {
	f := s.f
	if r.Proto != f.proto {
		return nil
	}
	switch r.Kind {
	case KindEchoReply, KindTCP:
		if r.From != f.dst {
			return nil
		}
	default:
		if r.Dst != f.dst {
			return nil
		}
	}
	key := r.ID
	switch f.proto {
	case protoUDP:
		if r.SrcPort != f.srcPort || r.DstPort != f.dstPort {
			return nil
		}
	case protoTCP:
		if r.SrcPort != f.srcPort || r.DstPort != f.dstPort || key&0xffff0000 != f.seqBase {
			return nil
		}
		key &= 0xffff
	default:
		if r.EchoID != f.echoID {
			return nil
		}
	}
	return s.sent[key]
}

// handle records r when it answers one of the session's probes.
func (e *engine) handle(s *session, r *timedReply) {
	p := s.match(r)
	if p == nil {
		e.log.Debug("reply ignored", "from", r.From, "kind", r.Kind.String(), "id", r.ID)
		return
	}
	direct := r.Kind == KindEchoReply || r.Kind == KindTCP
	if !direct && p.charged != r.From {
		e.lim.take(r.From, r.at)
	}
	p.answered = true
	h := &s.hops[p.ttl-1]
	if h.Address.IsValid() {
		return // a retry's duplicate: keep the first answer
	}
	rtt := r.at.Sub(p.at)
	*h = Hop{TTL: p.ttl, Address: r.From, RTT: rtt, Kind: r.Kind, ICMPType: r.Type, ICMPCode: r.Code, MPLS: r.MPLS}
	s.maxRTT = max(s.maxRTT, rtt)
	s.highest = max(s.highest, p.ttl)
	switch {
	case direct || r.From == s.f.dst:
		if s.reached == 0 || p.ttl < s.reached {
			s.reached = p.ttl
		}
	case r.Kind == KindUnreachable:
		if s.terminal == 0 || p.ttl < s.terminal {
			s.terminal = p.ttl
		}
	}
	e.log.Debug("hop", "ttl", p.ttl, "from", r.From, "kind", r.Kind.String(), "rtt", rtt)
}

func (e *engine) id() uint16 {
	e.nextID++
	if e.nextID == 0 || e.nextID == 0xffff {
		e.nextID = 1
	}
	return e.nextID
}

// trace traces flow f: every TTL up to the previous trace's distance (or
// max_ttl) at once, the hops that did not answer again up to retries times,
// each send paced by the mirror of the routers' rate limits. hint is the
// previous trace's path of this flow (nil for none). It returns at the
// deadline at the latest, with what it saw.
func (e *engine) trace(ctx context.Context, f flow, hint []Hop, hintReached bool, deadline time.Time) (flowTrace, error) {
	s := &session{f: f, hint: hint, hintReached: hintReached, sent: map[uint32]*inflight{}, hops: make([]Hop, e.maxTTL)}
	horizon := min(firstWindow, e.maxTTL)
	if hintReached && len(hint) > 0 {
		horizon = min(len(hint), e.maxTTL)
	}
	start := time.Now()
	attemptWait := max(deadline.Sub(start)/time.Duration(e.retries+1), minGrace)
	queue := make([]int, 0, e.maxTTL)
	for ttl := 1; ttl <= horizon; ttl++ {
		queue = append(queue, ttl)
	}
	attempt := 0
	var sent int
	var sendErr error
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	extend := func() {
		for ttl := horizon + 1; ttl <= min(horizon+extendStep, e.maxTTL); ttl++ {
			queue = append(queue, ttl)
		}
		horizon = min(horizon+extendStep, e.maxTTL)
	}
loop:
	for {
		now := time.Now()
		// A router answered at the horizon: the path is longer than the
		// window, so probe further at once.
		if s.stop() == 0 && s.highest == horizon && horizon < e.maxTTL {
			extend()
		}
		// Send every queued TTL that pacing allows now.
		var next time.Time
		rest := queue[:0]
		for _, ttl := range queue {
			if end := s.stop(); end > 0 && ttl >= end {
				continue // past the end of the path
			}
			exp := s.expected(ttl)
			if d := e.lim.delay(exp, now); d > 0 {
				rest = append(rest, ttl)
				if at := now.Add(d); next.IsZero() || at.Before(next) {
					next = at
				}
				continue
			}
			id := e.id()
			e.buf = appendProbe(e.buf[:0], f, id)
			at, err := e.send(f, ttl, e.buf)
			if err != nil {
				sendErr = err
				break loop
			}
			e.lim.take(exp, at)
			s.sent[uint32(id)] = &inflight{ttl: ttl, at: at, charged: exp}
			s.lastSend = at
			sent++
			now = at
		}
		queue = rest
		if s.complete() {
			break
		}
		wake := next
		if len(queue) == 0 {
			end := s.lastSend.Add(attemptWait)
			if s.reached > 0 {
				end = s.lastSend.Add(min(attemptWait, max(4*s.maxRTT, minGrace)))
			}
			if !now.Before(end) {
				// The attempt is over. Past a silent horizon the path may
				// go on: probe further, then retry what did not answer.
				if s.stop() == 0 && horizon < e.maxTTL {
					extend()
					continue
				}
				miss := s.missing(horizon)
				if len(miss) == 0 || attempt == e.retries {
					break
				}
				attempt++
				queue = append(queue, miss...)
				continue
			}
			wake = end
		}
		if !now.Before(deadline) {
			break
		}
		if wake.IsZero() || wake.After(deadline) {
			wake = deadline
		}
		timer.Reset(wake.Sub(now))
		select {
		case r := <-e.replies:
			e.handle(s, &r)
			// Drain what else has arrived before deciding anything.
			for drained := false; !drained; {
				select {
				case r := <-e.replies:
					e.handle(s, &r)
				default:
					drained = true
				}
			}
		case <-timer.C:
		case <-ctx.Done():
			return flowTrace{}, ctx.Err()
		}
	}
	// Probes past the destination reached it too and spent its tokens
	// (UDP's port unreachable is rate-limited) whether answered or not.
	if s.reached > 0 && f.proto == protoUDP {
		for _, p := range s.sent {
			if p.ttl > s.reached && !p.answered && p.charged != f.dst {
				e.lim.take(f.dst, p.at)
			}
		}
	}
	ft := flowTrace{reached: s.reached > 0, sent: sent}
	n := s.stop()
	if n == 0 {
		n = s.highest
	}
	ft.hops = s.hops[:n]
	for i := range ft.hops {
		ft.hops[i].TTL = i + 1
	}
	if sendErr != nil {
		return ft, fmt.Errorf("send probe: %w", sendErr)
	}
	return ft, nil
}
