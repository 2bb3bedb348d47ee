package deploy

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const alertmanagerFile = "alertmanager.yaml"

// amtool returns Debian's amtool (package prometheus-alertmanager).
func amtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("amtool")
	if err != nil {
		t.Skip("amtool not found: make deps installs prometheus-alertmanager")
	}
	return p
}

func TestAlertmanagerCheckConfig(t *testing.T) {
	out, err := exec.Command(amtool(t), "check-config", alertmanagerFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("amtool check-config %s: %v\n%s", alertmanagerFile, err, out)
	}
}

// TestAlertmanagerRoutes checks where each kind of alert goes.
func TestAlertmanagerRoutes(t *testing.T) {
	bin := amtool(t)
	for _, tc := range []struct {
		labels []string
		want   string
	}{
		{[]string{"alertname=DirectConnectFailover", "severity=critical", "site=fra-dc1"}, "network-pager"},
		{[]string{"alertname=DirectConnectLinkDown", "severity=critical", "site=fra-dc1", "link=primary"}, "network-pager"},
		{[]string{"alertname=DirectConnectFailoverCapacityShort", "severity=warning", "site=fra-dc1"}, "network-capacity"},
		{[]string{"alertname=DirectConnectFailoverHeadroomLow", "severity=warning", "site=fra-dc1"}, "network-capacity"},
		{[]string{"alertname=DirectConnectConnectionErrors", "severity=warning", "site=fra-dc1"}, "network-ticket"},
		{[]string{"alertname=DirectConnectFailback", "severity=info", "site=fra-dc1"}, "network-chat"},
		{[]string{"alertname=DirectConnectFailover", "severity=critical", "site=fra-dc1", "family=ipv6"}, "network-pager"},
		{[]string{"alertname=DirectConnectAllPeeringsDown", "severity=critical", "site=fra-dc1", "family=ipv6"}, "network-pager"},
		{[]string{"alertname=DirectConnectPeeringDown", "severity=warning", "site=fra-dc1", "link=primary", "family=ipv6"}, "network-ticket"},
	} {
		args := append([]string{"config", "routes", "test", "--config.file=" + alertmanagerFile}, tc.labels...)
		out, err := exec.Command(bin, args...).Output()
		if got := strings.TrimSpace(string(out)); err != nil || got != tc.want {
			t.Errorf("%v: routed to %q (%v), want %s", tc.labels, got, err, tc.want)
		}
	}
}

// TestAlertmanagerNamesRealAlerts keeps the routes and inhibitions in step
// with dashboards/alerts.yaml: every alert name they match exists.
func TestAlertmanagerNamesRealAlerts(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(readFile(t, "../dashboards/alerts.yaml"), &rules); err != nil {
		t.Fatal(err)
	}
	var defined []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			defined = append(defined, r.Alert)
		}
	}
	re := regexp.MustCompile(`alertname=~?"([^"]+)"`)
	ms := re.FindAllStringSubmatch(string(readFile(t, alertmanagerFile)), -1)
	if len(ms) < 5 {
		t.Fatalf("only %d alertname matchers found", len(ms))
	}
	for _, m := range ms {
		for _, name := range strings.Split(m[1], "|") {
			if !slices.Contains(defined, name) {
				t.Errorf("%s matches alert %s, which dashboards/alerts.yaml does not define", alertmanagerFile, name)
			}
		}
	}
}
