package aws

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/dxwatch/dxwatch/lab/golden"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/probes"
)

// tgwSite is the lab site on transit VIFs: each link has its monitored
// address (probe source), and no expected prefixes (on a transit VIF AWS
// advertises the association's allowed prefixes, checked there).
func tgwSite() probes.Site {
	s := labSite()
	s.Links[0].ProbeSource = netip.MustParseAddr(lab.PrimaryProbeSource)
	s.Links[1].ProbeSource = netip.MustParseAddr(lab.SecondaryProbeSource)
	s.Links[0].PinnedTarget = netip.MustParseAddr(lab.Instance1)
	s.Links[1].PinnedTarget = netip.MustParseAddr(lab.Instance1)
	s.Routing.ExpectedPrefixes = nil
	// IPv4 only, as LabTGWScenario.
	s.Links[0].IPv6, s.Links[1].IPv6 = probes.Peering{}, probes.Peering{}
	return s
}

// pollTGW polls a fake serving sc with the transit gateway site.
func pollTGW(t *testing.T, sc *awstest.Scenario, site probes.Site) []probes.CheckResult {
	t.Helper()
	_, url := fake(t, sc)
	p, logs := testProbe(t, labConfig(), site, url)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v\n%s", err, logs)
	}
	return p.Checks()
}

func TestTGWScenarioPasses(t *testing.T) {
	checks := pollTGW(t, awstest.WithLabMetrics(awstest.LabTGWScenario(), awstest.MetricsHealthy, fixedNow), tgwSite())
	for _, c := range checks {
		if c.Status != probes.Pass {
			t.Errorf("%s: %s: %s (fix: %s)", c.Name, c.Status, c.Reason, c.Fix)
		}
	}
	// Every part of the transit gateway path has its line.
	byName := checksByName(checks)
	for _, n := range []string{
		"aws.dxgw.association." + awstest.LabTGW,
		"aws.tgw." + awstest.LabTGW, "aws.tgw." + awstest.LabTGW + ".asn", "aws.tgw." + awstest.LabTGW + ".dxgw_attachment",
		"aws.tgw." + awstest.LabTGW + ".vpc." + awstest.LabVPC, "aws.tgw." + awstest.LabTGW + ".vpc." + awstest.LabVPC2,
		"aws.tgw_route_table." + awstest.LabTGWTableVPC + ".propagation",
		"aws.tgw_route_table." + awstest.LabTGWTableVPC + ".routes", "aws.tgw_route_table." + awstest.LabTGWTableDX + ".routes",
		"aws.route_table." + awstest.LabRouteTable1 + ".routes", "aws.route_table." + awstest.LabVPC2RouteTable + ".routes",
		"aws.vif.primary.monitored_address", "aws.vif.secondary.monitored_address",
		"aws.vif.primary.probe_source", "aws.vif.mtu", "aws.routing.return_path",
	} {
		if _, ok := byName[n]; !ok {
			t.Errorf("no check %s", n)
		}
	}
	golden.Check(t, "testdata/tgw_checks.golden", []byte(dumpChecks(checks)))
}

// TestTGWBreaks breaks the healthy transit gateway site in one place each
// and wants exactly one failing line, with the fix for that place, and no
// warning.
func TestTGWBreaks(t *testing.T) {
	for _, br := range awstest.TGWBreaks() {
		t.Run(br.Name, func(t *testing.T) {
			t.Parallel()
			sc := awstest.LabTGWScenario()
			br.Mutate(sc)
			checks := pollTGW(t, sc, tgwSite())
			checkWants(t, checks, []want{{br.Check, probes.Fail, []string{br.Fix}}})
			for _, c := range checks {
				if c.Name != br.Check && (c.Status == probes.Fail || c.Status == probes.Warn) {
					t.Errorf("another line does not pass: %s: %s: %s (fix: %s)", c.Name, c.Status, c.Reason, c.Fix)
				}
			}
		})
	}
}

