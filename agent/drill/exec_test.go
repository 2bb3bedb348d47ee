package drill_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/agent/drill"
)

// TestExecMethod runs the cut and restore commands through sh -c: what
// they do happens, their output is logged, and a failing or hanging
// command is an error naming it.
func TestExecMethod(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "primary")
	tests := []struct {
		name             string
		cut, restore     string
		timeout          time.Duration
		wantCut, wantRes string // error substrings; "" for none
		wantState        string // content of state after both
		wantLog          string
	}{
		{name: "both succeed", cut: "echo cut >" + state + " && echo cutting primary",
			restore: "echo restored >" + state, wantState: "restored", wantLog: "cutting primary"},
		{name: "cut exits non-zero", cut: "echo no such link >&2; exit 3", restore: "echo restored >" + state,
			wantCut: `cut command "echo no such link >&2; exit 3" exited with status 3: no such link`, wantState: "restored"},
		{name: "restore exits non-zero", cut: "echo cut >" + state, restore: "false",
			wantRes: `restore command "false" exited with status 1`, wantState: "cut"},
		{name: "no command", cut: " ", restore: "true", wantCut: "cut: no command given"},
		{name: "timeout", cut: "sleep 30", restore: "true", timeout: 200 * time.Millisecond,
			wantCut: `cut command "sleep 30" did not finish within 200ms`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(state)
			var logs bytes.Buffer
			m := &drill.ExecMethod{CutCommand: tc.cut, RestoreCommand: tc.restore, Timeout: tc.timeout,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			if m.Name() != "exec" {
				t.Errorf("name %q", m.Name())
			}
			check := func(step string, detail string, err error, want string) {
				t.Helper()
				switch {
				case want == "" && err != nil:
					t.Errorf("%s: %v", step, err)
				case want == "" && !strings.HasPrefix(detail, step+": ran "):
					t.Errorf("%s: detail %q", step, detail)
				case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("%s: error %v, want one containing %q", step, err, want)
				}
			}
			detail, err := m.Fail(context.Background())
			check("cut", detail, err, tc.wantCut)
			detail, err = m.Restore(context.Background())
			check("restore", detail, err, tc.wantRes)
			if tc.wantState != "" {
				b, _ := os.ReadFile(state)
				if got := strings.TrimSpace(string(b)); got != tc.wantState {
					t.Errorf("state %q, want %q", got, tc.wantState)
				}
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}
