package bgp

import (
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// md5Control sets the TCP MD5 key (RFC 2385) for peer on a socket before
// it connects: Linux TCP_MD5SIG, as GoBGP's
// internal/pkg/netutils/sockopt_linux.go does. An empty key sets nothing.
func md5Control(peer netip.Addr, key string) func(network, address string, c syscall.RawConn) error {
	if key == "" {
		return nil
	}
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
