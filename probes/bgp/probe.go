package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/dxwatch/dxwatch/probes"
)

// Sizes of the bounded hand-off between GoBGP's (unbounded) watcher queues
// and the worker. An event is one UPDATE's paths, a peer state change or a
// BMP message.
const (
	queueSize      = 4096
	statusInterval = 5 * time.Second
	connectGrace   = 30 * time.Second
)

// Probe watches the routing towards the VPCs from the edge routers: BGP
// sessions (GoBGP, in process, receive only) and a BMP station.
type Probe struct {
	name   string
	cfg    Config
	deps   probes.Deps
	log    *slog.Logger
	keys   []string // MD5 key per peer; never logged
	peerIP []netip.Addr

	queue   chan event
	dropped atomic.Uint64
	resyncs atomic.Uint64
	// resync[i] is set by a GoBGP callback that could not queue an event
	// of peer i; the worker then rebuilds the peer's paths from GoBGP.
	resync     []atomic.Bool
	peerResync atomic.Bool
	// connWatch is set while a peer dxwatch connects to is down (gobgpLog).
	connWatch atomic.Bool
	bmpErrors atomic.Uint64
	bmpAddr   atomic.Pointer[net.TCPAddr]
	// bmpAllowed are the sources the BMP station accepts (bmp.routers or
	// the peers' addresses); the others are refused and counted.
	bmpAllowed []netip.Prefix
	bmpRefused atomic.Uint64

	view    atomic.Pointer[view]
	started time.Time
}

// New builds the probe; it reads the MD5 keys but opens no socket.
func New(name string, cfg Config, deps probes.Deps) (*Probe, error) {
	deps = deps.WithDefaults("bgp", name)
	if err := cfg.Validate(deps.Site); err != nil {
		return nil, err
	}
	p := &Probe{
		name:   name,
		cfg:    cfg,
		deps:   deps,
		log:    deps.Logger,
		queue:  make(chan event, queueSize),
		resync: make([]atomic.Bool, len(cfg.Peers)),
	}
	keys, err := cfg.ReadKeys()
	if err != nil {
		return nil, err
	}
	p.keys = keys
	for _, pc := range cfg.Peers {
		a, _ := netip.ParseAddr(pc.Address)
		p.peerIP = append(p.peerIP, a.Unmap())
	}
	p.bmpAllowed = cfg.allowed()
	p.view.Store(&view{})
	return p, nil
}

// Name implements probes.Probe.
func (p *Probe) Name() string { return p.name }

type evKind uint8

const (
	evPaths evKind = iota + 1
	evEOR
	evPeer
	evBMP
	evConnect
	evSession // a lean session's state change
)

type event struct {
	kind  evKind
	peer  int
	gen   uint64
	t     time.Time
	paths []*apiutil.Path
	eor   *apiutil.Path
	state *apiutil.WatchEventMessage_PeerEvent
	bmp   *bmpEvent
	// addr and cause are a failed TCP connection to a peer (evConnect).
	addr  netip.Addr
	cause string
	// session is a lean session's new state (evSession); lean, with
	// evPaths, counts its paths that were not queued.
	session *sessionEvent
	lean    *leanCounts
}

// enqueue hands an event to the worker without blocking; a full queue
// drops it and counts the drop.
func (p *Probe) enqueue(ev event) bool {
	select {
	case p.queue <- ev:
		return true
	default:
		p.dropped.Add(1)
		return false
	}
}

// peerRun is the worker's record of one BGP peer.
type peerRun struct {
	cfg      PeerConfig
	addr     netip.Addr
	src      uint16
	state    string
	up       bool
	everUp   bool
	since    time.Time
	reason   string
	connErr  string // why the last TCP connection to the peer failed, while down
	flaps    uint64
	gen      uint64
	cancel   context.CancelFunc
	eorSeen  bool
	resyncAt time.Time
	// eorNegotiated is set when both OPENs of the current session carry
	// the graceful restart capability: End-of-RIB is then due (RFC 4724),
	// and readiness waits for it.
	eorNegotiated bool
	// lastUpdate is when the last UPDATE (announce or withdrawal) of the
	// current session arrived: without End-of-RIB, the initial table is
	// taken as in once none has come for settle_time.
	lastUpdate time.Time
	// leanPaths is a lean session's table size: paths announced minus
	// withdrawn in the current session (it stores none of them).
	leanPaths uint64
}

