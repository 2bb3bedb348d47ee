package bgp

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/labsite"
	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// rawPeer is a hand-driven BGP speaker on 127.0.0.2 that connects to a
// passive dxwatch: it can send what a real speaker never would.
type rawPeer struct {
	c net.Conn
}

func dialRaw(port int) (*rawPeer, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(edge1Addr)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	return &rawPeer{c: c}, nil
}

func (r *rawPeer) write(b []byte) error {
	_, err := r.c.Write(b)
	return err
}

func (r *rawPeer) writeMsg(m *gobgp.BGPMessage, opts ...*gobgp.MarshallingOption) error {
	b, err := m.Serialize(opts...)
	if err != nil {
		return err
	}
	return r.write(b)
}

func (r *rawPeer) read() (*gobgp.BGPMessage, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	h := make([]byte, gobgp.BGP_HEADER_LENGTH)
	if _, err := io.ReadFull(r.c, h); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint16(h[16:18])
	if n < gobgp.BGP_HEADER_LENGTH {
		return nil, fmt.Errorf("bad length %d", n)
	}
	b := make([]byte, n)
	copy(b, h)
	if _, err := io.ReadFull(r.c, b[gobgp.BGP_HEADER_LENGTH:]); err != nil {
		return nil, err
	}
	return gobgp.ParseBGPMessage(b)
}

// establish runs OPEN/KEEPALIVE with the given OPEN.
func (r *rawPeer) establish(open *gobgp.BGPMessage) error {
	if err := r.writeMsg(open); err != nil {
		return err
	}
	if err := r.writeMsg(gobgp.NewBGPKeepAliveMessage()); err != nil {
		return err
	}
	for {
		m, err := r.read()
		if err != nil {
			return err
		}
		switch m.Header.Type {
		case gobgp.BGP_MSG_KEEPALIVE:
			return nil
		case gobgp.BGP_MSG_NOTIFICATION:
			return fmt.Errorf("notification: %v", m.Body)
		}
	}
}

var addPathSend = &gobgp.MarshallingOption{AddPath: map[gobgp.Family]gobgp.BGPAddPathMode{gobgp.RF_IPv4_UC: gobgp.BGP_ADD_PATH_SEND}}

// establishRetry connects, with ADD-PATH, until dxwatch accepts (it
// refuses while its session is in idle hold after a reset).
func establishRetry(t testing.TB, port int) *rawPeer {
	t.Helper()
	return establishRetryOpen(t, port, openMsg(65000, "192.0.2.1", true))
}

// establishRetryOpen is establishRetry with the given OPEN.
func establishRetryOpen(t testing.TB, port int, open *gobgp.BGPMessage) *rawPeer {
	t.Helper()
	var last error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		r, err := dialRaw(port)
		if err != nil {
			last = err
			continue
		}
		if err := r.establish(open); err != nil {
			r.c.Close()
			last = err
			continue
		}
		return r
	}
	t.Fatalf("could not establish: %v", last)
	return nil
}

func passiveProbe(t *testing.T) (*Probe, int) {
	t.Helper()
	port := freePort(t)
	cfg := edgeConfig(0, PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Passive: true, HoldTime: 9 * time.Second})
	cfg.ListenPort = port
	p := newTestProbe(t, cfg, labsite.Site(), nil)
	runProbe(t, p)
	return p, port
}

