package trace

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// simNet is a simulated path behind the engine's send boundary: routers
// answer with real ICMP bytes that go through the real parser, and each
// rate-limits its ICMP errors like Linux (a token bucket per source).
type simNet struct {
	t       testing.TB
	path    []netip.Addr // responder per TTL; the last is the destination
	every   time.Duration
	burst   float64
	noise   bool         // also answer as if for another process's probes
	silent  map[int]bool // TTLs whose router never answers
	drop    map[int]int  // TTL → how many of its probes are lost
	unreach int          // TTL whose router answers host unreachable

	mu      sync.Mutex
	sent    []int
	buckets map[netip.Addr]*bucket
	replies chan timedReply
}

func newSim(t testing.TB, path ...netip.Addr) *simNet {
	return &simNet{t: t, path: path, silent: map[int]bool{}, drop: map[int]int{}, buckets: map[netip.Addr]*bucket{}, replies: make(chan timedReply, 4096)}
}

func (n *simNet) engine(p Pacing) *engine {
	return &engine{maxTTL: 16, retries: 2, lim: newLimiter(p), send: n.send, replies: n.replies, log: slog.New(slog.DiscardHandler)}
}

// allow is Linux's inet_peer_xrlim_allow.
func (n *simNet) allow(a netip.Addr, now time.Time) bool {
	if n.every == 0 {
		return true
	}
	b, ok := n.buckets[a]
	if !ok {
		b = &bucket{tokens: n.burst, at: now}
		n.buckets[a] = b
	}
	b.tokens = min(n.burst, b.tokens+float64(now.Sub(b.at))/float64(n.every))
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (n *simNet) ttls() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.sent)
}

func (n *simNet) send(f flow, ttl int, p []byte) (time.Time, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	n.sent = append(n.sent, ttl)
	if n.drop[ttl] > 0 {
		n.drop[ttl]--
		return now, nil
	}
	if n.silent[ttl] {
		return now, nil
	}
	v6 := f.dst.Is6()
	idx := min(ttl, len(n.path)) - 1
	if n.unreach > 0 {
		idx = min(idx, n.unreach-1) // the path ends there
	}
	from := n.path[idx]
	atDst := idx == len(n.path)-1
	limited := !atDst || f.proto == protoUDP
	if limited && !n.allow(from, now) {
		return now, nil
	}
	// The probe's identifier: the low half of the TCP sequence, the UDP
	// checksum or the ICMP sequence, all at bytes 6-7.
	id := binary.BigEndian.Uint16(p[6:8])
	deliver := func(b []byte, tcp bool) {
		var r reply
		var err error
		if tcp {
			r, err = parseTCPReply(b, from)
		} else {
			r, err = parseReply(b, from)
		}
		if err != nil {
			n.t.Errorf("simulated reply does not parse: %v", err)
			return
		}
		n.replies <- timedReply{reply: r, at: time.Now()}
	}
	if n.noise {
		// Another traceroute on the host, one port up, and an echo of
		// another pinger: same routers, same destination.
		o := f
		o.srcPort++
		o.echoID++
		op := appendProbe(nil, o, id)
		deliver(icmpError(n.t, v6, timeExceeded(v6), 0, quote(o, op, 1, 8)), false)
	}
	// What a Linux host quotes: the probe's header as it arrived, after
	// one decrement per hop before it (a router answering Time Exceeded
	// got it with 1 left; one without a route answers before forwarding).
	left := ttl - idx
	switch {
	case n.unreach > 0 && ttl >= n.unreach:
		typ, code := icmpUnreachHost(v6)
		deliver(icmpError(n.t, v6, typ, code, quote(f, p, left, 8)), false)
	case !atDst:
		deliver(icmpError(n.t, v6, timeExceeded(v6), 0, quote(f, p, left, 8)), false)
	case f.proto == protoUDP:
		typ, code := portUnreachable(v6)
		deliver(icmpError(n.t, v6, typ, code, quote(f, p, left, -1)), false)
	case f.proto == protoTCP:
		deliver(tcpReply(f, id, tcpRST|tcpACK), true)
	default:
		deliver(echoReply(n.t, f, id), false)
	}
	return now, nil
}

func icmpUnreachHost(v6 bool) (typ interface{ Protocol() int }, code int) {
	if v6 {
		return ipv6.ICMPTypeDestinationUnreachable, 3
	}
	return ipv4.ICMPTypeDestinationUnreachable, 1
}

var (
	edge4 = netip.MustParseAddr("192.0.2.1")
	vpc4  = netip.MustParseAddr("198.18.0.1")
	edge6 = netip.MustParseAddr("2001:db8::1")
	vpc6  = netip.MustParseAddr("2001:db8:18::1")
)

