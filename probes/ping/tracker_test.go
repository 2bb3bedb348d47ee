package ping

import (
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// step is one event fed to a tracker: a send at ms, a reply to seq at ms,
// or an expiry check at ms.
type step struct {
	op  string // "send", "reply", "expire"
	ms  int
	seq uint32 // for reply: offset from the first sequence number
}

func TestTracker(t *testing.T) {
	tests := []struct {
		name                         string
		first                        uint32
		steps                        []step
		wantKinds                    []replyKind // one per reply step
		wantLost                     []loss      // seq offsets from first, deadline in ms, count
		sent, recv, lost, dups, late uint64
		up                           bool
	}{
		{
			name:      "replies on time",
			steps:     []step{{"send", 0, 0}, {"reply", 5, 0}, {"send", 100, 0}, {"reply", 103, 1}, {"expire", 500, 0}},
			wantKinds: []replyKind{replyOnTime, replyOnTime},
			sent:      2, recv: 2, up: true,
		},
		{
			name:     "loss judged exactly at the deadline",
			steps:    []step{{"send", 0, 0}, {"expire", 99, 0}, {"expire", 100, 0}},
			wantLost: []loss{{seq: 0, deadline: at(100), count: 1}},
			sent:     1, lost: 1,
		},
		{
			name: "consecutive losses then recovery",
			steps: []step{
				{"send", 0, 0}, {"send", 100, 0}, {"send", 200, 0}, {"send", 300, 0}, {"reply", 310, 3},
			},
			wantKinds: []replyKind{replyOnTime},
			wantLost: []loss{
				{seq: 0, deadline: at(100), count: 1},
				{seq: 1, deadline: at(200), count: 2},
				{seq: 2, deadline: at(300), count: 3},
			},
			sent: 4, recv: 1, lost: 3, up: true,
		},
		{
			name:      "down after three",
			steps:     []step{{"send", 0, 0}, {"reply", 1, 0}, {"send", 100, 0}, {"send", 200, 0}, {"send", 300, 0}, {"expire", 400, 0}},
			wantKinds: []replyKind{replyOnTime},
			wantLost: []loss{
				{seq: 1, deadline: at(200), count: 1},
				{seq: 2, deadline: at(300), count: 2},
				{seq: 3, deadline: at(400), count: 3},
			},
			sent: 4, recv: 1, lost: 3, up: false,
		},
		{
			name:      "duplicate",
			steps:     []step{{"send", 0, 0}, {"reply", 5, 0}, {"reply", 6, 0}, {"reply", 7, 0}},
			wantKinds: []replyKind{replyOnTime, replyDuplicate, replyDuplicate},
			sent:      1, recv: 1, dups: 2, up: true,
		},
		{
			name:      "late reply is judged lost first",
			steps:     []step{{"send", 0, 0}, {"reply", 150, 0}},
			wantKinds: []replyKind{replyLate},
			wantLost:  []loss{{seq: 0, deadline: at(100), count: 1}},
			sent:      1, lost: 1, late: 1,
		},
		{
			name:      "reply to a sequence never sent",
			steps:     []step{{"send", 0, 0}, {"reply", 5, 7}, {"reply", 6, 0}},
			wantKinds: []replyKind{replyStale, replyOnTime},
			sent:      1, recv: 1, up: true,
		},
		{
			name:  "sequence wraps at 2^32",
			first: 1<<32 - 2,
			steps: []step{
				{"send", 0, 0}, {"reply", 1, 0}, {"send", 100, 0}, {"reply", 101, 1},
				{"send", 200, 0}, {"reply", 201, 2}, {"send", 300, 0}, {"expire", 400, 0}, {"reply", 401, 3},
			},
			wantKinds: []replyKind{replyOnTime, replyOnTime, replyOnTime, replyLate},
			wantLost:  []loss{{seq: 3, deadline: at(400), count: 1}},
			sent:      4, recv: 3, lost: 1, late: 1, up: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(100*time.Millisecond, 100*time.Millisecond, 3, 10, tc.first)
			var kinds []replyKind
			var lost []loss
			for _, s := range tc.steps {
				switch s.op {
				case "send":
					_, lost = tr.send(at(s.ms), at(s.ms), lost)
				case "reply":
					var k replyKind
					k, _, lost = tr.reply(tc.first+s.seq, at(s.ms), lost)
					kinds = append(kinds, k)
				case "expire":
					lost = tr.expire(at(s.ms), lost)
				}
			}
			if len(kinds) != len(tc.wantKinds) {
				t.Fatalf("reply kinds = %v, want %v", kinds, tc.wantKinds)
			}
			for i := range kinds {
				if kinds[i] != tc.wantKinds[i] {
					t.Errorf("reply %d: kind %v, want %v", i, kinds[i], tc.wantKinds[i])
				}
			}
			if len(lost) != len(tc.wantLost) {
				t.Fatalf("losses = %+v, want %+v", lost, tc.wantLost)
			}
			for i, w := range tc.wantLost {
				w.seq += tc.first
				if lost[i] != w {
					t.Errorf("loss %d = %+v, want %+v", i, lost[i], w)
				}
			}
			got := [5]uint64{tr.sent, tr.received, tr.lost, tr.duplicates, tr.late}
			want := [5]uint64{tc.sent, tc.recv, tc.lost, tc.dups, tc.late}
			if got != want {
				t.Errorf("sent, received, lost, duplicates, late = %v, want %v", got, want)
			}
			if tr.up != tc.up {
				t.Errorf("up = %v, want %v", tr.up, tc.up)
			}
		})
	}
}