// worker owns all mutable state; GoBGP callbacks and BMP readers only
// queue events for it.
type worker struct {
	p      *Probe
	s      *state
	bgp    *server.BgpServer
	ctx    context.Context
	peers  []*peerRun
	bmp    map[uint64]*bmpRouter
	dirty  bool
	relHit bool
	relAt  time.Time
	size   tableSizes
}

// Run peers with the edge routers and runs the BMP station until ctx ends.
func (p *Probe) Run(ctx context.Context) error {
	p.started = time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &worker{p: p, s: newState(p.deps.Site, p.cfg.LocalASN, p.cfg.KeepOnlyRelevant), ctx: ctx, bmp: map[uint64]*bmpRouter{}}
	w.s.bgpFeed = len(p.cfg.Peers) > 0
	var wg sync.WaitGroup
	defer wg.Wait()

	if p.cfg.BMP.ListenAddress != "" {
		lc := net.ListenConfig{}
		lc.SetMultipathTCP(false)
		ln, err := lc.Listen(ctx, "tcp", p.cfg.BMP.ListenAddress)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				// Most likely the daemon, beside `dxwatch verify`.
				return fmt.Errorf("bmp station: listen on %s: %w: another process holds the port; if it is the dxwatch daemon, read its checks with `dxwatch verify --agent %s`",
					p.cfg.BMP.ListenAddress, err, agentURLHint)
			}
			return fmt.Errorf("bmp station: listen on %s: %w", p.cfg.BMP.ListenAddress, err)
		}
		p.bmpAddr.Store(ln.Addr().(*net.TCPAddr))
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.serveBMP(ctx, ln, &wg)
		}()
	}

	if len(p.cfg.Peers) > 0 {
		w.addPeers()
		stop, err := w.startBGP()
		if err != nil {
			cancel()
			return err
		}
		defer stop()
		w.startLean(&wg)
	}

	w.publish(time.Now())
	tick := time.NewTicker(statusInterval)
	defer tick.Stop()
	roundStart := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-p.queue:
			w.handle(ev)
			// Drain what is queued before publishing a new view.
			for n := 0; n < 256; n++ {
				select {
				case ev := <-p.queue:
					w.handle(ev)
					continue
				default:
				}
				break
			}
			w.resyncPending()
			w.flush()
		case <-tick.C:
			w.pollTableSizes(time.Now())
			w.expireStale(time.Now())
			w.resyncPending()
			w.flush()
			w.publish(time.Now())
			p.deps.Status.Done(roundStart, w.health())
			roundStart = time.Now()
		}
	}
}

// addPeers makes the worker's record of every configured peer, whichever
// session holds it.
func (w *worker) addPeers() {
	for i, pc := range w.p.cfg.Peers {
		pr := &peerRun{cfg: pc, addr: w.p.peerIP[i], state: "idle"}
		pr.src = w.s.addSource(&source{kind: srcBGP, name: pc.Name, addr: pr.addr, link: -1, active: true})
		w.s.peerStats = append(w.s.peerStats, srcStats{})
		w.peers = append(w.peers, pr)
	}
}

