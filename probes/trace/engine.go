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
	reply
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
	sent    int // probes sent
	deepest int // highest TTL sent
}

type inflight struct {
	ttl      int
	at       time.Time
	charged  netip.Addr
	answered bool
	judged   bool // counted as a silence of charged (see learnSilence)
}

type session struct {
	f           flow
	hint        []Hop
	hintReached bool
	sent        map[uint32]*inflight
	hops        []Hop // index ttl-1
	reached     int   // the destination's distance, 0 before it answered
	terminal    int   // distance of a router that ends the path (unreachable), 0 before
	highest     int   // highest TTL answered
	lastRouter  int   // highest TTL a router answered with Time Exceeded
	maxRTT      time.Duration
	lastSend    time.Time
}

// known is the destination's distance from the previous trace of the flow,
// 0 when it did not reach it.
func (s *session) known() int {
	if s.hintReached {
		return len(s.hint)
	}
	return 0
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

// missing returns the TTLs worth probing again: those below the end of the
// path that did not answer; while the end is unknown, those up to two past
// the highest answer, and every TTL up to the destination's distance known
// from the previous trace (the destination included: silent there, it is
// probed again there, not past it).
func (s *session) missing(horizon int) []int {
	limit := s.stop() - 1
	if limit < 0 {
		limit = max(min(horizon, s.highest+2), min(horizon, s.known()))
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

// endDistance returns the TTL at which the path ends, from a reply that
// ends it (the destination's own, or a router's Destination Unreachable) to
// a probe sent with TTL t: t-quoted+1, where quoted is the TTL left in the
// header the reply quotes (0 for a direct reply, which quotes nothing), kept
// above lastRouter, the highest TTL a router answered with Time Exceeded.
// Why the quote, and the cases checked against Linux: README, "The
// destination's distance".
func endDistance(t, quoted, lastRouter int) int {
	d := t
	if quoted >= 1 && quoted <= t {
		d = t - quoted + 1
	}
	if d <= lastRouter {
		d = min(lastRouter+1, t)
	}
	return d
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
	atDst := direct || r.From == s.f.dst
	ttl := p.ttl
	switch {
	case atDst:
		ttl = endDistance(p.ttl, r.QuotedTTL, s.lastRouter)
		if s.reached == 0 || ttl < s.reached {
			s.reached = ttl
		}
	case r.Kind == KindUnreachable:
		ttl = endDistance(p.ttl, r.QuotedTTL, s.lastRouter)
		if s.terminal == 0 || ttl < s.terminal {
			s.terminal = ttl
		}
	case r.Kind == KindTimeExceeded:
		s.lastRouter = max(s.lastRouter, ttl)
	}
	h := &s.hops[ttl-1]
	if h.Address.IsValid() {
		return // a retry's duplicate, or the end already placed there: keep the first answer
	}
	rtt := r.at.Sub(p.at)
	s.maxRTT = max(s.maxRTT, rtt)
	*h = Hop{TTL: ttl, Address: r.From, RTT: rtt, Kind: r.Kind, ICMPType: r.Type, ICMPCode: r.Code, MPLS: r.MPLS}
	s.highest = max(s.highest, ttl)
	e.log.Debug("hop", "ttl", ttl, "probe_ttl", p.ttl, "quoted_ttl", r.QuotedTTL, "from", r.From, "kind", r.Kind.String(), "rtt", rtt)
}

// learnSilence tells the rate-limit mirror about every probe whose
// expected responder left it unanswered for a whole attempt: a Linux router
// with no token drops the error without spending one, so its bucket was
// empty when the probe came. The mirror may think otherwise when its state
// is stale (another prober behind the same source address, an earlier run,
// a bucket found empty on the first trace); from then on it paces that
// responder at its real rate instead of sending probes it would drop.
func (e *engine) learnSilence(s *session, now time.Time) {
	for _, p := range s.sent {
		if !p.answered && !p.judged && p.charged.IsValid() {
			e.lim.drained(p.charged, p.at, now)
			p.judged = true
		}
	}
}

func (e *engine) id() uint16 {
	e.nextID++
	if e.nextID == 0 || e.nextID == 0xffff {
		e.nextID = 1
	}
	return e.nextID
}

// trace traces flow f: every TTL up to the destination's distance from the
// previous trace at once (without one, the first window, extended while
// the path goes on), the hops that did not answer again up to retries
// times, each send paced by the mirror of the routers' rate limits. No
// probe goes past the end of the path once it is known: from the previous
// trace, or from a reply that ends it (see endDistance). hint is the
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
	var sent, deepest int
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
			deepest = max(deepest, ttl)
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
				// At the destination's distance known from the previous
				// trace, retry first: a destination silent there has
				// mostly run out of rate-limit tokens (the retry waits
				// for one, see learnSilence), and probes past it would
				// spend the next ones for nothing. Only a destination
				// silent to that retry too is looked for further on.
				e.learnSilence(s, now)
				atKnown := horizon == s.known() && attempt == 0 && e.retries > 0
				if s.stop() == 0 && horizon < e.maxTTL && !atKnown {
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
	// Probes past the destination reached it too: those whose answer has
	// not come either are on their way and spent a token (UDP's port
	// unreachable is rate-limited), or found none.
	if s.reached > 0 && f.proto == protoUDP {
		for _, p := range s.sent {
			if p.ttl > s.reached && !p.answered && p.charged != f.dst {
				e.lim.take(f.dst, p.at)
			}
		}
	}
	ft := flowTrace{reached: s.reached > 0, sent: sent, deepest: deepest}
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
