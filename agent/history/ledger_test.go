package history

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dxwatch/dxwatch/agent/health"
)

func TestLedgerMonthsAndOrder(t *testing.T) {
	dir := t.TempDir()
	nov := time.Date(2026, 11, 30, 23, 59, 30, 0, time.UTC)
	l := OpenLedger(dir, LedgerOptions{Now: func() time.Time { return nov }}, nil)
	d := OpenDrillLedger(dir, LedgerOptions{Now: func() time.Time { return nov }}, nil)
	t.Cleanup(func() { l.Close(); d.Close() })
	up := map[string]health.State{"primary": health.StateUp}
	for _, r := range []Record{
		{Time: nov, Kind: RecStart, States: map[string]health.State{"primary": health.StateUnknown}},
		{Time: nov.Add(10 * time.Second), Kind: RecLink, Link: "primary", State: health.StateUp, Previous: health.StateUnknown},
		{Time: nov.Add(60 * time.Second), Kind: RecBeat, States: up}, // December
	} {
		if !l.Write(r) {
			t.Fatalf("record %s not written", r.Kind)
		}
	}
	if !d.Write(Record{Time: nov.Add(20 * time.Second), Kind: RecDrillStart, ID: "d1"}) {
		t.Fatal("drill record not written")
	}
	for _, name := range []string{"availability-2026-11.jsonl", "availability-2026-12.jsonl", "drills-2026-11.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	// A torn last line is skipped and counted.
	f, err := os.OpenFile(filepath.Join(dir, "availability-2026-12.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"t":"2026-12-01T00:01:00Z","k":"be`)
	f.Close()
	recs, bad, err := ReadLedger(dir, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, string(r.Kind))
	}
	if got, want := strings.Join(kinds, ","), "start,link,drill_start,beat"; got != want || bad != 1 {
		t.Errorf("records %s (skipped %d), want %s (skipped 1): the month before the range is read, in time order", got, bad, want)
	}
	if _, _, err := ReadLedger(dir, nov, nov); err == nil {
		t.Error("an empty range is not an error")
	}
}

func TestLedgerBoundAndPrune(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	old := filepath.Join(dir, "availability-2025-10.jsonl")
	kept := filepath.Join(dir, "availability-2025-11.jsonl")
	for _, p := range []string{old, kept} {
		if err := os.WriteFile(p, []byte("{}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l := OpenLedger(dir, LedgerOptions{MonthMaxBytes: 200, Now: func() time.Time { return now }}, nil)
	t.Cleanup(func() { l.Close() })
	if _, err := os.Stat(old); err == nil {
		t.Error("a month older than the 13 kept is still there")
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("the 13th month back was removed: %v", err)
	}
	n := 0
	for i := range 10 {
		if l.Write(Record{Time: now.Add(time.Duration(i) * time.Minute), Kind: RecBeat}) {
			n++
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "availability-2026-11.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 200 || n == 10 || l.Dropped() != 10-n {
		t.Errorf("file %d bytes, %d written, %d dropped: want at most 200 bytes and the rest dropped", fi.Size(), n, l.Dropped())
	}
}

func TestSnapshotBounded(t *testing.T) {
	st := health.Status{Links: []health.LinkStatus{{Name: "primary", Reasons: []string{"data plane down (5 echoes to 169.254.0.1 lost in a row)"},
		Echo:     []health.EchoStatus{{Target: "169.254.0.1", Fresh: true, Samples: 20, LossRatio: 0.25, ConsecutiveLost: 5}},
		Evidence: []health.Evidence{{Source: "bgp_session", Name: "edge1", OK: true, Fresh: true}, {Source: "aws", Name: "stale", Fresh: false}}}},
		Targets: []health.TargetStatus{{Name: "vpc1", Echo: &health.EchoStatus{Target: "vpc1", Samples: 10, LossRatio: 0.5}}}}
	st.InProgress = &health.Event{}
	for i := range 500 {
		st.InProgress.Timeline = append(st.InProgress.Timeline, health.TimelineStep{What: health.StepSessionDown, Link: "primary", Detail: strings.Repeat("x", 40) + string(rune('a'+i%26))})
	}
	ev := Snapshot(st, "primary")
	if len(ev.Facts) != 1 || ev.Facts[0].Name != "edge1" {
		t.Errorf("facts %+v: want the fresh one only", ev.Facts)
	}
	if len(ev.Echoes) != 2 || ev.Echoes[0].Sent != 20 || ev.Echoes[0].Lost != 5 || ev.Echoes[0].Kind != EchoAmazonPeer || ev.Echoes[1].Lost != 5 {
		t.Errorf("echoes %+v", ev.Echoes)
	}
	if !ev.Truncated || len(ev.Timeline) == 0 || len(ev.Timeline) == 500 {
		t.Errorf("timeline of %d steps, truncated %v: want it cut to the bound", len(ev.Timeline), ev.Truncated)
	}
}

// TestLedgerFailuresCountOnTheStore: the daemon's ledger, opened from the
// event history, counts its failed and dropped writes on the history's
// metrics, so that DXWatchStorageFailing covers it.
func TestLedgerFailuresCountOnTheStore(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Options{})
	l := s.Ledger(LedgerOptions{MonthMaxBytes: 100, Now: func() time.Time { return t0 }}, nil)
	t.Cleanup(func() { l.Close() })
	for i := range 5 {
		l.Write(Record{Time: t0.Add(time.Duration(i) * time.Minute), Kind: RecBeat})
	}
	if l.Dropped() == 0 {
		t.Fatal("nothing dropped past a 100-byte bound")
	}
	if got := testutil.ToFloat64(s.errs.WithLabelValues("write")); got != float64(l.Dropped()) || testutil.ToFloat64(s.ok) != 0 {
		t.Errorf("write errors %v, storage ok %v: want %d dropped records counted and ok 0", got, testutil.ToFloat64(s.ok), l.Dropped())
	}
}

// TestReadLedgerKeepsOfTheMonthBefore: of the month before the range only
// what bears on it is kept: the last heartbeat on, each link's last change
// (the cause of an outage going on into the range), the drill windows.
func TestReadLedgerKeepsOfTheMonthBefore(t *testing.T) {
	dir := t.TempDir()
	oct := time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC)
	l := OpenLedger(dir, LedgerOptions{Now: func() time.Time { return oct }}, nil)
	d := OpenDrillLedger(dir, LedgerOptions{Now: func() time.Time { return oct }}, nil)
	t.Cleanup(func() { l.Close(); d.Close() })
	l.Write(Record{Time: oct, Kind: RecStart})
	l.Write(Record{Time: oct.Add(time.Second), Kind: RecLink, Link: "primary", State: health.StateUp})
	l.Write(Record{Time: oct.Add(time.Hour), Kind: RecLink, Link: "primary", State: health.StateDown, Cause: "the cause"})
	d.Write(Record{Time: oct.Add(2 * time.Hour), Kind: RecDrillStart, ID: "d1"})
	for i := range 100 {
		l.Write(Record{Time: oct.Add(3*time.Hour + time.Duration(i)*time.Minute), Kind: RecBeat})
	}
	l.Write(Record{Time: oct.Add(5 * time.Hour), Kind: RecLink, Link: "secondary", State: health.StateDown})
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	recs, _, err := ReadLedger(dir, nov, nov.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Kind)+":"+r.Link+":"+r.Cause)
	}
	if want := "link:primary:the cause drill_start:: beat:: link:secondary:"; strings.Join(got, " ") != want {
		t.Errorf("records kept of October: %q, want %q", strings.Join(got, " "), want)
	}
}

// TestLedgerPeeringStates: a heartbeat carries the dual-stack links'
// peering states under "peering_states", omitted when there are none (a
// single-family site's line is as before), and a ledger written before the
// field existed still reads.
func TestLedgerPeeringStates(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	l := OpenLedger(dir, LedgerOptions{Now: func() time.Time { return at }}, nil)
	t.Cleanup(func() { l.Close() })
	l.Write(Record{Time: at, Kind: RecBeat, States: map[string]health.State{"primary": health.StateUp}})
	l.Write(Record{Time: at.Add(time.Minute), Kind: RecBeat, States: map[string]health.State{"primary": health.StateDegraded},
		PeeringStates: map[string]health.State{PeeringKey("primary", "ipv4"): health.StateUp, PeeringKey("primary", "ipv6"): health.StateDown}})
	l.Close()
	// A line as the ledger wrote it before peering states.
	f, err := os.OpenFile(filepath.Join(dir, "availability-2026-11.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"t":"2026-11-03T10:02:00Z","k":"beat","states":{"primary":"up"}}` + "\n")
	f.Close()
	b, err := os.ReadFile(filepath.Join(dir, "availability-2026-11.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{
		`{"t":"2026-11-03T10:00:00Z","k":"beat","states":{"primary":"up"}}`,
		`{"t":"2026-11-03T10:01:00Z","k":"beat","states":{"primary":"degraded"},"peering_states":{"primary/ipv4":"up","primary/ipv6":"down"}}`,
		`{"t":"2026-11-03T10:02:00Z","k":"beat","states":{"primary":"up"}}`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("ledger lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	recs, bad, err := ReadLedger(dir, at, at.Add(time.Hour))
	if err != nil || bad != 0 || len(recs) != 3 {
		t.Fatalf("read %d records, %d skipped, %v; want 3, none skipped", len(recs), bad, err)
	}
	if recs[0].PeeringStates != nil || recs[1].PeeringStates["primary/ipv6"] != health.StateDown || recs[2].PeeringStates != nil {
		t.Errorf("peering states read back: %v, %v, %v", recs[0].PeeringStates, recs[1].PeeringStates, recs[2].PeeringStates)
	}
}