// TestTGWBreaksWithExpectedPrefixes breaks the transit gateway site, now
// with the prefixes the edges expect (the association's summary), in one
// place each: exactly one line fails. The VIFs' routes lines, which then
// miss what the association leaves out, warn and name the association's
// line as their cause, with no fix about a VGW the site does not have.
func TestTGWBreaksWithExpectedPrefixes(t *testing.T) {
	for _, br := range awstest.TGWBreaks() {
		t.Run(br.Name, func(t *testing.T) {
			t.Parallel()
			sc := awstest.LabTGWScenario()
			br.Mutate(sc)
			site := tgwSite()
			site.Routing.ExpectedPrefixes = []netip.Prefix{netip.MustParsePrefix(awstest.LabTGWAllowedCIDR)}
			checks := pollTGW(t, sc, site)
			fix := br.Fix
			if br.Check == "aws.dxgw.association."+awstest.LabTGW {
				// The expected summary covers the VPC CIDR left out.
				fix = "--add-allowed-prefixes-to-direct-connect-gateway cidr=" + awstest.LabTGWAllowedCIDR + " --region"
			}
			checkWants(t, checks, []want{{br.Check, probes.Fail, []string{fix}}})
			for _, c := range checks {
				switch {
				case c.Name == br.Check:
				case c.Status == probes.Fail:
					t.Errorf("a second line fails: %s: %s (fix: %s)", c.Name, c.Reason, c.Fix)
				case c.Status == probes.Warn && !strings.Contains(c.Reason, "follows from "+br.Check):
					t.Errorf("%s warns without naming %s as its cause: %s (fix: %s)", c.Name, br.Check, c.Reason, c.Fix)
				}
				if c.Status != probes.Pass && strings.Contains(c.Fix, "VGW") {
					t.Errorf("%s: a fix about a VGW on a transit gateway site: %s", c.Name, c.Fix)
				}
			}
			if br.Check == "aws.dxgw.association."+awstest.LabTGW {
				checkWants(t, checks, []want{
					{"aws.vif.primary.routes", probes.Warn, []string{"AWS does not advertise " + awstest.LabTGWAllowedCIDR, "follows from " + br.Check}},
					{"aws.vif.secondary.routes", probes.Warn, []string{"follows from " + br.Check}},
				})
			}
		})
	}
}

