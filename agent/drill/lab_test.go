package drill_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/drill"
	"github.com/dxwatch/dxwatch/agent/history"
	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	return filepath.Dir(filepath.Dir(wd))
}

// build builds the command in the repository's directory pkg (./cmd/dxwatch)
// and returns the binary's path.
func build(t *testing.T, pkg string) string {
	t.Helper()
	lab.Need(t) // before the build: a skipped lab test costs nothing
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	c := exec.Command("go", "build", "-o", bin, pkg)
	c.Dir = repoRoot(t)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

func buildDxwatch(t *testing.T) string { return build(t, "./cmd/dxwatch") }

// dxlabCmd is the shell command that runs dxlab's command on link of l.
func dxlabCmd(dxlab string, l *lab.Lab, command, link string) string {
	return fmt.Sprintf("%s %s %s --dir %s --lab %s", dxlab, command, link, filepath.Dir(l.Dir()), filepath.Base(l.Dir()))
}

// labConfig writes the lab's dxwatch configuration with extra appended
// and returns its path. The session with edge1 offers graceful restart:
// FRR 8 sends End-of-RIB only then, and the drill waits for it.
func labConfig(t *testing.T, l *lab.Lab, extra string) string {
	t.Helper()
	return labConfigPeer(t, l, "      graceful_restart: true\n", extra)
}

// labConfigPeer writes the lab's dxwatch configuration with peer (YAML
// lines) added to edge1's peer entry and extra appended, and returns its
// path.
func labConfigPeer(t *testing.T, l *lab.Lab, peerLines, extra string) string {
	t.Helper()
	cfg := labsite.Config(nil)
	peer := "      address: " + lab.Edge1LAN + "\n"
	if !strings.Contains(cfg, peer) {
		t.Fatalf("lab/dxwatch.yaml has no peer %q", peer)
	}
	cfg = strings.Replace(cfg, peer, peer+peerLines, 1)
	f := filepath.Join(l.Dir(), "dxwatch-drill.yaml")
	if err := os.WriteFile(f, []byte(cfg+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestLabDrill runs `dxwatch drill --method exec` in the lab's agent host,
// cutting and restoring the primary with `dxlab cut/restore primary`, while
// fping -l -D -p 10 runs beside it toward Instance1, and compares the
// outage the drill measured with that of fping's longest run of lost
// echoes.
func TestLabDrill(t *testing.T) {
	l := lab.ForTest(t, lab.Options{})
	bin, dxlab := buildDxwatch(t), build(t, "./lab/cmd/dxlab")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	const pingInterval = 20 * time.Millisecond
	fping := l.Command(ctx, lab.HostAgent, "fping", "-l", "-D", "-p", "10", lab.Instance1)
	var fout, ferr bytes.Buffer
	fping.Stdout, fping.Stderr = &fout, &ferr
	if err := fping.Start(); err != nil {
		t.Fatalf("fping: %v", err)
	}
	t.Cleanup(func() { _ = fping.Process.Kill(); _ = fping.Wait() })

	stateDir := t.TempDir()
	d := l.Command(ctx, lab.HostAgent, bin, "drill", "--config", labConfig(t, l, ""), "--storage.path", stateDir,
		"--method", "exec", "--cut", dxlabCmd(dxlab, l, "cut", lab.LinkPrimary), "--restore", dxlabCmd(dxlab, l, "restore", lab.LinkPrimary),
		"--yes", "--quiet", "1s", "--hold", "5s", "--timeout", "1m", "--warmup", "40s",
		"--ping-interval", pingInterval.String(), "--output", "json")
	var dout, derr bytes.Buffer
	d.Stdout, d.Stderr = &dout, &derr
	err := d.Run()
	_ = fping.Process.Signal(os.Interrupt)
	_ = fping.Wait()
	t.Logf("drill progress:\n%s", derr.String())
	if err != nil {
		t.Fatalf("drill: %v\n%s", err, dout.String())
	}
	recs, _, err := history.ReadLedger(stateDir, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil || len(recs) != 2 || recs[0].Kind != history.RecDrillStart || recs[1].Kind != history.RecDrillEnd || recs[0].ID != recs[1].ID {
		t.Errorf("drill window in the ledger: %+v (%v), want its start and end", recs, err)
	}
	var rep drill.Report
	if err := json.Unmarshal(dout.Bytes(), &rep); err != nil {
		t.Fatalf("drill output: %v\n%s", err, dout.String())
	}
	f := rep.Failover
	if f == nil || f.Event == nil || f.OutageSeconds == nil {
		t.Fatalf("no measured failover: %s", dout.String())
	}
	if rep.Method != "exec" || !strings.Contains(f.ActionDetail, " cut "+lab.LinkPrimary) {
		t.Errorf("method %q, failover action %q: want exec running dxlab cut %s", rep.Method, f.ActionDetail, lab.LinkPrimary)
	}
	var drillI1 *float64
	for _, tg := range f.Targets {
		if tg.Target == "i1" {
			v := time.Duration(tg.Outage).Seconds()
			drillI1 = &v
		}
	}
	if drillI1 == nil {
		t.Fatalf("no outage for i1: %+v", f.Targets)
	}
	fp, err := lab.ParseFping(&fout)
	if err != nil {
		t.Fatal(err)
	}
	gap := fp.Longest().Outage()
	t.Logf("failover: detected after %.3fs, drill outage of i1 %.3fs, fping's longest loss run %s; fping: %s",
		*f.DetectSeconds, *drillI1, gap.Round(time.Millisecond), fp)
	if fp.Replies < 100 {
		t.Fatalf("fping gave %d replies: %s", fp.Replies, ferr.String())
	}
	// Each within its own interval of the real interruption: the drill's
	// probe interval plus fping's period apart at most.
	if diff := math.Abs(*drillI1 - gap.Seconds()); diff > (pingInterval + fp.Period()).Seconds() {
		t.Errorf("drill outage %.3fs and fping's %.3fs differ by %.3fs, more than one probe interval (%s) + fping's period (%s)",
			*drillI1, gap.Seconds(), diff, pingInterval, fp.Period().Round(time.Microsecond))
	}
	if rep.Failback == nil || rep.Failback.Event == nil {
		t.Errorf("no failback measured")
	}
}

// runDrill runs the command line (dxwatch drill ... --output json) in the
// lab's agent host and returns its report, its exit code and its stderr.
func runDrill(ctx context.Context, t *testing.T, l *lab.Lab, env []string, cmdline ...string) (drill.Report, int, string) {
	t.Helper()
	stdout, code, stderr := lab.Run(ctx, t, l, lab.HostAgent, env, cmdline...)
	var rep drill.Report
	if err := json.Unmarshal(stdout, &rep); err != nil {
		t.Fatalf("drill output: %v\n%s\n%s", err, stdout, stderr)
	}
	return rep, code, stderr
}

// TestLabDrillAWS runs `dxwatch drill --method aws` in the lab's agent host
// against the fake AWS endpoint served there. With the agent's BGP session
// to the edge held down (the edge drops its TCP port 179 from the agent),
// the drill refuses, naming the session and why, and never calls
// StartBgpFailoverTest (the fake's request log); --dry-run reports the same
// pre-checks. With the session up, the pre-checks pass and the drill
// measures the failover and the failback of the failover test, which the
// fake carries out on the lab as AWS does (modelFailoverTest).
func TestLabDrillAWS(t *testing.T) {
	l := lab.ForTest(t, lab.Options{})
	bin := buildDxwatch(t)

	srv, env := awstest.StartInLab(t, l)
	cfgFile := labConfig(t, l, "aws:\n  regions: [us-east-1]\n  dx_gateway_id: "+awstest.LabDXGateway+"\n")

	type result struct {
		rep         drill.Report
		code        int
		stderr      string
		start, stop int
	}
	run := func(t *testing.T, warmup string, args ...string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := awstest.SyncFromLab(ctx, l, srv); err != nil {
			t.Fatal(err)
		}
		srv.ResetCalls()
		var r result
		r.rep, r.code, r.stderr = runDrill(ctx, t, l, env, append([]string{bin, "drill", "--config", cfgFile, "--storage.path", t.TempDir(), "--method", "aws",
			"--quiet", "1s", "--hold", "2s", "--timeout", "1m", "--warmup", warmup, "--output", "json"}, args...)...)
		calls := srv.Calls()
		r.start, r.stop = calls["directconnect:StartBgpFailoverTest"], calls["directconnect:StopBgpFailoverTest"]
		t.Logf("drill %v: exit %d, StartBgpFailoverTest %d, StopBgpFailoverTest %d\n%s", args, r.code, r.start, r.stop, r.stderr)
		return r
	}
	checks := func(r result) map[string]drill.PreCheck {
		m := map[string]drill.PreCheck{}
		for _, c := range r.rep.PreChecks {
			m[c.Name] = c
		}
		return m
	}

	// Hold the agent's session with edge1 down: edge1 drops the agent's
	// connections to its BGP port (the lab's edges are passive toward the
	// agent, so no session can form).
	nft := func(script string) {
		t.Helper()
		cmd := exec.Command("ip", "netns", "exec", l.Namespace(lab.HostEdge1), "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nft in edge1: %v: %s", err, out)
		}
	}
	nft("add table inet dxdrilltest\n" +
		"add chain inet dxdrilltest input { type filter hook input priority 0; policy accept; }\n" +
		"add rule inet dxdrilltest input ip saddr " + lab.AgentAddress + " tcp dport 179 drop\n")
	release := "add table inet dxdrilltest\ndelete table inet dxdrilltest\n" // whether or not it is there
	t.Cleanup(func() { nft(release) })

	var held map[string]drill.PreCheck
	for _, args := range [][]string{{"--yes"}, {"--dry-run"}} {
		r := run(t, "15s", args...)
		if r.code != 1 || !r.rep.Refused {
			t.Fatalf("drill %v with the BGP session held down: exit %d, refused %v, want a refusal", args, r.code, r.rep.Refused)
		}
		if r.start != 0 {
			t.Errorf("drill %v with the BGP session held down called StartBgpFailoverTest %d times", args, r.start)
		}
		cs := checks(r)
		sp := cs[drill.CheckSecondaryPrefixes]
		if sp.Status != probes.Fail || !sp.Refuses || !strings.Contains(sp.Reason, "bgp edge1 (session ") {
			t.Errorf("%s: %s %q, want a refusal naming the session with edge1 and its state", sp.Name, sp.Status, sp.Reason)
		}
		if !strings.Contains(r.stderr, "waiting for: bgp edge1 (session ") {
			t.Errorf("the warm-up does not say it waits for the session with edge1:\n%s", r.stderr)
		}
		if held == nil {
			held = cs
			continue
		}
		// --dry-run reports the same pre-checks.
		for name, c := range held {
			d := cs[name]
			if name != drill.CheckConfirmed && (d.Status != c.Status || d.Refuses != c.Refuses) {
				t.Errorf("%s: --dry-run %s (refuses %v), --yes %s (refuses %v)", name, d.Status, d.Refuses, c.Status, c.Refuses)
			}
		}
		if len(cs) != len(held) {
			t.Errorf("--dry-run ran %d pre-checks, --yes %d", len(cs), len(held))
		}
	}

	nft(release)

	r := run(t, "60s", "--dry-run")
	if r.code != 0 || r.rep.Refused || r.start != 0 {
		t.Fatalf("dry run with the session up: exit %d, refused %v, StartBgpFailoverTest %d", r.code, r.rep.Refused, r.start)
	}
	for _, c := range r.rep.PreChecks {
		if c.Status != probes.Pass {
			t.Errorf("dry run with the session up: %s %s %q", c.Name, c.Status, c.Reason)
		}
	}
	for _, c := range r.rep.PreChecks {
		t.Logf("%s %s: %s; evidence: %s", c.Status, c.Name, c.Reason, strings.Join(c.Evidence, ", "))
	}
	// --family ipv6 on the dual-stack lab: both links have an IPv6
	// peering, the pre-check says what the drill fails over; the lab's
	// expected prefixes are IPv4 only, so nothing confirms that the
	// secondary carries the IPv6 VPC prefix: refused, unless accepted.
	r6 := run(t, "60s", "--dry-run", "--family", "ipv6")
	if sp := checks(r6)[drill.CheckSecondaryPrefixes]; r6.code != 1 || !r6.rep.Refused || !sp.Refuses || !strings.Contains(sp.Reason, "no IPv6 expected prefix configured (--family ipv6)") {
		t.Errorf("dry run --family ipv6: exit %d, refused %v, %s %q: want refused for want of an IPv6 expected prefix", r6.code, r6.rep.Refused, sp.Name, sp.Reason)
	}
	if r6 := run(t, "60s", "--dry-run", "--family", "ipv6", "--allow-unconfirmed-secondary"); r6.code != 0 || r6.rep.Refused || r6.rep.Family != "ipv6" ||
		!strings.Contains(checks(r6)[drill.CheckFamily].Reason, "only the IPv6 peering of the primary primary is failed over") {
		t.Errorf("dry run --family ipv6 --allow-unconfirmed-secondary: exit %d, refused %v, family %q, %s: %q", r6.code, r6.rep.Refused, r6.rep.Family, drill.CheckFamily, checks(r6)[drill.CheckFamily].Reason)
	}
	ev := strings.Join(checks(r)[drill.CheckSecondaryPrefixes].Evidence, ", ")
	if !strings.Contains(ev, "bgp edge1 (established ") || !strings.Contains(ev, "End-of-RIB") {
		t.Errorf("%s evidence %q does not name the session and its End-of-RIB", drill.CheckSecondaryPrefixes, ev)
	}

	modelFailoverTest(t, l, srv)
	r = run(t, "60s", "--yes")
	if r.rep.Refused || r.start != 1 || r.stop != 1 {
		t.Fatalf("drill with the session up: refused %v, StartBgpFailoverTest %d, StopBgpFailoverTest %d: want it to start and stop the test", r.rep.Refused, r.start, r.stop)
	}
	if r.rep.Failover == nil || !strings.Contains(r.rep.Failover.ActionDetail, "StartBgpFailoverTest "+awstest.LabVIF1+", BGP peers "+awstest.LabPeer1+", "+awstest.LabPeer1v6) {
		t.Errorf("failover phase %+v", r.rep.Failover)
	}
	if r.code != 0 || r.rep.Failover.Event == nil || r.rep.Failback == nil || r.rep.Failback.Event == nil {
		t.Errorf("drill with the session up: exit %d, aborted %q, want the failover and the failback measured", r.code, r.rep.Aborted)
	}
}

// modelFailoverTest makes the fake's failover test act on the lab as AWS's
// does on its routers: from StartBgpFailoverTest until
// StopBgpFailoverTest, the sessions of the primary VIF's BGP peers the test
// holds down (its bgpPeers: both families, or one) are down (aws1 shuts
// its neighbor of each, the edge, down, with a Cease as AWS's router
// sends).
func modelFailoverTest(t *testing.T, l *lab.Lab, srv *awstest.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	neighbors := map[string]string{awstest.LabPeer1: lab.PrimaryCustomer, awstest.LabPeer1v6: lab.PrimaryCustomer6}
	neighbor := func(cmd string, peers []string) {
		vctx, vcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer vcancel()
		for _, p := range peers {
			if _, err := l.Vtysh(vctx, lab.HostAWS1, fmt.Sprintf("configure terminal\nrouter bgp %d\n%s neighbor %s shutdown\nend", lab.AmazonASN, cmd, neighbors[p])); err != nil {
				t.Errorf("model the failover test: %v", err)
			}
		}
	}
	// The peers of the primary VIF's running test, as the fake records them.
	testPeers := func() (peers []string) {
		srv.Update(func(sc *awstest.Scenario) {
			for _, th := range sc.TestHistory {
				if th.VirtualInterfaceID == awstest.LabVIF1 && th.Status == "in_progress" {
					peers = th.BgpPeers
				}
			}
		})
		return peers
	}
	go func() {
		defer close(done)
		started, stopped := 0, 0
		var down []string
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				neighbor("no", down)
				return
			case <-tick.C:
			}
			c := srv.Calls()
			if n := c["directconnect:StartBgpFailoverTest"]; n > started {
				started = n
				down = testPeers()
				neighbor("", down)
			}
			if n := c["directconnect:StopBgpFailoverTest"]; n > stopped {
				stopped = n
				neighbor("no", down)
				down = nil
			}
		}
	}()
}

// TestLabDrillSettle runs the drill with the agent's session to edge1
// without graceful restart: FRR sends no End-of-RIB then, and the settle
// rule decides readiness. While edge1 keeps sending UPDATEs (a new network
// every 300ms, as a table still arriving), the session is never ready and
// the drill refuses, saying so; once they stop, the drill waits out the
// settle time, then runs, and the evidence names the settle rule. --quiet
// 0s is taken as typed (the drill watches less than the 30m default).
func TestLabDrillSettle(t *testing.T) {
	l := lab.ForTest(t, lab.Options{})
	bin, dxlab := buildDxwatch(t), build(t, "./lab/cmd/dxlab")
	cfgFile := labConfigPeer(t, l, "      settle_time: 3s\n", "")
	if cfg, _ := os.ReadFile(cfgFile); strings.Contains(string(cfg), "graceful_restart") {
		t.Fatalf("lab/dxwatch.yaml sets graceful_restart: this test needs a session without End-of-RIB")
	}
	run := func(t *testing.T, warmup string, args ...string) (drill.Report, int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		rep, code, stderr := runDrill(ctx, t, l, nil, append([]string{bin, "drill", "--config", cfgFile, "--storage.path", t.TempDir(), "--method", "exec",
			"--cut", dxlabCmd(dxlab, l, "cut", lab.LinkPrimary), "--restore", dxlabCmd(dxlab, l, "restore", lab.LinkPrimary),
			"--quiet", "0s", "--hold", "2s", "--timeout", "1m", "--warmup", warmup, "--output", "json"}, args...)...)
		t.Logf("drill %v: exit %d\n%s", args, code, stderr)
		for _, c := range rep.PreChecks {
			t.Logf("%s %s: %s; evidence: %s", c.Status, c.Name, c.Reason, strings.Join(c.Evidence, ", "))
		}
		return rep, code, stderr
	}
	check := func(rep drill.Report, name string) drill.PreCheck {
		for _, c := range rep.PreChecks {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no pre-check %s in %+v", name, rep.PreChecks)
		return drill.PreCheck{}
	}

	t.Run("table still arriving: refused", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(300 * time.Millisecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				// A new network each time: an UPDATE to the agent.
				vctx, vcancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := l.Vtysh(vctx, lab.HostEdge1, fmt.Sprintf("configure terminal\nrouter bgp %d\naddress-family ipv4 unicast\nnetwork 10.250.%d.%d/32\nend", lab.OnPremASN, n/256, n%256))
				vcancel()
				if err != nil && ctx.Err() == nil {
					t.Errorf("edge1: add a network: %v", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
		rep, code, _ := run(t, "15s", "--yes")
		cancel()
		<-done
		if code != 1 || !rep.Refused || rep.Failover != nil {
			t.Fatalf("drill with edge1's table still arriving: exit %d, refused %v, failover %+v: want a refusal", code, rep.Refused, rep.Failover)
		}
		sp := check(rep, drill.CheckSecondaryPrefixes)
		if !sp.Refuses || !strings.Contains(sp.Reason, "bgp edge1 (established: initial table may still be arriving") {
			t.Errorf("%s: %s %q, want a refusal naming edge1's table as still arriving", sp.Name, sp.Status, sp.Reason)
		}
		if q := check(rep, drill.CheckQuiet); q.Refuses {
			t.Errorf("--quiet 0s: %s refuses: %q", q.Name, q.Reason)
		}
	})

	t.Run("settled: waits, then runs", func(t *testing.T) {
		rep, code, stderr := run(t, "60s", "--yes")
		if code != 0 || rep.Refused || rep.Failover == nil || rep.Failover.Event == nil || rep.Failback == nil || rep.Failback.Event == nil {
			t.Fatalf("drill with edge1 settled: exit %d, refused %v, aborted %q: want the failover and failback measured", code, rep.Refused, rep.Aborted)
		}
		if !strings.Contains(stderr, "waiting for: bgp edge1 (established: initial table may still be arriving") {
			t.Errorf("the warm-up did not wait for edge1 to settle:\n%s", stderr)
		}
		ev := strings.Join(check(rep, drill.CheckSecondaryPrefixes).Evidence, ", ")
		if !strings.Contains(ev, "bgp edge1 (established ") || !strings.Contains(ev, "settle rule, End-of-RIB not negotiated") {
			t.Errorf("%s evidence %q does not name the settle rule", drill.CheckSecondaryPrefixes, ev)
		}
	})
}