// startBGP starts the in-process GoBGP speaker for the peers of session
// gobgp (none: it is not started): the policies first, then the
// watchers, then the peers. The returned func stops it.
func (w *worker) startBGP() (func(), error) {
	p := w.p
	if !slices.ContainsFunc(p.cfg.Peers, func(pc PeerConfig) bool { return !pc.lean() }) {
		return func() {}, nil
	}
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	glog := slog.New(&gobgpLog{
		next:  p.log.With("component", "gobgp").Handler(),
		watch: &p.connWatch,
		report: func(a netip.Addr, cause string, t time.Time) {
			p.enqueue(event{kind: evConnect, addr: a, cause: cause, t: t})
		},
	})
	s := server.NewBgpServer(server.LoggerOption(glog, level))
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.Serve()
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		for _, pr := range w.peers {
			if pr.cancel != nil {
				pr.cancel()
			}
		}
		// Stop also ends GoBGP's BFD goroutine, which StopBgp leaves.
		s.Stop()
		<-served
	}
	port := int32(p.cfg.ListenPort)
	if port == 0 {
		port = -1
	}
	ctx := w.ctx
	if err := s.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:        p.cfg.LocalASN,
		RouterId:   p.cfg.RouterID,
		ListenPort: port,
	}}); err != nil {
		stop()
		return nil, fmt.Errorf("start bgp speaker (listen port %d): %w", p.cfg.ListenPort, err)
	}
	// dxwatch never advertises: the global export policy rejects every
	// route before any peer exists. The import policy rejects too, so the
	// global RIB stays empty (dxwatch reads the Adj-RIB-In) and there is
	// nothing that could be exported.
	for _, dir := range []api.PolicyDirection{api.PolicyDirection_POLICY_DIRECTION_EXPORT, api.PolicyDirection_POLICY_DIRECTION_IMPORT} {
		if err := s.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
			Name:          "global",
			Direction:     dir,
			DefaultAction: api.RouteAction_ROUTE_ACTION_REJECT,
		}}); err != nil {
			stop()
			return nil, fmt.Errorf("set the reject-all %s policy: %w", dir, err)
		}
	}
	w.bgp = s
	if err := s.WatchEvent(ctx, server.WatchEventMessageCallbacks{
		OnPeerUpdate: func(ev *apiutil.WatchEventMessage_PeerEvent, t time.Time) {
			if !p.enqueue(event{kind: evPeer, state: ev, t: t}) {
				p.peerResync.Store(true)
			}
		},
	}, server.WatchPeer()); err != nil {
		stop()
		return nil, fmt.Errorf("watch bgp peer states: %w", err)
	}
	for i, pc := range p.cfg.Peers {
		if pc.lean() {
			continue
		}
		w.watchConnects()
		if err := w.watchPeer(i, false); err != nil {
			stop()
			return nil, err
		}
		if err := s.AddPeer(ctx, &api.AddPeerRequest{Peer: p.apiPeer(i)}); err != nil {
			stop()
			return nil, fmt.Errorf("add bgp peer %s (%s): %w", pc.Name, pc.Address, err)
		}
	}
	return stop, nil
}

// watchPeer (re)starts the watcher of peer i's Adj-RIB-In. With current,
// GoBGP first replays the peer's Adj-RIB-In, atomically with the live
// stream: that is how a resync rebuilds the view after a dropped event.
func (w *worker) watchPeer(i int, current bool) error {
	p, pr := w.p, w.peers[i]
	if pr.cancel != nil {
		pr.cancel()
	}
	pr.gen++
	gen, addr := pr.gen, pr.addr
	ctx, cancel := context.WithCancel(w.ctx)
	pr.cancel = cancel
	err := w.bgp.WatchEvent(ctx, server.WatchEventMessageCallbacks{
		OnPathUpdate: func(paths []*apiutil.Path, _ time.Time) {
			// Locally generated withdrawals (WatchAdjInWithdraw) are
			// sent to every watcher: keep this peer's.
			if len(paths) > 0 && paths[0].PeerAddress != addr {
				return
			}
			// GoBGP stamps adj-in updates with the path's timestamp, kept
			// in whole seconds: up to a second before the update arrived.
			// The time of this callback is exact to the queue's latency.
			if !p.enqueue(event{kind: evPaths, peer: i, gen: gen, paths: paths, t: time.Now()}) {
				p.resync[i].Store(true)
			}
		},
		OnPathEor: func(path *apiutil.Path, t time.Time) {
			if path.PeerAddress != addr {
				return
			}
			if !p.enqueue(event{kind: evEOR, peer: i, gen: gen, eor: path, t: t}) {
				p.resync[i].Store(true)
			}
		},
	}, server.WatchUpdate(current, addr.String(), ""), server.WatchAdjInWithdraw(), server.WatchEor(false))
	if err != nil {
		cancel()
		return fmt.Errorf("watch updates of bgp peer %s: %w", pr.cfg.Name, err)
	}
	return nil
}

