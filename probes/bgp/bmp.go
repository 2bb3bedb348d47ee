package bgp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/packet/bmp"

	"github.com/dxwatch/dxwatch/probes"
)

const (
	// maxBMPMessage bounds one BMP message: a BGP message (65535 with
	// extended messages) plus the BMP and per-peer headers, with room.
	maxBMPMessage = 1 << 17
	// maxBMPConns bounds concurrent BMP connections.
	maxBMPConns = 64
)

type bmpKind uint8

const (
	bmpConnected bmpKind = iota + 1
	bmpClosed
	bmpMessage
)

type bmpEvent struct {
	kind   bmpKind
	conn   uint64
	router string
	remote netip.Addr
	msg    *bmp.BMPMessage
	err    error
	t      time.Time
}

// serveBMP accepts BMP connections until ctx ends, then closes them all.
func (p *Probe) serveBMP(ctx context.Context, ln net.Listener, wg *sync.WaitGroup) {
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	var id uint64
	refused := map[netip.Addr]bool{} // sources whose refusal was logged
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				p.log.Error("bmp station: accept", "err", err)
			}
			return
		}
		if src := remoteAddr(c); !p.bmpAllows(src) {
			c.Close()
			p.bmpRefused.Add(1)
			p.logRefused(refused, src)
			continue
		}
		mu.Lock()
		if len(conns) >= maxBMPConns || ctx.Err() != nil {
			mu.Unlock()
			p.bmpErrors.Add(1)
			p.log.Warn("bmp station: connection refused: too many connections", "remote", c.RemoteAddr().String(), "max", maxBMPConns)
			c.Close()
			continue
		}
		conns[c] = struct{}{}
		mu.Unlock()
		id++
		wg.Add(1)
		go func(c net.Conn, id uint64) {
			defer wg.Done()
			p.readBMP(ctx, c, id)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}(c, id)
	}
}

// maxRefusedLogged bounds the sources whose first refusal is logged at
// Warn; later sources (a scan) and repeated attempts are logged at Debug
// and only counted.
const maxRefusedLogged = 64

// bmpAllows reports whether the station accepts a connection from src.
func (p *Probe) bmpAllows(src netip.Addr) bool {
	for _, pfx := range p.bmpAllowed {
		if pfx.Contains(src) {
			return true
		}
	}
	return false
}

// logRefused logs a refused connection: once per source at Warn, since a
// BMP feed is evidence of link health and an unknown router sending one is
// worth a look, then at Debug so that retries cannot flood the log.
func (p *Probe) logRefused(logged map[netip.Addr]bool, src netip.Addr) {
	if logged[src] || len(logged) >= maxRefusedLogged {
		p.log.Debug("bmp station: connection refused", "remote", src.String())
		return
	}
	logged[src] = true
	p.log.Warn("bmp station: connection refused: the source is not an allowed router (later attempts from it are only counted)",
		"remote", src.String(), "fix", "add the router's address to bgp.bmp.routers (by default the BGP peers' addresses)")
}

// remoteAddr returns the address a connection comes from.
func remoteAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

// routerName names a BMP router by the configured peer with its address,
// else by the address itself.
func (p *Probe) routerName(a netip.Addr) string {
	for i, ip := range p.peerIP {
		if ip == a {
			return p.cfg.Peers[i].Name
		}
	}
	return a.String()
}

// send queues a BMP event for the worker. Unlike GoBGP's callbacks, a BMP
// reader may wait: TCP flow control then slows the router down, so nothing
// is dropped and nothing grows.
func (p *Probe) send(ctx context.Context, ev *bmpEvent) bool {
	select {
	case p.queue <- event{kind: evBMP, bmp: ev, t: ev.t}:
		return true
	case <-ctx.Done():
		return false
	}
}

