// Package labsite describes the lab of package lab to dxwatch: the site
// (Site) and dxwatch's configuration (Config, from lab/dxwatch.yaml). Every
// test that runs dxwatch's code against the lab, or against the lab's fake
// AWS (package awstest), takes the lab's site and configuration from here.
// A test that means a different site builds its own.
package labsite

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/dxwatch/dxwatch/lab"
	"github.com/dxwatch/dxwatch/lab/awstest"
	"github.com/dxwatch/dxwatch/probes"
)

// Site returns the lab's site as lab/dxwatch.yaml describes it (a test
// checks that they agree): two dual-stack links on the lab's addresses (an
// IPv4 and an IPv6 peering each) with the fake AWS's connection and VIF
// IDs, the two VPC instances as targets by both their addresses (i1, i2,
// i1-v6, i2-v6), the VPC's IPv4 CIDR as the expected prefix (the fake
// AWS's VIFs advertise no IPv6 route yet: WithIPv6Prefix adds the VPC's
// IPv6 CIDR where the routers' feed is all that is judged), active/passive
// with the primary preferred.
func Site() probes.Site {
	pfx := func(a string) netip.Prefix { return netip.PrefixFrom(netip.MustParseAddr(a), 30) }
	ipv6 := func(cust, amz string) probes.Peering {
		return probes.Peering{Family: probes.FamilyIPv6,
			CustomerAddress: netip.PrefixFrom(netip.MustParseAddr(cust), 125), AmazonAddress: netip.PrefixFrom(netip.MustParseAddr(amz), 125)}
	}
	return probes.Site{
		Name: "lab",
		Links: []probes.Link{
			{Name: lab.LinkPrimary, Role: probes.RolePrimary, ConnectionID: awstest.LabConnection1, VIFID: awstest.LabVIF1,
				CustomerAddress: pfx(lab.PrimaryCustomer), AmazonAddress: pfx(lab.PrimaryAmazon), VLAN: lab.PrimaryVLAN,
				IPv6: ipv6(lab.PrimaryCustomer6, lab.PrimaryAmazon6)},
			{Name: lab.LinkSecondary, Role: probes.RoleSecondary, ConnectionID: awstest.LabConnection2, VIFID: awstest.LabVIF2,
				CustomerAddress: pfx(lab.SecondaryCustomer), AmazonAddress: pfx(lab.SecondaryAmazon), VLAN: lab.SecondaryVLAN,
				IPv6: ipv6(lab.SecondaryCustomer6, lab.SecondaryAmazon6)},
		},
		Targets: []probes.Target{
			{Name: lab.HostInst1, Host: lab.Instance1, VPCID: awstest.LabVPC},
			{Name: lab.HostInst2, Host: lab.Instance2, VPCID: awstest.LabVPC},
			{Name: Inst1v6, Host: lab.Instance1v6, VPCID: awstest.LabVPC},
			{Name: Inst2v6, Host: lab.Instance2v6, VPCID: awstest.LabVPC},
		},
		Routing: probes.Routing{
			Mode: probes.ModeActivePassive, Primary: lab.LinkPrimary, AmazonASN: lab.AmazonASN,
			ExpectedPrefixes: []netip.Prefix{netip.MustParsePrefix(lab.VPCCIDR)},
		},
	}
}

// The names of the IPv6 targets in lab/dxwatch.yaml: the instances i1 and
// i2 by their IPv6 addresses.
const (
	Inst1v6 = lab.HostInst1 + "-v6"
	Inst2v6 = lab.HostInst2 + "-v6"
)

// WithIPv6Prefix returns s with the VPC's IPv6 CIDR (lab.VPCCIDR6) among
// the expected prefixes, after the IPv4 one: the lab's routers carry it
// over each link's IPv6 peering.
func WithIPv6Prefix(s probes.Site) probes.Site {
	s.Routing.ExpectedPrefixes = append(slices.Clone(s.Routing.ExpectedPrefixes), netip.MustParsePrefix(lab.VPCCIDR6))
	return s
}

// WithProbeSources returns s with each lab link's per-link probe source
// (lab.Options.ProbeSources; lab/dxwatch-probe-sources.yaml).
func WithProbeSources(s probes.Site) probes.Site {
	s.Links = slices.Clone(s.Links)
	for i, l := range s.Links {
		switch l.Name {
		case lab.LinkPrimary:
			s.Links[i].ProbeSource = netip.MustParseAddr(lab.PrimaryProbeSource)
		case lab.LinkSecondary:
			s.Links[i].ProbeSource = netip.MustParseAddr(lab.SecondaryProbeSource)
		}
	}
	return s
}

// Config returns dxwatch's configuration for the lab (lab/dxwatch.yaml)
// with top-level sections replaced, added or removed: each key of sections
// is a section's name, its value the section's YAML ("" removes the
// section). Config({"ping": "interval: 100ms", "targets": ""}) probes
// every 100ms and pings no VPC target. It panics on a value that is not
// YAML: sections are the test's own literals.
func Config(sections map[string]string) string {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(lab.DxwatchConfig), &doc); err != nil {
		panic(fmt.Sprintf("lab/dxwatch.yaml: %v", err))
	}
	root := doc.Content[0]
	keys := make([]string, 0, len(sections))
	for k := range sections {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var value *yaml.Node
		if v := sections[k]; v != "" {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(v), &n); err != nil {
				panic(fmt.Sprintf("labsite.Config: section %s: %v", k, err))
			}
			value = n.Content[0]
		}
		i := -1
		for j := 0; j+1 < len(root.Content); j += 2 {
			if root.Content[j].Value == k {
				i = j
			}
		}
		switch {
		case i >= 0 && value == nil:
			root.Content = slices.Delete(root.Content, i, i+2)
		case i >= 0:
			value.HeadComment, value.LineComment = "", ""
			root.Content[i+1] = value
		case value != nil:
			root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, value)
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		panic(fmt.Sprintf("labsite.Config: %v", err))
	}
	return b.String()
}
