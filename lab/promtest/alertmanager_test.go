package promtest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestAlertmanagerDelivers runs the real Alertmanager on loopback with a
// webhook receiver, posts an alert to its API and waits for the
// notification, then its resolution.
func TestAlertmanagerDelivers(t *testing.T) {
	hook := NewWebhook()
	hs := httptest.NewServer(hook)
	t.Cleanup(hs.Close)
	am := AlertmanagerForTest(t, AlertmanagerConfig{Config: []byte(`
route:
  receiver: hook
  group_by: [site]
  group_wait: 100ms
  group_interval: 500ms
receivers:
  - name: hook
    webhook_configs:
      - url: ` + hs.URL + `/pager
        send_resolved: true
`)})
	post := func(ends time.Time) {
		body := `[{"labels":{"alertname":"DirectConnectLinkDown","site":"lab","link":"primary"},"annotations":{"runbook_url":"https://example/rb"},"endsAt":"` + ends.UTC().Format(time.RFC3339Nano) + `"}]`
		resp, err := http.Post(am.URL+"/api/v2/alerts", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("post alert: HTTP %d", resp.StatusCode)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	post(time.Now().Add(time.Hour))
	err := hook.WaitFor(ctx, "a firing notification", func(ns []Notification) bool {
		return len(ns) > 0 && ns[0].Status == "firing"
	})
	if err != nil {
		t.Fatal(err)
	}
	n := hook.Notifications()[0]
	if n.Path != "/pager" || n.GroupLabels["site"] != "lab" || n.Alerts[0].Labels["link"] != "primary" || !strings.HasPrefix(n.Alerts[0].Annotations["runbook_url"], "https://") {
		t.Errorf("notification %+v", n)
	}
	if as, err := am.Alerts(ctx); err != nil || len(as) != 1 || as[0].Status.State != "active" {
		t.Errorf("alerts %+v, %v", as, err)
	}
	post(time.Now())
	if err := hook.WaitFor(ctx, "a resolved notification", func(ns []Notification) bool {
		return ns[len(ns)-1].Status == "resolved"
	}); err != nil {
		t.Fatal(err)
	}
}
