package history

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
)

// The availability ledger: what is needed to say, for any instant, whether
// each link (and so the site) was up, down or not observed. README.md
// ("The availability ledger") documents the format and its bound.

// File name prefixes of the ledger, one file per calendar month (UTC):
// availability-2026-11.jsonl, written by the daemon, and
// drills-2026-11.jsonl, appended to by `dxwatch drill` (another process:
// it never writes the daemon's file).
const (
	LedgerPrefix = "availability-"
	DrillPrefix  = "drills-"
	ledgerExt    = ".jsonl"
	monthLayout  = "2006-01"
)

// Defaults of LedgerOptions.
const (
	// DefaultBeat is the heartbeat interval: a stop (crash, power loss,
	// SIGKILL) shows as a gap that ends at the last heartbeat.
	DefaultBeat = 60 * time.Second
	// DefaultMonthMaxBytes bounds one month's file. Heartbeats of a
	// two-link site take about 4 MB a month; a link change with its
	// evidence at most MaxEvidenceBytes more.
	DefaultMonthMaxBytes = 16 << 20
	// DefaultMonthsKept is how many monthly files are kept (13: a year
	// back from any day of the current month).
	DefaultMonthsKept = 13
	// MaxEvidenceBytes bounds the evidence kept with one change.
	MaxEvidenceBytes = 8 << 10
)

// RecordKind says what a ledger Record records.
type RecordKind string

// Record kinds.
const (
	// RecStart: the daemon began watching (or took a new configuration).
	// States holds every link's state then (unknown at a cold start), and
	// PeeringStates every dual-stack link's peerings' states.
	RecStart RecordKind = "start"
	// RecBeat: the daemon was watching at Time; States holds every link's
	// state, PeeringStates every dual-stack link's peerings' states.
	RecBeat RecordKind = "beat"
	// RecLink: link Link changed to State (from Previous), for Cause;
	// Evidence is the snapshot taken with a change to down. With Family
	// set, it is one peering of a dual-stack link that changed; without,
	// the link as a whole (a dual-stack link's summary).
	RecLink RecordKind = "link"
	// RecStop: the daemon stopped watching (a clean shutdown).
	RecStop RecordKind = "stop"
	// RecDrillStart, RecDrillEnd: a `dxwatch drill` window (ID pairs
	// them). A start without its end lasts until Until, the latest the
	// drill could have run.
	RecDrillStart RecordKind = "drill_start"
	RecDrillEnd   RecordKind = "drill_end"
)

// Record is one line of the ledger. Fields that do not apply to its kind
// are empty. Family names the peering (FamilyIPv4, FamilyIPv6) of a
// dual-stack link a link record is about: empty means the link as a
// whole. PeeringStates, in start, beat and stop records, holds the state
// of each peering of the dual-stack links, keyed by PeeringKey; it is
// absent from single-family sites and from ledgers written before it
// existed (a reader then has no peering state until a record gives one).
type Record struct {
	Time     time.Time               `json:"t"`
	Kind     RecordKind              `json:"k"`
	Link     string                  `json:"link,omitempty"`
	Family   string                  `json:"family,omitempty"`
	State    health.State            `json:"state,omitempty"`
	Previous health.State            `json:"prev,omitempty"`
	Cause    string                  `json:"cause,omitempty"`
	States   map[string]health.State `json:"states,omitempty"`
	// PeeringStates: keyed "link/family", e.g. "primary/ipv6".
	PeeringStates map[string]health.State `json:"peering_states,omitempty"`
	Evidence      *Evidence               `json:"evidence,omitempty"`
	ID            string                  `json:"id,omitempty"`
	Until         *time.Time              `json:"until,omitempty"`
	Note          string                  `json:"note,omitempty"`
}

// PeeringKey names one peering of a dual-stack link in
// Record.PeeringStates: "primary/ipv6".
func PeeringKey(link, family string) string { return link + "/" + family }

