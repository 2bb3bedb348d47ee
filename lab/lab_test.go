package lab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/golden"
)

func TestNewPrefix(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		p := newPrefix()
		if !validPrefix(p) {
			t.Fatalf("newPrefix() = %q, not dxl and four hex digits", p)
		}
		seen[p] = true
	}
	if len(seen) < 150 {
		t.Errorf("200 prefixes, only %d distinct", len(seen))
	}
	if got, want := namespace("dxl1a2b", HostAgent), "dxl1a2b-agent"; got != want {
		t.Errorf("namespace = %q, want %q", got, want)
	}
}

func TestValidPrefix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"dxl1a2b", true},
		{"dxlffff", true},
		{"dxl1a2", false},
		{"dxl1a2bc", false},
		{"dxlzzzz", false},
		{"abc1a2b", false},
		{"", false},
	} {
		if got := validPrefix(tc.in); got != tc.want {
			t.Errorf("validPrefix(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestNewTopologyRejectsUnknownEdge(t *testing.T) {
	if _, err := newTopology(Options{Edge: "three"}); err == nil || !strings.Contains(err.Error(), `"three"`) {
		t.Errorf("newTopology(three) error = %v, want one naming the variant", err)
	}
}

// TestRender checks every router's configuration and every host's setup
// against testdata/<variant>.golden (go test -run TestRender -update).
func TestRender(t *testing.T) {
	for _, tc := range []struct {
		name              string
		edge              string
		noBFD, md5, probe bool
		mode              string
	}{
		{name: "one", edge: EdgeOne, mode: ModeActivePassive},
		{name: "two", edge: EdgeTwo, mode: ModeActivePassive},
		{name: "two-nobfd-md5-active-active", edge: EdgeTwo, noBFD: true, md5: true, mode: ModeActiveActive},
		{name: "one-probe-sources", edge: EdgeOne, probe: true, mode: ModeActivePassive},
		{name: "two-probe-sources", edge: EdgeTwo, probe: true, mode: ModeActivePassive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo, err := newTopology(Options{Edge: tc.edge, NoBFD: tc.noBFD, AgentMD5: tc.md5, ProbeSources: tc.probe})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			for _, v := range topo.Veths {
				fmt.Fprintf(&buf, "### veth %s:%s <-> %s:%s\n", v.A, v.AIf, v.B, v.BIf)
			}
			for _, h := range topo.Hosts {
				fmt.Fprintf(&buf, "### %s setup\n%s\n", h.Name, strings.Join(h.Setup, "\n"))
				if !h.Router {
					continue
				}
				cfg, err := topo.renderRouter(h.Name, tc.mode)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&buf, "### %s zebra.conf\n%s### %s bgpd.conf\n%s", h.Name, cfg.Zebra, h.Name, cfg.BGP)
				if cfg.BFD != "" {
					fmt.Fprintf(&buf, "### %s bfdd.conf\n%s", h.Name, cfg.BFD)
				}
				if (cfg.BFD == "") != (tc.noBFD || h.Name == HostVPC) {
					t.Errorf("%s: bfdd.conf rendered=%v with NoBFD=%v", h.Name, cfg.BFD != "", tc.noBFD)
				}
			}
			sp, err := topo.renderSpeaker()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&buf, "### speaker bgpd.conf\n%s", sp)
			golden.Check(t, filepath.Join("testdata", tc.name+".golden"), buf.Bytes())
		})
	}
}

func TestModeCommands(t *testing.T) {
	l := &Lab{st: state{}}
	aa := strings.Join(l.modeCommands(ModeActiveActive), "\n")
	ap := strings.Join(l.modeCommands(ModeActivePassive), "\n")
	for _, want := range []string{"no set local-preference", "no set as-path prepend", "clear bgp ipv4 unicast * soft"} {
		if !strings.Contains(aa, want) {
			t.Errorf("active_active commands lack %q:\n%s", want, aa)
		}
	}
	for _, want := range []string{"set local-preference 200", "set as-path prepend 65000 65000"} {
		if !strings.Contains(ap, want) {
			t.Errorf("active_passive commands lack %q:\n%s", want, ap)
		}
	}
	// FaultNoPrepend keeps the local preference and drops the prepend.
	l.st.Faults = []string{FaultNoPrepend}
	np := strings.Join(l.modeCommands(ModeActivePassive), "\n")
	for _, want := range []string{"set local-preference 200", "no set as-path prepend"} {
		if !strings.Contains(np, want) {
			t.Errorf("active_passive commands with %s lack %q:\n%s", FaultNoPrepend, want, np)
		}
	}
}

