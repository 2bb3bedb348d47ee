package statuspage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/syncbuf"
)

// repoRoot is the directory holding go.mod.
func repoRoot(t testing.TB) string {
	return filepath.Dir(filepath.Dir(artifactDir(t)))
}

// buildDxwatch builds cmd/dxwatch into a temporary directory.
func buildDxwatch(t testing.TB) string {
	t.Helper()
	lab.Need(t) // before the build: a skipped lab test costs nothing
	bin := filepath.Join(t.TempDir(), "dxwatch")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/dxwatch")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/dxwatch: %v\n%s", err, out)
	}
	return bin
}

// startLabAgent runs dxwatch with lab/dxwatch.yaml inside the lab's agent
// host, listening on AgentAddress:9479, and returns a client that reaches
// it from inside that host.
func startLabAgent(t *testing.T, l *lab.Lab) (base string, client *http.Client) {
	t.Helper()
	bin := buildDxwatch(t)
	cfg := filepath.Join(repoRoot(t), "lab", "dxwatch.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := l.Command(ctx, lab.HostAgent, bin, "run", "--config", cfg, "--web.listen-address", lab.AgentAddress+":9479",
		"--storage.path", filepath.Join(l.Dir(), "state")) // the lab's, never the host's /var/lib/dxwatch
	var logs syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dxwatch in the agent host: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("dxwatch log (last 4 kB):\n%s", tail(logs.String(), 4096))
		}
	})
	base = "http://" + lab.AgentAddress + ":9479"
	client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: l.DialContext(lab.HostAgent)}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := client.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return base, client
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("dxwatch in the lab not ready after 60 s (last error %v)", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// labStatus is the part of /api/status the lab test follows.
type labStatus struct {
	Active      []string `json:"active"`
	ActiveKnown bool     `json:"active_known"`
}

// TestLabStatusPage follows the page the agent serves through a cut of the
// primary link: primary active before, the failover event and the secondary
// active after, without a reload. The lab's configuration has the BGP feed,
// so the agent knows the active link from the start; a page the agent does
// not serve, or an active link it never learns, fails the test.
func TestLabStatusPage(t *testing.T) {
	chromiumPath(t)
	l := lab.ForTest(t, lab.Options{})
	base, client := startLabAgent(t, l)
	target, _ := url.Parse(base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = client.Transport

	res, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("data-dxwatch-statuspage")) {
		t.Fatalf("GET / of the agent: status %d, no status page (data-dxwatch-statuspage) in %q", res.StatusCode, tail(string(body), 300))
	}
	// The browser runs on the host and loads 127.0.0.1 only: a front on
	// 127.0.0.1 forwards everything to the agent inside the lab, as
	// `dxlab forward` does.
	var pages atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			pages.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	// The BGP feed from the edge tells which link carries the traffic:
	// the primary, before the cut.
	var s labStatus
	var lastErr error
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, lastErr = labStatusOf(client, base)
		if lastErr == nil && s.ActiveKnown && strings.Join(s.Active, ",") == lab.LinkPrimary {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the agent does not know the primary as the active link (active_known %v, active %v, last error %v)",
				s.ActiveKnown, s.Active, lastErr)
		}
		time.Sleep(500 * time.Millisecond)
	}

	b := startBrowser(t, 1280, 900, false)
	b.navigate(front.URL + "/")
	b.waitFor(`document.querySelector('svg.site g[data-link=primary][data-active=true]') &&
		document.getElementById('summary').dataset.active === 'primary'`, pageView, 30*time.Second)
	var marker bool
	_ = b.eval(t.Context(), `window.dxwatchMarker = true`, &marker)
	b.screenshot("lab-1-before-cut")

	if err := l.Cut(lab.LinkPrimary, false); err != nil {
		t.Fatal(err)
	}
	b.waitFor(`document.querySelector('svg.site g[data-link=secondary][data-active=true]') &&
		document.querySelector('svg.site g[data-link=primary][data-state=down]') &&
		document.getElementById('summary').dataset.active === 'secondary' &&
		document.querySelector('#events li[data-kind=failover][data-from=primary][data-to=secondary]')`, pageView, 60*time.Second)
	b.screenshot("lab-2-secondary-active")
	var head string
	_ = b.eval(t.Context(), `(document.querySelector('#events li[data-kind=failover] .ev-head') || {}).textContent || ''`, &head)
	t.Logf("failover as the page shows it: %q", head)

	if err := b.eval(t.Context(), `window.dxwatchMarker === true`, &marker); err != nil || !marker {
		t.Errorf("the page was reloaded (marker lost, err %v)", err)
	}
	if n := pages.Load(); n != 1 {
		t.Errorf("the page was fetched %d times, want 1", n)
	}
	if errs := b.jsErrors(); len(errs) > 0 {
		t.Errorf("JavaScript errors: %q", errs)
	}
	if bl := b.blockedURLs(); len(bl) > 0 {
		t.Errorf("the page tried to load URLs outside 127.0.0.1: %q", bl)
	}
}

// labStatusOf reads the agent's /api/status.
func labStatusOf(c *http.Client, base string) (labStatus, error) {
	var s labStatus
	res, err := c.Get(base + "/api/status")
	if err != nil {
		return s, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /api/status: %s", res.Status)
	}
	return s, json.NewDecoder(res.Body).Decode(&s)
}
