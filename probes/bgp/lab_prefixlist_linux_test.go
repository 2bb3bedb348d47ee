package bgp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// TestLabEdgePrefixListChild runs the probe, BGP only (BMP would add its
// own prefixes to the table), inside the lab's agent host and prints its
// view as lines for TestLabEdgePrefixList.
func TestLabEdgePrefixListChild(t *testing.T) {
	if !lab.InChild() {
		t.Skip("runs inside the lab's agent host, started by TestLabEdgePrefixList")
	}
	cfg := Config{
		LocalASN: lab.OnPremASN,
		RouterID: lab.AgentAddress,
		Peers:    []PeerConfig{{Name: lab.HostEdge1, Address: lab.Edge1LAN}},
	}
	p, err := New("bgp", cfg, probes.Deps{Site: labsite.WithIPv6Prefix(labsite.Site())})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for tick := time.NewTicker(200 * time.Millisecond); ; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-tick.C:
			b, _ := json.Marshal(p.Routes())
			fmt.Printf("ROUTES %s\n", b)
		}
	}
}

// TestLabEdgePrefixList applies README.md's outbound prefix-lists ("A
// full-table edge") on FRR's edge1, towards dxwatch, a route-reflector
// client with ADD-PATH in both families: dxwatch then holds only the VPC's
// prefixes, its IPv4 and its IPv6 CIDR, still with both links' paths, and
// the session never reset.
func TestLabEdgePrefixList(t *testing.T) {
	l := lab.ForTest(t, lab.Options{Edge: lab.EdgeOne})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := lab.StartChild(t, l, lab.HostAgent, "TestLabEdgePrefixListChild")
	w := &labWatch{}
	go func() {
		for {
			line, err := c.Line(ctx)
			if err != nil {
				return
			}
			if body, ok := strings.CutPrefix(line, "ROUTES "); ok {
				var r Routes
				if json.Unmarshal([]byte(body), &r) == nil {
					w.mu.Lock()
					w.routes = r
					w.mu.Unlock()
				}
			}
		}
	}()
	vpc, vpc6 := lab.VPCCIDR, lab.VPCCIDR6
	both := func(r Routes) bool {
		return len(r.Peers) == 1 && r.Peers[0].Up && bgpPath(r, lab.LinkPrimary, vpc) != nil && bgpPath(r, lab.LinkSecondary, vpc) != nil &&
			bgpPath(r, lab.LinkPrimary, vpc6) != nil && bgpPath(r, lab.LinkSecondary, vpc6) != nil
	}
	wait := func(what string, cond func(Routes) bool) Routes {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			r, _ := w.get()
			if cond(r) {
				return r
			}
			if time.Now().After(deadline) {
				b, _ := json.MarshalIndent(r, "", " ")
				t.Fatalf("timed out waiting for %s; routes: %s", what, b)
			}
		}
	}
	before := wait("both links' paths and more than the VPC's prefixes", func(r Routes) bool {
		return both(r) && r.TablePrefixes > 2
	})
	t.Logf("before the prefix-list: %d prefixes from edge1", before.TablePrefixes)

	out, err := l.Vtysh(ctx, lab.HostEdge1, strings.Join([]string{
		"configure terminal",
		fmt.Sprintf("ip prefix-list DXWATCH-OUT seq 5 permit %s le 32", vpc),
		fmt.Sprintf("ipv6 prefix-list DXWATCH-OUT6 seq 5 permit %s le 128", vpc6),
		fmt.Sprintf("router bgp %d", lab.OnPremASN),
		"address-family ipv4 unicast",
		fmt.Sprintf("neighbor %s prefix-list DXWATCH-OUT out", lab.AgentAddress),
		"exit-address-family",
		"address-family ipv6 unicast",
		fmt.Sprintf("neighbor %s prefix-list DXWATCH-OUT6 out", lab.AgentAddress),
		"end",
		fmt.Sprintf("clear bgp ipv4 unicast %s soft out", lab.AgentAddress),
		fmt.Sprintf("clear bgp ipv6 unicast %s soft out", lab.AgentAddress),
	}, "\n"))
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	after := wait("only the VPC's two prefixes, over both links", func(r Routes) bool {
		return both(r) && r.TablePrefixes == 2
	})
	if after.Peers[0].Flaps != 0 {
		t.Errorf("the session flapped %d times: the prefix-list must not reset it", after.Peers[0].Flaps)
	}
}
