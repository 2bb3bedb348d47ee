package trace

import (
	"net/netip"
	"sync"
	"time"
)

// limiter mirrors the ICMP rate limiter each router keeps for our source
// address (Linux: a token bucket of 6, refilled one per icmp_ratelimit).
// A probe whose expected responder has no token left waits for one instead
// of being dropped by the router and showing as a false missing hop. The
// mirror is shared by every target, since targets share routers.
type limiter struct {
	burst float64
	every time.Duration

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the mirror; full buckets are forgotten beyond it.
const maxBuckets = 4096

func newLimiter(p Pacing) *limiter {
	return &limiter{burst: float64(p.Burst), every: p.Interval, buckets: map[netip.Addr]*bucket{}}
}

func (l *limiter) refill(a netip.Addr, now time.Time) *bucket {
	b, ok := l.buckets[a]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[a] = b
		return b
	}
	if now.After(b.at) {
		b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
		b.at = now
	}
	return b
}

func (l *limiter) prune(now time.Time) {
	for a, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.every) >= l.burst {
			delete(l.buckets, a)
		}
	}
}

// slack is the part of an interval a probe waits beyond the mirror's
// token: the router counts its bucket in jiffies (4 ms at HZ=250, 10 ms at
// HZ=100) from the probes' arrivals, which jitter, while the mirror counts
// from their sends. Waiting exactly one interval after a router's last
// error can find it a jiffy short and the probe dropped.
const slack = 0.02

// delay returns how long to wait before a has a token; 0 when it has one.
func (l *limiter) delay(a netip.Addr, now time.Time) time.Duration {
	if l == nil || l.every <= 0 || !a.IsValid() {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(a, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens + slack) * float64(l.every))
}

// drained records that a left a probe sent at at unanswered: its bucket
// was empty then (a router with no token drops the error and spends
// nothing), so it holds at most what it has gained since.
func (l *limiter) drained(a netip.Addr, at, now time.Time) {
	if l == nil || l.every <= 0 || !a.IsValid() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(a, now)
	b.tokens = min(b.tokens, max(0, float64(now.Sub(at))/float64(l.every)))
}

// take spends one of a's tokens. A router with none left drops the probe
// without spending, so the mirror never goes below zero either.
func (l *limiter) take(a netip.Addr, now time.Time) {
	if l == nil || l.every <= 0 || !a.IsValid() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(a, now)
	b.tokens = max(0, b.tokens-1)
}
