package trace

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/probes"
)

// The lab tests run the probe inside the lab's agent host: TestLabTrace
// brings the lab up and starts TestLabTraceChild there with lab.StartChild.
// The parent sends the child commands through a FIFO (one per line) and
// reads its answers from the child's standard output, one JSON document
// per line after a tag.
//
//	trace        trace i1 now, answer PATH {path, check}
//	b2b N        N traces back to back, each answered PATH
//	tools        time traceroute, mtr and scamper to i1, answer TOOL lines
//	quit         stop the probe (checked for leaks) and exit
const (
	envFIFO   = "DXTRACE_FIFO"
	envECMP   = "DXTRACE_ECMP"
	envMode   = "DXTRACE_MODE"
	labTarget = "i1"
)

// labSite is the lab as the agent's configuration describes it.
func labSite(mode string) probes.Site {
	pfx := func(a string) netip.Prefix { return netip.PrefixFrom(netip.MustParseAddr(a), 30) }
	return probes.Site{
		Name: "lab",
		Links: []probes.Link{
			{Name: lab.LinkPrimary, Role: probes.RolePrimary, AmazonAddress: pfx(lab.PrimaryAmazon), CustomerAddress: pfx(lab.PrimaryCustomer), VLAN: lab.PrimaryVLAN},
			{Name: lab.LinkSecondary, Role: probes.RoleSecondary, AmazonAddress: pfx(lab.SecondaryAmazon), CustomerAddress: pfx(lab.SecondaryCustomer), VLAN: lab.SecondaryVLAN},
		},
		Targets: []probes.Target{{Name: labTarget, Host: lab.Instance1}},
		Routing: probes.Routing{Mode: mode, Primary: lab.LinkPrimary, AmazonASN: lab.AmazonASN},
	}
}

type labReport struct {
	Path  Path               `json:"path"`
	Check probes.CheckResult `json:"check"`
}

// labPath is what the parent reads back of a labReport.
type labPath struct {
	Path struct {
		Reached  bool     `json:"reached"`
		Links    []string `json:"links"`
		Result   string   `json:"result"`
		Changed  bool     `json:"changed"`
		Changes  uint64   `json:"changes"`
		Duration float64  `json:"duration_seconds"`
		Error    string   `json:"error"`
		Hops     []struct {
			Address string `json:"address"`
		} `json:"hops"`
		Flows []struct {
			Flows []int    `json:"flows"`
			Links []string `json:"links"`
		} `json:"flows"`
	} `json:"path"`
	Check struct {
		Status probes.CheckStatus `json:"status"`
		Reason string             `json:"reason"`
	} `json:"check"`
}

func (p labPath) hops() string {
	var s []string
	for _, h := range p.Path.Hops {
		s = append(s, h.Address)
	}
	return strings.Join(s, " ")
}

func (p labPath) missing() int {
	n := 0
	for _, h := range p.Path.Hops {
		if h.Address == "*" {
			n++
		}
	}
	return n
}

// TestLabTraceChild is the probe's side of TestLabTrace, inside the agent
// host's namespace.
func TestLabTraceChild(t *testing.T) {
	if !lab.InChild() {
		t.Skip("runs inside the lab's agent host, started by TestLabTrace")
	}
	defer goleak.VerifyNone(t)
	cmds, err := os.Open(os.Getenv(envFIFO))
	if err != nil {
		t.Fatal(err)
	}
	defer cmds.Close()
	cfg := DefaultConfig()
	cfg.Interval = time.Hour // traces only at start and on command
	cfg.ECMPFlows, _ = strconv.Atoi(os.Getenv(envECMP))
	site := labSite(os.Getenv(envMode))
	obs := make(chan probes.Observation, 64)
	p, err := New("trace", cfg, probes.Deps{Site: site, Observer: probes.ObserverFunc(func(o probes.Observation) { obs <- o })})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	report := func() {
		select {
		case <-obs:
		case err := <-done:
			t.Fatalf("Run ended: %v", err)
		case <-time.After(time.Minute):
			t.Fatal("no trace within a minute")
		}
		r := labReport{Path: p.Paths()[0], Check: p.Checks()[0]}
		b, _ := json.Marshal(r)
		fmt.Printf("PATH %s\n", b)
	}
	report() // the first round's trace
	sc := bufio.NewScanner(cmds)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "trace":
			p.TraceNow(labTarget)
			report()
		case "b2b":
			n, _ := strconv.Atoi(f[1])
			for range n {
				p.TraceNow(labTarget)
				report()
			}
		case "tools":
			timeTools(t)
		case "quit":
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			return
		}
	}
	t.Errorf("command pipe closed: %v", sc.Err())
	cancel()
	<-done
}

