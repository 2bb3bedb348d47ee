package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/dxwatch/dxwatch/agent"
	"github.com/dxwatch/dxwatch/agent/report"
)

func reportCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("report", stderr)
	cfgFile := fs.String("config", defaultConfig, "configuration file: the site, its links' IDs, the DX gateway, report.target_percent and report.maintenance")
	storage := fs.String("storage.path", "/var/lib/dxwatch", "the daemon's state directory, holding its availability ledger (or a copy of it)")
	month := fs.String("month", "", "calendar month in UTC, such as 2026-11 (default: this month so far)")
	from := fs.String("from", "", "start of the range instead of --month: RFC 3339 (2026-11-03T00:00:00Z) or a date (2026-11-03, midnight UTC)")
	to := fs.String("to", "", "end of the range (excluded), with --from")
	format := fs.String("format", "markdown", "output format: "+strings.Join(report.Formats, ", "))
	if code := parse(fs, args); code >= 0 {
		return code
	}
	rep, err := agent.MonthReport(agent.ReportOptions{ConfigFile: *cfgFile, StoragePath: *storage, Month: *month, From: *from, To: *to})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if err := rep.Write(stdout, *format); err != nil {
		fmt.Fprintf(stderr, "--format: %v\n", err)
		return exitUsage
	}
	return 0
}
