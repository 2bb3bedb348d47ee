package statuspage_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/dxwatch/dxwatch/agent/statuspage"
	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

func labChecks() []probes.CheckResult {
	return []probes.CheckResult{
		{Name: "ping.target.i1", Order: probes.OrderPing, Status: probes.Pass, Reason: "answers"},
		{Name: "aws.connection.primary.state", Order: probes.OrderConnection, Link: "primary", Status: probes.Fail,
			Reason: "connection dxcon-lab00001 is down", Fix: "check the cross-connect with the colocation provider"},
		{Name: "capacity.failover.primary.secondary", Order: probes.OrderRedundancy + 50, Status: probes.Fail,
			Reason: "if primary fails, secondary (500 Mbps) would carry over the last 7 days: egress p95 816 Mbps (163%), max 842 Mbps (168%); ingress p95 299 Mbps (60%), max 308 Mbps (62%) [5-minute averages from CloudWatch connection metrics, 2015 samples]",
			Fix:    "give secondary the capacity of primary: a larger hosted connection or dedicated port, or a LAG"},
	}
}

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandler(t *testing.T) {
	h := statuspage.Handler(statuspage.Options{Site: labsite.Site, Checks: labChecks, Version: "v1.2.3"})
	tests := []struct {
		name, method, path string
		code               int
		ctype              string
		contains           string
	}{
		{"page", "GET", "/", 200, "text/html; charset=utf-8", `<script src="assets/app.js"`},
		{"page head", "HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"script", "GET", "/assets/app.js", 200, "text/javascript; charset=utf-8", "api/status"},
		{"style", "GET", "/assets/style.css", 200, "text/css; charset=utf-8", "prefers-color-scheme"},
		{"site", "GET", "/api/site", 200, "application/json", `"vif_id": "dxvif-lab00001"`},
		{"checks", "GET", "/api/checks", 200, "application/json", `"fix": "check the cross-connect`},
		{"index not twice", "GET", "/assets/index.html", 404, "", ""},
		{"unknown", "GET", "/nope", 404, "", ""},
		{"unknown asset", "GET", "/assets/nope.js", 404, "", ""},
		{"post", "POST", "/", 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := get(t, h, tc.method, tc.path, nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.code {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, res.StatusCode, tc.code)
			}
			if tc.ctype != "" && res.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tc.ctype)
			}
			if tc.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD returned a body of %d bytes", len(body))
			}
			if tc.contains != "" && !strings.Contains(string(body), tc.contains) {
				t.Errorf("body does not contain %q:\n%.400s", tc.contains, body)
			}
		})
	}

	t.Run("security headers", func(t *testing.T) {
		res := get(t, h, "GET", "/", nil)
		for k, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"X-Dxwatch-Version":      "v1.2.3",
		} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
			}
		}
	})

	t.Run("etag", func(t *testing.T) {
		res := get(t, h, "GET", "/assets/app.js", nil)
		etag := res.Header.Get("ETag")
		if etag == "" || res.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("ETag %q, Cache-Control %q", etag, res.Header.Get("Cache-Control"))
		}
		if res := get(t, h, "GET", "/assets/app.js", map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match: status %d, want 304", res.StatusCode)
		}
	})
}

// external matches any absolute http(s) URL, and protocol-relative ones
// in src/href/url(): the page loads nothing from anywhere else.
var external = regexp.MustCompile(`(?i)https?:|(src|href)\s*=\s*["']?//|url\(\s*["']?//|@import`)

func TestNoExternalURL(t *testing.T) {
	h := statuspage.Handler(statuspage.Options{})
	for _, p := range []string{"/", "/assets/app.js", "/assets/style.css"} {
		res := get(t, h, "GET", p, nil)
		body, _ := io.ReadAll(res.Body)
		if len(body) == 0 {
			t.Fatalf("%s: empty", p)
		}
		if m := external.FindAllString(string(body), -1); len(m) > 0 {
			t.Errorf("%s refers to something outside the agent: %q", p, m)
		}
	}
	// And every asset the page names is served.
	res := get(t, h, "GET", "/", nil)
	body, _ := io.ReadAll(res.Body)
	for _, m := range regexp.MustCompile(`(?:src|href)="(assets/[^"]+)"`).FindAllStringSubmatch(string(body), -1) {
		if res := get(t, h, "GET", "/"+m[1], nil); res.StatusCode != 200 {
			t.Errorf("the page refers to %s, served with status %d", m[1], res.StatusCode)
		}
	}
}

func TestNoOptionalAPIs(t *testing.T) {
	h := statuspage.Handler(statuspage.Options{})
	for _, p := range []string{statuspage.SitePath, statuspage.ChecksPath} {
		if res := get(t, h, "GET", p, nil); res.StatusCode != 404 {
			t.Errorf("%s without its option: status %d, want 404", p, res.StatusCode)
		}
	}
}

func TestSiteView(t *testing.T) {
	h := statuspage.Handler(statuspage.Options{Site: labsite.Site})
	res := get(t, h, "GET", statuspage.SitePath, nil)
	var got statuspage.Site
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "lab" || len(got.Links) != 2 || got.Links[0].AmazonAddress != "169.254.10.1" ||
		got.Links[1].CustomerAddress != "169.254.20.2" || got.Links[1].VLAN != 102 ||
		len(got.Targets) != 4 || got.Targets[0].VPCID != awstest.LabVPC || got.Targets[2].Host != "2001:db8:1000::10" ||
		len(got.ExpectedPrefixes) != 1 || got.ExpectedPrefixes[0] != "198.18.0.0/16" || got.Primary != "primary" {
		t.Errorf("site view: %+v", got)
	}
}

func TestChecksSorted(t *testing.T) {
	h := statuspage.Handler(statuspage.Options{Checks: labChecks})
	var got []probes.CheckResult
	if err := json.NewDecoder(get(t, h, "GET", statuspage.ChecksPath, nil).Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "aws.connection.primary.state" || got[1].Name != "capacity.failover.primary.secondary" {
		t.Errorf("checks not in checklist order: %+v", got)
	}
}