// TestTGWChecks covers the transit gateway lines beyond the acceptance's
// six breaks.
func TestTGWChecks(t *testing.T) {
	const other = "444455556666"
	tests := []struct {
		name   string
		mutate func(*awstest.Scenario)
		site   func(*probes.Site)
		want   []want
	}{
		{
			name:   "hosted transit VIF not accepted, discovered from the DX gateway alone",
			mutate: awstest.TGWBreaks()[4].Mutate,
			site: func(s *probes.Site) {
				for i := range s.Links {
					s.Links[i].VIFID, s.Links[i].ConnectionID = "", ""
				}
			},
			want: []want{
				{"aws.discovery", probes.Pass, []string{"VIF " + awstest.LabVIF2 + " (discovered)"}},
				{"aws.vif.secondary.state", probes.Fail, []string{"confirm-transit-virtual-interface --virtual-interface-id " + awstest.LabVIF2}},
			},
		},
		{
			name: "transit gateway shares the DX gateway's ASN",
			mutate: func(sc *awstest.Scenario) {
				sc.TransitGateway(awstest.LabTGW).AmazonSideAsn = lab.AmazonASN
			},
			want: []want{{"aws.tgw." + awstest.LabTGW + ".asn", probes.Fail, []string{"share the Amazon-side ASN 64512", "modify-transit-gateway"}}},
		},
		{
			name: "transit gateway in an account not configured",
			mutate: func(sc *awstest.Scenario) {
				sc.TransitGateway(awstest.LabTGW).OwnerAccount = other
				sc.Association(awstest.LabTGWAssociation).AssociatedGateway.OwnerAccount = other
			},
			want: []want{
				{"aws.tgw." + awstest.LabTGW, probes.Skip, []string{"in account " + other, `role_arn: "arn:aws:iam::` + other + `:role/dxwatch"`}},
				{"aws.dxgw.association." + awstest.LabTGW, probes.Skip, []string{"the VPCs behind it are not known"}},
			},
		},
		{
			name: "VPC in an account not configured",
			mutate: func(sc *awstest.Scenario) {
				for i := range sc.TGWAttachments {
					if sc.TGWAttachments[i].ResourceID == awstest.LabVPC2 {
						sc.TGWAttachments[i].ResourceOwner = other
					}
				}
			},
			want: []want{
				{"aws.vpc." + awstest.LabVPC2 + ".route_tables", probes.Skip, []string{"in account " + other, "arn:aws:iam::" + other + ":role/dxwatch"}},
				// Its CIDR is known from the routes its attachment
				// propagates into the DX gateway attachment's table.
				{"aws.dxgw.association." + awstest.LabTGW, probes.Pass, []string{awstest.LabVPC2CIDR}},
			},
		},
		{
			name: "VPC attachment waiting for acceptance",
			mutate: func(sc *awstest.Scenario) {
				for i := range sc.TGWAttachments {
					if sc.TGWAttachments[i].ResourceID == awstest.LabVPC2 {
						sc.TGWAttachments[i].State = "pendingAcceptance"
					}
				}
			},
			want: []want{{"aws.tgw." + awstest.LabTGW + ".vpc." + awstest.LabVPC2, probes.Fail, []string{
				"aws ec2 accept-transit-gateway-vpc-attachment --transit-gateway-attachment-id " + awstest.LabTGWAttachVPC2,
			}}},
		},
		{
			name: "DX gateway attachment without a route table",
			mutate: func(sc *awstest.Scenario) {
				sc.TGWAttachments[0].RouteTableID = ""
			},
			want: []want{{"aws.tgw." + awstest.LabTGW + ".dxgw_attachment", probes.Fail, []string{"associate-transit-gateway-route-table", awstest.LabTGWAttachDXGW}}},
		},
		{
			name: "VPC attachment not propagated into the DX gateway attachment's table",
			mutate: func(sc *awstest.Scenario) {
				rt := sc.TGWRouteTable(awstest.LabTGWTableDX)
				rt.Propagations = rt.Propagations[:1]
				rt.Routes = rt.Routes[:1]
			},
			want: []want{{"aws.tgw_route_table." + awstest.LabTGWTableDX + ".routes", probes.Fail, []string{
				"no active route to " + awstest.LabVPC2CIDR + " (" + awstest.LabVPC2 + ")",
				"enable-transit-gateway-route-table-propagation --transit-gateway-route-table-id " + awstest.LabTGWTableDX + " --transit-gateway-attachment-id " + awstest.LabTGWAttachVPC2,
			}}},
		},
		{
			name: "expected summary not among the allowed prefixes",
			site: func(s *probes.Site) {
				s.Routing.ExpectedPrefixes = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16")}
			},
			want: []want{{"aws.dxgw.association." + awstest.LabTGW, probes.Fail, []string{"lack 198.18.0.0/16, which routing.expected_prefixes says the edges expect"}}},
		},
		{
			name: "transit VIF without a monitored address",
			site: func(s *probes.Site) { s.Links[1].ProbeSource = netip.Addr{} },
			want: []want{{"aws.vif.secondary.monitored_address", probes.Warn, []string{"not reachable through the transit gateway", "links[1].probe_source"}}},
		},
		{
			name: "transit VIF probed at the unreachable Amazon address",
			site: func(s *probes.Site) { s.Links[0].PinnedTarget = netip.Addr{} },
			want: []want{{"aws.vif.primary.monitored_address", probes.Warn, []string{"not reachable through the transit gateway", "links[0].pinned_target"}}},
		},
		{
			name:   "transit gateway reads denied",
			mutate: func(sc *awstest.Scenario) { sc.Accounts[0].Deny = []string{"ec2:SearchTransitGatewayRoutes"} },
			want:   []want{{"aws.tgw_route_table." + awstest.LabTGWTableVPC + ".routes", probes.Skip, []string{"allow ec2:SearchTransitGatewayRoutes"}}},
		},
		{
			name: "paged transit gateway reads",
			mutate: func(sc *awstest.Scenario) {
				sc.PageSize = 1
			},
			want: []want{{"aws.tgw_route_table." + awstest.LabTGWTableVPC + ".propagation", probes.Pass, nil}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := awstest.LabTGWScenario()
			if tt.mutate != nil {
				tt.mutate(sc)
			}
			site := tgwSite()
			if tt.site != nil {
				tt.site(&site)
			}
			_, url := fake(t, sc)
			p, _ := testProbe(t, labConfig(), site, url)
			p.Poll(context.Background()) // a denied call fails the poll; the checks say why
			checkWants(t, p.Checks(), tt.want)
		})
	}
}
