package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/dxwatch/dxwatch/probes/problem"
	"go.yaml.in/yaml/v3"
)

// Limits that keep loading a file bounded in time and memory, whatever it
// holds: a configuration is a few kilobytes.
const (
	// MaxFileSize is the largest configuration file dxwatch reads.
	MaxFileSize = 1 << 20
	// MaxProblems is how many problems an Error lists; the rest are counted.
	MaxProblems = 50
	// maxMsgRunes bounds one problem's text, whatever a probe's Validate
	// or the YAML library put in it.
	maxMsgRunes = 400
)

// Error is a configuration that could not be loaded: the problems found,
// each with its path and line, the first MaxProblems of them in line order.
type Error struct {
	File     string
	Problems problem.List
	// More counts the problems found beyond Problems.
	More int
}

// Error lists the problems, one per line, after the file name.
func (e *Error) Error() string {
	var b strings.Builder
	n := len(e.Problems) + e.More
	fmt.Fprintf(&b, "%s: %d problem", e.File, n)
	if n != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  and %d more", e.More)
	}
	return b.String()
}

// newError sorts ps by line, keeps the first MaxProblems and bounds the
// length of each.
func newError(file string, ps problem.List) *Error {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	e := &Error{File: file}
	if len(ps) > MaxProblems {
		e.More = len(ps) - MaxProblems
		ps = ps[:MaxProblems]
	}
	for i := range ps {
		ps[i].Path = problem.Truncate(ps[i].Path, problem.MaxQuoted)
		ps[i].Msg = problem.Truncate(ps[i].Msg, maxMsgRunes)
	}
	e.Problems = ps
	return e
}

// Load reads, decodes and validates the file at path.
func Load(path string) (*Config, error) {
	cfg, _, err := load(path)
	return cfg, err
}

func load(path string) (*Config, lineIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, lineIndex{}, fmt.Errorf("read configuration: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, lineIndex{}, tooLarge(path, fi.Size())
	}
	// The limit holds for what is not a regular file too (a pipe, /dev/zero).
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, lineIndex{}, fmt.Errorf("read configuration: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, lineIndex{}, tooLarge(path, -1)
	}
	return parse(path, data)
}

// tooLarge is the error for a file of size bytes, or of more than
// MaxFileSize when size < 0 (a pipe or device, read up to the limit).
func tooLarge(file string, size int64) *Error {
	what := fmt.Sprintf("%d bytes", size)
	if size < 0 {
		what = "more than 1 MiB"
	}
	return newError(file, problem.List{{Msg: fmt.Sprintf(
		"the file is %s: a configuration is at most 1 MiB (%d bytes)", what, MaxFileSize)}})
}

// Parse decodes and validates data, naming file in errors.
func Parse(file string, data []byte) (*Config, error) {
	cfg, _, err := parse(file, data)
	return cfg, err
}

// parse is Parse, and returns the file's line index too.
func parse(file string, data []byte) (*Config, lineIndex, error) {
	var none lineIndex
	if len(data) > MaxFileSize {
		return nil, none, tooLarge(file, int64(len(data)))
	}
	root, ps := parseDocument(data)
	if len(ps) > 0 {
		return nil, none, newError(file, ps)
	}
	idx := indexLines(root)
	if ps := idx.checkAliases(); len(ps) > 0 {
		return nil, none, newError(file, ps)
	}

	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, none, newError(file, yamlProblems(err, data))
		}
		for _, msg := range te.Errors {
			ps = append(ps, idx.decodeProblem(msg))
		}
		return nil, none, newError(file, ps)
	}
	cfg.present = map[string]bool{}
	for p := range idx.byPath {
		if !strings.ContainsAny(p, ".[") {
			cfg.present[p] = true
		}
	}
	if err := idx.problems(file, cfg.validate()); err != nil {
		return nil, none, err
	}
	cfg.topo = cfg.buildTopology()
	return &cfg, idx, nil
}

// parseDocument parses data into its one YAML document. A second document
// is refused rather than ignored: it is usually a second configuration
// pasted below the first, which the operator expects to be read.
func parseDocument(data []byte) (*yaml.Node, problem.List) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlProblems(err, data)
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		switch {
		case errors.Is(err, io.EOF):
			return &root, nil
		case err != nil:
			return nil, yamlProblems(err, data)
		case emptyDocument(&next):
			// A trailing "---" with nothing after it.
			continue
		}
		return nil, problem.List{{Line: next.Line,
			Msg: "a second YAML document: dxwatch reads one (remove the --- and what follows, or make it a file of its own)"}}
	}
}

func emptyDocument(doc *yaml.Node) bool {
	if len(doc.Content) == 0 {
		return true
	}
	n := doc.Content[0]
	return len(doc.Content) == 1 && n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" && n.Anchor == ""
}
