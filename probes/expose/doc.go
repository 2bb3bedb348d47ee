// Package expose holds what the probes and the agent need to show their
// state: JSON views served under /api/ that answer GET and HEAD only
// (ServeJSON, ReadOnly, WriteJSON), and booleans as Prometheus sample
// values (Bool).
package expose
