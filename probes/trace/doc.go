// Package trace is the traceroute probe: it traces the path from the agent
// to every VPC target and tells which Direct Connect link the traffic
// crosses, continuously and on demand.
//
// Probing is Paris-style: every probe of a trace keeps the fields load
// balancers hash (addresses, protocol, ports; for ICMP the checksum) so all
// TTLs follow one path, and carries its identifier in a field outside the
// hash that routers quote back: the UDP checksum (set through a payload
// word), the ICMP echo sequence (with the checksum held constant through the
// same word) or the TCP sequence number. All TTLs of a trace leave at once,
// the trace stops at the destination, whose distance is read from the TTL
// left in the header its answer quotes (so that an answer to a later probe
// still places it right), no probe goes past it once that distance is
// known, only hops that did not answer are probed again, and every send is
// paced by a mirror of the routers' ICMP rate limits (Linux: 6 at once,
// then 1 per second per source), which learns from their silences, so that
// back-to-back traces show no false loss. ECMP discovery varies the flow
// over up to ecmp_flows flows with an MDA stopping rule.
//
// A hop equal to a link's Amazon or customer peer address names the link;
// the probe exports which links each target's path crosses, reports every
// trace to the health model as a PathTraced observation, serves the latest
// paths at /api/paths and evaluates the check "trace.target.<name>".
//
// Privileges: raw sockets, so CAP_NET_RAW (`setcap cap_net_raw+ep
// /usr/local/bin/dxwatch`, or root). A raw ICMP socket per address family
// receives the replies (and sends echo probes); a raw UDP or TCP socket
// sends the other probes, and ordinary sockets hold the source ports. Linux
// only.
package trace
