// Package report turns the availability ledger (agent/history) into the
// month on record: availability per link (its data plane, as dxwatch
// judged it) and per site (down only while no link carries traffic), over
// a calendar month in UTC or any range, against a configurable target;
// each incident with its start and end to the second, the connection,
// VIF and DX gateway IDs, the cause dxwatch gave and the evidence it
// recorded at the time, and which side that evidence points to; and the
// time excluded (drills, declared maintenance, not observed), listed
// apart. It writes Markdown (for a person and an SLA claim), JSON and CSV.
// `dxwatch report` and the daemon's /api/report use it.
//
// It reads files only: no privileges, no AWS call.
package report
