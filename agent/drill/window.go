package drill

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/dxwatch/dxwatch/agent/history"
)

// RecordWindow marks the drill's window in the availability ledger of the
// state directory dir (the daemon's --storage.path), so that `dxwatch
// report` lists the drill's outage as a drill, not as downtime. The drill
// runs in its own process: it appends to its own monthly file
// (drills-YYYY-MM.jsonl), never to the daemon's. The start record carries
// the latest the drill can end (warm-up, two timeouts, the hold and a
// minute for the restore), so a drill killed before it could write its
// end still has a bounded window. It returns the function that records
// the end; with dir empty, or a dry run, it records nothing. A directory
// the drill cannot write is reported on progress and skipped: the drill
// is not refused for it.
func RecordWindow(dir string, o Options, now func() time.Time, logger *slog.Logger) (end func()) {
	o.defaults()
	if dir == "" || o.DryRun || !o.Yes {
		return func() {}
	}
	l := history.OpenDrillLedger(dir, history.LedgerOptions{Now: now}, logger)
	start := now()
	id := strconv.FormatInt(start.UnixNano(), 36)
	until := start.Add(o.Warmup + 2*o.Timeout + o.Hold + time.Minute).UTC()
	if !l.Write(history.Record{Time: start, Kind: history.RecDrillStart, ID: id, Until: &until, Note: "dxwatch drill"}) {
		fmt.Fprintf(o.Progress, "drill window NOT recorded in %s (see the log): `dxwatch report` will count this drill's outage as downtime unless the window is declared under report.maintenance\n", dir)
		l.Close()
		return func() {}
	}
	return func() {
		l.Write(history.Record{Time: now(), Kind: history.RecDrillEnd, ID: id})
		l.Close()
	}
}
