package bgp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/pkg/packet/bmp"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// dialFrom connects to the probe's BMP station from the loopback address
// src.
func dialFrom(t *testing.T, p *Probe, src string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", p.BMPAddr().String())
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByStation reports whether the station closed c without a word.
func closedByStation(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || err != nil
}

// TestBMPRefusesUnlistedRouters: the station accepts only bmp.routers; a
// connection from elsewhere on loopback is closed at accept, counted and
// logged once per source.
func TestBMPRefusesUnlistedRouters(t *testing.T) {
	noLeaks(t)
	logs := &logRecorder{}
	cfg := DefaultConfig()
	cfg.BMP.ListenAddress = "127.0.0.1:0"
	cfg.BMP.Routers = []string{"127.0.0.1"}
	p, err := New("bgp", cfg, probes.Deps{Site: labsite.Site(), Observer: &recorder{}, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	runProbe(t, p)
	eventually(t, 5*time.Second, "bmp listener", func() bool { return p.BMPAddr() != nil })

	for range 3 {
		c := dialFrom(t, p, "127.0.0.2")
		// A router that is refused may still send before it notices.
		writeBMP(t, c, bmp.NewBMPInitiation([]bmp.BMPInfoTLVInterface{bmp.NewBMPInfoTLVString(bmp.BMP_INIT_TLV_TYPE_SYS_NAME, "intruder")}))
		if !closedByStation(t, c) {
			t.Fatal("a connection from 127.0.0.2, not in bmp.routers, was kept open")
		}
	}
	if n := p.bmpRefused.Load(); n != 3 {
		t.Errorf("dxwatch_bmp_connections_refused_total %d, want 3", n)
	}
	if n := logs.count(slog.LevelWarn, "bmp station: connection refused"); n != 1 {
		t.Errorf("%d warnings for 3 refusals from one source, want 1", n)
	}

	c := dialFrom(t, p, "127.0.0.1")
	writeBMP(t, c, bmp.NewBMPInitiation([]bmp.BMPInfoTLVInterface{bmp.NewBMPInfoTLVString(bmp.BMP_INIT_TLV_TYPE_SYS_NAME, "edge1")}))
	eventually(t, 10*time.Second, "the listed router connected", func() bool { return len(p.Routes().BMPRouters) == 1 })
	if n := p.bmpRefused.Load(); n != 3 {
		t.Errorf("dxwatch_bmp_connections_refused_total %d after a listed router connected, want 3", n)
	}
}

func TestBMPAllowed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		peers   []string
		routers []string
		allow   []string
		refuse  []string
	}{
		{"default: the peers", []string{"192.0.2.1", "2001:db8::1"}, nil, []string{"192.0.2.1", "2001:db8::1"}, []string{"192.0.2.2", "2001:db8::2"}},
		{"routers replace the peers", []string{"192.0.2.1"}, []string{"192.0.2.64/26", "198.51.100.7"},
			[]string{"192.0.2.65", "192.0.2.127", "198.51.100.7"}, []string{"192.0.2.1", "192.0.2.128", "198.51.100.8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.BMP.Routers = tc.routers
			for i, a := range tc.peers {
				cfg.Peers = append(cfg.Peers, PeerConfig{Name: "edge" + itoa(i), Address: a})
			}
			p := &Probe{bmpAllowed: cfg.allowed()}
			for _, a := range tc.allow {
				if !p.bmpAllows(mustAddr(a)) {
					t.Errorf("%s refused", a)
				}
			}
			for _, a := range tc.refuse {
				if p.bmpAllows(mustAddr(a)) {
					t.Errorf("%s accepted", a)
				}
			}
		})
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// count returns how many records at level start with msg.
func (l *logRecorder) count(level slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == level && strings.HasPrefix(r.Message, msg) {
			n++
		}
	}
	return n
}

// TestBMPPortTaken: beside the daemon, verify's BMP station cannot listen;
// the error says which other process is likely to hold the port.
func TestBMPPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := DefaultConfig()
	cfg.BMP.ListenAddress = ln.Addr().String()
	cfg.BMP.Routers = []string{"127.0.0.1"}
	p := newTestProbe(t, cfg, labsite.Site(), &recorder{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = p.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "dxwatch verify --agent http://localhost:9479") {
		t.Errorf("Run on a taken BMP port: %v, want an error naming the daemon and verify --agent", err)
	}
}