// fastPacing paces like Linux routers but 100 times faster, for tests that
// are not about pacing.
var fastPacing = Pacing{Burst: 6, Interval: 10 * time.Millisecond}

func simPath(v6 bool) []netip.Addr {
	if v6 {
		return []netip.Addr{edge6, hop6, vpc6, dst6}
	}
	return []netip.Addr{edge4, hop4, vpc4, dst4}
}

func traceOnce(t *testing.T, e *engine, f flow, prev *flowTrace) flowTrace {
	t.Helper()
	return traceWithin(t, e, f, prev, 2*time.Second)
}

func traceWithin(t *testing.T, e *engine, f flow, prev *flowTrace, timeout time.Duration) flowTrace {
	t.Helper()
	var hint []Hop
	var reached bool
	if prev != nil {
		hint, reached = prev.hops, prev.reached
	}
	ft, err := e.trace(context.Background(), f, hint, reached, time.Now().Add(timeout))
	if err != nil {
		t.Fatal(err)
	}
	ft.hops = slices.Clone(ft.hops)
	return ft
}

func addrs(hops []Hop) []netip.Addr {
	out := make([]netip.Addr, len(hops))
	for i, h := range hops {
		out[i] = h.Address
	}
	return out
}

func TestEngineTrace(t *testing.T) {
	for _, proto := range []int{protoUDP, protoICMP, protoTCP} {
		for _, v6 := range []bool{false, true} {
			f := testFlow(proto, v6)
			t.Run(protoName(f.proto), func(t *testing.T) {
				sim := newSim(t, simPath(v6)...)
				sim.noise = true // replies to other processes' probes must change nothing
				e := sim.engine(fastPacing)
				first := traceOnce(t, e, f, nil)
				if !first.reached || !slices.Equal(addrs(first.hops), simPath(v6)) {
					t.Fatalf("first trace: reached %v hops %v", first.reached, addrs(first.hops))
				}
				for i, h := range first.hops {
					if h.TTL != i+1 || h.RTT < 0 {
						t.Errorf("hop %d: %+v", i, h)
					}
				}
				// No hint: the first window of TTLs at once.
				if got := sim.ttls(); !slices.Equal(got, []int{1, 2, 3, 4, 5, 6, 7, 8}) {
					t.Errorf("first trace sent TTLs %v, want 1..8", got)
				}
				before := len(sim.ttls())
				second := traceOnce(t, e, f, &first)
				if !second.reached || !slices.Equal(addrs(second.hops), simPath(v6)) {
					t.Fatalf("second trace: reached %v hops %v", second.reached, addrs(second.hops))
				}
				// With the previous path as hint: one probe per hop.
				if got := sim.ttls()[before:]; !slices.Equal(got, []int{1, 2, 3, 4}) {
					t.Errorf("second trace sent TTLs %v, want 1..4", got)
				}
			})
		}
	}
}

func protoName(p int) string {
	switch p {
	case protoUDP:
		return "udp"
	case protoTCP:
		return "tcp"
	case protoICMP:
		return "icmp"
	}
	return "icmpv6"
}

func TestEngineRetriesOnlyMissingHops(t *testing.T) {
	f := testFlow(protoUDP, false)
	sim := newSim(t, simPath(false)...)
	e := sim.engine(fastPacing)
	first := traceOnce(t, e, f, nil)
	before := len(sim.ttls())
	sim.drop[2] = 1
	sim.drop[3] = 1
	got := traceOnce(t, e, f, &first)
	if !got.reached || !slices.Equal(addrs(got.hops), simPath(false)) {
		t.Fatalf("reached %v hops %v", got.reached, addrs(got.hops))
	}
	if sent := sim.ttls()[before:]; !slices.Equal(sent, []int{1, 2, 3, 4, 2, 3}) {
		t.Errorf("sent TTLs %v, want 1..4 then the missing 2, 3", sent)
	}
}

func TestEngineSilentHop(t *testing.T) {
	f := testFlow(protoICMP, false)
	sim := newSim(t, simPath(false)...)
	sim.silent[2] = true
	e := sim.engine(fastPacing)
	first := traceOnce(t, e, f, nil)
	got := traceOnce(t, e, f, &first)
	if !got.reached || len(got.hops) != 4 || got.hops[1].Address.IsValid() || got.hops[1].TTL != 2 {
		t.Fatalf("reached %v hops %v", got.reached, addrs(got.hops))
	}
	if n := slices.Index(sim.ttls(), 2); n < 0 || len(sim.ttls()) != 8+2+4+2 {
		t.Errorf("sent %v: want the silent hop retried twice per trace", sim.ttls())
	}
}

