//go:build linux

package bgp

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"golang.org/x/sys/unix"
)

// md5Control sets the TCP MD5 key for peer on a socket before it connects
// (Linux TCP_MD5SIG, as GoBGP's internal/pkg/netutils/sockopt_linux.go).
func md5Control(peer netip.Addr, key string) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		sig := unix.TCPMD5Sig{Keylen: uint16(len(key))}
		copy(sig.Key[:], key)
		if peer.Is4() {
			sig.Addr.Family = unix.AF_INET
			a := peer.As4()
			copy(sig.Addr.Data[2:], a[:]) // after the port
		} else {
			sig.Addr.Family = unix.AF_INET6
			a := peer.As16()
			copy(sig.Addr.Data[6:], a[:]) // after the port and flow info
		}
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = unix.SetsockoptTCPMD5Sig(int(fd), unix.IPPROTO_TCP, unix.TCP_MD5SIG, &sig)
		}); cerr != nil {
			return cerr
		}
		return err
	}
}

// TestLeanObserver runs the option (c) prototype against a real GoBGP
// speaker on loopback, with TCP MD5 and ADD-PATH: a wrong key never
// connects; with the right one it keeps the VPC prefix's two paths (one
// per link by next hop) and drops the other prefix; the speaker receives
// nothing from it; a reset by the speaker ends the session with its
// NOTIFICATION.
func TestLeanObserver(t *testing.T) {
	noLeaks(t)
	const key = "dx-agent-md5"
	port := freePort(t)
	edge := newSpeaker(t, 65000, edge1Addr, port)
	edge.addPeer(t, dxAddr, 65000, passive(), sendPaths(2), withKey(key))
	edge.announce(t, primaryPath, secondaryPath,
		route{prefix: "10.9.0.0/16", id: 1, nextHop: primaryAmazon, asPath: []uint32{64512, 7224}})
	addr := net.JoinHostPort(edge1Addr, strconv.Itoa(port))
	dialer := func(key string) *net.Dialer {
		d := &net.Dialer{Timeout: 2 * time.Second, Control: md5Control(netip.MustParseAddr(edge1Addr), key)}
		d.SetMultipathTCP(false) // TCP MD5 does not work on MPTCP sockets
		return d
	}

	t.Run("wrong key", func(t *testing.T) {
		c, err := dialer("not-the-key").Dial("tcp", addr)
		if err == nil {
			c.Close()
			t.Fatal("connected with a wrong MD5 key")
		}
	})

	c, err := dialer(key).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	o := newLeanObserver([]netip.Prefix{netip.MustParsePrefix(vpcPrefix)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- o.run(ctx, c, 65000, netip.MustParseAddr("192.0.2.10"), 9*time.Second) }()
	eventually(t, 20*time.Second, "3 paths received, 2 kept", func() bool {
		return o.received.Load() == 3 && o.kept.Load() == 2
	})
	if !edge.established(t, dxAddr) {
		t.Error("the speaker does not see the session established")
	}
	if got := edge.adjIn(t, dxAddr); len(got) != 0 {
		t.Errorf("the speaker received %v from the observer, want nothing", got)
	}

	if err := edge.s.ResetPeer(context.Background(), &api.ResetPeerRequest{Address: dxAddr, Communication: "test reset"}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "notification from peer: code 6") {
			t.Errorf("after a reset: %v, want the peer's Cease", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the session did not end after the speaker's reset")
	}
	// The reader has returned: its table can be read.
	var nhs []string
	for _, lp := range o.paths[netip.MustParsePrefix(vpcPrefix)] {
		nhs = append(nhs, lp.nextHop.String())
	}
	slices.Sort(nhs)
	if want := []string{primaryAmazon.String(), secondaryAmazon.String()}; !slices.Equal(nhs, want) {
		t.Errorf("VPC prefix next hops %v, want %v", nhs, want)
	}
	if len(o.paths) != 1 {
		t.Errorf("kept %d prefixes, want only the VPC prefix", len(o.paths))
	}
}
