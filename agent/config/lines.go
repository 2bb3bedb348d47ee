package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/dxwatch/dxwatch/probes/problem"
	"go.yaml.in/yaml/v3"
)

// lineIndex maps YAML paths ("links[1].vlan") to the line of their value in
// the file, and lines back to paths, so that decoder and validation errors
// can name both. It is built from the file as written: an alias is one
// entry, never walked into, so that a file of nested aliases (a "billion
// laughs" bomb) costs what its text costs.
type lineIndex struct {
	byPath map[string]int
	byLine map[int][]entry
	// aliases are the alias nodes of the file in document order.
	aliases []entry
}

// entry is a path and the value node at it.
type entry struct {
	path string
	node *yaml.Node
}

func indexLines(root *yaml.Node) lineIndex {
	idx := lineIndex{byPath: map[string]int{}, byLine: map[int][]entry{}}
	if root == nil {
		return idx
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	idx.walk("", root)
	return idx
}

func (idx *lineIndex) walk(path string, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			// A key is echoed in paths: keep an absurd one readable.
			p := problem.JoinPath(path, problem.Truncate(k.Value, problem.MaxQuoted))
			idx.add(p, k.Line, v)
			if v.Line != k.Line {
				idx.byLine[v.Line] = append(idx.byLine[v.Line], entry{p, v})
			}
			idx.walk(p, v)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			idx.add(p, v.Line, v)
			idx.walk(p, v)
		}
	case yaml.AliasNode:
		idx.aliases = append(idx.aliases, entry{path, n})
	}
}

func (idx *lineIndex) add(path string, line int, v *yaml.Node) {
	idx.byPath[path] = line
	idx.byLine[line] = append(idx.byLine[line], entry{path, v})
}

// line returns the line of path, or of its closest parent that is in the
// file (a missing required key is reported at its parent's line).
func (idx lineIndex) line(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := idx.byPath[p]; ok {
			return l
		}
	}
	return 0
}

// problems returns ps, placed at their lines in the file, as an *Error, or
// nil when there are none.
func (idx lineIndex) problems(file string, ps problem.List) error {
	if len(ps) == 0 {
		return nil
	}
	for i := range ps {
		if ps[i].Line == 0 {
			ps[i].Line = idx.line(ps[i].Path)
		}
	}
	return newError(file, ps)
}

// pathAt returns the path on line for which match holds, else the first
// path on line, else "".
func (idx lineIndex) pathAt(line int, match func(entry) bool) string {
	es := idx.byLine[line]
	for _, e := range es {
		if match(e) {
			return e.path
		}
	}
	if len(es) > 0 {
		return es[0].path
	}
	return ""
}

var lastElem = regexp.MustCompile(`(\.[^.\[]+|\[\d+\])$`)

func parentPath(p string) string {
	loc := lastElem.FindStringIndex(p)
	if loc == nil || loc[0] == 0 {
		return ""
	}
	return p[:loc[0]]
}

func lastKey(p string) string {
	if loc := lastElem.FindStringIndex(p); loc != nil && loc[0] > 0 {
		return strings.TrimPrefix(p[loc[0]:], ".")
	}
	return p
}

// yamlErrLine matches one line of a yaml.TypeError: "line 5: field foo not
// found in type config.Link" or "line 7: cannot unmarshal !!str `x` into int".
var (
	yamlErrLine     = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	unknownField    = regexp.MustCompile(`(?s)^field (.*) not found in type \S+$`)
	cannotUnmarshal = regexp.MustCompile("(?s)^cannot unmarshal (.+?)(?: `(.*)`)? into (\\S+)$")
	alreadyDefined  = regexp.MustCompile(`(?s)^mapping key (".*") already defined at line (\d+)$`)
)

// decodeProblem turns one yaml.TypeError line into a problem with a path,
// in the words of YAML rather than of Go's types.
func (idx lineIndex) decodeProblem(msg string) problem.Problem {
	m := yamlErrLine.FindStringSubmatch(msg)
	if m == nil {
		return problem.Problem{Msg: msg}
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	var path string
	switch {
	case unknownField.MatchString(text):
		key := unknownField.FindStringSubmatch(text)[1]
		path = idx.pathAt(line, func(e entry) bool { return lastKey(e.path) == problem.Truncate(key, problem.MaxQuoted) })
		text = fmt.Sprintf("unknown key %q (check the spelling against docs/configuration.md)", problem.Truncate(key, problem.MaxQuoted))
	case alreadyDefined.MatchString(text):
		d := alreadyDefined.FindStringSubmatch(text)
		key, _ := strconv.Unquote(d[1])
		path = idx.pathAt(line, func(e entry) bool { return lastKey(e.path) == problem.Truncate(key, problem.MaxQuoted) })
		text = fmt.Sprintf("key %q is set twice in this mapping (first at line %s): keep one", problem.Truncate(key, problem.MaxQuoted), d[2])
	case cannotUnmarshal.MatchString(text):
		c := cannotUnmarshal.FindStringSubmatch(text)
		tag, value, goType := c[1], c[2], c[3]
		path = idx.pathAt(line, func(e entry) bool { return sameValue(e.node, tag, value) })
		if goType == rootType {
			text = "the file must be a mapping of keys (site:, links:, …), got " + yamlValue(tag, value)
		} else {
			text = fmt.Sprintf("expected %s, got %s", expected(goType), yamlValue(tag, value))
		}
	default:
		// A message of the library this code does not know: it may name
		// Go types, which mean nothing to the operator.
		path = idx.pathAt(line, func(entry) bool { return false })
		text = "this value is not of the kind this key takes (see docs/configuration.md)"
	}
	return problem.Problem{Path: path, Line: line, Msg: text}
}

// sameValue reports whether n is the value yaml.v3 names in an error: its
// tag and its value, which the library cuts to 7 bytes and "...".
func sameValue(n *yaml.Node, tag, value string) bool {
	switch tag {
	case "!!seq":
		return n.Kind == yaml.SequenceNode
	case "!!map":
		return n.Kind == yaml.MappingNode
	}
	v, cut := strings.CutSuffix(value, "...")
	return n.Kind == yaml.ScalarNode && (n.Value == value || cut && strings.HasPrefix(n.Value, v))
}

// yamlValue describes a value as YAML has it: a string "m", a number 42.
func yamlValue(tag, value string) string {
	if v, ok := strings.CutSuffix(value, "..."); ok {
		value = v + "…"
	}
	switch tag {
	case "!!str":
		return fmt.Sprintf("a string %q", value)
	case "!!int", "!!float":
		return "a number " + value
	case "!!bool":
		return "the boolean " + value
	case "!!null":
		return "nothing (null)"
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	case "!!timestamp":
		return "a date " + value
	case "!!binary":
		return "binary data"
	case "!!merge":
		return "a merge key (<<)"
	}
	if value == "" {
		return fmt.Sprintf("a value tagged %q", tag)
	}
	return fmt.Sprintf("a value tagged %q: %q", tag, value)
}