func TestEnginePathGrew(t *testing.T) {
	f := testFlow(protoUDP, false)
	sim := newSim(t, edge4, hop4, dst4)
	e := sim.engine(fastPacing)
	first := traceOnce(t, e, f, nil)
	if len(first.hops) != 3 {
		t.Fatalf("first hops %v", addrs(first.hops))
	}
	sim.path = simPath(false) // one hop more
	got := traceOnce(t, e, f, &first)
	if !got.reached || !slices.Equal(addrs(got.hops), simPath(false)) {
		t.Fatalf("reached %v hops %v; sent %v", got.reached, addrs(got.hops), sim.ttls())
	}
}

func TestEngineUnreachableRouter(t *testing.T) {
	f := testFlow(protoUDP, false)
	sim := newSim(t, simPath(false)...)
	sim.unreach = 2
	e := sim.engine(fastPacing)
	got := traceOnce(t, e, f, nil)
	if got.reached || len(got.hops) != 2 || got.hops[1].Kind != KindUnreachable {
		t.Fatalf("reached %v hops %+v", got.reached, got.hops)
	}
}

// TestEngineBackToBack runs ten traces back to back against routers that
// rate-limit like Linux (scaled: burst 6, a token every 20 ms): the pacing
// mirror keeps every hop answering; without it the same run loses hops.
func TestEngineBackToBack(t *testing.T) {
	const every = 20 * time.Millisecond
	run := func(p Pacing) (incomplete int) {
		f := testFlow(protoUDP, false)
		sim := newSim(t, simPath(false)...)
		sim.every, sim.burst = every, 6
		e := sim.engine(p)
		e.retries = 0 // a retry would hide the loss pacing prevents
		var prev *flowTrace
		for range 10 {
			ft := traceWithin(t, e, f, prev, 200*time.Millisecond)
			if !ft.reached || slices.Contains(addrs(ft.hops), netip.Addr{}) {
				incomplete++
			}
			prev = &ft
		}
		return incomplete
	}
	if n := run(Pacing{Burst: 6, Interval: every}); n != 0 {
		t.Errorf("paced: %d of 10 traces had false missing hops", n)
	}
	if n := run(Pacing{Burst: 6}); n == 0 {
		t.Errorf("unpaced: every trace complete, so the simulation does not rate-limit")
	}
}

func TestEngineSilentHorizon(t *testing.T) {
	f := testFlow(protoUDP, false)
	var path []netip.Addr
	for i := range 9 {
		path = append(path, netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}))
	}
	path = append(path, dst4)
	sim := newSim(t, path...)
	sim.silent[firstWindow] = true // the last hop of the first window never answers
	e := sim.engine(fastPacing)
	got := traceOnce(t, e, f, nil)
	if !got.reached || len(got.hops) != 10 || got.hops[firstWindow-1].Address.IsValid() {
		t.Fatalf("reached %v hops %v", got.reached, addrs(got.hops))
	}
}

// drain empties the rate-limit buckets of the given responders now, as a
// router's is when it has just answered someone else, or when its limit was
// off until now (Linux then keeps no token).
func (n *simNet) drain(addrs ...netip.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range addrs {
		n.buckets[a] = &bucket{tokens: 0, at: time.Now()}
	}
}

func TestEndDistance(t *testing.T) {
	for _, c := range []struct {
		name                    string
		ttl, quoted, lastRouter int
		want                    int
	}{
		{"answered at its distance", 4, 1, 3, 4},
		{"answered 5 past its distance", 9, 6, 3, 4},
		{"answered before the routers", 9, 6, 0, 4},
		{"no router between", 8, 8, 0, 1},
		{"direct reply: nothing quoted", 9, 0, 3, 9},
		{"quoted more than sent: ignored", 4, 64, 3, 4},
		{"closer than a router that answered: after it", 9, 8, 5, 6},
		{"contradicted at the probe's TTL", 4, 3, 7, 4},
	} {
		if got := endDistance(c.ttl, c.quoted, c.lastRouter); got != c.want {
			t.Errorf("%s: endDistance(%d, %d, %d) = %d, want %d", c.name, c.ttl, c.quoted, c.lastRouter, got, c.want)
		}
	}
}

