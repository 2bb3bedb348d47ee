package bgp

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/osrg/gobgp/v4/pkg/apiutil"
	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// The lean session (peers[].session: lean) is dxwatch's own receive-only
// BGP session, built on GoBGP's wire-format package alone: no Adj-RIB-In.
// A path of a prefix that overlaps no expected VPC prefix is counted and
// dropped as soon as it is decoded; the others are queued to the worker
// as the GoBGP watchers queue theirs, so the state, views, checks,
// observations and readiness are the same code for both sessions. A
// full-table edge (2M paths) then costs tens of MB instead of over a GB
// (README.md, "A full-table edge").

// Reconnect back-off of a lean session: the first retry after a drop or a
// failed connection waits leanRetryMin, each next one twice as long up to
// leanRetryMax; an established session starts the back-off over.
var (
	leanRetryMin = time.Second
	leanRetryMax = time.Minute
)

const (
	// leanOpenWait is the hold time while waiting for the router's OPEN
	// (RFC 4271 §8.2.2 suggests 4 minutes).
	leanOpenWait = 4 * time.Minute
	// leanDialTimeout bounds one TCP connection attempt.
	leanDialTimeout = 10 * time.Second
	// leanBatchPaths and leanBatchUpdates bound what a session decodes
	// before it hands a batch to the worker even when more is buffered.
	leanBatchPaths   = 512
	leanBatchUpdates = 256
)

// leanRestartTime is how long a lean peer's paths are kept (stale) after
// its session drops, with graceful_restart: the restart time dxwatch
// offers, as GoBGP's helper does.
var leanRestartTime = 120 * time.Second

// sessionEvent is a lean session's state change (evSession).
type sessionEvent struct {
	state  string
	reason string
	// eorNegotiated: both OPENs carry graceful restart (established only).
	eorNegotiated bool
}

// dropCount is a number of announced paths of no interest with one next
// hop: counted per link, never stored.
type dropCount struct {
	nextHop netip.Addr
	n       uint64
}

// leanCounts are the paths of a batch a lean session did not queue.
type leanCounts struct {
	dropped   []dropCount
	withdrawn uint64
}

// leanSession holds the session with one peer: it connects, keeps the
// session up, and reconnects after a drop until ctx ends.
type leanSession struct {
	p        *Probe
	peer     int
	cfg      PeerConfig
	addr     netip.Addr
	key      string
	localASN uint32
	routerID netip.Addr
	expected []netip.Prefix
	log      *slog.Logger
	// malformed counts malformed UPDATEs in the current session: the
	// first is logged at Warn, the others at Debug.
	malformed int
}

func (p *Probe) newLeanSession(i int) *leanSession {
	pc := p.cfg.Peers[i]
	id, _ := netip.ParseAddr(p.cfg.RouterID)
	return &leanSession{
		p: p, peer: i, cfg: pc, addr: p.peerIP[i], key: p.keys[i],
		localASN: p.cfg.LocalASN, routerID: id,
		expected: p.deps.Site.Routing.ExpectedPrefixes,
		log:      p.log.With("peer", pc.Name, "address", p.peerIP[i].String(), "session", SessionLean),
	}
}

// emit hands an event to the worker, waiting while its queue is full: the
// back-pressure reaches the router through TCP, and nothing is dropped.
func (s *leanSession) emit(ctx context.Context, ev event) bool {
	ev.peer = s.peer
	select {
	case s.p.queue <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *leanSession) state(ctx context.Context, state, reason string, eorNeg bool) {
	s.emit(ctx, event{kind: evSession, t: time.Now(), session: &sessionEvent{state: state, reason: reason, eorNegotiated: eorNeg}})
}

// run connects, holds the session and reconnects with back-off until ctx
// ends.
func (s *leanSession) run(ctx context.Context) {
	backoff := leanRetryMin
	for ctx.Err() == nil {
		s.state(ctx, "connect", "", false)
		c, err := s.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.emit(ctx, event{kind: evConnect, addr: s.addr, cause: connectCause(err.Error()), t: time.Now()})
			s.state(ctx, "active", "", false)
			s.log.Debug("bgp connect failed", "err", err)
		} else {
			established, err := s.session(ctx, c)
			if ctx.Err() != nil {
				return
			}
			if established {
				backoff = leanRetryMin
			}
			reason := "closed"
			if err != nil {
				reason = err.Error()
			}
			s.state(ctx, "idle", reason, false)
			if !established {
				s.log.Warn("bgp session not established", "err", reason, "fix", sessionFix(s.p.cfg, s.cfg))
			}
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, leanRetryMax)
	}
}

