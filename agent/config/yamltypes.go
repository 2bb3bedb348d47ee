package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/agent/report"
)

// rootType is how yaml.v3 names Config in its errors.
var rootType = reflect.TypeOf(Config{}).String()

// configTypes are the Go types reachable from Config, by the name yaml.v3
// gives them in its errors ("config.RoutingConfig", "[]string").
var configTypes = func() map[string]reflect.Type {
	types := map[string]reflect.Type{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		if _, seen := types[t.String()]; seen {
			return
		}
		types[t.String()] = t
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			walk(t.Elem())
		case reflect.Struct:
			for i := 0; i < t.NumField(); i++ {
				if f := t.Field(i); f.IsExported() {
					walk(f.Type)
				}
			}
		}
	}
	walk(reflect.TypeOf(Config{}))
	return types
}()

// expected says in YAML's words what a value decoded into the Go type
// named goType must be: "a mapping", "a whole number from 0 to 65535".
func expected(goType string) string {
	t, ok := configTypes[goType]
	if !ok {
		// Not reachable from Config: should not happen, but the
		// operator still gets words, never a Go type.
		switch {
		case strings.HasPrefix(goType, "[]"):
			return "a list"
		case strings.HasPrefix(goType, "map["):
			return "a mapping"
		}
		return "a value of another kind"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(time.Duration(0)) {
		return "a duration (e.g. 1s, 500ms, 5m)"
	}
	if t == reflect.TypeOf(report.Timestamp{}) {
		return "an RFC 3339 time (e.g. 2026-11-15T02:00:00Z)"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("a whole number from 0 to %d", uint64(1)<<t.Bits()-1)
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a value of another kind"
}
