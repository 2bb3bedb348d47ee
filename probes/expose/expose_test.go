package expose

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestServeJSON(t *testing.T) {
	calls := 0
	v := func() any { calls++; return map[string]int{"a": 1} }
	for _, tc := range []struct {
		method string
		code   int
		body   string
		calls  int
	}{
		{http.MethodGet, 200, "{\n  \"a\": 1\n}\n", 1},
		{http.MethodHead, 200, "", 1},
		{http.MethodPost, 405, "method not allowed: GET or HEAD only\n", 0},
		{http.MethodDelete, 405, "method not allowed: GET or HEAD only\n", 0},
	} {
		calls = 0
		w := httptest.NewRecorder()
		ServeJSON(w, httptest.NewRequest(tc.method, "/api/x", nil), v)
		if w.Code != tc.code || calls != tc.calls {
			t.Errorf("%s: status %d after %d calls of v, want %d after %d", tc.method, w.Code, calls, tc.code, tc.calls)
		}
		if tc.method != http.MethodHead && w.Body.String() != tc.body {
			t.Errorf("%s: body %q, want %q", tc.method, w.Body.String(), tc.body)
		}
		if tc.code == 405 && w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: Allow %q, want \"GET, HEAD\"", tc.method, w.Header().Get("Allow"))
		}
		if tc.code == 200 && w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", tc.method, w.Header().Get("Content-Type"))
		}
	}
}

func TestBool(t *testing.T) {
	if Bool(true) != 1 || Bool(false) != 0 {
		t.Fatal("Bool: want 1 for true and 0 for false")
	}
}