func (s *leanSession) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: leanDialTimeout, Control: md5Control(s.addr, s.key)}
	d.SetMultipathTCP(false) // TCP MD5 does not work on MPTCP sockets
	return d.DialContext(ctx, "tcp", net.JoinHostPort(s.addr.String(), strconv.Itoa(s.cfg.port())))
}

// leanWriter writes to the router. It can send OPEN, KEEPALIVE and
// NOTIFICATION: there is no way to send an UPDATE, so dxwatch never
// advertises a route.
type leanWriter struct {
	mu sync.Mutex
	c  net.Conn
	// notified: a NOTIFICATION was sent; nothing follows it (RFC 4271
	// §4.5: the connection is closed right after).
	notified bool
}

func (w *leanWriter) open(m *gobgp.BGPMessage) error { return w.write(m, gobgp.BGP_MSG_OPEN) }
func (w *leanWriter) keepalive() error {
	return w.write(gobgp.NewBGPKeepAliveMessage(), gobgp.BGP_MSG_KEEPALIVE)
}

// notify sends NOTIFICATION code/subcode (best effort: the session ends).
func (w *leanWriter) notify(code, sub uint8, data []byte) {
	_ = w.write(gobgp.NewBGPNotificationMessage(code, sub, data), gobgp.BGP_MSG_NOTIFICATION)
}

func (w *leanWriter) write(m *gobgp.BGPMessage, typ uint8) error {
	if m.Header.Type != typ || typ == gobgp.BGP_MSG_UPDATE {
		return fmt.Errorf("refusing to send bgp message type %d", m.Header.Type)
	}
	b, err := m.Serialize()
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.notified {
		return errors.New("session ended with a notification")
	}
	w.notified = typ == gobgp.BGP_MSG_NOTIFICATION
	_ = w.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err = w.c.Write(b)
	return err
}

// leanReader reads whole BGP messages (at most 4096 bytes: dxwatch offers
// no extended messages).
type leanReader struct {
	c   net.Conn
	r   *bufio.Reader
	buf []byte
}

// read reads one message within d (0: no deadline). A framing error is a
// *gobgp.MessageError.
func (r *leanReader) read(d time.Duration) (*gobgp.BGPHeader, []byte, error) {
	dl := time.Time{}
	if d > 0 {
		dl = time.Now().Add(d)
	}
	_ = r.c.SetReadDeadline(dl)
	if _, err := io.ReadFull(r.r, r.buf[:gobgp.BGP_HEADER_LENGTH]); err != nil {
		return nil, nil, err
	}
	h := &gobgp.BGPHeader{}
	if err := h.DecodeFromBytes(r.buf[:gobgp.BGP_HEADER_LENGTH]); err != nil {
		return nil, nil, err
	}
	n := int(binary.BigEndian.Uint16(r.buf[16:18]))
	if n > gobgp.BGP_MAX_MESSAGE_LENGTH {
		return nil, nil, gobgp.NewMessageError(gobgp.BGP_ERROR_MESSAGE_HEADER_ERROR, gobgp.BGP_ERROR_SUB_BAD_MESSAGE_LENGTH, r.buf[16:18], fmt.Sprintf("message length %d above 4096", n))
	}
	if _, err := io.ReadFull(r.r, r.buf[gobgp.BGP_HEADER_LENGTH:n]); err != nil {
		return nil, nil, err
	}
	return h, r.buf[gobgp.BGP_HEADER_LENGTH:n], nil
}

