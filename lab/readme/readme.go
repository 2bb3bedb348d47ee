// Package readme reads the prose of a section of a package README, for the
// tests that render docs/configuration.md and docs/metrics.md from the code
// (the tables come from the code, the notes from the README). Only tests
// import it.
package readme

import (
	"os"
	"strings"
)

// Notes returns the prose of the "## <section>" section of the Markdown
// file at path (the first section whose heading starts so): its tables left
// out, its sub-headings one level down, runs of blank lines as one. It is
// empty when the file has no such section.
func Notes(path, section string) (string, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var lines []string
	in, done := false, false
	for _, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(line, "## ") {
			if in {
				done = true
			}
			in = !done && strings.HasPrefix(line, "## "+section)
			continue
		}
		if !in || strings.HasPrefix(line, "|") {
			continue
		}
		if strings.HasPrefix(line, "#") {
			line = "#" + line
		}
		if line == "" && (len(lines) == 0 || lines[len(lines)-1] == "") {
			continue
		}
		lines = append(lines, line)
	}
	return strings.TrimSpace(strings.Join(lines, "\n")), nil
}
