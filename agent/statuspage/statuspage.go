package statuspage

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/expose"
)

//go:embed assets
var assets embed.FS

// Paths the handler serves besides / and /assets/. The agent's mux sends
// /api/ to its own handler, so it must route these two here explicitly.
const (
	SitePath   = "/api/site"
	ChecksPath = "/api/checks"
)

// Options configure the status page. Every field is optional; the page
// shows what it gets.
type Options struct {
	// Site returns the configured site, called on each request of
	// /api/site so that a reload shows at once. Nil: /api/site is not
	// served and the diagram names the links from /api/status only.
	Site func() probes.Site
	// Checks returns every probe's latest verification checks (from their
	// cached state: it is called once a second per open page). Nil:
	// /api/checks is not served and the page shows the health model's
	// checks from /api/status.
	Checks func() []probes.CheckResult
	// Version is shown in the page's footer.
	Version string
}

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Handler returns the status page's handler, to be mounted at "/": it
// serves / (the page), /assets/* (its script and style sheet),
// SitePath and ChecksPath, and 404 for anything else.
func Handler(o Options) http.Handler {
	h := &handler{o: o, files: map[string]asset{}}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		ctype := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) { // not left to the host's mime tables
		case ".html":
			ctype = "text/html; charset=utf-8"
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		sum := sha256.Sum256(b)
		h.files["/"+p] = asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("statuspage: embedded assets unreadable: " + err.Error()) // a build defect, not a runtime condition
	}
	if v, ok := h.files["/assets/index.html"]; ok {
		h.files["/"] = v
		delete(h.files, "/assets/index.html")
	}
	return h
}

type handler struct {
	o     Options
	files map[string]asset
}

// csp allows nothing but this origin: the page loads no external resource,
// runs no inline script and sets no inline style attribute.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !expose.ReadOnly(w, r) {
		return
	}
	switch r.URL.Path {
	case SitePath:
		if h.o.Site == nil {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, siteView(h.o.Site()))
		return
	case ChecksPath:
		if h.o.Checks == nil {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, sortedChecks(h.o.Checks()))
		return
	}
	a, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	// Revalidated on every load (the ETag makes that cheap), so an upgraded
	// agent never runs with the previous version's script.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	if r.URL.Path == "/" {
		hd.Set("Content-Security-Policy", csp)
		if h.o.Version != "" {
			hd.Set("X-Dxwatch-Version", h.o.Version)
		}
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body) // the client went away: nothing to do
}

// Site is the configured site as /api/site serves it: what the diagram
// labels the links and targets with. It has no secret by construction:
// only these fields are copied.
type Site struct {
	Name             string       `json:"name"`
	Mode             string       `json:"mode"`
	Primary          string       `json:"primary,omitempty"`
	ExpectedPrefixes []string     `json:"expected_prefixes"`
	AmazonASN        uint32       `json:"amazon_asn,omitempty"`
	Links            []SiteLink   `json:"links"`
	Targets          []SiteTarget `json:"targets"`
}

// SiteLink is one configured link.
type SiteLink struct {
	Name            string `json:"name"`
	Role            string `json:"role,omitempty"`
	ConnectionID    string `json:"connection_id,omitempty"`
	VIFID           string `json:"vif_id,omitempty"`
	VLAN            int    `json:"vlan,omitempty"`
	CustomerAddress string `json:"customer_address,omitempty"`
	AmazonAddress   string `json:"amazon_address,omitempty"`
	// IPv6 is a dual-stack link's IPv6 peering's addresses.
	IPv6 *SitePeering `json:"ipv6,omitempty"`
}

// SitePeering is a second peering's addresses.
type SitePeering struct {
	CustomerAddress string `json:"customer_address,omitempty"`
	AmazonAddress   string `json:"amazon_address,omitempty"`
}

// SiteTarget is one configured VPC target.
type SiteTarget struct {
	Name  string `json:"name"`
	Host  string `json:"host"`
	VPCID string `json:"vpc_id,omitempty"`
}

func siteView(s probes.Site) Site {
	v := Site{
		Name: s.Name, Mode: s.Routing.Mode, Primary: s.Routing.Primary, AmazonASN: s.Routing.AmazonASN,
		ExpectedPrefixes: []string{}, Links: []SiteLink{}, Targets: []SiteTarget{},
	}
	for _, p := range s.Routing.ExpectedPrefixes {
		v.ExpectedPrefixes = append(v.ExpectedPrefixes, p.String())
	}
	for _, l := range s.Links {
		sl := SiteLink{Name: l.Name, Role: l.Role, ConnectionID: l.ConnectionID, VIFID: l.VIFID, VLAN: l.VLAN}
		if l.CustomerAddress.IsValid() {
			sl.CustomerAddress = l.CustomerAddress.Addr().String()
		}
		if l.AmazonAddress.IsValid() {
			sl.AmazonAddress = l.AmazonAddress.Addr().String()
		}
		if p := l.IPv6; p.Family != "" {
			sl.IPv6 = &SitePeering{CustomerAddress: p.CustomerAddress.Addr().String(), AmazonAddress: p.AmazonAddress.Addr().String()}
		}
		v.Links = append(v.Links, sl)
	}
	for _, t := range s.Targets {
		v.Targets = append(v.Targets, SiteTarget{Name: t.Name, Host: t.Host, VPCID: t.VPCID})
	}
	return v
}

// sortedChecks orders the checks as verify prints them: the turn-up
// checklist order, then by name.
func sortedChecks(in []probes.CheckResult) []probes.CheckResult {
	out := append([]probes.CheckResult{}, in...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "no-store")
	expose.WriteJSON(w, v)
}
