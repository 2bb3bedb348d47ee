package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/awstest"
)

// demo brings a lab up, runs dxwatch and Prometheus inside its agent host,
// forwards their ports to 127.0.0.1 and waits for Ctrl-C, then tears it
// all down.
func demo(ctx context.Context, args []string, logf func(string, ...any)) error {
	fs := flag.NewFlagSet("dxlab demo", flag.ContinueOnError)
	dxwatch := fs.String("dxwatch", "bin/dxwatch", "dxwatch binary")
	config := fs.String("config", "", "dxwatch configuration (default lab/dxwatch-probe-sources.yaml, or lab/dxwatch.yaml with --probe-sources=false)")
	probeSources := fs.Bool("probe-sources", true, "per-link probe sources in the lab (lab.Options.ProbeSources)")
	edge := fs.String("edge", lab.EdgeOne, "edge variant: one or two")
	port := fs.Int("port", 9479, "dxwatch's port, in the agent host and on 127.0.0.1")
	promPort := fs.Int("prometheus-port", 9090, "Prometheus's port, in the agent host and on 127.0.0.1 (0: no Prometheus)")
	rules := fs.String("rules", "dashboards/alerts.yaml,dashboards/rules.yaml", "alert and recording rule files for Prometheus (comma-separated globs)")
	fakeAWS := fs.String("fakeaws", "bin/dxwatch-fakeaws", "fake AWS endpoint that follows the lab, for the aws probe (\"\": none)")
	dir := fs.String("dir", lab.DefaultDir, "directory of the labs' run directories")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *config == "" {
		*config = "lab/dxwatch.yaml"
		if *probeSources {
			*config = "lab/dxwatch-probe-sources.yaml"
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("the demo needs root (network namespaces): sudo make demo")
	}
	bin, err := filepath.Abs(*dxwatch)
	if err != nil {
		return err
	}
	cfg, err := filepath.Abs(*config)
	if err != nil {
		return err
	}
	for _, f := range []string{bin, cfg} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("demo: %w (make build first)", err)
		}
	}
	if err := lab.Install(ctx, logf); err != nil {
		return err
	}
	upCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	l, err := lab.Up(upCtx, lab.Options{Edge: *edge, ProbeSources: *probeSources, Dir: *dir, Logf: logf, Owned: true})
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		if err := l.Down(); err != nil {
			logf("down: %v", err)
		}
	}()

	exited := make(chan error, 3)
	if *fakeAWS != "" {
		if cfg, err = startFakeAWS(ctx, l, *fakeAWS, cfg, exited); err != nil {
			return err
		}
	}

	agentAddr := net.JoinHostPort(lab.AgentAddress, strconv.Itoa(*port))
	dxLog := filepath.Join(l.Dir(), "dxwatch.log")
	dx, err := startLogged(ctx, l, dxLog, bin, "run", "--config", cfg, "--web.listen-address", agentAddr,
		"--storage.path", filepath.Join(l.Dir(), "state")) // the lab's, never the host's /var/lib/dxwatch
	if err != nil {
		return fmt.Errorf("start dxwatch: %w", err)
	}
	go func() { exited <- fmt.Errorf("dxwatch exited: %v (log: %s)", <-dx, dxLog) }()

	fwdErr := make(chan error, 2)
	go func() {
		fwdErr <- forward(ctx, l, net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)), agentAddr, logf)
	}()

	promURL := ""
	if *promPort != 0 {
		promAddr := net.JoinHostPort(lab.AgentAddress, strconv.Itoa(*promPort))
		promCfg, err := prometheusConfig(l.Dir(), agentAddr, *rules)
		if err != nil {
			return err
		}
		pl := filepath.Join(l.Dir(), "prometheus.log")
		p, err := startLogged(ctx, l, pl, "prometheus", "--config.file="+promCfg,
			"--storage.tsdb.path="+filepath.Join(l.Dir(), "prometheus"), "--web.listen-address="+promAddr)
		if err != nil {
			return fmt.Errorf("start prometheus: %w", err)
		}
		go func() { exited <- fmt.Errorf("prometheus exited: %v (log: %s)", <-p, pl) }()
		go func() {
			fwdErr <- forward(ctx, l, net.JoinHostPort("127.0.0.1", strconv.Itoa(*promPort)), promAddr, logf)
		}()
		promURL = fmt.Sprintf("http://127.0.0.1:%d/", *promPort)
	}

	sources := "no probe sources"
	if l.ProbeSources() {
		sources = "probe sources " + lab.PrimaryProbeSource + " (primary), " + lab.SecondaryProbeSource + " (secondary)"
	}
	fmt.Printf(`
dxwatch lab demo: lab %[1]s (%[2]s edge), dxwatch runs in the agent host (%[3]s), %[5]s

  dxwatch status   http://127.0.0.1:%[4]d/
  dxwatch metrics  http://127.0.0.1:%[4]d/metrics
`, l.Prefix(), l.Edge(), lab.AgentAddress, *port, sources)
	if promURL != "" {
		fmt.Printf("  Prometheus       %s  (alerts: %salerts)\n", promURL, promURL)
	}
	fmt.Printf(`
In another shell:
  go run ./lab/cmd/dxlab status
  go run ./lab/cmd/dxlab cut primary            # carrier loss
  go run ./lab/cmd/dxlab cut primary --silent   # grey failure: only BFD notices
  go run ./lab/cmd/dxlab restore primary
  go run ./lab/cmd/dxlab flap secondary --times 3 --every 10s
  go run ./lab/cmd/dxlab brownout primary --loss 20
  go run ./lab/cmd/dxlab exec agent -- traceroute -n %[1]s
  go run ./lab/cmd/dxlab break wrong-md5 primary   # a turn-up mistake (also no-prepend, ping-blocked i1);
  go run ./lab/cmd/dxlab mend wrong-md5 primary    # the status page's checks show it, with the fix

Logs: %[2]s. Ctrl-C tears everything down.
`, lab.Instance1, l.Dir())

	select {
	case <-ctx.Done():
		fmt.Println("\ntearing the lab down")
		return nil
	case err := <-exited:
		// Ctrl-C reaches the children too, and one may end before this
		// process sees the signal: an ending that the signal follows
		// closely is the teardown, not a failure.
		select {
		case <-ctx.Done():
			fmt.Println("\ntearing the lab down")
			return nil
		case <-time.After(500 * time.Millisecond):
			return err
		}
	case err := <-fwdErr:
		return err
	}
}

