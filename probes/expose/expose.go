package expose

import (
	"encoding/json"
	"net/http"
)

// Bool is a boolean as a Prometheus sample value: 1 or 0.
func Bool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ReadOnly reports whether r is a GET or HEAD; otherwise it answers 405
// with the Allow header RFC 9110 asks for and returns false.
func ReadOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed: GET or HEAD only", http.StatusMethodNotAllowed)
	return false
}

// WriteJSON writes v as indented JSON. An encoding error means the client
// went away, and there is nothing left to do.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ServeJSON answers a GET or HEAD with v() as indented JSON, and any other
// method with 405. v is called only for a request it answers.
func ServeJSON(w http.ResponseWriter, r *http.Request, v func() any) {
	if ReadOnly(w, r) {
		WriteJSON(w, v())
	}
}
