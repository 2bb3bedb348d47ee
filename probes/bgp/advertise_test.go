package bgp

import (
	"context"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// TestNeverAdvertise: with two eBGP peers, GoBGP would pass one peer's
// routes to the other; dxwatch must send neither anything. The control
// subtest shows that a plain GoBGP in dxwatch's place does leak, so the
// test would catch a missing policy. Both families: each session carries
// IPv4 and IPv6 unicast, and A sends a route of each.
func TestNeverAdvertise(t *testing.T) {
	slow(t)
	noLeaks(t)
	leak := route{prefix: "10.1.0.0/24", id: 0, nextHop: primaryAmazon, asPath: []uint32{65001}}
	leak6 := route{prefix: "2001:db8:77::/48", id: 0, nextHop: primaryAmazon6, asPath: []uint32{65001}}
	both := func() []*api.AfiSafi {
		var out []*api.AfiSafi
		for _, afi := range []api.Family_Afi{api.Family_AFI_IP, api.Family_AFI_IP6} {
			out = append(out, &api.AfiSafi{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST}, Enabled: true}})
		}
		return out
	}

	setup := func(t *testing.T) (a, b *speaker, portA, portB int) {
		portA, portB = freePort(t), freePort(t)
		a = newSpeaker(t, 65001, edge1Addr, portA)
		a.addPeer(t, dxAddr, 65000, passive(), ipv6Unicast())
		a.announce(t, leak, leak6)
		b = newSpeaker(t, 65002, edge2Addr, portB)
		b.addPeer(t, dxAddr, 65000, passive(), ipv6Unicast())
		return a, b, portA, portB
	}

	t.Run("control: plain gobgp leaks", func(t *testing.T) {
		a, b, portA, portB := setup(t)
		s := server.NewBgpServer()
		done := make(chan struct{})
		go func() { defer close(done); s.Serve() }()
		t.Cleanup(func() { s.Stop(); <-done })
		if err := s.StartBgp(context.Background(), &api.StartBgpRequest{Global: &api.Global{Asn: 65000, RouterId: "192.0.2.10", ListenPort: -1}}); err != nil {
			t.Fatal(err)
		}
		for _, pr := range []struct {
			addr string
			asn  uint32
			port int
		}{{edge1Addr, 65001, portA}, {edge2Addr, 65002, portB}} {
			if err := s.AddPeer(context.Background(), &api.AddPeerRequest{Peer: &api.Peer{
				Conf:      &api.PeerConf{NeighborAddress: pr.addr, PeerAsn: pr.asn},
				Transport: &api.Transport{RemotePort: uint32(pr.port)},
				Timers:    &api.Timers{Config: &api.TimersConfig{ConnectRetry: 1}},
				AfiSafis:  both(),
			}}); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, 20*time.Second, "the plain speaker to pass A's routes (IPv4 and IPv6) to B", func() bool {
			return len(b.adjIn(t, dxAddr)) == 2
		})
		_ = a
	})

	t.Run("dxwatch", func(t *testing.T) {
		a, b, portA, portB := setup(t)
		p := newTestProbe(t, edgeConfig(0,
			PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65001, Port: portA},
			PeerConfig{Name: "edge2", Address: edge2Addr, ASN: 65002, Port: portB},
		), labsite.Site(), nil)
		runProbe(t, p)
		eventually(t, 20*time.Second, "both sessions and A's routes in dxwatch", func() bool {
			return p.peerView("edge1").Up && p.peerView("edge2").Up && p.Routes().TablePrefixes == 2
		})
		// Give a leak the time to arrive: well past GoBGP's immediate
		// propagation, two keepalive rounds of the speakers.
		time.Sleep(3 * time.Second)
		if got := b.adjIn(t, dxAddr); len(got) != 0 {
			t.Errorf("edge2 received %v from dxwatch, want nothing", got)
		}
		if got := a.adjIn(t, dxAddr); len(got) != 0 {
			t.Errorf("edge1 received %v from dxwatch, want nothing", got)
		}
		if !b.established(t, dxAddr) || !a.established(t, dxAddr) {
			t.Errorf("sessions not established on the speakers' side")
		}
	})
}
