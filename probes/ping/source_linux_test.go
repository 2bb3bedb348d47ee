package ping

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// sourceSite is a site with one link whose "Amazon address" is 127.0.0.1
// and whose probe source is src.
func sourceSite(src string) probes.Site {
	return probes.Site{Links: []probes.Link{{
		Name: "primary", Role: probes.RolePrimary,
		CustomerAddress: netip.MustParsePrefix("127.0.0.1/8"),
		AmazonAddress:   netip.MustParsePrefix("127.0.0.1/8"),
		ProbeSource:     netip.MustParseAddr(src),
	}}}
}

// TestProbeSource pins echoes to a link whose probe source is 127.0.0.2:
// they go to 127.0.0.1 from 127.0.0.2, so the replies come back to
// 127.0.0.2. As root a raw socket watches them on loopback; without
// CAP_NET_RAW (TestPrivileges runs it over unprivileged ICMP sockets) the
// replies reaching the probe's socket, bound to 127.0.0.2, are the evidence
// (the kernel delivers to a bound ICMP socket only what is addressed to it).
func TestProbeSource(t *testing.T) {
	needICMP(t)
	src, dst := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")
	sniff := startSniffer(t)

	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.Interval = 20 * time.Millisecond
	p, err := New("ping", cfg, probes.Deps{Site: sourceSite(src.String()), Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var keys []sockKey
	p.listen = func(k sockKey) (packetConn, bool, uint16, error) {
		mu.Lock()
		keys = append(keys, k)
		mu.Unlock()
		return listenICMP(k)
	}
	target := amazonTarget("primary")
	stop := startProbe(t, p)
	waitFor(t, "5 replies", func() bool { return len(rec.of(target, probes.EchoReply)) >= 5 })
	stop()
	mu.Lock()
	if len(keys) != 1 || keys[0].source != src {
		t.Errorf("sockets opened %+v, want one bound to %s", keys, src)
	}
	mu.Unlock()
	if sniff == nil {
		t.Logf("no raw socket to watch loopback with: %d replies reached the socket bound to %s", len(rec.of(target, probes.EchoReply)), src)
		return
	}
	req, rep := sniff.stop(p.nonce)
	t.Logf("on loopback: requests by source %v, replies by destination %v", req, rep)
	if len(req) != 1 || req[src] < 5 || len(rep) != 1 || rep[src] < 5 {
		t.Errorf("echoes to %s by source %v and their replies by destination %v: want all from and to %s", dst, req, rep, src)
	}
}

// TestProbeSourceNotOnHost: a probe source that no interface has fails Run
// with the fix, naming the link.
func TestProbeSourceNotOnHost(t *testing.T) {
	needICMP(t)
	p, err := New("ping", DefaultConfig(), probes.Deps{Site: sourceSite("203.0.113.77")})
	if err != nil {
		t.Fatal(err)
	}
	// Run fails at once; a Run that opened its sockets probes until ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = p.Run(ctx)
	if err == nil {
		t.Fatal("Run succeeded with a probe source the host does not have")
	}
	want := "probe_source 203.0.113.77 of link primary is not an address of this host: " +
		"add the address to the agent host and have the edge advertise it over link primary only"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Run: %v\nwant it to say %q", err, want)
	}
}

// sniffer counts the dxwatch echoes a raw ICMP socket sees on loopback.
type sniffer struct {
	fd   int
	done chan struct{}
	mu   sync.Mutex
	pkts [][]byte
}

// startSniffer opens a raw ICMP socket, or returns nil without the
// privilege for one.
func startSniffer(t *testing.T) *sniffer {
	if os.Getenv(childEnv) != "" {
		return nil
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_ICMP)
	if err != nil {
		return nil
	}
	tv := syscall.NsecToTimeval(int64(100 * time.Millisecond))
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	s := &sniffer{fd: fd, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 65536)
		for {
			n, _, err := syscall.Recvfrom(fd, buf, 0)
			switch {
			case err == syscall.EAGAIN || err == syscall.EINTR:
				continue
			case err != nil:
				return // closed by stop
			}
			s.mu.Lock()
			s.pkts = append(s.pkts, bytes.Clone(buf[:n]))
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { s.close() })
	return s
}

func (s *sniffer) close() {
	syscall.Shutdown(s.fd, syscall.SHUT_RDWR) //nolint:errcheck // ends the blocked read
	syscall.Close(s.fd)
	<-s.done
}

// stop ends the capture and counts the echo requests carrying nonce by
// source address and the echo replies carrying it by destination.
func (s *sniffer) stop(nonce uint32) (requests, replies map[netip.Addr]int) {
	time.Sleep(50 * time.Millisecond) // the last replies' copies
	s.mu.Lock()
	pkts := s.pkts
	s.mu.Unlock()
	requests, replies = map[netip.Addr]int{}, map[netip.Addr]int{}
	for _, b := range pkts {
		if len(b) < 20 {
			continue
		}
		hl := int(b[0]&0x0f) << 2
		ipSrc, ipDst := netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		m := b[hl:]
		if len(m) < 8+headerLen || !bytes.Equal(m[8:12], magic[:]) || binary.BigEndian.Uint32(m[12:]) != nonce {
			continue
		}
		switch m[0] {
		case icmp4EchoRequest:
			requests[ipSrc]++
		case icmp4EchoReply:
			replies[ipDst]++
		}
	}
	return requests, replies
}
