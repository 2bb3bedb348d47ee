// Package statuspage serves the agent's status page: one HTML page, its
// script, style sheet and icon, all embedded in the binary (no CDN, no
// external font, no framework), that polls the agent's /api/status,
// /api/events, /api/site and /api/checks every second with relative URLs
// and redraws itself without reloading: a diagram of the site (edge router,
// links with their state and the active one highlighted, the Direct Connect
// gateway, the VPCs and their targets), the reasons behind each link's
// state, RTT and loss sparklines, the prefixes received per link, the event
// timeline with each failover's measured outage, and the verification
// checks with their fixes.
//
// The page shows only what the JSON endpoints serve, and none of them
// carries a secret: the site view lists names, IDs, VLANs and addresses,
// never the BGP MD5 keys.
//
// It needs no privilege: it is plain HTTP served by the agent's web server,
// behind its TLS and basic auth when those are configured.
package statuspage
