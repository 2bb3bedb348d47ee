package bgp

import (
	"bytes"
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
// AWS and, on each edge, the ADD-PATH iBGP session with the other edge.
// The captures under testdata/bmp are what TestBMPCaptures decodes:
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
