package probes

import (
	"encoding/json"
	"net/http"
	"regexp"
)

// nameRE is the one rule for every name a user gives in the configuration
// (site, links, targets, edge routers, AWS accounts): names become
// Prometheus label values and URL parts, so they stay plain.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// NameRule says what ValidName accepts, for configuration errors.
const NameRule = "use letters, digits, '-', '_' or '.' (at most 63)"

// ValidName reports whether s is a valid name for a site, link, target,
// edge router or account.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// BoolFloat is a boolean as a Prometheus sample value: 1 or 0.
func BoolFloat(b bool) float64 {
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

// Names checks the names of one list's items (links, targets, edge
// routers, accounts): each present, valid and unique within the list.
type Names struct {
	list, what, example string
	seen                map[string]int
}

// NewNames checks the names of the items of list (as in the path, e.g.
// "links"), each a what ("link"), suggesting example when one is missing.
func NewNames(list, what, example string) *Names {
	return &Names{list: list, what: what, example: example, seen: map[string]int{}}
}

// Check adds to ps the problem with the name of item i, at path, if any.
func (n *Names) Check(ps *Problems, path string, i int, name string) {
	switch j, dup := n.seen[name]; {
	case name == "":
		ps.Addf(path, "missing: name the %s (it labels metrics and alerts), e.g. %s", n.what, n.example)
	case !ValidName(name):
		ps.Addf(path, "%q is not a valid name: %s", name, NameRule)
	case dup:
		ps.Addf(path, "%q is already the name of %s[%d]: %s names must be unique", name, n.list, j, n.what)
	default:
		n.seen[name] = i
	}
}
