package ping

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// childEnv marks a test binary re-run by a test in a private network
// namespace with reduced privileges; its value is the socket mode the
// child must see ("unprivileged", or "none" for no ICMP permission).
const childEnv = "DXWATCH_PING_CHILD"

// needICMP skips the test unless the process may open an ICMP socket.
func needICMP(t *testing.T) {
	t.Helper()
	c, _, _, err := listenICMP(sockKey{ttl: 64})
	if err != nil {
		t.Skipf("needs root or net.ipv4.ping_group_range (%v): run make test-lab", err)
	}
	c.Close()
}

// TestLoopback pings loopback addresses, IPv4, IPv6 and a name, over real
// ICMP sockets: every echo is answered, none lost.
func TestLoopback(t *testing.T) {
	needICMP(t)
	site := probes.Site{Targets: []probes.Target{
		{Name: "lo1", Host: "127.0.0.1"},
		{Name: "lo2", Host: "127.0.0.2"},
		{Name: "localhost", Host: "localhost"},
	}}
	if c, _, _, err := listenICMP(sockKey{v6: true, ttl: 64}); err == nil {
		c.Close()
		site.Targets = append(site.Targets, probes.Target{Name: "lo6", Host: "::1"})
	}
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.Interval = 20 * time.Millisecond
	cfg.DSCP = 46
	cfg.Size = 1000
	p, err := New("ping", cfg, probes.Deps{Site: site, Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	modes := map[bool]bool{}
	p.listen = func(k sockKey) (packetConn, bool, uint16, error) {
		c, raw, id, err := listenICMP(k)
		mu.Lock()
		modes[raw] = true
		mu.Unlock()
		return c, raw, id, err
	}
	stop := startProbe(t, p)
	waitFor(t, "5 replies from every target", func() bool {
		for _, tg := range site.Targets {
			if len(rec.of(tg.Name, probes.EchoReply)) < 5 {
				return false
			}
		}
		return true
	})
	stop()
	m := metrics(t, p)
	for _, tg := range site.Targets {
		// Loopback answers every echo, but a starved test host may read a
		// reply after its deadline: that counts as lost, and is logged.
		lost := rec.of(tg.Name, probes.EchoLost)
		sent, recv := m["dxwatch_ping_sent_total{"+tg.Name+"}"], m["dxwatch_ping_received_total{"+tg.Name+"}"]
		if inFlight := sent - recv - float64(len(lost)); recv < 5 || inFlight < 0 || inFlight > 2 || float64(len(lost)) > sent/2 {
			t.Errorf("%s: sent %v, received %v, lost %d", tg.Name, sent, recv, len(lost))
		}
		if len(lost) > 0 {
			t.Logf("%s: %d of %v echoes lost (read after their deadline on a busy host?)", tg.Name, len(lost), sent)
		}
	}
	want := os.Getenv(childEnv)
	mu.Lock()
	defer mu.Unlock()
	if want == "unprivileged" && (modes[true] || !modes[false]) {
		t.Errorf("socket modes %v, want unprivileged only", modes)
	}
	t.Logf("socket modes used (raw=true): %v", modes)
}

// TestReceiveTime reads a loopback echo reply well after it arrived: its
// time is the kernel's receive timestamp, before the read began, not the
// time of the read. (TestPrivileges runs it over an unprivileged socket
// too.)
func TestReceiveTime(t *testing.T) {
	needICMP(t)
	c, _, id, err := listenICMP(sockKey{ttl: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 8+56)
	marshalEcho(msg, false, echo{id: id, nonce: 7, token: 8, seq: 9})
	sent := time.Now()
	if err := c.WriteTo(msg, netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	for try := 0; len(got) == 0 && try < 50; try++ {
		time.Sleep(20 * time.Millisecond) // the reply waits in the socket
		read := time.Now()
		err := c.Drain(func(b []byte, src netip.Addr, at time.Time) {
			e, ok := parseEchoReply(b, false)
			if !ok || e.nonce != 7 || e.seq != 9 || src != netip.MustParseAddr("127.0.0.1") {
				t.Errorf("unexpected message from %v: %x", src, b)
				return
			}
			got = append(got, at)
			if !at.Before(read) || at.Before(sent.Add(-time.Millisecond)) {
				t.Errorf("reply time %v after the send, read began %v after it: want the arrival, between the two",
					at.Sub(sent), read.Sub(sent))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d replies, want 1", len(got))
	}
}

// TestNoPermissionChild runs only as a child of TestPrivileges, without
// CAP_NET_RAW and outside ping_group_range.
func TestNoPermissionChild(t *testing.T) {
	if os.Getenv(childEnv) != "none" {
		t.Skip("runs as a child of TestPrivileges")
	}
	p, err := New("ping", DefaultConfig(), probes.Deps{Site: probes.Site{Targets: []probes.Target{{Name: "lo", Host: "127.0.0.1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(context.Background())
	if err == nil {
		t.Fatal("Run succeeded without ICMP permission")
	}
	for _, fix := range []string{"net.ipv4.ping_group_range", "setcap cap_net_raw+ep"} {
		if !strings.Contains(err.Error(), fix) {
			t.Errorf("error does not name %q: %v", fix, err)
		}
	}
	t.Logf("Run: %v", err)
}

// TestPrivileges re-runs this test binary in a private network namespace
// (only its own loopback) with CAP_NET_RAW dropped: with ping_group_range
// open the probe works over unprivileged ICMP sockets (the kernel rewrites
// the echo identifier); with it closed, Run fails naming both fixes.
func TestPrivileges(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("already a child")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to build a network namespace: run make test-lab")
	}
	for _, tool := range []string{"unshare", "setpriv", "ip", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: run make test-lab", tool)
		}
	}
	tests := []struct {
		mode, groupRange, run string
	}{
		{"unprivileged", "0 2147483647", "^(TestLoopback|TestReceiveTime|TestProbeSource|TestProbeSourceNotOnHost)$"},
		{"none", "1 0", "^TestNoPermissionChild$"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			script := `ip link set lo up && sysctl -qw net.ipv4.ping_group_range="$1" && shift && exec setpriv --inh-caps=-all --bounding-set=-net_raw -- "$@"`
			cmd := exec.Command("unshare", "--net", "sh", "-c", script, "sh", tc.groupRange,
				os.Args[0], "-test.run", tc.run, "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+tc.mode)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS") {
				t.Fatalf("child: %v\n%s", err, out)
			}
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, ".go:") {
					t.Log(strings.TrimSpace(l))
				}
			}
		})
	}
}