// TestEngineDestinationFromQuote is issue #17's first trace: the destination
// (4 hops away) is silent to TTL 4 to 8, out of rate-limit tokens, and
// answers only TTL 9, after the window was extended. Its port unreachable
// quotes the probe with 6 left, so it is placed at 4, with no missing hop,
// and the next trace sends nothing past it.
func TestEngineDestinationFromQuote(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		f := testFlow(protoUDP, v6)
		t.Run(protoName(f.proto)+map[bool]string{false: "4", true: "6"}[v6], func(t *testing.T) {
			path := simPath(v6)
			n := len(path)
			sim := newSim(t, path...)
			for ttl := n; ttl < n+5; ttl++ {
				sim.silent[ttl] = true
			}
			e := sim.engine(fastPacing)
			first := traceOnce(t, e, f, nil)
			if !first.reached || !slices.Equal(addrs(first.hops), path) {
				t.Fatalf("first trace: reached %v hops %v, want %v", first.reached, addrs(first.hops), path)
			}
			if h := first.hops[n-1]; h.TTL != n || h.Kind != KindUnreachable {
				t.Errorf("destination hop %+v", h)
			}
			sent := sim.ttls()
			if i := slices.Index(sent, n+5); i < 0 || slices.ContainsFunc(sent[i:], func(ttl int) bool { return ttl < n+5 }) {
				t.Errorf("first trace sent TTLs %v: want the window, its extension and no retry", sent)
			}
			clear(sim.silent)
			before := len(sim.ttls())
			second := traceOnce(t, e, f, &first)
			if got := sim.ttls()[before:]; !slices.Equal(got, []int{1, 2, 3, 4}) || !second.reached {
				t.Errorf("second trace sent TTLs %v (reached %v), want 1..4", got, second.reached)
			}
		})
	}
}

// TestEngineTerminalFromQuote: a router that ends the path with host
// unreachable, silent to its first probes, is placed where it is too.
func TestEngineTerminalFromQuote(t *testing.T) {
	f := testFlow(protoUDP, false)
	sim := newSim(t, simPath(false)...)
	sim.unreach = 2
	sim.silent[2], sim.silent[3], sim.silent[4] = true, true, true
	e := sim.engine(fastPacing)
	got := traceOnce(t, e, f, nil)
	if got.reached || len(got.hops) != 2 || got.hops[1].Kind != KindUnreachable || got.hops[1].Address != hop4 {
		t.Fatalf("reached %v hops %+v", got.reached, got.hops)
	}
}

// TestEngineDrainedBuckets runs issue #17 at the engine: every responder
// starts with an empty bucket while the mirror believes them full. Time is
// scaled from the defaults (a token a second, a 3 s timeout and 2 retries:
// an attempt lasts one token, and the grace after the destination answered
// a twentieth of one) to a token every 200 ms (the grace, at least 50 ms,
// is then a quarter). The first trace finds the buckets empty and probes
// again; ten traces then run back to back with no false loss, none past
// the destination, and from the third on exactly one probe per hop: the
// mirror learned the buckets from the silences.
func TestEngineDrainedBuckets(t *testing.T) {
	const every = 200 * time.Millisecond
	f := testFlow(protoUDP, false)
	path := simPath(false)
	sim := newSim(t, path...)
	sim.every, sim.burst = every, 6
	sim.drain(path...)
	e := sim.engine(Pacing{Burst: 6, Interval: every})
	var prev *flowTrace
	for i := range 11 {
		before := len(sim.ttls())
		ft := traceWithin(t, e, f, prev, 3*every)
		sent := sim.ttls()[before:]
		if !ft.reached || !slices.Equal(addrs(ft.hops), path) {
			t.Errorf("trace %d: false loss: reached %v hops %v (sent %v)", i, ft.reached, addrs(ft.hops), sent)
		}
		if i > 0 && slices.Max(sent) > len(path) {
			t.Errorf("trace %d: sent TTLs %v, past the destination", i, sent)
		}
		if i > 2 && len(sent) != len(path) {
			t.Errorf("trace %d: sent TTLs %v, want one probe per hop", i, sent)
		}
		prev = &ft
	}
}

// TestEngineSilentAtKnownDistance: a destination silent at the distance
// the previous trace found is probed there again once it has a token, not
// past it.
func TestEngineSilentAtKnownDistance(t *testing.T) {
	const every = 20 * time.Millisecond
	f := testFlow(protoUDP, false)
	path := simPath(false)
	sim := newSim(t, path...)
	sim.every, sim.burst = every, 6
	e := sim.engine(Pacing{Burst: 6, Interval: every})
	first := traceWithin(t, e, f, nil, 300*time.Millisecond)
	sim.drain(dst4)
	before := len(sim.ttls())
	got := traceWithin(t, e, f, &first, 300*time.Millisecond)
	sent := sim.ttls()[before:]
	if !got.reached || !slices.Equal(addrs(got.hops), path) || !slices.Equal(sent, []int{1, 2, 3, 4, 4}) {
		t.Fatalf("reached %v hops %v, sent %v; want 1..4, then 4 again", got.reached, addrs(got.hops), sent)
	}
}