// readBMP reads one router's BMP stream (RFC 7854).
func (p *Probe) readBMP(ctx context.Context, c net.Conn, id uint64) {
	remote := remoteAddr(c)
	router := p.routerName(remote)
	log := p.log.With("router", router, "remote", c.RemoteAddr().String())
	log.Info("bmp router connected")
	if !p.send(ctx, &bmpEvent{kind: bmpConnected, conn: id, router: router, remote: remote, t: time.Now()}) {
		return
	}
	dec := newBMPDecoder()
	dec.onFlip = func(h bmp.BMPPeerHeader, f gobgp.Family, pathIDs bool) {
		how := "without the ADD-PATH path IDs its session negotiated (FRR 8 never includes them)"
		if pathIDs {
			how = "with ADD-PATH path IDs its session did not negotiate"
		}
		log.Info("bmp station: the router sends this session's route monitoring "+how+": decoding it so until the session's next peer up",
			"peer", h.PeerAddress.String(), "family", f.String(), "adj_rib_out", h.IsAdjRIBOut())
	}
	noOpenLogged := false
	dec.onNoOpen = func(h bmp.BMPPeerHeader, sent, received bool) {
		which := "sent and received OPENs"
		switch {
		case !received:
			which = "sent OPEN"
		case !sent:
			which = "received OPEN"
		}
		args := []any{"peer", h.PeerAddress.String(), "missing", which}
		if noOpenLogged {
			log.Debug("bmp station: peer up without the session's "+which, args...)
			return
		}
		noOpenLogged = true
		log.Info("bmp station: the router sends peer ups with a bare BGP header in place of an OPEN it did not keep (FRR's placeholder, see probes/bgp/README.md): "+
			"the session is up, its capabilities are taken from its last peer up or the OPEN that is there and its route monitoring is decoded as it comes (said once per connection, then at debug)", args...)
	}
	var closeErr error
	for {
		buf, err := readBMPFrame(c)
		if err != nil {
			if errors.Is(err, errNotBMP) {
				p.bmpErrors.Add(1)
				log.Warn("bmp station: bad input", "err", err)
				closeErr = err
			} else if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				closeErr = err
			}
			break
		}
		msg, err := dec.decode(buf)
		if err != nil {
			p.bmpErrors.Add(1)
			if msg == nil {
				// The framing is intact: skip the message, keep the stream.
				log.Warn("bmp station: malformed message skipped", "type", buf[5], "err", err)
				continue
			}
			log.Warn("bmp station: peer up with undecodable OPEN messages, taken as up", "peer", msg.PeerHeader.PeerAddress, "err", err)
		}
		// Dated by arrival, not by the per-peer header's timestamp: FRR
		// fills that with a fixed time (seen in the lab: the same
		// fraction of a second on every message, peer-downs included,
		// hundreds of ms before the event), which would date a Direct
		// Connect session's loss before it happened.
		t := time.Now()
		if !p.send(ctx, &bmpEvent{kind: bmpMessage, conn: id, router: router, remote: remote, msg: msg, t: t}) {
			return
		}
		if _, ok := msg.Body.(*bmp.BMPTermination); ok {
			break
		}
	}
	if closeErr != nil {
		log.Warn("bmp router disconnected", "err", closeErr)
	} else {
		log.Info("bmp router disconnected")
	}
	p.send(ctx, &bmpEvent{kind: bmpClosed, conn: id, router: router, remote: remote, err: closeErr, t: time.Now()})
}

// bmpRouter is the worker's record of one BMP connection.
type bmpRouter struct {
	name     string
	addr     netip.Addr
	conn     uint64
	since    time.Time
	sysName  string
	sysDescr string
	peers    map[netip.Addr]*bmpPeer
	// locRIB is the router's Loc-RIB (RFC 9069), relevant prefixes only:
	// the paths it selected.
	locRIB map[netip.Prefix]pathAttrs
	// views is the set of RIBs the router exports on this connection
	// (bmpView bits), from the Route Monitoring it sent.
	views bmpView
}

// bmpView is one RIB a router can export over BMP, as a bit of a set.
type bmpView uint8

const (
	viewAdjRIBInPre   bmpView = 1 << iota // RFC 7854
	viewAdjRIBInPost                      // RFC 7854, the L flag
	viewLocRIB                            // RFC 9069, peer type 3
	viewAdjRIBOutPre                      // RFC 8671, the O flag
	viewAdjRIBOutPost                     // RFC 8671, the O and L flags
)

