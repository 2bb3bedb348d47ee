package agent_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/promtest"
)

// labAlertmanagerConfig is deploy/alertmanager.yaml with its receivers
// pointed at the test's webhook and its waits shortened to seconds.
func labAlertmanagerConfig(t *testing.T, hook string) []byte {
	t.Helper()
	b, err := os.ReadFile("../deploy/alertmanager.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer(
		"http://alerts.example.internal", "http://"+hook,
		"group_wait: 30s", "group_wait: 1s",
		"group_interval: 5m", "group_interval: 2s",
	)
	return []byte(r.Replace(string(b)))
}

// TestLabAlertmanager delivers the alerts of a silent primary cut through
// Debian's Alertmanager with deploy/alertmanager.yaml: Prometheus scrapes
// the agent with the shipped rules, sends to Alertmanager, which posts to a
// webhook receiver on the agent host's loopback. The cut must make exactly
// one notification group, to the pager, naming the site, the link, the
// cause and the runbook, with what follows from the cut inhibited; the
// restore must send the link's resolution, and the failback goes to the
// record (network-chat), never to the pager.
func TestLabAlertmanager(t *testing.T) {
	l, c := labAgent(t, lab.Options{Edge: lab.EdgeOne}, labConfig)
	inLab := func(ctx context.Context, argv ...string) *exec.Cmd { return l.Command(ctx, lab.HostAgent, argv...) }

	ln, err := l.Listen(lab.HostAgent, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hook := promtest.NewWebhook()
	hs := &http.Server{Handler: hook, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	am := promtest.AlertmanagerForTest(t, promtest.AlertmanagerConfig{
		Config: labAlertmanagerConfig(t, ln.Addr().String()), Command: inLab, DialContext: l.DialContext(lab.HostAgent),
	})
	prom := promtest.ForTest(t, promtest.Config{
		Targets: []string{agentListen}, Labels: map[string]string{"site": "lab"},
		RuleFiles: []string{"../dashboards/alerts.yaml"}, MaxFor: 2 * time.Second,
		Alertmanagers: []string{am.Addr}, Command: inLab, DialContext: l.DialContext(lab.HostAgent),
	})
	settleBoth(t, c)
	before := len(hook.Notifications())
	for _, n := range hook.Notifications() {
		t.Logf("before the cut: %s %s %s", n.Receiver, n.Status, alertNames(n))
	}

	if err := l.Cut(lab.LinkPrimary, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	linkDown := func(n promtest.Notification, status string) bool {
		for _, a := range n.Alerts {
			if a.Labels["alertname"] == "DirectConnectLinkDown" && a.Labels["link"] == lab.LinkPrimary && a.Status == status {
				return true
			}
		}
		return false
	}
	if err := hook.WaitFor(ctx, "the pager notification of the cut", func(ns []promtest.Notification) bool {
		return slices.ContainsFunc(ns[before:], func(n promtest.Notification) bool { return linkDown(n, "firing") })
	}); err != nil {
		t.Fatal(err)
	}
	// Something to inhibit: Prometheus fires what follows from the cut.
	if _, err := prom.WaitForAlert(ctx, "DirectConnectRedundancyLost", "firing", nil); err != nil {
		t.Fatal(err)
	}
	var inhibited []string
	ictx, icancel := context.WithTimeout(ctx, 30*time.Second)
	defer icancel()
	for ictx.Err() == nil {
		as, err := am.Alerts(ictx)
		if err != nil {
			t.Fatal(err)
		}
		inhibited = inhibited[:0]
		for _, a := range as {
			if len(a.Status.InhibitedBy) > 0 {
				inhibited = append(inhibited, a.Labels["alertname"])
			}
		}
		if slices.Contains(inhibited, "DirectConnectRedundancyLost") {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("inhibited in Alertmanager: %v", inhibited)
	if !slices.Contains(inhibited, "DirectConnectRedundancyLost") {
		t.Errorf("DirectConnectRedundancyLost is not inhibited by the link down")
	}
	// Three group intervals more: any other notification would be here.
	time.Sleep(6 * time.Second)

	cut := hook.Notifications()[before:]
	groups := map[string]bool{}
	for _, n := range cut {
		t.Logf("after the cut: %s %s group %s: %s", n.Receiver, n.Status, n.GroupKey, alertNames(n))
		groups[n.GroupKey] = true
		if n.Receiver != "network-pager" || n.GroupLabels["site"] != "lab" {
			t.Errorf("notification to %s grouped by %v, want network-pager grouped by site lab", n.Receiver, n.GroupLabels)
		}
		for _, a := range n.Alerts {
			if name := a.Labels["alertname"]; name != "DirectConnectLinkDown" && name != "DirectConnectFailover" && name != "DirectConnectGreyFailure" {
				t.Errorf("%s was notified: it follows from the cut and should be inhibited", name)
			}
			if !strings.HasPrefix(a.Annotations["runbook_url"], "https://github.com/dxwatch/dxwatch/blob/main/docs/runbook.md#") || !strings.Contains(a.Annotations["summary"], "lab") {
				t.Errorf("%s: summary %q, runbook %q", a.Labels["alertname"], a.Annotations["summary"], a.Annotations["runbook_url"])
			}
		}
	}
	if len(groups) != 1 {
		t.Errorf("%d notification groups after the cut, want exactly 1", len(groups))
	}

	if err := l.Restore(lab.LinkPrimary); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer rcancel()
	if err := hook.WaitFor(rctx, "the resolution of the link down", func(ns []promtest.Notification) bool {
		return slices.ContainsFunc(ns[before:], func(n promtest.Notification) bool { return linkDown(n, "resolved") })
	}); err != nil {
		t.Fatal(err)
	}
	if err := hook.WaitFor(rctx, "the failback, for the record", func(ns []promtest.Notification) bool {
		return slices.ContainsFunc(ns[before:], func(n promtest.Notification) bool {
			return n.Receiver == "network-chat" && strings.Contains(alertNames(n), "DirectConnectFailback{")
		})
	}); err != nil {
		t.Fatal(err)
	}
	for _, n := range hook.Notifications()[before:] {
		if n.Receiver == "network-pager" && strings.Contains(alertNames(n), "DirectConnectFailback{") {
			t.Errorf("the failback paged: %s", alertNames(n))
		}
	}
}

func alertNames(n promtest.Notification) string {
	var s []string
	for _, a := range n.Alerts {
		s = append(s, a.Labels["alertname"]+"{link="+a.Labels["link"]+"}="+a.Status)
	}
	return strings.Join(s, ", ")
}
