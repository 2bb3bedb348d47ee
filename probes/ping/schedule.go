package ping

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// phase spreads the targets over an interval, the same for a name every
// time, so that 1,000 targets at 1 s do not send in one burst.
func phase(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// schedule sends every echo and judges every deadline, from one goroutine
// and one timer for all targets: the next target due is at the top of a
// heap ordered by its next event (a send or a deadline).
func (p *Probe) schedule(ctx context.Context) {
	h := &targetHeap{}
	in := map[*target]bool{}
	reread := func(now time.Time) {
		current := p.snapshot()
		seen := make(map[*target]bool, len(current))
		for _, t := range current {
			seen[t] = true
			if !in[t] {
				t.nextSend = now.Add(phase(t.spec.name, t.spec.interval))
				t.nextEvent = t.nextSend
				heap.Push(h, t)
				in[t] = true
			}
		}
		for t := range in {
			if !seen[t] {
				heap.Remove(h, t.heapIdx)
				delete(in, t)
			}
		}
	}
	reread(time.Now())
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	buf := make([]byte, 8+MaxSize)
	var lost []loss
	for {
		now := time.Now()
		for h.Len() > 0 && !(*h)[0].nextEvent.After(now) {
			t := (*h)[0]
			lost = p.step(t, now, buf, lost[:0])
			heap.Fix(h, 0)
		}
		wait := time.Hour
		if h.Len() > 0 {
			wait = time.Until((*h)[0].nextEvent)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-p.wake:
			reread(time.Now())
		}
	}
}

// step judges t's expired echoes and sends its next echo when due.
func (p *Probe) step(t *target, now time.Time, buf []byte, lost []loss) []loss {
	s := t.spec
	t.mu.Lock()
	d, pending := t.tr.nextDeadline()
	t.mu.Unlock()
	if pending && !now.Before(d) && t.sock != nil {
		// An echo is due to be judged lost: first handle the replies the
		// socket holds, which the reader may not have got to (a busy
		// host), so that one that arrived in time is not taken for a loss.
		if err := t.sock.conn.Drain(t.sock.handle); err != nil && !errors.Is(err, net.ErrClosed) {
			p.log.Debug("icmp read", "err", err)
		}
	}
	t.mu.Lock()
	lost = t.tr.expire(now, lost)
	send := false
	var seq uint32
	addr, resolveErr := t.addr, t.resolveErr
	if !now.Before(t.nextSend) {
		due := t.nextSend
		t.nextSend = due.Add(s.interval)
		if !t.nextSend.After(now) {
			// Fell behind (a stalled process): skip, never burst.
			due, t.nextSend = now, now.Add(s.interval)
		}
		if t.resolved { // a name waits for its first resolution
			seq, lost = t.tr.send(due, now, lost)
			send = true
		}
	}
	t.nextEvent = t.nextSend
	if d, ok := t.tr.nextDeadline(); ok && d.Before(t.nextEvent) {
		t.nextEvent = d
	}
	t.mu.Unlock()

	p.emitLosses(t, lost)
	if !send {
		return lost
	}
	t.mSent.Inc()
	var err error
	switch {
	case !addr.IsValid():
		err = fmt.Errorf("resolve %s: %w", s.host, resolveErr)
	case t.sock == nil:
		return lost
	default:
		msg := buf[:8+s.size]
		clear(msg[8+headerLen:])
		marshalEcho(msg, addr.Is6(), echo{id: t.sock.id, nonce: p.nonce, token: t.token, seq: seq})
		err = t.sock.conn.WriteTo(msg, addr)
	}
	p.sendResult(t, seq, addr, err)
	return lost
}

// sendResult records the outcome of a send: an echo that could not be sent
// is lost at its deadline like any other.
func (p *Probe) sendResult(t *target, seq uint32, addr netip.Addr, err error) {
	t.mu.Lock()
	prev := t.sendErr
	t.sendErr = err
	t.mu.Unlock()
	switch {
	case err == nil && prev != nil:
		p.log.Info("sending echoes works again", "target", t.spec.name, "address", addr)
	case err != nil:
		if t.removed.Load() {
			return
		}
		if prev == nil || prev.Error() != err.Error() {
			p.log.Warn("cannot send echo", "target", t.spec.name, "address", addr, "err", err)
		}
		if !isRouteError(err) {
			p.roundError(err)
		}
	default:
		if p.log.Enabled(context.Background(), slog.LevelDebug) {
			p.log.Debug("echo sent", "target", t.spec.name, "address", addr, "seq", seq)
		}
	}
}

func (p *Probe) roundError(err error) {
	p.mu.Lock()
	if p.roundErr == nil {
		p.roundErr = err
	}
	p.mu.Unlock()
}

func (p *Probe) emitLosses(t *target, lost []loss) {
	for _, l := range lost {
		p.deps.Observer.Observe(probes.Observation{
			Time: l.deadline, Event: probes.EchoLost, Probe: p.name,
			Target: t.spec.name, Link: t.spec.link, Family: t.spec.family, Seq: int(l.seq), Count: l.count,
		})
		if l.count == t.spec.downAfter {
			p.log.Info("ping target down", "target", t.spec.name, "link", t.spec.link, "lost", l.count)
		} else if p.log.Enabled(context.Background(), slog.LevelDebug) {
			p.log.Debug("echo lost", "target", t.spec.name, "seq", l.seq, "consecutive", l.count)
		}
	}
}

// targetHeap orders targets by their next event.
type targetHeap []*target

func (h targetHeap) Len() int           { return len(h) }
func (h targetHeap) Less(i, j int) bool { return h[i].nextEvent.Before(h[j].nextEvent) }
func (h targetHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *targetHeap) Push(x any) {
	t := x.(*target)
	t.heapIdx = len(*h)
	*h = append(*h, t)
}
func (h *targetHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}
