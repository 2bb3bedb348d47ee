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
