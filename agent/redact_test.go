package agent

import (
	"strings"
	"testing"
)

// TestRedactURL: a password never reaches a message, whether or not the
// URL parses.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://localhost:9479":                  "http://localhost:9479",
		"http://ops:s3cret@dxwatch:9479/":        "http://ops:xxxxx@dxwatch:9479/",
		"http://ops:s3cret@dxwatch:9479/%zz":     "…@dxwatch:9479/%zz",
		"ops:s3cret@dxwatch:9479 not a url \x7f": "…@dxwatch:9479 not a url \x7f",
	} {
		got := RedactURL(in)
		if got != want || strings.Contains(got, "s3cret") {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
