package drill_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/drill"
	"github.com/dxwatch/dxwatch/lab"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	return filepath.Dir(filepath.Dir(wd))
}

// TestLabDrill runs `dxwatch drill --lab` in the lab's agent host while
// fping -l -D -p 10 runs beside it toward Instance1, and compares the
// outage the drill measured with that of fping's longest run of lost
// echoes.
func TestLabDrill(t *testing.T) {
	l := lab.ForTest(t, lab.Options{})
	bin := filepath.Join(t.TempDir(), "dxwatch")
	build := exec.Command("go", "build", "-o", bin, "./cmd/dxwatch")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
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

	d := l.Command(ctx, lab.HostAgent, bin, "drill", "--config", filepath.Join(repoRoot(t), "lab", "dxwatch.yaml"),
		"--lab", l.Dir(), "--yes", "--quiet", "1s", "--hold", "5s", "--timeout", "1m", "--warmup", "40s",
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
	var rep drill.Report
	if err := json.Unmarshal(dout.Bytes(), &rep); err != nil {
		t.Fatalf("drill output: %v\n%s", err, dout.String())
	}
	f := rep.Failover
	if f == nil || f.Event == nil || f.OutageSeconds == nil {
		t.Fatalf("no measured failover: %s", dout.String())
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
