package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/dxwatch/dxwatch/agent"
	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/agent/drill"
	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/aws"
)

func drillCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("drill", stderr)
	cfgFile := fs.String("config", defaultConfig, "configuration file")
	output := fs.String("output", "text", "output format: text, json or markdown")
	yes := fs.Bool("yes", false, "confirm: fail the primary link over for real")
	dryRun := fs.Bool("dry-run", false, "run the warm-up and the pre-checks only: the same as --yes runs, then stop")
	method := fs.String("method", "", "how to fail the primary over: aws (StartBgpFailoverTest on the primary VIF) or exec (the --cut and --restore commands); default aws, or exec with --cut")
	cut := fs.String("cut", "", "method exec: shell command that takes the primary link out of service (in the lab: dxlab cut primary)")
	restore := fs.String("restore", "", "method exec: shell command that puts the primary link back (in the lab: dxlab restore primary)")
	execTimeout := fs.Duration("exec-timeout", drill.DefaultExecTimeout, "method exec: kill the --cut or --restore command after this long")
	regions := fs.String("aws.region", os.Getenv("AWS_REGION"), "AWS regions of the primary VIF, comma-separated (method aws; default: the configuration's aws.regions)")
	family := fs.String("family", drill.FamilyBoth, "the primary's peerings to fail over and measure: ipv4, ipv6 (method aws: StartBgpFailoverTest holds down only that family's BGP peers; both links need a peering of it) or both")
	hold := fs.Duration("hold", time.Minute, "how long the traffic stays on the secondary before the failback")
	timeout := fs.Duration("timeout", 3*time.Minute, "give up waiting for the failover, or the failback, after this long")
	quiet := fs.Duration("quiet", drill.DefaultQuiet, "refuse when a failover happened this recently (0s: do not check); without --agent the drill sees only what happens while it watches, so it refuses unless --quiet is no longer than that")
	daemon := fs.String("agent", "", "URL of the running dxwatch daemon (http://localhost:9479; user:password@ for basic auth): its events and how long it has watched tell the --quiet pre-check what happened before the drill started")
	warmup := fs.Duration("warmup", 30*time.Second, "wait at most this long for every configured source before the pre-checks: each BGP session established with its initial table in (End-of-RIB), each BMP router's initial dump, the first AWS poll (method aws), an echo on every link and target; the pre-checks refuse what is not ready by then")
	allowUnconfirmed := fs.Bool("allow-unconfirmed-secondary", false, "go on when no BGP feed (or no expected prefix) is configured, so nothing can confirm that the secondary carries the VPC prefixes")
	abortAfter := fs.Duration("abort-after", 10*time.Second, "fail back at once when the secondary is down or nothing carries the traffic this long")
	storage := fs.String("storage.path", "/var/lib/dxwatch", "the daemon's state directory: the drill's window is recorded there, so that `dxwatch report` lists it apart from downtime; empty records nothing")
	pingInterval := fs.Duration("ping-interval", 20*time.Millisecond, "ping interval during the drill (the outage is measured within one interval)")
	lf := logFlags{level: "warn"}
	lf.register(fs)
	logger, code := lf.parse(fs, args, stderr)
	if code >= 0 {
		return code
	}
	write := map[string]func(*drill.Report, io.Writer) error{
		"text": (*drill.Report).WriteText, "json": (*drill.Report).WriteJSON, "markdown": (*drill.Report).WriteMarkdown,
	}[*output]
	if write == nil {
		fmt.Fprintf(stderr, "--output: %q is not a format: want text, json or markdown\n", *output)
		return exitUsage
	}
	if *family != drill.FamilyBoth && *family != probes.FamilyIPv4 && *family != probes.FamilyIPv6 {
		fmt.Fprintf(stderr, "--family: %q is not a family: want ipv4, ipv6 or both\n", *family)
		return exitUsage
	}
	if *quiet < 0 {
		fmt.Fprintf(stderr, "--quiet: %s is negative: want how recent a failover refuses the drill (0s: do not check)\n", *quiet)
		return exitUsage
	}
	if *method == "" {
		*method = "aws"
		if *cut != "" {
			*method = "exec"
		}
	}
	a, err := agent.New(agent.Options{ConfigFile: *cfgFile, Logger: logger, Version: version, Revision: revision})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	o := drill.Options{Family: *family, Yes: *yes, DryRun: *dryRun, AllowUnconfirmedSecondary: *allowUnconfirmed, Hold: *hold, Timeout: *timeout, Quiet: quiet,
		Warmup: *warmup, AbortAfter: *abortAfter, Progress: stderr}
	rec := &drill.Recorder{}
	wo := agent.WatchOptions{PingInterval: *pingInterval, OnEvent: rec.Hook}
	if *method == "aws" {
		// Without an aws section the drill still polls AWS, in the regions
		// given, so that AWS's view of the links is evidence.
		if c := awsConfig(aws.DefaultConfig(), *regions); len(c.Regions) > 0 {
			wo.AWS = &c
		}
	}
	w, err := a.Watch(ctx, wo)
	if err != nil {
		fmt.Fprintf(stderr, "drill could not run: %v\n", err)
		return exitUsage
	}
	defer w.Stop()
	site := w.Site()
	if *daemon != "" {
		events, since, err := agent.DaemonRecord(ctx, *daemon, site.Name)
		if err != nil {
			fmt.Fprintf(stderr, "drill could not run: %v\n", err)
			return exitUsage
		}
		o.Past = &drill.DaemonRecord{Source: "dxwatch at " + agent.RedactURL(*daemon), Events: events, Since: since}
	}
	cmds := drill.ExecMethod{CutCommand: *cut, RestoreCommand: *restore, Timeout: *execTimeout, Logger: logger.With("component", "drill")}
	o.Method, err = drillMethod(*method, cmds, *regions, site, w.Config(), o)
	if err != nil {
		fmt.Fprintf(stderr, "drill could not run: %v\n", err)
		return exitUsage
	}
	endWindow := drill.RecordWindow(*storage, o, time.Now, logger.With("component", "ledger"))
	rep, err := drill.Run(ctx, site, w, rec, o)
	endWindow()
	if werr := write(rep, stdout); werr != nil {
		fmt.Fprintln(stderr, werr)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "drill: %v\n", err)
		if errors.Is(err, drill.ErrRefused) || errors.Is(err, drill.ErrAborted) {
			return 1
		}
	}
	return rep.ExitCode()
}

