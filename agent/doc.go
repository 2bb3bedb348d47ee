// Package agent runs dxwatch: it builds the probes the configuration asks
// for, owns the Prometheus registry of each configuration generation and the
// HTTP server, and reloads the configuration on SIGHUP or, with
// Options.EnableLifecycle (--web.enable-lifecycle), POST /-/reload.
//
// A reload builds the new generation whole before it replaces the old one;
// a configuration that does not load or build leaves the old generation
// running, and the reason is logged, exported
// (dxwatch_config_last_reload_successful 0) and returned to the caller.
// Probes whose configuration did not change keep running across a reload,
// with their counters.
//
// The agent itself needs no privilege; the probes say what they need (ICMP
// probes CAP_NET_RAW or the ping_group_range sysctl, a BGP listener on port
// 179 CAP_NET_BIND_SERVICE).
package agent