// TestBadBGPInput: garbage and malformed UPDATEs on the BGP port. dxwatch
// keeps running, reports the session, and leaks nothing.
func TestBadBGPInput(t *testing.T) {
	slow(t)
	noLeaks(t)
	p, port := passiveProbe(t)

	t.Run("garbage", func(t *testing.T) {
		var r *rawPeer
		eventually(t, 10*time.Second, "listener", func() bool {
			var err error
			r, err = dialRaw(port)
			return err == nil
		})
		defer r.c.Close()
		if err := r.write([]byte("GET / HTTP/1.1\r\nHost: dxwatch\r\n\r\n" + string(make([]byte, 64)))); err != nil {
			t.Fatal(err)
		}
		// dxwatch (GoBGP) answers with a NOTIFICATION or closes.
		for {
			m, err := r.read()
			if err != nil || m.Header.Type == gobgp.BGP_MSG_NOTIFICATION {
				break
			}
		}
	})

	t.Run("malformed update", func(t *testing.T) {
		r := establishRetry(t, port)
		defer r.c.Close()
		eventually(t, 10*time.Second, "session up", func() bool { return p.peerView("edge1").Up })
		good := updateMsg(t, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, 1)}, []uint32{64512}, primaryAmazon.String())
		b, err := good.Serialize(addPathSend)
		if err != nil {
			t.Fatal(err)
		}
		// ORIGIN 7 is invalid: RFC 7606 treats the UPDATE as a withdraw.
		bad := append([]byte(nil), b...)
		for i := gobgp.BGP_HEADER_LENGTH + 4; i+3 < len(bad); i++ {
			if bad[i] == 0x40 && bad[i+1] == 1 && bad[i+2] == 1 { // ORIGIN, flags transitive, length 1
				bad[i+3] = 7
				break
			}
		}
		if err := r.write(bad); err != nil {
			t.Fatal(err)
		}
		// A truncated attribute list: the length field says more than
		// there is.
		trunc := append([]byte(nil), b...)
		binary.BigEndian.PutUint16(trunc[gobgp.BGP_HEADER_LENGTH+2:], 0x0fff)
		if err := r.write(trunc); err != nil {
			t.Fatal(err)
		}
		eventually(t, 15*time.Second, "the session reset reported", func() bool {
			pv := p.peerView("edge1")
			return !pv.Up && pv.Flaps > 0 && pv.LastError != ""
		})
		t.Logf("reported: %+v", p.peerView("edge1"))
	})

	// dxwatch still serves its view.
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/api/routes", nil))
	if rec.Code != 200 {
		t.Errorf("GET /api/routes = %d", rec.Code)
	}
}

// TestPeerResets: a peer that comes up, sends its paths and resets, four
// times in a row (the bounded version of "every second for a minute";
// BenchmarkPeerResets runs longer).
func TestPeerResets(t *testing.T) {
	slow(t)
	noLeaks(t)
	p, port := passiveProbe(t)
	// Both kinds of reset, twice each: every reset costs GoBGP's idle hold
	// (about 5 s), and more rounds find nothing these do not.
	resets(t, p, port, 4)
}

func resets(t testing.TB, p *Probe, port, n int) {
	for i := range n {
		r := establishRetry(t, port)
		upd := updateMsg(t, nil, []gobgp.PathNLRI{pnlri(vpcPrefix, 1), pnlri(fmt.Sprintf("10.%d.0.0/16", i), 1)}, []uint32{64512}, primaryAmazon.String())
		if err := r.writeMsg(upd, addPathSend); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the path", func() bool { return p.linkPrefix("primary", vpcPrefix).Present })
		// Every other reset is a `clear bgp` (Cease, administrative
		// reset), the others drop the TCP connection. Either way GoBGP
		// 4.8.0 then refuses the peer for about 5s (its idle hold), so
		// the peer's "every second" retries are refused in between.
		if i%2 == 0 {
			_ = r.writeMsg(gobgp.NewBGPNotificationMessage(gobgp.BGP_ERROR_CEASE, gobgp.BGP_ERROR_SUB_ADMINISTRATIVE_RESET, nil))
		}
		r.c.Close()
		eventually(t, 10*time.Second, "the reset", func() bool {
			return !p.peerView("edge1").Up && !p.linkPrefix("primary", vpcPrefix).Present
		})
	}
	pv := p.peerView("edge1")
	if pv.Flaps != uint64(n) {
		t.Errorf("flaps = %d, want %d", pv.Flaps, n)
	}
	if r := p.Routes(); r.TablePrefixes != 0 || r.Links[0].ReceivedPrefixes != 0 {
		t.Errorf("after the last reset: %d prefixes in the table, %d on primary", r.TablePrefixes, r.Links[0].ReceivedPrefixes)
	}
}
