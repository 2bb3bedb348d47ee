package probes

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"primary": true, "eu.prod": true, "dc-1_a": true, "9lives": true,
		strings.Repeat("a", 63): true,
		"":                      false, "a b": false, ".hidden": false, "-x": false, "é": false, "a/b": false,
		strings.Repeat("a", 64): false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

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

func TestBoolFloat(t *testing.T) {
	if BoolFloat(true) != 1 || BoolFloat(false) != 0 {
		t.Fatal("BoolFloat: want 1 for true and 0 for false")
	}
}

func TestNames(t *testing.T) {
	var ps Problems
	n := NewNames("links", "link", "primary")
	for i, name := range []string{"primary", "", "a b", "primary", "eu.prod"} {
		n.Check(&ps, "links["+string(rune('0'+i))+"].name", i, name)
	}
	want := []string{
		`links[1].name: missing: name the link (it labels metrics and alerts), e.g. primary`,
		`links[2].name: "a b" is not a valid name: ` + NameRule,
		`links[3].name: "primary" is already the name of links[0]: link names must be unique`,
	}
	got := strings.Split(strings.TrimSpace(ps.Error()), "\n")
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", ps.Error(), strings.Join(want, "\n"))
	}
	for i := range want {
		if strings.TrimSpace(got[i]) != want[i] {
			t.Errorf("problem %d: %q, want %q", i, got[i], want[i])
		}
	}
}
