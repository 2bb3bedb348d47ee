package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"
)

func TestDispatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"no command", nil, 2, "Commands:"},
		{"help", []string{"help"}, 0, "check-config"},
		{"unknown", []string{"nope"}, 2, `unknown command "nope"`},
		{"version", []string{"version"}, 0, "dxwatch dev"},
		{"run help has an example", []string{"run", "--help"}, 0, "Example:"},
		{"run help has the lifecycle flag", []string{"run", "--help"}, 0, "-web.enable-lifecycle"},
		{"check-config example without its keys", []string{"check-config", "--config", "../../examples/dedicated.yaml"}, 1, "bgp.peers[0].md5_key_file (line 45): cannot read /etc/dxwatch/edge-fra1.md5"},
		{"check-config invalid", []string{"check-config", "--config", "../../agent/config/testdata/invalid/vlan-out-of-range.yaml"}, 1, "links[1].vlan (line 14): 4095 is out of range"},
		{"check-config missing file", []string{"check-config", "--config", "/nonexistent.yaml"}, 1, "no such file"},
		{"verify bad output", []string{"verify", "--output", "xml"}, 2, `"xml" is not a format`},
		{"bad log level", []string{"run", "--config", "../../examples/dedicated.yaml", "--log.level", "loud"}, 2, `"loud" is not a level`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			code := dispatch(tc.args, &out, &out)
			if code != tc.code || !strings.Contains(out.String(), tc.contains) {
				t.Errorf("dxwatch %v = %d\n%s\nwant %d containing %q", tc.args, code, out.String(), tc.code, tc.contains)
			}
		})
	}
}

// TestVerifyAgentFlag: verify --agent reads a daemon's /api/site and
// /api/checks (here canned, on 127.0.0.1) with verify's formats and exit
// codes: 0 nothing failed, 1 a check failed, 2 could not run.
func TestVerifyAgentFlag(t *testing.T) {
	checks := map[string]string{
		"/pass": `[{"name":"bgp.session.edge1","order":500,"status":"pass","reason":"established","time":"2026-01-01T00:00:00Z"}]`,
		"/fail": `[{"name":"bgp.session.edge1","order":500,"status":"fail","reason":"session is active","fix":"configure a neighbor","time":"2026-01-01T00:00:00Z"},
		           {"name":"ping.link.primary","order":700,"status":"pass","reason":"answers","time":"2026-01-01T00:00:00Z"}]`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, api := path.Split(r.URL.Path)
		dir = strings.TrimSuffix(strings.TrimSuffix(dir, "/"), "/api")
		switch {
		case api == "site" && checks[dir] != "":
			fmt.Fprint(w, `{"name":"dc1","mode":"active_passive","expected_prefixes":[],"links":[],"targets":[]}`)
		case api == "checks" && checks[dir] != "":
			fmt.Fprint(w, checks[dir])
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"pass", []string{"--agent", srv.URL + "/pass"}, 0, "PASS  bgp.session.edge1"},
		{"fail", []string{"--agent", srv.URL + "/fail"}, 1, "fix: configure a neighbor"},
		{"markdown", []string{"--agent", srv.URL + "/fail", "--output", "markdown"}, 1, "| fail | bgp.session.edge1 | session is active | `configure a neighbor` |"},
		{"json", []string{"--agent", srv.URL + "/fail", "--output", "json", "--checks", "ping."}, 0, `"name": "ping.link.primary"`},
		{"no daemon there", []string{"--agent", srv.URL + "/none"}, 2, "verify could not run: GET " + srv.URL + "/none/api/site: 404 Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			code := dispatch(append([]string{"verify"}, tc.args...), &out, &out)
			if code != tc.code || !strings.Contains(out.String(), tc.contains) {
				t.Errorf("dxwatch verify %v = %d\n%s\nwant %d containing %q", tc.args, code, out.String(), tc.code, tc.contains)
			}
		})
	}
}

// TestLifecycleFlag: /-/reload is served only when run is given
// --web.enable-lifecycle.
func TestLifecycleFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--web.enable-lifecycle"}, true},
		{[]string{"--web.enable-lifecycle=false"}, false},
	} {
		var out bytes.Buffer
		opts, code := runOptions(tc.args, &out)
		if code >= 0 || opts.EnableLifecycle != tc.want {
			t.Errorf("run %v: EnableLifecycle %v (code %d %s), want %v", tc.args, opts.EnableLifecycle, code, out.String(), tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"--web.enable-pprof"}, true}} {
		var out bytes.Buffer
		opts, code := runOptions(tc.args, &out)
		if code >= 0 || opts.EnablePprof != tc.want {
			t.Errorf("run %v: EnablePprof %v (code %d %s), want %v", tc.args, opts.EnablePprof, code, out.String(), tc.want)
		}
	}
}
