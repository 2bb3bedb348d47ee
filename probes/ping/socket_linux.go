package ping

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"

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
	conn := &icmpConn{c: c, v6: k.v6, raw: raw, ifIndex: ifIndex}
	if err := conn.setup(k, id); err != nil {
		c.Close()
		return nil, false, 0, err
	}
	return conn, raw, id, nil
}

// icmpConn is a real ICMP socket.
type icmpConn struct {
	c       *icmp.PacketConn
	v6, raw bool
	ifIndex int
}

func (c *icmpConn) setup(k sockKey, id uint16) error {
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

// ReadFrom reads one ICMP message (without IP header) into b.
func (c *icmpConn) ReadFrom(b []byte) (int, netip.Addr, error) {
	n, a, err := c.c.ReadFrom(b)
	if err != nil {
		return 0, netip.Addr{}, err
	}
	var ip net.IP
	switch a := a.(type) {
	case *net.IPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	}
	src, _ := netip.AddrFromSlice(ip)
	return n, src.Unmap(), nil
}

// Close closes the socket, ending a blocked ReadFrom.
func (c *icmpConn) Close() error { return c.c.Close() }

// isRouteError reports whether a send failed for lack of a route: a
// measurement of the network, not a failure of the probe.
func isRouteError(err error) bool {
	return errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH)
}
