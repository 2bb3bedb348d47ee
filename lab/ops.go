package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cut breaks a link ("primary" or "secondary"). Without silent, both ends
// lose carrier at once (the veth is set down on both sides): the routers
// notice immediately. With silent, both ends drop every IP packet in
// nftables while the carrier stays up: only BFD (about 1 s) or the BGP
// hold timer (90 s) notice, the grey failure.
func (l *Lab) Cut(link string, silent bool) error {
	lk, err := l.linkNamed(link)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if silent {
		err = l.nftLink(ctx, lk, "drop")
	} else {
		err = l.carrier(ctx, lk, false)
	}
	if err != nil {
		return err
	}
	st := stateCut
	if silent {
		st = stateSilent
	}
	l.logf("lab %s: %s cut (%s)", l.st.Prefix, link, st)
	return l.setLink(link, st, 0)
}

// CutFamily silently cuts one address family of a link ("ipv4" or
// "ipv6"): both ends drop every packet of that family in nftables, the
// carrier and the other family's traffic untouched. The family's BFD
// session notices (about 1 s), the other's stays up: the failure an IPv6
// prefix list, ACL or MTU makes. Restore mends it.
func (l *Lab) CutFamily(link, family string) error {
	lk, err := l.linkNamed(link)
	if err != nil {
		return err
	}
	st := map[string]string{"ipv4": stateSilent4, "ipv6": stateSilent6}[family]
	if st == "" {
		return fmt.Errorf("cut %s: family %q is not ipv4 or ipv6", link, family)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.nftLink(ctx, lk, "meta nfproto "+family+" drop"); err != nil {
		return err
	}
	l.logf("lab %s: %s cut (%s)", l.st.Prefix, link, st)
	return l.setLink(link, st, 0)
}

// Restore brings a link back: carrier up and no packet dropped.
func (l *Lab) Restore(link string) error {
	lk, err := l.linkNamed(link)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.nftLink(ctx, lk, ""); err != nil {
		return err
	}
	if err := l.carrier(ctx, lk, true); err != nil {
		return err
	}
	l.logf("lab %s: %s restored", l.st.Prefix, link)
	return l.setLink(link, stateUp, 0)
}

// Flap cuts the link (carrier loss) and restores it times times, one cycle
// every every: down for the first half, up for the second.
func (l *Lab) Flap(link string, times int, every time.Duration) error {
	for i := range times {
		if err := l.Cut(link, false); err != nil {
			return err
		}
		time.Sleep(every / 2)
		if err := l.Restore(link); err != nil {
			return err
		}
		if i < times-1 {
			time.Sleep(every - every/2)
		}
	}
	return nil
}

// Brownout makes a link drop lossPercent % of the packets in each
// direction at random (nftables numgen; the kernel here has no netem).
// 0 ends the brownout.
func (l *Lab) Brownout(link string, lossPercent int) error {
	if lossPercent < 0 || lossPercent > 100 {
		return fmt.Errorf("brownout %s: loss %d%% is not between 0 and 100", link, lossPercent)
	}
	lk, err := l.linkNamed(link)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rule := ""
	st := stateUp
	if lossPercent > 0 {
		rule = fmt.Sprintf("numgen random mod 100 < %d drop", lossPercent)
		st = stateBrownout
	}
	if err := l.nftLink(ctx, lk, rule); err != nil {
		return err
	}
	l.logf("lab %s: %s loses %d%%", l.st.Prefix, link, lossPercent)
	return l.setLink(link, st, lossPercent)
}

func (l *Lab) linkNamed(name string) (link, error) {
	lk, ok := l.topo.link(name)
	if !ok {
		return link{}, fmt.Errorf("no link %q in the lab: want %q or %q", name, LinkPrimary, LinkSecondary)
	}
	return lk, nil
}

func (l *Lab) setLink(name, st string, loss int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Links[name] = st
	if l.st.Loss == nil {
		l.st.Loss = map[string]int{}
	}
	if loss > 0 {
		l.st.Loss[name] = loss
	} else {
		delete(l.st.Loss, name)
	}
	return l.save()
}

// LinkStates returns each link's state: up, cut, silent, silent-ipv4,
// silent-ipv6 or brownout.
func (l *Lab) LinkStates() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := map[string]string{}
	for k, v := range l.st.Links {
		m[k] = v
	}
	return m
}

