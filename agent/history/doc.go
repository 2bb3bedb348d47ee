// Package history keeps the health model's events (failovers, outages,
// link state changes) on disk, so that /api/events and the status page
// show them again after a restart or an upgrade.
//
// The store is an append-only file of JSON lines, one event per line, in
// the state directory (--storage.path): events.jsonl, and events.jsonl.1
// before it once the first passes half the size budget. Events are written
// rarely (a few per failover) and read once, at start, so a database buys
// nothing here: a text file needs no new dependency, survives a torn last
// write by skipping one line, and can be read with jq. At start the store
// reads both files, skips (and reports) what does not decode, drops events
// older than the retention, and rewrites the rest into a fresh file.
//
// It needs a directory writable by the user dxwatch runs as; without one
// it reports the problem (log, dxwatch_storage_ok 0) and the agent runs on
// without history on disk.
package history
