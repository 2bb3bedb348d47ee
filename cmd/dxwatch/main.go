// Command dxwatch verifies and monitors AWS Direct Connect links from the
// on-premises side. See `dxwatch help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/dxwatch/dxwatch/agent"
	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/agent/history"
)

// Set at build time: -ldflags "-X main.version=… -X main.revision=…".
var (
	version  = "dev"
	revision = "unknown"
)

// exitUsage is the exit code for a command line that cannot run (2, as for
// verify's "could not run").
const exitUsage = 2

type command struct {
	name, summary, usage, example string
	run                           func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "run the monitoring daemon", "dxwatch run [flags]",
			"dxwatch run --config /etc/dxwatch/dxwatch.yaml --web.listen-address :9479", runCmd},
		{"check-config", "validate a configuration file as run would (DNS names, MD5 keys), print every problem", "dxwatch check-config --config FILE [FILE...]",
			"dxwatch check-config --config examples/dedicated.yaml", checkConfigCmd},
		{"verify", "run the whole turn-up checklist once: pass/warn/fail with the exact fix", "dxwatch verify [flags]",
			"dxwatch verify --config /etc/dxwatch/dxwatch.yaml --output markdown --checks aws.,bgp.\n  dxwatch verify --agent http://localhost:9479   # beside a running daemon: its checks", verifyCmd},
		{"drill", "fail the primary link over and back, measuring detection, outage and path changes", "dxwatch drill [flags]",
			"dxwatch drill --config /etc/dxwatch/dxwatch.yaml --aws.region us-east-1 --agent http://localhost:9479 --dry-run", drillCmd},
		{"report", "the month on record: availability per link and per site, each incident with its evidence, what was excluded", "dxwatch report [--month 2026-11 | --from T --to T] [flags]",
			"dxwatch report --config /etc/dxwatch/dxwatch.yaml --month 2026-11 --format markdown > dc1-2026-11.md", reportCmd},
		{"loa", "download a connection's LOA-CFA (re-issues it: its 90 days start again)", "dxwatch loa --connection ID --out FILE [flags]",
			"dxwatch loa --config /etc/dxwatch/dxwatch.yaml --connection dxcon-fgq9rgot --out dxcon-fgq9rgot-loa.pdf", loaCmd},
		{"version", "print the version", "dxwatch version", "dxwatch version", versionCmd},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "dxwatch: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `dxwatch verifies and monitors AWS Direct Connect links from the on-premises side.

Usage: dxwatch <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'dxwatch <command> --help' for a command's flags and an example.\n")
}

// newFlags returns a flag set whose --help prints the command's usage, its
// example and its flags.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		for _, c := range commands() {
			if c.name == name {
				fmt.Fprintf(stderr, "%s: %s\n\nUsage: %s\n\nExample:\n  %s\n\nFlags:\n", c.name, c.summary, c.usage, c.example)
			}
		}
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; it returns -1 to go on, or the exit code.
func parse(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return exitUsage
	}
	return -1
}

type logFlags struct{ level, format string }

// register adds --log.level (default l.level: info for the daemon, warn
// for one-shot commands) and --log.format.
func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log.level", l.level, "log level: debug, info, warn, error")
	fs.StringVar(&l.format, "log.format", "text", "log format: text or json")
}

// parse parses args and builds the logger; code is -1 to go on, else the
// exit code.
func (l *logFlags) parse(fs *flag.FlagSet, args []string, stderr io.Writer) (logger *slog.Logger, code int) {
	if code := parse(fs, args); code >= 0 {
		return nil, code
	}
	logger, err := l.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, exitUsage
	}
	return logger, -1
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("--log.level: %q is not a level: want debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log.format: %q is not a format: want text or json", l.format)
}

const defaultConfig = "/etc/dxwatch/dxwatch.yaml"

