// Command dxlab brings the dxwatch Direct Connect lab up and down and acts
// on it: cut, restore, flap and brown out links, show its state, run
// commands in its hosts and forward a port of the agent host to 127.0.0.1.
// It needs root.
//
//	dxlab up [--edge one|two] [--no-bfd] [--agent-md5] [--probe-sources] [--transit-gateway]
//	dxlab down [--all | --stale]
//	dxlab status
//	dxlab cut <link> [--silent [--family ipv4|ipv6]]
//	dxlab restore <link>
//	dxlab flap <link> --times N --every D
//	dxlab brownout <link> --loss P
//	dxlab mode active_passive|active_active
//	dxlab break wrong-md5 <link> | wrong-md5-ipv6 <link> | no-prepend | ping-blocked <i1|i2>
//	dxlab mend  wrong-md5 <link> | wrong-md5-ipv6 <link> | no-prepend | ping-blocked <i1|i2>
//	dxlab exec <host> -- cmd [args...]
//	dxlab vtysh <router> 'command'
//	dxlab forward [--listen 127.0.0.1:PORT] PORT
//	dxlab demo [--dxwatch bin/dxwatch] [--config lab/dxwatch.yaml] [--edge one|two]
//
// Every command but up acts on the running lab (the only one under
// /run/dxlab, or the one named by --lab).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/dxwatch/dxwatch/lab"
)

