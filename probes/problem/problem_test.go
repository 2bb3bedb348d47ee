package problem

import (
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"primary": true, "eu.prod": true, "dc-1_a": true, "9lives": true,
		strings.Repeat("a", 63): true,
		"":                      false, "a b": false, ".hidden": false, "-x": false, "é": false, "a/b": false,
		strings.Repeat("a", 64): false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestNames(t *testing.T) {
	var ps List
	n := NewNames("links", "link", "primary")
	for i, name := range []string{"primary", "", "a b", "primary", "eu.prod"} {
		n.Check(&ps, "links["+string(rune('0'+i))+"].name", i, name)
	}
	want := []string{
		`links[1].name: missing: name the link (it labels metrics and alerts), e.g. primary`,
		`links[2].name: "a b" is not a valid name: ` + NameRule,
		`links[3].name: "primary" is already the name of links[0]: link names must be unique`,
	}
	got := strings.Split(strings.TrimSpace(ps.Error()), "\n")
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", ps.Error(), strings.Join(want, "\n"))
	}
	for i := range want {
		if strings.TrimSpace(got[i]) != want[i] {
			t.Errorf("problem %d: %q, want %q", i, got[i], want[i])
		}
	}
}
