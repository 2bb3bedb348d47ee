package trace

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// setcapFix is what a permission error tells the operator to do.
const setcapFix = "the trace probe needs CAP_NET_RAW: run `setcap cap_net_raw+ep /usr/local/bin/dxwatch` (or run it as root)"

// network holds the sockets of one Run: per address family a raw ICMP
// socket that receives every reply (and sends echo probes), a raw UDP or
// TCP socket that sends the other probes, and ordinary sockets that hold
// the probes' source ports so no other program uses them.
type network struct {
	method  string
	flows   int
	log     *slog.Logger
	replies chan timedReply

	fams [2]*family // [0] IPv4, [1] IPv6
	wg   sync.WaitGroup
}

type family struct {
	v6      bool
	icmp    *icmp.PacketConn
	raw     *net.IPConn // UDP or TCP sender; TCP replies are read from it
	setTTL  func(int) error
	write   func([]byte, net.Addr) (int, error)
	ttl     int
	ports   []uint16 // UDP: the source port; TCP: one per flow
	holders []io.Closer
	// hdrincl (IPv6): the probes go out through raw with IPV6_HDRINCL,
	// each behind an IPv6 header of ours that carries the flow's label and
	// the hop limit; buf holds the packet being sent.
	hdrincl bool
	buf     []byte
}

func newNetwork(method string, flows int, log *slog.Logger) *network {
	return &network{method: method, flows: max(flows, 1), log: log, replies: make(chan timedReply, 1024)}
}

// permission wraps a socket error, adding the fix when it is a permission
// problem.
func permission(what string, err error) error {
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("open %s: %w (%s)", what, err, setcapFix)
	}
	return fmt.Errorf("open %s: %w", what, err)
}

// family returns the sockets of IPv4 or IPv6, opening them on first use.
func (n *network) family(v6 bool) (*family, error) {
	i := 0
	if v6 {
		i = 1
	}
	if n.fams[i] != nil {
		return n.fams[i], nil
	}
	f, err := n.open(v6)
	if err != nil {
		return nil, err
	}
	n.fams[i] = f
	return f, nil
}

func (n *network) open(v6 bool) (_ *family, err error) {
	f := &family{v6: v6}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	icmpNet, any, ver := "ip4:icmp", "0.0.0.0", "ipv4"
	if v6 {
		icmpNet, any, ver = "ip6:ipv6-icmp", "::", "ipv6"
	}
	f.icmp, err = icmp.ListenPacket(icmpNet, any)
	if err != nil {
		return nil, permission("raw icmp socket ("+ver+")", err)
	}
	// Only the replies a trace can use reach us; a busy host's other ICMP
	// (the ping probe's echo replies) stays in the kernel.
	if v6 {
		var flt ipv6.ICMPFilter
		flt.SetAll(true)
		for _, t := range []ipv6.ICMPType{ipv6.ICMPTypeTimeExceeded, ipv6.ICMPTypeDestinationUnreachable, ipv6.ICMPTypePacketTooBig, ipv6.ICMPTypeParameterProblem} {
			flt.Accept(t)
		}
		if n.method == MethodICMP {
			flt.Accept(ipv6.ICMPTypeEchoReply)
		}
		if err := f.icmp.IPv6PacketConn().SetICMPFilter(&flt); err != nil {
			return nil, fmt.Errorf("set icmpv6 filter: %w", err)
		}
	} else {
		var flt ipv4.ICMPFilter
		flt.SetAll(true)
		for _, t := range []ipv4.ICMPType{ipv4.ICMPTypeTimeExceeded, ipv4.ICMPTypeDestinationUnreachable, ipv4.ICMPTypeParameterProblem} {
			flt.Accept(t)
		}
		if n.method == MethodICMP {
			flt.Accept(ipv4.ICMPTypeEchoReply)
		}
		if err := f.icmp.IPv4PacketConn().SetICMPFilter(&flt); err != nil {
			return nil, fmt.Errorf("set icmp filter: %w", err)
		}
	}
	switch n.method {
	case MethodICMP:
		if v6 {
			// Sent through a raw socket of their own, with the flow's
			// label (setHdrincl); the replies arrive on f.icmp.
			c, err := net.ListenPacket("ip6:ipv6-icmp", any)
			if err != nil {
				return nil, permission("raw icmp socket ("+ver+")", err)
			}
			f.raw = c.(*net.IPConn)
			if err := setDropAll(f.raw, v6); err != nil {
				return nil, err
			}
			if err := f.setHdrincl(); err != nil {
				return nil, err
			}
		} else {
			f.setTTL = f.icmp.IPv4PacketConn().SetTTL
			f.write = f.icmp.WriteTo
		}
	case MethodUDP, MethodTCP:
		proto := "udp"
		if n.method == MethodTCP {
			proto = "tcp"
		}
		ipNet := "ip4:" + proto
		if v6 {
			ipNet = "ip6:" + proto
		}
		c, err := net.ListenPacket(ipNet, any)
		if err != nil {
			return nil, permission("raw "+proto+" socket ("+ver+")", err)
		}
		f.raw = c.(*net.IPConn)
		if v6 {
			if err := f.setHdrincl(); err != nil {
				return nil, err
			}
		} else {
			pc := ipv4.NewPacketConn(f.raw)
			f.setTTL = pc.SetTTL
			f.write = f.raw.WriteTo
		}
		if n.method == MethodUDP {
			// The raw UDP socket only sends: it would otherwise get a copy
			// of every datagram the host receives.
			if err := setDropAll(f.raw, v6); err != nil {
				return nil, err
			}
			port, h, err := holdPort(syscall.SOCK_DGRAM, v6)
			if err != nil {
				return nil, err
			}
			f.ports, f.holders = append(f.ports, port), append(f.holders, h)
		} else {
			for range n.flows {
				port, h, err := holdPort(syscall.SOCK_STREAM, v6)
				if err != nil {
					return nil, err
				}
				f.ports, f.holders = append(f.ports, port), append(f.holders, h)
			}
		}
	}
	n.wg.Add(1)
	go n.readICMP(f.icmp)
	if n.method == MethodTCP {
		n.wg.Add(1)
		go n.readTCP(f)
	}
	return f, nil
}

