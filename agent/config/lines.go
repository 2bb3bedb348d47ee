package config

import (
	"fmt"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// lineIndex maps YAML paths ("links[1].vlan") to the line of their value in
// the file, and lines back to paths, so that decoder and validation errors
// can name both.
type lineIndex struct {
	byPath map[string]int
	byLine map[int]string
}

func indexLines(root *yaml.Node) lineIndex {
	idx := lineIndex{byPath: map[string]int{}, byLine: map[int]string{}}
	if root == nil {
		return idx
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	idx.walk("", root)
	return idx
}

func (idx lineIndex) walk(path string, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			idx.add(p, k.Line)
			idx.walk(p, v)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			idx.add(p, v.Line)
			idx.walk(p, v)
		}
	case yaml.AliasNode:
		if n.Alias != nil {
			idx.walk(path, n.Alias)
		}
	}
}

func (idx lineIndex) add(path string, line int) {
	idx.byPath[path] = line
	if _, ok := idx.byLine[line]; !ok {
		idx.byLine[line] = path
	}
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

var lastElem = regexp.MustCompile(`(\.[^.\[]+|\[\d+\])$`)

func parentPath(p string) string {
	loc := lastElem.FindStringIndex(p)
	if loc == nil || loc[0] == 0 {
		return ""
	}
	return p[:loc[0]]
}

// yamlErrLine matches one line of a yaml.TypeError: "line 5: field foo not
// found in type config.Link" or "line 7: cannot unmarshal !!str `x` into int".
var yamlErrLine = regexp.MustCompile(`^line (\d+): (.*)$`)
var unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
var cannotUnmarshal = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")

// decodeProblem turns one yaml.v3 error line into a problem with a path.
func (idx lineIndex) decodeProblem(msg string) (path string, line int, text string) {
	m := yamlErrLine.FindStringSubmatch(msg)
	if m == nil {
		return "", 0, msg
	}
	line, _ = strconv.Atoi(m[1])
	text = m[2]
	path = idx.byLine[line]
	if u := unknownField.FindStringSubmatch(text); u != nil {
		text = fmt.Sprintf("unknown key %q (check the spelling against docs/configuration.md)", u[1])
	} else if c := cannotUnmarshal.FindStringSubmatch(text); c != nil {
		text = fmt.Sprintf("%q is not a valid %s", c[2], goTypeWord(c[3]))
	}
	return path, line, text
}

func goTypeWord(t string) string {
	switch t {
	case "int", "int32", "int64", "uint32", "uint16", "uint64", "uint":
		return "whole number"
	case "time.Duration":
		return "duration (e.g. 1s, 500ms, 5m)"
	case "bool":
		return "boolean (true or false)"
	case "string":
		return "string"
	}
	if len(t) > 2 && t[:2] == "[]" {
		return "list"
	}
	return t
}
