package ping

import (
	"math/bits"
	"time"
)

// window is how many recent echoes a tracker remembers, to tell a reply on
// time from a late one or a duplicate. A power of two, so that slot
// indexes stay continuous when the 32-bit sequence number wraps. Since the
// timeout never exceeds the interval, at most two echoes are outstanding;
// the rest of the window only serves to classify late replies.
const window = 64

type slotState uint8

const (
	slotEmpty slotState = iota
	slotPending
	slotAnswered
	slotLost
)

type slot struct {
	seq      uint32
	state    slotState
	sent     time.Time
	deadline time.Time
}

// replyKind classifies a reply.
type replyKind uint8

const (
	replyOnTime    replyKind = iota + 1
	replyDuplicate           // the echo was already answered
	replyLate                // the echo was already counted lost
	replyStale               // the sequence number is outside the window
)

// loss is one echo that passed its deadline unanswered.
type loss struct {
	seq      uint32
	deadline time.Time
	count    int // consecutive losses, this one included
}

// tracker follows the echoes of one target: the deadline of every
// outstanding sequence number, consecutive losses, up/down and jitter. It
// does no I/O and reads no clock, so tests drive it with synthetic times.
// Its memory is fixed: a window of slots and a jitter ring.
type tracker struct {
	timeout    time.Duration // an echo's longest timeout
	minTimeout time.Duration // the adaptive timeout's floor; adaptivity is off at timeout
	downAfter  int

	// RFC 6298's estimator of the target's round-trip time, from every
	// reply whose echo is known (on time or late).
	srtt, rttvar time.Duration
	samples      int // replies the estimator has seen, up to warmup

	ring   [window]slot
	next   uint32 // sequence number of the next echo
	oldest uint32 // oldest sequence number not yet judged

	consecutive int
	up          bool
	known       bool      // at least one echo was judged
	downSince   time.Time // deadline of the first loss of the current streak
	lastReply   time.Time
	lastRTT     time.Duration
	lastJudged  time.Time // arrival of the last reply or deadline of the last loss

	sent, received, lost, duplicates, late uint64

	outcomes  uint64 // bit 0 is the latest judged echo, 1 = lost
	nOutcomes int

	jitter jitterRing
}

func newTracker(timeout, minTimeout time.Duration, downAfter, jitterWindow int, firstSeq uint32) *tracker {
	return &tracker{
		timeout:    timeout,
		minTimeout: minTimeout,
		downAfter:  downAfter,
		next:       firstSeq,
		oldest:     firstSeq,
		jitter:     newJitterRing(jitterWindow),
	}
}

// Constants of the adaptive timeout, as TCP's retransmission timeout
// (RFC 6298): gains of 1/8 for the smoothed RTT and 1/4 for its variation,
// and a timeout of SRTT + 4·RTTVAR.
const (
	// warmup is how many replies the estimator needs before the timeout
	// adapts: until then every echo gets the configured timeout.
	warmup = 5
	rtoK   = 4
)

// sample feeds one measured round-trip time to the estimator (RFC 6298
// section 2: RTTVAR is updated with the previous SRTT).
func (t *tracker) sample(rtt time.Duration) {
	if t.samples == 0 {
		t.srtt, t.rttvar = rtt, rtt/2
	} else {
		d := t.srtt - rtt
		if d < 0 {
			d = -d
		}
		t.rttvar = (3*t.rttvar + d) / 4
		t.srtt = (7*t.srtt + rtt) / 8
	}
	if t.samples < warmup {
		t.samples++
	}
}

// rto is the timeout of the next echo: SRTT + 4·RTTVAR within
// [minTimeout, timeout] once the estimator has warmup replies, else timeout.
func (t *tracker) rto() time.Duration {
	if t.minTimeout >= t.timeout || t.samples < warmup {
		return t.timeout
	}
	return min(max(t.srtt+rtoK*t.rttvar, t.minTimeout), t.timeout)
}

// send records an echo sent at sent. Its deadline is due+timeout (due is
// the time the echo was scheduled for: the deadline then coincides with the
// next echo's, so one wake-up serves both), or sooner, sent+rto, once the
// timeout adapts. It returns the echo's sequence number and any losses it
// had to judge first.
func (t *tracker) send(due, sent time.Time, lost []loss) (uint32, []loss) {
	// A full window cannot happen while timeout <= interval; judge the
	// oldest echo rather than overwrite it.
	for t.next-t.oldest >= window {
		lost = t.judgeOldest(lost)
	}
	seq := t.next
	deadline := due.Add(t.timeout)
	if d := sent.Add(t.rto()); d.Before(deadline) {
		deadline = d
	}
	t.ring[seq%window] = slot{seq: seq, state: slotPending, sent: sent, deadline: deadline}
	t.next++
	t.sent++
	return seq, lost
}

