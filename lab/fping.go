package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FpingRun is a run of consecutive echoes that `fping -l` lost between two
// replies.
type FpingRun struct {
	Lost int // echoes lost in a row
	// Before and After are when the echoes answered just before and just
	// after the run were sent (reply time less RTT).
	Before, After time.Time
}

// Outage is the time without connectivity the run stands for, measured as
// dxwatch measures its own (outage_seconds, agent/health): the span
// between the sends of the echoes answered before and after covers Lost+1
// send intervals, Lost of them lost. It is within one fping interval of
// the real interruption; Lost × the -p period is not, since -p is only the
// shortest time between two sends and fping often sends later.
func (r FpingRun) Outage() time.Duration {
	return r.After.Sub(r.Before) * time.Duration(r.Lost) / time.Duration(r.Lost+1)
}

// Fping is what `fping -l -D` printed for one target.
type Fping struct {
	Replies int
	// Runs are the losses between the first and the last reply, in order:
	// echoes lost before the first reply or after the last say nothing,
	// fping was started or stopped then.
	Runs []FpingRun
	// First and Last are when the first and the last answered echo were
	// sent, FirstSeq and LastSeq their sequence numbers.
	First, Last       time.Time
	FirstSeq, LastSeq int
}

// Lost is how many echoes went unanswered between the first and the last
// reply.
func (f Fping) Lost() int {
	n := 0
	for _, r := range f.Runs {
		n += r.Lost
	}
	return n
}

// Outage is the sum of the runs' outages.
func (f Fping) Outage() time.Duration {
	var d time.Duration
	for _, r := range f.Runs {
		d += r.Outage()
	}
	return d
}

// Longest is the run with the most echoes lost (the first of equals), or
// the zero run when nothing was lost.
func (f Fping) Longest() FpingRun {
	var w FpingRun
	for _, r := range f.Runs {
		if r.Lost > w.Lost {
			w = r
		}
	}
	return w
}

// Period is fping's mean time between two sends, from the first to the
// last answered echo: -p sets only its minimum.
func (f Fping) Period() time.Duration {
	if f.LastSeq <= f.FirstSeq {
		return 0
	}
	return f.Last.Sub(f.First) / time.Duration(f.LastSeq-f.FirstSeq)
}

var (
	// "[1795328585.78871] 198.18.0.10 : [198], 64 bytes, 0.026 ms (0.031 avg, 0% loss)"
	fpingReply = regexp.MustCompile(`^\[(\d+)\.(\d+)\] \S+ : \[(\d+)\], \d+ bytes, ([\d.]+) ms`)
	// the same without -D
	fpingReplyNoTime = regexp.MustCompile(`^\S+ : \[\d+\], \d+ bytes, `)
)

// ParseFping reads what `fping -l -D` printed toward one target. Only reply
// lines count as replies: fping 5 prints a lost echo as a line of its own
// ("198.18.0.10 : [201], timed out (...)"), and ICMP errors on stderr.
func ParseFping(r io.Reader) (Fping, error) {
	sent := map[int]time.Time{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		m := fpingReply.FindStringSubmatch(line)
		if m == nil {
			if fpingReplyNoTime.MatchString(line) {
				return Fping{}, errors.New("fping output without timestamps: run fping with -D")
			}
			continue
		}
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		frac := (m[2] + "000000000")[:9]
		nsec, _ := strconv.ParseInt(frac, 10, 64)
		seq, _ := strconv.Atoi(m[3])
		ms, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return Fping{}, fmt.Errorf("fping line %q: rtt: %w", line, err)
		}
		rtt := time.Duration(ms * float64(time.Millisecond))
		sent[seq] = time.Unix(sec, nsec).Add(-rtt)
	}
	if err := sc.Err(); err != nil {
		return Fping{}, fmt.Errorf("read fping output: %w", err)
	}
	f := Fping{Replies: len(sent)}
	if len(sent) == 0 {
		return f, nil
	}
	seqs := make([]int, 0, len(sent))
	for s := range sent {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	f.FirstSeq, f.LastSeq = seqs[0], seqs[len(seqs)-1]
	f.First, f.Last = sent[f.FirstSeq], sent[f.LastSeq]
	for i := 1; i < len(seqs); i++ {
		if lost := seqs[i] - seqs[i-1] - 1; lost > 0 {
			f.Runs = append(f.Runs, FpingRun{Lost: lost, Before: sent[seqs[i-1]], After: sent[seqs[i]]})
		}
	}
	return f, nil
}

// String sums f up for a test's log.
func (f Fping) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d replies, %d lost, mean period %s", f.Replies, f.Lost(), f.Period().Round(10*time.Microsecond))
	for _, r := range f.Runs {
		fmt.Fprintf(&b, "; %d lost in a row (sends %s apart, outage %s)", r.Lost,
			r.After.Sub(r.Before).Round(100*time.Microsecond), r.Outage().Round(100*time.Microsecond))
	}
	return b.String()
}