// errHoldTimer: no message from the router within the hold time.
var errHoldTimer = errors.New("hold timer expired")

// session runs one session on c until it ends; it reports whether the
// session was established and why it ended.
func (s *leanSession) session(ctx context.Context, c net.Conn) (established bool, err error) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	w := &leanWriter{c: c}
	r := &leanReader{c: c, r: bufio.NewReaderSize(c, 64<<10), buf: make([]byte, gobgp.BGP_MAX_MESSAGE_LENGTH)}
	s.malformed = 0

	s.state(ctx, "opensent", "", false)
	if err := w.open(s.openMsg()); err != nil {
		return false, fmt.Errorf("send open: %w", err)
	}
	m, _, err := s.readMsg(w, r, leanOpenWait, nil)
	if err != nil {
		return false, err
	}
	po, ok := m.Body.(*gobgp.BGPOpen)
	if !ok {
		return false, s.unexpected(w, m, "open")
	}
	neg, err := s.negotiate(po)
	if err != nil {
		var me *gobgp.MessageError
		if errors.As(err, &me) {
			w.notify(me.TypeCode, me.SubTypeCode, me.Data)
		}
		return false, err
	}
	if err := w.keepalive(); err != nil {
		return false, fmt.Errorf("send keepalive: %w", err)
	}
	s.state(ctx, "openconfirm", "", false)
	wait := neg.hold
	if wait == 0 {
		wait = leanOpenWait
	}
	if m, _, err = s.readMsg(w, r, wait, nil); err != nil {
		return false, err
	}
	if _, ok := m.Body.(*gobgp.BGPKeepAlive); !ok {
		return false, s.unexpected(w, m, "keepalive")
	}
	s.state(ctx, "established", "", neg.eor)
	established = true

	if neg.hold > 0 {
		tick := time.NewTicker(neg.hold / 3)
		quit := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		defer func() { close(quit); wg.Wait(); tick.Stop() }()
		go func() {
			defer wg.Done()
			for {
				select {
				case <-quit:
					return
				case <-tick.C:
					if w.keepalive() != nil {
						return // the reader sees the connection fail
					}
				}
			}
		}()
	}

	b := &leanBatch{}
	for {
		// Hand over what was decoded before waiting for the router.
		if r.r.Buffered() == 0 && !b.empty() && !s.flush(ctx, b) {
			return true, ctx.Err()
		}
		m, uerr, err := s.readMsg(w, r, neg.hold, neg.opt)
		if err != nil {
			return true, err
		}
		switch body := m.Body.(type) {
		case *gobgp.BGPUpdate:
			if eor, _ := body.IsEndOfRib(); eor {
				if !s.flush(ctx, b) || !s.emit(ctx, event{kind: evEOR, t: time.Now()}) {
					return true, ctx.Err()
				}
				continue
			}
			if !s.update(w, body, uerr, neg, b) {
				return true, errors.New("malformed update: session reset with notification")
			}
			if (len(b.paths) >= leanBatchPaths || b.updates >= leanBatchUpdates) && !s.flush(ctx, b) {
				return true, ctx.Err()
			}
		case *gobgp.BGPKeepAlive, *gobgp.BGPRouteRefresh:
		default:
			return true, s.unexpected(w, m, "update or keepalive")
		}
	}
}

