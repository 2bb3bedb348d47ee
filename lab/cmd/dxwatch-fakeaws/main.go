// Command dxwatch-fakeaws serves a fake AWS endpoint (Direct Connect, EC2,
// STS and CloudWatch wire formats, see lab/awstest) on the loopback interface,
// from a scenario file or the built-in lab scenario, and prints the
// AWS_ENDPOINT_URL_* environment that points dxwatch (or the AWS CLI) at it:
//
//	dxwatch-fakeaws -listen 127.0.0.1:4566 > fakeaws.env &
//	sleep 1; . ./fakeaws.env
//	dxwatch verify --config lab/dxwatch.yaml
//
// -scenario serves a YAML or JSON scenario file instead (-dump prints the
// built-in one to start from); -metrics shapes the CloudWatch series of the
// lab's links (peak-above-secondary makes verify name a capacity shortfall); -lab makes the BGP part of the built-in
// scenario follow a running lab (dxlab), as AWS's API follows its routers;
// -v logs every request.
//
// It never contacts AWS and accepts any secret key.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/awstest"
)

//go:embed lab.yaml
var labYAML []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dxwatch-fakeaws:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dxwatch-fakeaws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:4566", "loopback address to serve on (port 0 picks one)")
	file := fs.String("scenario", "", "scenario file (YAML or JSON); default: the built-in lab scenario")
	region := fs.String("region", awstest.LabRegion, "region to print in AWS_REGION")
	dump := fs.Bool("dump", false, "print the built-in lab scenario as YAML and exit")
	verbose := fs.Bool("v", false, "log every request")
	metrics := fs.String("metrics", string(awstest.MetricsHealthy), "CloudWatch series of the lab's links up to now: healthy, light-falling, errors-rising, peak-above-secondary (a 500 Mbps hosted secondary), hosted, or none")
	labDir := fs.String("lab", "", "run directory of a running lab (dxlab status prints it) whose AWS routers the VIFs' BGP status and routes follow, re-read every second")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dump {
		_, err := stdout.Write(labYAML)
		return err
	}
	var sc *awstest.Scenario
	var err error
	if *file != "" {
		sc, err = awstest.LoadScenario(*file)
	} else {
		sc, err = awstest.ParseScenario(labYAML, false)
	}
	if err != nil {
		return err
	}
	var kind awstest.MetricsScenario
	if *metrics != "none" {
		var ok bool
		if kind, ok = awstest.ParseMetricsScenario(*metrics); !ok {
			return fmt.Errorf("-metrics %q: one of %v or none", *metrics, awstest.MetricsScenarios)
		}
		awstest.WithLabMetrics(sc, kind, time.Now())
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", *listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %q: serve on a loopback address only (127.0.0.1:port)", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := awstest.New(sc)
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if *verbose {
		srv.OnCall = func(action string) { log.Info("request", "action", action) }
	}
	if *labDir != "" {
		l, err := lab.Attach(*labDir)
		if err != nil {
			ln.Close()
			return err
		}
		if err := awstest.SyncFromLab(ctx, l, srv); err != nil {
			ln.Close()
			return fmt.Errorf("-lab %s: %w", *labDir, err)
		}
		go followLab(ctx, l, srv, log)
	}
	if kind != "" {
		go followClock(ctx, srv, kind)
	}
	url := "http://" + ln.Addr().String()
	for _, kv := range sc.Env(url, *region) {
		fmt.Fprintf(stdout, "export %s\n", kv)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// followLab re-reads the lab's BGP state every second until ctx ends,
// logging a failure once until it recovers.
func followLab(ctx context.Context, l *lab.Lab, srv *awstest.Server, log *slog.Logger) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := awstest.SyncFromLab(ctx, l, srv)
		if err != nil && !failing && ctx.Err() == nil {
			log.Warn("cannot read the lab's BGP state; serving the last one read", "err", err)
		}
		failing = err != nil
	}
}

// followClock renews the CloudWatch series every 5 minutes, as CloudWatch
// publishes a new datapoint, so that a long demo never reads stale data.
func followClock(ctx context.Context, srv *awstest.Server, kind awstest.MetricsScenario) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			srv.Update(func(sc *awstest.Scenario) { awstest.WithLabMetrics(sc, kind, now) })
		}
	}
}