// runOptions parses run's flags into the agent's options; code >= 0 is an
// exit code (help, a bad flag).
func runOptions(args []string, stderr io.Writer) (opts agent.Options, code int) {
	fs := newFlags("run", stderr)
	cfgFile := fs.String("config", defaultConfig, "configuration file")
	listen := fs.String("web.listen-address", ":9479", "addresses to listen on for metrics, status and API, comma-separated")
	webCfg := fs.String("web.config.file", "", "exporter-toolkit web configuration file enabling TLS and/or basic auth")
	storage := fs.String("storage.path", "/var/lib/dxwatch", "state directory keeping the event history across restarts; empty keeps it in memory only")
	retSize := fs.Int64("storage.retention.size", history.DefaultMaxBytes, "bytes the event history may take on disk")
	retTime := fs.Duration("storage.retention.time", history.DefaultMaxAge, "age beyond which stored events are dropped (at start)")
	lifecycle := fs.Bool("web.enable-lifecycle", false, "reload the configuration on POST /-/reload (SIGHUP always does)")
	enablePprof := fs.Bool("web.enable-pprof", false, "serve Go's profiler under /debug/pprof/ (CPU and heap profiles of the daemon)")
	lf := logFlags{level: "info"}
	lf.register(fs)
	logger, code := lf.parse(fs, args, stderr)
	if code >= 0 {
		return opts, code
	}
	return agent.Options{
		ConfigFile: *cfgFile, Logger: logger,
		ListenAddresses: strings.Split(*listen, ","), WebConfigFile: *webCfg,
		StoragePath: *storage, StorageMaxBytes: *retSize, StorageMaxAge: *retTime,
		EnableLifecycle: *lifecycle, EnablePprof: *enablePprof, Version: version, Revision: revision,
	}, -1
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	opts, code := runOptions(args, stderr)
	if code >= 0 {
		return code
	}
	logger := opts.Logger
	a, err := agent.New(opts)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				_ = a.Reload() // logged by the agent
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := a.Run(ctx); err != nil {
		logger.Error("stopped", "err", err)
		return 1
	}
	return 0
}

func checkConfigCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check-config", stderr)
	cfgFile := fs.String("config", defaultConfig, "configuration file; more files may follow as arguments (--config examples/*.yaml)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	code := 0
	for _, f := range append([]string{*cfgFile}, fs.Args()...) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		warnings, err := config.Check(ctx, f)
		cancel()
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: valid\n", f)
		for _, w := range warnings {
			fmt.Fprintf(stdout, "  warning: %s\n", w)
		}
	}
	return code
}

func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", stderr)
	if code := parse(fs, args); code >= 0 {
		return code
	}
	fmt.Fprintf(stdout, "dxwatch %s (revision %s, %s %s/%s)\n", version, revision, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}

func verifyCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("verify", stderr)
	cfgFile := fs.String("config", defaultConfig, "configuration file")
	output := fs.String("output", "text", "output format: text, json or markdown")
	checks := fs.String("checks", "", "only the checks whose names start with one of these comma-separated prefixes (aws.,bgp.intent,ping.)")
	minDur := fs.Duration("min-duration", 5*time.Second, "run the probes at least this long, so that pings and traces gather evidence")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up waiting for a probe's first round after this long")
	agentURL := fs.String("agent", "", "read the checks of the dxwatch daemon at this URL (http://localhost:9479) instead of probing from here: beside the daemon, verify's own BGP session would compete with the daemon's")
	lf := logFlags{level: "warn"}
	lf.register(fs)
	logger, code := lf.parse(fs, args, stderr)
	if code >= 0 {
		return code
	}
	write := map[string]func(agent.VerifyReport, io.Writer) error{
		"text": agent.VerifyReport.WriteText, "json": agent.VerifyReport.WriteJSON, "markdown": agent.VerifyReport.WriteMarkdown,
	}[*output]
	if write == nil {
		fmt.Fprintf(stderr, "--output: %q is not a format: want text, json or markdown\n", *output)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var sel []string
	if *checks != "" {
		sel = strings.Split(*checks, ",")
	}
	vopts := agent.VerifyOptions{Checks: sel, MinDuration: *minDur, Timeout: *timeout, Progress: stderr}
	var rep agent.VerifyReport
	var err error
	if *agentURL != "" {
		rep, err = agent.VerifyAgent(ctx, *agentURL, vopts)
	} else {
		var a *agent.Agent
		a, err = agent.New(agent.Options{ConfigFile: *cfgFile, Logger: logger, Version: version, Revision: revision})
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
		rep, err = a.Verify(ctx, vopts)
	}
	if err != nil {
		fmt.Fprintf(stderr, "verify could not run: %v\n", err)
		return exitUsage
	}
	if err := write(rep, stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	return rep.ExitCode()
}
