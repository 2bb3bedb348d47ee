package config

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dxwatch/dxwatch/probes/problem"
)

var unknownAnchor = regexp.MustCompile(`(?s)^unknown anchor '(.*)' referenced$`)

// yamlProblems turns an error of the YAML library that is not a type error
// (a syntax error, mostly) into a problem with a line. The library gives
// no line for an error on the first line, for bytes that are not UTF-8
// text, nor for an unknown anchor: those are found here.
func yamlProblems(err error, data []byte) problem.List {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else if a := unknownAnchor.FindStringSubmatch(msg); a != nil {
		line = lineOf(data, bytes.Index(data, []byte("*"+a[1])))
		msg = fmt.Sprintf("the alias *%s names no anchor (&%s) above it", problem.Truncate(a[1], problem.MaxQuoted), problem.Truncate(a[1], problem.MaxQuoted))
		return problem.List{{Line: line, Msg: msg}}
	} else if strings.Contains(msg, "merge") {
		line = lineOf(data, bytes.Index(data, []byte("<<")))
	} else if i := badByte(data); i >= 0 {
		line = lineOf(data, i)
	} else {
		// The library leaves the line out when it is the first.
		line = 1
	}
	return problem.List{{Line: line, Msg: "not valid YAML: " + msg}}
}

// lineOf is the line of the byte at offset i, or 0 when i < 0.
func lineOf(data []byte, i int) int {
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// badByte is the offset of the first byte that YAML does not allow (not
// UTF-8, or a control character), or -1.
func badByte(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 || !yamlPrintable(r, i) {
			return i
		}
		i += n
	}
	return -1
}

// yamlPrintable is the YAML 1.1 printable set that yaml.v3's reader checks.
func yamlPrintable(r rune, offset int) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return true
	case r == 0xfeff:
		return offset == 0 // a byte order mark, only at the start
	}
	return r >= 0x20 && r <= 0x7e || r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
}
