package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dxwatch/dxwatch/agent/config"
	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/aws"
)

func loaCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("loa", stderr)
	cfgFile := fs.String("config", defaultConfig, "configuration file (its aws section gives the accounts and regions)")
	conn := fs.String("connection", "", "the connection whose LOA-CFA to download (dxcon-…)")
	out := fs.String("out", "", "file to write the PDF to")
	regions := fs.String("aws.region", os.Getenv("AWS_REGION"), "AWS regions to look for the connection in, comma-separated (default: the configuration's aws.regions)")
	lf := logFlags{level: "warn"}
	lf.register(fs)
	logger, code := lf.parse(fs, args, stderr)
	if code >= 0 {
		return code
	}
	if *conn == "" || *out == "" {
		fmt.Fprintln(stderr, "loa: --connection and --out are required")
		return exitUsage
	}
	full, err := config.Load(*cfgFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	cfg, err := awsSection(full, *regions)
	if err != nil {
		fmt.Fprintf(stderr, "loa: %v\n", err)
		return exitUsage
	}
	p, err := aws.New("loa", cfg, probes.Deps{Site: full.Topology(), Logger: logger}.WithDefaults("aws", "loa"))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "warning: DescribeLoa re-issues the LOA-CFA of %s: its issue time becomes now and its 90 days start again\n", *conn)
	loa, err := p.DownloadLOA(ctx, *conn)
	if err != nil {
		fmt.Fprintf(stderr, "loa: %v\n", err)
		return 1
	}
	if err := os.WriteFile(*out, loa.Content, 0o644); err != nil {
		fmt.Fprintf(stderr, "loa: %v\n", err)
		return 1
	}
	prev := "never downloaded before"
	if !loa.Previous.IsZero() {
		prev = "previously issued " + loa.Previous.UTC().Format(time.DateOnly)
	}
	fmt.Fprintf(stdout, "wrote the LOA-CFA of %s to %s (%s, %d bytes; %s); give it to the colocation provider to order the cross-connect\n",
		*conn, *out, loa.ContentType, len(loa.Content), prev)
	return 0
}

// awsSection is the configuration's aws section (accounts, roles,
// regions), with regions (comma-separated) overriding its regions.
func awsSection(full *config.Config, regions string) (aws.Config, error) {
	cfg := aws.DefaultConfig()
	if full.Has("aws") {
		cfg = full.AWS
	}
	cfg = awsConfig(cfg, regions)
	if len(cfg.Regions) == 0 {
		return cfg, fmt.Errorf("a region is needed: an aws section in the configuration, --aws.region or AWS_REGION")
	}
	return cfg, nil
}
