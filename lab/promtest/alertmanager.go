package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultAlertmanager is the Alertmanager Debian's prometheus-alertmanager
// package installs.
const DefaultAlertmanager = "/usr/bin/prometheus-alertmanager"

// AlertmanagerConfig says how to run Alertmanager. Zero values take the
// defaults in brackets.
type AlertmanagerConfig struct {
	// Binary is the server [DefaultAlertmanager, else
	// "prometheus-alertmanager" or "alertmanager" in $PATH].
	Binary string
	// Config is the content of alertmanager.yml.
	Config []byte
	// Lifetime bounds how long it runs [10m].
	Lifetime time.Duration
	// Command and DialContext run it and reach it, e.g. in a lab
	// namespace, as in Config [exec.CommandContext, net.Dialer].
	Command     func(ctx context.Context, argv ...string) *exec.Cmd
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Output receives its log [discarded].
	Output io.Writer
}

// Alertmanager is a running Alertmanager, clustering off, listening on
// 127.0.0.1 only.
type Alertmanager struct {
	// Addr is host:port, for promtest.Config.Alertmanagers.
	Addr string
	// URL is http://Addr.
	URL string

	dir    string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	client *http.Client
	once   sync.Once
}

// AMAlert is one alert of Alertmanager's /api/v2/alerts.
type AMAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Status      struct {
		State       string   `json:"state"` // active, suppressed, unprocessed
		InhibitedBy []string `json:"inhibitedBy"`
		SilencedBy  []string `json:"silencedBy"`
	} `json:"status"`
}

func amBinary(name string) (string, error) {
	if name != "" {
		return exec.LookPath(name)
	}
	if _, err := os.Stat(DefaultAlertmanager); err == nil {
		return DefaultAlertmanager, nil
	}
	for _, n := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("alertmanager not found: apt-get install prometheus-alertmanager (make deps)")
}

// StartAlertmanager writes the configuration, starts Alertmanager and waits
// until it is ready. The caller must Stop it.
func StartAlertmanager(ctx context.Context, cfg AlertmanagerConfig) (*Alertmanager, error) {
	bin, err := amBinary(cfg.Binary)
	if err != nil {
		return nil, err
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 10 * time.Minute
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	dir, err := os.MkdirTemp("", "amtest-")
	if err != nil {
		return nil, fmt.Errorf("alertmanager directory: %w", err)
	}
	a := &Alertmanager{dir: dir, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			a.Stop()
		}
	}()
	file := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(file, cfg.Config, 0o644); err != nil {
		return nil, err
	}
	if a.Addr, err = freeAddress(); err != nil {
		return nil, err
	}
	a.URL = "http://" + a.Addr
	a.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: cfg.DialContext, DisableKeepAlives: true}}
	runCtx, cancel := context.WithTimeout(context.Background(), cfg.Lifetime)
	a.cancel = cancel
	argv := []string{bin,
		"--config.file=" + file,
		"--storage.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + a.Addr,
		"--cluster.listen-address=", // no gossip port on 0.0.0.0
		"--log.level=debug",
	}
	if cfg.Command != nil {
		a.cmd = cfg.Command(runCtx, argv...)
	} else {
		a.cmd = exec.CommandContext(runCtx, argv[0], argv[1:]...)
	}
	a.cmd.Stdout, a.cmd.Stderr = cfg.Output, cfg.Output
	a.cmd.Cancel = func() error { return a.cmd.Process.Signal(syscall.SIGTERM) }
	a.cmd.WaitDelay = 5 * time.Second
	if err := a.cmd.Start(); err != nil {
		cancel()
		close(a.done)
		return nil, fmt.Errorf("start alertmanager: %w", err)
	}
	go func() {
		a.err = a.cmd.Wait()
		close(a.done)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/-/ready", nil)
		resp, err := a.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ok = true
				return a, nil
			}
		}
		select {
		case <-a.done:
			return nil, fmt.Errorf("alertmanager exited before it was ready: %v", a.err)
		case <-ctx.Done():
			return nil, fmt.Errorf("alertmanager not ready at %s: %w (last: %v)", a.URL, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// AlertmanagerForTest starts Alertmanager for the test and stops it at
// cleanup; it skips the test when Alertmanager is not installed and logs
// its output when the test fails.
func AlertmanagerForTest(t testing.TB, cfg AlertmanagerConfig) *Alertmanager {
	t.Helper()
	_, err := amBinary(cfg.Binary)
	return forTest(t, "alertmanager", err, &cfg.Output, func(ctx context.Context) (*Alertmanager, error) { return StartAlertmanager(ctx, cfg) })
}

// Alerts returns the alerts Alertmanager holds, inhibited ones included.
func (a *Alertmanager) Alerts(ctx context.Context) ([]AMAlert, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/api/v2/alerts", nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("alertmanager /api/v2/alerts: HTTP %d", resp.StatusCode)
	}
	var out []AMAlert
	return out, json.NewDecoder(io.LimitReader(resp.Body, 1<<22)).Decode(&out)
}

// Stop stops Alertmanager (SIGTERM, then SIGKILL after 5 s) and removes
// its directory. It is safe to call more than once.
func (a *Alertmanager) Stop() {
	a.once.Do(func() {
		if a.cancel != nil {
			a.cancel()
			<-a.done
		}
		os.RemoveAll(a.dir)
	})
}

// Notification is one webhook notification from Alertmanager (its webhook
// payload, version 4).
type Notification struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"` // firing or resolved
	GroupKey          string            `json:"groupKey"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	Alerts            []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"alerts"`
	// Path is the URL path it was posted to.
	Path string `json:"-"`
}

// Webhook is an HTTP receiver of Alertmanager notifications that keeps
// every one it gets.
type Webhook struct {
	mu   sync.Mutex
	got  []Notification
	more chan struct{}
}

// NewWebhook returns an empty receiver; serve it with http.Serve.
func NewWebhook() *Webhook { return &Webhook{more: make(chan struct{}, 1)} }

// ServeHTTP implements http.Handler.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var n Notification
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&n); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	n.Path = r.URL.Path
	w.mu.Lock()
	w.got = append(w.got, n)
	w.mu.Unlock()
	select {
	case w.more <- struct{}{}:
	default:
	}
}

// Notifications returns every notification received so far.
func (w *Webhook) Notifications() []Notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Notification(nil), w.got...)
}

// WaitFor waits until cond holds for the notifications received, or ctx
// ends.
func (w *Webhook) WaitFor(ctx context.Context, what string, cond func([]Notification) bool) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond(w.Notifications()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w; got %d notifications", what, ctx.Err(), len(w.Notifications()))
		case <-w.more:
		case <-tick.C:
		}
	}
}
