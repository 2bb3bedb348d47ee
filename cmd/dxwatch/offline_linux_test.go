package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/golden"
)

// envMain makes the test binary run dxwatch itself: the offline test runs
// it inside a network namespace of its own.
const envMain = "DXWATCH_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envMain) != "" {
		os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// offlineConfig is a whole site: link-pinned pings, VPC targets, traces,
// a BGP peer and AWS, none of which a machine off the network can reach.
const offlineConfig = `site: dc1
links:
  - name: primary
    role: primary
    customer_address: 169.254.10.2/30
    amazon_address: 169.254.10.1/30
    vlan: 101
  - name: secondary
    role: secondary
    customer_address: 169.254.20.2/30
    amazon_address: 169.254.20.1/30
    vlan: 102
targets:
  - name: app1
    address: 10.20.1.10
routing:
  mode: active_passive
  expected_prefixes: [10.20.0.0/16]
bgp:
  local_asn: 65010
  router_id: 10.1.0.50
  peers:
    - name: edge1
      address: 10.1.0.1
aws:
  regions: [eu-central-1]
  dx_gateway_id: 5f0c2f4e-7a51-4b2d-9e6c-3a8d1b7f0e21
  timeout: 3s
`

// TestLabVerifyOffline: `dxwatch verify` on a host with no route anywhere
// (a network namespace with only its loopback up) says, for each part,
// what it observed and the fix that applies to that: no route to the
// peers, the AWS endpoint unreachable in a one-shot run. The report is
// compared, with times and counts masked, to testdata/verify-offline.golden.
func TestLabVerifyOffline(t *testing.T) {
	if os.Getenv(lab.EnvLab) != "1" || os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace: " + lab.SkipMessage)
	}
	ns := fmt.Sprintf("dxoff%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", ns, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v\n%s", err, out)
	}
	cfg := filepath.Join(t.TempDir(), "dxwatch.yaml")
	if err := os.WriteFile(cfg, []byte(offlineConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, os.Args[0], "verify", "--config", cfg)
	cmd.Env = append(os.Environ(), envMain+"=1",
		"AWS_ACCESS_KEY_ID=AKIDOFFLINE", "AWS_SECRET_ACCESS_KEY=offline", "AWS_REGION=eu-central-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_ENDPOINT_URL=https://192.0.2.1") // an address literal: no DNS, whose answer would depend on the machine
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("verify: %v, want exit status 1 (checks failed)\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	golden.Check(t, "testdata/verify-offline.golden", maskOffline(stdout.Bytes()))
	// A link never seen up is not logged as having gone down from up.
	if m := regexp.MustCompile(`link state changed[^\n]*previous=up`).Find(stderr.Bytes()); m != nil {
		t.Errorf("logged %q for a link that was never up", m)
	}
}

// maskOffline replaces what changes from run to run: times, durations and
// the counts of echoes and attempts.
func maskOffline(b []byte) []byte {
	for _, r := range []struct{ re, with string }{
		{`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`, "TIME"},
		{`\d+ consecutive echoes`, "N consecutive echoes"},
		{`\d+ of the last \d+ echoes`, "N of the last N echoes"},
		{`\(\d+ echoes to`, "(N echoes to"},
		{`failed after \d+ attempts in [0-9.]+m?s`, "failed after N attempts in D"},
		{`\(\d+(\.\d+)?m?s\)\n$`, "(D)\n"},
	} {
		b = regexp.MustCompile(r.re).ReplaceAll(b, []byte(r.with))
	}
	return b
}
