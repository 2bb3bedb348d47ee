package ping

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

func testSite() probes.Site {
	return probes.Site{
		Name: "dc1",
		Links: []probes.Link{
			{Name: "primary", Role: probes.RolePrimary, AmazonAddress: netip.MustParsePrefix("169.254.10.1/30"), CustomerAddress: netip.MustParsePrefix("169.254.10.2/30")},
			{Name: "secondary", Role: probes.RoleSecondary, AmazonAddress: netip.MustParsePrefix("169.254.20.1/30"), CustomerAddress: netip.MustParsePrefix("169.254.20.2/30")},
		},
		Targets: []probes.Target{
			{Name: "app1", Host: "198.18.0.10"},
			{Name: "app6", Host: "2001:db8::10"},
			{Name: "db", Host: "db.internal.example"},
		},
	}
}

func decode(t *testing.T, src string) Config {
	t.Helper()
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return cfg
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "defaults", yaml: "{}"},
		{name: "all set", yaml: `
interval: 100ms
timeout: 80ms
size: 100
dscp: 46
ttl: 32
down_after: 5
jitter_window: 30
targets:
  app1: {interval: 10ms, timeout: 5ms}
  primary-amazon: {dscp: 0}
`},
		{name: "interval below minimum", yaml: "interval: 5ms", want: []string{
			"interval: interval 5ms is below the minimum 10ms",
		}},
		{name: "timeout above interval", yaml: "interval: 100ms\ntimeout: 2s", want: []string{
			"timeout: timeout 2s is above the interval 100ms: an echo must be judged before the next one is sent, lower the timeout or raise the interval",
		}},
		{name: "override interval below section timeout", yaml: "timeout: 500ms\ntargets:\n  app1: {interval: 100ms}", want: []string{
			"targets.app1.interval: timeout 500ms is above the interval 100ms: an echo must be judged before the next one is sent, lower the timeout or raise the interval",
		}},
		{name: "min_timeout set and overridden", yaml: "interval: 100ms\nmin_timeout: 10ms\ntargets:\n  app1: {min_timeout: 100ms}\n  db: {interval: 10ms}"},
		{name: "min_timeout negative", yaml: "min_timeout: -1ms\ntargets:\n  app1: {min_timeout: -5ms}", want: []string{
			"min_timeout: min_timeout -1ms is negative: use a positive duration such as 25ms, or 0 for min(25ms, timeout)",
			"targets.app1.min_timeout: min_timeout -5ms is negative: use a positive duration such as 25ms, or 0 for min(25ms, timeout)",
		}},
		{name: "min_timeout above timeout", yaml: "interval: 100ms\ntimeout: 50ms\nmin_timeout: 60ms", want: []string{
			"min_timeout: min_timeout 60ms is above the timeout 50ms: it is the floor of the adaptive timeout, whose cap is the timeout; lower min_timeout (equal to the timeout turns adaptivity off) or raise the timeout",
		}},
		{name: "override timeout below section min_timeout", yaml: "min_timeout: 40ms\ntargets:\n  app1: {timeout: 30ms}\n  db: {interval: 20ms}\n  app6: {interval: 20ms, min_timeout: 30ms}", want: []string{
			"targets.app1.timeout: min_timeout 40ms is above the timeout 30ms: it is the floor of the adaptive timeout, whose cap is the timeout; lower min_timeout (equal to the timeout turns adaptivity off) or raise the timeout",
			"targets.app6.min_timeout: min_timeout 30ms is above the timeout 20ms: it is the floor of the adaptive timeout, whose cap is the timeout; lower min_timeout (equal to the timeout turns adaptivity off) or raise the timeout",
			"targets.db.interval: min_timeout 40ms is above the timeout 20ms: it is the floor of the adaptive timeout, whose cap is the timeout; lower min_timeout (equal to the timeout turns adaptivity off) or raise the timeout",
		}},
		{name: "bad values", yaml: "dscp: 64\nttl: 0\nsize: 8\ndown_after: 0\njitter_window: 1\nresolve_interval: 10ms", want: []string{
			"size: size 8 is outside 16-65000 bytes",
			"dscp: dscp 64 is outside 0-63 (46 is EF, 0 best effort)",
			"ttl: ttl 0 is outside 1-255",
			"down_after: down_after 0 is below 1: it counts consecutive lost echoes",
			"jitter_window: 1 is outside 2-1000: the jitter is averaged over that many replies",
			"resolve_interval: resolve_interval 10ms is below the minimum 1s",
		}},
		{name: "source not an address", yaml: `source: 10.0.0.300`, want: []string{
			`source: not an IP address: "10.0.0.300"`,
		}},
		{name: "source of the wrong family", yaml: `source: 192.0.2.10`, want: []string{
			"source: source 192.0.2.10 is IPv4 but target app6 has the IPv6 address 2001:db8::10: set targets.app6.source to an IPv6 address",
		}},
		{name: "per-target source fixes the family", yaml: "source: 192.0.2.10\ntargets:\n  app6: {source: '2001:db8::2'}"},
		{name: "override of an unknown target", yaml: "targets:\n  app9: {dscp: 99}", want: []string{
			"targets.app9: no target is named \"app9\": targets are [app1 app6 db primary-amazon secondary-amazon]",
		}},
		{name: "bad override", yaml: "targets:\n  db: {dscp: 99, interval: 1ms}", want: []string{
			"targets.db.interval: interval 1ms is below the minimum 10ms",
			"targets.db.dscp: dscp 99 is outside 0-63 (46 is EF, 0 best effort)",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := decode(t, tc.yaml).Validate(testSite())
			var got []string
			if err != nil {
				var ps problem.List
				if !errors.As(err, &ps) {
					t.Fatalf("Validate returned %T, want problem.List", err)
				}
				for _, p := range ps {
					got = append(got, p.Error())
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestValidateNameCollision(t *testing.T) {
	site := testSite()
	site.Targets = append(site.Targets, probes.Target{Name: "primary-amazon", Host: "198.18.0.11"})
	err := DefaultConfig().Validate(site)
	want := `link_pinned: target name "primary-amazon" is both a site target and link primary's pinned target: rename the site target`
	if err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
}

func TestTargetSpecs(t *testing.T) {
	cfg := decode(t, "interval: 200ms\ntargets:\n  primary-amazon: {interval: 50ms, ttl: 1}")
	specs := targetSpecs(cfg, testSite())
	var names []string
	for _, s := range specs {
		names = append(names, s.name+"/"+s.link)
	}
	if got, want := strings.Join(names, " "), "app1/ app6/ db/ primary-amazon/primary secondary-amazon/secondary"; got != want {
		t.Errorf("targets %s, want %s", got, want)
	}
	p := specs[3]
	if p.host != "169.254.10.1" || p.interval != 50*time.Millisecond || p.timeout != 50*time.Millisecond || p.ttl != 1 {
		t.Errorf("primary-amazon: %+v", p)
	}
	if p.minTimeout != DefaultMinTimeout {
		t.Errorf("primary-amazon: min_timeout %v, want the default %v", p.minTimeout, DefaultMinTimeout)
	}
	if a := specs[0]; a.timeout != 200*time.Millisecond || a.ttl != 64 || a.size != 56 || a.downAfter != 3 {
		t.Errorf("app1: %+v", a)
	}
	// The default floor never exceeds a timeout below it.
	fast := decode(t, "interval: 10ms")
	if f := targetSpecs(fast, testSite())[0]; f.minTimeout != 10*time.Millisecond {
		t.Errorf("10ms interval: min_timeout %v, want the 10ms timeout", f.minTimeout)
	}
	cfg.LinkPinned = false
	if n := len(targetSpecs(cfg, testSite())); n != 3 {
		t.Errorf("link_pinned false: %d targets, want 3", n)
	}
}

type fakeResolver map[string][]netip.Addr

func (r fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range r[host] {
		if network == "ip" || (network == "ip4") == a.Is4() {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no such host")
	}
	return out, nil
}

func TestResolveTargets(t *testing.T) {
	site := testSite()
	site.Targets = append(site.Targets, probes.Target{Name: "v6only", Host: "v6.internal.example"})
	r := fakeResolver{
		"db.internal.example": {netip.MustParseAddr("198.18.0.20")},
		"v6.internal.example": {netip.MustParseAddr("2001:db8::20")},
	}
	if err := ResolveTargets(context.Background(), DefaultConfig(), site, r); err != nil {
		t.Errorf("all resolvable: %v", err)
	}
	cfg := decode(t, "source: 192.0.2.10\ntargets:\n  app6: {source: '2001:db8::2'}")
	site.Targets = append(site.Targets, probes.Target{Name: "gone", Host: "gone.internal.example"})
	err := ResolveTargets(context.Background(), cfg, site, r)
	want := "targets[3].address: resolve v6.internal.example: no such host: use an address or a name the agent's resolver knows\n" +
		"targets[4].address: resolve gone.internal.example: no such host: use an address or a name the agent's resolver knows"
	if err == nil || err.Error() != want {
		t.Errorf("ResolveTargets:\n%v\nwant:\n%s", err, want)
	}
}
