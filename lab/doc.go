// Package lab builds a Direct Connect setup in Linux network namespaces
// with real routing daemons (FRR from Debian), for dxwatch's integration
// tests and its demo.
//
// Two "AWS" routers (aws1, aws2; ASN 64512) each hold one link (primary,
// secondary) to the on-prem edge router(s) with eBGP, MD5, AWS's timers and
// BFD, and reach a VPC router (iBGP) in front of two instances. The VPC
// router reflects each AWS router's on-prem paths to the other, so the
// Amazon side is one routing domain as behind a Direct Connect gateway:
// replies to on-prem follow AWS's preference across both links, not the
// link their request came in on (Echo shows which). On-prem is
// one edge router with both links (EdgeOne) or two joined by iBGP
// (EdgeTwo), with an agent host on the LAN that every edge accepts a BGP
// session (ADD-PATH) from and streams BMP to; Options.ProbeSources gives
// the agent host one address per link that only that link advertises to
// AWS. See README.md for the drawing
// and addresses.go for every address.
//
// Every lab host is a namespace named <prefix>-<host> where prefix is
// "dxl" and four random hex digits, so labs never collide and leftovers are
// easy to spot; every run-time file (configs, sockets, pid and log files,
// state.json) lives in the run directory DefaultDir/<prefix>. Down removes
// all of it.
//
// Privileges: root (namespaces, veths, nftables, starting FRR as the frr
// user). Nothing the lab does sends a packet outside its namespaces; tests
// probe lab addresses only from inside a lab host (Exec, Command,
// DialContext, Listen, StartChild).
//
// lab is also the wing for test support: labsite (the lab's site and
// dxwatch configuration), awstest (the fake AWS), promtest (a real
// Prometheus), golden and syncbuf live under it. dxwatch links none of it.
package lab