// Mode returns the routing mode the edges currently apply.
func (l *Lab) Mode() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.Mode
}

// carrier sets both veth ends of a link up or down, concurrently.
func (l *Lab) carrier(ctx context.Context, lk link, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	ends := []struct{ h, ifc string }{{lk.Edge, lk.EdgeIf}, {lk.AWS, lk.AWSIf}}
	return parallel(ends, func(e struct{ h, ifc string }) error {
		return ipBatch(ctx, l.Namespace(e.h), []string{"link set " + e.ifc + " " + state})
	})
}

// nftLink replaces the link's nftables rule at both ends (egress of the
// link's interface, so each direction is hit once): "drop", a
// brownout rule, or "" for none.
func (l *Lab) nftLink(ctx context.Context, lk link, rule string) error {
	chain := "link_" + lk.Name
	ends := []struct{ h, ifc string }{{lk.Edge, lk.EdgeIf}, {lk.AWS, lk.AWSIf}}
	return parallel(ends, func(e struct{ h, ifc string }) error {
		script := fmt.Sprintf("add table inet dxlab\n"+
			"add chain inet dxlab %s { type filter hook postrouting priority 0; policy accept; }\n"+
			"flush chain inet dxlab %s\n", chain, chain)
		if rule != "" {
			script += fmt.Sprintf("add rule inet dxlab %s oifname %q %s\n", chain, e.ifc, rule)
		}
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", l.Namespace(e.h), "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("nft in %s: %w: %s", e.h, err, strings.TrimSpace(string(out)))
		}
		return nil
	})
}

