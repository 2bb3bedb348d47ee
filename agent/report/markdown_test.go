package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dxwatch/dxwatch/lab/golden"
)

func TestMarkdownGolden(t *testing.T) {
	r, err := Build(month())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.Write(&b, "markdown"); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/report.md", b.Bytes())
}

func TestJSONAndCSV(t *testing.T) {
	r, err := Build(month())
	if err != nil {
		t.Fatal(err)
	}
	var j bytes.Buffer
	if err := r.Write(&j, "json"); err != nil {
		t.Fatal(err)
	}
	// The status page's tests serve this file as /api/report.
	golden.Check(t, "testdata/report.json", j.Bytes())
	var back struct {
		Site struct {
			Down    float64  `json:"down_seconds"`
			Percent *float64 `json:"availability_percent"`
		} `json:"site_availability"`
		Incidents []Incident `json:"incidents"`
	}
	if err := json.Unmarshal(j.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Site.Down != 45 || back.Site.Percent == nil || len(back.Incidents) != 5 || back.Incidents[1].Records[0].Evidence == nil {
		t.Errorf("JSON: site down %v s, availability %v, %d incidents: want 45 s, a figure, 5 with their evidence", back.Site.Down, back.Site.Percent, len(back.Incidents))
	}
	var c bytes.Buffer
	if err := r.Write(&c, "csv"); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || strings.Join(rows[2][:9], ",") != "dc1,link,primary,2026-11-25T08:00:00Z,2026-11-25T08:20:00Z,1200,880,320,false" {
		t.Errorf("CSV: %d rows, second incident %v", len(rows), rows[min(2, len(rows)-1)])
	}
	if err := r.Write(&c, "pdf"); err == nil || !strings.Contains(err.Error(), "markdown, json, csv") {
		t.Errorf("an unknown format: %v, want an error naming the formats", err)
	}
}
