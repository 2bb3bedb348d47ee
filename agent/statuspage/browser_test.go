package statuspage_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// browser is headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: no port is opened). Every request the page
// makes is paused (Fetch domain) and only requests to 127.0.0.1 are let
// through; the others fail and are recorded in blocked.
type browser struct {
	t       testing.TB
	cmd     *exec.Cmd
	w       *os.File
	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpMsg
	session string
	done    chan struct{}

	// blocked lists the URLs refused; exceptions the page's uncaught
	// JavaScript exceptions and console errors.
	blocked    []string
	exceptions []string
}

type cdpMsg struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// chromiumPath returns Debian's chromium, or skips the test.
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("DXWATCH_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("needs Debian's chromium: run scripts/deps.sh (apt-get install chromium)")
	return ""
}

// startBrowser starts headless Chromium with a page of the given size.
// It is stopped in t.Cleanup.
func startBrowser(t testing.TB, width, height int, mobile bool) *browser {
	t.Helper()
	exe := chromiumPath(t)
	r3, w3, err := os.Pipe() // we write commands, chromium reads fd 3
	if err != nil {
		t.Fatal(err)
	}
	r4, w4, err := os.Pipe() // chromium writes fd 4, we read
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
		"--no-first-run", "--no-default-browser-check", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
		"--disable-domain-reliability", "--disable-client-side-phishing-detection", "--disable-breakpad",
		"--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
		// No name resolves: the page is reached by IP literal only.
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{r3, w4}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	r3.Close()
	w4.Close()
	b := &browser{t: t, cmd: cmd, w: w3, pending: map[int]chan cdpMsg{}, done: make(chan struct{})}
	go b.read(r4)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = b.call(ctx, "", "Browser.close", nil)
		select {
		case <-b.done:
		case <-ctx.Done():
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		w3.Close()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("chromium stderr (last 2 kB): %s", tail(stderr.String(), 2048))
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var created struct {
		TargetID string `json:"targetId"`
	}
	b.must(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &created)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	b.must(ctx, "", "Target.attachToTarget", map[string]any{"targetId": created.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	b.must(ctx, b.session, "Runtime.enable", nil, nil)
	b.must(ctx, b.session, "Page.enable", nil, nil)
	b.must(ctx, b.session, "Fetch.enable", map[string]any{"patterns": []map[string]any{{"urlPattern": "*"}}}, nil)
	b.must(ctx, b.session, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, nil)
	return b
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (b *browser) read(r *os.File) {
	defer close(b.done)
	defer r.Close()
	br := bufio.NewReader(r)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m cdpMsg
		if err := json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.pending[m.ID]
			delete(b.pending, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		b.event(m)
	}
}

// event handles what the page reports on its own: paused requests (let
// through to 127.0.0.1 only) and JavaScript errors.
func (b *browser) event(m cdpMsg) {
	switch m.Method {
	case "Fetch.requestPaused":
		var p struct {
			RequestID string `json:"requestId"`
			Request   struct {
				URL string `json:"url"`
			} `json:"request"`
		}
		if json.Unmarshal(m.Params, &p) != nil {
			return
		}
		u, err := url.Parse(p.Request.URL)
		allowed := err == nil && (u.Scheme == "http" && u.Hostname() == "127.0.0.1" || u.Scheme == "data")
		go func() { // not in the reader: the call waits for a reply the reader delivers
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if allowed {
				_, _ = b.call(ctx, m.SessionID, "Fetch.continueRequest", map[string]any{"requestId": p.RequestID})
				return
			}
			b.mu.Lock()
			b.blocked = append(b.blocked, p.Request.URL)
			b.mu.Unlock()
			_, _ = b.call(ctx, m.SessionID, "Fetch.failRequest", map[string]any{"requestId": p.RequestID, "errorReason": "BlockedByClient"})
		}()
	case "Runtime.exceptionThrown":
		var p struct {
			Details struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(m.Params, &p)
		b.mu.Lock()
		b.exceptions = append(b.exceptions, p.Details.Text+" "+p.Details.Exception.Description)
		b.mu.Unlock()
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		_ = json.Unmarshal(m.Params, &p)
		if p.Type == "error" || p.Type == "assert" {
			var parts []string
			for _, a := range p.Args {
				parts = append(parts, fmt.Sprint(a.Value, a.Description))
			}
			b.mu.Lock()
			b.exceptions = append(b.exceptions, "console."+p.Type+": "+strings.Join(parts, " "))
			b.mu.Unlock()
		}
	}
}

func (b *browser) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMsg, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	_, err = b.w.Write(append(raw, 0))
	b.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: chromium went away", method)
		}
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		return m.Result, nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (b *browser) must(ctx context.Context, session, method string, params, out any) {
	b.t.Helper()
	res, err := b.call(ctx, session, method, params)
	if err != nil {
		b.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			b.t.Fatalf("%s: %v", method, err)
		}
	}
}

// navigate loads u, which must be on 127.0.0.1.
func (b *browser) navigate(u string) {
	b.t.Helper()
	pu, err := url.Parse(u)
	if err != nil || pu.Hostname() != "127.0.0.1" {
		b.t.Fatalf("refusing to load %q: the browser loads 127.0.0.1 only", u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b.must(ctx, b.session, "Page.navigate", map[string]any{"url": u}, nil)
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func (b *browser) eval(ctx context.Context, expr string, out any) error {
	res, err := b.call(ctx, b.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("evaluate %q: %s", expr, r.Exception.Text)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// waitFor evaluates cond (a JavaScript boolean expression) until it is
// true, failing the test with what view (a JavaScript expression) shows
// when timeout passes first. The timeout bounds the wait; it is not a
// measurement.
func (b *browser) waitFor(cond, view string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		var ok bool
		err := b.eval(ctx, "Boolean("+cond+")", &ok)
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			var seen any
			vctx, vcancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = b.eval(vctx, view, &seen)
			vcancel()
			b.t.Fatalf("after %s the page does not show %s (last error %v); it shows: %v; JS errors: %v", timeout, cond, err, seen, b.jsErrors())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (b *browser) jsErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.exceptions...)
}

func (b *browser) blockedURLs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.blocked...)
}

// screenshot saves the whole page as a PNG under testdata-artifacts/ at the
// repository root and returns its path.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var m struct {
		Content struct {
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
		} `json:"cssContentSize"`
	}
	b.must(ctx, b.session, "Page.getLayoutMetrics", nil, &m)
	var shot struct {
		Data string `json:"data"`
	}
	b.must(ctx, b.session, "Page.captureScreenshot", map[string]any{
		"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": m.Content.Width, "height": m.Content.Height, "scale": 1},
	}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		b.t.Fatal(err)
	}
	dir := artifactDir(b.t)
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s (%d bytes)", p, len(png))
	return p
}

// dom returns the page's current DOM, serialized.
func (b *browser) dom() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var s string
	if err := b.eval(ctx, "document.documentElement.outerHTML", &s); err != nil {
		b.t.Fatal(err)
	}
	return s
}

// artifactDir is testdata-artifacts/statuspage at the repository root
// (gitignored), created when missing.
func artifactDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatal(errors.New("no go.mod above " + wd))
		}
		root = parent
	}
	dir := filepath.Join(root, "testdata-artifacts", "statuspage")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