// setHdrincl has f send its IPv6 probes through f.raw with IPV6_HDRINCL
// (Linux 4.5 on): the kernel sends the header we write, flow label and hop
// limit included.
func (f *family) setHdrincl() error {
	rc, err := f.raw.SyscallConn()
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_HDRINCL, 1)
	}); err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("set IPV6_HDRINCL: %w", serr)
	}
	f.hdrincl = true
	f.write = f.raw.WriteTo
	return nil
}

func setDropAll(c *net.IPConn, v6 bool) error {
	prog, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		return fmt.Errorf("assemble socket filter: %w", err)
	}
	if v6 {
		err = ipv6.NewPacketConn(c).SetBPF(prog)
	} else {
		err = ipv4.NewPacketConn(c).SetBPF(prog)
	}
	if err != nil {
		return fmt.Errorf("attach socket filter: %w", err)
	}
	return nil
}

// holdPort binds an ordinary socket of type typ to an ephemeral port and
// returns the port and the socket holding it. A TCP socket is bound but
// never listens, so the kernel resets the SYN-ACKs our probes draw.
func holdPort(typ int, v6 bool) (uint16, io.Closer, error) {
	dom := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{}
	if v6 {
		dom, sa = unix.AF_INET6, &unix.SockaddrInet6{}
	}
	fd, err := unix.Socket(dom, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, fmt.Errorf("open port holder: %w", err)
	}
	file := os.NewFile(uintptr(fd), "trace-port")
	if err := unix.Bind(fd, sa); err != nil {
		file.Close()
		return 0, nil, fmt.Errorf("bind port holder: %w", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		file.Close()
		return 0, nil, fmt.Errorf("port holder address: %w", err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		return uint16(a.Port), file, nil
	case *unix.SockaddrInet6:
		return uint16(a.Port), file, nil
	}
	file.Close()
	return 0, nil, fmt.Errorf("port holder address %T", got)
}

// port returns the source port of flow i (UDP and TCP), or 0.
func (n *network) port(v6 bool, i int) (uint16, error) {
	f, err := n.family(v6)
	if err != nil {
		return 0, err
	}
	if len(f.ports) == 0 {
		return 0, nil
	}
	return f.ports[i%len(f.ports)], nil
}

// send implements sendFunc.
func (n *network) send(fl flow, ttl int, p []byte) (time.Time, error) {
	f, err := n.family(fl.dst.Is6())
	if err != nil {
		return time.Time{}, err
	}
	if f.hdrincl {
		f.buf = append(appendIPv6Header(f.buf[:0], fl, ttl, len(p)), p...)
		at := time.Now()
		_, err = f.write(f.buf, &net.IPAddr{IP: fl.dst.AsSlice()})
		return at, err
	}
	if f.ttl != ttl {
		if err := f.setTTL(ttl); err != nil {
			return time.Time{}, fmt.Errorf("set ttl %d: %w", ttl, err)
		}
		f.ttl = ttl
	}
	at := time.Now()
	_, err = f.write(p, &net.IPAddr{IP: fl.dst.AsSlice()})
	return at, err
}

func (n *network) deliver(r reply, at time.Time) {
	select {
	case n.replies <- timedReply{reply: r, at: at}:
	default:
		n.log.Debug("reply dropped: queue full", "from", r.From)
	}
}

func (n *network) readICMP(c *icmp.PacketConn) {
	defer n.wg.Done()
	buf := make([]byte, 2048)
	for {
		k, peer, err := c.ReadFrom(buf)
		at := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			n.log.Debug("read icmp", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		from, ok := addrOf(peer)
		if !ok {
			continue
		}
		r, err := parseReply(buf[:k], from)
		if err != nil {
			continue
		}
		n.deliver(r, at)
	}
}

func (n *network) readTCP(f *family) {
	defer n.wg.Done()
	buf := make([]byte, 2048)
	for {
		k, peer, err := f.raw.ReadFrom(buf)
		at := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			n.log.Debug("read tcp", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		from, ok := addrOf(peer)
		if !ok {
			continue
		}
		r, err := parseTCPReply(buf[:k], from)
		if err != nil {
			continue
		}
		for _, p := range f.ports {
			if r.SrcPort == p {
				n.deliver(r, at)
				break
			}
		}
	}
}

func addrOf(a net.Addr) (netip.Addr, bool) {
	ip, ok := a.(*net.IPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	addr, ok := netip.AddrFromSlice(ip.IP)
	return addr.Unmap(), ok
}

func (f *family) close() {
	if f.icmp != nil {
		f.icmp.Close()
	}
	if f.raw != nil {
		f.raw.Close()
	}
	for _, h := range f.holders {
		h.Close()
	}
}

// Close closes every socket and waits for the readers to end.
func (n *network) Close() {
	for _, f := range n.fams {
		if f != nil {
			f.close()
		}
	}
	n.wg.Wait()
}

// source returns the address the kernel would send from to reach dst.
func source(dst netip.Addr) (netip.Addr, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route to %s: %w", dst, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}
