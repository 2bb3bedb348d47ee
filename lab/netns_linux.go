package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
)

// inNamespace runs f on a fresh OS thread switched into the namespace of a
// lab host. The thread is never switched back: it dies with the goroutine
// (a locked thread is discarded when its goroutine exits), so no other
// goroutine ever runs in the lab's namespace by accident. Sockets f opens
// stay in the lab namespace whichever thread uses them later.
func inNamespace(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		h, err := netns.GetFromName(ns)
		if err != nil {
			errc <- fmt.Errorf("open namespace %s: %w", ns, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// DialContext returns a dial function that connects from inside a lab
// host's namespace, for HTTP clients (http.Transport.DialContext) and gRPC
// in tests: the connection starts and ends inside the lab.
func (l *Lab) DialContext(host string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	ns := l.Namespace(host)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := inNamespace(ns, func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// Listen opens a listener inside a lab host's namespace (for example a BMP
// station on AgentAddress:BMPPort in the agent host); Accept works from
// any goroutine.
func (l *Lab) Listen(host, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := inNamespace(l.Namespace(host), func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// nsInode returns the inode identifying a named network namespace.
func nsInode(ns string) (uint64, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join("/run/netns", ns), &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}

// pidsIn returns the processes whose network namespace is one of nss.
func pidsIn(nss []string) []int {
	inodes := map[uint64]bool{}
	for _, ns := range nss {
		if ino, ok := nsInode(ns); ok {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join("/proc", e.Name(), "ns", "net"), &st) != nil {
			continue
		}
		if inodes[st.Ino] && !zombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// zombie reports whether pid has exited (or is gone).
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}

// killNamespaces terminates every process in the namespaces: SIGTERM
// (FRR daemons exit cleanly and remove their /var/tmp/frr files), then
// SIGKILL for whatever is left after grace.
func killNamespaces(nss []string, grace time.Duration) error {
	pids := pidsIn(nss)
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for len(pids) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		pids = alive(pids)
	}
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	deadline = time.Now().Add(2 * time.Second)
	for len(pids) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		pids = alive(pids)
	}
	if len(pids) > 0 {
		return fmt.Errorf("processes %v survive SIGKILL", pids)
	}
	if left := pidsIn(nss); len(left) > 0 {
		return errors.New("processes started in the lab while it went down: " + fmt.Sprint(left))
	}
	return nil
}

func alive(pids []int) []int {
	var r []int
	for _, p := range pids {
		if !zombie(p) {
			r = append(r, p)
		}
	}
	return r
}
