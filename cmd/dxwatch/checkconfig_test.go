package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dxwatch/dxwatch/lab/golden"
)

// md5Config is a site whose BGP peers name their MD5 keys every way that
// can go wrong, and two ways that are right (DIR is the test's directory).
const md5Config = `site: dc1
links:
  - name: primary
    role: primary
    customer_address: 169.254.10.2/30
    amazon_address: 169.254.10.1/30
    vlan: 101
targets:
  - name: loopback
    address: 127.0.0.1
ping:
  link_pinned: false
bgp:
  local_asn: 65000
  router_id: 192.0.2.10
  peers:
    - {name: missing, address: 192.0.2.1, md5_key_file: DIR/missing.md5}
    - {name: directory, address: 192.0.2.2, md5_key_file: DIR}
    - {name: empty, address: 192.0.2.3, md5_key_file: DIR/empty.md5}
    - {name: long-file, address: 192.0.2.4, md5_key_file: DIR/long.md5}
    - {name: unset-env, address: 192.0.2.5, md5_key_env: DXWATCH_TEST_MD5_UNSET}
    - {name: long-env, address: 192.0.2.6, md5_key_env: DXWATCH_TEST_MD5_LONG}
    - {name: good-file, address: 192.0.2.7, md5_key_file: DIR/good.md5}
    - {name: good-env, address: 192.0.2.8, md5_key_env: DXWATCH_TEST_MD5_GOOD}
`

// needle is in every key the test writes: no output may show it.
const needle = "s3cr3t-needle"

func writeMD5Site(t *testing.T) (dir, cfgFile string) {
	t.Helper()
	dir = t.TempDir()
	files := map[string]string{
		"empty.md5": "\n",
		"long.md5":  needle + strings.Repeat("x", 81-len(needle)) + "\n",
		// 80 bytes and the newline an editor adds: the most a key may be.
		"good.md5":     needle + strings.Repeat("g", 80-len(needle)) + "\n",
		"dxwatch.yaml": strings.ReplaceAll(md5Config, "DIR", dir),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("DXWATCH_TEST_MD5_LONG", needle+strings.Repeat("y", 100))
	t.Setenv("DXWATCH_TEST_MD5_GOOD", needle)
	return dir, filepath.Join(dir, "dxwatch.yaml")
}

// TestCheckConfigMD5Keys: check-config reads each peer's key file or
// variable as run does, reports each one that run would refuse at its path
// and line, and never prints a key.
func TestCheckConfigMD5Keys(t *testing.T) {
	dir, cfgFile := writeMD5Site(t)
	var out bytes.Buffer
	if code := dispatch([]string{"check-config", "--config", cfgFile}, &out, &out); code != 1 {
		t.Errorf("check-config = %d, want 1", code)
	}
	got := strings.ReplaceAll(out.String(), dir, "DIR")
	golden.Check(t, "testdata/check-config-md5.golden", []byte(got))
	if strings.Contains(out.String(), needle) {
		t.Errorf("check-config printed a key:\n%s", out.String())
	}
}

// TestRunAgreesWithCheckConfig: run refuses to start on the keys that
// check-config reports, with the same words.
func TestRunAgreesWithCheckConfig(t *testing.T) {
	_, cfgFile := writeMD5Site(t)
	var check, run bytes.Buffer
	dispatch([]string{"check-config", "--config", cfgFile}, &check, &check)
	code := dispatch([]string{"run", "--config", cfgFile, "--web.listen-address", "127.0.0.1:0"}, &run, &run)
	if code != 1 {
		t.Fatalf("run = %d, want 1:\n%s", code, run.String())
	}
	// "bgp.peers[0].md5_key_file (line 17): cannot read …" in check-config
	// is "peers[0].md5_key_file: cannot read …" in run's log.
	problem := regexp.MustCompile(`(?m)^  bgp\.(peers\[\d\]\.md5_key_\w+) \(line \d+\): (.*)$`)
	ms := problem.FindAllStringSubmatch(check.String(), -1)
	if len(ms) != 6 {
		t.Fatalf("check-config reported %d key problems, want 6:\n%s", len(ms), check.String())
	}
	for _, m := range ms {
		if want := m[1] + ": " + m[2]; !strings.Contains(run.String(), want) {
			t.Errorf("run does not say %q:\n%s", want, run.String())
		}
	}
	if strings.Contains(run.String(), needle) {
		t.Errorf("run printed a key:\n%s", run.String())
	}
}

// TestCheckConfigExamples: the examples are valid on a host that has the
// keys they name.
func TestCheckConfigExamples(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "edge-fra1.md5")
	if err := os.WriteFile(key, []byte("example-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../examples/dedicated.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dedicated := filepath.Join(dir, "dedicated.yaml")
	if err := os.WriteFile(dedicated, bytes.ReplaceAll(b, []byte("/etc/dxwatch/edge-fra1.md5"), []byte(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DXWATCH_EDGE_A_MD5", "example-key-a")
	t.Setenv("DXWATCH_EDGE_B_MD5", "example-key-b")
	t.Setenv("DXWATCH_EDGE_AMS2_MD5", "example-key-ams2")
	var out bytes.Buffer
	if code := dispatch([]string{"check-config", "--config", dedicated, "../../examples/hosted-pureport.yaml", "../../examples/transit-gateway.yaml"}, &out, &out); code != 0 {
		t.Errorf("check-config of the examples = %d:\n%s", code, out.String())
	}
	if want := dedicated + ": valid\n../../examples/hosted-pureport.yaml: valid\n../../examples/transit-gateway.yaml: valid\n"; out.String() != want {
		t.Errorf("check-config of the examples said\n%s\nwant\n%s", out.String(), want)
	}
}

// TestCheckConfigWarnings: what is accepted but unusual is printed under
// "valid" with its path and line, and does not fail the file.
func TestCheckConfigWarnings(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "dxwatch.yaml")
	cfg := "site: dc1\nlinks:\n  - {name: primary, role: primary, customer_address: 169.254.10.2/30, amazon_address: 169.254.10.1/30, vlan: 101}\n" +
		"ping:\n  link_pinned: false\naws:\n  regions: [eu-central-1]\n  dx_gateway_id: my-gateway\n"
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := dispatch([]string{"check-config", "--config", cfgFile}, &out, &out); code != 0 {
		t.Errorf("check-config = %d, want 0 (a warning does not fail the file)\n%s", code, out.String())
	}
	want := cfgFile + ": valid\n  warning: aws.dx_gateway_id (line 8): \"my-gateway\" is not a UUID like the IDs Direct Connect issues (5f294f92-bafb-4011-916d-9b0bec5ac8fb); it is used as is\n"
	if out.String() != want {
		t.Errorf("check-config printed\n%s\nwant\n%s", out.String(), want)
	}
}
