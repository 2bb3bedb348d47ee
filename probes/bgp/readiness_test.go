package bgp

import (
	"strings"
	"testing"
	"time"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"

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