func drillMethod(method string, cmds drill.ExecMethod, regions string, site probes.Site, full *config.Config, o drill.Options) (drill.Method, error) {
	primary, ok := site.Link(site.Routing.Primary)
	if !ok {
		for _, l := range site.Links {
			if l.Role == probes.RolePrimary {
				primary, ok = l, true
			}
		}
	}
	if !ok {
		return nil, errors.New("no primary link in the configuration: set routing.primary or a link's role: primary")
	}
	switch method {
	case "exec":
		if cmds.CutCommand == "" || cmds.RestoreCommand == "" {
			return nil, errors.New("--method exec needs --cut <command> and --restore <command>")
		}
		return &cmds, nil
	case "aws":
		if cmds.CutCommand != "" || cmds.RestoreCommand != "" {
			return nil, errors.New("--cut and --restore are for --method exec")
		}
		if primary.VIFID == "" {
			return nil, fmt.Errorf("link %s has no vif_id: the AWS failover test needs the primary's virtual interface", primary.Name)
		}
		// The configuration's aws section (accounts, roles, regions);
		// --aws.region overrides its regions.
		cfg, err := awsSection(full, regions)
		if err != nil {
			return nil, fmt.Errorf("the AWS failover test: %w", err)
		}
		p, err := aws.New("drill", cfg, probes.Deps{Site: site}.WithDefaults("aws", "drill"))
		if err != nil {
			return nil, err
		}
		return &drill.AWSMethod{API: p, VIF: primary.VIFID, Family: o.Family, Duration: drill.FailoverTestDuration(o)}, nil
	}
	return nil, fmt.Errorf("--method: %q is not a method: want aws or exec", method)
}

// awsConfig returns cfg with its regions replaced by the comma-separated
// regions, when there are any.
func awsConfig(cfg aws.Config, regions string) aws.Config {
	if regions != "" {
		cfg.Regions = nil
	}
	for _, r := range strings.Split(regions, ",") {
		if r = strings.TrimSpace(r); r != "" {
			cfg.Regions = append(cfg.Regions, r)
		}
	}
	return cfg
}