// readMsg reads and decodes one message. A NOTIFICATION from the router
// ends the session with its reason; a framing or decoding error ends it
// with dxwatch's NOTIFICATION, except an UPDATE's, which comes back with
// its decoding error in uerr for RFC 7606 to decide.
func (s *leanSession) readMsg(w *leanWriter, r *leanReader, hold time.Duration, opt *gobgp.MarshallingOption) (m *gobgp.BGPMessage, uerr, err error) {
	h, body, err := r.read(hold)
	if err != nil {
		var ne net.Error
		var me *gobgp.MessageError
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			w.notify(gobgp.BGP_ERROR_HOLD_TIMER_EXPIRED, 0, nil)
			return nil, nil, errHoldTimer
		case errors.As(err, &me):
			w.notify(me.TypeCode, me.SubTypeCode, me.Data)
			return nil, nil, fmt.Errorf("malformed message from the router: %s", me.Message)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, nil, errors.New("connection closed by the router")
		}
		return nil, nil, err
	}
	var opts []*gobgp.MarshallingOption
	if opt != nil {
		opts = append(opts, opt)
	}
	m, err = decodeBody(h, body, opts...)
	if m != nil {
		switch b := m.Body.(type) {
		case *gobgp.BGPNotification:
			return nil, nil, fmt.Errorf("notification from the router: %s", notificationText(b))
		case *gobgp.BGPUpdate:
			return m, err, nil
		}
	}
	if err != nil {
		code, sub, data, msg := messageError(err, gobgp.BGP_ERROR_MESSAGE_HEADER_ERROR)
		w.notify(code, sub, data)
		return nil, nil, fmt.Errorf("malformed message from the router: %s", msg)
	}
	return m, nil, nil
}

// decodeBody decodes a message body; a panic of the decoder on hostile
// input is a decoding error, never a crash.
func decodeBody(h *gobgp.BGPHeader, body []byte, opts ...*gobgp.MarshallingOption) (m *gobgp.BGPMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, gobgp.NewMessageError(gobgp.BGP_ERROR_UPDATE_MESSAGE_ERROR, gobgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST, nil, fmt.Sprintf("message the decoder cannot read (%v)", r))
		}
	}()
	m, err = gobgp.ParseBGPBody(h, body, opts...)
	if m != nil && m.Body == nil {
		m = nil
	}
	return m, err
}

// messageError gives the NOTIFICATION for a decoding error.
func messageError(err error, code uint8) (uint8, uint8, []byte, string) {
	var me *gobgp.MessageError
	if errors.As(err, &me) {
		return me.TypeCode, me.SubTypeCode, me.Data, me.Message
	}
	return code, 0, nil, err.Error()
}

func notificationText(n *gobgp.BGPNotification) string {
	s := gobgp.NewNotificationErrorCode(n.ErrorCode, n.ErrorSubcode).String()
	if n.ErrorCode == gobgp.BGP_ERROR_CEASE && len(n.Data) > 1 && int(n.Data[0]) < len(n.Data) {
		// RFC 9003 shutdown communication: a length byte, UTF-8 text.
		s += ": " + strconv.QuoteToGraphic(string(n.Data[1:1+int(n.Data[0])]))
	}
	return s
}

// unexpected answers a message the FSM does not expect in this state
// (RFC 4271 §6.6, Finite State Machine Error).
func (s *leanSession) unexpected(w *leanWriter, m *gobgp.BGPMessage, want string) error {
	w.notify(gobgp.BGP_ERROR_FSM_ERROR, 0, nil)
	return fmt.Errorf("the router sent message type %d where %s was due: finite state machine error", m.Header.Type, want)
}