// TestTrackerBounded runs a tracker through many wraps of the window and of
// the 16-bit ICMP sequence number with every third echo lost: its counts
// stay exact and its memory fixed.
func TestTrackerBounded(t *testing.T) {
	tr := newTracker(100*time.Millisecond, 100*time.Millisecond, 3, 10, 1<<32-1000)
	var lost []loss
	const n = 200000
	for i := range n {
		seq, l := tr.send(at(i*100), at(i*100), lost[:0])
		lost = l
		if i%3 != 2 {
			tr.reply(seq, at(i*100+1), lost[:0])
		}
	}
	tr.expire(at(n*100), nil)
	if tr.sent != n || tr.received+tr.lost != n || tr.lost != n/3 {
		t.Errorf("sent %d, received %d, lost %d; want %d sent, %d lost", tr.sent, tr.received, tr.lost, n, n/3)
	}
	if l, w := tr.recentLoss(); w != 64 || l < 20 || l > 22 {
		t.Errorf("recent loss %d of %d, want about a third of 64", l, w)
	}
}

func TestJitter(t *testing.T) {
	j := newJitterRing(3) // two differences
	for _, ms := range []int{10, 12, 11, 20} {
		j.add(time.Duration(ms) * time.Millisecond)
	}
	// differences 2, 1, 9: the window keeps 1 and 9.
	if got, want := j.value(), 5*time.Millisecond; got != want {
		t.Errorf("jitter = %v, want %v", got, want)
	}
}

func TestPacketRoundTrip(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		b := make([]byte, 8+56)
		in := echo{id: 0xbeef, nonce: 1, token: 2, seq: 0x12345678}
		marshalEcho(b, v6, in)
		if !v6 && checksum(b) != 0 {
			t.Errorf("IPv4 checksum does not verify")
		}
		b[0] = icmp4EchoReply
		if v6 {
			b[0] = icmp6EchoReply
		}
		out, ok := parseEchoReply(b, v6)
		in.icmpSeq = 0x5678
		if !ok || out != in {
			t.Errorf("v6=%v: parsed %+v, %v; want %+v", v6, out, ok, in)
		}
		if _, ok := parseEchoReply(b[:20], v6); ok {
			t.Errorf("v6=%v: short message parsed", v6)
		}
	}
}

