package bgp

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/golden"
)

// TestLabBMPCapture records, with -update, the raw BMP stream each edge of
// the two-edge lab sends a station: its initial dump, the sessions with
// AWS (IPv4 and IPv6) and, on each edge, the ADD-PATH iBGP session with
// the other edge. Then edge2's stream while its IPv6 session with AWS is
// cleared from AWS's side until FRR sends a Peer Up with a placeholder
// OPEN (edge2-ipv6-clears.bmp; see the README). The captures under
// testdata/bmp are what TestBMPCaptures decodes:
//
//	go test -count=1 -run '^TestLabBMPCapture$' ./probes/bgp/ -update
func TestLabBMPCapture(t *testing.T) {
	if !golden.Update() {
		t.Skip("records testdata/bmp/*.bmp from the lab's FRR with -update (as root: make test-lab)")
	}
	if err := lab.Available(); err != nil {
		t.Skipf("needs root and the lab: run make test-lab (%v)", err)
	}
	l := lab.ForTest(t, lab.Options{Edge: lab.EdgeTwo})
	ln, err := l.Listen(lab.HostAgent, "tcp", net.JoinHostPort(lab.AgentAddress, itoa(lab.BMPPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	names := map[string]string{lab.Edge1LAN: lab.HostEdge1, lab.Edge2LAN: lab.HostEdge2}
	var mu sync.Mutex
	got := map[string][]byte{}
	var wg sync.WaitGroup
	for range names {
		_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("accept the edges' BMP connections: %v", err)
		}
		name := names[remoteAddr(c).String()]
		if name == "" {
			t.Fatalf("BMP connection from %s, not an edge", c.RemoteAddr())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			// The initial dump comes in one burst: the stream is taken as
			// captured after 3s without a byte (60s at most).
			var b bytes.Buffer
			buf := make([]byte, 64<<10)
			for end := time.Now().Add(60 * time.Second); time.Now().Before(end); {
				_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
				n, err := c.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
						if err != io.EOF {
							t.Errorf("%s: %v", name, err)
						}
					}
					break
				}
			}
			mu.Lock()
			got[name] = b.Bytes()
			mu.Unlock()
		}()
	}
	wg.Wait()
	got[lab.HostEdge2+"-ipv6-clears"] = captureClears(t, l, ln)
	for name, b := range got {
		f := filepath.Join("testdata", "bmp", name+".bmp")
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", f, len(b))
	}
}

// captureClears records edge2's next BMP connection (FRR reconnects at
// once) while its IPv6 session with AWS is cleared from AWS's side, until
// edge2's bgpd logs that it sent a placeholder OPEN (12 rounds at most),
// then until 3s without a byte. Edge1's new connection is read and dropped.
func captureClears(t *testing.T, l *lab.Lab, ln net.Listener) []byte {
	t.Helper()
	placeholders := func() int {
		b, err := os.ReadFile(filepath.Join(l.Dir(), lab.HostEdge2, "bgpd.log"))
		if err != nil {
			t.Fatalf("edge2's bgpd log: %v", err)
		}
		return bytes.Count(b, []byte("bmp: missing RX OPEN message for peer "+lab.SecondaryAmazon6)) +
			bytes.Count(b, []byte("bmp: missing TX OPEN message for peer "+lab.SecondaryAmazon6))
	}
	before := placeholders()
	var edge2 net.Conn
	for edge2 == nil {
		_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("accept edge2's new BMP connection: %v", err)
		}
		if remoteAddr(c).String() == lab.Edge2LAN {
			edge2 = c
			continue
		}
		go func() { _, _ = io.Copy(io.Discard, c) }()
		t.Cleanup(func() { c.Close() })
	}
	defer edge2.Close()
	var b bytes.Buffer
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		stopping := false
		for {
			select {
			case <-stop:
				stopping = true
			default:
			}
			_ = edge2.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, err := edge2.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() && !stopping {
					continue
				}
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for round := 1; placeholders() == before; round++ {
		if round > 12 {
			t.Fatal("edge2 sent no Peer Up with a placeholder OPEN in 12 clears")
		}
		if _, err := l.Vtysh(ctx, lab.HostAWS2, "clear bgp "+lab.SecondaryCustomer6); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second) // the session's re-establishment; no assertion on time
	}
	close(stop)
	<-done
	return b.Bytes()
}