// Evidence is what dxwatch saw about a link when it went down: a compact
// copy of the link's part of the status, as /api/status showed it then.
type Evidence struct {
	// Reasons are the rules that took the link down, as the health model
	// words them.
	Reasons []string `json:"reasons,omitempty"`
	// Facts are the BGP sessions (seen by BMP), expected prefixes, AWS
	// checks (API and CloudWatch) and traces about the link, and the BGP
	// feeds from the edge routers.
	Facts []health.Evidence `json:"facts,omitempty"`
	// Echoes are the link's pinned echoes (to its Amazon peer) and the
	// VPC targets' echoes.
	Echoes []Echo `json:"echoes,omitempty"`
	// Timeline is the link's part of the failover in progress: BGP
	// session and prefix events with their causes, path changes.
	Timeline []health.TimelineStep `json:"timeline,omitempty"`
	// Truncated is set when the snapshot was cut to MaxEvidenceBytes.
	Truncated bool `json:"truncated,omitempty"`
}

// Echo sums up one pinged target's recent echoes.
type Echo struct {
	Target string `json:"target"`
	// Kind is "amazon_peer" (pinned to the link) or "vpc_target".
	Kind            string     `json:"kind"`
	Sent            int        `json:"sent"`
	Lost            int        `json:"lost"`
	ConsecutiveLost int        `json:"consecutive_lost"`
	LastReply       *time.Time `json:"last_reply,omitempty"`
}

// Echo kinds.
const (
	EchoAmazonPeer = "amazon_peer"
	EchoVPCTarget  = "vpc_target"
)

// Snapshot takes the evidence about link from a status (taken as the
// link went down), bounded to MaxEvidenceBytes.
func Snapshot(st health.Status, link string) *Evidence {
	ev := &Evidence{}
	for _, ls := range st.Links {
		if ls.Name != link {
			continue
		}
		ev.Reasons = ls.Reasons
		for _, f := range ls.Evidence {
			if f.Fresh {
				ev.Facts = append(ev.Facts, f)
			}
		}
		for _, e := range ls.Echo {
			ev.Echoes = append(ev.Echoes, echoOf(e, EchoAmazonPeer))
		}
	}
	for _, f := range st.Feeds {
		if f.Fresh {
			ev.Facts = append(ev.Facts, f)
		}
	}
	for _, t := range st.Targets {
		if t.Echo != nil {
			ev.Echoes = append(ev.Echoes, echoOf(*t.Echo, EchoVPCTarget))
		}
	}
	if st.InProgress != nil {
		for _, s := range st.InProgress.Timeline {
			if s.Link == link || s.Link == "" {
				ev.Timeline = append(ev.Timeline, s)
			}
		}
	}
	ev.bound()
	return ev
}

func echoOf(e health.EchoStatus, kind string) Echo {
	lost := int(e.LossRatio*float64(e.Samples) + 0.5)
	return Echo{Target: e.Target, Kind: kind, Sent: e.Samples, Lost: lost, ConsecutiveLost: e.ConsecutiveLost, LastReply: e.LastReply}
}

// bound drops the least telling parts (the oldest timeline steps, then
// facts and echoes from the end) until the snapshot fits.
func (ev *Evidence) bound() {
	for {
		b, _ := json.Marshal(ev)
		if len(b) <= MaxEvidenceBytes {
			return
		}
		ev.Truncated = true
		switch {
		case len(ev.Timeline) > 0:
			ev.Timeline = ev.Timeline[1:]
		case len(ev.Facts) > 0:
			ev.Facts = ev.Facts[:len(ev.Facts)-1]
		case len(ev.Echoes) > 0:
			ev.Echoes = ev.Echoes[:len(ev.Echoes)-1]
		case len(ev.Reasons) > 0:
			ev.Reasons = ev.Reasons[:len(ev.Reasons)-1]
		default:
			return
		}
	}
}