// TestEstimator follows RFC 6298's SRTT and RTTVAR through replies, and the
// adaptive timeout they give: the configured timeout until warmup replies,
// then SRTT + 4·RTTVAR within [min_timeout, timeout].
func TestEstimator(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	tests := []struct {
		name             string
		timeout, floor   time.Duration
		rtts             []time.Duration
		srtt, rttvar     time.Duration
		rtoBefore, rtoAt time.Duration // rto after warmup-1 replies, after all
	}{
		{
			// 2, then four of 4 ms: SRTT 2 → 2.25 → 2.46875 → 2.66015625 → 2.827636...
			// RTTVAR 1 → 1.25 → 1.375 → 1.4140625 → 1.3955078...
			name: "steady RTT, floor binds", timeout: 100 * time.Millisecond, floor: 25 * time.Millisecond,
			rtts: []time.Duration{ms(2), ms(4), ms(4), ms(4), ms(4)},
			srtt: 2827636, rttvar: 1395507,
			rtoBefore: 100 * time.Millisecond, rtoAt: 25 * time.Millisecond,
		},
		{
			name: "variable RTT above the floor", timeout: 100 * time.Millisecond, floor: ms(1),
			rtts: []time.Duration{ms(10), ms(10), ms(10), ms(10), ms(10)},
			srtt: ms(10), rttvar: ms(10) / 2 * 3 / 4 * 3 / 4 * 3 / 4 * 3 / 4,
			rtoBefore: 100 * time.Millisecond, rtoAt: ms(10) + 4*(ms(10)/2*3/4*3/4*3/4*3/4),
		},
		{
			name: "capped at the timeout", timeout: 50 * time.Millisecond, floor: ms(5),
			rtts: []time.Duration{ms(40), ms(40), ms(40), ms(40), ms(40)},
			srtt: ms(40), rttvar: ms(40) / 2 * 3 / 4 * 3 / 4 * 3 / 4 * 3 / 4,
			rtoBefore: 50 * time.Millisecond, rtoAt: 50 * time.Millisecond,
		},
		{
			name: "floor equal to the timeout: no adaptation", timeout: 100 * time.Millisecond, floor: 100 * time.Millisecond,
			rtts: []time.Duration{ms(1), ms(1), ms(1), ms(1), ms(1), ms(1)},
			srtt: ms(1), rttvar: ms(1) / 2 * 3 / 4 * 3 / 4 * 3 / 4 * 3 / 4 * 3 / 4,
			rtoBefore: 100 * time.Millisecond, rtoAt: 100 * time.Millisecond,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(tc.timeout, tc.floor, 3, 10, 0)
			for i, rtt := range tc.rtts {
				if i == warmup-1 {
					if got := tr.rto(); got != tc.rtoBefore {
						t.Errorf("rto after %d replies = %v, want %v", i, got, tc.rtoBefore)
					}
				}
				sent := at(i * 100)
				seq, _ := tr.send(sent, sent, nil)
				if k, _, _ := tr.reply(seq, sent.Add(rtt), nil); k != replyOnTime {
					t.Fatalf("reply %d: %v, want on time", i, k)
				}
			}
			if tr.srtt != tc.srtt || tr.rttvar != tc.rttvar {
				t.Errorf("srtt, rttvar = %v, %v; want %v, %v", tr.srtt, tr.rttvar, tc.srtt, tc.rttvar)
			}
			if got := tr.rto(); got != tc.rtoAt {
				t.Errorf("rto = %v, want %v", got, tc.rtoAt)
			}
			// The next echo, sent 3 ms late: an adapted deadline counts
			// from the send, the configured one from the schedule (where
			// the next send falls).
			due := at(len(tc.rtts) * 100)
			sent := due.Add(3 * time.Millisecond)
			tr.send(due, sent, nil)
			want := sent.Add(tc.rtoAt)
			if tc.rtoAt == tc.timeout {
				want = due.Add(tc.timeout)
			}
			if d, _ := tr.nextDeadline(); !d.Equal(want) {
				t.Errorf("deadline %v after the send, want %v", d.Sub(sent), want.Sub(sent))
			}
		})
	}
}

// TestAdaptiveDeadline drives a tracker with a 1 ms RTT target at 100 ms
// probing and a 25 ms floor: after warm-up a silent target's third loss is
// judged 225 ms after its first unanswered echo left, not 300 ms; the
// deadline of a send that ran late still counts from the send; a step up
// in RTT costs one late reply, after which the timeout has grown past it.
func TestAdaptiveDeadline(t *testing.T) {
	tr := newTracker(100*time.Millisecond, 25*time.Millisecond, 3, 10, 0)
	var lost []loss
	for i := range warmup {
		seq, _ := tr.send(at(i*100), at(i*100), nil)
		tr.reply(seq, at(i*100+1), nil)
	}
	// Silent from 500 ms; the send at 600 ran 10 ms late.
	_, lost = tr.send(at(500), at(500), lost)
	_, lost = tr.send(at(600), at(610), lost)
	_, lost = tr.send(at(700), at(700), lost)
	lost = tr.expire(at(800), lost)
	want := []loss{{0 + warmup, at(525), 1}, {1 + warmup, at(635), 2}, {2 + warmup, at(725), 3}}
	if len(lost) != len(want) {
		t.Fatalf("losses %+v, want %+v", lost, want)
	}
	for i := range want {
		if lost[i] != want[i] {
			t.Errorf("loss %d = %+v, want %+v", i, lost[i], want[i])
		}
	}
	if tr.up {
		t.Errorf("up after 3 losses")
	}

	// Answering again, but at 40 ms: the first reply is late, the ones
	// after it on time.
	var kinds []replyKind
	for i := range 4 {
		ms := 800 + i*100
		seq, _ := tr.send(at(ms), at(ms), nil)
		k, _, _ := tr.reply(seq, at(ms+40), nil)
		kinds = append(kinds, k)
	}
	if kinds[0] != replyLate || kinds[1] != replyOnTime || kinds[2] != replyOnTime || kinds[3] != replyOnTime {
		t.Errorf("replies after the RTT step: %v, want late then on time", kinds)
	}
	if r := tr.rto(); r <= 40*time.Millisecond {
		t.Errorf("rto %v after replies at 40 ms, want above 40ms", r)
	}
}