func (s *leanSession) openMsg() *gobgp.BGPMessage {
	myAS := uint16(s.localASN)
	if s.localASN > 0xffff {
		myAS = gobgp.AS_TRANS
	}
	caps := []gobgp.ParameterCapabilityInterface{
		gobgp.NewCapMultiProtocol(gobgp.RF_IPv4_UC),
		gobgp.NewCapMultiProtocol(gobgp.RF_IPv6_UC),
		gobgp.NewCapFourOctetASNumber(s.localASN),
	}
	if s.cfg.addPathReceive() {
		caps = append(caps, gobgp.NewCapAddPath([]*gobgp.CapAddPathTuple{
			gobgp.NewCapAddPathTuple(gobgp.RF_IPv4_UC, gobgp.BGP_ADD_PATH_RECEIVE),
			gobgp.NewCapAddPathTuple(gobgp.RF_IPv6_UC, gobgp.BGP_ADD_PATH_RECEIVE),
		}))
	}
	if s.cfg.GracefulRestart {
		// Receiving speaker only (RFC 4724 §3), as GoBGP's helper mode:
		// no forwarding state of its own, restart time 120 s.
		caps = append(caps, gobgp.NewCapGracefulRestart(false, false, uint16(leanRestartTime/time.Second), []*gobgp.CapGracefulRestartTuple{
			gobgp.NewCapGracefulRestartTuple(gobgp.RF_IPv4_UC, false),
			gobgp.NewCapGracefulRestartTuple(gobgp.RF_IPv6_UC, false),
		}))
	}
	m, _ := gobgp.NewBGPOpenMessage(myAS, uint16(s.cfg.holdTime()/time.Second), s.routerID, []gobgp.OptionParameterInterface{gobgp.NewOptionParameterCapability(caps)})
	return m
}

// leanNeg is what the two OPENs of a lean session agreed.
type leanNeg struct {
	opt      *gobgp.MarshallingOption
	families map[gobgp.Family]gobgp.BGPAddPathMode
	hold     time.Duration
	ebgp     bool
	eor      bool
}

// negotiate checks the router's OPEN (RFC 4271 §6.2; an error is a
// *gobgp.MessageError for the NOTIFICATION) and derives how its UPDATEs
// are decoded.
func (s *leanSession) negotiate(po *gobgp.BGPOpen) (leanNeg, error) {
	want := s.cfg.asn(s.localASN)
	as, err := gobgp.ValidateOpenMsg(po, want, s.localASN, s.routerID)
	if err != nil {
		var me *gobgp.MessageError
		if errors.As(err, &me) {
			return leanNeg{}, fmt.Errorf("refused the router's open (%s): check the asn of peers[] and dxwatch's router_id against the router's neighbor configuration: %w", me.Message, err)
		}
		return leanNeg{}, err
	}
	n := leanNeg{
		opt:      &gobgp.MarshallingOption{AddPath: map[gobgp.Family]gobgp.BGPAddPathMode{}, Use2ByteAS: true},
		families: map[gobgp.Family]gobgp.BGPAddPathMode{},
		ebgp:     as != s.localASN,
	}
	mp := false
	for _, p := range po.OptParams {
		pc, ok := p.(*gobgp.OptionParameterCapability)
		if !ok {
			continue
		}
		for _, c := range pc.Capability {
			switch c := c.(type) {
			case *gobgp.CapFourOctetASNumber:
				n.opt.Use2ByteAS = false
			case *gobgp.CapMultiProtocol:
				mp = true
				if c.CapValue == gobgp.RF_IPv4_UC || c.CapValue == gobgp.RF_IPv6_UC {
					n.families[c.CapValue] = gobgp.BGP_ADD_PATH_NONE
				}
			case *gobgp.CapAddPath:
				for _, t := range c.Tuples {
					if s.cfg.addPathReceive() && t.Mode&gobgp.BGP_ADD_PATH_SEND != 0 && (t.Family == gobgp.RF_IPv4_UC || t.Family == gobgp.RF_IPv6_UC) {
						n.opt.AddPath[t.Family] = gobgp.BGP_ADD_PATH_RECEIVE
					}
				}
			case *gobgp.CapGracefulRestart:
				n.eor = s.cfg.GracefulRestart
			}
		}
	}
	if !mp { // RFC 4760 §8: no capability, IPv4 unicast only
		n.families[gobgp.RF_IPv4_UC] = gobgp.BGP_ADD_PATH_NONE
	}
	for f := range n.opt.AddPath {
		if _, ok := n.families[f]; ok {
			n.families[f] = gobgp.BGP_ADD_PATH_RECEIVE
		} else {
			delete(n.opt.AddPath, f)
		}
	}
	if po.HoldTime > 0 {
		n.hold = min(s.cfg.holdTime(), time.Duration(po.HoldTime)*time.Second)
	}
	return n, nil
}