// LedgerOptions bound the ledger.
type LedgerOptions struct {
	// MonthMaxBytes bounds one month's file; records past it are dropped
	// (the time they cover then reads as not observed). Zero means
	// DefaultMonthMaxBytes.
	MonthMaxBytes int64
	// MonthsKept is how many monthly files are kept; older ones are
	// removed when the ledger opens. Zero means DefaultMonthsKept.
	MonthsKept int
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

func (o *LedgerOptions) defaults() {
	if o.MonthMaxBytes <= 0 {
		o.MonthMaxBytes = DefaultMonthMaxBytes
	}
	if o.MonthsKept <= 0 {
		o.MonthsKept = DefaultMonthsKept
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Ledger appends records to the month's file of a prefix. A ledger that
// cannot write logs it once until a write succeeds again; it never stops
// the agent.
type Ledger struct {
	dir    string
	prefix string
	opts   LedgerOptions
	log    *slog.Logger

	store *Store // counts failures on its metrics; nil: none

	mu      sync.Mutex
	f       *os.File
	month   string
	size    int64
	full    bool // this month's file reached MonthMaxBytes
	failed  bool
	dropped int
}

// OpenLedger opens the daemon's ledger in dir, removing monthly files
// older than MonthsKept. Nothing is read: `dxwatch report` and /api/report
// read with ReadLedger.
func OpenLedger(dir string, opts LedgerOptions, logger *slog.Logger) *Ledger {
	return openLedger(dir, LedgerPrefix, opts, logger)
}

// Ledger opens the daemon's ledger beside the event history, in the same
// directory: a failed or dropped write counts on the store's metrics
// (dxwatch_storage_errors_total{op="write"}, dxwatch_storage_ok 0), so
// that DXWatchStorageFailing covers the ledger too.
func (s *Store) Ledger(opts LedgerOptions, logger *slog.Logger) *Ledger {
	l := openLedger(s.dir, LedgerPrefix, opts, logger)
	l.store = s
	return l
}

// OpenDrillLedger opens the drill windows' ledger in dir, as `dxwatch
// drill` writes it.
func OpenDrillLedger(dir string, opts LedgerOptions, logger *slog.Logger) *Ledger {
	return openLedger(dir, DrillPrefix, opts, logger)
}

func openLedger(dir, prefix string, opts LedgerOptions, logger *slog.Logger) *Ledger {
	opts.defaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Ledger{dir: dir, prefix: prefix, opts: opts, log: logger}
	l.prune()
	return l
}

// prune removes this prefix's monthly files older than MonthsKept.
func (l *Ledger) prune() {
	names, _ := filepath.Glob(filepath.Join(l.dir, l.prefix+"*"+ledgerExt))
	oldest := monthStart(l.opts.Now()).AddDate(0, 1-l.opts.MonthsKept, 0)
	for _, n := range names {
		m, err := time.Parse(monthLayout, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(n), l.prefix), ledgerExt))
		if err != nil || !m.Before(oldest) {
			continue
		}
		if err := os.Remove(n); err != nil {
			l.log.Warn("availability ledger: could not remove an expired month", "file", n, "err", err)
		}
	}
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Write appends r to the file of r's month (UTC). It reports whether the
// record was written.
func (l *Ledger) Write(r Record) bool {
	r.Time = r.Time.UTC()
	b, err := json.Marshal(r)
	if err != nil {
		l.fail(fmt.Errorf("encode %s record: %w", r.Kind, err))
		return false
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	month := r.Time.Format(monthLayout)
	if l.f == nil || month != l.month {
		if err := l.openMonth(month); err != nil {
			l.failLocked(err)
			return false
		}
	}
	if l.size+int64(len(b)) > l.opts.MonthMaxBytes {
		l.dropped++
		if l.store != nil {
			l.store.writeFailed(fmt.Errorf("availability ledger %s reached its bound of %d bytes", l.path(month), l.opts.MonthMaxBytes))
		}
		if !l.full {
			l.full = true
			l.log.Error("availability ledger: this month's file reached its bound; records are dropped until next month and the time they cover reads as not observed",
				"file", l.path(month), "bytes", l.size, "fix", "look for a flapping link (thousands of state changes); the bound is history.DefaultMonthMaxBytes")
		}
		return false
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	if err != nil {
		l.failLocked(fmt.Errorf("append %s record: %w", r.Kind, err))
		return false
	}
	if l.failed {
		l.failed = false
		l.log.Info("availability ledger: writing again", "dir", l.dir)
	}
	return true
}

func (l *Ledger) path(month string) string {
	return filepath.Join(l.dir, l.prefix+month+ledgerExt)
}

func (l *Ledger) openMonth(month string) error {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	if err := os.MkdirAll(l.dir, 0o750); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	f, err := os.OpenFile(l.path(month), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("open availability ledger: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open availability ledger: %w", err)
	}
	l.f, l.month, l.size, l.full = f, month, fi.Size(), false
	return nil
}

func (l *Ledger) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failLocked(err)
}

func (l *Ledger) failLocked(err error) {
	if l.store != nil {
		l.store.writeFailed(err)
	}
	if !l.failed {
		l.failed = true
		l.log.Error("availability ledger: write failed; the time until writes succeed again reads as not observed", "dir", l.dir, "err", err)
	}
}

// Dropped returns how many records were dropped because a month's file
// reached its bound.
func (l *Ledger) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// Close closes the current file.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// ReadLedger returns the records of both ledgers in dir that may bear on
// [from, to): those of the months from the one before from (the states
// holding when the range begins) to the month of to (the records just
// after the range tell whether its last seconds were observed), ordered
// by time. A
// line that does not decode (a torn last write) is skipped and counted in
// skipped. A missing directory or month is empty, not an error.
func ReadLedger(dir string, from, to time.Time) (recs []Record, skipped int, err error) {
	if !to.After(from) {
		return nil, 0, fmt.Errorf("read the availability ledger: the range ends (%s) before it starts (%s)", to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	}
	for m := monthStart(from).AddDate(0, -1, 0); !m.After(to); m = m.AddDate(0, 1, 0) {
		for _, prefix := range []string{LedgerPrefix, DrillPrefix} {
			rs, bad, err := readMonth(filepath.Join(dir, prefix+m.Format(monthLayout)+ledgerExt))
			if err != nil {
				return nil, skipped, err
			}
			if m.Before(monthStart(from)) {
				rs = lastStates(rs)
			}
			recs = append(recs, rs...)
			skipped += bad
		}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time.Before(recs[j].Time) })
	return recs, skipped, nil
}

// lastStates keeps, of the month before a range, what bears on the range:
// the records from its last start, heartbeat or stop on (every link's
// state then), each link's last change before that (the cause of an
// outage that goes on into the range) and the drill windows.
func lastStates(rs []Record) []Record {
	cut := -1
	for i, r := range rs {
		if r.Kind == RecStart || r.Kind == RecBeat || r.Kind == RecStop {
			cut = i
		}
	}
	if cut <= 0 {
		return rs
	}
	type key struct{ link, family string }
	last := map[key]int{}
	var keep []Record
	for i, r := range rs[:cut] {
		switch r.Kind {
		case RecLink:
			last[key{r.Link, r.Family}] = i
		case RecDrillStart, RecDrillEnd:
			keep = append(keep, r)
		}
	}
	for i, r := range rs[:cut] {
		if r.Kind == RecLink && last[key{r.Link, r.Family}] == i {
			keep = append(keep, r)
		}
	}
	return append(keep, rs[cut:]...)
}

func readMonth(path string) ([]Record, int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read the availability ledger: %w", err)
	}
	defer f.Close()
	var recs []Record
	bad := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Kind == "" || r.Time.IsZero() {
			bad++
			continue
		}
		recs = append(recs, r)
	}
	if sc.Err() != nil {
		bad++
	}
	return recs, bad, nil
}
