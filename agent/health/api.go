package health

import (
	"net/http"
	"strconv"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/expose"
)

// APIHandlers returns the model's JSON endpoints for the agent to mount:
// /api/status (Status) and /api/events (Events; ?since=<id> returns only
// the newer ones, for polling).
func (m *Model) APIHandlers() []probes.APIHandler {
	return []probes.APIHandler{
		apiHandler{path: "/api/status", serve: func(w http.ResponseWriter, r *http.Request) {
			expose.WriteJSON(w, m.Status())
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
			expose.WriteJSON(w, out)
		}},
	}
}

type apiHandler struct {
	path  string
	serve http.HandlerFunc
}

func (h apiHandler) APIPath() string { return h.path }

func (h apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if expose.ReadOnly(w, r) {
		h.serve(w, r)
	}
}
