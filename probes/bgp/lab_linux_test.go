package bgp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// envLabEdges set to 2 has TestLabBGPChild peer with both edges of the
// two-edge lab and take both their BMP feeds.
const envLabEdges = "DXWATCH_LAB_EDGES"

// envLabIPv6 set to 1 has TestLabBGPChild expect the VPC's IPv6 prefix too
// (labsite.WithIPv6Prefix).
const envLabIPv6 = "DXWATCH_LAB_IPV6"

// envLabSession is the session TestLabBGPChild holds its peers with
// (peers[].session; empty: the default, GoBGP).
const envLabSession = "DXWATCH_LAB_SESSION"

// lineWriter hands each write (one slog record) to emit.
type lineWriter func(string)

func (w lineWriter) Write(b []byte) (int, error) {
	w(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// TestLabBGPChild runs the probe inside the lab's agent host, peered with
// edge1 (and edge2 with DXWATCH_LAB_EDGES=2) and listening for their BMP,
// and prints its view, observations and log as lines for TestLabBGP and
// TestLabBMPTwoEdges.
func TestLabBGPChild(t *testing.T) {
	if !lab.InChild() {
		t.Skip("runs inside the lab's agent host, started by TestLabBGP")
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	emit := func(kind string, v any) {
		b, _ := json.Marshal(v)
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "%s %s\n", kind, b)
		out.Flush()
	}
	cfg := Config{
		LocalASN: lab.OnPremASN,
		RouterID: lab.AgentAddress,
		Peers:    []PeerConfig{{Name: lab.HostEdge1, Address: lab.Edge1LAN}},
		BMP:      BMPConfig{ListenAddress: net.JoinHostPort(lab.AgentAddress, itoa(lab.BMPPort))},
	}
	if os.Getenv(envLabEdges) == "2" {
		cfg.Peers = append(cfg.Peers, PeerConfig{Name: lab.HostEdge2, Address: lab.Edge2LAN})
	}
	for i := range cfg.Peers {
		cfg.Peers[i].Session = os.Getenv(envLabSession)
	}
	site := labsite.Site()
	if os.Getenv(envLabIPv6) == "1" {
		site = labsite.WithIPv6Prefix(site)
	}
	logger := slog.New(slog.NewTextHandler(lineWriter(func(line string) { emit("LOG", line) }), &slog.HandlerOptions{Level: slog.LevelInfo}))
	p, err := New("bgp", cfg, probes.Deps{Site: site, Logger: logger, Observer: probes.ObserverFunc(func(o probes.Observation) { emit("OBS", o) })})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-tick.C:
			emit("ROUTES", p.Routes())
		}
	}
}

// labWatch follows the child's lines.
type labWatch struct {
	mu     sync.Mutex
	routes Routes
	obs    []probes.Observation
	logs   []string
}

