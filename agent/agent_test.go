package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// twoLinks is the links section of the unit tests' sites.
const twoLinks = `links:
  - name: primary
    role: primary
    customer_address: 169.254.10.2/30
    amazon_address: 169.254.10.1/30
    vlan: 101
  - name: secondary
    role: secondary
    customer_address: 169.254.20.2/30
    amazon_address: 169.254.20.1/30
    vlan: 102
`

const goodConfig = `site: dc1
` + twoLinks + `targets:
  - name: loopback
    address: 127.0.0.1
routing:
  expected_prefixes: [10.20.0.0/16]
# Unit tests run in the host's namespace: only loopback may be probed, so
# the links' Amazon addresses are not pinged here (the lab tests do that).
ping:
  link_pinned: false
  interval: 100ms
  timeout: 100ms
`

// startAgent runs an agent on 127.0.0.1 with the configuration text and
// returns it with its base URL; the agent stops when the test ends.
func startAgent(t *testing.T, cfgText string, webConfig string) (*Agent, string, string) {
	t.Helper()
	return startAgentText(t, cfgText, Options{WebConfigFile: webConfig, EnableLifecycle: true})
}

// startAgentText is startAgent with opts (the file and listen address are
// set here).
func startAgentText(t *testing.T, cfgText string, opts Options) (*Agent, string, string) {
	t.Helper()
	cfgFile := writeConfig(t, cfgText)
	opts.ConfigFile = cfgFile
	a, base := startAgentWith(t, opts)
	return a, base, cfgFile
}

// writeConfig writes the configuration text to dxwatch.yaml in a new
// temporary directory and returns its path; the directory also holds the
// tests' state directories.
func writeConfig(t *testing.T, cfgText string) string {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "dxwatch.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgFile
}

// startAgentWith runs an agent with opts on 127.0.0.1 and returns it with
// its base URL; the agent stops when the test ends.
func startAgentWith(t *testing.T, opts Options) (*Agent, string) {
	t.Helper()
	a, base, stop := runAgent(t, opts)
	t.Cleanup(stop)
	return a, base
}

// runAgent runs an agent with opts on 127.0.0.1 and returns it, its base
// URL and a function that stops it and waits (which the test must call).
func runAgent(t *testing.T, opts Options) (*Agent, string, func()) {
	t.Helper()
	opts.ListenAddresses, opts.Version = []string{"127.0.0.1:0"}, "test"
	a, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(ShutdownTimeout + time.Second):
				t.Error("agent did not stop within the shutdown timeout")
			}
		})
	}
	addrs := a.Addrs(ctx)
	if len(addrs) != 1 {
		stop()
		t.Fatalf("agent listens on %v", addrs)
	}
	return a, "http://" + addrs[0].String(), stop
}

func get(t *testing.T, c *http.Client, method, url string) (int, string) {
	t.Helper()
	resp, body := request(t, c, method, url)
	return resp.StatusCode, body
}

// request sends one request and returns the response with its body read.
func request(t *testing.T, c *http.Client, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestEndpoints(t *testing.T) {
	_, base, _ := startAgent(t, goodConfig, "")
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	for _, tc := range []struct {
		method, path string
		code         int
		contains     string
	}{
		{"GET", "/healthz", 200, "ok"},
		{"GET", "/metrics", 200, `dxwatch_build_info{goversion=`},
		{"GET", "/metrics", 200, "dxwatch_config_last_reload_successful 1"},
		{"GET", "/metrics", 200, `dxwatch_link_info{connection="",link="secondary",role="secondary",vif=""} 1`},
		{"GET", "/metrics", 200, `dxwatch_link_up{link="primary"}`},
		{"GET", "/api/status", 200, `"links"`},
		{"GET", "/api/events", 200, `[`},
		{"GET", "/-/reload", 405, "reload with POST"},
		{"GET", "/api/nothing", 404, "no such API"},
		{"GET", "/nothing", 404, ""},
		{"GET", "/", 200, "<!doctype html>"},
		{"GET", "/api/site", 200, `"primary"`},
		{"GET", "/api/checks", 200, `[`},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			code, body := get(t, c, tc.method, base+tc.path)
			if code != tc.code || !strings.Contains(body, tc.contains) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, code, body, tc.code, tc.contains)
			}
		})
	}
}

// TestMethods: HTTP as Prometheus does it. Every endpoint but /-/reload
// answers GET and HEAD only, /-/reload POST only; any other method gets
// 405 with an Allow header naming the methods that work.
func TestMethods(t *testing.T) {
	_, base, _ := startAgent(t, goodConfig, "")
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/metrics", 200, ""},
		{"HEAD", "/metrics", 200, ""},
		{"POST", "/metrics", 405, "GET, HEAD"},
		{"PUT", "/metrics", 405, "GET, HEAD"},
		{"DELETE", "/metrics", 405, "GET, HEAD"},
		{"HEAD", "/api/status", 200, ""},
		{"POST", "/api/status", 405, "GET, HEAD"},
		{"POST", "/api/events", 405, "GET, HEAD"},
		{"PUT", "/api/nothing", 405, "GET, HEAD"},
		{"POST", "/api/site", 405, "GET, HEAD"},
		{"POST", "/api/checks", 405, "GET, HEAD"},
		{"POST", "/", 405, "GET, HEAD"},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"POST", "/readyz", 405, "GET, HEAD"},
		{"GET", "/-/reload", 405, "POST"},
		{"PUT", "/-/reload", 405, "POST"},
		{"POST", "/-/reload", 200, ""},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			resp, body := request(t, c, tc.method, base+tc.path)
			if resp.StatusCode != tc.code || resp.Header.Get("Allow") != tc.allow {
				t.Errorf("%s %s = %d, Allow %q, %q; want %d, Allow %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), body, tc.code, tc.allow)
			}
			if tc.code == 405 && !strings.Contains(body, "method not allowed") {
				t.Errorf("%s %s: 405 with %q", tc.method, tc.path, body)
			}
		})
	}
}

