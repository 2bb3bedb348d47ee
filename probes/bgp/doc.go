// Package bgp watches the Direct Connect routing from the on-prem edge
// routers. AWS speaks BGP with TTL 1 and no multihop, so dxwatch never peers
// with AWS: it peers with the edge routers that do, and can run a BMP
// station for them. This is the only package that imports GoBGP (v4).
//
// Feeds:
//   - BGP: an in-process GoBGP speaker holds one receive-only session per
//     edge router (active by default, passive with listen_port), IPv4 and
//     IPv6 unicast, ADD-PATH receive so the backup link's path is visible,
//     optional TCP MD5 (key from a file or an environment variable).
//     Global import and export policies reject everything, set before any
//     peer exists, and nothing is originated: dxwatch never advertises.
//     Paths are read from GoBGP's Adj-RIB-In watcher (pre-policy).
//     Or, per peer with session: lean (lean.go), dxwatch's own
//     receive-only session on GoBGP's wire-format package alone: it can
//     send only OPEN, KEEPALIVE and NOTIFICATION, stores no Adj-RIB-In
//     and drops on receipt every path of a prefix overlapping no expected
//     one, so a full-table edge costs tens of MB, not a GB; its events go
//     through the same worker code as GoBGP's (leanfeed.go).
//   - BMP (RFC 7854): a TCP station parsing with GoBGP's pkg/packet/bmp.
//     Per monitored peer, i.e. per Direct Connect session on the edge, it
//     tracks peer up/down with the reason and the pre- and post-policy
//     Adj-RIB-In.
//
// A path belongs to a link when its next hop (BGP) or its monitored peer
// (BMP) is the link's Amazon address. Per link the probe keeps the received
// prefixes, the expected VPC prefixes present, their AS_PATH, prepends,
// local preference, communities (AWS's named), the best path and update and
// withdrawal counts with times; it checks the routing against the intent
// (probes.Checker, "bgp.*"), reports changes as observations and serves the
// table as JSON at /api/routes.
//
// GoBGP's watcher queues are unbounded: the callbacks only hand events to a
// bounded queue; when it is full the event is dropped, counted, and the
// peer's routes are rebuilt from GoBGP's Adj-RIB-In (a replaying watcher).
// BMP readers wait instead, which slows the router through TCP.
//
// Privileges: none for active peering and a BMP port above 1023. A passive
// listener on port 179 needs cap_net_bind_service
// (`setcap cap_net_bind_service+ep /usr/local/bin/dxwatch`). TCP MD5 needs
// no privilege on Linux. No AWS API call is made.
package bgp
