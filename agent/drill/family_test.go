package drill

import (
	"testing"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/probes"
)

// TestOfFamily: a drill of one family counts only that family's failovers
// (and those of a health model that names none); a drill of both counts
// every one.
func TestOfFamily(t *testing.T) {
	for _, tc := range []struct {
		drill, event string
		want         bool
	}{
		{probes.FamilyIPv6, "ipv4", false},
		{probes.FamilyIPv6, "ipv6", true},
		{probes.FamilyIPv4, "ipv6", false},
		{probes.FamilyIPv4, "", true},
		{FamilyBoth, "ipv4", true},
		{FamilyBoth, "ipv6", true},
	} {
		o := Options{Family: tc.drill}
		if got := o.ofFamily(health.Event{Kind: health.KindFailover, Family: tc.event}); got != tc.want {
			t.Errorf("a %s drill counts a failover of family %q: %v, want %v", tc.drill, tc.event, got, tc.want)
		}
	}
}
