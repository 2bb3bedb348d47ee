// Package drill runs `dxwatch drill`: a measured failover test of the
// primary Direct Connect link. It first waits (--warmup) for every
// configured source of evidence to be ready: each BGP session established
// with its End-of-RIB in, each BMP router's initial dump done, the first
// AWS poll with --method aws, an echo on every link and target. It refuses
// to start unless every pre-check passes (both links up, the primary
// carrying the traffic, the secondary carrying every expected prefix, no
// failover in the last --quiet, --yes or --dry-run); a check whose sources
// are not ready refuses, never passes on a guess, and each check reports
// the evidence it read. Then it fails the primary over (AWS:
// StartBgpFailoverTest on the primary VIF's BGP peers for a bounded
// duration; --method exec: the operator's --cut command, such as the lab's
// `dxlab cut primary`), measures with the agent's own probes and health
// model (time to detect, each VPC target's outage, the path and BGP
// changes with their times), holds, fails back (StopBgpFailoverTest or the
// --restore command, also on Ctrl-C and on abort: the secondary down or no
// link carrying the traffic), measures the failback, and records the
// provider's test history (ListVirtualInterfaceTestHistory).
//
// IAM actions on top of the read-only policy: directconnect:StartBgpFailoverTest,
// directconnect:StopBgpFailoverTest, directconnect:ListVirtualInterfaceTestHistory
// (aws.DrillActions). The probes need what the daemon's need (CAP_NET_RAW
// for ICMP).
package drill
