package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dxwatch/dxwatch/lab/awstest"
)

// TestLoaCommand downloads an LOA-CFA from the fake AWS endpoint: the PDF
// is written, the command warns that it re-issues the document, and
// DescribeLoa is called exactly once.
func TestLoaCommand(t *testing.T) {
	const conn = "dxcon-fgq2wz1k" // links[0] of examples/dedicated.yaml
	sc := awstest.LabScenario()
	c := sc.Connection(awstest.LabConnection1)
	c.ConnectionID, c.ConnectionState, c.Region = conn, "pending", "eu-central-1"
	srv, url := awstest.Start(t, sc)
	for _, kv := range sc.Env(url, "eu-central-1") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	out := filepath.Join(t.TempDir(), "loa.pdf")
	var stdout, stderr bytes.Buffer
	code := dispatch([]string{"loa", "--config", "../../examples/dedicated.yaml", "--connection", conn, "--out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("dxwatch loa = %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "re-issues the LOA-CFA of "+conn) {
		t.Errorf("no re-issue warning: %s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "wrote the LOA-CFA of "+conn) || !strings.Contains(stdout.String(), "never downloaded before") {
		t.Errorf("stdout: %s", stdout.String())
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Errorf("%s: %q %v", out, b, err)
	}
	if n := srv.Calls()["directconnect:DescribeLoa"]; n != 1 {
		t.Errorf("DescribeLoa called %d times, want 1", n)
	}

	code = dispatch([]string{"loa", "--config", "../../examples/dedicated.yaml", "--out", out}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "--connection and --out are required") {
		t.Errorf("without --connection: %d %s", code, stderr.String())
	}
}