// SetMode switches the routing intent: ModeActivePassive (edges raise the
// primary's local-pref and prepend toward the secondary, so both directions
// use the primary) or ModeActiveActive (no preference: the edges and the VPC
// router spread flows over both links by ECMP; in the two-edge variant the
// agent host's default route also spreads over both edges).
func (l *Lab) SetMode(ctx context.Context, mode string) error {
	if mode != ModeActivePassive && mode != ModeActiveActive {
		return fmt.Errorf("routing mode %q: want %q or %q", mode, ModeActivePassive, ModeActiveActive)
	}
	err := parallel(l.topo.edges(), func(h string) error {
		_, err := l.vtysh(ctx, h, l.modeCommands(mode)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("set mode %s: %w", mode, err)
	}
	if l.topo.Edge == EdgeTwo {
		route := "route replace default via " + Edge1LAN
		if mode == ModeActiveActive {
			route = "route replace default nexthop via " + Edge1LAN + " nexthop via " + Edge2LAN
		}
		if err := ipBatch(ctx, l.Namespace(HostAgent), []string{route}); err != nil {
			return fmt.Errorf("set mode %s: agent default route: %w", mode, err)
		}
	}
	l.mu.Lock()
	l.st.Mode = mode
	err = l.save()
	l.mu.Unlock()
	l.logf("lab %s: mode %s", l.st.Prefix, mode)
	return err
}

// WaitConverged waits until the routers agree with the lab's state: every
// session that does not cross a cut link is Established and has its
// routes, every session over a cut link is down, BFD is up where expected,
// and the selected routes (edges toward the VPC, the VPC router toward
// on-prem) use the next hops the routing mode and the cut links call for.
func (l *Lab) WaitConverged(ctx context.Context) error {
	var last error
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	start, said := time.Now(), ""
	for {
		last = l.converged(ctx)
		if last == nil {
			return nil
		}
		if os.Getenv("DXLAB_DEBUG") != "" && last.Error() != said {
			said = last.Error()
			l.logf("lab %s: +%s waiting: %v", l.st.Prefix, time.Since(start).Round(time.Millisecond), last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lab %s not converged: %w", l.st.Prefix, last)
		case <-tick.C:
		}
	}
}

// BGPPeer is one neighbor in `show bgp summary json`.
type BGPPeer struct {
	State          string `json:"state"`
	PfxRcd         int    `json:"pfxRcd"`
	PfxSnt         int    `json:"pfxSnt"`
	PeerUptime     string `json:"peerUptime"`
	Desc           string `json:"desc"`
	RemoteAS       int    `json:"remoteAs"`
	ConnectionsEst int    `json:"connectionsEstablished"`
}

// BGPSummary returns a router's IPv4 unicast neighbors by address, from
// FRR's JSON.
func (l *Lab) BGPSummary(ctx context.Context, host string) (map[string]BGPPeer, error) {
	return l.bgpSummary(ctx, host, "ipv4")
}

// BGPSummary6 returns a router's IPv6 unicast neighbors (the IPv6
// peerings) by address, from FRR's JSON.
func (l *Lab) BGPSummary6(ctx context.Context, host string) (map[string]BGPPeer, error) {
	return l.bgpSummary(ctx, host, "ipv6")
}

func (l *Lab) bgpSummary(ctx context.Context, host, afi string) (map[string]BGPPeer, error) {
	out, err := l.vtysh(ctx, host, "show bgp "+afi+" unicast summary json")
	if err != nil {
		return nil, err
	}
	var s struct {
		Peers map[string]BGPPeer `json:"peers"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return nil, fmt.Errorf("%s: bgp summary: %w", host, err)
	}
	return s.Peers, nil
}

// BFDPeer is one session in `show bfd peers json`.
type BFDPeer struct {
	Peer          string `json:"peer"`
	Status        string `json:"status"`
	Interface     string `json:"interface"`
	DetectMult    int    `json:"detect-multiplier"`
	RxInterval    int    `json:"receive-interval"`
	TxInterval    int    `json:"transmit-interval"`
	PassiveMode   bool   `json:"passive-mode"`
	RemoteRx      int    `json:"remote-receive-interval"`
	RemoteDetMult int    `json:"remote-detect-multiplier"`
}

// BFDPeers returns a router's BFD sessions by peer address.
func (l *Lab) BFDPeers(ctx context.Context, host string) (map[string]BFDPeer, error) {
	out, err := l.vtysh(ctx, host, "show bfd peers json")
	if err != nil {
		return nil, err
	}
	var ps []BFDPeer
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		return nil, fmt.Errorf("%s: bfd peers: %w", host, err)
	}
	m := map[string]BFDPeer{}
	for _, p := range ps {
		m[p.Peer] = p
	}
	return m, nil
}

// Route is a selected route in a router's RIB.
type Route struct {
	Prefix    string
	Protocol  string
	Installed bool
	NextHops  []string // every next hop address, recursive and resolving ones included
}

// RouteTo returns the selected route a router uses for dst (an address or
// a prefix, of either family), from `show ip route <dst> json` (`show ipv6
// route` for IPv6). ok is false without one.
func (l *Lab) RouteTo(ctx context.Context, host, dst string) (r Route, ok bool, err error) {
	afi := "ip"
	if strings.Contains(dst, ":") {
		afi = "ipv6"
	}
	out, err := l.vtysh(ctx, host, "show "+afi+" route "+dst+" json")
	if err != nil {
		return r, false, err
	}
	var m map[string][]struct {
		Prefix    string `json:"prefix"`
		Protocol  string `json:"protocol"`
		Selected  bool   `json:"selected"`
		Installed bool   `json:"installed"`
		NextHops  []struct {
			IP     string `json:"ip"`
			Active bool   `json:"active"`
		} `json:"nexthops"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return r, false, fmt.Errorf("%s: route to %s: %w", host, dst, err)
	}
	for p, rs := range m {
		for _, x := range rs {
			if !x.Selected {
				continue
			}
			r = Route{Prefix: p, Protocol: x.Protocol, Installed: x.Installed}
			for _, nh := range x.NextHops {
				if nh.IP != "" && nh.Active {
					r.NextHops = append(r.NextHops, nh.IP)
				}
			}
			return r, true, nil
		}
	}
	return r, false, nil
}

// PeerRoute is a route exchanged with one BGP neighbor.
type PeerRoute struct {
	Prefix string
	ASPath []uint32 // as the router stores it: without its own ASN on advertised routes
}

// PeerRoutes returns the routes a router accepted from a neighbor
// (advertised false) or advertises to it (advertised true), from FRR's
// `show bgp ipv4 unicast neighbors <peer> routes|advertised-routes json`
// (ipv6 unicast for an IPv6 neighbor: the IPv6 peerings), sorted by
// prefix.
func (l *Lab) PeerRoutes(ctx context.Context, host, peer string, advertised bool) ([]PeerRoute, error) {
	cmd := "routes"
	if advertised {
		cmd = "advertised-routes"
	}
	afi := "ipv4"
	if strings.Contains(peer, ":") {
		afi = "ipv6"
	}
	out, err := l.vtysh(ctx, host, fmt.Sprintf("show bgp %s unicast neighbors %s %s json", afi, peer, cmd))
	if err != nil {
		return nil, err
	}
	type path struct {
		Path string `json:"path"`
	}
	var m struct {
		Received   map[string][]path `json:"routes"`
		Advertised map[string]path   `json:"advertisedRoutes"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return nil, fmt.Errorf("%s: %s of %s: %w", host, cmd, peer, err)
	}
	paths := map[string]string{}
	for p, ps := range m.Received {
		if len(ps) > 0 {
			paths[p] = ps[0].Path
		}
	}
	for p, x := range m.Advertised {
		paths[p] = x.Path
	}
	var rs []PeerRoute
	for p, asp := range paths {
		r := PeerRoute{Prefix: p}
		for f := range strings.FieldsSeq(asp) {
			n, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("%s: %s of %s: %s: AS path %q: %w", host, cmd, peer, p, asp, err)
			}
			r.ASPath = append(r.ASPath, uint32(n))
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b PeerRoute) int { return strings.Compare(a.Prefix, b.Prefix) })
	return rs, nil
}

// converged returns nil when the routers agree with the lab's state, or
// the first disagreement.
func (l *Lab) converged(ctx context.Context) error {
	links := l.LinkStates()
	mode := l.Mode()
	// A wrong MD5 key is put on one session of a link: wrong-md5 on its
	// IPv4 one, wrong-md5-ipv6 on its IPv6 one; the other family stays up.
	down, down6 := map[string]bool{}, map[string]bool{}
	for name, st := range links {
		whole := st == stateCut || st == stateSilent
		down6[name] = whole || st == stateSilent6 || l.hasFault(FaultWrongMD56, name)
		down[name] = whole || st == stateSilent4 || l.hasFault(FaultWrongMD5, name)
	}
	// Without the secondary's prepend, AWS's side sees equal paths.
	vpcMode := mode
	if l.hasFault(FaultNoPrepend, "") {
		vpcMode = ModeActiveActive
	}
	type result struct {
		sum, sum6 map[string]BGPPeer
		bfd       map[string]BFDPeer
		err       error
	}
	routers := l.topo.routers()
	res := make([]result, len(routers))
	var wg sync.WaitGroup
	for i, h := range routers {
		wg.Go(func() {
			res[i].sum, res[i].err = l.BGPSummary(ctx, h)
			if res[i].err == nil {
				res[i].sum6, res[i].err = l.BGPSummary6(ctx, h)
			}
			if res[i].err == nil && !l.topo.NoBFD && h != HostVPC {
				res[i].bfd, res[i].err = l.BFDPeers(ctx, h)
			}
		})
	}
	wg.Wait()
	byHost := map[string]result{}
	for i, h := range routers {
		if res[i].err != nil {
			return res[i].err
		}
		byHost[h] = res[i]
	}
	for _, s := range l.topo.Sessions {
		r := byHost[s.Host]
		sum, down := r.sum, down
		if s.IPv6 {
			sum, down = r.sum6, down6
		}
		p, ok := sum[s.Peer]
		if !ok {
			return fmt.Errorf("%s: no BGP neighbor %s", s.Host, s.Peer)
		}
		if s.Over != "" && down[s.Over] {
			if p.State == "Established" {
				return fmt.Errorf("%s: session to %s still Established over cut link %s", s.Host, s.Peer, s.Over)
			}
			continue
		}
		if p.State != "Established" {
			return fmt.Errorf("%s: session to %s is %s", s.Host, s.Peer, p.State)
		}
		want := s.Routes == "always" || (s.Routes != "never" && !down[s.Routes])
		if want && p.PfxRcd == 0 {
			return fmt.Errorf("%s: no routes from %s yet", s.Host, s.Peer)
		}
		if s.BFD {
			if b, ok := r.bfd[s.Peer]; !ok || b.Status != "up" {
				return fmt.Errorf("%s: BFD to %s is not up (%q)", s.Host, s.Peer, b.Status)
			}
		}
	}
	check := func(h, dst string, among []string) error {
		expected, down := l.topo.expectedNextHops, down
		if strings.Contains(dst, ":") {
			expected, down = l.topo.expectedNextHops6, down6
		}
		want := expected(h, mode, down)
		if h == HostVPC || h == HostAWS1 || h == HostAWS2 {
			want = expected(h, vpcMode, down)
		}
		r, ok, err := l.RouteTo(ctx, h, dst)
		if err != nil {
			return err
		}
		var got []string
		if ok && r.Protocol == "bgp" {
			if !r.Installed {
				return fmt.Errorf("%s: route %s not installed in the kernel", h, r.Prefix)
			}
			for _, nh := range r.NextHops {
				if slices.Contains(among, nh) && !slices.Contains(got, nh) {
					got = append(got, nh)
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s: route to %s via %v, want %v", h, dst, got, want)
		}
		return nil
	}
	var amazon, amazon6 []string
	for _, lk := range l.topo.Links {
		amazon, amazon6 = append(amazon, lk.Amazon), append(amazon6, lk.Amazon6)
	}
	for _, e := range l.topo.edges() {
		if err := check(e, VPCCIDR, amazon); err != nil {
			return err
		}
		if err := check(e, VPCCIDR6, amazon6); err != nil {
			return err
		}
	}
	transits, transits6 := []string{AWS1Transit, AWS2Transit}, []string{AWS1Transit6, AWS2Transit6}
	for _, h := range []string{HostAWS1, HostAWS2} {
		if err := check(h, OnPremPrefix, append([]string{PrimaryCustomer, SecondaryCustomer}, transits...)); err != nil {
			return err
		}
		if err := check(h, OnPremPrefix6, append([]string{PrimaryCustomer6, SecondaryCustomer6}, transits6...)); err != nil {
			return err
		}
	}
	if err := check(HostVPC, OnPremPrefix, transits); err != nil {
		return err
	}
	return check(HostVPC, OnPremPrefix6, transits6)
}

// LinkOf names the link a next hop or traceroute hop address belongs to
// (its Amazon or customer address), or "".
func LinkOf(addr string) string {
	switch addr {
	case PrimaryAmazon, PrimaryCustomer, PrimaryAmazon6, PrimaryCustomer6:
		return LinkPrimary
	case SecondaryAmazon, SecondaryCustomer, SecondaryAmazon6, SecondaryCustomer6:
		return LinkSecondary
	}
	return ""
}

// errNotRunning is returned when a lab's namespaces are gone.
var errNotRunning = errors.New("lab is not running")

// Alive reports whether all the lab's namespaces exist.
func (l *Lab) Alive() error {
	for _, h := range l.topo.Hosts {
		if _, ok := nsInode(l.Namespace(h.Name)); !ok {
			return fmt.Errorf("%w: namespace %s missing", errNotRunning, l.Namespace(h.Name))
		}
	}
	return nil
}

// Neighbor is the part of `show bgp neighbors <addr> json` the lab checks.
type Neighbor struct {
	State          string `json:"bgpState"`
	RemoteAS       int    `json:"remoteAs"`
	LocalAS        int    `json:"localAs"`
	MD5            int    `json:"authenticationEnabled"` // 1 with a TCP MD5 password
	HoldTimeMsecs  int    `json:"bgpTimerHoldTimeMsecs"`
	KeepaliveMsecs int    `json:"bgpTimerKeepAliveIntervalMsecs"`
	Description    string `json:"nbrDesc"`
}

// Neighbor returns a router's view of one BGP neighbor.
func (l *Lab) Neighbor(ctx context.Context, host, addr string) (Neighbor, error) {
	out, err := l.vtysh(ctx, host, "show bgp neighbors "+addr+" json")
	if err != nil {
		return Neighbor{}, err
	}
	var m map[string]Neighbor
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return Neighbor{}, fmt.Errorf("%s: neighbor %s: %w", host, addr, err)
	}
	n, ok := m[addr]
	if !ok {
		return Neighbor{}, fmt.Errorf("%s: no neighbor %s", host, addr)
	}
	return n, nil
}
