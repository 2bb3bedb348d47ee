package drill_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

// fpingGap returns the longest run of lost echoes in fping -l output
// ("198.18.0.10 : [12], 64 bytes, 0.10 ms ..."), times the interval.
func fpingGap(out []byte, interval time.Duration) (time.Duration, int) {
	re := regexp.MustCompile(`: \[(\d+)\], \d+ bytes`)
	prev, worst, replies := -1, 0, 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		seq, _ := strconv.Atoi(m[1])
		replies++
		if prev >= 0 && seq-prev-1 > worst {
			worst = seq - prev - 1
		}
		prev = seq
	}
	return time.Duration(worst) * interval, replies
}

// TestLabDrill runs `dxwatch drill --lab` in the lab's agent host while
// fping -l -p 10 runs beside it toward Instance1, and compares the
// outage the drill measured with fping's longest run of lost echoes.
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
	fping := l.Command(ctx, lab.HostAgent, "fping", "-l", "-p", "10", lab.Instance1)
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
	gap, replies := fpingGap(fout.Bytes(), 10*time.Millisecond)
	t.Logf("failover: detected after %.3fs, drill outage of i1 %.3fs, fping's longest loss run %s over %d replies",
		*f.DetectSeconds, *drillI1, gap, replies)
	if replies < 100 {
		t.Fatalf("fping gave %d replies: %s", replies, ferr.String())
	}
	// Within one drill probe interval, plus fping's own 10 ms granularity.
	if diff := math.Abs(*drillI1 - gap.Seconds()); diff > (pingInterval + 10*time.Millisecond).Seconds() {
		t.Errorf("drill outage %.3fs and fping's %.3fs differ by %.3fs, more than one probe interval (%s) + 10ms", *drillI1, gap.Seconds(), diff, pingInterval)
	}
	if rep.Failback == nil || rep.Failback.Event == nil {
		t.Errorf("no failback measured")
	}
}
