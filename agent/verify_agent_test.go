package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// TestVerifyAgent: verify --agent reads a running agent's checks, in the
// order and form of a local verify.
func TestVerifyAgent(t *testing.T) {
	_, base, _ := startAgent(t, goodConfig, "")
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	var served []probes.CheckResult
	for range 200 {
		_, body := get(t, c, "GET", base+"/api/checks")
		if err := json.Unmarshal([]byte(body), &served); err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(served, func(r probes.CheckResult) bool { return strings.HasPrefix(r.Name, "ping.") }) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(served) == 0 {
		t.Fatal("the agent serves no checks")
	}

	rep, err := VerifyAgent(context.Background(), base, VerifyOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("VerifyAgent: %v", err)
	}
	if rep.Site != "dc1" {
		t.Errorf("site %q, want dc1", rep.Site)
	}
	var names, want []string
	for _, r := range rep.Results {
		names = append(names, r.Name)
	}
	for _, r := range served {
		want = append(want, r.Name)
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("report checks %v, the agent serves %v", names, want)
	}
	for i := 1; i < len(rep.Results); i++ {
		if rep.Results[i-1].Order > rep.Results[i].Order {
			t.Errorf("report not in checklist order: %s (%d) before %s (%d)", rep.Results[i-1].Name, rep.Results[i-1].Order, rep.Results[i].Name, rep.Results[i].Order)
		}
	}
	total := 0
	for _, n := range rep.Summary {
		total += n
	}
	if total != len(rep.Results) {
		t.Errorf("summary %v counts %d checks, the report has %d", rep.Summary, total, len(rep.Results))
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "dxwatch verify: site dc1") {
		t.Errorf("text report: %v\n%s", err, text.String())
	}

	sel, err := VerifyAgent(context.Background(), base, VerifyOptions{Checks: []string{"ping."}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sel.Results {
		if !strings.HasPrefix(r.Name, "ping.") && !slices.ContainsFunc(sel.Results, func(s probes.CheckResult) bool { return s.Because == r.Name }) {
			t.Errorf("--checks ping. reports %s, neither selected nor a selected check's root cause", r.Name)
		}
	}
}

func TestVerifyAgentRoots(t *testing.T) {
	all := []probes.CheckResult{
		{Name: "bgp.session.edge1", Status: probes.Fail},
		{Name: "ping.link.primary", Status: probes.Warn, Because: "bgp.session.edge1"},
		{Name: "ping.target.app1", Status: probes.Pass},
	}
	got := withRoots(all, selectChecks(all, []string{"ping."}))
	if len(got) != 3 || got[2].Name != "bgp.session.edge1" {
		t.Errorf("selection of ping. with roots: %+v, want the ping checks and bgp.session.edge1", got)
	}
}

func TestVerifyAgentErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/auth/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
	})
	mux.HandleFunc("/garbage/api/site", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		name, url, want string
	}{
		{"not a URL", "localhost:9479", "not an http(s) URL"},
		{"no such API", srv.URL + "/nothing", "404 Not Found"},
		{"basic auth", strings.Replace(srv.URL, "http://", "http://u:hunter2@", 1) + "/auth", "put user:password@ in the URL"},
		{"not dxwatch", srv.URL + "/garbage", "not a dxwatch answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyAgent(context.Background(), tc.url, VerifyOptions{Timeout: 5 * time.Second})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// TestDaemonRecord: the drill's --agent reads the daemon's events and
// since when its health model has watched; a daemon of another site is
// refused.
func TestDaemonRecord(t *testing.T) {
	before := time.Now()
	_, base, _ := startAgent(t, goodConfig, "")
	events, since, err := DaemonRecord(context.Background(), base, "dc1")
	if err != nil {
		t.Fatalf("DaemonRecord: %v", err)
	}
	if since.Before(before.Add(-time.Second)) || since.After(time.Now()) {
		t.Errorf("watching since %s, want the agent's start (after %s)", since, before)
	}
	if events == nil {
		t.Errorf("events nil, want the daemon's (possibly empty) list")
	}
	if _, _, err := DaemonRecord(context.Background(), base, "other"); err == nil || !strings.Contains(err.Error(), `watches site "dc1", this configuration is site "other"`) {
		t.Errorf("another site: err %v", err)
	}
	if _, _, err := DaemonRecord(context.Background(), "localhost:9479", "dc1"); err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("bad URL: err %v", err)
	}
}
