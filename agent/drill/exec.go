package drill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"
)

// DefaultExecTimeout bounds each of ExecMethod's commands when its Timeout
// is zero.
const DefaultExecTimeout = 30 * time.Second

// maxExecOutput is how much of a command's output ExecMethod keeps (the
// end of it) for its log line and error.
const maxExecOutput = 4 << 10

// ExecMethod fails the primary over with commands of the operator's own: a
// router's CLI over ssh, an SDN controller's API, or the lab's
// `dxlab cut primary` and `dxlab restore primary`. Each runs through
// `sh -c`, bounded by Timeout; its output is logged, and a non-zero exit is
// an error that names the command.
type ExecMethod struct {
	// CutCommand takes the primary out of service.
	CutCommand string
	// RestoreCommand puts it back.
	RestoreCommand string
	// Timeout bounds each command (default DefaultExecTimeout); a command
	// still running then is killed.
	Timeout time.Duration
	// Logger receives each command's output (Info); nil discards it.
	Logger *slog.Logger
}

// Name implements Method.
func (m *ExecMethod) Name() string { return "exec" }

// Fail implements Method: it runs CutCommand.
func (m *ExecMethod) Fail(ctx context.Context) (string, error) {
	return m.run(ctx, "cut", m.CutCommand)
}

// Restore implements Method: it runs RestoreCommand.
func (m *ExecMethod) Restore(ctx context.Context) (string, error) {
	return m.run(ctx, "restore", m.RestoreCommand)
}

// run runs one command and returns what was done, for the report.
func (m *ExecMethod) run(ctx context.Context, step, command string) (string, error) {
	if strings.TrimSpace(command) == "" {
		return "", fmt.Errorf("%s: no command given", step)
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultExecTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var out tailBuffer
	c := exec.CommandContext(ctx, "sh", "-c", command)
	c.Stdout, c.Stderr = &out, &out
	// A child of the shell that keeps the output open must not hold Wait
	// past the timeout.
	c.WaitDelay = time.Second
	start := time.Now()
	err := c.Run()
	took := time.Since(start).Round(time.Millisecond)
	logger := m.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger.Info("drill command ran", "step", step, "command", command, "took", took, "output", out.String(), "err", err)
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "", fmt.Errorf("%s command %q did not finish within %s%s", step, command, timeout, out.suffix())
	case errors.As(err, &ee):
		return "", fmt.Errorf("%s command %q exited with status %d%s", step, command, ee.ExitCode(), out.suffix())
	case err != nil:
		return "", fmt.Errorf("%s command %q: %w", step, command, err)
	}
	return fmt.Sprintf("%s: ran %q (%s)", step, command, took), nil
}

// tailBuffer keeps the last maxExecOutput bytes written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - maxExecOutput; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.TrimSpace(t.b)) }

// suffix is the output for an error message: ": output" or nothing.
func (t *tailBuffer) suffix() string {
	if s := t.String(); s != "" {
		return ": " + s
	}
	return ""
}
