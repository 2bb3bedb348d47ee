package report

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/history"
	"github.com/dxwatch/dxwatch/probes"
)

// benchMonth writes through the real ledger a 31-day month (December
// 2026) of a two-link site: a heartbeat every minute and 100 link
// outages, each with an evidence snapshot of the size the daemon records
// (reasons, BGP, AWS and trace facts, two echo summaries, a timeline). It
// returns the state directory and the month file's size.
func benchMonth(b *testing.B) (string, int64) {
	return benchMonthOf(b, nil)
}

// benchMonthOf is benchMonth for a site whose dual-stack links have the
// peerings keyed in peerings: their states ride on every heartbeat, and
// each outage is an IPv6-only one of a peering (its record with the
// evidence, and the link's change to degraded and back).
func benchMonthOf(b *testing.B, peerings []string) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	end := from.AddDate(0, 1, 0)
	l := history.OpenLedger(dir, history.LedgerOptions{Now: func() time.Time { return from }}, nil)
	defer l.Close()
	var evs []history.Record
	evs = append(evs, history.Record{Time: from, Kind: history.RecStart})
	evs = append(evs, link(from.Add(5*time.Second), "primary", up, ""), link(from.Add(5*time.Second), "secondary", up, ""))
	step := end.Sub(from) / 101
	for i := 1; i <= 100; i++ {
		name := []string{"primary", "secondary"}[i%2]
		t := from.Add(time.Duration(i) * step)
		r := link(t, name, down, fmt.Sprintf("data plane down (%d echoes to %s lost in a row)", 5, amazonPeer[name]),
			health.Evidence{Source: "bgp_session", Name: "edge1", OK: false, Fresh: true, Detail: "hold timer expired", Time: t},
			health.Evidence{Source: "bgp_prefix", Name: "10.20.0.0/16", OK: false, Fresh: true, Time: t},
			health.Evidence{Source: "aws", Name: "aws.connection." + name + ".state", OK: false, Fresh: true, Detail: "connection is down", Time: t},
			health.Evidence{Source: "aws", Name: "aws.cloudwatch." + name + ".ConnectionState", OK: false, Fresh: true, Detail: "ConnectionState 0 at " + t.Format(time.RFC3339), Time: t},
			health.Evidence{Source: "trace", Name: "app1", OK: true, Fresh: true, Detail: "the path crosses the link", Time: t})
		for j := range 8 {
			r.Evidence.Timeline = append(r.Evidence.Timeline, health.TimelineStep{Time: t.Add(-time.Duration(j) * time.Second), What: health.StepSessionDown, Link: name,
				Detail: "edge1 ↔ AWS " + amazonPeer[name] + ", seen by BMP: hold timer expired"})
		}
		back := link(t.Add(time.Duration(2+i%9)*time.Minute), name, up, "")
		if len(peerings) > 0 {
			r.Family, back.Family = v6, v6
			evs = append(evs, link(t, name, degraded, "IPv6 peering down"), r, back, link(back.Time, name, up, ""))
			continue
		}
		evs = append(evs, r, back)
	}
	for _, r := range simulatePeerings(end.Add(time.Minute), peerings, evs) {
		if !l.Write(r) {
			b.Fatalf("the ledger dropped a %s record: the month passed its bound", r.Kind)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "availability-2026-12.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	return dir, fi.Size()
}

// BenchmarkReport reads a 31-day month with 100 incidents from the ledger
// on disk and writes its Markdown report: the work of `dxwatch report
// --month` and of /api/report.
func BenchmarkReport(b *testing.B) {
	dir, size := benchMonth(b)
	if size > history.DefaultMonthMaxBytes {
		b.Fatalf("the month's ledger takes %d bytes, beyond its documented bound of %d", size, history.DefaultMonthMaxBytes)
	}
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	in := Input{Site: site(), Config: DefaultConfig(), From: from, To: from.AddDate(0, 1, 0)}
	for b.Loop() {
		r, err := FromStore(dir, in)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Incidents) != 100 {
			b.Fatalf("%d incidents, want 100", len(r.Incidents))
		}
		if err := r.WriteMarkdown(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "ledger_bytes")
}

// BenchmarkReportDualStack is BenchmarkReport for a site whose two links
// are both dual-stack, its 100 outages IPv6-only: the heartbeats carry
// four peering states, the report four peering rows.
func BenchmarkReportDualStack(b *testing.B) {
	peerings := []string{"primary/ipv4", "primary/ipv6", "secondary/ipv4", "secondary/ipv6"}
	dir, size := benchMonthOf(b, peerings)
	if size > history.DefaultMonthMaxBytes {
		b.Fatalf("the month's ledger takes %d bytes, beyond its documented bound of %d", size, history.DefaultMonthMaxBytes)
	}
	s := dualStackSite()
	s.Links[1].IPv6 = probes.Peering{Family: v6, CustomerAddress: netip.MustParsePrefix("2001:db8:60::2/125"), AmazonAddress: netip.MustParsePrefix("2001:db8:60::1/125")}
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	in := Input{Site: s, Config: DefaultConfig(), From: from, To: from.AddDate(0, 1, 0)}
	for b.Loop() {
		r, err := FromStore(dir, in)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Incidents) != 100 || len(r.Peerings) != 4 || r.Incidents[0].Scope != PeeringScope {
			b.Fatalf("%d incidents (the first of scope %q), %d peering rows; want 100 of peerings, 4 rows", len(r.Incidents), r.Incidents[0].Scope, len(r.Peerings))
		}
		if err := r.WriteMarkdown(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "ledger_bytes")
}
