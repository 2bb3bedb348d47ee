// Sets of links as bit masks (bit i: the model's link i), their names and
// labels, and the targets counted per set of active links, for the
// failover machine beside it (failover.go).

package health

import "strings"

func (m *Model) maskOf(names []string) uint64 {
	var mask uint64
	for _, n := range names {
		if i, ok := m.linkIdx[n]; ok {
			mask |= 1 << i
		}
	}
	return mask
}

func (m *Model) namesOf(mask uint64) []string {
	names := []string{}
	for i, l := range m.links {
		if mask&(1<<i) != 0 {
			names = append(names, l.link.Name)
		}
	}
	return names
}

// labelMask is the inverse of label.
func (m *Model) labelMask(label string) uint64 {
	if label == "none" {
		return 0
	}
	return m.maskOf(strings.Split(label, "+"))
}

func (m *Model) label(mask uint64) string {
	if mask == 0 {
		return "none"
	}
	s := ""
	for i, l := range m.links {
		if mask&(1<<i) != 0 {
			if s != "" {
				s += "+"
			}
			s += l.link.Name
		}
	}
	return s
}

func maskOfIndex(i int) uint64 {
	if i < 0 {
		return 0
	}
	return 1 << i
}

// siteActive returns the set of links carrying the traffic to most VPC
// targets, and whether any target's path is known.
func (m *Model) siteActive() (uint64, bool) {
	counts := m.scratch[:0]
	for _, c := range m.activeCounts {
		if c.count > 0 {
			counts = append(counts, c)
		}
	}
	m.scratch = counts
	if len(counts) == 0 {
		return 0, false
	}
	best := counts[0]
	for _, c := range counts[1:] {
		switch {
		case c.count > best.count:
			best = c
		case c.count < best.count:
		case c.mask == m.stable && m.known:
			best = c
		case best.mask == m.stable && m.known:
		case c.mask < best.mask:
			best = c
		}
	}
	return best.mask, true
}

// setActive records the links carrying the traffic to ts (known when src
// names the evidence), keeping activeCounts, the number of targets per set
// of links that siteActive reads, in step: siteActive runs after every
// observation, and counting the targets each time made it O(targets).
func (m *Model) setActive(ts *targetState, active uint64, src string) {
	known := src != ""
	if ts.known != known || ts.active != active {
		if ts.known {
			m.countActive(ts.active, -1)
		}
		if known {
			m.countActive(active, 1)
		}
	}
	ts.active, ts.known, ts.source = active, known, src
}

// countActive adds d to the count of targets whose traffic crosses mask.
func (m *Model) countActive(mask uint64, d int) {
	for i := range m.activeCounts {
		if m.activeCounts[i].mask == mask {
			m.activeCounts[i].count += d
			return
		}
	}
	m.activeCounts = append(m.activeCounts, maskCount{mask, d})
}
