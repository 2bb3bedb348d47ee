// Package health is dxwatch's health model: it fuses the probes'
// observations (probes.Observation) into a state per Direct Connect link,
// the link(s) carrying the traffic to each VPC target, and failover events
// with their timeline and measured outage.
//
// Evidence comes from the BGP feed (sessions, expected prefixes, best
// paths), link-pinned pings (echoes to a link's Amazon address, with Link
// set), end-to-end pings of the VPC targets, traces (the links a path
// crosses) and AWS checks. Each source has its own weight (what it can
// conclude: pings and BGP can take a link down, AWS checks only degrade it,
// traces only vouch for it) and freshness (stale_after): stale evidence
// never keeps a link up. The rules are tabled in README.md.
//
// The grey failure that BGP misses for its whole hold time, a link that
// drops traffic while its session stays up, is declared after down_after
// consecutive lost echoes to the link's Amazon address, with the reason
// "data plane down, BGP still up".
//
// Failovers are tracked per site: the site's active links are those that
// carry the traffic to most VPC targets (in active/active, both). Each
// change opens a failover that closes once every VPC target answered
// recover_after echoes over the new path (or after restore_timeout). Its
// outage is measured from the echo results' own times, never from
// processing times: the time between the send of the last echo answered
// before and of the first answered after, less the one probe interval a
// regular stream has anyway, that is lost echoes × interval. The raw
// reply-to-reply gap is reported too.
//
// The model never imports a probe package. Observe never blocks (a bounded
// queue; overflow is counted); Run processes the queue; Status, Events and
// Checks read the picture; the Model is a prometheus.Collector and serves
// /api/status and /api/events. It needs no privilege.
package health
