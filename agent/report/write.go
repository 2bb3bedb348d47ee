package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Formats lists the output formats, as --format and /api/report's
// format= take them.
var Formats = []string{"markdown", "json", "csv"}

// Write writes r in format (one of Formats).
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case "markdown", "md":
		return r.WriteMarkdown(w)
	case "json":
		return r.WriteJSON(w)
	case "csv":
		return r.WriteCSV(w)
	}
	return fmt.Errorf("format %q: want %s", format, strings.Join(Formats, ", "))
}

// WriteJSON writes r as indented JSON, durations in seconds.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// CSVHeader is the header line of WriteCSV.
var CSVHeader = []string{"site", "scope", "link", "start", "end", "duration_seconds", "down_seconds", "not_observed_seconds", "ongoing",
	"connection_ids", "vif_ids", "dx_gateway_id", "cause", "side", "side_why", "family"}

// WriteCSV writes one line per incident, for a spreadsheet or a claim
// form: times in RFC 3339 UTC, durations in whole seconds, lists joined
// by spaces. A peering's incident (scope "peering") names its address
// family in the last column, empty for the others.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	secs := func(d Seconds) string {
		return strconv.FormatInt(int64(time.Duration(d).Round(time.Second)/time.Second), 10)
	}
	for _, inc := range r.Incidents {
		cw.Write([]string{r.Site, inc.Scope, inc.Link, inc.Start.Format(time.RFC3339), inc.End.Format(time.RFC3339),
			secs(inc.Duration), secs(inc.Down), secs(inc.NotObserved), strconv.FormatBool(inc.Ongoing),
			strings.Join(inc.ConnectionIDs, " "), strings.Join(inc.VIFIDs, " "), inc.DXGatewayID, inc.Cause, inc.Side, inc.SideWhy, inc.Family})
	}
	cw.Flush()
	return cw.Error()
}