// expire judges every echo whose deadline is at or before now, appending
// the losses to lost in sequence order.
func (t *tracker) expire(now time.Time, lost []loss) []loss {
	for t.oldest != t.next {
		s := &t.ring[t.oldest%window]
		if s.state == slotPending && now.Before(s.deadline) {
			break
		}
		lost = t.judgeOldest(lost)
	}
	return lost
}

// judgeOldest judges the oldest echo not yet judged: answered echoes were
// already counted; a pending one is lost.
func (t *tracker) judgeOldest(lost []loss) []loss {
	s := &t.ring[t.oldest%window]
	t.oldest++
	if s.state != slotPending {
		return lost
	}
	s.state = slotLost
	t.lost++
	t.lastJudged = s.deadline
	if t.consecutive == 0 {
		t.downSince = s.deadline
	}
	t.consecutive++
	t.record(true)
	if t.consecutive >= t.downAfter {
		t.up = false
	}
	return append(lost, loss{seq: s.seq, deadline: s.deadline, count: t.consecutive})
}

// reply judges a reply to seq arriving at now (the time the kernel received
// it, not the time it was read). Echoes whose deadline passed are judged
// first, so a reply after its deadline is late. A late reply still feeds the
// estimator: when the target's RTT steps up past the adaptive timeout, the
// first late replies raise the timeout, rather than every later echo being
// lost to an estimate that only on-time replies could correct. The sample
// is unambiguous (Karn's problem does not arise): the echo's own 32-bit
// sequence number came back.
func (t *tracker) reply(seq uint32, now time.Time, lost []loss) (replyKind, time.Duration, []loss) {
	lost = t.expire(now, lost)
	s := &t.ring[seq%window]
	if s.state == slotEmpty || s.seq != seq {
		return replyStale, 0, lost
	}
	switch s.state {
	case slotAnswered:
		t.duplicates++
		return replyDuplicate, 0, lost
	case slotLost:
		t.late++
		rtt := max(now.Sub(s.sent), 0)
		t.sample(rtt)
		return replyLate, rtt, lost
	}
	s.state = slotAnswered
	// Not below zero: the arrival is the kernel's wall-clock stamp carried
	// over to the monotonic clock, which may disagree by a slew's worth.
	rtt := max(now.Sub(s.sent), 0)
	t.sample(rtt)
	t.received++
	t.consecutive = 0
	t.up, t.known = true, true
	t.lastReply, t.lastRTT, t.lastJudged = now, rtt, now
	t.record(false)
	t.jitter.add(rtt)
	return replyOnTime, rtt, lost
}

func (t *tracker) record(lost bool) {
	t.known = true
	t.outcomes <<= 1
	if lost {
		t.outcomes |= 1
	}
	if t.nOutcomes < 64 {
		t.nOutcomes++
	}
}

// recentLoss returns how many of the last n judged echoes were lost.
func (t *tracker) recentLoss() (lost, n int) {
	mask := uint64(1)<<t.nOutcomes - 1
	if t.nOutcomes == 64 {
		mask = ^uint64(0)
	}
	return bits.OnesCount64(t.outcomes & mask), t.nOutcomes
}

// nextDeadline returns the deadline of the oldest pending echo.
func (t *tracker) nextDeadline() (time.Time, bool) {
	for seq := t.oldest; seq != t.next; seq++ {
		if s := &t.ring[seq%window]; s.state == slotPending {
			return s.deadline, true
		}
	}
	return time.Time{}, false
}

// jitterRing keeps the absolute differences of consecutive RTTs over a
// window; the jitter is their mean.
type jitterRing struct {
	diffs []time.Duration
	i, n  int
	sum   time.Duration
	prev  time.Duration
	have  bool
}

func newJitterRing(size int) jitterRing {
	return jitterRing{diffs: make([]time.Duration, max(size-1, 1))}
}

func (j *jitterRing) add(rtt time.Duration) {
	if !j.have {
		j.prev, j.have = rtt, true
		return
	}
	d := rtt - j.prev
	if d < 0 {
		d = -d
	}
	j.prev = rtt
	if j.n == len(j.diffs) {
		j.sum -= j.diffs[j.i]
	} else {
		j.n++
	}
	j.diffs[j.i] = d
	j.sum += d
	j.i = (j.i + 1) % len(j.diffs)
}

// value is the mean absolute difference, 0 before two replies.
func (j *jitterRing) value() time.Duration {
	if j.n == 0 {
		return 0
	}
	return j.sum / time.Duration(j.n)
}
