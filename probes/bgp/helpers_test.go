package bgp

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// Addresses of the in-process tests: every speaker lives on 127.0.0.0/8.
const (
	dxAddr     = "127.0.0.1" // dxwatch's side of every session
	edge1Addr  = "127.0.0.2"
	edge2Addr  = "127.0.0.3"
	vpcPrefix  = "198.18.0.0/16"
	vpcPrefix6 = "2001:db8:1000::/56" // lab.VPCCIDR6
)

var (
	primaryAmazon    = netip.MustParseAddr("169.254.10.1")
	secondaryAmazon  = netip.MustParseAddr("169.254.20.1")
	primaryAmazon6   = netip.MustParseAddr("2001:db8:10::1") // lab.PrimaryAmazon6
	secondaryAmazon6 = netip.MustParseAddr("2001:db8:20::1")
)

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// speaker is a real GoBGP speaker standing in for an edge router.
type speaker struct {
	s    *server.BgpServer
	port int
}

// newSpeaker starts a GoBGP speaker listening on addr:port (port -1: none).
func newSpeaker(t testing.TB, asn uint32, addr string, port int) *speaker {
	t.Helper()
	s := server.NewBgpServer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve()
	}()
	g := &api.Global{Asn: asn, RouterId: "10.255.0." + addr[len(addr)-1:], ListenPort: int32(port)}
	if port > 0 {
		g.ListenAddresses = []string{addr}
	}
	if err := s.StartBgp(context.Background(), &api.StartBgpRequest{Global: g}); err != nil {
		t.Fatalf("start speaker %s: %v", addr, err)
	}
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return &speaker{s: s, port: port}
}

type peerOpt func(*api.Peer)

func withKey(k string) peerOpt { return func(p *api.Peer) { p.Conf.AuthPassword = k } }
func passive() peerOpt         { return func(p *api.Peer) { p.Transport.PassiveMode = true } }
func from(local string) peerOpt {
	return func(p *api.Peer) { p.Transport.LocalAddress = local }
}
func holdTime(sec uint64) peerOpt {
	return func(p *api.Peer) { p.Timers.Config.HoldTime, p.Timers.Config.KeepaliveInterval = sec, sec/3 }
}
func remotePort(n int) peerOpt { return func(p *api.Peer) { p.Transport.RemotePort = uint32(n) } }

// ipv6Unicast adds the IPv6 unicast family to the session (over its IPv4
// transport), before sendPaths so that it sends every path of both.
func ipv6Unicast() peerOpt {
	return func(p *api.Peer) {
		p.AfiSafis = append(p.AfiSafis, &api.AfiSafi{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}, Enabled: true}})
	}
}

func sendPaths(n uint32) peerOpt {
	return func(p *api.Peer) {
		for _, as := range p.AfiSafis {
			as.AddPaths = &api.AddPaths{Config: &api.AddPathsConfig{SendMax: n}}
		}
	}
}

// addPeer adds dxwatch (or another speaker) as the speaker's neighbor.
func (sp *speaker) addPeer(t testing.TB, addr string, asn uint32, opts ...peerOpt) {
	t.Helper()
	p := &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: addr, PeerAsn: asn},
		Transport: &api.Transport{},
		Timers: &api.Timers{Config: &api.TimersConfig{
			ConnectRetry: 1, IdleHoldTimeAfterReset: 1, HoldTime: 9, KeepaliveInterval: 3,
		}},
		AfiSafis: []*api.AfiSafi{{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}, Enabled: true}}},
	}
	for _, o := range opts {
		o(p)
	}
	if err := sp.s.AddPeer(context.Background(), &api.AddPeerRequest{Peer: p}); err != nil {
		t.Fatalf("add peer %s: %v", addr, err)
	}
}

// route is a path the speaker originates.
type route struct {
	prefix    string
	id        uint32
	nextHop   netip.Addr
	asPath    []uint32
	localPref uint32
	comms     []uint32
}

func (r route) path() *apiutil.Path {
	pfx := netip.MustParsePrefix(r.prefix)
	nlri, _ := gobgp.NewIPAddrPrefix(pfx)
	// An IPv4 route's next hop is its NEXT_HOP attribute, an IPv6 route's
	// is in its MP_REACH_NLRI (RFC 4760).
	family := gobgp.RF_IPv4_UC
	var nh gobgp.PathAttributeInterface
	if pfx.Addr().Is6() {
		family = gobgp.RF_IPv6_UC
		nh, _ = gobgp.NewPathAttributeMpReachNLRI(family, []gobgp.PathNLRI{{NLRI: nlri, ID: r.id}}, r.nextHop)
	} else {
		nh, _ = gobgp.NewPathAttributeNextHop(r.nextHop)
	}
	attrs := []gobgp.PathAttributeInterface{
		gobgp.NewPathAttributeOrigin(0),
		gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAs4PathParam(gobgp.BGP_ASPATH_ATTR_TYPE_SEQ, r.asPath)}),
		nh,
	}
	if r.localPref != 0 {
		attrs = append(attrs, gobgp.NewPathAttributeLocalPref(r.localPref))
	}
	if len(r.comms) > 0 {
		attrs = append(attrs, gobgp.NewPathAttributeCommunities(r.comms))
	}
	return &apiutil.Path{Family: family, Nlri: nlri, Attrs: attrs, RemoteID: r.id, Age: time.Now().Unix()}
}

