package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// EnvLab asks for the lab tests: they run only where it is "1" (make
// test-lab, make check and .ci/run set it), so that a plain `go test ./...`
// stays the quick unit run even as root.
const EnvLab = "DXWATCH_LAB"

// SkipMessage is why lab tests skip when they cannot run, and how to run
// them.
const SkipMessage = "a lab test: run it with make test-lab (root, FRR; it sets " + EnvLab + "=1), " +
	"or as root: " + EnvLab + "=1 go test -run '^TestLab' ./..."

// envChild marks a test binary re-run inside a lab host by StartChild;
// envDir carries the lab's run directory to it.
const (
	envChild = "DXLAB_CHILD"
	envDir   = "DXLAB_DIR"
)

// Available reports why the lab cannot run here, or nil: the lab tests
// were not asked for (EnvLab), or this is not root, or a tool is missing.
func Available() error {
	if os.Getenv(EnvLab) != "1" {
		return errors.New(EnvLab + " is not 1: lab tests run only when asked")
	}
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	return checkTools()
}

// Need skips a lab test that cannot run here, or was not asked for
// (EnvLab), or runs inside a StartChild child: call it before any costly
// set-up (building binaries), as ForTest does first.
func Need(t testing.TB) {
	t.Helper()
	if InChild() {
		t.Skip("inside a lab child: the parent owns the lab")
	}
	if err := Available(); err != nil {
		t.Skipf("%s (%v)", SkipMessage, err)
	}
}

// ForTest brings a lab up for a test, or skips the test (not root, FRR
// missing, or inside a StartChild child). The lab goes down in t.Cleanup,
// also when the test fails. Its run directory is under TestDir unless
// o.Dir says otherwise. The lab is owned by the test process
// (Options.Owned): if that process is killed (go test's timeout) before
// the cleanup, the next ForTest, or `dxlab down --stale --dir
// /run/dxlab/test`, reaps it.
func ForTest(t testing.TB, o Options) *Lab {
	t.Helper()
	Need(t)
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	if o.Dir == "" {
		o.Dir = TestDir
	}
	o.Owned = true
	// A test killed by its timeout leaves its lab running: the next lab
	// test reaps it, as `dxlab down --stale` does.
	if reaped, err := ReapStale(o.Dir, o.Logf); err != nil {
		t.Logf("reaping stale labs under %s: %v", o.Dir, err)
	} else if len(reaped) > 0 {
		t.Logf("reaped stale labs %v (their test processes were gone)", reaped)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := Up(ctx, o)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Cleanup(func() {
		l.SetLogf(func(string, ...any) {})
		if err := l.Down(); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return l
}

// InChild reports whether this test binary runs as a StartChild child.
func InChild() bool { return os.Getenv(envChild) != "" }

// FromChild returns the lab a StartChild child runs in.
func FromChild() (*Lab, error) {
	d := os.Getenv(envDir)
	if d == "" {
		return nil, errors.New("not a lab child: " + envDir + " unset")
	}
	return Attach(d)
}

// Child is a test binary re-run inside a lab host.
type Child struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
	err   error
}

// StartChild re-runs the current test binary inside a lab host's
// namespace, running only the test function name (which should call
// InChild and skip when false), with env added to its environment. The
// child's standard output is readable line by line with Line; its standard
// error goes to ours. The child is killed in t.Cleanup.
func StartChild(t testing.TB, l *Lab, host, name string, env ...string) *Child {
	t.Helper()
	c, err := startChild(l, host, name, env)
	if err != nil {
		t.Fatalf("start child %s in %s: %v", name, host, err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

func startChild(l *Lab, host, name string, env []string) (*Child, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := l.Command(context.Background(), host, exe, "-test.run", "^"+name+"$", "-test.count", "1", "-test.v")
	cmd.Env = append(append(os.Environ(), envChild+"=1", envDir+"="+l.Dir()), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	// Pdeathsig fires when the thread that forked the child exits, not the
	// process. inNamespace discards the threads it switched, and any pooled
	// thread may be one: so fork from a thread of our own, locked and kept
	// alive until the child has exited.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		c.err = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return c, nil
}

// Line returns the child's next line of standard output; io.EOF once the
// child has exited and every line was read.
func (c *Child) Line(ctx context.Context) (string, error) {
	select {
	case s, ok := <-c.lines:
		if !ok {
			return "", io.EOF
		}
		return s, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Wait waits for the child to exit (after its output is read) and returns
// its exit error.
func (c *Child) Wait() error {
	go func() {
		for range c.lines { //nolint:revive // drain so the child never blocks on stdout
		}
	}()
	<-c.done
	return c.err
}

// Stop terminates the child (SIGTERM, then SIGKILL after 5 s) and waits
// for it.
func (c *Child) Stop() error {
	select {
	case <-c.done:
		return c.err
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
	}
	err := c.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil // killed by us
	}
	if err != nil {
		return fmt.Errorf("child: %w", err)
	}
	return nil
}

// Run runs argv in a lab host with env (nil: this process's) and returns
// its standard output, its exit code and its standard error. A command
// that could not run at all fails the test.
func Run(ctx context.Context, t testing.TB, l *Lab, host string, env []string, argv ...string) (stdout []byte, code int, stderr string) {
	t.Helper()
	cmd := l.Command(ctx, host, argv...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s in %s: %v\n%s", strings.Join(argv, " "), host, err, errb.String())
	}
	return out.Bytes(), code, errb.String()
}