func (p *Probe) apiPeer(i int) *api.Peer {
	pc := p.cfg.Peers[i]
	hold := uint64(pc.holdTime() / time.Second)
	// After a reset GoBGP waits ConnectRetry before it dials again, or,
	// for a passive peer, before it accepts again: short, so that a flap
	// is seen to end quickly; an active peer dials no more than every 5s.
	retry := uint64(5)
	if pc.Passive {
		retry = 1
	}
	fams := []*api.Family{
		{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST},
		{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST},
	}
	peer := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: p.peerIP[i].String(),
			PeerAsn:         pc.asn(p.cfg.LocalASN),
			AuthPassword:    p.keys[i],
			Description:     pc.Name,
		},
		Transport: &api.Transport{
			PassiveMode: pc.Passive,
			RemotePort:  uint32(pc.port()),
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime:               hold,
			KeepaliveInterval:      max(hold/3, 1),
			ConnectRetry:           retry,
			IdleHoldTimeAfterReset: 1,
		}},
	}
	if pc.GracefulRestart {
		peer.GracefulRestart = &api.GracefulRestart{Enabled: true, HelperOnly: true, RestartTime: 120}
	}
	for _, f := range fams {
		as := &api.AfiSafi{Config: &api.AfiSafiConfig{Family: f, Enabled: true}}
		if pc.addPathReceive() {
			as.AddPaths = &api.AddPaths{Config: &api.AddPathsConfig{Receive: true}}
		}
		if pc.GracefulRestart {
			as.MpGracefulRestart = &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}}
		}
		peer.AfiSafis = append(peer.AfiSafis, as)
	}
	return peer
}

func (w *worker) handle(ev event) {
	switch ev.kind {
	case evPaths:
		pr := w.peers[ev.peer]
		if ev.gen != pr.gen {
			return // from a watcher replaced by a resync
		}
		t := ev.t
		if t.IsZero() {
			t = time.Now() // GoBGP's replay carries no time
		}
		pr.lastUpdate = t
		w.paths(ev.peer, ev.paths, t)
		if ev.lean != nil {
			w.leanCounted(ev.peer, ev.paths, ev.lean, t)
		}
	case evEOR:
		pr := w.peers[ev.peer]
		if ev.gen != pr.gen {
			return
		}
		pr.eorSeen = true
		if ev.t.IsZero() {
			ev.t = time.Now() // GoBGP does not date End-of-RIB events
		}
		// After a graceful restart the router has resent its paths:
		// what is still stale is gone.
		if _, changed := w.s.dropSource(pr.src, ev.t, true); changed {
			w.touched(ev.t)
		}
		w.dirty = true
	case evPeer:
		w.peerEvent(ev.state, ev.t)
	case evSession:
		w.leanState(ev.peer, ev.session, ev.t)
	case evBMP:
		w.bmpEvent(ev.bmp)
	case evConnect:
		if i := w.peerByAddr(ev.addr); i >= 0 && !w.peers[i].up && w.peers[i].connErr != ev.cause {
			w.peers[i].connErr = ev.cause
			w.dirty = true
		}
	}
}

func (w *worker) touched(t time.Time) {
	w.relHit = true
	if t.After(w.relAt) {
		w.relAt = t
	}
}

func (w *worker) paths(i int, paths []*apiutil.Path, t time.Time) {
	pr := w.peers[i]
	st := &w.s.peerStats[i]
	for _, path := range paths {
		nlri, ok := path.Nlri.(*gobgp.IPAddrPrefix)
		if !ok {
			continue
		}
		pfx := nlri.Prefix
		if path.Withdrawal {
			st.withdrawals++
			if w.s.withdraw(pr.src, pfx, path.RemoteID, t) {
				w.touched(t)
			}
			continue
		}
		st.updates++
		link := w.s.nextHopLink(nextHop(path.Attrs))
		if w.s.announce(pr.src, pfx, path.RemoteID, link, path.Attrs, path.Stale, t) {
			w.touched(t)
		}
	}
	w.dirty = true
}