const usage = `usage: dxlab <command> [flags]

  up [--edge one|two] [--no-bfd] [--agent-md5] [--probe-sources] [--transit-gateway]   bring the lab up (idempotent)
  down [--all | --stale]                         tear the lab down (idempotent); --stale: every lab
                                                 whose owning process (a test, a demo) is gone
  status                                         sessions, BFD, routes to the instances
  cut <link> [--silent [--family ipv4|ipv6]]     carrier loss, or silent packet loss (of one family)
  restore <link>                                 undo cut and brownout
  flap <link> --times N --every D                cut and restore N times
  brownout <link> --loss P                       drop P% of packets (0 ends it)
  mode active_passive|active_active              switch the routing intent
  break <fault> [target]                         make a turn-up mistake for verify to find:
                                                   wrong-md5 <link>, wrong-md5-ipv6 <link>, no-prepend, ping-blocked <i1|i2>
  mend <fault> [target]                          undo it
  exec <host> -- cmd [args...]                   run a command inside a lab host
  vtysh <router> 'command'                       run a vtysh command on a lab router
  forward [--listen 127.0.0.1:PORT] PORT         forward a local port to the agent host
  demo [--dxwatch bin/dxwatch] [--config lab/dxwatch.yaml] [--edge one|two]
       [--port 9479] [--prometheus-port 9090] [--rules GLOB,...]
                                                 lab + dxwatch + Prometheus until Ctrl-C

links: primary, secondary
hosts: agent, edge1, edge2 (two-edge), aws1, aws2, vpc, i1, i2
flags for every command: --lab <prefix> (with several labs), --dir <dir> (default /run/dxlab)
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "dxlab:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(usage)
		return nil
	}
	cmd, args := args[0], args[1:]
	if cmd == "demo" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return demo(ctx, args, func(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) })
	}
	fs := flag.NewFlagSet("dxlab "+cmd, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	dir := fs.String("dir", lab.DefaultDir, "directory of the labs' run directories")
	name := fs.String("lab", "", "prefix of the lab to act on")
	edge := fs.String("edge", lab.EdgeOne, "edge variant: one or two")
	noBFD := fs.Bool("no-bfd", false, "run without BFD")
	agentMD5 := fs.Bool("agent-md5", false, "MD5 on the edges' sessions with the agent")
	transitGateway := fs.Bool("transit-gateway", false, "a Transit Gateway site: the AWS routers refuse on-prem traffic to their peer /30, "+
		"and with --probe-sources the edges route each probe source's traffic to the VPC over its own link (lab.Options.TransitGateway)")
	probeSources := fs.Bool("probe-sources", false, "per-link probe sources: agent addresses "+
		lab.PrimaryProbeSource+" and "+lab.SecondaryProbeSource+", each advertised over its own link only")
	all := fs.Bool("all", false, "down: every lab under --dir")
	stale := fs.Bool("stale", false, "down: every lab under --dir whose owning process (a test, a demo) is gone")
	silent := fs.Bool("silent", false, "cut: drop packets, keep the carrier up")
	family := fs.String("family", "", "cut --silent: drop only this address family's packets (ipv4 or ipv6)")
	times := fs.Int("times", 3, "flap: number of cut/restore cycles")
	every := fs.Duration("every", 10*time.Second, "flap: one cycle every")
	loss := fs.Int("loss", 10, "brownout: percent of packets dropped")
	listen := fs.String("listen", "", "forward: local address (default 127.0.0.1:PORT)")

	var rest []string
	if cmd == "exec" {
		if i := slices.Index(args, "--"); i >= 0 {
			rest = args[i+1:]
			args = args[:i]
		}
	}
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos := fs.Args()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }

	if cmd == "up" {
		return up(ctx, lab.Options{Edge: *edge, NoBFD: *noBFD, AgentMD5: *agentMD5, ProbeSources: *probeSources, TransitGateway: *transitGateway, Dir: *dir, Logf: logf})
	}
	if cmd == "down" && *stale {
		if *all || *name != "" {
			return errors.New("down: --stale takes no --all or --lab")
		}
		reaped, err := lab.ReapStale(*dir, logf)
		if len(reaped) == 0 && err == nil {
			fmt.Println("no stale lab")
		}
		return err
	}
	if cmd == "down" {
		return down(*dir, *name, *all, logf)
	}
	l, err := find(*dir, *name)
	if err != nil {
		return err
	}
	l.SetLogf(logf)
	needLink := func() (string, error) {
		if len(pos) != 1 {
			return "", fmt.Errorf("%s: want one link (primary or secondary)", cmd)
		}
		return pos[0], nil
	}
	switch cmd {
	case "status":
		return status(ctx, l, os.Stdout)
	case "cut":
		lk, err := needLink()
		if err != nil {
			return err
		}
		if *family != "" {
			if !*silent {
				return fmt.Errorf("cut --family %s: a carrier cut takes both families down; add --silent to drop one family's packets", *family)
			}
			return l.CutFamily(lk, *family)
		}
		return l.Cut(lk, *silent)
	case "restore":
		lk, err := needLink()
		if err != nil {
			return err
		}
		return l.Restore(lk)
	case "flap":
		lk, err := needLink()
		if err != nil {
			return err
		}
		return l.Flap(lk, *times, *every)
	case "brownout":
		lk, err := needLink()
		if err != nil {
			return err
		}
		return l.Brownout(lk, *loss)
	case "mode":
		if len(pos) != 1 {
			return errors.New("mode: want active_passive or active_active")
		}
		return l.SetMode(ctx, pos[0])
	case "break", "mend":
		if len(pos) < 1 || len(pos) > 2 {
			return fmt.Errorf("%s: want a fault (%s) and its target", cmd, strings.Join(lab.Faults, ", "))
		}
		target := ""
		if len(pos) == 2 {
			target = pos[1]
		}
		if cmd == "break" {
			return l.Break(ctx, pos[0], target)
		}
		return l.Mend(ctx, pos[0], target)
	case "exec":
		if len(pos) != 1 || len(rest) == 0 {
			return errors.New("exec: want <host> -- cmd [args...]")
		}
		c := l.Command(ctx, pos[0], rest...)
		c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
		err := c.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		return err
	case "vtysh":
		if len(pos) != 2 {
			return errors.New("vtysh: want <router> 'command'")
		}
		out, err := l.Vtysh(ctx, pos[0], pos[1])
		fmt.Print(out)
		return err
	case "forward":
		if len(pos) != 1 {
			return errors.New("forward: want the agent's PORT")
		}
		port, err := strconv.Atoi(pos[0])
		if err != nil || port < 1 || port > 65535 {
			return fmt.Errorf("forward: not a port: %q", pos[0])
		}
		addr := *listen
		if addr == "" {
			addr = net.JoinHostPort("127.0.0.1", pos[0])
		}
		return forward(ctx, l, addr, net.JoinHostPort(lab.AgentAddress, pos[0]), logf)
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// parseInterspersed parses flags wherever they stand among the positional
// arguments ("cut primary --silent").
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return fs.Parse(pos)
}

// up brings a lab up unless one with the same options is running.
func up(ctx context.Context, o lab.Options) error {
	if os.Geteuid() != 0 {
		return errors.New("up needs root")
	}
	dirs, err := lab.Running(o.Dir)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		l, err := lab.Attach(d)
		if err != nil || l.Alive() != nil {
			continue
		}
		if l.Edge() != o.Edge && !(o.Edge == "" && l.Edge() == lab.EdgeOne) {
			return fmt.Errorf("lab %s (%s edge) is running: dxlab down first", l.Prefix(), l.Edge())
		}
		if l.ProbeSources() != o.ProbeSources {
			return fmt.Errorf("lab %s is running with probe sources %v: dxlab down first", l.Prefix(), l.ProbeSources())
		}
		if l.TransitGateway() != o.TransitGateway {
			return fmt.Errorf("lab %s is running with transit gateway %v: dxlab down first", l.Prefix(), l.TransitGateway())
		}
		fmt.Printf("lab %s (%s edge) already up, run dir %s\n", l.Prefix(), l.Edge(), l.Dir())
		return nil
	}
	if err := lab.Install(ctx, o.Logf); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	start := time.Now()
	l, err := lab.Up(ctx, o)
	if err != nil {
		return err
	}
	fmt.Printf("lab %s (%s edge) up in %s, run dir %s\n", l.Prefix(), l.Edge(), time.Since(start).Round(time.Millisecond), l.Dir())
	fmt.Printf("namespaces: %s-<host>; try: dxlab status; dxlab exec agent -- traceroute -n %s\n", l.Prefix(), lab.Instance1)
	return nil
}

// down tears down the lab (or every lab with all). No lab is not an error.
func down(dir, name string, all bool, logf func(string, ...any)) error {
	var dirs []string
	if all {
		var err error
		if dirs, err = lab.Running(dir); err != nil {
			return err
		}
	} else {
		l, err := find(dir, name)
		if errors.Is(err, errNoLab) {
			fmt.Println("no lab running")
			return nil
		}
		if err != nil {
			return err
		}
		dirs = []string{l.Dir()}
	}
	var errs []error
	for _, d := range dirs {
		l, err := lab.Attach(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l.SetLogf(logf)
		errs = append(errs, l.Down())
	}
	return errors.Join(errs...)
}

var errNoLab = errors.New("no lab running (dxlab up)")

// find returns the lab named by prefix, or the only lab running.
func find(dir, prefix string) (*lab.Lab, error) {
	if prefix != "" {
		return lab.Attach(filepath.Join(dir, prefix))
	}
	dirs, err := lab.Running(dir)
	if err != nil {
		return nil, err
	}
	switch len(dirs) {
	case 0:
		return nil, errNoLab
	case 1:
		return lab.Attach(dirs[0])
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(d))
	}
	return nil, fmt.Errorf("several labs running (%s): choose one with --lab", strings.Join(names, ", "))
}

// status prints the lab's links, sessions, BFD and routes.
func status(ctx context.Context, l *lab.Lab, w io.Writer) error {
	if err := l.Alive(); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "lab %s, %s edge, mode %s, run dir %s\n\n", l.Prefix(), l.Edge(), l.Mode(), l.Dir())
	fmt.Fprintln(tw, "LINK\tSTATE")
	states := l.LinkStates()
	for _, k := range []string{lab.LinkPrimary, lab.LinkSecondary} {
		fmt.Fprintf(tw, "%s\t%s\n", k, states[k])
	}
	if f := l.ActiveFaults(); len(f) > 0 {
		fmt.Fprintf(tw, "\nfaults (dxlab mend to undo): %s\n", strings.Join(f, "; "))
	}
	fmt.Fprintln(tw, "\nROUTER\tNEIGHBOR\tDESC\tSTATE\tUP/DOWN\tPFX RCVD\tSENT\tBFD")
	for _, h := range l.Routers() {
		sum, err := l.BGPSummary(ctx, h)
		if err != nil {
			fmt.Fprintf(tw, "%s\terror: %v\n", h, err)
			continue
		}
		// The IPv6 peerings are sessions of their own, listed beside.
		sum6, err := l.BGPSummary6(ctx, h)
		if err != nil {
			fmt.Fprintf(tw, "%s\terror: %v\n", h, err)
		}
		maps.Copy(sum, sum6)
		bfd, _ := l.BFDPeers(ctx, h)
		var peers []string
		for p := range sum {
			peers = append(peers, p)
		}
		slices.Sort(peers)
		for _, p := range peers {
			s := sum[p]
			b := "-"
			if x, ok := bfd[p]; ok {
				b = x.Status
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", h, p, s.Desc, s.State, s.PeerUptime, s.PfxRcd, s.PfxSnt, b)
		}
	}
	fmt.Fprintln(tw, "\nROUTER\tTO\tROUTE\tVIA\tLINK")
	show := func(h, dst string) {
		r, ok, err := l.RouteTo(ctx, h, dst)
		switch {
		case err != nil:
			fmt.Fprintf(tw, "%s\t%s\terror: %v\n", h, dst, err)
		case !ok:
			fmt.Fprintf(tw, "%s\t%s\tnone\n", h, dst)
		default:
			var links []string
			for _, nh := range r.NextHops {
				if k := lab.LinkOf(nh); k != "" {
					links = append(links, k)
				}
				switch nh {
				case lab.AWS1Transit, lab.AWS1Transit6:
					links = append(links, lab.LinkPrimary)
				case lab.AWS2Transit, lab.AWS2Transit6:
					links = append(links, lab.LinkSecondary)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\n", h, dst, r.Protocol, r.Prefix, strings.Join(r.NextHops, ","), strings.Join(links, ","))
		}
	}
	for _, e := range l.Edges() {
		show(e, lab.Instance1)
		show(e, lab.Instance2)
		show(e, lab.Instance1v6)
		show(e, lab.Instance2v6)
	}
	show(lab.HostVPC, lab.AgentAddress)
	show(lab.HostVPC, lab.AgentAddress6)
	return nil
}

// forward accepts connections on the host's loopback and connects each one
// from inside the agent host to to: no route into the lab is needed.
func forward(ctx context.Context, l *lab.Lab, listen, to string, logf func(string, ...any)) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("forward: listen address %s is not a loopback address", listen)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); ln.Close() }()
	logf("forwarding %s to %s in the agent host; Ctrl-C to stop", listen, to)
	dial := l.DialContext(lab.HostAgent)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer c.Close()
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			u, err := dial(dctx, "tcp", to)
			cancel()
			if err != nil {
				logf("forward: %v", err)
				return
			}
			defer u.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			go func() { io.Copy(c, u); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}