// bmpViewNames names the views in bit order: the label values of
// dxwatch_bmp_router_views and the "views" of /api/routes.
var bmpViewNames = [...]string{"adj_rib_in_pre", "adj_rib_in_post", "loc_rib", "adj_rib_out_pre", "adj_rib_out_post"}

// names lists the views of the set, in bit order.
func (v bmpView) names() []string {
	out := []string{}
	for i, n := range bmpViewNames {
		if v&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// bmpPeer is one monitored session of a BMP router: for a Direct Connect
// link, the router's session with AWS.
type bmpPeer struct {
	addr        netip.Addr
	asn         uint32
	link        int
	ipv6Of      int // the link whose IPv6 peering this session is, else -1
	up          bool
	known       bool
	since       time.Time
	reason      string
	reasonCode  int
	pre, post   int  // source IDs, -1 before the first route
	eor         bool // the initial dump is done (End-of-RIB seen)
	updates     uint64
	withdrawals uint64
	// out is the session's Adj-RIB-Out post-policy (RFC 8671), for a
	// Direct Connect session: what the router advertises to AWS.
	out        map[netip.Prefix]pathAttrs
	outEOR     bool
	outDropped uint64
	// outPre is the session's Adj-RIB-Out pre-policy, prefixes only
	// (at most maxAdvertised): what the router would send before its
	// outbound policy, counted and not judged.
	outPre map[netip.Prefix]struct{}
}

func (w *worker) bmpEvent(ev *bmpEvent) {
	w.dirty = true
	switch ev.kind {
	case bmpConnected:
		// Keyed by connection: a second connection from the same address
		// (a restarting router, or garbage) leaves the first one alone.
		w.bmp[ev.conn] = &bmpRouter{name: ev.router, addr: ev.remote, conn: ev.conn, since: ev.t, peers: map[netip.Addr]*bmpPeer{}}
		return
	case bmpClosed:
		if r, ok := w.bmp[ev.conn]; ok {
			w.closeRouter(r, ev.t)
			delete(w.bmp, ev.conn)
		}
		return
	}
	r, ok := w.bmp[ev.conn]
	if !ok {
		return
	}
	h := ev.msg.PeerHeader
	switch body := ev.msg.Body.(type) {
	case *bmp.BMPInitiation:
		for _, tlv := range body.Info {
			if s, ok := tlv.(*bmp.BMPInfoTLVString); ok {
				switch s.Type {
				case bmp.BMP_INIT_TLV_TYPE_SYS_NAME:
					r.sysName = s.Value
				case bmp.BMP_INIT_TLV_TYPE_SYS_DESCR:
					r.sysDescr = s.Value
				}
			}
		}
	case *bmp.BMPPeerUpNotification:
		if h.PeerType == bmp.BMP_PEER_TYPE_LOCAL_RIB {
			r.locRIB = nil // RFC 9069 5: the Loc-RIB is sent anew
			r.views |= viewLocRIB
			return
		}
		bp := w.bmpPeer(r, h)
		w.setBMPPeer(r, bp, true, "", 0, ev.t)
	case *bmp.BMPPeerDownNotification:
		if h.PeerType == bmp.BMP_PEER_TYPE_LOCAL_RIB {
			// RFC 9069 5.3: the Loc-RIB is no longer monitored.
			r.locRIB = nil
			r.views &^= viewLocRIB
			return
		}
		bp := w.bmpPeer(r, h)
		// RFC 7854 4.9: the peer's routes are gone with the session.
		w.dropBMPPaths(bp, ev.t)
		reason := peerDownReason(body)
		w.setBMPPeer(r, bp, false, reason, int(body.Reason), ev.t)
	case *bmp.BMPRouteMonitoring:
		if body.BGPUpdate == nil {
			return
		}
		upd, ok := body.BGPUpdate.Body.(*gobgp.BGPUpdate)
		if !ok {
			return
		}
		if h.PeerType == bmp.BMP_PEER_TYPE_LOCAL_RIB {
			r.views |= viewLocRIB
			w.bmpLocRIB(r, upd)
			return
		}
		bp := w.bmpPeer(r, h)
		if !bp.known {
			// Routes before (or without) a Peer Up: the session is up.
			w.setBMPPeer(r, bp, true, "", 0, ev.t)
		}
		if h.IsAdjRIBOut() {
			// RFC 8671: what the router sends the peer. Post-policy, for
			// a Direct Connect session, is what AWS receives.
			switch {
			case h.IsPostPolicy():
				r.views |= viewAdjRIBOutPost
				if bp.link >= 0 {
					w.bmpAdvertised(bp, upd)
				}
			default:
				r.views |= viewAdjRIBOutPre
				if bp.link >= 0 {
					bmpAdvertisedPre(bp, upd)
				}
			}
			return
		}
		if h.IsPostPolicy() {
			r.views |= viewAdjRIBInPost
		} else {
			r.views |= viewAdjRIBInPre
		}
		if eor, _ := upd.IsEndOfRib(); eor {
			// RFC 7854 5: the end of the initial dump of this session's
			// routes. It carries no route.
			bp.eor = true
			return
		}
		kind := srcBMPPre
		slot := &bp.pre
		if h.IsPostPolicy() {
			kind, slot = srcBMPPost, &bp.post
		}
		if *slot < 0 {
			*slot = int(w.s.addSource(&source{kind: kind, name: r.name, addr: bp.addr, link: bp.link, active: true}))
		}
		w.bmpUpdate(bp, uint16(*slot), upd, ev.t)
	}
}

func (w *worker) bmpPeer(r *bmpRouter, h bmp.BMPPeerHeader) *bmpPeer {
	a := h.PeerAddress.Unmap()
	bp, ok := r.peers[a]
	if !ok {
		bp = &bmpPeer{addr: a, link: w.s.linkOf(a), ipv6Of: w.s.ipv6PeeringOf(a), pre: -1, post: -1}
		r.peers[a] = bp
	}
	bp.asn = h.PeerAS
	return bp
}

func (w *worker) setBMPPeer(r *bmpRouter, bp *bmpPeer, up bool, reason string, code int, t time.Time) {
	changed := !bp.known || bp.up != up
	bp.known, bp.up = true, up
	if changed {
		// A new session sends its tables anew; a closed one advertises
		// nothing.
		bp.eor, bp.out, bp.outEOR, bp.outPre = false, nil, false, nil
	}
	if up {
		bp.reason, bp.reasonCode = "", 0
	} else {
		bp.reason, bp.reasonCode = reason, code
	}
	if !changed {
		return
	}
	bp.since = t
	if bp.link < 0 && bp.ipv6Of >= 0 {
		// A dual-stack link's IPv6 peering: evidence about that peering
		// (dxwatch_peering_up), reported with its family.
		link := w.s.linkName(bp.ipv6Of)
		if !up {
			w.p.log.Warn("bmp: monitored session down", "router", r.name, "peer", bp.addr.String(), "link", link, "family", probes.FamilyIPv6, "reason", reason)
		}
		w.p.deps.Observer.Observe(probes.Observation{Time: t, Event: probes.BGPSession, Probe: w.p.name, Peer: r.name, Link: link,
			Family: probes.FamilyIPv6, Up: up, Detail: bp.reason})
		return
	}
	if bp.link < 0 {
		// One of the router's other sessions, such as its iBGP session with
		// this agent, which closes on every restart of dxwatch: worth a
		// line, not a warning. Nor is it evidence for the health model,
		// which takes a session without a link for the agent's own feed.
		if !up {
			w.p.log.Info("bmp: monitored session down, not a Direct Connect session", "router", r.name, "peer", bp.addr.String(), "reason", reason)
		}
		return
	}
	link := w.s.linkName(bp.link)
	if !up {
		w.p.log.Warn("bmp: monitored session down", "router", r.name, "peer", bp.addr.String(), "link", link, "reason", reason)
	}
	w.p.deps.Observer.Observe(probes.Observation{Time: t, Event: probes.BGPSession, Probe: w.p.name, Peer: r.name, Link: link, Up: up, Detail: bp.reason})
}

func (w *worker) dropBMPPaths(bp *bmpPeer, t time.Time) {
	for _, slot := range []*int{&bp.pre, &bp.post} {
		if *slot < 0 {
			continue
		}
		n, changed := w.s.dropSource(uint16(*slot), t, false)
		bp.withdrawals += uint64(n)
		if changed {
			w.touched(t)
		}
		w.s.sources[*slot] = nil
		*slot = -1
	}
}

// closeRouter forgets a BMP connection: its monitored sessions are no
// longer known, and their routes no longer seen.
func (w *worker) closeRouter(r *bmpRouter, t time.Time) {
	w.s.quiet = true
	for _, bp := range r.peers {
		w.dropBMPPaths(bp, t)
	}
	w.s.quiet = false
}

func (w *worker) bmpUpdate(bp *bmpPeer, src uint16, upd *gobgp.BGPUpdate, t time.Time) {
	eachNLRI(upd, func(pfx netip.Prefix, id uint32, withdraw bool) {
		if withdraw {
			bp.withdrawals++
			if w.s.withdraw(src, pfx, id, t) {
				w.touched(t)
			}
			return
		}
		bp.updates++
		if w.s.announce(src, pfx, id, bp.link, upd.PathAttributes, false, t) {
			w.touched(t)
		}
	})
}

// peerDownReason renders a Peer Down Notification's reason (RFC 7854 4.9).
func peerDownReason(b *bmp.BMPPeerDownNotification) string {
	notif := func() string {
		if b.BGPNotification == nil {
			return ""
		}
		if n, ok := b.BGPNotification.Body.(*gobgp.BGPNotification); ok {
			return ": " + gobgp.NewNotificationErrorCode(n.ErrorCode, n.ErrorSubcode).String()
		}
		return ""
	}
	switch b.Reason {
	case bmp.BMP_PEER_DOWN_REASON_LOCAL_BGP_NOTIFICATION:
		return "local system closed the session, notification sent" + notif()
	case bmp.BMP_PEER_DOWN_REASON_LOCAL_NO_NOTIFICATION:
		if len(b.Data) >= 2 {
			return closedByFSMEvent(binary.BigEndian.Uint16(b.Data))
		}
		return closedByFSMEvent(0)
	case bmp.BMP_PEER_DOWN_REASON_REMOTE_BGP_NOTIFICATION:
		return "remote system closed the session with a notification" + notif()
	case bmp.BMP_PEER_DOWN_REASON_REMOTE_NO_NOTIFICATION:
		return "remote system closed the session without a notification (TCP closed or reset)"
	case bmp.BMP_PEER_DOWN_REASON_PEER_DE_CONFIGURED:
		return "peer de-configured"
	}
	return fmt.Sprintf("reason code %d", b.Reason)
}

// fsmEvents names the BGP FSM events (RFC 4271 section 8.1) that can close
// a session without a notification, in an engineer's words.
var fsmEvents = map[uint16]string{
	2:  "stopped by an operator (ManualStop)",
	8:  "stopped automatically (AutomaticStop: e.g. BFD down or a prefix limit)",
	9:  "connect retry timer expired",
	10: "hold timer expired",
	11: "keepalive timer expired",
	13: "idle hold timer expired",
	18: "TCP connection failed or was reset",
	21: "malformed BGP message header",
	22: "malformed OPEN message",
	23: "connection collision resolved",
	24: "NOTIFICATION with a version error",
	25: "NOTIFICATION received",
	28: "malformed UPDATE message",
}

// closedByFSMEvent says why a router closed a session without a
// notification, from the FSM event its BMP Peer Down carries (RFC 7854
// 4.9, reason 2). FRR sends 0 ("no relevant event") for most local
// causes, BFD down among them: then only the router's log tells.
func closedByFSMEvent(ev uint16) string {
	const closed = "the edge router closed the session without a notification"
	if name, ok := fsmEvents[ev]; ok {
		return fmt.Sprintf("%s: %s (BGP FSM event %d)", closed, name, ev)
	}
	if ev == 0 {
		return closed + ": the router gave no cause over BMP (BFD down, an interface down or a configuration change: see its log, e.g. show bgp neighbor … last reset)"
	}
	return fmt.Sprintf("%s (BGP FSM event %d)", closed, ev)
}