// leanBatch is what a session decoded since its last hand-off.
type leanBatch struct {
	paths   []*apiutil.Path
	counts  leanCounts
	updates int
	last    time.Time
}

func (b *leanBatch) empty() bool { return b.updates == 0 }

func (b *leanBatch) drop(nh netip.Addr) {
	for i := range b.counts.dropped {
		if b.counts.dropped[i].nextHop == nh {
			b.counts.dropped[i].n++
			return
		}
	}
	b.counts.dropped = append(b.counts.dropped, dropCount{nextHop: nh, n: 1})
}

// flush queues the batch for the worker.
func (s *leanSession) flush(ctx context.Context, b *leanBatch) bool {
	if b.empty() {
		return true
	}
	counts := b.counts
	ok := s.emit(ctx, event{kind: evPaths, t: b.last, paths: b.paths, lean: &counts})
	*b = leanBatch{}
	return ok
}

func (s *leanSession) relevant(p netip.Prefix) bool {
	for _, e := range s.expected {
		if p.Overlaps(e) {
			return true
		}
	}
	return false
}

// update adds an UPDATE's paths to the batch, after RFC 7606: an UPDATE
// whose error allows treat-as-withdraw withdraws its paths, one with a
// discarded attribute is used without it, any other error resets the
// session (false, NOTIFICATION sent).
func (s *leanSession) update(w *leanWriter, u *gobgp.BGPUpdate, derr error, neg leanNeg, b *leanBatch) bool {
	handling := gobgp.ERROR_HANDLING_NONE
	if derr != nil {
		handling = gobgp.ERROR_HANDLING_SESSION_RESET
		var me *gobgp.MessageError
		if errors.As(derr, &me) && (me.ErrorHandling == gobgp.ERROR_HANDLING_TREAT_AS_WITHDRAW || me.ErrorHandling == gobgp.ERROR_HANDLING_ATTRIBUTE_DISCARD) {
			handling = me.ErrorHandling
		}
	} else if ok, err := validateUpdate(u, neg); !ok {
		derr = err
		handling = gobgp.ERROR_HANDLING_SESSION_RESET
		var me *gobgp.MessageError
		if errors.As(err, &me) && me.ErrorHandling != gobgp.ERROR_HANDLING_AFISAFI_DISABLE && me.ErrorHandling != gobgp.ERROR_HANDLING_NONE {
			handling = me.ErrorHandling
		}
	}
	switch handling {
	case gobgp.ERROR_HANDLING_SESSION_RESET:
		code, sub, data, msg := messageError(derr, gobgp.BGP_ERROR_UPDATE_MESSAGE_ERROR)
		w.notify(code, sub, data)
		s.log.Warn("bgp update malformed beyond repair: session reset (RFC 7606); dxwatch reconnects, and the router will send it again: fix the route or the router's software that sends it",
			"err", msg)
		return false
	case gobgp.ERROR_HANDLING_TREAT_AS_WITHDRAW, gobgp.ERROR_HANDLING_ATTRIBUTE_DISCARD:
		s.malformed++
		lvl := slog.LevelWarn
		if s.malformed > 1 {
			lvl = slog.LevelDebug
		}
		what := "its routes are treated as withdrawn (RFC 7606 treat-as-withdraw)"
		if handling == gobgp.ERROR_HANDLING_ATTRIBUTE_DISCARD {
			what = "the bad attribute is ignored (RFC 7606 attribute discard)"
		}
		_, _, _, msg := messageError(derr, 0)
		s.log.Log(context.Background(), lvl, "bgp update malformed: "+what+"; the session stays up: fix the route or the router's software that sends it",
			"err", msg, "malformed_in_session", s.malformed)
	}
	s.collect(u, handling == gobgp.ERROR_HANDLING_TREAT_AS_WITHDRAW, b)
	return true
}

