package health

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/golden"
	"github.com/dxwatch/dxwatch/probes"
)

func serve(t *testing.T, m *Model, target string) []byte {
	t.Helper()
	for _, h := range m.APIHandlers() {
		path := target
		if i := bytes.IndexByte([]byte(target), '?'); i >= 0 {
			path = target[:i]
		}
		if h.APIPath() != path {
			continue
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: content type %q", target, ct)
		}
		return rec.Body.Bytes()
	}
	t.Fatalf("no handler for %s", target)
	return nil
}

func TestAPIGolden(t *testing.T) {
	_, obs := cleanCut()
	var before, after []probes.Observation
	for _, o := range obs {
		if o.Time.Before(at(ms(5700))) {
			before = append(before, o)
		} else {
			after = append(after, o)
		}
	}
	h := newHarness(t, testSite(probes.ModeActivePassive), nil)
	h.feed(before)
	// Mid-failover: the primary is down, BGP has not moved yet.
	golden.Check(t, "testdata/status_in_progress.json", serve(t, h.m, "/api/status"))
	h.feed(after)
	h.advance(at(30 * time.Second))
	golden.Check(t, "testdata/status.json", serve(t, h.m, "/api/status"))
	golden.Check(t, "testdata/events.json", serve(t, h.m, "/api/events"))
	golden.Check(t, "testdata/events_since.json", serve(t, h.m, "/api/events?since=5"))
}

func TestAPIErrors(t *testing.T) {
	m := New(DefaultConfig(), testSite(probes.ModeActivePassive), nil)
	for _, h := range m.APIHandlers() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, h.APIPath(), nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d, want 405", h.APIPath(), rec.Code)
		}
		if h.APIPath() == "/api/events" {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/events?since=x", nil))
			if rec.Code != http.StatusBadRequest {
				t.Errorf("GET /api/events?since=x: %d, want 400", rec.Code)
			}
		}
	}
}