// timeTools times the usual tools on the path the probe traces, three runs
// each, and prints "TOOL <name> <seconds>..." lines.
func timeTools(t *testing.T) {
	tools := [][]string{
		{"traceroute", "-n", lab.Instance1},
		{"mtr", "-r", "-n", "-c", "1", lab.Instance1},
		{"scamper", "-c", "trace -P udp-paris", "-i", lab.Instance1},
	}
	for _, argv := range tools {
		if _, err := exec.LookPath(argv[0]); err != nil {
			fmt.Printf("TOOL %s missing\n", argv[0])
			continue
		}
		var secs []string
		for range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			start := time.Now()
			out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
			d := time.Since(start)
			cancel()
			if err != nil {
				t.Logf("%s: %v\n%s", argv[0], err, out)
			}
			secs = append(secs, strconv.FormatFloat(d.Seconds(), 'f', 4, 64))
		}
		fmt.Printf("TOOL %s %s\n", strings.Join(argv, "_"), strings.Join(secs, " "))
	}
}

// traceChild drives a TestLabTraceChild.
type traceChild struct {
	t     *testing.T
	child *lab.Child
	cmds  *os.File
}

func startTraceChild(t *testing.T, l *lab.Lab, ecmp int, mode string) *traceChild {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "cmds")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Read-write so that opening never blocks on the child.
	cmds, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := lab.StartChild(t, l, lab.HostAgent, "TestLabTraceChild",
		envFIFO+"="+fifo, envECMP+"="+strconv.Itoa(ecmp), envMode+"="+mode)
	tc := &traceChild{t: t, child: c, cmds: cmds}
	t.Cleanup(func() {
		fmt.Fprintln(cmds, "quit")
		if err := c.Wait(); err != nil {
			t.Errorf("child: %v", err)
		}
		cmds.Close()
	})
	return tc
}

// line returns the child's next output line with the tag, skipping the
// test framework's own lines.
func (c *traceChild) line(tag string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		s, err := c.child.Line(ctx)
		if err != nil {
			c.t.Fatalf("child: waiting for %s: %v", tag, err)
		}
		if rest, ok := strings.CutPrefix(s, tag+" "); ok {
			return rest
		}
		if strings.HasPrefix(s, "---") || strings.Contains(s, "FAIL") || strings.Contains(s, ".go:") {
			c.t.Log("child: " + s)
		}
	}
}

func (c *traceChild) path() labPath {
	c.t.Helper()
	var p labPath
	if err := json.Unmarshal([]byte(c.line("PATH")), &p); err != nil {
		c.t.Fatal(err)
	}
	return p
}

func (c *traceChild) send(cmd string) {
	c.t.Helper()
	if _, err := fmt.Fprintln(c.cmds, cmd); err != nil {
		c.t.Fatal(err)
	}
}

func (c *traceChild) trace() labPath {
	c.t.Helper()
	c.send("trace")
	return c.path()
}

func converge(t *testing.T, l *lab.Lab) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
}

func wantVia(t *testing.T, p labPath, link string, status probes.CheckStatus) {
	t.Helper()
	if !p.Path.Reached || !slices.Equal(p.Path.Links, []string{link}) || p.Check.Status != status {
		t.Fatalf("path %s: reached %v links %v (%s), check %s %q; want via %s, check %s",
			p.hops(), p.Path.Reached, p.Path.Links, p.Path.Error, p.Check.Status, p.Check.Reason, link, status)
	}
}

