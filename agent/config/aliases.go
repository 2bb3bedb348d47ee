package config

import (
	"fmt"

	"github.com/dxwatch/dxwatch/probes/problem"
	"go.yaml.in/yaml/v3"
)

// MaxAliasNodes is how many nodes the aliases of a file may add to it when
// expanded. Anchors shared by a few links or peers add tens; a "billion
// laughs" file (a: &a [x,x,…], b: &b [*a,*a,…], …) adds billions from a
// few lines, and would take the decoder minutes and gigabytes.
const MaxAliasNodes = 10000

// checkAliases refuses a file whose aliases expand past MaxAliasNodes, or
// refer to their own anchor, before anything expands them. It counts each
// anchored node once (memoized), so it costs what the text costs.
func (idx lineIndex) checkAliases() problem.List {
	c := aliasCounter{size: map[*yaml.Node]int{}, busy: map[*yaml.Node]bool{}}
	added := 0
	for _, a := range idx.aliases {
		if a.node.Alias == nil {
			continue
		}
		n := c.expanded(a.node.Alias)
		if c.cycle {
			return problem.List{{Path: a.path, Line: a.node.Line, Msg: fmt.Sprintf(
				"the alias *%s is inside its own anchor &%s: an alias cannot contain itself", problem.Truncate(a.node.Value, problem.MaxQuoted), problem.Truncate(a.node.Value, problem.MaxQuoted))}}
		}
		added += n
		if added > MaxAliasNodes {
			return problem.List{{Path: a.path, Line: a.node.Line, Msg: fmt.Sprintf(
				"excessive aliasing: with *%s the aliases of this file expand to more than %d values; dxwatch refuses it (write the values out, or use fewer aliases)",
				problem.Truncate(a.node.Value, problem.MaxQuoted), MaxAliasNodes)}}
		}
	}
	return nil
}

type aliasCounter struct {
	size  map[*yaml.Node]int
	busy  map[*yaml.Node]bool
	cycle bool
}

// expanded is the number of nodes n stands for once its aliases are
// expanded, saturated just above MaxAliasNodes.
func (c *aliasCounter) expanded(n *yaml.Node) int {
	if s, ok := c.size[n]; ok {
		return s
	}
	if c.busy[n] {
		c.cycle = true
		return MaxAliasNodes + 1
	}
	c.busy[n] = true
	s := 1
	for _, ch := range n.Content {
		if s > MaxAliasNodes || c.cycle {
			break
		}
		if ch.Kind == yaml.AliasNode && ch.Alias != nil {
			ch = ch.Alias
		}
		s += c.expanded(ch)
	}
	s = min(s, MaxAliasNodes+1)
	delete(c.busy, n)
	c.size[n] = s
	return s
}