func TestExpectedNextHops(t *testing.T) {
	one, _ := newTopology(Options{Edge: EdgeOne})
	two, _ := newTopology(Options{Edge: EdgeTwo})
	pri := map[string]bool{LinkPrimary: true}
	sec := map[string]bool{LinkSecondary: true}
	both := map[string]bool{LinkPrimary: true, LinkSecondary: true}
	for _, tc := range []struct {
		name string
		topo *topology
		host string
		mode string
		down map[string]bool
		want []string
	}{
		{"one ap", one, HostEdge1, ModeActivePassive, nil, []string{PrimaryAmazon}},
		{"one ap primary down", one, HostEdge1, ModeActivePassive, pri, []string{SecondaryAmazon}},
		{"one ap secondary down", one, HostEdge1, ModeActivePassive, sec, []string{PrimaryAmazon}},
		{"one ap both down", one, HostEdge1, ModeActivePassive, both, nil},
		{"one aa", one, HostEdge1, ModeActiveActive, nil, []string{PrimaryAmazon, SecondaryAmazon}},
		{"one aa primary down", one, HostEdge1, ModeActiveActive, pri, []string{SecondaryAmazon}},
		{"vpc ap", one, HostVPC, ModeActivePassive, nil, []string{AWS1Transit}},
		{"vpc ap primary down", one, HostVPC, ModeActivePassive, pri, []string{AWS2Transit}},
		{"vpc aa", one, HostVPC, ModeActiveActive, nil, []string{AWS1Transit, AWS2Transit}},
		{"aws1 ap", one, HostAWS1, ModeActivePassive, nil, []string{PrimaryCustomer}},
		{"aws2 ap", one, HostAWS2, ModeActivePassive, nil, []string{AWS1Transit}},
		{"aws1 ap primary down", one, HostAWS1, ModeActivePassive, pri, []string{AWS2Transit}},
		{"aws2 ap primary down", one, HostAWS2, ModeActivePassive, pri, []string{SecondaryCustomer}},
		{"aws2 ap secondary down", one, HostAWS2, ModeActivePassive, sec, []string{AWS1Transit}},
		{"aws2 ap both down", one, HostAWS2, ModeActivePassive, both, nil},
		{"aws1 aa", two, HostAWS1, ModeActiveActive, nil, []string{PrimaryCustomer}},
		{"aws2 aa", two, HostAWS2, ModeActiveActive, nil, []string{SecondaryCustomer}},
		{"aws2 aa secondary down", two, HostAWS2, ModeActiveActive, sec, []string{AWS1Transit}},
		{"two ap edge2", two, HostEdge2, ModeActivePassive, nil, []string{PrimaryAmazon}},
		{"two ap edge1 primary down", two, HostEdge1, ModeActivePassive, pri, []string{SecondaryAmazon}},
		{"two aa edge1", two, HostEdge1, ModeActiveActive, nil, []string{PrimaryAmazon}},
		{"two aa edge2", two, HostEdge2, ModeActiveActive, nil, []string{SecondaryAmazon}},
		{"two aa edge2 secondary down", two, HostEdge2, ModeActiveActive, sec, []string{PrimaryAmazon}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.topo.expectedNextHops(tc.host, tc.mode, tc.down)
			if !slices.Equal(got, tc.want) {
				t.Errorf("expectedNextHops(%s, %s, %v) = %v, want %v", tc.host, tc.mode, tc.down, got, tc.want)
			}
		})
	}
}

func TestLinkOf(t *testing.T) {
	for addr, want := range map[string]string{
		PrimaryAmazon: LinkPrimary, PrimaryCustomer: LinkPrimary,
		SecondaryAmazon: LinkSecondary, SecondaryCustomer: LinkSecondary,
		Edge1LAN: "",
	} {
		if got := LinkOf(addr); got != want {
			t.Errorf("LinkOf(%s) = %q, want %q", addr, got, want)
		}
	}
}

// TestLabChild shows StartChild: the parent re-runs TestLabChildProbe
// inside the agent host and reads what it prints.
func TestLabChild(t *testing.T) {
	l := ForTest(t, Options{Edge: EdgeOne})
	c := StartChild(t, l, HostAgent, "TestLabChildProbe", "DXLAB_CHILD_TARGET="+Instance2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		line, err := c.Line(ctx)
		if err != nil {
			t.Fatalf("child ended without a result: %v", err)
		}
		if r, ok := strings.CutPrefix(line, "result "); ok {
			if r != "reached "+Instance2 {
				t.Fatalf("child says %q", r)
			}
			break
		}
	}
	if err := c.Wait(); err != nil {
		t.Errorf("child: %v", err)
	}

	// Listen and DialContext: a TCP exchange from the agent host to i1,
	// across the lab, with both sockets inside lab namespaces.
	ln, err := l.Listen(HostInst1, "tcp", net.JoinHostPort(Instance1, "8080"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		io.Copy(s, s)
	}()
	conn, err := l.DialContext(HostAgent)(ctx, "tcp", net.JoinHostPort(Instance1, "8080"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || got != "hello\n" {
		t.Fatalf("echo from i1: %q, %v", got, err)
	}
	if local := conn.LocalAddr().(*net.TCPAddr).IP.String(); local != AgentAddress {
		t.Errorf("dialed from %s, want the agent's address %s", local, AgentAddress)
	}
}

// TestLabChildProbe runs only as TestLabChild's child, inside the agent
// host: it checks the lab state is visible and pings an instance.
func TestLabChildProbe(t *testing.T) {
	if !InChild() {
		t.Skip("runs only inside a lab child (TestLabChild)")
	}
	l, err := FromChild()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Alive(); err != nil {
		t.Fatal(err)
	}
	target := os.Getenv("DXLAB_CHILD_TARGET")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Already inside the agent's namespace: run fping directly.
	out, err := execOutput(ctx, "fping", "-c", "2", "-q", target)
	if err != nil {
		fmt.Printf("result failed %v: %s\n", err, out)
		return
	}
	fmt.Printf("result reached %s\n", target)
}

func execOutput(ctx context.Context, argv ...string) ([]byte, error) {
	return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
}
