//go:build !linux

package bgp

import (
	"errors"
	"net/netip"
	"syscall"
)

// md5Control: TCP MD5 is set with Linux's TCP_MD5SIG only.
func md5Control(_ netip.Addr, key string) func(network, address string, c syscall.RawConn) error {
	if key == "" {
		return nil
	}
	return func(string, string, syscall.RawConn) error {
		return errors.New("tcp md5 for session lean needs Linux: use session gobgp here")
	}
}
