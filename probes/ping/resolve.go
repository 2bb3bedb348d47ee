package ping

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

// resolve resolves the names of the targets: only those never tried when
// fresh is set. A failed resolution keeps the previous address, so that a
// DNS hiccup does not look like loss.
func (p *Probe) resolve(ctx context.Context, fresh bool) {
	for _, t := range p.snapshot() {
		if !t.isName || t.removed.Load() {
			continue
		}
		t.mu.Lock()
		tried := t.resolved
		t.mu.Unlock()
		if fresh && tried {
			continue
		}
		a, err := lookup(ctx, p.resolver, t.spec.host, t.spec.source)
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		old := t.addr
		t.resolved, t.resolveErr = true, err
		if err == nil {
			t.addr = a
		}
		t.mu.Unlock()
		switch {
		case err != nil:
			p.log.Warn("cannot resolve ping target", "target", t.spec.name, "host", t.spec.host, "err", err)
			p.roundError(err)
		case a != old:
			p.log.Info("ping target resolved", "target", t.spec.name, "host", t.spec.host, "address", a)
		}
	}
}

// lookup resolves host to one address, of the source's family when a
// source is set.
func lookup(ctx context.Context, r Resolver, host string, source netip.Addr) (netip.Addr, error) {
	network := "ip"
	if source.IsValid() {
		network = "ip4"
		if source.Is6() {
			network = "ip6"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %s: no %s address", host, network)
	}
	return addrs[0].Unmap(), nil
}

// ResolveTargets resolves the site's target names as the probe will, for
// `dxwatch check-config`. Its problems have paths from the configuration's
// root ("targets[2].address"), since the targets live in the site: merge
// them with an empty prefix. Addresses need no resolution; a name that
// resolves to no address of the source's family is a problem too.
func ResolveTargets(ctx context.Context, cfg Config, site probes.Site, r Resolver) error {
	if r == nil {
		r = net.DefaultResolver
	}
	var ps problem.List
	for i, t := range site.Targets {
		if _, err := netip.ParseAddr(t.Host); err == nil {
			continue
		}
		s, _ := cfg.settingsFor(t.Name)
		if _, err := lookup(ctx, r, t.Host, s.source); err != nil {
			ps.Addf(fmt.Sprintf("targets[%d].address", i), "%v: use an address or a name the agent's resolver knows", err)
		}
	}
	return ps.Err()
}
