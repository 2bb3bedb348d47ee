package bgp

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"go.uber.org/goleak"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// noLeaks registers a goroutine-leak check that runs after every other
// cleanup of the test (cleanups run last-in first-out).
func noLeaks(t *testing.T, extra ...goleak.Option) {
	t.Helper()
	// GoBGP 4.8.0 races a watcher's cleanup (queued on its management loop
	// by the watcher's goroutine when its context ends) with Stop (which
	// ends that loop): when Stop wins, the watcher's InfiniteChannel buffer
	// goroutine is never released. It is GoBGP's, one per watcher at most,
	// and only at shutdown; every goroutine of ours is still checked.
	opts := append([]goleak.Option{goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("github.com/eapache/channels.(*InfiniteChannel).infiniteBuffer")}, extra...)
	t.Cleanup(func() {
		// GoBGP stops its watchers asynchronously, through its management
		// loop: on a loaded machine that outlasts goleak's own retries.
		// Wait up to 10 s for them; a real leak stays and fails.
		var err error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if err = goleak.Find(opts...); err == nil {
				return
			}
		}
		t.Error(err)
	})
}

func edgeConfig(port int, peers ...PeerConfig) Config {
	cfg := DefaultConfig()
	cfg.LocalASN = 65000
	cfg.RouterID = "192.0.2.10"
	cfg.Peers = peers
	return cfg
}

