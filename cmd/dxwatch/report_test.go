package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/history"
)

// TestReportCommand: dxwatch report reads a ledger without a daemon and
// writes each format; bad flags get a message naming the fix.
func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	l := history.OpenLedger(dir, history.LedgerOptions{Now: func() time.Time { return t0 }}, nil)
	up := map[string]health.State{"primary": health.StateUp, "secondary": health.StateUp}
	for _, r := range []history.Record{
		{Time: t0, Kind: history.RecStart, States: up},
		{Time: t0.Add(time.Minute), Kind: history.RecLink, Link: "primary", State: health.StateDown, Cause: "data plane down (5 echoes to 169.254.10.1 lost in a row)"},
		{Time: t0.Add(2 * time.Minute), Kind: history.RecLink, Link: "primary", State: health.StateUp},
		{Time: t0.Add(3 * time.Minute), Kind: history.RecStop},
	} {
		l.Write(r)
	}
	l.Close()
	cfg := "../../examples/dedicated.yaml"
	base := []string{"report", "--config", cfg, "--storage.path", dir}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"markdown", []string{"--month", "2026-11"}, 0, "### 1. Link primary down, 2026-11-03 10:01:00Z – 2026-11-03 10:02:00Z (1 min)"},
		{"json", []string{"--month", "2026-11", "--format", "json"}, 0, `"down_seconds": 60`},
		{"csv range", []string{"--from", "2026-11-03", "--to", "2026-11-04", "--format", "csv"}, 0, "dc1,link,primary,2026-11-03T10:01:00Z,2026-11-03T10:02:00Z,60,60,0,false,dxcon-fgq2wz1k,dxvif-ffhj3l2m,5f0c2f4e-7a51-4b2d-9e6c-3a8d1b7f0e21,data plane down"},
		{"bad month", []string{"--month", "2026-13"}, 2, `month "2026-13": want a year and month such as 2026-11`},
		{"half a range", []string{"--from", "2026-11-03"}, 2, "give both from and to"},
		{"month and range", []string{"--month", "2026-11", "--to", "2026-11-04"}, 2, "not both"},
		{"bad format", []string{"--format", "pdf"}, 2, "want markdown, json, csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			code := dispatch(append(append([]string{}, base...), tc.args...), &out, &errs)
			if code != tc.code || !strings.Contains(out.String()+errs.String(), tc.contains) {
				t.Errorf("dxwatch report %v = %d\n%s%s\nwant %d containing %q", tc.args, code, out.String(), errs.String(), tc.code, tc.contains)
			}
		})
	}
}
