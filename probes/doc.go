// Package probes holds the contract that every probe kind implements, the
// site topology the probes share, the typed observations they report to the
// agent's health model, and the per-probe status metrics.
//
// A probe kind lives in its own package below probes/ (ping, trace, bgp,
// aws). No probe imports another; the agent builds them from the
// configuration and owns their lifecycle. Configuration problems live in
// probes/problem, the HTTP and metric helpers in probes/expose. This
// package needs no privilege.
package probes
