package bgp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// TestTableSizeWarns: a peer that sends more paths than tableWarnPaths
// (lowered to 50 here; 10,000 in the product) gets bgp.table_size.<peer>
// Warn naming the edge's outbound prefix-list, the session stays up, and
// the check passes again once the edge sends less.
func TestTableSizeWarns(t *testing.T) {
	noLeaks(t)
	warn, every := tableWarnPaths, tableSizeInterval
	tableWarnPaths, tableSizeInterval = 50, 0
	t.Cleanup(func() { tableWarnPaths, tableSizeInterval = warn, every })

	port := freePort(t)
	edge := newSpeaker(t, 65000, edge1Addr, port)
	edge.addPeer(t, dxAddr, 65000, passive(), sendPaths(2))
	edge.announce(t, primaryPath, secondaryPath)
	var internet []route
	for i := range 60 {
		internet = append(internet, route{prefix: fmt.Sprintf("10.%d.0.0/16", i), id: 1, nextHop: primaryAmazon, asPath: []uint32{64512, 3356}})
	}
	edge.announce(t, internet[:40]...) // 42 paths: under the limit

	p := newTestProbe(t, edgeConfig(port, PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Port: port}), labsite.Site(), nil)
	runProbe(t, p)
	eventually(t, 30*time.Second, "bgp.table_size.edge1 passes with 42 paths", func() bool {
		c := p.check("bgp.table_size.edge1")
		return c.Status == probes.Pass && strings.Contains(c.Reason, "sends 42 paths")
	})

	edge.announce(t, internet[40:]...) // 62 paths
	eventually(t, 30*time.Second, "bgp.table_size.edge1 warns with 62 paths", func() bool {
		return p.check("bgp.table_size.edge1").Status == probes.Warn
	})
	c := p.check("bgp.table_size.edge1")
	if !strings.Contains(c.Reason, "sends 62 paths") || !strings.Contains(c.Fix, "outbound prefix-list") {
		t.Errorf("check = %+v, want the count and the prefix-list", c)
	}
	if pv := p.peerView("edge1"); !pv.Up || pv.Flaps != 0 {
		t.Errorf("peer %+v: the session must stay up", pv)
	}
	if !p.linkPrefix("primary", vpcPrefix).Present {
		t.Errorf("the VPC prefix is no longer seen")
	}

	edge.withdraw(t, internet[20:]...) // 22 paths
	eventually(t, 30*time.Second, "bgp.table_size.edge1 passes again", func() bool {
		c := p.check("bgp.table_size.edge1")
		return c.Status == probes.Pass && strings.Contains(c.Reason, "sends 22 paths")
	})
}
