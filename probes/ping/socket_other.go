//go:build !linux

package ping

import "errors"

func listenICMP(sockKey) (packetConn, bool, uint16, error) {
	return nil, false, 0, errors.New("open icmp socket: dxwatch's ping probe runs on Linux only")
}

func isRouteError(error) bool { return false }

func isAddrNotAvailable(error) bool { return false }
