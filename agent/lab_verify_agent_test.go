package agent_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent"
	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// TestLabVerifyBesideDaemon: with `dxwatch run` holding the BGP session to
// the edge router, a `dxwatch verify` on the same host cannot establish its
// own (the router keeps one session per neighbour address) and its fix
// says so; `dxwatch verify --agent` reads the daemon's checks instead.
func TestLabVerifyBesideDaemon(t *testing.T) {
	if lab.InChild() {
		t.Skip("inside a lab child")
	}
	bin := buildDxwatch(t)
	l := lab.ForTest(t, lab.Options{})

	// The lab's configuration without the BMP station: its port would be
	// taken by the daemon (verify then fails earlier, saying so).
	text, _, _ := strings.Cut(labsite.Config(nil), "  bmp:\n")
	cfgFile := filepath.Join(l.Dir(), "dxwatch-daemon.yaml")
	if err := os.WriteFile(cfgFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	const web = "127.0.0.1:19479"

	dctx, dcancel := context.WithCancel(context.Background())
	daemon := l.Command(dctx, lab.HostAgent, bin, "run", "--config", cfgFile, "--web.listen-address", web, "--storage.path", filepath.Join(l.Dir(), "state"))
	daemon.Cancel = func() error { return daemon.Process.Signal(os.Interrupt) }
	var dlog bytes.Buffer
	daemon.Stdout, daemon.Stderr = &dlog, &dlog
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dcancel()
		daemon.Wait()
		if t.Failed() {
			t.Logf("daemon log:\n%s", dlog.String())
		}
	})

	verify := func(t *testing.T, args ...string) (agent.VerifyReport, int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		return runVerify(ctx, t, l, bin, nil, args...)
	}
	session := func(rep agent.VerifyReport) probes.CheckResult {
		for _, r := range rep.Results {
			if r.Name == "bgp.session.edge1" {
				return r
			}
		}
		return probes.CheckResult{}
	}

	// The daemon's session comes up.
	var daemonRep agent.VerifyReport
	for i := 0; ; i++ {
		rep, code, stderr := verify(t, "--agent", "http://"+web)
		if code != 2 && session(rep).Status == probes.Pass {
			daemonRep = rep
			break
		}
		if i == 60 {
			t.Fatalf("the daemon's BGP session did not come up: exit %d, %+v\n%s", code, session(rep), stderr)
		}
		time.Sleep(time.Second)
	}

	// verify with its own probes, beside it: its session cannot establish.
	own, _, _ := verify(t, "--config", cfgFile, "--checks", "bgp.session", "--min-duration", "8s", "--timeout", "20s")
	s := session(own)
	if s.Status == probes.Pass || !strings.Contains(s.Fix, "another BGP speaker with this address holds the session") ||
		!strings.Contains(s.Fix, "dxwatch verify --agent http://localhost:9479") {
		t.Errorf("verify beside the daemon: bgp.session.edge1 %s %q\nfix: %s\nwant it not passing, with a fix naming the daemon and verify --agent", s.Status, s.Reason, s.Fix)
	}

	// verify --agent: the daemon's checks, its session established, the
	// exit code following the report.
	rep, code, stderr := verify(t, "--agent", "http://"+web)
	if s := session(rep); s.Status != probes.Pass {
		t.Errorf("verify --agent after verify's own attempt: bgp.session.edge1 %s %q, want pass (the daemon keeps its session)", s.Status, s.Reason)
	}
	if want := min(rep.Summary["fail"], 1); code != want || rep.Site != "lab" || len(rep.Results) < len(daemonRep.Results) {
		t.Errorf("verify --agent: exit %d, site %q, %d checks (first read %d); want exit %d, site lab\n%s", code, rep.Site, len(rep.Results), len(daemonRep.Results), want, stderr)
	}
	if testing.Verbose() {
		var out bytes.Buffer
		rep.WriteText(&out)
		t.Logf("verify --agent:\n%s\nverify beside the daemon: %s %q\nfix: %s", out.String(), s.Status, s.Reason, s.Fix)
	}
}