// fakeAWSListen is where the demo's fake AWS endpoint listens, on the agent
// host's loopback.
const fakeAWSListen = "127.0.0.1:4566"

// startFakeAWS starts dxwatch-fakeaws in the agent host, following the lab,
// points this process's environment (which dxwatch inherits) at it, and
// returns a configuration with an aws section: cfg itself if it has one, or
// a copy of it with the lab's in the lab's run directory.
func startFakeAWS(ctx context.Context, l *lab.Lab, bin, cfg string, exited chan<- error) (string, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("demo: %w (make build first, or --fakeaws '')", err)
	}
	logFile := filepath.Join(l.Dir(), "fakeaws.log")
	done, err := startLogged(ctx, l, logFile, bin, "-listen", fakeAWSListen, "-lab", l.Dir())
	if err != nil {
		return "", fmt.Errorf("start dxwatch-fakeaws: %w", err)
	}
	go func() { exited <- fmt.Errorf("dxwatch-fakeaws exited: %v (log: %s)", <-done, logFile) }()
	for _, kv := range awstest.LabScenario().Env("http://"+fakeAWSListen, awstest.LabRegion) {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		return "", err
	}
	if strings.Contains("\n"+string(b), "\naws:") {
		return cfg, nil
	}
	b = append(b, fmt.Sprintf("\n# Added by dxlab demo: the fake AWS endpoint (dxwatch-fakeaws -lab).\naws:\n  regions: [%s]\n  dx_gateway_id: %s\n", awstest.LabRegion, awstest.LabDXGateway)...)
	out := filepath.Join(l.Dir(), "dxwatch-demo.yaml")
	return out, os.WriteFile(out, b, 0o600)
}

// startLogged starts argv in the agent host with its output in logFile and
// returns a channel that receives its exit. Down kills it with everything
// else in the lab.
func startLogged(ctx context.Context, l *lab.Lab, logFile string, argv ...string) (<-chan error, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := l.Command(ctx, lab.HostAgent, argv...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		done <- cmd.Wait()
		f.Close()
	}()
	return done, nil
}

// prometheusConfig writes a Prometheus configuration scraping dxwatch,
// with the rule files that match rules (comma-separated globs) copied
// beside it.
func prometheusConfig(dir, target, rules string) (string, error) {
	var files []string
	for _, g := range strings.Split(rules, ",") {
		m, err := filepath.Glob(strings.TrimSpace(g))
		if err != nil {
			return "", fmt.Errorf("rules %q: %w", g, err)
		}
		files = append(files, m...)
	}
	var ruleFiles []string
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		dst := filepath.Join(dir, fmt.Sprintf("rules-%d-%s", i, filepath.Base(f)))
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return "", err
		}
		ruleFiles = append(ruleFiles, fmt.Sprintf("%q", dst))
	}
	text := fmt.Sprintf(`global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files: [%s]
scrape_configs:
  - job_name: dxwatch
    static_configs:
      - targets: [%q]
        labels:
          site: lab
`, strings.Join(ruleFiles, ", "), target)
	p := filepath.Join(dir, "prometheus.yml")
	return p, os.WriteFile(p, []byte(text), 0o644)
}
