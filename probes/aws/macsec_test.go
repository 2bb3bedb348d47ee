package aws

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/probes"
)

// TestMACsec: aws.connection.<link>.macsec judges the connection's
// encryption against its mode, from the Direct Connect API's fields as the
// fake serves them; a must_encrypt connection that is not encrypting fails
// (and reaches the health model as a failing AWS check).
func TestMACsec(t *testing.T) {
	yes := true
	associated := []awstest.MacSecKey{{Ckn: "0123456789abcdef", SecretARN: "arn:aws:secretsmanager:us-east-1:111122223333:secret:dxcon-lab00001-ckn", State: "associated"}}
	tests := []struct {
		name    string
		capable bool
		mode    string
		status  string
		keys    []awstest.MacSecKey
		want    probes.CheckStatus
		has     []string
		fix     string
		metrics []string // series that must be exported
	}{
		{name: "not capable", want: probes.Pass, has: []string{"is not MACsec-capable"}},
		{name: "capable, no_encrypt", capable: true, mode: "no_encrypt", status: "Encryption Down", want: probes.Pass,
			has: []string{"encryption mode no_encrypt: MACsec is not in use"}, metrics: []string{`dxwatch_aws_connection_encryption_mode{connection="dxcon-lab00001",mode="no_encrypt"} 1`}},
		{name: "must_encrypt, encrypting", capable: true, mode: "must_encrypt", status: "Encryption Up", keys: associated, want: probes.Pass,
			has:     []string{"encryption mode must_encrypt, port encryption status Encryption Up, MACsec keys: 1 associated", "CloudWatch's ConnectionEncryptionState 1 (up)"},
			metrics: []string{`dxwatch_aws_connection_encryption_up{connection="dxcon-lab00001"} 1`, `dxwatch_aws_cloudwatch_connection_encryption_up{connection="dxcon-lab00001"} 1`}},
		{name: "must_encrypt, down, key associated", capable: true, mode: "must_encrypt", status: "Encryption Down", keys: associated, want: probes.Fail,
			has: []string{"port encryption status Encryption Down", "no traffic crosses it", "CloudWatch's ConnectionEncryptionState 0 (down)"}, fix: "CKN and CAK",
			metrics: []string{`dxwatch_aws_connection_encryption_up{connection="dxcon-lab00001"} 0`, `dxwatch_aws_connection_encryption_mode{connection="dxcon-lab00001",mode="must_encrypt"} 1`}},
		{name: "must_encrypt, no key", capable: true, mode: "must_encrypt", status: "Encryption Down", want: probes.Fail,
			has: []string{"no MACsec key"}, fix: "associate-mac-sec-key"},
		{name: "should_encrypt, down", capable: true, mode: "should_encrypt", status: "Encryption Down", keys: associated, want: probes.Warn,
			has: []string{"carries traffic unencrypted"}, fix: "CKN and CAK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := awstest.LabScenario()
			c := sc.Connection(awstest.LabConnection1)
			if tt.capable {
				c.Bandwidth, c.MacSecCapable, c.EncryptionMode, c.PortEncryptionStatus, c.MacSecKeys = "10Gbps", &yes, tt.mode, tt.status, tt.keys
			}
			awstest.WithLabMetrics(sc, awstest.MetricsHealthy, fixedNow)
			var seen []probes.Observation
			_, url := fake(t, sc)
			p, logs := testProbe(t, labConfig(), labSite(), url)
			p.deps.Observer = probes.ObserverFunc(func(o probes.Observation) { seen = append(seen, o) })
			if err := p.Poll(context.Background()); err != nil {
				t.Fatalf("Poll: %v\n%s", err, logs)
			}
			var got probes.CheckResult
			for _, c := range p.Checks() {
				if c.Name == "aws.connection.primary.macsec" {
					got = c
				}
			}
			if got.Status != tt.want {
				t.Errorf("status %q, want %s: %s", got.Status, tt.want, got.Reason)
			}
			for _, h := range tt.has {
				if !strings.Contains(got.Reason, h) {
					t.Errorf("reason %q lacks %q", got.Reason, h)
				}
			}
			if !strings.Contains(got.Fix, tt.fix) || (tt.fix == "") != (got.Fix == "") {
				t.Errorf("fix %q, want one with %q", got.Fix, tt.fix)
			}
			if strings.Contains(got.Reason, "0123456789abcdef") || strings.Contains(got.Reason, "secret:") {
				t.Errorf("reason shows a key's CKN or secret ARN: %s", got.Reason)
			}
			observed := false
			for _, o := range seen {
				if o.Check == "aws.connection.primary.macsec" {
					observed = true
					if o.Up != (tt.want != probes.Fail) || o.Link != "primary" {
						t.Errorf("observation up=%v link=%q for a %s check", o.Up, o.Link, tt.want)
					}
				}
			}
			if !observed {
				t.Error("the health model was not told of aws.connection.primary.macsec")
			}
			exp, err := testutil.CollectAndFormat(p, expfmt.TypeTextPlain, "dxwatch_aws_connection_encryption_up",
				"dxwatch_aws_connection_encryption_mode", "dxwatch_aws_cloudwatch_connection_encryption_up")
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range tt.metrics {
				if !strings.Contains(string(exp), m) {
					t.Errorf("no %s in:\n%s", m, exp)
				}
			}
			if !tt.capable && (!strings.Contains(string(exp), `dxwatch_aws_connection_encryption_up{connection="dxcon-lab00001"} 0`) ||
				!strings.Contains(string(exp), `dxwatch_aws_connection_encryption_mode{connection="dxcon-lab00001",mode="no_encrypt"} 1`)) {
				t.Errorf("a connection that is not MACsec-capable: want encryption up 0, mode no_encrypt:\n%s", exp)
			}
		})
	}
}