// TestReloadNeedsLifecycle: without --web.enable-lifecycle, POST /-/reload
// is refused with 403 naming the flag, and the configuration is not read
// again; SIGHUP's path (Agent.Reload) still reloads.
func TestReloadNeedsLifecycle(t *testing.T) {
	a, base, cfgFile := startAgentText(t, goodConfig, Options{})
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	first := a.cur.Load()
	good := strings.Replace(goodConfig, "site: dc1", "site: dc2", 1)
	if err := os.WriteFile(cfgFile, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, c, "POST", base+"/-/reload")
	if code != 403 || !strings.Contains(body, "--web.enable-lifecycle") {
		t.Errorf("POST /-/reload without the lifecycle flag = %d %q, want 403 naming --web.enable-lifecycle", code, body)
	}
	if a.cur.Load() != first {
		t.Error("a refused reload replaced the running generation")
	}
	if code, _ := get(t, c, "PUT", base+"/-/reload"); code != 405 {
		t.Errorf("PUT /-/reload without the lifecycle flag = %d, want 405", code)
	}
	// What SIGHUP calls.
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if g := a.cur.Load(); g.cfg.Site != "dc2" {
		t.Errorf("Reload (SIGHUP) left site %q", g.cfg.Site)
	}
}

func TestReadyAfterFirstRound(t *testing.T) {
	_, base, _ := startAgent(t, goodConfig, "")
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	for i := 0; ; i++ {
		code, body := get(t, c, "GET", base+"/readyz")
		if code == 200 && strings.Contains(body, "ready") {
			return
		}
		if code != 503 || !strings.Contains(body, "waiting for a first round of: ping/ping") || i == 100 {
			t.Fatalf("GET /readyz = %d %q", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReload(t *testing.T) {
	a, base, cfgFile := startAgent(t, goodConfig, "")
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	first := a.cur.Load()

	// A bad file: the old generation keeps serving, the call gets the error.
	bad := strings.Replace(goodConfig, "vlan: 102", "vlan: 5000", 1)
	if err := os.WriteFile(cfgFile, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, c, "POST", base+"/-/reload")
	if code != 500 || !strings.Contains(body, "links[1].vlan (line 12): 5000 is out of range") {
		t.Errorf("bad reload answered %d %q", code, body)
	}
	if a.cur.Load() != first {
		t.Error("a bad reload replaced the running generation")
	}
	if _, m := get(t, c, "GET", base+"/metrics"); !strings.Contains(m, "dxwatch_config_last_reload_successful 0") {
		t.Error("dxwatch_config_last_reload_successful is not 0 after a bad reload")
	}

	// A good file: a new generation replaces the old one.
	good := strings.Replace(goodConfig, "site: dc1", "site: dc2", 1)
	if err := os.WriteFile(cfgFile, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, c, "POST", base+"/-/reload"); code != 200 {
		t.Fatalf("good reload answered %d %q", code, body)
	}
	if g := a.cur.Load(); g == first || g.cfg.Site != "dc2" {
		t.Errorf("good reload did not swap the generation (site %q)", g.cfg.Site)
	}
	if _, m := get(t, c, "GET", base+"/metrics"); !strings.Contains(m, "dxwatch_config_last_reload_successful 1") {
		t.Error("dxwatch_config_last_reload_successful is not 1 after a good reload")
	}
}

func TestBadConfigDoesNotStart(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "x.yaml")
	os.WriteFile(f, []byte("site: dc1\nbogus: 1\n"), 0o600)
	_, err := New(Options{ConfigFile: f})
	if err == nil || !strings.Contains(err.Error(), `bogus (line 2): unknown key "bogus"`) {
		t.Errorf("New with an unknown key: %v", err)
	}
}

// TestTLSAndBasicAuth serves /metrics through an exporter-toolkit web
// configuration with TLS and basic auth.
func TestTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(dir, "web.yaml")
	os.WriteFile(webCfg, []byte("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  prom: "+string(hash)+"\n"), 0o600)

	_, base, _ := startAgent(t, goodConfig, webCfg)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	tlsBase := strings.Replace(base, "http://", "https://", 1)

	for _, tc := range []struct {
		name, user, pass string
		code             int
	}{
		{"no credentials", "", "", 401},
		{"wrong password", "prom", "nope", 401},
		{"right credentials", "prom", "s3cret", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", tlsBase+"/metrics", nil)
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.code)
			}
		})
	}
	// Plain HTTP on the TLS port is refused.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/metrics")
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served /metrics on the TLS listener")
		}
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dxwatch-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// TestPromtoolCheckMetrics runs Prometheus's own linter over /metrics.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed: apt-get install prometheus (make test installs it in CI)")
	}
	_, base, _ := startAgent(t, goodConfig, "")
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	_, body := get(t, c, "GET", base+"/metrics")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestPprofOptIn: Go's profiler is served under /debug/pprof/ only with
// --web.enable-pprof.
func TestPprofOptIn(t *testing.T) {
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	for _, on := range []bool{false, true} {
		_, base, _ := startAgentText(t, goodConfig, Options{EnablePprof: on})
		code, body := get(t, c, "GET", base+"/debug/pprof/")
		if on && (code != 200 || !strings.Contains(body, "goroutine")) {
			t.Errorf("with EnablePprof: GET /debug/pprof/ = %d, want 200 with the profile index", code)
		}
		if !on && code == 200 && strings.Contains(body, "goroutine") {
			t.Error("without EnablePprof the profiler is served")
		}
	}
}