func newTestProbe(t *testing.T, cfg Config, site probes.Site, obs probes.Observer) *Probe {
	t.Helper()
	p, err := New("bgp", cfg, probes.Deps{Site: site, Observer: obs})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

var (
	primaryPath   = route{prefix: vpcPrefix, id: 1, nextHop: primaryAmazon, asPath: []uint32{64512}, localPref: 200, comms: []uint32{7224<<16 | 8100}}
	secondaryPath = route{prefix: vpcPrefix, id: 2, nextHop: secondaryAmazon, asPath: []uint32{64512, 64512, 64512}, localPref: 100}
)

// TestAddPathTwoLinks: one edge router sends, over ADD-PATH, one path per
// link for the VPC prefix; dxwatch attributes each to its link by next hop,
// follows a withdrawal and a session reset.
func TestAddPathTwoLinks(t *testing.T) {
	slow(t)
	noLeaks(t)
	port := freePort(t)
	edge := newSpeaker(t, 65000, edge1Addr, port)
	edge.addPeer(t, dxAddr, 65000, passive(), sendPaths(2))
	edge.announce(t, primaryPath, secondaryPath,
		route{prefix: "10.9.0.0/16", id: 1, nextHop: primaryAmazon, asPath: []uint32{64512, 7224}})

	rec := &recorder{}
	p := newTestProbe(t, edgeConfig(port, PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Port: port}), ipv4Site(), rec)
	runProbe(t, p)

	eventually(t, 20*time.Second, "both paths", func() bool {
		return p.linkPrefix("primary", vpcPrefix).Present && p.linkPrefix("secondary", vpcPrefix).Present
	})
	if pv := p.peerView("edge1"); !pv.Up || pv.State != "established" {
		t.Errorf("peer edge1 = %+v, want established", pv)
	}
	prim, sec := p.linkPrefix("primary", vpcPrefix), p.linkPrefix("secondary", vpcPrefix)
	if !prim.Best || sec.Best {
		t.Errorf("best: primary %v secondary %v, want primary", prim.Best, sec.Best)
	}
	if prim.Path == nil || prim.Path.NextHop != primaryAmazon.String() || prim.Path.Prepends != 0 || prim.Path.LocalPref == nil || *prim.Path.LocalPref != 200 {
		t.Errorf("primary path = %+v", prim.Path)
	}
	if prim.Path != nil && (len(prim.Path.Communities) != 1 || prim.Path.Communities[0].Name != "aws_same_region") {
		t.Errorf("primary communities = %+v", prim.Path.Communities)
	}
	if sec.Path == nil || sec.Path.NextHop != secondaryAmazon.String() || sec.Path.Prepends != 2 || sec.Path.PathID == prim.Path.PathID {
		t.Errorf("secondary path = %+v", sec.Path)
	}
	r := p.Routes()
	if r.Links[0].ReceivedPrefixes != 2 || r.Links[1].ReceivedPrefixes != 1 {
		t.Errorf("received prefixes primary %d secondary %d, want 2 and 1", r.Links[0].ReceivedPrefixes, r.Links[1].ReceivedPrefixes)
	}
	for _, name := range []string{"bgp.session.edge1", "bgp.prefix.primary", "bgp.prefix.secondary", "bgp.intent.primary_preferred", "bgp.intent.amazon_asn", "bgp.intent.no_more_specifics"} {
		if c := p.check(name); c.Status != probes.Pass {
			t.Errorf("check %s = %s (%s), want pass", name, c.Status, c.Reason)
		}
	}

	t.Run("withdraw primary", func(t *testing.T) {
		edge.withdraw(t, primaryPath)
		eventually(t, 10*time.Second, "primary withdrawn", func() bool {
			return !p.linkPrefix("primary", vpcPrefix).Present && p.linkPrefix("secondary", vpcPrefix).Best
		})
		pfx := netip.MustParsePrefix(vpcPrefix)
		down, ok := rec.find(func(o probes.Observation) bool {
			return o.Event == probes.BGPPrefix && o.Link == "primary" && o.Prefix == pfx && !o.Up
		})
		if !ok || down.Time.IsZero() {
			t.Errorf("no BGPPrefix down observation for primary (%+v)", down)
		}
		if _, ok := rec.find(func(o probes.Observation) bool {
			return o.Event == probes.BGPBestPath && o.Prefix == pfx && o.Link == "secondary"
		}); !ok {
			t.Errorf("no BGPBestPath observation moving to secondary")
		}
		if c := p.check("bgp.prefix.primary"); c.Status != probes.Fail || c.Fix == "" {
			t.Errorf("bgp.prefix.primary = %+v, want fail with a fix", c)
		}
		if c := p.check("bgp.intent.primary_preferred"); c.Status != probes.Fail {
			t.Errorf("bgp.intent.primary_preferred = %+v, want fail", c)
		}
		if lv := p.Routes().Links[0]; lv.Withdrawals == 0 || lv.LastWithdrawal == nil {
			t.Errorf("primary link withdrawals %d at %v", lv.Withdrawals, lv.LastWithdrawal)
		}
		edge.announce(t, primaryPath)
		eventually(t, 10*time.Second, "primary back", func() bool { return p.linkPrefix("primary", vpcPrefix).Best })
	})

	t.Run("equal preference", func(t *testing.T) {
		eq := secondaryPath
		eq.asPath, eq.localPref = []uint32{64512}, 200
		edge.announce(t, eq)
		eventually(t, 10*time.Second, "intent failure", func() bool {
			return p.check("bgp.intent.primary_preferred").Status == probes.Fail
		})
		edge.announce(t, secondaryPath)
		eventually(t, 10*time.Second, "intent pass", func() bool {
			return p.check("bgp.intent.primary_preferred").Status == probes.Pass
		})
	})

	t.Run("session reset", func(t *testing.T) {
		if err := edge.s.ResetPeer(context.Background(), &api.ResetPeerRequest{Address: dxAddr, Communication: "test reset"}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "session down observed", func() bool {
			_, ok := rec.find(func(o probes.Observation) bool { return o.Event == probes.BGPSession && o.Peer == "edge1" && !o.Up })
			return ok
		})
		eventually(t, 30*time.Second, "session and paths back", func() bool {
			return p.peerView("edge1").Up && p.linkPrefix("primary", vpcPrefix).Present && p.linkPrefix("secondary", vpcPrefix).Present
		})
		if pv := p.peerView("edge1"); pv.Flaps == 0 || pv.LastError == "" {
			t.Errorf("after reset: %+v, want a flap and the reason", pv)
		}
	})
}

