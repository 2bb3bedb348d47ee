// The lab itself: Up builds the namespaces, links, addresses and FRR
// routers of a Direct Connect site on this host, Down takes them away, and
// a lab's state file lets a later dxlab act on it. Package doc: doc.go.

package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Routing modes, spelled as in the dxwatch configuration (probes'
// ModeActivePassive and ModeActiveActive; a test checks that they agree).
// The lab does not import the product's packages.
const (
	ModeActivePassive = "active_passive"
	ModeActiveActive  = "active_active"
)

// DefaultDir is where labs keep their run directories (one per lab, named
// after its prefix) so that dxlab and people find running labs. Labs of
// tests live in TestDir, apart from the ones people bring up with dxlab.
const (
	DefaultDir = "/run/dxlab"
	TestDir    = DefaultDir + "/test"
)

// FRRDir is where Debian installs the FRR daemons.
const FRRDir = "/usr/lib/frr"

// Options choose the lab variant.
type Options struct {
	// Edge is EdgeOne (default) or EdgeTwo.
	Edge string
	// NoBFD leaves BFD off: failures are then noticed by carrier loss or
	// the 90 s hold timer only.
	NoBFD bool
	// AgentMD5 puts the MD5 key AgentMD5 on the edges' sessions with the agent.
	AgentMD5 bool
	// ProbeSources gives the agent host one extra address per link
	// (PrimaryProbeSource, SecondaryProbeSource) that the link's edge routes
	// to it and advertises as a /32 over that link only: echoes sent from
	// it come back over that link (dxwatch's links[].probe_source).
	ProbeSources bool
	// TransitGateway models a Transit Gateway site (transit VIFs): each AWS
	// router refuses traffic to its peer address (the Amazon end of the
	// /30) from anything but the customer end, as the /30 of a transit VIF
	// is not reachable through a transit gateway; with ProbeSources the
	// edges also send traffic from each link's probe source to the VPC over
	// that link (policy routing by source), so that each monitored address
	// probes its own link both ways.
	TransitGateway bool
	// Dir holds the lab's run directory, Dir/<prefix>. Default DefaultDir.
	Dir string
	// Owned ties the lab to this process (a test, the demo): once the
	// process is gone without taking the lab down (a test killed by its
	// timeout), the lab is stale, and Stale, the next ForTest and `dxlab
	// down --stale` find and reap it. A lab that is not owned (`dxlab up`)
	// is never stale.
	Owned bool
	// Logf receives progress lines. Default: discard.
	Logf func(format string, args ...any)
}

// Link states kept in the state file.
const (
	stateUp     = "up"
	stateCut    = "cut"
	stateSilent = "silent"
	// stateSilent4 and stateSilent6: a silent cut of one address family.
	stateSilent4  = "silent-ipv4"
	stateSilent6  = "silent-ipv6"
	stateBrownout = "brownout"
)

// state is the lab's state file, state.json in its run directory: what a
// later dxlab invocation needs to act on a running lab.
type state struct {
	Prefix   string            `json:"prefix"`
	Dir      string            `json:"dir"`
	Edge     string            `json:"edge"`
	NoBFD    bool              `json:"no_bfd"`
	AgentMD5 bool              `json:"agent_md5"`
	Probe    bool              `json:"probe_sources,omitempty"`
	TGW      bool              `json:"transit_gateway,omitempty"`
	Mode     string            `json:"mode"`
	Links    map[string]string `json:"links"` // link name -> up, cut, silent, brownout
	Loss     map[string]int    `json:"loss,omitempty"`
	Faults   []string          `json:"faults,omitempty"` // Break's faults, "fault target"
	Created  time.Time         `json:"created"`
	Owner    *owner            `json:"owner,omitempty"` // Options.Owned
}

// Lab is a running lab.
type Lab struct {
	topo *topology
	logf func(string, ...any)

	mu sync.Mutex
	st state
}

// Prefix returns the lab's per-run prefix (namespace names are <prefix>-<host>).
func (l *Lab) Prefix() string { return l.st.Prefix }

// Dir returns the lab's run directory.
func (l *Lab) Dir() string { return l.st.Dir }

// Edge returns the edge variant.
func (l *Lab) Edge() string { return l.topo.Edge }

// ProbeSources reports whether the lab was built with Options.ProbeSources.
func (l *Lab) ProbeSources() bool { return l.topo.ProbeSources }

// TransitGateway reports whether the lab was built with Options.TransitGateway.
func (l *Lab) TransitGateway() bool { return l.topo.TransitGateway }

// Namespace returns the network namespace of a lab host.
func (l *Lab) Namespace(host string) string { return namespace(l.st.Prefix, host) }

// Hosts returns the names of the lab's hosts.
func (l *Lab) Hosts() []string {
	var hs []string
	for _, h := range l.topo.Hosts {
		hs = append(hs, h.Name)
	}
	return hs
}

// Routers returns the names of the hosts that run FRR.
func (l *Lab) Routers() []string { return l.topo.routers() }

// Edges returns the names of the edge routers.
func (l *Lab) Edges() []string { return l.topo.edges() }

// namespace names a lab host's network namespace.
func namespace(prefix, host string) string { return prefix + "-" + host }

// newPrefix returns a fresh per-run prefix: "dxl" and four hex digits.
func newPrefix() string {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return "dxl" + hex.EncodeToString(b[:])
}

// validPrefix reports whether p looks like a prefix newPrefix made.
func validPrefix(p string) bool {
	if len(p) != 7 || !strings.HasPrefix(p, "dxl") {
		return false
	}
	_, err := hex.DecodeString(p[3:])
	return err == nil
}

// Up builds a new lab and returns once it has converged: every session
// Established, BFD up, best routes in the kernels.
func Up(ctx context.Context, o Options) (*Lab, error) {
	start := time.Now()
	topo, err := newTopology(o)
	if err != nil {
		return nil, err
	}
	if err := checkTools(); err != nil {
		return nil, err
	}
	if o.Dir == "" {
		o.Dir = DefaultDir
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var prefix, dir string
	for range 10 {
		// MkdirAll each time: a lab going down removes the parent when it
		// was the last one in it.
		if err = os.MkdirAll(o.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("lab dir: %w", err)
		}
		prefix = newPrefix()
		dir = filepath.Join(o.Dir, prefix)
		if err = os.Mkdir(dir, 0o755); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lab run dir: %w", err)
	}
	l := &Lab{topo: topo, logf: logf, st: state{
		Prefix: prefix, Dir: dir, Edge: topo.Edge, NoBFD: o.NoBFD, AgentMD5: o.AgentMD5, Probe: o.ProbeSources, TGW: o.TransitGateway,
		Mode: ModeActivePassive, Links: map[string]string{}, Created: time.Now().UTC(),
	}}
	for _, lk := range topo.Links {
		l.st.Links[lk.Name] = stateUp
	}
	if o.Owned {
		me, err := self()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		l.st.Owner = &me
	}
	if err := l.save(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := l.build(ctx); err != nil {
		l.logf("lab %s: up failed, tearing down: %v", prefix, err)
		if derr := l.Down(); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, err
	}
	l.logf("lab %s (%s edge) up in %s, run dir %s", prefix, topo.Edge, time.Since(start).Round(time.Millisecond), dir)
	return l, nil
}

// build creates the namespaces, links, addresses and daemons, and waits
// for the lab to converge.
func (l *Lab) build(ctx context.Context) error {
	start := time.Now()
	t := l.topo
	var batch []string
	for _, h := range t.Hosts {
		batch = append(batch, "netns add "+l.Namespace(h.Name))
	}
	if err := ipBatch(ctx, "", batch); err != nil {
		return fmt.Errorf("create namespaces: %w", err)
	}
	// Sysctls first, so that the interfaces created next inherit the
	// "default" values.
	if err := parallel(t.Hosts, func(h host) error {
		return l.sysctls(ctx, h)
	}); err != nil {
		return err
	}
	batch = batch[:0]
	for _, v := range t.Veths {
		batch = append(batch, fmt.Sprintf("link add %s netns %s type veth peer name %s netns %s",
			v.AIf, l.Namespace(v.A), v.BIf, l.Namespace(v.B)))
	}
	if err := ipBatch(ctx, "", batch); err != nil {
		return fmt.Errorf("create veths: %w", err)
	}
	if err := parallel(t.Hosts, func(h host) error {
		if err := ipBatch(ctx, l.Namespace(h.Name), h.Setup); err != nil {
			return fmt.Errorf("set up %s: %w", h.Name, err)
		}
		if h.Router {
			return l.startRouter(ctx, h.Name)
		}
		return nil
	}); err != nil {
		return err
	}
	if t.TransitGateway {
		if err := l.transitPeers(ctx); err != nil {
			return err
		}
	}
	l.logf("lab %s: daemons started in %s, waiting for convergence", l.st.Prefix, time.Since(start).Round(time.Millisecond))
	return l.WaitConverged(ctx)
}

// sysctls sets a host's kernel knobs: routers forward, never redirect,
// answer traceroute from the inbound interface's address (so hops show the
// link addresses) and hash ECMP on L4; nobody rate-limits ICMP errors (the
// trace probe sends all TTLs at once). IPv6 is on, in both roles, without
// router advertisements or autoconfiguration (every address is static), and
// an interface keeps its addresses while its carrier is cut, as IPv4 does.
func (l *Lab) sysctls(ctx context.Context, h host) error {
	fwd := "0"
	if h.Router {
		fwd = "1"
	}
	args := []string{"netns", "exec", l.Namespace(h.Name), "sysctl", "-q", "-w",
		"net.ipv4.ip_forward=" + fwd,
		"net.ipv4.icmp_errors_use_inbound_ifaddr=1",
		"net.ipv4.icmp_ratelimit=0",
		"net.ipv4.fib_multipath_hash_policy=1",
		"net.ipv4.conf.all.send_redirects=0",
		"net.ipv4.conf.default.send_redirects=0",
		"net.ipv4.conf.all.accept_redirects=0",
		"net.ipv4.conf.default.accept_redirects=0",
		"net.ipv4.conf.all.rp_filter=0",
		"net.ipv4.conf.default.rp_filter=0",
		"net.ipv6.conf.all.disable_ipv6=0",
		"net.ipv6.conf.default.disable_ipv6=0",
		"net.ipv6.conf.all.forwarding=" + fwd,
		"net.ipv6.conf.all.accept_ra=0",
		"net.ipv6.conf.default.accept_ra=0",
		"net.ipv6.conf.all.autoconf=0",
		"net.ipv6.conf.default.autoconf=0",
		"net.ipv6.conf.all.accept_redirects=0",
		"net.ipv6.conf.default.accept_redirects=0",
		"net.ipv6.conf.all.accept_dad=0",
		"net.ipv6.conf.default.accept_dad=0",
		"net.ipv6.conf.all.keep_addr_on_down=1",
		"net.ipv6.conf.default.keep_addr_on_down=1",
		"net.ipv6.icmp.ratelimit=0",
		"net.ipv6.fib_multipath_hash_policy=1",
	}
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("sysctls in %s: %w: %s", h.Name, err, bytes.TrimSpace(out))
	}
	return nil
}

// hostDir is a router's directory for configs, sockets, pid and log files.
func (l *Lab) hostDir(h string) string { return filepath.Join(l.st.Dir, h) }

// startRouter writes a router's configs and starts zebra, then bfdd and
// bgpd, each in the router's namespace, as the frr user.
func (l *Lab) startRouter(ctx context.Context, h string) error {
	cfg, err := l.topo.renderRouter(h, l.st.Mode)
	if err != nil {
		return err
	}
	files := map[string]string{"zebra.conf": cfg.Zebra, "bgpd.conf": cfg.BGP}
	daemons := []string{"bgpd"}
	if cfg.BFD != "" {
		files["bfdd.conf"] = cfg.BFD
		daemons = append(daemons, "bfdd")
	}
	return l.startDaemons(ctx, h, files, daemons)
}

// startDaemons writes files into the host's directory and starts zebra
// and then the other daemons.
func (l *Lab) startDaemons(ctx context.Context, h string, files map[string]string, daemons []string) error {
	dir := l.hostDir(h)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s dir: %w", h, err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o640); err != nil {
			return fmt.Errorf("%s config: %w", h, err)
		}
	}
	if err := chownFRR(dir); err != nil {
		return err
	}
	// zebra first: the others connect to its socket and retry only after 10 s.
	if err := l.startDaemon(ctx, h, "zebra"); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(daemons))
	for i, d := range daemons {
		wg.Go(func() { errs[i] = l.startDaemon(ctx, h, d) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startDaemon starts one FRR daemon daemonized: it returns once the daemon
// has read its config and opened its sockets.
func (l *Lab) startDaemon(ctx context.Context, h, d string, extra ...string) error {
	dir := l.hostDir(h)
	args := []string{"netns", "exec", l.Namespace(h), filepath.Join(FRRDir, d),
		"-d", "-u", "frr", "-g", "frr", "-P", "0",
		"-f", filepath.Join(dir, d+".conf"),
		"-i", filepath.Join(dir, d+".pid"),
		"-z", filepath.Join(dir, "zserv.api"),
		"--vty_socket", dir,
		"--log", "file:" + filepath.Join(dir, d+".log"),
	}
	switch d {
	case "bgpd":
		args = append(args, "-M", "bmp")
	case "bfdd":
		args = append(args, "--bfdctl", filepath.Join(dir, "bfdd.sock"))
	}
	args = append(args, extra...)
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("start %s in %s: %w: %s", d, h, err, bytes.TrimSpace(out))
	}
	return nil
}

// chownFRR hands a router directory to the frr user, which the daemons
// run as (FRR insists its vty users be in the frrvty group, which root
// usually is not).
func chownFRR(dir string) error {
	u, err := user.Lookup("frr")
	if err != nil {
		return fmt.Errorf("frr user: %w (install FRR: apt-get install frr)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
}

// Down stops every process in the lab's namespaces, deletes the
// namespaces and removes the run directory. It is safe to call twice.
func (l *Lab) Down() error {
	start := time.Now()
	var nss []string
	for _, h := range l.topo.Hosts {
		nss = append(nss, l.Namespace(h.Name))
	}
	err := teardown(nss, l.st.Dir)
	l.logf("lab %s down in %s", l.st.Prefix, time.Since(start).Round(time.Millisecond))
	return err
}

// teardown kills every process in the namespaces, deletes them and
// removes dir.
func teardown(nss []string, dir string) error {
	var errs []error
	if err := killNamespaces(nss, 3*time.Second); err != nil {
		errs = append(errs, err)
	}
	var batch []string
	for _, ns := range nss {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
			batch = append(batch, "netns del "+ns)
		}
	}
	if len(batch) > 0 {
		if err := ipBatch(context.Background(), "", batch); err != nil {
			errs = append(errs, fmt.Errorf("delete namespaces: %w", err))
		}
	}
	if dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
		// The parents, if that was the last lab in them.
		if parent := filepath.Dir(dir); os.Remove(parent) == nil && filepath.Dir(parent) == DefaultDir {
			os.Remove(DefaultDir)
		}
	}
	return errors.Join(errs...)
}

// save writes the state file.
func (l *Lab) save() error {
	b, err := json.MarshalIndent(l.st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(l.st.Dir, "state.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	return os.Rename(tmp, filepath.Join(l.st.Dir, "state.json"))
}

// Attach returns the lab whose run directory is dir (as Lab.Dir reports),
// for acting on a lab another process brought up.
func Attach(dir string) (*Lab, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("attach lab: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("attach lab: %s: %w", dir, err)
	}
	topo, err := newTopology(Options{Edge: st.Edge, NoBFD: st.NoBFD, AgentMD5: st.AgentMD5, ProbeSources: st.Probe, TransitGateway: st.TGW})
	if err != nil {
		return nil, fmt.Errorf("attach lab: %w", err)
	}
	st.Dir = dir
	return &Lab{topo: topo, logf: func(string, ...any) {}, st: st}, nil
}

// SetLogf sets where an attached lab logs progress.
func (l *Lab) SetLogf(f func(string, ...any)) { l.logf = f }

// Running lists the run directories of the labs under dir (DefaultDir if
// empty), oldest first.
func Running(dir string) ([]string, error) {
	if dir == "" {
		dir = DefaultDir
	}
	ms, err := filepath.Glob(filepath.Join(dir, "dxl*", "state.json"))
	if err != nil {
		return nil, err
	}
	var r []string
	for _, m := range ms {
		d := filepath.Dir(m)
		if validPrefix(filepath.Base(d)) {
			r = append(r, d)
		}
	}
	return r, nil
}

// Stale lists the run directories of the labs under dir (DefaultDir if
// empty) whose owning process is gone (Options.Owned).
func Stale(dir string) ([]string, error) {
	dirs, err := Running(dir)
	if err != nil {
		return nil, err
	}
	var r []string
	for _, d := range dirs {
		l, err := Attach(d)
		if err != nil {
			continue // being written, or not a lab: not ours to reap
		}
		if l.st.Owner != nil && l.st.Owner.gone() {
			r = append(r, d)
		}
	}
	return r, nil
}

// ReapStale takes down the labs under dir whose owning process is gone
// and returns their prefixes.
func ReapStale(dir string, logf func(string, ...any)) ([]string, error) {
	dirs, err := Stale(dir)
	if err != nil {
		return nil, err
	}
	var reaped []string
	var errs []error
	for _, d := range dirs {
		l, err := Attach(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if logf != nil {
			l.SetLogf(logf)
		}
		l.logf("lab %s: its owner (pid %d) is gone, reaping it", l.st.Prefix, l.st.Owner.PID)
		if err := l.Down(); err != nil {
			errs = append(errs, err)
			continue
		}
		reaped = append(reaped, l.st.Prefix)
	}
	return reaped, errors.Join(errs...)
}

// Exec runs argv inside a lab host and returns its standard output; the
// error carries its standard error.
func (l *Lab) Exec(ctx context.Context, host string, argv ...string) ([]byte, error) {
	cmd := l.Command(ctx, host, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s in %s: %w: %s", strings.Join(argv, " "), host, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// Command returns a command that runs argv inside a lab host, for
// long-running processes. Down kills whatever still runs in the lab.
func (l *Lab) Command(ctx context.Context, host string, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.Namespace(host)}, argv...)...)
}

// Vtysh runs one or more vtysh commands (separated by newlines) on a lab
// router and returns the output.
func (l *Lab) Vtysh(ctx context.Context, host, command string) (string, error) {
	return l.vtysh(ctx, host, strings.Split(command, "\n")...)
}

func (l *Lab) vtysh(ctx context.Context, host string, cmds ...string) (string, error) {
	args := []string{"--vty_socket", l.hostDir(host)}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "vtysh", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("vtysh on %s: %q: %w: %s", host, cmds, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return string(out), nil
}

// ipBatch runs `ip -batch` lines, inside namespace ns if not empty.
func ipBatch(ctx context.Context, ns string, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	args := []string{"-batch", "-"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// parallel runs f on every item at once and joins the errors.
func parallel[T any](items []T, f func(T) error) error {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() { errs[i] = f(it) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// checkTools reports what the lab needs and cannot find.
func checkTools() error {
	var missing []string
	for _, p := range []string{FRRDir + "/zebra", FRRDir + "/bgpd", FRRDir + "/bfdd"} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	for _, b := range []string{"ip", "vtysh", "nft", "sysctl"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("lab needs %s: run `go run ./lab/cmd/dxlab up` once as root (it installs %s) or apt-get install them",
			strings.Join(missing, ", "), strings.Join(Packages, " "))
	}
	if os.Geteuid() != 0 {
		return errors.New("lab needs root (network namespaces, FRR)")
	}
	return nil
}

// Packages are the Debian packages the lab and its tests use.
var Packages = []string{"frr", "iproute2", "nftables", "traceroute", "fping", "procps"}

// Install installs the missing Debian packages of Packages with apt-get.
func Install(ctx context.Context, logf func(string, ...any)) error {
	var missing []string
	for _, p := range Packages {
		out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Status}", p).Output()
		if err != nil || !strings.Contains(string(out), "install ok installed") {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if logf != nil {
		logf("installing %s", strings.Join(missing, " "))
	}
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w: %s", strings.Join(args, " "), err, lastLines(out, 5))
		}
		return nil
	}
	if err := run(append([]string{"install", "-y", "--no-install-recommends"}, missing...)...); err != nil {
		if uerr := run("update"); uerr != nil {
			return uerr
		}
		if err := run(append([]string{"install", "-y", "--no-install-recommends"}, missing...)...); err != nil {
			return err
		}
	}
	// Debian starts the packaged FRR service where it can; the lab runs its
	// own daemons, in its namespaces.
	if slices.Contains(missing, "frr") {
		if exec.CommandContext(ctx, "service", "frr", "stop").Run() != nil {
			exec.CommandContext(ctx, "systemctl", "stop", "frr").Run() //nolint:errcheck // best effort
		}
	}
	return nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
