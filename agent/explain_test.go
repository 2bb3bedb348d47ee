package agent

import (
	"strings"
	"testing"

	"github.com/dxwatch/dxwatch/probes"
)

func TestExplain(t *testing.T) {
	const (
		P = probes.Pass
		W = probes.Warn
		F = probes.Fail
	)
	type want struct {
		status  probes.CheckStatus
		because string
	}
	for _, tc := range []struct {
		name  string
		in    map[string]probes.CheckStatus
		want  map[string]want // checks whose outcome explain changes or must keep
		fixes map[string]string
	}{
		{
			name: "primary BGP down: one root, the rest follow",
			in: map[string]probes.CheckStatus{
				"aws.connection.primary.state": P, "aws.vif.primary.config": P, "aws.vif.primary.bgp": F,
				"bgp.dx_session.primary": F, "aws.vif.primary.routes": F, "bgp.prefix.primary": F, "ping.link.primary": F,
				"health.link.primary": F, "aws.routing.return_path": W, "bgp.intent.primary_preferred": F,
				"trace.target.i1": W, "health.active": W, "ping.target.i1": P,
				"bgp.dx_session.secondary": P, "ping.link.secondary": P,
			},
			want: map[string]want{
				"aws.vif.primary.bgp":          {F, ""},
				"bgp.dx_session.primary":       {W, "aws.vif.primary.bgp"},
				"aws.vif.primary.routes":       {W, "aws.vif.primary.bgp"},
				"bgp.prefix.primary":           {W, "aws.vif.primary.bgp"},
				"ping.link.primary":            {W, "aws.vif.primary.bgp"},
				"health.link.primary":          {W, "aws.vif.primary.bgp"},
				"aws.routing.return_path":      {W, "aws.vif.primary.bgp"},
				"bgp.intent.primary_preferred": {W, "aws.vif.primary.bgp"},
				"trace.target.i1":              {W, "aws.vif.primary.bgp"},
				"health.active":                {W, "aws.vif.primary.bgp"},
				"ping.target.i1":               {P, ""},
				"aws.connection.primary.state": {P, ""},
			},
		},
		{
			name: "a cut link explains its IPv6 peering's echoes; an IPv6-only failure is its own root",
			in: map[string]probes.CheckStatus{
				"aws.connection.primary.state": F, "ping.link.primary": F, "ping.link.primary.ipv6": F,
				"aws.connection.secondary.state": P, "ping.link.secondary": P, "ping.link.secondary.ipv6": F,
			},
			want: map[string]want{
				"aws.connection.primary.state": {F, ""},
				"ping.link.primary.ipv6":       {W, "aws.connection.primary.state"},
				"ping.link.secondary.ipv6":     {F, ""},
			},
		},
		{
			// A wrong key on the primary's IPv6 peering: its AWS peer line
			// is the root of the peering's chain, of the link's degraded
			// verdict and of the moved IPv6 traffic; IPv4 checks are
			// untouched.
			name: "primary IPv6 BGP down: one root for the peering",
			in: map[string]probes.CheckStatus{
				"aws.vif.primary.bgp": P, "bgp.dx_session.primary": P, "aws.vif.primary.routes": P, "ping.link.primary": P,
				"aws.vif.primary.config.ipv6": P, "aws.vif.primary.bgp.ipv6": F, "bgp.dx_session.primary.ipv6": F,
				"aws.vif.primary.routes.ipv6": F, "ping.link.primary.ipv6": F,
				"health.link.primary": F, "health.active": F, "ping.target.i1": P,
			},
			want: map[string]want{
				"aws.vif.primary.bgp.ipv6":    {F, ""},
				"bgp.dx_session.primary.ipv6": {W, "aws.vif.primary.bgp.ipv6"},
				"aws.vif.primary.routes.ipv6": {W, "aws.vif.primary.bgp.ipv6"},
				"ping.link.primary.ipv6":      {W, "aws.vif.primary.bgp.ipv6"},
				"health.link.primary":         {W, "aws.vif.primary.bgp.ipv6"},
				"health.active":               {W, "aws.vif.primary.bgp.ipv6"},
				"aws.vif.primary.bgp":         {P, ""},
			},
		},
		{
			// Both families down on the link: the link's chain has the
			// root, the IPv6 peering's failures follow it.
			name: "primary BGP down in both families: the link's root explains the IPv6 peering",
			in: map[string]probes.CheckStatus{
				"aws.vif.primary.bgp": F, "aws.vif.primary.bgp.ipv6": F, "aws.vif.primary.routes.ipv6": F, "health.link.primary": F,
			},
			want: map[string]want{
				"aws.vif.primary.bgp":         {F, ""},
				"aws.vif.primary.bgp.ipv6":    {W, "aws.vif.primary.bgp"},
				"aws.vif.primary.routes.ipv6": {W, "aws.vif.primary.bgp"},
				"health.link.primary":         {W, "aws.vif.primary.bgp"},
			},
		},
		{
			name: "without AWS, the edge's view of the session is the root",
			in:   map[string]probes.CheckStatus{"bgp.dx_session.primary": F, "bgp.prefix.primary": F, "ping.link.primary": F},
			want: map[string]want{"bgp.dx_session.primary": {F, ""}, "bgp.prefix.primary": {W, "bgp.dx_session.primary"}},
		},
		{
			name: "a broken secondary does not hide a primary-side target failure, one link still works",
			in: map[string]probes.CheckStatus{
				"bgp.dx_session.secondary": F, "ping.link.secondary": F, "ping.target.i1": F, "trace.target.i1": F,
				"bgp.dx_session.primary": P,
			},
			want: map[string]want{
				"bgp.dx_session.secondary": {F, ""},
				"ping.link.secondary":      {W, "bgp.dx_session.secondary"},
				"ping.target.i1":           {F, ""},
				"trace.target.i1":          {W, "bgp.dx_session.secondary"},
			},
		},
		{
			name: "both links down explains the targets, by the primary's root",
			in: map[string]probes.CheckStatus{
				"bgp.dx_session.primary": F, "bgp.dx_session.secondary": F, "ping.target.i1": F, "health.active": F,
			},
			want: map[string]want{
				"bgp.dx_session.primary":   {F, ""},
				"bgp.dx_session.secondary": {F, ""},
				"ping.target.i1":           {W, "bgp.dx_session.primary"},
				"health.active":            {W, "bgp.dx_session.primary"},
			},
		},
		{
			name: "propagation off explains the route table's missing route",
			in: map[string]probes.CheckStatus{
				"aws.route_table.rtb-1.propagation": F, "aws.route_table.rtb-1.routes": F, "aws.route_table.rtb-2.routes": F,
			},
			want: map[string]want{
				"aws.route_table.rtb-1.propagation": {F, ""},
				"aws.route_table.rtb-1.routes":      {W, "aws.route_table.rtb-1.propagation"},
				"aws.route_table.rtb-2.routes":      {F, ""},
			},
		},
		{
			name:  "a target that a trace reaches but ping does not: only ICMP echo is filtered",
			in:    map[string]probes.CheckStatus{"ping.target.i1": F, "trace.target.i1": P, "ping.target.i2": F, "trace.target.i2": F},
			want:  map[string]want{"ping.target.i1": {F, ""}, "ping.target.i2": {F, ""}, "trace.target.i2": {F, ""}},
			fixes: map[string]string{"ping.target.i1": "only ICMP echo is dropped", "ping.target.i2": "original fix"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in []probes.CheckResult
			for name, st := range tc.in {
				in = append(in, probes.CheckResult{Name: name, Status: st, Reason: "seen", Fix: "original fix"})
			}
			before := append([]probes.CheckResult(nil), in...)
			out := explain(in, []string{"primary", "secondary"})
			got := map[string]probes.CheckResult{}
			for _, r := range out {
				got[r.Name] = r
			}
			for name, w := range tc.want {
				r := got[name]
				if r.Status != w.status || r.Because != w.because {
					t.Errorf("%s: %s because %q, want %s because %q", name, r.Status, r.Because, w.status, w.because)
				}
				if w.because != "" && (!strings.Contains(r.Reason, "follows from "+w.because) || !strings.Contains(r.Fix, w.because)) {
					t.Errorf("%s: reason %q / fix %q do not name %s", name, r.Reason, r.Fix, w.because)
				}
			}
			for name, fix := range tc.fixes {
				if !strings.Contains(got[name].Fix, fix) {
					t.Errorf("%s: fix %q, want it to say %q", name, got[name].Fix, fix)
				}
			}
			for i := range in {
				if in[i] != before[i] {
					t.Errorf("explain changed its input at %s", in[i].Name)
				}
			}
		})
	}
}