// validateUpdate is GoBGP's own UPDATE validation (mandatory attributes,
// next hop, families), with a panic on hostile input made an error.
func validateUpdate(u *gobgp.BGPUpdate, neg leanNeg) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, gobgp.NewMessageError(gobgp.BGP_ERROR_UPDATE_MESSAGE_ERROR, gobgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST, nil, fmt.Sprintf("update the validator cannot read (%v)", r))
		}
	}()
	return gobgp.ValidateUpdateMsg(u, neg.families, neg.ebgp, false, false)
}

// collect adds the UPDATE's withdrawals and announcements to the batch;
// with asWithdraw, its announcements are withdrawals.
func (s *leanSession) collect(u *gobgp.BGPUpdate, asWithdraw bool, b *leanBatch) {
	now := time.Now()
	b.updates++
	b.last = now
	withdraw := func(n gobgp.PathNLRI) {
		p, ok := nlriPrefix(n.NLRI)
		if !ok || !s.relevant(p) {
			b.counts.withdrawn++
			return
		}
		b.paths = append(b.paths, &apiutil.Path{Nlri: n.NLRI, RemoteID: n.ID, Withdrawal: true, PeerAddress: s.addr})
	}
	for _, n := range u.WithdrawnRoutes {
		withdraw(n)
	}
	var nh, mpNH netip.Addr
	var reach []gobgp.PathNLRI
	for _, a := range u.PathAttributes {
		switch a := a.(type) {
		case *gobgp.PathAttributeNextHop:
			nh = a.Value.Unmap()
		case *gobgp.PathAttributeMpReachNLRI:
			reach, mpNH = a.Value, a.Nexthop.Unmap()
		case *gobgp.PathAttributeMpUnreachNLRI:
			for _, n := range a.Value {
				withdraw(n)
			}
		}
	}
	// The attributes each kind of path is read with: the IPv4 NLRI with
	// NEXT_HOP, MP_REACH's with its own next hop.
	var v4Attrs, mpAttrs []gobgp.PathAttributeInterface
	attrs := func(mp bool) []gobgp.PathAttributeInterface {
		if v4Attrs == nil && mpAttrs == nil {
			for _, a := range u.PathAttributes {
				switch a.(type) {
				case *gobgp.PathAttributeMpReachNLRI:
					mpAttrs = append(mpAttrs, a)
				case *gobgp.PathAttributeNextHop:
					v4Attrs = append(v4Attrs, a)
				case *gobgp.PathAttributeMpUnreachNLRI:
				default:
					v4Attrs = append(v4Attrs, a)
					mpAttrs = append(mpAttrs, a)
				}
			}
		}
		if mp {
			return mpAttrs
		}
		return v4Attrs
	}
	for k, list := range [][]gobgp.PathNLRI{u.NLRI, reach} {
		hop := nh
		if k == 1 {
			hop = mpNH
		}
		for _, n := range list {
			if asWithdraw {
				withdraw(n)
				continue
			}
			p, ok := nlriPrefix(n.NLRI)
			if !ok || !s.relevant(p) {
				b.drop(hop)
				continue
			}
			b.paths = append(b.paths, &apiutil.Path{Nlri: n.NLRI, RemoteID: n.ID, Attrs: attrs(k == 1), PeerAddress: s.addr})
		}
	}
}

// nlriPrefix is an IPv4 or IPv6 unicast NLRI's prefix.
func nlriPrefix(n gobgp.NLRI) (netip.Prefix, bool) {
	if n, ok := n.(*gobgp.IPAddrPrefix); ok {
		return n.Prefix, true
	}
	return netip.Prefix{}, false
}
