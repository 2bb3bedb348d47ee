package lab

import (
	"context"
	"fmt"
	"strings"
)

// transitTable is the nftables table, on each AWS router of a Transit
// Gateway lab, that refuses traffic to the router's peer address.
const transitTable = "dxlab_transit"

// transitPeers makes each AWS router refuse (ICMP administratively
// prohibited) whatever reaches its peer address over its link from an
// address other than the link's customer end: the peer /30 of a transit
// VIF is not reachable through a transit gateway, so only the directly
// connected edge (its BGP and BFD sessions, its own pings) gets through.
func (l *Lab) transitPeers(ctx context.Context) error {
	for _, lk := range l.topo.Links {
		script := fmt.Sprintf("add table inet %[1]s\n"+
			"add chain inet %[1]s in { type filter hook input priority 0; policy accept; }\n"+
			"add rule inet %[1]s in iifname %[2]q ip daddr %[3]s ip saddr != %[4]s reject with icmp type admin-prohibited\n",
			transitTable, lk.AWSIf, lk.Amazon, lk.Customer)
		cmd := l.Command(ctx, lk.AWS, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("transit gateway filter in %s: %w: %s", lk.AWS, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
