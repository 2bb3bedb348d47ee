package bgp

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/lab/syncbuf"
)

// TestConnectRefused: a peer whose port refuses TCP is reported with the
// socket's error and the fix for it, not with GoBGP's idle hold timer.
func TestConnectRefused(t *testing.T) {
	noLeaks(t)
	port := freePort(t) // nothing listens there: the kernel refuses
	cfg := edgeConfig(0, PeerConfig{Name: "edge1", Address: "127.0.0.1", Port: port})
	p := newTestProbe(t, cfg, labsite.Site(), &recorder{})
	runProbe(t, p)
	eventually(t, 30*time.Second, "the refused connection in the session check", func() bool {
		return strings.Contains(p.check("bgp.session.edge1").Reason, "connection refused")
	})
	c := p.check("bgp.session.edge1")
	if !strings.Contains(c.Reason, "dxwatch cannot open its TCP connection: connection refused") || strings.Contains(c.Reason, "idle") {
		t.Errorf("reason %q: want the socket's error and no idle hold timer", c.Reason)
	}
	if !strings.Contains(c.Fix, "edge1 refuses TCP 127.0.0.1:") || !strings.Contains(c.Fix, "configure a neighbor for dxwatch") {
		t.Errorf("fix %q: want the refused connection's fix", c.Fix)
	}
	if got := p.peerView("edge1").LastError; got != "tcp connect: connection refused" {
		t.Errorf("/api/routes last_error %q, want \"tcp connect: connection refused\"", got)
	}
}

// TestGoBGPLog: GoBGP's connect failures are caught, by the peer address
// its logger carries, only while a peer is down; its other lines pass on at
// the probe's level.
func TestGoBGPLog(t *testing.T) {
	var out syncbuf.Buffer
	var watch atomic.Bool
	type report struct {
		peer  netip.Addr
		cause string
	}
	var got []report
	h := &gobgpLog{
		next:  slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}),
		watch: &watch,
		report: func(a netip.Addr, cause string, _ time.Time) {
			got = append(got, report{a, cause})
		},
	}
	log := slog.New(h).With(slog.String("Topic", "Peer"), slog.String("Key", "192.0.2.1"))
	fail := func() {
		log.Debug(gobgpConnectFailed, slog.String("Error", "dial tcp 192.0.2.9:0->192.0.2.1:179: connect: network is unreachable"))
	}
	fail()
	if len(got) != 0 || h.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatalf("with every peer up: reports %v, debug enabled %v; want none", got, h.Enabled(context.Background(), slog.LevelDebug))
	}
	watch.Store(true)
	fail()
	log.Debug("received update")
	log.Info("peer up")
	log.Warn("something GoBGP warns about")
	want := []report{{netip.MustParseAddr("192.0.2.1"), "network is unreachable"}}
	if len(got) != 1 || got[0] != want[0] {
		t.Errorf("reports %v, want %v", got, want)
	}
	if s := out.String(); strings.Contains(s, "failed to connect") || strings.Contains(s, "peer up") || !strings.Contains(s, "something GoBGP warns about") {
		t.Errorf("passed on:\n%s\nwant only the warning (the probe logs at warn)", s)
	}
}

func TestConnectCause(t *testing.T) {
	for in, want := range map[string]string{
		"dial tcp 10.1.0.50:0->10.1.0.1:179: connect: connection refused": "connection refused",
		"dial tcp 10.1.0.1:179: i/o timeout":                              "i/o timeout",
		"weird":                                                           "weird",
	} {
		if got := connectCause(in); got != want {
			t.Errorf("connectCause(%q) = %q, want %q", in, got, want)
		}
	}
}
