package trace

import (
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

func TestValidate(t *testing.T) {
	site := testSite(probes.ModeActivePassive)
	for _, c := range []struct {
		name string
		edit func(*Config)
		want []string // exact problems, in order
	}{
		{"defaults", func(*Config) {}, nil},
		{"tcp and icmp", func(c *Config) { c.Method = MethodTCP; c.ECMPFlows = 6 }, nil},
		{"every mistake at once", func(c *Config) {
			c.Interval = 10 * time.Millisecond
			c.Method = "sctp"
			c.MaxTTL = 0
			c.Port = 70000
			c.Timeout = time.Millisecond
			c.Retries = 9
			c.ECMPFlows = 1
			c.Pacing = Pacing{Burst: 0, Interval: -time.Second}
			c.Targets = []string{"app1", "nope", "app1"}
		}, []string{
			"interval: interval 10ms is below the minimum 1s",
			`method: unknown method "sctp": use udp, icmp or tcp`,
			"max_ttl: max_ttl 0 is outside 1..64",
			"port: port 70000 is outside 1..65535 (0 picks the method's default)",
			"timeout: timeout 1ms is below the minimum 10ms",
			"retries: retries 9 is outside 0..5",
			"ecmp_flows: ecmp_flows 1 must be 0 (off) or 2..64 (6 rules out a second path at 95%)",
			"pacing.burst: burst 0 must be at least 1 (Linux routers allow 6)",
			"pacing.interval: interval -1s is negative: use 0 to turn pacing off",
			`targets[1]: unknown target "nope": the site's targets are "app1", "app2"`,
			`targets[2]: target "app1" is listed twice`,
		}},
		{"timeout longer than interval", func(c *Config) { c.Timeout = time.Minute }, []string{
			"timeout: timeout 1m0s is longer than the interval 30s: lower it or raise the interval",
		}},
		{"udp ports overflow", func(c *Config) { c.Port = 65530; c.ECMPFlows = 16 }, []string{
			"port: port 65530 plus 16 ECMP flows passes 65535: lower the port",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.edit(&cfg)
			err := cfg.Validate(site)
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if _, err := New("trace", cfg, probes.Deps{Site: site}); (err == nil) != (c.want == nil) {
				t.Errorf("New: %v", err)
			}
		})
	}
}

func TestDefaultPorts(t *testing.T) {
	c := DefaultConfig()
	if c.port() != 33434 {
		t.Errorf("udp port %d", c.port())
	}
	c.Method = MethodTCP
	if c.port() != 443 {
		t.Errorf("tcp port %d", c.port())
	}
	c.Port = 8443
	if c.port() != 8443 {
		t.Errorf("configured port %d", c.port())
	}
}