// watchChild follows the lines of a TestLabBGPChild until ctx ends.
func watchChild(ctx context.Context, c *lab.Child) *labWatch {
	w := &labWatch{}
	go func() {
		for {
			line, err := c.Line(ctx)
			if err != nil {
				return
			}
			kind, body, _ := strings.Cut(line, " ")
			w.mu.Lock()
			switch kind {
			case "ROUTES":
				var r Routes
				if json.Unmarshal([]byte(body), &r) == nil {
					w.routes = r
				}
			case "OBS":
				var o probes.Observation
				if json.Unmarshal([]byte(body), &o) == nil {
					w.obs = append(w.obs, o)
				}
			case "LOG":
				var l string
				if json.Unmarshal([]byte(body), &l) == nil {
					w.logs = append(w.logs, l)
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// wait polls the child's routes until cond holds, failing after d.
func (w *labWatch) wait(t *testing.T, d time.Duration, what string, cond func(Routes) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		r, _ := w.get()
		if cond(r) {
			return
		}
		if time.Now().After(deadline) {
			w.dump(t)
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *labWatch) dump(t *testing.T) {
	r, obs := w.get()
	b, _ := json.MarshalIndent(r, "", " ")
	t.Logf("routes: %s", b)
	for _, o := range obs {
		t.Logf("observation: %+v", o)
	}
}

func (w *labWatch) logLines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.logs...)
}

func (w *labWatch) get() (Routes, []probes.Observation) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.routes, append([]probes.Observation(nil), w.obs...)
}

func linkPrefixOf(r Routes, link, prefix string) LinkPrefixView {
	for _, lv := range r.Links {
		if lv.Name == link {
			for _, e := range lv.Expected {
				if e.Prefix == prefix {
					return e
				}
			}
		}
	}
	return LinkPrefixView{}
}

// bgpPath returns the path of the BGP feed (not BMP) over link.
func bgpPath(r Routes, link, prefix string) *PathView {
	for _, pv := range r.Expected {
		if pv.Prefix != prefix {
			continue
		}
		for i, x := range pv.Paths {
			if x.Link == link && x.Source == lab.HostEdge1 {
				return &pv.Paths[i]
			}
		}
	}
	return nil
}

func bmpPeerOf(r Routes, addr string) (BMPPeerView, bool) {
	for _, rv := range r.BMPRouters {
		for _, bp := range rv.Peers {
			if bp.Address == addr {
				return bp, true
			}
		}
	}
	return BMPPeerView{}, false
}

// TestLabBGP: the probe in the agent host, peered with FRR's edge1 (ADD-PATH)
// and fed its BMP, sees both links' paths; cutting the primary withdraws its
// paths and moves the best link, with timestamps, and BMP reports the
// primary's DX session down with its reason. FRR confirms dxwatch sent it
// nothing.
func TestLabBGP(t *testing.T) { labBGP(t, "") }

// TestLabLeanSession is TestLabBGP with peers[].session: lean: the lean
// session learns the lab's routes from FRR as the GoBGP one does, follows
// the cut and the restore, and FRR received nothing from it.
func TestLabLeanSession(t *testing.T) { labBGP(t, SessionLean) }

func labBGP(t *testing.T, session string) {
	l := lab.ForTest(t, lab.Options{Edge: lab.EdgeOne})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := lab.StartChild(t, l, lab.HostAgent, "TestLabBGPChild", envLabSession+"="+session)
	w := watchChild(ctx, c)
	wait := func(d time.Duration, what string, cond func(Routes) bool) {
		t.Helper()
		w.wait(t, d, what, cond)
	}
	vpc := lab.VPCCIDR

	// The best link is judged once the session's initial table is in
	// (End-of-RIB, or initialSync after it came up): wait for it too.
	wait(60*time.Second, "both links' paths over BGP, both DX sessions over BMP, a best link", func(r Routes) bool {
		pb, _ := bmpPeerOf(r, lab.PrimaryAmazon)
		sb, _ := bmpPeerOf(r, lab.SecondaryAmazon)
		return len(r.Peers) == 1 && r.Peers[0].Up && bgpPath(r, lab.LinkPrimary, vpc) != nil &&
			bgpPath(r, lab.LinkSecondary, vpc) != nil && pb.Up && sb.Up && len(r.Expected) > 0 && r.Expected[0].BestLink != ""
	})
	r, _ := w.get()
	if want := (PeerConfig{Session: session}).session(); r.Peers[0].Session != want {
		t.Fatalf("the session with edge1 is held by %q, want %q", r.Peers[0].Session, want)
	}
	prim, sec := linkPrefixOf(r, lab.LinkPrimary, vpc), linkPrefixOf(r, lab.LinkSecondary, vpc)
	if !prim.Best || sec.Best {
		t.Errorf("best: primary %v, secondary %v; want primary", prim.Best, sec.Best)
	}
	// Every path, from BGP (ADD-PATH) and BMP (pre- and post-policy).
	for _, x := range r.Expected[0].Paths {
		t.Logf("%s over %s from %s: path id %d, next hop %s, AS_PATH %v (%d prepends), local pref %d",
			x.Prefix, x.Link, x.Source, x.PathID, x.NextHop, x.ASPath, x.Prepends, deref(x.LocalPref))
	}
	pp, sp := bgpPath(r, lab.LinkPrimary, vpc), bgpPath(r, lab.LinkSecondary, vpc)
	for _, x := range []*PathView{pp, sp} {
		if len(x.ASPath) == 0 || x.ASPath[0] != lab.AmazonASN {
			t.Errorf("AS_PATH %v does not start with %d", x.ASPath, lab.AmazonASN)
		}
	}
	if pp.NextHop != lab.PrimaryAmazon || sp.NextHop != lab.SecondaryAmazon || pp.PathID == sp.PathID {
		t.Errorf("next hops %s, %s, path ids %d %d", pp.NextHop, sp.NextHop, pp.PathID, sp.PathID)
	}
	if deref(pp.LocalPref) <= deref(sp.LocalPref) {
		t.Errorf("local pref primary %d, secondary %d: the lab prefers the primary", deref(pp.LocalPref), deref(sp.LocalPref))
	}
	if c := r.Expected[0]; c.BestLink != lab.LinkPrimary {
		t.Errorf("best link %q, want primary", c.BestLink)
	}

	// FRR's own view: edge1 received nothing from dxwatch.
	state, accepted := agentNeighbor(ctx, t, l)
	v4, ok := accepted["ipv4Unicast"]
	if state != "Established" || !ok || v4 != 0 {
		t.Errorf("edge1's neighbor %s: state %q, ipv4 unicast %v (present %v); want Established with 0 prefixes received", lab.AgentAddress, state, v4, ok)
	}
	t.Logf("edge1: neighbor %s %s, %d prefixes accepted from dxwatch", lab.AgentAddress, state, v4)

	// Cut the primary.
	cutAt := time.Now()
	if err := l.Cut(lab.LinkPrimary, false); err != nil {
		t.Fatal(err)
	}
	wait(60*time.Second, "the primary's paths withdrawn, the best link on the secondary, the DX session down over BMP", func(r Routes) bool {
		pb, _ := bmpPeerOf(r, lab.PrimaryAmazon)
		return !linkPrefixOf(r, lab.LinkPrimary, vpc).Present && linkPrefixOf(r, lab.LinkSecondary, vpc).Best && !pb.Up
	})
	r, obs := w.get()
	pfx := netip.MustParsePrefix(vpc)
	var withdrawn, moved, down *probes.Observation
	for i := range obs {
		o := &obs[i]
		// FRR 8.4 stamps BMP messages up to ~0.5s early (coarse clock):
		// allow 1s.
		if o.Time.Before(cutAt.Add(-time.Second)) {
			continue
		}
		switch {
		case o.Event == probes.BGPPrefix && o.Link == lab.LinkPrimary && o.Prefix == pfx && !o.Up && withdrawn == nil:
			withdrawn = o
		case o.Event == probes.BGPBestPath && o.Prefix == pfx && o.Link == lab.LinkSecondary && moved == nil:
			moved = o
		case o.Event == probes.BGPSession && o.Link == lab.LinkPrimary && !o.Up && down == nil:
			down = o
		}
	}
	for what, o := range map[string]*probes.Observation{"primary withdrawn": withdrawn, "best moved to secondary": moved, "primary DX session down (BMP)": down} {
		if o == nil {
			t.Errorf("no observation: %s", what)
			continue
		}
		if o.Time.Before(cutAt.Add(-time.Second)) {
			t.Errorf("%s at %s, before the cut at %s", what, o.Time, cutAt)
		}
		t.Logf("%s: %s after the cut (%s)", what, o.Time.Sub(cutAt).Round(time.Millisecond), o.Detail)
	}
	pb, _ := bmpPeerOf(r, lab.PrimaryAmazon)
	if pb.Reason == "" || pb.ReasonCode == 0 {
		t.Errorf("BMP peer down without a reason: %+v", pb)
	}
	t.Logf("BMP: %s down, reason code %d: %s", lab.PrimaryAmazon, pb.ReasonCode, pb.Reason)
	for _, lv := range r.Links {
		if lv.Name == lab.LinkPrimary && (lv.LastWithdrawal == nil || lv.Withdrawals == 0) {
			t.Errorf("primary link: %d withdrawals, last %v", lv.Withdrawals, lv.LastWithdrawal)
		}
	}

	if err := l.Restore(lab.LinkPrimary); err != nil {
		t.Fatal(err)
	}
	wait(90*time.Second, "the primary back and best", func(r Routes) bool {
		return linkPrefixOf(r, lab.LinkPrimary, vpc).Best
	})
}

// TestLabBGPIPv6: edge1 sends dxwatch, over their IPv4 session, the VPC's
// IPv6 prefix as well (IPv6 unicast, ADD-PATH), each path with its link's
// Amazon IPv6 address as next hop: dxwatch sees it over both links, best
// on the primary. With the primary's IPv6 session shut down on edge1 (its
// IPv4 session up), the IPv6 prefix leaves the primary and its best path
// moves to the secondary, while the IPv4 prefix stays on the primary. FRR
// confirms dxwatch sent it nothing in either family.
func TestLabBGPIPv6(t *testing.T) {
	l := lab.ForTest(t, lab.Options{Edge: lab.EdgeOne})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := lab.StartChild(t, l, lab.HostAgent, "TestLabBGPChild", envLabIPv6+"=1")
	w := watchChild(ctx, c)
	wait := func(d time.Duration, what string, cond func(Routes) bool) {
		t.Helper()
		w.wait(t, d, what, cond)
	}
	vpc, vpc6 := lab.VPCCIDR, lab.VPCCIDR6
	wait(60*time.Second, "both links' IPv4 and IPv6 paths over BGP, the primary best in both", func(r Routes) bool {
		return bgpPath(r, lab.LinkPrimary, vpc6) != nil && bgpPath(r, lab.LinkSecondary, vpc6) != nil &&
			linkPrefixOf(r, lab.LinkPrimary, vpc6).Best && linkPrefixOf(r, lab.LinkPrimary, vpc).Best
	})
	r, _ := w.get()
	pp, sp := bgpPath(r, lab.LinkPrimary, vpc6), bgpPath(r, lab.LinkSecondary, vpc6)
	t.Logf("%s: primary next hop %s path id %d, secondary next hop %s path id %d", vpc6, pp.NextHop, pp.PathID, sp.NextHop, sp.PathID)
	if pp.NextHop != lab.PrimaryAmazon6 || sp.NextHop != lab.SecondaryAmazon6 || pp.PathID == sp.PathID {
		t.Errorf("%s: next hops %s, %s, path ids %d %d; want %s and %s", vpc6, pp.NextHop, sp.NextHop, pp.PathID, sp.PathID, lab.PrimaryAmazon6, lab.SecondaryAmazon6)
	}

	// FRR's own view: edge1 received nothing from dxwatch, in either family.
	_, accepted := agentNeighbor(ctx, t, l)
	for _, af := range []string{"ipv4Unicast", "ipv6Unicast"} {
		if n, ok := accepted[af]; !ok || n != 0 {
			t.Errorf("edge1's neighbor %s: %s %d prefixes accepted (present %v); want 0", lab.AgentAddress, af, n, ok)
		}
	}

	// Shut the primary's IPv6 session down on edge1.
	bgpCmd := fmt.Sprintf("configure terminal\nrouter bgp %d\n", lab.OnPremASN)
	cutAt := time.Now()
	if _, err := l.Vtysh(ctx, lab.HostEdge1, bgpCmd+"neighbor "+lab.PrimaryAmazon6+" shutdown"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := l.Vtysh(ctx, lab.HostEdge1, bgpCmd+"no neighbor "+lab.PrimaryAmazon6+" shutdown"); err != nil {
			t.Error(err)
		}
		if err := l.WaitConverged(ctx); err != nil {
			t.Error(err)
		}
	})
	wait(60*time.Second, "the primary's IPv6 path withdrawn, the IPv6 best path on the secondary", func(r Routes) bool {
		return !linkPrefixOf(r, lab.LinkPrimary, vpc6).Present && linkPrefixOf(r, lab.LinkSecondary, vpc6).Best
	})
	r, obs := w.get()
	if !linkPrefixOf(r, lab.LinkPrimary, vpc).Best {
		t.Errorf("%s left the primary with its IPv6 session", vpc)
	}
	pfx6, pfx4 := netip.MustParsePrefix(vpc6), netip.MustParsePrefix(vpc)
	var withdrawn, moved *probes.Observation
	for i := range obs {
		o := &obs[i]
		if o.Time.Before(cutAt.Add(-time.Second)) {
			continue
		}
		switch {
		case o.Event == probes.BGPPrefix && o.Link == lab.LinkPrimary && o.Prefix == pfx6 && !o.Up && withdrawn == nil:
			withdrawn = o
		case o.Event == probes.BGPBestPath && o.Prefix == pfx6 && o.Link == lab.LinkSecondary && moved == nil:
			moved = o
		case (o.Event == probes.BGPPrefix || o.Event == probes.BGPBestPath) && o.Prefix == pfx4:
			t.Errorf("an IPv4 prefix observation after the IPv6 cut: %+v", *o)
		}
	}
	for what, o := range map[string]*probes.Observation{"IPv6 prefix gone from the primary": withdrawn, "IPv6 best path moved to the secondary": moved} {
		if o == nil {
			t.Errorf("no observation: %s", what)
			continue
		}
		t.Logf("%s: %s after the cut (%s)", what, o.Time.Sub(cutAt).Round(time.Millisecond), o.Detail)
	}

	if _, err := l.Vtysh(ctx, lab.HostEdge1, bgpCmd+"no neighbor "+lab.PrimaryAmazon6+" shutdown"); err != nil {
		t.Fatal(err)
	}
	wait(90*time.Second, "the primary's IPv6 path back and best", func(r Routes) bool {
		return linkPrefixOf(r, lab.LinkPrimary, vpc6).Best
	})
}

// agentNeighbor returns edge1's view of its session with dxwatch: its
// state and, per address family it carries, the prefixes accepted from
// dxwatch.
func agentNeighbor(ctx context.Context, t *testing.T, l *lab.Lab) (string, map[string]int) {
	t.Helper()
	out, err := l.Vtysh(ctx, lab.HostEdge1, "show bgp neighbor "+lab.AgentAddress+" json")
	if err != nil {
		t.Fatal(err)
	}
	var nb map[string]struct {
		State string `json:"bgpState"`
		AF    map[string]struct {
			Accepted int `json:"acceptedPrefixCounter"`
		} `json:"addressFamilyInfo"`
	}
	if err := json.Unmarshal([]byte(out), &nb); err != nil {
		t.Fatalf("parse %q: %v", out, err)
	}
	n := nb[lab.AgentAddress]
	accepted := map[string]int{}
	for af, a := range n.AF {
		accepted[af] = a.Accepted
	}
	return n.State, accepted
}

func deref(p *uint32) uint32 {
	if p == nil {
		return 0
	}
	return *p
}

// TestLabBMPTwoEdges: in the two-edge lab, each edge's BMP feed monitors
// its Direct Connect sessions (IPv4 and IPv6) and its ADD-PATH iBGP session
// with the other edge. Every message decodes (FRR 8 leaves the negotiated
// path IDs out of Route Monitoring: the station reads them as sent), the
// iBGP sessions' routes arrive, and nothing is logged as malformed or
// undecodable. The IPv6 sessions with AWS are then cleared from AWS's side
// until an edge's bgpd logs "bmp: missing RX/TX OPEN message" for one of
// them (FRR's Peer Up with a placeholder OPEN, about one re-establishment
// in two): the
// station takes those Peer Ups without a decode error, and says so once at
// Info.
func TestLabBMPTwoEdges(t *testing.T) {
	l := lab.ForTest(t, lab.Options{Edge: lab.EdgeTwo})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := lab.StartChild(t, l, lab.HostAgent, "TestLabBGPChild", envLabEdges+"=2")
	w := watchChild(ctx, c)
	ibgp := map[string]string{lab.HostEdge1: lab.Edge2LAN, lab.HostEdge2: lab.Edge1LAN}
	dx := map[string]string{lab.HostEdge1: lab.PrimaryAmazon, lab.HostEdge2: lab.SecondaryAmazon}
	w.wait(t, 90*time.Second, "both edges' BMP: the DX session's and the iBGP session's initial dumps, with routes", func(r Routes) bool {
		done := 0
		for _, rv := range r.BMPRouters {
			var gotDX, gotIBGP bool
			for _, bp := range rv.Peers {
				gotDX = gotDX || bp.Address == dx[rv.Name] && bp.Up && bp.EndOfRIB && bp.Updates > 0
				gotIBGP = gotIBGP || bp.Address == ibgp[rv.Name] && bp.Up && bp.EndOfRIB && bp.Updates > 0
			}
			if gotDX && gotIBGP {
				done++
			}
		}
		return done == 2
	})
	r, _ := w.get()
	for _, rv := range r.BMPRouters {
		for _, bp := range rv.Peers {
			t.Logf("bmp %s: peer %s (link %q) up %v, %d updates, End-of-RIB %v", rv.Name, bp.Address, bp.Link, bp.Up, bp.Updates, bp.EndOfRIB)
		}
	}

	// The IPv6 sessions with AWS, cleared from AWS's side until FRR sends
	// a placeholder OPEN; each round waits for both sessions to be back up
	// at the station.
	aws := map[string]string{lab.HostAWS1: lab.PrimaryCustomer6, lab.HostAWS2: lab.SecondaryCustomer6}
	dx6 := map[string]string{lab.HostEdge1: lab.PrimaryAmazon6, lab.HostEdge2: lab.SecondaryAmazon6}
	placeholders := func() int {
		n := 0
		for _, edge := range []string{lab.HostEdge1, lab.HostEdge2} {
			b, err := os.ReadFile(filepath.Join(l.Dir(), edge, "bgpd.log"))
			if err != nil {
				t.Fatalf("%s's bgpd log: %v", edge, err)
			}
			for _, dir := range []string{"RX", "TX"} {
				n += strings.Count(string(b), "bmp: missing "+dir+" OPEN message for peer "+dx6[edge]+"\n")
			}
		}
		return n
	}
	for round := 1; round == 1 || placeholders() == 0; round++ {
		if round > 12 {
			t.Fatal("FRR sent no Peer Up with a placeholder OPEN in 12 rounds of clears: the IPv6 case is not exercised")
		}
		clearedAt := time.Now()
		for host, nbr := range aws {
			if _, err := l.Vtysh(ctx, host, "clear bgp "+nbr); err != nil {
				t.Fatal(err)
			}
		}
		w.wait(t, 60*time.Second, fmt.Sprintf("round %d: both IPv6 sessions with AWS up again at the station", round), func(r Routes) bool {
			back := 0
			for _, rv := range r.BMPRouters {
				for _, bp := range rv.Peers {
					if bp.Address == dx6[rv.Name] && bp.Up && bp.Since != nil && bp.Since.After(clearedAt) {
						back++
					}
				}
			}
			return back == 2
		})
	}
	t.Logf("FRR sent %d Peer Ups of the IPv6 sessions with AWS with a placeholder OPEN", placeholders())

	r, _ = w.get()
	if r.BMPDecodeErrors != 0 {
		t.Errorf("%d BMP messages did not decode", r.BMPDecodeErrors)
	}
	said := 0
	for _, line := range w.logLines() {
		if strings.Contains(line, "bmp") {
			t.Logf("log: %s", line)
		}
		if strings.Contains(line, "malformed") || strings.Contains(line, "undecodable") {
			t.Errorf("logged: %s", line)
		}
		if strings.Contains(line, "in place of an OPEN it did not keep") {
			said++
		}
	}
	if said == 0 {
		t.Error("the placeholder OPENs were not said at Info")
	}
}