func fsmName(s gobgp.FSMState) string {
	switch s {
	case gobgp.BGP_FSM_IDLE:
		return "idle"
	case gobgp.BGP_FSM_CONNECT:
		return "connect"
	case gobgp.BGP_FSM_ACTIVE:
		return "active"
	case gobgp.BGP_FSM_OPENSENT:
		return "opensent"
	case gobgp.BGP_FSM_OPENCONFIRM:
		return "openconfirm"
	case gobgp.BGP_FSM_ESTABLISHED:
		return "established"
	}
	return "unknown"
}

func (w *worker) peerByAddr(a netip.Addr) int {
	for i, pr := range w.peers {
		if pr.addr == a.Unmap() {
			return i
		}
	}
	return -1
}

func (w *worker) peerEvent(ev *apiutil.WatchEventMessage_PeerEvent, t time.Time) {
	if ev.Type == apiutil.PEER_EVENT_END_OF_INIT {
		return
	}
	i := w.peerByAddr(ev.Peer.State.NeighborAddress)
	if i < 0 {
		return
	}
	if t.IsZero() {
		t = time.Now()
	}
	st := ev.Peer.State
	reason := ""
	if st.DisconnectReason != api.PeerState_DISCONNECT_REASON_UNSPECIFIED || st.DisconnectMessage != "" {
		reason = disconnectName(st.DisconnectReason)
		if st.DisconnectMessage != "" {
			reason += ": " + st.DisconnectMessage
		}
	}
	if st.SessionState == gobgp.BGP_FSM_ESTABLISHED {
		w.peers[i].eorNegotiated = hasGR(st.LocalCap) && hasGR(st.RemoteCap)
	}
	w.setPeerState(i, fsmName(st.SessionState), reason, t)
}

// hasGR reports whether an OPEN's capabilities include graceful restart.
func hasGR(caps []gobgp.ParameterCapabilityInterface) bool {
	for _, c := range caps {
		if c.Code() == gobgp.BGP_CAP_GRACEFUL_RESTART {
			return true
		}
	}
	return false
}

