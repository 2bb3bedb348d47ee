package health

import "time"

// gapRing is how many finished gaps each echo target remembers: enough for
// the gaps of one failover, which are merged while they follow each other
// closely.
const gapRing = 8

// seqSpace is the ICMP sequence number space; sequence numbers wrap.
const seqSpace = 1 << 16

// echoState is what the model knows of one pinged target: a VPC target
// (end to end) or a link-pinned one (a link's Amazon address).
type echoState struct {
	name   string
	link   int // link index for a link-pinned target, else -1
	target int // site target index for a VPC target, else -1

	seen         bool
	lastReply    time.Time
	lastReplySeq int
	lastSent     time.Time // when the last answered echo was sent
	lastLoss     time.Time

	run      int       // consecutive losses in the current run
	runStart time.Time // first loss of the current run
	okRun    int       // consecutive replies since the last loss
	down     bool      // run reached down_after, not yet recover_after replies
	// episodeLost counts the losses since the run that began the current
	// trouble: the run, and while down, every loss until it recovers.
	episodeLost int

	// blame says what the current loss run (run > 0 or down) says about
	// the pinned target's link, given the path its replies return by
	// (README, "Return path"); via is the set of other links the replies
	// may return over when blame is blameReturn.
	blame blame
	via   uint64

	// The window of the last outcomes, for loss ratio and mean RTT.
	win      []sample
	wpos, wn int
	wlost    int
	wexcused int
	wreplies int
	wrtt     time.Duration
	lossy    bool // loss ratio over threshold (with hysteresis)
	slow     bool // mean RTT over threshold (with hysteresis)

	gap   gap // the current gap, when gap.open
	gaps  [gapRing]gap
	ngaps int // finished gaps ever; gaps[(ngaps-1)%gapRing] is the newest
}

type sample struct {
	lost    bool
	excused bool // lost, but on the return path over another link
	rtt     time.Duration
}

// blame is the verdict on a pinned target's loss run.
type blame uint8

const (
	// blameNone: no loss run.
	blameNone blame = iota
	// blameUnknown: the replies return over another link whose own
	// evidence since the run began is not in yet; the run counts for
	// nothing until it is.
	blameUnknown
	// blameLink: the replies return over the link itself (a probe source,
	// or the link AWS prefers for replies), or the links they return over
	// answered after the run began: the losses are the link's.
	blameLink
	// blameReturn: the replies return over another link that is failing
	// too: the losses say nothing about this link. Kept until the run has
	// recovered, so that the link does not turn down for the replies
	// needed to come back once AWS routes the replies over it.
	blameReturn
)

// gap is one interruption of a target's replies: from the last reply before
// the first loss (start) to the first reply after the last loss (end).
// Losses separated by fewer than recover_after replies belong to one gap.
type gap struct {
	open      bool
	start     time.Time // last reply before; zero when none was seen
	startSent time.Time // when that reply's echo was sent (reply time less RTT)
	startSeq  int
	firstLoss time.Time
	end       time.Time // first reply after the last loss; zero while lost
	endSent   time.Time
	endSeq    int
	lost      int // echoes lost in the gap
	mid       int // replies inside the gap (between merged loss runs)
	replies   int // replies since end
}

// outage returns the time without connectivity the gap stands for: lost
// echoes × probe interval. It is computed from the span between the sends
// of the last echo answered before and the first answered after (reply
// time less RTT, so that links of different RTT do not skew it), which
// covers slots probe intervals: span × lost / slots, with slots from the
// sequence numbers when they are consistent.
func (g gap) outage() time.Duration {
	if g.start.IsZero() || g.end.IsZero() || g.lost == 0 {
		return 0
	}
	span := g.endSent.Sub(g.startSent)
	slots := g.lost + g.mid + 1
	lost := g.lost
	if g.startSeq != 0 || g.endSeq != 0 {
		if d := (g.endSeq - g.startSeq + seqSpace) % seqSpace; d > g.mid && d >= slots && d <= 4*slots {
			// The sequence numbers see losses the model may not have
			// (dropped observations); trust them when they are plausible.
			slots = d
			lost = d - g.mid - 1
		}
	}
	return time.Duration(float64(span) * float64(lost) / float64(slots))
}

func newEcho(name string, link, target, window int) *echoState {
	return &echoState{name: name, link: link, target: target, win: make([]sample, window)}
}

func (e *echoState) push(s sample, cfg *Config) {
	if e.wn == len(e.win) {
		old := e.win[e.wpos]
		switch {
		case old.excused:
			e.wexcused--
		case old.lost:
			e.wlost--
		default:
			e.wreplies--
			e.wrtt -= old.rtt
		}
	} else {
		e.wn++
	}
	e.win[e.wpos] = s
	e.wpos = (e.wpos + 1) % len(e.win)
	if s.lost {
		e.wlost++
	} else {
		e.wreplies++
		e.wrtt += s.rtt
	}
	e.judge(cfg)
}

// excuse takes the newest n losses (replies between them skipped) out of
// the loss ratio: they were lost on the return path over another link
// (blameReturn), or in a down period the link has recovered from, which
// its state already told. Losses excused before count towards n.
func (e *echoState) excuse(n int, cfg *Config) {
	for k, pos := 0, e.wpos; k < e.wn && n > 0; k++ {
		pos = (pos - 1 + len(e.win)) % len(e.win)
		s := &e.win[pos]
		if !s.lost {
			continue
		}
		n--
		if !s.excused {
			s.excused = true
			e.wlost--
			e.wexcused++
		}
	}
	e.judge(cfg)
}