// TestAddPathIPv6: the edge sends, over its IPv4 session with dxwatch, the
// VPC's IPv6 prefix too (IPv6 unicast, ADD-PATH), once per link with the
// link's Amazon IPv6 address as next hop. dxwatch names each path's link
// by that address (a dual-stack link's IPv6 peering), picks the primary,
// and on the primary's IPv6 withdrawal reports the prefix gone from it and
// the best path moved to the secondary, the IPv4 prefix untouched.
func TestAddPathIPv6(t *testing.T) {
	slow(t)
	noLeaks(t)
	port := freePort(t)
	edge := newSpeaker(t, 65000, edge1Addr, port)
	edge.addPeer(t, dxAddr, 65000, passive(), ipv6Unicast(), sendPaths(2))
	prim6 := route{prefix: vpcPrefix6, id: 3, nextHop: primaryAmazon6, asPath: []uint32{64512}, localPref: 200}
	sec6 := route{prefix: vpcPrefix6, id: 4, nextHop: secondaryAmazon6, asPath: []uint32{64512, 64512, 64512}, localPref: 100}
	edge.announce(t, primaryPath, secondaryPath, prim6, sec6)

	rec := &recorder{}
	site := labsite.WithIPv6Prefix(labsite.Site())
	p := newTestProbe(t, edgeConfig(port, PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Port: port}), site, rec)
	runProbe(t, p)

	eventually(t, 20*time.Second, "both links' paths of both families", func() bool {
		return p.linkPrefix("primary", vpcPrefix6).Present && p.linkPrefix("secondary", vpcPrefix6).Present &&
			p.linkPrefix("primary", vpcPrefix).Present && p.linkPrefix("secondary", vpcPrefix).Present
	})
	prim, sec := p.linkPrefix("primary", vpcPrefix6), p.linkPrefix("secondary", vpcPrefix6)
	if !prim.Best || sec.Best {
		t.Errorf("%s best: primary %v secondary %v, want primary", vpcPrefix6, prim.Best, sec.Best)
	}
	if prim.Path == nil || prim.Path.NextHop != primaryAmazon6.String() || sec.Path == nil || sec.Path.NextHop != secondaryAmazon6.String() {
		t.Errorf("%s paths: primary %+v, secondary %+v", vpcPrefix6, prim.Path, sec.Path)
	}
	for _, name := range []string{"bgp.prefix.primary", "bgp.prefix.secondary"} {
		if c := p.check(name); c.Status != probes.Pass {
			t.Errorf("check %s = %s (%s), want pass", name, c.Status, c.Reason)
		}
	}

	edge.withdraw(t, prim6)
	eventually(t, 10*time.Second, "the primary's IPv6 path withdrawn", func() bool {
		return !p.linkPrefix("primary", vpcPrefix6).Present && p.linkPrefix("secondary", vpcPrefix6).Best
	})
	pfx6, pfx4 := netip.MustParsePrefix(vpcPrefix6), netip.MustParsePrefix(vpcPrefix)
	if _, ok := rec.find(func(o probes.Observation) bool {
		return o.Event == probes.BGPPrefix && o.Link == "primary" && o.Prefix == pfx6 && !o.Up
	}); !ok {
		t.Error("no BGPPrefix observation of the IPv6 prefix gone from the primary")
	}
	if _, ok := rec.find(func(o probes.Observation) bool {
		return o.Event == probes.BGPBestPath && o.Link == "secondary" && o.Prefix == pfx6
	}); !ok {
		t.Error("no BGPBestPath observation of the IPv6 prefix moving to the secondary")
	}
	if _, ok := rec.find(func(o probes.Observation) bool {
		return o.Prefix == pfx4 && o.Link == "secondary" && o.Event == probes.BGPBestPath
	}); ok || !p.linkPrefix("primary", vpcPrefix).Best {
		t.Errorf("the IPv4 prefix moved with the IPv6 one: primary best %v", p.linkPrefix("primary", vpcPrefix).Best)
	}
	if c := p.check("bgp.prefix.primary"); c.Status != probes.Fail || !strings.Contains(c.Reason, vpcPrefix6) {
		t.Errorf("bgp.prefix.primary = %+v, want fail naming %s", c, vpcPrefix6)
	}
	if got := edge.adjIn(t, dxAddr); len(got) != 0 {
		t.Errorf("edge1 received %v from dxwatch, want nothing", got)
	}
}
