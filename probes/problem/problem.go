package problem

import (
	"fmt"
	"regexp"
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

// List collects every mistake of a configuration, so that validation
// reports them all at once. A Validate method returns List.Err().
type List []Problem

// Addf records a problem at path. String arguments are the configured
// values the message quotes: each is cut to MaxQuoted characters, so that a
// 10 MB site name makes a readable problem.
func (ps *List) Addf(path, format string, args ...any) {
	cut := make([]any, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok {
			a = Truncate(s, MaxQuoted)
		}
		cut[i] = a
	}
	*ps = append(*ps, Problem{Path: path, Msg: fmt.Sprintf(format, cut...)})
}

// MaxQuoted is how many characters of a configured value a problem quotes.
const MaxQuoted = 64

// Truncate returns s cut to n characters, with "…" after when it was longer.
func Truncate(s string, n int) string {
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

// Merge adds the problems of err below prefix: a List error is prefixed
// path by path, any other error becomes one problem at prefix.
func (ps *List) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	if more, ok := err.(List); ok {
		for _, p := range more {
			p.Path = JoinPath(prefix, p.Path)
			*ps = append(*ps, p)
		}
		return
	}
	*ps = append(*ps, Problem{Path: prefix, Msg: err.Error()})
}

// Err returns ps as an error, or nil when there are none.
func (ps List) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Error lists the problems, one per line.
func (ps List) Error() string {
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

// nameRE is the one rule for every name a user gives in the configuration
// (site, links, targets, edge routers, AWS accounts): names become
// Prometheus label values and URL parts, so they stay plain.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// NameRule says what ValidName accepts, for configuration errors.
const NameRule = "use letters, digits, '-', '_' or '.' (at most 63)"

// ValidName reports whether s is a valid name for a site, link, target,
// edge router or account.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// Names checks the names of one list's items (links, targets, edge
// routers, accounts): each present, valid and unique within the list.
type Names struct {
	list, what, example string
	seen                map[string]int
}

// NewNames checks the names of the items of list (as in the path, e.g.
// "links"), each a what ("link"), suggesting example when one is missing.
func NewNames(list, what, example string) *Names {
	return &Names{list: list, what: what, example: example, seen: map[string]int{}}
}

// Check adds to ps the problem with the name of item i, at path, if any.
func (n *Names) Check(ps *List, path string, i int, name string) {
	switch j, dup := n.seen[name]; {
	case name == "":
		ps.Addf(path, "missing: name the %s (it labels metrics and alerts), e.g. %s", n.what, n.example)
	case !ValidName(name):
		ps.Addf(path, "%q is not a valid name: %s", name, NameRule)
	case dup:
		ps.Addf(path, "%q is already the name of %s[%d]: %s names must be unique", name, n.list, j, n.what)
	default:
		n.seen[name] = i
	}
}
