package lab

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseFping(t *testing.T) {
	cut, err := os.ReadFile("testdata/fping-carrier-cut.txt")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		t.Helper()
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return time.Unix(1795328648, 0).Add(d)
	}
	for _, tc := range []struct {
		name    string
		out     string
		replies int
		runs    []FpingRun
		outage  time.Duration
		period  time.Duration
		err     string
	}{
		{
			// `fping -l -D -p 10 -t 100` across a carrier cut of the lab's
			// primary link: seq 201 to 212 timed out, each on a line of its
			// own among the replies to 213 and later.
			name:    "carrier cut",
			out:     string(cut),
			replies: 25,
			runs:    []FpingRun{{Lost: 12, Before: at("788.650ms"), After: at("921.405ms")}},
			outage:  122543076, // 132.755 ms × 12/13
			period:  10194777,  // 367.012 ms over 36 sends
		},
		{
			name:    "no loss",
			out:     "[1795328648.00010] 198.18.0.10 : [0], 64 bytes, 0.010 ms (0.010 avg, 0% loss)\n[1795328648.01010] 198.18.0.10 : [1], 64 bytes, 0.010 ms (0.010 avg, 0% loss)\n",
			replies: 2,
			period:  10 * time.Millisecond,
		},
		{
			name: "losses before the first reply and after the last count for nothing",
			out: "[1795328648.10000] 198.18.0.10 : [0], timed out (NaN avg, 100% loss)\n" +
				"[1795328648.02000] 198.18.0.10 : [1], 64 bytes, 0.000 ms (0.000 avg, 50% loss)\n" +
				"[1795328648.13000] 198.18.0.10 : [2], timed out (0.000 avg, 66% loss)\n",
			replies: 1,
		},
		{
			name: "two runs",
			out: "[1795328648.00000] 198.18.0.10 : [0], 64 bytes, 0.000 ms (0.000 avg, 0% loss)\n" +
				"[1795328648.03000] 198.18.0.10 : [3], 64 bytes, 0.000 ms (0.000 avg, 40% loss)\n" +
				"[1795328648.04000] 198.18.0.10 : [4], 64 bytes, 0.000 ms (0.000 avg, 40% loss)\n" +
				"[1795328648.06000] 198.18.0.10 : [6], 64 bytes, 0.000 ms (0.000 avg, 42% loss)\n",
			replies: 4,
			runs:    []FpingRun{{Lost: 2, Before: at("0s"), After: at("30ms")}, {Lost: 1, Before: at("40ms"), After: at("60ms")}},
			outage:  30 * time.Millisecond,
			period:  10 * time.Millisecond,
		},
		{
			name: "without -D",
			out:  "198.18.0.10 : [0], 64 bytes, 0.010 ms (0.010 avg, 0% loss)\n",
			err:  "run fping with -D",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFping(strings.NewReader(tc.out))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Replies != tc.replies {
				t.Errorf("replies = %d, want %d", f.Replies, tc.replies)
			}
			if len(f.Runs) != len(tc.runs) {
				t.Fatalf("runs = %+v, want %+v", f.Runs, tc.runs)
			}
			lost := 0
			for i, r := range f.Runs {
				w := tc.runs[i]
				if r.Lost != w.Lost || !r.Before.Equal(w.Before) || !r.After.Equal(w.After) {
					t.Errorf("run %d = %d lost, sends %s and %s; want %d lost, %s and %s", i,
						r.Lost, r.Before.Format(time.StampMicro), r.After.Format(time.StampMicro),
						w.Lost, w.Before.Format(time.StampMicro), w.After.Format(time.StampMicro))
				}
				lost += w.Lost
			}
			if f.Lost() != lost {
				t.Errorf("Lost() = %d, want %d", f.Lost(), lost)
			}
			if got := f.Outage(); got != tc.outage {
				t.Errorf("Outage() = %s, want %s", got, tc.outage)
			}
			if got := f.Period(); got != tc.period {
				t.Errorf("Period() = %s, want %s", got, tc.period)
			}
		})
	}
}
