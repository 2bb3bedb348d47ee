package health

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

func decode(t *testing.T, text string) (Config, error) {
	t.Helper()
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	err := dec.Decode(&cfg)
	return cfg, err
}

func TestConfigDecode(t *testing.T) {
	cfg, err := decode(t, `
down_after: 5
recover_after: 4
loss_threshold: 0.02
rtt_threshold: 40ms
window: 100
stale_after:
  ping: 3s
  trace: 90s
  bgp: 0s
  aws: 15m
restore_timeout: 2m
lookback: 500ms
events_max: 1000
queue_size: 8192
evaluate: 50ms
`)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DownAfter: 5, RecoverAfter: 4, LossThreshold: 0.02, RTTThreshold: 40 * time.Millisecond, Window: 100,
		StaleAfter:     StaleAfter{Ping: 3 * time.Second, Trace: 90 * time.Second, AWS: 15 * time.Minute},
		RestoreTimeout: 2 * time.Minute, Lookback: 500 * time.Millisecond, EventsMax: 1000, QueueSize: 8192, Evaluate: 50 * time.Millisecond,
	}
	if cfg != want {
		t.Errorf("decoded %+v\nwant %+v", cfg, want)
	}
	if err := cfg.Validate(testSite(probes.ModeActivePassive)); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if _, err := decode(t, "down_afer: 3\n"); err == nil || !strings.Contains(err.Error(), "field down_afer not found") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestConfigDefaultsValid(t *testing.T) {
	if err := DefaultConfig().Validate(testSite(probes.ModeActivePassive)); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"down_after zero", func(c *Config) { c.DownAfter = 0 }, "down_after: 0 is out of range, want 1 to 1000 lost echoes"},
		{"recover_after", func(c *Config) { c.RecoverAfter = 5000 }, "recover_after: 5000 is out of range, want 1 to 1000 echo replies"},
		{"loss_threshold percent", func(c *Config) { c.LossThreshold = 5 }, "loss_threshold: 5 is out of range, want a ratio above 0 and at most 1 (0.05 is 5 %)"},
		{"rtt_threshold", func(c *Config) { c.RTTThreshold = -time.Millisecond }, "rtt_threshold: -1ms is negative, want 0 (off) or a duration such as 50ms"},
		{"window", func(c *Config) { c.Window = 0 }, "window: 0 is out of range, want 1 to 10000 echoes"},
		{"stale ping negative", func(c *Config) { c.StaleAfter.Ping = -time.Second }, "stale_after.ping: -1s is negative, want 0 (never stale) or a duration"},
		{"stale ping short", func(c *Config) { c.StaleAfter.Ping = 10 * time.Millisecond }, "stale_after.ping: 10ms is below the minimum 100ms"},
		{"restore_timeout", func(c *Config) { c.RestoreTimeout = 0 }, "restore_timeout: 0s is below the minimum 1s"},
		{"lookback", func(c *Config) { c.Lookback = time.Hour }, "lookback: 1h0m0s is out of range, want 0 to 1m"},
		{"events_max", func(c *Config) { c.EventsMax = 0 }, "events_max: 0 is out of range, want 1 to 100000"},
		{"queue_size", func(c *Config) { c.QueueSize = 1 }, "queue_size: 1 is out of range, want 16 to 1048576"},
		{"evaluate", func(c *Config) { c.Evaluate = time.Millisecond }, "evaluate: 1ms is out of range, want 10ms to 10s"},
		{"all at once", func(c *Config) { c.DownAfter, c.EventsMax = -1, -1 },
			"down_after: -1 is out of range, want 1 to 1000 lost echoes\nevents_max: -1 is out of range, want 1 to 100000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			err := cfg.Validate(testSite(probes.ModeActivePassive))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
			var ps problem.List
			ps.Merge("health", err)
			if !strings.HasPrefix(ps.Error(), "health.") {
				t.Errorf("merged: %v", ps)
			}
		})
	}
}
