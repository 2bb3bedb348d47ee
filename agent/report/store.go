package report

import (
	"fmt"
	"time"

	"github.com/dxwatch/dxwatch/agent/history"
)

// Month returns the range of a calendar month in UTC written as
// 2026-11.
func Month(s string) (from, to time.Time, err error) {
	from, err = time.Parse("2006-01", s)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("month %q: want a year and month such as 2026-11", s)
	}
	return from, from.AddDate(0, 1, 0), nil
}

// FromStore reads the ledger in the state directory dir and builds the
// report of [in.From, in.To): in.Records and in.Skipped are filled from
// the files.
func FromStore(dir string, in Input) (*Report, error) {
	if !in.To.After(in.From) {
		return nil, fmt.Errorf("report: the range ends (%s) before it starts (%s)", in.To.UTC().Format(time.RFC3339), in.From.UTC().Format(time.RFC3339))
	}
	recs, skipped, err := history.ReadLedger(dir, in.From, in.To)
	if err != nil {
		return nil, err
	}
	in.Records, in.Skipped = recs, skipped
	return Build(in)
}

// ParseRange reads a report's range as `dxwatch report` and /api/report
// take it: a month (2026-11), or from and to (RFC 3339, or a date
// 2026-11-03 meaning its midnight UTC), or neither: the month of now.
func ParseRange(month, from, to string, now time.Time) (time.Time, time.Time, error) {
	switch {
	case month != "" && (from != "" || to != ""):
		return time.Time{}, time.Time{}, fmt.Errorf("give a month or from and to, not both")
	case month != "":
		return Month(month)
	case from == "" && to == "":
		return Month(now.UTC().Format("2006-01"))
	case from == "" || to == "":
		return time.Time{}, time.Time{}, fmt.Errorf("give both from and to (RFC 3339 such as 2026-11-03T00:00:00Z, or a date such as 2026-11-03)")
	}
	f, err := instant("from", from)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	t, err := instant("to", to)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !t.After(f) {
		return time.Time{}, time.Time{}, fmt.Errorf("to (%s) is not after from (%s)", to, from)
	}
	return f, t, nil
}

func instant(name, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want RFC 3339 such as 2026-11-03T00:00:00Z, or a date such as 2026-11-03", name, s)
}
