// Package dashboards ships dxwatch's Grafana dashboards, its Prometheus
// alert rules and the Grafana provisioning files, embedded in FS so the agent
// can serve or install them, and tests that keep them consistent with the
// metrics the agent exports.
//
// The files: dxwatch-overview.json (every link of every site) and
// dxwatch-link.json (one link in depth), both Grafana 10+ JSON models with a
// ${datasource} variable; alerts.yaml, Prometheus alerting rules whose
// runbook links point into docs/runbook.md; alerts_test.yaml, their promtool
// unit tests; rules.yaml, the recording rules of 30-day availability per
// link and per site (the overview's availability row reads them), and
// rules_test.yaml; provisioning/, Grafana's file-provisioning YAML.
//
// The tests check that every PromQL expression parses, that every metric it
// names is in testdata/metrics.golden (an exposition of a running agent;
// regenerate it with `go test ./dashboards -run TestMetricsGolden -update
// -metrics-url http://127.0.0.1:9479/metrics`), that every panel has a title
// and a unit, that each dashboard shows the peerings of dual-stack links and
// keeps the family label on failovers, that the dual-stack cases of
// alerts_test.yaml (an IPv6-only outage, a carrier cut) check every alert,
// and run `promtool check rules` and `promtool test rules` when promtool is
// installed (Debian: apt-get install prometheus).
//
// This package needs no privilege. Its subpackage promtest runs a real
// Prometheus against a scrape target with these rules loaded.
package dashboards
