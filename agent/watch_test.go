package agent

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/probes"
)

// TestWatchOneModel checks that a Watch's generation owns one health model:
// the model that receives the probes' observations and calls the event
// hook is the one its API serves and its registry collects.
func TestWatchOneModel(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "dxwatch.yaml")
	if err := os.WriteFile(cfgFile, []byte(goodConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{ConfigFile: cfgFile})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan health.Event, 16)
	w, err := a.Watch(context.Background(), WatchOptions{OnEvent: func(e health.Event) {
		select {
		case events <- e:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	// An edge router's feed session, as the BGP probe would report it.
	a.observer.Observe(probes.Observation{Time: time.Now(), Event: probes.BGPSession, Probe: "bgp", Peer: "edge1", Up: true})
	deadline := time.After(10 * time.Second)
	for len(w.Status().Feeds) == 0 {
		select {
		case <-deadline:
			t.Fatal("the watched model never took the observation")
		case <-time.After(10 * time.Millisecond):
		}
	}

	h, ok := w.g.api["/api/status"]
	if !ok {
		t.Fatalf("no /api/status among %v", keysOf(w.g.api))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/status", nil))
	var served health.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &served); err != nil {
		t.Fatalf("/api/status: %v: %s", err, rec.Body)
	}
	if len(served.Feeds) != 1 || served.Feeds[0].Name != "edge1" {
		t.Errorf("/api/status serves feeds %+v, the watched model has %+v: the API serves another model", served.Feeds, w.Status().Feeds)
	}

	mfs, err := w.g.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var models int
	for _, mf := range mfs {
		if mf.GetName() == "dxwatch_link_up" {
			models++
		}
	}
	if models != 1 {
		t.Errorf("the registry collects dxwatch_link_up %d times, want once", models)
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