func disconnectName(r api.PeerState_DisconnectReason) string {
	s := r.String()
	const pfx = "DISCONNECT_REASON_"
	if len(s) > len(pfx) && s[:len(pfx)] == pfx {
		s = s[len(pfx):]
	}
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (w *worker) setPeerState(i int, state, reason string, t time.Time) {
	pr := w.peers[i]
	up := state == "established"
	if reason != "" {
		pr.reason = reason
	}
	if state == pr.state {
		return
	}
	pr.state = state
	w.dirty = true
	if up == pr.up {
		return
	}
	pr.up = up
	pr.since = t
	w.watchConnects()
	if up {
		pr.everUp = true
		pr.connErr = ""
	} else {
		// Cleared when the session goes down, not when it comes up: the
		// new session's End-of-RIB comes through another GoBGP watcher
		// and may be queued before its state change.
		pr.eorSeen = false
		pr.flaps++
		if pr.cfg.GracefulRestart && w.s.markStale(pr.src) {
			w.touched(t)
		}
	}
	detail := ""
	if !up {
		detail = state
		if pr.reason != "" {
			detail += " (" + pr.reason + ")"
		}
		w.p.log.Warn("bgp session down", "peer", pr.cfg.Name, "address", pr.addr.String(), "state", state, "reason", pr.reason)
	} else {
		w.p.log.Info("bgp session established", "peer", pr.cfg.Name, "address", pr.addr.String())
	}
	w.p.deps.Observer.Observe(probes.Observation{Time: t, Event: probes.BGPSession, Probe: w.p.name, Peer: pr.cfg.Name, Up: up, Detail: detail})
}

// watchConnects has GoBGP's connect failures caught while a peer that
// dxwatch connects to is down, and only then.
func (w *worker) watchConnects() {
	down := false
	for _, pr := range w.peers {
		down = down || (!pr.up && !pr.cfg.Passive)
	}
	w.p.connWatch.Store(down)
}

// resyncPending rebuilds the peers whose events were dropped: their paths
// are cleared and GoBGP replays their Adj-RIB-In on a new watcher.
func (w *worker) resyncPending() {
	p := w.p
	if p.peerResync.Swap(false) && w.bgp != nil {
		_ = w.bgp.ListPeer(w.ctx, &api.ListPeerRequest{}, func(ap *api.Peer) {
			if ap.State == nil {
				return
			}
			a, err := netip.ParseAddr(ap.State.NeighborAddress)
			if err != nil {
				return
			}
			if i := w.peerByAddr(a); i >= 0 {
				if ap.State.SessionState == api.PeerState_SESSION_STATE_ESTABLISHED {
					local, _ := apiutil.UnmarshalCapabilities(ap.State.LocalCap)
					remote, _ := apiutil.UnmarshalCapabilities(ap.State.RemoteCap)
					w.peers[i].eorNegotiated = hasGR(local) && hasGR(remote)
				}
				w.setPeerState(i, apiStateName(ap.State.SessionState), "", time.Now())
			}
		})
	}
	for i := range w.peers {
		if !p.resync[i].Load() {
			continue
		}
		pr := w.peers[i]
		// Let the backlog drain before replaying a full table again.
		if len(p.queue) > queueSize/2 || time.Since(pr.resyncAt) < time.Second {
			continue
		}
		p.resync[i].Store(false)
		pr.resyncAt = time.Now()
		p.resyncs.Add(1)
		p.log.Warn("bgp events dropped: rebuilding the peer's routes from gobgp", "peer", pr.cfg.Name, "dropped_total", p.dropped.Load())
		t := time.Now()
		w.s.quiet = true
		if _, changed := w.s.dropSource(pr.src, t, false); changed {
			w.touched(t)
		}
		w.s.quiet = false
		if err := w.watchPeer(i, true); err != nil && w.ctx.Err() == nil {
			p.log.Error("resync bgp peer", "peer", pr.cfg.Name, "err", err)
		}
		w.dirty = true
	}
}

func apiStateName(s api.PeerState_SessionState) string {
	switch s {
	case api.PeerState_SESSION_STATE_IDLE:
		return "idle"
	case api.PeerState_SESSION_STATE_CONNECT:
		return "connect"
	case api.PeerState_SESSION_STATE_ACTIVE:
		return "active"
	case api.PeerState_SESSION_STATE_OPENSENT:
		return "opensent"
	case api.PeerState_SESSION_STATE_OPENCONFIRM:
		return "openconfirm"
	case api.PeerState_SESSION_STATE_ESTABLISHED:
		return "established"
	}
	return "unknown"
}

// flush reports what changed for the expected prefixes and publishes a new
// view.
func (w *worker) flush() {
	if w.relHit && !w.syncing(time.Now()) {
		for _, o := range w.s.evaluate(w.relAt, w.p.name) {
			w.p.deps.Observer.Observe(o)
		}
		w.relHit = false
		w.dirty = true
	}
	if w.dirty {
		w.publish(time.Now())
		w.dirty = false
	}
}

// initialSync bounds how long a new session's first table is awaited when
// the router sends no End-of-RIB.
const initialSync = 3 * time.Second

// syncing reports whether a session is still receiving its initial table
// (up, no End-of-RIB, for less than initialSync). Its paths arrive in the
// router's order, not the order of preference: reporting the best path
// before the table is complete would report a best path that "moved" to
// whichever link's path came first (seen in the lab: a false failover and
// failback at every start). Evaluation waits; the ticker retries.
func (w *worker) syncing(now time.Time) bool {
	for _, pr := range w.peers {
		if pr.up && !pr.eorSeen && now.Sub(pr.since) < initialSync {
			return true
		}
	}
	return false
}

// health is the round result for Status: an error while a configured feed
// is down.
func (w *worker) health() error {
	var errs []error
	for _, pr := range w.peers {
		if !pr.up {
			errs = append(errs, fmt.Errorf("bgp peer %s (%s) is %s", pr.cfg.Name, pr.addr, pr.state))
		}
	}
	if w.p.cfg.BMP.ListenAddress != "" && len(w.peers) == 0 && len(w.bmp) == 0 {
		errs = append(errs, errors.New("no router connected to the bmp station"))
	}
	return errors.Join(errs...)
}

// BMPAddr returns the BMP station's listening address once Run has opened
// it (nil before, or when the station is off).
func (p *Probe) BMPAddr() *net.TCPAddr { return p.bmpAddr.Load() }
