package probes

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Problem is one configuration mistake: where it is and what to do.
// Path is the YAML path ("links[1].amazon_address"); Line is the line in the
// file when the decoder knows it, else 0.
type Problem struct {
	Path string
	Line int
	Msg  string
}

// Error formats the problem as "path (line N): msg", or "line N: msg"
// when it has no path (a YAML syntax error).
func (p Problem) Error() string {
	switch {
	case p.Path == "" && p.Line > 0:
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	case p.Path == "":
		return p.Msg
	case p.Line > 0:
		return fmt.Sprintf("%s (line %d): %s", p.Path, p.Line, p.Msg)
	}
	return p.Path + ": " + p.Msg
}

// Problems collects every mistake of a configuration, so that validation
// reports them all at once. A Validate method returns Problems.Err().
type Problems []Problem

// Addf records a problem at path. String arguments are the configured
// values the message echoes: each is cut to MaxEcho characters, so that a
// 10 MB site name makes a readable problem.
func (ps *Problems) Addf(path, format string, args ...any) {
	cut := make([]any, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok {
			a = Cut(s, MaxEcho)
		}
		cut[i] = a
	}
	*ps = append(*ps, Problem{Path: path, Msg: fmt.Sprintf(format, cut...)})
}

// MaxEcho is how many characters of a configured value a problem echoes.
const MaxEcho = 64

// Cut returns s cut to n characters, with "…" after when it was longer.
func Cut(s string, n int) string {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "…"
}

// Merge adds the problems of err below prefix: a Problems error is prefixed
// path by path, any other error becomes one problem at prefix.
func (ps *Problems) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	if more, ok := err.(Problems); ok {
		for _, p := range more {
			p.Path = JoinPath(prefix, p.Path)
			*ps = append(*ps, p)
		}
		return
	}
	*ps = append(*ps, Problem{Path: prefix, Msg: err.Error()})
}

// Err returns ps as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// JoinPath joins YAML path elements: JoinPath("bgp", "peers[0].address") is
// "bgp.peers[0].address"; an index element ("[2]") joins without a dot.
func JoinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}
