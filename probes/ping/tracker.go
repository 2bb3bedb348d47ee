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
	timeout   time.Duration
	downAfter int

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

func newTracker(timeout time.Duration, downAfter, jitterWindow int, firstSeq uint32) *tracker {
	return &tracker{
		timeout:   timeout,
		downAfter: downAfter,
		next:      firstSeq,
		oldest:    firstSeq,
		jitter:    newJitterRing(jitterWindow),
	}
}

// send records an echo sent at sent, whose deadline is due+timeout (due is
// the time the echo was scheduled for: the deadline then coincides with the
// next echo's, so one wake-up serves both). It returns the echo's sequence
// number and any losses it had to judge first.
func (t *tracker) send(due, sent time.Time, lost []loss) (uint32, []loss) {
	// A full window cannot happen while timeout <= interval; judge the
	// oldest echo rather than overwrite it.
	for t.next-t.oldest >= window {
		lost = t.judgeOldest(lost)
	}
	seq := t.next
	t.ring[seq%window] = slot{seq: seq, state: slotPending, sent: sent, deadline: due.Add(t.timeout)}
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

// reply judges a reply to seq arriving at now. Echoes whose deadline passed
// are judged first, so a reply after its deadline is late.
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
		return replyLate, now.Sub(s.sent), lost
	}
	s.state = slotAnswered
	rtt := now.Sub(s.sent)
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
