// Package ping probes targets with ICMP echo, continuously: every VPC
// instance of the site end to end, and each link's Amazon peer address (a
// data-plane check of that one link). It judges every echo on its own: a
// reply, or a loss reported the moment the echo's deadline passes, so that
// the health model can tell "primary stopped answering at T" within one
// interval plus one timeout. Each target's timeout adapts to its replies
// as TCP's retransmission timeout does (RFC 6298), between min_timeout and
// timeout, and each reply is judged by the kernel's receive timestamp, so a
// busy host does not turn replies that arrived in time into losses.
//
// One goroutine schedules every send and deadline from a heap, and one
// ICMP socket per family (and per DSCP, TTL, source and interface in use)
// carries the echoes of every target; each echo's payload names its target
// and 32-bit sequence number, so replies are matched whatever the kernel
// does to the ICMP identifier. pro-bing's Pinger (one socket, three
// goroutines and a polling reader per target, and a map of unanswered
// sequence numbers that grows with every loss) measured at about twice the
// CPU at 50 targets × 100 pps and five times at 1,000 targets × 1 pps; see
// the benchmarks and README.md.
//
// Privileges: the probe opens unprivileged ICMP sockets when
// net.ipv4.ping_group_range holds the process's group, and raw ICMP sockets
// otherwise, which need CAP_NET_RAW (setcap cap_net_raw+ep on the binary).
// With neither, Run fails with an error naming both fixes and the rest of
// the agent keeps running. No other privilege is needed.
package ping
