package health

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/dxwatch/dxwatch/probes"
)

// APIHandlers returns the model's JSON endpoints for the agent to mount:
// /api/status (Status) and /api/events (Events; ?since=<id> returns only
// the newer ones, for polling).
func (m *Model) APIHandlers() []probes.APIHandler {
	return []probes.APIHandler{
		apiHandler{path: "/api/status", serve: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, m.Status())
		}},
		apiHandler{path: "/api/events", serve: func(w http.ResponseWriter, r *http.Request) {
			var since uint64
			if s := r.URL.Query().Get("since"); s != "" {
				v, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					http.Error(w, "since: not an event id: "+strconv.Quote(s), http.StatusBadRequest)
					return
				}
				since = v
			}
			evs := m.Events()
			out := evs[:0]
			for _, e := range evs {
				if e.ID > since {
					out = append(out, e)
				}
			}
			writeJSON(w, out)
		}},
	}
}

type apiHandler struct {
	path  string
	serve http.HandlerFunc
}

func (h apiHandler) APIPath() string { return h.path }

func (h apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.serve(w, r)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to do
}
