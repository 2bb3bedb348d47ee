package ping

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// permissionFix is the advice of every ICMP permission error.
const permissionFix = "allow unprivileged ICMP for the agent's group with " +
	"`sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"` (or a range holding its GID), " +
	"or allow raw sockets with `setcap cap_net_raw+ep /usr/local/bin/dxwatch`"

// listenICMP opens the ICMP socket of key k: an unprivileged ICMP socket
// (SOCK_DGRAM, allowed by net.ipv4.ping_group_range) when the kernel lets
// the process have one, else a raw socket (CAP_NET_RAW). One socket serves
// every target sharing its family, source, interface, DSCP and TTL; replies
// are told apart by the dxwatch header in their payload.
func listenICMP(k sockKey) (packetConn, bool, uint16, error) {
	network, rawNetwork, addr := "udp4", "ip4:icmp", "0.0.0.0"
	if k.v6 {
		network, rawNetwork, addr = "udp6", "ip6:ipv6-icmp", "::"
	}
	if k.source.IsValid() {
		addr = k.source.String()
	}
	var ifIndex int
	if k.iface != "" {
		ifi, err := net.InterfaceByName(k.iface)
		if err != nil {
			return nil, false, 0, fmt.Errorf("interface %s: %w", k.iface, err)
		}
		ifIndex = ifi.Index
	}
	raw := false
	c, err := icmp.ListenPacket(network, addr)
	if err != nil {
		if !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EPERM) &&
			!errors.Is(err, syscall.EPROTONOSUPPORT) && !errors.Is(err, syscall.ESOCKTNOSUPPORT) {
			return nil, false, 0, fmt.Errorf("open icmp socket on %s: %w", addr, err)
		}
		c, err = icmp.ListenPacket(rawNetwork, addr)
		if err != nil {
			if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
				return nil, false, 0, fmt.Errorf("open icmp socket: neither unprivileged ICMP nor raw sockets are allowed: %s: %w", permissionFix, err)
			}
			return nil, false, 0, fmt.Errorf("open raw icmp socket on %s: %w", addr, err)
		}
		raw = true
	}
	id := uint16(rand.Uint32())
	conn := &icmpConn{c: c, v6: k.v6, raw: raw, ifIndex: ifIndex, buf: make([]byte, 8+MaxSize+60), oob: make([]byte, 64)}
	if err := conn.setup(k, id); err != nil {
		c.Close()
		return nil, false, 0, err
	}
	return conn, raw, id, nil
}

// icmpConn is a real ICMP socket. Its messages are read with recvmsg and
// the kernel's receive timestamp (SO_TIMESTAMPNS), under mu, by Receive's
// goroutine and by Drain.
type icmpConn struct {
	c       *icmp.PacketConn
	rc      syscall.RawConn
	v6, raw bool
	ifIndex int

	mu       sync.Mutex
	buf, oob []byte
}

func (c *icmpConn) setup(k sockKey, id uint16) error {
	// Both kinds of socket are a net.UDPConn or net.IPConn underneath.
	var pc net.PacketConn
	if c.v6 {
		pc = c.c.IPv6PacketConn().PacketConn
	} else {
		pc = c.c.IPv4PacketConn().PacketConn
	}
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return fmt.Errorf("icmp socket: %T has no file descriptor", pc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("icmp socket: %w", err)
	}
	c.rc = rc
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return fmt.Errorf("icmp socket: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("enable receive timestamps (SO_TIMESTAMPNS): %w", serr)
	}
	tclass := k.dscp << 2
	if c.v6 {
		p := c.c.IPv6PacketConn()
		if err := p.SetHopLimit(k.ttl); err != nil {
			return fmt.Errorf("set hop limit %d: %w", k.ttl, err)
		}
		if tclass != 0 {
			if err := p.SetTrafficClass(tclass); err != nil {
				return fmt.Errorf("set traffic class for dscp %d: %w", k.dscp, err)
			}
		}
		if c.raw {
			// A raw ICMPv6 socket sees every ICMPv6 message (neighbour
			// discovery included): let the kernel keep only our replies.
			return setBPF(p.SetBPF, []bpf.Instruction{
				bpf.LoadAbsolute{Off: 0, Size: 1},
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: icmp6EchoReply, SkipTrue: 1},
				bpf.RetConstant{Val: 0},
				bpf.LoadAbsolute{Off: 4, Size: 2},
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(id), SkipFalse: 1},
				bpf.RetConstant{Val: 0xffff},
				bpf.RetConstant{Val: 0},
			})
		}
		return nil
	}
	p := c.c.IPv4PacketConn()
	if err := p.SetTTL(k.ttl); err != nil {
		return fmt.Errorf("set ttl %d: %w", k.ttl, err)
	}
	if tclass != 0 {
		if err := p.SetTOS(tclass); err != nil {
			return fmt.Errorf("set tos for dscp %d: %w", k.dscp, err)
		}
	}
	if c.raw {
		// A raw ICMP socket sees every ICMP message the host receives.
		return setBPF(p.SetBPF, []bpf.Instruction{
			bpf.LoadMemShift{Off: 0}, // X = IP header length
			bpf.LoadIndirect{Off: 0, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: icmp4EchoReply, SkipTrue: 1},
			bpf.RetConstant{Val: 0},
			bpf.LoadIndirect{Off: 4, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(id), SkipFalse: 1},
			bpf.RetConstant{Val: 0xffff},
			bpf.RetConstant{Val: 0},
		})
	}
	return nil
}

func setBPF(set func([]bpf.RawInstruction) error, prog []bpf.Instruction) error {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("assemble icmp filter: %w", err)
	}
	if err := set(raw); err != nil {
		return fmt.Errorf("attach icmp filter: %w", err)
	}
	return nil
}

// WriteTo sends the ICMP message msg to dst.
func (c *icmpConn) WriteTo(msg []byte, dst netip.Addr) error {
	var a net.Addr
	if c.raw {
		a = &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	} else {
		a = &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	}
	var err error
	switch {
	case c.ifIndex == 0:
		_, err = c.c.WriteTo(msg, a)
	case c.v6:
		_, err = c.c.IPv6PacketConn().WriteTo(msg, &ipv6.ControlMessage{IfIndex: c.ifIndex}, a)
	default:
		_, err = c.c.IPv4PacketConn().WriteTo(msg, &ipv4.ControlMessage{IfIndex: c.ifIndex}, a)
	}
	return err
}

// Receive reads messages as they arrive and calls handle with each, until
// the socket is closed (net.ErrClosed) or a read fails.
func (c *icmpConn) Receive(handle handler) error {
	var rerr error
	err := c.rc.Read(func(fd uintptr) bool {
		// Read until the queue is empty before waiting again: the poller
		// only wakes for messages that arrive after that.
		rerr = c.readQueued(int(fd), handle)
		return rerr != nil
	})
	if err != nil {
		return err
	}
	return rerr
}

// Drain calls handle with every message queued on the socket, without
// waiting. Once it returns, every message the socket held when it was
// called has been handled, here or by Receive.
func (c *icmpConn) Drain(handle handler) error {
	var rerr error
	if err := c.rc.Control(func(fd uintptr) { rerr = c.readQueued(int(fd), handle) }); err != nil {
		return err
	}
	return rerr
}

// readQueued reads and handles messages until none is queued. Holding mu
// from each message's read to the end of its handling is what lets Drain
// promise that nothing read by Receive is still unhandled.
func (c *icmpConn) readQueued(fd int, handle handler) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		n, oobn, _, from, err := syscall.Recvmsg(fd, c.buf, c.oob, syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			return nil
		case err == syscall.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("recvmsg: %w", err)
		}
		at := arrival(time.Now(), c.oob[:oobn])
		msg := c.buf[:n]
		if c.raw && !c.v6 {
			msg = stripIPv4Header(msg)
		}
		var src netip.Addr
		switch a := from.(type) {
		case *syscall.SockaddrInet4:
			src = netip.AddrFrom4(a.Addr)
		case *syscall.SockaddrInet6:
			src = netip.AddrFrom16(a.Addr).Unmap()
		}
		handle(msg, src, at)
	}
}

// stripIPv4Header returns the ICMP message of an IPv4 datagram read from a
// raw socket, or nothing when it is malformed.
func stripIPv4Header(b []byte) []byte {
	if len(b) < 20 || b[0]>>4 != 4 {
		return nil
	}
	hl := int(b[0]&0x0f) << 2
	if hl < 20 || len(b) < hl {
		return nil
	}
	return b[hl:]
}

// arrival is the time a message read at now arrived, from the kernel's
// receive timestamp in oob: now less the time the message waited in the
// socket. The timestamp is on the wall clock; the result keeps now's
// monotonic reading, and a wall-clock step (an age that is negative or
// above a minute) gives now.
func arrival(now time.Time, oob []byte) time.Time {
	hdr := int(unsafe.Sizeof(syscall.Cmsghdr{}))
	for len(oob) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			break
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && l >= hdr+int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&oob[hdr]))
			age := now.Sub(time.Unix(int64(ts.Sec), int64(ts.Nsec)))
			if age < 0 || age > time.Minute {
				return now
			}
			return now.Add(-age)
		}
		next := syscall.CmsgSpace(l - hdr)
		if next > len(oob) {
			break
		}
		oob = oob[next:]
	}
	return now
}

// Close closes the socket, ending a blocked ReadFrom.
func (c *icmpConn) Close() error { return c.c.Close() }

// isRouteError reports whether a send failed for lack of a route: a
// measurement of the network, not a failure of the probe.
func isRouteError(err error) bool {
	return errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH)
}

// isAddrNotAvailable reports whether a socket could not be bound to its
// source address because no interface of the host has it.
func isAddrNotAvailable(err error) bool { return errors.Is(err, syscall.EADDRNOTAVAIL) }