func (sp *speaker) announce(t testing.TB, rs ...route) {
	t.Helper()
	var paths []*apiutil.Path
	for _, r := range rs {
		paths = append(paths, r.path())
	}
	if _, err := sp.s.AddPath(apiutil.AddPathRequest{Paths: paths}); err != nil {
		t.Fatalf("announce: %v", err)
	}
}

func (sp *speaker) withdraw(t testing.TB, rs ...route) {
	t.Helper()
	var paths []*apiutil.Path
	for _, r := range rs {
		paths = append(paths, r.path())
	}
	if err := sp.s.DeletePath(apiutil.DeletePathRequest{Paths: paths}); err != nil {
		t.Fatalf("withdraw: %v", err)
	}
}

// adjIn lists the prefixes the speaker received from neighbor addr, of
// both families.
func (sp *speaker) adjIn(t testing.TB, addr string) []string {
	t.Helper()
	var out []string
	for _, f := range []gobgp.Family{gobgp.RF_IPv4_UC, gobgp.RF_IPv6_UC} {
		err := sp.s.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_ADJ_IN, Name: addr, Family: f},
			func(prefix gobgp.NLRI, paths []*apiutil.Path) {
				for range paths {
					out = append(out, prefix.String())
				}
			})
		if err != nil {
			t.Fatalf("list adj-in of %s (%s): %v", addr, f, err)
		}
	}
	return out
}

// established reports whether the speaker's session with addr is up.
func (sp *speaker) established(t testing.TB, addr string) bool {
	t.Helper()
	up := false
	_ = sp.s.ListPeer(context.Background(), &api.ListPeerRequest{Address: addr}, func(p *api.Peer) {
		up = p.State != nil && p.State.SessionState == api.PeerState_SESSION_STATE_ESTABLISHED
	})
	return up
}

// recorder collects observations.
type recorder struct {
	mu  sync.Mutex
	obs []probes.Observation
}

func (r *recorder) Observe(o probes.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.obs = append(r.obs, o)
}

func (r *recorder) find(match func(probes.Observation) bool) (probes.Observation, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.obs {
		if match(o) {
			return o, true
		}
	}
	return probes.Observation{}, false
}

// runProbe starts p.Run and stops it at cleanup, failing on an error.
func runProbe(t testing.TB, p *Probe) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			if debugProbe != nil {
				b, _ := json.MarshalIndent(debugProbe.Routes(), "", " ")
				t.Logf("routes: %s", b)
			}
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *Probe) peerView(name string) PeerView {
	for _, pv := range p.Routes().Peers {
		if pv.Name == name {
			return pv
		}
	}
	return PeerView{}
}

func (p *Probe) linkPrefix(link, prefix string) LinkPrefixView {
	for _, lv := range p.Routes().Links {
		if lv.Name != link {
			continue
		}
		for _, e := range lv.Expected {
			if e.Prefix == prefix {
				return e
			}
		}
	}
	return LinkPrefixView{}
}

func (p *Probe) check(name string) probes.CheckResult {
	for _, c := range p.Checks() {
		if c.Name == name {
			return c
		}
	}
	return probes.CheckResult{}
}

func itoa(n int) string { return strconv.Itoa(n) }

// debugProbe, when set, is dumped when eventually times out.
var debugProbe *Probe

func probesDeps() probes.Deps { return probes.Deps{Site: labsite.Site()} }

// envSlow asks for the slow tests of this package: each waits out GoBGP's
// timers (an idle hold of about 5 s after every reset, hold timers), a
// minute and a half together. make test and make check set it; a plain
// `go test ./...` skips them, so that it stays quick.
const envSlow = "DXWATCH_SLOW"

// slow skips a test that waits on GoBGP's timers unless envSlow is 1.
func slow(t *testing.T) {
	t.Helper()
	if os.Getenv(envSlow) != "1" {
		t.Skip("waits on GoBGP's timers (seconds per reset): run it with make test, or " + envSlow + "=1 go test ./probes/bgp/")
	}
}

// ipv4Site is the lab's site with only its IPv4 expected prefix: for the
// tests whose speaker announces IPv4 routes alone.
func ipv4Site() probes.Site {
	s := labsite.Site()
	s.Routing.ExpectedPrefixes = slices.DeleteFunc(slices.Clone(s.Routing.ExpectedPrefixes), func(p netip.Prefix) bool { return p.Addr().Is6() })
	return s
}