func TestLabTrace(t *testing.T) {
	l := lab.ForTest(t, lab.Options{Edge: lab.EdgeOne})
	converge(t, l)

	t.Run("failover", func(t *testing.T) {
		c := startTraceChild(t, l, 0, probes.ModeActivePassive)
		p := c.path()
		wantVia(t, p, lab.LinkPrimary, probes.Pass)
		t.Logf("first trace: %s in %.1f ms", p.hops(), p.Path.Duration*1e3)
		changes := p.Path.Changes
		for _, silent := range []bool{false, true} {
			if err := l.Cut(lab.LinkPrimary, silent); err != nil {
				t.Fatal(err)
			}
			converge(t, l) // BGP (with BFD for the silent cut) has moved traffic
			p = c.trace()
			wantVia(t, p, lab.LinkSecondary, probes.Warn)
			if !p.Path.Changed || p.Path.Changes != changes+1 {
				t.Errorf("cut primary (silent %v): changed %v, changes %d, want one more than %d", silent, p.Path.Changed, p.Path.Changes, changes)
			}
			t.Logf("cut primary (silent %v): %s, changes %d", silent, p.hops(), p.Path.Changes)
			changes = p.Path.Changes
			if err := l.Restore(lab.LinkPrimary); err != nil {
				t.Fatal(err)
			}
			converge(t, l)
			p = c.trace()
			wantVia(t, p, lab.LinkPrimary, probes.Pass)
			if !p.Path.Changed || p.Path.Changes != changes+1 {
				t.Errorf("restore primary: changed %v, changes %d, want one more than %d", p.Path.Changed, p.Path.Changes, changes)
			}
			changes = p.Path.Changes
		}
	})

	t.Run("speed", func(t *testing.T) {
		c := startTraceChild(t, l, 0, probes.ModeActivePassive)
		first := c.path()
		c.send("tools")
		for _, tool := range []string{"traceroute", "mtr", "scamper"} {
			t.Logf("%s: %s s", tool, c.line("TOOL"))
		}
		c.send("b2b 10")
		var ms []float64
		for range 10 {
			p := c.path()
			wantVia(t, p, lab.LinkPrimary, probes.Pass)
			ms = append(ms, p.Path.Duration*1e3)
		}
		t.Logf("dxwatch trace: first %.2f ms; 10 back to back (ms): %s", first.Path.Duration*1e3, fmtMs(ms))
	})

	t.Run("back to back with router rate limits", func(t *testing.T) {
		// The lab turns ICMP rate limiting off; turn Linux's default
		// (burst 6, then 1/s) on in every host that answers a trace.
		hosts := []string{lab.HostEdge1, lab.HostAWS1, lab.HostAWS2, lab.HostVPC, lab.HostInst1}
		setLimit := func(ms string) {
			for _, h := range hosts {
				if out, err := l.Exec(context.Background(), h, "sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit="+ms); err != nil {
					t.Fatalf("%s: %v %s", h, err, out)
				}
			}
		}
		setLimit("1000")
		t.Cleanup(func() { setLimit("0") })
		c := startTraceChild(t, l, 0, probes.ModeActivePassive)
		first := c.path()
		c.send("b2b 10")
		var ms []float64
		for i := range 10 {
			p := c.path()
			if p.missing() > 0 || !p.Path.Reached {
				t.Errorf("trace %d: false loss: %s (reached %v)", i+1, p.hops(), p.Path.Reached)
			}
			ms = append(ms, p.Path.Duration*1e3)
		}
		t.Logf("rate-limited routers: first %s, then 10 back to back (ms): %s", first.hops(), fmtMs(ms))
	})

	t.Run("active_active ecmp", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.SetMode(ctx, probes.ModeActiveActive); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := l.SetMode(ctx, probes.ModeActivePassive); err != nil {
				t.Error(err)
			}
		})
		converge(t, l)
		c := startTraceChild(t, l, 16, probes.ModeActiveActive)
		p := c.path()
		// MDA stops after 6 flows on one path: a 2 in 64 chance with two
		// equal next hops. Three tries make a miss a 1 in 30000 event.
		for try := 1; try < 3 && len(p.Path.Links) < 2; try++ {
			t.Logf("try %d saw only %v over %d flows; again", try, p.Path.Links, len(p.Path.Flows))
			p = c.trace()
		}
		if !slices.Equal(p.Path.Links, []string{lab.LinkPrimary, lab.LinkSecondary}) || p.Path.Result != "both" || p.Check.Status != probes.Pass {
			t.Fatalf("ecmp: links %v result %s check %s %q", p.Path.Links, p.Path.Result, p.Check.Status, p.Check.Reason)
		}
		var flows int
		for _, f := range p.Path.Flows {
			flows += len(f.Flows)
			t.Logf("flows %v: %v", f.Flows, f.Links)
		}
		t.Logf("ecmp discovery: %d distinct paths over %d flows in %.0f ms", len(p.Path.Flows), flows, p.Path.Duration*1e3)
	})
}

func fmtMs(ms []float64) string {
	s := make([]string, len(ms))
	for i, v := range ms {
		s[i] = strconv.FormatFloat(v, 'f', 2, 64)
	}
	sorted := slices.Clone(ms)
	sort.Float64s(sorted)
	return strings.Join(s, " ") + fmt.Sprintf(" (median %.2f)", sorted[len(sorted)/2])
}
