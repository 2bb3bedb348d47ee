package dashboards

import "embed"

// FS holds the dashboards (*.json), the alert rules (alerts.yaml), the
// recording rules (rules.yaml) and the Grafana provisioning files
// (provisioning/...), as they are in the source tree.
//
//go:embed *.json alerts.yaml rules.yaml provisioning
var FS embed.FS

// Dashboard file names in FS.
const (
	OverviewDashboard = "dxwatch-overview.json"
	LinkDashboard     = "dxwatch-link.json"
	AlertRules        = "alerts.yaml"
	RecordingRules    = "rules.yaml"
)