// judge sets lossy and slow from the window, with hysteresis.
func (e *echoState) judge(cfg *Config) {
	// Judge loss only on a window of some size: one loss out of two echoes
	// at start-up says nothing.
	if e.wn-e.wexcused < min(len(e.win), 10) {
		e.lossy = false // too few echoes left to judge
	} else {
		ratio := e.lossRatio()
		switch {
		case !e.lossy && ratio > cfg.LossThreshold:
			e.lossy = true
		case e.lossy && ratio < cfg.LossThreshold/2:
			e.lossy = false
		}
	}
	if cfg.RTTThreshold > 0 && e.wreplies >= min(len(e.win), 3) {
		mean := e.meanRTT()
		switch {
		case !e.slow && mean > cfg.RTTThreshold:
			e.slow = true
		case e.slow && mean < cfg.RTTThreshold*9/10:
			e.slow = false
		}
	}
}

func (e *echoState) lossRatio() float64 {
	if e.wn-e.wexcused == 0 {
		return 0
	}
	return float64(e.wlost) / float64(e.wn-e.wexcused)
}

func (e *echoState) meanRTT() time.Duration {
	if e.wreplies == 0 {
		return 0
	}
	return e.wrtt / time.Duration(e.wreplies)
}

// last returns the time of the newest result.
func (e *echoState) last() time.Time {
	if e.lastLoss.After(e.lastReply) {
		return e.lastLoss
	}
	return e.lastReply
}

// answering says whether the newest result is a reply.
func (e *echoState) answering() bool {
	return e.seen && !e.lastReply.IsZero() && !e.lastLoss.After(e.lastReply)
}

// reply records an echo reply at t. It returns false for a reply older than
// the newest one (out of order), which changes nothing.
func (e *echoState) reply(t time.Time, seq int, rtt time.Duration, cfg *Config) (ok, restored bool) {
	if e.seen && !t.After(e.lastReply) {
		return false, false
	}
	e.seen = true
	if e.run > 0 && e.blame == blameReturn && t.After(e.lastLoss) {
		// The run ends: its losses were the return path's, not the link's.
		e.excuse(e.run, cfg)
	}
	e.lastReply, e.lastReplySeq, e.lastSent = t, seq, t.Add(-rtt)
	e.push(sample{rtt: rtt}, cfg)
	if t.After(e.lastLoss) {
		e.run = 0
		e.okRun++
		if e.down && e.okRun >= cfg.RecoverAfter {
			// Back up: the down period's losses have been told by the
			// state; left in the window they would keep the link
			// "degraded" for a window's worth of echoes after it healed.
			e.down = false
			e.excuse(e.episodeLost, cfg)
		}
	}
	if e.gap.open && t.After(e.gap.firstLoss) {
		if e.gap.end.IsZero() {
			e.gap.end, e.gap.endSeq, e.gap.endSent = t, seq, t.Add(-rtt)
			restored = true
		}
		e.gap.replies++
		if e.gap.replies >= cfg.RecoverAfter {
			e.gap.open = false
			e.gaps[e.ngaps%gapRing] = e.gap
			e.ngaps++
			e.gap = gap{}
		}
	}
	return true, restored
}

// loss records a lost echo whose deadline passed at t; count is the probe's
// own count of consecutive losses (0 when it gives none). It returns false
// for a loss older than the newest reply, which only enters the window.
func (e *echoState) loss(t time.Time, count int, cfg *Config) (ok, first bool) {
	e.seen = true
	if t.Before(e.lastReply) {
		e.push(sample{lost: true}, cfg)
		return false, false
	}
	if t.After(e.lastLoss) {
		e.lastLoss = t
	}
	e.push(sample{lost: true}, cfg)
	if e.run == 0 {
		e.runStart = t
		first = true
		if !e.down {
			e.episodeLost = 0
		}
	}
	e.episodeLost++
	e.run++
	if count > e.run {
		e.run = count
	}
	e.okRun = 0
	if e.run >= cfg.DownAfter {
		e.down = true
	}
	switch {
	case !e.gap.open:
		e.gap = gap{open: true, start: e.lastReply, startSent: e.lastSent, startSeq: e.lastReplySeq, firstLoss: t, lost: 1}
	case !e.gap.end.IsZero():
		// Lost again before recover_after replies: the same gap goes on.
		e.gap.mid += e.gap.replies
		e.gap.end, e.gap.endSent, e.gap.endSeq, e.gap.replies = time.Time{}, time.Time{}, 0, 0
		e.gap.lost++
	default:
		e.gap.lost++
	}
	return true, first
}

// gapsSince calls f for every gap, finished or open, that may touch
// [from, to]: finished gaps ending at or after from, the open one, each
// with a first loss at or before to.
func (e *echoState) gapsSince(from, to time.Time, f func(g gap)) {
	n := min(e.ngaps, gapRing)
	for i := n; i > 0; i-- {
		g := e.gaps[(e.ngaps-i)%gapRing]
		if !g.end.Before(from) && !g.firstLoss.After(to) {
			f(g)
		}
	}
	if e.gap.open && !e.gap.firstLoss.After(to) {
		f(e.gap)
	}
}
