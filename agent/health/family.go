// The address families: each link's peerings sorted into one family model
// per address family, and each observation sent to the family it is
// about (contract: probes.Observation's Family).

package health

import (
	"net/netip"

	"github.com/dxwatch/dxwatch/probes"
)

// buildFamilies makes a family for every address family a link has a
// peering in, in the order the links name them (a site without links
// gets one IPv4 family, for its targets), and the link summaries.
func (m *Model) buildFamilies() {
	byName := map[string]*family{}
	get := func(name string) *family {
		if f := byName[name]; f != nil {
			return f
		}
		f := m.newFamily(name)
		byName[name] = f
		m.fams = append(m.fams, f)
		return f
	}
	for i, l := range m.site.Links {
		if i >= maxLinks {
			break
		}
		peers := l.Peerings()
		sum := &linkSummary{link: l}
		for _, p := range peers {
			f := get(p.Family)
			ls := &linkState{link: l.OfPeering(p), state: StateUnknown, dual: len(peers) > 1}
			f.addLink(ls)
			sum.peers = append(sum.peers, ls)
			sum.fams = append(sum.fams, f)
		}
		sum.state = StateUnknown
		m.summaries = append(m.summaries, sum)
	}
	if len(m.fams) == 0 {
		get(probes.FamilyIPv4)
	}
	for _, f := range m.fams {
		for i := range f.links {
			for j := range f.links {
				if i != j {
					f.failovers[[2]string{f.links[i].link.Name, f.links[j].link.Name}] = 0
				}
			}
		}
	}
	for _, t := range m.site.Targets {
		f := m.famOfHost(t.Host)
		ts := &targetState{target: t}
		if a, err := netip.ParseAddr(t.Host); err == nil {
			ts.addr = a.Unmap()
		}
		f.targets = append(f.targets, ts)
		if t.Host != "" {
			f.targetIdx[t.Host] = len(f.targets) - 1
		}
		f.targetIdx[t.Name] = len(f.targets) - 1
	}
	for _, p := range m.site.Routing.ExpectedPrefixes {
		f := m.famOfAddr(p.Addr())
		f.best = append(f.best, &bestPath{pfx: p.Masked(), link: -1})
	}
	for _, f := range m.fams {
		f.resolveTargetPrefixes()
	}
}

func (m *Model) newFamily(name string) *family {
	return &family{
		Model:     m,
		name:      name,
		linkIdx:   map[string]int{},
		primary:   -1,
		targetIdx: map[string]int{},
		pinned:    map[string]*echoState{},
		notes:     newRing[TimelineStep](notesMax),
		failovers: map[[2]string]float64{},
		hist:      m.hist.WithLabelValues(name),
	}
}

// addLink adds a link's peering of the family.
func (f *family) addLink(ls *linkState) {
	i := len(f.links)
	f.links = append(f.links, ls)
	f.allMask |= 1 << i
	l := ls.link
	f.linkIdx[l.Name] = i
	for _, p := range []netip.Prefix{l.AmazonAddress, l.CustomerAddress} {
		if p.IsValid() {
			f.linkIdx[p.Addr().String()] = i
			f.linkIdx[p.String()] = i
		}
	}
	r := f.site.Routing
	if l.Name == r.Primary || (r.Primary == "" && l.Role == probes.RolePrimary && f.primary < 0) {
		f.primary = i
	}
}

// family returns the family named name, or the first family when the
// site has none of that name (evidence of a family no link peers in is
// judged with the site's first family, as before families).
func (m *Model) family(name string) *family {
	for _, f := range m.fams {
		if f.name == name {
			return f
		}
	}
	return m.fams[0]
}

// famOfAddr returns the family of address a.
func (m *Model) famOfAddr(a netip.Addr) *family {
	if a.IsValid() && !a.Unmap().Is4() {
		return m.family(probes.FamilyIPv6)
	}
	return m.family(probes.FamilyIPv4)
}

// famOfHost returns the family of a target's host: its address's, or the
// first family for a DNS name.
func (m *Model) famOfHost(host string) *family {
	if a, err := netip.ParseAddr(host); err == nil {
		return m.famOfAddr(a)
	}
	return m.fams[0]
}

// famOfLink returns the family of an observation about link name (or one
// of its peer addresses, with or without the prefix length) with family
// fam: fam, else the address's, else the link's first peering's.
func (m *Model) famOfLink(name, fam string) *family {
	if fam != "" {
		return m.family(fam)
	}
	if p, err := netip.ParsePrefix(name); err == nil {
		return m.famOfAddr(p.Addr())
	}
	if a, err := netip.ParseAddr(name); err == nil {
		return m.famOfAddr(a)
	}
	if l, ok := m.site.Link(name); ok {
		fam = l.Peerings()[0].Family
	}
	return m.family(fam)
}

// famOfTarget returns the family whose target is named name (or has host
// name), and false when no family has it.
func (m *Model) famOfTarget(name string) (*family, bool) {
	for _, f := range m.fams {
		if _, ok := f.targetIdx[name]; ok {
			return f, true
		}
	}
	return nil, false
}
