package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEveryKeyIsDocumented walks the YAML keys of Config and wants each in
// docs/configuration.md as `key`, so the reference cannot fall behind the
// code (scripts/config-doc.py copies the probe sections from their READMEs).
func TestEveryKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	// Every word inside a code span: `pacing.burst` documents pacing and
	// burst, `[{name, bandwidth, location}]` its three keys.
	words := map[string]bool{}
	for _, span := range regexp.MustCompile("`[^`\n]+`").FindAllString(strings.ReplaceAll(string(doc), "```", "\n"), -1) {
		for _, w := range regexp.MustCompile(`[a-z0-9_]+`).FindAllString(span, -1) {
			words[w] = true
		}
	}
	var missing []string
	seen := map[reflect.Type]bool{}
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeOf(time.Time{}) || seen[typ] {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			key := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if key == "" || key == "-" || !f.IsExported() {
				continue
			}
			if !words[key] {
				missing = append(missing, path+key)
			}
			walk(path+key+".", f.Type)
		}
	}
	walk("", reflect.TypeOf(Config{}))
	if len(missing) > 0 {
		t.Errorf("keys not documented in docs/configuration.md (run python3 scripts/config-doc.py after updating the package README): %s", strings.Join(missing, ", "))
	}
}
