package bgp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// TestReadinessEndOfRIB: a session is ready for the drill only once it is
// established and the router has sent End-of-RIB; it is not ready again
// after a reset until the new session's End-of-RIB.
func TestReadinessEndOfRIB(t *testing.T) {
	slow(t)
	noLeaks(t)
	p, port := passiveProbe(t)
	readiness := func() probes.Readiness {
		for _, r := range p.Readiness() {
			if r.Kind == "bgp" && r.Name == "edge1" {
				return r
			}
		}
		t.Fatalf("no readiness for edge1 in %+v", p.Readiness())
		return probes.Readiness{}
	}
	if r := readiness(); r.Ready || r.State == "established" {
		t.Errorf("before any session: %+v", r)
	}
	for round := range 2 {
		r := establishRetry(t, port)
		upd := updateMsg(t, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, 1)}, []uint32{64512}, primaryAmazon.String())
		if err := r.writeMsg(upd, addPathSend); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the path", func() bool { return p.linkPrefix("primary", vpcPrefix).Present })
		if rd := readiness(); rd.Ready || rd.State != "established" || !strings.Contains(rd.Detail, "no End-of-RIB yet") || p.peerView("edge1").EndOfRIB {
			t.Errorf("round %d, table sent without End-of-RIB: %+v", round, rd)
		}
		if err := r.writeMsg(gobgp.NewEndOfRib(gobgp.RF_IPv4_UC)); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "ready after End-of-RIB", func() bool { return readiness().Ready })
		if rd := readiness(); rd.Detail != "End-of-RIB" || rd.Since.IsZero() || !p.peerView("edge1").EndOfRIB {
			t.Errorf("round %d, after End-of-RIB: %+v", round, rd)
		}
		r.c.Close()
		eventually(t, 10*time.Second, "not ready after the reset", func() bool { return !readiness().Ready })
	}
}

// settleProbe is a passive probe whose edge1 has the given settle time and
// graceful restart setting.
func settleProbe(t *testing.T, settle time.Duration, gr bool) (*Probe, int) {
	t.Helper()
	port := freePort(t)
	cfg := edgeConfig(0, PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Passive: true, HoldTime: 9 * time.Second,
		SettleTime: settle, GracefulRestart: gr})
	cfg.ListenPort = port
	p := newTestProbe(t, cfg, labsite.Site(), nil)
	runProbe(t, p)
	return p, port
}

func edge1Readiness(t *testing.T, p *Probe, now time.Time) probes.Readiness {
	t.Helper()
	for _, r := range p.readiness(now) {
		if r.Kind == "bgp" && r.Name == "edge1" {
			return r
		}
	}
	t.Fatalf("no readiness for edge1")
	return probes.Readiness{}
}

// openGR is the raw peer's OPEN with ADD-PATH and graceful restart.
func openGR() *gobgp.BGPMessage {
	m := openMsg(65000, "192.0.2.1", true)
	o := m.Body.(*gobgp.BGPOpen)
	pc := o.OptParams[0].(*gobgp.OptionParameterCapability)
	pc.Capability = append(pc.Capability, gobgp.NewCapGracefulRestart(false, false, 120,
		[]*gobgp.CapGracefulRestartTuple{gobgp.NewCapGracefulRestartTuple(gobgp.RF_IPv4_UC, false)}))
	return m
}

// TestReadinessSettle: without End-of-RIB negotiated (no graceful restart),
// a session is ready only once it has gone settle_time without an UPDATE:
// while its table is still arriving it is not ready, at every look; then
// it settles, and the detail names the rule. With graceful restart
// negotiated, no amount of quiet makes it ready: only End-of-RIB does.
func TestReadinessSettle(t *testing.T) {
	noLeaks(t)
	const settle = time.Second
	t.Run("no graceful restart: table arriving, then settled", func(t *testing.T) {
		p, port := settleProbe(t, settle, false)
		r := establishRetry(t, port)
		defer r.c.Close()
		eventually(t, 10*time.Second, "established", func() bool { return edge1Readiness(t, p, time.Now()).State == "established" })
		// The table arrives slowly: one UPDATE every settle/5, for
		// three settle times. Never ready meanwhile.
		sent := 0
		for start := time.Now(); time.Since(start) < 3*settle; sent++ {
			upd := updateMsg(t, nil, []gobgp.PathNLRI{pnlri(fmt.Sprintf("10.%d.%d.0/24", sent/256, sent%256), 1)}, []uint32{64512}, primaryAmazon.String())
			if err := r.writeMsg(upd, addPathSend); err != nil {
				t.Fatal(err)
			}
			for range 4 {
				time.Sleep(settle / 20)
				if rd := edge1Readiness(t, p, time.Now()); rd.Ready || !strings.Contains(rd.Detail, "initial table may still be arriving") {
					t.Fatalf("after %d UPDATEs, table still arriving: %+v", sent+1, rd)
				}
			}
		}
		eventually(t, 10*time.Second, "settled", func() bool { return edge1Readiness(t, p, time.Now()).Ready })
		if rd := edge1Readiness(t, p, time.Now()); !strings.Contains(rd.Detail, "settle rule, End-of-RIB not negotiated") {
			t.Errorf("settled: %+v", rd)
		}
		if pv := p.peerView("edge1"); pv.EndOfRIBNegotiated || pv.LastUpdate == nil || pv.Updates != uint64(sent) {
			t.Errorf("peer view: %+v, want %d updates", pv, sent)
		}
	})
	t.Run("graceful restart negotiated: only End-of-RIB", func(t *testing.T) {
		p, port := settleProbe(t, settle, true)
		r := establishRetryOpen(t, port, openGR())
		defer r.c.Close()
		upd := updateMsg(t, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, 1)}, []uint32{64512}, primaryAmazon.String())
		if err := r.writeMsg(upd, addPathSend); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the path", func() bool { return p.linkPrefix("primary", vpcPrefix).Present })
		if !p.peerView("edge1").EndOfRIBNegotiated {
			t.Fatalf("graceful restart on both sides, End-of-RIB not taken as negotiated: %+v", p.peerView("edge1"))
		}
		if rd := edge1Readiness(t, p, time.Now().Add(time.Hour)); rd.Ready || !strings.Contains(rd.Detail, "End-of-RIB is due") {
			t.Errorf("an hour without UPDATE, no End-of-RIB: %+v", rd)
		}
		if err := r.writeMsg(gobgp.NewEndOfRib(gobgp.RF_IPv4_UC)); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "ready after End-of-RIB", func() bool { return edge1Readiness(t, p, time.Now()).Ready })
	})
}
